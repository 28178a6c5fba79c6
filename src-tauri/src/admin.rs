//! The administrator's screen: a PIN pad, then exit, reload, settings, device status and the
//! log. Opened on kiosks by the hidden gesture (`[kiosk] admin_*`).

use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};

/// The label of the administrator's window.
pub const ADMIN: &str = "admin";

/// Shows the PIN pad over everything (or brings it back to the front).
pub fn open(app: &AppHandle) {
    let app = app.clone();
    let handle = app.clone();
    let _ = handle.run_on_main_thread(move || {
        if let Some(w) = app.get_webview_window(ADMIN) {
            let _ = w.show();
            let _ = w.set_focus();
            return;
        }
        tracing::info!("administrator's gesture: PIN pad");
        let built = WebviewWindowBuilder::new(&app, ADMIN, WebviewUrl::App("admin.html".into()))
            .title("Booth — 管理 Administration")
            .decorations(false)
            .always_on_top(true)
            .fullscreen(true)
            .skip_taskbar(true)
            .initialization_script(booth_miniapp_host::runtime::console_script())
            .on_new_window(|_, _| tauri::webview::NewWindowResponse::Deny)
            .build();
        if let Err(e) = built {
            tracing::error!(error = %e, "cannot open the administrator's screen");
        }
    });
}
