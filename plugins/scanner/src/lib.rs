//! Booth's QR / barcode scanner: seed 000's `getQRCode` (one-shot) and `my.on('initQRListener')`
//! (continuous).
//!
//! Backends: `serial` (a scanner in serial / USB-CDC mode: one line = one code, read by a
//! thread that reopens the port by itself after an unplug) and `sim` (codes injected through the
//! control endpoint). Keyboard-wedge scanners ([`wedge`]) add codes from key bursts in the page
//! or from their own keyboard device, next to either backend.
//!
//! Every code also reaches seed 001's `wxfaceapp.onCodePayEvent` in the pages that declared
//! `wxfaceapp.listenCodePayment`.

mod serial;
pub mod wedge;

use booth_bridge::sim::{Action, Field, SimDevice, SimError};
use booth_bridge::{handler, ApiError, Bridge, Dialect, Done, EventBus, SessionId, SimRegistry};
use serde::Serialize;
use serde_json::Map;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use std::time::Instant;
pub use wedge::{Burst, Wedge};

/// Event topic of a scanned code; payload `{"code": "…"}`.
pub const TOPIC_CODE: &str = "scanner.code";
/// Event topic of availability changes; payload `{"available": bool, "detail": "…"}`.
pub const TOPIC_STATUS: &str = "scanner.status";
/// Event topic of a code for one page that called listenCodePayment; payload
/// `{"replyCode": "0", "reply": "code payment happens", "code": "…"}` (seed 001).
pub const TOPIC_CODEPAY: &str = "scanner.codepay";
/// The same code from the page and from the wedge device within this window is one scan.
const SAME_SCAN: Duration = Duration::from_millis(500);
/// Longest code accepted, in bytes; longer lines are dropped as line noise.
pub const MAX_CODE_BYTES: usize = 4096;
/// `getQRCode`'s `params.timeout` bounds (milliseconds).
pub const TIMEOUT_RANGE_MS: std::ops::RangeInclusive<i64> = 1000..=120_000;

/// Which scanner the terminal has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// No scanner configured: calls answer `DEVICE_UNAVAILABLE`.
    None,
    /// Codes come from the control endpoint or the simulator panel.
    Sim,
    /// A serial scanner: each line (CR, LF or CRLF) is one code.
    Serial { port: String, baud: u32 },
}

#[derive(Debug, Clone)]
pub struct ScannerConfig {
    pub backend: Backend,
    /// How long `getQRCode` waits when the page gives no `params.timeout`.
    pub default_timeout: Duration,
    /// Keyboard-wedge scanners.
    pub wedge: Wedge,
    pub burst: Burst,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        ScannerConfig {
            backend: Backend::None,
            default_timeout: Duration::from_secs(15),
            wedge: Wedge::Off,
            burst: Burst::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub backend: &'static str,
    pub available: bool,
    pub detail: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScannerError {
    #[error("the scanner is not simulated (backend: {0})")]
    NotSimulated(&'static str),
    #[error("a code must be 1 to {MAX_CODE_BYTES} bytes without line breaks")]
    InvalidCode,
    #[error("keyboard-wedge scans are off ([scanner] wedge)")]
    WedgeOff,
}

/// State shared with the serial reader thread.
pub(crate) struct Shared {
    pub bus: EventBus,
    pub status: Mutex<Status>,
    pub stop: AtomicBool,
    /// Pages that called listenCodePayment.
    pub codepay: Mutex<HashSet<SessionId>>,
    /// The last wedge scan, to count a code seen by the page and the device once.
    pub last_wedge: Mutex<Option<(Instant, String, bool)>>,
}

impl Shared {
    pub(crate) fn set_status(&self, available: bool, detail: String) {
        let changed = {
            let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
            let changed = s.available != available || s.detail != detail;
            s.available = available;
            s.detail = detail.clone();
            changed
        };
        if changed {
            if available {
                tracing::info!(%detail, "scanner available");
            } else {
                tracing::warn!(%detail, "scanner unavailable");
            }
            self.bus.publish(TOPIC_STATUS, json!({"available": available, "detail": detail}));
        }
    }

    pub(crate) fn emit(&self, code: &str) {
        tracing::debug!(code, "scanned");
        self.bus.publish(TOPIC_CODE, json!({ "code": code }));
        let pages: Vec<SessionId> = self.codepay.lock().unwrap_or_else(|p| p.into_inner()).iter().copied().collect();
        for s in pages {
            let payload = json!({"replyCode": "0", "reply": "code payment happens", "code": code});
            if !self.bus.publish_to(s, TOPIC_CODEPAY, payload) {
                self.codepay.lock().unwrap_or_else(|p| p.into_inner()).remove(&s);
            }
        }
    }

    /// A keyboard-wedge scan, from the page (`from_page`) or the device.
    pub(crate) fn wedge(&self, code: &str, from_page: bool) {
        {
            let mut last = self.last_wedge.lock().unwrap_or_else(|p| p.into_inner());
            let twice = matches!(&*last, Some((t, c, p)) if c == code && *p != from_page && t.elapsed() < SAME_SCAN);
            *last = if twice { None } else { Some((Instant::now(), code.to_string(), from_page)) };
            if twice {
                return;
            }
        }
        self.emit(code);
    }
}

pub struct Scanner {
    config: ScannerConfig,
    shared: Arc<Shared>,
    /// The wedge device's availability, when one is configured.
    wedge_health: Option<Arc<booth_keyboard::Health>>,
}

impl Scanner {
    /// Starts the backend (the serial reader thread, if any).
    pub fn start(config: ScannerConfig, bus: EventBus) -> Arc<Self> {
        let (name, available, detail) = match &config.backend {
            Backend::None => ("none", false, "未配置扫码器 (booth.toml [scanner])".to_string()),
            Backend::Sim => ("sim", true, "simulated".to_string()),
            Backend::Serial { port, .. } => ("serial", false, format!("{port}: 尚未打开")),
        };
        let shared = Arc::new(Shared {
            bus,
            status: Mutex::new(Status { backend: name, available, detail }),
            stop: AtomicBool::new(false),
            codepay: Mutex::default(),
            last_wedge: Mutex::new(None),
        });
        if let Backend::Serial { port, baud } = &config.backend {
            serial::spawn(port.clone(), *baud, shared.clone());
        }
        let wedge_health = match &config.wedge {
            Wedge::Device(spec) => {
                let health = booth_keyboard::Health::new(
                    booth_keyboard::Status {
                        backend: booth_keyboard::BACKEND,
                        available: false,
                        detail: format!("{}: 尚未打开", spec.0),
                    },
                    |_| {},
                );
                let mut assembler = wedge::Assembler::new(config.burst);
                let weak = Arc::downgrade(&shared);
                let stop = booth_keyboard::Stop::default();
                booth_keyboard::spawn(spec.clone(), health.clone(), stop, move |ev| {
                    if let (Some(code), Some(shared)) = (assembler.key(ev), weak.upgrade()) {
                        shared.wedge(&code, false);
                    }
                });
                Some(health)
            }
            Wedge::Off | Wedge::Page => None,
        };
        Arc::new(Scanner { config, shared, wedge_health })
    }

    /// The backend's status; a keyboard-wedge source makes the scanner available too.
    pub fn status(&self) -> Status {
        let mut s = self.shared.status.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match (&self.config.wedge, &self.wedge_health) {
            (Wedge::Page, _) => {
                s.available = true;
                s.detail = format!("{}; keyboard wedge: page", s.detail);
            }
            (Wedge::Device(_), Some(h)) => {
                let w = h.get();
                s.available |= w.available;
                s.detail = format!("{}; keyboard wedge: {}", s.detail, w.detail);
            }
            _ => {}
        }
        s
    }

    /// The burst rule the page applies, when page wedge scans are on.
    pub fn page_wedge(&self) -> Option<Burst> {
        matches!(self.config.wedge, Wedge::Page | Wedge::Device(_)).then_some(self.config.burst)
    }

    /// A keyboard-wedge scan the page recognised.
    pub fn page_scan(&self, code: &str) -> Result<(), ScannerError> {
        if self.page_wedge().is_none() {
            return Err(ScannerError::WedgeOff);
        }
        if code.is_empty() || code.len() > MAX_CODE_BYTES || code.contains(['\r', '\n']) {
            return Err(ScannerError::InvalidCode);
        }
        self.shared.wedge(code, true);
        Ok(())
    }

    /// Makes the simulated scanner read `code`.
    pub fn inject(&self, code: &str) -> Result<(), ScannerError> {
        if self.config.backend != Backend::Sim {
            return Err(ScannerError::NotSimulated(self.status().backend));
        }
        if code.is_empty() || code.len() > MAX_CODE_BYTES || code.contains(['\r', '\n']) {
            return Err(ScannerError::InvalidCode);
        }
        self.shared.emit(code);
        Ok(())
    }

    /// Puts the scanner in the simulator registry: its simulator when the backend is `sim`,
    /// otherwise a note that it is real.
    pub fn register_sim(self: &Arc<Self>, sims: &SimRegistry) {
        match self.config.backend {
            Backend::Sim => sims.register(Arc::new(ScannerSim(self.clone()))),
            _ => sims.note_real(SIM_ID, self.status().backend),
        }
    }

    /// Stops the serial reader (it also stops when the last `Scanner` handle is dropped).
    pub fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }

    /// Registers getQRCode and the initQRListener event.
    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        let me = self.clone();
        let limit = Duration::from_millis(*TIMEOUT_RANGE_MS.end() as u64) + Duration::from_secs(5);
        bridge.register(
            Dialect::My,
            "getQRCode",
            Some(limit),
            handler(move |ctx, params| {
                let me = me.clone();
                async move {
                    // `event: "close"` cancels this page's pending getQRCode calls.
                    if ctx.event == "close" {
                        ctx.session.cancel_group("getQRCode");
                        return Ok(Done::from(json!({})).message("关闭成功"));
                    }
                    // Join the cancel group first, so a close call racing this one still reaches it.
                    let cancel = ctx.session.group_token("getQRCode");
                    let timeout = params
                        .int_in("timeout", TIMEOUT_RANGE_MS)?
                        .map(|ms| Duration::from_millis(ms as u64))
                        .unwrap_or(me.config.default_timeout);
                    // Subscribe before looking at the status so that no code slips between the two.
                    let rx = ctx.bus.subscribe();
                    let status = me.status();
                    if !status.available {
                        return Err(ApiError::unavailable(status.detail));
                    }
                    booth_bridge::wait_for_event(rx, timeout, &cancel, "扫码器已停止", |ev| {
                        if ev.topic == TOPIC_CODE {
                            let code = ev.payload.get("code").cloned().unwrap_or(Value::Null);
                            return Some(Ok(Done::from(json!({ "qrCode": code }))));
                        }
                        // A wedge-only scanner stays available when its keyboard device goes.
                        booth_bridge::device_gone(ev, TOPIC_STATUS).filter(|_| !me.status().available).map(Err)
                    })
                    .await
                }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::Wxfaceapp,
            "listenCodePayment",
            None,
            handler(move |ctx, _params| {
                let me = me.clone();
                async move {
                    // A declaration only: seed 001 documents no error for it.
                    me.shared.codepay.lock().unwrap_or_else(|p| p.into_inner()).insert(ctx.session.id());
                    Ok(Done::from(json!({"replyCode": "0", "reply": "success"})))
                }
            }),
        );
        bridge.register_event(
            Dialect::Wxfaceapp,
            "onCodePayEvent",
            TOPIC_CODEPAY,
            Arc::new(|p: &Value| Some(p.clone())),
        );
        bridge.register_event(
            Dialect::My,
            "initQRListener",
            TOPIC_CODE,
            Arc::new(|p: &Value| Some(json!({ "qrCode": p.get("code")? }))),
        );
    }
}

/// The simulator's id: `POST /sim/scanner/scan {"code": "…"}`.
pub const SIM_ID: &str = "scanner";

struct ScannerSim(Arc<Scanner>);

impl SimDevice for ScannerSim {
    fn id(&self) -> &'static str {
        SIM_ID
    }
    fn label(&self) -> &'static str {
        "扫码器 Scanner"
    }
    fn actions(&self) -> Vec<Action> {
        vec![Action::new("scan", "扫码 Scan", vec![Field::text("code", "码值 Code", "").required()])]
    }
    fn state(&self) -> Value {
        json!(self.0.status())
    }
    fn act(&self, action: &str, args: &Map<String, Value>) -> Result<Value, SimError> {
        debug_assert_eq!(action, "scan");
        let code = args.get("code").and_then(Value::as_str).unwrap_or_default();
        match self.0.inject(code) {
            Ok(()) => Ok(json!({ "code": code })),
            Err(e) => Err(SimError::InvalidArgs(e.to_string())),
        }
    }
}

impl Drop for Scanner {
    fn drop(&mut self) {
        self.shutdown();
    }
}
