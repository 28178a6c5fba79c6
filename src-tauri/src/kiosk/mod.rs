//! Room `kiosk`: what makes a terminal a kiosk beyond its windows — the desktop lock-down per OS
//! (escape keys, taskbar, accessibility hotkeys, notifications; restored after a crash), the
//! admin PIN gate and the admin screen's requests, `booth install` (systemd units, Shell Launcher
//! steps) and Booth's exit codes.
//!
//! Must not import: `shell`, `ipc`, `cli` or `app`. It uses `config` (booth.toml, atomic edits)
//! and `devices` (the admin screen's device status and self-test).

pub mod admin;
pub mod exit;
pub mod install;
pub mod lockdown;
pub mod pin;
pub mod prompt;

pub use exit::{record_exit, EXIT_ADMIN, EXIT_FAILED, EXIT_REBOOT, EXIT_RESTART, EXIT_SHUTDOWN};
