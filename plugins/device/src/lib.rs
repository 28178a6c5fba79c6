//! Booth's terminal information: what `getDeviceInfo`, `wxfaceapp.checkWxFacePayOsInfo` and
//! `my.getSystemInfo` report about the PC a mini-program runs on.
//!
//! Values come from the machine itself (DMI on Linux, the registry on Windows), so a test or a
//! support call sees the real terminal. Not for: anything that changes the machine.

mod probe;

pub use probe::{Machine, Probe};

use booth_bridge::{handler, Bridge, Dialect, Done};
use serde_json::json;
use std::sync::Arc;

/// Settings the operator may give in `booth.toml` (`[terminal]`).
#[derive(Debug, Clone, Default)]
pub struct TerminalConfig {
    /// The terminal serial number; defaults to the machine id.
    pub sn: Option<String>,
}

/// The capability: probes once at start (hardware does not change while Booth runs), and the
/// IP address at every call (networks do).
pub struct DeviceInfo {
    machine: Machine,
    app_version: String,
}

impl DeviceInfo {
    pub fn new(config: &TerminalConfig, app_version: &str) -> Arc<Self> {
        let mut machine = Probe::system().machine();
        if let Some(sn) = config.sn.as_ref().filter(|s| !s.trim().is_empty()) {
            machine.serial = sn.trim().to_string();
        }
        Arc::new(DeviceInfo { machine, app_version: app_version.to_string() })
    }

    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// The terminal serial number (`sn`, `osSerialNumber`, `arome_deviceId`).
    pub fn serial(&self) -> &str {
        &self.machine.serial
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
            "deviceIP": probe::primary_ip(),
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
