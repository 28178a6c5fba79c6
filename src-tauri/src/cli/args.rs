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

// Parsed once at start; the size of the largest variant (`booth fleet`'s options) costs nothing.
#[allow(clippy::large_enum_variant)]
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
    /// Signed packages for fleet updates: make a signing key, sign a package zip.
    #[command(subcommand)]
    Package(PackageCommand),
    /// Manage terminals over the MQTT broker as an operator (see README, Fleet).
    #[command(after_help = FLEET_HELP)]
    Fleet(FleetArgs),
    /// List the terminal's payment journal: every payment attempt and what came of it.
    #[command(after_help = PAYMENTS_HELP)]
    Payments(PaymentsArgs),
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

const PAYMENTS_HELP: &str = "\
Examples:
  booth payments --today            today's attempts (UTC day) and their total
  booth payments --unresolved       attempts whose outcome the provider has not told yet
  booth payments --trade B17-T1-9f  one trade number
  booth payments --sim --json       the simulator's journal, one JSON object per line";

#[derive(Debug, Args)]
pub struct PaymentsArgs {
    /// Settings file [default: <config dir>/booth/booth.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The journal file itself [default: booth.toml `[payment] journal`].
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// The simulator's journal (journal-sim.log beside the real one).
    #[arg(long)]
    pub sim: bool,
    /// Only attempts begun today (UTC).
    #[arg(long)]
    pub today: bool,
    /// Only attempts whose outcome is not known yet.
    #[arg(long)]
    pub unresolved: bool,
    /// Only this outTradeNo.
    #[arg(long, value_name = "OUT_TRADE_NO")]
    pub trade: Option<String>,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

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

#[derive(Debug, Subcommand)]
pub enum PackageCommand {
    /// Make a minisign key pair: SECRET (mode 0600) and SECRET.pub (the line for
    /// `[fleet] update_keys` or `command_keys`). Encrypted when BOOTH_KEY_PASSWORD is set.
    Keygen {
        /// The secret key file to write (never overwritten).
        #[arg(long, value_name = "FILE", default_value = "booth-package.key")]
        key: PathBuf,
    },
    /// Sign PKG.zip: writes PKG.zip.manifest.json (app id, version, SHA-256, size, lowest Booth
    /// version) and PKG.zip.manifest.json.minisig, what `install-package` needs.
    Sign {
        /// The package zip (its miniapp.json gives the app id and version).
        package: PathBuf,
        /// The secret key (BOOTH_KEY_PASSWORD for an encrypted one).
        #[arg(long, value_name = "FILE", default_value = "booth-package.key")]
        key: PathBuf,
        /// The lowest Booth version the package runs on [default: this Booth's].
        #[arg(long, value_name = "VERSION")]
        min_booth: Option<String>,
    },
}

const FLEET_HELP: &str = "\
Examples:
  booth fleet --broker mqtts://mqtt.example.com --ca-file ca.pem --username ops \\
      --password-file ops.pw status
  booth fleet status --json
  booth fleet cmd T-0001 doctor
  booth fleet cmd all reload --key ops.key
  booth fleet cmd T-0001 logs url='https://bucket.example.com/t1.log?X-Amz-Signature=…'
  booth fleet config T-0001 kiosk.idle_s=90 scanner.backend=none
  booth fleet push all shop-2.0.0.zip --url https://cdn.example.com/shop-2.0.0.zip --first 5

The connection comes from a file (--config, BOOTH_FLEET_CONFIG, or <config dir>/booth/fleet.toml
when it exists; paths in it are relative to it):
  broker = \"mqtts://mqtt.example.com\"
  ca_file = \"ca.pem\"
  username = \"ops\"
  password_file = \"ops.pw\"        # or client_cert = \"ops.pem\" and client_key = \"ops.key.pem\"
  key = \"ops.key\"                 # signs commands and pushes
  prefix = \"booth/v1\"
Options and the environment override it: BOOTH_FLEET_BROKER, BOOTH_FLEET_USERNAME,
BOOTH_FLEET_PASSWORD_FILE, BOOTH_FLEET_CA_FILE, BOOTH_FLEET_CLIENT_CERT, BOOTH_FLEET_CLIENT_KEY,
BOOTH_FLEET_PREFIX, BOOTH_FLEET_KEY (the command signing key).";

#[derive(Debug, Args)]
pub struct FleetArgs {
    /// The operator's connection file [default: <config dir>/booth/fleet.toml, if it exists].
    #[arg(long, env = "BOOTH_FLEET_CONFIG", value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// The broker: mqtts://host[:8883] (mqtt:// only with --allow-insecure).
    #[arg(long, env = "BOOTH_FLEET_BROKER", value_name = "URL", global = true)]
    pub broker: Option<String>,
    #[arg(long, env = "BOOTH_FLEET_USERNAME", value_name = "NAME", global = true)]
    pub username: Option<String>,
    /// A file whose first line is the password.
    #[arg(long, env = "BOOTH_FLEET_PASSWORD_FILE", value_name = "FILE", global = true)]
    pub password_file: Option<PathBuf>,
    /// PEM authority of the broker's certificate [default: the system's roots].
    #[arg(long, env = "BOOTH_FLEET_CA_FILE", value_name = "FILE", global = true)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for brokers that want one (with --client-key, PKCS#8 PEM).
    #[arg(long, env = "BOOTH_FLEET_CLIENT_CERT", value_name = "FILE", global = true, requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    #[arg(long, env = "BOOTH_FLEET_CLIENT_KEY", value_name = "FILE", global = true, requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Allow mqtt:// without TLS (a lab).
    #[arg(long, global = true)]
    pub allow_insecure: bool,
    /// Topic prefix [default: booth/v1].
    #[arg(long, env = "BOOTH_FLEET_PREFIX", value_name = "PREFIX", global = true)]
    pub prefix: Option<String>,
    /// JSON output instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: FleetCommand,
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Every terminal from its retained status, telemetry and reported settings.
    Status,
    /// Send a command (reload, restart, doctor, logs, screenshot, install-package) and print
    /// the results. ARGS are key=value (a value that parses as JSON is taken as such).
    Cmd {
        /// A terminal id, or `all`.
        target: String,
        name: String,
        args: Vec<String>,
        /// Sign the command with this minisign secret key (terminals with `command_keys`).
        #[arg(long, env = "BOOTH_FLEET_KEY", value_name = "FILE")]
        key: Option<PathBuf>,
        /// The command expires this many seconds after it was sent.
        #[arg(long, value_name = "S", default_value_t = 300)]
        ttl_s: u64,
        /// How long to wait for results.
        #[arg(long, value_name = "S", default_value_t = 30)]
        timeout_s: u64,
    },
    /// Change a terminal's settings (the shadow's desired document): key=value booth.toml keys.
    Config {
        terminal: String,
        #[arg(required = true)]
        settings: Vec<String>,
        /// How long to wait for the terminal's report.
        #[arg(long, value_name = "S", default_value_t = 30)]
        timeout_s: u64,
    },
    /// A staged rollout of a signed package (`booth package sign`): the first N terminals, then
    /// the rest; the first failure stops it.
    Push {
        /// A terminal id, or `all` (every terminal online).
        target: String,
        /// The package zip, with PKG.zip.manifest.json and .minisig next to it.
        package: PathBuf,
        /// Where terminals download it (HTTPS).
        #[arg(long, value_name = "URL")]
        url: String,
        /// How many terminals take it first.
        #[arg(long, value_name = "N", default_value_t = 1)]
        first: usize,
        /// Allow installing a lower version than the terminal runs.
        #[arg(long)]
        allow_downgrade: bool,
        /// Sign the commands with this minisign secret key.
        #[arg(long, env = "BOOTH_FLEET_KEY", value_name = "FILE")]
        key: Option<PathBuf>,
        /// How long each terminal has to download, restart and show the package.
        #[arg(long, value_name = "S", default_value_t = 180)]
        timeout_s: u64,
    },
}
