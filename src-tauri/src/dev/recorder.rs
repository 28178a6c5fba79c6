//! The flight recorder: every session, call, reply and device event as one JSON object per line.
//!
//! The same records feed the simulator panel's live list (`GET /feed` on the control endpoint)
//! and, with `--record FILE`, a JSON Lines file that `booth replay` reads back. Record shapes
//! (every record has `seq`, `t` (local time, RFC 3339) and `ms` (milliseconds since start)):
//!
//! - `{"type":"start", "booth", "package":{id, version, location}}`
//! - `{"type":"session", "session", "window", "url"}` when a page attaches
//! - `{"type":"call", "session", "window", "dialect", "action", "event"?, "taskId"?, "params",
//!   "result", "ok", "startedMs", "latencyMs"}`: `action` is the `my.call` action or the API
//!   name, `result` the reply body the page got
//! - `{"type":"event", "topic", "payload"}` for device events
//!
//! In `params` and `result`, strings longer than [`ELIDE_OVER`] that look like base64 are
//! replaced by `"<base64 N bytes sha256:…>"`. Device event payloads are written whole to the
//! file (replay needs them) and elided in the live list.

use booth_bridge::{CallRecord, DeviceEvent, Dialect, Observer, SessionId, SessionInfo};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A recording file is moved to `FILE.1` (replacing the previous one) when it reaches this size,
/// so that a terminal recording for weeks keeps at most twice this on disk.
pub const ROTATE_AT: u64 = 64 * 1024 * 1024;

/// Base64-looking strings longer than this many characters are elided.
pub const ELIDE_OVER: usize = 512;
/// How many records the live list keeps.
const FEED_KEEP: usize = 2000;

/// The recording file, rotated at `limit` bytes.
struct RecordFile {
    path: std::path::PathBuf,
    out: File,
    written: u64,
    limit: u64,
}

impl RecordFile {
    /// Writes one whole line or nothing: a line the disk had no room for is cut off again, so
    /// that the file stays valid JSON Lines for `booth replay` once there is room again.
    fn write(&mut self, line: &str) -> std::io::Result<()> {
        if self.written > 0 && self.written + line.len() as u64 + 1 > self.limit {
            let mut old = self.path.clone().into_os_string();
            old.push(".1");
            std::fs::rename(&self.path, &old)?;
            self.out = File::create(&self.path)?;
            self.written = 0;
            tracing::info!(file = %self.path.display(), "flight recording rotated");
        }
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        if let Err(e) = self.out.write_all(&bytes) {
            // Back to the last whole line (the file is opened for writing at its end only through
            // this handle, so its length is what was written).
            let _ = self.out.set_len(self.written);
            let _ = self.out.seek(SeekFrom::Start(self.written));
            return Err(e);
        }
        self.written += bytes.len() as u64;
        Ok(())
    }
}

struct Feed {
    /// Each record's sequence number and compact JSON: as text a record takes a fraction of
    /// the memory it takes as a `Value` tree (2,000 fuzzed calls: 9.5 MB as trees).
    entries: VecDeque<(u64, Box<str>)>,
    next_seq: u64,
}

pub struct Recorder {
    epoch: Instant,
    file: Option<Mutex<RecordFile>>,
    feed: Mutex<Feed>,
    changed: watch::Sender<u64>,
    windows: Mutex<HashMap<SessionId, String>>,
}

impl Recorder {
    /// A recorder that keeps the live list, and writes `file` when given (truncating it).
    pub fn new(file: Option<&Path>) -> std::io::Result<Recorder> {
        Self::with_rotation(file, ROTATE_AT)
    }

    fn with_rotation(file: Option<&Path>, limit: u64) -> std::io::Result<Recorder> {
        let file = match file {
            Some(p) => Some(Mutex::new(RecordFile { path: p.to_path_buf(), out: File::create(p)?, written: 0, limit })),
            None => None,
        };
        Ok(Recorder {
            epoch: Instant::now(),
            file,
            feed: Mutex::new(Feed { entries: VecDeque::new(), next_seq: 1 }),
            changed: watch::channel(0).0,
            windows: Mutex::default(),
        })
    }

    fn ms(&self, at: Instant) -> f64 {
        (at.saturating_duration_since(self.epoch).as_secs_f64() * 10_000.0).round() / 10.0
    }

    /// Adds a record; `full` (when different) is what the file gets instead of `record`.
    fn push(&self, mut record: Map<String, Value>, full: Option<Map<String, Value>>) {
        let now = Instant::now();
        let stamp = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
        let mut feed = self.feed.lock().unwrap_or_else(|p| p.into_inner());
        let seq = feed.next_seq;
        feed.next_seq += 1;
        let head = [("seq", json!(seq)), ("t", json!(stamp)), ("ms", json!(self.ms(now)))];
        let full = full.map(|mut line| {
            for (k, v) in &head {
                line.insert((*k).into(), v.clone());
            }
            line
        });
        for (k, v) in head {
            record.insert(k.into(), v);
        }
        // Written once as text: the file's line (the same record unless it has a fuller one) and
        // the live list's entry.
        let text = Value::Object(record).to_string();
        if let Some(file) = &self.file {
            let full = full.map(|line| Value::Object(line).to_string());
            let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
            // Said once when writing stops and once when it works again, not per record.
            use crate::devices::storage::{Change, RECORDING};
            match f.write(full.as_deref().unwrap_or(&text)) {
                Err(e) => {
                    if RECORDING.failed(&e) == Change::Failed {
                        tracing::error!(file = %f.path.display(), error = %e,
                            "flight recorder cannot write; records are dropped until it can (GET /health storage)");
                    }
                }
                Ok(()) => {
                    if let Change::Recovered { dropped } = RECORDING.wrote() {
                        tracing::warn!(file = %f.path.display(), dropped, "flight recorder writes again");
                    }
                }
            }
        }
        feed.entries.push_back((seq, text.into_boxed_str()));
        while feed.entries.len() > FEED_KEEP {
            feed.entries.pop_front();
        }
        drop(feed);
        self.changed.send_replace(seq);
    }

    /// The first record: what ran.
    pub fn start(&self, package: Value) {
        self.push(obj(json!({"type": "start", "booth": crate::VERSION, "package": package})), None);
    }

    /// Records after `after`, waiting up to `wait` for one to arrive. Returns the records and the
    /// sequence number to ask after next.
    pub async fn feed(&self, after: u64, wait: Duration) -> (Vec<Value>, u64) {
        let mut rx = self.changed.subscribe();
        let collect = || {
            let feed = self.feed.lock().unwrap_or_else(|p| p.into_inner());
            let texts: Vec<Box<str>> =
                feed.entries.iter().filter(|(seq, _)| *seq > after).map(|(_, text)| text.clone()).collect();
            let last = feed.next_seq - 1;
            drop(feed);
            // Parsed outside the lock: calls are recorded while the panel reads.
            (texts.iter().filter_map(|text| serde_json::from_str(text).ok()).collect::<Vec<Value>>(), last)
        };
        let (entries, last) = collect();
        if !entries.is_empty() || wait.is_zero() {
            return (entries, last);
        }
        let _ = tokio::time::timeout(wait, rx.wait_for(|&s| s > after)).await;
        collect()
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl Observer for Recorder {
    fn session_opened(&self, id: SessionId, info: &SessionInfo) {
        self.windows.lock().unwrap_or_else(|p| p.into_inner()).insert(id, info.key.clone());
        self.push(obj(json!({"type": "session", "session": id, "window": info.key, "url": info.url})), None);
    }

    fn call(&self, c: &CallRecord<'_>) {
        let mut record = call_entry(c);
        record.insert("startedMs".into(), json!(self.ms(c.started)));
        record.insert("latencyMs".into(), json!((c.latency.as_secs_f64() * 10_000.0).round() / 10.0));
        self.push(record, None);
    }

    fn event(&self, event: &DeviceEvent) {
        let full = obj(json!({"type": "event", "topic": event.topic, "payload": event.payload}));
        let shown = obj(json!({"type": "event", "topic": event.topic, "payload": elide(&event.payload)}));
        let differs = shown != full;
        self.push(shown, differs.then_some(full));
    }
}

/// A call record without its timing: what replay compares.
pub fn call_entry(c: &CallRecord<'_>) -> Map<String, Value> {
    let mut record = call_fields(c.dialect, c.name, c.raw);
    record.insert("type".into(), json!("call"));
    record.insert("session".into(), json!(c.session));
    record.insert("window".into(), json!(c.info.key));
    record.insert("result".into(), elide(&c.reply.body));
    let ok = c.reply.ok && c.reply.body.get("success") != Some(&Value::Bool(false));
    record.insert("ok".into(), json!(ok));
    record
}

/// `dialect`, `action`, `event`, `taskId` and `params` of a call, from what the page sent.
pub fn call_fields(dialect: Dialect, name: &str, raw: &str) -> Map<String, Value> {
    let parsed: Value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.chars().take(200).collect()));
    let mut m = Map::new();
    m.insert("dialect".into(), json!(dialect.to_string()));
    if dialect == Dialect::My && name == booth_bridge::envelope::AMPE {
        m.insert("action".into(), parsed.get("action").cloned().unwrap_or(Value::Null));
        for key in ["event", "taskId"] {
            if let Some(v) = parsed.get(key) {
                m.insert(key.into(), v.clone());
            }
        }
        m.insert("params".into(), elide(parsed.get("params").unwrap_or(&Value::Null)));
    } else {
        m.insert("action".into(), json!(name));
        m.insert("params".into(), elide(&parsed));
    }
    m
}

/// Replaces long base64-looking strings (also `data:…;base64,` URLs) by their size and hash.
pub fn elide(v: &Value) -> Value {
    match v {
        Value::String(s) if s.len() > ELIDE_OVER && looks_base64(s) => {
            let data = s.split_once(";base64,").map(|(_, d)| d).unwrap_or(s);
            let padding = data.bytes().rev().take_while(|&b| b == b'=').count();
            let bytes = (data.len() / 4 * 3).saturating_sub(padding);
            let hash = Sha256::digest(s.as_bytes());
            let hex: String = hash.iter().take(8).map(|b| format!("{b:02x}")).collect();
            Value::String(format!("<base64 {bytes} bytes sha256:{hex}>"))
        }
        Value::Array(a) => Value::Array(a.iter().map(elide).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), elide(v))).collect()),
        _ => v.clone(),
    }
}

fn looks_base64(s: &str) -> bool {
    let data = match s.strip_prefix("data:") {
        Some(rest) => match rest.split_once(";base64,") {
            Some((_, d)) => d,
            None => return false,
        },
        None => s,
    };
    data.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_' | b'\r' | b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_base64_is_elided_everywhere_short_text_is_not() {
        let photo = "QUJD".repeat(300); // 1,200 chars, 900 bytes
        let v = json!({"a": [photo.clone(), "short"], "b": {"img": format!("data:image/png;base64,{photo}")},
                       "text": "x ".repeat(400)});
        let e = elide(&v);
        assert!(e["a"][0].as_str().unwrap().starts_with("<base64 900 bytes sha256:"), "{e}");
        assert_eq!(e["a"][1], "short");
        assert!(e["b"]["img"].as_str().unwrap().starts_with("<base64 900 bytes sha256:"), "{e}");
        assert_eq!(e["text"], v["text"], "spaces are not base64");
        assert_eq!(elide(&v), e, "the same input gives the same marker");
    }

    #[test]
    fn ampe_calls_are_recorded_by_action() {
        let raw = r#"{"action":"getQRCode","event":"open","taskId":"t1","params":{"timeout":3000}}"#;
        let m = Value::Object(call_fields(Dialect::My, "ampeHHCommunication", raw));
        assert_eq!(
            m,
            json!({"dialect":"my","action":"getQRCode","event":"open","taskId":"t1","params":{"timeout":3000}})
        );
        let m = Value::Object(call_fields(Dialect::Wxfaceapp, "checkWxFacePayOsInfo", "{}"));
        assert_eq!(m, json!({"dialect":"wxfaceapp","action":"checkWxFacePayOsInfo","params":{}}));
    }

    #[tokio::test]
    async fn feed_waits_for_the_next_record_and_the_file_gets_every_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.jsonl");
        let r = std::sync::Arc::new(Recorder::new(Some(&path)).unwrap());
        r.start(json!({"id": "t"}));
        let (first, last) = r.feed(0, Duration::ZERO).await;
        assert_eq!((first.len(), last), (1, 1));
        let waiter = {
            let r = r.clone();
            tokio::spawn(async move { r.feed(1, Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let photo = "QUJD".repeat(300);
        r.event(&DeviceEvent { topic: "idcard.read", payload: json!({"photo": photo}) });
        let (next, last) = waiter.await.unwrap();
        assert_eq!(last, 2);
        assert_eq!(next[0]["type"], "event");
        assert!(next[0]["payload"]["photo"].as_str().unwrap().starts_with("<base64"), "the live list elides");
        let lines: Vec<Value> =
            std::fs::read_to_string(&path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["payload"]["photo"], json!(photo), "the file keeps event payloads whole");
        assert_eq!(lines[1]["seq"], 2);
        let (none, _) = r.feed(2, Duration::from_millis(20)).await;
        assert!(none.is_empty());
    }

    #[test]
    fn a_full_recording_moves_to_dot_1_and_starts_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.jsonl");
        let r = Recorder::with_rotation(Some(&path), 1000).unwrap();
        for i in 0..30 {
            r.event(&DeviceEvent { topic: "scanner.code", payload: json!({"code": format!("code-{i:03}")}) });
        }
        let old = std::fs::read_to_string(dir.path().join("rec.jsonl.1")).unwrap();
        let new = std::fs::read_to_string(&path).unwrap();
        assert!(old.len() <= 1000 && new.len() <= 1000, "{} {}", old.len(), new.len());
        let last: Value = serde_json::from_str(new.lines().last().unwrap()).unwrap();
        assert_eq!(last["payload"]["code"], "code-029");
        let total = old.lines().count() + new.lines().count();
        assert!(total < 30, "older lines went with the previous .1 file");
        assert!(new.lines().chain(old.lines()).all(|l| serde_json::from_str::<Value>(l).is_ok()), "whole lines only");
    }
}
