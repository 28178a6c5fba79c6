//! Booth's terminal information: what `getDeviceInfo`, `wxfaceapp.checkWxFacePayOsInfo` and
//! `my.getSystemInfo` report about the PC a mini-program runs on.
//!
//! Values come from the machine itself (DMI on Linux, the registry on Windows), so a test or a
//! support call sees the real terminal. Not for: anything that changes the machine.

mod probe;

pub use probe::{Machine, Probe};

use booth_bridge::{handler, Bridge, Dialect, Done};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a looked-up IP address is reused: reading the interfaces costs a netlink round trip
/// (about a quarter of a getDeviceInfo call on the benchmark machine), and a page that polls
/// getDeviceInfo sees a new address within this time.
const IP_FRESH_FOR: Duration = Duration::from_secs(2);

/// Settings the operator may give in `booth.toml` (`[terminal]`).
#[derive(Debug, Clone, Default)]
pub struct TerminalConfig {
    /// The terminal serial number; defaults to the machine id.
    pub sn: Option<String>,
}

/// The capability: probes once at start (hardware does not change while Booth runs), and the
/// IP address again when the last look is more than [`IP_FRESH_FOR`] old (networks do change).
pub struct DeviceInfo {
    machine: Machine,
    app_version: String,
    ip: Mutex<Option<(Instant, String)>>,
}

impl DeviceInfo {
    pub fn new(config: &TerminalConfig, app_version: &str) -> Arc<Self> {
        let mut machine = Probe::system().machine();
        if let Some(sn) = config.sn.as_ref().filter(|s| !s.trim().is_empty()) {
            machine.serial = sn.trim().to_string();
        }
        Arc::new(DeviceInfo { machine, app_version: app_version.to_string(), ip: Mutex::default() })
    }

    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// The terminal serial number (`sn`, `osSerialNumber`, `arome_deviceId`).
    pub fn serial(&self) -> &str {
        &self.machine.serial
    }

    /// The terminal's IP address, looked up at most every [`IP_FRESH_FOR`].
    fn ip(&self) -> String {
        let mut cached = self.ip.lock().unwrap_or_else(|p| p.into_inner());
        match cached.as_ref() {
            Some((at, ip)) if at.elapsed() < IP_FRESH_FOR => ip.clone(),
            _ => {
                let ip = probe::primary_ip();
                *cached = Some((Instant::now(), ip.clone()));
                ip
            }
        }
    }

    /// seed 000 getDeviceInfo `data`.
    pub fn device_info(&self) -> serde_json::Value {
        let m = &self.machine;
        json!({
            "sn": m.serial,
            "deviceModel": m.model(),
            "appVersion": self.app_version,
            // Kept for pages written for Android terminals; holds the OS version here.
            "androidVersion": m.os_version_id,
            "osVersion": m.os_name,
            "deviceIP": self.ip(),
            "devicedDisplay": m.firmware,
        })
    }

    /// seed 001 checkWxFacePayOsInfo success object.
    pub fn wx_os_info(&self, screen: booth_bridge::Screen) -> serde_json::Value {
        json!({
            "osVersion": self.app_version,
            "osStatus": "valid",
            "osSerialNumber": self.machine.serial,
            "appVersion": self.app_version,
            // Booth is not an official WeChat Pay device (seed 001's own word for that).
            "deviceInfo": "unofficial-device",
            // Booth runs mini-programs itself, like the frog app, not as an SDK inside a POS app.
            "runningMode": "lpos",
            "screenInfo": screen.as_str(),
        })
    }

    /// The machine half of `my.getSystemInfo` (the page adds screen and window sizes).
    pub fn system_info(&self) -> serde_json::Value {
        let m = &self.machine;
        json!({
            "app": "booth",
            "brand": m.vendor,
            "model": m.model(),
            "platform": m.platform,
            "system": m.os_version_id,
            "version": self.app_version,
            "arome_deviceId": m.serial,
        })
    }

    /// Registers getDeviceInfo, my.getSystemInfo and checkWxFacePayOsInfo.
    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "getDeviceInfo",
            None,
            handler(move |_, _| {
                let data = me.device_info();
                async move { Ok(Done::from(data)) }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "getSystemInfo",
            None,
            handler(move |_, _| {
                let data = me.system_info();
                async move { Ok(Done::from(data)) }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::Wxfaceapp,
            "checkWxFacePayOsInfo",
            None,
            handler(move |ctx, _| {
                let data = me.wx_os_info(ctx.session.info().screen);
                async move { Ok(Done::from(data)) }
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ip_address_is_reused_while_fresh_and_looked_up_again_after() {
        let info = DeviceInfo::new(&TerminalConfig { sn: Some("T-1".into()) }, "1.0");
        let first = info.device_info()["deviceIP"].clone();
        let looked_at = info.ip.lock().unwrap().as_ref().map(|(at, _)| *at).expect("cached");
        assert_eq!(info.device_info()["deviceIP"], first);
        assert_eq!(info.ip.lock().unwrap().as_ref().map(|(at, _)| *at), Some(looked_at), "reused while fresh");
        // An old look is replaced by a new one.
        let stale = Instant::now().checked_sub(IP_FRESH_FOR * 2).expect("a past instant");
        *info.ip.lock().unwrap() = Some((stale, "192.0.2.1".into()));
        let again = info.device_info()["deviceIP"].clone();
        assert_eq!(again, first, "looked up again, not the stale value");
        assert!(info.ip.lock().unwrap().as_ref().is_some_and(|(at, _)| *at > stale));
    }
}
