//! Booth's smart cards: seed 000's CPU card APIs (`startCPUCardLoopRead` / `CPUCardListener`,
//! `stopCPUCardLoopRead`, `readOnceCPUCardInfo`, `sendCPUCardCommand`,
//! `sendCPUCardApduCommands`, `psamCardColdReset`) and social security card APIs
//! (`getSocialSecurityCardInfo`, `socialSecurityCardConfig` / `socialSecurityCardListener`).
//!
//! Backends: `pcsc` (any PC/SC reader: pcsc-lite on Linux, WinSCard on Windows; which reader
//! is the card reader and which are PSAM slots 1 and 2 is decided by [`roles`]) and `sim` (a
//! virtual card driven from the simulator panel, see [`sim`]). Each reader has its own worker
//! thread ([`worker`]): calls to one reader run one at a time, different readers in parallel.
//! A reader or PC/SC service that goes away makes calls answer with the seed's error codes, and
//! everything (loops included) works again by itself when it is back.
//!
//! Not for: contactless-only features outside PC/SC (MIFARE Classic key handling), or PIN
//! entry on the reader's keypad.

pub mod apdu;
mod handlers;
pub mod pcsc_port;
pub mod port;
pub mod roles;
pub mod sim;
pub mod sscard;
mod worker;

use booth_bridge::{Bridge, EventBus, SimRegistry};
use port::CardError;
use roles::{assign, Role, RolePatterns};
use serde::Serialize;
use sim::{CardSim, SimBench, SimPort};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use worker::Worker;

/// Event topic of the CPU card loop; payload `{"nfc_cardInfo": "…", "code": 0 | -1}`.
pub const TOPIC_CPU: &str = "smartcard.cpu";
/// Event topic of the social security listener; payload: [`sscard::SsInfo`].
pub const TOPIC_SSCARD: &str = "smartcard.sscard";
/// How often loops look at the card reader.
pub const PROBE_EVERY: Duration = Duration::from_millis(100);
/// How often the reader list behind `status()` is refreshed.
const STATUS_EVERY: Duration = Duration::from_millis(500);
/// `startCPUCardLoopRead`'s `intervalTime` bounds (milliseconds).
pub const INTERVAL_RANGE_MS: std::ops::RangeInclusive<i64> = 100..=600_000;
/// `getSocialSecurityCardInfo`'s `params.timeout` bounds (milliseconds).
pub const TIMEOUT_RANGE_MS: std::ops::RangeInclusive<i64> = 1000..=120_000;

/// Which smart card hardware the terminal has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// None configured: CPU card calls answer seed code -1, social security calls DEVICE_UNAVAILABLE.
    None,
    /// The simulated reader and PSAM slots.
    Sim,
    /// PC/SC readers.
    Pcsc,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::None => "none",
            Backend::Sim => "sim",
            Backend::Pcsc => "pcsc",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SmartCardConfig {
    pub backend: Backend,
    /// Reader-name patterns per role (`None`: automatic, see [`roles`]).
    pub readers: RolePatterns,
    /// `startCPUCardLoopRead`'s `intervalTime` when the page gives none (seed: 1000 ms).
    pub default_interval: Duration,
    /// How long `getSocialSecurityCardInfo` waits for a card when the page gives no `timeout`.
    pub sscard_timeout: Duration,
    /// Follow `61xx` with GET RESPONSE and resend `6Cxx` with the right Le (T=0 cards).
    pub t0_help: bool,
}

impl Default for SmartCardConfig {
    fn default() -> Self {
        SmartCardConfig {
            backend: Backend::None,
            readers: RolePatterns::default(),
            default_interval: Duration::from_millis(1000),
            sscard_timeout: Duration::from_secs(15),
            t0_help: true,
        }
    }
}

/// A reader PC/SC (or the simulator) reports, with its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReaderInfo {
    pub name: String,
    /// `card`, `psam1`, `psam2`, or `null` for a reader Booth does not use.
    pub role: Option<Role>,
    /// Why it has that role (`pattern "…"`, `auto: …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub how: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub backend: &'static str,
    /// Whether the card reader is there.
    pub available: bool,
    pub detail: String,
    pub readers: Vec<ReaderInfo>,
}

/// The readers with their roles, now (for `booth doctor`).
pub fn readers_with_roles(backend: Backend, patterns: &RolePatterns) -> Result<Vec<ReaderInfo>, String> {
    match backend {
        Backend::None => Ok(Vec::new()),
        Backend::Sim => Ok(sim_readers()),
        Backend::Pcsc => {
            let list = pcsc_port::list_readers().map_err(|e| e.to_string())?;
            Ok(with_roles(&list, patterns))
        }
    }
}

fn with_roles(list: &[String], patterns: &RolePatterns) -> Vec<ReaderInfo> {
    let a = assign(list, patterns);
    list.iter()
        .map(|name| {
            let role = a.role_of(name);
            let how = role.and_then(|r| a.get(r)).map(|c| c.how.clone());
            ReaderInfo { name: name.clone(), role, how }
        })
        .collect()
}

fn sim_readers() -> Vec<ReaderInfo> {
    [
        ("Booth Simulated Card Reader", Role::Card),
        ("Booth Simulated SAM 1", Role::Psam1),
        ("Booth Simulated SAM 2", Role::Psam2),
    ]
    .into_iter()
    .map(|(n, r)| ReaderInfo { name: n.into(), role: Some(r), how: Some("simulated".into()) })
    .collect()
}

/// Loop and listener state shared by the handlers.
pub(crate) struct Shared {
    pub bus: EventBus,
    pub status: Mutex<Status>,
    pub stop: AtomicBool,
    /// The running CPU card loop, if any.
    pub cpu_loop: Mutex<Option<CancellationToken>>,
    /// The running social security listener, if any.
    pub ss_loop: Mutex<Option<CancellationToken>>,
    /// Held while a loop publishes, and by stop calls: once a stop has answered, its loop
    /// publishes nothing more.
    pub publish: Mutex<()>,
}

pub struct SmartCard {
    pub(crate) config: SmartCardConfig,
    /// card, psam1, psam2; `None` without a backend.
    workers: Option<[Worker; 3]>,
    bench: Option<Arc<SimBench>>,
    pub(crate) shared: Arc<Shared>,
}

impl SmartCard {
    /// Starts the backend: one worker thread per reader role and, for PC/SC, a thread that keeps
    /// the reader list behind [`SmartCard::status`] fresh.
    pub fn start(config: SmartCardConfig, bus: EventBus) -> Arc<SmartCard> {
        let (available, detail) = match config.backend {
            Backend::None => (false, "未配置智能卡 (booth.toml [smartcard])".to_string()),
            Backend::Sim => (true, "simulated".to_string()),
            Backend::Pcsc => (false, "PC/SC: 尚未查询".to_string()),
        };
        let shared = Arc::new(Shared {
            bus,
            status: Mutex::new(Status {
                backend: config.backend.as_str(),
                available,
                detail,
                readers: if config.backend == Backend::Sim { sim_readers() } else { Vec::new() },
            }),
            stop: AtomicBool::new(false),
            cpu_loop: Mutex::new(None),
            ss_loop: Mutex::new(None),
            publish: Mutex::new(()),
        });
        let mut bench = None;
        let workers = match config.backend {
            Backend::None => None,
            Backend::Sim => {
                let b = SimBench::new();
                bench = Some(b.clone());
                Some(Role::ALL.map(|r| Worker::spawn(format!("smartcard {r}"), Box::new(SimPort::new(b.clone(), r)))))
            }
            Backend::Pcsc => {
                let patterns = config.readers.clone();
                spawn_monitor(shared.clone(), patterns.clone());
                Some(Role::ALL.map(|r| {
                    Worker::spawn(format!("smartcard {r}"), Box::new(pcsc_port::PcscPort::new(r, patterns.clone())))
                }))
            }
        };
        Arc::new(SmartCard { config, workers, bench, shared })
    }

    pub fn backend(&self) -> Backend {
        self.config.backend
    }

    pub fn status(&self) -> Status {
        let mut s = self.shared.status.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(b) = &self.bench {
            s.available = b.reader_connected();
            s.detail = if s.available { "simulated".into() } else { "模拟读卡器已拔出".into() };
        }
        s
    }

    /// The simulated readers (only with the `sim` backend).
    pub fn bench(&self) -> Option<&Arc<SimBench>> {
        self.bench.as_ref()
    }

    pub(crate) fn worker(&self, role: Role) -> Result<&Worker, CardError> {
        let w =
            self.workers.as_ref().ok_or_else(|| CardError::NoReader("未配置智能卡 (booth.toml [smartcard])".into()))?;
        Ok(match role {
            Role::Card => &w[0],
            Role::Psam1 => &w[1],
            Role::Psam2 => &w[2],
        })
    }

    /// Puts the simulated readers in the simulator registry (`card`), or notes the real backend.
    pub fn register_sim(self: &Arc<Self>, sims: &SimRegistry) {
        match &self.bench {
            Some(b) => sims.register(Arc::new(CardSim(b.clone()))),
            None => sims.note_real(sim::SIM_ID, self.config.backend.as_str()),
        }
    }

    /// Registers the CPU card and social security card APIs and their events.
    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        handlers::register(self, bridge);
    }

    /// Stops the loops and the status thread (worker threads end with the last handle).
    pub fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for l in [&self.shared.cpu_loop, &self.shared.ss_loop] {
            if let Some(t) = l.lock().unwrap_or_else(|p| p.into_inner()).take() {
                t.cancel();
            }
        }
    }
}

impl Drop for SmartCard {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Keeps `status` current: the reader list and roles, re-establishing the PC/SC context when
/// the service comes back.
fn spawn_monitor(shared: Arc<Shared>, patterns: RolePatterns) {
    let spawned = std::thread::Builder::new().name("smartcard status".into()).spawn(move || {
        let mut lister = pcsc_port::ReaderLister::default();
        while !shared.stop.load(Ordering::Relaxed) {
            let (available, detail, readers) = match lister.list() {
                Ok(list) => {
                    let readers = with_roles(&list, &patterns);
                    match readers.iter().find(|r| r.role == Some(Role::Card)) {
                        Some(card) => (true, card.name.clone(), readers),
                        None => (
                            false,
                            CardError::NoReader(format!("{} 个读卡器, 无读卡器可用作 card", list.len())).to_string(),
                            readers,
                        ),
                    }
                }
                Err(e) => (false, e.to_string(), Vec::new()),
            };
            {
                let mut s = shared.status.lock().unwrap_or_else(|p| p.into_inner());
                if s.available != available || s.detail != detail || s.readers != readers {
                    if available {
                        tracing::info!(%detail, readers = ?readers, "smart card reader available");
                    } else {
                        tracing::warn!(%detail, "smart card reader unavailable");
                    }
                    s.available = available;
                    s.detail = detail;
                    s.readers = readers;
                }
            }
            let mut slept = Duration::ZERO;
            while slept < STATUS_EVERY && !shared.stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                slept += Duration::from_millis(50);
            }
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the smart card status thread");
    }
}
