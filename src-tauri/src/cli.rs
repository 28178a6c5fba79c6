//! The command line.

use crate::config::Config;
use crate::devices::Devices;
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

const EXAMPLES: &str = "\
Examples:
  booth dev ./my-miniapp
      Develop: every device simulated, hot reload, page output here, the simulator panel.
  booth sim scanner scan 6901234567892
      Make the running Booth's simulated scanner read a code.
  booth run examples/demo --sim
      Run the demo mini-program with every device simulated; the control endpoint
      listens on http://127.0.0.1:17800 (POST /sim/scanner/scan {\"code\":\"12345\"}).
  booth run shop.zip --config /etc/booth/booth.toml --record /var/log/booth/flight.jsonl
      Run a zipped package with the devices configured in booth.toml, recording every call.
  booth kiosk --config /etc/booth/booth.toml
      Run the terminal: [package] source fullscreen and locked down (see README, Kiosk mode).
  booth replay flight.jsonl --against ./shop
      Feed a recording's device events to a fresh run and report every reply that differs.
  booth new ./my-miniapp
      Start a mini-program that `booth dev` runs at once.
  booth print-test --config /etc/booth/booth.toml
      Print a test receipt on the configured printer.";

#[derive(Debug, Parser)]
#[command(name = "booth", version, about = "Booth: a kiosk shell for self-service mini-programs", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a mini-program package.
    #[command(after_help = EXAMPLES)]
    Run(RunArgs),
    /// Run as the terminal's kiosk: the package of booth.toml `[package] source` (or PACKAGE),
    /// fullscreen and locked down. Same as `booth run --kiosk`.
    Kiosk(KioskArgs),
    /// Develop a mini-program folder: simulated devices, hot reload, page output, simulator panel.
    Dev(DevArgs),
    /// Make a simulated device of the running Booth do something (`booth sim` lists them).
    Sim(SimArgs),
    /// Replay a flight recording's device events against a package and report what differs.
    Replay(ReplayArgs),
    /// Create a new mini-program folder.
    New(NewArgs),
    /// Set the admin PIN in booth.toml (asked twice without echo, or one line from a pipe).
    #[command(visible_alias = "admin-pin", after_help = PIN_HELP)]
    Pin(PinArgs),
    /// Make this machine start Booth as its kiosk and restart it when it ends (Windows: print the steps).
    #[command(after_help = INSTALL_HELP)]
    Install(InstallArgs),
    /// Run `booth kiosk` as the only client of a compositor and exit with Booth's exit code
    /// (what `booth install --system` starts).
    #[command(hide = true)]
    KioskSession {
        /// Settings file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The compositor, run as `<compositor> -- booth kiosk --config FILE`.
        #[arg(long, value_name = "PROGRAM", default_value = "cage")]
        compositor: std::ffi::OsString,
    },
    /// List smart card readers with their roles and each configured device's status.
    Doctor {
        /// Settings file [default: <config dir>/booth/booth.toml].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Print a test receipt on the printer of booth.toml `[printer]` and say what happened.
    PrintTest {
        /// Settings file [default: <config dir>/booth/booth.toml].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// A folder or .zip containing miniapp.json, or an http(s):// URL.
    package: String,
    /// Simulate every device (no hardware needed); turns the control endpoint on.
    #[arg(long)]
    sim: bool,
    /// Serve the loopback control endpoint on this port (0 picks a free one).
    #[arg(long, value_name = "PORT")]
    control_port: Option<u16>,
    /// Settings file [default: <config dir>/booth/booth.toml].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Write every call, reply and device event to FILE (JSON Lines; see README, Flight recorder).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Kiosk mode: fullscreen on the primary monitor, escapes blocked, idle reset, the
    /// administrator's gesture and PIN, hung pages restarted (see README, Kiosk terminals).
    #[arg(long)]
    kiosk: bool,
    /// For scripts/bench: take benchmark commands on stdin (see src/benchprobe.rs).
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Args)]
struct KioskArgs {
    /// The package [default: booth.toml `[package] source`].
    package: Option<String>,
    /// Settings file [default: <config dir>/booth/booth.toml].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Simulate every device (a kiosk demonstration without hardware).
    #[arg(long)]
    sim: bool,
    /// Serve the loopback control endpoint on this port (0 picks a free one).
    #[arg(long, value_name = "PORT")]
    control_port: Option<u16>,
    /// Write every call, reply and device event to FILE (JSON Lines).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct DevArgs {
    /// The mini-program folder (with miniapp.json, or just an index.html).
    dir: PathBuf,
    /// Control endpoint port [default: booth.toml's, else 17800; 0 picks a free one].
    #[arg(long, value_name = "PORT")]
    control_port: Option<u16>,
    /// Settings file; devices it configures with a real backend stay real, the rest are simulated.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Write every call, reply and device event to FILE (JSON Lines).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Do not open the simulator panel.
    #[arg(long)]
    no_panel: bool,
    /// Open the web inspector of each window at start (it is always available from the context menu).
    #[arg(long)]
    open_devtools: bool,
}

#[derive(Debug, Args)]
struct SimArgs {
    /// Device id (`booth sim` without arguments lists them).
    device: Option<String>,
    /// Action of that device.
    action: Option<String>,
    /// Arguments: `name=value`, or values in the order of the action's fields.
    args: Vec<String>,
    /// The running Booth's control port [default: 17800].
    #[arg(long, value_name = "PORT", default_value_t = crate::control::DEFAULT_PORT)]
    control_port: u16,
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// A recording made with `--record`.
    file: PathBuf,
    /// The package to run: a folder, a .zip or a URL.
    #[arg(long, value_name = "PACKAGE")]
    against: String,
    /// Settings file (its device backends are ignored: replay simulates every device).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Leave this reply field out of the comparison, wherever it appears (repeatable), e.g. deviceIP.
    #[arg(long, value_name = "FIELD")]
    ignore: Vec<String>,
    /// Longest wait, in seconds, for the page to make the calls it made before each event.
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    wait: u64,
}

const PIN_HELP: &str = "\
The PIN is 4 to 12 digits; booth.toml keeps only its Argon2id hash ([admin] pin_hash). Without a
PIN the admin screen cannot be opened. Three wrong PINs lock the admin screen for 30 s, each
further one twice as long, up to 15 min; --unlock ends a lock-out.

Examples:
  booth pin                         ask for the PIN (twice, not shown)
  echo 4711 | booth pin --config /etc/booth/booth.toml
  booth pin --clear                 no PIN: the admin screen stays closed";

#[derive(Debug, Args)]
struct PinArgs {
    /// Settings file [default: <config dir>/booth/booth.toml, created if missing].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The PIN itself, for scripts (other users of this machine can see command lines: prefer a pipe).
    #[arg(long, value_name = "DIGITS", conflicts_with_all = ["clear", "unlock"])]
    pin: Option<String>,
    /// Remove the PIN.
    #[arg(long, conflicts_with = "unlock")]
    clear: bool,
    /// Forget wrong attempts and end a lock-out.
    #[arg(long)]
    unlock: bool,
}

const INSTALL_HELP: &str = "\
Linux, a desktop session that logs in automatically (default): a systemd user unit
(~/.config/systemd/user/booth.service) and an autostart entry. Linux, a dedicated kiosk
account with no desktop (--system, as root): a system unit that runs Booth under the cage
compositor on tty1. Windows: prints the Shell Launcher and Keyboard Filter steps.

Examples:
  booth install --dry-run
  booth install --config ~/.config/booth/booth.toml
  sudo booth install --system --user kiosk";

#[derive(Debug, Args)]
struct InstallArgs {
    /// Settings file Booth runs with [default: the user's <config dir>/booth/booth.toml; with
    /// --system, that of --user].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A system unit for a dedicated kiosk account running cage on a virtual terminal.
    #[arg(long)]
    system: bool,
    /// The kiosk account (--system, and the Windows steps).
    #[arg(long, value_name = "NAME", default_value = "kiosk")]
    user: String,
    /// The virtual terminal of --system.
    #[arg(long, value_name = "TTY", default_value = "tty1")]
    tty: String,
    /// Print the files instead of writing them.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Args)]
struct NewArgs {
    /// Folder to create (it must not exist, or be empty).
    dir: PathBuf,
    /// Display name [default: the folder name].
    #[arg(long)]
    name: Option<String>,
}

/// Parses the command line and runs; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let code = dispatch(cli);
    crate::kiosk::record_exit(code);
    code
}

fn dispatch(cli: Cli) -> i32 {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Kiosk(args) => kiosk(args),
        Command::Dev(args) => dev(args),
        Command::Sim(args) => crate::simctl::main(args.device, args.action, args.args, args.control_port),
        Command::Replay(args) => replay(args),
        Command::New(args) => match crate::scaffold::create(&args.dir, args.name.as_deref()) {
            Ok(()) => {
                println!("created {0}; run it with: booth dev {0}", args.dir.display());
                0
            }
            Err(e) => fail(e),
        },
        Command::Doctor { config } => crate::doctor::run(config.as_deref()),
        Command::PrintTest { config } => crate::doctor::print_test(config.as_deref()),
        Command::Pin(args) => pin(args),
        Command::Install(args) => install(args),
        Command::KioskSession { config, compositor } => {
            let exe = match std::env::current_exe() {
                Ok(e) => e,
                Err(e) => return fail(format!("cannot find the booth executable ({e})")),
            };
            crate::kiosk::install::run_session(crate::kiosk::install::session_command(&compositor, &exe, &config))
        }
    }
}

fn pin(args: PinArgs) -> i32 {
    use crate::kiosk::pin;
    let config = args.config.or_else(crate::config::default_path);
    if args.unlock {
        let state = pin::state_path_for(config.as_deref());
        return match pin::PinGate::new(&state).reset() {
            Ok(()) => {
                println!("admin PIN attempts reset ({})", state.display());
                0
            }
            Err(e) => fail(format!("{}: {e}", state.display())),
        };
    }
    let Some(path) = config else {
        return fail("no config folder: pass --config FILE");
    };
    if args.clear {
        return match pin::clear_pin(&path) {
            Ok(()) => {
                println!("admin PIN removed from {}: the admin screen cannot be opened", path.display());
                0
            }
            Err(e) => fail(e),
        };
    }
    let entered = match args.pin {
        Some(p) => p,
        None => match crate::kiosk::prompt::read_new_pin() {
            Ok(p) => p,
            Err(e) => return fail(e),
        },
    };
    match pin::set_pin(&path, &entered) {
        Ok(()) => {
            println!("admin PIN set in {}", path.display());
            0
        }
        Err(e) => fail(e),
    }
}

fn install(args: InstallArgs) -> i32 {
    use crate::kiosk::install;
    let exe = match std::env::current_exe().and_then(|e| e.canonicalize()) {
        Ok(e) => e,
        Err(e) => return fail(format!("cannot find the booth executable ({e})")),
    };
    let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
    if cfg!(windows) {
        let Some(config) = args.config.or_else(crate::config::default_path) else {
            return fail("no config folder: pass --config FILE");
        };
        print!("{}", install::windows_steps(&exe, &absolute(config), &args.user));
        return 0;
    }
    let plan = if args.system {
        let config = match args.config {
            Some(c) => absolute(c),
            None => match install::home_of(&args.user) {
                Some(home) => home.join(".config/booth/booth.toml"),
                None => {
                    return fail(format!(
                        "no account `{}`: create it first (sudo useradd -m {0}) or pass --user",
                        args.user
                    ))
                }
            },
        };
        install::system_plan(&exe, &config, &args.user, &args.tty, std::path::Path::new("/etc/systemd/system"))
    } else {
        let (Some(config_home), Some(default_config)) = (dirs::config_dir(), crate::config::default_path()) else {
            return fail("no config folder (is HOME set?)");
        };
        let config = args.config.map(absolute).unwrap_or(default_config);
        install::user_plan(&exe, &config, &config_home)
    };
    if args.dry_run {
        for f in &plan.files {
            println!("# {}\n{}", f.path.display(), f.contents);
        }
    } else {
        if let Err(e) = install::write(&plan) {
            return fail(e);
        }
        for f in &plan.files {
            println!("wrote {}", f.path.display());
        }
    }
    println!("next:");
    for line in &plan.next {
        println!("  {line}");
    }
    0
}

fn fail(message: impl std::fmt::Display) -> i32 {
    eprintln!("booth: error: {message}");
    2
}

/// Everything a run needs, worked out from one subcommand's arguments.
struct Launch {
    mode: crate::app::Mode,
    kiosk: bool,
    /// Kiosk mode with a package that could not load: (what was asked for, why).
    unavailable: Option<(String, String)>,
    config_path: Option<PathBuf>,
    package: booth_miniapp_host::Package,
    config: Config,
    sim: bool,
    control_port: Option<u16>,
    record: Option<PathBuf>,
    /// `--bench`: the benchmark probe.
    bench: bool,
    /// How pages are drawn (`[display] compositing`), applied before any thread started.
    rendering: crate::rendering::Decision,
}

fn start(l: Launch) -> i32 {
    let mut bound_port = None;
    let control = match l.control_port {
        Some(port) => match crate::control::bind(port) {
            Ok(listener) => {
                let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
                bound_port = Some(port);
                println!("control: http://127.0.0.1:{port}");
                let _ = std::io::stdout().flush();
                Some(listener)
            }
            Err(e) => {
                let hint = if port == crate::control::DEFAULT_PORT {
                    " — is another Booth running? Pass --control-port 0 to pick a free port"
                } else {
                    ""
                };
                return fail(format!("control endpoint: cannot listen on 127.0.0.1:{port} ({e}){hint}"));
            }
        },
        None => None,
    };
    let recorder = match crate::recorder::Recorder::new(l.record.as_deref()) {
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
    let devices = Devices::start(&l.config, l.sim);
    // Records cost a little per call: only keep them when someone can read them.
    if control.is_some() || l.record.is_some() {
        devices.bridge.add_observer(recorder.clone());
    }
    if l.bench {
        crate::benchprobe::start(&devices.bridge);
    }
    if let crate::app::Mode::Dev { dir, panel, .. } = &l.mode {
        let sims = devices.sims.ids();
        println!("booth dev: {}", dir.display());
        println!("  simulated   {}", if sims.is_empty() { "none".to_string() } else { sims.join(", ") });
        println!("  panel       {}", if *panel { "open (--no-panel to hide)" } else { "closed" });
        let sim = match bound_port {
            Some(crate::control::DEFAULT_PORT) | None => "booth sim".to_string(),
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
    crate::app::run(crate::app::RunOptions {
        mode: l.mode,
        kiosk: l.kiosk,
        unavailable: l.unavailable,
        kiosk_config: l.config.kiosk.clone(),
        config_path: l.config_path,
        log_dir: l.config.log.dir(),
        admin: l.config.admin.clone(),
        package: l.package,
        devices,
        recorder,
        control,
    })
}

fn run(args: RunArgs) -> i32 {
    let (config, config_path) = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let rendering = crate::rendering::apply(config.display.compositing);
    let _log_guard = init_logging(&config.log);
    if let Some(p) = &config_path {
        tracing::info!(path = %p.display(), "configuration loaded");
    }
    let mut unavailable = None;
    let mut package = match booth_miniapp_host::Package::load(&args.package) {
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
        match &config.package.remote_permissions {
            Some(list) => package.restrict_permissions(list.iter().filter_map(|p| p.parse().ok()).collect()),
            None => tracing::warn!(
                "remote package: every permission granted (set [package] remote_permissions to restrict)"
            ),
        }
    }
    let control_port = args.control_port.or(if args.sim {
        Some(config.control.port.unwrap_or(crate::control::DEFAULT_PORT))
    } else {
        config.control.port
    });
    start(Launch {
        mode: crate::app::Mode::Run,
        kiosk: args.kiosk,
        unavailable: unavailable.map(|e| (args.package.clone(), e)),
        config_path,
        package,
        config,
        sim: args.sim,
        control_port,
        record: args.record,
        bench: args.bench,
        rendering,
    })
}

fn kiosk(args: KioskArgs) -> i32 {
    let package = match args.package {
        Some(p) => p,
        None => {
            let (config, path) = match Config::load(args.config.as_deref()) {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            match config.package.source.filter(|s| !s.trim().is_empty()) {
                Some(s) => s,
                None => {
                    let file = path.map(|p| p.display().to_string()).unwrap_or_else(|| "booth.toml".into());
                    return fail(format!("no package: give one, or set [package] source in {file}"));
                }
            }
        }
    };
    run(RunArgs {
        package,
        sim: args.sim,
        control_port: args.control_port,
        config: args.config,
        record: args.record,
        kiosk: true,
        bench: false,
    })
}

fn dev(args: DevArgs) -> i32 {
    let (mut config, config_path) = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let rendering = crate::rendering::apply(config.display.compositing);
    let _log_guard = init_logging(&config.log);
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
    let simulated = config.simulate_unconfigured();
    tracing::info!(devices = ?simulated, "simulated in development (booth.toml selects real backends)");
    let control_port = args.control_port.or(config.control.port).unwrap_or(crate::control::DEFAULT_PORT);
    start(Launch {
        mode: crate::app::Mode::Dev { dir: args.dir, panel: !args.no_panel, open_devtools: args.open_devtools },
        kiosk: false,
        unavailable: None,
        config_path,
        package,
        config,
        sim: false,
        control_port: Some(control_port),
        record: args.record,
        bench: false,
        rendering,
    })
}

fn replay(args: ReplayArgs) -> i32 {
    let (config, config_path) = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let rendering = crate::rendering::apply(config.display.compositing);
    let _log_guard = init_logging(&config.log);
    let plan = match crate::replay::Plan::load(&args.file, args.ignore, Duration::from_secs(args.wait)) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let package = match booth_miniapp_host::Package::load(&args.against) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    tracing::info!(events = plan.events(), "replaying");
    start(Launch {
        mode: crate::app::Mode::Replay(plan),
        kiosk: false,
        unavailable: None,
        config_path,
        package,
        config,
        sim: true,
        control_port: None,
        record: None,
        bench: false,
        rendering,
    })
}

/// Logs to stderr and, unless turned off, to daily files (kept `keep_days`). The returned guard
/// flushes the file writer when Booth exits.
fn init_logging(log: &crate::config::LogSection) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{fmt, EnvFilter};
    let filter = EnvFilter::try_from_env("BOOTH_LOG")
        .or_else(|_| EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = fmt::layer().with_ansi(std::io::stderr().is_terminal()).with_writer(std::io::stderr);
    let mut problem = None;
    let (file, guard) = match log.dir() {
        Some(dir) => match tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("booth")
            .filename_suffix("log")
            .max_log_files(log.keep_days.max(1))
            .build(&dir)
        {
            Ok(appender) => {
                let (writer, guard) = tracing_appender::non_blocking(appender);
                (Some(fmt::layer().with_ansi(false).with_writer(writer)), Some(guard))
            }
            Err(e) => {
                problem = Some(format!("log files off: cannot write to {} ({e})", dir.display()));
                (None, None)
            }
        },
        None => (None, None),
    };
    let _ = tracing_subscriber::registry().with(filter).with(stderr).with(file).try_init();
    if let Some(p) = problem {
        tracing::warn!("{p}");
    }
    guard
}
