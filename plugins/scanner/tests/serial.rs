//! The scanner's real serial backend against a pseudo-terminal stand-in, and the sim backend.
//!
//! The stand-in is `socat pty,link=DIR/dev pty,link=DIR/app`: the test writes what a scanner
//! would send to `DIR/dev`, and the scanner (`Backend::Serial { port: DIR/app }`) reads it.
//! Killing socat is an unplug; starting it again with the same link names is a replug.
//!
//! Each test has its own temporary directory (no shared link paths) and its own socat, which a
//! guard kills on drop, also when the test panics. Waits poll with short sleeps and deadlines.
//!
//! Every test runs on tokio's current-thread runtime: a call spawned with `tokio::spawn` is
//! polled up to its first real await (the handler waiting on the event bus, after it has
//! subscribed and taken its cancel token) as soon as the test itself awaits, so [`settle`] is
//! enough to know a pending `getQRCode` is listening before a code is written.

use booth_bridge::{Bridge, Dialect, EventMessage, Family, Reply, Screen, SessionId, SessionInfo};
use booth_scanner::{Backend, Scanner, ScannerConfig, ScannerError, MAX_CODE_BYTES};
use booth_testkit::events::Collect;
use booth_testkit::pty::Socat;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

const POLL: Duration = Duration::from_millis(10);

const GET_QR: &str = r#"{"action":"getQRCode","event":"open","taskId":"t1","params":{"timeout":3000}}"#;
const CLOSE_QR: &str = r#"{"action":"getQRCode","event":"close"}"#;

// ---------------------------------------------------------------------------------------------
// The bridge side.

/// The scanned codes `sink` received so far through initQRListener, in order.
fn codes(sink: &Collect) -> Vec<String> {
    sink.all()
        .into_iter()
        .map(|m| {
            assert_eq!(m.dialect, Dialect::My);
            assert_eq!(m.name, "initQRListener");
            m.body["data"]["qrCode"].as_str().unwrap_or_else(|| panic!("not a code event: {}", m.body)).to_string()
        })
        .collect()
}

struct Rig {
    bridge: Bridge,
    scanner: Arc<Scanner>,
    session: SessionId,
    sink: Arc<Collect>,
}

impl Rig {
    fn new(backend: Backend) -> Rig {
        Rig::with_config(ScannerConfig { backend, ..ScannerConfig::default() })
    }

    fn with_config(config: ScannerConfig) -> Rig {
        let bridge = Bridge::default();
        let scanner = Scanner::start(config, bridge.bus());
        scanner.register(&bridge);
        let sink = Arc::new(Collect::default());
        let info = SessionInfo {
            key: "main".into(),
            package_id: "test.scanner".into(),
            permissions: [Family::Scanner].into_iter().collect(),
            dialects: [Dialect::My].into_iter().collect(),
            screen: Screen::Front,
            url: "booth://test.scanner/index.html".into(),
        };
        let session = bridge.open_session(info, sink.clone());
        Rig { bridge, scanner, session, sink }
    }

    fn serial(port: &Path) -> Rig {
        Rig::new(Backend::Serial { port: port.display().to_string(), baud: 9600 })
    }

    fn listen(&self) {
        self.bridge.subscribe(self.session, Dialect::My, "initQRListener").expect("subscribe initQRListener");
    }

    async fn call(&self, raw: &str) -> Value {
        let reply = self.bridge.call(self.session, Dialect::My, "ampeHHCommunication", raw).await;
        assert!(reply.ok, "ampeHHCommunication always answers through success: {reply:?}");
        reply.body
    }

    /// Starts a call and lets it reach its wait on the event bus.
    async fn pending(&self, raw: &'static str) -> tokio::task::JoinHandle<Reply> {
        let (bridge, session) = (self.bridge.clone(), self.session);
        let task = tokio::spawn(async move { bridge.call(session, Dialect::My, "ampeHHCommunication", raw).await });
        settle().await;
        if task.is_finished() {
            panic!("the call answered at once: {:?}", task.await);
        }
        task
    }

    async fn wait_available(&self, available: bool, within: Duration) -> Duration {
        let started = Instant::now();
        wait_until(
            within,
            &format!("scanner available == {available}"),
            || self.scanner.status().available == available,
            || format!("{:?}", self.scanner.status()),
        )
        .await;
        started.elapsed()
    }

    async fn wait_codes(&self, n: usize) -> Vec<String> {
        wait_until(
            Duration::from_secs(3),
            &format!("{n} codes"),
            || self.sink.all().len() >= n,
            || format!("{:?}", self.sink.all()),
        )
        .await;
        codes(&self.sink)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.scanner.shutdown();
    }
}

/// Lets spawned calls run up to their first real await.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

async fn wait_until(within: Duration, what: &str, mut done: impl FnMut() -> bool, state: impl Fn() -> String) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}; state: {}", state());
        tokio::time::sleep(POLL).await;
    }
}

async fn answer(task: tokio::task::JoinHandle<Reply>, within: Duration) -> Value {
    let reply = tokio::time::timeout(within, task)
        .await
        .unwrap_or_else(|_| panic!("no answer within {within:?}"))
        .expect("call task");
    assert!(reply.ok, "{reply:?}");
    reply.body
}

fn assert_code(body: &Value, code: &str) {
    assert_eq!(body["success"], json!(true), "{body}");
    assert_eq!(body["message"], json!("成功"), "{body}");
    assert_eq!(body["data"], json!({ "qrCode": code }), "{body}");
    assert_eq!(body["action"], json!("getQRCode"), "{body}");
    assert_eq!(body["event"], json!("open"), "{body}");
    assert_eq!(body["taskId"], json!("t1"), "{body}");
    assert!(body.get("errorCode").is_none(), "{body}");
}

fn assert_failed(body: &Value, error_code: &str) {
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["errorCode"], json!(error_code), "{body}");
    assert_eq!(body["action"], json!("getQRCode"), "{body}");
}

fn code_event(code: &str) -> EventMessage {
    EventMessage { dialect: Dialect::My, name: "initQRListener".into(), body: json!({ "data": { "qrCode": code } }) }
}

// ---------------------------------------------------------------------------------------------
// 1. Lines become codes.

#[tokio::test]
async fn serial_lines_become_codes() {
    let dir = TempDir::new().unwrap();
    let socat = Socat::start(dir.path());
    let rig = Rig::serial(&socat.app());
    rig.wait_available(true, Duration::from_secs(3)).await;
    let status = rig.scanner.status();
    assert_eq!(status.backend, "serial");
    assert!(status.detail.contains(&socat.app().display().to_string()), "{status:?}");
    rig.listen();

    // One code answers the pending getQRCode and reaches the listener.
    let task = rig.pending(GET_QR).await;
    socat.send(b"HELLO123\r\n");
    let body = answer(task, Duration::from_secs(2)).await;
    assert_code(&body, "HELLO123");
    assert_eq!(rig.wait_codes(1).await, ["HELLO123"]);
    assert_eq!(rig.sink.all(), [code_event("HELLO123")]);

    // CR only, LF only, CRLF: one code each; empty and blank lines: none; two codes in one
    // write: two events in order; an overlong line is dropped whole and the next one still
    // counts. The last code is a sentinel: once it is here, everything before it was read.
    socat.send(b"CR1\r");
    socat.send(b"LF2\n");
    socat.send(b"CRLF3\r\n");
    socat.send(b"\r\n");
    socat.send(b"\n");
    socat.send(b"\r");
    socat.send(b"   \r\n");
    socat.send(b"TWO4\r\nTWO5\r\n");
    let mut long = vec![b'x'; MAX_CODE_BYTES + 100];
    long.extend_from_slice(b"\r\nAFTER6\n");
    socat.send(&long);
    socat.send(b"END\r\n");
    let codes = rig.wait_codes(8).await;
    assert_eq!(codes, ["HELLO123", "CR1", "LF2", "CRLF3", "TWO4", "TWO5", "AFTER6", "END"]);

    // Nothing trails the sentinel (the LF of its CRLF is not a second, empty code).
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rig.sink.all().len(), 8, "{:?}", rig.sink.all());
}

// ---------------------------------------------------------------------------------------------
// 2. Timeouts.

#[tokio::test]
async fn serial_timeout_and_invalid_timeout() {
    let dir = TempDir::new().unwrap();
    let socat = Socat::start(dir.path());
    let rig = Rig::serial(&socat.app());
    rig.wait_available(true, Duration::from_secs(3)).await;

    for bad in [r#"10"#, r#"999"#, r#"120001"#, r#""soon""#] {
        let raw = format!(r#"{{"action":"getQRCode","event":"open","taskId":"t1","params":{{"timeout":{bad}}}}}"#);
        let body = rig.call(&raw).await;
        assert_failed(&body, "INVALID_PARAMS");
        assert!(body["message"].as_str().unwrap().contains("timeout"), "{body}");
    }

    let started = Instant::now();
    let body = rig.call(r#"{"action":"getQRCode","event":"open","taskId":"t1","params":{"timeout":1000}}"#).await;
    let took = started.elapsed();
    assert_failed(&body, "TIMEOUT");
    assert_eq!(body["message"], json!("超时"), "{body}");
    assert_eq!(body["taskId"], json!("t1"), "{body}");
    assert!(took >= Duration::from_millis(1000) && took < Duration::from_millis(1800), "took {took:?}");
    drop(socat);
}

// ---------------------------------------------------------------------------------------------
// 3. Cancel.

#[tokio::test]
async fn serial_close_cancels_pending_get() {
    let dir = TempDir::new().unwrap();
    let socat = Socat::start(dir.path());
    let rig = Rig::serial(&socat.app());
    rig.wait_available(true, Duration::from_secs(3)).await;

    let task = rig.pending(GET_QR).await;
    let started = Instant::now();
    let close = rig.call(CLOSE_QR).await;
    assert_eq!(close["success"], json!(true), "{close}");
    assert_eq!(close["message"], json!("关闭成功"), "{close}");
    assert_eq!(close["event"], json!("close"), "{close}");
    assert_eq!(close["action"], json!("getQRCode"), "{close}");
    let body = answer(task, Duration::from_millis(500)).await;
    assert_failed(&body, "CANCELLED");
    assert_eq!(body["message"], json!("已取消"), "{body}");
    assert!(started.elapsed() < Duration::from_millis(500));

    // A close with nothing pending is still a success, and a later getQRCode is not cancelled
    // by the earlier close.
    let close = rig.call(CLOSE_QR).await;
    assert_eq!(close["message"], json!("关闭成功"), "{close}");
    let task = rig.pending(GET_QR).await;
    socat.send(b"AFTERCLOSE\n");
    assert_code(&answer(task, Duration::from_secs(2)).await, "AFTERCLOSE");
}

// ---------------------------------------------------------------------------------------------
// 4. Unplug and replug.

#[tokio::test]
async fn serial_unplug_and_replug() {
    let dir = TempDir::new().unwrap();
    let mut socat = Socat::start(dir.path());
    let port = socat.app().display().to_string();
    let rig = Rig::serial(&socat.app());
    rig.wait_available(true, Duration::from_secs(3)).await;
    rig.listen();

    // A getQRCode pending during the unplug is answered DEVICE_UNAVAILABLE. A line cut short
    // by the unplug is not glued to what comes after the replug.
    let task = rig.pending(GET_QR).await;
    socat.send(b"PARTIAL");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let killed = Instant::now();
    socat.kill();
    let body = answer(task, Duration::from_secs(2)).await;
    assert_failed(&body, "DEVICE_UNAVAILABLE");
    assert!(body["message"].as_str().unwrap().contains(&port), "{body}");
    rig.wait_available(false, Duration::from_secs(2)).await;
    let down = killed.elapsed();
    let status = rig.scanner.status();
    assert!(status.detail.contains(&port), "{status:?}");

    // While unplugged: answered at once.
    let started = Instant::now();
    let body = rig.call(GET_QR).await;
    assert_failed(&body, "DEVICE_UNAVAILABLE");
    assert!(body["message"].as_str().unwrap().starts_with("设备不可用"), "{body}");
    assert!(body["message"].as_str().unwrap().contains(&port), "{body}");
    assert!(started.elapsed() < Duration::from_millis(500));

    // Replug, same Scanner: available again, and codes flow.
    socat.restart();
    let up = rig.wait_available(true, Duration::from_secs(3)).await;
    let task = rig.pending(GET_QR).await;
    socat.send(b"REPLUGGED\r\n");
    assert_code(&answer(task, Duration::from_secs(2)).await, "REPLUGGED");
    assert_eq!(rig.wait_codes(1).await, ["REPLUGGED"]);
    eprintln!("unplug noticed in {down:?} ({}), replug in {up:?}", status.detail);
}

// ---------------------------------------------------------------------------------------------
// 5. No device.

#[tokio::test]
async fn serial_missing_port_is_unavailable() {
    let dir = TempDir::new().unwrap();
    let port = dir.path().join("no-such-tty").display().to_string();
    let rig = Rig::new(Backend::Serial { port: port.clone(), baud: 9600 });
    // Past the initial "not yet opened": the failed open's own detail, naming the port.
    wait_until(
        Duration::from_secs(2),
        "an open failure",
        || !rig.scanner.status().detail.contains("尚未打开"),
        || format!("{:?}", rig.scanner.status()),
    )
    .await;
    let status = rig.scanner.status();
    assert_eq!(status.backend, "serial");
    assert!(!status.available, "{status:?}");
    assert!(status.detail.starts_with(&port), "{status:?}");

    let body = rig.call(GET_QR).await;
    assert_failed(&body, "DEVICE_UNAVAILABLE");
    assert!(body["message"].as_str().unwrap().contains(&port), "{body}");
}

#[tokio::test]
async fn no_backend_is_unavailable() {
    let rig = Rig::new(Backend::None);
    let status = rig.scanner.status();
    assert_eq!(status.backend, "none");
    assert!(!status.available);
    let body = rig.call(GET_QR).await;
    assert_failed(&body, "DEVICE_UNAVAILABLE");
    assert_eq!(rig.scanner.inject("12345"), Err(ScannerError::NotSimulated("none")));
}

// ---------------------------------------------------------------------------------------------
// 6. The sim backend.

#[tokio::test]
async fn sim_inject_delivers() {
    let rig = Rig::new(Backend::Sim);
    let status = rig.scanner.status();
    assert_eq!((status.backend, status.available), ("sim", true));
    rig.listen();

    let task = rig.pending(GET_QR).await;
    rig.scanner.inject("12345").unwrap();
    assert_code(&answer(task, Duration::from_secs(1)).await, "12345");
    assert_eq!(rig.sink.all(), [code_event("12345")]);

    let longest = "9".repeat(MAX_CODE_BYTES);
    rig.scanner.inject(&longest).unwrap();
    assert_eq!(codes(&rig.sink), ["12345".to_string(), longest]);
}

#[tokio::test]
async fn sim_inject_rejects_invalid_codes() {
    let rig = Rig::new(Backend::Sim);
    rig.listen();
    let too_long = "9".repeat(MAX_CODE_BYTES + 1);
    for bad in ["", "a\nb", "a\rb", "ab\r\n", too_long.as_str()] {
        assert_eq!(rig.scanner.inject(bad), Err(ScannerError::InvalidCode), "{bad:?}");
    }
    assert!(rig.sink.all().is_empty(), "{:?}", rig.sink.all());
}

#[tokio::test]
async fn sim_default_timeout_applies_without_params() {
    let rig = Rig::with_config(ScannerConfig {
        backend: Backend::Sim,
        default_timeout: Duration::from_millis(300),
        ..ScannerConfig::default()
    });
    let started = Instant::now();
    let body = rig.call(r#"{"action":"getQRCode","taskId":"t2"}"#).await;
    assert_failed(&body, "TIMEOUT");
    assert_eq!(body["message"], json!("超时"));
    assert_eq!(body["event"], json!("open"));
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn inject_on_serial_is_not_simulated() {
    let dir = TempDir::new().unwrap();
    let rig = Rig::serial(&dir.path().join("absent"));
    assert_eq!(rig.scanner.inject("12345"), Err(ScannerError::NotSimulated("serial")));
}
