//! The `booth` binary: command line, configuration, windows, the custom scheme that serves
//! packages, the IPC commands that forward to the bridge, and the loopback control endpoint.
//!
//! Not for: business logic. Calls go to `booth-bridge` and the capability plugins unchanged;
//! this crate only adapts Tauri to them.
//!
//! Rooms (README, Architecture), each depending only on those below it:
//!
//! | room | owns |
//! | --- | --- |
//! | [`app`] | the wiring: builds every room and hands each what it needs; nothing imports it |
//! | [`cli`] | argument parsing and the sub-commands that need no window |
//! | [`ipc`] | Tauri commands, the package scheme and the control endpoint: thin adapters |
//! | [`shell`] | the windows, monitors, web view signals, the lifecycle around the mini-program |
//! | [`dev`] | hot reload, flight recorder, replay, the benchmark probe |
//! | [`kiosk`] | desktop lock-down per OS, the admin PIN gate, `booth install`, exit codes |
//! | [`devices`] | the bridge and every capability plugin, built from booth.toml |
//! | [`config`] | booth.toml: sections, validation, atomic edits |
//! | [`names`] | window labels, the package scheme and URLs: a leaf every room may use |
//!
//! `tests/rooms.rs` fails when a file or room imports one above it, or a cycle appears.

pub mod app;
pub mod cli;
pub mod config;
pub mod dev;
pub mod devices;
pub mod ipc;
pub mod kiosk;
pub mod names;
pub mod shell;

/// Booth's version, as pages see it (`appVersion`, `version`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
