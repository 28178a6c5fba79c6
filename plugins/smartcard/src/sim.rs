//! The simulated card reader and PSAM slots for `booth run --sim`: a virtual card that can be
//! inserted and removed from the simulator panel or `POST /sim/card/…`, with an ATR, a UID, an
//! APDU → answer table, GET CHALLENGE, and a social security application holding an identity
//! that the panel can edit. Its records are encoded the way real cards store them and read back
//! through the same code as real cards.
//!
//! Not for: tests of the PC/SC backend (they use pcscd with vpcd virtual cards).

use crate::apdu::{parse_apdu, to_hex};
use crate::port::{CardError, Port, Presence, Reset};
use crate::roles::Role;
use crate::sscard::SSSE_NAME;
use booth_bridge::sim::{Action, Field, SimDevice, SimError};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The simulator's id: `POST /sim/card/<action>`.
pub const SIM_ID: &str = "card";
/// A contactless CPU card's PC/SC ATR whose historical bytes are those of seed 000's example.
pub const DEFAULT_ATR: &str = "3B8B8001209000000000002E20419F6A";
pub const DEFAULT_UID: &str = "A1B2C3D4";
pub const DEFAULT_PSAM_ATR: [&str; 2] = ["3B6D000086381234567890A0B0C0D0E001", "3B6D000086381234567890A0B0C0D0E002"];

/// The identity on the simulated social security card, in seed 000's reply terms (sex and
/// nation as codes, as the card stores them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimIdentity {
    pub card_number: String,
    pub name: String,
    /// `1` male, `2` female.
    pub sex: String,
    pub id_number: String,
    pub birth_date: String,
    pub issue_date: String,
    pub expire_date: String,
    /// GB 3304 code, 2 digits.
    pub nation: String,
    pub city_code: String,
    /// Birthplace region code (6 digits), or empty for none.
    pub address: String,
    pub full_version: String,
}

impl Default for SimIdentity {
    fn default() -> Self {
        SimIdentity {
            card_number: "S12345678".into(),
            name: "李四".into(),
            sex: "2".into(),
            id_number: "110101198505051234".into(),
            birth_date: "19850505".into(),
            issue_date: "20200101".into(),
            expire_date: "20300101".into(),
            nation: "01".into(),
            city_code: "110100".into(),
            address: "110101".into(),
            full_version: "3.00".into(),
        }
    }
}

fn bcd(digits: &str) -> Vec<u8> {
    let d: Vec<u8> = digits.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
    d.chunks(2).map(|p| (p[0] << 4) | p.get(1).copied().unwrap_or(0xF)).collect()
}

impl SimIdentity {
    /// The records as a card stores them (see [`crate::sscard`]).
    fn records(&self) -> BTreeMap<(u16, u8), Vec<u8>> {
        let mut r = BTreeMap::new();
        let mut id_code = bcd(&format!("{:0<6}", self.city_code));
        id_code.extend_from_slice(&[0xD1, 0x56, 0x00, 0x00, 0x05]);
        id_code.resize(16, 0x00);
        r.insert((0xEF05, 0x01), id_code);
        r.insert((0xEF05, 0x02), b"1".to_vec());
        r.insert((0xEF05, 0x03), self.full_version.as_bytes().to_vec());
        r.insert((0xEF05, 0x05), bcd(&self.issue_date));
        r.insert((0xEF05, 0x06), bcd(&self.expire_date));
        r.insert((0xEF05, 0x07), self.card_number.as_bytes().to_vec());
        r.insert((0xEF06, 0x08), self.id_number.as_bytes().to_vec());
        let (name, _, _) = encoding_rs::GBK.encode(&self.name);
        let mut name = name.into_owned();
        name.truncate(30);
        name.resize(30, 0);
        r.insert((0xEF06, 0x09), name);
        r.insert((0xEF06, 0x0A), self.sex.as_bytes().to_vec());
        r.insert((0xEF06, 0x0B), bcd(&self.nation));
        if !self.address.is_empty() {
            r.insert((0xEF06, 0x0C), bcd(&self.address));
        }
        r.insert((0xEF06, 0x0D), bcd(&self.birth_date));
        r
    }
}

#[derive(Debug, Clone)]
struct SimCard {
    atr: Vec<u8>,
    uid: Vec<u8>,
    social_security: bool,
    powered: bool,
    ssse_selected: bool,
    ef: Option<u16>,
}

impl SimCard {
    fn new(atr: Vec<u8>, uid: Vec<u8>, social_security: bool) -> SimCard {
        SimCard { atr, uid, social_security, powered: false, ssse_selected: false, ef: None }
    }

    fn reset(&mut self) {
        self.powered = true;
        self.ssse_selected = false;
        self.ef = None;
    }
}

#[derive(Debug, Default)]
struct Slot {
    card: Option<SimCard>,
    /// Bumped on every insertion and removal, like PC/SC's event counter.
    events: u64,
}

#[derive(Debug)]
struct Bench {
    reader_connected: bool,
    slots: [Slot; 3],
    table: BTreeMap<Vec<u8>, Vec<u8>>,
    identity: SimIdentity,
    rng: u64,
}

/// The simulated readers, shared by the three simulated ports and the simulator panel.
pub struct SimBench {
    inner: Mutex<Bench>,
}

fn slot_index(role: Role) -> usize {
    match role {
        Role::Card => 0,
        Role::Psam1 => 1,
        Role::Psam2 => 2,
    }
}

impl SimBench {
    /// The card reader starts empty; both PSAM slots hold a PSAM.
    pub fn new() -> Arc<SimBench> {
        let psam = |i: usize| Slot { card: Some(SimCard::new(hex(DEFAULT_PSAM_ATR[i]), Vec::new(), false)), events: 1 };
        Arc::new(SimBench {
            inner: Mutex::new(Bench {
                reader_connected: true,
                slots: [Slot::default(), psam(0), psam(1)],
                table: BTreeMap::new(),
                identity: SimIdentity::default(),
                rng: 0x9E37_79B9_7F4A_7C15,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Bench> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn insert(&self, role: Role, atr: Vec<u8>, uid: Vec<u8>, social_security: bool) {
        let mut b = self.lock();
        let slot = &mut b.slots[slot_index(role)];
        slot.card = Some(SimCard::new(atr, uid, social_security));
        slot.events += 2;
    }

    /// Returns whether a card was there.
    pub fn remove(&self, role: Role) -> bool {
        let mut b = self.lock();
        let slot = &mut b.slots[slot_index(role)];
        let was = slot.card.take().is_some();
        if was {
            slot.events += 1;
        }
        was
    }

    pub fn set_reader_connected(&self, connected: bool) {
        self.lock().reader_connected = connected;
    }

    pub fn reader_connected(&self) -> bool {
        self.lock().reader_connected
    }

    pub fn set_identity(&self, identity: SimIdentity) {
        self.lock().identity = identity;
    }

    pub fn respond(&self, command: Vec<u8>, response: Vec<u8>) {
        self.lock().table.insert(command, response);
    }

    pub fn state(&self) -> Value {
        let b = self.lock();
        let card = |s: &Slot| match &s.card {
            Some(c) => json!({
                "inserted": true, "atr": to_hex(&c.atr), "uid": to_hex(&c.uid),
                "socialSecurity": c.social_security, "powered": c.powered,
            }),
            None => json!({"inserted": false}),
        };
        let id = &b.identity;
        json!({
            "readerConnected": b.reader_connected,
            "card": card(&b.slots[0]),
            "psam1": card(&b.slots[1]),
            "psam2": card(&b.slots[2]),
            "responses": b.table.iter().map(|(k, v)| (to_hex(k), Value::from(to_hex(v)))).collect::<Map<String, Value>>(),
            "identity": {
                "cardNumber": id.card_number, "name": id.name, "sex": id.sex, "idNumber": id.id_number,
                "birthDate": id.birth_date, "issueDate": id.issue_date, "expireDate": id.expire_date,
                "nation": id.nation, "cityCode": id.city_code, "address": id.address, "fullVersion": id.full_version,
            },
        })
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()).collect()
}

const OK: [u8; 2] = [0x90, 0x00];

fn with_ok(mut data: Vec<u8>) -> Vec<u8> {
    data.extend_from_slice(&OK);
    data
}

impl Bench {
    fn answer(&mut self, index: usize, apdu: &[u8]) -> Vec<u8> {
        if let Some(r) = self.table.get(apdu) {
            return r.clone();
        }
        if apdu.len() < 4 {
            return vec![0x67, 0x00];
        }
        let records = self.identity.records();
        let mut rng = self.rng;
        let Some(card) = self.slots[index].card.as_mut() else { return vec![0x6F, 0x00] };
        let (cla, ins, p1, p2) = (apdu[0], apdu[1], apdu[2], apdu[3]);
        let body = &apdu[4..];
        let answer = match (cla, ins) {
            (0x00, 0x84) if p1 == 0 && p2 == 0 && body.len() == 1 => {
                let n = if body[0] == 0 { 256 } else { body[0] as usize };
                with_ok(
                    (0..n)
                        .map(|_| {
                            rng ^= rng << 13;
                            rng ^= rng >> 7;
                            rng ^= rng << 17;
                            (rng >> 32) as u8
                        })
                        .collect(),
                )
            }
            (0xFF, 0xCA) if p1 == 0 && !card.uid.is_empty() => with_ok(card.uid.clone()),
            (0x00, 0xA4) if card.social_security => {
                let lc = body.first().copied().unwrap_or(0) as usize;
                match (p1, body.get(1..1 + lc).unwrap_or(&[])) {
                    (0x04, name) if name == SSSE_NAME => {
                        card.ssse_selected = true;
                        card.ef = None;
                        OK.to_vec()
                    }
                    (0x02, [0xEF, lo @ (0x05 | 0x06)]) if card.ssse_selected => {
                        card.ef = Some(0xEF00 | u16::from(*lo));
                        OK.to_vec()
                    }
                    _ => vec![0x6A, 0x82],
                }
            }
            (0x00, 0xB2) if card.social_security => match card.ef {
                None => vec![0x69, 0x86],
                Some(_) if p2 != 0x04 => vec![0x6A, 0x86],
                Some(ef) => match records.get(&(ef, p1)) {
                    Some(v) => {
                        let mut tlv = vec![p1, v.len() as u8];
                        tlv.extend_from_slice(v);
                        with_ok(tlv)
                    }
                    None => vec![0x6A, 0x83],
                },
            },
            _ => vec![0x6D, 0x00],
        };
        self.rng = rng;
        answer
    }
}

/// One simulated reader.
pub struct SimPort {
    bench: Arc<SimBench>,
    role: Role,
}

impl SimPort {
    pub fn new(bench: Arc<SimBench>, role: Role) -> SimPort {
        SimPort { bench, role }
    }

    fn reader_name(&self) -> String {
        match self.role {
            Role::Card => "Booth Simulated Card Reader".into(),
            Role::Psam1 => "Booth Simulated SAM 1".into(),
            Role::Psam2 => "Booth Simulated SAM 2".into(),
        }
    }

    fn check_reader(&self, b: &Bench) -> Result<(), CardError> {
        if self.role == Role::Card && !b.reader_connected {
            return Err(CardError::NoReader("模拟读卡器已拔出".into()));
        }
        Ok(())
    }
}

impl Port for SimPort {
    fn presence(&mut self) -> Result<Presence, CardError> {
        let b = self.bench.lock();
        self.check_reader(&b)?;
        let slot = &b.slots[slot_index(self.role)];
        Ok(Presence {
            reader: self.reader_name(),
            present: slot.card.is_some(),
            insertion: slot.events,
            atr: slot.card.as_ref().map(|c| c.atr.clone()).unwrap_or_default(),
        })
    }

    fn power(&mut self, reset: Reset) -> Result<Vec<u8>, CardError> {
        let mut b = self.bench.lock();
        self.check_reader(&b)?;
        let card = b.slots[slot_index(self.role)].card.as_mut().ok_or(CardError::NoCard)?;
        if !card.powered || reset != Reset::Keep {
            card.reset();
        }
        Ok(card.atr.clone())
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        let mut b = self.bench.lock();
        self.check_reader(&b)?;
        let index = slot_index(self.role);
        let card = b.slots[index].card.as_mut().ok_or(CardError::NoCard)?;
        if !card.powered {
            card.reset();
        }
        Ok(b.answer(index, apdu))
    }
}

/// The panel's view of the simulated readers.
pub struct CardSim(pub Arc<SimBench>);

fn text<'a>(args: &'a Map<String, Value>, key: &str) -> &'a str {
    args.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A hex argument (ATR, UID, response): an even number of hex digits, `min` to 258 bytes.
fn hex_arg(args: &Map<String, Value>, key: &str, min: usize) -> Result<Vec<u8>, SimError> {
    let v = text(args, key);
    if v.len() % 2 != 0 || !v.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(SimError::InvalidArgs(format!("{key}: hex digits, an even number of them")));
    }
    let bytes = hex(v);
    if bytes.len() < min || bytes.len() > 258 {
        return Err(SimError::InvalidArgs(format!("{key}: {min} to 258 bytes of hex")));
    }
    Ok(bytes)
}

impl SimDevice for CardSim {
    fn id(&self) -> &'static str {
        SIM_ID
    }

    fn label(&self) -> &'static str {
        "智能卡 Smart card"
    }

    fn actions(&self) -> Vec<Action> {
        let d = SimIdentity::default();
        vec![
            Action::new(
                "insert",
                "插卡 Insert card",
                vec![
                    Field::text("atr", "ATR (hex)", DEFAULT_ATR),
                    Field::text("uid", "UID (hex)", DEFAULT_UID),
                    Field::boolean("socialSecurity", "社保卡 Social security card", true),
                ],
            ),
            Action::new("remove", "拔卡 Remove card", vec![]),
            Action::new(
                "identity",
                "社保卡信息 Social security identity",
                vec![
                    Field::text("name", "姓名 Name", d.name),
                    Field::text("idNumber", "社会保障号码 Social security number", d.id_number),
                    Field::text("cardNumber", "卡号 Card number", d.card_number),
                    Field::choice("sex", "性别 Sex (1 男, 2 女)", &["1", "2"], "2"),
                    Field::text("nation", "民族代码 Nation code", d.nation),
                    Field::text("birthDate", "出生日期 Birth date", d.birth_date),
                    Field::text("issueDate", "发卡日期 Issue date", d.issue_date),
                    Field::text("expireDate", "有效期 Expiry date", d.expire_date),
                    Field::text("cityCode", "城市代码 City code", d.city_code),
                    Field::text("address", "出生地代码 Birthplace code", d.address),
                    Field::text("fullVersion", "版本 Version", d.full_version),
                ],
            ),
            Action::new(
                "respond",
                "应答 APDU response",
                vec![
                    Field::text("command", "指令 Command APDU (hex)", "").required(),
                    Field::text("response", "应答 Response (hex, with SW)", "").required(),
                ],
            ),
            Action::new(
                "psam",
                "PSAM 卡座 PSAM slot",
                vec![
                    Field::choice("slot", "卡座 Slot", &["1", "2"], "1"),
                    Field::boolean("inserted", "有卡 Inserted", true),
                    Field::text("atr", "ATR (hex; empty: default)", ""),
                ],
            ),
            Action::new(
                "reader",
                "读卡器连接 Reader connection",
                vec![Field::boolean("connected", "已连接 Connected", true)],
            ),
        ]
    }

    fn state(&self) -> Value {
        self.0.state()
    }

    fn act(&self, action: &str, args: &Map<String, Value>) -> Result<Value, SimError> {
        let bench = &self.0;
        match action {
            "insert" => {
                let atr = hex_arg(args, "atr", 2)?;
                let uid = hex_arg(args, "uid", 0)?;
                let ss = args.get("socialSecurity").and_then(Value::as_bool).unwrap_or(true);
                bench.insert(Role::Card, atr, uid, ss);
            }
            "remove" => {
                if !bench.remove(Role::Card) {
                    return Err(SimError::Refused("no card is inserted".into()));
                }
            }
            "identity" => {
                let id = SimIdentity {
                    card_number: text(args, "cardNumber").into(),
                    name: text(args, "name").into(),
                    sex: text(args, "sex").into(),
                    id_number: text(args, "idNumber").into(),
                    birth_date: text(args, "birthDate").into(),
                    issue_date: text(args, "issueDate").into(),
                    expire_date: text(args, "expireDate").into(),
                    nation: text(args, "nation").into(),
                    city_code: text(args, "cityCode").into(),
                    address: text(args, "address").into(),
                    full_version: text(args, "fullVersion").into(),
                };
                for (key, v, n) in [
                    ("birthDate", &id.birth_date, 8),
                    ("issueDate", &id.issue_date, 8),
                    ("expireDate", &id.expire_date, 8),
                    ("nation", &id.nation, 2),
                    ("cityCode", &id.city_code, 6),
                ] {
                    if v.len() != n || !v.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(SimError::InvalidArgs(format!("{key}: {n} digits")));
                    }
                }
                if !id.address.is_empty() && (id.address.len() != 6 || !id.address.bytes().all(|b| b.is_ascii_digit()))
                {
                    return Err(SimError::InvalidArgs("address: a 6-digit region code, or empty".into()));
                }
                if encoding_rs::GBK.encode(&id.name).0.len() > 30 {
                    return Err(SimError::InvalidArgs("name: at most 30 bytes in GBK".into()));
                }
                bench.set_identity(id);
            }
            "respond" => {
                let command =
                    parse_apdu("command", text(args, "command")).map_err(|e| SimError::InvalidArgs(e.message))?;
                let response = hex_arg(args, "response", 2)?;
                bench.respond(command, response);
            }
            "psam" => {
                let slot: usize = if text(args, "slot") == "2" { 2 } else { 1 };
                let role = if slot == 2 { Role::Psam2 } else { Role::Psam1 };
                if args.get("inserted").and_then(Value::as_bool).unwrap_or(true) {
                    let atr = if text(args, "atr").is_empty() {
                        hex(DEFAULT_PSAM_ATR[slot - 1])
                    } else {
                        hex_arg(args, "atr", 2)?
                    };
                    bench.insert(role, atr, Vec::new(), false);
                } else {
                    bench.remove(role);
                }
            }
            "reader" => bench.set_reader_connected(args.get("connected").and_then(Value::as_bool).unwrap_or(true)),
            other => return Err(SimError::InvalidArgs(format!("unknown action {other}"))),
        }
        Ok(bench.state())
    }
}
