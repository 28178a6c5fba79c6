//! Turning a windowed sub-command (`run`, `kiosk`, `dev`, `replay`) into a run: booth.toml, how
//! pages are drawn, logging, the package (a kiosk shows the launcher for one that cannot load),
//! the control port (bound before any window, so a taken port fails at once), the flight
//! recorder and the devices.

use super::run::{Mode, RunOptions};
use crate::cli::args::{DevArgs, KioskArgs, ReplayArgs, RunArgs};
use crate::cli::error::fail;
use crate::config::Config;
use crate::devices::Devices;
use crate::names::CONTROL_PORT;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Everything a run needs, worked out from one subcommand's arguments.
struct Launch {
    mode: Mode,
    kiosk: bool,
    /// Kiosk mode with a package that could not load: (what was asked for, why).
    unavailable: Option<(String, String)>,
    /// booth.toml did not load and the last good copy runs instead: why (the launcher says so).
    config_fallback: Option<String>,
    /// No `[package]`: the home screen shows the catalogue only.
    home_only: bool,
    config_path: Option<PathBuf>,
    package: booth_miniapp_host::Package,
    config: Config,
    sim: bool,
    control_port: Option<u16>,
    record: Option<PathBuf>,
    /// `--bench`: the benchmark probe.
    bench: bool,
    /// How pages are drawn (`[display] compositing`), applied before any thread started.
    rendering: crate::shell::rendering::Decision,
    /// The package store, when the package runs from it on trial: the run judges it.
    trial: Option<booth_fleet::store::Store>,
}

fn start(l: Launch) -> i32 {
    let mut bound_port = None;
    let control = match l.control_port {
        Some(port) => match crate::ipc::control::bind(port) {
            Ok(listener) => {
                let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
                bound_port = Some(port);
                println!("control: http://127.0.0.1:{port}");
                let _ = std::io::stdout().flush();
                Some(listener)
            }
            Err(e) => {
                let hint = if port == CONTROL_PORT {
                    " — is another Booth running? Pass --control-port 0 to pick a free port"
                } else {
                    ""
                };
                return fail(format!("control endpoint: cannot listen on 127.0.0.1:{port} ({e}){hint}"));
            }
        },
        None => None,
    };
    let recorder = match crate::dev::recorder::Recorder::new(l.record.as_deref()) {
        Ok(r) => std::sync::Arc::new(r),
        Err(e) => {
            let file = l.record.as_deref().map(|p| p.display().to_string()).unwrap_or_default();
            return fail(format!("{file}: cannot write the flight recording ({e})"));
        }
    };
    let m = &l.package.manifest;
    recorder.start(serde_json::json!({"id": m.id, "version": m.version, "location": l.package.location()}));
    if let Some(p) = &l.record {
        tracing::info!(file = %p.display(), "flight recorder on");
    }
    tracing::info!(package = %m.id, location = %l.package.location(), sim = l.sim, "starting");
    tracing::info!(compositing = l.rendering.compositing, why = l.rendering.why, "page rendering");
    if let Some(tuned) = crate::shell::memory::tuned() {
        tracing::info!(allocator = tuned, "memory");
    }
    let devices = Devices::start(&l.config, l.sim);
    if l.sim || matches!(l.mode, Mode::Dev { .. }) {
        // The simulator panel's two-screen actions: a developer's, like every simulated device.
        devices.apps.register_sim(&devices.sims);
    }
    // Records cost a little per call: only keep them when someone can read them.
    if control.is_some() || l.record.is_some() {
        devices.bridge.add_observer(recorder.clone());
    }
    if l.bench {
        crate::dev::benchprobe::start(&devices.bridge);
    }
    if let Mode::Dev { dir, panel, .. } = &l.mode {
        let sims = devices.sims.ids();
        println!("booth dev: {}", dir.display());
        println!("  simulated   {}", if sims.is_empty() { "none".to_string() } else { sims.join(", ") });
        println!("  panel       {}", if *panel { "open (--no-panel to hide)" } else { "closed" });
        let sim = match bound_port {
            Some(CONTROL_PORT) | None => "booth sim".to_string(),
            Some(p) => format!("booth sim --control-port {p}"),
        };
        println!("  from a terminal: {sim}   (lists what each simulated device can do)");
        if let Some(p) = &l.record {
            println!("  recording   {}", p.display());
        }
        println!("  watching for changes; page output follows");
        let _ = std::io::stdout().flush();
    }
    if l.kiosk {
        tracing::info!("kiosk mode");
    }
    let catalogue = crate::shell::apps::Catalogue::load(&l.config.apps);
    super::run::run(RunOptions {
        mode: l.mode,
        kiosk: l.kiosk,
        unavailable: l.unavailable,
        config_fallback: l.config_fallback,
        home_only: l.home_only,
        kiosk_config: l.config.kiosk.clone(),
        config_path: l.config_path,
        log_dir: l.config.log.dir(),
        admin: l.config.admin.clone(),
        package: l.package,
        catalogue,
        devices,
        recorder,
        control,
        control_health_only: l.kiosk && !l.config.control.full_in_kiosk,
        fleet: l.config.fleet.clone(),
        trial: l.trial,
    })
}

/// `booth run`.
pub fn run(args: RunArgs) -> i32 {
    run_package(args, None)
}

/// What `booth kiosk` shows when no package is named, none comes from the package store and
/// booth.toml has no `[package] source`: the home screen with the catalogue alone, when the
/// catalogue has one (two or more apps, and not `[kiosk] home = false`).
fn home_without_package(config: &Config) -> bool {
    config.kiosk.home && config.apps.values().filter(|e| e.command.is_none()).nth(1).is_some()
}

/// A run; `trial` when the package is the store's release on trial.
fn run_package(args: RunArgs, trial: Option<booth_fleet::store::Store>) -> i32 {
    run_with(args, trial, false)
}

/// A run; `home_only` when there is no package and the catalogue's home screen is the terminal.
fn run_with(args: RunArgs, trial: Option<booth_fleet::store::Store>, home_only: bool) -> i32 {
    // A kiosk starts unattended: a broken booth.toml falls back to the last one that loaded.
    let loaded = match args.kiosk {
        true => Config::load_for_kiosk(args.config.as_deref()),
        false => Config::load(args.config.as_deref()).map(|(c, p)| (c, p, None)),
    };
    let (config, config_path, fallback) = match loaded {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if let Some(why) = &fallback {
        eprintln!("booth: error: {why}");
    }
    let rendering = crate::shell::rendering::apply(config.display.compositing);
    let _log_guard = super::logging::init(&config.log);
    match (&config_path, &fallback) {
        (_, Some(why)) => tracing::error!("booth.toml cannot load: {why}"),
        (Some(p), None) => tracing::info!(path = %p.display(), "configuration loaded"),
        (None, None) => {}
    }
    if let Some(store) = &trial {
        if let Some(t) = store.trial() {
            let from = t.from.map(|r| r.version).unwrap_or_else(|| "[package] source".into());
            tracing::warn!(app = %t.release.app, version = %t.release.version, %from, start = t.boots,
                "a package update is on trial");
        }
    }
    let mut unavailable = None;
    let loaded = match home_only {
        // Nothing of [package] is ever shown or served: an empty placeholder stands for it.
        true => Ok(booth_miniapp_host::Package::unavailable("")),
        false => booth_miniapp_host::Package::load(&args.package),
    };
    let mut package = match loaded {
        Ok(p) => p,
        // A kiosk is never blank: its launcher page says why and retries.
        Err(e) if args.kiosk => {
            tracing::error!(package = %args.package, error = %e, "the package cannot load; the launcher retries");
            unavailable = Some(e.to_string());
            booth_miniapp_host::Package::unavailable(&args.package)
        }
        Err(e) => return fail(e),
    };
    if package.is_remote() {
        // Least privilege: a page from the network gets what the operator granted, nothing more.
        let granted = crate::config::sections::remote_grant(config.package.remote_permissions.as_deref());
        let key = crate::config::sections::REMOTE_PERMISSIONS_KEY;
        let line =
            crate::config::sections::describe_grant(&format!("remote package {}", package.location()), &granted, key);
        if granted.is_empty() {
            tracing::warn!("{line}");
        } else {
            tracing::info!("{line}");
        }
        package.restrict_permissions(granted.into_iter().collect());
        let what = format!("remote package {}", package.location());
        crate::config::sections::narrow_by_site(&mut package, &what);
    }
    let control_port = args.control_port.or(if args.sim {
        Some(config.control.port.unwrap_or(CONTROL_PORT))
    } else {
        config.control.port
    });
    start(Launch {
        mode: Mode::Run,
        kiosk: args.kiosk,
        unavailable: unavailable.map(|e| (args.package.clone(), e)),
        config_fallback: fallback,
        home_only,
        config_path,
        package,
        config,
        sim: args.sim,
        control_port,
        record: args.record,
        bench: args.bench,
        rendering,
        trial,
    })
}

/// `booth kiosk`: `booth run --kiosk` with the package named, else (with `[fleet]` on) the
/// package store's release, else booth.toml `[package] source`.
pub fn kiosk(args: KioskArgs) -> i32 {
    let mut trial = None;
    let mut home_only = false;
    let package = match args.package {
        Some(p) => p,
        None => {
            let (config, path) = match Config::load_for_kiosk(args.config.as_deref()) {
                Ok((c, p, _)) => (c, p),
                Err(e) => return fail(e),
            };
            let from_store = config.package_store().and_then(|store| {
                booth_fleet::store::start_from(&store, false).map(|from| {
                    trial = from.trial.map(|_| store);
                    from.package.to_string_lossy().into_owned()
                })
            });
            let home = home_without_package(&config);
            match from_store.or_else(|| config.package.source.clone().filter(|s| !s.trim().is_empty())) {
                Some(s) => s,
                None if home => {
                    home_only = true;
                    String::new()
                }
                None => {
                    let file = path.map(|p| p.display().to_string()).unwrap_or_else(|| "booth.toml".into());
                    return fail(format!(
                        "no package: give one, set [package] source in {file}, or list two or more apps in [apps] \
                         for a home screen"
                    ));
                }
            }
        }
    };
    run_with(
        RunArgs {
            package,
            sim: args.sim,
            control_port: args.control_port,
            config: args.config,
            record: args.record,
            kiosk: true,
            bench: false,
        },
        trial,
        home_only,
    )
}

/// `booth dev`.
pub fn dev(args: DevArgs) -> i32 {
    let (mut config, config_path) = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let rendering = crate::shell::rendering::apply(config.display.compositing);
    let _log_guard = super::logging::init(&config.log);
    if let Some(p) = &config_path {
        tracing::info!(path = %p.display(), "configuration loaded");
    }
    let package = match booth_miniapp_host::Package::load_dev(&args.dir) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    if !package.has_manifest {
        eprintln!(
            "booth: warning: {} has no miniapp.json: running index.html with every dialect and permission \
             (`booth new` shows a manifest)",
            args.dir.display()
        );
    }
    if let Some(back) = &args.back {
        match back_app_id(back) {
            Some(id) => {
                println!("booth dev: back screen app `{id}` from {} (launchMp {{appId: '{id}'}})", back.display());
                let entry = booth_apps::catalogue::AppEntry {
                    source: back.display().to_string(),
                    ..booth_apps::catalogue::AppEntry::default()
                };
                config.apps.insert(id, entry);
            }
            None => {
                return fail(format!(
                    "--back {}: its folder name cannot be an appId (letters, digits, - and _)",
                    back.display()
                ))
            }
        }
        if let Err(e) = booth_apps::catalogue::check(&config.apps) {
            return fail(e);
        }
    }
    let simulated = config.simulate_unconfigured();
    tracing::info!(devices = ?simulated, "simulated in development (booth.toml selects real backends)");
    let control_port = args.control_port.or(config.control.port).unwrap_or(CONTROL_PORT);
    start(Launch {
        mode: Mode::Dev { dir: args.dir, panel: !args.no_panel, open_devtools: args.open_devtools },
        kiosk: false,
        unavailable: None,
        config_fallback: None,
        home_only: false,
        config_path,
        package,
        config,
        sim: false,
        control_port: Some(control_port),
        record: args.record,
        bench: false,
        rendering,
        trial: None,
    })
}

/// The appId `booth dev --back DIR` gives the back app: its folder's name.
fn back_app_id(dir: &std::path::Path) -> Option<String> {
    let canonical = dir.canonicalize().ok();
    let name = canonical.as_deref().unwrap_or(dir).file_name()?.to_str()?.to_string();
    booth_apps::catalogue::valid_id(&name).then_some(name)
}

/// `booth replay`.
pub fn replay(args: ReplayArgs) -> i32 {
    let (config, config_path) = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let rendering = crate::shell::rendering::apply(config.display.compositing);
    let _log_guard = super::logging::init(&config.log);
    let plan = match crate::dev::replay::Plan::load(&args.file, args.ignore, Duration::from_secs(args.wait)) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let package = match booth_miniapp_host::Package::load(&args.against) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    tracing::info!(events = plan.events(), "replaying");
    start(Launch {
        mode: Mode::Replay(plan),
        kiosk: false,
        unavailable: None,
        config_fallback: None,
        home_only: false,
        config_path,
        package,
        config,
        sim: true,
        control_port: None,
        record: None,
        bench: false,
        rendering,
        trial: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use booth_apps::catalogue::AppEntry;

    #[test]
    fn a_kiosk_without_a_package_shows_the_catalogue_when_it_has_a_home_screen() {
        let app = |source: &str| AppEntry { source: source.into(), ..AppEntry::default() };
        let program = AppEntry { command: Some(vec!["/usr/bin/true".into()]), ..AppEntry::default() };
        let mut config = Config::default();
        assert!(!home_without_package(&config), "no apps");
        config.apps.insert("pay".into(), app("/srv/pay"));
        config.apps.insert("notes".into(), program);
        assert!(!home_without_package(&config), "one app and a program: no home screen");
        config.apps.insert("report".into(), app("/srv/report"));
        assert!(home_without_package(&config));
        config.kiosk.home = false;
        assert!(!home_without_package(&config), "[kiosk] home = false");
    }
}
