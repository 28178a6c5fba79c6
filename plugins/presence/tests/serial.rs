//! The presence sensor's serial backend on a socat pty pair (the test is the sensor), and the
//! report timing every backend shares.

use booth_bridge::{Bridge, Dialect, EventMessage, EventSink, Family, Screen, SessionId, SessionInfo, SimRegistry};
use booth_presence::{Backend, LineProtocol, Presence};
use booth_testkit::pty::Socat;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Reports with the time they arrived.
#[derive(Default)]
struct Reports(Mutex<Vec<(Instant, String)>>);

impl EventSink for Reports {
    fn deliver(&self, m: EventMessage) -> bool {
        assert_eq!(m.name, "initInfraredInductionListener");
        let code = m.body["data"]["inductionCode"].as_str().expect("a string code").to_string();
        self.0.lock().unwrap().push((Instant::now(), code));
        true
    }
}

impl Reports {
    fn codes(&self) -> Vec<String> {
        self.0.lock().unwrap().iter().map(|(_, c)| c.clone()).collect()
    }
    fn gaps_ms(&self) -> Vec<u128> {
        let r = self.0.lock().unwrap();
        r.windows(2).map(|w| (w[1].0 - w[0].0).as_millis()).collect()
    }
}

struct Rig {
    bridge: Bridge,
    presence: Arc<Presence>,
    session: SessionId,
    reports: Arc<Reports>,
}

impl Rig {
    fn new(backend: Backend) -> Rig {
        let bridge = Bridge::default();
        let presence = Presence::start(backend, bridge.bus());
        presence.register(&bridge);
        let reports = Arc::new(Reports::default());
        let info = SessionInfo {
            key: "main".into(),
            package_id: "test.presence".into(),
            permissions: [Family::Presence].into_iter().collect(),
            dialects: [Dialect::My].into_iter().collect(),
            screen: Screen::Front,
            url: "booth://localhost/".into(),
        };
        let session = bridge.open_session(info, reports.clone());
        bridge.subscribe(session, Dialect::My, "initInfraredInductionListener").unwrap();
        Rig { bridge, presence, session, reports }
    }

    fn serial(socat: &Socat, protocol: LineProtocol) -> Rig {
        Rig::new(Backend::Serial { port: socat.app().display().to_string(), baud: 9600, protocol })
    }

    async fn call(&self, action: &str, params: Value) -> Value {
        let raw = json!({"action": action, "event": "open", "taskId": "3", "params": params}).to_string();
        self.bridge.call(self.session, Dialect::My, "ampeHHCommunication", &raw).await.body
    }

    async fn wait_available(&self, want: bool) {
        let deadline = Instant::now() + Duration::from_secs(3);
        while self.presence.status().available != want {
            assert!(Instant::now() < deadline, "available != {want}: {:?}", self.presence.status());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn wait_present(&self, want: bool) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.presence.present() != want {
            assert!(Instant::now() < deadline, "present != {want}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.presence.shutdown();
    }
}

#[tokio::test]
async fn presence_reports_at_the_requested_interval() {
    let dir = TempDir::new().unwrap();
    let socat = Socat::start(dir.path());
    let rig = Rig::serial(&socat, LineProtocol::default());
    rig.wait_available(true).await;

    let started = Instant::now();
    let body = rig.call("startInfraredInductionListener", json!({"intervalTime": 2000})).await;
    assert_eq!(
        body,
        json!({"action": "startInfraredInductionListener", "event": "open", "taskId": "3", "success": true, "message": "成功", "data": {}})
    );
    socat.send(b"1\r\n");
    rig.wait_present(true).await;
    // Someone passes and leaves between two reports: the next report still says "1".
    tokio::time::sleep(Duration::from_millis(2200)).await;
    socat.send(b"0\r\n");
    rig.wait_present(false).await;
    socat.send(b"1\r\n0\r\n");
    tokio::time::sleep(Duration::from_millis(100)).await;
    rig.wait_present(false).await;
    // Reports are due at 2 s, 4 s and 6 s.
    tokio::time::sleep_until(tokio::time::Instant::from_std(started + Duration::from_millis(6300))).await;

    let codes = rig.reports.codes();
    assert!(codes.len() >= 3, "{codes:?}");
    assert_eq!(&codes[..3], ["1", "1", "0"], "present, passed by, nobody");
    let first = rig.reports.0.lock().unwrap()[0].0 - started;
    assert!(
        first >= Duration::from_millis(1950) && first < Duration::from_millis(2300),
        "first report after {first:?}"
    );
    for gap in rig.reports.gaps_ms() {
        assert!((1900..=2150).contains(&gap), "gap {gap} ms: {:?}", rig.reports.gaps_ms());
    }
    eprintln!("gaps at intervalTime 2000: {:?} ms", rig.reports.gaps_ms());

    // Stop: no more reports.
    let body = rig.call("stopInfraredInductionListener", json!({})).await;
    assert_eq!(body["success"], json!(true));
    assert_eq!(rig.presence.listening(), 0);
    let n = rig.reports.codes().len();
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(rig.reports.codes().len(), n);
}

#[tokio::test]
async fn interval_out_of_range_is_invalid_and_the_default_is_3000() {
    let rig = Rig::new(Backend::Sim);
    for bad in [json!(1999), json!(5001), json!("fast"), json!(2500.5), json!(true)] {
        let body = rig.call("startInfraredInductionListener", json!({ "intervalTime": bad })).await;
        assert_eq!(body["success"], json!(false), "{bad}: {body}");
        assert_eq!(body["errorCode"], json!("INVALID_PARAMS"), "{bad}: {body}");
        assert!(body["message"].as_str().unwrap().contains("intervalTime"), "{body}");
    }
    assert_eq!(rig.presence.listening(), 0);
    // The string form seed 000 uses elsewhere for numbers is accepted.
    let body = rig.call("startInfraredInductionListener", json!({"intervalTime": "5000"})).await;
    assert_eq!(body["success"], json!(true), "{body}");

    let started = Instant::now();
    let body = rig.call("startInfraredInductionListener", json!({})).await;
    assert_eq!(body["success"], json!(true), "{body}");
    assert_eq!(rig.presence.listening(), 1, "a second start replaces the first");
    let sims = SimRegistry::default();
    rig.presence.register_sim(&sims);
    sims.act("presence", "present", &json!({})).unwrap();
    while rig.reports.codes().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(4), "no report");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let first = started.elapsed();
    assert!(first >= Duration::from_millis(2950) && first < Duration::from_millis(3300), "{first:?}");
    assert_eq!(rig.reports.codes(), ["1"]);
}

#[tokio::test]
async fn a_sensor_that_must_be_asked_is_queried() {
    let dir = TempDir::new().unwrap();
    let socat = Socat::start(dir.path());
    let protocol = LineProtocol {
        present: "PERSON".into(),
        absent: "EMPTY".into(),
        query: Some("?\\r\\n".into()),
        query_every: Duration::from_millis(100),
    };
    // The sensor: answers each "?" line with its state.
    let someone = Arc::new(AtomicBool::new(false));
    let queries = Arc::new(Mutex::new(0usize));
    let (s2, q2) = (someone.clone(), queries.clone());
    let mut dev =
        serialport::new(socat.dev().display().to_string(), 9600).timeout(Duration::from_millis(50)).open().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let d2 = done.clone();
    let sensor = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while !d2.load(Ordering::Relaxed) {
            match dev.read(&mut buf) {
                Ok(n) => {
                    let asked = buf[..n].iter().filter(|&&b| b == b'?').count();
                    *q2.lock().unwrap() += asked;
                    for _ in 0..asked {
                        let line: &[u8] = if s2.load(Ordering::Relaxed) { b"PERSON\r\n" } else { b"EMPTY\r\n" };
                        let _ = dev.write_all(line);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return,
            }
        }
    });
    let rig = Rig::serial(&socat, protocol);
    rig.wait_available(true).await;
    someone.store(true, Ordering::Relaxed);
    rig.wait_present(true).await;
    someone.store(false, Ordering::Relaxed);
    rig.wait_present(false).await;
    assert!(*queries.lock().unwrap() >= 2);
    done.store(true, Ordering::Relaxed);
    sensor.join().unwrap();
}

#[tokio::test]
async fn presence_unplug_and_replug() {
    let dir = TempDir::new().unwrap();
    let mut socat = Socat::start(dir.path());
    let port = socat.app().display().to_string();
    let rig = Rig::serial(&socat, LineProtocol::default());
    rig.wait_available(true).await;
    assert_eq!(rig.call("startInfraredInductionListener", json!({"intervalTime": 2000})).await["success"], json!(true));
    socat.send(b"1\n");
    rig.wait_present(true).await;

    socat.kill();
    rig.wait_available(false).await;
    assert!(rig.presence.status().detail.contains(&port));
    let body = rig.call("startInfraredInductionListener", json!({"intervalTime": 2000})).await;
    assert_eq!(body["errorCode"], json!("DEVICE_UNAVAILABLE"), "{body}");
    assert!(body["message"].as_str().unwrap().contains(&port), "{body}");
    // The running listener (still registered) reports nothing while unplugged.
    let n = rig.reports.codes().len();
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(rig.reports.codes().len(), n, "no report while unplugged");

    socat.restart();
    rig.wait_available(true).await;
    socat.send(b"1\n");
    rig.wait_present(true).await;
    let before = rig.reports.codes().len();
    let deadline = Instant::now() + Duration::from_millis(2500);
    while rig.reports.codes().len() == before {
        assert!(Instant::now() < deadline, "reports resume after replug");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rig.reports.codes().last().map(String::as_str), Some("1"));
}

#[tokio::test]
async fn no_sensor_is_unavailable_and_real_ones_refuse_the_simulator() {
    let rig = Rig::new(Backend::None);
    let body = rig.call("startInfraredInductionListener", json!({})).await;
    assert_eq!(body["errorCode"], json!("DEVICE_UNAVAILABLE"), "{body}");
    assert_eq!(rig.call("stopInfraredInductionListener", json!({})).await["success"], json!(true));
    let sims = SimRegistry::default();
    rig.presence.register_sim(&sims);
    assert!(sims.act("presence", "present", &json!({})).is_err());
}
