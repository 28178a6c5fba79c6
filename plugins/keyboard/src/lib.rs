//! Key presses from a dedicated keyboard device — an external numeric keypad, or a barcode
//! scanner in keyboard-wedge mode — read apart from the keyboard the page sees.
//!
//! - Linux: evdev. The device (a `/dev/input/event*` path, or a substring of its name) is
//!   grabbed, so its keys never reach the focused window. Needs read access to the device
//!   (root, or the `input` group).
//! - Windows: Raw Input on a message-only window, filtered to the device whose interface path
//!   contains the configured substring. Raw Input cannot keep the keys from the focused window
//!   too; the page-side filter (`miniapp-host/js/inputs.js`) and the consumers' de-duplication
//!   take care of that.
//!
//! Keys are named as the W3C UI Events `code` values (`Numpad1`, `KeyA`, `Enter`, …), the names
//! pages see in `KeyboardEvent.code`, so every source speaks one vocabulary.
//!
//! Not for: the page's own keyboard (that arrives from the page), or serial keypads.

#[cfg(target_os = "linux")]
mod evdev_source;
pub mod names;
#[cfg(windows)]
mod rawinput;

pub use booth_serial_io::{Health, Status, Stop};
use std::sync::Arc;

/// One key going down or up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyEvent {
    pub code: &'static str,
    pub down: bool,
}

/// Which device: a path (`/dev/input/by-id/usb-…-event-kbd`) or a substring of its name
/// (Linux) / interface path (Windows, e.g. `VID_0C2E&PID_0B61`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec(pub String);

impl DeviceSpec {
    pub fn is_path(&self) -> bool {
        self.0.starts_with('/')
    }
}

/// Reads `device` on its own thread until `stop`, calling `on_key` for every key down and up;
/// availability goes to `health`. A device that disappears is looked for again every 500 ms.
pub fn spawn(device: DeviceSpec, health: Arc<Health>, stop: Stop, on_key: impl FnMut(KeyEvent) + Send + 'static) {
    #[cfg(target_os = "linux")]
    evdev_source::spawn(device, health, stop, on_key);
    #[cfg(windows)]
    rawinput::spawn(device, health, stop, on_key);
    #[cfg(not(any(target_os = "linux", windows)))]
    {
        let _ = (device, stop, on_key);
        health.set(false, "keyboard devices are read on Linux (evdev) and Windows (Raw Input) only");
    }
}

/// The backend's name for `/health`.
pub const BACKEND: &str = if cfg!(windows) { "rawinput" } else { "evdev" };
