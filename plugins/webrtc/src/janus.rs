//! A client of the Janus WebRTC server's HTTP API (sessions, plugin handles, messages with a
//! description, trickled candidates) and of its VideoRoom plugin: what `finOpenWitnessVideo`
//! needs to join a room, publish the camera and microphone, and watch the agent.
//!
//! Janus answers some requests at once and others with an `ack` followed by an event carrying
//! the same transaction; events come by one long poll per session (which also keeps the session
//! alive). One thread polls; answers go to whoever waits for their transaction, everything else
//! to [`Janus::events`].

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// What went wrong talking to Janus.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JanusError {
    /// Janus could not be reached or stopped answering: worth trying again.
    #[error("视频服务无法连接: {0}")]
    Network(String),
    /// Janus or its plugin refused the request (wrong room, wrong password, …).
    #[error("视频服务拒绝: {reason} ({code})")]
    Refused { code: i64, reason: String },
    /// An answer that is not Janus's.
    #[error("视频服务的应答无法理解: {0}")]
    Protocol(String),
}

impl JanusError {
    pub fn is_network(&self) -> bool {
        matches!(self, JanusError::Network(_))
    }
}

/// How long one request may take; the long poll is held by Janus for up to 30 s.
const REQUEST: Duration = Duration::from_secs(10);
/// How long a keepalive may take: it only says whether Janus is reachable.
const KEEPALIVE: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_secs(40);
/// Waiting for an event that answers a request (a join, a publish).
const ANSWER: Duration = Duration::from_secs(20);

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>;

/// One Janus session.
pub struct Janus {
    agent: ureq::Agent,
    quick: ureq::Agent,
    base: String,
    session: u64,
    secret: Option<String>,
    waiters: Waiters,
    next: AtomicU64,
    stop: Arc<AtomicBool>,
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

fn post_blocking(agent: &ureq::Agent, url: &str, body: &Value) -> Result<Value, JanusError> {
    let mut r = agent.post(url).header("content-type", "application/json").send(body.to_string()).map_err(network)?;
    read(&mut r)
}

fn network(e: ureq::Error) -> JanusError {
    JanusError::Network(e.to_string())
}

fn read(r: &mut ureq::http::Response<ureq::Body>) -> Result<Value, JanusError> {
    let status = r.status().as_u16();
    let bytes = r.body_mut().with_config().limit(4 << 20).read_to_vec().map_err(network)?;
    if status != 200 {
        return Err(JanusError::Network(format!("HTTP {status}")));
    }
    serde_json::from_slice(&bytes).map_err(|e| JanusError::Protocol(e.to_string()))
}

/// The error in a Janus answer (`{"janus":"error"}`) or a plugin answer (`error_code`).
fn refusal(v: &Value) -> Option<JanusError> {
    if v["janus"] == "error" {
        return Some(JanusError::Refused {
            code: v["error"]["code"].as_i64().unwrap_or(0),
            reason: v["error"]["reason"].as_str().unwrap_or("").to_string(),
        });
    }
    let data = &v["plugindata"]["data"];
    data.get("error_code").map(|c| JanusError::Refused {
        code: c.as_i64().unwrap_or(0),
        reason: data["error"].as_str().unwrap_or("").to_string(),
    })
}

impl Janus {
    /// Creates a session on the Janus at `base` (`http://host:port/janus`); its events arrive
    /// on the returned receiver, with `{"janus":"booth-lost"}` when Janus stopped answering the
    /// poll and `{"janus":"booth-back"}` when it answers again.
    pub async fn connect(
        base: &str,
        secret: Option<String>,
    ) -> Result<(Janus, mpsc::UnboundedReceiver<Value>), JanusError> {
        let base = base.trim_end_matches('/').to_string();
        let agent = agent(REQUEST);
        let mut body = json!({"janus": "create", "transaction": "create"});
        add_secret(&mut body, &secret);
        let (a, url) = (agent.clone(), base.clone());
        let answer = blocking(move || post_blocking(&a, &url, &body)).await?;
        if let Some(e) = refusal(&answer) {
            return Err(e);
        }
        let session = answer["data"]["id"].as_u64().ok_or_else(|| JanusError::Protocol(answer.to_string()))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let janus = Janus {
            agent,
            quick: self::agent(KEEPALIVE),
            base,
            session,
            secret,
            waiters: Arc::default(),
            next: AtomicU64::new(1),
            stop: Arc::new(AtomicBool::new(false)),
        };
        janus.poll(tx)?;
        Ok((janus, rx))
    }

    fn poll(&self, events: mpsc::UnboundedSender<Value>) -> Result<(), JanusError> {
        let url = format!(
            "{}/{}?maxev=10{}",
            self.base,
            self.session,
            match &self.secret {
                Some(s) => format!("&apisecret={}", encode(s)),
                None => String::new(),
            }
        );
        let (waiters, stop, agent) = (self.waiters.clone(), self.stop.clone(), agent(POLL));
        std::thread::Builder::new()
            .name("booth-janus-poll".into())
            .spawn(move || {
                let mut failures = 0;
                while !stop.load(Ordering::SeqCst) {
                    let got = agent.get(&url).call().map_err(network).and_then(|mut r| read(&mut r));
                    let list = match got {
                        Ok(Value::Array(list)) => list,
                        Ok(one) => vec![one],
                        Err(e) => {
                            // One failed poll can be a hiccup; the second in a row is reported
                            // (once), and the poll goes on until its owner lets the session go.
                            failures += 1;
                            if failures == 2
                                && events.send(json!({"janus": "booth-lost", "reason": e.to_string()})).is_err()
                            {
                                return;
                            }
                            std::thread::sleep(Duration::from_millis(500));
                            continue;
                        }
                    };
                    if failures >= 2 && events.send(json!({"janus": "booth-back"})).is_err() {
                        return;
                    }
                    failures = 0;
                    for e in list {
                        if e["janus"] == "keepalive" {
                            continue;
                        }
                        let waiter = e["transaction"]
                            .as_str()
                            .and_then(|t| waiters.lock().unwrap_or_else(|p| p.into_inner()).remove(t));
                        match waiter {
                            Some(w) => {
                                let _ = w.send(e);
                            }
                            None => {
                                if events.send(e).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                }
            })
            .map_err(|e| JanusError::Network(format!("thread: {e}")))?;
        Ok(())
    }

    fn transaction(&self) -> String {
        format!("b{}", self.next.fetch_add(1, Ordering::Relaxed))
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, JanusError> {
        self.post_with(&self.agent, path, body).await
    }

    async fn post_with(&self, agent: &ureq::Agent, path: &str, mut body: Value) -> Result<Value, JanusError> {
        add_secret(&mut body, &self.secret);
        let (agent, url) = (agent.clone(), format!("{}/{}{}", self.base, self.session, path));
        let answer = blocking(move || post_blocking(&agent, &url, &body)).await?;
        match refusal(&answer) {
            Some(e) => Err(e),
            None => Ok(answer),
        }
    }

    /// Tells Janus the session is alive and finds out whether Janus is reachable (within 3 s).
    pub async fn keepalive(&self) -> Result<(), JanusError> {
        let t = self.transaction();
        self.post_with(&self.quick, "", json!({"janus": "keepalive", "transaction": t})).await.map(|_| ())
    }

    /// Attaches a handle of `plugin` (`janus.plugin.videoroom`).
    pub async fn attach(&self, plugin: &str) -> Result<u64, JanusError> {
        let t = self.transaction();
        let answer = self.post("", json!({"janus": "attach", "plugin": plugin, "transaction": t})).await?;
        answer["data"]["id"].as_u64().ok_or_else(|| JanusError::Protocol(answer.to_string()))
    }

    /// Sends a plugin message (with a description, if any) and returns the plugin's answer:
    /// at once when Janus answers at once, else the event that carries the same transaction.
    pub async fn message(&self, handle: u64, body: Value, jsep: Option<Value>) -> Result<Value, JanusError> {
        let t = self.transaction();
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().unwrap_or_else(|p| p.into_inner()).insert(t.clone(), tx);
        let mut request = json!({"janus": "message", "transaction": t, "body": body});
        if let Some(j) = jsep {
            request["jsep"] = j;
        }
        let answer = self.post(&format!("/{handle}"), request).await;
        let answer = match answer {
            Ok(a) if a["janus"] == "ack" => match tokio::time::timeout(ANSWER, rx).await {
                Ok(Ok(event)) => event,
                _ => {
                    self.waiters.lock().unwrap_or_else(|p| p.into_inner()).remove(&t);
                    return Err(JanusError::Network(format!("{} 秒没有应答", ANSWER.as_secs())));
                }
            },
            other => {
                self.waiters.lock().unwrap_or_else(|p| p.into_inner()).remove(&t);
                other?
            }
        };
        match refusal(&answer) {
            Some(e) => Err(e),
            None => Ok(answer),
        }
    }

    /// Sends one local candidate (`None`: gathering is complete).
    pub async fn trickle(&self, handle: u64, candidate: Option<&crate::model::Candidate>) -> Result<(), JanusError> {
        let c = match candidate {
            Some(c) => json!({"candidate": c.candidate, "sdpMid": c.sdp_mid, "sdpMLineIndex": c.sdp_m_line_index}),
            None => json!({"completed": true}),
        };
        let t = self.transaction();
        self.post(&format!("/{handle}"), json!({"janus": "trickle", "transaction": t, "candidate": c})).await?;
        Ok(())
    }

    /// Ends the session (its handles and their connections with it); the poll stops.
    pub async fn destroy(&self) {
        self.destroy_soon(1).await;
    }

    /// Like [`Janus::destroy`], trying again for a while when Janus cannot be reached (a call
    /// lost to the network leaves its old publisher in the room until Janus's session timeout
    /// otherwise).
    pub async fn destroy_soon(&self, tries: u32) {
        self.stop.store(true, Ordering::SeqCst);
        for i in 0..tries.max(1) {
            let t = self.transaction();
            match self.post("", json!({"janus": "destroy", "transaction": t})).await {
                Err(JanusError::Network(_)) if i + 1 < tries => tokio::time::sleep(Duration::from_secs(2)).await,
                _ => return,
            }
        }
    }
}

impl Drop for Janus {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn add_secret(body: &mut Value, secret: &Option<String>) {
    // Janus checks `apisecret` when the server sets one and `token` when it uses tokens; a
    // server that uses neither ignores both.
    if let Some(s) = secret {
        body["apisecret"] = json!(s);
        body["token"] = json!(s);
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, JanusError> + Send + 'static,
) -> Result<T, JanusError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| JanusError::Network(e.to_string()))?
}

/// An offer as Janus 1.1 takes it: webrtcbin's max-bundle offer marks every media line but the
/// first `bundle-only` with port 0, which Janus reads as "rejected" (and then answers that line
/// without ICE credentials, which webrtcbin refuses). Browsers offer port 9 without
/// `bundle-only`; so does this.
pub fn offer_for_janus(sdp: &str) -> String {
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == "a=bundle-only" {
            continue;
        }
        match bare.strip_prefix("m=").and_then(|m| m.split_once(' ')) {
            Some((kind, rest)) if rest.starts_with("0 ") => {
                out.push_str(&format!("m={kind} 9 {}", &line[2 + kind.len() + 3..]));
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// The VideoRoom's data in an answer or event.
pub fn room_data(v: &Value) -> &Value {
    &v["plugindata"]["data"]
}

/// A room id as Janus wants it: a number when it is one (Janus's default), else the text
/// (rooms with `string_ids`).
pub fn room_id(id: &str) -> Value {
    match id.trim().parse::<u64>() {
        Ok(n) => json!(n),
        Err(_) => json!(id.trim()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bundle_only_lines_are_offered_as_browsers_offer_them() {
        let sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:video0\r\nm=audio 0 UDP/TLS/RTP/SAVPF 111\r\n\
                   a=bundle-only\r\na=mid:audio1\r\n";
        assert_eq!(
            super::offer_for_janus(sdp),
            "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:video0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:audio1\r\n"
        );
    }
}
