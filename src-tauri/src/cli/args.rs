//! The command line: every sub-command and its arguments (`booth --help`).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

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
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
pub struct RunArgs {
    /// A folder or .zip containing miniapp.json, or an http(s):// URL.
    pub package: String,
    /// Simulate every device (no hardware needed); turns the control endpoint on.
    #[arg(long)]
    pub sim: bool,
    /// Serve the loopback control endpoint on this port (0 picks a free one).
    #[arg(long, value_name = "PORT")]
    pub control_port: Option<u16>,
    /// Settings file [default: <config dir>/booth/booth.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write every call, reply and device event to FILE (JSON Lines; see README, Flight recorder).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Kiosk mode: fullscreen on the primary monitor, escapes blocked, idle reset, the
    /// administrator's gesture and PIN, hung pages restarted (see README, Kiosk terminals).
    #[arg(long)]
    pub kiosk: bool,
    /// For scripts/bench: take benchmark commands on stdin (see src-tauri/src/dev/benchprobe.rs).
    #[arg(long, hide = true)]
    pub bench: bool,
}

#[derive(Debug, Args)]
pub struct KioskArgs {
    /// The package [default: booth.toml `[package] source`].
    pub package: Option<String>,
    /// Settings file [default: <config dir>/booth/booth.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Simulate every device (a kiosk demonstration without hardware).
    #[arg(long)]
    pub sim: bool,
    /// Serve the loopback control endpoint on this port (0 picks a free one).
    #[arg(long, value_name = "PORT")]
    pub control_port: Option<u16>,
    /// Write every call, reply and device event to FILE (JSON Lines).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DevArgs {
    /// The mini-program folder (with miniapp.json, or just an index.html).
    pub dir: PathBuf,
    /// Control endpoint port [default: booth.toml's, else 17800; 0 picks a free one].
    #[arg(long, value_name = "PORT")]
    pub control_port: Option<u16>,
    /// Settings file; devices it configures with a real backend stay real, the rest are simulated.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write every call, reply and device event to FILE (JSON Lines).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Do not open the simulator panel.
    #[arg(long)]
    pub no_panel: bool,
    /// Open the web inspector of each window at start (it is always available from the context menu).
    #[arg(long)]
    pub open_devtools: bool,
    /// A second mini-program folder for the back screen (seed 001's launchMp / postMsg): it joins
    /// the catalogue under its folder's name as appId.
    #[arg(long, value_name = "DIR")]
    pub back: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Device id (`booth sim` without arguments lists them).
    pub device: Option<String>,
    /// Action of that device.
    pub action: Option<String>,
    /// Arguments: `name=value`, or values in the order of the action's fields.
    pub args: Vec<String>,
    /// The running Booth's control port [default: 17800].
    #[arg(long, value_name = "PORT", default_value_t = crate::names::CONTROL_PORT)]
    pub control_port: u16,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A recording made with `--record`.
    pub file: PathBuf,
    /// The package to run: a folder, a .zip or a URL.
    #[arg(long, value_name = "PACKAGE")]
    pub against: String,
    /// Settings file (its device backends are ignored: replay simulates every device).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Leave this reply field out of the comparison, wherever it appears (repeatable), e.g. deviceIP.
    #[arg(long, value_name = "FIELD")]
    pub ignore: Vec<String>,
    /// Longest wait, in seconds, for the page to make the calls it made before each event.
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    pub wait: u64,
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
pub struct PinArgs {
    /// Settings file [default: <config dir>/booth/booth.toml, created if missing].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The PIN itself, for scripts (other users of this machine can see command lines: prefer a pipe).
    #[arg(long, value_name = "DIGITS", conflicts_with_all = ["clear", "unlock"])]
    pub pin: Option<String>,
    /// Remove the PIN.
    #[arg(long, conflicts_with = "unlock")]
    pub clear: bool,
    /// Forget wrong attempts and end a lock-out.
    #[arg(long)]
    pub unlock: bool,
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
pub struct InstallArgs {
    /// Settings file Booth runs with [default: the user's <config dir>/booth/booth.toml; with
    /// --system, that of --user].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A system unit for a dedicated kiosk account running cage on a virtual terminal.
    #[arg(long)]
    pub system: bool,
    /// The kiosk account (--system, and the Windows steps).
    #[arg(long, value_name = "NAME", default_value = "kiosk")]
    pub user: String,
    /// The virtual terminal of --system.
    #[arg(long, value_name = "TTY", default_value = "tty1")]
    pub tty: String,
    /// Print the files instead of writing them.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Folder to create (it must not exist, or be empty).
    pub dir: PathBuf,
    /// Display name [default: the folder name].
    #[arg(long)]
    pub name: Option<String>,
}
