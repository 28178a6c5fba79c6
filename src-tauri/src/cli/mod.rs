//! Room `cli`: the command line — argument parsing ([`args`]) and the sub-commands that need no
//! window: `doctor`, `print-test`, `new`, `sim`, `pin`, `payments`, `install`, `package`, `fleet` and `kiosk-session`. The sub-commands that
//! open windows (`run`, `kiosk`, `dev`, `replay`) are handed back to `app`, which builds them.
//!
//! Must not import: `shell`, `ipc` or `app`.

pub mod args;
pub mod doctor;
pub mod error;
pub mod fleet;
pub mod install;
pub mod new;
pub mod package;
pub mod payments;
pub mod pin;
pub mod sim;

use args::{Cli, Command, DevArgs, KioskArgs, ReplayArgs, RunArgs};
use clap::Parser;
use error::fail;

/// A sub-command that opens windows: `app` runs it.
pub enum Windowed {
    Run(RunArgs),
    Kiosk(KioskArgs),
    Dev(DevArgs),
    Replay(ReplayArgs),
}

/// What the command line asks for.
pub enum Dispatch {
    /// A window-less sub-command ran; its exit code.
    Done(i32),
    /// A sub-command that needs windows.
    Windowed(Windowed),
}

/// Parses the command line (clap prints help or a usage error and exits by itself) and runs
/// what needs no window.
pub fn dispatch() -> Dispatch {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => return Dispatch::Windowed(Windowed::Run(args)),
        Command::Kiosk(args) => return Dispatch::Windowed(Windowed::Kiosk(args)),
        Command::Dev(args) => return Dispatch::Windowed(Windowed::Dev(args)),
        Command::Replay(args) => return Dispatch::Windowed(Windowed::Replay(args)),
        Command::Sim(args) => sim::main(args.device, args.action, args.args, args.control_port),
        Command::New(args) => match new::create(&args.dir, args.name.as_deref()) {
            Ok(()) => {
                println!("created {0}; run it with: booth dev {0}", args.dir.display());
                0
            }
            Err(e) => fail(e),
        },
        Command::Doctor { config } => doctor::run(config.as_deref()),
        Command::PrintTest { config } => doctor::print_test(config.as_deref()),
        Command::Pin(args) => pin::run(args),
        Command::Payments(args) => payments::run(args),
        Command::Install(args) => install::run(args),
        Command::Package(cmd) => package::run(cmd),
        Command::Fleet(args) => fleet::run(args),
        Command::KioskSession { config, compositor } => {
            let exe = match std::env::current_exe() {
                Ok(e) => e,
                Err(e) => return Dispatch::Done(fail(format!("cannot find the booth executable ({e})"))),
            };
            crate::kiosk::install::run_session(crate::kiosk::install::session_command(&compositor, &exe, &config))
        }
    };
    Dispatch::Done(code)
}
