//! The shapes that cross the bridge (W3C's, as seed 002 mirrors them) and the errors of this
//! crate. Platform-independent: the page-facing layer is the same on every system.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a WebRTC operation failed; the bridge turns it into an error reply.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WebRtcError {
    #[error("参数错误: {0}")]
    Invalid(String),
    /// W3C's InvalidStateError: the operation does not fit the connection's state.
    #[error("状态错误: {0}")]
    State(String),
    #[error("连接已关闭")]
    Closed,
    #[error("媒体设备不可用: {0}")]
    Device(String),
    #[error("WebRTC 内部错误: {0}")]
    Engine(String),
    #[error("本终端不支持: {0}")]
    Unsupported(String),
}

/// `[webrtc]` in booth.toml.
///
/// ```toml
/// [webrtc]
/// microphone = "auto"  # auto (GStreamer's autoaudiosrc) | none | test (a 440 Hz tone) | a GStreamer source, e.g. "pulsesrc device=…"
/// speaker = "auto"     # where remote audio plays: auto (autoaudiosink) | none | a GStreamer sink
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebRtcSection {
    pub microphone: String,
    pub speaker: String,
}

impl Default for WebRtcSection {
    fn default() -> Self {
        WebRtcSection { microphone: "auto".into(), speaker: "auto".into() }
    }
}

/// What `[webrtc]` means for the connections.
#[derive(Debug, Clone, PartialEq)]
pub struct WebRtcConfig {
    /// The microphone as a GStreamer source; `None`: `getUserMedia({audio})` answers
    /// DEVICE_UNAVAILABLE.
    pub microphone: Option<String>,
    /// Where remote audio plays, as a GStreamer sink; `None`: decoded, not played.
    pub speaker: Option<String>,
}

impl Default for WebRtcConfig {
    fn default() -> Self {
        WebRtcSection::default().to_config()
    }
}

impl WebRtcSection {
    pub fn to_config(&self) -> WebRtcConfig {
        let pick = |v: &str, auto: &str, test: &str| match v.trim() {
            "" | "none" => None,
            "auto" => Some(auto.to_string()),
            "test" => Some(test.to_string()),
            other => Some(other.to_string()),
        };
        WebRtcConfig {
            microphone: pick(
                &self.microphone,
                "autoaudiosrc",
                "audiotestsrc is-live=true wave=sine freq=440 volume=0.3",
            ),
            speaker: pick(&self.speaker, "autoaudiosink", "fakesink sync=false"),
        }
    }
}

/// An SDP offer or answer, as `RTCSessionDescriptionInit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Description {
    #[serde(rename = "type")]
    pub kind: String,
    pub sdp: String,
}

impl Description {
    /// Checks the type (`offer`, `answer`, `pranswer`); `rollback` is not supported.
    pub fn parse(v: &Value) -> Result<Description, WebRtcError> {
        let d: Description = serde_json::from_value(v.clone())
            .map_err(|_| WebRtcError::Invalid("description 应为 {type, sdp}".into()))?;
        match d.kind.as_str() {
            "offer" | "answer" | "pranswer" => {}
            "rollback" => return Err(WebRtcError::Unsupported("rollback".into())),
            other => return Err(WebRtcError::Invalid(format!("description.type 不能是 \"{other}\""))),
        }
        if d.sdp.trim().is_empty() {
            return Err(WebRtcError::Invalid("description.sdp 为空".into()));
        }
        Ok(d)
    }
}

/// An ICE candidate, as `RTCIceCandidateInit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    pub candidate: String,
    #[serde(default)]
    pub sdp_m_line_index: Option<u32>,
    #[serde(default)]
    pub sdp_mid: Option<String>,
}

/// One entry of `iceServers`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: Option<String>,
    pub credential: Option<String>,
}

/// What `createRTCPeerConnection` takes (the parts Booth uses; the rest is kept for
/// `getConfiguration`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PeerConfig {
    pub ice_servers: Vec<IceServer>,
    /// `"all"` or `"relay"`.
    pub ice_transport_policy: String,
    /// The page's own object, answered by `getConfiguration`.
    pub raw: Value,
}

impl PeerConfig {
    pub fn parse(v: &Value) -> Result<PeerConfig, WebRtcError> {
        let obj = match v {
            Value::Null => {
                return Ok(PeerConfig {
                    ice_transport_policy: "all".into(),
                    raw: Value::Object(Default::default()),
                    ..Default::default()
                })
            }
            Value::Object(o) => o,
            _ => return Err(WebRtcError::Invalid("配置应为对象".into())),
        };
        let mut servers = Vec::new();
        match obj.get("iceServers") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (i, s) in list.iter().enumerate() {
                    let Value::Object(s) = s else {
                        return Err(WebRtcError::Invalid(format!("iceServers[{i}] 应为对象")));
                    };
                    let urls = match s.get("urls").or_else(|| s.get("url")) {
                        Some(Value::String(u)) => vec![u.clone()],
                        Some(Value::Array(us)) => us
                            .iter()
                            .map(|u| u.as_str().map(str::to_string))
                            .collect::<Option<Vec<_>>>()
                            .ok_or_else(|| WebRtcError::Invalid(format!("iceServers[{i}].urls 应为字符串")))?,
                        _ => return Err(WebRtcError::Invalid(format!("iceServers[{i}].urls 缺失"))),
                    };
                    for u in &urls {
                        if !(u.starts_with("stun:") || u.starts_with("turn:") || u.starts_with("turns:")) {
                            return Err(WebRtcError::Invalid(format!("iceServers[{i}]: 不支持的地址 {u}")));
                        }
                    }
                    let text = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
                    servers.push(IceServer { urls, username: text("username"), credential: text("credential") });
                }
            }
            Some(_) => return Err(WebRtcError::Invalid("iceServers 应为数组".into())),
        }
        let policy = match obj.get("iceTransportPolicy").and_then(Value::as_str) {
            None => "all",
            Some(p @ ("all" | "relay")) => p,
            Some(other) => return Err(WebRtcError::Invalid(format!("iceTransportPolicy 不能是 \"{other}\""))),
        };
        Ok(PeerConfig { ice_servers: servers, ice_transport_policy: policy.into(), raw: v.clone() })
    }

    /// The STUN server webrtcbin takes (it takes one) and its TURN servers, as its URLs
    /// (`stun://host:port`, `turn://user:pass@host:port`).
    pub fn gst_servers(&self) -> (Option<String>, Vec<String>) {
        let mut stun = None;
        let mut turn = Vec::new();
        for s in &self.ice_servers {
            for u in &s.urls {
                if let Some(rest) = u.strip_prefix("stun:") {
                    stun.get_or_insert_with(|| format!("stun://{}", rest.trim_start_matches('/')));
                } else if let Some((scheme, rest)) = u.split_once(':') {
                    let rest = rest.trim_start_matches('/');
                    let (host, query) = rest.split_once('?').unwrap_or((rest, ""));
                    let user = encode(s.username.as_deref().unwrap_or_default());
                    let pass = encode(s.credential.as_deref().unwrap_or_default());
                    let query = if query.is_empty() { String::new() } else { format!("?{query}") };
                    turn.push(format!("{scheme}://{user}:{pass}@{host}{query}"));
                }
            }
        }
        (stun, turn)
    }
}

/// Percent-encodes what may not stand in a URL's user part.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What a peer connection tells the page, in the order it happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase", rename_all_fields = "camelCase")]
pub enum PeerEvent {
    /// `candidate: null` ends gathering.
    Icecandidate {
        candidate: Option<Candidate>,
    },
    Iceconnectionstatechange {
        ice_connection_state: String,
    },
    Icegatheringstatechange {
        ice_gathering_state: String,
    },
    Connectionstatechange {
        connection_state: String,
    },
    Signalingstatechange {
        signaling_state: String,
    },
    Negotiationneeded,
    /// A remote track arrived: its stream is shown by `webrtc://<streamId>`.
    Track {
        track: TrackInfo,
        stream_id: String,
    },
}

/// A track as the page sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackInfo {
    pub id: String,
    /// `video` or `audio`.
    pub kind: String,
    pub label: String,
    pub enabled: bool,
    /// `live` or `ended`.
    pub ready_state: String,
}

/// The connection's states, as the page reads them from its properties.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PeerState {
    pub signaling_state: String,
    pub ice_connection_state: String,
    pub ice_gathering_state: String,
    pub connection_state: String,
    pub local_description: Option<Description>,
    pub remote_description: Option<Description>,
}

/// A fresh unguessable id (stream ids are also the display URLs' tokens).
pub fn new_id(prefix: &str) -> String {
    let mut b = [0u8; 12];
    if getrandom::fill(&mut b).is_err() {
        // Still unique within the process; the display endpoint checks the token too.
        let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        b[..12].copy_from_slice(&n.to_le_bytes()[..12]);
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{prefix}{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ice_servers_become_webrtcbin_urls() {
        let c = PeerConfig::parse(&json!({"iceServers": [
            {"urls": "stun:stun.example.invalid:3478"},
            {"urls": ["turn:turn.example.invalid:3478?transport=udp"], "username": "u@x", "credential": "p w"}
        ]}))
        .unwrap();
        let (stun, turn) = c.gst_servers();
        assert_eq!(stun.as_deref(), Some("stun://stun.example.invalid:3478"));
        assert_eq!(turn, vec!["turn://u%40x:p%20w@turn.example.invalid:3478?transport=udp".to_string()]);
    }

    #[test]
    fn bad_configurations_and_descriptions_are_refused() {
        assert!(PeerConfig::parse(&json!({"iceServers": "stun:x"})).is_err());
        assert!(PeerConfig::parse(&json!({"iceServers": [{"urls": "http://x"}]})).is_err());
        assert!(PeerConfig::parse(&json!({"iceServers": [{}]})).is_err());
        assert!(PeerConfig::parse(&json!(3)).is_err());
        assert!(PeerConfig::parse(&Value::Null).is_ok());
        assert!(Description::parse(&json!({"type": "offer", "sdp": ""})).is_err());
        assert!(Description::parse(&json!({"type": "bogus", "sdp": "v=0"})).is_err());
        assert!(matches!(
            Description::parse(&json!({"type": "rollback", "sdp": "v=0"})),
            Err(WebRtcError::Unsupported(_))
        ));
        assert!(Description::parse(&json!({"sdp": "v=0"})).is_err());
    }

    #[test]
    fn events_have_the_w3c_field_names() {
        let e = PeerEvent::Iceconnectionstatechange { ice_connection_state: "connected".into() };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"type": "iceconnectionstatechange", "iceConnectionState": "connected"})
        );
        let c = PeerEvent::Icecandidate {
            candidate: Some(Candidate {
                candidate: "candidate:1".into(),
                sdp_m_line_index: Some(0),
                sdp_mid: Some("video0".into()),
            }),
        };
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"type": "icecandidate", "candidate": {"candidate": "candidate:1", "sdpMLineIndex": 0, "sdpMid": "video0"}})
        );
    }
}
