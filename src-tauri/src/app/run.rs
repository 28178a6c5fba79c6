//! The Tauri application of a run: the package scheme and IPC, the shell and its windows, the
//! capabilities' windows connected to their plugins, the developer tools of `booth dev` and
//! `booth replay`, the control endpoint, the desktop lock-down, and the event loop.

use crate::dev::recorder::Recorder;
use crate::devices::Devices;
use crate::ipc::control::{self, ControlState};
use crate::ipc::handler::{allow_package_origins, invoke_handler};
use crate::ipc::state::AppState;
use crate::kiosk::admin::Admin;
use crate::names::SCHEME;
use crate::shell::back_screen::BackScreen;
use crate::shell::certify::CertifyOverlay;
use crate::shell::face_screen::FaceScreen;
use crate::shell::fleet_host::FleetHost;
use crate::shell::id_number::IdNumberScreen;
use crate::shell::lifecycle::Shell;
use crate::shell::open::{open_panel, open_windows, reload_app_windows, reload_package_windows, window_report};
use booth_miniapp_host::Package;
use std::net::TcpListener;
use std::sync::Arc;
use tauri::{Manager, RunEvent};

/// What kind of run this is.
pub enum Mode {
    /// `booth run`: the package as configured.
    Run,
    /// `booth dev`: devtools, hot reload of `dir`, and (with `panel`) the simulator panel.
    Dev { dir: std::path::PathBuf, panel: bool, open_devtools: bool },
    /// `booth replay`: feed recorded device events, then exit with the comparison's code.
    Replay(crate::dev::replay::Plan),
}

pub struct RunOptions {
    pub mode: Mode,
    /// Kiosk mode: fullscreen and locked down, idle reset, admin gesture, hang recovery.
    pub kiosk: bool,
    /// Kiosk mode with a package that could not load (what was asked for, why): the launcher
    /// shows instead, retrying.
    pub unavailable: Option<(String, String)>,
    /// booth.toml did not load and its last good copy runs instead: why. The launcher and
    /// `/health` say so.
    pub config_fallback: Option<String>,
    /// No `[package]`: the home screen shows the catalogue only (`booth kiosk` with two or more
    /// apps in `[apps]` and no package).
    pub home_only: bool,
    /// `[kiosk]` of booth.toml.
    pub kiosk_config: crate::config::KioskSection,
    /// The booth.toml in use (the admin screen writes its settings there).
    pub config_path: Option<std::path::PathBuf>,
    /// Where the log files are (the admin screen shows their tail).
    pub log_dir: Option<std::path::PathBuf>,
    /// `[admin]` of booth.toml (PIN lockout policy).
    pub admin: crate::config::AdminSection,
    pub package: Package,
    /// `[apps]` of booth.toml, loaded.
    pub catalogue: crate::shell::apps::Catalogue,
    pub devices: Devices,
    pub recorder: Arc<Recorder>,
    /// Already bound, so that a taken port fails before any window opens.
    pub control: Option<TcpListener>,
    /// The control endpoint serves `/health` only (kiosk mode, unless `[control] full_in_kiosk`).
    pub control_health_only: bool,
    /// `[fleet]` of booth.toml: the agent runs when it names a broker.
    pub fleet: booth_fleet::FleetSection,
    /// The package store, when the package is its release on trial: judged once shown.
    pub trial: Option<booth_fleet::store::Store>,
}

/// Runs until the main window closes; returns the process exit code.
pub fn run(opts: RunOptions) -> i32 {
    let package = Arc::new(opts.package);
    let devices = Arc::new(opts.devices);
    let catalogue = Arc::new(opts.catalogue);
    let state = Arc::new(AppState {
        devices: devices.clone(),
        package: package.clone(),
        catalogue: catalogue.clone(),
        replies: Default::default(),
    });
    // A remote package's refusals name the booth.toml key that grants the permission.
    if package.is_remote() {
        devices.bridge.set_grant_hint(&package.manifest.id, crate::config::sections::REMOTE_PERMISSIONS_KEY);
    }
    for app in catalogue.apps().filter(|a| a.package.is_remote()) {
        devices.bridge.set_grant_hint(&app.id, &format!("booth.toml [apps.{}] permissions", app.id));
    }
    let control = opts.control;
    let control_health_only = opts.control_health_only;
    let recorder = opts.recorder;
    let mut mode = opts.mode;
    let kiosk = opts.kiosk;
    let unavailable = opts.unavailable;
    let config_fallback = opts.config_fallback;
    let home_only = opts.home_only;
    let kiosk_config = opts.kiosk_config;
    let fleet = opts.fleet;
    let mut trial = opts.trial;
    let (fleet_config_path, fleet_log_dir) = (opts.config_path.clone(), opts.log_dir.clone());
    let admin = Arc::new(Admin::new(opts.config_path, opts.log_dir, crate::kiosk::pin::Policy::of(&opts.admin)));

    let serve_pkg = package.clone();
    let serve_apps = catalogue.clone();
    let builder = tauri::Builder::default()
        .register_asynchronous_uri_scheme_protocol(SCHEME, move |_ctx, request, responder| {
            // Files are read off the main thread, which runs the windows.
            let (package, apps) = (serve_pkg.clone(), serve_apps.clone());
            let uri = request.uri().to_string();
            let path = request.uri().path().to_string();
            tauri::async_runtime::spawn_blocking(move || {
                let answer = match crate::ipc::scheme::package_for(&package, &apps, &uri) {
                    Some(p) => crate::ipc::scheme::serve(p, &path),
                    None => crate::ipc::scheme::unknown_origin(&uri),
                };
                match answer {
                    Ok(r) => responder.respond(r),
                    Err(e) => tracing::error!(error = %e, "cannot build a response"),
                }
            });
        })
        .manage(state)
        .invoke_handler(invoke_handler())
        .manage(admin.clone())
        .manage(crate::ipc::page::LogLimiter::default())
        .setup(move |app| {
            allow_package_origins(app, &package, &catalogue)?;
            let dev = matches!(mode, Mode::Dev { .. });
            let shell = Shell::new(
                app.handle().clone(),
                kiosk,
                kiosk_config.clone(),
                package.clone(),
                catalogue.clone(),
                devices.bridge.clone(),
                devices.shell.clone(),
            );
            if let Some((spec, why)) = &unavailable {
                shell.set_unavailable(spec, why);
            }
            if let Some(why) = &config_fallback {
                shell.set_config_fallback(why);
            }
            if home_only {
                shell.set_home_only();
            }
            app.manage(shell.clone());
            let inputs = devices.page_inputs(&package);
            let secondary = open_windows(app, &package, &catalogue, dev, &shell, &inputs, &devices.bridge)?;
            devices.display.set_screen(secondary.clone());
            devices.apps.set_host(Arc::new(BackScreen {
                secondary: secondary.clone(),
                catalogue: catalogue.clone(),
                shell: shell.clone(),
            }));
            devices.apps.set_programs(catalogue.programs.clone());
            secondary.open_entry();
            shell.start();
            devices.id_entry.set_screen(Arc::new(IdNumberScreen(app.handle().clone())));
            devices.face.set_screen(Arc::new(FaceScreen(app.handle().clone())));
            #[cfg(target_os = "linux")]
            devices.webrtc.set_call_screen(Arc::new(crate::shell::call_screen::CallScreen(app.handle().clone())));
            devices.payment.start(tauri::async_runtime::handle().inner());
            // The certification page may come only from the manifest's own `origins`.
            let certify_origins = package
                .manifest
                .origins
                .iter()
                .filter_map(|o| booth_miniapp_host::manifest::parse_origin(o).ok())
                .map(|o| o.ascii_serialization())
                .collect();
            devices
                .certify
                .set_window(Arc::new(CertifyOverlay::new(app.handle().clone(), kiosk, dev)), certify_origins);
            let mut reporter = None;
            if fleet.enabled() {
                let status = devices.clone();
                let host = FleetHost {
                    handle: app.handle().clone(),
                    shell: shell.clone(),
                    package: package.clone(),
                    devices: Box::new(move || status.status()),
                    config_path: fleet_config_path.clone(),
                    log_dir: fleet_log_dir.clone(),
                };
                match start_fleet(&fleet, devices.device.serial(), Arc::new(host)) {
                    // Lives as long as the app; dropped at exit, the broker publishes the last will.
                    Ok(agent) => {
                        let agent = Arc::new(agent);
                        report_crashed_runs(&agent, &shell);
                        let weak = Arc::downgrade(&agent);
                        admin.on_login(Box::new(move |ok, outcome| {
                            if let Some(a) = weak.upgrade() {
                                a.event(booth_fleet::AgentEvent::AdminLogin { ok, outcome: outcome.to_string() });
                            }
                        }));
                        watch_for_fleet(Arc::downgrade(&agent), devices.clone(), shell.clone());
                        reporter = Some(Arc::downgrade(&agent));
                        app.manage(FleetAgent(agent));
                    }
                    Err(e) => tracing::error!(error = %e, "fleet agent not started"),
                }
            }
            if let Some(store) = trial.take() {
                judge_trial(store, shell.clone(), app.handle().clone(), reporter);
            }
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
                    let handle = app.handle().clone();
                    let mut watches =
                        vec![crate::dev::reload::watch(&dir, move |changed| reload_package_windows(&handle, &changed))?];
                    tracing::info!(target: "reload", dir = %dir.display(), "watching for changes");
                    // The catalogue's folders too (`--back`, `[apps]`): a pair is developed together.
                    for a in catalogue.apps() {
                        let booth_miniapp_host::Source::Dir(folder) = &a.package.source else { continue };
                        let (handle, id) = (app.handle().clone(), a.id.clone());
                        match crate::dev::reload::watch(folder, move |changed| reload_app_windows(&handle, &id, &changed)) {
                            Ok(w) => watches.push(w),
                            Err(e) => tracing::warn!(target: "reload", app = %a.id, error = %e, "cannot watch the app's folder"),
                        }
                        tracing::info!(target: "reload", app = %a.id, dir = %folder.display(), "watching for changes");
                    }
                    // The watches live as long as the app.
                    app.manage(ReloadWatch(std::sync::Mutex::new(watches)));
                }
                Mode::Replay(plan) => {
                    let handle = app.handle().clone();
                    crate::dev::replay::drive(plan, devices.bridge.clone(), move |code| handle.exit(code));
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
                    health_only: control_health_only,
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
    app.run_return(|handle, event| {
        match event {
            RunEvent::ExitRequested { code, .. } => {
                tracing::info!(?code, "exiting");
                // An exit asked for is no crash (see report_crashed_runs).
                if let Some(shell) = handle.try_state::<Arc<Shell>>() {
                    shell.ending_on_purpose();
                }
            }
            RunEvent::Exit => {
                if let Some(shell) = handle.try_state::<Arc<Shell>>() {
                    shell.ending_on_purpose();
                }
            }
            _ => {}
        }
    })
}

struct FleetAgent(#[allow(dead_code)] Arc<booth_fleet::Agent>);

/// Reports to the fleet what changes: a device going away or coming back (its `/health`
/// availability) and each recovery of a page. Stops with the agent.
fn watch_for_fleet(agent: std::sync::Weak<booth_fleet::Agent>, devices: Arc<Devices>, shell: Arc<Shell>) {
    use booth_fleet::AgentEvent;
    let spawned = std::thread::Builder::new().name("fleet-watch".into()).spawn(move || {
        let available = |status: &serde_json::Value| -> Vec<(String, bool, String)> {
            status
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(_, s)| s["backend"] != "none")
                        .map(|(name, s)| {
                            (name.clone(), s["available"] == true, s["detail"].as_str().unwrap_or("").to_string())
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut before = available(&devices.status());
        // The shell keeps the last 50: new ones are those after the last one reported.
        let mut last = shell.recoveries().last().cloned();
        loop {
            std::thread::sleep(std::time::Duration::from_secs(2));
            let Some(agent) = agent.upgrade() else { return };
            let now = available(&devices.status());
            for (name, up, detail) in &now {
                let was = before.iter().find(|(n, ..)| n == name).map(|(_, u, _)| *u);
                match (was, *up) {
                    (Some(true), false) => {
                        agent.event(AgentEvent::DeviceAway { device: name.clone(), why: detail.clone() })
                    }
                    (Some(false), true) => agent.event(AgentEvent::DeviceBack { device: name.clone() }),
                    _ => {}
                }
            }
            before = now;
            let all = shell.recoveries();
            let start = last.as_ref().and_then(|l| all.iter().rposition(|r| r == l)).map_or(0, |i| i + 1);
            for e in all[start..].iter().flat_map(AgentEvent::from_recovery) {
                agent.event(e);
            }
            if let Some(r) = all.last() {
                last = Some(r.clone());
            }
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot watch devices for the fleet");
    }
}

/// Judges the package update on trial by what the shell reports of its page: confirmed once
/// shown, rolled back (and Booth restarted with the release before) when it fails or is not
/// shown in time. The result goes to the fleet as an `update` event.
fn judge_trial(
    store: booth_fleet::store::Store,
    shell: Arc<Shell>,
    handle: tauri::AppHandle,
    agent: Option<std::sync::Weak<booth_fleet::Agent>>,
) {
    use booth_fleet::store::{PageState, TRIAL_DEADLINE};
    let spawned = std::thread::Builder::new().name("fleet-trial".into()).spawn(move || {
        let restart =
            booth_fleet::store::judge_trial(&store, TRIAL_DEADLINE, || PageState::from_shell(&shell.report_state()));
        if let Some(agent) = agent.and_then(|a| a.upgrade()) {
            agent.report_updates();
        }
        if restart {
            // The event waits in the store if it could not go out before the restart.
            std::thread::sleep(std::time::Duration::from_millis(500));
            tracing::warn!("restarting with the package before the update");
            shell.set_leaving();
            shell.restore_bars();
            handle.restart();
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot judge the package update");
    }
}

/// Records this run (see `booth_fleet::runs`) and reports, as `crash` events, the runs before
/// it that ended without exiting or restarting on purpose.
fn report_crashed_runs(agent: &booth_fleet::Agent, shell: &Shell) {
    let dir = dirs::data_local_dir().unwrap_or_else(|| std::path::PathBuf::from(".")).join("booth").join("runs");
    let (run, crashed) =
        booth_fleet::runs::RunMarker::begin(&dir, env!("CARGO_PKG_VERSION"), crate::kiosk::lockdown::process_alive);
    if let Some(run) = run {
        shell.keep_run_marker(run);
    }
    for r in crashed {
        tracing::warn!(pid = r.pid, "the Booth before this one ended without exiting");
        agent.event(booth_fleet::AgentEvent::Crash {
            what: format!("Booth {} (process {}) ended without exiting and was started again", r.version, r.pid),
        });
    }
}

fn start_fleet(
    section: &booth_fleet::FleetSection,
    serial: &str,
    host: Arc<FleetHost>,
) -> Result<booth_fleet::Agent, String> {
    let data = dirs::data_local_dir().unwrap_or_else(|| std::path::PathBuf::from("."));
    let config = section.resolve(serial, &data)?;
    let store = booth_fleet::store::Store::new(config.packages_dir.clone());
    let opts = booth_fleet::agent::AgentOptions { config, booth_version: env!("CARGO_PKG_VERSION").to_string(), store };
    let rt = tauri::async_runtime::handle();
    booth_fleet::Agent::start(rt.inner(), opts, host)
}

struct ReloadWatch(#[allow(dead_code)] std::sync::Mutex<Vec<crate::dev::reload::Watch>>);
