//! The `booth` binary: command line, configuration, windows, the custom scheme that serves
//! packages, the IPC commands that forward to the bridge, and the loopback control endpoint.
//!
//! Not for: business logic. Calls go to `booth-bridge` and the capability plugins unchanged;
//! this crate only adapts Tauri to them.

pub mod admin;
pub mod app;
pub mod benchprobe;
pub mod cli;
pub mod commands;
pub mod config;
pub mod control;
pub mod devices;
pub mod doctor;
pub mod inputs_config;
pub mod kiosk;
pub mod kiosk_config;
pub mod monitors;
pub mod recorder;
pub mod reload;
pub mod rendering;
pub mod replay;
pub mod scaffold;
pub mod secondary;
pub mod shell;
pub mod simctl;

/// Booth's version, as pages see it (`appVersion`, `version`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
