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
        .invoke_handler(tauri::generate_handler![
            commands::booth_attach,
            commands::booth_call,
            commands::booth_subscribe,
            commands::booth_log,
            commands::booth_input
        ])
        .manage(commands::LogLimiter::default())
        .setup(move |app| {
            allow_package_origins(app, &package)?;
            let dev = matches!(mode, Mode::Dev { .. });
            open_windows(app, &package, dev)?;
            devices.id_entry.set_screen(Arc::new(IdNumberScreen(app.handle().clone())));
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
                let state = Arc::new(ControlState {
                    devices: devices.clone(),
                    package: package.clone(),
                    recorder: recorder.clone(),
                    windows: Some(windows),
                });
                tauri::async_runtime::spawn(control::serve(listener, state));
            }
            Ok(())
        });

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
        .permission("allow-booth-input");
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

fn open_windows(app: &tauri::App, package: &Arc<Package>, dev: bool) -> Result<(), Box<dyn std::error::Error>> {
    let m = &package.manifest;
    let script = runtime::init_script(&m.dialects, &m.id, crate::VERSION);
    let inputs = inputs_script(app, package);
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

    let main = WebviewWindowBuilder::new(app, crate::commands::MAIN, entry_url(package, &m.entry)?)
        .title(format!("{} — Booth", m.name))
        .inner_size(1280.0, 800.0)
        .initialization_script(&script)
        .initialization_script(&inputs)
        .on_navigation(guard(crate::commands::MAIN))
        .devtools(dev)
        .build()?;

    // The second screen costs nothing until it is used (see `secondary`).
    let secondary_entry = m.secondary.as_ref().map(|s| entry_url(package, &s.entry)).transpose()?;
    let secondary = crate::secondary::Secondary::new(
        app.handle().clone(),
        crate::secondary::Setup {
            title: format!("{} — Booth (secondary)", m.name),
            scripts: vec![script, inputs],
            guard: Arc::new(guard(SECONDARY)),
            devtools: dev,
            entry: secondary_entry,
            on_primary_if_alone: dev,
        },
    );
    app.manage(secondary.clone());
    app.state::<Arc<AppState>>().devices.display.set_screen(secondary.clone());
    secondary.open_entry();

    // Closing the main window ends Booth, secondary window or not.
    let handle = app.handle().clone();
    let state = app.state::<Arc<AppState>>().inner().clone();
    main.on_window_event(move |event| {
        if let WindowEvent::CloseRequested { .. } | WindowEvent::Destroyed = event {
            state.devices.bridge.end_sessions_for(crate::commands::MAIN);
            handle.exit(0);
        }
    });
    Ok(())
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
            }),
        );
    }
    serde_json::Value::Object(report)
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
