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

use crate::api::{self, Dialect, Kind};
use crate::envelope::AMPE;
use serde_json::{json, Map, Number, Value};

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
    pub fn new(seed: u64, limits: crate::Limits) -> Generator {
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
    fn value(&mut self, depth: usize) -> Value {
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
