//! A scriptable smart card that speaks vpcd's protocol: the card side of the PC/SC stand-in.
//!
//! [`VirtualCard::insert`] connects to a vpcd port (see [`crate::pcscd::Pcscd::port`]): to
//! pcscd that is a card put into the reader. [`VirtualCard::remove`] closes the connection: the
//! card is pulled out. The wire format is vpcd's: a 2-byte big-endian length, then the payload;
//! a 1-byte payload is a control message (0 power off, 1 power on, 2 reset, 4 "send your ATR"),
//! anything longer is a command APDU to answer. Every frame goes out in one write with
//! `TCP_NODELAY` (otherwise each APDU costs about 40 ms of Nagle delay).
//!
//! What the card answers, in this order:
//! 1. a scripted rule whose command (exact, or a prefix) matches: an answer, an answer after a
//!    delay, or vanishing (the connection closes without an answer: removal mid-command);
//! 2. `00 84 00 00 Le` GET CHALLENGE: Le pseudo-random bytes (different each time) + `9000`;
//! 3. `FF CA 00 00 Le` GET DATA (UID): the UID + `9000`;
//! 4. with a social security application ([`SsCard`]): SELECT of `sx1.sh.社会保障` by name,
//!    SELECT of EF05 / EF06, READ RECORD (`00 B2 rec 04 Le`) of the selected file, answering
//!    the record as TLV (tag = record number);
//! 5. otherwise `6D00` (instruction not supported).
//!
//! In T=0 mode ([`VirtualCard::t0`]) the card answers as T=0 cards do: a case-4 command gets
//! `61xx` (fetch with GET RESPONSE), and a READ RECORD whose Le is not the record's length gets
//! `6Cxx` (send again with Le = xx).
//!
//! Everything the card receives is logged ([`VirtualCard::events`], [`VirtualCard::apdus`]), so
//! a test can prove what reached the card, and that bad input did not.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the card saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardEvent {
    PowerOff,
    PowerOn,
    Reset,
    /// vpcd asked for the ATR (it does so on power-up and to check the card is still there).
    AtrRequest,
    /// A command APDU (hex, upper case) and the answer given (hex; empty when the card vanished).
    Apdu {
        command: String,
        response: String,
    },
}

#[derive(Debug, Clone)]
enum Answer {
    Bytes(Vec<u8>),
    Delayed(Duration, Vec<u8>),
    Vanish,
}

#[derive(Debug, Clone)]
struct Rule {
    command: Vec<u8>,
    prefix: bool,
    answer: Answer,
}

/// A social security application: records of EF05 and EF06 (tag = record number).
#[derive(Debug, Clone, Default)]
pub struct SsCard {
    /// (EF, record number) → value.
    pub records: BTreeMap<(u16, u8), Vec<u8>>,
    /// READ RECORD in EF06 answers `6982` (security status not satisfied): a card whose holder
    /// data needs a PIN VERIFY or PSAM authentication first.
    pub ef06_protected: bool,
}

/// The holder data of a social security card, as a test writes it.
#[derive(Debug, Clone)]
pub struct SsIdentity {
    /// Record 01, 16 bytes given as 32 hex digits; its first 6 digits are the city code.
    pub card_id_code: String,
    /// Record 02, 1 character.
    pub card_type: String,
    /// Record 03, 4 characters (`3.00`).
    pub version: String,
    /// Record 04, the issuing institution, 12 digits (BCD, 6 bytes).
    pub institution: String,
    /// Records 05 / 06, YYYYMMDD (BCD, 4 bytes).
    pub issue_date: String,
    pub expiry_date: String,
    /// Record 07, 9 characters.
    pub card_number: String,
    /// Record 08, 18 characters.
    pub ss_number: String,
    /// Record 09, up to 30 bytes of GBK, zero-padded.
    pub name: String,
    /// Record 0A, 1 character: `1` male, `2` female.
    pub sex: String,
    /// Record 0B, the GB 3304 code (2 digits, BCD, 1 byte).
    pub nation: String,
    /// Record 0C, the birthplace region code (6 digits, BCD, 3 bytes); `None` leaves the record out.
    pub birthplace: Option<String>,
    /// Record 0D, YYYYMMDD (BCD, 4 bytes).
    pub birth_date: String,
}

impl SsIdentity {
    /// A made-up holder (the card number and social security number are not real ones).
    pub fn sample() -> SsIdentity {
        SsIdentity {
            card_id_code: "330100D15600000500A1B2C3D4E5F601".into(),
            card_type: "1".into(),
            version: "3.00".into(),
            institution: "330100000001".into(),
            issue_date: "20210315".into(),
            expiry_date: "20310315".into(),
            card_number: "A01234567".into(),
            ss_number: "330102199001011234".into(),
            name: "张三丰".into(),
            sex: "1".into(),
            nation: "01".into(),
            birthplace: Some("330102".into()),
            birth_date: "19900101".into(),
        }
    }
}

fn bcd(digits: &str) -> Vec<u8> {
    assert!(digits.len() % 2 == 0 && digits.bytes().all(|b| b.is_ascii_digit()), "BCD digits: {digits}");
    digits.as_bytes().chunks(2).map(|p| ((p[0] - b'0') << 4) | (p[1] - b'0')).collect()
}

impl From<&SsIdentity> for SsCard {
    fn from(id: &SsIdentity) -> SsCard {
        let mut records = BTreeMap::new();
        let mut put = |ef: u16, rec: u8, v: Vec<u8>| {
            records.insert((ef, rec), v);
        };
        put(0xEF05, 0x01, hex(&id.card_id_code));
        put(0xEF05, 0x02, id.card_type.as_bytes().to_vec());
        put(0xEF05, 0x03, id.version.as_bytes().to_vec());
        put(0xEF05, 0x04, bcd(&id.institution));
        put(0xEF05, 0x05, bcd(&id.issue_date));
        put(0xEF05, 0x06, bcd(&id.expiry_date));
        put(0xEF05, 0x07, id.card_number.as_bytes().to_vec());
        put(0xEF06, 0x08, id.ss_number.as_bytes().to_vec());
        let (name, _, _) = encoding_rs::GBK.encode(&id.name);
        let mut name = name.into_owned();
        assert!(name.len() <= 30, "name longer than 30 GBK bytes");
        name.resize(30, 0);
        put(0xEF06, 0x09, name);
        put(0xEF06, 0x0A, id.sex.as_bytes().to_vec());
        put(0xEF06, 0x0B, bcd(&id.nation));
        if let Some(b) = &id.birthplace {
            put(0xEF06, 0x0C, bcd(b));
        }
        put(0xEF06, 0x0D, bcd(&id.birth_date));
        SsCard { records, ef06_protected: false }
    }
}

/// The DF name of the social security application: `sx1.sh.` + GBK `社会保障`.
pub const SSSE_DF_NAME: &str = "7378312E73682EC9E7BBE1B1A3D5CF";

/// Hex (spaces allowed) to bytes; panics on bad hex: test scripts are written by hand.
pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(s.len() % 2 == 0, "odd hex: {s}");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

/// Bytes to upper-case hex.
pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

#[derive(Debug)]
struct Script {
    atr: Vec<u8>,
    uid: Vec<u8>,
    rules: Vec<Rule>,
    ss: Option<SsCard>,
    t0: bool,
}

/// The card's memory between commands; lost on power-off or reset.
#[derive(Debug, Default)]
struct Volatile {
    ssse_selected: bool,
    ef: Option<u16>,
    /// Data a T=0 card holds for GET RESPONSE.
    pending: Vec<u8>,
}

struct Shared {
    script: Mutex<Script>,
    log: Mutex<Vec<CardEvent>>,
    rng: Mutex<u64>,
}

struct Connection {
    stream: TcpStream,
    thread: JoinHandle<()>,
}

/// A virtual card. Build it, [`insert`](VirtualCard::insert) it, look at what it saw.
pub struct VirtualCard {
    shared: Arc<Shared>,
    conn: Option<Connection>,
}

impl VirtualCard {
    /// A card with this ATR (hex) and UID `2E20419F`.
    pub fn new(atr: &str) -> VirtualCard {
        VirtualCard {
            shared: Arc::new(Shared {
                script: Mutex::new(Script {
                    atr: hex(atr),
                    uid: hex("2E20419F"),
                    rules: Vec::new(),
                    ss: None,
                    t0: false,
                }),
                log: Mutex::new(Vec::new()),
                rng: Mutex::new(0x2545_F491_4F6C_DD1D),
            }),
            conn: None,
        }
    }

    fn edit(self, f: impl FnOnce(&mut Script)) -> Self {
        f(&mut self.shared.script.lock().unwrap());
        self
    }

    pub fn uid(self, uid: &str) -> Self {
        self.edit(|s| s.uid = hex(uid))
    }

    /// Answers `command` (exact match) with `response`.
    pub fn respond(self, command: &str, response: &str) -> Self {
        let rule = Rule { command: hex(command), prefix: false, answer: Answer::Bytes(hex(response)) };
        self.edit(|s| s.rules.push(rule))
    }

    /// Answers every command starting with `prefix` with `response`.
    pub fn respond_prefix(self, prefix: &str, response: &str) -> Self {
        let rule = Rule { command: hex(prefix), prefix: true, answer: Answer::Bytes(hex(response)) };
        self.edit(|s| s.rules.push(rule))
    }

    /// Answers commands starting with `prefix` with `response`, but only after `delay`.
    pub fn slow(self, prefix: &str, delay: Duration, response: &str) -> Self {
        let rule = Rule { command: hex(prefix), prefix: true, answer: Answer::Delayed(delay, hex(response)) };
        self.edit(|s| s.rules.push(rule))
    }

    /// On a command starting with `prefix`, the card is gone: the connection closes unanswered.
    pub fn vanish_on(self, prefix: &str) -> Self {
        let rule = Rule { command: hex(prefix), prefix: true, answer: Answer::Vanish };
        self.edit(|s| s.rules.push(rule))
    }

    /// Carries the social security application.
    pub fn social_security(self, ss: SsCard) -> Self {
        self.edit(|s| s.ss = Some(ss))
    }

    /// Answers like a T=0 card (`61xx`, `6Cxx`).
    pub fn t0(self) -> Self {
        self.edit(|s| s.t0 = true)
    }

    pub fn atr(&self) -> String {
        to_hex(&self.shared.script.lock().unwrap().atr)
    }

    /// Connects to vpcd on 127.0.0.1:`port`: the card is in the reader. Panics if already in.
    pub fn insert(&mut self, port: u16) {
        assert!(!self.is_inserted(), "the card is already inserted");
        self.conn = None;
        let deadline = Instant::now() + Duration::from_secs(5);
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("vpcd on port {port} is not listening: {e}"),
            }
        };
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let reader = stream.try_clone().expect("clone stream");
        let shared = self.shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("vcard {port}"))
            .spawn(move || serve(reader, &shared))
            .expect("card thread");
        self.conn = Some(Connection { stream, thread });
    }

    /// Closes the connection: the card is pulled out. Waits until the card thread has ended.
    pub fn remove(&mut self) {
        if let Some(c) = self.conn.take() {
            let _ = c.stream.shutdown(Shutdown::Both);
            let _ = c.thread.join();
        }
    }

    /// Whether the connection is up (pcscd stopping also ends it).
    pub fn is_inserted(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| !c.thread.is_finished())
    }

    pub fn events(&self) -> Vec<CardEvent> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The command APDUs received (hex), in order.
    pub fn apdus(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                CardEvent::Apdu { command, .. } => Some(command),
                _ => None,
            })
            .collect()
    }

    pub fn clear_log(&self) {
        self.shared.log.lock().unwrap().clear();
    }
}

impl Drop for VirtualCard {
    fn drop(&mut self) {
        self.remove();
    }
}

/// vpcd writes a frame's length and its payload in two sends, without `TCP_NODELAY`: its
/// payload waits (Nagle) until the card acknowledges the length, and a delayed ACK makes that
/// about 40 ms per APDU. Acknowledging at once (re-armed before every read, since Linux turns
/// quick ACKs off again by itself) keeps an exchange well under a millisecond.
#[cfg(target_os = "linux")]
fn quick_ack(stream: &TcpStream) {
    use std::os::unix::io::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: setsockopt with a valid descriptor and a pointer to a live c_int of the given size.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn quick_ack(_: &TcpStream) {}

fn serve(mut stream: TcpStream, shared: &Shared) {
    let mut volatile = Volatile::default();
    loop {
        quick_ack(&stream);
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).is_err() {
            return;
        }
        quick_ack(&stream);
        let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
        if stream.read_exact(&mut msg).is_err() {
            return;
        }
        let reply = match msg.as_slice() {
            [0] => {
                shared.log.lock().unwrap().push(CardEvent::PowerOff);
                volatile = Volatile::default();
                None
            }
            [1] => {
                shared.log.lock().unwrap().push(CardEvent::PowerOn);
                volatile = Volatile::default();
                None
            }
            [2] => {
                shared.log.lock().unwrap().push(CardEvent::Reset);
                volatile = Volatile::default();
                None
            }
            [4] => {
                shared.log.lock().unwrap().push(CardEvent::AtrRequest);
                Some(shared.script.lock().unwrap().atr.clone())
            }
            [_] => None,
            apdu => {
                let answer = answer(apdu, shared, &mut volatile);
                let response = match &answer {
                    Answer::Bytes(b) | Answer::Delayed(_, b) => to_hex(b),
                    Answer::Vanish => String::new(),
                };
                shared.log.lock().unwrap().push(CardEvent::Apdu { command: to_hex(apdu), response });
                match answer {
                    Answer::Bytes(b) => Some(b),
                    Answer::Delayed(d, b) => {
                        std::thread::sleep(d);
                        Some(b)
                    }
                    Answer::Vanish => {
                        let _ = stream.shutdown(Shutdown::Both);
                        return;
                    }
                }
            }
        };
        if let Some(r) = reply {
            let mut frame = Vec::with_capacity(r.len() + 2);
            frame.extend_from_slice(&(r.len() as u16).to_be_bytes());
            frame.extend_from_slice(&r);
            if stream.write_all(&frame).is_err() {
                return;
            }
        }
    }
}

const OK: [u8; 2] = [0x90, 0x00];

fn with_sw(mut data: Vec<u8>, sw: [u8; 2]) -> Vec<u8> {
    data.extend_from_slice(&sw);
    data
}

fn answer(apdu: &[u8], shared: &Shared, v: &mut Volatile) -> Answer {
    let script = shared.script.lock().unwrap();
    if let Some(rule) =
        script.rules.iter().find(|r| if r.prefix { apdu.starts_with(&r.command) } else { apdu == r.command.as_slice() })
    {
        return rule.answer.clone();
    }
    let (cla, ins, p1, p2) = (apdu[0], apdu[1], apdu.get(2).copied().unwrap_or(0), apdu.get(3).copied().unwrap_or(0));
    let body = &apdu[4.min(apdu.len())..];
    // Case 4 (Lc, data, Le) in T=0: the card keeps the answer for GET RESPONSE.
    let t0_defer = |data: Vec<u8>, v: &mut Volatile| -> Vec<u8> {
        if script.t0 && !data.is_empty() {
            let n = data.len();
            v.pending = data;
            vec![0x61, n as u8]
        } else {
            with_sw(data, OK)
        }
    };
    Answer::Bytes(match (cla, ins) {
        (0x00, 0xC0) => {
            let data = std::mem::take(&mut v.pending);
            if data.is_empty() {
                vec![0x6F, 0x00]
            } else {
                with_sw(data, OK)
            }
        }
        (0x00, 0x84) if p1 == 0 && p2 == 0 && body.len() == 1 => {
            let n = if body[0] == 0 { 256 } else { body[0] as usize };
            let mut rng = shared.rng.lock().unwrap();
            let bytes = (0..n)
                .map(|_| {
                    *rng ^= *rng << 13;
                    *rng ^= *rng >> 7;
                    *rng ^= *rng << 17;
                    (*rng >> 24) as u8
                })
                .collect();
            with_sw(bytes, OK)
        }
        (0xFF, 0xCA) if p1 == 0 => with_sw(script.uid.clone(), OK),
        (0x00, 0xA4) if script.ss.is_some() => {
            let lc = body.first().copied().unwrap_or(0) as usize;
            let data = body.get(1..1 + lc).unwrap_or(&[]);
            match (p1, data) {
                (0x04, name) if to_hex(name) == SSSE_DF_NAME => {
                    v.ssse_selected = true;
                    v.ef = None;
                    // Case 4 when an Le follows: a T=0 card defers its (empty) FCI.
                    if body.len() > 1 + lc {
                        t0_defer(vec![0x6F, 0x00], v)
                    } else {
                        OK.to_vec()
                    }
                }
                (0x04, _) => vec![0x6A, 0x82],
                (0x02, [hi, lo]) if v.ssse_selected && matches!((*hi, *lo), (0xEF, 0x05) | (0xEF, 0x06)) => {
                    v.ef = Some(u16::from_be_bytes([*hi, *lo]));
                    OK.to_vec()
                }
                _ => vec![0x6A, 0x82],
            }
        }
        (0x00, 0xB2) if script.ss.is_some() => {
            let ss = script.ss.as_ref().expect("checked");
            let Some(ef) = v.ef else { return Answer::Bytes(vec![0x69, 0x86]) };
            if p2 != 0x04 {
                return Answer::Bytes(vec![0x6A, 0x86]);
            }
            if ef == 0xEF06 && ss.ef06_protected {
                return Answer::Bytes(vec![0x69, 0x82]);
            }
            let Some(value) = ss.records.get(&(ef, p1)) else { return Answer::Bytes(vec![0x6A, 0x83]) };
            let mut tlv = vec![p1, value.len() as u8];
            tlv.extend_from_slice(value);
            let le = body.first().copied().unwrap_or(0) as usize;
            if script.t0 && le != tlv.len() {
                vec![0x6C, tlv.len() as u8]
            } else if le != 0 && le < tlv.len() {
                tlv.truncate(le);
                with_sw(tlv, OK)
            } else {
                with_sw(tlv, OK)
            }
        }
        _ => vec![0x6D, 0x00],
    })
}
