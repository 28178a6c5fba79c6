//! The agent: one MQTT 5 connection to the broker, kept up with backoff, and the loop that
//! answers it.
//!
//! The connection is polled on a task of its own (rumqttc reconnects on the next poll after an
//! error; the task waits between attempts, 0.5 s doubling to 30 s) and hands what arrives to the
//! agent's loop, so nothing the loop does can stall the keep-alive. A session is kept by the
//! broker for [`SESSION_EXPIRY_S`] (clean start off), so commands sent while the terminal was
//! away arrive when it is back, unless they expired; subscriptions are made again after every
//! connection anyway, as a broker that lost the session (restarted without persistence) needs.
//!
//! Offline, the agent keeps running: events and command results wait in a bounded queue and go
//! out, in order, when the broker is back, followed by a `reconnected` event saying how long
//! the terminal was away and what, if anything, was dropped.

use crate::config::FleetConfig;
use crate::host::FleetHost;
use crate::http::Http;
use crate::protocol::{self, now_ms, Code, Command, CommandRequest, CommandResult, Desired};
use crate::seen::CommandLog;
use crate::signing;
use crate::store::{Installed, Store};
use crate::topics::Topics;
use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5::{Filter, LastWill, Packet, PublishProperties, RetainForwardRule};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long the broker keeps this terminal's session (and the commands sent to it) while it is
/// away, in seconds.
pub const SESSION_EXPIRY_S: u32 = 24 * 3600;
/// Messages kept while offline; beyond, the oldest are dropped (and counted).
pub const OFFLINE_QUEUE: usize = 512;
/// The longest a signed command may be valid for: a captured command cannot be replayed after
/// its id was forgotten.
pub const MAX_SIGNED_TTL_MS: u64 = 3600 * 1000;
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// What the app reports through the agent, published on `event`.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    DeviceAway {
        device: String,
        why: String,
    },
    DeviceBack {
        device: String,
    },
    Recovery {
        window: String,
        why: String,
    },
    Crash {
        what: String,
    },
    /// A PIN typed on the admin screen: `outcome` `ok`, `wrong`, `locked` (too many wrong
    /// ones), `not-set` (no PIN configured).
    AdminLogin {
        ok: bool,
        outcome: String,
    },
    Other {
        kind: String,
        fields: Value,
    },
}

impl AgentEvent {
    /// The events of one of the shell's recoveries (`{window, why, crash}`): a `recovery`,
    /// and a `crash` too when the page's web process crashed rather than was ended for hanging.
    pub fn from_recovery(r: &Value) -> Vec<AgentEvent> {
        let window = r["window"].as_str().unwrap_or("").to_string();
        let why = r["why"].as_str().unwrap_or("").to_string();
        let mut out = Vec::new();
        if r["crash"] == true {
            out.push(AgentEvent::Crash { what: format!("the web process of the {window} window {why}") });
        }
        out.push(AgentEvent::Recovery { window, why });
        out
    }

    fn to_json(&self) -> Value {
        match self {
            AgentEvent::DeviceAway { device, why } => {
                protocol::event("device-away", json!({"device": device, "why": why}))
            }
            AgentEvent::DeviceBack { device } => protocol::event("device-back", json!({"device": device})),
            AgentEvent::Recovery { window, why } => protocol::event("recovery", json!({"window": window, "why": why})),
            AgentEvent::Crash { what } => protocol::event("crash", json!({"what": what})),
            AgentEvent::AdminLogin { ok, outcome } => {
                protocol::event("admin-login", json!({"ok": ok, "outcome": outcome}))
            }
            AgentEvent::Other { kind, fields } => protocol::event(kind, fields.clone()),
        }
    }
}

/// What the agent needs besides `[fleet]`.
pub struct AgentOptions {
    pub config: FleetConfig,
    /// This Booth's version (`CARGO_PKG_VERSION` of the app).
    pub booth_version: String,
    /// Where signed packages are kept (see [`Store`]).
    pub store: Store,
}

/// How the agent is doing, for `/health` and the tests.
#[derive(Default)]
pub struct AgentState {
    connected: AtomicBool,
    connections: AtomicU64,
    commands_run: AtomicU64,
}

impl AgentState {
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }
    /// Connections made since start (1 after the first; more after each reconnect).
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
    pub fn commands_run(&self) -> u64 {
        self.commands_run.load(Ordering::SeqCst)
    }
}

/// A running agent. Dropping it stops it without a word (the broker publishes the last will);
/// [`Agent::stop`] says goodbye first.
pub struct Agent {
    events: mpsc::Sender<Msg>,
    state: Arc<AgentState>,
    task: tokio::task::JoinHandle<()>,
    poller: tokio::task::AbortHandle,
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.task.abort();
        self.poller.abort();
    }
}

enum Msg {
    Event(Value),
    Updates,
    Stop(tokio::sync::oneshot::Sender<()>),
}

enum Net {
    Connected,
    Lost(String),
    Publish(rumqttc::v5::mqttbytes::v5::Publish),
}

/// A finished command, back from its blocking work.
struct Done {
    result: CommandResult,
    correlation: Option<Bytes>,
    /// Restart Booth once the result is out.
    then_restart: bool,
}

/// One message to publish.
#[derive(Debug, Clone)]
struct Out {
    topic: String,
    retain: bool,
    payload: Vec<u8>,
    correlation: Option<Bytes>,
}

impl Agent {
    /// Starts the agent on `rt`. Fails only on a configuration that cannot make a connection
    /// (bad certificate files); an unreachable broker is retried forever.
    pub fn start(rt: &tokio::runtime::Handle, opts: AgentOptions, host: Arc<dyn FleetHost>) -> Result<Agent, String> {
        let cfg = &opts.config;
        let topics = Topics::new(&cfg.prefix, &cfg.terminal_id);
        let mqtt = mqtt_options(cfg, &topics)?;
        let http = Http::new(cfg.http_ca_pem.as_deref(), cfg.allow_insecure, Duration::from_secs(120))?;
        let (client, mut eventloop) = AsyncClient::new(mqtt, 256);
        let (net_tx, net_rx) = mpsc::channel::<Net>(64);
        let poller = rt.spawn(async move {
            let mut backoff = BACKOFF_MIN;
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        backoff = BACKOFF_MIN;
                        if net_tx.send(Net::Connected).await.is_err() {
                            return;
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if net_tx.send(Net::Publish(p)).await.is_err() {
                            return;
                        }
                    }
                    Ok(Event::Incoming(Packet::Disconnect(d))) => {
                        let _ = net_tx.send(Net::Lost(format!("the broker disconnected ({:?})", d.reason_code))).await;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        if net_tx.send(Net::Lost(e.to_string())).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                    }
                }
            }
        });
        let (tx, rx) = mpsc::channel(1024);
        let state = Arc::new(AgentState::default());
        let seen = CommandLog::open(Some(cfg.state_dir.join("commands.json")));
        let inner = Inner {
            cfg: opts.config.clone(),
            booth_version: opts.booth_version,
            store: opts.store,
            topics,
            client,
            host,
            http: Arc::new(http),
            seen: Arc::new(seen),
            state: state.clone(),
            queue: VecDeque::new(),
            dropped: 0,
            offline_since: None,
            started: Instant::now(),
        };
        let task = rt.spawn(inner.run(net_rx, rx));
        Ok(Agent { events: tx, state, task, poller: poller.abort_handle() })
    }

    /// Publishes an event (queued while offline). Never blocks; when the agent is far behind
    /// the event is dropped.
    pub fn event(&self, e: AgentEvent) {
        if self.events.try_send(Msg::Event(e.to_json())).is_err() {
            tracing::warn!(event = ?e, "fleet agent busy; event dropped");
        }
    }

    /// Publishes the `update` events the store holds (a trial was just judged); while offline
    /// they go out at the next connection.
    pub fn report_updates(&self) {
        if self.events.try_send(Msg::Updates).is_err() {
            tracing::warn!("fleet agent busy; update results go out at the next connection");
        }
    }

    pub fn state(&self) -> Arc<AgentState> {
        self.state.clone()
    }

    /// Publishes `offline` (retained), disconnects and stops.
    pub async fn stop(self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.events.send(Msg::Stop(tx)).await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
        }
    }
}

fn mqtt_options(cfg: &FleetConfig, topics: &Topics) -> Result<MqttOptions, String> {
    let mut o = MqttOptions::new(format!("booth-{}", cfg.terminal_id), cfg.broker.host.clone(), cfg.broker.port);
    o.set_keep_alive(cfg.keepalive);
    o.set_clean_start(false);
    o.set_session_expiry_interval(Some(SESSION_EXPIRY_S));
    // The broker does not send this terminal anything larger (MQTT 5 Maximum Packet Size):
    // an oversized command never even reaches it. Room for the topic and properties.
    o.set_max_packet_size(Some((cfg.max_payload + 8 * 1024) as u32));
    o.set_request_channel_capacity(256);
    // rumqttc sizes its table of unacknowledged publishes by this limit (65535 by default:
    // ~13 MB per connection); a terminal never has more than a few in flight.
    o.set_outgoing_inflight_upper_limit(64);
    if let Some(p) = &cfg.password {
        o.set_credentials(cfg.username.clone(), p.clone());
    } else {
        o.set_credentials(cfg.username.clone(), "");
    }
    let will = json!({"state": "offline", "reason": "connection lost", "terminal": cfg.terminal_id});
    o.set_last_will(LastWill::new(topics.status(), will.to_string(), QoS::AtLeastOnce, true, None));
    if cfg.broker.tls {
        o.set_transport(tls_transport(cfg.ca_pem.as_deref(), cfg.client_identity.as_ref())?);
    }
    Ok(o)
}

/// TLS with `ca_pem` as the only authority trusted besides the system's, and a client
/// certificate (PEM certificate, PKCS#8 PEM key) when the broker wants one.
pub(crate) fn tls_transport(
    ca_pem: Option<&[u8]>,
    client_identity: Option<&(Vec<u8>, Vec<u8>)>,
) -> Result<rumqttc::Transport, String> {
    let mut b = native_tls::TlsConnector::builder();
    if let Some(pem) = ca_pem {
        let cert = native_tls::Certificate::from_pem(pem).map_err(|e| format!("fleet.ca_file: {e}"))?;
        b.add_root_certificate(cert);
    }
    if let Some((cert, key)) = client_identity {
        let id =
            native_tls::Identity::from_pkcs8(cert, key).map_err(|e| format!("fleet.client_cert / client_key: {e}"))?;
        b.identity(id);
    }
    let connector = b.build().map_err(|e| format!("fleet: TLS: {e}"))?;
    Ok(rumqttc::Transport::tls_with_config(rumqttc::TlsConfiguration::NativeConnector(connector)))
}

struct Inner {
    cfg: FleetConfig,
    booth_version: String,
    store: Store,
    topics: Topics,
    client: AsyncClient,
    host: Arc<dyn FleetHost>,
    http: Arc<Http>,
    seen: Arc<CommandLog>,
    state: Arc<AgentState>,
    queue: VecDeque<Out>,
    dropped: u64,
    offline_since: Option<Instant>,
    started: Instant,
}

impl Inner {
    async fn run(mut self, mut net: mpsc::Receiver<Net>, mut msgs: mpsc::Receiver<Msg>) {
        let (done_tx, mut done_rx) = mpsc::channel::<Done>(64);
        let mut telemetry = tokio::time::interval(self.cfg.telemetry_every);
        telemetry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.offline_since = Some(Instant::now());
        loop {
            tokio::select! {
                n = net.recv() => match n {
                    Some(Net::Connected) => self.on_connect().await,
                    Some(Net::Lost(why)) => {
                        if self.state.connected.swap(false, Ordering::SeqCst) {
                            tracing::warn!(why, "fleet broker connection lost; reconnecting");
                            self.offline_since = Some(Instant::now());
                        } else {
                            tracing::debug!(why, "fleet broker not reachable");
                        }
                    }
                    Some(Net::Publish(p)) => self.on_publish(p, &done_tx).await,
                    None => return,
                },
                _ = telemetry.tick() => {
                    if self.state.connected() {
                        let t = self.telemetry().await;
                        self.send(Out { topic: self.topics.telemetry(), retain: true, payload: t, correlation: None });
                    }
                }
                m = msgs.recv() => match m {
                    Some(Msg::Event(v)) => {
                        let payload = v.to_string().into_bytes();
                        self.send_or_queue(Out { topic: self.topics.event(), retain: false, payload, correlation: None });
                    }
                    Some(Msg::Updates) => {
                        if self.state.connected() {
                            self.report_updates().await;
                        }
                    }
                    Some(Msg::Stop(ack)) => {
                        let bye = json!({"state": "offline", "reason": "stopped", "terminal": self.cfg.terminal_id, "at": now_ms()});
                        let _ = self.client.publish(self.topics.status(), QoS::AtLeastOnce, true, bye.to_string()).await;
                        let _ = self.client.disconnect().await;
                        // Give the connection task a moment to write both.
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        let _ = ack.send(());
                        return;
                    }
                    None => return,
                },
                Some(done) = done_rx.recv() => {
                    let code = format!("{:?}", done.result.code);
                    self.seen.finish(&done.result.id, &code);
                    let payload = serde_json::to_vec(&done.result).unwrap_or_default();
                    self.send_or_queue(Out { topic: self.topics.cmd_res(), retain: false, payload, correlation: done.correlation });
                    if done.then_restart {
                        // The result is in the connection's queue; let it get out first.
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        let host = self.host.clone();
                        let _ = tokio::task::spawn_blocking(move || host.restart()).await;
                    }
                }
            }
        }
    }

    async fn on_connect(&mut self) {
        let first = self.state.connections.fetch_add(1, Ordering::SeqCst) == 0;
        self.state.connected.store(true, Ordering::SeqCst);
        tracing::info!(broker = %self.cfg.broker.host, terminal = %self.cfg.terminal_id, "fleet broker connected");
        // The retained desired document arrives on every subscription; a retained command never
        // does, and one published live with the retain flag keeps it (retain as published), so
        // it is refused rather than run again by every terminal that subscribes later.
        let filters = self.topics.subscriptions().map(|t| {
            let mut f = Filter::new(t.clone(), QoS::AtLeastOnce);
            if t != self.topics.desired() {
                f.preserve_retain = true;
                f.retain_forward_rule = RetainForwardRule::Never;
            }
            f
        });
        if let Err(e) = self.client.try_subscribe_many(filters) {
            tracing::error!(error = %e, "cannot subscribe");
        }
        let status = json!({
            "state": "online",
            "terminal": self.cfg.terminal_id,
            "version": self.booth_version,
            "package": self.host.package(),
            "at": now_ms(),
        });
        self.send(Out {
            topic: self.topics.status(),
            retain: true,
            payload: status.to_string().into_bytes(),
            correlation: None,
        });
        let t = self.telemetry().await;
        self.send(Out { topic: self.topics.telemetry(), retain: true, payload: t, correlation: None });
        self.report(None).await;
        self.report_updates().await;
        let queued = self.queue.len();
        while let Some(o) = self.queue.pop_front() {
            self.send(o);
        }
        if !first {
            let away = self.offline_since.map(|t| t.elapsed().as_millis() as u64).unwrap_or(0);
            let e =
                protocol::event("reconnected", json!({"offlineMs": away, "queued": queued, "dropped": self.dropped}));
            self.send(Out {
                topic: self.topics.event(),
                retain: false,
                payload: e.to_string().into_bytes(),
                correlation: None,
            });
            self.dropped = 0;
        }
        self.offline_since = None;
    }

    /// Publishes what updates did that the broker was not told of yet (an update may have
    /// restarted Booth in between); each stays in the store until it went out.
    async fn report_updates(&mut self) {
        let store = self.store.clone();
        let outcomes = tokio::task::spawn_blocking(move || store.outcomes()).await.unwrap_or_default();
        for o in &outcomes {
            let e = protocol::event("update", serde_json::to_value(o).unwrap_or(Value::Null));
            self.send(Out {
                topic: self.topics.event(),
                retain: false,
                payload: e.to_string().into_bytes(),
                correlation: None,
            });
        }
        if !outcomes.is_empty() {
            let store = self.store.clone();
            let _ = tokio::task::spawn_blocking(move || store.reported(&outcomes)).await;
        }
    }

    /// Publishes now (the connection's own queue holds it through a short drop).
    fn send(&mut self, o: Out) {
        let props = PublishProperties { correlation_data: o.correlation.clone(), ..Default::default() };
        if let Err(e) = self.client.try_publish_with_properties(
            o.topic.clone(),
            QoS::AtLeastOnce,
            o.retain,
            o.payload.clone(),
            props,
        ) {
            tracing::warn!(topic = %o.topic, error = %e, "cannot hand a message to the broker connection; queued");
            self.enqueue(o);
        }
    }

    fn send_or_queue(&mut self, o: Out) {
        if self.state.connected() {
            self.send(o);
        } else {
            self.enqueue(o);
        }
    }

    fn enqueue(&mut self, o: Out) {
        if self.queue.len() >= OFFLINE_QUEUE {
            self.queue.pop_front();
            self.dropped += 1;
        }
        self.queue.push_back(o);
    }

    async fn telemetry(&self) -> Vec<u8> {
        let host = self.host.clone();
        let dir = self.store.dir().to_path_buf();
        let (package, devices, recoveries, memory, disk) = tokio::task::spawn_blocking(move || {
            (host.package(), host.devices(), host.recoveries(), crate::sys::memory(), crate::sys::disk(&dir))
        })
        .await
        .unwrap_or_default();
        let last: Vec<&Value> = recoveries.iter().rev().take(5).collect();
        json!({
            "terminal": self.cfg.terminal_id,
            "at": now_ms(),
            "version": self.booth_version,
            "package": package,
            "uptimeS": self.started.elapsed().as_secs(),
            "devices": devices,
            "recoveries": {"count": recoveries.len(), "last": last},
            "memory": memory,
            "disk": disk,
            "connections": self.state.connections(),
            "commandsRun": self.state.commands_run(),
        })
        .to_string()
        .into_bytes()
    }

    /// Publishes the reported shadow: the editable settings' values and the applied version.
    async fn report(&mut self, outcome: Option<Value>) {
        let host = self.host.clone();
        let settings = tokio::task::spawn_blocking(move || host.settings()).await;
        let doc = match settings {
            Ok(Ok(s)) => {
                let mut d = json!({"version": s.version, "settings": s.values, "at": now_ms()});
                if let (Some(o), Value::Object(m)) = (outcome, &mut d) {
                    m.insert("last".into(), o);
                }
                d
            }
            Ok(Err(e)) => json!({"error": e, "at": now_ms()}),
            Err(e) => json!({"error": e.to_string(), "at": now_ms()}),
        };
        self.send(Out {
            topic: self.topics.reported(),
            retain: true,
            payload: doc.to_string().into_bytes(),
            correlation: None,
        });
    }

    async fn on_publish(&mut self, p: rumqttc::v5::mqttbytes::v5::Publish, done: &mpsc::Sender<Done>) {
        let topic = String::from_utf8_lossy(&p.topic).into_owned();
        if topic == self.topics.desired() {
            self.on_desired(&p.payload).await;
        } else if topic == self.topics.cmd_req() || topic == self.topics.broadcast_cmd() {
            let broadcast = topic != self.topics.cmd_req();
            self.on_command(p, broadcast, done).await;
        } else {
            tracing::debug!(topic, "fleet message on no topic of ours; ignored");
        }
    }

    async fn on_desired(&mut self, payload: &[u8]) {
        if payload.is_empty() {
            return; // the retained document was cleared
        }
        let desired = match Desired::parse(payload, self.cfg.max_payload) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "shadow/desired refused");
                self.report(Some(json!({"ok": false, "error": e}))).await;
                return;
            }
        };
        let host = self.host.clone();
        let outcome = tokio::task::spawn_blocking(move || -> Result<Value, String> {
            let now = host.settings()?;
            if desired.version <= now.version {
                // Applied before (a retained document delivered again after a reconnect).
                return Ok(json!({"ok": true, "version": desired.version, "applied": false}));
            }
            let editable = host.editable();
            let editable: Vec<(&str, &str)> = editable.iter().map(|(k, t)| (k.as_str(), t.as_str())).collect();
            let edits = desired.edits(&editable)?;
            let restart = host.apply_settings(&edits, desired.version)?;
            Ok(json!({"ok": true, "version": desired.version, "applied": true, "restartNeeded": restart}))
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        let outcome = match outcome {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "shadow/desired not applied");
                json!({"ok": false, "error": e})
            }
        };
        self.report(Some(outcome)).await;
    }

    async fn on_command(&mut self, p: rumqttc::v5::mqttbytes::v5::Publish, broadcast: bool, done: &mpsc::Sender<Done>) {
        let props = p.properties.clone().unwrap_or_default();
        let correlation = props.correlation_data.clone();
        let tid = self.cfg.terminal_id.clone();
        let reply = |this: &mut Inner, id: &str, name: &str, code: Code, msg: String| {
            tracing::warn!(id, name, ?code, msg, "fleet command refused");
            let r = CommandResult::new(&tid, id, name, Err((code, msg)));
            let payload = serde_json::to_vec(&r).unwrap_or_default();
            this.send_or_queue(Out {
                topic: this.topics.cmd_res(),
                retain: false,
                payload,
                correlation: correlation.clone(),
            });
        };
        if p.payload.is_empty() {
            return; // a retained message being cleared
        }
        let req = match CommandRequest::parse(&p.payload, self.cfg.max_payload) {
            Ok(r) => r,
            Err((code, msg)) => return reply(self, "", "", code, msg),
        };
        if p.retain {
            return reply(self, &req.id, &req.name, Code::Refused, "a retained command is never run".into());
        }
        if let Err(msg) = self.check_origin(&req, &p.payload, &props, broadcast) {
            return reply(self, &req.id, &req.name, Code::Refused, msg);
        }
        if let Some(exp) = req.expires_at {
            if exp <= now_ms() {
                return reply(self, &req.id, &req.name, Code::Expired, format!("expired at {exp} (now {})", now_ms()));
            }
        }
        if let Err(prev) = self.seen.begin(&req.id, req.expires_at) {
            let how = prev.code.unwrap_or_else(|| "unfinished".into());
            return reply(
                self,
                &req.id,
                &req.name,
                Code::Duplicate,
                format!("command {} was received before ({how})", req.id),
            );
        }
        let command = match req.command(self.cfg.allow_insecure) {
            Ok(c) => c,
            Err((code, msg)) => {
                self.seen.finish(&req.id, &format!("{code:?}"));
                return reply(self, &req.id, &req.name, code, msg);
            }
        };
        tracing::info!(id = %req.id, name = %req.name, broadcast, "fleet command");
        self.state.commands_run.fetch_add(1, Ordering::SeqCst);
        let ctx = RunCtx {
            host: self.host.clone(),
            http: self.http.clone(),
            store: self.store.clone(),
            update_keys: self.cfg.update_keys.clone(),
            booth_version: self.booth_version.clone(),
        };
        let (id, name, done) = (req.id.clone(), req.name.clone(), done.clone());
        tokio::spawn(async move {
            let out = tokio::task::spawn_blocking(move || ctx.run(command, &id)).await;
            let (outcome, then_restart) = match out {
                Ok(r) => r,
                Err(e) => (Err((Code::Failed, format!("the command failed: {e}"))), false),
            };
            let result = CommandResult::new(&tid, &req.id, &name, outcome);
            let _ = done.send(Done { result, correlation, then_restart }).await;
        });
    }

    /// With `fleet.command_keys`, a command must carry a minisign signature of its exact payload
    /// (MQTT 5 user property `signature`, see [`signing::sign_command`]), name this terminal (or `*` on broadcast) in `to`,
    /// and expire within [`MAX_SIGNED_TTL_MS`]: a captured command cannot be sent to another
    /// terminal or replayed once its id is forgotten.
    fn check_origin(
        &self,
        req: &CommandRequest,
        payload: &[u8],
        props: &PublishProperties,
        broadcast: bool,
    ) -> Result<(), String> {
        if let Some(to) = &req.to {
            let ok = if broadcast { to == "*" } else { to == &self.cfg.terminal_id };
            if !ok {
                return Err(format!("addressed to `{to}`, not this terminal"));
            }
        }
        if self.cfg.command_keys.is_empty() {
            return Ok(());
        }
        let sig = props
            .user_properties
            .iter()
            .find(|(k, _)| k == "signature")
            .map(|(_, v)| v.as_str())
            .ok_or("unsigned; this terminal runs only signed commands (fleet.command_keys)")?;
        signing::verify_command(payload, sig, &self.cfg.command_keys).map_err(|e| e.to_string())?;
        if req.to.is_none() {
            return Err("a signed command must name its terminal in `to` (`*` on broadcast)".into());
        }
        match req.expires_at {
            Some(exp) if exp <= now_ms() + MAX_SIGNED_TTL_MS => Ok(()),
            Some(_) => Err(format!("a signed command must expire within {} s", MAX_SIGNED_TTL_MS / 1000)),
            None => Err("a signed command must carry expiresAt".into()),
        }
    }
}

struct RunCtx {
    host: Arc<dyn FleetHost>,
    http: Arc<Http>,
    store: Store,
    update_keys: Vec<String>,
    booth_version: String,
}

type Outcome = Result<Value, (Code, String)>;

impl RunCtx {
    /// Runs a checked command (blocking). Returns its outcome and whether Booth restarts after.
    fn run(&self, command: Command, id: &str) -> (Outcome, bool) {
        let failed = |e: String| (Code::Failed, e);
        match command {
            Command::Reload => (self.host.reload().map(|()| Value::Null).map_err(failed), false),
            Command::Restart => (Ok(json!({"restarting": true})), true),
            Command::Doctor => (Ok(self.host.doctor()), false),
            Command::Screenshot { urls } => {
                let windows: Vec<String> = urls.iter().map(|(w, _)| w.clone()).collect();
                let shots = self.host.screenshots(&windows);
                let mut out = serde_json::Map::new();
                let mut all_ok = true;
                for (window, url) in &urls {
                    let r = match shots.iter().find(|s| &s.window == window) {
                        None => Err(format!("no window `{window}`")),
                        Some(s) => match &s.png {
                            Err(e) => Err(e.clone()),
                            Ok(png) => self.http.put(url, "image/png", png).map(|_| png.len()),
                        },
                    };
                    all_ok &= r.is_ok();
                    out.insert(
                        window.clone(),
                        match r {
                            Ok(n) => json!({"ok": true, "bytes": n}),
                            Err(e) => json!({"ok": false, "error": e}),
                        },
                    );
                }
                if all_ok {
                    (Ok(Value::Object(out)), false)
                } else {
                    (Err((Code::Failed, Value::Object(out).to_string())), false)
                }
            }
            Command::Logs { url, max_bytes } => {
                let text = tail_logs(&self.host.log_files(), max_bytes);
                let n = text.len();
                (
                    self.http
                        .put(&url, "text/plain; charset=utf-8", &text)
                        .map(|_| json!({"bytes": n}))
                        .map_err(failed),
                    false,
                )
            }
            Command::InstallPackage { url, manifest, signature, allow_downgrade } => {
                match self.install(&url, &manifest, &signature, allow_downgrade, id) {
                    Ok(Installed::Switched { release, from }) => (
                        Ok(json!({"installed": {"app": release.app, "version": release.version},
                                  "from": from.map(|r| r.version), "restarting": true})),
                        true,
                    ),
                    Ok(Installed::AlreadyCurrent(r)) => {
                        (Ok(json!({"installed": {"app": r.app, "version": r.version}, "already": true})), false)
                    }
                    Err(e) => (Err((if e.is_refusal() { Code::Refused } else { Code::Failed }, e.to_string())), false),
                }
            }
        }
    }

    fn install(
        &self,
        url: &str,
        manifest: &str,
        signature: &str,
        allow_downgrade: bool,
        id: &str,
    ) -> Result<Installed, crate::store::UpdateError> {
        let m = signing::verify_manifest(manifest.as_bytes(), signature, &self.update_keys)?;
        if let Some(r) = self.store.check(&m, allow_downgrade, &self.booth_version)? {
            return Ok(Installed::AlreadyCurrent(r));
        }
        let body = self.http.get(url).map_err(crate::store::UpdateError::Download)?;
        self.store.install(&m, body, allow_downgrade, &self.booth_version, Some(id))
    }
}

/// The last `max` bytes of the log files (oldest first), cut at a line start.
fn tail_logs(files: &[std::path::PathBuf], max: usize) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    for f in files.iter().rev() {
        if out.len() >= max {
            break;
        }
        let Ok(bytes) = std::fs::read(f) else { continue };
        let room = max - out.len();
        let part = if bytes.len() > room { &bytes[bytes.len() - room..] } else { &bytes[..] };
        let mut joined = part.to_vec();
        joined.extend_from_slice(&out);
        out = joined;
    }
    if out.len() >= max {
        if let Some(nl) = out.iter().position(|&b| b == b'\n') {
            out.drain(..=nl);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recoveries_become_events() {
        let crashed = AgentEvent::from_recovery(&json!({"window": "main", "why": "crashed", "crash": true}));
        assert_eq!(
            crashed,
            [
                AgentEvent::Crash { what: "the web process of the main window crashed".into() },
                AgentEvent::Recovery { window: "main".into(), why: "crashed".into() }
            ]
        );
        assert_eq!(crashed[0].to_json()["type"], "crash");
        let hung = AgentEvent::from_recovery(&json!({"window": "main", "why": "hung", "crash": false}));
        assert_eq!(hung, [AgentEvent::Recovery { window: "main".into(), why: "hung".into() }]);
        let login = AgentEvent::AdminLogin { ok: false, outcome: "wrong".into() }.to_json();
        assert_eq!((login["type"].as_str(), login["outcome"].as_str()), (Some("admin-login"), Some("wrong")));
    }
}
