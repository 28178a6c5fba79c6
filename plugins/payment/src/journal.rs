//! The terminal's payment journal: one line per step of every payment attempt, appended and
//! flushed to the disk (fsync) before the provider is called and again after it answered.
//!
//! A line is `<crc32 of the JSON, 8 hex digits> <JSON>\n`. At open, a last line that is cut
//! short or fails its checksum (the power went while it was written) is dropped and the file is
//! cut back to the last whole line; a bad line elsewhere is skipped and counted (`corrupt`), the
//! lines after it still count. An attempt whose last line is `open` or `unknown` was not
//! resolved: the provider may or may not have charged. [`Journal::unresolved`] lists them; the
//! payment service asks the provider and appends the answer.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What went wrong with the journal file.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("支付日志 {path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
}

/// How the payment was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// facePay: the face on this terminal.
    Face,
    /// A customer's payment code from the scanner (facePay's fallback after failed faces).
    Code,
    /// quickPay: the face of the login.
    Quick,
}

/// Where an attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Written before the provider is called; no answer yet.
    Open,
    /// The provider charged the customer.
    Paid,
    /// The provider refused (nothing charged).
    Failed,
    /// No answer came (network, timeout): the provider must be asked.
    Unknown,
}

impl State {
    pub fn resolved(self) -> bool {
        matches!(self, State::Paid | State::Failed)
    }
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Unix milliseconds.
    pub at_ms: u64,
    /// The attempt's Idempotency-Key: every request about this payment carries it.
    pub key: String,
    #[serde(rename = "outTradeNo")]
    pub trade: String,
    /// Fen.
    pub amount: u64,
    pub kind: Kind,
    pub state: State,
    /// The provider's payment id, once paid.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub payment_id: String,
    /// The provider's code, or why the answer is unknown; never anything about the person.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// Resolved at start-up, after a crash: the page that asked is gone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
    /// The cash register asked for this payment: it hears the outcome, also one settled later.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub register: bool,
}

/// An attempt as the journal knows it: its last line, and when it began.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub started_ms: u64,
    #[serde(flatten)]
    pub last: Entry,
}

/// Counts for the admin screen and `/health`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub attempts: usize,
    pub paid: usize,
    pub failed: usize,
    pub unresolved: usize,
    /// Fen paid today (local day of the terminal's clock, UTC when unknown).
    pub paid_today_fen: u64,
    pub paid_today: usize,
    /// Lines skipped at open because their checksum failed.
    pub corrupt: usize,
}

/// Which attempts to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only those begun at or after this Unix millisecond.
    pub since_ms: Option<u64>,
    pub unresolved: bool,
    pub trade: Option<String>,
}

struct Inner {
    /// `None`: the file could not be opened; every append fails, so nothing is charged.
    file: Option<File>,
    attempts: BTreeMap<String, Attempt>,
    /// Order of first appearance.
    order: Vec<String>,
}

/// The journal; one per terminal. Appends are serialised and durable when they return.
pub struct Journal {
    path: PathBuf,
    inner: Mutex<Inner>,
    corrupt: usize,
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Start of the current UTC day, in Unix milliseconds.
pub fn today_start_ms() -> u64 {
    let now = now_ms();
    now - now % 86_400_000
}

fn encode(entry: &Entry) -> String {
    let json = serde_json::to_string(entry).unwrap_or_default();
    format!("{:08x} {json}\n", crc32fast::hash(json.as_bytes()))
}

fn decode(line: &str) -> Option<Entry> {
    let (sum, json) = line.split_once(' ')?;
    let sum = u32::from_str_radix(sum, 16).ok()?;
    (crc32fast::hash(json.as_bytes()) == sum).then(|| serde_json::from_str(json).ok()).flatten()
}

impl Journal {
    /// Opens (or creates) the journal at `path`, reading every attempt in it.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let io = |error| JournalError::Io { path: path.to_path_buf(), error };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let created = !path.exists();
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(path).map_err(io)?;
        if created {
            sync_dir(path);
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let Loaded { attempts, order, corrupt, good_end } = load(&bytes);
        if good_end < bytes.len() {
            file.set_len(good_end as u64).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok(Journal {
            path: path.to_path_buf(),
            inner: Mutex::new(Inner { file: Some(file), attempts, order }),
            corrupt,
        })
    }

    /// Reads the journal at `path` without changing it (`booth payments` while Booth runs); it
    /// refuses appends. A missing file is an empty journal.
    pub fn read_only(path: &Path) -> Result<Journal, JournalError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(JournalError::Io { path: path.to_path_buf(), error }),
        };
        let Loaded { attempts, order, corrupt, .. } = load(&bytes);
        Ok(Journal { path: path.to_path_buf(), inner: Mutex::new(Inner { file: None, attempts, order }), corrupt })
    }

    /// A journal that could not be opened: it lists nothing and refuses every append, so that
    /// no payment is made without one.
    pub fn unavailable(path: &Path) -> Journal {
        Journal {
            path: path.to_path_buf(),
            inner: Mutex::new(Inner { file: None, attempts: BTreeMap::new(), order: Vec::new() }),
            corrupt: 0,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `entry` and waits until it is on the disk.
    pub fn append(&self, entry: Entry) -> Result<(), JournalError> {
        let line = encode(&entry);
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let io = |error| JournalError::Io { path: self.path.clone(), error };
        let file = inner.file.as_mut().ok_or_else(|| io(std::io::Error::other("未能打开")))?;
        file.write_all(line.as_bytes()).map_err(io)?;
        file.sync_data().map_err(io)?;
        let Inner { attempts, order, .. } = &mut *inner;
        apply(attempts, order, entry);
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<Attempt> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).attempts.get(key).cloned()
    }

    /// The latest attempt for a trade number, if any.
    pub fn by_trade(&self, trade: &str) -> Option<Attempt> {
        self.list(&Filter { trade: Some(trade.to_string()), ..Filter::default() }).pop()
    }

    /// Attempts whose outcome is not known, oldest first.
    pub fn unresolved(&self) -> Vec<Attempt> {
        self.list(&Filter { unresolved: true, ..Filter::default() })
    }

    /// Attempts in the order they began.
    pub fn list(&self, filter: &Filter) -> Vec<Attempt> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .order
            .iter()
            .filter_map(|k| inner.attempts.get(k))
            .filter(|a| filter.since_ms.is_none_or(|s| a.started_ms >= s))
            .filter(|a| !filter.unresolved || !a.last.state.resolved())
            .filter(|a| filter.trade.as_ref().is_none_or(|t| &a.last.trade == t))
            .cloned()
            .collect()
    }

    pub fn summary(&self) -> Summary {
        let today = today_start_ms();
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut s = Summary { corrupt: self.corrupt, ..Summary::default() };
        for a in inner.attempts.values() {
            s.attempts += 1;
            match a.last.state {
                State::Paid => {
                    s.paid += 1;
                    if a.started_ms >= today {
                        s.paid_today += 1;
                        s.paid_today_fen += a.last.amount;
                    }
                }
                State::Failed => s.failed += 1,
                State::Open | State::Unknown => s.unresolved += 1,
            }
        }
        s
    }
}

struct Loaded {
    attempts: BTreeMap<String, Attempt>,
    order: Vec<String>,
    corrupt: usize,
    /// Where the last whole, valid line ends: a torn tail after it is cut off.
    good_end: usize,
}

fn load(bytes: &[u8]) -> Loaded {
    let mut l = Loaded { attempts: BTreeMap::new(), order: Vec::new(), corrupt: 0, good_end: 0 };
    let mut pos = 0usize;
    while pos < bytes.len() {
        let Some(nl) = bytes[pos..].iter().position(|&b| b == b'\n') else {
            // A last line without its newline was being written when the terminal stopped.
            tracing::warn!(bytes = bytes.len() - pos, "payment journal: a torn last line was dropped");
            break;
        };
        let line = &bytes[pos..pos + nl];
        let end = pos + nl + 1;
        match std::str::from_utf8(line).ok().and_then(decode) {
            Some(entry) => {
                apply(&mut l.attempts, &mut l.order, entry);
                l.good_end = end;
            }
            None if end == bytes.len() => {
                tracing::warn!("payment journal: the last line failed its checksum and was dropped");
                break;
            }
            None => {
                l.corrupt += 1;
                l.good_end = end;
                tracing::warn!(offset = pos, "payment journal: a line failed its checksum and was skipped");
            }
        }
        pos = end;
    }
    l
}

fn apply(attempts: &mut BTreeMap<String, Attempt>, order: &mut Vec<String>, entry: Entry) {
    match attempts.get_mut(&entry.key) {
        // A resolved attempt stays resolved: a late "unknown" (a retry that lost its answer
        // after another one was heard) does not reopen it.
        Some(a) if a.last.state.resolved() && !entry.state.resolved() => {}
        Some(a) => a.last = entry,
        None => {
            order.push(entry.key.clone());
            attempts.insert(entry.key.clone(), Attempt { started_ms: entry.at_ms, last: entry });
        }
    }
}

/// Makes a new file's name durable too.
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// A fresh idempotency key / attempt id: 16 random bytes, hex.
pub fn new_key() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // No randomness: the clock and a counter still never repeat on this terminal.
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return format!("{:016x}{n:016x}", now_ms());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, state: State) -> Entry {
        Entry {
            at_ms: now_ms(),
            key: key.into(),
            trade: format!("T-{key}"),
            amount: 1250,
            kind: Kind::Face,
            state,
            payment_id: String::new(),
            detail: String::new(),
            recovered: false,
            register: false,
        }
    }

    #[test]
    fn lines_are_checksummed_and_read_back() {
        let e = entry("a", State::Open);
        let line = encode(&e);
        assert_eq!(decode(line.trim_end()), Some(e));
        assert_eq!(decode(&line.trim_end().replace("1250", "1251")), None);
        assert_eq!(decode("garbage"), None);
    }
}
