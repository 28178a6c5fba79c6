//! Locking the desktop around Booth while it runs as a kiosk, and undoing it — on exit, and after a
//! crash on the next start.
//!
//! [`engage`] applies what [`Options`] asks and returns a [`Guard`] that restores everything when
//! dropped. Before changing anything it writes a marker file ([`default_marker_path`]) holding the
//! values it is about to change; [`restore_after_crash`] (called by `engage` itself, and at any
//! Booth start) puts back what a Booth that died with the marker in place had changed.
//!
//! What each part does:
//!
//! | part | Windows | Linux |
//! | --- | --- | --- |
//! | escape keys | a `WH_KEYBOARD_LL` hook swallows the Windows keys and Win+any key, Alt+Tab, Alt+Esc, Alt+Space, Alt+F4, Ctrl+Esc, Ctrl+Shift+Esc. Ctrl+Alt+Del and Win+L cannot be hooked: use Keyboard Filter (README) | not here: run Booth as the only client of a kiosk compositor (cage) or a bare X session, where there is nothing to switch to |
//! | taskbar | hides `Shell_TrayWnd`, every `Shell_SecondaryTrayWnd` and a separate Start button | not here: cage and a bare X session have none |
//! | accessibility hotkeys | turns off the Sticky Keys (5× Shift), Filter Keys (hold right Shift) and Toggle Keys (hold Num Lock) hotkeys; the user's settings come back on exit | not here |
//! | notifications | `ToastEnabled` under `HKCU\…\PushNotifications` (the Settings switch; some Windows builds apply it only to new sign-ins) | GNOME's `org.gnome.desktop.notifications show-banners` through `gsettings`, read back to confirm |
//!
//! Every part reports a [`Status`]: done, not requested, not supported here (with the reason), or
//! failed (with the error) — nothing claims to work where it does not.

pub mod rules;
#[cfg(not(windows))]
mod unix;
#[cfg(windows)]
pub mod windows;

pub use rules::{hotkeys_off, vk, KeyFilter, Status};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What to lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub block_keys: bool,
    pub hide_taskbar: bool,
    pub accessibility_hotkeys_off: bool,
    pub notifications_off: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { block_keys: true, hide_taskbar: true, accessibility_hotkeys_off: true, notifications_off: true }
    }
}

/// What [`engage`] or a restore did, part by part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub keys: Status,
    pub taskbar: Status,
    pub accessibility: Status,
    pub notifications: Status,
}

impl Report {
    fn none() -> Report {
        Report {
            keys: Status::NotRequested,
            taskbar: Status::NotRequested,
            accessibility: Status::NotRequested,
            notifications: Status::NotRequested,
        }
    }

    /// Logs each part (info when done, warn otherwise).
    pub fn log(&self, what: &str) {
        for (part, status) in [
            ("escape keys", &self.keys),
            ("taskbar", &self.taskbar),
            ("accessibility hotkeys", &self.accessibility),
            ("notifications", &self.notifications),
        ] {
            match status {
                Status::Done => tracing::info!(part, "{what}: done"),
                Status::NotRequested => {}
                other => tracing::warn!(part, "{what}: {other}"),
            }
        }
    }
}

/// `<local data dir>/booth/lockdown.json`.
pub fn default_marker_path() -> Option<PathBuf> {
    dirs::data_local_dir().map(|d| d.join("booth").join("lockdown.json"))
}

/// The marker: what a running lock-down changed and the values to put back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Marker {
    /// The Booth that wrote it.
    pid: u32,
    taskbar_hidden: bool,
    /// The accessibility flags before (Windows: Sticky, Filter, Toggle Keys `dwFlags`).
    accessibility: Option<[u32; 3]>,
    /// The notification setting before; `Some(None)` when it was not set at all.
    notifications: Option<Option<String>>,
}

impl Marker {
    fn is_empty(&self) -> bool {
        !self.taskbar_hidden && self.accessibility.is_none() && self.notifications.is_none()
    }
}

fn write_marker(path: &Path, marker: &Marker) -> Result<(), String> {
    let json = serde_json::to_vec_pretty(marker).expect("plain struct");
    crate::config::settings::write_atomic(path, &json).map_err(|e| format!("{}: {e}", path.display()))
}

/// What this process has changed, and where the marker goes. One per process: [`engage`] and
/// the free functions ([`set_taskbar_visible`], [`set_notifications`]) share it, so a change
/// made through either is undone by the other's restore and after a crash.
struct Desk {
    path: Option<PathBuf>,
    marker: Marker,
}

static DESK: std::sync::Mutex<Option<Desk>> = std::sync::Mutex::new(None);

fn with_desk<T>(f: impl FnOnce(&mut Desk) -> T) -> T {
    let mut guard = DESK.lock().unwrap_or_else(|p| p.into_inner());
    let desk = guard.get_or_insert_with(|| Desk {
        path: default_marker_path(),
        marker: Marker { pid: std::process::id(), ..Marker::default() },
    });
    f(desk)
}

impl Desk {
    /// Writes the marker (or removes it when nothing is changed any more).
    fn save(&self) -> Result<(), String> {
        let Some(path) = &self.path else { return Err("no local data folder for the restore marker".into()) };
        if self.marker.is_empty() {
            remove_marker(path);
            Ok(())
        } else {
            write_marker(path, &self.marker)
        }
    }

    fn taskbar(&mut self, visible: bool) -> Status {
        if !visible && !self.marker.taskbar_hidden {
            self.marker.taskbar_hidden = true;
            if let Err(e) = self.save() {
                self.marker.taskbar_hidden = false;
                return Status::Failed(format!("cannot write the restore marker ({e}); taskbar left alone"));
            }
        }
        let status = platform::set_taskbar_visible(visible);
        // Shown again, or never hidden: nothing for a restore to do.
        if self.marker.taskbar_hidden && (visible == (status == Status::Done)) {
            self.marker.taskbar_hidden = false;
            let _ = self.save();
        }
        status
    }

    fn notifications(&mut self, enabled: bool) -> Status {
        if !enabled && self.marker.notifications.is_none() {
            match platform::notifications_setting() {
                Ok(before) => {
                    self.marker.notifications = Some(before);
                    if let Err(e) = self.save() {
                        self.marker.notifications = None;
                        return Status::Failed(format!(
                            "cannot write the restore marker ({e}); notifications left alone"
                        ));
                    }
                }
                Err(status) => return status,
            }
        }
        if enabled {
            // Back to what the user had, rather than forcing "on".
            if let Some(before) = self.marker.notifications.take() {
                let status = platform::restore_notifications(before.as_deref());
                let _ = self.save();
                return status;
            }
        }
        let status = platform::set_notifications(enabled);
        if !enabled && status != Status::Done {
            // Not turned off: nothing for a restore to do.
            self.marker.notifications = None;
            let _ = self.save();
        }
        status
    }

    fn accessibility_off(&mut self) -> Status {
        if self.marker.accessibility.is_some() {
            return Status::Done;
        }
        let before = match platform::accessibility_flags() {
            Ok(flags) => flags,
            Err(status) => return status,
        };
        self.marker.accessibility = Some(before);
        if let Err(e) = self.save() {
            self.marker.accessibility = None;
            return Status::Failed(format!("cannot write the restore marker ({e}); hotkeys left alone"));
        }
        let status = platform::set_accessibility_flags(hotkeys_off(before));
        if status != Status::Done {
            self.marker.accessibility = None;
            let _ = self.save();
        }
        status
    }

    /// Puts everything back and removes the marker.
    fn restore_all(&mut self) -> Report {
        let marker = std::mem::replace(&mut self.marker, Marker { pid: std::process::id(), ..Marker::default() });
        let report = restore_marker(&marker);
        if let Some(path) = &self.path {
            remove_marker(path);
        }
        report
    }
}

/// Holds the lock-down; dropping it (or [`Guard::release`]) restores the desktop.
pub struct Guard {
    keys: Option<platform::KeyHook>,
    report: Report,
    released: bool,
}

/// Locks the desktop as `options` asks, keeping the marker at `marker_path`, after first
/// repairing what a crashed Booth left there (see [`restore_after_crash`]). Each part is tried
/// even when another fails; see [`Guard::report`].
pub fn engage(options: &Options, marker_path: &Path) -> Guard {
    if let Some(report) = restore_after_crash(marker_path) {
        report.log("restored after a crash");
    }
    let mut report = Report::none();
    with_desk(|desk| {
        if desk.path.as_deref() != Some(marker_path) {
            // Changes made before under another marker path move to this one.
            if let Some(old) = desk.path.replace(marker_path.to_path_buf()) {
                if !desk.marker.is_empty() {
                    remove_marker(&old);
                }
            }
            if let Err(e) = desk.save() {
                tracing::error!(error = %e, "lock-down marker");
            }
        }
        if options.accessibility_hotkeys_off {
            report.accessibility = desk.accessibility_off();
        }
        if options.hide_taskbar {
            report.taskbar = desk.taskbar(false);
        }
        if options.notifications_off {
            report.notifications = desk.notifications(false);
        }
    });
    let mut keys = None;
    if options.block_keys {
        report.keys = match platform::KeyHook::start() {
            Ok(hook) => {
                keys = Some(hook);
                Status::Done
            }
            Err(status) => status,
        };
    }
    report.log("lock-down");
    Guard { keys, report, released: false }
}

impl Guard {
    /// What [`engage`] managed, part by part.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Shows or hides the taskbar now (deviceConfig `hideNavigationBar`); a hidden taskbar comes
    /// back on release or after a crash.
    pub fn set_taskbar_visible(&mut self, visible: bool) -> Status {
        with_desk(|d| d.taskbar(visible))
    }

    /// Turns notifications off or back on now (deviceConfig `hindeNotificationBar` 1 / 2); the
    /// user's setting from before Booth comes back on release or after a crash.
    pub fn set_notifications(&mut self, enabled: bool) -> Status {
        with_desk(|d| d.notifications(enabled))
    }

    /// Restores the desktop now and reports what that did.
    pub fn release(mut self) -> Report {
        self.restore()
    }

    fn restore(&mut self) -> Report {
        self.released = true;
        let mut report = with_desk(|d| d.restore_all());
        // Taking the hook out drops it, which removes it.
        if self.keys.take().is_some() {
            report.keys = Status::Done;
        }
        report.log("lock-down released");
        report
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.released {
            self.restore();
        }
    }
}

fn remove_marker(path: &Path) {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            tracing::error!(file = %path.display(), error = %e, "cannot remove the lock-down marker")
        }
        _ => {}
    }
}

/// Puts back what a marker says was changed.
fn restore_marker(marker: &Marker) -> Report {
    let mut report = Report::none();
    if marker.taskbar_hidden {
        report.taskbar = platform::set_taskbar_visible(true);
    }
    if let Some(flags) = marker.accessibility {
        report.accessibility = platform::set_accessibility_flags(flags);
    }
    if let Some(before) = &marker.notifications {
        report.notifications = platform::restore_notifications(before.as_deref());
    }
    report
}

/// If a Booth that is no longer running left a lock-down marker at `marker_path`, restores what
/// it had changed and removes the marker. A marker of a Booth that still runs is left alone
/// (`None`); so is a missing one. A marker that cannot be parsed still brings the taskbar back.
/// Call it when Booth starts ([`default_marker_path`] unless [`engage`] is given another).
pub fn restore_after_crash(marker_path: &Path) -> Option<Report> {
    let text = std::fs::read(marker_path).ok()?;
    let marker = match serde_json::from_slice::<Marker>(&text) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(file = %marker_path.display(), error = %e, "damaged lock-down marker: showing the taskbar");
            Marker { taskbar_hidden: true, ..Marker::default() }
        }
    };
    if marker.pid == std::process::id() || (marker.pid != 0 && platform::process_alive(marker.pid)) {
        return None;
    }
    let report = restore_marker(&marker);
    remove_marker(marker_path);
    Some(report)
}

/// Whether process `pid` still runs.
pub fn process_alive(pid: u32) -> bool {
    platform::process_alive(pid)
}

fn into_result(what: &str, status: Status) -> Result<(), String> {
    match status {
        Status::Done | Status::NotRequested => Ok(()),
        Status::Unsupported(why) => {
            tracing::info!("{what}: not supported here: {why}");
            Ok(())
        }
        Status::Failed(e) => Err(format!("{what}: {e}")),
    }
}

/// Shows or hides the desktop's taskbar (deviceConfig `hideNavigationBar`). A hidden taskbar
/// comes back when a [`Guard`] is released, and after a crash (the marker). Where there is no
/// taskbar Booth can hide (Linux: Booth's fullscreen window covers the panels) this is logged
/// and `Ok`.
pub fn set_taskbar_visible(visible: bool) -> Result<(), String> {
    into_result("taskbar", with_desk(|d| d.taskbar(visible)))
}

/// Allows or suppresses desktop notifications (deviceConfig `hindeNotificationBar` 2 / 1):
/// Windows toasts, GNOME banners. Allowing them again restores the user's own setting. Where
/// there are none to suppress (cage runs no notification service) this is logged and `Ok`.
pub fn set_notifications(allowed: bool) -> Result<(), String> {
    into_result("notifications", with_desk(|d| d.notifications(allowed)))
}

#[cfg(windows)]
use self::windows as platform;

#[cfg(not(windows))]
use self::unix as platform;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_of_a_dead_booth_is_restored_and_a_live_one_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lockdown.json");
        assert_eq!(restore_after_crash(&path), None);
        // A live process (this test's parent, say): untouched.
        let parent = parent_pid();
        write_marker(&path, &Marker { pid: parent, taskbar_hidden: true, ..Marker::default() }).unwrap();
        assert_eq!(restore_after_crash(&path), None);
        assert!(path.exists());
        // A process that has exited: restored and removed.
        let mut child = std::process::Command::new(std::env::current_exe().unwrap()).arg("--list").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        write_marker(&path, &Marker { pid: dead, taskbar_hidden: true, ..Marker::default() }).unwrap();
        let report = restore_after_crash(&path).expect("restored");
        assert_ne!(report.taskbar, Status::NotRequested);
        assert_eq!(report.accessibility, Status::NotRequested);
        assert!(!path.exists());
        // A damaged marker: the taskbar is brought back all the same.
        std::fs::write(&path, b"{\"pid\": 1, \"taskb").unwrap();
        let report = restore_after_crash(&path).expect("restored");
        assert_ne!(report.taskbar, Status::NotRequested);
        assert!(!path.exists());
    }

    #[cfg(unix)]
    fn parent_pid() -> u32 {
        std::os::unix::process::parent_id()
    }

    #[cfg(windows)]
    fn parent_pid() -> u32 {
        std::process::id()
    }

    /// The tests that engage share the process-wide state.
    static DESK_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[cfg(target_os = "linux")]
    #[test]
    fn engage_on_linux_reports_honestly_and_cleans_up() {
        let _one = DESK_TESTS.lock().unwrap_or_else(|p| p.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lockdown.json");
        let options = Options { notifications_off: false, ..Options::default() };
        let guard = engage(&options, &path);
        let report = guard.report().clone();
        assert!(matches!(report.keys, Status::Unsupported(ref why) if why.contains("cage")), "{report:?}");
        assert!(matches!(report.taskbar, Status::Unsupported(_)), "{report:?}");
        assert!(matches!(report.accessibility, Status::Unsupported(_)), "{report:?}");
        assert_eq!(report.notifications, Status::NotRequested);
        assert!(!path.exists(), "nothing changed, so nothing to restore");
        drop(guard);
        assert!(!path.exists());
    }

    /// GNOME's notification banners through a real gsettings with the keyfile backend in a
    /// private config folder (skipped where gsettings or the schema is missing).
    #[cfg(target_os = "linux")]
    #[test]
    fn gnome_notifications_off_and_back() {
        let schemas = std::path::Path::new("/usr/share/glib-2.0/schemas/org.gnome.desktop.notifications.gschema.xml");
        if std::process::Command::new("gsettings").arg("--version").output().is_err() || !schemas.exists() {
            eprintln!("skipped: gsettings or the org.gnome.desktop.notifications schema is not installed");
            return;
        }
        let _one = DESK_TESTS.lock().unwrap_or_else(|p| p.into_inner());
        let dir = tempfile::tempdir().unwrap();
        // The environment is the process's: this test is the only one in this crate that sets these.
        std::env::set_var("GSETTINGS_BACKEND", "keyfile");
        std::env::set_var("XDG_CONFIG_HOME", dir.path());
        let path = dir.path().join("lockdown.json");
        let options = Options { notifications_off: true, ..Options::default() };
        let mut guard = engage(&options, &path);
        assert_eq!(guard.report().notifications, Status::Done);
        assert_eq!(unix::notifications_setting().unwrap().as_deref(), Some("false"));
        let marker: Marker = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(marker.notifications, Some(Some("true".into())));
        // deviceConfig turns them back on, then off again.
        assert_eq!(guard.set_notifications(true), Status::Done);
        assert_eq!(unix::notifications_setting().unwrap().as_deref(), Some("true"));
        assert!(!path.exists());
        assert_eq!(guard.set_notifications(false), Status::Done);
        assert_eq!(unix::notifications_setting().unwrap().as_deref(), Some("false"));
        // The free function (what deviceConfig uses) shares the same state and marker.
        set_notifications(true).unwrap();
        assert_eq!(unix::notifications_setting().unwrap().as_deref(), Some("true"));
        assert!(!path.exists());
        set_notifications(false).unwrap();
        assert!(path.exists());
        // A crash: the guard is forgotten and this process's state dropped, the marker stays;
        // the next start (another process: pid 0 here) restores.
        std::mem::forget(guard);
        *DESK.lock().unwrap() = None;
        let mut marker: Marker = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        marker.pid = 0;
        write_marker(&path, &marker).unwrap();
        let report = restore_after_crash(&path).unwrap();
        assert_eq!(report.notifications, Status::Done);
        assert_eq!(unix::notifications_setting().unwrap().as_deref(), Some("true"));
        // A normal release restores too.
        let guard = engage(&options, &path);
        assert_eq!(unix::notifications_setting().unwrap().as_deref(), Some("false"));
        assert_eq!(guard.release().notifications, Status::Done);
        assert_eq!(unix::notifications_setting().unwrap().as_deref(), Some("true"));
        assert!(!path.exists());
    }
}
