//! `booth pin`: the admin PIN in booth.toml, and ending a lock-out.

use super::args::PinArgs;
use super::error::fail;

/// `booth pin`: sets, clears or unlocks the admin PIN.
pub fn run(args: PinArgs) -> i32 {
    use crate::kiosk::pin;
    let config = args.config.or_else(crate::config::default_path);
    if args.unlock {
        let state = crate::config::admin::state_path_for(config.as_deref());
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
