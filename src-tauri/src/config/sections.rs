//! The general sections of booth.toml: `[terminal]`, `[package]`, `[scanner]`, `[smartcard]`,
//! `[control]`, `[display]` and `[log]`, each with its defaults and its own checks.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
    /// Permissions granted to a remote (URL) package, which has no manifest; default: none
    /// (device information and the page's own session need none).
    pub remote_permissions: Option<Vec<String>>,
}

/// Where the operator grants a remote package's permissions, as the refusals and the logs name it.
pub const REMOTE_PERMISSIONS_KEY: &str = "booth.toml [package] remote_permissions";

/// What a remote package or app gets: exactly the operator's list (unknown names were refused
/// when booth.toml was read), nothing without one.
pub fn remote_grant(list: Option<&[String]>) -> std::collections::BTreeSet<booth_bridge::Family> {
    list.unwrap_or_default().iter().filter_map(|p| p.parse().ok()).collect()
}

/// The start-up line about a remote package's permissions: what it got and where to change it.
pub fn describe_grant(what: &str, granted: &std::collections::BTreeSet<booth_bridge::Family>, key: &str) -> String {
    if granted.is_empty() {
        format!("{what}: no permissions granted (device information only); grant what it needs with {key} = [\"scanner\", …]")
    } else {
        let list: Vec<&str> = granted.iter().map(|f| f.as_str()).collect();
        format!("{what}: permissions granted by {key}: {}", list.join(", "))
    }
}

impl PackageSection {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Some(perms) = &self.remote_permissions {
            for p in perms {
                p.parse::<booth_bridge::Family>().map_err(|e| format!("package.remote_permissions: {e}"))?;
            }
        }
        Ok(())
    }
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

impl ScannerSection {
    pub(crate) fn validate(&self) -> Result<(), String> {
        match self.backend.as_str() {
            "none" | "sim" => {}
            "serial" if self.port.as_deref().is_some_and(|p| !p.is_empty()) => {}
            "serial" => return Err("scanner.port: required when scanner.backend = \"serial\"".into()),
            other => return Err(format!("scanner.backend: `{other}` is not one of serial, sim, none")),
        }
        if self.baud == 0 {
            return Err("scanner.baud: must be positive".into());
        }
        Ok(())
    }
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

impl SmartcardSection {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !matches!(self.backend.as_str(), "pcsc" | "sim" | "none") {
            return Err(format!("smartcard.backend: `{}` is not one of pcsc, sim, none", self.backend));
        }
        let interval = booth_smartcard::INTERVAL_RANGE_MS;
        if !interval.contains(&(self.interval_ms as i64)) {
            return Err(format!("smartcard.interval_ms: must be {} to {}", interval.start(), interval.end()));
        }
        let wait = booth_smartcard::TIMEOUT_RANGE_MS;
        if !wait.contains(&(self.sscard_timeout_ms as i64)) {
            return Err(format!("smartcard.sscard_timeout_ms: must be {} to {}", wait.start(), wait.end()));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlSection {
    /// Port of the loopback control endpoint when `--control-port` is not given.
    pub port: Option<u16>,
    /// In kiosk mode the endpoint serves `/health` only; `true` serves `/sim` and `/feed` too
    /// (a kiosk under test with simulated devices).
    pub full_in_kiosk: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DisplaySection {
    /// How WebKitGTK draws pages (Linux); see the shell's `rendering`.
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

#[cfg(test)]
mod tests {
    use super::*;
    use booth_bridge::Family;

    #[test]
    fn a_remote_package_gets_exactly_what_booth_toml_grants() {
        assert!(remote_grant(None).is_empty(), "nothing without a list");
        let granted = remote_grant(Some(&["scanner".to_string(), "printer".to_string()]));
        assert_eq!(granted, [Family::Scanner, Family::Printer].into_iter().collect());
        let line = describe_grant("remote package https://k.example/", &remote_grant(None), REMOTE_PERMISSIONS_KEY);
        assert_eq!(
            line,
            "remote package https://k.example/: no permissions granted (device information only); grant what it needs with booth.toml [package] remote_permissions = [\"scanner\", …]"
        );
        let line = describe_grant("remote package https://k.example/", &granted, REMOTE_PERMISSIONS_KEY);
        assert!(
            line.ends_with("permissions granted by booth.toml [package] remote_permissions: scanner, printer")
                || line.ends_with("remote_permissions: printer, scanner"),
            "{line}"
        );
    }
}
