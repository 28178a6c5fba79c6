//! Requests a broken or hostile page could send, for the bridge's fuzz test and the soak run.
//!
//! A seeded generator rather than `proptest` or `arbitrary`: the fuzz run is one long stateful
//! sequence (sessions open, reload and end while calls are in flight; taskIds repeat across
//! concurrent calls), it must reach a million messages in a couple of minutes, and a failure is
//! reproduced exactly from the seed and message number it prints. Shrinking would buy little,
//! since a failing request is printed whole and is usually one line.
//!
//! Not for: deciding what the right answer is (the fuzz test's oracle does that from the README's
//! rules), or production code paths.

use crate::api::{self, Dialect, Family, Kind};
use crate::envelope::AMPE;
use crate::params::clip;
use crate::session::{EventMessage, EventSink, Screen, SessionId, SessionInfo};
use crate::{Bridge, ErrorCode, Limits, Reply, MAX_NAME_SHOWN};
use futures::FutureExt;
use serde_json::{json, Map, Number, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// SplitMix64: tiny, fast, and the same sequence on every platform for a seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u32) -> bool {
        self.below(100) < percent as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// How a request was made, so that the oracle knows what to expect and the summary can count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Shape {
    /// A contract name with plausible parameters.
    Valid,
    /// A contract name with wrong types, missing or extra fields, odd keys and values.
    Mutated,
    /// Not JSON, or JSON that is not an object.
    Garbage,
    /// A name that is not in the contract (also another dialect's, and very long ones).
    UnknownName,
    /// Nested deeper than the limit.
    Deep,
    /// Over the size limit.
    Oversize,
}

/// One generated call.
#[derive(Debug, Clone)]
pub struct Generated {
    pub dialect: Dialect,
    pub name: String,
    pub raw: String,
    pub shape: Shape,
}

/// Keys plugins read, keys that mean something to JavaScript, and a few odd ones.
const KEYS: &[&str] = &[
    "type",
    "timeout",
    "intervalTime",
    "text",
    "content",
    "data",
    "apdu",
    "apdus",
    "port",
    "baudRate",
    "amount",
    "mode",
    "index",
    "value",
    "url",
    "cmd",
    "volume",
    "width",
    "height",
    "image",
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "",
    "\u{0000}",
    "键",
    "a\"b",
];

/// Strings that break naive code: empty, control characters, escapes, emoji, bidi marks,
/// numbers as text, JavaScript-looking text.
const STRINGS: &[&str] = &[
    "",
    " ",
    "open",
    "close",
    "1000",
    "-1",
    "1e999",
    "NaN",
    "true",
    "null",
    "\u{0000}",
    "\u{FEFF}",
    "\u{202E}evil",
    "😀👨‍👩‍👧",
    "\\",
    "\"",
    "</script><script>alert(1)</script>",
    "${7*7}",
    "汉字",
    "\u{FFFF}",
];

impl Generated {
    fn new(dialect: Dialect, name: impl Into<String>, raw: String, shape: Shape) -> Generated {
        Generated { dialect, name: name.into(), raw, shape }
    }
}

/// Makes requests for every dialect: mostly valid and mutated calls of the contract's names, with
/// garbage, unknown names, deep nesting and oversized bodies mixed in.
pub struct Generator {
    rng: Rng,
    max_params_bytes: usize,
    max_depth: usize,
    /// Recent taskIds, reused so that concurrent calls share them.
    task_ids: Vec<String>,
}

impl Generator {
    pub fn new(seed: u64, limits: Limits) -> Generator {
        Generator {
            rng: Rng::new(seed),
            max_params_bytes: limits.max_params_bytes,
            max_depth: limits.max_depth,
            task_ids: Vec::new(),
        }
    }

    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    pub fn next_request(&mut self) -> Generated {
        let dialect = *self.rng.pick(&Dialect::ALL);
        let roll = self.rng.below(1000);
        match roll {
            0..=449 => self.call(dialect, Shape::Valid),
            450..=849 => self.call(dialect, Shape::Mutated),
            850..=929 => self.garbage(dialect),
            930..=984 => self.unknown_name(dialect),
            985..=997 => self.deep(dialect),
            _ => self.oversize(dialect),
        }
    }

    /// A contract name of the dialect: for `my`, usually ampeHHCommunication with an action.
    fn contract_name(&mut self, dialect: Dialect) -> (String, Option<String>) {
        let calls = api::names(dialect, Kind::Call);
        if dialect != Dialect::My {
            return (self.rng.pick(&calls).to_string(), None);
        }
        if self.rng.percent(10) {
            return (self.rng.pick(&api::MY_TOP_LEVEL_CALLS).to_string(), None);
        }
        let actions: Vec<&str> = calls.into_iter().filter(|n| !api::MY_TOP_LEVEL_CALLS.contains(n)).collect();
        (AMPE.to_string(), Some(self.rng.pick(&actions).to_string()))
    }

    fn call(&mut self, dialect: Dialect, shape: Shape) -> Generated {
        let (name, action) = self.contract_name(dialect);
        let params = if shape == Shape::Valid { self.valid_params() } else { self.value(3) };
        let raw = match action {
            Some(action) => self.ampe(Value::from(action), params, shape == Shape::Mutated),
            None if shape == Shape::Mutated && self.rng.percent(20) => self.string_value().to_string(),
            None => params.to_string(),
        };
        Generated::new(dialect, name, raw, shape)
    }

    /// An `ampeHHCommunication` request; mutated ones lose, retype or duplicate fields.
    fn ampe(&mut self, action: Value, params: Value, mutate: bool) -> String {
        let task_id = self.task_id();
        let event = Value::from(*self.rng.pick(&["open", "close", "open", "", "other"]));
        let mut fields: Vec<(String, Value)> = vec![
            ("action".into(), action),
            ("event".into(), event),
            ("taskId".into(), task_id),
            ("params".into(), params),
        ];
        if mutate {
            for _ in 0..1 + self.rng.below(3) {
                let i = self.rng.below(fields.len().max(1));
                match self.rng.below(5) {
                    0 if !fields.is_empty() => {
                        fields.remove(i);
                    }
                    1 if !fields.is_empty() => fields[i].1 = self.value(2),
                    2 => {
                        let key = self.rng.pick(KEYS).to_string();
                        let v = self.value(2);
                        fields.push((key, v));
                    }
                    // A repeated key: JSON parsers keep the last one, and so must the echo.
                    3 if !fields.is_empty() => {
                        let dup = (fields[i].0.clone(), self.value(1));
                        fields.push(dup);
                    }
                    _ => {}
                }
            }
        }
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v)).collect();
        format!("{{{}}}", body.join(","))
    }

    fn task_id(&mut self) -> Value {
        if !self.task_ids.is_empty() && self.rng.percent(30) {
            return Value::from(self.rng.pick(&self.task_ids).clone());
        }
        let id = match self.rng.below(4) {
            0 => self.string_value().to_string(),
            1 => "t".repeat(1 + self.rng.below(2000)),
            _ => format!("task-{}", self.rng.next_u64()),
        };
        if self.task_ids.len() < 32 {
            self.task_ids.push(id.clone());
        } else {
            let i = self.rng.below(32);
            self.task_ids[i] = id.clone();
        }
        Value::from(id)
    }

    /// Parameters plugins accept: known keys with values of the usual types.
    fn valid_params(&mut self) -> Value {
        let mut m = Map::new();
        for _ in 0..self.rng.below(4) {
            let key = *self.rng.pick(&KEYS[..20]);
            let v = match self.rng.below(4) {
                0 => Value::from(self.rng.below(10_000) as u64),
                1 => Value::from(self.rng.below(10_000).to_string()),
                2 => Value::from(self.rng.percent(50)),
                _ => Value::from(format!("v{}", self.rng.below(100))),
            };
            m.insert(key.to_string(), v);
        }
        Value::Object(m)
    }

    fn string_value(&mut self) -> String {
        match self.rng.below(6) {
            0 => "x".repeat(self.rng.below(70_000)),
            1 => "汉".repeat(self.rng.below(3000)),
            _ => self.rng.pick(STRINGS).to_string(),
        }
    }

    fn number(&mut self) -> Value {
        match self.rng.below(10) {
            0 => Value::from(i64::MAX),
            1 => Value::from(i64::MIN),
            2 => Value::from(u64::MAX),
            3 => Number::from_f64(1e308).map_or(Value::Null, Value::Number),
            4 => Number::from_f64(-0.0).map_or(Value::Null, Value::Number),
            5 => Number::from_f64(0.5).map_or(Value::Null, Value::Number),
            6 => Value::from(-1),
            7 => Value::from(0),
            _ => Value::from(self.rng.below(100_000) as u64),
        }
    }

    /// Any JSON value, nested at most `depth` more levels.
    pub fn value(&mut self, depth: usize) -> Value {
        let top = if depth == 0 { 5 } else { 7 };
        match self.rng.below(top) {
            0 => Value::Null,
            1 => Value::from(self.rng.percent(50)),
            2 => self.number(),
            3 | 4 => Value::from(self.string_value()),
            5 => Value::Array((0..self.rng.below(5)).map(|_| self.value(depth - 1)).collect()),
            _ => {
                let mut m = Map::new();
                for _ in 0..self.rng.below(6) {
                    let key = self.rng.pick(KEYS).to_string();
                    let v = self.value(depth - 1);
                    m.insert(key, v);
                }
                Value::Object(m)
            }
        }
    }

    fn garbage(&mut self, dialect: Dialect) -> Generated {
        let (name, _) = self.contract_name(dialect);
        let raw = match self.rng.below(12) {
            0 => String::new(),
            1 => "{".into(),
            2 => "nul".into(),
            3 => "[]".into(),
            4 => "\"\\ud800\"".into(),
            5 => "{\"action\":\"\\udfff\"}".into(),
            6 => "1e999".into(),
            7 => "{\"a\":1,}".into(),
            8 => "\u{FEFF}{}".into(),
            9 => "9".repeat(5000),
            10 => json!([self.value(2), self.value(2)]).to_string(),
            _ => {
                // Arbitrary bytes, made into text the way a webview would hand them over.
                let bytes: Vec<u8> = (0..self.rng.below(200)).map(|_| self.rng.next_u64() as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
        };
        Generated::new(dialect, name, raw, Shape::Garbage)
    }

    fn unknown_name(&mut self, dialect: Dialect) -> Generated {
        let other = *self.rng.pick(&Dialect::ALL);
        let foreign = api::names(other, Kind::Call);
        let name = match self.rng.below(6) {
            0 => "n".repeat(1 + self.rng.below(100_000)),
            1 => self.rng.pick(STRINGS).to_string(),
            2 => self.rng.pick(&["__proto__", "constructor", "hasOwnProperty", "then"]).to_string(),
            3 => api::names(dialect, Kind::Event).first().map_or("onX".to_string(), |n| n.to_string()),
            _ => self.rng.pick(&foreign).to_string(),
        };
        let params = self.valid_params();
        if dialect == Dialect::My && self.rng.percent(70) {
            let raw = self.ampe(Value::from(name), params, false);
            return Generated::new(dialect, AMPE, raw, Shape::UnknownName);
        }
        Generated::new(dialect, name, params.to_string(), Shape::UnknownName)
    }

    fn deep(&mut self, dialect: Dialect) -> Generated {
        let (name, action) = self.contract_name(dialect);
        let spread = if self.rng.percent(10) { 200_000 } else { 10 };
        let levels = self.max_depth + 1 + self.rng.below(spread);
        let (open, close) = if self.rng.percent(50) { ("[", "]") } else { ("{\"a\":", "}") };
        let nested = format!("{}1{}", open.repeat(levels), close.repeat(levels));
        let raw = match action {
            Some(action) => format!("{{\"action\":{},\"params\":{{\"x\":{nested}}}}}", Value::from(action)),
            None => format!("{{\"x\":{nested}}}"),
        };
        Generated::new(dialect, name, raw, Shape::Deep)
    }

    fn oversize(&mut self, dialect: Dialect) -> Generated {
        let (name, action) = self.contract_name(dialect);
        let pad = "x".repeat(self.max_params_bytes + 1);
        let raw = match action {
            Some(action) => format!("{{\"action\":{},\"params\":{{\"text\":\"{pad}\"}}}}", Value::from(action)),
            None => format!("{{\"text\":\"{pad}\"}}"),
        };
        Generated::new(dialect, name, raw, Shape::Oversize)
    }
}

/// Events delivered over every page of a run, the ill-formed ones, and the first of those.
#[derive(Default)]
struct Counts {
    delivered: AtomicUsize,
    bad: AtomicUsize,
    first_bad: std::sync::Mutex<Option<String>>,
}

/// A page's event channel: checks each event's shape, and can go away like a closed webview.
struct Sink {
    gone: AtomicBool,
    /// Events delivered, and of those the ill-formed, shared by every page of the run.
    counts: Arc<Counts>,
}

impl EventSink for Sink {
    fn deliver(&self, m: EventMessage) -> bool {
        if self.gone.load(Ordering::SeqCst) {
            return false;
        }
        // The bridge's part of an event's shape: `my` listeners get `{data}`; the other dialects
        // get what the plugin's renderer made of the device event, as it is.
        let ok = m.dialect != Dialect::My || m.body.as_object().is_some_and(|o| o.len() == 1 && o.contains_key("data"));
        if !ok && self.counts.bad.fetch_add(1, Ordering::SeqCst) == 0 {
            let shown = format!("{}.{}: {}", m.dialect, m.name, clip(&m.body.to_string(), 200));
            *self.counts.first_bad.lock().unwrap_or_else(|p| p.into_inner()) = Some(shown);
        }
        self.counts.delivered.fetch_add(1, Ordering::SeqCst);
        true
    }
}

struct Page {
    id: SessionId,
    info: SessionInfo,
    sink: Arc<Sink>,
}

/// What a page was granted, drawn at random: some pages get everything, some little or nothing.
fn page_info(rng: &mut Rng, key: &str) -> SessionInfo {
    let everything = rng.percent(40);
    let dialects: HashSet<Dialect> = Dialect::ALL.into_iter().filter(|_| everything || rng.percent(60)).collect();
    let permissions: HashSet<Family> =
        Family::GRANTABLE.into_iter().filter(|_| everything || rng.percent(40)).collect();
    SessionInfo {
        key: key.into(),
        package_id: "fuzz".into(),
        permissions,
        dialects,
        screen: Screen::Front,
        url: "booth://localhost/fuzz.html".into(),
    }
}

/// What the call's session was when it was sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// Open, as far as the driver knows (a page may vanish concurrently).
    Open,
    /// Ended by the driver before the call.
    Ended,
}

/// The contract entry a request names, by the router's rule for `my`.
fn named_spec(g: &Generated, parsed: Option<&Value>) -> Option<&'static api::ApiSpec> {
    let name = if g.dialect == Dialect::My && g.name == "ampeHHCommunication" {
        parsed?.get("action")?.as_str()?
    } else {
        g.name.as_str()
    };
    let ampe = g.dialect == Dialect::My && g.name == "ampeHHCommunication";
    api::lookup(g.dialect, name, Kind::Call)
        .filter(|s| g.dialect != Dialect::My || api::MY_TOP_LEVEL_CALLS.contains(&s.name) != ampe)
}

/// The request as the router reads it, when it can be read at all.
fn readable(g: &Generated, limits: &Limits) -> Option<Value> {
    if g.raw.len() > limits.max_params_bytes || matches!(g.shape, Shape::Deep) {
        return None;
    }
    serde_json::from_str(&g.raw).ok()
}

/// Checks one reply against the README's rules; `Err` says what is wrong.
pub fn check(
    g: &Generated,
    target: Target,
    info: &SessionInfo,
    reply: &Reply,
    limits: &Limits,
) -> Result<String, String> {
    // An ft Promise may resolve with an array (mediaDevices.enumerateDevices, as the W3C API's).
    let none = serde_json::Map::new();
    let body = match reply.body.as_object() {
        Some(b) => b,
        None if g.dialect == Dialect::Ft && reply.ok && reply.body.is_array() => &none,
        None => return Err("reply body is not an object".into()),
    };
    let ampe = g.dialect == Dialect::My && g.name == "ampeHHCommunication";
    let parsed = readable(g, limits);
    let failed = if ampe { body.get("success") == Some(&Value::Bool(false)) } else { !reply.ok };

    // The shape of the dialect.
    if ampe {
        if !reply.ok {
            return Err("ampeHHCommunication answers through success()".into());
        }
        let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let want: &[&str] = if failed {
            &["action", "data", "errorCode", "event", "message", "success", "taskId"]
        } else {
            &["action", "data", "event", "message", "success", "taskId"]
        };
        if keys != want {
            return Err(format!("ampe reply keys {keys:?}"));
        }
        if !body["message"].is_string() || !body["data"].is_object() {
            return Err("ampe message/data of the wrong type".into());
        }
        // The echo: as sent (the last of repeated keys), or the defaults when unreadable (also
        // from an ended session, whose request is not read).
        let obj = parsed.as_ref().and_then(Value::as_object).filter(|_| target == Target::Open);
        let echoed = |key: &str, default: Value| obj.and_then(|o| o.get(key).cloned()).unwrap_or(default);
        let (action, event, task) = match obj {
            Some(_) => (echoed("action", json!("")), echoed("event", json!("open")), echoed("taskId", json!(""))),
            None => (json!(""), json!("open"), json!("")),
        };
        if body["action"] != action || body["taskId"] != task || (failed && body["event"] != event) {
            return Err(format!(
                "ampe echo differs from the request ({}): got {}/{}/{}, sent {}/{}/{}",
                clip(&body["message"].to_string(), 200),
                clip(&body["action"].to_string(), 80),
                clip(&body["event"].to_string(), 80),
                clip(&body["taskId"].to_string(), 80),
                clip(&action.to_string(), 80),
                clip(&event.to_string(), 80),
                clip(&task.to_string(), 80)
            ));
        }
    } else if failed {
        let needs: &[&str] = match g.dialect {
            Dialect::My => &["success", "message", "errorCode"],
            Dialect::Wxfaceapp => &["replyCode", "reply", "errorCode"],
            Dialect::Ft => &["errMsg", "errorCode"],
        };
        for k in needs {
            if !body.get(*k).is_some_and(|v| v.is_string() || v == &Value::Bool(false)) {
                return Err(format!("failure reply lacks {k}"));
            }
        }
        if g.dialect == Dialect::My && g.name == "startBizService" && body.get("resultStatus") != Some(&json!("4000")) {
            return Err("startBizService failure without resultStatus 4000".into());
        }
        if g.dialect == Dialect::Ft {
            let prefix = format!("{}:fail ", clip(&g.name, MAX_NAME_SHOWN));
            if !body["errMsg"].as_str().is_some_and(|m| m.starts_with(&prefix)) {
                return Err("ft errMsg does not start with <name>:fail".into());
            }
        }
    }

    // No amplification: a reply repeats the request at most once, plus a bounded message.
    let size = reply.body.to_string().len();
    if size > g.raw.len() + 8 * 1024 {
        return Err(format!("reply of {size} bytes for a request of {}", g.raw.len()));
    }

    let code = if failed {
        let c = body.get("errorCode").and_then(Value::as_str).ok_or("failure without errorCode")?;
        if !ErrorCode::ALL.iter().any(|k| k.as_str() == c) {
            return Err(format!("undocumented errorCode {c}"));
        }
        c.to_string()
    } else {
        "OK".to_string()
    };

    // A success only for what the manifest grants.
    let spec = named_spec(g, parsed.as_ref());
    if !failed {
        let spec = spec.ok_or("success for a name outside the contract")?;
        if !info.dialects.contains(&g.dialect) || !info.allows(spec.family) {
            return Err(format!("success for {} without its dialect or permission", spec.name));
        }
    }

    // The code the kind of input deserves.
    let allowed: &[&str] = match (target, g.shape) {
        (Target::Ended, _) => &["SESSION_ENDED"],
        // The driver alone opens and ends sessions, so an open one stays open until its reply.
        _ if code == "SESSION_ENDED" => return Err("SESSION_ENDED for an open session".into()),
        (_, Shape::Oversize) => &["PAYLOAD_TOO_LARGE"],
        (_, Shape::Deep | Shape::Garbage) => &["INVALID_PARAMS"],
        (_, Shape::UnknownName) if spec.is_none() => &["UNSUPPORTED", "INVALID_PARAMS"],
        _ => &[],
    };
    if !allowed.is_empty() && !allowed.contains(&code.as_str()) {
        return Err(format!("{code}, expected one of {allowed:?}"));
    }
    if code == "PAYLOAD_TOO_LARGE" && g.shape != Shape::Oversize {
        return Err("PAYLOAD_TOO_LARGE for a request within the limit".into());
    }
    Ok(code)
}

/// What a fuzz run did and saw.
#[derive(Debug, Default)]
pub struct Report {
    pub seed: u64,
    pub messages: u64,
    pub calls: u64,
    /// Replies received; equal to `calls` when every call was answered.
    pub answered: u64,
    pub subscriptions: u64,
    pub events: u64,
    pub reloads: u64,
    /// Events delivered to pages, and how many of them were ill-formed.
    pub delivered: usize,
    pub bad_events: usize,
    /// The first ill-formed event: `dialect.name: body`.
    pub first_bad_event: Option<String>,
    /// Replies by `errorCode` (`OK` for successes), requests by [`Shape`].
    pub codes: std::collections::BTreeMap<String, u64>,
    pub shapes: std::collections::BTreeMap<String, u64>,
    pub elapsed: Duration,
    sinks: Vec<Weak<Sink>>,
}

impl Report {
    /// Page sinks (one per session the run opened) something still holds.
    pub fn sinks_held(&self) -> usize {
        self.sinks.iter().filter(|s| s.strong_count() > 0).count()
    }

    pub fn code(&self, code: &str) -> u64 {
        self.codes.get(code).copied().unwrap_or(0)
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        writeln!(
            f,
            "seed {}: {} messages in {secs:.1} s ({:.0}/s): {} calls, {} answered; {} subscription changes, \
             {} device events ({} deliveries), {} reloads/closes",
            self.seed,
            self.messages,
            self.messages as f64 / secs.max(1e-9),
            self.calls,
            self.answered,
            self.subscriptions,
            self.events,
            self.delivered,
            self.reloads
        )?;
        writeln!(f, "requests by shape {:?}", self.shapes)?;
        write!(f, "replies by code {:?}", self.codes)
    }
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub messages: u64,
    /// Pages open at once (each reloads now and then).
    pub pages: usize,
    /// Device-event topics to publish on (with generated payloads).
    pub topics: Vec<&'static str>,
    /// Calls allowed to wait at once; beyond it a page reloads, ending its calls.
    pub max_waiting: usize,
}

type Pending = (u64, Generated, Target, SessionInfo, Reply);

/// Sends `options.messages` messages into `bridge` (calls, subscriptions, device events, reloads),
/// checks every reply with [`check`], then ends every page and waits for every call to answer.
/// `Err` names the seed, the message number and what was wrong.
pub async fn storm(bridge: &Bridge, options: Options) -> Result<Report, String> {
    let seed = options.seed;
    let limits = bridge.limits();
    let bus = bridge.bus();
    let mut gen = Generator::new(seed, limits);
    let mut rng = Rng::new(seed ^ 0x5eed);
    let counts = Arc::new(Counts::default());
    let mut report = Report { seed, ..Report::default() };

    let keys: Vec<String> = (0..options.pages.max(1)).map(|i| format!("page-{i}")).collect();
    let open_page = |rng: &mut Rng, key: &str, report: &mut Report| {
        let info = page_info(rng, key);
        let sink = Arc::new(Sink { gone: AtomicBool::new(false), counts: counts.clone() });
        report.sinks.push(Arc::downgrade(&sink));
        let id = bridge.open_session(info.clone(), sink.clone());
        Page { id, info, sink }
    };
    let mut pages: Vec<Page> = keys.iter().map(|k| open_page(&mut rng, k, &mut report)).collect();
    let mut ended: Vec<SessionId> = Vec::new();
    let mut waiting: JoinSet<Pending> = JoinSet::new();
    let started = Instant::now();
    let settle = |(n, g, target, info, reply): Pending, report: &mut Report| -> Result<(), String> {
        report.answered += 1;
        match check(&g, target, &info, &reply, &limits) {
            Ok(code) => {
                *report.codes.entry(code).or_default() += 1;
                Ok(())
            }
            Err(why) => {
                let shown: String = g.raw.chars().take(400).collect();
                Err(format!(
                    "seed {seed}, message {n}: {why}\n  {}.{} ({:?}, {} bytes): {shown}",
                    g.dialect,
                    clip(&g.name, 80),
                    g.shape,
                    g.raw.len()
                ))
            }
        }
    };

    for n in 0..options.messages {
        report.messages += 1;
        let p = rng.below(pages.len());
        let mut reload = false;
        match rng.below(100) {
            0..=88 => {
                let g = gen.next_request();
                *report.shapes.entry(format!("{:?}", g.shape)).or_default() += 1;
                // Mostly the page's own session; sometimes one that has ended.
                let (id, target) = if !ended.is_empty() && rng.percent(3) {
                    (*rng.pick(&ended), Target::Ended)
                } else {
                    (pages[p].id, Target::Open)
                };
                let info = pages[p].info.clone();
                report.calls += 1;
                let b = bridge.clone();
                // Every other call as the app sends it (parsed by the IPC layer, when it parses);
                // the rest as text. Large bodies go as text only: parsing megabytes per call
                // would make up most of the run (the size check of parsed calls has its own test).
                let parsed = if n % 2 == 0 && g.raw.len() <= 64 * 1024 {
                    serde_json::from_str::<Value>(&g.raw).ok()
                } else {
                    None
                };
                let mut call = Box::pin(async move {
                    let reply = match parsed {
                        Some(v) => b.call_value(id, g.dialect, &g.name, v).await,
                        None => b.call(id, g.dialect, &g.name, &g.raw).await,
                    };
                    (n, g, target, info, reply)
                });
                // Like the app: polled once where the request arrives, moved to the runtime only
                // when it has to wait.
                match (&mut call).now_or_never() {
                    Some(done) => settle(done, &mut report)?,
                    None => {
                        waiting.spawn(call);
                    }
                }
            }
            89..=93 => {
                report.subscriptions += 1;
                let dialect = *rng.pick(&Dialect::ALL);
                let names = api::names(dialect, Kind::Event);
                let name = if names.is_empty() || rng.percent(10) {
                    "n".repeat(1 + rng.below(300))
                } else {
                    rng.pick(&names).to_string()
                };
                let page = &pages[p];
                if rng.percent(70) {
                    match bridge.subscribe(page.id, dialect, &name) {
                        Ok(()) => {
                            let granted = api::lookup(dialect, &name, Kind::Event).is_some_and(|spec| {
                                page.info.dialects.contains(&dialect) && page.info.allows(spec.family)
                            });
                            if !granted {
                                return Err(format!(
                                    "seed {seed}, message {n}: subscribed to {dialect}.{name} without its grant"
                                ));
                            }
                        }
                        Err(e) if matches!(e.code, ErrorCode::Unsupported | ErrorCode::PermissionDenied) => {}
                        Err(e) => return Err(format!("seed {seed}, message {n}: subscribe answered {}", e.code)),
                    }
                } else {
                    bridge.unsubscribe(page.id, dialect, &name);
                }
            }
            94..=97 if !options.topics.is_empty() => {
                report.events += 1;
                let topic = *rng.pick(&options.topics);
                let payload = gen.value(2);
                if rng.percent(30) {
                    bus.publish_to(pages[p].id, topic, payload);
                } else {
                    bus.publish(topic, payload);
                }
            }
            _ => reload = true,
        }
        // Keep the calls waiting bounded: when none answers soon, a page reloads, as a page
        // whose calls hang would be reloaded.
        if waiting.len() > options.max_waiting {
            match tokio::time::timeout(Duration::from_millis(50), waiting.join_next()).await {
                Ok(Some(done)) => settle(done.map_err(|e| format!("a call task failed: {e}"))?, &mut report)?,
                _ => reload = true,
            }
        }
        if reload {
            // The page reloads, closes, or its webview vanishes (its next event ends it).
            report.reloads += 1;
            let old = pages[p].id;
            match rng.below(3) {
                0 => {
                    bridge.end_session(old);
                }
                1 => pages[p].sink.gone.store(true, Ordering::SeqCst),
                _ => {}
            }
            ended.push(old);
            if ended.len() > 64 {
                ended.remove(0);
            }
            let key = keys[p].clone();
            pages[p] = open_page(&mut rng, &key, &mut report);
        }
    }

    // Every page goes away; every waiting call must still answer.
    for page in &pages {
        bridge.end_session(page.id);
    }
    drop(pages);
    let drain = async {
        while let Some(done) = waiting.join_next().await {
            settle(done.map_err(|e| format!("a call task failed: {e}"))?, &mut report)?;
        }
        Ok::<(), String>(())
    };
    tokio::time::timeout(Duration::from_secs(120), drain)
        .await
        .map_err(|_| "calls still unanswered 120 s after every page went away".to_string())??;
    report.elapsed = started.elapsed();
    report.delivered = counts.delivered.load(Ordering::SeqCst);
    report.bad_events = counts.bad.load(Ordering::SeqCst);
    report.first_bad_event = counts.first_bad.lock().unwrap_or_else(|p| p.into_inner()).take();
    Ok(report)
}
