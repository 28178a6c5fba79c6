//! The payment rig: a bridge with one page, the real face service on the `file` camera (the
//! registry photos made into frames), the POS port on a socat pty pair whose other end plays
//! the cash register, and the payment service with the gateway under test.

#![allow(dead_code)]

use booth_bridge::{Bridge, Dialect, EventMessage, EventSink, Family, Screen, SessionInfo};
use booth_camera::{Backend, Camera, CameraConfig, Frame};
use booth_face::{FaceScreen, FaceSection, FaceService};
use booth_payment::gateway::Gateway;
use booth_payment::{Journal, PaymentSection, PaymentService};
use booth_pos::{Pos, PosConfig};
use booth_testkit::pty::Socat;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use booth_face::test_support::detect;

pub fn live(name: &str) -> Vec<Frame> {
    booth_testkit::face::live_sequence(name, &detect)
}

pub use booth_testkit::face::nobody;

pub fn still(name: &str) -> Vec<Frame> {
    booth_testkit::face::still_sequence(name, &detect)
}

/// What the face screen was asked to show, in order (mode of each `show`).
#[derive(Default)]
pub struct Screens(pub Mutex<Vec<Value>>);
impl FaceScreen for Screens {
    fn show(&self, _w: &str, o: &Value) -> Result<(), String> {
        self.0.lock().unwrap().push(o.clone());
        Ok(())
    }
    fn update(&self, _w: &str, _s: &Value) {}
    fn hide(&self, _w: &str) {}
}

/// The page's events, as they arrive.
#[derive(Default)]
pub struct Events(pub Mutex<Vec<(String, Value)>>);
impl EventSink for Events {
    fn deliver(&self, m: EventMessage) -> bool {
        self.0.lock().unwrap().push((m.name, m.body));
        true
    }
}

pub struct Rig {
    pub bridge: Bridge,
    pub face: Arc<FaceService>,
    pub pay: Arc<PaymentService>,
    pub session: u64,
    pub events: Arc<Events>,
    pub screens: Arc<Screens>,
    pub frames: PathBuf,
    pub register: Option<Register>,
    pub journal: PathBuf,
    pub dir: tempfile::TempDir,
}

/// The cash register: the device end of the POS pty pair.
pub struct Register {
    pub socat: Socat,
    lines: mpsc::Receiver<String>,
}

impl Register {
    pub fn send(&self, line: &str) {
        self.socat.send(format!("{line}\r\n").as_bytes());
    }

    /// Whether Booth sent nothing within half a second.
    pub fn next_line_none(&self) -> bool {
        self.lines.recv_timeout(Duration::from_millis(500)).is_err()
    }

    /// The next line Booth sends the register.
    pub fn next_line(&self, within: Duration) -> String {
        self.lines.recv_timeout(within).unwrap_or_else(|_| panic!("no line from Booth within {within:?}"))
    }
}

pub struct Options {
    pub register: bool,
    pub face_timeout_s: u64,
    pub payment: PaymentSection,
    pub provider: Option<Arc<booth_provider_client::Provider>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            register: false,
            face_timeout_s: 20,
            payment: PaymentSection { answer_timeout_s: 10, code_timeout_s: 10, ..PaymentSection::default() },
            provider: None,
        }
    }
}

pub fn rig(gateway: Arc<dyn Gateway>, frames: &[Frame], opts: Options) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let frames_dir = dir.path().join("camera");
    booth_testkit::face::write_frames(&frames_dir, frames);
    let section = FaceSection {
        engine: "provider".into(),
        models_dir: booth_testkit::face::models_dir().display().to_string(),
        gallery_dir: dir.path().join("gallery").display().to_string(),
        key_file: dir.path().join("keys/gallery.key").display().to_string(),
        timeout_s: opts.face_timeout_s,
        ..Default::default()
    };
    let config = section.resolve(dir.path(), dir.path(), "T-0001").unwrap();
    let camera =
        Camera::new(CameraConfig { backend: Backend::File(frames_dir.clone()), fps: 15, ..Default::default() });
    let face = FaceService::new(config, camera);
    if let Some(p) = &opts.provider {
        face.set_provider(p.clone());
    }
    let bridge = Bridge::default();
    face.register(&bridge);
    face.watch_applet_resets(&bridge);
    let screens = Arc::new(Screens::default());
    face.set_screen(screens.clone());
    let (pos, register) = if opts.register {
        let pty = dir.path().join("pty");
        std::fs::create_dir_all(&pty).unwrap();
        let socat = Socat::start(&pty);
        let pos = Pos::start(PosConfig {
            backend: booth_pos::Backend::Serial { port: socat.app().display().to_string(), baud: 9600 },
            ..PosConfig::default()
        });
        let (tx, rx) = mpsc::channel();
        let dev = socat.dev();
        std::thread::spawn(move || {
            use std::os::unix::fs::OpenOptionsExt;
            let Ok(f) = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOCTTY).open(&dev) else { return };
            for line in BufReader::new(f).lines() {
                let Ok(line) = line else { break };
                if tx.send(line.trim_end_matches('\r').to_string()).is_err() {
                    break;
                }
            }
        });
        (Some(pos), Some(Register { socat, lines: rx }))
    } else {
        (None, None)
    };
    if let Some(p) = &pos {
        p.register(&bridge);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !p.status().available {
            assert!(Instant::now() < deadline, "the POS port did not open: {:?}", p.status());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let config = opts.payment.resolve(dir.path(), "T-0001").unwrap();
    let journal_path = config.journal.clone();
    let journal = Arc::new(Journal::open(&journal_path).unwrap());
    let pay = PaymentService::new(config, journal, Some(gateway), face.clone(), pos);
    pay.register(&bridge);
    pay.connect_login();
    pay.start(&tokio::runtime::Handle::current());
    let info = SessionInfo {
        key: "main".into(),
        package_id: "t".into(),
        permissions: [Family::Face, Family::Payment, Family::Serial].into_iter().collect(),
        dialects: [Dialect::Wxfaceapp].into_iter().collect(),
        screen: Screen::Front,
        url: "booth://localhost/".into(),
    };
    let events = Arc::new(Events::default());
    let session = bridge.open_session(info, events.clone());
    for e in ["onFacePayPassEvent", "onFacePayFailedEvent", "onQueryPaymentSucEvent", "onQueryPaymentFailedEvent"] {
        bridge.subscribe(session, Dialect::Wxfaceapp, e).unwrap();
    }
    Rig { bridge, face, pay, session, events, screens, frames: frames_dir, register, journal: journal_path, dir }
}

impl Rig {
    pub async fn wx(&self, name: &str, params: Value) -> (bool, Value) {
        let reply = self.bridge.call(self.session, Dialect::Wxfaceapp, name, &params.to_string()).await;
        (reply.ok, reply.body)
    }

    /// Waits for the `n`-th (from 1) event and returns every event so far.
    pub async fn events_until(&self, n: usize, within: Duration) -> Vec<(String, Value)> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.events.0.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "only {} events within {within:?}: {got:?}", got.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn clear_events(&self) {
        self.events.0.lock().unwrap().clear();
    }

    pub fn show(&self, frames: &[Frame]) {
        booth_testkit::face::replace_frames(&self.frames, frames);
    }

    /// The event body's fields that seed 001 names, plus Booth's.
    pub fn last(&self) -> (String, Value) {
        self.events.0.lock().unwrap().last().cloned().expect("an event")
    }
}

pub async fn wait_for(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn ev(name: &str, body: Value) -> (String, Value) {
    (name.to_string(), body)
}

pub fn json_ok() -> Value {
    json!({})
}
