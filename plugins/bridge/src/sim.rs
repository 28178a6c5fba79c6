//! Simulated devices: how developers and test authors produce hardware events on demand.
//!
//! A plugin whose backend is its simulator registers a [`SimDevice`] in the [`SimRegistry`]. The
//! registry describes every action and its fields (the simulator panel builds its controls from
//! that description, and `booth sim` maps its arguments with it), checks and converts arguments,
//! and runs the action. The control endpoint serves it as `GET /sim` and
//! `POST /sim/<device>/<action>`, and the panel only calls that endpoint, so the panel, the
//! command line and a test's HTTP call all go through [`SimRegistry::act`].
//!
//! Not for: the real backends, which never appear here.

use serde::Serialize;
use serde_json::{json, Map, Value};
use std::sync::{Arc, RwLock};

/// What a field holds; the panel picks its control from this.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase", tag = "type", content = "options")]
pub enum FieldKind {
    Text,
    /// A whole number (a JSON number, or a string of digits from the command line).
    Integer,
    Bool,
    /// One of the listed values.
    Choice(Vec<&'static str>),
    /// Base64 data (e.g. a photo); the panel offers a file picker.
    Base64,
}

/// One argument of an action.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    #[serde(flatten)]
    pub kind: FieldKind,
    /// Used when the argument is absent; `null` makes the field required.
    pub default: Value,
}

impl Field {
    pub fn text(name: &'static str, label: &'static str, default: impl Into<Value>) -> Field {
        Field { name, label, kind: FieldKind::Text, default: default.into() }
    }
    pub fn integer(name: &'static str, label: &'static str, default: impl Into<Value>) -> Field {
        Field { name, label, kind: FieldKind::Integer, default: default.into() }
    }
    pub fn boolean(name: &'static str, label: &'static str, default: bool) -> Field {
        Field { name, label, kind: FieldKind::Bool, default: Value::Bool(default) }
    }
    pub fn choice(name: &'static str, label: &'static str, options: &[&'static str], default: &'static str) -> Field {
        Field { name, label, kind: FieldKind::Choice(options.to_vec()), default: Value::from(default) }
    }
    pub fn base64(name: &'static str, label: &'static str) -> Field {
        Field { name, label, kind: FieldKind::Base64, default: Value::from("") }
    }
    /// No default: the caller must give it.
    pub fn required(mut self) -> Field {
        self.default = Value::Null;
        self
    }
}

/// Something the simulated device can be made to do ("scan", "insert", "remove", …).
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub name: &'static str,
    pub label: &'static str,
    pub fields: Vec<Field>,
}

impl Action {
    pub fn new(name: &'static str, label: &'static str, fields: Vec<Field>) -> Action {
        Action { name, label, fields }
    }
}

/// Why a simulator action was refused. The control endpoint maps these to HTTP statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// 404.
    #[error("no simulated device `{0}` (GET /sim lists them)")]
    UnknownDevice(String),
    /// 409: the device exists with a real backend.
    #[error("`{device}` uses its {backend} backend, not the simulator")]
    NotSimulated { device: String, backend: String },
    /// 404.
    #[error("`{device}` has no action `{action}` (it has: {known})")]
    UnknownAction { device: String, action: String, known: String },
    /// 400: an argument is missing, of the wrong type, or out of range.
    #[error("{0}")]
    InvalidArgs(String),
    /// 409: valid, but not now (e.g. "remove" with no card inserted).
    #[error("{0}")]
    Refused(String),
}

/// A device's simulator.
pub trait SimDevice: Send + Sync + 'static {
    /// The path segment: `scanner`, `idcard`, `card`, …
    fn id(&self) -> &'static str;
    /// What the panel calls it.
    fn label(&self) -> &'static str;
    fn actions(&self) -> Vec<Action>;
    /// What the panel shows next to the controls (card inserted, person present, …).
    fn state(&self) -> Value {
        Value::Null
    }
    /// Runs `action` with arguments already checked and converted against its fields (every
    /// field is present: given, or its default).
    fn act(&self, action: &str, args: &Map<String, Value>) -> Result<Value, SimError>;
}

#[derive(Default)]
struct Entries {
    sims: Vec<Arc<dyn SimDevice>>,
    /// Devices running a real backend: (id, backend name), for a clear refusal.
    real: Vec<(String, String)>,
}

/// Every simulated device of this run. Cheap to clone; clones share state.
#[derive(Clone, Default)]
pub struct SimRegistry {
    entries: Arc<RwLock<Entries>>,
}

impl SimRegistry {
    /// Adds a simulator. Panics if its id is taken: two plugins claiming one path is a
    /// programming error.
    pub fn register(&self, device: Arc<dyn SimDevice>) {
        let mut e = self.entries.write().unwrap_or_else(|p| p.into_inner());
        assert!(!e.sims.iter().any(|s| s.id() == device.id()), "simulator `{}` registered twice", device.id());
        e.sims.push(device);
    }

    /// Records that `id` runs a real backend, so that simulator calls get a clear 409.
    pub fn note_real(&self, id: &str, backend: &str) {
        let mut e = self.entries.write().unwrap_or_else(|p| p.into_inner());
        e.real.push((id.to_string(), backend.to_string()));
    }

    pub fn ids(&self) -> Vec<&'static str> {
        self.entries.read().unwrap_or_else(|p| p.into_inner()).sims.iter().map(|s| s.id()).collect()
    }

    fn find(&self, id: &str) -> Result<Arc<dyn SimDevice>, SimError> {
        let e = self.entries.read().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = e.sims.iter().find(|s| s.id() == id) {
            return Ok(s.clone());
        }
        match e.real.iter().find(|(d, _)| d == id) {
            Some((device, backend)) => Err(SimError::NotSimulated { device: device.clone(), backend: backend.clone() }),
            None => Err(SimError::UnknownDevice(id.to_string())),
        }
    }

    /// `GET /sim`: every simulated device with its actions, fields and state.
    pub fn describe(&self) -> Value {
        let sims = self.entries.read().unwrap_or_else(|p| p.into_inner()).sims.clone();
        let devices: Vec<Value> = sims
            .iter()
            .map(|s| json!({"id": s.id(), "label": s.label(), "actions": s.actions(), "state": s.state()}))
            .collect();
        let real: Vec<Value> = self
            .entries
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .real
            .iter()
            .map(|(id, backend)| json!({"id": id, "backend": backend}))
            .collect();
        json!({ "devices": devices, "real": real })
    }

    /// The fields of one action, for mapping command-line arguments.
    pub fn fields(&self, device: &str, action: &str) -> Result<Vec<Field>, SimError> {
        Ok(find_action(&*self.find(device)?, action)?.fields)
    }

    /// Checks `args` (a JSON object, or null for none) against the action's fields, fills in
    /// defaults, and runs it.
    pub fn act(&self, device: &str, action: &str, args: &Value) -> Result<Value, SimError> {
        let sim = self.find(device)?;
        let spec = find_action(&*sim, action)?;
        let given = match args {
            Value::Null => Map::new(),
            Value::Object(m) => m.clone(),
            _ => return Err(SimError::InvalidArgs("arguments must be a JSON object".into())),
        };
        if let Some(unknown) = given.keys().find(|k| !spec.fields.iter().any(|f| f.name == k.as_str())) {
            let known: Vec<&str> = spec.fields.iter().map(|f| f.name).collect();
            return Err(SimError::InvalidArgs(format!(
                "{device} {action}: unknown argument `{unknown}` (it takes: {})",
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            )));
        }
        let mut checked = Map::new();
        for field in &spec.fields {
            let value = match given.get(field.name) {
                Some(v) => convert(field, v)
                    .map_err(|why| SimError::InvalidArgs(format!("{device} {action}: `{}` {why}", field.name)))?,
                None if field.default.is_null() => {
                    return Err(SimError::InvalidArgs(format!("{device} {action}: `{}` is required", field.name)))
                }
                None => field.default.clone(),
            };
            checked.insert(field.name.to_string(), value);
        }
        tracing::info!(device, action, "simulator action");
        sim.act(action, &checked)
    }
}

fn find_action(sim: &dyn SimDevice, action: &str) -> Result<Action, SimError> {
    let actions = sim.actions();
    let known = actions.iter().map(|a| a.name).collect::<Vec<_>>().join(", ");
    actions.into_iter().find(|a| a.name == action).ok_or_else(|| SimError::UnknownAction {
        device: sim.id().to_string(),
        action: action.to_string(),
        known,
    })
}

/// Converts one argument; strings are accepted for every kind, as the command line sends them.
fn convert(field: &Field, v: &Value) -> Result<Value, String> {
    match (&field.kind, v) {
        (FieldKind::Text | FieldKind::Base64, Value::String(_)) => Ok(v.clone()),
        (FieldKind::Text, Value::Number(n)) => Ok(Value::String(n.to_string())),
        (FieldKind::Integer, Value::Number(n)) if n.is_i64() => Ok(v.clone()),
        (FieldKind::Integer, Value::String(s)) => {
            s.trim().parse::<i64>().map(Value::from).map_err(|_| format!("must be a whole number, not `{s}`"))
        }
        (FieldKind::Bool, Value::Bool(_)) => Ok(v.clone()),
        (FieldKind::Bool, Value::String(s)) => match s.as_str() {
            "true" | "1" | "yes" | "on" => Ok(Value::Bool(true)),
            "false" | "0" | "no" | "off" => Ok(Value::Bool(false)),
            _ => Err(format!("must be true or false, not `{s}`")),
        },
        (FieldKind::Choice(options), Value::String(s)) if options.contains(&s.as_str()) => Ok(v.clone()),
        (FieldKind::Choice(options), _) => Err(format!("must be one of: {}", options.join(", "))),
        (FieldKind::Text, _) => Err("must be a string".into()),
        (FieldKind::Base64, _) => Err("must be a base64 string".into()),
        (FieldKind::Integer, _) => Err("must be a whole number".into()),
        (FieldKind::Bool, _) => Err("must be true or false".into()),
    }
}
