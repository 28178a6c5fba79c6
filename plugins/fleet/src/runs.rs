//! Whether the Booth before this one ended without saying so (a crash, a kill, a power cut):
//! each run leaves a small file named after its process id in a folder and removes it when it
//! ends on purpose (an exit or a restart). A file whose process is gone at the next start is a
//! run that crashed. One file per process, so several Booths of one user (a kiosk and a
//! `booth dev`) do not take each other's files for crashes.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A run that ended without removing its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndedRun {
    pub pid: u32,
    /// When it started, ms since the Unix epoch.
    pub started_at: u64,
    /// Its Booth version.
    pub version: String,
}

/// This run's file; [`RunMarker::ended_on_purpose`] removes it.
#[derive(Debug)]
pub struct RunMarker {
    path: PathBuf,
}

impl RunMarker {
    /// Records this run in `dir` and returns the runs before it that crashed (their files are
    /// removed: each is reported once). `alive` says whether a process id still runs.
    pub fn begin(dir: &Path, version: &str, alive: impl Fn(u32) -> bool) -> (Option<RunMarker>, Vec<EndedRun>) {
        let me = std::process::id();
        let mut crashed = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let path = e.path();
                let Some(pid) = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".json"))
                    .and_then(|n| n.parse::<u32>().ok())
                else {
                    continue;
                };
                if pid == me || alive(pid) {
                    continue;
                }
                let run = std::fs::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<EndedRun>(&b).ok())
                    .unwrap_or(EndedRun { pid, started_at: 0, version: String::new() });
                if std::fs::remove_file(&path).is_ok() {
                    crashed.push(run);
                }
            }
        }
        crashed.sort_by_key(|r| r.started_at);
        let run = EndedRun { pid: me, started_at: crate::protocol::now_ms(), version: version.to_string() };
        let path = dir.join(format!("{me}.json"));
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| crate::store::write_atomic(&path, &serde_json::to_vec(&run).unwrap_or_default()));
        match written {
            Ok(()) => (Some(RunMarker { path }), crashed),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot record this run; a crash will not be reported");
                (None, crashed)
            }
        }
    }

    /// This run ends on purpose (exit, restart): not a crash.
    pub fn ended_on_purpose(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_that_did_not_end_on_purpose_is_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        // A run of a process that is gone, one that still runs, and junk.
        std::fs::write(dir.path().join("4000001.json"), r#"{"pid":4000001,"startedAt":5,"version":"0.1.0"}"#).unwrap();
        std::fs::write(dir.path().join("4000002.json"), "{}").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let alive = |pid: u32| pid == 4000002;
        let (me, crashed) = RunMarker::begin(dir.path(), "0.2.0", alive);
        assert_eq!(crashed, [EndedRun { pid: 4000001, started_at: 5, version: "0.1.0".into() }]);
        let me = me.unwrap();
        assert!(dir.path().join(format!("{}.json", std::process::id())).is_file());
        // Reported once; the living one is left alone.
        let (_, again) = RunMarker::begin(dir.path(), "0.2.0", alive);
        assert!(again.is_empty());
        assert!(dir.path().join("4000002.json").is_file());
        // Ended on purpose: its file is gone, so nothing is reported once the process is.
        me.ended_on_purpose();
        assert!(!dir.path().join(format!("{}.json", std::process::id())).exists());
    }
}
