//! Room `devices`: the capabilities. Builds the bridge and every capability plugin from
//! booth.toml ([`configs`] turns its sections into plugin configurations), and reports their
//! status (`/health`, `booth doctor`) and self-tests (the admin screen).
//!
//! Must not import: the windows (`shell`), IPC (`ipc`), the CLI or `app`. A capability that needs
//! a window defines a host trait in its plugin crate; the shell implements it and `app` connects
//! the two.

pub mod configs;
pub mod storage;

use crate::config::Config;
use booth_audio::Audio;
use booth_bridge::{Bridge, SimRegistry};
use booth_device::{DeviceInfo, TerminalConfig};
use booth_display::Display;
use booth_idcard::entry::IdEntry;
use booth_idcard::IdCard;
use booth_keypad::Keypad;
use booth_pos::Pos;
use booth_presence::Presence;
use booth_printer::Printer;
use booth_scanner::{Backend, Scanner, ScannerConfig};
use booth_smartcard::SmartCard;
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
    /// The receipt printer.
    pub printer: Arc<Printer>,
    /// The second screen (the app connects its window).
    pub display: Arc<Display>,
    /// deviceConfig, the operation watcher and exitMp (the app connects its windows).
    pub shell: Arc<booth_session::ShellApis>,
    /// Speech, the buzzer and the microphone.
    pub audio: Arc<Audio>,
    /// The camera's one owner in Booth.
    pub camera: booth_camera::Camera,
    /// initFace, getFaceInfo, getFaceInfoPersonCard, doStorageFaceInfo (the app connects the
    /// face screen).
    pub face: Arc<booth_face::FaceService>,
    /// launchMp, postMsg and onRemoteMessage (the app connects its windows and catalogue).
    pub apps: Arc<booth_apps::TwoScreens>,
    /// open-certify (the app connects its window and the package's origins).
    pub certify: Arc<booth_certify::Certify>,
    /// ft.webrtc: native peer connections fed by the camera (Linux; WebView2 has its own).
    #[cfg(target_os = "linux")]
    pub webrtc: Arc<booth_webrtc::WebRtc>,
    /// The identity provider of `[provider]` (`booth-provider/v1`), if one is configured.
    pub provider: Option<Arc<booth_provider_client::Provider>>,
    /// Seed 001's payments and the terminal's payment journal.
    pub payment: Arc<booth_payment::PaymentService>,
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
        let (wedge, burst) = configs::wedge(config);
        let scanner = Scanner::start(
            ScannerConfig { backend, default_timeout: Duration::from_millis(s.timeout_ms.max(1000)), wedge, burst },
            bridge.bus(),
        );
        scanner.register(&bridge);
        let smartcard = SmartCard::start(configs::smartcard(config, sim), bridge.bus());
        smartcard.register(&bridge);
        let sims = SimRegistry::default();
        scanner.register_sim(&sims);

        let idcard = IdCard::start(configs::idcard(config, sim), bridge.bus());
        idcard.register(&bridge);
        idcard.register_sim(&sims);
        let id_entry = IdEntry::new(Duration::from_millis(config.idcard.id_number_timeout_ms));
        id_entry.register(&bridge);
        let presence = Presence::start(configs::presence(config, sim), bridge.bus());
        presence.register(&bridge);
        presence.register_sim(&sims);
        let pos = Pos::start(configs::pos(config, sim));
        pos.register(&bridge);
        pos.register_sim(&sims);
        let keypad = Keypad::start(configs::keypad(config, sim), bridge.bus());
        keypad.register(&bridge);
        keypad.register_sim(&sims);
        smartcard.register_sim(&sims);
        let printer = Printer::start(configs::printer(config, sim));
        printer.register(&bridge);
        printer.register_sim(&sims);
        let display = Display::new();
        display.register(&bridge);
        let shell = booth_session::ShellApis::new(config.kiosk.operation_timeout());
        shell.register(&bridge);
        let audio = Audio::start(&config.speech, &config.buzzer, &config.microphone, sim, bridge.bus());
        audio.register(&bridge);
        audio.register_sim(&sims);
        let (camera, face) = face(config, sim, &device, &bridge, &sims);
        let certify = booth_certify::Certify::new(sim, Some(camera.clone()));
        certify.register(&bridge);
        match certify.sim() {
            Some(s) => sims.register(Arc::new(booth_certify::sim::CertifySim(s))),
            None => sims.note_real(booth_certify::sim::SIM_ID, "window"),
        }
        #[cfg(target_os = "linux")]
        let webrtc = {
            let w = booth_webrtc::WebRtc::new(camera.clone(), config.webrtc.to_config());
            let data = dirs::data_local_dir().unwrap_or_else(|| std::path::PathBuf::from(".")).join("booth");
            w.set_witness(config.witness.clone(), &data);
            if sim {
                w.simulate_witness(&sims);
            } else {
                sims.note_real(booth_webrtc::witness_sim::SIM_ID, "janus");
            }
            w.register(&bridge);
            w
        };
        let apps = booth_apps::TwoScreens::new(&bridge);
        apps.register(&bridge);
        let provider = provider(config, sim, &sims);
        if let Some(p) = &provider {
            face.set_provider(p.clone());
        }
        let payment = payment(config, provider.as_ref(), &face, &pos, &sims);
        payment.register(&bridge);
        payment.connect_login();
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
            printer,
            shell,
            display,
            audio,
            camera,
            face,
            apps,
            certify,
            #[cfg(target_os = "linux")]
            webrtc,
            provider,
            payment,
        }
    }

    /// What the page-side inputs script needs: the keypad's PC keys (for pages that may use
    /// wxfaceapp) and the keyboard-wedge rule (when the scanner takes bursts from the page).
    pub fn page_inputs(&self, package: &booth_miniapp_host::Package) -> booth_miniapp_host::runtime::InputsConfig {
        use booth_miniapp_host::runtime::{InputsConfig, WedgeConfig};
        let wx = package.manifest.dialect_set().contains(&booth_bridge::Dialect::Wxfaceapp);
        InputsConfig {
            keys: if wx { self.keypad.page_keys() } else { Vec::new() },
            wedge: self
                .scanner
                .page_wedge()
                .map(|b| WedgeConfig { min_length: b.min_length, max_gap_ms: b.max_gap_ms }),
        }
    }

    /// The bridge for `/health`: open sessions, their subscriptions, calls not yet answered, and
    /// the plugin panics it contained with the last one's plugin, API and local time (RFC 3339).
    /// Never a panic's message or anything a page sent.
    pub fn bridge_health(&self) -> Value {
        let stats = self.bridge.stats();
        let last = booth_bridge::guard::last().map(|p| {
            json!({
                "plugin": p.plugin,
                "api": p.api,
                "kind": p.kind,
                "at": chrono::DateTime::<chrono::Local>::from(p.at).to_rfc3339(),
            })
        });
        json!({
            "sessions": stats.sessions,
            "subscriptions": stats.subscriptions,
            "callsInFlight": stats.calls_in_flight,
            "panicsContained": booth_bridge::guard::contained(),
            "lastPanic": last,
        })
    }

    /// Every device's backend and availability, for `/health`.
    pub fn status(&self) -> Value {
        let mut status = json!({
            "scanner": self.scanner.status(),
            "idcard": self.idcard.status(),
            "presence": self.presence.status(),
            "pos": self.pos.status(),
            "keypad": self.keypad.status(),
            "smartcard": self.smartcard.status(),
            "printer": self.printer.status(),
            "camera": self.camera.status(),
            "face": self.face.status(),
            "payment": self.payment.status(),
        });
        if let (Value::Object(map), Some(p)) = (&mut status, &self.provider) {
            map.insert("provider".into(), p.status());
        }
        if let (Value::Object(map), Value::Object(sound)) = (&mut status, self.audio.status()) {
            map.extend(sound);
        }
        #[cfg(target_os = "linux")]
        if let Value::Object(map) = &mut status {
            map.insert("webrtc".into(), self.webrtc.status());
        }
        status
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
        if matches!(name, "speech" | "buzzer" | "microphone") {
            // A tone through the output, then the microphone's level.
            return self.audio.self_test();
        }
        if s["available"] != true {
            return json!({"ok": false, "detail": s["detail"]});
        }
        if name == "printer" {
            // The printer's test is a receipt: it prints (or says why not).
            return match self.printer.print_blocking(Some(self.printer.test_receipt())) {
                Ok(p) => json!({"ok": true, "detail": format!("测试小票已打印 test receipt printed ({})", p.detail)}),
                Err(e) => json!({"ok": false, "detail": e.to_string()}),
            };
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

/// The identity provider from `[provider]` (checked when booth.toml was read); `sim` (or
/// `backend = "sim"`) answers in-process with the outcome chosen in the simulator panel.
fn provider(config: &Config, sim: bool, sims: &SimRegistry) -> Option<Arc<booth_provider_client::Provider>> {
    let section = if sim {
        booth_provider_client::ProviderSection { backend: "sim".into(), ..config.provider.clone() }
    } else {
        config.provider.clone()
    };
    let resolved = section.resolve().unwrap_or_else(|e| {
        tracing::warn!(%e, "[provider] ignored");
        booth_provider_client::ProviderConfig::None
    });
    let provider = booth_provider_client::Provider::from_config(&resolved, None)?;
    match provider.sim() {
        Some(s) => sims.register(Arc::new(booth_provider_client::sim::ProviderSim(s))),
        None => sims.note_real(booth_provider_client::sim::SIM_ID, provider.backend_name()),
    }
    Some(provider)
}

/// Payments from `[payment]`: through the provider's `/v1/pay/*`, or the payment simulator when
/// the provider is simulated (its journal is then `journal-sim.log`, apart from real money).
fn payment(
    config: &Config,
    provider: Option<&Arc<booth_provider_client::Provider>>,
    face: &Arc<booth_face::FaceService>,
    pos: &Arc<Pos>,
    sims: &SimRegistry,
) -> Arc<booth_payment::PaymentService> {
    let data = dirs::data_local_dir().unwrap_or_else(|| std::path::PathBuf::from("."));
    let section = config.payment.clone();
    let mut resolved = section.resolve(&data, face.terminal()).unwrap_or_else(|e| {
        tracing::warn!(%e, "[payment] ignored");
        booth_payment::PaymentSection::default().resolve(&data, face.terminal()).expect("the defaults are valid")
    });
    let gateway: Option<Arc<dyn booth_payment::gateway::Gateway>> = match provider {
        Some(p) if p.sim().is_some() => {
            let sim = Arc::new(booth_payment::sim::SimGateway::default());
            sims.register(Arc::new(booth_payment::sim::PaymentSim(sim.clone())));
            resolved.journal = resolved.journal.with_file_name("journal-sim.log");
            Some(sim)
        }
        Some(p) => {
            sims.note_real(booth_payment::sim::SIM_ID, "provider");
            Some(Arc::new(booth_payment::provider::ProviderGateway(p.clone())))
        }
        None => None,
    };
    let journal = booth_payment::Journal::open(&resolved.journal).unwrap_or_else(|e| {
        tracing::error!(%e, "payments refused: the journal cannot be opened");
        booth_payment::Journal::unavailable(&resolved.journal)
    });
    booth_payment::PaymentService::new(resolved, Arc::new(journal), gateway, face.clone(), Some(pos.clone()))
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
    face.watch_id_cards(bridge);
    face.watch_applet_resets(bridge);
    (camera, face)
}
