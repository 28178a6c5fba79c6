//! The administrator's screen: a PIN pad, then exit, reload, settings, device status with a
//! self-test per device, and the tail of the log. Opened on kiosks by the hidden gesture
//! (`[kiosk] admin_*`); the PIN is `[admin] pin_hash` (set with `booth pin`).
//!
//! Only the `admin` window (Booth's own `ui/admin.html`) may call `booth_admin`; everything but
//! the PIN itself needs an unlocked screen, which locks again after [`UNLOCKED_FOR`] unused.

use crate::config::Config;
use crate::kiosk::pin::{Outcome, PinGate};
use crate::kiosk::settings::{self, Edit};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tauri::{AppHandle, Manager, State, WebviewUrl, WebviewWindow, WebviewWindowBuilder};

/// The label of the administrator's window.
pub const ADMIN: &str = "admin";
/// An unlocked admin screen locks again after this long without a request.
pub const UNLOCKED_FOR: Duration = Duration::from_secs(300);
/// Lines of the log the admin screen shows.
const LOG_LINES: usize = 200;
/// How long a device self-test waits for the device to produce an input.
const SELF_TEST_WAIT: Duration = Duration::from_secs(10);

/// The settings the admin screen edits: booth.toml key, and what it is.
pub const SETTINGS: [(&str, &str); 17] = [
    ("kiosk.operation_timeout_s", "u64"),
    ("kiosk.idle_s", "u64"),
    ("kiosk.idle_warning_s", "u64"),
    ("kiosk.secondary_monitor", "str"),
    ("package.source", "str"),
    ("scanner.backend", "str"),
    ("scanner.port", "str"),
    ("smartcard.backend", "str"),
    ("smartcard.card_reader", "str"),
    ("idcard.backend", "str"),
    ("idcard.port", "str"),
    ("presence.backend", "str"),
    ("presence.port", "str"),
    ("pos.backend", "str"),
    ("pos.port", "str"),
    ("keypad.backend", "str"),
    ("keypad.port", "str"),
];

pub struct Admin {
    gate: PinGate,
    /// The booth.toml Booth started from (or the default location, where settings are created).
    config_path: Option<PathBuf>,
    log_dir: Option<PathBuf>,
    unlocked_until: Mutex<Option<Instant>>,
}

impl Admin {
    pub fn new(config_path: Option<PathBuf>, log_dir: Option<PathBuf>, policy: crate::kiosk::pin::Policy) -> Admin {
        let config_path = config_path.or_else(crate::config::default_path);
        // The attempt count lives next to booth.toml, so that a restart does not end a lockout
        // (`booth pin --unlock` clears the same file).
        let state = crate::kiosk::pin::state_path_for(config_path.as_deref());
        Admin {
            gate: PinGate::with(state, policy, crate::kiosk::pin::SystemClock),
            config_path,
            log_dir,
            unlocked_until: Mutex::new(None),
        }
    }

    fn config(&self) -> Result<Config, String> {
        match &self.config_path {
            Some(p) if p.exists() => Config::load(Some(p)).map(|(c, _)| c),
            _ => Ok(Config::default()),
        }
    }

    fn unlocked(&self) -> bool {
        let mut until = self.unlocked_until.lock().unwrap_or_else(|p| p.into_inner());
        match *until {
            Some(t) if Instant::now() < t => {
                *until = Some(Instant::now() + UNLOCKED_FOR);
                true
            }
            _ => {
                *until = None;
                false
            }
        }
    }

    fn lock(&self) {
        *self.unlocked_until.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// What the PIN pad shows before a PIN is typed.
    fn pad_state(&self) -> Value {
        let pin_set = self.config().ok().and_then(|c| c.admin.pin_hash).is_some();
        json!({
            "pinSet": pin_set,
            "lockedForS": self.gate.locked_for().map(|d| d.as_secs_f64().ceil() as u64),
            "unlocked": self.unlocked(),
        })
    }

    fn check_pin(&self, pin: &str) -> Value {
        let hash = self.config().ok().and_then(|c| c.admin.pin_hash);
        match self.gate.check(hash.as_deref(), pin) {
            Outcome::Ok => {
                tracing::warn!("admin screen unlocked");
                *self.unlocked_until.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + UNLOCKED_FOR);
                json!({"ok": true})
            }
            Outcome::Wrong { remaining, locked_for } => json!({
                "ok": false, "wrong": true, "remaining": remaining,
                "lockedForS": locked_for.map(|d| d.as_secs()),
            }),
            Outcome::Locked { retry_after } => {
                json!({"ok": false, "lockedForS": retry_after.as_secs_f64().ceil() as u64})
            }
            Outcome::NotSet => json!({"ok": false, "notSet": true}),
        }
    }

    fn settings(&self) -> Value {
        let config = self.config().unwrap_or_default();
        let value = serde_json::to_value(&config).unwrap_or(Value::Null);
        let mut out = serde_json::Map::new();
        for (key, kind) in SETTINGS {
            let mut v = &value;
            for part in key.split('.') {
                v = &v[part];
            }
            out.insert(key.to_string(), json!({"value": v, "kind": kind}));
        }
        json!({"path": self.config_path.as_ref().map(|p| p.display().to_string()), "values": out})
    }

    /// Writes the edited settings; returns the configuration now in the file.
    fn save(&self, values: &Value) -> Result<Config, String> {
        let Some(path) = &self.config_path else { return Err("no place for booth.toml on this machine".into()) };
        let Some(map) = values.as_object() else { return Err("settings must be an object".into()) };
        let mut edits = Vec::new();
        for (key, value) in map {
            let Some((_, kind)) = SETTINGS.iter().find(|(k, _)| k == key) else {
                return Err(format!("{key}: not a setting of the admin screen"));
            };
            let value = match (kind, value) {
                (_, Value::String(s)) if s.trim().is_empty() => Value::Null,
                (&"u64", Value::String(s)) => {
                    json!(s.trim().parse::<u64>().map_err(|_| format!("{key}: `{s}` is not a whole number"))?)
                }
                (_, v) => v.clone(),
            };
            if key.ends_with(".backend") && value.is_null() {
                edits.push(Edit::from_json(key.clone(), &json!("none")).map_err(|e| e.to_string())?);
                continue;
            }
            edits.push(Edit::from_json(key.clone(), &value).map_err(|e| e.to_string())?);
        }
        settings::apply(path, &edits).map_err(|e| e.to_string())
    }

    fn log_tail(&self) -> Value {
        let Some(dir) = &self.log_dir else {
            return json!({"file": null, "lines": ["(log files are off: [log] dir = \"\")"]});
        };
        let newest = std::fs::read_dir(dir)
            .ok()
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("booth"))
            .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok());
        let Some(file) = newest.map(|e| e.path()) else { return json!({"file": null, "lines": []}) };
        let text = read_tail(&file, 256 * 1024).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(LOG_LINES);
        json!({"file": file.display().to_string(), "lines": lines[start..]})
    }
}

/// The last `max` bytes of a file, from the first whole line.
fn read_tail(path: &std::path::Path, max: u64) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let from = len.saturating_sub(max);
    f.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(if from > 0 { text.split_once('\n').map(|(_, rest)| rest.to_string()).unwrap_or_default() } else { text })
}

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

fn close(window: &WebviewWindow, admin: &Admin) {
    admin.lock();
    let _ = window.destroy();
    if let Some(main) = window.app_handle().get_webview_window(crate::commands::MAIN) {
        let _ = main.set_focus();
    }
}

/// The admin screen's requests: `state`, `pin {pin}`, and once unlocked `overview`, `settings`,
/// `save {values}`, `setPin {pin}`, `selfTest {device}`, `facePeople`, `faceDelete {id}`, `log`,
/// `reload`, `restart`, `exit`, `close`.
#[tauri::command]
pub async fn booth_admin(
    window: WebviewWindow,
    app: AppHandle,
    admin: State<'_, Arc<Admin>>,
    shell: State<'_, Arc<crate::shell::Shell>>,
    state: State<'_, Arc<crate::app::AppState>>,
    kind: String,
    payload: Value,
) -> Result<Value, Value> {
    let refuse = |m: String| json!({"message": m});
    if window.label() != ADMIN {
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
            close(&window, &admin);
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
            let Some(path) = &admin.config_path else { return Err(refuse("no booth.toml".into())) };
            crate::kiosk::pin::set_pin(path, pin).map_err(refuse)?;
            tracing::warn!("admin PIN changed");
            Ok(json!({"changed": true}))
        }
        "selfTest" => {
            let device = payload["device"].as_str().unwrap_or_default().to_string();
            let devices = state.devices.clone();
            Ok(tauri::async_runtime::spawn_blocking(move || devices.self_test(&device, SELF_TEST_WAIT))
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
            close(&window, &admin);
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
