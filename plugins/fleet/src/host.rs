//! What the agent needs from the Booth it runs in. The app implements [`FleetHost`] with its
//! shell, devices and booth.toml; the tests and the load tool implement it without windows.

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
