//! `booth install`: systemd units and an autostart entry on Linux, the Shell Launcher steps on
//! Windows.

use super::args::InstallArgs;
use super::error::fail;
use std::path::PathBuf;

/// `booth install`: writes (or prints) what makes this machine start Booth as its kiosk.
pub fn run(args: InstallArgs) -> i32 {
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
