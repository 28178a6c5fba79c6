//! The administrator's window: Booth's own `ui/admin.html`, fullscreen and above everything.
//! What it asks is answered by `ipc::admin` with the state in `kiosk::admin`.

use crate::names::{ADMIN, MAIN};
use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindow, WebviewWindowBuilder};

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
        match built {
            Ok(w) => {
                let _ = w.set_focus();
            }
            Err(e) => tracing::error!(error = %e, "cannot open the administrator's screen"),
        }
    });
}

/// Closes the admin window (the caller locks the screen) and gives the focus back to the page.
pub fn close(window: &WebviewWindow) {
    let _ = window.destroy();
    if let Some(main) = window.app_handle().get_webview_window(MAIN) {
        let _ = main.set_focus();
    }
}
