//! Builds the bridge and its capability plugins from the configuration.

use crate::config::Config;
use crate::inputs_config;
use booth_bridge::{Bridge, SimRegistry};
use booth_device::{DeviceInfo, TerminalConfig};
use booth_display::Display;
use booth_idcard::entry::IdEntry;
use booth_idcard::IdCard;
use booth_keypad::Keypad;
use booth_pos::Pos;
use booth_presence::Presence;
use booth_scanner::{Backend, Scanner, ScannerConfig};
use booth_smartcard::{SmartCard, SmartCardConfig};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Every capability Booth runs, registered on one bridge.
pub struct Devices {
    pub bridge: Bridge,
    /// The simulators of the devices running their `sim` backend.
    pub sims: SimRegistry,
    pub device: Arc<DeviceInfo>,
    pub scanner: Arc<Scanner>,
    pub idcard: Arc<IdCard>,
    /// enterIDNumber's pending keypads (the app connects the screen that shows them).
    pub id_entry: Arc<IdEntry>,
    pub presence: Arc<Presence>,
    pub pos: Arc<Pos>,
    pub keypad: Arc<Keypad>,
    pub smartcard: Arc<SmartCard>,
    /// The second screen (the app connects its window).
    pub display: Arc<Display>,
    /// deviceConfig, the operation watcher and exitMp (the app connects its windows).
    pub shell: Arc<booth_session::ShellApis>,
    /// The camera's one owner in Booth.
    pub camera: booth_camera::Camera,
    /// initFace, getFaceInfo, getFaceInfoPersonCard, doStorageFaceInfo (the app connects the
    /// face screen).
    pub face: Arc<booth_face::FaceService>,
}

impl Devices {
    /// `sim` replaces every device backend by its simulator.
    pub fn start(config: &Config, sim: bool) -> Devices {
        let bridge = Bridge::default();
        let device = DeviceInfo::new(&TerminalConfig { sn: config.terminal.sn.clone() }, crate::VERSION);
        device.register(&bridge);

        let s = &config.scanner;
        let backend = if sim {
            Backend::Sim
        } else {
            match s.backend.as_str() {
                "sim" => Backend::Sim,
                "serial" => Backend::Serial { port: s.port.clone().unwrap_or_default(), baud: s.baud },
                _ => Backend::None,
            }
        };
        let (wedge, burst) = inputs_config::wedge(config);
        let scanner = Scanner::start(
            ScannerConfig { backend, default_timeout: Duration::from_millis(s.timeout_ms.max(1000)), wedge, burst },
            bridge.bus(),
        );
        scanner.register(&bridge);
        let smartcard = SmartCard::start(smartcard_config(config, sim), bridge.bus());
        smartcard.register(&bridge);
        let sims = SimRegistry::default();
        scanner.register_sim(&sims);

        let idcard = IdCard::start(inputs_config::idcard(config, sim), bridge.bus());
        idcard.register(&bridge);
        idcard.register_sim(&sims);
        let id_entry = IdEntry::new(Duration::from_millis(config.idcard.id_number_timeout_ms));
        id_entry.register(&bridge);
        let presence = Presence::start(inputs_config::presence(config, sim), bridge.bus());
        presence.register(&bridge);
        presence.register_sim(&sims);
        let pos = Pos::start(inputs_config::pos(config, sim));
        pos.register(&bridge);
        pos.register_sim(&sims);
        let keypad = Keypad::start(inputs_config::keypad(config, sim), bridge.bus());
        keypad.register(&bridge);
        keypad.register_sim(&sims);
        smartcard.register_sim(&sims);
        let display = Display::new();
        display.register(&bridge);
        let shell = booth_session::ShellApis::new(config.kiosk.operation_timeout());
        shell.register(&bridge);
        let (camera, face) = face(config, sim, &device, &bridge, &sims);
        Devices {
            bridge,
            sims,
            device,
            scanner,
            idcard,
            id_entry,
            presence,
            pos,
            keypad,
            smartcard,
            shell,
            display,
            camera,
            face,
        }
    }

    /// Every device's backend and availability, for `/health`.
    pub fn status(&self) -> Value {
        json!({
            "scanner": self.scanner.status(),
            "idcard": self.idcard.status(),
            "presence": self.presence.status(),
            "pos": self.pos.status(),
            "keypad": self.keypad.status(),
            "smartcard": self.smartcard.status(),
            "camera": self.camera.status(),
            "face": self.face.status(),
        })
    }

    /// The admin screen's self-test of one device: its backend must be up, and an input device
    /// must then produce an input within `wait` (scan a code, place an ID card, press a key,
    /// stand in front of the sensor). Devices without inputs report their port or readers.
    pub fn self_test(&self, name: &str, wait: Duration) -> Value {
        let status = self.status();
        let Some(s) = status.get(name) else { return json!({"ok": false, "detail": format!("no device `{name}`")}) };
        if s["backend"] == "none" {
            return json!({"ok": false, "detail": "not configured"});
        }
        if s["available"] != true {
            return json!({"ok": false, "detail": s["detail"]});
        }
        let (topics, ask): (&[&str], &str) = match name {
            "scanner" => (&[booth_scanner::TOPIC_CODE], "scan a code"),
            "idcard" => (&[booth_idcard::TOPIC_CARD], "place an ID card"),
            "presence" => (&[booth_presence::TOPIC_SENSOR], "stand in front of the sensor"),
            "keypad" => (&[booth_keypad::TOPIC_KEY], "press a key"),
            _ => return json!({"ok": true, "detail": s["detail"], "status": s}),
        };
        let mut events = self.bridge.bus().subscribe();
        let deadline = std::time::Instant::now() + wait;
        loop {
            match events.try_recv() {
                Ok(ev) if topics.contains(&ev.topic) => {
                    return json!({"ok": true, "detail": format!("{} received", ev.topic), "event": ev.payload});
                }
                Ok(_) | Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::TryRecvError::Empty) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(_) => {
                    return json!({"ok": false, "detail": format!("nothing received in {} s ({ask} during the test)", wait.as_secs())});
                }
            }
        }
    }
}

/// The camera and the face capability from `[camera]` and `[face]` (checked when booth.toml was
/// read). The simulated camera starts with the first sample photo of the face models' setup, if
/// there is one.
fn face(
    config: &Config,
    sim: bool,
    device: &DeviceInfo,
    bridge: &Bridge,
    sims: &SimRegistry,
) -> (booth_camera::Camera, Arc<booth_face::FaceService>) {
    let camera_config = config.camera.to_config(sim).unwrap_or_else(|e| {
        tracing::warn!(%e, "[camera] ignored");
        booth_camera::CameraConfig::default()
    });
    let camera = booth_camera::Camera::new(camera_config);
    let data = dirs::data_local_dir().unwrap_or_else(|| std::path::PathBuf::from("."));
    let conf = dirs::config_dir().unwrap_or_else(|| std::path::PathBuf::from("."));
    let face_config = config.face.resolve(&data, &conf, device.serial()).unwrap_or_else(|e| {
        tracing::warn!(%e, "[face] ignored");
        booth_face::FaceSection::default().resolve(&data, &conf, device.serial()).expect("the defaults are valid")
    });
    match camera.sim() {
        Some(s) => {
            let sample = face_config.models_dir.parent().map(|d| d.join("samples").join("obama.jpg"));
            if let Some(frame) =
                sample.and_then(|p| std::fs::read(p).ok()).and_then(|b| booth_camera::Frame::decode(&b).ok())
            {
                s.set_picture(frame);
            }
            sims.register(Arc::new(booth_camera::sim::CameraSim(s.clone())));
        }
        None => sims.note_real(booth_camera::sim::SIM_ID, camera.status().backend),
    }
    let face = booth_face::FaceService::new(face_config, camera.clone());
    face.register(bridge);
    face.watch_id_cards(&bridge.bus());
    (camera, face)
}

/// `[smartcard]` as the plugin takes it.
pub fn smartcard_config(config: &Config, sim: bool) -> SmartCardConfig {
    let c = &config.smartcard;
    let backend = match c.backend.as_str() {
        _ if sim => booth_smartcard::Backend::Sim,
        "pcsc" => booth_smartcard::Backend::Pcsc,
        "sim" => booth_smartcard::Backend::Sim,
        _ => booth_smartcard::Backend::None,
    };
    SmartCardConfig {
        backend,
        readers: booth_smartcard::roles::RolePatterns {
            card: c.card_reader.clone(),
            psam1: c.psam1_reader.clone(),
            psam2: c.psam2_reader.clone(),
        },
        default_interval: Duration::from_millis(c.interval_ms),
        sscard_timeout: Duration::from_millis(c.sscard_timeout_ms),
        t0_help: c.t0_help,
    }
}
