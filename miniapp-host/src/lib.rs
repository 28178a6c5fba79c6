//! Booth's mini-program packages and the runtime injected into their pages.
//!
//! - [`manifest`]: `miniapp.json`, validated strictly, with errors that name the file and field.
//! - [`package`]: a package from a folder, a `.zip`, or an `http(s)://` URL; serving its files
//!   safely; deciding which navigations are allowed.
//! - [`runtime`]: the JavaScript (`js/runtime.js`) that defines `my`, `wxfaceapp` and `ft` in every
//!   page, configured with the package's dialects and the API table of the bridge.
//!
//! Not for: routing calls (that is `booth-bridge`) or creating windows (that is the app).

pub mod manifest;
pub mod package;
pub mod remote;
pub mod runtime;

pub use manifest::{Manifest, Secondary};
pub use package::{Asset, Package, PackageError, Source};
