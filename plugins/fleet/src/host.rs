//! What the agent needs from the Booth it runs in. The app implements [`FleetHost`] with its
//! shell, devices and booth.toml; [`Windowless`] is one without windows for the load tool and
//! the tests.

use serde_json::{Map, Value};
use std::path::PathBuf;

/// One window's picture.
#[derive(Debug, Clone)]
pub struct Screenshot {
    /// The window's label (`main`, `secondary`).
    pub window: String,
    /// PNG bytes, or why there is none.
    pub png: Result<Vec<u8>, String>,
}

/// The settings the shadow reports, and the version of the desired document applied last.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub version: u64,
    pub values: Map<String, Value>,
}

pub trait FleetHost: Send + Sync + 'static {
    /// The running package: `{id, version, location}`.
    fn package(&self) -> Value;
    /// Every device's `{backend, available, …}` by name (as `/health` shows them).
    fn devices(&self) -> Value;
    /// Recoveries of crashed or hung pages since start, oldest first (`{window, why, at}`).
    fn recoveries(&self) -> Vec<Value>;
    /// Loads the package's entry again.
    fn reload(&self) -> Result<(), String>;
    /// Restarts Booth (called after the command's result went out).
    fn restart(&self);
    /// A PNG of each window asked for. Blocking; called off the network task.
    fn screenshots(&self, windows: &[String]) -> Vec<Screenshot>;
    /// Booth's log files, newest last.
    fn log_files(&self) -> Vec<PathBuf>;
    /// What `booth doctor` reports, as JSON.
    fn doctor(&self) -> Value;
    /// The booth.toml keys the shadow may change and their kinds (`u64` or `str`).
    fn editable(&self) -> Vec<(String, String)>;
    /// The editable settings' current values and the applied shadow version.
    fn settings(&self) -> Result<Settings, String>;
    /// Writes `edits` (booth.toml key, value; `null` removes) and `fleet.shadow_version =
    /// version` in one atomic booth.toml edit. Returns whether a restart is needed for all of
    /// them to apply.
    fn apply_settings(&self, edits: &[(String, Value)], version: u64) -> Result<bool, String>;
}

/// Booth without windows: the load tool's simulated terminals and the tests' terminals. Its
/// package is the store's current release (else 1.0.0); its restart confirms a release on trial
/// and reports it, as a restarted Booth whose page showed does; its settings live in memory;
/// screenshots have no window to take.
pub struct Windowless {
    store: crate::store::Store,
    devices: Value,
    editable: Vec<(String, String)>,
    settings: std::sync::Mutex<Settings>,
    agent: std::sync::Mutex<std::sync::Weak<crate::Agent>>,
    reloads: std::sync::atomic::AtomicU32,
}

impl Windowless {
    pub fn new(store: crate::store::Store) -> Windowless {
        Windowless {
            store,
            devices: Value::Object(Map::new()),
            editable: Vec::new(),
            settings: Default::default(),
            agent: Default::default(),
            reloads: Default::default(),
        }
    }

    /// The devices telemetry reports (`{name: {backend, available}}`).
    pub fn with_devices(mut self, devices: Value) -> Windowless {
        self.devices = devices;
        self
    }

    /// The settings the shadow may change (key, `u64` or `str`).
    pub fn with_editable(mut self, editable: &[(&str, &str)]) -> Windowless {
        self.editable = editable.iter().map(|(k, t)| (k.to_string(), t.to_string())).collect();
        self
    }

    /// The agent whose updates a restart reports.
    pub fn attach(&self, agent: &std::sync::Arc<crate::Agent>) {
        *self.agent.lock().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::downgrade(agent);
    }

    /// How many `reload` commands ran.
    pub fn reloads(&self) -> u32 {
        self.reloads.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl FleetHost for Windowless {
    fn package(&self) -> Value {
        let v = self.store.current().map(|r| r.version).unwrap_or_else(|| "1.0.0".into());
        serde_json::json!({"id": "shop", "version": v, "location": "windowless"})
    }
    fn devices(&self) -> Value {
        self.devices.clone()
    }
    fn recoveries(&self) -> Vec<Value> {
        Vec::new()
    }
    fn reload(&self) -> Result<(), String> {
        self.reloads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
    fn restart(&self) {
        if self.store.trial().is_some() {
            if let Err(e) = self.store.confirm() {
                tracing::warn!(error = %e, "confirming the release on trial");
            }
        }
        let agent = self.agent.lock().unwrap_or_else(|e| e.into_inner()).upgrade();
        if let Some(a) = agent {
            a.report_updates();
        }
    }
    fn screenshots(&self, windows: &[String]) -> Vec<Screenshot> {
        windows.iter().map(|w| Screenshot { window: w.clone(), png: Err("no windows".into()) }).collect()
    }
    fn log_files(&self) -> Vec<PathBuf> {
        Vec::new()
    }
    fn doctor(&self) -> Value {
        serde_json::json!({"ok": true})
    }
    fn editable(&self) -> Vec<(String, String)> {
        self.editable.clone()
    }
    fn settings(&self) -> Result<Settings, String> {
        Ok(self.settings.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
    fn apply_settings(&self, edits: &[(String, Value)], version: u64) -> Result<bool, String> {
        let mut s = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        for (k, v) in edits {
            if v.is_null() {
                s.values.remove(k);
            } else {
                s.values.insert(k.clone(), v.clone());
            }
        }
        s.version = version;
        Ok(false)
    }
}
