//! Booth's keypads (seed 001): `wxfaceapp.registKeyBoard({keyCodeList: [{keyCode: "144"}, …]})`
//! and `wxfaceapp.onKeyBoardEvent(cb)`, which then receives `{keyName, keyCode}` for each
//! registered key pressed. `keyName` is the Android key code as registered (seed 001 gives no
//! other naming), e.g. `"144"`.
//!
//! Keys come from the page's own window (reported by `miniapp-host/js/inputs.js`, for that
//! page only), from a serial keypad, from a keyboard device (evdev / Raw Input, through
//! `booth-keyboard`) and from the simulator; the last three reach every page that registered the
//! key. PC keys become Android codes through [`keymap::KeyMap`].
//!
//! The cashier's special control keys (seed 001 §6.1, `wxfaceapp.onSpecialCtrlEvent`): keys
//! configured as 传码 (`ctrlCode "0"`) or 收款 (`ctrlCode "1"`) send `{ctrlCode, ctrlMsg}` to the
//! front screen's app instead of being keys, whichever screen's window, serial keypad or
//! keyboard device they come from.
//!
//! Not for: typing into inputs (pages read their own `input` elements), or scanners.

pub mod keymap;

use booth_bridge::sim::{Action, Field, SimDevice, SimError};
use booth_bridge::{handler, ApiError, Bridge, Dialect, Done, EventBus, Screen, SessionId, SimRegistry};
use booth_keyboard::DeviceSpec;
pub use booth_serial_io::Status;
use booth_serial_io::{is_quiet, supervise, Health, Lines, PortSpec, Stop};
use keymap::KeyMap;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Event topic of a key for one page; payload `{"keyName": "144", "keyCode": "144"}`.
pub const TOPIC_KEY: &str = "keypad.key";
/// Event topic of the special control keys; payload `{"ctrlCode": "0", "ctrlMsg": "传码"}`.
pub const TOPIC_SPECIAL: &str = "keypad.special";
pub const SIM_ID: &str = "keypad";
/// seed 001's success reply.
pub const REGISTERED: &str = "Success register to listen keyboard event";
/// A key reported by both a Raw Input device and the page within this window is one press.
const SAME_PRESS: Duration = Duration::from_millis(150);

/// What a serial keypad sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerialFormat {
    /// One Android key code per line (`144`).
    Code,
    /// One PC key name per line (`Numpad1`).
    Name,
    /// One character per key: `0`–`9` `+ - * / .` as the numeric keypad's keys, CR as its Enter.
    Char,
}

impl SerialFormat {
    pub fn parse(s: &str) -> Option<SerialFormat> {
        match s {
            "code" => Some(SerialFormat::Code),
            "name" => Some(SerialFormat::Name),
            "char" => Some(SerialFormat::Char),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct KeypadConfig {
    /// Keys come from the simulator (and the page).
    pub sim: bool,
    pub serial: Option<(String, u32, SerialFormat)>,
    pub device: Option<DeviceSpec>,
    pub map: KeyMap,
    /// Keys (PC key names such as `F9`, or Android codes such as `131`) that are the special
    /// control 传码 …
    pub pass_code: Vec<String>,
    /// … and 收款.
    pub collect: Vec<String>,
}

/// Seed 001 §6.1's two special controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecialCtrl {
    /// `ctrlCode "0"`, 传码.
    PassCode,
    /// `ctrlCode "1"`, 收款.
    Collect,
}

impl SpecialCtrl {
    pub fn parse(code: &str) -> Option<SpecialCtrl> {
        match code.trim() {
            "0" => Some(SpecialCtrl::PassCode),
            "1" => Some(SpecialCtrl::Collect),
            _ => None,
        }
    }

    /// The event's payload, as seed 001 gives it.
    pub fn payload(self) -> Value {
        match self {
            SpecialCtrl::PassCode => json!({"ctrlCode": "0", "ctrlMsg": "传码"}),
            SpecialCtrl::Collect => json!({"ctrlCode": "1", "ctrlMsg": "收款"}),
        }
    }
}

/// Where a key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Page,
    Device,
    Other,
}

pub struct Keypad {
    config: KeypadConfig,
    bus: EventBus,
    registrations: Mutex<HashMap<SessionId, HashSet<u32>>>,
    serial: Option<Arc<Health>>,
    device: Option<Arc<Health>>,
    stop: Stop,
    last: Mutex<Option<(Instant, String, Source)>>,
    /// Which page is on the front screen (for the special control keys).
    bridge: std::sync::OnceLock<Bridge>,
}

impl Keypad {
    pub fn start(config: KeypadConfig, bus: EventBus) -> Arc<Keypad> {
        let stop = Stop::default();
        let serial = config.serial.as_ref().map(|(port, ..)| {
            Health::new(Status { backend: "serial", available: false, detail: format!("{port}: 尚未打开") }, |_| {})
        });
        let device = config.device.as_ref().map(|d| {
            Health::new(
                Status { backend: booth_keyboard::BACKEND, available: false, detail: format!("{}: 尚未打开", d.0) },
                |_| {},
            )
        });
        let me = Arc::new(Keypad {
            config: config.clone(),
            bus,
            registrations: Mutex::default(),
            serial: serial.clone(),
            device: device.clone(),
            stop: stop.clone(),
            last: Mutex::new(None),
            bridge: std::sync::OnceLock::new(),
        });
        if let (Some((port, baud, format)), Some(health)) = (config.serial, serial) {
            let weak = Arc::downgrade(&me);
            supervise("keypad", PortSpec::new(port, baud), health, stop.clone(), move |dev, stop| {
                read_keys(dev.as_mut(), stop, format, |key| {
                    if let Some(k) = weak.upgrade() {
                        k.key(&key, Source::Other, None);
                    }
                })
            });
        }
        if let (Some(spec), Some(health)) = (config.device, device) {
            let weak = Arc::downgrade(&me);
            booth_keyboard::spawn(spec, health, stop, move |ev| {
                if ev.down {
                    if let Some(k) = weak.upgrade() {
                        k.key(ev.code, Source::Device, None);
                    }
                }
            });
        }
        me
    }

    /// Sources and their availability for `/health`: the page is always there.
    pub fn status(&self) -> Status {
        let backend = backend_name(self.config.sim, self.serial.is_some(), self.device.is_some());
        let mut available = true;
        let mut detail = Vec::new();
        for h in [&self.serial, &self.device].into_iter().flatten() {
            let s = h.get();
            available &= s.available;
            detail.push(s.detail);
        }
        if detail.is_empty() {
            detail.push("keys of the page window".into());
        }
        Status { backend, available, detail: detail.join("; ") }
    }

    /// PC keys the page should report (every key of the table, and the special control keys).
    pub fn page_keys(&self) -> Vec<String> {
        let mut keys = self.config.map.pc_keys();
        for k in self.config.pass_code.iter().chain(&self.config.collect) {
            if k.parse::<u32>().is_err() && !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        keys
    }

    /// The special control `key` stands for, if it is one.
    fn special(&self, key: &str) -> Option<SpecialCtrl> {
        let key = key.trim();
        if self.config.pass_code.iter().any(|k| k == key) {
            Some(SpecialCtrl::PassCode)
        } else if self.config.collect.iter().any(|k| k == key) {
            Some(SpecialCtrl::Collect)
        } else {
            None
        }
    }

    /// Sends a special control to the front screen's app (every page there that listens).
    /// Returns how many pages it reached.
    pub fn special_ctrl(&self, ctrl: SpecialCtrl) -> usize {
        let Some(bridge) = self.bridge.get() else { return 0 };
        let mut reached = 0;
        for (id, _) in bridge.sessions_on(Screen::Front) {
            if bridge.is_subscribed(id, Dialect::Wxfaceapp, "onSpecialCtrlEvent")
                && self.bus.publish_to(id, TOPIC_SPECIAL, ctrl.payload())
            {
                reached += 1;
            }
        }
        tracing::info!(?ctrl, pages = reached, "special control key");
        reached
    }

    /// A key pressed in a page's window, reported by that page (`sessions` are the window's).
    pub fn page_key(&self, sessions: &[SessionId], code: &str) {
        self.key(code, Source::Page, Some(sessions));
    }

    /// The simulator or a test presses a key: an Android code (`144`) or a PC key (`Numpad1`).
    pub fn press(&self, key: &str) -> Result<Vec<u32>, String> {
        if let Some(ctrl) = self.special(key) {
            self.special_ctrl(ctrl);
            return Ok(Vec::new());
        }
        match key.trim().parse::<u32>() {
            Ok(code) => {
                self.deliver(code, None);
                Ok(vec![code])
            }
            Err(_) => {
                let codes = self.config.map.android_for(key).to_vec();
                if codes.is_empty() {
                    return Err(format!("`{key}` is neither an Android key code nor a key of the table"));
                }
                for &c in &codes {
                    self.deliver(c, None);
                }
                Ok(codes)
            }
        }
    }

    fn key(&self, pc_or_code: &str, source: Source, only: Option<&[SessionId]>) {
        if self.duplicate(pc_or_code, source) {
            return;
        }
        // The cashier's controls go to the front screen's app, from either screen's keys.
        if let Some(ctrl) = self.special(pc_or_code) {
            self.special_ctrl(ctrl);
            return;
        }
        if let Ok(code) = pc_or_code.parse::<u32>() {
            self.deliver(code, only);
            return;
        }
        for &code in self.config.map.android_for(pc_or_code) {
            self.deliver(code, only);
        }
    }

    /// Raw Input cannot keep a device's keys from the page: the same key from the page and
    /// from the device at (nearly) the same moment is one press.
    fn duplicate(&self, key: &str, source: Source) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let dup = matches!(&*last, Some((t, k, s))
            if k == key && *s != source && matches!((*s, source), (Source::Page, Source::Device) | (Source::Device, Source::Page))
                && t.elapsed() < SAME_PRESS);
        *last = if dup { None } else { Some((Instant::now(), key.to_string(), source)) };
        dup
    }

    fn deliver(&self, code: u32, only: Option<&[SessionId]>) {
        let targets: Vec<SessionId> = self
            .registrations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(s, codes)| codes.contains(&code) && only.is_none_or(|o| o.contains(s)))
            .map(|(s, _)| *s)
            .collect();
        let name = code.to_string();
        for s in targets {
            if !self.bus.publish_to(s, TOPIC_KEY, json!({"keyName": name, "keyCode": name})) {
                self.registrations.lock().unwrap_or_else(|p| p.into_inner()).remove(&s);
            }
        }
    }

    /// The codes a page registered (for tests).
    pub fn registered(&self, session: SessionId) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .registrations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&session)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    pub fn shutdown(&self) {
        self.stop.stop();
    }

    pub fn register_sim(self: &Arc<Self>, sims: &SimRegistry) {
        if self.config.sim {
            sims.register(Arc::new(KeypadSim(self.clone())));
        } else {
            sims.note_real(SIM_ID, self.status().backend);
        }
    }

    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        let _ = self.bridge.set(bridge.clone());
        bridge.register_event(
            Dialect::Wxfaceapp,
            "onSpecialCtrlEvent",
            TOPIC_SPECIAL,
            Arc::new(|p: &Value| Some(p.clone())),
        );
        let me = self.clone();
        bridge.register(
            Dialect::Wxfaceapp,
            "registKeyBoard",
            None,
            handler(move |ctx, params| {
                let me = me.clone();
                async move {
                    let codes = parse_key_codes(params.get("keyCodeList")).map_err(|e| e.reply_code("-1"))?;
                    tracing::info!(session = ctx.session.id(), ?codes, "keys registered");
                    me.registrations.lock().unwrap_or_else(|p| p.into_inner()).insert(ctx.session.id(), codes);
                    Ok(Done::from(json!({"replyCode": "0", "reply": REGISTERED})))
                }
            }),
        );
        bridge.register_event(Dialect::Wxfaceapp, "onKeyBoardEvent", TOPIC_KEY, Arc::new(|p: &Value| Some(p.clone())));
    }
}

impl Drop for Keypad {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The sources of a run, e.g. `page+serial`.
fn backend_name(sim: bool, serial: bool, device: bool) -> &'static str {
    let dev = booth_keyboard::BACKEND == "rawinput";
    match (sim, serial, device, dev) {
        (false, false, false, _) => "page",
        (true, false, false, _) => "sim",
        (false, true, false, _) => "page+serial",
        (true, true, false, _) => "sim+serial",
        (false, false, true, false) => "page+evdev",
        (false, false, true, true) => "page+rawinput",
        (true, false, true, false) => "sim+evdev",
        (true, false, true, true) => "sim+rawinput",
        (false, true, true, false) => "page+serial+evdev",
        (false, true, true, true) => "page+serial+rawinput",
        (true, true, true, false) => "sim+serial+evdev",
        (true, true, true, true) => "sim+serial+rawinput",
    }
}

/// seed 001: "此输入不可为空,数组中的某个子Item也不可为空".
pub fn parse_key_codes(list: Option<&Value>) -> Result<HashSet<u32>, ApiError> {
    let items = match list {
        None => return Err(ApiError::invalid("缺少 keyCodeList")),
        Some(Value::Array(a)) if a.is_empty() => return Err(ApiError::invalid("keyCodeList 不能为空")),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(ApiError::invalid(format!("keyCodeList 应为数组, 收到 {}", booth_bridge::params::kind(other))))
        }
    };
    let mut codes = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let code = match item.get("keyCode") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().parse::<u32>().ok(),
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            _ => return Err(ApiError::invalid(format!("keyCodeList[{i}] 不能为空 (应为 {{keyCode: \"144\"}})"))),
        };
        match code {
            Some(c) => codes.insert(c),
            None => {
                return Err(ApiError::invalid(format!(
                    "keyCodeList[{i}].keyCode 应为按键码数字, 收到 {}",
                    item["keyCode"]
                )))
            }
        };
    }
    Ok(codes)
}

/// Reads a serial keypad until it fails.
fn read_keys(port: &mut dyn Read, stop: &Stop, format: SerialFormat, mut on: impl FnMut(String)) -> String {
    let mut lines = Lines::new(64);
    let mut buf = [0u8; 256];
    while !stop.stopped() {
        match port.read(&mut buf) {
            Ok(0) => return "设备已断开".into(),
            Ok(n) => match format {
                SerialFormat::Code | SerialFormat::Name => lines.feed(&buf[..n], |l| on(l.to_string())),
                SerialFormat::Char => {
                    for &b in &buf[..n] {
                        let key = match b {
                            b'0'..=b'9' => format!("Numpad{}", b as char),
                            b'+' => "NumpadAdd".into(),
                            b'-' => "NumpadSubtract".into(),
                            b'*' => "NumpadMultiply".into(),
                            b'/' => "NumpadDivide".into(),
                            b'.' => "NumpadDecimal".into(),
                            b'\r' => "NumpadEnter".into(),
                            _ => continue,
                        };
                        on(key);
                    }
                }
            },
            Err(e) if is_quiet(&e) => {}
            Err(e) => return e.to_string(),
        }
    }
    "stopped".into()
}

struct KeypadSim(Arc<Keypad>);

impl SimDevice for KeypadSim {
    fn id(&self) -> &'static str {
        SIM_ID
    }
    fn label(&self) -> &'static str {
        "小键盘 Keypad"
    }
    fn actions(&self) -> Vec<Action> {
        vec![
            Action::new(
                "press",
                "按键 Press",
                vec![Field::text("key", "按键码或键名 Android code or key (144, Numpad1)", "144")],
            ),
            Action::new(
                "special",
                "收银员特殊指令 Cashier control",
                vec![Field::text("ctrlCode", "0 传码 / 1 收款", "1")],
            ),
        ]
    }
    fn state(&self) -> Value {
        json!({"status": self.0.status(), "pages": self.0.registrations.lock().unwrap_or_else(|p| p.into_inner()).len()})
    }
    fn act(&self, action: &str, args: &Map<String, Value>) -> Result<Value, SimError> {
        if action == "special" {
            let code = args.get("ctrlCode").and_then(Value::as_str).unwrap_or_default();
            let ctrl = SpecialCtrl::parse(code)
                .ok_or_else(|| SimError::InvalidArgs(format!("ctrlCode `{code}`: 0 (传码) or 1 (收款)")))?;
            return Ok(json!({ "pages": self.0.special_ctrl(ctrl) }));
        }
        let key = args.get("key").and_then(Value::as_str).unwrap_or_default();
        self.0.press(key).map(|codes| json!({ "codes": codes })).map_err(SimError::InvalidArgs)
    }
}
