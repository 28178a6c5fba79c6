//! Stand-ins for Booth's device tests, shared by the plugin tests and the end-to-end suite.
//!
//! - [`pty::Socat`]: a pair of linked pseudo-terminals (`socat pty,link=DIR/dev pty,link=DIR/app`).
//!   The test plays the device on `DIR/dev`; Booth opens `DIR/app` as its serial port. Killing
//!   socat is an unplug, starting it again with the same links is a replug.
//!
//! Not for: production code.

#[cfg(unix)]
pub mod pty;
#[cfg(unix)]
pub mod sam;
