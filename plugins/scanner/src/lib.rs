//! Booth's QR / barcode scanner: seed 000's `getQRCode` (one-shot) and `my.on('initQRListener')`
//! (continuous).
//!
//! Backends: `serial` (a scanner in serial / USB-CDC mode: one line = one code, read by a
//! thread that reopens the port by itself after an unplug) and `sim` (codes injected through the
//! control endpoint). Not for: keyboard-wedge scanners (they need the page's key events).

mod serial;

use booth_bridge::sim::{Action, Field, SimDevice, SimError};
use booth_bridge::{handler, ApiError, Bridge, Dialect, Done, ErrorCode, EventBus, SimRegistry};
use serde::Serialize;
use serde_json::Map;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Event topic of a scanned code; payload `{"code": "…"}`.
pub const TOPIC_CODE: &str = "scanner.code";
/// Event topic of availability changes; payload `{"available": bool, "detail": "…"}`.
pub const TOPIC_STATUS: &str = "scanner.status";
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
}

impl Default for ScannerConfig {
    fn default() -> Self {
        ScannerConfig { backend: Backend::None, default_timeout: Duration::from_secs(15) }
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
}

/// State shared with the serial reader thread.
pub(crate) struct Shared {
    pub bus: EventBus,
    pub status: Mutex<Status>,
    pub stop: AtomicBool,
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
    }
}

pub struct Scanner {
    config: ScannerConfig,
    shared: Arc<Shared>,
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
        });
        if let Backend::Serial { port, baud } = &config.backend {
            serial::spawn(port.clone(), *baud, shared.clone());
        }
        Arc::new(Scanner { config, shared })
    }

    pub fn status(&self) -> Status {
        self.shared.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
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
                    let mut rx = ctx.bus.subscribe();
                    let status = me.status();
                    if !status.available {
                        return Err(ApiError::unavailable(status.detail));
                    }
                    let wait = async {
                        loop {
                            match rx.recv().await {
                                Ok(ev) if ev.topic == TOPIC_CODE => {
                                    let code = ev.payload.get("code").cloned().unwrap_or(Value::Null);
                                    return Ok(Done::from(json!({ "qrCode": code })));
                                }
                                Ok(ev)
                                    if ev.topic == TOPIC_STATUS
                                        && ev.payload.get("available") == Some(&Value::Bool(false)) =>
                                {
                                    let detail =
                                        ev.payload.get("detail").and_then(Value::as_str).unwrap_or("").to_string();
                                    return Err(ApiError::unavailable(detail));
                                }
                                Ok(_) | Err(RecvError::Lagged(_)) => continue,
                                Err(RecvError::Closed) => return Err(ApiError::unavailable("扫码器已停止")),
                            }
                        }
                    };
                    tokio::select! {
                        r = wait => r,
                        _ = tokio::time::sleep(timeout) => Err(ApiError::bare(ErrorCode::Timeout)),
                        _ = cancel.cancelled() => Err(ApiError::bare(ErrorCode::Cancelled)),
                    }
                }
            }),
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
