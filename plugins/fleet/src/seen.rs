//! Command ids already received, kept on disk so that a command is never run twice — not when
//! the broker delivers it again after a reconnect, not after Booth restarted (a `restart`
//! command may be redelivered when its acknowledgement did not get out before the exit).

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Mutex;

/// Ids remembered (the oldest are forgotten first) — but not one whose command has not expired
/// yet, up to [`HARD_LIMIT`], so a signed command (which expires within the hour) cannot be
/// replayed while it is still valid.
const KEEP: usize = 1024;
const HARD_LIMIT: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub id: String,
    pub at: u64,
    /// Kept at least until then (the command's `expiresAt`).
    #[serde(default)]
    pub until: Option<u64>,
    /// `OK` or the failure code, once it finished; none while it runs (or when Booth stopped
    /// while it ran).
    pub code: Option<String>,
}

pub struct CommandLog {
    path: Option<PathBuf>,
    entries: Mutex<VecDeque<Seen>>,
}

impl CommandLog {
    /// Kept in `path` (created when missing); `None` keeps it in memory only.
    pub fn open(path: Option<PathBuf>) -> CommandLog {
        let entries = path
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice::<VecDeque<Seen>>(&b).ok())
            .unwrap_or_default();
        CommandLog { path, entries: Mutex::new(entries) }
    }

    /// Notes `id` as received; `Err` with the earlier receipt when it was seen before.
    pub fn begin(&self, id: &str, until: Option<u64>) -> Result<(), Seen> {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(prev) = e.iter().find(|s| s.id == id) {
            return Err(prev.clone());
        }
        let now = crate::protocol::now_ms();
        e.push_back(Seen { id: id.to_string(), at: now, until, code: None });
        while e.len() > KEEP {
            let expired = e.iter().position(|s| s.until.is_none_or(|u| u <= now));
            match expired {
                Some(i) => {
                    e.remove(i);
                }
                None if e.len() > HARD_LIMIT => {
                    e.pop_front();
                }
                None => break,
            }
        }
        self.save(&e);
        Ok(())
    }

    pub fn finish(&self, id: &str, code: &str) {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = e.iter_mut().find(|s| s.id == id) {
            s.code = Some(code.to_string());
        }
        self.save(&e);
    }

    fn save(&self, e: &VecDeque<Seen>) {
        let Some(path) = &self.path else { return };
        match serde_json::to_vec(e) {
            Ok(bytes) => {
                if let Err(err) = crate::store::write_atomic(path, &bytes) {
                    tracing::error!(file = %path.display(), error = %err, "cannot keep the command ids");
                }
            }
            Err(err) => tracing::error!(error = %err, "cannot keep the command ids"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("commands.json");
        let log = CommandLog::open(Some(path.clone()));
        assert!(log.begin("a", None).is_ok());
        log.finish("a", "OK");
        assert_eq!(log.begin("a", None).unwrap_err().code.as_deref(), Some("OK"));
        let again = CommandLog::open(Some(path));
        assert!(again.begin("a", None).is_err(), "remembered across a restart");
        assert!(again.begin("b", None).is_ok());
    }

    #[test]
    fn unexpired_ids_outlive_the_count() {
        let log = CommandLog::open(None);
        let later = crate::protocol::now_ms() + 3_600_000;
        assert!(log.begin("valid", Some(later)).is_ok());
        assert!(log.begin("old", Some(1)).is_ok());
        for i in 0..KEEP + 10 {
            assert!(log.begin(&format!("n{i}"), None).is_ok());
        }
        assert!(log.begin("valid", Some(later)).is_err(), "not expired: still known");
        assert!(log.begin("old", None).is_ok(), "expired and past the count: forgotten");
    }
}
