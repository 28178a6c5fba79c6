//! The shell around the mini-program: the launcher page, the home screen of a terminal with
//! several apps, which app each window may show, `deviceConfig` and `exitMp`, the operation
//! watcher (`ampeStartOperationWatcher` / `ampeOperationTimeout`), the idle reset, and bringing
//! back a page whose web process died or hung.
//!
//! Pages report touches, clicks, keys and heartbeat answers through `booth_shell`
//! (`miniapp-host/js/shell.js`); a ticker thread turns them into what is due ([`booth_session::timers`]).

use super::apps::Catalogue;
use super::signals::PageSignals;
use crate::config::KioskSection;
use crate::names::{MAIN, SECONDARY};
use booth_bridge::{ApiError, Bridge, ErrorCode};
use booth_miniapp_host::Package;
use booth_session::timers::{Due, IdlePolicy, Timers};
use booth_session::{DeviceConfig, ShellApis, ShellHost};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tauri::{AppHandle, Manager, WebviewWindow};
use url::Url;

pub use booth_session::OPERATION_TIMEOUT_TOPIC;
/// How often the ticker looks at the clocks.
const TICK: Duration = Duration::from_millis(200);
/// How often a loaded page is asked for a heartbeat.
const BEAT_EVERY: Duration = Duration::from_millis(1000);
/// Time for a reply to reach the page before its window changes.
const REPLY_GRACE: Duration = Duration::from_millis(150);
/// Time for the page's own storage to be deleted (IndexedDB and caches answer asynchronously)
/// before an app that closed itself leaves its window.
const CLEAR_GRACE: Duration = Duration::from_millis(300);
/// Deletes what the page's origin keeps: local and session storage, the cookies scripts can
/// see, IndexedDB databases and caches. Run in the page itself, it reaches that app's origin
/// and no other app's.
const CLEAR_ORIGIN_JS: &str = "try{localStorage.clear();sessionStorage.clear();}catch(e){}\
try{document.cookie.split(';').forEach(function(c){var n=c.split('=')[0].trim();\
if(n){document.cookie=n+'=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/';}});}catch(e){}\
try{indexedDB.databases().then(function(l){l.forEach(function(d){indexedDB.deleteDatabase(d.name);});});}catch(e){}\
try{caches.keys().then(function(k){k.forEach(function(n){caches.delete(n);});});}catch(e){}";

/// Why the launcher page is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LauncherReason {
    /// The mini-program closed itself (`deviceConfig` exitApplet, `wxfaceapp.exitMp`).
    Exit,
    /// The package could not load; the launcher retries.
    Failed,
}

#[derive(Debug, Default)]
struct Launcher {
    showing: Option<LauncherReason>,
    status: String,
    /// Failed loads in a row; the retry delay doubles with each.
    failures: u32,
}

/// Whose pages a window may show. Booth sets it before it puts an app in a window (start, the
/// home screen, launchMp, finOpenOtherApp); a page that navigates its window to another app's
/// origin is refused, and a page on another app's origin gets no session there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// `[package]` (`booth://localhost/`, its remote address or allowed origins).
    Package,
    /// A catalogue app, by its appId as booth.toml spells it.
    App(String),
}

/// Settings a page changed with `deviceConfig` for the current run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BarState {
    pub navigation_hidden: bool,
    pub notifications_blocked: bool,
}

pub struct Shell {
    app: AppHandle,
    kiosk: bool,
    cfg: RwLock<KioskSection>,
    package: Arc<Package>,
    catalogue: Arc<Catalogue>,
    bridge: Bridge,
    apis: Arc<ShellApis>,
    launcher: Mutex<Launcher>,
    /// What each window may show (by label); a window not listed shows `[package]`.
    placed: Mutex<std::collections::BTreeMap<String, Owner>>,
    /// The home screen is showing in the main window, and what it says (a failed app).
    home: Mutex<Option<String>>,
    /// The local program finOpenOtherApp started, while it runs in front of Booth.
    program: Mutex<Option<String>>,
    bars: Mutex<BarState>,
    /// Admin exit: the main window may close now.
    leaving: AtomicBool,
    run: Mutex<Option<booth_fleet::runs::RunMarker>>,
    /// Recoveries of crashed or hung pages, for `/health` and the admin screen.
    recoveries: Mutex<Vec<Value>>,
    /// The package asked for could not load at start: (what was asked for). Retrying loads it
    /// again and restarts Booth with it.
    unavailable: Mutex<Option<String>>,
    /// booth.toml did not load at start and its last good copy runs: why (the launcher says so).
    config_fallback: Mutex<Option<String>>,
    /// Finished page loads per window: how many, and the last one's time (ms since the epoch).
    loads: Mutex<std::collections::BTreeMap<String, (u64, u64)>>,
    /// Uncaught errors of the main window's package page in its first seconds, since its last
    /// load began (a package update on trial is rolled back for them).
    start_errors: Mutex<StartErrors>,
    /// Whether the kiosk's main window should be fullscreen (deviceConfig can change it).
    fullscreen: Arc<AtomicBool>,
    /// No `[package]`: the home screen shows the catalogue only, and nothing else ever fills
    /// the main window.
    home_only: AtomicBool,
}

/// The home screen's tiles: `[package]` first (when there is one to show), then the
/// catalogue's apps with their icons' addresses.
/// Whether a camera or microphone request from `uri` in window `label` may be granted: the
/// window's page (a bridge session of that window) holds the `camera` permission and `uri` has
/// that page's origin (scheme, host and port; a page of another origin in a frame gets nothing).
pub fn page_may_use_media(bridge: &Bridge, label: &str, uri: &str) -> bool {
    let Ok(from) = Url::parse(uri) else { return false };
    let origin = |u: &Url| (u.scheme().to_string(), u.host_str().map(str::to_string), u.port_or_known_default());
    bridge.sessions_for(label).into_iter().filter_map(|s| bridge.session_info(s)).any(|info| {
        info.permissions.contains(&booth_bridge::api::Family::Camera)
            && Url::parse(&info.url).is_ok_and(|page| origin(&page) == origin(&from) && page.host_str().is_some())
    })
}

fn home_tiles(package: Option<&Package>, catalogue: &Catalogue) -> Vec<Value> {
    let mut apps = Vec::new();
    if let Some(p) = package {
        apps.push(json!({"id": "", "name": p.manifest.name, "icon": null}));
    }
    for a in catalogue.apps() {
        let icon = a.icon.as_deref().and_then(|i| crate::names::app_location(&a.id, &a.package, i).ok());
        apps.push(json!({"id": a.id, "name": a.name, "icon": icon.map(|u| u.to_string())}));
    }
    apps
}

impl Shell {
    /// The shell of this run; it serves the page APIs of `apis` (deviceConfig, exitMp).
    pub fn new(
        app: AppHandle,
        kiosk: bool,
        cfg: KioskSection,
        package: Arc<Package>,
        catalogue: Arc<Catalogue>,
        bridge: Bridge,
        apis: Arc<ShellApis>,
    ) -> Arc<Shell> {
        let shell = Arc::new(Shell {
            app,
            kiosk,
            cfg: RwLock::new(cfg),
            package,
            catalogue,
            bridge,
            apis: apis.clone(),
            launcher: Mutex::new(Launcher::default()),
            placed: Mutex::default(),
            home: Mutex::new(None),
            program: Mutex::new(None),
            bars: Mutex::new(BarState::default()),
            leaving: AtomicBool::new(false),
            run: Mutex::new(None),
            recoveries: Mutex::new(Vec::new()),
            loads: Mutex::new(Default::default()),
            start_errors: Mutex::default(),
            unavailable: Mutex::new(None),
            config_fallback: Mutex::new(None),
            fullscreen: Arc::new(AtomicBool::new(true)),
            home_only: AtomicBool::new(false),
        });
        apis.set_host(Host(shell.clone()));
        shell
    }

    pub fn kiosk(&self) -> bool {
        self.kiosk
    }

    pub fn config(&self) -> KioskSection {
        self.cfg.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Applies changed settings to the running shell (timeouts take effect at once).
    pub fn set_config(&self, cfg: KioskSection) {
        self.apis.set_operation_timeout(cfg.operation_timeout());
        *self.cfg.write().unwrap_or_else(|p| p.into_inner()) = cfg;
    }

    fn timers(&self) -> std::sync::MutexGuard<'_, Timers> {
        self.apis.timers()
    }

    /// Whether the kiosk's main window should be fullscreen now (shared with the window-manager
    /// state keeper).
    pub fn fullscreen_flag(&self) -> Arc<AtomicBool> {
        self.fullscreen.clone()
    }

    /// The administrator is leaving: windows may close.
    pub fn leaving(&self) -> bool {
        self.leaving.load(Ordering::SeqCst)
    }

    pub fn set_leaving(&self) {
        self.leaving.store(true, Ordering::SeqCst);
        // Every exit and restart of Booth's own passes here: this run did not crash.
        self.ending_on_purpose();
    }

    /// Booth is exiting or restarting on purpose: its run marker goes, so the next start does
    /// not report a crash.
    pub fn ending_on_purpose(&self) {
        if let Some(run) = self.run.lock().unwrap_or_else(|p| p.into_inner()).take() {
            run.ended_on_purpose();
        }
    }

    /// This run's crash marker, removed when Booth leaves on purpose ([`Shell::set_leaving`]).
    pub fn keep_run_marker(&self, run: booth_fleet::runs::RunMarker) {
        *self.run.lock().unwrap_or_else(|p| p.into_inner()) = Some(run);
    }

    // --- bridge ----------------------------------------------------------------------------

    fn apply_device_config(self: &Arc<Self>, label: &str, change: DeviceConfig) -> Result<(), ApiError> {
        if let Some(hide) = change.hide_navigation {
            self.set_navigation_hidden(hide).map_err(|e| ApiError::new(ErrorCode::DeviceError, e))?;
        }
        if let Some(block) = change.block_notifications {
            self.set_notifications_blocked(block).map_err(|e| ApiError::new(ErrorCode::DeviceError, e))?;
        }
        if change.exit {
            self.exit_applet_later(label, "deviceConfig exitApplet");
        }
        Ok(())
    }
}

impl PageSignals for Shell {
    fn page_load(&self, label: &str, url: &Url, finished: bool, status: Option<u16>) {
        Shell::page_load(self, label, url, finished, status)
    }
    fn load_failed(&self, label: &str, url: &Url, why: &str) {
        Shell::load_failed(self, label, url, why)
    }
    fn process_gone(&self, label: &str, why: &str) {
        Shell::process_gone(self, label, why)
    }
}

/// The session APIs' way to the windows.
struct Host(Arc<Shell>);

impl ShellHost for Host {
    fn device_config(&self, label: &str, change: DeviceConfig) -> Result<(), ApiError> {
        self.0.apply_device_config(label, change)
    }

    fn exit_applet(&self, label: &str, why: &str) {
        self.0.exit_applet_later(label, why);
    }
}

impl Shell {
    /// hideNavigationBar: 1 hides the taskbar (or panel) for this run, 2 shows it again.
    /// Booth's window covers the panel while fullscreen, so showing the bar leaves fullscreen.
    fn set_navigation_hidden(&self, hide: bool) -> Result<(), String> {
        crate::kiosk::lockdown::set_taskbar_visible(!hide)?;
        self.fullscreen.store(hide, Ordering::SeqCst);
        if let Some(main) = self.app.get_webview_window(MAIN) {
            main.set_fullscreen(hide).map_err(|e| e.to_string())?;
        }
        self.bars.lock().unwrap_or_else(|p| p.into_inner()).navigation_hidden = hide;
        tracing::info!(hidden = hide, "navigation bar");
        Ok(())
    }

    /// hindeNotificationBar: 1 suppresses desktop notifications for this run, 2 allows them.
    fn set_notifications_blocked(&self, block: bool) -> Result<(), String> {
        crate::kiosk::lockdown::set_notifications(!block)?;
        self.bars.lock().unwrap_or_else(|p| p.into_inner()).notifications_blocked = block;
        tracing::info!(blocked = block, "notifications");
        Ok(())
    }

    pub fn bars(&self) -> BarState {
        *self.bars.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts the taskbar and notifications back as they were before this run's deviceConfig.
    pub fn restore_bars(&self) {
        let bars = self.bars();
        if bars.navigation_hidden {
            let _ = crate::kiosk::lockdown::set_taskbar_visible(true);
        }
        if bars.notifications_blocked {
            let _ = crate::kiosk::lockdown::set_notifications(true);
        }
    }

    // --- which app a window shows, and the home screen -------------------------------------

    /// Whether the terminal starts on the home screen and comes back to it: more than one app
    /// in `[apps]`, and not `[kiosk] home = false`.
    pub fn has_home(&self) -> bool {
        self.home_only() || (self.config().home && self.catalogue.apps().nth(1).is_some())
    }

    /// The terminal has no `[package]`: its home screen is the catalogue (set before the
    /// windows open).
    pub fn set_home_only(&self) {
        self.home_only.store(true, Ordering::SeqCst);
    }

    pub fn home_only(&self) -> bool {
        self.home_only.load(Ordering::SeqCst)
    }

    pub fn home_url() -> Url {
        crate::names::ui_base().join("home.html").unwrap_or_else(|_| crate::names::ui_base())
    }

    pub fn is_home(url: &Url) -> bool {
        let ui = crate::names::ui_base();
        url.scheme() == ui.scheme() && url.host() == ui.host() && url.path() == "/home.html"
    }

    pub fn home_showing(&self) -> bool {
        self.home.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// At start, before the main window exists: it opens on the home screen.
    pub fn start_on_home(&self) {
        *self.home.lock().unwrap_or_else(|p| p.into_inner()) = Some(String::new());
    }

    /// Whose pages window `label` may show now.
    pub fn placed(&self, label: &str) -> Owner {
        self.placed.lock().unwrap_or_else(|p| p.into_inner()).get(label).cloned().unwrap_or(Owner::Package)
    }

    /// Booth is about to show `owner`'s pages in window `label`.
    pub fn place(&self, label: &str, owner: Owner) {
        self.placed.lock().unwrap_or_else(|p| p.into_inner()).insert(label.to_string(), owner);
    }

    /// Whose pages `url` is: a catalogue app's (by its origin, or its remote address), or
    /// `[package]`'s own scheme origin; `None` for anything else (Booth's pages, the package's
    /// allowed origins).
    pub fn owner_of(&self, url: &Url) -> Option<Owner> {
        if let Some(app) = self.catalogue.for_url(url) {
            return Some(Owner::App(app.id.clone()));
        }
        if let Some(id) = crate::names::app_of(url) {
            // An origin of the scheme that is no catalogue app: nobody's, so never placed.
            return Some(Owner::App(format!("?{id}")));
        }
        let base = crate::names::package_base();
        (url.scheme() == base.scheme() && url.host() == base.host()).then_some(Owner::Package)
    }

    /// The navigation guard's question: may window `label` go to `url`? Not to the pages of an
    /// app Booth did not put there (a link from one app to another would hand the page the
    /// other app's permissions and storage).
    pub fn may_show(&self, label: &str, url: &Url) -> bool {
        let Some(owner) = self.owner_of(url) else { return true };
        let placed = self.placed(label);
        if owner != placed {
            tracing::warn!(window = label, url = %url, showing = ?placed, "navigation blocked: another app's page");
            return false;
        }
        true
    }

    /// Where `page` of `owner` is (an empty page: its entry).
    fn location(&self, owner: &Owner, page: &str) -> Result<Url, String> {
        match owner {
            Owner::Package if page.is_empty() => self.entry(),
            Owner::Package => crate::names::entry_location(&self.package, page),
            Owner::App(id) => {
                let app = self.catalogue.get(id).ok_or_else(|| format!("{id}: 不在应用目录中"))?;
                crate::names::app_location(&app.id, &app.package, page)
            }
        }
    }

    /// The app in front leaves: its pages' sessions and the back screen's app end, and the
    /// customer's face login with them.
    fn front_leaves(&self, why: &str) {
        for l in [MAIN, SECONDARY] {
            self.bridge.end_sessions_for(l);
        }
        self.bridge.bus().publish(booth_face::APPLET_RESET_TOPIC, json!({"why": why}));
        self.clear_secondary();
    }

    /// Puts `page` of `owner` in the main window in place of the app there (a touch on the home
    /// screen, finOpenOtherApp).
    pub fn open_front(&self, owner: Owner, page: &str) -> Result<(), String> {
        let url = self.location(&owner, page)?;
        tracing::info!(app = ?owner, url = %url, "opening in the main window");
        self.front_leaves("exit");
        let package = owner == Owner::Package;
        self.place(MAIN, owner);
        *self.home.lock().unwrap_or_else(|p| p.into_inner()) = None;
        // Opening an app is someone's doing (a touch on the home screen, a page's
        // finOpenOtherApp): the idle countdown starts now, so an app left alone goes back.
        let now = Instant::now();
        let mut timers = self.timers();
        timers.fresh(MAIN, now);
        timers.input(MAIN, now, Duration::ZERO);
        drop(timers);
        self.navigate_main(url);
        if package {
            self.show_secondary_entry();
        }
        Ok(())
    }

    /// The home screen: the apps of the catalogue, nothing of the last customer's app.
    /// `status` says why an app is not shown (it failed to load), or is empty.
    pub fn show_home(&self, why: &str, status: String) {
        tracing::info!(why, "home screen");
        self.front_leaves("exit");
        *self.home.lock().unwrap_or_else(|p| p.into_inner()) = Some(status);
        self.launcher.lock().unwrap_or_else(|p| p.into_inner()).showing = None;
        self.timers().fresh(MAIN, Instant::now());
        self.navigate_main(Self::home_url());
    }

    /// A program finOpenOtherApp started runs (`Some`): the main window steps back for it (the
    /// desktop stays locked down) and the idle reset and hang detection wait; `None`: it ended,
    /// the main window is in front again.
    pub fn program_running(&self, name: Option<&str>) {
        *self.program.lock().unwrap_or_else(|p| p.into_inner()) = name.map(str::to_string);
        let step_back = name.is_some();
        if !step_back {
            let now = Instant::now();
            let mut timers = self.timers();
            timers.forget_beat(MAIN);
            timers.fresh(MAIN, now);
        }
        let app = self.app.clone();
        let _ = self.app.run_on_main_thread(move || {
            let Some(w) = app.get_webview_window(MAIN) else { return };
            let done = if step_back { w.hide() } else { w.show().and_then(|_| w.set_focus()) };
            if let Err(e) = done {
                tracing::error!(error = %e, step_back, "cannot move the main window for the program");
            }
        });
    }

    fn program_runs(&self) -> bool {
        self.program.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// What the home screen shows: `[package]` first (unless it could not load), then the
    /// catalogue's apps, with their icons' addresses.
    fn home_state(&self) -> Value {
        let package = (!self.unavailable() && !self.home_only()).then_some(self.package.as_ref());
        let status = self.home.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_default();
        json!({"apps": home_tiles(package, &self.catalogue), "status": status})
    }

    /// A touch on the home screen: `app` is an appId, or "" for `[package]`.
    fn open_from_home(&self, app: &str) -> Result<(), String> {
        let owner = if app.is_empty() {
            if self.home_only() {
                return Err("本终端没有 [package]".into());
            }
            Owner::Package
        } else {
            Owner::App(self.catalogue.get(app).ok_or_else(|| format!("{app}: 不在应用目录中"))?.id.clone())
        };
        self.open_front(owner, "")
    }

    // --- the launcher ----------------------------------------------------------------------

    /// Where the package starts.
    pub fn entry(&self) -> Result<Url, String> {
        crate::names::entry_location(&self.package, &self.package.manifest.entry)
    }

    /// Kiosk start with a package that could not load: the launcher shows `why` and retries.
    pub fn set_unavailable(&self, spec: &str, why: &str) {
        *self.unavailable.lock().unwrap_or_else(|p| p.into_inner()) = Some(spec.to_string());
        let mut l = self.launcher.lock().unwrap_or_else(|p| p.into_inner());
        l.failures = 1;
        l.showing = Some(LauncherReason::Failed);
        l.status = why.to_string();
    }

    /// This run uses the last good booth.toml because the file did not load (`why`).
    pub fn set_config_fallback(&self, why: &str) {
        *self.config_fallback.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.to_string());
    }

    fn config_fallback(&self) -> Option<String> {
        self.config_fallback.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn unavailable(&self) -> bool {
        self.unavailable.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    pub fn launcher_url(reason: LauncherReason) -> Url {
        let mut u = crate::names::ui_base().join("launcher.html").unwrap_or_else(|_| crate::names::ui_base());
        u.set_query(Some(&format!(
            "reason={}",
            serde_json::to_value(reason).unwrap_or_default().as_str().unwrap_or("")
        )));
        u
    }

    /// Whether `url` is Booth's own launcher page.
    pub fn is_launcher(url: &Url) -> bool {
        let ui = crate::names::ui_base();
        url.scheme() == ui.scheme() && url.host() == ui.host() && url.path() == "/launcher.html"
    }

    /// Closes the mini-program after its reply went out.
    fn exit_applet_later(self: &Arc<Self>, label: &str, why: &str) {
        let why = why.to_string();
        let me = self.clone();
        let label = label.to_string();
        std::thread::spawn(move || {
            std::thread::sleep(REPLY_GRACE);
            me.close_applet(&label, &why);
        });
    }

    /// The mini-program closes: its sessions end (device loops and listeners stop), its
    /// secondary page goes, and the main window shows the launcher.
    pub fn close_applet(&self, label: &str, why: &str) {
        // The app that closed itself leaves nothing for the next customer; other apps keep theirs.
        self.clear_origin(label);
        if label == SECONDARY && self.end_back_app(why) {
            return;
        }
        if self.has_home() {
            tracing::info!(window = label, why, "mini-program closed; back to the home screen");
            self.show_home(why, String::new());
            return;
        }
        if self.placed(MAIN) != Owner::Package {
            // An app finOpenOtherApp put in front of the package: back to the package.
            tracing::info!(window = label, why, "mini-program closed; back to the package");
            if let Err(e) = self.open_front(Owner::Package, "") {
                tracing::error!(error = %e, "cannot go back to the package");
            }
            return;
        }
        tracing::info!(window = label, why, "mini-program closed; showing the launcher");
        // The customer's face login (seed 001) ends with the mini-program.
        self.front_leaves("exit");
        {
            let mut l = self.launcher.lock().unwrap_or_else(|p| p.into_inner());
            l.showing = Some(LauncherReason::Exit);
            l.status = String::new();
        }
        self.timers().fresh(MAIN, Instant::now());
        self.navigate_main(Self::launcher_url(LauncherReason::Exit));
    }

    /// A back-screen app (launchMp) ends alone: the front app keeps running, the back screen
    /// shows the package's `secondary.entry` or turns off. `false` when no app was there.
    pub fn end_back_app(&self, why: &str) -> bool {
        if !self.back_screen_shows_an_app() {
            return false;
        }
        tracing::info!(why, "back-screen app closed");
        self.bridge.end_sessions_for(SECONDARY);
        self.clear_secondary();
        self.show_secondary_entry();
        true
    }

    /// Deletes the stored data of the app window `label` shows, from inside its page.
    fn clear_origin(&self, label: &str) {
        let Some(w) = self.app.get_webview_window(label) else { return };
        match w.eval(CLEAR_ORIGIN_JS) {
            Ok(()) => std::thread::sleep(CLEAR_GRACE),
            Err(e) => tracing::warn!(window = label, error = %e, "cannot clear the app's stored data"),
        }
    }

    /// The package failed to load in the main window: the launcher shows why and retries.
    pub fn load_failed(&self, label: &str, url: &Url, why: &str) {
        if label != MAIN || Self::is_launcher(url) || Self::is_home(url) {
            tracing::warn!(window = label, url = %url, why, "page failed to load");
            return;
        }
        if self.has_home() {
            // The home screen stays usable: it says which app failed.
            tracing::warn!(url = %url, why, "the app cannot load; back to the home screen");
            self.show_home("load failed", format!("无法打开 {url}: {why}"));
            return;
        }
        let delay = {
            let mut l = self.launcher.lock().unwrap_or_else(|p| p.into_inner());
            l.failures += 1;
            l.showing = Some(LauncherReason::Failed);
            l.status = format!("{url}: {why}");
            self.retry_delay(l.failures)
        };
        tracing::warn!(url = %url, why, retry_in_s = delay.as_secs(), "the package cannot load; the launcher retries");
        self.timers().forget_beat(MAIN);
        self.navigate_main(Self::launcher_url(LauncherReason::Failed));
    }

    fn retry_delay(&self, failures: u32) -> Duration {
        let cfg = self.config();
        let secs = cfg.retry_s.saturating_mul(1u64 << failures.saturating_sub(1).min(16)).min(cfg.retry_max_s);
        Duration::from_secs(secs)
    }

    /// What the launcher page shows.
    fn launcher_state(&self) -> Value {
        let l = self.launcher.lock().unwrap_or_else(|p| p.into_inner());
        let m = &self.package.manifest;
        json!({
            "name": m.name,
            "version": m.version,
            "reason": l.showing,
            "status": l.status,
            "failures": l.failures,
            "configFallback": self.config_fallback(),
            "retryInS": if l.showing == Some(LauncherReason::Failed) { self.retry_delay(l.failures).as_secs() } else { 0 },
        })
    }

    /// Opens the package's entry in the main window (the launcher's start and retry). When the
    /// package could not load at start, it is loaded again first: Booth restarts with it once it
    /// loads, and the launcher shows the new reason when it still does not.
    pub fn start_package(&self) -> Result<(), String> {
        let spec = self.unavailable.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(spec) = spec {
            match Package::load(&spec) {
                Ok(_) => {
                    tracing::info!(package = %spec, "the package loads now; restarting Booth with it");
                    self.set_leaving();
                    self.app.request_restart();
                }
                Err(e) => {
                    {
                        let mut l = self.launcher.lock().unwrap_or_else(|p| p.into_inner());
                        l.failures += 1;
                        l.status = e.to_string();
                    }
                    tracing::warn!(package = %spec, error = %e, "the package still cannot load");
                    self.navigate_main(Self::launcher_url(LauncherReason::Failed));
                }
            }
            return Ok(());
        }
        let entry = self.entry()?;
        tracing::info!(url = %entry, "starting the mini-program");
        self.place(MAIN, Owner::Package);
        self.timers().fresh(MAIN, Instant::now());
        self.navigate_main(entry);
        self.show_secondary_entry();
        Ok(())
    }

    /// Whether the secondary window shows a catalogue app (started by launchMp).
    fn back_screen_shows_an_app(&self) -> bool {
        self.app
            .try_state::<Arc<super::secondary::Secondary>>()
            .and_then(|s| s.showing())
            .is_some_and(|u| crate::names::app_of(&u).is_some())
    }

    /// The customer screen shows nothing of the last customer: a picture is dropped and the
    /// window hidden (getSecondaryScreenState then answers 0).
    fn clear_secondary(&self) {
        use booth_display::SecondaryScreen;
        if let Some(second) = self.app.try_state::<Arc<super::secondary::Secondary>>() {
            let _ = second.close();
        }
    }

    /// The package's own customer screen page (`secondary.entry`), fresh, when it has one.
    fn show_secondary_entry(&self) {
        let Some(second) = &self.package.manifest.secondary else { return };
        let Ok(url) = crate::names::entry_location(&self.package, &second.entry) else { return };
        self.place(SECONDARY, Owner::Package);
        let app = self.app.clone();
        let _ = self.app.run_on_main_thread(move || {
            if let Some(w) = app.get_webview_window(SECONDARY) {
                let _ = w.navigate(url);
                let _ = w.show();
            }
        });
    }

    fn navigate_main(&self, url: Url) {
        let app = self.app.clone();
        let _ = self.app.run_on_main_thread(move || {
            if let Some(w) = app.get_webview_window(MAIN) {
                if let Err(e) = w.navigate(url.clone()) {
                    tracing::error!(url = %url, error = %e, "cannot navigate the main window");
                }
            }
        });
    }

    // --- page loads, crashes and hangs -----------------------------------------------------

    /// An uncaught error, unhandled rejection or failed script of a page in `label` (from the
    /// page output): kept when it is the main window's package page in its first seconds.
    pub fn page_error(&self, label: &str, text: &str) {
        if label == MAIN {
            self.start_errors.lock().unwrap_or_else(|p| p.into_inner()).error(text);
        }
    }

    /// A page of `label` started (`finished = false`) or finished loading, with its HTTP status
    /// when the platform reports one.
    pub fn page_load(&self, label: &str, url: &Url, finished: bool, status: Option<u16>) {
        if !finished {
            if label == MAIN {
                self.timers().loading(label, false);
                let package = !Self::is_launcher(url) && !Self::is_home(url);
                self.start_errors.lock().unwrap_or_else(|p| p.into_inner()).began(package);
            }
            return;
        }
        {
            let mut loads = self.loads.lock().unwrap_or_else(|p| p.into_inner());
            let entry = loads.entry(label.to_string()).or_default();
            entry.0 += 1;
            entry.1 = chrono::Utc::now().timestamp_millis().max(0) as u64;
        }
        if let Some(code) = status.filter(|c| *c >= 400) {
            if !Self::is_launcher(url) && label == MAIN {
                self.load_failed(label, url, &format!("HTTP {code}"));
                return;
            }
        }
        if label == MAIN {
            let mut l = self.launcher.lock().unwrap_or_else(|p| p.into_inner());
            if Self::is_home(url) {
                // Booth's own page: neither a load of the package nor the launcher.
            } else if Self::is_launcher(url) {
                if l.showing.is_none() {
                    l.showing = Some(LauncherReason::Exit);
                }
            } else {
                if l.failures > 0 {
                    tracing::info!(url = %url, "the package loads again");
                }
                l.failures = 0;
                l.showing = None;
                l.status.clear();
            }
        }
        if label == MAIN && url.scheme() != "about" {
            self.timers().loading(label, true);
        }
    }

    /// The web process of `label` is gone (crashed, killed, or ended by Booth after a hang):
    /// load the page again.
    pub fn process_gone(&self, label: &str, why: &str) {
        let at = chrono::Local::now().to_rfc3339();
        tracing::error!(window = label, why, "the page's web process ended; reloading the page");
        self.timers().forget_beat(label);
        // Ended by Booth for hanging is a recovery; anything else is a crash of the page's process.
        let crash = !why.contains("hung");
        self.note_recovery(json!({"window": label, "why": why, "at": at, "crash": crash}));
        let app = self.app.clone();
        let label = label.to_string();
        let _ = self.app.run_on_main_thread(move || {
            if let Some(w) = app.get_webview_window(&label) {
                if let Err(e) = w.reload() {
                    tracing::error!(window = %label, error = %e, "cannot reload after the web process ended");
                }
            }
        });
    }

    fn note_recovery(&self, record: Value) {
        let mut r = self.recoveries.lock().unwrap_or_else(|p| p.into_inner());
        r.push(record);
        let excess = r.len().saturating_sub(50);
        r.drain(..excess);
    }

    pub fn recoveries(&self) -> Vec<Value> {
        self.recoveries.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn hung(&self, label: &str, silent: Duration) {
        tracing::error!(
            window = label,
            silent_ms = silent.as_millis() as u64,
            "the page stopped answering; restarting its web process"
        );
        let Some(w) = self.app.get_webview_window(label) else { return };
        #[cfg(target_os = "linux")]
        {
            // Ending the process brings `process_gone`, which reloads.
            super::webkit::terminate(&w);
        }
        #[cfg(not(target_os = "linux"))]
        {
            self.note_recovery(
                json!({"window": label, "why": "hung", "at": chrono::Local::now().to_rfc3339(), "crash": false}),
            );
            let _ = w.reload();
        }
    }

    /// Hooks a window's platform signals: web process ended, load failures and HTTP status,
    /// and (on kiosks) the native context menu and file chooser.
    pub fn watch_window(self: &Arc<Self>, window: &WebviewWindow) {
        #[cfg(target_os = "linux")]
        super::webkit::watch(self.clone(), window, self.kiosk);
        #[cfg(windows)]
        {
            let me = self.clone();
            let label = window.label().to_string();
            super::webview2::watch_process_failed(window.as_ref(), move || {
                me.process_gone(&label, "the WebView2 process failed")
            });
            // Finished loads, with their HTTP status, and failed ones (the launcher's business).
            let me = self.clone();
            let label = window.label().to_string();
            let watched = super::webview2::watch_navigations(window.as_ref(), move |end| {
                let Ok(url) = Url::parse(&end.url) else { return };
                // 14: COREWEBVIEW2_WEB_ERROR_STATUS_OPERATION_CANCELED (replaced or refused navigation).
                if !end.success && end.http_status == 0 && end.web_error != 14 {
                    me.load_failed(&label, &url, &format!("WebView2 error status {}", end.web_error));
                } else if end.success || end.http_status > 0 {
                    let status = u16::try_from(end.http_status).ok().filter(|c| *c > 0);
                    me.page_load(&label, &url, true, status);
                }
            });
            if let Err(e) = watched {
                tracing::error!(error = %e, "cannot watch the window's navigations");
            }
            // WebView2 has WebRTC of its own: the camera and microphone only for a page whose
            // package holds the `camera` permission.
            let bridge = self.bridge.clone();
            let label = window.label().to_string();
            let hooked = super::webview2::media_permissions(window.as_ref(), move |uri| {
                page_may_use_media(&bridge, &label, uri)
            });
            if let Err(e) = hooked {
                tracing::error!(error = %e, "cannot set the window's media permissions");
            }
        }
    }

    // --- what pages report -----------------------------------------------------------------

    /// `booth_shell` from a page of `label`.
    pub fn report(self: &Arc<Self>, label: &str, kind: &str, payload: &Value) -> Result<Value, String> {
        let now = Instant::now();
        match kind {
            "activity" => {
                let ago = payload.get("agoMs").and_then(Value::as_u64).unwrap_or(0).min(60_000);
                tracing::trace!(window = label, ago_ms = ago, "input");
                self.timers().input(label, now, Duration::from_millis(ago));
                Ok(Value::Null)
            }
            "beat" => {
                self.timers().answered(label);
                Ok(Value::Null)
            }
            "admin" if self.kiosk => {
                super::admin_window::open(&self.app);
                Ok(Value::Null)
            }
            "admin" => Ok(Value::Null),
            "launcher" => Ok(self.launcher_state()),
            "start" if label == MAIN => self.start_package().map(|_| Value::Null),
            "home" => Ok(self.home_state()),
            "open" if label == MAIN && self.home_showing() => {
                self.open_from_home(payload.get("app").and_then(Value::as_str).unwrap_or_default()).map(|_| Value::Null)
            }
            other => Err(format!("unknown report `{other}`")),
        }
    }

    /// Starts the ticker thread: operation timeouts, idle warning and reset, heartbeats.
    pub fn start(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        let started = std::thread::Builder::new().name("booth-shell".into()).spawn(move || {
            let mut last_beat = Instant::now();
            loop {
                std::thread::sleep(TICK);
                let Some(me) = me.upgrade() else { return };
                let now = Instant::now();
                if now.duration_since(last_beat) >= BEAT_EVERY {
                    last_beat = now;
                    me.send_beats();
                }
                me.tick(now);
            }
        });
        if let Err(e) = started {
            tracing::error!(error = %e, "cannot start the shell's timers");
        }
    }

    fn send_beats(self: &Arc<Self>) {
        // Only kiosks judge hangs (a developer's page may sit at a breakpoint); a hidden page
        // behind a program is not asked.
        if !self.kiosk || self.program_runs() {
            return;
        }
        for label in [MAIN] {
            let Some(n) = self.timers().beat(label) else { continue };
            let Some(w) = self.app.get_webview_window(label) else { continue };
            // Sent from the event loop, and noted when it gets there: on a loaded machine
            // Booth's own queue can hold a beat for seconds, and that is not the page's silence.
            let me = self.clone();
            let _ = self.app.run_on_main_thread(move || {
                me.timers().sent(label, n, Instant::now());
                let _ = w.eval(format!("window.__boothBeat && window.__boothBeat({n})"));
            });
        }
    }

    fn tick(self: &Arc<Self>, now: Instant) {
        let cfg = self.config();
        // The launcher and the home screen are what the idle reset would return to.
        let on_launcher = self.launcher.lock().unwrap_or_else(|p| p.into_inner()).showing.is_some()
            || self.home_showing()
            || self.program_runs();
        let idle = match (self.kiosk && !on_launcher, cfg.idle()) {
            (true, Some(after)) => Some((MAIN, IdlePolicy { after, warning: Duration::from_secs(cfg.idle_warning_s) })),
            _ => None,
        };
        let hang = (self.kiosk && !self.program_runs()).then(|| Duration::from_secs(cfg.hang_s));
        let due = self.timers().tick(now, idle, hang);
        for d in due {
            match d {
                Due::OperationTimeout(session) => {
                    let secs = cfg.operation_timeout_s;
                    if self.bridge.bus().publish_to(session, OPERATION_TIMEOUT_TOPIC, json!({"timeout": secs})) {
                        tracing::info!(session, timeout_s = secs, "operation timeout");
                    }
                }
                Due::IdleWarning { label, seconds } => {
                    tracing::info!(window = %label, seconds, "idle: warning");
                    if let Some(w) = self.app.get_webview_window(&label) {
                        let _ = w.eval(format!("window.__boothIdleWarning && window.__boothIdleWarning({seconds})"));
                    }
                }
                Due::IdleReset { label } => self.idle_reset(&label, cfg.idle_clear_data),
                Due::Hung { label, silent } => self.hung(&label, silent),
            }
        }
    }

    /// Nobody used the terminal for the idle time: back to the home screen, or the package's
    /// entry, with nothing of the last customer left (cookies, storage, caches); with a
    /// catalogue, of the apps the customer used only.
    fn idle_reset(&self, label: &str, clear: bool) {
        tracing::info!(window = label, clear_data = clear, "idle: back to the start");
        let Some(w) = self.app.get_webview_window(label) else { return };
        for l in [MAIN, SECONDARY] {
            self.bridge.end_sessions_for(l);
        }
        // What the last customer's calls took is free now: give it back.
        super::memory::trim_heap();
        self.bridge.bus().publish(booth_face::APPLET_RESET_TOPIC, json!({"why": "idle"}));
        if clear && self.catalogue.apps().next().is_some() {
            // Several apps: only the ones the customer was using (the front app and its
            // back-screen app) lose their data; the other apps keep theirs.
            self.clear_origin(MAIN);
            if self.back_screen_shows_an_app() {
                self.clear_origin(SECONDARY);
            }
        } else if clear {
            // Clear storage while the page is still there (WebKit keeps local storage of a live
            // page in memory), then the site data of the web context.
            let _ = w.eval("try{localStorage.clear();sessionStorage.clear();}catch(e){}");
            if let Err(e) = w.clear_all_browsing_data() {
                tracing::warn!(error = %e, "cannot clear browsing data");
            }
        }
        if self.has_home() {
            self.clear_secondary();
            *self.home.lock().unwrap_or_else(|p| p.into_inner()) = Some(String::new());
            self.navigate_main(Self::home_url());
            return;
        }
        self.place(MAIN, Owner::Package);
        match self.entry() {
            Ok(entry) => self.navigate_main(entry),
            Err(e) => tracing::error!(error = %e, "no entry to go back to"),
        }
        self.clear_secondary();
        self.show_secondary_entry();
    }

    /// For `/health`: the shell's state.
    pub fn report_state(&self) -> Value {
        let l = self.launcher.lock().unwrap_or_else(|p| p.into_inner());
        json!({
            "kiosk": self.kiosk,
            "launcher": l.showing,
            "launcherStatus": l.status,
            "configFallback": self.config_fallback(),
            "home": self.home_showing(),
            "program": self.program.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            "bars": self.bars(),
            "recoveries": self.recoveries(),
            "startErrors": self.start_errors.lock().unwrap_or_else(|p| p.into_inner()).errors(),
            "loads": self.loads.lock().unwrap_or_else(|p| p.into_inner()).iter()
                .map(|(k, (n, at))| (k.clone(), json!({"count": n, "lastMs": at})))
                .collect::<serde_json::Map<_, _>>(),
        })
    }
}

/// How long after its load began an uncaught error counts as the page failing at start.
pub const START_ERRORS_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);
/// At most this many are kept (the first is what a rollback names).
const START_ERRORS_KEPT: usize = 5;

/// The main window's package page's errors at start.
#[derive(Default)]
pub struct StartErrors {
    /// When the package page's last load began; `None` for Booth's own pages.
    began: Option<std::time::Instant>,
    errors: Vec<String>,
}

impl StartErrors {
    fn began(&mut self, package: bool) {
        self.began = package.then(std::time::Instant::now);
        self.errors.clear();
    }

    fn error(&mut self, text: &str) {
        let fresh = self.began.is_some_and(|t| t.elapsed() < START_ERRORS_WINDOW);
        if fresh && self.errors.len() < START_ERRORS_KEPT {
            self.errors.push(text.chars().take(300).collect());
        }
    }

    fn errors(&self) -> Vec<String> {
        self.errors.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nowhere;
    impl booth_bridge::EventSink for Nowhere {
        fn deliver(&self, _: booth_bridge::EventMessage) -> bool {
            true
        }
    }

    #[test]
    fn only_a_page_with_the_camera_permission_gets_webview2_media_and_only_for_its_origin() {
        use booth_bridge::api::{Dialect, Family};
        let bridge = Bridge::default();
        let page = |key: &str, url: &str, camera: bool| booth_bridge::SessionInfo {
            key: key.into(),
            package_id: "p".into(),
            permissions: if camera { [Family::Camera].into() } else { Default::default() },
            dialects: [Dialect::Ft].into(),
            screen: booth_bridge::Screen::Front,
            url: url.into(),
        };
        bridge.open_session(page("main", "http://booth.localhost/index.html", true), Arc::new(Nowhere));
        bridge.open_session(page("secondary", "http://booth.localhost/back.html", false), Arc::new(Nowhere));
        assert!(page_may_use_media(&bridge, "main", "http://booth.localhost/other/page.html"));
        assert!(!page_may_use_media(&bridge, "main", "https://booth.localhost/"), "another scheme");
        assert!(!page_may_use_media(&bridge, "main", "http://evil.example/"), "a frame of another origin");
        assert!(!page_may_use_media(&bridge, "main", "not a url"));
        assert!(!page_may_use_media(&bridge, "secondary", "http://booth.localhost/back.html"), "no camera permission");
        assert!(!page_may_use_media(&bridge, "certify", "http://booth.localhost/"), "no page in that window");
        // Opaque origins (custom schemes, data:) are never one page's origin.
        bridge.open_session(page("third", "data:text/html,x", true), Arc::new(Nowhere));
        assert!(!page_may_use_media(&bridge, "third", "data:text/html,y"));
    }

    #[test]
    fn only_a_package_pages_errors_in_its_first_seconds_count_as_failing_at_start() {
        let mut e = StartErrors::default();
        e.error("Uncaught before any load");
        assert!(e.errors().is_empty());
        e.began(false);
        e.error("Uncaught on the launcher");
        assert!(e.errors().is_empty(), "Booth's own pages are not the package");
        e.began(true);
        for i in 0..8 {
            e.error(&format!("Uncaught TypeError {i}"));
        }
        assert_eq!(e.errors().len(), START_ERRORS_KEPT);
        assert_eq!(e.errors()[0], "Uncaught TypeError 0");
        e.began(true);
        assert!(e.errors().is_empty(), "a new load starts afresh");
        e.began = Some(std::time::Instant::now() - START_ERRORS_WINDOW);
        e.error("Uncaught later on");
        assert!(e.errors().is_empty(), "an error after the first seconds is not a start-up failure");
    }

    #[test]
    fn the_home_screen_lists_the_package_only_when_there_is_one() {
        let fixture = |name: &str| format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let section: booth_apps::catalogue::AppsSection = [
            (
                "cashier".to_string(),
                booth_apps::catalogue::AppEntry { source: fixture("apps-back"), ..Default::default() },
            ),
            (
                "report".to_string(),
                booth_apps::catalogue::AppEntry {
                    source: fixture("apps-report"),
                    icon: Some("icon.png".into()),
                    ..Default::default()
                },
            ),
        ]
        .into_iter()
        .collect();
        let catalogue = Catalogue::load(&section);
        let package = Package::load(&fixture("apps-front")).expect("front fixture");
        let ids =
            |tiles: Vec<Value>| tiles.iter().map(|t| t["id"].as_str().unwrap_or("?").to_string()).collect::<Vec<_>>();
        assert_eq!(ids(home_tiles(Some(&package), &catalogue)), ["", "cashier", "report"]);
        let tiles = home_tiles(None, &catalogue);
        assert_eq!(ids(tiles.clone()), ["cashier", "report"], "no [package]: the catalogue only");
        let icon = crate::names::app_base("report").unwrap().join("icon.png").unwrap();
        assert_eq!(tiles[1]["icon"], icon.as_str());
        assert_eq!(tiles[0]["icon"], Value::Null);
    }
}
