//! Room `ipc`: thin adapters between Tauri and the rest of Booth — the IPC commands pages call
//! ([`page`], [`admin`], registered by [`handler`]), the package scheme ([`scheme`]) and the
//! loopback control endpoint ([`control`]). They forward to the bridge, the plugins and the
//! shell, and hold no business logic.
//!
//! Must not import: `cli` or `app`.

pub mod admin;
pub mod batch;
pub mod control;
pub mod handler;
pub mod page;
pub mod scheme;
pub mod state;
