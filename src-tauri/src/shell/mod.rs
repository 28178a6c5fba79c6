//! Room `shell`: Booth's windows and what happens to them — the main window ([`open`]), the
//! customer screen ([`secondary`]) and the apps on it ([`apps`], [`back_screen`]), the simulator panel, the admin window ([`admin_window`]),
//! the launcher page, monitors ([`monitors`]), how pages are drawn ([`rendering`]), the web
//! views' signals ([`webkit`] on Linux, [`webview2`] on Windows), and the lifecycle around the
//! mini-program ([`lifecycle`]: deviceConfig and exitMp, the operation watcher, the idle reset,
//! recovery from a dead or hung page). It implements the host traits capability plugins define
//! for their windows (second screen, enterIDNumber keypad, face screen, certification window, deviceConfig).
//!
//! Must not import: `ipc`, `cli`, `dev` or `app`. It uses `kiosk` (desktop lock-down),
//! `config` and `names`.

pub mod admin_window;
pub mod apps;
pub mod back_screen;
#[cfg(target_os = "linux")]
pub mod call_screen;
pub mod certify;
pub mod face_screen;
pub mod fleet_host;
pub mod id_number;
pub mod layout;
pub mod lifecycle;
pub mod memory;
pub mod monitors;
pub mod open;
pub mod page_key;
pub mod rendering;
pub mod secondary;
pub mod signals;
pub mod snapshot;
#[cfg(target_os = "linux")]
pub mod webkit;
#[cfg(windows)]
pub mod webview2;
#[cfg(target_os = "linux")]
pub mod wm;
