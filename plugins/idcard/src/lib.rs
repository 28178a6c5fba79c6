//! Booth's Chinese resident ID card capability (seed 000): `getIDCardInfo` (one read, only the
//! requested `infoType` groups, 15 s `超时`), `closeIDCardInfo` (`关闭成功`) and
//! `my.on('initIDCardListener')` (every card read), plus `enterIDNumber`, the on-screen keypad
//! for typing the number when no card is at hand.
//!
//! Backends, all behind [`reader::Reader`]: `sam` (the SAM module's serial protocol, [`sam`]),
//! `sdk` (a vendor library loaded at run time: `sdtapi` or `termb` style, [`sdk`]) and `sim`
//! (cards placed through the control endpoint). The photo needs the vendor's WLT decoder
//! library ([`photo`]); without one `photoBase64` is empty and a warning is logged.
//!
//! Not for: social security cards or other smart cards (their own plugins), or drawing the
//! keypad (page-side UI that the app shows through [`entry::EntryScreen`]).

pub mod entry;
pub mod id_number;
pub mod identity;
pub mod photo;
pub mod reader;
pub mod sam;
pub mod sdk;

use booth_bridge::sim::{Action, Field, SimDevice, SimError};
use booth_bridge::{handler, ApiError, Bridge, Dialect, Done, EventBus, SimRegistry};
pub use booth_serial_io::Status;
use booth_serial_io::{Health, Stop};
use identity::{card_data, select, CardRead, Identity, InfoTypes, Photo};
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Event topic of a card read; payload: every field (seed 000's names, `photoBase64` included).
pub const TOPIC_CARD: &str = "idcard.card";
/// Event topic of availability changes; payload `{"available": bool, "detail": "…"}`.
pub const TOPIC_STATUS: &str = "idcard.status";
/// `getIDCardInfo`'s `params.timeout` bounds (milliseconds), a Booth addition.
pub const TIMEOUT_RANGE_MS: std::ops::RangeInclusive<i64> = 1000..=120_000;
/// The simulator's id.
pub const SIM_ID: &str = "idcard";

/// Which reader the terminal has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    None,
    Sim,
    /// The SAM module on a serial port (USB readers show up as one, usually at 115200 baud).
    Sam {
        port: String,
        baud: u32,
    },
    /// A vendor SDK library.
    Sdk {
        sdk: sdk::Sdk,
        library: PathBuf,
        port: i32,
    },
}

/// The vendor's WLT photo decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderConfig {
    pub library: PathBuf,
    /// The exported function (`unpack`).
    pub symbol: String,
    /// Its third argument.
    pub flag: i32,
}

#[derive(Debug, Clone)]
pub struct IdCardConfig {
    pub backend: Backend,
    /// `getIDCardInfo`'s wait (seed 000: 15 s).
    pub default_timeout: Duration,
    pub photo_decoder: Option<DecoderConfig>,
}

impl Default for IdCardConfig {
    fn default() -> Self {
        IdCardConfig { backend: Backend::None, default_timeout: Duration::from_secs(15), photo_decoder: None }
    }
}

pub struct IdCard {
    config: IdCardConfig,
    health: Arc<Health>,
    stop: Stop,
    bus: EventBus,
    /// The simulated card on the reader.
    sim_card: Mutex<Option<Identity>>,
}

impl IdCard {
    /// Starts the backend (the reader thread, if any).
    pub fn start(config: IdCardConfig, bus: EventBus) -> Arc<IdCard> {
        let (backend, available, detail) = match &config.backend {
            Backend::None => ("none", false, "未配置身份证阅读器 (booth.toml [idcard])".to_string()),
            Backend::Sim => ("sim", true, "simulated".to_string()),
            Backend::Sam { port, .. } => ("sam", false, format!("{port}: 尚未打开")),
            Backend::Sdk { library, .. } => ("sdk", false, format!("{}: 尚未打开", library.display())),
        };
        let status_bus = bus.clone();
        let health = Health::new(Status { backend, available, detail }, move |s| {
            status_bus.publish(TOPIC_STATUS, json!({"available": s.available, "detail": s.detail}))
        });
        let stop = Stop::default();
        let reader: Option<Box<dyn reader::Reader>> = match &config.backend {
            Backend::Sam { port, baud } => Some(Box::new(sam::SamReader::new(port.clone(), *baud))),
            Backend::Sdk { sdk: sdk::Sdk::Sdtapi, library, port } => Some(Box::new(sdk::SdtApi::new(library, *port))),
            Backend::Sdk { sdk: sdk::Sdk::Termb, library, port } => Some(Box::new(sdk::Termb::new(library, *port))),
            Backend::None | Backend::Sim => None,
        };
        if let Some(reader) = reader {
            let decoder = match &config.photo_decoder {
                Some(d) => match photo::WltDecoder::load(&d.library, &d.symbol, d.flag) {
                    Ok(dec) => Some(dec),
                    Err(why) => {
                        tracing::warn!(%why, "ID card photos will be empty");
                        None
                    }
                },
                None => {
                    tracing::warn!(
                        "no WLT photo decoder configured ([idcard] photo_decoder): photoBase64 will be empty"
                    );
                    None
                }
            };
            let card_bus = bus.clone();
            reader::spawn(reader, health.clone(), stop.clone(), move |card| {
                let b64 = photo::to_base64(&card.photo, decoder.as_ref());
                tracing::info!(name = %card.identity.name, "ID card read");
                card_bus.publish(TOPIC_CARD, card_data(&card.identity, &b64));
            });
        }
        Arc::new(IdCard { config, health, stop, bus, sim_card: Mutex::new(None) })
    }

    pub fn status(&self) -> Status {
        self.health.get()
    }

    /// The simulated reader reads `card`.
    pub fn place(&self, card: CardRead) -> Result<(), SimError> {
        if self.config.backend != Backend::Sim {
            return Err(SimError::NotSimulated { device: SIM_ID.into(), backend: self.status().backend.into() });
        }
        let b64 = photo::to_base64(&card.photo, None);
        *self.sim_card.lock().unwrap_or_else(|p| p.into_inner()) = Some(card.identity.clone());
        self.bus.publish(TOPIC_CARD, card_data(&card.identity, &b64));
        Ok(())
    }

    /// The simulated card is lifted off the reader.
    pub fn remove(&self) -> Result<(), SimError> {
        match self.sim_card.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(_) => Ok(()),
            None => Err(SimError::Refused("no card on the reader".into())),
        }
    }

    pub fn shutdown(&self) {
        self.stop.stop();
    }

    pub fn register_sim(self: &Arc<Self>, sims: &SimRegistry) {
        match self.config.backend {
            Backend::Sim => sims.register(Arc::new(IdCardSim(self.clone()))),
            _ => sims.note_real(SIM_ID, self.status().backend),
        }
    }

    /// Registers getIDCardInfo, closeIDCardInfo and the initIDCardListener event.
    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        let me = self.clone();
        let limit = Duration::from_millis(*TIMEOUT_RANGE_MS.end() as u64) + Duration::from_secs(5);
        bridge.register(
            Dialect::My,
            "getIDCardInfo",
            Some(limit),
            handler(move |ctx, params| {
                let me = me.clone();
                async move {
                    let types = InfoTypes::parse(params.str("infoType")?)?;
                    let timeout = params
                        .int_in("timeout", TIMEOUT_RANGE_MS)?
                        .map(|ms| Duration::from_millis(ms as u64))
                        .unwrap_or(me.config.default_timeout);
                    let cancel = ctx.session.group_token("getIDCardInfo");
                    // Subscribe before looking at the status so that no read slips between the two.
                    let rx = ctx.bus.subscribe();
                    let status = me.status();
                    if !status.available {
                        return Err(ApiError::unavailable(status.detail));
                    }
                    booth_bridge::wait_for_event(rx, timeout, &cancel, "阅读器已停止", |ev| {
                        if ev.topic == TOPIC_CARD {
                            return Some(Ok(Done::from(select(&ev.payload, types))));
                        }
                        booth_bridge::device_gone(ev, TOPIC_STATUS).map(Err)
                    })
                    .await
                }
            }),
        );
        bridge.register(
            Dialect::My,
            "closeIDCardInfo",
            None,
            handler(|ctx, _params| async move {
                ctx.session.cancel_group("getIDCardInfo");
                Ok(Done::from(json!({})).message("关闭成功").event("close"))
            }),
        );
        bridge.register_event(Dialect::My, "initIDCardListener", TOPIC_CARD, Arc::new(|p: &Value| Some(p.clone())));
    }
}

impl Drop for IdCard {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct IdCardSim(Arc<IdCard>);

/// The card the simulator places unless told otherwise (a valid number; a full-width house
/// number in the address, as real cards have).
pub fn sample_identity() -> Identity {
    Identity {
        name: "张三".into(),
        sex: "男".into(),
        nation: "汉".into(),
        birth: "19900307".into(),
        address: "北京市东城区景山前街４号".into(),
        id_number: "110101199003070011".into(),
        issuer: "北京市公安局东城分局".into(),
        valid_from: "20200101".into(),
        valid_to: "20400101".into(),
    }
}

impl SimDevice for IdCardSim {
    fn id(&self) -> &'static str {
        SIM_ID
    }
    fn label(&self) -> &'static str {
        "身份证阅读器 ID card reader"
    }
    fn actions(&self) -> Vec<Action> {
        let s = sample_identity();
        vec![
            Action::new(
                "place",
                "放卡 Place card",
                vec![
                    Field::text("name", "姓名 Name", s.name),
                    Field::choice("sex", "性别 Sex", &["男", "女"], "男"),
                    Field::text("nation", "民族 Nation", s.nation),
                    Field::text("birth", "出生 Birth (YYYYMMDD)", s.birth),
                    Field::text("address", "住址 Address", s.address),
                    Field::text("idNumber", "公民身份号码 ID number", s.id_number),
                    Field::text("issuer", "签发机关 Issuer", s.issuer),
                    Field::text("validFrom", "有效期起 Valid from", s.valid_from),
                    Field::text("validTo", "有效期止 Valid to", s.valid_to),
                    Field::base64("photo", "照片 Photo (JPEG)"),
                ],
            ),
            Action::new("remove", "取卡 Remove card", vec![]),
        ]
    }
    fn state(&self) -> Value {
        let card = self.0.sim_card.lock().unwrap_or_else(|p| p.into_inner()).clone();
        json!({
            "status": self.0.status(),
            "card": card.map(|c| json!({"name": c.name, "idNumber": c.id_number})),
        })
    }
    fn act(&self, action: &str, args: &Map<String, Value>) -> Result<Value, SimError> {
        let text = |k: &str| args.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        match action {
            "place" => {
                let identity = Identity {
                    name: text("name"),
                    sex: text("sex"),
                    nation: identity::nation_name(&text("nation")),
                    birth: text("birth"),
                    address: identity::halfwidth(&text("address")),
                    id_number: text("idNumber").to_ascii_uppercase(),
                    issuer: text("issuer"),
                    valid_from: text("validFrom"),
                    valid_to: text("validTo"),
                };
                let photo = match text("photo") {
                    p if p.is_empty() => Photo::None,
                    p => Photo::Base64(p),
                };
                let name = identity.name.clone();
                self.0.place(CardRead { identity, photo })?;
                Ok(json!({ "placed": name }))
            }
            "remove" => self.0.remove().map(|()| json!({ "removed": true })),
            other => Err(SimError::UnknownAction {
                device: SIM_ID.into(),
                action: other.into(),
                known: "place, remove".into(),
            }),
        }
    }
}
