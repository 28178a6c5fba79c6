//! `booth_admin`: the administrator's screen's requests. Only the `admin` window (Booth's own
//! `ui/admin.html`) may call it.

use super::state::AppState;
use crate::kiosk::admin::{self, Admin};
use crate::names::ADMIN;
use crate::shell::admin_window;
use crate::shell::lifecycle::Shell;
use serde_json::{json, Value};
use std::sync::Arc;
use tauri::{AppHandle, State, WebviewWindow};

/// The admin screen's requests: `state`, `pin {pin}`, and once unlocked `overview`, `settings`,
/// `save {values}`, `setPin {pin}`, `selfTest {device}`, `facePeople`, `faceDelete {id}`, `log`, `reload`, `restart`, `exit`,
/// `close`.
#[tauri::command]
pub async fn booth_admin(
    window: WebviewWindow,
    app: AppHandle,
    admin: State<'_, Arc<Admin>>,
    shell: State<'_, Arc<Shell>>,
    state: State<'_, Arc<AppState>>,
    kind: String,
    payload: Value,
) -> Result<Value, Value> {
    let refuse = |m: String| json!({"message": m});
    // The admin window, showing Booth's own admin page (nothing else is ever loaded there; the
    // URL is checked too so that a mistake elsewhere cannot hand these requests to a page).
    let own_page = window.url().is_ok_and(|u| {
        let ui = crate::names::ui_base();
        u.scheme() == ui.scheme() && u.host() == ui.host() && u.path() == "/admin.html"
    });
    if window.label() != ADMIN || !own_page {
        return Err(refuse("only the admin screen may ask".into()));
    }
    match kind.as_str() {
        "state" => return Ok(admin.pad_state()),
        "pin" => {
            let pin = payload["pin"].as_str().unwrap_or_default().to_string();
            let admin = admin.inner().clone();
            // Argon2 takes tens of milliseconds: off the async runtime's threads.
            return tauri::async_runtime::spawn_blocking(move || admin.check_pin(&pin))
                .await
                .map_err(|e| refuse(e.to_string()));
        }
        "close" => {
            admin.lock();
            admin_window::close(&window);
            return Ok(Value::Null);
        }
        _ => {}
    }
    if !admin.unlocked() {
        return Err(json!({"message": "locked", "locked": true}));
    }
    match kind.as_str() {
        "overview" => Ok(json!({
            "version": crate::VERSION,
            "package": {"name": state.package.manifest.name, "version": state.package.manifest.version, "location": state.package.location()},
            "devices": state.devices.status(),
            "shell": shell.report_state(),
        })),
        "settings" => Ok(admin.settings()),
        "save" => {
            let saved = admin.save(&payload["values"]).map_err(refuse)?;
            // Timeouts apply at once; devices, package and placement at the next start.
            shell.set_config(saved.kiosk.clone());
            tracing::warn!("settings saved by the administrator");
            Ok(json!({"saved": true, "restartNeeded": true}))
        }
        "setPin" => {
            let pin = payload["pin"].as_str().unwrap_or_default();
            let Some(path) = admin.config_path() else { return Err(refuse("no booth.toml".into())) };
            crate::kiosk::pin::set_pin(path, pin).map_err(refuse)?;
            tracing::warn!("admin PIN changed");
            Ok(json!({"changed": true}))
        }
        "selfTest" => {
            let device = payload["device"].as_str().unwrap_or_default().to_string();
            let devices = state.devices.clone();
            Ok(tauri::async_runtime::spawn_blocking(move || devices.self_test(&device, admin::SELF_TEST_WAIT))
                .await
                .map_err(|e| refuse(e.to_string()))?)
        }
        "facePeople" => {
            let gallery = state.devices.face.gallery().map_err(|e| refuse(e.to_string()))?;
            Ok(json!({"status": gallery.status(), "people": gallery.people(None)}))
        }
        "faceDelete" => {
            let id = payload["id"].as_str().unwrap_or_default().to_string();
            let gallery = state.devices.face.gallery().map_err(|e| refuse(e.to_string()))?;
            let deleted = tauri::async_runtime::spawn_blocking(move || gallery.delete(&id))
                .await
                .map_err(|e| refuse(e.to_string()))?
                .map_err(|e| refuse(e.to_string()))?;
            tracing::warn!("a person was deleted from the face gallery by the administrator");
            Ok(json!({"deleted": deleted}))
        }
        "log" => Ok(admin.log_tail()),
        "reload" => {
            admin.lock();
            admin_window::close(&window);
            shell.start_package().map_err(refuse)?;
            Ok(Value::Null)
        }
        "restart" => {
            tracing::warn!("restart requested by the administrator");
            shell.set_leaving();
            shell.restore_bars();
            app.restart();
        }
        "exit" => {
            tracing::warn!("exit to the desktop by the administrator");
            shell.set_leaving();
            shell.restore_bars();
            app.exit(crate::kiosk::EXIT_ADMIN);
            Ok(Value::Null)
        }
        other => Err(refuse(format!("unknown request `{other}`"))),
    }
}
