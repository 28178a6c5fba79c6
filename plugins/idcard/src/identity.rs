//! What a card holds, how the module encodes it, and what a page receives.
//!
//! The SAM module (and the `sdtapi` libraries) return 256 bytes of UCS-2LE text in fixed-width
//! fields; `termb`-style libraries return the fields one by one. Both become an [`Identity`].
//! Pages receive seed 000's field names, grouped by `infoType`: `base` (name, idNum), `photo`
//! (photoBase64) and `other` (signingOrganization, address, nation, sex, beginTime, endTime,
//! birthDate).

use booth_bridge::ApiError;
use serde_json::{json, Map, Value};

/// The fields printed on a card, decoded and trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    pub name: String,
    /// 男 / 女 (from the card's code 1 / 2).
    pub sex: String,
    /// The nationality's name, e.g. 汉 (from the card's two-digit code).
    pub nation: String,
    /// YYYYMMDD.
    pub birth: String,
    /// Full-width digits and Latin letters turned into ASCII (seed 000 warns that addresses carry
    /// full-width house numbers, which then fail to match a search).
    pub address: String,
    pub id_number: String,
    pub issuer: String,
    /// YYYYMMDD.
    pub valid_from: String,
    /// YYYYMMDD, or 长期 for cards without an end.
    pub valid_to: String,
}

/// The photo as a backend delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Photo {
    None,
    /// 1024 bytes of the card's compressed format (needs the vendor's decoder library).
    Wlt(Vec<u8>),
    /// A Windows bitmap (what vendor libraries decode the photo to).
    Bmp(Vec<u8>),
    /// Already what the page gets (the simulator).
    Base64(String),
}

/// One card read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRead {
    pub identity: Identity,
    pub photo: Photo,
}

/// Characters per field of the 256-byte text block, in order.
pub const FIELD_CHARS: [usize; 9] = [15, 1, 2, 8, 35, 18, 15, 8, 8];
/// Length of the text block (the nine fields plus 18 reserved characters).
pub const TEXT_BYTES: usize = 256;

/// Decodes the module's UCS-2LE text block.
pub fn decode_text(text: &[u8]) -> Result<Identity, String> {
    let needed: usize = FIELD_CHARS.iter().sum::<usize>() * 2;
    if text.len() < needed {
        return Err(format!("身份信息只有 {} 字节, 需要 {needed}", text.len()));
    }
    let mut fields = Vec::with_capacity(FIELD_CHARS.len());
    let mut at = 0;
    for chars in FIELD_CHARS {
        let units: Vec<u16> =
            text[at..at + chars * 2].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        fields.push(clean(&String::from_utf16_lossy(&units)));
        at += chars * 2;
    }
    let [name, sex, nation, birth, address, id_number, issuer, valid_from, valid_to]: [String; 9] =
        fields.try_into().map_err(|_| "field count".to_string())?;
    Ok(Identity {
        name,
        sex: sex_name(&sex),
        nation: nation_name(&nation),
        birth,
        address: halfwidth(&address),
        id_number: id_number.to_ascii_uppercase(),
        issuer,
        valid_from,
        valid_to,
    })
}

/// Encodes an identity as the module would (used by the simulator's tests and documentation
/// examples; the real text comes from the card). Codes are written for sex and nation.
pub fn encode_text(id: &Identity) -> Vec<u8> {
    let values = [
        id.name.clone(),
        sex_code(&id.sex).to_string(),
        nation_code(&id.nation).map(str::to_string).unwrap_or_else(|| id.nation.clone()),
        id.birth.clone(),
        id.address.clone(),
        id.id_number.clone(),
        id.issuer.clone(),
        id.valid_from.clone(),
        id.valid_to.clone(),
    ];
    let mut out = Vec::with_capacity(TEXT_BYTES);
    for (value, chars) in values.iter().zip(FIELD_CHARS) {
        let mut units: Vec<u16> = value.encode_utf16().take(chars).collect();
        units.resize(chars, 0x20);
        for u in units {
            out.extend_from_slice(&u.to_le_bytes());
        }
    }
    out.resize(TEXT_BYTES, 0x20);
    out
}

/// Trims the padding (spaces, NULs, full-width spaces) around a field.
pub fn clean(s: &str) -> String {
    s.trim_matches(|c: char| c == ' ' || c == '\0' || c == '\u{3000}').to_string()
}

/// Full-width digits, Latin letters and hyphens to ASCII; everything else unchanged.
pub fn halfwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF10}'..='\u{FF19}' | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}' | '\u{FF0D}' => {
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            }
            _ => c,
        })
        .collect()
}

/// GB/T 2261.1 sex codes.
pub fn sex_name(code: &str) -> String {
    match code {
        "1" => "男".into(),
        "2" => "女".into(),
        "0" => "未知".into(),
        "9" => "未说明".into(),
        other => other.to_string(),
    }
}

fn sex_code(name: &str) -> &str {
    match name {
        "男" => "1",
        "女" => "2",
        "未知" => "0",
        "未说明" => "9",
        other => other,
    }
}

/// GB/T 3304 nationality codes as printed on the card (without 族).
const NATIONS: [(&str, &str); 58] = [
    ("01", "汉"),
    ("02", "蒙古"),
    ("03", "回"),
    ("04", "藏"),
    ("05", "维吾尔"),
    ("06", "苗"),
    ("07", "彝"),
    ("08", "壮"),
    ("09", "布依"),
    ("10", "朝鲜"),
    ("11", "满"),
    ("12", "侗"),
    ("13", "瑶"),
    ("14", "白"),
    ("15", "土家"),
    ("16", "哈尼"),
    ("17", "哈萨克"),
    ("18", "傣"),
    ("19", "黎"),
    ("20", "傈僳"),
    ("21", "佤"),
    ("22", "畲"),
    ("23", "高山"),
    ("24", "拉祜"),
    ("25", "水"),
    ("26", "东乡"),
    ("27", "纳西"),
    ("28", "景颇"),
    ("29", "柯尔克孜"),
    ("30", "土"),
    ("31", "达斡尔"),
    ("32", "仫佬"),
    ("33", "羌"),
    ("34", "布朗"),
    ("35", "撒拉"),
    ("36", "毛南"),
    ("37", "仡佬"),
    ("38", "锡伯"),
    ("39", "阿昌"),
    ("40", "普米"),
    ("41", "塔吉克"),
    ("42", "怒"),
    ("43", "乌孜别克"),
    ("44", "俄罗斯"),
    ("45", "鄂温克"),
    ("46", "德昂"),
    ("47", "保安"),
    ("48", "裕固"),
    ("49", "京"),
    ("50", "塔塔尔"),
    ("51", "独龙"),
    ("52", "鄂伦春"),
    ("53", "赫哲"),
    ("54", "门巴"),
    ("55", "珞巴"),
    ("56", "基诺"),
    ("97", "其他"),
    ("98", "外国血统中国籍人士"),
];

/// The nationality's name for a code; a name (as termb-style libraries return) stays as it is,
/// without a trailing 族.
pub fn nation_name(code: &str) -> String {
    match NATIONS.iter().find(|(c, _)| *c == code) {
        Some((_, name)) => name.to_string(),
        None => code.strip_suffix('族').unwrap_or(code).to_string(),
    }
}

fn nation_code(name: &str) -> Option<&'static str> {
    NATIONS.iter().find(|(_, n)| *n == name).map(|(c, _)| *c)
}

/// Keeps the digits of a date (termb-style libraries may answer 1990-03-07 or 1990年03月07日);
/// anything that is not a date (长期) stays as it is.
pub fn date(s: &str) -> String {
    let s = clean(s);
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() == 8 {
        digits
    } else {
        s
    }
}

/// Which groups of `data` a `getIDCardInfo` call asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InfoTypes {
    pub base: bool,
    pub photo: bool,
    pub other: bool,
}

impl InfoTypes {
    pub const ALL: InfoTypes = InfoTypes { base: true, photo: true, other: true };

    /// `"base,photo,other"` in any order and spacing; absent means all three.
    pub fn parse(value: Option<&str>) -> Result<InfoTypes, ApiError> {
        let Some(value) = value else { return Ok(InfoTypes::ALL) };
        let mut t = InfoTypes { base: false, photo: false, other: false };
        for part in value.split(',').map(str::trim) {
            match part {
                "base" => t.base = true,
                "photo" => t.photo = true,
                "other" => t.other = true,
                "" => {}
                unknown => {
                    return Err(ApiError::invalid(format!("infoType 只能包含 base、photo、other, 收到 \"{unknown}\"")))
                }
            }
        }
        if !(t.base || t.photo || t.other) {
            return Err(ApiError::invalid("infoType 不能为空 (可选 base,photo,other)"));
        }
        Ok(t)
    }
}

/// Every field as the listener and the one-shot call deliver it (seed 000's names).
pub fn card_data(id: &Identity, photo_base64: &str) -> Value {
    json!({
        "name": id.name,
        "idNum": id.id_number,
        "signingOrganization": id.issuer,
        "address": id.address,
        "nation": id.nation,
        "sex": id.sex,
        "beginTime": id.valid_from,
        "endTime": id.valid_to,
        "birthDate": id.birth,
        "photoBase64": photo_base64,
    })
}

/// Only the requested groups of [`card_data`].
pub fn select(data: &Value, types: InfoTypes) -> Value {
    let mut out = Map::new();
    let groups: [(bool, &[&str]); 3] = [
        (types.base, &["name", "idNum"]),
        (types.photo, &["photoBase64"]),
        (types.other, &["signingOrganization", "address", "nation", "sex", "beginTime", "endTime", "birthDate"]),
    ];
    for (wanted, keys) in groups {
        if wanted {
            for k in keys {
                if let Some(v) = data.get(*k) {
                    out.insert(k.to_string(), v.clone());
                }
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Identity {
        Identity {
            name: "张三".into(),
            sex: "男".into(),
            nation: "汉".into(),
            birth: "19900307".into(),
            address: "北京市东城区景山前街4号".into(),
            id_number: "11010119900307001X".into(),
            issuer: "北京市公安局东城分局".into(),
            valid_from: "20200101".into(),
            valid_to: "长期".into(),
        }
    }

    #[test]
    fn text_block_round_trips_with_codes_and_padding() {
        let block = encode_text(&sample());
        assert_eq!(block.len(), TEXT_BYTES);
        // Sex and nation are stored as codes.
        assert_eq!(&block[30..32], &[b'1', 0]);
        assert_eq!(&block[32..36], &[b'0', 0, b'1', 0]);
        assert_eq!(decode_text(&block).unwrap(), sample());
    }

    #[test]
    fn full_width_digits_in_the_address_become_ascii() {
        let mut id = sample();
        id.address = "杭州市余杭区文一西路９６９号Ａ座－１".into();
        let decoded = decode_text(&encode_text(&id)).unwrap();
        assert_eq!(decoded.address, "杭州市余杭区文一西路969号A座-1");
        assert_eq!(halfwidth("（甲）１３８"), "（甲）138", "full-width brackets stay");
    }

    #[test]
    fn short_blocks_are_refused() {
        assert!(decode_text(&[0u8; 100]).unwrap_err().contains("100"));
    }

    #[test]
    fn codes_and_names() {
        assert_eq!(nation_name("01"), "汉");
        assert_eq!(nation_name("56"), "基诺");
        assert_eq!(nation_name("汉族"), "汉");
        assert_eq!(sex_name("2"), "女");
        assert_eq!(date("1990-03-07"), "19900307");
        assert_eq!(date("长期"), "长期");
    }

    #[test]
    fn info_types_select_groups() {
        let data = card_data(&sample(), "AAAA");
        let base = select(&data, InfoTypes::parse(Some("base")).unwrap());
        assert_eq!(base, json!({"name": "张三", "idNum": "11010119900307001X"}));
        let photo_other = select(&data, InfoTypes::parse(Some(" other , photo")).unwrap());
        assert_eq!(photo_other.as_object().unwrap().len(), 8);
        assert!(photo_other.get("name").is_none());
        assert_eq!(select(&data, InfoTypes::parse(None).unwrap()), data);
        for bad in ["", " , ", "base,face"] {
            assert_eq!(InfoTypes::parse(Some(bad)).unwrap_err().code, booth_bridge::ErrorCode::InvalidParams, "{bad}");
        }
    }
}
