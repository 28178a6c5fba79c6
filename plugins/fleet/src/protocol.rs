//! The payloads of the topic contract, and the checks every message from the broker passes
//! before it can do anything (size, JSON shape, known command and arguments, URL schemes),
//! like a page's bridge parameters.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Longest URL a command may carry.
pub const MAX_URL: usize = 4096;
/// Longest package manifest or signature a command may carry.
pub const MAX_MANIFEST: usize = 8 * 1024;

/// Why a command was not run (or failed): the `code` of its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    Ok,
    InvalidParams,
    PayloadTooLarge,
    Unsupported,
    Expired,
    Duplicate,
    Failed,
    Refused,
}

/// A command as it arrives on `cmd/req` or `broadcast/cmd`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CommandRequest {
    /// Unique per command (1-64 of `A-Z a-z 0-9 . _ -`): a repeated id is not run again.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub args: Map<String, Value>,
    /// Milliseconds since the Unix epoch after which the command must not run.
    #[serde(default)]
    pub expires_at: Option<u64>,
    /// The terminal it is for (`*` on broadcast); required on signed commands, so a captured
    /// one cannot be sent to another terminal.
    #[serde(default)]
    pub to: Option<String>,
}

/// What a command asks for, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Reload,
    Restart,
    /// Upload a PNG of each window named to its URL.
    Screenshot {
        urls: Vec<(String, String)>,
    },
    /// Upload the newest log lines (at most `max_bytes`).
    Logs {
        url: String,
        max_bytes: usize,
    },
    Doctor,
    InstallPackage {
        url: String,
        manifest: String,
        signature: String,
        allow_downgrade: bool,
    },
}

/// The names a terminal knows.
pub const COMMANDS: [&str; 6] = ["reload", "restart", "screenshot", "logs", "doctor", "install-package"];

/// Default and largest log upload.
pub const LOGS_DEFAULT_BYTES: usize = 4 * 1024 * 1024;
pub const LOGS_MAX_BYTES: usize = 32 * 1024 * 1024;

fn url_arg(name: &str, v: &Value, allow_insecure: bool) -> Result<String, String> {
    let s = v.as_str().ok_or_else(|| format!("{name}: must be a URL string"))?;
    if s.len() > MAX_URL {
        return Err(format!("{name}: longer than {MAX_URL} bytes"));
    }
    let u = url::Url::parse(s).map_err(|e| format!("{name}: not a URL ({e})"))?;
    match u.scheme() {
        "https" => {}
        "http" if allow_insecure => {}
        "http" => return Err(format!("{name}: must be https:// (http:// only with fleet.allow_insecure)")),
        other => return Err(format!("{name}: `{other}://` is not https://")),
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(format!("{name}: no host"));
    }
    Ok(s.to_string())
}

fn only(args: &Map<String, Value>, known: &[&str]) -> Result<(), String> {
    match args.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "args.{k}: unknown argument (known: {})",
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        )),
        None => Ok(()),
    }
}

fn text_arg(args: &Map<String, Value>, name: &str, max: usize) -> Result<String, String> {
    match args.get(name) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= max => Ok(s.clone()),
        Some(Value::String(_)) => Err(format!("args.{name}: 1 to {max} bytes")),
        Some(_) => Err(format!("args.{name}: must be a string")),
        None => Err(format!("args.{name}: required")),
    }
}

impl CommandRequest {
    /// Parses and checks a command payload of at most `max` bytes.
    pub fn parse(payload: &[u8], max: usize) -> Result<CommandRequest, (Code, String)> {
        if payload.len() > max {
            return Err((Code::PayloadTooLarge, format!("{} bytes, more than {max}", payload.len())));
        }
        let req: CommandRequest =
            serde_json::from_slice(payload).map_err(|e| (Code::InvalidParams, format!("not a command: {e}")))?;
        if !crate::topics::valid_id(&req.id) {
            return Err((Code::InvalidParams, "id: 1-64 letters, digits, `.`, `_` or `-`".into()));
        }
        Ok(req)
    }

    /// The command with its arguments checked.
    pub fn command(&self, allow_insecure: bool) -> Result<Command, (Code, String)> {
        let a = &self.args;
        let bad = |m: String| (Code::InvalidParams, m);
        match self.name.as_str() {
            "reload" | "restart" | "doctor" => {
                only(a, &[]).map_err(bad)?;
                Ok(match self.name.as_str() {
                    "reload" => Command::Reload,
                    "restart" => Command::Restart,
                    _ => Command::Doctor,
                })
            }
            "screenshot" => {
                only(a, &["url", "urls"]).map_err(bad)?;
                let mut urls = Vec::new();
                if let Some(v) = a.get("url") {
                    urls.push(("main".to_string(), url_arg("args.url", v, allow_insecure).map_err(bad)?));
                }
                if let Some(v) = a.get("urls") {
                    let map = v.as_object().ok_or_else(|| bad("args.urls: an object of window → URL".into()))?;
                    for (window, u) in map {
                        if !crate::topics::valid_id(window) {
                            return Err(bad(format!("args.urls: `{window}` is not a window name")));
                        }
                        if urls.iter().any(|(w, _)| w == window) {
                            return Err(bad(format!("args.urls.{window}: also given as args.url")));
                        }
                        urls.push((
                            window.clone(),
                            url_arg(&format!("args.urls.{window}"), u, allow_insecure).map_err(bad)?,
                        ));
                    }
                }
                if urls.is_empty() || urls.len() > 8 {
                    return Err(bad("args.url or args.urls: 1 to 8 upload URLs".into()));
                }
                Ok(Command::Screenshot { urls })
            }
            "logs" => {
                only(a, &["url", "maxBytes"]).map_err(bad)?;
                let url =
                    url_arg("args.url", a.get("url").ok_or_else(|| bad("args.url: required".into()))?, allow_insecure)
                        .map_err(bad)?;
                let max_bytes = match a.get("maxBytes") {
                    None => LOGS_DEFAULT_BYTES,
                    Some(v) => match v.as_u64() {
                        Some(n) if (1024..=LOGS_MAX_BYTES as u64).contains(&n) => n as usize,
                        _ => return Err(bad(format!("args.maxBytes: 1024 to {LOGS_MAX_BYTES}"))),
                    },
                };
                Ok(Command::Logs { url, max_bytes })
            }
            "install-package" => {
                only(a, &["url", "manifest", "signature", "allowDowngrade"]).map_err(bad)?;
                let url =
                    url_arg("args.url", a.get("url").ok_or_else(|| bad("args.url: required".into()))?, allow_insecure)
                        .map_err(bad)?;
                let manifest = text_arg(a, "manifest", MAX_MANIFEST).map_err(bad)?;
                let signature = text_arg(a, "signature", MAX_MANIFEST).map_err(bad)?;
                let allow_downgrade = match a.get("allowDowngrade") {
                    None => false,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => return Err(bad("args.allowDowngrade: must be true or false".into())),
                };
                Ok(Command::InstallPackage { url, manifest, signature, allow_downgrade })
            }
            other => Err((Code::Unsupported, format!("unknown command `{other}` (known: {})", COMMANDS.join(", ")))),
        }
    }
}

/// A command's result on `cmd/res`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandResult {
    pub id: String,
    pub terminal: String,
    pub name: String,
    pub ok: bool,
    pub code: Code,
    pub message: String,
    #[serde(default)]
    pub data: Value,
    /// When the terminal answered, ms since the Unix epoch.
    pub at: u64,
}

impl CommandResult {
    pub fn new(terminal: &str, id: &str, name: &str, outcome: Result<Value, (Code, String)>) -> CommandResult {
        let (ok, code, message, data) = match outcome {
            Ok(data) => (true, Code::Ok, "ok".to_string(), data),
            Err((code, message)) => (false, code, message, Value::Null),
        };
        CommandResult {
            id: id.to_string(),
            terminal: terminal.to_string(),
            name: name.to_string(),
            ok,
            code,
            message,
            data,
            at: now_ms(),
        }
    }
}

/// The operator's desired settings (`shadow/desired`, retained).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Desired {
    /// Grows with every change; a document whose version was applied already is not applied again.
    pub version: u64,
    /// booth.toml keys (`kiosk.idle_s`) and values; `null` removes a key (a backend: `none`).
    pub settings: Map<String, Value>,
}

impl Desired {
    pub fn parse(payload: &[u8], max: usize) -> Result<Desired, String> {
        if payload.len() > max {
            return Err(format!("{} bytes, more than {max}", payload.len()));
        }
        let d: Desired = serde_json::from_slice(payload).map_err(|e| format!("not a desired document: {e}"))?;
        if d.version == 0 {
            return Err("version: must be 1 or more".into());
        }
        if d.settings.len() > 64 {
            return Err("settings: at most 64 keys".into());
        }
        Ok(d)
    }

    /// Checks each key against the editable settings (`(key, kind)`, kind `u64` or `str`) and
    /// returns the edits.
    pub fn edits(&self, editable: &[(&str, &str)]) -> Result<Vec<(String, Value)>, String> {
        let mut edits = Vec::new();
        for (key, value) in &self.settings {
            // Never the admin PIN or the fleet's own settings, whatever a list says.
            if key.starts_with("admin.") || key.starts_with("fleet.") {
                return Err(format!("{key}: not a setting a fleet may change"));
            }
            let Some((_, kind)) = editable.iter().find(|(k, _)| k == key) else {
                return Err(format!("{key}: not a setting the shadow may change"));
            };
            let ok = match (*kind, value) {
                (_, Value::Null) => true,
                ("u64", Value::Number(n)) => n.as_u64().is_some(),
                ("str", Value::String(s)) => s.len() <= 1024 && !s.contains(['\n', '\r', '\0']),
                _ => false,
            };
            if !ok {
                return Err(format!("{key}: expected {}", if *kind == "u64" { "a whole number" } else { "a string" }));
            }
            edits.push((key.clone(), value.clone()));
        }
        Ok(edits)
    }
}

/// An event on `event`.
pub fn event(kind: &str, fields: Value) -> Value {
    let mut v = json!({"type": kind, "at": now_ms()});
    if let (Value::Object(out), Value::Object(extra)) = (&mut v, fields) {
        out.extend(extra);
    }
    v
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(v: Value) -> Result<Command, (Code, String)> {
        CommandRequest::parse(v.to_string().as_bytes(), 65536).and_then(|r| r.command(false))
    }

    #[test]
    fn commands_are_checked_like_bridge_params() {
        assert_eq!(cmd(json!({"id": "c1", "name": "reload"})).unwrap(), Command::Reload);
        assert_eq!(cmd(json!({"id": "c1", "name": "reload", "args": {"x": 1}})).unwrap_err().0, Code::InvalidParams);
        assert_eq!(cmd(json!({"id": "c1", "name": "format-disk"})).unwrap_err().0, Code::Unsupported);
        assert_eq!(cmd(json!({"id": "c/1", "name": "reload"})).unwrap_err().0, Code::InvalidParams);
        assert_eq!(cmd(json!({"id": "c1", "name": "reload", "shell": "rm"})).unwrap_err().0, Code::InvalidParams);
        let e = cmd(json!({"id": "c1", "name": "screenshot", "args": {"url": "http://x/y"}})).unwrap_err();
        assert!(e.1.contains("https"), "{e:?}");
        let e = cmd(json!({"id": "c1", "name": "screenshot", "args": {"url": "file:///etc/passwd"}})).unwrap_err();
        assert_eq!(e.0, Code::InvalidParams);
        assert_eq!(
            cmd(json!({"id": "c1", "name": "screenshot", "args": {"url": "https://s3/x", "urls": {"secondary": "https://s3/y"}}}))
                .unwrap(),
            Command::Screenshot {
                urls: vec![("main".into(), "https://s3/x".into()), ("secondary".into(), "https://s3/y".into())]
            }
        );
        assert!(matches!(
            cmd(json!({"id": "c1", "name": "logs", "args": {"url": "https://s3/l", "maxBytes": 2048}})).unwrap(),
            Command::Logs { max_bytes: 2048, .. }
        ));
        let e = cmd(json!({"id": "c1", "name": "install-package", "args": {"url": "https://h/p.zip"}})).unwrap_err();
        assert!(e.1.contains("manifest"), "{e:?}");
        let big = json!({"id": "c1", "name": "reload", "pad": "x".repeat(100)}).to_string();
        assert_eq!(CommandRequest::parse(big.as_bytes(), 64).unwrap_err().0, Code::PayloadTooLarge);
    }

    #[test]
    fn desired_documents() {
        let editable = [("kiosk.idle_s", "u64"), ("scanner.backend", "str")];
        let d = Desired::parse(br#"{"version": 3, "settings": {"kiosk.idle_s": 90}}"#, 1024).unwrap();
        assert_eq!(d.edits(&editable).unwrap(), vec![("kiosk.idle_s".to_string(), json!(90))]);
        let d = Desired::parse(br#"{"version": 3, "settings": {"admin.pin_hash": "x"}}"#, 1024).unwrap();
        assert!(d.edits(&editable).unwrap_err().contains("admin.pin_hash"));
        let d = Desired::parse(br#"{"version": 3, "settings": {"kiosk.idle_s": "90"}}"#, 1024).unwrap();
        assert!(d.edits(&editable).is_err());
        let d = Desired::parse(br#"{"version": 3, "settings": {"log.dir": "/"}}"#, 1024).unwrap();
        assert!(d.edits(&editable).is_err());
        assert!(Desired::parse(br#"{"version": 0, "settings": {}}"#, 1024).is_err());
    }
}
