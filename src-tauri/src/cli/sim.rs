//! `booth sim`: drives the simulated devices of a running Booth from another terminal, through
//! the same control endpoint calls the simulator panel makes.

use serde_json::{Map, Value};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// A loopback HTTP/1.1 exchange: (status, JSON body).
pub fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<(u16, Value)> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

fn field_hint(f: &Value) -> String {
    let name = f["name"].as_str().unwrap_or("?");
    let ty = match f["type"].as_str().unwrap_or("text") {
        "choice" => f["options"]
            .as_array()
            .map(|o| o.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("|"))
            .unwrap_or_default(),
        t => t.to_string(),
    };
    if f["default"].is_null() {
        format!("{name}=<{ty}>")
    } else {
        format!("[{name}=<{ty}, default {}>]", f["default"])
    }
}

fn list(described: &Value, only: Option<&str>) -> String {
    let mut out = String::new();
    for d in described["devices"].as_array().into_iter().flatten() {
        let id = d["id"].as_str().unwrap_or("?");
        if only.is_some_and(|o| o != id) {
            continue;
        }
        out.push_str(&format!("{id}  ({})\n", d["label"].as_str().unwrap_or("")));
        for a in d["actions"].as_array().into_iter().flatten() {
            let fields: Vec<String> = a["fields"].as_array().into_iter().flatten().map(field_hint).collect();
            out.push_str(&format!("  booth sim {id} {} {}\n", a["name"].as_str().unwrap_or("?"), fields.join(" ")));
        }
    }
    for r in described["real"].as_array().into_iter().flatten() {
        if only.is_none_or(|o| Some(o) == r["id"].as_str()) {
            out.push_str(&format!(
                "{}  (real backend: {}; not simulated)\n",
                r["id"].as_str().unwrap_or("?"),
                r["backend"]
            ));
        }
    }
    if out.is_empty() {
        out.push_str("no simulated devices\n");
    }
    out
}

/// Turns `name=value` and positional values into the action's arguments.
pub fn map_args(fields: &[Value], args: &[String]) -> Result<Map<String, Value>, String> {
    let names: Vec<&str> = fields.iter().filter_map(|f| f["name"].as_str()).collect();
    let mut out = Map::new();
    let mut positional = names.iter();
    for a in args {
        let named = a.split_once('=').filter(|(k, _)| names.contains(k));
        let (name, value) = match named {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => {
                let next = positional.by_ref().find(|n| !out.contains_key(**n));
                match next {
                    Some(n) => (n.to_string(), a.clone()),
                    None => return Err(format!("too many arguments: `{a}` (this action takes: {})", names.join(", "))),
                }
            }
        };
        out.insert(name, Value::String(value));
    }
    Ok(out)
}

pub fn main(device: Option<String>, action: Option<String>, args: Vec<String>, port: u16) -> i32 {
    let unreachable = |e: std::io::Error| {
        eprintln!(
            "booth: error: no Booth answering on 127.0.0.1:{port} ({e}); start `booth dev`, or pass the port \
             it printed with --control-port"
        );
        2
    };
    let described = match http(port, "GET", "/sim", None) {
        Ok((200, v)) => v,
        Ok((status, v)) => {
            eprintln!("booth: error: 127.0.0.1:{port} answered {status} {v}: is it a Booth control endpoint?");
            return 2;
        }
        Err(e) => return unreachable(e),
    };
    let (Some(device), Some(action)) = (device.as_deref(), action.as_deref()) else {
        print!("{}", list(&described, device.as_deref()));
        return 0;
    };
    let fields: Vec<Value> = described["devices"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["id"] == device)
        .flat_map(|d| d["actions"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["name"] == action)
        .flat_map(|a| a["fields"].as_array().cloned().unwrap_or_default())
        .collect();
    let body = match map_args(&fields, &args) {
        Ok(b) => Value::Object(b),
        Err(e) => {
            eprintln!("booth: error: {device} {action}: {e}");
            return 1;
        }
    };
    let path = format!("/sim/{device}/{action}");
    match http(port, "POST", &path, Some(&body)) {
        Ok((200, v)) => {
            println!("{}", v["result"]);
            0
        }
        Ok((_, v)) => {
            eprintln!("booth: error: {}", v["error"].as_str().unwrap_or("refused"));
            1
        }
        Err(e) => unreachable(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn positional_and_named_arguments_map_onto_fields() {
        let fields = vec![json!({"name": "name"}), json!({"name": "sex"}), json!({"name": "idNumber"})];
        let m = map_args(&fields, &["sex=女".into(), "张三".into(), "11010519491231002X".into()]).unwrap();
        assert_eq!(Value::Object(m), json!({"sex": "女", "name": "张三", "idNumber": "11010519491231002X"}));
        let e = map_args(&fields[..1], &["a".into(), "b".into()]).unwrap_err();
        assert!(e.contains("too many arguments: `b`"), "{e}");
        // A value that merely contains `=` is positional.
        let m = map_args(&fields[..1], &["a=b=c".into()]).unwrap();
        assert_eq!(m["name"], "a=b=c");
    }

    #[test]
    fn listing_shows_each_action_as_a_command() {
        let d = json!({"devices": [{"id": "scanner", "label": "扫码器", "actions": [{"name": "scan", "fields": [
            {"name": "code", "type": "text", "default": null}]}]}], "real": [{"id": "card", "backend": "pcsc"}]});
        let text = list(&d, None);
        assert!(text.contains("booth sim scanner scan code=<text>"), "{text}");
        assert!(text.contains("card  (real backend: \"pcsc\"; not simulated)"), "{text}");
    }
}
