//! The command line.

use crate::config::Config;
use crate::devices::Devices;
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  booth run examples/demo --sim
      Run the demo mini-program with every device simulated; the control endpoint
      listens on http://127.0.0.1:17800 (POST /sim/scanner/scan {\"code\":\"12345\"}).
  booth run shop.zip --config /etc/booth/booth.toml
      Run a zipped package with the devices configured in booth.toml.
  booth run https://kiosk.example.com/app/ --control-port 0
      Run a remote page; its origin becomes allowed. Prints `control: http://127.0.0.1:PORT`.";

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
}

/// Parses the command line and runs; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run(args),
    }
}

fn fail(message: impl std::fmt::Display) -> i32 {
    eprintln!("booth: error: {message}");
    2
}

fn run(args: RunArgs) -> i32 {
    let (config, config_path) = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let _log_guard = init_logging(&config.log);
    if let Some(p) = &config_path {
        tracing::info!(path = %p.display(), "configuration loaded");
    }
    let mut package = match booth_miniapp_host::Package::load(&args.package) {
        Ok(p) => p,
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
    let control = match control_port {
        Some(port) => match crate::control::bind(port) {
            Ok(l) => {
                let port = l.local_addr().map(|a| a.port()).unwrap_or(port);
                println!("control: http://127.0.0.1:{port}");
                let _ = std::io::stdout().flush();
                Some(l)
            }
            Err(e) => return fail(format!("control endpoint: cannot listen on 127.0.0.1:{port} ({e})")),
        },
        None => None,
    };
    tracing::info!(package = %package.manifest.id, location = %package.location(), sim = args.sim, "starting");
    let devices = Devices::start(&config, args.sim);
    let recorder = match crate::recorder::Recorder::new(None) {
        Ok(r) => std::sync::Arc::new(r),
        Err(e) => return fail(e),
    };
    devices.bridge.add_observer(recorder.clone());
    crate::app::run(crate::app::RunOptions { package, devices, recorder, control })
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
