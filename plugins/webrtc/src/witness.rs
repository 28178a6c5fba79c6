//! `ft.finOpenWitnessVideo` (seed 002 §2.5), the part every platform shares: what a page asks
//! for, what `[witness]` in booth.toml says, what the agent's messages mean, and the reply.
//!
//! The seed's video service is AnyChat, whose protocol is not public; Booth joins a room on a
//! Janus server (`videoType: "janus"`, the VideoRoom plugin) instead. The call itself is
//! [`crate::call`] (Linux).

use crate::model::WebRtcError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::PathBuf;

/// The video services Booth can join.
pub const SUPPORTED_TYPES: &[&str] = &["janus"];

/// `[witness]` in booth.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WitnessSection {
    /// Record both sides of every call to `directory`.
    pub record: bool,
    /// Where recordings go (empty: `witness` under Booth's data directory).
    pub directory: String,
    /// `http` or `https` to reach the video service.
    pub scheme: String,
    /// The path of Janus's HTTP API on the server.
    pub path: String,
    /// How long Booth keeps trying to get a call back after the network went away.
    pub reconnect_s: u64,
    /// How long Booth waits in the room for an agent.
    pub agent_wait_s: u64,
    /// The longest call.
    pub max_call_s: u64,
    /// How long the camera may be silent in a call before the call fails.
    pub camera_gone_s: u64,
    /// The video services pages may name (`host` or `host:port`); empty: any but this
    /// terminal's own loopback addresses, which must be listed to be used.
    pub servers: Vec<String>,
}

impl Default for WitnessSection {
    fn default() -> Self {
        WitnessSection {
            record: false,
            directory: String::new(),
            scheme: "http".into(),
            path: "/janus".into(),
            reconnect_s: 20,
            agent_wait_s: 120,
            max_call_s: 1800,
            camera_gone_s: 10,
            servers: Vec::new(),
        }
    }
}

impl WitnessSection {
    /// Problems an operator must fix (checked when booth.toml is read).
    pub fn check(&self) -> Result<(), String> {
        if !matches!(self.scheme.as_str(), "http" | "https") {
            return Err(format!("[witness] scheme 应为 \"http\" 或 \"https\", 而不是 \"{}\"", self.scheme));
        }
        if !self.path.starts_with('/') {
            return Err("[witness] path 应以 / 开头".into());
        }
        for (k, v) in [
            ("reconnect_s", self.reconnect_s),
            ("agent_wait_s", self.agent_wait_s),
            ("max_call_s", self.max_call_s),
            ("camera_gone_s", self.camera_gone_s),
        ] {
            if v == 0 || v > 24 * 3600 {
                return Err(format!("[witness] {k} 应在 1 到 86400 秒之间"));
            }
        }
        for entry in &self.servers {
            if entry.trim().is_empty() || entry.contains('/') || entry.chars().any(char::is_whitespace) {
                return Err(format!("[witness] servers: \"{entry}\" 应为 host 或 host:port"));
            }
        }
        Ok(())
    }

    /// Whether a page may have Booth connect to `host:port`: one of `servers`, or (with no list)
    /// anything but a loopback address — Booth's own control endpoint listens there, and a page
    /// must not make Booth talk to it.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let listed = self.servers.iter().any(|entry| {
            let entry = entry.trim().to_ascii_lowercase();
            let (h, p) = match entry.rsplit_once(':') {
                // "host:port", or a bare IPv6 address ("::1") when what follows is not a port.
                Some((h, p)) if p.parse::<u16>().is_ok() && (!h.contains(':') || h.starts_with('[')) => {
                    (h.trim_start_matches('[').trim_end_matches(']').to_string(), p.parse::<u16>().ok())
                }
                _ => (entry.trim_start_matches('[').trim_end_matches(']').to_string(), None),
            };
            h == host && p.is_none_or(|p| p == port)
        });
        if !self.servers.is_empty() {
            return listed;
        }
        let loopback = host == "localhost"
            || host.ends_with(".localhost")
            || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
        !loopback
    }

    /// The recordings' directory, given Booth's data directory.
    pub fn recordings(&self, data_dir: &std::path::Path) -> PathBuf {
        if self.directory.trim().is_empty() {
            data_dir.join("witness")
        } else {
            PathBuf::from(self.directory.trim())
        }
    }
}

/// What the page asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct WitnessRequest {
    pub video_type: String,
    pub ip: String,
    pub port: u16,
    pub login_name: String,
    pub login_pwd: Option<String>,
    pub room_id: String,
    pub room_name: String,
    pub room_pwd: Option<String>,
}

fn text(p: &Value, key: &str, max: usize) -> Result<Option<String>, WebRtcError> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.chars().count() > max => {
            Err(WebRtcError::Invalid(format!("{key} 太长 (最多 {max} 个字符)")))
        }
        Some(Value::String(s)) if s.chars().any(char::is_control) => {
            Err(WebRtcError::Invalid(format!("{key} 含有控制字符")))
        }
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        // Ports and room ids are often numbers in pages.
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(WebRtcError::Invalid(format!("{key} 应为字符串"))),
    }
}

impl WitnessRequest {
    /// Checks the page's parameters. An unknown or unsupported `videoType` is
    /// [`WebRtcError::Unsupported`] naming the supported ones.
    pub fn parse(p: &Value) -> Result<WitnessRequest, WebRtcError> {
        if !p.is_object() {
            return Err(WebRtcError::Invalid("参数应为对象".into()));
        }
        let need = |k: &str, max: usize| text(p, k, max)?.ok_or_else(|| WebRtcError::Invalid(format!("缺少 {k}")));
        let video_type = need("videoType", 32)?.to_ascii_lowercase();
        if !SUPPORTED_TYPES.contains(&video_type.as_str()) {
            return Err(WebRtcError::Unsupported(format!(
                "不支持的 videoType \"{video_type}\" (AnyChat 协议不公开); 支持: {}",
                SUPPORTED_TYPES.join(", ")
            )));
        }
        let ip = need("videoIp", 253)?;
        let host_ok = ip.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !host_ok {
            return Err(WebRtcError::Invalid("videoIp 应为主机名或 IP 地址 (不含协议和路径)".into()));
        }
        let port = need("videoPort", 5)?;
        let port = match port.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(WebRtcError::Invalid(format!("videoPort \"{port}\" 应为 1–65535"))),
        };
        let room_id = need("roomId", 64)?;
        Ok(WitnessRequest {
            video_type,
            ip,
            port,
            login_name: need("loginName", 64)?,
            login_pwd: text(p, "loginPwd", 256)?,
            room_name: text(p, "roomName", 64)?.unwrap_or_else(|| room_id.clone()),
            room_id,
            room_pwd: text(p, "roomPwd", 256)?,
        })
    }

    /// The Janus HTTP API of the request.
    pub fn base_url(&self, section: &WitnessSection) -> String {
        let host =
            if self.ip.contains(':') && !self.ip.starts_with('[') { format!("[{}]", self.ip) } else { self.ip.clone() };
        format!("{}://{}:{}{}", section.scheme, host, self.port, section.path.trim_end_matches('/'))
    }
}

/// How a call ended: the seed's `{videoFlag, rejectReason, message}`, and the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// "0" approved, "1" failed (or hung up), "2" rejected.
    pub flag: &'static str,
    pub reject_reason: String,
    pub message: String,
    pub recording: Option<PathBuf>,
}

impl Outcome {
    pub fn failed(message: impl Into<String>) -> Outcome {
        Outcome { flag: "1", reject_reason: String::new(), message: message.into(), recording: None }
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({"videoFlag": self.flag, "rejectReason": self.reject_reason, "message": self.message});
        if let Some(p) = &self.recording {
            v["recording"] = json!(p.to_string_lossy());
        }
        v
    }
}

/// What an agent's message means, if it is a decision: `approved` (or `approve`, `pass`, `通过`)
/// with an optional `: message`; `rejected: reason` (or `reject`, `驳回`); `failed: message`;
/// or JSON `{"decision": "approved" | "rejected" | "failed", "reason", "message"}`. Anything
/// else (a chat line) is not a decision.
pub fn decision(text: &str) -> Option<Outcome> {
    let t = text.trim();
    if t.starts_with('{') {
        let v: Value = serde_json::from_str(t).ok()?;
        let d = v.get("decision").or_else(|| v.get("result")).and_then(Value::as_str)?;
        let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").chars().take(500).collect::<String>();
        let (reason, message) = (field("reason"), field("message"));
        return outcome(d, if reason.is_empty() { &message } else { &reason }, &message);
    }
    let (head, rest) = match t.find([':', '：']) {
        Some(i) => (&t[..i], t[i..].trim_start_matches([':', '：']).trim()),
        None => (t, ""),
    };
    let rest: String = rest.chars().take(500).collect();
    outcome(head.trim(), &rest, &rest)
}

fn outcome(word: &str, reason: &str, message: &str) -> Option<Outcome> {
    let word = word.to_lowercase();
    let (flag, reason) = match word.as_str() {
        "approved" | "approve" | "pass" | "passed" | "通过" => ("0", ""),
        "rejected" | "reject" | "驳回" => ("2", reason),
        "failed" | "fail" | "失败" => ("1", ""),
        _ => return None,
    };
    let message = if message.is_empty() {
        match flag {
            "0" => "坐席审核通过",
            "2" => "坐席驳回",
            _ => "坐席结束了视频认证",
        }
        .to_string()
    } else {
        message.to_string()
    };
    Some(Outcome { flag, reject_reason: reason.to_string(), message, recording: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Value {
        json!({"videoType": "janus", "videoIp": "10.0.0.5", "videoPort": "8088", "loginName": "张三",
               "roomId": "1234", "roomName": "开户见证", "roomPwd": "p"})
    }

    #[test]
    fn a_request_is_checked_and_anychat_is_refused_naming_what_works() {
        let r = WitnessRequest::parse(&request()).unwrap();
        assert_eq!((r.port, r.room_id.as_str(), r.login_pwd.as_deref()), (8088, "1234", None));
        assert_eq!(r.base_url(&WitnessSection::default()), "http://10.0.0.5:8088/janus");
        let mut v = request();
        v["videoPort"] = json!(8088);
        v["videoIp"] = json!("::1");
        assert_eq!(WitnessRequest::parse(&v).unwrap().base_url(&WitnessSection::default()), "http://[::1]:8088/janus");
        let mut v = request();
        v["videoType"] = json!("anychat");
        match WitnessRequest::parse(&v) {
            Err(WebRtcError::Unsupported(m)) => assert!(m.contains("janus") && m.contains("anychat"), "{m}"),
            other => panic!("{other:?}"),
        }
        for (k, bad) in [
            ("videoPort", json!("0")),
            ("videoPort", json!("http")),
            ("videoIp", json!("http://x/")),
            ("roomId", json!("")),
            ("loginName", json!({"a": 1})),
            ("roomName", json!("x".repeat(65))),
            ("roomPwd", json!("a\u{0}b")),
        ] {
            let mut v = request();
            v[k] = bad.clone();
            assert!(matches!(WitnessRequest::parse(&v), Err(WebRtcError::Invalid(_))), "{k} = {bad}");
        }
        assert!(WitnessRequest::parse(&json!([1])).is_err());
    }

    #[test]
    fn the_agents_words_become_the_seeds_flags() {
        let d = decision("approved").unwrap();
        assert_eq!((d.flag, d.reject_reason.as_str()), ("0", ""));
        let d = decision("rejected: 证件照片不清晰").unwrap();
        assert_eq!((d.flag, d.reject_reason.as_str(), d.message.as_str()), ("2", "证件照片不清晰", "证件照片不清晰"));
        let d = decision("驳回：本人未到场").unwrap();
        assert_eq!((d.flag, d.reject_reason.as_str()), ("2", "本人未到场"));
        let d = decision(r#"{"decision":"rejected","reason":"r","message":"m"}"#).unwrap();
        assert_eq!((d.flag, d.reject_reason.as_str(), d.message.as_str()), ("2", "r", "m"));
        assert_eq!(decision("Failed").unwrap().flag, "1");
        assert_eq!(decision("您好, 请出示身份证"), None);
        assert_eq!(decision("{\"decision\": 3}"), None);
        assert_eq!(decision("{broken"), None);
        let j = Outcome { recording: Some("/r/a.webm".into()), ..decision("approved").unwrap() }.to_json();
        assert_eq!(
            j,
            json!({"videoFlag": "0", "rejectReason": "", "message": "坐席审核通过", "recording": "/r/a.webm"})
        );
    }

    #[test]
    fn pages_reach_only_the_servers_the_operator_allows_and_never_loopback_unlisted() {
        let any = WitnessSection::default();
        assert!(any.allows("10.0.0.5", 8088) && any.allows("janus.example.com", 443));
        for h in ["127.0.0.1", "127.8.9.1", "localhost", "LOCALHOST", "a.localhost", "::1", "[::1]", "0.0.0.0"] {
            assert!(!any.allows(h, 8088), "{h}");
        }
        let listed = WitnessSection {
            servers: vec!["10.0.0.5:8088".into(), "janus.example.com".into(), "127.0.0.1:9000".into(), "::1".into()],
            ..Default::default()
        };
        assert!(listed.allows("10.0.0.5", 8088) && !listed.allows("10.0.0.5", 8089));
        assert!(listed.allows("Janus.Example.com", 1) && !listed.allows("10.0.0.6", 8088));
        assert!(listed.allows("127.0.0.1", 9000), "listed loopback is allowed");
        assert!(listed.allows("[::1]", 7));
        assert!(listed.check().is_ok());
        assert!(WitnessSection { servers: vec!["http://x/".into()], ..Default::default() }.check().is_err());
    }

    #[test]
    fn the_section_refuses_what_cannot_work() {
        assert!(WitnessSection::default().check().is_ok());
        assert!(WitnessSection { scheme: "ws".into(), ..Default::default() }.check().is_err());
        assert!(WitnessSection { reconnect_s: 0, ..Default::default() }.check().is_err());
        assert!(WitnessSection { path: "janus".into(), ..Default::default() }.check().is_err());
    }
}
