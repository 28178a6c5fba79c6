//! What the fleet agent ([`booth_fleet`]) needs from this Booth: its package, devices and
//! recoveries for telemetry, the windows for `reload` and `restart`, the log files, and the
//! settings the shadow may change (the admin screen's list, never `[admin]`), written with
//! booth.toml's atomic edit.

use crate::config::settings::{self, Edit};
use crate::config::Config;
use crate::names::{MAIN, SECONDARY};
use crate::shell::lifecycle::Shell;
use booth_fleet::host::{Screenshot, Settings};
use booth_miniapp_host::Package;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::Arc;
use tauri::Manager;

pub struct FleetHost {
    pub handle: tauri::AppHandle,
    pub shell: Arc<Shell>,
    pub package: Arc<Package>,
    /// Every device's status (as `/health` shows it).
    pub devices: Box<dyn Fn() -> Value + Send + Sync>,
    pub config_path: Option<PathBuf>,
    pub log_dir: Option<PathBuf>,
}

impl FleetHost {
    fn config(&self) -> Result<Config, String> {
        Config::load(self.config_path.as_deref()).map(|(c, _)| c)
    }
}

/// The value at a dotted key of a JSON document (`kiosk.idle_s`).
fn at<'a>(doc: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(doc, |v, k| v.get(k))
}

impl booth_fleet::FleetHost for FleetHost {
    fn package(&self) -> Value {
        let m = &self.package.manifest;
        json!({"id": m.id, "version": m.version, "location": self.package.location()})
    }

    fn devices(&self) -> Value {
        (self.devices)()
    }

    fn recoveries(&self) -> Vec<Value> {
        self.shell.recoveries()
    }

    fn reload(&self) -> Result<(), String> {
        let w = self.handle.get_webview_window(MAIN).ok_or("no main window")?;
        w.reload().map_err(|e| e.to_string())?;
        if let Some(s) = self.handle.get_webview_window(SECONDARY) {
            let _ = s.reload();
        }
        Ok(())
    }

    fn restart(&self) {
        tracing::warn!("restarting for the fleet");
        // As the admin screen's restart: windows may close, the bars come back first.
        self.shell.set_leaving();
        self.shell.restore_bars();
        self.handle.restart();
    }

    fn screenshots(&self, windows: &[String]) -> Vec<Screenshot> {
        windows
            .iter()
            .map(|w| Screenshot {
                window: w.clone(),
                png: match self.handle.get_webview_window(w) {
                    Some(win) => crate::shell::snapshot::capture(&win),
                    None => Err(format!("no window `{w}`")),
                },
            })
            .collect()
    }

    fn log_files(&self) -> Vec<PathBuf> {
        let Some(dir) = &self.log_dir else { return Vec::new() };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files.into_iter().map(|(_, p)| p).collect()
    }

    fn doctor(&self) -> Value {
        json!({"package": self.package(), "devices": self.devices(), "recoveries": self.recoveries().len()})
    }

    fn editable(&self) -> Vec<(String, String)> {
        crate::kiosk::admin::SETTINGS.iter().map(|(k, t)| (k.to_string(), t.to_string())).collect()
    }

    fn settings(&self) -> Result<Settings, String> {
        let c = self.config()?;
        let doc = serde_json::to_value(&c).map_err(|e| e.to_string())?;
        let mut values = Map::new();
        for (k, _) in crate::kiosk::admin::SETTINGS {
            values.insert(k.to_string(), at(&doc, k).cloned().unwrap_or(Value::Null));
        }
        Ok(Settings { version: c.fleet.shadow_version, values })
    }

    fn apply_settings(&self, edits: &[(String, Value)], version: u64) -> Result<bool, String> {
        let path = self.config_path.clone().or_else(crate::config::default_path).ok_or("no booth.toml location")?;
        let mut all = edits
            .iter()
            .map(|(k, v)| Edit::from_json(k.clone(), v))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        all.push(Edit::set("fleet.shadow_version", version as i64));
        let before = self.config()?;
        let after = settings::apply(&path, &all).map_err(|e| e.to_string())?;
        Config::source_edited(&before, &after)?;
        // booth.toml is read at start: the new settings apply after a restart.
        Ok(!edits.is_empty())
    }
}
