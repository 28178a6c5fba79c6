//! Builds the bridge and its capability plugins from the configuration.

use crate::config::Config;
use booth_bridge::{Bridge, SimRegistry};
use booth_device::{DeviceInfo, TerminalConfig};
use booth_scanner::{Backend, Scanner, ScannerConfig};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Every capability Booth runs, registered on one bridge.
pub struct Devices {
    pub bridge: Bridge,
    /// The simulators of the devices running their `sim` backend.
    pub sims: SimRegistry,
    pub device: Arc<DeviceInfo>,
    pub scanner: Arc<Scanner>,
}

impl Devices {
    /// `sim` replaces every device backend by its simulator.
    pub fn start(config: &Config, sim: bool) -> Devices {
        let bridge = Bridge::default();
        let device = DeviceInfo::new(&TerminalConfig { sn: config.terminal.sn.clone() }, crate::VERSION);
        device.register(&bridge);

        let s = &config.scanner;
        let backend = if sim {
            Backend::Sim
        } else {
            match s.backend.as_str() {
                "sim" => Backend::Sim,
                "serial" => Backend::Serial { port: s.port.clone().unwrap_or_default(), baud: s.baud },
                _ => Backend::None,
            }
        };
        let scanner = Scanner::start(
            ScannerConfig { backend, default_timeout: Duration::from_millis(s.timeout_ms.max(1000)) },
            bridge.bus(),
        );
        scanner.register(&bridge);
        let sims = SimRegistry::default();
        scanner.register_sim(&sims);
        Devices { bridge, sims, device, scanner }
    }

    /// Every device's backend and availability, for `/health`.
    pub fn status(&self) -> Value {
        json!({ "scanner": self.scanner.status() })
    }
}
