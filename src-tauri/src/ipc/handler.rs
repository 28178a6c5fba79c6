//! The IPC entry points Booth registers with Tauri, and which pages may reach them.

use super::{admin, page};
use crate::names::{package_base, MAIN, SECONDARY};
use booth_miniapp_host::Package;

/// Every IPC command of Booth's pages.
pub fn invoke_handler() -> impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static {
    let generated: fn(tauri::ipc::Invoke<tauri::Wry>) -> bool = tauri::generate_handler![
        page::booth_attach,
        page::booth_subscribe,
        page::booth_log,
        page::booth_input,
        page::booth_shell,
        admin::booth_admin
    ];
    move |invoke| {
        if invoke.message.command() == "booth_call" {
            page::booth_call(invoke);
            true
        } else {
            generated(invoke)
        }
    }
}

/// Pages of the package (its scheme, its `origins`, or its remote origin) may reach the bridge
/// commands; nothing else may.
pub fn allow_package_origins(
    app: &tauri::App,
    package: &Package,
    catalogue: &crate::shell::apps::Catalogue,
) -> tauri::Result<()> {
    let mut builder = tauri::ipc::CapabilityBuilder::new("booth-package-origins")
        .windows([MAIN, SECONDARY])
        .permission("allow-booth-attach")
        .permission("allow-booth-call")
        .permission("allow-booth-subscribe")
        .permission("allow-booth-log")
        .permission("allow-booth-input")
        .permission("allow-booth-shell");
    let base = package_base();
    builder = builder.remote(format!("{}*", base.as_str()));
    for base in catalogue.origins() {
        builder = builder.remote(format!("{}*", base.as_str()));
    }
    for origin in package.extra_origins() {
        builder = builder.remote(format!("{origin}/*"));
    }
    tauri::Manager::add_capability(app, builder)
}
