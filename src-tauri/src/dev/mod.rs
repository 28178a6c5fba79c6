//! Room `dev`: what serves developers and test authors rather than the terminal — hot reload of
//! a package folder, the flight recorder (also `/feed` and `--record`), replay of a recording, and
//! the benchmark probe (`--bench`).
//!
//! Must not import: `shell`, `ipc`, `kiosk`, `cli` or `app`; what these tools do to windows is
//! wired in `app` (e.g. a reload burst reloads the package's windows through the shell).

pub mod benchprobe;
pub mod recorder;
pub mod reload;
pub mod replay;
