//! Booth's infrared presence sensor (seed 000): `startInfraredInductionListener
//! {intervalTime}` (2000–5000 ms, default 3000), `stopInfraredInductionListener`, and
//! `my.on('initInfraredInductionListener')` receiving `{inductionCode: "1" | "0"}` every
//! `intervalTime` for the page that started it.
//!
//! `inductionCode` is "1" when someone was in front of the sensor at any moment since the
//! previous report (a person passing between two reports is not missed), "0" otherwise. It is
//! a string, as seed 000's example shows it.
//!
//! Backends: `serial` (a configurable line protocol, see [`LineProtocol`]) and `sim`. Not for:
//! cameras or face detection.

use booth_bridge::sim::{Action, SimDevice, SimError};
use booth_bridge::{handler, ApiError, Bridge, Dialect, Done, EventBus, SessionId, SimRegistry};
/// Configured byte strings (queries, suffixes) are written with escapes in booth.toml.
pub use booth_serial_io::unescape;
pub use booth_serial_io::Status;
use booth_serial_io::{read_lines, supervise, Health, PortSpec, Stop};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Event topic of one report to one page; payload `{"inductionCode": "1"}`.
pub const TOPIC_REPORT: &str = "presence.report";
/// Event topic of sensor changes; payload `{"present": bool}`.
pub const TOPIC_SENSOR: &str = "presence.sensor";
/// Seed 000's range for `intervalTime`.
pub const INTERVAL_RANGE_MS: std::ops::RangeInclusive<i64> = 2000..=5000;
pub const DEFAULT_INTERVAL_MS: i64 = 3000;
pub const SIM_ID: &str = "presence";

/// What the sensor says on its serial line. Each line (CR, LF or CRLF) is compared, trimmed,
/// with `present` and `absent`; other lines are ignored. Sensors that only answer when asked
/// get `query` written every `query_every`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProtocol {
    pub present: String,
    pub absent: String,
    /// Bytes to send to ask for the state (`\r`, `\n`, `\xNN` escapes allowed); `None`: the
    /// sensor reports changes by itself.
    pub query: Option<String>,
    pub query_every: Duration,
}

impl Default for LineProtocol {
    fn default() -> Self {
        LineProtocol { present: "1".into(), absent: "0".into(), query: None, query_every: Duration::from_millis(500) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    None,
    Sim,
    Serial { port: String, baud: u32, protocol: LineProtocol },
}

struct Listener {
    cancel: CancellationToken,
    /// Someone was present since the last report.
    seen: Arc<AtomicBool>,
}

pub struct Presence {
    backend: Backend,
    health: Arc<Health>,
    stop: Stop,
    bus: EventBus,
    present: AtomicBool,
    listeners: Mutex<HashMap<SessionId, Listener>>,
}

impl Presence {
    pub fn start(backend: Backend, bus: EventBus) -> Arc<Presence> {
        let (name, available, detail) = match &backend {
            Backend::None => ("none", false, "未配置红外感应器 (booth.toml [presence])".to_string()),
            Backend::Sim => ("sim", true, "simulated".to_string()),
            Backend::Serial { port, .. } => ("serial", false, format!("{port}: 尚未打开")),
        };
        let health = Health::new(Status { backend: name, available, detail }, |_| {});
        let me = Arc::new(Presence {
            backend: backend.clone(),
            health: health.clone(),
            stop: Stop::default(),
            bus,
            present: AtomicBool::new(false),
            listeners: Mutex::default(),
        });
        if let Backend::Serial { port, baud, protocol } = backend {
            let weak = Arc::downgrade(&me);
            let query = protocol.query.as_deref().map(unescape);
            supervise("presence", PortSpec::new(port, baud), health, me.stop.clone(), move |dev, stop| {
                // A new connection knows nothing yet: nobody is there until the sensor says so.
                if let Some(p) = weak.upgrade() {
                    p.set_present(false);
                }
                let mut writer = match dev.try_clone() {
                    Ok(w) => w,
                    Err(e) => return e.to_string(),
                };
                let mut last_query: Option<Instant> = None;
                let weak2 = weak.clone();
                read_lines(
                    dev.as_mut(),
                    stop,
                    256,
                    |line| {
                        let Some(p) = weak2.upgrade() else { return };
                        if line == protocol.present {
                            p.set_present(true);
                        } else if line == protocol.absent {
                            p.set_present(false);
                        } else {
                            tracing::debug!(line, "presence sensor: line ignored");
                        }
                    },
                    || {
                        let Some(q) = &query else { return Ok(()) };
                        if last_query.is_some_and(|t| t.elapsed() < protocol.query_every) {
                            return Ok(());
                        }
                        last_query = Some(Instant::now());
                        writer.write_all(q).and_then(|()| writer.flush()).map_err(|e| e.to_string())
                    },
                )
            });
        }
        me
    }

    pub fn status(&self) -> Status {
        self.health.get()
    }

    pub fn present(&self) -> bool {
        self.present.load(Ordering::Relaxed)
    }

    fn set_present(&self, present: bool) {
        let was = self.present.swap(present, Ordering::Relaxed);
        if present {
            for l in self.listeners.lock().unwrap_or_else(|p| p.into_inner()).values() {
                l.seen.store(true, Ordering::Relaxed);
            }
        }
        if was != present {
            tracing::debug!(present, "presence changed");
            self.bus.publish(TOPIC_SENSOR, json!({ "present": present }));
        }
    }

    /// Sets the simulated sensor.
    pub fn simulate(&self, present: bool) -> Result<(), SimError> {
        if self.backend != Backend::Sim {
            return Err(SimError::NotSimulated { device: SIM_ID.into(), backend: self.status().backend.into() });
        }
        self.set_present(present);
        Ok(())
    }

    /// How many pages receive reports (for tests and /health).
    pub fn listening(&self) -> usize {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn stop_listener(&self, session: SessionId) -> bool {
        match self.listeners.lock().unwrap_or_else(|p| p.into_inner()).remove(&session) {
            Some(l) => {
                l.cancel.cancel();
                true
            }
            None => false,
        }
    }

    pub fn shutdown(&self) {
        self.stop.stop();
        for (_, l) in self.listeners.lock().unwrap_or_else(|p| p.into_inner()).drain() {
            l.cancel.cancel();
        }
    }

    pub fn register_sim(self: &Arc<Self>, sims: &SimRegistry) {
        match self.backend {
            Backend::Sim => sims.register(Arc::new(PresenceSim(self.clone()))),
            _ => sims.note_real(SIM_ID, self.status().backend),
        }
    }

    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "startInfraredInductionListener",
            None,
            handler(move |ctx, params| {
                let me = me.clone();
                async move {
                    let interval = params.int_in("intervalTime", INTERVAL_RANGE_MS)?.unwrap_or(DEFAULT_INTERVAL_MS);
                    let status = me.status();
                    if !status.available {
                        return Err(ApiError::unavailable(status.detail));
                    }
                    let session = ctx.session.id();
                    me.stop_listener(session);
                    let cancel = ctx.cancel.child_token();
                    let seen = Arc::new(AtomicBool::new(me.present()));
                    me.listeners
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(session, Listener { cancel: cancel.clone(), seen: seen.clone() });
                    let weak = Arc::downgrade(&me);
                    let bus = ctx.bus.clone();
                    let every = Duration::from_millis(interval as u64);
                    tokio::spawn(async move {
                        let mut next = tokio::time::Instant::now() + every;
                        loop {
                            tokio::select! {
                                _ = tokio::time::sleep_until(next) => {}
                                _ = cancel.cancelled() => break,
                            }
                            next += every;
                            let Some(me) = weak.upgrade() else { break };
                            if !me.health.available() {
                                // No report while the sensor is unplugged; they resume on replug.
                                continue;
                            }
                            let code =
                                if seen.swap(me.present(), Ordering::Relaxed) || me.present() { "1" } else { "0" };
                            if !bus.publish_to(session, TOPIC_REPORT, json!({ "inductionCode": code })) {
                                me.stop_listener(session);
                                break;
                            }
                        }
                    });
                    tracing::info!(session, interval, "presence reports started");
                    Ok(Done::from(json!({})))
                }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "stopInfraredInductionListener",
            None,
            handler(move |ctx, _params| {
                let me = me.clone();
                async move {
                    me.stop_listener(ctx.session.id());
                    Ok(Done::from(json!({})))
                }
            }),
        );
        bridge.register_event(
            Dialect::My,
            "initInfraredInductionListener",
            TOPIC_REPORT,
            Arc::new(|p: &Value| Some(p.clone())),
        );
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct PresenceSim(Arc<Presence>);

impl SimDevice for PresenceSim {
    fn id(&self) -> &'static str {
        SIM_ID
    }
    fn label(&self) -> &'static str {
        "红外感应 Presence sensor"
    }
    fn actions(&self) -> Vec<Action> {
        vec![Action::new("present", "有人 Someone there", vec![]), Action::new("absent", "无人 Nobody", vec![])]
    }
    fn state(&self) -> Value {
        json!({"status": self.0.status(), "present": self.0.present(), "listening": self.0.listening()})
    }
    fn act(&self, action: &str, _args: &Map<String, Value>) -> Result<Value, SimError> {
        let present = action == "present";
        self.0.simulate(present)?;
        Ok(json!({ "present": present }))
    }
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn escapes() {
        assert_eq!(unescape("?\\r\\n"), b"?\r\n");
        assert_eq!(unescape("\\x01\\xfeA"), [1, 0xFE, b'A']);
        assert_eq!(unescape("\\xZZ"), b"\\xZZ");
        assert_eq!(unescape("\\x4"), b"\\x4");
        assert_eq!(unescape("plain"), b"plain");
    }
}
