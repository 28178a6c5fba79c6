//! `booth replay FILE --against PACKAGE`: turns a flight recording into a reproducible test.
//!
//! The package runs fresh with every device simulated. Each recorded device event is published
//! again once the page has caught up with the moment it happened in the recording: as many pages
//! attached, as many calls started and as many answered as before that event, then the same pause
//! as recorded. When the events are used up and the calls have settled, every reply is compared
//! with the recording, call by call in order per window and API, and every difference is printed.
//! The exit code is 0 when nothing differs, 1 when something does.
//!
//! Replies are compared without `taskId` (pages often make it from the clock) and without the
//! fields named by `--ignore`.

use super::recorder::call_entry;
use booth_bridge::{Bridge, CallRecord, Dialect, Observer, SessionId, SessionInfo};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The longest recorded pause replay reproduces between two records.
const MAX_GAP: Duration = Duration::from_secs(10);

/// One device event to publish, and when.
#[derive(Debug, Clone)]
struct Step {
    topic: String,
    payload: Value,
    sessions: usize,
    started: usize,
    finished: usize,
    gap: Duration,
}

/// A recording, read and checked.
#[derive(Debug)]
pub struct Plan {
    file: PathBuf,
    calls: Vec<Map<String, Value>>,
    steps: Vec<Step>,
    ignore: Vec<String>,
    /// How long to wait for the page to catch up before publishing an event anyway, and for the
    /// recorded number of replies after the last event.
    pub wait_limit: Duration,
    /// How long without a new call ends the run after that.
    pub settle: Duration,
}

fn ms(v: &Value) -> f64 {
    v.get("ms").and_then(Value::as_f64).unwrap_or(0.0)
}

impl Plan {
    pub fn load(file: &Path, ignore: Vec<String>, wait_limit: Duration) -> Result<Plan, String> {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: cannot read ({e})", file.display()))?;
        let mut records = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line)
                .map_err(|e| format!("{}:{}: not a flight record ({e})", file.display(), i + 1))?;
            if !v.get("type").is_some_and(Value::is_string) {
                return Err(format!("{}:{}: not a flight record (no \"type\")", file.display(), i + 1));
            }
            records.push(v);
        }
        if !records.first().is_some_and(|r| r["type"] == "start") {
            return Err(format!("{}: not a flight recording (it must start with a \"start\" record)", file.display()));
        }
        let calls: Vec<Map<String, Value>> =
            records.iter().filter(|r| r["type"] == "call").filter_map(|r| r.as_object().cloned()).collect();
        let mut steps = Vec::new();
        for (i, r) in records.iter().enumerate() {
            if r["type"] != "event" {
                continue;
            }
            let at = ms(r);
            let before = &records[..i];
            let topic = r["topic"].as_str().ok_or_else(|| format!("{}: an event without a topic", file.display()))?;
            steps.push(Step {
                topic: topic.to_string(),
                payload: r.get("payload").cloned().unwrap_or(Value::Null),
                sessions: before.iter().filter(|p| p["type"] == "session").count(),
                started: calls
                    .iter()
                    .filter(|c| c.get("startedMs").and_then(Value::as_f64).is_some_and(|s| s < at))
                    .count(),
                finished: before.iter().filter(|p| p["type"] == "call").count(),
                gap: Duration::from_secs_f64(((at - before.last().map(ms).unwrap_or(at)) / 1000.0).max(0.0))
                    .min(MAX_GAP),
            });
        }
        Ok(Plan { file: file.to_path_buf(), calls, steps, ignore, wait_limit, settle: Duration::from_millis(1500) })
    }

    pub fn events(&self) -> usize {
        self.steps.len()
    }
}

#[derive(Default)]
struct Seen {
    sessions: usize,
    started: usize,
    calls: Vec<Map<String, Value>>,
    last_change: Option<Instant>,
}

/// Watches the replayed run.
#[derive(Default)]
struct Collector {
    seen: Mutex<Seen>,
    changed: Condvar,
}

impl Collector {
    fn update(&self, f: impl FnOnce(&mut Seen)) {
        let mut s = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s);
        s.last_change = Some(Instant::now());
        self.changed.notify_all();
    }

    /// Waits until `ready` holds or `limit` passes; returns whether it held.
    fn wait(&self, limit: Duration, ready: impl Fn(&Seen) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        let mut s = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if ready(&s) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            s = self.changed.wait_timeout(s, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

impl Observer for Collector {
    fn session_opened(&self, _id: SessionId, _info: &SessionInfo) {
        self.update(|s| s.sessions += 1);
    }
    fn call_started(&self, _session: SessionId, _dialect: Dialect, _name: &str) {
        self.update(|s| s.started += 1);
    }
    fn call(&self, c: &CallRecord<'_>) {
        let entry = call_entry(c);
        self.update(|s| s.calls.push(entry));
    }
}

/// Topics are `&'static str` on the bus; a recording names a handful, kept for the run.
fn intern(topic: &str) -> &'static str {
    static TOPICS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = TOPICS.get_or_init(Mutex::default).lock().unwrap_or_else(|p| p.into_inner());
    match set.get(topic) {
        Some(t) => t,
        None => {
            let t: &'static str = Box::leak(topic.to_string().into_boxed_str());
            set.insert(t);
            t
        }
    }
}

/// Runs the plan on its own thread against `bridge`, prints the report, and calls `exit` with
/// 0 (the same) or 1 (different).
pub fn drive(plan: Plan, bridge: Bridge, exit: impl FnOnce(i32) + Send + 'static) {
    let collector = Arc::new(Collector::default());
    bridge.add_observer(collector.clone());
    let spawned = std::thread::Builder::new().name("booth-replay".into()).spawn(move || {
        let mut late = 0;
        for (n, step) in plan.steps.iter().enumerate() {
            let caught_up = collector.wait(plan.wait_limit, |s| {
                s.sessions >= step.sessions && s.started >= step.started && s.calls.len() >= step.finished
            });
            if !caught_up {
                late += 1;
                tracing::warn!(target: "replay", event = n + 1, topic = %step.topic,
                    "the page has not made the calls it made before this event; publishing it anyway");
            }
            std::thread::sleep(step.gap);
            tracing::info!(target: "replay", event = n + 1, topic = %step.topic, "publishing recorded event");
            bridge.bus().publish(intern(&step.topic), step.payload.clone());
        }
        let want = plan.calls.len();
        collector.wait(plan.wait_limit, |s| s.calls.len() >= want);
        // Then until no call has come for `settle`, so extra calls are seen too.
        loop {
            let quiet_for = {
                let s = collector.seen.lock().unwrap_or_else(|p| p.into_inner());
                s.last_change.map_or(plan.settle, |t| t.elapsed())
            };
            if quiet_for >= plan.settle {
                break;
            }
            std::thread::sleep(plan.settle - quiet_for);
        }
        let replayed = collector.seen.lock().unwrap_or_else(|p| p.into_inner()).calls.clone();
        let report = compare(&plan.calls, &replayed, &plan.ignore);
        println!("{}", report.render(&plan, late));
        exit(if report.same() { 0 } else { 1 });
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start replay");
    }
}

/// What the comparison found.
#[derive(Debug, Default, PartialEq)]
pub struct Report {
    pub compared: usize,
    pub differs: Vec<String>,
    pub missing: Vec<String>,
    pub extra: Vec<String>,
}

impl Report {
    pub fn same(&self) -> bool {
        self.differs.is_empty() && self.missing.is_empty() && self.extra.is_empty()
    }

    fn render(&self, plan: &Plan, late: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "replay: {}", plan.file.display());
        let _ = writeln!(out, "  device events fed: {} ({late} before the page caught up)", plan.steps.len());
        let _ = writeln!(
            out,
            "  calls compared: {}; {} differ, {} missing, {} extra",
            self.compared,
            self.differs.len(),
            self.missing.len(),
            self.extra.len()
        );
        for d in &self.differs {
            let _ = writeln!(out, "  differs: {d}");
        }
        for m in &self.missing {
            let _ = writeln!(out, "  missing: {m} (recorded, not called in the replay)");
        }
        for x in &self.extra {
            let _ = writeln!(out, "  extra:   {x} (called in the replay, not recorded)");
        }
        let _ = write!(out, "replay: {}", if self.same() { "SAME" } else { "DIFFERENT" });
        out
    }
}

fn key(c: &Map<String, Value>) -> (String, String, String) {
    let s = |k: &str| match c.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    };
    (s("window"), s("dialect"), s("action"))
}

/// What is compared of a reply: the result without `taskId` and the ignored fields.
fn comparable(c: &Map<String, Value>, ignore: &[String]) -> Value {
    fn strip(v: &Value, ignore: &[String], top: bool) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| {
                        let echo = top && k.as_str() == "taskId";
                        !echo && !ignore.iter().any(|i| i == *k)
                    })
                    .map(|(k, v)| (k.clone(), strip(v, ignore, false)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|v| strip(v, ignore, false)).collect()),
            _ => v.clone(),
        }
    }
    strip(c.get("result").unwrap_or(&Value::Null), ignore, true)
}

/// The first place two values differ, as `path: recorded → now`.
fn difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                let p = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(a), Some(b)) => difference(&p, a, b),
                    (Some(a), None) => Some(format!("{p}: recorded {a} → now absent")),
                    (None, Some(b)) => Some(format!("{p}: recorded absent → now {b}")),
                    (None, None) => None,
                }
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (a, b))| difference(&format!("{path}[{i}]"), a, b))
        }
        _ if a == b => None,
        _ => Some(format!("{path}: recorded {a} → now {b}")),
    }
}

type Groups<'a> = BTreeMap<(String, String, String), Vec<&'a Map<String, Value>>>;

fn group(calls: &[Map<String, Value>]) -> Groups<'_> {
    let mut g: Groups<'_> = BTreeMap::new();
    for c in calls {
        g.entry(key(c)).or_default().push(c);
    }
    g
}

/// Pairs the n-th recorded call of each (window, dialect, action) with the n-th replayed one.
pub fn compare(recorded: &[Map<String, Value>], replayed: &[Map<String, Value>], ignore: &[String]) -> Report {
    let (a, b) = (group(recorded), group(replayed));
    let mut report = Report::default();
    let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).cloned().collect();
    for k in keys {
        let (ra, rb) = (a.get(&k).map(Vec::as_slice).unwrap_or(&[]), b.get(&k).map(Vec::as_slice).unwrap_or(&[]));
        let name = format!("{} {}.{}", k.0, k.1, k.2);
        for i in 0..ra.len().max(rb.len()) {
            let label = format!("{name} #{}", i + 1);
            match (ra.get(i), rb.get(i)) {
                (Some(x), Some(y)) => {
                    report.compared += 1;
                    if let Some(d) = difference("result", &comparable(x, ignore), &comparable(y, ignore)) {
                        report.differs.push(format!("{label}: {d}"));
                    }
                }
                (Some(_), None) => report.missing.push(label),
                (None, Some(_)) => report.extra.push(label),
                (None, None) => {}
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(window: &str, action: &str, result: Value) -> Map<String, Value> {
        json!({"type": "call", "window": window, "dialect": "my", "action": action, "result": result})
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn same_calls_compare_equal_whatever_the_task_ids() {
        let a = [call("main", "getQRCode", json!({"taskId": "1", "data": {"qrCode": "x"}}))];
        let b = [call("main", "getQRCode", json!({"taskId": "2", "data": {"qrCode": "x"}}))];
        let r = compare(&a, &b, &[]);
        assert!(r.same(), "{r:?}");
        assert_eq!(r.compared, 1);
    }

    #[test]
    fn differences_missing_and_extra_calls_are_named() {
        let a = [
            call("main", "getQRCode", json!({"data": {"qrCode": "x", "ip": "1"}})),
            call("main", "getQRCode", json!({"data": {"qrCode": "y"}})),
            call("main", "getDeviceInfo", json!({})),
        ];
        let b =
            [call("main", "getQRCode", json!({"data": {"qrCode": "z", "ip": "2"}})), call("secondary", "x", json!({}))];
        let r = compare(&a, &b, &["ip".to_string()]);
        assert_eq!(r.differs, vec![r#"main my.getQRCode #1: result.data.qrCode: recorded "x" → now "z""#]);
        assert_eq!(r.missing, vec!["main my.getDeviceInfo #1", "main my.getQRCode #2"]);
        assert_eq!(r.extra, vec!["secondary my.x #1"]);
    }

    #[test]
    fn a_recording_becomes_steps_anchored_on_calls() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let lines = [
            json!({"seq": 1, "ms": 0.0, "type": "start"}),
            json!({"seq": 2, "ms": 300.0, "type": "session", "window": "main"}),
            json!({"seq": 3, "ms": 350.0, "type": "call", "action": "getDeviceInfo", "startedMs": 340.0}),
            json!({"seq": 4, "ms": 1350.0, "type": "event", "topic": "scanner.code", "payload": {"code": "1"}}),
            json!({"seq": 5, "ms": 1351.0, "type": "call", "action": "getQRCode", "startedMs": 360.0}),
        ];
        std::fs::write(&path, lines.iter().map(|l| l.to_string() + "\n").collect::<String>()).unwrap();
        let plan = Plan::load(&path, vec![], Duration::from_secs(5)).unwrap();
        assert_eq!(plan.calls.len(), 2);
        let s = &plan.steps[0];
        assert_eq!((s.sessions, s.started, s.finished), (1, 2, 1), "the pending getQRCode had started");
        assert_eq!(s.gap, Duration::from_secs(1));
        assert_eq!(s.payload, json!({"code": "1"}));
    }

    #[test]
    fn files_that_are_not_recordings_are_refused_with_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        std::fs::write(&path, "{\"type\":\"start\"}\nnot json\n").unwrap();
        let e = Plan::load(&path, vec![], Duration::from_secs(1)).unwrap_err();
        assert!(e.ends_with(":2: not a flight record (expected ident at line 1 column 2)"), "{e}");
        std::fs::write(&path, "{\"type\":\"call\"}\n").unwrap();
        assert!(Plan::load(&path, vec![], Duration::from_secs(1)).unwrap_err().contains("must start with"));
    }
}
