//! Opening Booth's windows at start: the main window with its scripts, navigation guard and
//! kiosk flags, the secondary window's setup, and the simulator panel; the windows' report for
//! `/health`; reloading the package's windows under `booth dev`.

use super::apps::Catalogue;
use super::lifecycle::{LauncherReason, Shell};
use super::page_key::PageKeys;
use super::secondary::{Secondary, Setup};
use crate::names::{package_base, ui_base, MAIN, PANEL, SECONDARY};
use booth_bridge::Bridge;
use booth_miniapp_host::package::origin_key;
use booth_miniapp_host::{runtime, Package};
use std::sync::Arc;
use tauri::{Manager, WebviewUrl, WebviewWindowBuilder, WindowEvent};
use url::Url;

/// Opens the main window (the package's entry, the home screen of a terminal with several
/// apps, or the launcher when the package could not load) and prepares the secondary one; the caller connects the returned second screen to the
/// display plugin and then shows the package's `secondary.entry` ([`Secondary::open_entry`]).
pub fn open_windows(
    app: &tauri::App,
    package: &Arc<Package>,
    catalogue: &Catalogue,
    dev: bool,
    shell: &Arc<Shell>,
    inputs: &runtime::InputsConfig,
    bridge: &Bridge,
) -> Result<Arc<Secondary>, Box<dyn std::error::Error>> {
    let m = &package.manifest;
    let kiosk = shell.kiosk();
    // With a catalogue, either window may show an app with other dialects: the runtime offers
    // every dialect there, and the bridge allows each page only its own manifest's.
    // Remote packages may be served under a sub-path: page paths resolve inside it.
    let mut remote: Vec<Url> = catalogue
        .apps()
        .filter_map(|a| match &a.package.source {
            booth_miniapp_host::Source::Remote(u) => Some(u.clone()),
            _ => None,
        })
        .collect();
    if let booth_miniapp_host::Source::Remote(u) = &package.source {
        remote.push(u.clone());
    }
    let script = match catalogue.apps().next() {
        Some(_) => runtime::init_script(&booth_bridge::Dialect::ALL, &m.id, crate::VERSION, &remote, app.invoke_key()),
        None => runtime::init_script(&m.dialects, &m.id, crate::VERSION, &remote, app.invoke_key()),
    };
    // Each page window's own scripts carry its page key (see `page_key`).
    let page_keys = Arc::new(PageKeys::new()?);
    let keys = |label: &str| runtime::InternalKeys {
        key: page_keys.key(label).unwrap_or_default().to_string(),
        invoke_key: app.invoke_key().to_string(),
    };
    let (inputs_main, shell_main) = (runtime::inputs_script(inputs, &keys(MAIN)), shell_script(shell, &keys(MAIN)));
    let (inputs_back, shell_back) =
        (runtime::inputs_script(inputs, &keys(SECONDARY)), shell_script(shell, &keys(SECONDARY)));
    app.manage(page_keys.clone());
    // Catalogue apps may be shown too, each on its own origin (launchMp, finOpenOtherApp).
    let mut bases = vec![package_base(), ui_base()];
    bases.extend(catalogue.origins());
    let app_origins: Vec<String> = bases.iter().filter_map(origin_key).collect();

    let guard = |label: &'static str| {
        let package = package.clone();
        let app_origins = app_origins.clone();
        let shell = shell.clone();
        move |url: &Url| {
            let ok = package.allows_navigation(url, &app_origins);
            if !ok {
                tracing::warn!(window = label, url = %url, "navigation blocked: origin not allowed by the package");
            }
            // Each window shows the app Booth put there, not one a link leads to.
            ok && shell.may_show(label, url)
        }
    };
    // Pages never open windows of their own (WebView2 would open a browser window).
    let no_new_windows = |label: &'static str| {
        move |url: Url, _| {
            tracing::warn!(window = label, url = %url, "new window blocked");
            tauri::webview::NewWindowResponse::Deny
        }
    };

    let first = if shell.unavailable() {
        WebviewUrl::CustomProtocol(Shell::launcher_url(LauncherReason::Failed))
    } else if shell.has_home() {
        shell.start_on_home();
        WebviewUrl::App("home.html".into())
    } else {
        crate::names::entry_url(package, &m.entry)?
    };
    let mut main = WebviewWindowBuilder::new(app, MAIN, first)
        .title(format!("{} — Booth", m.name))
        .inner_size(1280.0, 800.0)
        .initialization_script(&script)
        .initialization_script(&inputs_main)
        .initialization_script(&shell_main)
        .on_navigation(guard(MAIN))
        .on_new_window(no_new_windows(MAIN))
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
        let primary = place_on_primary_monitor(app, &main);
        #[cfg(target_os = "linux")]
        if let Some(primary) = primary {
            super::wm::keep(&main, shell.fullscreen_flag(), primary, true);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = primary;
    }
    shell.watch_window(&main);

    // The second screen costs nothing until it is used (see `secondary`).
    let secondary_entry = m.secondary.as_ref().map(|s| crate::names::entry_url(package, &s.entry)).transpose()?;
    let watching = shell.clone();
    let secondary = Secondary::new(
        app.handle().clone(),
        Setup {
            title: format!("{} — Booth (secondary)", m.name),
            scripts: vec![script, inputs_back, shell_back],
            guard: Arc::new(guard(SECONDARY)),
            devtools: dev,
            entry: secondary_entry,
            on_primary_if_alone: dev,
            kiosk,
            placement: shell.config().secondary(),
            watch: Arc::new(move |w| watching.watch_window(w)),
            bridge: bridge.clone(),
        },
    );
    app.manage(secondary.clone());

    // Closing the main window ends Booth, secondary window or not; on a kiosk only the
    // administrator's exit does (Alt+F4 and the window manager's close are refused).
    let handle = app.handle().clone();
    let bridge = bridge.clone();
    let guard_shell = shell.clone();
    main.on_window_event(move |event| match event {
        WindowEvent::CloseRequested { api, .. } if guard_shell.kiosk() && !guard_shell.leaving() => {
            tracing::warn!("kiosk: closing the main window refused");
            api.prevent_close();
        }
        WindowEvent::CloseRequested { .. } | WindowEvent::Destroyed => {
            bridge.end_sessions_for(MAIN);
            guard_shell.restore_bars();
            handle.exit(0);
        }
        _ => {}
    });
    Ok(secondary)
}

/// The shell script of package pages (and the launcher page): activity, heartbeat, idle
/// warning, and on kiosks the lock-down and the administrator's gesture.
fn shell_script(shell: &Shell, keys: &runtime::InternalKeys) -> String {
    let cfg = shell.config();
    let admin = shell.kiosk().then(|| runtime::AdminGesture {
        corner: cfg.admin_corner.clone(),
        taps: cfg.admin_taps,
        window_ms: cfg.admin_window_ms,
        px: cfg.admin_corner_px,
    });
    runtime::shell_script(&runtime::ShellConfig { kiosk: shell.kiosk(), admin, throttle_ms: 1000 }, keys)
}

/// Geometry and visibility of Booth's windows, for `/health`.
pub fn window_report(app: &tauri::AppHandle) -> serde_json::Value {
    let mut report = serde_json::Map::new();
    let frames = frames(app);
    for (label, window) in app.webview_windows() {
        let (x, y, width, height) = match frames.get(&label) {
            Some(f) => (Some(f.x), Some(f.y), Some(f.width), Some(f.height)),
            None => {
                let pos = window.outer_position().ok();
                let size = window.outer_size().ok();
                (pos.map(|p| p.x), pos.map(|p| p.y), size.map(|s| s.width), size.map(|s| s.height))
            }
        };
        let placement = placement(app, &label);
        report.insert(
            label,
            serde_json::json!({
                "x": x, "y": y, "width": width, "height": height,
                "visible": window.is_visible().ok(),
                "fullscreen": window.is_fullscreen().ok(),
                "decorated": window.is_decorated().ok(),
                "focused": window.is_focused().ok(),
                "url": window.url().ok().map(|u| u.to_string()),
                // Kiosk windows (Linux): the window's frame as the X server had it at the last
                // check after it was mapped, and whether that was its monitor.
                "placement": placement,
            }),
        );
    }
    serde_json::Value::Object(report)
}

/// Each window's frame as the X server has it now (physical pixels), read on the main thread.
/// Tauri's own position and size are what the last configure event said, and that was seen
/// to lag: a kiosk's customer screen reported at (0, 0) while the X server had it fullscreen at
/// (1280, 0). Nothing when the main thread does not answer within half a second (`/health`
/// must answer): the report falls back to Tauri's figures.
#[cfg(target_os = "linux")]
fn frames(app: &tauri::AppHandle) -> std::collections::HashMap<String, super::layout::Rect> {
    use gtk::prelude::WidgetExt;
    let (tx, rx) = std::sync::mpsc::channel();
    let windows = app.webview_windows();
    let asked = app.run_on_main_thread(move || {
        let mut frames = std::collections::HashMap::new();
        for (label, window) in windows {
            let Ok(gtk) = window.gtk_window() else { continue };
            if let Some(rect) = super::wm::frame(&gtk).filter(|_| gtk.is_mapped()) {
                frames.insert(label, rect);
            }
        }
        let _ = tx.send(frames);
    });
    if asked.is_err() {
        return Default::default();
    }
    rx.recv_timeout(std::time::Duration::from_millis(500)).unwrap_or_default()
}

#[cfg(not(target_os = "linux"))]
fn frames(_: &tauri::AppHandle) -> std::collections::HashMap<String, super::layout::Rect> {
    Default::default()
}

#[cfg(target_os = "linux")]
fn placement(app: &tauri::AppHandle, label: &str) -> Option<super::wm::Placement> {
    super::wm::placements(app).get(label)
}

#[cfg(not(target_os = "linux"))]
fn placement(_: &tauri::AppHandle, _: &str) -> Option<()> {
    None
}

/// Puts the main window on the primary monitor (a kiosk: fullscreen there), and says which.
fn place_on_primary_monitor(app: &tauri::App, window: &tauri::WebviewWindow) -> Option<super::monitors::Area> {
    let monitors = super::monitors::list(app.handle());
    let primary = monitors.first()?;
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
    Some(*primary)
}

/// The simulator panel: Booth's own page, driving devices through the control endpoint.
/// It opens beside the mini-program's window, never over it where the screen has room for both
/// (see [`super::layout::beside`]).
pub fn open_panel(app: &tauri::App, control_port: u16) -> tauri::Result<()> {
    let url = WebviewUrl::App(format!("sim.html?control={control_port}").into());
    let panel = WebviewWindowBuilder::new(app, PANEL, url)
        .title("Booth — 设备模拟 Simulator")
        .inner_size(PANEL_SIZE.0, PANEL_SIZE.1)
        .initialization_script(runtime::console_script())
        .devtools(true)
        .build()?;
    if let Some(main) = app.get_webview_window(MAIN) {
        place_when_mapped(app.handle(), main, panel);
    }
    Ok(())
}

/// X11 window managers place a window when they map it, and a position asked for before that is
/// lost (openbox put the panel over the middle of the page on a 1920×1080 screen). So the pair
/// is placed once the panel is mapped and the page's window is visible, off the main thread
/// (the window getters wait for the event loop).
#[cfg(target_os = "linux")]
fn place_when_mapped(app: &tauri::AppHandle, main: tauri::WebviewWindow, panel: tauri::WebviewWindow) {
    use gtk::prelude::WidgetExtManual;
    use std::sync::atomic::{AtomicBool, Ordering};
    let gtk = match panel.gtk_window() {
        Ok(w) => w,
        Err(e) => return tracing::warn!(error = %e, "cannot place the simulator panel"),
    };
    let placed = AtomicBool::new(false);
    let app = app.clone();
    gtk.connect_map_event(move |_, _| {
        if !placed.swap(true, Ordering::SeqCst) {
            let (app, main, panel) = (app.clone(), main.clone(), panel.clone());
            std::thread::spawn(move || {
                let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
                while !main.is_visible().unwrap_or(false) && std::time::Instant::now() < until {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                place_beside(&app, &main, &panel);
            });
        }
        gtk::glib::Propagation::Proceed
    });
}

/// Elsewhere a position given before the window shows is kept.
#[cfg(not(target_os = "linux"))]
fn place_when_mapped(app: &tauri::AppHandle, main: tauri::WebviewWindow, panel: tauri::WebviewWindow) {
    place_beside(app, &main, &panel);
}

/// The panel's size where the screen allows it (logical pixels).
const PANEL_SIZE: (f64, f64) = (460.0, 820.0);
/// The narrowest panel that still shows its forms.
const PANEL_MIN_WIDTH: f64 = 340.0;

/// Moves the mini-program's window and the panel side by side on the main window's monitor.
fn place_beside(app: &tauri::AppHandle, main: &tauri::WebviewWindow, panel: &tauri::WebviewWindow) {
    use super::layout::{beside, Rect};
    let monitors = super::monitors::list(app);
    // Where the page's window is, from the X server on Linux: Tauri's cached position is only
    // as fresh as the last configure event, which can come before the window manager's last move.
    let (pos, frame_page) = match frames(app).remove(MAIN) {
        Some(r) => (tauri::PhysicalPosition::new(r.x, r.y), tauri::PhysicalSize::new(r.width, r.height)),
        None => match (main.outer_position(), main.outer_size()) {
            (Ok(pos), Ok(size)) => (pos, size),
            _ => return,
        },
    };
    let scale = main.scale_factor().unwrap_or(1.0);
    let Ok(page) = main.inner_size() else { return };
    // Window frames (title bar, borders) as the window manager draws them around the page.
    let frame = (frame_page.width.saturating_sub(page.width), frame_page.height.saturating_sub(page.height));
    let areas: Vec<Rect> = monitors.iter().map(|&m| m.into()).collect();
    let here = monitors
        .iter()
        .position(|m| pos.x >= m.x && pos.x < m.x + m.width as i32 && pos.y >= m.y && pos.y < m.y + m.height as i32)
        .unwrap_or(0);
    let px = |v: f64| (v * scale).round() as u32;
    let plan = beside(
        &areas,
        here,
        (frame_page.width, frame_page.height),
        (px(PANEL_SIZE.0) + frame.0, px(PANEL_SIZE.1) + frame.1),
        px(PANEL_MIN_WIDTH) + frame.0,
    );
    let Some(plan) = plan else { return };
    let moved = main
        .set_position(tauri::PhysicalPosition::new(plan.page.x, plan.page.y))
        .and_then(|_| panel.set_position(tauri::PhysicalPosition::new(plan.panel.x, plan.panel.y)))
        .and_then(|_| {
            panel.set_size(tauri::PhysicalSize::new(
                plan.panel.width.saturating_sub(frame.0),
                plan.panel.height.saturating_sub(frame.1),
            ))
        });
    match moved {
        Ok(()) if plan.overlaps => tracing::warn!(
            "the screen has no room for the page and the simulator panel side by side: the panel covers the page's right edge"
        ),
        Ok(()) => tracing::debug!(page = ?plan.page, panel = ?plan.panel, "simulator panel beside the page"),
        Err(e) => tracing::warn!(error = %e, "cannot place the simulator panel"),
    }
}

/// Reloads the windows that show the package (not the secondary screen's own picture page),
/// after the files in `changed` were saved (`booth dev`).
pub fn reload_package_windows(handle: &tauri::AppHandle, changed: &[String]) {
    reload_windows_on(handle, None, &package_base(), changed);
}

/// `booth dev`: a catalogue app's folder changed (the `--back` folder, or an `[apps]` folder):
/// the windows showing that app reload.
pub fn reload_app_windows(handle: &tauri::AppHandle, app_id: &str, changed: &[String]) {
    match crate::names::app_base(app_id) {
        Ok(base) => reload_windows_on(handle, Some(app_id), &base, changed),
        Err(e) => tracing::warn!(target: "reload", error = %e, "cannot reload"),
    }
}

/// Reloads the windows whose page is on `base`'s origin (`app`: a catalogue app's) (the secondary screen may show Booth's
/// own page, or another app).
fn reload_windows_on(handle: &tauri::AppHandle, app: Option<&str>, base: &Url, changed: &[String]) {
    let what = match changed.len() {
        0 => "the package folder changed".to_string(),
        1..=4 => format!("{} changed", changed.join(", ")),
        n => format!("{} and {} more changed", changed[..3].join(", "), n - 3),
    };
    let what = match app {
        Some(id) => format!("app {id}: {what}"),
        None => what,
    };
    if changed.iter().any(|f| f == booth_miniapp_host::package::MANIFEST) {
        tracing::warn!(target: "reload", "miniapp.json changed: its permissions, dialects and entry apply after restarting booth dev");
    }
    tracing::info!(target: "reload", "reload: {what}");
    for label in [MAIN, SECONDARY] {
        let shows =
            |w: &tauri::WebviewWindow| w.url().is_ok_and(|u| u.scheme() == base.scheme() && u.host() == base.host());
        if let Some(w) = handle.get_webview_window(label).filter(shows) {
            if let Err(e) = w.reload() {
                tracing::warn!(target: "reload", window = label, error = %e, "cannot reload");
            }
        }
    }
}
