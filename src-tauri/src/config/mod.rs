//! Room `config`: `booth.toml`, the terminal's settings. It owns the sections and their defaults,
//! validation at load (unknown keys are refused so typos surface at start), atomic edits that
//! keep comments ([`settings`]), and where the admin PIN's attempt count is kept ([`admin`]).
//!
//! Must not import: any other room of the app (it sits at the bottom, next to [`crate::names`]).
//! Turning sections into plugin configurations is the `devices` room's job.

pub mod admin;
mod check;
pub mod inputs;
pub mod kiosk;
pub mod sections;
pub mod settings;

pub use admin::AdminSection;
pub use inputs::{IdcardSection, KeypadSection, PosSection, PresenceSection};
pub use kiosk::{KioskSection, SecondaryPlacement};
pub use sections::{
    Compositing, ControlSection, DisplaySection, LogSection, PackageSection, ScannerSection, SmartcardSection, Terminal,
};

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub terminal: Terminal,
    pub package: PackageSection,
    pub scanner: ScannerSection,
    pub idcard: inputs::IdcardSection,
    pub presence: inputs::PresenceSection,
    pub pos: inputs::PosSection,
    pub keypad: inputs::KeypadSection,
    pub smartcard: SmartcardSection,
    pub speech: booth_audio::SpeechConfig,
    pub buzzer: booth_audio::BuzzerConfig,
    pub microphone: booth_audio::MicrophoneConfig,
    pub control: ControlSection,
    pub display: DisplaySection,
    pub printer: booth_printer::PrinterConfig,
    pub camera: booth_camera::CameraSection,
    pub face: booth_face::FaceSection,
    pub webrtc: booth_webrtc::WebRtcSection,
    pub witness: booth_webrtc::WitnessSection,
    pub provider: booth_provider_client::ProviderSection,
    pub payment: booth_payment::PaymentSection,
    pub fleet: booth_fleet::FleetSection,
    pub log: LogSection,
    pub admin: admin::AdminSection,
    pub kiosk: kiosk::KioskSection,
    /// `[apps.<appId>]`: the catalogue of mini-programs besides `[package]`.
    pub apps: booth_apps::catalogue::AppsSection,
}

/// The default location: `<config dir>/booth/booth.toml` (`~/.config/booth/booth.toml`,
/// `%APPDATA%\booth\booth.toml`).
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("booth").join("booth.toml"))
}

impl Config {
    /// The fleet's package store (`[fleet] packages_dir`), when `[fleet]` is on.
    pub fn package_store(&self) -> Option<booth_fleet::store::Store> {
        self.fleet.enabled().then(|| {
            let data = dirs::data_local_dir().unwrap_or_else(|| PathBuf::from("."));
            booth_fleet::store::Store::new(self.fleet.packages_dir(&data))
        })
    }

    /// After booth.toml was edited (admin screen, fleet shadow): a `[package] source` changed
    /// by hand takes over from the store's release, which would otherwise win at the next start.
    pub fn source_edited(before: &Config, after: &Config) -> Result<(), String> {
        let set = |c: &Config| c.package.source.clone().filter(|s| !s.trim().is_empty());
        match (set(after), after.package_store()) {
            (Some(source), Some(store)) if set(before).as_deref() != Some(source.as_str()) => {
                store.detach().map_err(|e| e.to_string())
            }
            _ => Ok(()),
        }
    }

    /// Loads `path` (which must exist), or the default file if there is one, or the defaults.
    pub fn load(path: Option<&Path>) -> Result<(Config, Option<PathBuf>), String> {
        Self::load_file(path)
    }

    fn load_file(path: Option<&Path>) -> Result<(Config, Option<PathBuf>), String> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => match default_path().filter(|p| p.exists()) {
                Some(p) => p,
                None => return Ok((Config::default(), None)),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: cannot read ({e})", path.display()))?;
        let config = Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if config.provider.has_secret() {
            // The provider's secret signs identity answers: nobody else on the machine may read it.
            booth_provider_client::config::check_private(&path)?;
        }
        Ok((config, Some(path)))
    }

    /// For a kiosk, which must start unattended: like [`Config::load`], and a file that loads is
    /// kept as the last good configuration (`<file>.last-good`, beside it); a file that does not
    /// load is replaced by that copy for this run, and the third value says why. Without a good
    /// copy the error stands.
    pub fn load_for_kiosk(path: Option<&Path>) -> Result<(Config, Option<PathBuf>, Option<String>), String> {
        match Self::load(path) {
            Ok((config, Some(file))) => {
                keep_last_good(&file);
                Ok((config, Some(file), None))
            }
            Ok((config, None)) => Ok((config, None, None)),
            Err(e) => {
                let Some(file) = path.map(Path::to_path_buf).or_else(|| default_path().filter(|p| p.exists())) else {
                    return Err(e);
                };
                let copy = last_good_path(&file);
                let Ok(text) = std::fs::read_to_string(&copy) else { return Err(e) };
                match Self::parse(&text) {
                    Ok(config) => Ok((
                        config,
                        Some(file),
                        Some(format!("{e}; running with the last good configuration, {}", copy.display())),
                    )),
                    Err(_) => Err(e),
                }
            }
        }
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
        for (name, backend) in [
            ("idcard", &mut self.idcard.backend),
            ("presence", &mut self.presence.backend),
            ("pos", &mut self.pos.backend),
        ] {
            if backend == "none" || backend == "sim" {
                *backend = "sim".into();
                simulated.push(name);
            }
        }
        if self.keypad.port.is_none() && self.keypad.device.is_none() {
            self.keypad.backend = "sim".into();
            simulated.push("keypad");
        }
        if matches!(self.printer.backend, booth_printer::BackendKind::None | booth_printer::BackendKind::Sim) {
            self.printer.backend = booth_printer::BackendKind::Sim;
            simulated.push("printer");
        }
        if self.camera.backend == "none" || self.camera.backend == "sim" {
            self.camera.backend = "sim".into();
            simulated.push("camera");
        }
        if self.provider.backend == "none" || self.provider.backend == "sim" {
            self.provider.backend = "sim".into();
            simulated.push("provider");
        }
        // Sound: speech and beeps play through the real output when there is one, and the
        // microphone is simulated unless booth.toml gives it a device.
        if self.speech.engine == "none" {
            self.speech.engine = "auto".into();
        }
        if self.buzzer.backend == "none" {
            self.buzzer.backend = "output".into();
        }
        if self.microphone.backend == "none" || self.microphone.backend == "sim" {
            self.microphone.backend = "sim".into();
            simulated.push("microphone");
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
        config.scanner.validate()?;
        inputs::validate(&config.idcard, &config.presence, &config.pos, &config.keypad, &config.scanner)?;
        config.smartcard.validate()?;
        booth_audio::config::validate(&config.speech, &config.buzzer, &config.microphone)?;
        config.admin.validate()?;
        config.kiosk.validate()?;
        config.camera.to_config(false)?;
        config.face.resolve(Path::new("/"), Path::new("/"), "")?;
        config.provider.resolve()?;
        config.payment.resolve(Path::new("/"), "")?;
        config.package.validate()?;
        booth_apps::catalogue::check(&config.apps).map_err(|e| e.to_string())?;
        config.fleet.validate()?;
        config.witness.check()?;
        Ok(config)
    }
}

/// Where a kiosk keeps the last configuration that loaded: beside the file.
pub fn last_good_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".last-good");
    file.with_file_name(name)
}

/// Copies a configuration that loaded to its last-good place (written aside, then renamed, so
/// that a power cut never leaves half a copy). A folder Booth may not write to keeps no copy;
/// that is said, not fatal.
fn keep_last_good(file: &Path) {
    let copy = last_good_path(file);
    let Ok(text) = std::fs::read(file) else { return };
    if std::fs::read(&copy).is_ok_and(|old| old == text) {
        return;
    }
    let aside = copy.with_extension("last-good.tmp");
    // `copy` keeps the file's mode: a booth.toml holding the provider's secret is 0600, so is its copy.
    let kept = std::fs::copy(file, &aside).and_then(|_| std::fs::rename(&aside, &copy));
    if let Err(e) = kept {
        let _ = std::fs::remove_file(&aside);
        eprintln!("booth: warning: cannot keep the last good configuration at {} ({e})", copy.display());
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
    fn fleet_section_is_checked_at_load() {
        let c = Config::parse("[fleet]\nbroker = \"mqtts://mqtt.example.com\"\nterminal_id = \"T-1\"\n").unwrap();
        assert!(c.fleet.enabled());
        let e = Config::parse("[fleet]\nbroker = \"mqtt://127.0.0.1\"\n").unwrap_err();
        assert!(e.contains("allow_insecure"), "{e}");
        let e = Config::parse("[fleet]\nbroker = \"mqtts://b\"\nterminal_id = \"a/#\"\n").unwrap_err();
        assert!(e.contains("fleet.terminal_id"), "{e}");
        // The shadow's version is an ordinary key the settings edit writes.
        let (text, c) = settings::edit_text("", &[settings::Edit::set("fleet.shadow_version", 7)]).unwrap();
        assert!(text.contains("shadow_version = 7"), "{text}");
        assert_eq!(c.fleet.shadow_version, 7);
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
    fn sound_sections() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.speech.engine, "none");
        assert_eq!(c.microphone.backend, "none");
        let c = Config::parse(
            "[speech]\nengine = \"command\"\ncommand = [\"my-tts\", \"--wav\"]\nmoney = \"decimal\"\n[buzzer]\nfrequency_hz = 2700\n[microphone]\nbackend = \"device\"\ndevice = \"USB\"\nmax_clip_s = 30\n",
        )
        .unwrap();
        assert_eq!(c.speech.command, ["my-tts", "--wav"]);
        assert_eq!(c.buzzer.frequency_hz, 2700);
        assert_eq!(c.microphone.max_clip_s, 30);
        let e = Config::parse("[speech]\nengine = \"festival\"\n").unwrap_err();
        assert!(e.contains("speech.engine"), "{e}");
        let e = Config::parse("[microphone]\nchunk_ms = 1\n").unwrap_err();
        assert!(e.contains("microphone.chunk_ms"), "{e}");
        let e = Config::parse("[buzzer]\nbeep = 5\n").unwrap_err();
        assert!(e.starts_with("line 2:") && e.contains("unknown field"), "{e}");

        // booth dev simulates the microphone unless booth.toml gives it a device, and speaks.
        let mut c = Config::default();
        assert!(c.simulate_unconfigured().contains(&"microphone"));
        assert_eq!(
            (c.microphone.backend.as_str(), c.speech.engine.as_str(), c.buzzer.backend.as_str()),
            ("sim", "auto", "output")
        );
        let mut c = Config::parse("[microphone]\nbackend = \"device\"\ndevice = \"USB\"\n").unwrap();
        assert!(!c.simulate_unconfigured().contains(&"microphone"));
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

    #[test]
    fn kiosk_defaults_follow_the_seed_and_bad_values_say_where() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.kiosk.operation_timeout(), Some(std::time::Duration::from_secs(30)));
        assert_eq!(c.kiosk.corner(), kiosk::Corner::TopRight);
        assert_eq!(c.kiosk.secondary(), SecondaryPlacement::Auto);
        let c = Config::parse("[kiosk]\noperation_timeout_s = 0\nidle_s = 0\nsecondary_monitor = \"2\"\n").unwrap();
        assert_eq!(c.kiosk.operation_timeout(), None);
        assert_eq!(c.kiosk.idle(), None);
        assert_eq!(c.kiosk.secondary(), SecondaryPlacement::Monitor(1));
        for (text, key) in [
            ("admin_corner = \"middle\"", "kiosk.admin_corner"),
            ("admin_taps = 1", "kiosk.admin_taps"),
            ("secondary_monitor = \"left\"", "kiosk.secondary_monitor"),
            ("idle_s = 10\nidle_warning_s = 10", "kiosk.idle_warning_s"),
            ("hang_s = 0", "kiosk.hang_s"),
        ] {
            let e = Config::parse(&format!("[kiosk]\n{text}\n")).unwrap_err();
            assert!(e.contains(key), "{text}: {e}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_provider_secret_needs_a_private_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("booth.toml");
        let secret = "s".repeat(32);
        std::fs::write(
            &path,
            format!("[provider]\nbackend = \"http\"\nurl = \"http://127.0.0.1:8765\"\nkey_id = \"T-1\"\nsecret = \"{secret}\"\n"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Config::load(Some(&path)).unwrap_err();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (c, _) = Config::load(Some(&path)).unwrap();
        assert_eq!(c.provider.backend, "http");
        let e = Config::parse("[provider]\nbackend = \"http\"\nurl = \"http://10.0.0.2\"\n").unwrap_err();
        assert!(e.contains("loopback"), "{e}");
    }

    #[test]
    fn a_kiosk_keeps_the_last_good_configuration_and_falls_back_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("booth.toml");
        // Nothing kept yet: a broken file is an error, as for `booth run`.
        std::fs::write(&file, "[kiosk\nidle_s = 5\n").unwrap();
        let e = Config::load_for_kiosk(Some(&file)).unwrap_err();
        assert!(e.contains("booth.toml"), "{e}");

        std::fs::write(&file, "[kiosk]\nidle_s = 77\n").unwrap();
        let (config, _, fallback) = Config::load_for_kiosk(Some(&file)).unwrap();
        assert_eq!((config.kiosk.idle_s, fallback), (77, None));
        assert_eq!(std::fs::read_to_string(last_good_path(&file)).unwrap(), "[kiosk]\nidle_s = 77\n");

        // Corrupt at the next start: the last good one runs, and the reason names the file and the copy.
        std::fs::write(&file, "[kiosk]\nidle_s = \"soon\n").unwrap();
        let (config, path, fallback) = Config::load_for_kiosk(Some(&file)).unwrap();
        assert_eq!(config.kiosk.idle_s, 77);
        assert_eq!(path.as_deref(), Some(file.as_path()));
        let why = fallback.expect("a reason");
        assert!(
            why.contains("booth.toml")
                && why.contains("last good configuration")
                && why.contains("booth.toml.last-good"),
            "{why}"
        );
        // A wrong value (not only broken TOML) is refused the same way.
        std::fs::write(&file, "[kiosk]\nidle_s = 5\nidle_warning_s = 9\n").unwrap();
        assert_eq!(Config::load_for_kiosk(Some(&file)).unwrap().0.kiosk.idle_s, 77);
        // `booth run` still refuses it.
        assert!(Config::load(Some(&file)).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn the_last_good_copy_keeps_the_files_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("booth.toml");
        std::fs::write(&file, "[kiosk]\nidle_s = 60\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        Config::load_for_kiosk(Some(&file)).unwrap();
        let mode = std::fs::metadata(last_good_path(&file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
