//! Room `app`: the wiring. The only room that knows every other one: it takes the command line
//! from `cli`, builds a run ([`launch`]: booth.toml, logging, the package, the devices) and the
//! Tauri application ([`run`]: the package scheme and IPC from `ipc`, the windows and lifecycle
//! from `shell`, the desktop lock-down from `kiosk`, the developer tools from `dev`), and hands
//! each room what it needs. Capabilities that need a window meet the shell here: the plugin
//! defines a host trait, the shell implements it, and `run` connects the two.
//!
//! Nothing imports `app`.

pub mod launch;
pub mod logging;
pub mod run;

use crate::cli::{self, Dispatch, Windowed};

/// Parses the command line and runs; returns the process exit code.
pub fn main() -> i32 {
    // Before any other thread exists (see the module).
    crate::shell::memory::tune_allocator();
    let code = match cli::dispatch() {
        Dispatch::Done(code) => code,
        Dispatch::Windowed(Windowed::Run(args)) => launch::run(args),
        Dispatch::Windowed(Windowed::Kiosk(args)) => launch::kiosk(args),
        Dispatch::Windowed(Windowed::Dev(args)) => launch::dev(args),
        Dispatch::Windowed(Windowed::Replay(args)) => launch::replay(args),
    };
    crate::kiosk::record_exit(code);
    code
}
