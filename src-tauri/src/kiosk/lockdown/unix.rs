//! The lock-down on Linux and other Unix desktops: only GNOME notification banners can be
//! switched (through `gsettings`); the rest is the compositor's business (README: cage).

use super::rules::Status;
use std::process::Command;

const SCHEMA: &str = "org.gnome.desktop.notifications";
const KEY: &str = "show-banners";

/// Nothing to hook on Linux; the reason goes into the report.
pub struct KeyHook;

impl KeyHook {
    pub fn start() -> Result<KeyHook, Status> {
        Err(Status::Unsupported(
            "escape keys belong to the session: run Booth as the only client of a kiosk compositor \
             (cage) or a bare X session (README, Kiosk terminals)"
                .into(),
        ))
    }
}

pub fn set_taskbar_visible(_visible: bool) -> Status {
    Status::Unsupported("no taskbar Booth can hide on Linux (cage and a bare X session have none)".into())
}

pub fn accessibility_flags() -> Result<[u32; 3], Status> {
    Err(Status::Unsupported("accessibility hotkeys are the session's on Linux".into()))
}

pub fn set_accessibility_flags(_flags: [u32; 3]) -> Status {
    Status::Unsupported("accessibility hotkeys are the session's on Linux".into())
}

fn gsettings(args: &[&str]) -> Result<String, Status> {
    let out = Command::new("gsettings")
        .args(args)
        .output()
        .map_err(|e| Status::Unsupported(format!("no GNOME notification settings here (gsettings: {e})")))?;
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if !out.status.success() {
        return Err(if stderr.contains("No such schema") || stderr.contains("No such key") {
            Status::Unsupported(format!("no GNOME notification settings here ({stderr})"))
        } else {
            Status::Failed(format!("gsettings {}: {stderr}", args.join(" ")))
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub fn notifications_setting() -> Result<Option<String>, Status> {
    gsettings(&["get", SCHEMA, KEY]).map(Some)
}

/// Whether this session has a D-Bus session bus (where dconf and a desktop shell live).
fn session_bus() -> bool {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty()) {
        return true;
    }
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    std::path::Path::new(&format!("/run/user/{uid}/bus")).exists()
}

fn set_banners(value: &str) -> Status {
    if let Err(s) = gsettings(&["set", SCHEMA, KEY, value]) {
        return s;
    }
    // gsettings exits 0 even when the change went nowhere (no dconf, memory backend): read back.
    match gsettings(&["get", SCHEMA, KEY]) {
        Ok(now) if now == value => Status::Done,
        // Without a session bus there is no settings daemon, and no desktop shell to show
        // banners either (a kiosk compositor, a bare X session): nothing to turn off.
        Ok(now) if !session_bus() => Status::Unsupported(format!(
            "no D-Bus session: GNOME's {KEY} is not in effect here (still {now}), no desktop shows banners"
        )),
        Ok(now) => Status::Failed(format!("{SCHEMA} {KEY} is still {now} (no settings daemon for this session?)")),
        Err(s) => s,
    }
}

pub fn set_notifications(enabled: bool) -> Status {
    set_banners(if enabled { "true" } else { "false" })
}

pub fn restore_notifications(before: Option<&str>) -> Status {
    match before {
        Some(v @ ("true" | "false")) => set_banners(v),
        _ => match gsettings(&["reset", SCHEMA, KEY]) {
            Ok(_) => Status::Done,
            Err(s) => s,
        },
    }
}

pub fn process_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
