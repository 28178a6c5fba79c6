//! The social security card (社会保障卡): reading the public records of its SSSE application
//! the way public vendor samples do, and decoding them into seed 000's fields.
//!
//! Commands, in order (every answer must end in `9000`, after the usual T=0 help):
//!
//! | command | what |
//! | --- | --- |
//! | `00A404000F 7378312E73682EC9E7BBE1B1A3D5CF` | SELECT the application by name (`sx1.sh.` + GBK `社会保障`) |
//! | `00A4020002 EF05` | SELECT EF05 (card data) |
//! | `00B2 rr 04 00` | READ RECORD rr of the selected file (P2 `04`: record number in P1), rr = 01, 03, 05, 06, 07 |
//! | `00A4020002 EF06` | SELECT EF06 (holder data) |
//! | `00B2 rr 04 00` | rr = 08, 09, 0A, 0B, 0C, 0D |
//!
//! Each record answers as TLV with the record number as tag. Which field comes from where:
//!
//! | field | record | stored as | given as |
//! | --- | --- | --- | --- |
//! | `cityCode` | EF05 01 卡识别码 (16 bytes) | binary | its first 6 hex digits: the issuing region's code |
//! | `fullVersion` | EF05 03 规范版本 | ASCII (`3.00`) | as stored |
//! | `issueDate` | EF05 05 发卡日期 | BCD YYYYMMDD (or ASCII) | `20210315` |
//! | `expireDate` | EF05 06 卡有效期 | BCD YYYYMMDD (or ASCII) | `20310315` |
//! | `cardNumber` | EF05 07 卡号 | ASCII (9) | as stored |
//! | `idNumber` | EF06 08 社会保障号码 | ASCII (18) | as stored |
//! | `name` | EF06 09 姓名 | GBK (30, padded) | text |
//! | `sex` | EF06 0A 性别 | `1` / `2` (GB/T 2261.1) | `男` / `女` (`0` 未知, `9` 未说明) |
//! | `nation` | EF06 0B 民族 | BCD code (GB 3304) | the name as on ID cards (`01` → `汉`) |
//! | `address` | EF06 0C 出生地 | BCD region code (or GBK text) | the code (or text); `""` when the record is absent |
//! | `birthDate` | EF06 0D 出生日期 | BCD YYYYMMDD (or ASCII) | `19900101` |
//!
//! The public files carry no postal address; `address` is the birthplace record, usually a
//! six-digit region code. Records 07, 08 and 09 are required; a missing optional record
//! (`6A83`) gives `""`. A card that answers `6982` / `6983` / `6985` (security status not
//! satisfied) to a READ RECORD wants a PIN VERIFY or PSAM external authentication first, which
//! needs the issuer's keys: Booth reports it as such (`DEVICE_ERROR`, "需要先校验 PIN 或 PSAM
//! 认证") instead of guessing; a page holding the keys can do the exchange itself through
//! `sendCPUCardCommand` / `sendCPUCardApduCommands`.

use crate::apdu::{exchange, status_word, to_hex};
use crate::port::{CardError, Port, Reset};
use serde::Serialize;
use std::fmt;

/// `sx1.sh.` + GBK `社会保障`.
pub const SSSE_NAME: [u8; 15] =
    [0x73, 0x78, 0x31, 0x2E, 0x73, 0x68, 0x2E, 0xC9, 0xE7, 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF];

/// seed 000's social security card data, field names as documented.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SsInfo {
    pub card_number: String,
    pub name: String,
    pub sex: String,
    pub id_number: String,
    pub birth_date: String,
    pub issue_date: String,
    pub expire_date: String,
    pub nation: String,
    pub city_code: String,
    pub address: String,
    pub full_version: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsError {
    /// The reader or the card failed.
    Card(CardError),
    /// The card has no social security application.
    NotSsCard(u16),
    /// A record needs a PIN or PSAM authentication first.
    Protected { record: u8, sw: u16 },
    /// Anything else the card answered that a social security card should not.
    Unexpected(String),
}

impl From<CardError> for SsError {
    fn from(e: CardError) -> Self {
        SsError::Card(e)
    }
}

impl fmt::Display for SsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SsError::Card(e) => e.fmt(f),
            SsError::NotSsCard(sw) => write!(f, "不是社保卡 (选择社保应用返回 {sw:04X})"),
            SsError::Protected { record, sw } => {
                write!(f, "社保卡记录 {record:02X} 需要先校验 PIN 或 PSAM 认证 ({sw:04X})")
            }
            SsError::Unexpected(d) => write!(f, "社保卡应答异常: {d}"),
        }
    }
}

/// What one record read gave.
enum Record {
    Value(Vec<u8>),
    Absent,
}

struct Reader<'a> {
    port: &'a mut dyn Port,
    t0_help: bool,
}

impl Reader<'_> {
    fn send(&mut self, apdu: &[u8]) -> Result<Vec<u8>, SsError> {
        let port = &mut *self.port;
        Ok(exchange(&mut |a: &[u8]| port.transmit(a), apdu, self.t0_help)?)
    }

    fn select_ef(&mut self, ef: [u8; 2]) -> Result<(), SsError> {
        let r = self.send(&[0x00, 0xA4, 0x02, 0x00, 0x02, ef[0], ef[1]])?;
        match status_word(&r) {
            Some(0x9000) => Ok(()),
            sw => Err(SsError::Unexpected(format!("选择 {} 返回 {}", to_hex(&ef), sw_text(sw)))),
        }
    }

    fn record(&mut self, n: u8) -> Result<Record, SsError> {
        let r = self.send(&[0x00, 0xB2, n, 0x04, 0x00])?;
        match status_word(&r) {
            Some(0x9000) => {
                let data = &r[..r.len() - 2];
                // TLV with the record number as tag; a card that gives the bare value is taken as is.
                match data {
                    [tag, len, value @ ..] if *tag == n && (*len as usize) <= value.len() => {
                        Ok(Record::Value(value[..*len as usize].to_vec()))
                    }
                    _ => Ok(Record::Value(data.to_vec())),
                }
            }
            Some(0x6A83) | Some(0x6A82) => Ok(Record::Absent),
            Some(sw @ (0x6982 | 0x6983 | 0x6985)) => Err(SsError::Protected { record: n, sw }),
            sw => Err(SsError::Unexpected(format!("读记录 {n:02X} 返回 {}", sw_text(sw)))),
        }
    }

    fn required(&mut self, n: u8) -> Result<Vec<u8>, SsError> {
        match self.record(n)? {
            Record::Value(v) => Ok(v),
            Record::Absent => Err(SsError::Unexpected(format!("缺少记录 {n:02X}"))),
        }
    }

    fn optional(&mut self, n: u8) -> Result<Option<Vec<u8>>, SsError> {
        Ok(match self.record(n)? {
            Record::Value(v) => Some(v),
            Record::Absent => None,
        })
    }
}

fn sw_text(sw: Option<u16>) -> String {
    sw.map(|s| format!("{s:04X}")).unwrap_or_else(|| "空应答".into())
}

/// Reads the card in the reader behind `port` (powering it if needed).
pub fn read(port: &mut dyn Port, t0_help: bool) -> Result<SsInfo, SsError> {
    port.power(Reset::Keep)?;
    let mut r = Reader { port, t0_help };
    let mut select = vec![0x00, 0xA4, 0x04, 0x00, SSSE_NAME.len() as u8];
    select.extend_from_slice(&SSSE_NAME);
    let answer = r.send(&select)?;
    match status_word(&answer) {
        Some(0x9000) => {}
        Some(sw) => return Err(SsError::NotSsCard(sw)),
        None => return Err(SsError::Unexpected("选择社保应用: 空应答".into())),
    }
    r.select_ef([0xEF, 0x05])?;
    let id_code = r.optional(0x01)?;
    let version = r.optional(0x03)?;
    let issue = r.optional(0x05)?;
    let expiry = r.optional(0x06)?;
    let number = r.required(0x07)?;
    r.select_ef([0xEF, 0x06])?;
    let ssn = r.required(0x08)?;
    let name = r.required(0x09)?;
    let sex = r.optional(0x0A)?;
    let nation = r.optional(0x0B)?;
    let birthplace = r.optional(0x0C)?;
    let birth = r.optional(0x0D)?;
    Ok(SsInfo {
        card_number: ascii(&number),
        name: gbk(&name),
        sex: sex.map(|s| sex_text(&s)).unwrap_or_default(),
        id_number: ascii(&ssn),
        birth_date: birth.map(|b| digits(&b)).unwrap_or_default(),
        issue_date: issue.map(|b| digits(&b)).unwrap_or_default(),
        expire_date: expiry.map(|b| digits(&b)).unwrap_or_default(),
        nation: nation.map(|n| nation_text(&n)).unwrap_or_default(),
        city_code: id_code.map(|c| to_hex(&c).chars().take(6).collect()).unwrap_or_default(),
        address: birthplace.map(|b| place(&b)).unwrap_or_default(),
        full_version: version.map(|v| ascii(&v)).unwrap_or_default(),
    })
}

/// Text fields are padded at the end with NUL, space or 0xFF.
fn trim_padding(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&c| c != 0x00 && c != 0x20 && c != 0xFF).map_or(0, |i| i + 1);
    &b[..end]
}

fn ascii(b: &[u8]) -> String {
    String::from_utf8_lossy(trim_padding(b)).trim().to_string()
}

fn gbk(b: &[u8]) -> String {
    let (text, _, _) = encoding_rs::GBK.decode(trim_padding(b));
    text.trim().to_string()
}

/// BCD digits (`20 21 03 15` → `20210315`; a trailing `F` nibble is filler), or ASCII digits
/// as stored.
fn digits(b: &[u8]) -> String {
    let t = trim_padding(b);
    if !t.is_empty() && t.iter().all(u8::is_ascii_digit) {
        return String::from_utf8_lossy(t).into_owned();
    }
    to_hex(b).trim_end_matches('F').to_string()
}

fn is_bcd(b: &[u8]) -> bool {
    let hex = to_hex(b);
    let hex = hex.trim_end_matches('F');
    !hex.is_empty() && hex.bytes().all(|c| c.is_ascii_digit())
}

fn place(b: &[u8]) -> String {
    if is_bcd(b) {
        digits(b)
    } else {
        gbk(b)
    }
}

fn code(b: &[u8]) -> String {
    match trim_padding(b) {
        [c] if c.is_ascii_digit() => (*c as char).to_string(),
        [c] => format!("{c:X}"),
        other => digits(other),
    }
}

fn sex_text(b: &[u8]) -> String {
    let c = code(b);
    match c.as_str() {
        "1" => "男".into(),
        "2" => "女".into(),
        "0" => "未知".into(),
        "9" => "未说明".into(),
        _ => c,
    }
}

/// GB 3304 nationality codes, as ID cards print them.
const NATIONS: [&str; 56] = [
    "汉",
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
];

fn nation_text(b: &[u8]) -> String {
    let c = digits(b);
    match c.parse::<usize>() {
        Ok(n @ 1..=56) => NATIONS[n - 1].to_string(),
        Ok(97) => "其他".into(),
        Ok(98) => "外国血统".into(),
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_stored_forms() {
        assert_eq!(digits(&[0x20, 0x21, 0x03, 0x15]), "20210315");
        assert_eq!(digits(b"20210315"), "20210315");
        assert_eq!(ascii(b"A01234567\0\0"), "A01234567");
        let (name, _, _) = encoding_rs::GBK.encode("张三丰");
        let mut padded = name.to_vec();
        padded.resize(30, 0);
        assert_eq!(gbk(&padded), "张三丰");
        assert_eq!(sex_text(b"1"), "男");
        assert_eq!(sex_text(&[0x02]), "女");
        assert_eq!(sex_text(b"9"), "未说明");
        assert_eq!(nation_text(&[0x01]), "汉");
        assert_eq!(nation_text(&[0x56]), "基诺");
        assert_eq!(nation_text(b"03"), "回");
        assert_eq!(nation_text(&[0x97]), "其他");
        assert_eq!(nation_text(&[0x77]), "77");
        assert_eq!(place(&[0x33, 0x01, 0x02]), "330102");
        let (text, _, _) = encoding_rs::GBK.encode("浙江杭州");
        assert_eq!(place(&text), "浙江杭州");
        assert_eq!(place(&[0x11, 0x01, 0x00]), "110100");
        assert_eq!(digits(&[0x19, 0x90, 0x01, 0x01, 0xFF]), "19900101");
        assert_eq!(ascii(&[0x20, 0x41, 0x00, 0xFF]), "A");
        assert_eq!(trim_padding(&[0x00, 0x00]), b"");
    }
}
