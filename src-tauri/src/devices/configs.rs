//! How booth.toml's device sections become the plugins' configurations (`sim` replaces each
//! backend by its simulator).

use crate::config::Config;
use booth_smartcard::SmartCardConfig;
use std::time::Duration;

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
        pass_code: k.ctrl_pass_code.clone(),
        collect: k.ctrl_collect.clone(),
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

/// `[printer]` as the plugin takes it: `sim` replaces the backend by the simulator, and a
/// simulated printer keeps its receipts (PNG and PDF) in the local data folder unless
/// `[printer] keep` names another.
pub fn printer(config: &Config, sim: bool) -> booth_printer::PrinterConfig {
    use booth_printer::BackendKind;
    let mut c = config.printer.clone();
    if sim {
        c.backend = BackendKind::Sim;
    }
    if c.backend == BackendKind::Sim && c.keep.trim().is_empty() {
        if let Some(dir) = dirs::data_local_dir() {
            c.keep = dir.join("booth").join("receipts").display().to_string();
        }
    }
    c
}

/// `[smartcard]` as the plugin takes it.
pub fn smartcard(config: &Config, sim: bool) -> SmartCardConfig {
    let c = &config.smartcard;
    let backend = match c.backend.as_str() {
        _ if sim => booth_smartcard::Backend::Sim,
        "pcsc" => booth_smartcard::Backend::Pcsc,
        "sim" => booth_smartcard::Backend::Sim,
        _ => booth_smartcard::Backend::None,
    };
    SmartCardConfig {
        backend,
        readers: booth_smartcard::roles::RolePatterns {
            card: c.card_reader.clone(),
            psam1: c.psam1_reader.clone(),
            psam2: c.psam2_reader.clone(),
        },
        default_interval: Duration::from_millis(c.interval_ms),
        sscard_timeout: Duration::from_millis(c.sscard_timeout_ms),
        t0_help: c.t0_help,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn input_sections_become_plugin_configurations() {
        let c = Config::parse(
            "[pos]\nbackend = \"serial\"\nport = \"/dev/ttyS0\"\nsuffix = \"\\r\\n\"\n[keypad]\nport = \"/dev/ttyUSB2\"\nformat = \"char\"\n[keypad.keys]\n\"144\" = [\"Numpad0\"]\n",
        )
        .unwrap();
        let kp = super::keypad(&c, false);
        assert_eq!(kp.map.android_for("Numpad0"), [144, 153]);
        assert!(kp.serial.is_some());
        assert_eq!(super::pos(&c, false).suffix, b"\r\n");
        assert!(super::keypad(&c, true).serial.is_none(), "--sim replaces the real keypad");
    }
}
