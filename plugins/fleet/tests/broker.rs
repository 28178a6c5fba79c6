//! The agent against a real mosquitto (a private one per test, see booth-testkit): status and
//! last will, telemetry, the settings shadow (also changed while the terminal is away), each
//! command, expiry, duplicate ids, retained and signed commands, install-package, and a broker
//! restart in the middle of a run.

use booth_fleet::agent::{AgentOptions, AgentState};
use booth_fleet::host::{Screenshot, Settings};
use booth_fleet::store::Store;
use booth_fleet::{Agent, AgentEvent, FleetHost, FleetSection};
use booth_testkit::mosquitto::Mosquitto;
use booth_testkit::web::WebServer;
use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------- a Booth without windows

#[derive(Default)]
struct TestHost {
    settings: Mutex<Settings>,
    applied: AtomicU32,
    reloads: AtomicU32,
    restarts: AtomicU32,
    logs: Mutex<Vec<PathBuf>>,
}

impl FleetHost for TestHost {
    fn package(&self) -> Value {
        json!({"id": "t.pkg", "version": "1.0.0", "location": "test"})
    }
    fn devices(&self) -> Value {
        json!({"scanner": {"backend": "serial", "available": true}})
    }
    fn recoveries(&self) -> Vec<Value> {
        vec![json!({"window": "main", "why": "hung", "at": 1})]
    }
    fn reload(&self) -> Result<(), String> {
        self.reloads.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn restart(&self) {
        self.restarts.fetch_add(1, Ordering::SeqCst);
    }
    fn screenshots(&self, windows: &[String]) -> Vec<Screenshot> {
        windows
            .iter()
            .map(|w| Screenshot {
                window: w.clone(),
                png: if w == "main" { Ok(b"\x89PNG\r\n\x1a\nmain".to_vec()) } else { Err("no such window".into()) },
            })
            .collect()
    }
    fn log_files(&self) -> Vec<PathBuf> {
        self.logs.lock().unwrap().clone()
    }
    fn doctor(&self) -> Value {
        json!({"ok": true, "checks": [{"name": "webkit", "ok": true}]})
    }
    fn editable(&self) -> Vec<(String, String)> {
        vec![("kiosk.idle_s".into(), "u64".into()), ("scanner.backend".into(), "str".into())]
    }
    fn settings(&self) -> Result<Settings, String> {
        Ok(self.settings.lock().unwrap().clone())
    }
    fn apply_settings(&self, edits: &[(String, Value)], version: u64) -> Result<bool, String> {
        let mut s = self.settings.lock().unwrap();
        for (k, v) in edits {
            if v.is_null() {
                s.values.remove(k);
            } else {
                s.values.insert(k.clone(), v.clone());
            }
        }
        s.version = version;
        self.applied.fetch_add(1, Ordering::SeqCst);
        Ok(false)
    }
}

// ---------------------------------------------------------------- the operator's side

#[derive(Debug, Clone)]
struct Msg {
    topic: String,
    payload: Vec<u8>,
    retain: bool,
    correlation: Option<Bytes>,
}

impl Msg {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).unwrap_or(Value::Null)
    }
}

struct Operator {
    client: AsyncClient,
    seen: Arc<Mutex<Vec<Msg>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Operator {
    async fn connect(port: u16, name: &str) -> Operator {
        let mut o = MqttOptions::new(name, "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(5));
        o.set_clean_start(false);
        o.set_session_expiry_interval(Some(3600));
        // It sees the oversized commands the tests send too.
        o.set_max_packet_size(Some(4 * 1024 * 1024));
        let (client, mut el) = AsyncClient::new(o, 100);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, c) = (seen.clone(), client.clone());
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let mut ready = Some(ready_tx);
        let task = tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = c.try_subscribe("booth/v1/#", QoS::AtLeastOnce);
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        if let Some(r) = ready.take() {
                            let _ = r.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => s.lock().unwrap().push(Msg {
                        topic: String::from_utf8_lossy(&p.topic).into_owned(),
                        payload: p.payload.to_vec(),
                        retain: p.retain,
                        correlation: p.properties.and_then(|pr| pr.correlation_data),
                    }),
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        });
        tokio::time::timeout(DEADLINE, ready_rx).await.expect("operator subscribed").ok();
        Operator { client, seen, task }
    }

    /// Waits for a message on `topic` matching `pred`, seen after index `from`.
    async fn wait(&self, topic: &str, pred: impl Fn(&Value) -> bool) -> Msg {
        let until = Instant::now() + DEADLINE;
        loop {
            if let Some(m) = self.seen.lock().unwrap().iter().find(|m| m.topic == topic && pred(&m.json())) {
                return m.clone();
            }
            assert!(Instant::now() < until, "nothing on {topic} matched; saw {:#?}", self.topics());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn topics(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|m| format!("{} {}", m.topic, String::from_utf8_lossy(&m.payload)))
            .collect()
    }

    fn count(&self, topic: &str, pred: impl Fn(&Value) -> bool) -> usize {
        self.seen.lock().unwrap().iter().filter(|m| m.topic == topic && pred(&m.json())).count()
    }

    async fn publish(&self, topic: &str, retain: bool, payload: Value, props: PublishProperties) {
        self.client
            .publish_with_properties(topic, QoS::AtLeastOnce, retain, payload.to_string(), props)
            .await
            .expect("publish");
    }

    /// Sends a command to `tid` and waits for its result.
    async fn cmd(&self, tid: &str, req: Value) -> Value {
        let id = req["id"].as_str().unwrap_or_default().to_string();
        let corr = Bytes::from(format!("corr-{id}"));
        let props = PublishProperties { correlation_data: Some(corr.clone()), ..Default::default() };
        self.publish(&format!("booth/v1/t/{tid}/cmd/req"), false, req, props).await;
        // Matched by correlation data: a command too large to be read has no id in its result.
        let topic = format!("booth/v1/t/{tid}/cmd/res");
        let until = Instant::now() + DEADLINE;
        let res = loop {
            if let Some(m) =
                self.seen.lock().unwrap().iter().find(|m| m.topic == topic && m.correlation == Some(corr.clone()))
            {
                break m.clone();
            }
            assert!(Instant::now() < until, "no result for {id}; saw {:#?}", self.topics());
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(!res.retain);
        let v = res.json();
        assert!(v["id"] == id.as_str() || v["code"] == "PAYLOAD_TOO_LARGE", "{v}");
        self.seen.lock().unwrap().retain(|m| !(m.topic == topic && m.correlation == Some(corr.clone())));
        v
    }
}

// ---------------------------------------------------------------- a terminal

struct Terminal {
    agent: Option<Agent>,
    host: Arc<TestHost>,
    state: Arc<AgentState>,
    section: FleetSection,
    dir: PathBuf,
}

fn section(broker: &Mosquitto, tid: &str) -> FleetSection {
    FleetSection {
        broker: broker.url(),
        terminal_id: tid.into(),
        allow_insecure: true,
        telemetry_s: 1,
        keepalive_s: 5,
        ..Default::default()
    }
}

impl Terminal {
    fn start(section: FleetSection, dir: PathBuf, host: Arc<TestHost>) -> Terminal {
        let config = section.resolve("SN", &dir).expect("config");
        let store = Store::new(config.packages_dir.clone());
        let opts = AgentOptions { config, booth_version: "0.1.0".into(), store };
        let agent =
            Agent::start(&tokio::runtime::Handle::current(), opts, host.clone() as Arc<dyn FleetHost>).expect("agent");
        let state = agent.state();
        Terminal { agent: Some(agent), host, state, section, dir }
    }

    /// Gone without a word (power cut, network pulled): the broker sends the last will.
    fn vanish(&mut self) {
        self.agent = None;
    }

    fn again(&mut self) {
        let t = Terminal::start(self.section.clone(), self.dir.clone(), self.host.clone());
        self.state = t.state;
        self.agent = t.agent;
    }
}

async fn until(what: &str, f: impl Fn() -> bool) {
    let end = Instant::now() + DEADLINE;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn id() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("c{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

// ---------------------------------------------------------------- the tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_last_will_telemetry_and_events() {
    let broker = Mosquitto::start();
    let op = Operator::connect(broker.port, "op-status").await;
    let dir = tempfile::tempdir().unwrap();
    let mut t = Terminal::start(section(&broker, "T1"), dir.path().into(), Arc::default());
    let s = op.wait("booth/v1/t/T1/status", |v| v["state"] == "online").await;
    assert!(s.retain || s.json()["version"] == "0.1.0");
    assert_eq!(s.json()["package"]["id"], "t.pkg");
    // Two telemetry messages a second apart, each complete.
    let tel = op.wait("booth/v1/t/T1/telemetry", |v| v["uptimeS"].as_u64() >= Some(1)).await;
    let v = tel.json();
    for key in ["version", "package", "uptimeS", "devices", "recoveries", "memory", "disk"] {
        assert!(!v[key].is_null(), "telemetry has {key}: {v}");
    }
    assert_eq!(v["devices"]["scanner"]["available"], true);
    assert_eq!(v["recoveries"]["count"], 1);
    assert!(v["memory"]["rssBytes"].as_u64().unwrap_or(0) > 0, "{v}");
    assert!(v["disk"]["freeBytes"].as_u64().unwrap_or(0) > 0, "{v}");
    // Events.
    t.agent.as_ref().unwrap().event(AgentEvent::DeviceAway { device: "scanner".into(), why: "unplugged".into() });
    t.agent.as_ref().unwrap().event(AgentEvent::AdminLogin { ok: false, outcome: "wrong".into() });
    op.wait("booth/v1/t/T1/event", |v| v["type"] == "device-away" && v["device"] == "scanner").await;
    op.wait("booth/v1/t/T1/event", |v| v["type"] == "admin-login" && v["ok"] == false).await;
    // Gone without a word: the broker publishes the last will, retained.
    t.vanish();
    op.wait("booth/v1/t/T1/status", |v| v["state"] == "offline" && v["reason"] == "connection lost").await;
    // A late operator sees the retained status.
    let late = Operator::connect(broker.port, "op-late").await;
    let m = late.wait("booth/v1/t/T1/status", |v| v["state"] == "offline").await;
    assert!(m.retain);
    // Back, then a clean stop says so.
    t.again();
    op.wait("booth/v1/t/T1/status", |v| v["state"] == "online" && v["at"].as_u64() > s.json()["at"].as_u64()).await;
    t.agent.take().unwrap().stop().await;
    op.wait("booth/v1/t/T1/status", |v| v["state"] == "offline" && v["reason"] == "stopped").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_run_once_and_are_checked() {
    let broker = Mosquitto::start();
    let web = WebServer::start();
    let op = Operator::connect(broker.port, "op-cmd").await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("booth.log");
    std::fs::write(&log, "line one\nline two\n").unwrap();
    let host = Arc::new(TestHost::default());
    host.logs.lock().unwrap().push(log);
    let t = Terminal::start(section(&broker, "T2"), dir.path().into(), host.clone());
    op.wait("booth/v1/t/T2/status", |v| v["state"] == "online").await;

    let r = op.cmd("T2", json!({"id": id(), "name": "reload"})).await;
    assert_eq!((r["ok"].clone(), r["code"].clone()), (json!(true), json!("OK")), "{r}");
    assert_eq!(host.reloads.load(Ordering::SeqCst), 1);

    let r = op.cmd("T2", json!({"id": id(), "name": "doctor"})).await;
    assert_eq!(r["data"]["checks"][0]["name"], "webkit", "{r}");

    let r = op
        .cmd("T2", json!({"id": id(), "name": "screenshot", "args": {"url": web.url("/shot/main.png?X-Sig=s")}}))
        .await;
    assert_eq!(r["ok"], true, "{r}");
    assert!(web.uploaded("/shot/main.png").expect("uploaded").starts_with(b"\x89PNG"));
    let r = op
        .cmd("T2", json!({"id": id(), "name": "screenshot", "args": {"urls": {"secondary": web.url("/shot/s.png")}}}))
        .await;
    assert_eq!((r["ok"].clone(), r["code"].clone()), (json!(false), json!("FAILED")), "{r}");

    let r = op.cmd("T2", json!({"id": id(), "name": "logs", "args": {"url": web.url("/logs/t2.txt")}})).await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(web.uploaded("/logs/t2.txt").expect("uploaded"), b"line one\nline two\n");

    // Restart: the result goes out, then Booth restarts.
    let r = op.cmd("T2", json!({"id": id(), "name": "restart"})).await;
    assert_eq!(r["ok"], true);
    until("the restart", || host.restarts.load(Ordering::SeqCst) == 1).await;

    // Refusals: unknown name, bad args, expired, https only, oversized, retained.
    let r = op.cmd("T2", json!({"id": id(), "name": "format-disk"})).await;
    assert_eq!(r["code"], "UNSUPPORTED");
    let r = op.cmd("T2", json!({"id": id(), "name": "reload", "args": {"shell": "rm -rf /"}})).await;
    assert_eq!(r["code"], "INVALID_PARAMS");
    let r = op.cmd("T2", json!({"id": id(), "name": "reload", "expiresAt": 1000})).await;
    assert_eq!(r["code"], "EXPIRED");
    let r = op.cmd("T2", json!({"id": id(), "name": "logs", "args": {"url": "file:///etc/shadow"}})).await;
    assert_eq!(r["code"], "INVALID_PARAMS");
    // Over fleet.max_payload_bytes (64 KiB): refused by the agent.
    let r = op.cmd("T2", json!({"id": id(), "name": "reload", "args": {"x": "y".repeat(66_000)}})).await;
    assert_eq!(r["code"], "PAYLOAD_TOO_LARGE", "{r}");
    // Far over it: the broker does not even deliver it (MQTT 5 Maximum Packet Size), and the
    // connection is not disturbed.
    let huge = json!({"id": id(), "name": "reload", "args": {"x": "y".repeat(300_000)}});
    op.publish("booth/v1/t/T2/cmd/req", false, huge, PublishProperties::default()).await;
    let rid = id();
    op.publish("booth/v1/t/T2/cmd/req", true, json!({"id": rid, "name": "reload"}), PublishProperties::default()).await;
    let r = op.wait("booth/v1/t/T2/cmd/res", |v| v["id"] == rid.as_str()).await.json();
    assert_eq!(r["code"], "REFUSED", "{r}");
    op.client.publish("booth/v1/t/T2/cmd/req", QoS::AtLeastOnce, true, Vec::new()).await.unwrap();

    // The same id again is not run again, even after the agent restarted.
    let dup = id();
    let r = op.cmd("T2", json!({"id": dup, "name": "reload"})).await;
    assert_eq!(r["ok"], true);
    let r = op.cmd("T2", json!({"id": dup, "name": "reload"})).await;
    assert_eq!(r["code"], "DUPLICATE", "{r}");
    drop(t);
    let _t = Terminal::start(section(&broker, "T2"), dir.path().into(), host.clone());
    let r = op.cmd("T2", json!({"id": dup, "name": "reload"})).await;
    assert_eq!(r["code"], "DUPLICATE", "{r}");
    assert_eq!(host.reloads.load(Ordering::SeqCst), 2, "reload ran twice in all");

    // Broadcast reaches the terminal; results come on its own cmd/res.
    let b = id();
    op.publish("booth/v1/broadcast/cmd", false, json!({"id": b, "name": "reload"}), PublishProperties::default()).await;
    let r = op.wait("booth/v1/t/T2/cmd/res", |v| v["id"] == b.as_str()).await.json();
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(host.reloads.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_commands_only_when_keys_are_pinned() {
    let broker = Mosquitto::start();
    let op = Operator::connect(broker.port, "op-sig").await;
    let (pk, sk) = booth_fleet::signing::keygen(None).unwrap();
    let (_, other_sk) = booth_fleet::signing::keygen(None).unwrap();
    let load = |text: &str| minisign::SecretKeyBox::from_string(text).unwrap().into_unencrypted_secret_key().unwrap();
    let (sk, other_sk) = (load(&sk), load(&other_sk));
    let dir = tempfile::tempdir().unwrap();
    let host = Arc::new(TestHost::default());
    let mut s = section(&broker, "T3");
    s.command_keys = vec![pk];
    let _t = Terminal::start(s, dir.path().into(), host.clone());
    op.wait("booth/v1/t/T3/status", |v| v["state"] == "online").await;

    let send = |req: Value, key: Option<&minisign::SecretKey>| {
        let payload = req.to_string();
        let mut props = PublishProperties { correlation_data: Some(Bytes::from_static(b"c")), ..Default::default() };
        if let Some(k) = key {
            let sig = booth_fleet::signing::sign_command(payload.as_bytes(), k).unwrap();
            props.user_properties.push(("signature".into(), sig));
        }
        (payload, props)
    };
    let soon = booth_fleet::protocol::now_ms() + 60_000;
    let run = |payload: String, props: PublishProperties, id: String| {
        let op = &op;
        async move {
            op.client
                .publish_with_properties("booth/v1/t/T3/cmd/req", QoS::AtLeastOnce, false, payload, props)
                .await
                .unwrap();
            op.wait("booth/v1/t/T3/cmd/res", |v| v["id"] == id.as_str()).await.json()
        }
    };

    let i = id();
    let (p, pr) = send(json!({"id": i, "name": "reload", "to": "T3", "expiresAt": soon}), None);
    assert_eq!(run(p, pr, i).await["code"], "REFUSED", "unsigned");
    let i = id();
    let (p, pr) = send(json!({"id": i, "name": "reload", "to": "T3", "expiresAt": soon}), Some(&other_sk));
    assert_eq!(run(p, pr, i).await["code"], "REFUSED", "signed by a key not pinned");
    let i = id();
    let (p, pr) = send(json!({"id": i, "name": "reload", "to": "T9", "expiresAt": soon}), Some(&sk));
    assert_eq!(run(p, pr, i).await["code"], "REFUSED", "for another terminal");
    let i = id();
    let (p, pr) = send(json!({"id": i, "name": "reload", "to": "T3", "expiresAt": soon + 7_200_000}), Some(&sk));
    assert_eq!(run(p, pr, i).await["code"], "REFUSED", "valid too long");
    // Tampered after signing.
    let i = id();
    let (p, pr) = send(json!({"id": i, "name": "reload", "to": "T3", "expiresAt": soon}), Some(&sk));
    let (p2, _) = send(json!({"id": i, "name": "restart", "to": "T3", "expiresAt": soon}), None);
    let _ = p;
    assert_eq!(run(p2, pr, i).await["code"], "REFUSED", "tampered");
    assert_eq!(host.reloads.load(Ordering::SeqCst) + host.restarts.load(Ordering::SeqCst), 0);

    let i = id();
    let (p, pr) = send(json!({"id": i, "name": "reload", "to": "T3", "expiresAt": soon}), Some(&sk));
    let r = run(p.clone(), pr.clone(), i.clone()).await;
    assert_eq!(r["ok"], true, "{r}");
    // The captured message replayed: not run again.
    op.seen.lock().unwrap().clear();
    let r = run(p, pr, i).await;
    assert_eq!(r["code"], "DUPLICATE", "{r}");
    assert_eq!(host.reloads.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_round_trip_and_changes_made_while_away() {
    let broker = Mosquitto::start();
    let op = Operator::connect(broker.port, "op-shadow").await;
    let dir = tempfile::tempdir().unwrap();
    let host = Arc::new(TestHost::default());
    let mut t = Terminal::start(section(&broker, "T4"), dir.path().into(), host.clone());
    op.wait("booth/v1/t/T4/shadow/reported", |v| v["version"] == 0).await;

    let desired = "booth/v1/t/T4/shadow/desired";
    op.publish(desired, true, json!({"version": 1, "settings": {"kiosk.idle_s": 90}}), PublishProperties::default())
        .await;
    let r = op.wait("booth/v1/t/T4/shadow/reported", |v| v["version"] == 1).await;
    assert_eq!(r.json()["settings"]["kiosk.idle_s"], 90);
    assert_eq!(r.json()["last"]["applied"], true);
    assert!(r.retain || op.count("booth/v1/t/T4/shadow/reported", |_| true) > 0);

    // Refused: a key not editable, [admin]; nothing changes.
    op.publish(desired, true, json!({"version": 2, "settings": {"admin.pin_hash": "x"}}), PublishProperties::default())
        .await;
    let r = op.wait("booth/v1/t/T4/shadow/reported", |v| v["last"]["ok"] == false).await;
    assert_eq!(r.json()["version"], 1, "{:?}", r.json());
    assert!(r.json()["last"]["error"].as_str().unwrap_or("").contains("admin.pin_hash"));

    // Away: the operator changes the settings; the terminal applies them when it is back, once.
    t.vanish();
    op.wait("booth/v1/t/T4/status", |v| v["state"] == "offline").await;
    op.publish(
        desired,
        true,
        json!({"version": 3, "settings": {"kiosk.idle_s": 45, "scanner.backend": "none"}}),
        PublishProperties::default(),
    )
    .await;
    let before = host.applied.load(Ordering::SeqCst);
    t.again();
    let r = op.wait("booth/v1/t/T4/shadow/reported", |v| v["version"] == 3).await;
    assert_eq!(r.json()["settings"], json!({"kiosk.idle_s": 45, "scanner.backend": "none"}));
    assert_eq!(host.applied.load(Ordering::SeqCst), before + 1);
    // Delivered again (a reconnect): idempotent.
    t.vanish();
    t.again();
    until("a second connection", || t.state.connected()).await;
    op.wait("booth/v1/t/T4/shadow/reported", |v| v["last"]["applied"] == false && v["version"] == 3).await;
    assert_eq!(host.applied.load(Ordering::SeqCst), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_mid_run() {
    let mut broker = Mosquitto::start();
    let op = Operator::connect(broker.port, "op-restart").await;
    let dir = tempfile::tempdir().unwrap();
    let host = Arc::new(TestHost::default());
    let t = Terminal::start(section(&broker, "T5"), dir.path().into(), host.clone());
    op.wait("booth/v1/t/T5/status", |v| v["state"] == "online").await;
    assert_eq!(op.cmd("T5", json!({"id": id(), "name": "reload"})).await["ok"], true);

    broker.stop();
    until("the agent to notice", || !t.state.connected()).await;
    // Offline: the terminal keeps working; what it has to say waits.
    let agent = t.agent.as_ref().unwrap();
    agent.event(AgentEvent::DeviceAway { device: "printer".into(), why: "paper out".into() });
    agent.event(AgentEvent::DeviceBack { device: "printer".into() });
    tokio::time::sleep(Duration::from_millis(300)).await;
    broker.restart();
    until("the reconnect", || t.state.connected() && t.state.connections() >= 2).await;
    op.wait("booth/v1/t/T5/event", |v| v["type"] == "device-away" && v["device"] == "printer").await;
    op.wait("booth/v1/t/T5/event", |v| v["type"] == "device-back").await;
    let e = op.wait("booth/v1/t/T5/event", |v| v["type"] == "reconnected").await.json();
    assert_eq!(e["queued"], 2, "{e}");
    op.wait("booth/v1/t/T5/status", |v| v["state"] == "online").await;
    // Subscribed again: commands work.
    assert_eq!(op.cmd("T5", json!({"id": id(), "name": "reload"})).await["ok"], true);
    assert_eq!(host.reloads.load(Ordering::SeqCst), 2);
}

// ---------------------------------------------------------------- install-package

fn package_zip(app: &str, version: &str) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let o = zip::write::SimpleFileOptions::default();
        w.start_file("miniapp.json", o).unwrap();
        w.write_all(json!({"id": app, "name": "T", "version": version, "entry": "index.html"}).to_string().as_bytes())
            .unwrap();
        w.start_file("index.html", o).unwrap();
        w.write_all(b"<p>hello").unwrap();
        w.finish().unwrap();
    }
    buf.into_inner()
}

fn signed(zip: &[u8], sk: &minisign::SecretKey, dir: &std::path::Path, name: &str) -> (String, String) {
    let path = dir.join(name);
    std::fs::write(&path, zip).unwrap();
    booth_fleet::signing::sign_package(&path, sk, "0.1.0").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_package_checks_signature_hash_and_version() {
    let broker = Mosquitto::start();
    let web = WebServer::start();
    let op = Operator::connect(broker.port, "op-pkg").await;
    let (pk, sk) = booth_fleet::signing::keygen(None).unwrap();
    let (_, other) = booth_fleet::signing::keygen(None).unwrap();
    let load = |text: &str| minisign::SecretKeyBox::from_string(text).unwrap().into_unencrypted_secret_key().unwrap();
    let (sk, other) = (load(&sk), load(&other));
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let host = Arc::new(TestHost::default());
    let mut s = section(&broker, "T6");
    s.update_keys = vec![pk];
    let t = Terminal::start(s.clone(), dir.path().into(), host.clone());
    op.wait("booth/v1/t/T6/status", |v| v["state"] == "online").await;
    let install = |url: String, m: &str, sig: &str, extra: Map<String, Value>| {
        let mut args = json!({"url": url, "manifest": m, "signature": sig});
        args.as_object_mut().unwrap().extend(extra);
        json!({"id": id(), "name": "install-package", "args": args})
    };

    let v2 = package_zip("t.pkg", "2.0.0");
    let (m2, s2) = signed(&v2, &sk, work.path(), "v2.zip");
    web.put_file("/v2.zip", v2.clone());

    // Signed by a key not pinned.
    let (m_other, s_other) = signed(&v2, &other, work.path(), "o.zip");
    let r = op.cmd("T6", install(web.url("/v2.zip"), &m_other, &s_other, Map::new())).await;
    assert_eq!(r["code"], "REFUSED", "{r}");
    // The server hands out other bytes than were signed.
    web.put_file("/evil.zip", package_zip("t.pkg", "2.0.1"));
    let r = op.cmd("T6", install(web.url("/evil.zip"), &m2, &s2, Map::new())).await;
    assert_eq!(r["code"], "FAILED", "{r}");
    assert!(r["message"].as_str().unwrap_or("").contains("wrong package"), "{r}");
    assert_eq!(host.restarts.load(Ordering::SeqCst), 0);

    // The good one: installed, on trial, Booth restarts.
    let r = op.cmd("T6", install(web.url("/v2.zip"), &m2, &s2, Map::new())).await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["data"]["installed"]["version"], "2.0.0");
    until("the restart", || host.restarts.load(Ordering::SeqCst) == 1).await;
    let store = Store::new(dir.path().join("booth/packages"));
    let at = store.at_start();
    assert!(at.package.unwrap().join("index.html").is_file());
    assert!(at.trial.is_some());
    store.confirm().unwrap();
    // The outcome is reported as an event when the agent (re)connects.
    drop(t);
    let t = Terminal::start(s, dir.path().into(), host.clone());
    op.wait("booth/v1/t/T6/event", |v| v["type"] == "update" && v["result"] == "installed" && v["version"] == "2.0.0")
        .await;

    // An older version: refused unless the command says so.
    let v1 = package_zip("t.pkg", "1.5.0");
    let (m1, s1) = signed(&v1, &sk, work.path(), "v1.zip");
    web.put_file("/v1.zip", v1);
    let r = op.cmd("T6", install(web.url("/v1.zip"), &m1, &s1, Map::new())).await;
    assert_eq!(r["code"], "REFUSED", "{r}");
    assert!(r["message"].as_str().unwrap_or("").contains("downgrade"), "{r}");
    let mut force = Map::new();
    force.insert("allowDowngrade".into(), json!(true));
    let r = op.cmd("T6", install(web.url("/v1.zip"), &m1, &s1, force)).await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(store.current().unwrap().version, "1.5.0");

    // Booth starts it on trial; its page never shows: rolled back to 2.0.0, and the running
    // agent reports it at once (not only at its next connection).
    let from = booth_fleet::store::start_from(&store, false).unwrap();
    assert_eq!((from.release.version.as_str(), from.trial.is_some()), ("1.5.0", true));
    let judged = store.clone();
    let restart = tokio::task::spawn_blocking(move || {
        booth_fleet::store::judge_trial(&judged, Duration::from_millis(300), || booth_fleet::store::PageState::Loading)
    })
    .await
    .unwrap();
    assert!(restart);
    t.agent.as_ref().unwrap().report_updates();
    let e = op.wait("booth/v1/t/T6/event", |v| v["type"] == "update" && v["result"] == "rolled-back").await;
    assert_eq!(
        (e.json()["version"].as_str(), e.json()["from"].as_str()),
        (Some("1.5.0"), Some("2.0.0")),
        "{}",
        e.json()
    );
    // The agent forgets an outcome after handing its event to the connection, so the event can
    // reach the broker first.
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while !store.outcomes().is_empty() && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(store.outcomes().is_empty(), "reported outcomes are removed");
    let from = booth_fleet::store::start_from(&store, false).unwrap();
    assert_eq!((from.release.version.as_str(), from.trial), ("2.0.0", None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_sent_while_away_arrive_unless_expired() {
    let broker = Mosquitto::start();
    let op = Operator::connect(broker.port, "op-away").await;
    let dir = tempfile::tempdir().unwrap();
    let host = Arc::new(TestHost::default());
    let mut t = Terminal::start(section(&broker, "T7"), dir.path().into(), host.clone());
    op.wait("booth/v1/t/T7/status", |v| v["state"] == "online").await;
    t.vanish();
    op.wait("booth/v1/t/T7/status", |v| v["state"] == "offline").await;

    // The broker keeps both in the terminal's session; the first expires (MQTT 5 message
    // expiry) before the terminal is back.
    let (short, long) = (id(), id());
    for (i, expiry) in [(&short, 1), (&long, 600)] {
        let props = PublishProperties { message_expiry_interval: Some(expiry), ..Default::default() };
        op.publish("booth/v1/t/T7/cmd/req", false, json!({"id": i, "name": "reload"}), props).await;
    }
    // Time itself is the condition here: past the first command's expiry.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    t.again();
    let r = op.wait("booth/v1/t/T7/cmd/res", |v| v["id"] == long.as_str()).await.json();
    assert_eq!(r["ok"], true, "{r}");
    // A live command after it: by then the expired one would have been answered too.
    assert_eq!(op.cmd("T7", json!({"id": id(), "name": "reload"})).await["ok"], true);
    assert_eq!(
        op.count("booth/v1/t/T7/cmd/res", |v| v["id"] == short.as_str()),
        0,
        "the expired command never arrived"
    );
    assert_eq!(host.reloads.load(Ordering::SeqCst), 2);
}
