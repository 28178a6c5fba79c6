//! booth.toml sections of the terminal's input devices — `[idcard]`, `[presence]`, `[pos]`,
//! `[keypad]` and the keyboard-wedge keys of `[scanner]` — and how they become plugin
//! configurations.

use crate::config::Config;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdcardSection {
    /// `sam` (serial SAM module), `sdk` (vendor library), `sim` or `none`.
    pub backend: String,
    /// The SAM module's serial port.
    pub port: Option<String>,
    pub baud: u32,
    /// `sdtapi` or `termb` (backend `sdk`).
    pub sdk: String,
    /// The vendor library (backend `sdk`).
    pub library: Option<PathBuf>,
    /// The vendor's port number: 1–16 serial, 1001–1016 USB.
    pub sdk_port: i32,
    /// The vendor's WLT photo decoder library; without it photos are empty.
    pub photo_decoder: Option<PathBuf>,
    pub photo_decoder_symbol: String,
    pub photo_decoder_flag: i32,
    /// getIDCardInfo's wait (seed 000: 15 s).
    pub timeout_ms: u64,
    /// enterIDNumber's wait.
    pub id_number_timeout_ms: u64,
}

impl Default for IdcardSection {
    fn default() -> Self {
        IdcardSection {
            backend: "none".into(),
            port: None,
            baud: 115_200,
            sdk: "sdtapi".into(),
            library: None,
            sdk_port: 1001,
            photo_decoder: None,
            photo_decoder_symbol: "unpack".into(),
            photo_decoder_flag: 0,
            timeout_ms: 15_000,
            id_number_timeout_ms: 60_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PresenceSection {
    /// `serial`, `sim` or `none`.
    pub backend: String,
    pub port: Option<String>,
    pub baud: u32,
    /// The line the sensor sends when someone is there.
    pub present: String,
    /// The line it sends when nobody is.
    pub absent: String,
    /// Sent every `query_every_ms` to sensors that only answer when asked (`\r`, `\n`, `\xNN`).
    pub query: String,
    pub query_every_ms: u64,
}

impl Default for PresenceSection {
    fn default() -> Self {
        PresenceSection {
            backend: "none".into(),
            port: None,
            baud: 9600,
            present: "1".into(),
            absent: "0".into(),
            query: String::new(),
            query_every_ms: 500,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PosSection {
    /// `serial`, `sim` or `none`.
    pub backend: String,
    pub port: Option<String>,
    pub baud: u32,
    /// `utf-8` or `gbk`.
    pub encoding: String,
    /// Sent after every message (`\r`, `\n`, `\xNN`).
    pub suffix: String,
}

impl Default for PosSection {
    fn default() -> Self {
        PosSection { backend: "none".into(), port: None, baud: 9600, encoding: "utf-8".into(), suffix: String::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeypadSection {
    /// `page` (keys of the page window, plus `port` / `device` when set) or `sim`.
    pub backend: String,
    /// A serial keypad.
    pub port: Option<String>,
    pub baud: u32,
    /// What the serial keypad sends: `code` (Android codes), `name` (Numpad1) or `char` (1, +).
    pub format: String,
    /// A keyboard device: a path or name substring (Linux evdev), an interface-path substring
    /// (Windows Raw Input).
    pub device: Option<String>,
    /// Android key code → PC keys, replacing the default table's entry.
    pub keys: BTreeMap<String, Vec<String>>,
}

impl Default for KeypadSection {
    fn default() -> Self {
        KeypadSection {
            backend: "page".into(),
            port: None,
            baud: 9600,
            format: "code".into(),
            device: None,
            keys: BTreeMap::new(),
        }
    }
}

fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(format!("{field}: `{value}` is not one of {}", allowed.join(", ")))
    }
}

fn needs(field: &str, value: &Option<String>, when: &str) -> Result<(), String> {
    if value.as_deref().is_some_and(|v| !v.is_empty()) {
        Ok(())
    } else {
        Err(format!("{field}: required when {when}"))
    }
}

/// Checks the input sections (called from [`Config::parse`]).
pub fn validate(c: &Config) -> Result<(), String> {
    let i = &c.idcard;
    one_of("idcard.backend", &i.backend, &["sam", "sdk", "sim", "none"])?;
    if i.backend == "sam" {
        needs("idcard.port", &i.port, "idcard.backend = \"sam\"")?;
    }
    if i.backend == "sdk" {
        one_of("idcard.sdk", &i.sdk, &["sdtapi", "termb"])?;
        if i.library.as_ref().is_none_or(|l| l.as_os_str().is_empty()) {
            return Err("idcard.library: required when idcard.backend = \"sdk\"".into());
        }
    }
    if !(1000..=120_000).contains(&i.timeout_ms) {
        return Err("idcard.timeout_ms: must be 1000 to 120000".into());
    }
    if !(5000..=300_000).contains(&i.id_number_timeout_ms) {
        return Err("idcard.id_number_timeout_ms: must be 5000 to 300000".into());
    }
    let p = &c.presence;
    one_of("presence.backend", &p.backend, &["serial", "sim", "none"])?;
    if p.backend == "serial" {
        needs("presence.port", &p.port, "presence.backend = \"serial\"")?;
    }
    if p.present.trim().is_empty() || p.absent.trim().is_empty() || p.present.trim() == p.absent.trim() {
        return Err("presence.present / presence.absent: two different, non-empty lines".into());
    }
    let pos = &c.pos;
    one_of("pos.backend", &pos.backend, &["serial", "sim", "none"])?;
    if pos.backend == "serial" {
        needs("pos.port", &pos.port, "pos.backend = \"serial\"")?;
    }
    if booth_pos::Encoding::parse(&pos.encoding).is_none() {
        return Err(format!("pos.encoding: `{}` is not one of utf-8, gbk", pos.encoding));
    }
    let k = &c.keypad;
    one_of("keypad.backend", &k.backend, &["page", "sim"])?;
    one_of("keypad.format", &k.format, &["code", "name", "char"])?;
    booth_keypad::keymap::KeyMap::new(&k.keys)?;
    let s = &c.scanner;
    one_of("scanner.wedge", &s.wedge, &["off", "page", "device"])?;
    if s.wedge == "device" {
        needs("scanner.wedge_device", &s.wedge_device, "scanner.wedge = \"device\"")?;
    }
    if !(1..=1000).contains(&s.wedge_max_gap_ms) || s.wedge_min_length == 0 {
        return Err("scanner.wedge_max_gap_ms (1–1000) and scanner.wedge_min_length (≥ 1)".into());
    }
    for (name, baud) in [("idcard", i.baud), ("presence", p.baud), ("pos", pos.baud), ("keypad", k.baud)] {
        if baud == 0 {
            return Err(format!("{name}.baud: must be positive"));
        }
    }
    Ok(())
}

/// `booth dev`: the input devices left at `none` (or the keypad without a real source) get
/// their simulators.
pub fn simulate_unconfigured(c: &mut Config, simulated: &mut Vec<&'static str>) {
    for (name, backend) in
        [("idcard", &mut c.idcard.backend), ("presence", &mut c.presence.backend), ("pos", &mut c.pos.backend)]
    {
        if backend == "none" || backend == "sim" {
            *backend = "sim".into();
            simulated.push(name);
        }
    }
    if c.keypad.port.is_none() && c.keypad.device.is_none() {
        c.keypad.backend = "sim".into();
        simulated.push("keypad");
    }
}

/// The ID card plugin's configuration.
pub fn idcard(c: &Config, sim: bool) -> booth_idcard::IdCardConfig {
    use booth_idcard::{Backend, DecoderConfig};
    let i = &c.idcard;
    let backend = match (sim, i.backend.as_str()) {
        (true, _) | (_, "sim") => Backend::Sim,
        (_, "sam") => Backend::Sam { port: i.port.clone().unwrap_or_default(), baud: i.baud },
        (_, "sdk") => Backend::Sdk {
            sdk: booth_idcard::sdk::Sdk::parse(&i.sdk).unwrap_or(booth_idcard::sdk::Sdk::Sdtapi),
            library: i.library.clone().unwrap_or_default(),
            port: i.sdk_port,
        },
        _ => Backend::None,
    };
    booth_idcard::IdCardConfig {
        backend,
        default_timeout: Duration::from_millis(i.timeout_ms),
        photo_decoder: i.photo_decoder.clone().filter(|p| !p.as_os_str().is_empty()).map(|library| DecoderConfig {
            library,
            symbol: i.photo_decoder_symbol.clone(),
            flag: i.photo_decoder_flag,
        }),
    }
}

pub fn presence(c: &Config, sim: bool) -> booth_presence::Backend {
    use booth_presence::{Backend, LineProtocol};
    let p = &c.presence;
    match (sim, p.backend.as_str()) {
        (true, _) | (_, "sim") => Backend::Sim,
        (_, "serial") => Backend::Serial {
            port: p.port.clone().unwrap_or_default(),
            baud: p.baud,
            protocol: LineProtocol {
                present: p.present.trim().to_string(),
                absent: p.absent.trim().to_string(),
                query: Some(p.query.clone()).filter(|q| !q.is_empty()),
                query_every: Duration::from_millis(p.query_every_ms.max(50)),
            },
        },
        _ => Backend::None,
    }
}

pub fn pos(c: &Config, sim: bool) -> booth_pos::PosConfig {
    use booth_pos::{Backend, Encoding, PosConfig};
    let p = &c.pos;
    let backend = match (sim, p.backend.as_str()) {
        (true, _) | (_, "sim") => Backend::Sim,
        (_, "serial") => Backend::Serial { port: p.port.clone().unwrap_or_default(), baud: p.baud },
        _ => Backend::None,
    };
    PosConfig {
        backend,
        encoding: Encoding::parse(&p.encoding).unwrap_or(Encoding::Utf8),
        suffix: booth_presence::unescape(&p.suffix),
    }
}

pub fn keypad(c: &Config, sim: bool) -> booth_keypad::KeypadConfig {
    use booth_keypad::{KeypadConfig, SerialFormat};
    let k = &c.keypad;
    let sim = sim || k.backend == "sim";
    KeypadConfig {
        sim,
        // The simulator replaces the real sources.
        serial: k
            .port
            .clone()
            .filter(|_| !sim)
            .map(|p| (p, k.baud, SerialFormat::parse(&k.format).unwrap_or(SerialFormat::Code))),
        device: k.device.clone().filter(|_| !sim).map(booth_keyboard::DeviceSpec),
        map: booth_keypad::keymap::KeyMap::new(&k.keys).unwrap_or_default(),
    }
}

/// The scanner's keyboard-wedge settings.
pub fn wedge(c: &Config) -> (booth_scanner::Wedge, booth_scanner::Burst) {
    let s = &c.scanner;
    let wedge = match s.wedge.as_str() {
        "page" => booth_scanner::Wedge::Page,
        "device" => {
            booth_scanner::Wedge::Device(booth_keyboard::DeviceSpec(s.wedge_device.clone().unwrap_or_default()))
        }
        _ => booth_scanner::Wedge::Off,
    };
    (wedge, booth_scanner::Burst { min_length: s.wedge_min_length, max_gap_ms: s.wedge_max_gap_ms })
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn input_sections_parse_and_errors_name_the_key() {
        let c = Config::parse(
            r#"
[idcard]
backend = "sdk"
sdk = "termb"
library = "/opt/reader/libtermb.so"
photo_decoder = "/opt/reader/libwlt.so"
[presence]
backend = "serial"
port = "/dev/ttyUSB1"
query = "?\r\n"
[pos]
backend = "serial"
port = "/dev/ttyS0"
encoding = "gbk"
suffix = "\r\n"
[keypad]
port = "/dev/ttyUSB2"
format = "char"
[keypad.keys]
"144" = ["Numpad0"]
[scanner]
wedge = "page"
wedge_max_gap_ms = 30
"#,
        )
        .unwrap();
        assert_eq!(c.idcard.sdk, "termb");
        assert_eq!(c.keypad.keys["144"], ["Numpad0"]);
        let kp = super::keypad(&c, false);
        assert_eq!(kp.map.android_for("Numpad0"), [144, 153]);
        assert!(kp.serial.is_some());
        assert_eq!(super::pos(&c, false).suffix, b"\r\n");
        assert!(super::keypad(&c, true).serial.is_none(), "--sim replaces the real keypad");

        for (text, want) in [
            ("[idcard]\nbackend = \"sam\"\n", "idcard.port"),
            ("[idcard]\nbackend = \"sdk\"\n", "idcard.library"),
            ("[idcard]\nbackend = \"nfc\"\n", "idcard.backend"),
            ("[presence]\nbackend = \"serial\"\n", "presence.port"),
            ("[presence]\npresent = \"x\"\nabsent = \"x\"\n", "presence.present"),
            ("[pos]\nencoding = \"latin1\"\n", "pos.encoding"),
            ("[keypad]\nformat = \"morse\"\n", "keypad.format"),
            ("[keypad.keys]\n\"144\" = [\"num 1\"]\n", "keypad.keys"),
            ("[scanner]\nwedge = \"device\"\n", "scanner.wedge_device"),
            ("[pos]\nbuad = 9600\n", "unknown field"),
        ] {
            let e = Config::parse(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
