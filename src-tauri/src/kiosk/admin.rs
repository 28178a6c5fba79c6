//! The administrator's screen, its state: the PIN gate with its unlock window, the settings it
//! edits, and the tail of the log. Opened on kiosks by the hidden gesture (`[kiosk] admin_*`);
//! the PIN is `[admin] pin_hash` (set with `booth pin`). The window is the shell's
//! (`shell::admin_window`), its requests arrive through `ipc::admin`.
//!
//! Everything but the PIN itself needs an unlocked screen, which locks again after
//! [`UNLOCKED_FOR`] unused.

use crate::config::settings::{self, Edit};
use crate::config::Config;
use crate::kiosk::pin::{Outcome, PinGate};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// An unlocked admin screen locks again after this long without a request.
pub const UNLOCKED_FOR: Duration = Duration::from_secs(300);
/// Lines of the log the admin screen shows.
const LOG_LINES: usize = 200;
/// How long a device self-test waits for the device to produce an input.
pub const SELF_TEST_WAIT: Duration = Duration::from_secs(10);

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
    on_login: Mutex<Option<LoginHook>>,
}

/// Told of each PIN typed: whether it opened the screen, and `ok`, `wrong`, `locked` or `not-set`.
pub type LoginHook = Box<dyn Fn(bool, &str) + Send + Sync>;

impl Admin {
    pub fn new(config_path: Option<PathBuf>, log_dir: Option<PathBuf>, policy: crate::kiosk::pin::Policy) -> Admin {
        let config_path = config_path.or_else(crate::config::default_path);
        // The attempt count lives next to booth.toml, so that a restart does not end a lockout
        // (`booth pin --unlock` clears the same file).
        let state = crate::config::admin::state_path_for(config_path.as_deref());
        Admin {
            gate: PinGate::with(state, policy, crate::kiosk::pin::SystemClock),
            config_path,
            log_dir,
            unlocked_until: Mutex::new(None),
            on_login: Mutex::new(None),
        }
    }

    fn config(&self) -> Result<Config, String> {
        match &self.config_path {
            Some(p) if p.exists() => Config::load(Some(p)).map(|(c, _)| c),
            _ => Ok(Config::default()),
        }
    }

    /// The booth.toml the settings are written to.
    pub fn config_path(&self) -> Option<&Path> {
        self.config_path.as_deref()
    }

    /// Whether the screen is unlocked now; each call while unlocked extends it.
    pub fn unlocked(&self) -> bool {
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

    pub fn lock(&self) {
        *self.unlocked_until.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// What the PIN pad shows before a PIN is typed.
    pub fn pad_state(&self) -> Value {
        let pin_set = self.config().ok().and_then(|c| c.admin.pin_hash).is_some();
        json!({
            "pinSet": pin_set,
            "lockedForS": self.gate.locked_for().map(|d| d.as_secs_f64().ceil() as u64),
            "unlocked": self.unlocked(),
        })
    }

    /// Reports each login attempt (the fleet's `admin-login` event); never the PIN.
    pub fn on_login(&self, hook: LoginHook) {
        *self.on_login.lock().unwrap_or_else(|p| p.into_inner()) = Some(hook);
    }

    pub fn check_pin(&self, pin: &str) -> Value {
        let hash = self.config().ok().and_then(|c| c.admin.pin_hash);
        let outcome = self.gate.check(hash.as_deref(), pin);
        if let Some(hook) = self.on_login.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            let kind = match &outcome {
                Outcome::Ok => "ok",
                Outcome::Wrong { .. } => "wrong",
                Outcome::Locked { .. } => "locked",
                Outcome::NotSet => "not-set",
            };
            hook(matches!(outcome, Outcome::Ok), kind);
        }
        match outcome {
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

    pub fn settings(&self) -> Value {
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
    pub fn save(&self, values: &Value) -> Result<Config, String> {
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
        let before = self.config()?;
        let after = settings::apply(path, &edits).map_err(|e| e.to_string())?;
        Config::source_edited(&before, &after)?;
        Ok(after)
    }

    pub fn log_tail(&self) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn each_login_attempt_is_reported_without_the_pin() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("booth.toml");
        let admin = Admin::new(Some(path.clone()), None, crate::kiosk::pin::Policy::default());
        let seen: Arc<Mutex<Vec<(bool, String)>>> = Arc::default();
        let s = seen.clone();
        admin.on_login(Box::new(move |ok, outcome| s.lock().unwrap().push((ok, outcome.to_string()))));
        admin.check_pin("1234");
        crate::kiosk::pin::set_pin(&path, "4711").unwrap();
        admin.check_pin("0000");
        admin.check_pin("4711");
        for _ in 0..4 {
            admin.check_pin("0000");
        }
        let seen = seen.lock().unwrap();
        assert_eq!(seen[..3], [(false, "not-set".into()), (false, "wrong".into()), (true, "ok".into())]);
        assert_eq!(seen.last().unwrap(), &(false, "locked".to_string()), "{seen:?}");
    }
}
