//! `GET /health` over a real socket shows the bridge: open sessions, subscriptions, calls in
//! flight, and the plugin panics it contained with the last one's plugin, API and time, but never
//! what the page sent or what the panic said. Its own test binary: the panic count is per process.

use booth_app::dev::recorder::Recorder;
use booth_app::devices::Devices;
use booth_app::ipc::control::{self, ControlState};
use booth_bridge::{handler, Dialect, Done, EventMessage, EventSink, Params, Screen, SessionInfo};
use booth_miniapp_host::Package;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

/// What a page sends that must never show in `/health`.
const PAGE_SECRET: &str = "6222020200112233445";

struct Sink;
impl EventSink for Sink {
    fn deliver(&self, _message: EventMessage) -> bool {
        true
    }
}

/// `GET /health` over TCP, as a supervisor sends it.
async fn health(port: u16) -> (Value, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let request = format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.expect("read");
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}")), body)
}

/// Asks `/health` until `ok` holds of its `bridge` object (or a generous deadline passes).
async fn wait_for(port: u16, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (v, _) = health(port).await;
        if ok(&v["bridge"]) {
            return v["bridge"].clone();
        }
        assert!(Instant::now() < deadline, "{what}: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ampe(task: &str, params: Value) -> String {
    json!({"action": "speech", "event": "open", "taskId": task, "params": params}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_the_bridge_and_its_contained_panics_without_page_data() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("miniapp.json"), r#"{"id":"h","name":"H","version":"1.0.0","entry":"index.html"}"#)
        .unwrap();
    std::fs::write(dir.path().join("index.html"), "x").unwrap();
    let package = Arc::new(Package::load(dir.path().to_str().unwrap()).unwrap());
    let devices = Arc::new(Devices::start(&booth_app::config::Config::default(), true));
    let recorder = Arc::new(Recorder::new(None).unwrap());

    // A test-only `speech`: holds the call until released, or panics quoting what the page sent.
    let release = Arc::new(Notify::new());
    let held = release.clone();
    devices.bridge.register(
        Dialect::My,
        "speech",
        None,
        handler(move |_ctx, params: Params| {
            let held = held.clone();
            async move {
                if let Some(text) = params.str("boom").ok().flatten() {
                    panic!("test-only handler: cannot say {text}");
                }
                if params.get("hold").is_some() {
                    held.notified().await;
                }
                Ok(Done::from(json!({"spoken": true})))
            }
        }),
    );

    let listener = control::bind(0).expect("bind the control endpoint");
    let port = listener.local_addr().unwrap().port();
    let state = Arc::new(ControlState {
        devices: devices.clone(),
        package,
        recorder,
        windows: None,
        shell: None,
        health_only: false,
    });
    tokio::spawn(control::serve(listener, state));

    let (v, _) = health(port).await;
    assert_eq!(
        v["bridge"],
        json!({"sessions": 0, "subscriptions": 0, "callsInFlight": 0, "panicsContained": 0, "lastPanic": null}),
        "{v}"
    );

    let (dialects, permissions) = booth_bridge::all_permissions();
    let info = SessionInfo {
        key: "main".into(),
        package_id: "h".into(),
        permissions,
        dialects,
        screen: Screen::Front,
        url: "booth://localhost/index.html".into(),
    };
    let bridge = devices.bridge.clone();
    let id = bridge.open_session(info, Arc::new(Sink));
    bridge.subscribe(id, Dialect::My, "initQRListener").expect("subscribe");

    // A call the handler holds is in flight until it is answered.
    let call = {
        let bridge = bridge.clone();
        tokio::spawn(async move {
            bridge.call(id, Dialect::My, "ampeHHCommunication", &ampe("held", json!({"hold": true}))).await
        })
    };
    let b = wait_for(port, "the held call shows as in flight", |b| b["callsInFlight"] == 1).await;
    assert_eq!((b["sessions"].clone(), b["subscriptions"].clone()), (json!(1), json!(1)), "{b}");
    assert_eq!(b["panicsContained"], 0, "{b}");

    // A panicking handler answers INTERNAL; /health counts it and names the API, not the data.
    let before = chrono::Local::now() - chrono::Duration::seconds(1);
    let reply = bridge.call(id, Dialect::My, "ampeHHCommunication", &ampe("boom", json!({"boom": PAGE_SECRET}))).await;
    assert_eq!(reply.body["errorCode"], "INTERNAL", "{}", reply.body);
    let (v, text) = health(port).await;
    let b = &v["bridge"];
    assert_eq!(b["panicsContained"], 1, "{v}");
    assert_eq!(b["callsInFlight"], 1, "the held call is still waiting: {v}");
    let last = &b["lastPanic"];
    assert_eq!(
        (last["plugin"].as_str(), last["api"].as_str(), last["kind"].as_str()),
        (Some("speech"), Some("my.speech"), Some("handler")),
        "{v}"
    );
    let at = chrono::DateTime::parse_from_rfc3339(last["at"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("`at` is RFC 3339 ({e}): {v}"));
    assert!(at >= before && at <= chrono::Local::now(), "{v}");
    assert!(!text.contains(PAGE_SECRET), "what the page sent stays out of /health: {text}");
    assert!(!text.contains("cannot say"), "the panic's message stays in the log: {text}");

    // Once the call is answered and the page gone, nothing is held; the count stays.
    release.notify_one();
    let reply = call.await.expect("the held call's task");
    assert_eq!(reply.body["success"], true, "{}", reply.body);
    bridge.end_session(id);
    let b = wait_for(port, "the bridge holds nothing", |b| b["sessions"] == 0 && b["callsInFlight"] == 0).await;
    assert_eq!(b["subscriptions"], 0, "{b}");
    assert_eq!(b["panicsContained"], 1, "{b}");
    assert_eq!(b["lastPanic"]["api"], "my.speech", "{b}");
}
