//! writeToSerialPort against a socat pty pair: the bytes at the register's end equal msgToFlush
//! (UTF-8 or GBK, plus the configured suffix); failures are replyCode "-1"; unplug and replug.

use booth_bridge::{Bridge, Dialect, EventMessage, EventSink, Family, Screen, SessionId, SessionInfo, SimRegistry};
use booth_pos::{Backend, Encoding, Pos, PosConfig};
use booth_testkit::pty::Socat;
use serde_json::{json, Value};
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

struct Nowhere;
impl EventSink for Nowhere {
    fn deliver(&self, _: EventMessage) -> bool {
        true
    }
}

struct Rig {
    bridge: Bridge,
    pos: Arc<Pos>,
    session: SessionId,
}

impl Rig {
    fn new(config: PosConfig) -> Rig {
        let bridge = Bridge::default();
        let pos = Pos::start(config);
        pos.register(&bridge);
        let info = SessionInfo {
            key: "main".into(),
            package_id: "test.pos".into(),
            permissions: [Family::Serial].into_iter().collect(),
            dialects: [Dialect::Wxfaceapp].into_iter().collect(),
            screen: Screen::Front,
            url: "booth://localhost/".into(),
        };
        let session = bridge.open_session(info, Arc::new(Nowhere));
        Rig { bridge, pos, session }
    }

    fn serial(socat: &Socat, encoding: Encoding, suffix: &[u8]) -> Rig {
        Rig::new(PosConfig {
            backend: Backend::Serial { port: socat.app().display().to_string(), baud: 9600 },
            encoding,
            suffix: suffix.to_vec(),
        })
    }

    /// (ok, body) as the page's success / fail callbacks would get them.
    async fn write(&self, params: Value) -> (bool, Value) {
        let r = self.bridge.call(self.session, Dialect::Wxfaceapp, "writeToSerialPort", &params.to_string()).await;
        (r.ok, r.body)
    }

    async fn wait_available(&self, want: bool) {
        let deadline = Instant::now() + Duration::from_secs(3);
        while self.pos.status().available != want {
            assert!(Instant::now() < deadline, "available != {want}: {:?}", self.pos.status());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.pos.shutdown();
    }
}

/// The register's end of the line.
fn register(socat: &Socat) -> Box<dyn serialport::SerialPort> {
    serialport::new(socat.dev().display().to_string(), 9600).timeout(Duration::from_millis(50)).open().unwrap()
}

/// Reads until `n` bytes arrived (or 2 s passed).
fn read_n(port: &mut dyn Read, n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(2);
    while got.len() < n && Instant::now() < deadline {
        match port.read(&mut buf) {
            Ok(k) => got.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("{e}"),
        }
    }
    got
}

#[tokio::test]
async fn pos_bytes_equal_msg_to_flush() {
    let dir = TempDir::new().unwrap();
    let socat = Socat::start(dir.path());
    let mut reg = register(&socat);
    let rig = Rig::serial(&socat, Encoding::Utf8, b"");
    rig.wait_available(true).await;

    for msg in ["13800138000", "会员码:ABC-123 ✓", &"x".repeat(5000)] {
        let (ok, body) = rig.write(json!({ "msgToFlush": msg })).await;
        assert!(ok, "{body}");
        assert_eq!(body, json!({"replyCode": "0", "reply": "success", "flushedMsg": msg}));
        assert_eq!(read_n(reg.as_mut(), msg.len()), msg.as_bytes(), "{msg:.40}");
    }
    // Nothing more than the message was sent.
    assert!(read_n(reg.as_mut(), 1).is_empty());
}

#[tokio::test]
async fn pos_gbk_and_suffix() {
    let dir = TempDir::new().unwrap();
    let socat = Socat::start(dir.path());
    let mut reg = register(&socat);
    let rig = Rig::serial(&socat, Encoding::Gbk, b"\r\n");
    rig.wait_available(true).await;
    let (ok, body) = rig.write(json!({"msgToFlush": "手机号13800138000"})).await;
    assert!(ok, "{body}");
    let want: Vec<u8> = [&[0xCA, 0xD6, 0xBB, 0xFA, 0xBA, 0xC5][..], b"13800138000\r\n"].concat();
    assert_eq!(read_n(reg.as_mut(), want.len()), want);
    let (ok, body) = rig.write(json!({"msgToFlush": "emoji 😀"})).await;
    assert!(!ok);
    assert_eq!(body["replyCode"], json!("-1"));
    assert_eq!(body["errorCode"], json!("INVALID_PARAMS"));
}

#[tokio::test]
async fn bad_input_is_minus_one_invalid_params() {
    let rig = Rig::new(PosConfig { backend: Backend::Sim, ..PosConfig::default() });
    for params in [json!({}), json!({"msgToFlush": ""}), json!({"msgToFlush": 42}), json!({"msgToFlush": null})] {
        let (ok, body) = rig.write(params.clone()).await;
        assert!(!ok, "{params}");
        assert_eq!(body["replyCode"], json!("-1"), "{params}: {body}");
        assert_eq!(body["errorCode"], json!("INVALID_PARAMS"), "{params}: {body}");
        assert!(body["reply"].as_str().unwrap().contains("msgToFlush"), "{body}");
    }
    let (ok, _) = rig.write(json!({"msgToFlush": "x".repeat(70_000)})).await;
    assert!(!ok);
}

#[tokio::test]
async fn pos_unplug_and_replug() {
    let dir = TempDir::new().unwrap();
    let mut socat = Socat::start(dir.path());
    let port = socat.app().display().to_string();
    let rig = Rig::serial(&socat, Encoding::Utf8, b"");
    rig.wait_available(true).await;

    socat.kill();
    rig.wait_available(false).await;
    let (ok, body) = rig.write(json!({"msgToFlush": "lost"})).await;
    assert!(!ok);
    assert_eq!(body["replyCode"], json!("-1"), "{body}");
    assert_eq!(body["errorCode"], json!("DEVICE_UNAVAILABLE"), "{body}");
    assert!(body["reply"].as_str().unwrap().contains(&port), "{body}");

    socat.restart();
    let mut reg = register(&socat);
    rig.wait_available(true).await;
    let (ok, body) = rig.write(json!({"msgToFlush": "back"})).await;
    assert!(ok, "{body}");
    assert_eq!(read_n(reg.as_mut(), 4), b"back");
}

#[tokio::test]
async fn sim_shows_the_bytes_written_and_plays_unplugged() {
    let rig = Rig::new(PosConfig { backend: Backend::Sim, ..PosConfig::default() });
    let sims = SimRegistry::default();
    rig.pos.register_sim(&sims);
    assert!(rig.write(json!({"msgToFlush": "AB"})).await.0);
    let state = &sims.describe()["devices"][0]["state"];
    assert_eq!(state["written"], json!([{"text": "AB", "hex": "41 42", "bytes": 2}]));
    sims.act("pos", "unplug", &json!({})).unwrap();
    let (ok, body) = rig.write(json!({"msgToFlush": "AB"})).await;
    assert!(!ok);
    assert_eq!(body["replyCode"], json!("-1"));
    sims.act("pos", "plug", &json!({})).unwrap();
    assert!(rig.write(json!({"msgToFlush": "CD"})).await.0);
    sims.act("pos", "clear", &json!({})).unwrap();
    assert_eq!(sims.describe()["devices"][0]["state"]["written"], json!([]));

    let none = Rig::new(PosConfig::default());
    let (ok, body) = none.write(json!({"msgToFlush": "x"})).await;
    assert!(!ok);
    assert_eq!(body["errorCode"], json!("DEVICE_UNAVAILABLE"));
}
