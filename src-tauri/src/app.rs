//! The Tauri application: the package scheme, the two windows and the event loop.

use crate::commands::{self, SECONDARY};
use crate::control::{self, ControlState};
use crate::devices::Devices;
use booth_miniapp_host::package::origin_key;
use booth_miniapp_host::{runtime, Package};
use std::net::TcpListener;
use std::sync::Arc;
use tauri::http::{header, Response, StatusCode};
use tauri::{Manager, RunEvent, WebviewUrl, WebviewWindowBuilder, WindowEvent};
use url::Url;

/// The scheme that serves package files, giving pages a stable origin.
pub const SCHEME: &str = "booth";

/// Where the package's files appear to pages: `booth://localhost/` (WebKitGTK, WKWebView) or
/// `http://booth.localhost/` (WebView2 maps custom schemes to that form).
pub fn package_base() -> Url {
    let base = if cfg!(windows) { "http://booth.localhost/" } else { "booth://localhost/" };
    Url::parse(base).unwrap_or_else(|_| unreachable!("constant URL"))
}

/// Booth's own pages (`ui/`).
pub fn ui_base() -> Url {
    let base = if cfg!(windows) { "http://tauri.localhost/" } else { "tauri://localhost/" };
    Url::parse(base).unwrap_or_else(|_| unreachable!("constant URL"))
}

/// The `Origin` header Booth's own pages send (`tauri://localhost`, `http://tauri.localhost`).
pub fn ui_origin() -> String {
    let base = ui_base();
    format!("{}://{}", base.scheme(), base.host_str().unwrap_or_default())
}

pub struct AppState {
    pub devices: Arc<Devices>,
    pub package: Arc<Package>,
}

/// What kind of run this is.
pub enum Mode {
    /// `booth run`: the package as configured.
    Run,
    /// `booth dev`: devtools, hot reload of `dir`, and (with `panel`) the simulator panel.
    Dev { dir: std::path::PathBuf, panel: bool, open_devtools: bool },
    /// `booth replay`: feed recorded device events, then exit with the comparison's code.
    Replay(crate::replay::Plan),
}

pub struct RunOptions {
    pub mode: Mode,
    /// Kiosk mode: fullscreen and locked down, idle reset, admin gesture, hang recovery.
    pub kiosk: bool,
    /// Kiosk mode with a package that could not load (what was asked for, why): the launcher
    /// shows instead, retrying.
    pub unavailable: Option<(String, String)>,
    /// `[kiosk]` of booth.toml.
    pub kiosk_config: crate::kiosk_config::KioskSection,
    /// The booth.toml in use (the admin screen writes its settings there).
    pub config_path: Option<std::path::PathBuf>,
    /// Where the log files are (the admin screen shows their tail).
    pub log_dir: Option<std::path::PathBuf>,
    /// `[admin]` of booth.toml (PIN lockout policy).
    pub admin: crate::kiosk::pin::AdminSection,
    pub package: Package,
    pub devices: Devices,
    pub recorder: Arc<crate::recorder::Recorder>,
    /// Already bound, so that a taken port fails before any window opens.
    pub control: Option<TcpListener>,
}

fn entry_url(package: &Package, entry: &str) -> Result<WebviewUrl, String> {
    if let booth_miniapp_host::Source::Remote(url) = &package.source {
        return Ok(WebviewUrl::External(url.clone()));
    }
    package_base().join(entry).map(WebviewUrl::CustomProtocol).map_err(|e| format!("entry `{entry}`: {e}"))
}

/// Where `entry` of the package is, as a URL to navigate to.
pub fn entry_location(package: &Package, entry: &str) -> Result<Url, String> {
    match entry_url(package, entry)? {
        WebviewUrl::External(u) | WebviewUrl::CustomProtocol(u) => Ok(u),
        _ => Err(format!("entry `{entry}`: not a URL")),
    }
}

/// Answers a request on the package scheme.
fn serve(package: &Package, path: &str) -> tauri::http::Result<Response<Vec<u8>>> {
    match package.read(path) {
        Some(asset) => Response::builder()
            .header(header::CONTENT_TYPE, asset.mime)
            .header(header::CACHE_CONTROL, "no-cache")
            .body(asset.bytes.to_vec()),
        None => {
            tracing::warn!(path, "not in the package");
            Response::builder()
                .status(StatusCode::NOT_FOUND)
                .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(format!("{path}: not in the package").into_bytes())
        }
    }
}

/// Runs until the main window closes; returns the process exit code.
pub fn run(opts: RunOptions) -> i32 {
    let package = Arc::new(opts.package);
    let devices = Arc::new(opts.devices);
    let state = Arc::new(AppState { devices: devices.clone(), package: package.clone() });
    let control = opts.control;
    let recorder = opts.recorder;
    let mut mode = opts.mode;
    let kiosk = opts.kiosk;
    let unavailable = opts.unavailable;
    let kiosk_config = opts.kiosk_config;
    let admin =
        Arc::new(crate::admin::Admin::new(opts.config_path, opts.log_dir, crate::kiosk::pin::Policy::of(&opts.admin)));

    let serve_pkg = package.clone();
    let builder = tauri::Builder::default()
        .register_asynchronous_uri_scheme_protocol(SCHEME, move |_ctx, request, responder| {
            // Files are read off the main thread, which runs the windows.
            let package = serve_pkg.clone();
            let path = request.uri().path().to_string();
            tauri::async_runtime::spawn_blocking(move || match serve(&package, &path) {
                Ok(r) => responder.respond(r),
                Err(e) => tracing::error!(error = %e, "cannot build a response"),
            });
        })
        .manage(state)
        .invoke_handler(commands::invoke_handler())
        .manage(admin)
        .manage(commands::LogLimiter::default())
        .setup(move |app| {
            allow_package_origins(app, &package)?;
            let dev = matches!(mode, Mode::Dev { .. });
            let shell = crate::shell::Shell::new(
                app.handle().clone(),
                kiosk,
                kiosk_config.clone(),
                package.clone(),
                devices.bridge.clone(),
                devices.shell.clone(),
            );
            if let Some((spec, why)) = &unavailable {
                shell.set_unavailable(spec, why);
            }
            app.manage(shell.clone());
            open_windows(app, &package, dev, &shell)?;
            shell.start();
            devices.id_entry.set_screen(Arc::new(IdNumberScreen(app.handle().clone())));
            devices.face.set_screen(Arc::new(FaceScreen(app.handle().clone())));
            let control_port = control.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port());
            match std::mem::replace(&mut mode, Mode::Run) {
                Mode::Run => {}
                Mode::Dev { dir, panel, open_devtools } => {
                    if open_devtools {
                        for w in app.webview_windows().values() {
                            w.open_devtools();
                        }
                    }
                    if let (true, Some(port)) = (panel, control_port) {
                        open_panel(app, port)?;
                    }
                    keep_reloading(app, &dir)?;
                }
                Mode::Replay(plan) => {
                    let handle = app.handle().clone();
                    crate::replay::drive(plan, devices.bridge.clone(), move |code| handle.exit(code));
                }
            }
            if let Some(listener) = control {
                let handle = app.handle().clone();
                let windows = Box::new(move || window_report(&handle));
                let reporting = shell.clone();
                let state = Arc::new(ControlState {
                    devices: devices.clone(),
                    package: package.clone(),
                    recorder: recorder.clone(),
                    windows: Some(windows),
                    shell: Some(Box::new(move || reporting.report_state())),
                });
                tauri::async_runtime::spawn(control::serve(listener, state));
            }
            Ok(())
        });

    // What a crashed Booth left hidden or switched off (taskbar, hotkeys, notifications) comes
    // back first; a kiosk then locks the desktop down for as long as it runs.
    let marker = crate::kiosk::lockdown::default_marker_path()
        .unwrap_or_else(|| std::env::temp_dir().join("booth-lockdown.json"));
    if let Some(report) = crate::kiosk::lockdown::restore_after_crash(&marker) {
        report.log("restored after a crash");
    }
    let _lockdown = kiosk.then(|| crate::kiosk::lockdown::engage(&crate::kiosk::lockdown::Options::default(), &marker));

    let app = match builder.build(tauri::generate_context!()) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("booth: error: cannot start the window system: {e}");
            return 1;
        }
    };
    app.run_return(|_handle, event| {
        if let RunEvent::ExitRequested { code, .. } = event {
            tracing::info!(?code, "exiting");
        }
    })
}

/// Pages of the package (its scheme, its `origins`, or its remote origin) may reach the bridge
/// commands; nothing else may.
fn allow_package_origins(app: &tauri::App, package: &Package) -> tauri::Result<()> {
    let mut builder = tauri::ipc::CapabilityBuilder::new("booth-package-origins")
        .windows([crate::commands::MAIN, SECONDARY])
        .permission("allow-booth-attach")
        .permission("allow-booth-call")
        .permission("allow-booth-subscribe")
        .permission("allow-booth-log")
        .permission("allow-booth-input")
        .permission("allow-booth-shell");
    let base = package_base();
    builder = builder.remote(format!("{}*", base.as_str()));
    for origin in package.extra_origins() {
        builder = builder.remote(format!("{origin}/*"));
    }
    app.add_capability(builder)
}

/// The simulator panel: Booth's own page, driving devices through the control endpoint.
fn open_panel(app: &tauri::App, control_port: u16) -> tauri::Result<()> {
    let url = WebviewUrl::App(format!("sim.html?control={control_port}").into());
    WebviewWindowBuilder::new(app, crate::commands::PANEL, url)
        .title("Booth — 设备模拟 Simulator")
        .inner_size(460.0, 820.0)
        .initialization_script(runtime::console_script())
        .devtools(true)
        .build()?;
    Ok(())
}

/// Reloads the package's windows after each burst of saves in `dir`, for as long as Booth runs.
fn keep_reloading(app: &tauri::App, dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let handle = app.handle().clone();
    let watch = crate::reload::watch(dir, move |changed| {
        let what = match changed.len() {
            0 => "the package folder changed".to_string(),
            1..=4 => format!("{} changed", changed.join(", ")),
            n => format!("{} and {} more changed", changed[..3].join(", "), n - 3),
        };
        if changed.iter().any(|f| f == booth_miniapp_host::package::MANIFEST) {
            tracing::warn!(target: "reload", "miniapp.json changed: its permissions, dialects and entry apply after restarting booth dev");
        }
        tracing::info!(target: "reload", "reload: {what}");
        for label in [crate::commands::MAIN, SECONDARY] {
            // Only windows showing the package (the secondary screen may show Booth's own page).
            let shows_package = |w: &tauri::WebviewWindow| {
                w.url().is_ok_and(|u| u.scheme() == package_base().scheme() && u.host() == package_base().host())
            };
            if let Some(w) = handle.get_webview_window(label).filter(shows_package) {
                if let Err(e) = w.reload() {
                    tracing::warn!(target: "reload", window = label, error = %e, "cannot reload");
                }
            }
        }
    })?;
    // The watch lives as long as the app.
    app.manage(ReloadWatch(std::sync::Mutex::new(Some(watch))));
    tracing::info!(target: "reload", dir = %dir.display(), "watching for changes");
    Ok(())
}

struct ReloadWatch(#[allow(dead_code)] std::sync::Mutex<Option<crate::reload::Watch>>);

fn open_windows(
    app: &tauri::App,
    package: &Arc<Package>,
    dev: bool,
    shell: &Arc<crate::shell::Shell>,
) -> Result<(), Box<dyn std::error::Error>> {
    let m = &package.manifest;
    let kiosk = shell.kiosk();
    let script = runtime::init_script(&m.dialects, &m.id, crate::VERSION);
    let inputs = inputs_script(app, package);
    let shell_js = shell_script(shell);
    let app_origins: Vec<String> = [package_base(), ui_base()].iter().filter_map(origin_key).collect();

    let guard = |label: &'static str| {
        let package = package.clone();
        let app_origins = app_origins.clone();
        move |url: &Url| {
            let ok = package.allows_navigation(url, &app_origins);
            if !ok {
                tracing::warn!(window = label, url = %url, "navigation blocked: origin not allowed by the package");
            }
            ok
        }
    };
    // Pages never open windows of their own (WebView2 would open a browser window).
    let no_new_windows = |label: &'static str| {
        move |url: Url, _| {
            tracing::warn!(window = label, url = %url, "new window blocked");
            tauri::webview::NewWindowResponse::Deny
        }
    };

    let first = match shell.unavailable() {
        true => WebviewUrl::CustomProtocol(crate::shell::Shell::launcher_url(crate::shell::LauncherReason::Failed)),
        false => entry_url(package, &m.entry)?,
    };
    let mut main = WebviewWindowBuilder::new(app, crate::commands::MAIN, first)
        .title(format!("{} — Booth", m.name))
        .inner_size(1280.0, 800.0)
        .initialization_script(&script)
        .initialization_script(&inputs)
        .initialization_script(&shell_js)
        .on_navigation(guard(crate::commands::MAIN))
        .on_new_window(no_new_windows(crate::commands::MAIN))
        .devtools(dev);
    if kiosk {
        main = main
            .decorations(false)
            .always_on_top(true)
            .fullscreen(true)
            .skip_taskbar(true)
            .zoom_hotkeys_enabled(false)
            .on_download(|_, event| {
                if let tauri::webview::DownloadEvent::Requested { url, .. } = event {
                    tracing::warn!(url = %url, "kiosk: download blocked");
                }
                false
            });
    }
    #[cfg(not(target_os = "linux"))]
    {
        let s = shell.clone();
        // Loads starting; how they end comes from WebView2's NavigationCompleted (Shell::watch_window).
        main = main.on_page_load(move |w, p| {
            if matches!(p.event(), tauri::webview::PageLoadEvent::Started) {
                s.page_load(w.label(), p.url(), false, None);
            }
        });
    }
    let main = main.build()?;
    if kiosk {
        place_on_primary_monitor(app, &main);
    }
    shell.watch_window(&main);

    // The second screen costs nothing until it is used (see `secondary`).
    let secondary_entry = m.secondary.as_ref().map(|s| entry_url(package, &s.entry)).transpose()?;
    let secondary = crate::secondary::Secondary::new(
        app.handle().clone(),
        crate::secondary::Setup {
            title: format!("{} — Booth (secondary)", m.name),
            scripts: vec![script, inputs, shell_js],
            guard: Arc::new(guard(SECONDARY)),
            devtools: dev,
            entry: secondary_entry,
            on_primary_if_alone: dev,
            kiosk,
            placement: shell.config().secondary(),
            shell: shell.clone(),
        },
    );
    app.manage(secondary.clone());
    app.state::<Arc<AppState>>().devices.display.set_screen(secondary.clone());
    secondary.open_entry();

    // Closing the main window ends Booth, secondary window or not; on a kiosk only the
    // administrator's exit does (Alt+F4 and the window manager's close are refused).
    let handle = app.handle().clone();
    let state = app.state::<Arc<AppState>>().inner().clone();
    let guard_shell = shell.clone();
    main.on_window_event(move |event| match event {
        WindowEvent::CloseRequested { api, .. } if guard_shell.kiosk() && !guard_shell.leaving() => {
            tracing::warn!("kiosk: closing the main window refused");
            api.prevent_close();
        }
        WindowEvent::CloseRequested { .. } | WindowEvent::Destroyed => {
            state.devices.bridge.end_sessions_for(crate::commands::MAIN);
            guard_shell.restore_bars();
            handle.exit(0);
        }
        _ => {}
    });
    Ok(())
}

/// The shell script of package pages (and the launcher page): activity, heartbeat, idle
/// warning, and on kiosks the lock-down and the administrator's gesture.
fn shell_script(shell: &crate::shell::Shell) -> String {
    let cfg = shell.config();
    let admin = shell.kiosk().then(|| runtime::AdminGesture {
        corner: cfg.admin_corner.clone(),
        taps: cfg.admin_taps,
        window_ms: cfg.admin_window_ms,
        px: cfg.admin_corner_px,
    });
    runtime::shell_script(&runtime::ShellConfig { kiosk: shell.kiosk(), admin, throttle_ms: 1000 })
}

/// Geometry and visibility of Booth's windows, for `/health`.
fn window_report(app: &tauri::AppHandle) -> serde_json::Value {
    let mut report = serde_json::Map::new();
    for (label, window) in app.webview_windows() {
        let pos = window.outer_position().ok();
        let size = window.outer_size().ok();
        report.insert(
            label,
            serde_json::json!({
                "x": pos.map(|p| p.x), "y": pos.map(|p| p.y),
                "width": size.map(|s| s.width), "height": size.map(|s| s.height),
                "visible": window.is_visible().ok(),
                "fullscreen": window.is_fullscreen().ok(),
                "decorated": window.is_decorated().ok(),
                "focused": window.is_focused().ok(),
                "url": window.url().ok().map(|u| u.to_string()),
            }),
        );
    }
    serde_json::Value::Object(report)
}

/// Puts the main window on the primary monitor (a kiosk: fullscreen there).
fn place_on_primary_monitor(app: &tauri::App, window: &tauri::WebviewWindow) {
    let monitors = crate::monitors::list(app.handle());
    let Some(primary) = monitors.first() else { return };
    let placed = window
        .set_position(tauri::PhysicalPosition::new(primary.x, primary.y))
        .and_then(|_| window.set_size(tauri::PhysicalSize::new(primary.width, primary.height)))
        .and_then(|_| window.set_fullscreen(true))
        .and_then(|_| window.set_always_on_top(true))
        .and_then(|_| window.set_focus());
    match placed {
        Ok(()) => tracing::info!(?primary, "main window fullscreen on the primary monitor"),
        Err(e) => tracing::warn!(error = %e, "cannot place the main window"),
    }
}

/// The page-side inputs script: the keypad's PC keys (for pages that may use wxfaceapp) and the
/// keyboard-wedge rule (when the scanner takes bursts from the page).
fn inputs_script(app: &tauri::App, package: &Package) -> String {
    let devices = &app.state::<Arc<AppState>>().devices;
    let wx = package.manifest.dialect_set().contains(&booth_bridge::Dialect::Wxfaceapp);
    let config = runtime::InputsConfig {
        keys: if wx { devices.keypad.page_keys() } else { Vec::new() },
        wedge: devices
            .scanner
            .page_wedge()
            .map(|b| runtime::WedgeConfig { min_length: b.min_length, max_gap_ms: b.max_gap_ms }),
    };
    runtime::inputs_script(&config)
}

/// Shows enterIDNumber's keypad in the page of a window.
struct IdNumberScreen(tauri::AppHandle);

impl booth_idcard::entry::EntryScreen for IdNumberScreen {
    fn show(&self, window: &str, options: &serde_json::Value) -> Result<(), String> {
        let webview = self.0.get_webview_window(window).ok_or_else(|| format!("没有窗口 {window}"))?;
        webview
            .eval(format!("window.__boothIdNumber && window.__boothIdNumber.open({options})"))
            .map_err(|e| format!("无法显示证件号键盘: {e}"))
    }

    fn hide(&self, window: &str) {
        if let Some(webview) = self.0.get_webview_window(window) {
            let _ = webview.eval("window.__boothIdNumber && window.__boothIdNumber.close()");
        }
    }
}

/// Shows the face screen (`miniapp-host/js/face.js`) in the page of a window.
struct FaceScreen(tauri::AppHandle);

impl booth_face::FaceScreen for FaceScreen {
    fn show(&self, window: &str, options: &serde_json::Value) -> Result<(), String> {
        let webview = self.0.get_webview_window(window).ok_or_else(|| format!("没有窗口 {window}"))?;
        webview
            .eval(format!("window.__boothFace && window.__boothFace.open({options})"))
            .map_err(|e| format!("无法显示刷脸界面: {e}"))
    }

    fn update(&self, window: &str, state: &serde_json::Value) {
        if let Some(webview) = self.0.get_webview_window(window) {
            let _ = webview.eval(format!("window.__boothFace && window.__boothFace.update({state})"));
        }
    }

    fn hide(&self, window: &str) {
        if let Some(webview) = self.0.get_webview_window(window) {
            let _ = webview.eval("window.__boothFace && window.__boothFace.close()");
        }
    }
}
