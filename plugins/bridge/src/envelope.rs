//! The one place where requests are read and replies are shaped, per dialect.
//!
//! - `my` (`ampeHHCommunication`): request `{action, event, taskId, params}`; reply
//!   `{action, event, taskId, success, message, data}` with `errorCode` added on failure.
//!   Events: `{data: …}`.
//! - `my` top-level calls (`startBizService`, `ampeStartOperationWatcher`, `getSystemInfo`):
//!   the handler's object; failures are `{success:false, message, errorCode}` (plus
//!   `resultStatus:"4000"` for startBizService, seed 003's 业务异常).
//! - `wxfaceapp`: `success(res)` with the handler's object; `fail({replyCode, reply, errorCode})`.
//! - `ft`: `success(res)` / `fail({errMsg:"<name>:fail <message>", errorCode})`.

use crate::api::Dialect;
use crate::error::ApiError;
use crate::params::{kind, Params};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// What a handler returns on success.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Done {
    pub data: Value,
    /// Overrides "成功" (seed 000 answers closeIDCardInfo with "关闭成功").
    pub message: Option<String>,
    /// Overrides the echoed `event` (seed 000 answers closeIDCardInfo with `event:"close"`).
    pub event: Option<String>,
}

impl Done {
    pub fn message(mut self, m: impl Into<String>) -> Self {
        self.message = Some(m.into());
        self
    }
    pub fn event(mut self, e: impl Into<String>) -> Self {
        self.event = Some(e.into());
        self
    }
}

impl From<Value> for Done {
    fn from(data: Value) -> Self {
        Done { data, message: None, event: None }
    }
}

/// The reply handed back to the page: which callback to run, and its argument.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reply {
    pub ok: bool,
    pub body: Value,
}

/// Fields of an `ampeHHCommunication` request that every reply echoes, exactly as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Echo {
    pub action: Value,
    pub event: Value,
    pub task_id: Value,
}

impl Default for Echo {
    fn default() -> Self {
        Echo { action: Value::from(""), event: Value::from("open"), task_id: Value::from("") }
    }
}

/// A request after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The routed name: an action, a top-level `my.call` name, or a wxfaceapp / ft method.
    pub name: String,
    /// `event` of an ampeHHCommunication request ("open" when absent); empty otherwise.
    pub event: String,
    pub task_id: String,
    pub params: Params,
}

/// The `my.call` name whose params carry an action.
pub const AMPE: &str = "ampeHHCommunication";

/// Reads a request. On failure returns the error together with what could be echoed.
pub fn parse(dialect: Dialect, name: &str, raw: &str) -> Result<(Request, Echo), Box<(ApiError, Echo)>> {
    let value: Value = serde_json::from_str(raw)
        .map_err(|e| Box::new((ApiError::invalid(format!("参数不是合法的 JSON ({e})")), Echo::default())))?;
    parse_value(dialect, name, value)
}

/// Reads a request whose JSON is already parsed.
pub fn parse_value(dialect: Dialect, name: &str, value: Value) -> Result<(Request, Echo), Box<(ApiError, Echo)>> {
    if dialect == Dialect::My && name == AMPE {
        return parse_ampe(value);
    }
    let echo = Echo::default();
    let params = match value {
        Value::Null => Map::new(),
        Value::Object(m) => m,
        other => return Err(Box::new((ApiError::invalid(format!("参数应为对象, 收到 {}", kind(&other))), echo))),
    };
    Ok((Request { name: name.to_string(), event: String::new(), task_id: String::new(), params: Params(params) }, echo))
}

fn parse_ampe(value: Value) -> Result<(Request, Echo), Box<(ApiError, Echo)>> {
    let Value::Object(mut obj) = value else {
        return Err(Box::new((
            ApiError::invalid(format!("参数应为对象 {{action, event, taskId, params}}, 收到 {}", kind(&value))),
            Echo::default(),
        )));
    };
    let echo = Echo {
        action: obj.get("action").cloned().unwrap_or_else(|| Value::from("")),
        event: obj.get("event").cloned().unwrap_or_else(|| Value::from("open")),
        task_id: obj.get("taskId").cloned().unwrap_or_else(|| Value::from("")),
    };
    let fail = |detail: String, echo: &Echo| Err(Box::new((ApiError::invalid(detail), echo.clone())));
    let action = match obj.get("action") {
        None | Some(Value::Null) => return fail("缺少 action".into(), &echo),
        Some(Value::String(s)) if s.trim().is_empty() => return fail("action 不能为空".into(), &echo),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return fail(format!("action 应为字符串, 收到 {}", kind(other)), &echo),
    };
    let event = match obj.get("event") {
        None | Some(Value::Null) => "open".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return fail(format!("event 应为字符串, 收到 {}", kind(other)), &echo),
    };
    let task_id = match obj.get("taskId") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return fail(format!("taskId 应为字符串, 收到 {}", kind(other)), &echo),
    };
    let params = match obj.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(other) => return fail(format!("params 应为对象, 收到 {}", kind(&other)), &echo),
    };
    Ok((Request { name: action, event, task_id, params: Params(params) }, echo))
}

/// Shapes a handler's result (or the router's error) as the page expects it.
pub fn reply(dialect: Dialect, name: &str, ampe: bool, echo: &Echo, result: Result<Done, ApiError>) -> Reply {
    match dialect {
        Dialect::My if ampe => my_ampe(echo, result),
        Dialect::My => my_top_level(name, result),
        Dialect::Wxfaceapp => wx(result),
        Dialect::Ft => ft(name, result),
    }
}

fn my_ampe(echo: &Echo, result: Result<Done, ApiError>) -> Reply {
    let mut body = Map::new();
    body.insert("action".into(), echo.action.clone());
    match result {
        Ok(done) => {
            body.insert("event".into(), done.event.map(Value::from).unwrap_or_else(|| echo.event.clone()));
            body.insert("taskId".into(), echo.task_id.clone());
            body.insert("success".into(), Value::Bool(true));
            body.insert("message".into(), Value::from(done.message.unwrap_or_else(|| "成功".into())));
            body.insert("data".into(), if done.data.is_null() { json!({}) } else { done.data });
        }
        Err(err) => {
            body.insert("event".into(), echo.event.clone());
            body.insert("taskId".into(), echo.task_id.clone());
            body.insert("success".into(), Value::Bool(false));
            body.insert("message".into(), Value::from(err.message));
            body.insert("errorCode".into(), Value::from(err.code.as_str()));
            body.insert("data".into(), err.data.unwrap_or_else(|| json!({})));
        }
    }
    Reply { ok: true, body: Value::Object(body) }
}

fn my_top_level(name: &str, result: Result<Done, ApiError>) -> Reply {
    match result {
        Ok(done) => Reply { ok: true, body: done.data },
        Err(err) => {
            let mut body = json!({"success": false, "message": err.message, "errorCode": err.code.as_str()});
            if name == "startBizService" {
                body["resultStatus"] = Value::from("4000");
                // A failed certification carries seed 003's own `result` (certifyId, errorCode).
                body["result"] = err
                    .data
                    .as_ref()
                    .and_then(|d| d.get("result"))
                    .cloned()
                    .unwrap_or_else(|| json!({"errorCode": err.code.as_str()}));
            }
            merge(&mut body, err.data);
            Reply { ok: false, body }
        }
    }
}

fn wx(result: Result<Done, ApiError>) -> Reply {
    match result {
        Ok(done) => Reply { ok: true, body: if done.data.is_null() { json!({}) } else { done.data } },
        Err(err) => {
            let reply_code = err.reply_code.clone().unwrap_or_else(|| err.code.wx_reply_code().to_string());
            let mut body = json!({"replyCode": reply_code, "reply": err.message, "errorCode": err.code.as_str()});
            merge(&mut body, err.data);
            Reply { ok: false, body }
        }
    }
}

fn ft(name: &str, result: Result<Done, ApiError>) -> Reply {
    match result {
        Ok(done) => Reply { ok: true, body: if done.data.is_null() { json!({}) } else { done.data } },
        Err(err) => {
            let mut body = json!({"errMsg": format!("{name}:fail {}", err.message), "errorCode": err.code.as_str()});
            merge(&mut body, err.data);
            Reply { ok: false, body }
        }
    }
}

fn merge(body: &mut Value, extra: Option<Value>) {
    if let (Value::Object(b), Some(Value::Object(extra))) = (body, extra) {
        for (k, v) in extra {
            b.entry(k).or_insert(v);
        }
    }
}

/// An event for a page, shaped for its dialect: `my.on` callbacks receive `{data: …}`,
/// `wxfaceapp.onXxx` callbacks receive the object itself.
pub fn event_body(dialect: Dialect, payload: Value) -> Value {
    match dialect {
        Dialect::My => json!({ "data": payload }),
        Dialect::Wxfaceapp | Dialect::Ft => payload,
    }
}

/// A failure reply for a call that never reached the router (e.g. session ended).
pub fn error_reply(dialect: Dialect, name: &str, err: ApiError) -> Reply {
    reply(dialect, name, dialect == Dialect::My && name == AMPE, &Echo::default(), Err(err))
}
