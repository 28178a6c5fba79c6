//! The operator's side of the topic contract (`booth fleet`): every terminal's retained status
//! and telemetry, commands with their results, desired settings, and staged package rollouts.
//! It uses the same topics and payloads as the agent ([`crate::topics`], [`crate::protocol`]),
//! so the two sides cannot disagree.

use crate::config::Broker;
use crate::protocol::{now_ms, CommandRequest, CommandResult};
use crate::signing::{self, UpdateManifest};
use crate::topics::{self, valid_id};
use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet, PublishProperties};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("{0}")]
    Config(String),
    #[error("broker: {0}")]
    Broker(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Package(String),
}

/// How the operator reaches the broker.
#[derive(Debug, Clone)]
pub struct OperatorOptions {
    pub broker: Broker,
    pub prefix: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// PEM authority of the broker's certificate; `None`: the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// (certificate PEM, PKCS#8 key PEM) for brokers that want a client certificate.
    pub client_identity: Option<(Vec<u8>, Vec<u8>)>,
    /// MQTT client id; default `booth-operator-<pid>`.
    pub client_id: Option<String>,
}

impl OperatorOptions {
    /// Options for `broker` (`mqtts://…`; `mqtt://` only with `allow_insecure`).
    pub fn new(broker: &str, allow_insecure: bool) -> Result<OperatorOptions, OperatorError> {
        let broker = Broker::parse(broker, allow_insecure).map_err(OperatorError::Config)?;
        Ok(OperatorOptions {
            broker,
            prefix: topics::DEFAULT_PREFIX.into(),
            username: None,
            password: None,
            ca_pem: None,
            client_identity: None,
            client_id: None,
        })
    }
}

/// A message the operator received.
#[derive(Debug, Clone)]
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
    pub correlation: Option<Bytes>,
    /// Its place in the order of arrival.
    pub seq: u64,
}

impl Message {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct Inbox {
    messages: Mutex<Vec<Message>>,
    next: AtomicU64,
    subacks: AtomicU64,
    notify: Notify,
}

/// A connection to the broker as an operator. Dropping it closes the connection.
pub struct Operator {
    client: AsyncClient,
    inbox: Arc<Inbox>,
    prefix: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Which terminals a command or a push is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    One(String),
    /// Every terminal (commands: `broadcast/cmd`; results awaited from those online).
    All,
}

impl Target {
    pub fn parse(s: &str) -> Result<Target, OperatorError> {
        if s == "all" {
            Ok(Target::All)
        } else if valid_id(s) {
            Ok(Target::One(s.to_string()))
        } else {
            Err(OperatorError::Config(format!("`{s}`: a terminal id (letters, digits, `.`, `_`, `-`) or `all`")))
        }
    }
}

/// One terminal as its retained messages describe it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TerminalView {
    pub terminal: String,
    pub status: Value,
    pub telemetry: Value,
    pub reported: Value,
}

impl TerminalView {
    pub fn online(&self) -> bool {
        self.status["state"] == "online"
    }
}

/// What a command got back.
#[derive(Debug, Clone, Serialize)]
pub struct CommandOutcome {
    pub id: String,
    pub results: Vec<CommandResult>,
    /// Terminals expected to answer that did not within the time given.
    pub missing: Vec<String>,
}

/// What a desired-settings change came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ConfigOutcome {
    /// The terminal applied it (its reported shadow).
    Applied { version: u64, reported: Value },
    /// The terminal refused it; nothing changed.
    Refused { version: u64, error: String },
    /// Published (retained); the terminal did not answer in time and applies it when it is back.
    Pending { version: u64 },
}

/// One terminal's part of a push.
#[derive(Debug, Clone, Serialize)]
pub struct PushResult {
    pub terminal: String,
    /// 1: the first terminals; 2: the rest.
    pub stage: u32,
    pub ok: bool,
    /// `installed`, `already`, `rolled-back`, `refused`, `failed`, `timeout`.
    pub result: String,
    pub message: String,
}

/// What a push did.
#[derive(Debug, Clone, Serialize)]
pub struct PushReport {
    pub app: String,
    pub version: String,
    pub results: Vec<PushResult>,
    /// Terminals not tried because an earlier one failed.
    pub skipped: Vec<String>,
    /// Terminals known but offline (not tried).
    pub offline: Vec<String>,
}

impl PushReport {
    pub fn ok(&self) -> bool {
        self.skipped.is_empty() && self.results.iter().all(|r| r.ok)
    }
}

/// How a push runs.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Where terminals download the zip (HTTPS).
    pub url: String,
    /// How many terminals take it first; the rest only when all of them installed it.
    pub first: usize,
    pub allow_downgrade: bool,
    /// For each terminal: its command's result and then its `update` event.
    pub timeout: Duration,
}

/// The signed manifest `booth package sign` wrote next to `zip`: (manifest text, signature).
pub fn read_signed(zip: &Path) -> Result<(String, String, UpdateManifest), OperatorError> {
    let side = |ext: &str| PathBuf::from(format!("{}{ext}", zip.display()));
    let (mpath, spath) = (side(".manifest.json"), side(".manifest.json.minisig"));
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| {
            OperatorError::Package(format!("{}: {e} (make it with: booth package sign {})", p.display(), zip.display()))
        })
    };
    let (manifest, signature) = (read(&mpath)?, read(&spath)?);
    let m = UpdateManifest::parse(manifest.as_bytes()).map_err(|e| OperatorError::Package(e.to_string()))?;
    let f = std::fs::File::open(zip).map_err(|e| OperatorError::Package(format!("{}: {e}", zip.display())))?;
    let (sha, size) = signing::hash_reader(f).map_err(|e| OperatorError::Package(format!("{}: {e}", zip.display())))?;
    if sha != m.sha256 || size != m.size {
        return Err(OperatorError::Package(format!(
            "{} changed since it was signed (sign it again: booth package sign)",
            zip.display()
        )));
    }
    Ok((manifest, signature, m))
}

/// A fresh command id.
pub fn command_id() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("op-{}-{}-{}", now_ms(), std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

impl Operator {
    /// Connects; fails when the broker cannot be reached or refuses the login within `timeout`.
    pub async fn connect(opts: OperatorOptions, timeout: Duration) -> Result<Operator, OperatorError> {
        let id = opts.client_id.clone().unwrap_or_else(|| format!("booth-operator-{}", std::process::id()));
        let mut o = MqttOptions::new(id, opts.broker.host.clone(), opts.broker.port);
        o.set_keep_alive(Duration::from_secs(30));
        o.set_clean_start(true);
        o.set_max_packet_size(Some(16 * 1024 * 1024));
        // Sizes rumqttc's table of unacknowledged publishes (65535 by default: ~13 MB).
        o.set_outgoing_inflight_upper_limit(1024);
        if let Some(u) = &opts.username {
            o.set_credentials(u.clone(), opts.password.clone().unwrap_or_default());
        }
        if opts.broker.tls {
            o.set_transport(
                crate::agent::tls_transport(opts.ca_pem.as_deref(), opts.client_identity.as_ref())
                    .map_err(OperatorError::Config)?,
            );
        }
        let (client, mut el) = AsyncClient::new(o, 1024);
        let inbox = Arc::new(Inbox::default());
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<(), String>>();
        let ib = inbox.clone();
        let task = tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        if let Some(r) = ready.take() {
                            let _ = r.send(Ok(()));
                        }
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        ib.subacks.fetch_add(1, Ordering::SeqCst);
                        ib.notify.notify_waiters();
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let m = Message {
                            topic: String::from_utf8_lossy(&p.topic).into_owned(),
                            payload: p.payload.to_vec(),
                            retain: p.retain,
                            correlation: p.properties.and_then(|pr| pr.correlation_data),
                            seq: ib.next.fetch_add(1, Ordering::SeqCst),
                        };
                        ib.messages.lock().unwrap_or_else(|e| e.into_inner()).push(m);
                        ib.notify.notify_waiters();
                    }
                    Ok(_) => {}
                    Err(e) => {
                        if let Some(r) = ready.take() {
                            let _ = r.send(Err(e.to_string()));
                            return;
                        }
                        tracing::warn!(error = %e, "broker connection lost; reconnecting");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        });
        let op = Operator { client, inbox, prefix: opts.prefix.clone(), task };
        match tokio::time::timeout(timeout, ready_rx).await {
            Ok(Ok(Ok(()))) => Ok(op),
            Ok(Ok(Err(e))) => Err(OperatorError::Broker(e)),
            Ok(Err(_)) => Err(OperatorError::Broker("connection task ended".into())),
            Err(_) => Err(OperatorError::Timeout(format!(
                "no answer from {}:{} within {} s",
                opts.broker.host,
                opts.broker.port,
                timeout.as_secs()
            ))),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Subscribes and waits for the broker's acknowledgement.
    pub async fn subscribe(&self, filters: &[String]) -> Result<(), OperatorError> {
        let before = self.inbox.subacks.load(Ordering::SeqCst);
        let fs: Vec<Filter> = filters.iter().map(|f| Filter::new(f.clone(), QoS::AtLeastOnce)).collect();
        self.client.subscribe_many(fs).await.map_err(|e| OperatorError::Broker(e.to_string()))?;
        self.wait_for(Duration::from_secs(15), || self.inbox.subacks.load(Ordering::SeqCst) > before)
            .await
            .then_some(())
            .ok_or_else(|| OperatorError::Timeout("the broker did not acknowledge the subscription".into()))
    }

    /// Waits until `f` holds or `timeout`; whether it held. `f` is checked after a message
    /// arrived, at most every 20 ms (thousands of terminals answer at once).
    async fn wait_for(&self, timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
        let end = Instant::now() + timeout;
        loop {
            // Registered before the check: `notify_waiters` only wakes futures already enabled.
            let notified = self.inbox.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if f() {
                return true;
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // A tick as well, and at most one check every 20 ms (thousands answer at once).
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), notified).await;
            tokio::time::sleep(end.saturating_duration_since(Instant::now()).min(Duration::from_millis(20))).await;
        }
    }

    /// The messages received so far that match `f`.
    pub fn messages(&self, f: impl Fn(&Message) -> bool) -> Vec<Message> {
        self.inbox.messages.lock().unwrap_or_else(|e| e.into_inner()).iter().filter(|m| f(m)).cloned().collect()
    }

    /// The messages received from index `from` on, and the index after them.
    fn messages_from(&self, from: usize) -> (Vec<Message>, usize) {
        let all = self.inbox.messages.lock().unwrap_or_else(|e| e.into_inner());
        (all.get(from..).map(<[Message]>::to_vec).unwrap_or_default(), all.len())
    }

    fn last_seq(&self) -> u64 {
        self.inbox.next.load(Ordering::SeqCst)
    }

    /// Waits until no message arrived for `quiet`, at most `max` (retained messages come in a
    /// burst after a subscription).
    async fn settle(&self, quiet: Duration, max: Duration) {
        let end = Instant::now() + max;
        let mut seen = self.last_seq();
        loop {
            tokio::time::sleep(quiet).await;
            let now = self.last_seq();
            if now == seen || Instant::now() >= end {
                return;
            }
            seen = now;
        }
    }

    /// Every terminal that left a retained status, with its telemetry and reported shadow.
    pub async fn status(&self, quiet: Duration) -> Result<Vec<TerminalView>, OperatorError> {
        let kinds = ["status", "telemetry", "shadow/reported"];
        let filters: Vec<String> = kinds.iter().map(|k| topics::all_terminals(&self.prefix, k)).collect();
        self.subscribe(&filters).await?;
        self.settle(quiet, Duration::from_secs(30)).await;
        let mut views: BTreeMap<String, TerminalView> = BTreeMap::new();
        for m in self.messages(|_| true) {
            let Some((tid, kind)) = topics::split(&self.prefix, &m.topic) else { continue };
            if !kinds.contains(&kind) || m.payload.is_empty() {
                continue;
            }
            let v = views
                .entry(tid.to_string())
                .or_insert_with(|| TerminalView { terminal: tid.to_string(), ..Default::default() });
            match kind {
                "status" => v.status = m.json(),
                "telemetry" => v.telemetry = m.json(),
                _ => v.reported = m.json(),
            }
        }
        Ok(views.into_values().filter(|v| !v.status.is_null()).collect())
    }

    /// Sends a command and waits (at most `timeout`) for its results: one terminal's, or those
    /// of every terminal online when it is for all. Signed with `signer` when given; it expires
    /// `ttl` after it was sent.
    pub async fn command(
        &self,
        target: &Target,
        name: &str,
        args: Map<String, Value>,
        signer: Option<&minisign::SecretKey>,
        ttl: Duration,
        timeout: Duration,
    ) -> Result<CommandOutcome, OperatorError> {
        let expected: BTreeSet<String> = match target {
            Target::One(t) => [t.clone()].into(),
            Target::All => self
                .status(Duration::from_millis(300))
                .await?
                .into_iter()
                .filter(|v| v.online())
                .map(|v| v.terminal)
                .collect(),
        };
        self.subscribe(&[topics::all_terminals(&self.prefix, "cmd/res")]).await?;
        let id = command_id();
        self.send_command(target, &id, name, args, signer, ttl).await?;
        let done = || {
            let answered: BTreeSet<String> = self.results(&id).into_iter().map(|r| r.terminal).collect();
            expected.iter().all(|t| answered.contains(t))
        };
        self.wait_for(timeout, done).await;
        let results = self.results(&id);
        let answered: BTreeSet<&str> = results.iter().map(|r| r.terminal.as_str()).collect();
        let missing = expected.iter().filter(|t| !answered.contains(t.as_str())).cloned().collect();
        Ok(CommandOutcome { id, results, missing })
    }

    /// Publishes a command (never retained; correlation data = its id; MQTT 5 message expiry).
    pub async fn send_command(
        &self,
        target: &Target,
        id: &str,
        name: &str,
        args: Map<String, Value>,
        signer: Option<&minisign::SecretKey>,
        ttl: Duration,
    ) -> Result<(), OperatorError> {
        let (topic, to) = match target {
            Target::One(t) => (topics::Topics::new(&self.prefix, t).cmd_req(), t.clone()),
            Target::All => (topics::broadcast_cmd(&self.prefix), "*".to_string()),
        };
        let req = CommandRequest {
            id: id.to_string(),
            name: name.to_string(),
            args,
            expires_at: Some(now_ms() + ttl.as_millis() as u64),
            to: Some(to),
        };
        let payload = serde_json::to_vec(&req).map_err(|e| OperatorError::Config(e.to_string()))?;
        let mut props = PublishProperties {
            correlation_data: Some(Bytes::from(id.to_string())),
            message_expiry_interval: Some(ttl.as_secs().max(1) as u32),
            ..Default::default()
        };
        if let Some(sk) = signer {
            let sig = signing::sign_command(&payload, sk).map_err(|e| OperatorError::Config(e.to_string()))?;
            props.user_properties.push(("signature".into(), sig));
        }
        self.client
            .publish_with_properties(topic, QoS::AtLeastOnce, false, payload, props)
            .await
            .map_err(|e| OperatorError::Broker(e.to_string()))
    }

    /// The results received for command `id`, one per terminal.
    pub fn results(&self, id: &str) -> Vec<CommandResult> {
        let mut out: Vec<CommandResult> = Vec::new();
        // Results carry the command's id as correlation data: only those are parsed.
        let corr = id.as_bytes();
        for m in self.messages(|m| m.correlation.as_deref() == Some(corr) && m.topic.ends_with("/cmd/res")) {
            if let Ok(r) = serde_json::from_slice::<CommandResult>(&m.payload) {
                if r.id == id && !out.iter().any(|o| o.terminal == r.terminal) {
                    out.push(r);
                }
            }
        }
        out
    }

    /// Changes a terminal's desired settings (booth.toml keys → values; `null` removes) and
    /// waits at most `timeout` for its reported shadow. The new document keeps the settings of
    /// the previous one that the terminal applied, so a terminal that was away through several
    /// changes gets all of them.
    pub async fn config(
        &self,
        tid: &str,
        settings: Map<String, Value>,
        timeout: Duration,
    ) -> Result<ConfigOutcome, OperatorError> {
        let t = topics::Topics::new(&self.prefix, tid);
        self.subscribe(&[t.desired(), t.reported()]).await?;
        self.settle(Duration::from_millis(300), Duration::from_secs(10)).await;
        let last = |topic: &str| self.messages(|m| m.topic == topic).last().map(Message::json).unwrap_or(Value::Null);
        let (desired, reported) = (last(&t.desired()), last(&t.reported()));
        let d_version = desired["version"].as_u64().unwrap_or(0);
        let r_version = reported["version"].as_u64().unwrap_or(0);
        let mut merged = Map::new();
        if r_version >= d_version {
            if let Some(prev) = desired["settings"].as_object() {
                merged.extend(prev.clone());
            }
        }
        merged.extend(settings);
        let version = d_version.max(r_version) + 1;
        let doc = json!({"version": version, "settings": merged});
        let from = self.last_seq();
        self.client
            .publish(t.desired(), QoS::AtLeastOnce, true, doc.to_string())
            .await
            .map_err(|e| OperatorError::Broker(e.to_string()))?;
        let answer = || {
            self.messages(|m| m.topic == t.reported() && m.seq >= from).into_iter().map(|m| m.json()).find(|v| {
                v["version"].as_u64().unwrap_or(0) >= version
                    || (v["last"]["ok"] == false && v["last"]["version"].is_null())
            })
        };
        self.wait_for(timeout, || answer().is_some()).await;
        Ok(match answer() {
            Some(v) if v["version"].as_u64().unwrap_or(0) >= version => ConfigOutcome::Applied { version, reported: v },
            Some(v) => {
                ConfigOutcome::Refused { version, error: v["last"]["error"].as_str().unwrap_or("refused").to_string() }
            }
            None => ConfigOutcome::Pending { version },
        })
    }

    /// A staged rollout of the signed package `zip` (see [`read_signed`]): the first
    /// `opts.first` terminals install it, then the rest; the first failure (refused, failed,
    /// rolled back, no answer) stops it. A terminal counts as done when its `update` event says
    /// `installed` (its Booth restarted with the package and the page showed).
    pub async fn push(
        &self,
        target: &Target,
        zip: &Path,
        opts: &PushOptions,
        signer: Option<&minisign::SecretKey>,
    ) -> Result<PushReport, OperatorError> {
        let (manifest, signature, m) = read_signed(zip)?;
        let (terminals, offline) = match target {
            Target::One(t) => (vec![t.clone()], Vec::new()),
            Target::All => {
                let views = self.status(Duration::from_millis(300)).await?;
                let (on, off): (Vec<TerminalView>, Vec<TerminalView>) = views.into_iter().partition(|v| v.online());
                (on.into_iter().map(|v| v.terminal).collect(), off.into_iter().map(|v| v.terminal).collect())
            }
        };
        self.subscribe(&[topics::all_terminals(&self.prefix, "cmd/res"), topics::all_terminals(&self.prefix, "event")])
            .await?;
        let mut args = Map::new();
        args.insert("url".into(), json!(opts.url));
        args.insert("manifest".into(), json!(manifest));
        args.insert("signature".into(), json!(signature));
        if opts.allow_downgrade {
            args.insert("allowDowngrade".into(), json!(true));
        }
        let first = opts.first.max(1).min(terminals.len());
        let stages = [(1u32, &terminals[..first]), (2u32, &terminals[first..])];
        let mut report = PushReport {
            app: m.app.clone(),
            version: m.version.clone(),
            results: Vec::new(),
            skipped: Vec::new(),
            offline,
        };
        for (stage, group) in stages {
            if group.is_empty() {
                continue;
            }
            if !report.ok() {
                report.skipped.extend(group.iter().cloned());
                continue;
            }
            let ttl = opts.timeout.max(Duration::from_secs(60));
            let mut ids = Vec::new();
            for tid in group {
                let id = command_id();
                self.send_command(&Target::One(tid.clone()), &id, "install-package", args.clone(), signer, ttl).await?;
                ids.push((tid.clone(), id));
            }
            // Each message is read once (a stage may be thousands of terminals).
            let mut follow = PushFollow::new(&self.prefix, &ids);
            self.wait_for(opts.timeout, || {
                let fresh = self.messages_from(follow.cursor);
                follow.read(&fresh);
                follow.finished()
            })
            .await;
            for (tid, _) in &ids {
                let (ok, result, message) = follow.done.remove(tid.as_str()).unwrap_or((
                    false,
                    "timeout".into(),
                    format!("no result within {} s", opts.timeout.as_secs()),
                ));
                report.results.push(PushResult { terminal: tid.clone(), stage, ok, result, message });
            }
        }
        Ok(report)
    }
}

/// Where each terminal of a push stage is, read from the messages as they arrive: a terminal is
/// finished with its command's failure, with `already`, or with its `update` event.
struct PushFollow<'a> {
    prefix: &'a str,
    /// Terminal → the id of its install command.
    ids: HashMap<&'a str, &'a str>,
    /// Terminals whose command succeeded, waiting for their `update` event.
    accepted: HashSet<String>,
    /// Events that came before their command's result (kept until it comes).
    early: HashMap<String, (bool, String, String)>,
    done: HashMap<String, (bool, String, String)>,
    cursor: usize,
}

impl<'a> PushFollow<'a> {
    fn new(prefix: &'a str, ids: &'a [(String, String)]) -> PushFollow<'a> {
        PushFollow {
            prefix,
            ids: ids.iter().map(|(t, i)| (t.as_str(), i.as_str())).collect(),
            accepted: HashSet::new(),
            early: HashMap::new(),
            done: HashMap::new(),
            cursor: 0,
        }
    }

    fn finished(&self) -> bool {
        self.done.len() >= self.ids.len()
    }

    fn read(&mut self, fresh: &(Vec<Message>, usize)) {
        let (messages, next) = fresh;
        self.cursor = *next;
        for m in messages {
            let Some((tid, kind)) = topics::split(self.prefix, &m.topic) else { continue };
            let Some(id) = self.ids.get(tid).copied() else { continue };
            if self.done.contains_key(tid) {
                continue;
            }
            match kind {
                "cmd/res" => {
                    let Ok(res) = serde_json::from_slice::<CommandResult>(&m.payload) else { continue };
                    if res.id != id {
                        continue;
                    }
                    if !res.ok {
                        let kind = if res.code == crate::protocol::Code::Refused { "refused" } else { "failed" };
                        self.done.insert(tid.to_string(), (false, kind.into(), res.message));
                    } else if res.data["already"] == true {
                        self.done
                            .insert(tid.to_string(), (true, "already".into(), "already running this version".into()));
                    } else if let Some(e) = self.early.remove(tid) {
                        self.done.insert(tid.to_string(), e);
                    } else {
                        self.accepted.insert(tid.to_string());
                    }
                }
                "event" => {
                    let e = m.json();
                    if e["type"] != "update" || e["command"] != id {
                        continue;
                    }
                    let result = e["result"].as_str().unwrap_or("").to_string();
                    let reason = e["reason"].as_str().unwrap_or("").to_string();
                    let r = (result == "installed", result, reason);
                    if self.accepted.remove(tid) {
                        self.done.insert(tid.to_string(), r);
                    } else {
                        self.early.insert(tid.to_string(), r);
                    }
                }
                _ => {}
            }
        }
    }
}

/// `status` as a table: one line per terminal.
pub fn status_table(views: &[TerminalView]) -> String {
    let mut rows = vec![[
        "TERMINAL".to_string(),
        "STATE".into(),
        "BOOTH".into(),
        "PACKAGE".into(),
        "UPTIME".into(),
        "DEVICES".into(),
        "SHADOW".into(),
    ]];
    for v in views {
        let devices = v.telemetry["devices"].as_object().map(|d| {
            let up = d.values().filter(|x| x["available"] == true).count();
            format!("{up}/{}", d.len())
        });
        let pkg = &v.status["package"];
        let uptime = v.telemetry["uptimeS"].as_u64().map(|s| format!("{}h{:02}m", s / 3600, (s % 3600) / 60));
        rows.push([
            v.terminal.clone(),
            v.status["state"].as_str().unwrap_or("?").to_string(),
            v.status["version"].as_str().unwrap_or("-").to_string(),
            match (pkg["id"].as_str(), pkg["version"].as_str()) {
                (Some(id), Some(ver)) => format!("{id} {ver}"),
                _ => "-".into(),
            },
            uptime.unwrap_or_else(|| "-".into()),
            devices.unwrap_or_else(|| "-".into()),
            v.reported["version"].as_u64().map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
        ]);
    }
    let widths: Vec<usize> = (0..7).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `key=value` command-line arguments as a JSON object: a value that parses as JSON is taken as
/// such (`maxBytes=2048`, `allowDowngrade=true`), anything else as a string.
pub fn parse_pairs(pairs: &[String]) -> Result<Map<String, Value>, OperatorError> {
    let mut out = Map::new();
    for p in pairs {
        let (k, v) = p.split_once('=').ok_or_else(|| OperatorError::Config(format!("`{p}`: expected key=value")))?;
        if k.is_empty() {
            return Err(OperatorError::Config(format!("`{p}`: empty key")));
        }
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        out.insert(k.to_string(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_targets() {
        let m = parse_pairs(&["url=https://x/y?a=b".into(), "maxBytes=2048".into(), "k=null".into()]).unwrap();
        assert_eq!(Value::Object(m), json!({"url": "https://x/y?a=b", "maxBytes": 2048, "k": null}));
        assert!(parse_pairs(&["novalue".into()]).is_err());
        assert!(parse_pairs(&["=1".into()]).is_err());
        assert_eq!(Target::parse("all").unwrap(), Target::All);
        assert_eq!(Target::parse("T-1").unwrap(), Target::One("T-1".into()));
        assert!(Target::parse("a/+").is_err());
        assert!(valid_id(&command_id()));
    }

    #[test]
    fn table() {
        let v = TerminalView {
            terminal: "T1".into(),
            status: json!({"state": "online", "version": "0.1.0", "package": {"id": "shop", "version": "1.2.0"}}),
            telemetry: json!({"uptimeS": 3725, "devices": {"a": {"available": true}, "b": {"available": false}}}),
            reported: json!({"version": 4}),
        };
        let t = status_table(&[v]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("TERMINAL  STATE"), "{t}");
        assert!(lines[1].contains("shop 1.2.0") && lines[1].contains("1h02m") && lines[1].contains("1/2"), "{t}");
    }
}
