//! `booth.toml`: the terminal's settings. Unknown keys are refused so typos surface at start.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub terminal: Terminal,
    pub package: PackageSection,
    pub scanner: ScannerSection,
    pub idcard: crate::inputs_config::IdcardSection,
    pub presence: crate::inputs_config::PresenceSection,
    pub pos: crate::inputs_config::PosSection,
    pub keypad: crate::inputs_config::KeypadSection,
    pub smartcard: SmartcardSection,
    pub control: ControlSection,
    pub display: DisplaySection,
    pub camera: booth_camera::CameraSection,
    pub face: booth_face::FaceSection,
    pub log: LogSection,
    pub admin: crate::kiosk::pin::AdminSection,
    pub kiosk: crate::kiosk_config::KioskSection,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Terminal {
    /// Serial number reported as `sn` / `osSerialNumber` / `arome_deviceId`; default: the machine id.
    pub sn: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PackageSection {
    /// The package `booth kiosk` runs: a folder, a .zip or an http(s):// URL.
    pub source: Option<String>,
    /// Permissions granted to a remote (URL) package, which has no manifest; default: all.
    pub remote_permissions: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScannerSection {
    /// `serial`, `sim` or `none`.
    pub backend: String,
    /// Serial port path (`/dev/ttyACM0`, `COM3`).
    pub port: Option<String>,
    pub baud: u32,
    /// How long `getQRCode` waits by default, in milliseconds.
    pub timeout_ms: u64,
    /// Keyboard-wedge scanners: `off`, `page` (bursts typed into the page) or `device` (the
    /// scanner's own keyboard device, `wedge_device`).
    pub wedge: String,
    pub wedge_device: Option<String>,
    /// A burst is at least this many characters …
    pub wedge_min_length: usize,
    /// … each within this many milliseconds of the previous one, then Enter.
    pub wedge_max_gap_ms: u64,
}

impl Default for ScannerSection {
    fn default() -> Self {
        ScannerSection {
            backend: "none".into(),
            port: None,
            baud: 9600,
            timeout_ms: 15_000,
            wedge: "off".into(),
            wedge_device: None,
            wedge_min_length: 4,
            wedge_max_gap_ms: 40,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmartcardSection {
    /// `pcsc`, `sim` or `none`.
    pub backend: String,
    /// Reader-name pattern of the card reader (`*` / `?` wildcards, case-insensitive; without a
    /// wildcard: contained in the name). Default: automatic.
    pub card_reader: Option<String>,
    /// Reader-name pattern of PSAM slot 1; default: the first reader with `SAM` in its name.
    pub psam1_reader: Option<String>,
    /// Reader-name pattern of PSAM slot 2; default: the second reader with `SAM` in its name.
    pub psam2_reader: Option<String>,
    /// startCPUCardLoopRead's `intervalTime` when the page gives none, in milliseconds.
    pub interval_ms: u64,
    /// How long getSocialSecurityCardInfo waits for a card by default, in milliseconds.
    pub sscard_timeout_ms: u64,
    /// Follow `61xx` with GET RESPONSE and resend `6Cxx` with the right Le (T=0 cards).
    pub t0_help: bool,
}

impl Default for SmartcardSection {
    fn default() -> Self {
        SmartcardSection {
            backend: "none".into(),
            card_reader: None,
            psam1_reader: None,
            psam2_reader: None,
            interval_ms: 1000,
            sscard_timeout_ms: 15_000,
            t0_help: true,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlSection {
    /// Port of the loopback control endpoint when `--control-port` is not given.
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DisplaySection {
    /// How WebKitGTK draws pages (Linux); see `crate::rendering`.
    pub compositing: Compositing,
}

/// GPU compositing of pages: `auto` (on when the machine has a GPU render node), `on`, `off`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compositing {
    #[default]
    Auto,
    On,
    Off,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSection {
    /// A `tracing` filter, e.g. `info` or `booth_bridge=debug,info`; `BOOTH_LOG` overrides it.
    pub level: String,
    /// Folder of the daily log files; default `<local data dir>/booth/logs`. Empty: no files.
    pub dir: Option<PathBuf>,
    /// How many daily files to keep.
    pub keep_days: usize,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection { level: "info".into(), dir: None, keep_days: 14 }
    }
}

impl LogSection {
    /// Where log files go, or `None` when file logging is off.
    pub fn dir(&self) -> Option<PathBuf> {
        match &self.dir {
            Some(d) if d.as_os_str().is_empty() => None,
            Some(d) => Some(d.clone()),
            None => dirs::data_local_dir().map(|d| d.join("booth").join("logs")),
        }
    }
}

/// The default location: `<config dir>/booth/booth.toml` (`~/.config/booth/booth.toml`,
/// `%APPDATA%\booth\booth.toml`).
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("booth").join("booth.toml"))
}

impl Config {
    /// Loads `path` (which must exist), or the default file if there is one, or the defaults.
    pub fn load(path: Option<&Path>) -> Result<(Config, Option<PathBuf>), String> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => match default_path().filter(|p| p.exists()) {
                Some(p) => p,
                None => return Ok((Config::default(), None)),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: cannot read ({e})", path.display()))?;
        let config = Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((config, Some(path)))
    }

    /// For `booth dev`: every device left at backend `none` gets its simulator; devices the
    /// file gives a real backend stay real. Returns the simulated devices' names.
    pub fn simulate_unconfigured(&mut self) -> Vec<&'static str> {
        let mut simulated = Vec::new();
        for (name, backend) in [("scanner", &mut self.scanner.backend), ("card", &mut self.smartcard.backend)] {
            if backend == "none" || backend == "sim" {
                *backend = "sim".into();
                simulated.push(name);
            }
        }
        crate::inputs_config::simulate_unconfigured(self, &mut simulated);
        if self.camera.backend == "none" || self.camera.backend == "sim" {
            self.camera.backend = "sim".into();
            simulated.push("camera");
        }
        simulated
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| {
            // toml's message spans several lines with a source excerpt; keep the first and the last.
            let msg = e.message().trim().to_string();
            match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: {msg}")
                }
                None => msg,
            }
        })?;
        match config.scanner.backend.as_str() {
            "none" | "sim" => {}
            "serial" if config.scanner.port.as_deref().is_some_and(|p| !p.is_empty()) => {}
            "serial" => return Err("scanner.port: required when scanner.backend = \"serial\"".into()),
            other => return Err(format!("scanner.backend: `{other}` is not one of serial, sim, none")),
        }
        if config.scanner.baud == 0 {
            return Err("scanner.baud: must be positive".into());
        }
        crate::inputs_config::validate(&config)?;
        let sc = &config.smartcard;
        if !matches!(sc.backend.as_str(), "pcsc" | "sim" | "none") {
            return Err(format!("smartcard.backend: `{}` is not one of pcsc, sim, none", sc.backend));
        }
        let interval = booth_smartcard::INTERVAL_RANGE_MS;
        if !interval.contains(&(sc.interval_ms as i64)) {
            return Err(format!("smartcard.interval_ms: must be {} to {}", interval.start(), interval.end()));
        }
        let wait = booth_smartcard::TIMEOUT_RANGE_MS;
        if !wait.contains(&(sc.sscard_timeout_ms as i64)) {
            return Err(format!("smartcard.sscard_timeout_ms: must be {} to {}", wait.start(), wait.end()));
        }
        config.admin.validate()?;
        config.kiosk.validate()?;
        config.camera.to_config(false)?;
        config.face.resolve(Path::new("/"), Path::new("/"), "")?;
        if let Some(perms) = &config.package.remote_permissions {
            for p in perms {
                p.parse::<booth_bridge::Family>().map_err(|e| format!("package.remote_permissions: {e}"))?;
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_a_full_file() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
        let c = Config::parse(
            "[terminal]\nsn = \"T-001\"\n[scanner]\nbackend = \"serial\"\nport = \"/dev/ttyACM0\"\nbaud = 115200\n[control]\nport = 17800\n",
        )
        .unwrap();
        assert_eq!(c.terminal.sn.as_deref(), Some("T-001"));
        assert_eq!(c.scanner.baud, 115200);
        assert_eq!(c.scanner.timeout_ms, 15_000);
    }

    #[test]
    fn errors_say_where() {
        let e = Config::parse("[scanner]\nbackend = \"serial\"\n").unwrap_err();
        assert!(e.contains("scanner.port"), "{e}");
        let e = Config::parse("[scanner]\nbackend = \"usb\"\n").unwrap_err();
        assert!(e.contains("`usb`"), "{e}");
        let e = Config::parse("\n[scanner]\nbaud = \"fast\"\n").unwrap_err();
        assert!(e.starts_with("line 3:"), "{e}");
        let e = Config::parse("[scaner]\n").unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
        let e = Config::parse("[smartcard]\nbackend = \"usb\"\n").unwrap_err();
        assert!(e.contains("smartcard.backend") && e.contains("`usb`"), "{e}");
        let e = Config::parse("[smartcard]\ninterval_ms = 5\n").unwrap_err();
        assert!(e.contains("smartcard.interval_ms"), "{e}");
        let e = Config::parse("[smartcard]\ncard_readr = \"ACS\"\n").unwrap_err();
        assert!(e.starts_with("line 2:") && e.contains("unknown field"), "{e}");
    }

    #[test]
    fn display_section() {
        assert_eq!(Config::parse("").unwrap().display.compositing, Compositing::Auto);
        assert_eq!(Config::parse("[display]\ncompositing = \"off\"\n").unwrap().display.compositing, Compositing::Off);
        let e = Config::parse("[display]\ncompositing = \"gpu\"\n").unwrap_err();
        assert!(e.starts_with("line 2:") && e.contains("gpu"), "{e}");
    }

    #[test]
    fn smartcard_section() {
        assert_eq!(Config::parse("").unwrap().smartcard.backend, "none");
        let c = Config::parse(
            "[smartcard]\nbackend = \"pcsc\"\ncard_reader = \"ACS*PICC*\"\npsam2_reader = \"SAM 00 01\"\ninterval_ms = 500\n",
        )
        .unwrap();
        assert_eq!(c.smartcard.card_reader.as_deref(), Some("ACS*PICC*"));
        assert_eq!(c.smartcard.psam1_reader, None);
        assert_eq!(c.smartcard.interval_ms, 500);
        assert_eq!(c.smartcard.sscard_timeout_ms, 15_000);
        assert!(c.smartcard.t0_help);

        // booth dev simulates the smart cards unless booth.toml gives them a reader.
        let mut c = Config::default();
        assert!(c.simulate_unconfigured().contains(&"card"));
        assert_eq!(c.smartcard.backend, "sim");
        let mut c = Config::parse("[smartcard]\nbackend = \"pcsc\"\n").unwrap();
        assert!(!c.simulate_unconfigured().contains(&"card"));
        assert_eq!(c.smartcard.backend, "pcsc");
    }
}
