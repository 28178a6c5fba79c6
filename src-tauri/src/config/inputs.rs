//! booth.toml sections of the terminal's input devices — `[idcard]`, `[presence]`, `[pos]`,
//! `[keypad]` — and their checks, with the keyboard-wedge keys of `[scanner]`.

use super::check::{needs, one_of};
use super::sections::ScannerSection;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    /// The cashier's special control keys (seed 001 onSpecialCtrlEvent): 传码 (ctrlCode "0") …
    /// PC key names (`F9`) or Android codes as a serial keypad sends them (`131`).
    pub ctrl_pass_code: Vec<String>,
    /// … and 收款 (ctrlCode "1").
    pub ctrl_collect: Vec<String>,
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
            ctrl_pass_code: Vec::new(),
            ctrl_collect: Vec::new(),
        }
    }
}

/// Checks the input sections and the keyboard-wedge keys of `[scanner]` (called when booth.toml
/// is parsed).
pub(crate) fn validate(
    i: &IdcardSection,
    p: &PresenceSection,
    pos: &PosSection,
    k: &KeypadSection,
    s: &ScannerSection,
) -> Result<(), String> {
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
    one_of("presence.backend", &p.backend, &["serial", "sim", "none"])?;
    if p.backend == "serial" {
        needs("presence.port", &p.port, "presence.backend = \"serial\"")?;
    }
    if p.present.trim().is_empty() || p.absent.trim().is_empty() || p.present.trim() == p.absent.trim() {
        return Err("presence.present / presence.absent: two different, non-empty lines".into());
    }
    one_of("pos.backend", &pos.backend, &["serial", "sim", "none"])?;
    if pos.backend == "serial" {
        needs("pos.port", &pos.port, "pos.backend = \"serial\"")?;
    }
    if booth_pos::Encoding::parse(&pos.encoding).is_none() {
        return Err(format!("pos.encoding: `{}` is not one of utf-8, gbk", pos.encoding));
    }
    one_of("keypad.backend", &k.backend, &["page", "sim"])?;
    one_of("keypad.format", &k.format, &["code", "name", "char"])?;
    booth_keypad::keymap::KeyMap::new(&k.keys)?;
    for key in k.ctrl_pass_code.iter().chain(&k.ctrl_collect) {
        if key.trim().is_empty() || key.trim() != key || key.len() > 32 {
            return Err(format!("keypad.ctrl_pass_code / ctrl_collect: `{key}` is not a key name or code"));
        }
        if k.ctrl_pass_code.contains(key) && k.ctrl_collect.contains(key) {
            return Err(format!("keypad: `{key}` is both ctrl_pass_code and ctrl_collect"));
        }
    }
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
