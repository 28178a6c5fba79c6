//! What the IPC commands and the control endpoint share: the devices and the package of this run.

use crate::devices::Devices;
use booth_miniapp_host::Package;
use std::sync::Arc;

/// Managed by the Tauri app; every page command reaches the bridge through it.
pub struct AppState {
    pub devices: Arc<Devices>,
    pub package: Arc<Package>,
    /// `[apps]`: the other mini-programs, each on its own origin.
    pub catalogue: Arc<crate::shell::apps::Catalogue>,
    /// Where the answers of batched calls that wait go (see `page::booth_call`).
    pub replies: super::batch::ReplyRoutes,
}
