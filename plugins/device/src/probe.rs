//! Reading the machine: vendor, model, firmware, OS and a stable machine id.

use std::net::IpAddr;
use std::path::PathBuf;

/// What Booth knows about the PC.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Machine {
    pub vendor: String,
    pub product: String,
    /// BIOS / firmware version.
    pub firmware: String,
    /// Human name of the OS, e.g. "Debian GNU/Linux 12 (bookworm)" or "Windows 11 Pro 23H2".
    pub os_name: String,
    /// Short OS version, e.g. "12" or "10.0.22631".
    pub os_version_id: String,
    /// "Linux" or "Windows".
    pub platform: String,
    /// The terminal serial number: `[terminal] sn` from booth.toml, else the machine id.
    pub serial: String,
}

impl Machine {
    /// `deviceModel`: hardware vendor and product.
    pub fn model(&self) -> String {
        let v = self.vendor.trim();
        let p = self.product.trim();
        if p.starts_with(v) {
            p.to_string()
        } else {
            format!("{v} {p}").trim().to_string()
        }
    }
}

/// Where to read from; tests point it at a fake root.
pub struct Probe {
    #[cfg_attr(windows, allow(dead_code))]
    root: PathBuf,
}

impl Probe {
    pub fn system() -> Self {
        Probe { root: PathBuf::from("/") }
    }

    /// Reads files under `root` instead of `/` (Linux layout).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Probe { root: root.into() }
    }

    #[cfg(not(windows))]
    pub fn machine(&self) -> Machine {
        let read = |p: &str| -> String {
            std::fs::read_to_string(self.root.join(p)).map(|s| s.trim().to_string()).unwrap_or_default()
        };
        let os_release = read("etc/os-release");
        let field = |key: &str| -> String {
            os_release
                .lines()
                .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
                .map(|v| v.trim_matches('"').to_string())
                .unwrap_or_default()
        };
        let kernel = read("proc/sys/kernel/osrelease");
        let mut os_name = field("PRETTY_NAME");
        if os_name.is_empty() {
            os_name = format!("Linux {kernel}").trim().to_string();
        }
        let mut os_version_id = field("VERSION_ID");
        if os_version_id.is_empty() {
            os_version_id = kernel.clone();
        }
        let mut serial = read("etc/machine-id");
        if serial.is_empty() {
            serial = read("var/lib/dbus/machine-id");
        }
        // Boards without DMI (ARM terminals) name themselves in the device tree; machines with
        // neither (some VMs) report the architecture, and the kernel as their firmware.
        let mut product = read("sys/class/dmi/id/product_name");
        if product.is_empty() {
            product = read("proc/device-tree/model").trim_end_matches('\0').to_string();
        }
        if product.is_empty() {
            product = format!("PC {}", std::env::consts::ARCH);
        }
        let mut firmware = read("sys/class/dmi/id/bios_version");
        if firmware.is_empty() {
            firmware = kernel.clone();
        }
        Machine {
            vendor: read("sys/class/dmi/id/sys_vendor"),
            product,
            firmware,
            os_name,
            os_version_id,
            platform: if cfg!(target_os = "macos") { "macOS" } else { "Linux" }.to_string(),
            serial,
        }
    }

    #[cfg(windows)]
    pub fn machine(&self) -> Machine {
        use winreg::enums::{HKEY_LOCAL_MACHINE, KEY_READ, KEY_WOW64_64KEY};
        use winreg::RegKey;
        let hklm = RegKey::predef(HKEY_LOCAL_MACHINE);
        let get = |path: &str, name: &str| -> String {
            hklm.open_subkey_with_flags(path, KEY_READ | KEY_WOW64_64KEY)
                .and_then(|k| k.get_value::<String, _>(name))
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let bios = r"HARDWARE\DESCRIPTION\System\BIOS";
        let nt = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion";
        let product_name = get(nt, "ProductName");
        let display_version = get(nt, "DisplayVersion");
        let build = get(nt, "CurrentBuildNumber");
        Machine {
            vendor: get(bios, "SystemManufacturer"),
            product: get(bios, "SystemProductName"),
            firmware: get(bios, "BIOSVersion"),
            os_name: format!("{product_name} {display_version}").trim().to_string(),
            os_version_id: if build.is_empty() { String::new() } else { format!("10.0.{build}") },
            platform: "Windows".to_string(),
            serial: get(r"SOFTWARE\Microsoft\Cryptography", "MachineGuid"),
        }
    }
}

/// The primary non-loopback address: the first IPv4 of an up interface, else the first IPv6
/// that is not link-local, else "".
pub fn primary_ip() -> String {
    let Ok(ifaces) = if_addrs::get_if_addrs() else { return String::new() };
    let usable: Vec<IpAddr> = ifaces.iter().filter(|i| !i.is_loopback()).map(|i| i.ip()).collect();
    usable
        .iter()
        .find(|ip| ip.is_ipv4())
        .or_else(|| usable.iter().find(|ip| matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) != 0xfe80)))
        .map(|ip| ip.to_string())
        .unwrap_or_default()
}

#[cfg(all(test, not(windows)))]
mod tests {
    use super::*;

    #[test]
    fn reads_a_linux_root() {
        let dir = std::env::temp_dir().join(format!("booth-probe-{}", std::process::id()));
        let w = |p: &str, s: &str| {
            let path = dir.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, s).unwrap();
        };
        w("etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\n");
        w("etc/machine-id", "0123456789abcdef0123456789abcdef\n");
        w("sys/class/dmi/id/sys_vendor", "LENOVO\n");
        w("sys/class/dmi/id/product_name", "ThinkCentre M70q\n");
        w("sys/class/dmi/id/bios_version", "M3AKT4FA\n");
        let m = Probe::at(&dir).machine();
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(m.model(), "LENOVO ThinkCentre M70q");
        assert_eq!(m.firmware, "M3AKT4FA");
        assert_eq!(m.os_name, "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(m.os_version_id, "12");
        assert_eq!(m.serial, "0123456789abcdef0123456789abcdef");
        assert_eq!(m.platform, "Linux");
    }

    #[test]
    fn machines_without_dmi_still_report_something() {
        let dir = std::env::temp_dir().join(format!("booth-probe-nodmi-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("proc/sys/kernel")).unwrap();
        std::fs::write(dir.join("proc/sys/kernel/osrelease"), "6.1.0-18-amd64\n").unwrap();
        let m = Probe::at(&dir).machine();
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(m.model(), format!("PC {}", std::env::consts::ARCH));
        assert_eq!(m.firmware, "6.1.0-18-amd64");
        assert_eq!(m.os_name, "Linux 6.1.0-18-amd64");
    }

    #[test]
    fn model_does_not_repeat_the_vendor() {
        let m = Machine { vendor: "QEMU".into(), product: "QEMU Standard PC".into(), ..Default::default() };
        assert_eq!(m.model(), "QEMU Standard PC");
    }
}
