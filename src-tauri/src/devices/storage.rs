//! Booth's own files on disk — the log files and the flight recording — and whether they can
//! be written. A full disk must never stop a kiosk: what cannot be written is dropped, said once
//! (stderr, the log when it can, `/health` `storage`), and said again when writing works again.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// One kind of file Booth writes.
pub struct Sink {
    name: &'static str,
    failing: AtomicBool,
    /// Records (log lines, recording lines) dropped since the first failure of this run.
    dropped: AtomicU64,
    failures: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// Booth's daily log files.
pub static LOG: Sink = Sink::new("log");
/// The flight recording (`--record`).
pub static RECORDING: Sink = Sink::new("recording");

/// What a sink's state changed to, so that the caller says it once.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    /// The first failure after writing worked (or at the start).
    Failed,
    /// Writing works again after `dropped` records were lost.
    Recovered {
        dropped: u64,
    },
    Same,
}

impl Sink {
    const fn new(name: &'static str) -> Sink {
        Sink {
            name,
            failing: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }

    /// A write failed: one record dropped.
    pub fn failed(&self, error: &std::io::Error) -> Change {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error.to_string());
        if self.failing.swap(true, Ordering::AcqRel) {
            Change::Same
        } else {
            self.failures.fetch_add(1, Ordering::Relaxed);
            Change::Failed
        }
    }

    /// A write worked.
    pub fn wrote(&self) -> Change {
        if self.failing.swap(false, Ordering::AcqRel) {
            Change::Recovered { dropped: self.dropped.swap(0, Ordering::AcqRel) }
        } else {
            Change::Same
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// For `/health`: `{ok, dropped, failures, lastError}`; `failures` counts the times writing
    /// stopped in this run, `dropped` what is lost since the current failure began.
    pub fn report(&self) -> Value {
        json!({
            "ok": !self.failing.load(Ordering::Acquire),
            "dropped": self.dropped.load(Ordering::Relaxed),
            "failures": self.failures.load(Ordering::Relaxed),
            "lastError": self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        })
    }
}

/// `/health` `storage`.
pub fn report() -> Value {
    json!({ LOG.name: LOG.report(), RECORDING.name: RECORDING.report() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_said_once_and_the_recovery_counts_what_was_lost() {
        let sink = Sink::new("t");
        let full = std::io::Error::from_raw_os_error(28);
        assert_eq!(sink.wrote(), Change::Same);
        assert_eq!(sink.failed(&full), Change::Failed);
        assert_eq!(sink.failed(&full), Change::Same);
        assert_eq!(sink.failed(&full), Change::Same);
        assert_eq!(sink.report()["ok"], false);
        assert_eq!(sink.report()["dropped"], 3);
        assert!(sink.report()["lastError"].as_str().unwrap().contains("No space left"));
        assert_eq!(sink.wrote(), Change::Recovered { dropped: 3 });
        assert_eq!(sink.wrote(), Change::Same);
        assert_eq!(sink.report()["ok"], true);
        assert_eq!(sink.report()["failures"], 1);
        assert_eq!(sink.failed(&full), Change::Failed);
        assert_eq!(sink.report()["failures"], 2);
    }
}
