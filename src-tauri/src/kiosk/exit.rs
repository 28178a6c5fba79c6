//! Booth's exit codes and what its supervisor does after each.
//!
//! Booth's supervisor — systemd on Linux, Shell Launcher on Windows — decides what happens when
//! Booth ends from its exit code. Both are configured from these constants (`booth install`
//! writes and prints them), so they always agree:
//!
//! | code | meaning | systemd unit | Shell Launcher action |
//! | --- | --- | --- | --- |
//! | [`EXIT_ADMIN`] 0 | the operator left through the admin screen | not restarted | 3 do nothing |
//! | [`EXIT_FAILED`] 2 | bad booth.toml or package (message on stderr) | restarted | 0 restart shell |
//! | [`EXIT_RESTART`] 10 | restart Booth (admin screen, settings that need it) | restarted | 0 restart shell |
//! | [`EXIT_REBOOT`] 11 | restart the device | `systemctl reboot` | 1 restart device |
//! | [`EXIT_SHUTDOWN`] 12 | shut the device down | `systemctl poweroff` | 2 shut down device |
//! | anything else (a crash: 101 panic, a signal, an exception code) | | restarted | 0 restart shell |

/// The operator left kiosk mode through the admin screen: do not start Booth again.
pub const EXIT_ADMIN: i32 = 0;
/// Booth could not start (invalid booth.toml, broken package); restarting retries.
pub const EXIT_FAILED: i32 = 2;
/// Start Booth again.
pub const EXIT_RESTART: i32 = 10;
/// Restart the device.
pub const EXIT_REBOOT: i32 = 11;
/// Shut the device down.
pub const EXIT_SHUTDOWN: i32 = 12;

/// Shell Launcher's actions (`WESL_UserSetting` return code actions).
pub mod shell_launcher {
    pub const RESTART_SHELL: i32 = 0;
    pub const RESTART_DEVICE: i32 = 1;
    pub const SHUT_DOWN_DEVICE: i32 = 2;
    pub const DO_NOTHING: i32 = 3;
}

/// Every exit code with its own supervisor action, and that action; other codes restart Booth.
pub const EXIT_ACTIONS: [(i32, i32); 5] = [
    (EXIT_ADMIN, shell_launcher::DO_NOTHING),
    (EXIT_FAILED, shell_launcher::RESTART_SHELL),
    (EXIT_RESTART, shell_launcher::RESTART_SHELL),
    (EXIT_REBOOT, shell_launcher::RESTART_DEVICE),
    (EXIT_SHUTDOWN, shell_launcher::SHUT_DOWN_DEVICE),
];

/// Exit codes after which systemd must not start Booth again (`RestartPreventExitStatus=`).
pub fn no_restart_codes() -> Vec<i32> {
    EXIT_ACTIONS.iter().filter(|(_, a)| *a != shell_launcher::RESTART_SHELL).map(|(c, _)| *c).collect()
}

/// When set, Booth writes its exit code to this file as it ends (see [`record_exit`]).
pub const EXIT_FILE_ENV: &str = "BOOTH_EXIT_FILE";

/// Writes `code` to the file named by `BOOTH_EXIT_FILE`, if set. `booth kiosk-session` runs
/// Booth under a compositor that may not pass Booth's exit code on (cage before 0.2 exits 0
/// whatever its client did) and reads it from there instead. A crash writes nothing, which
/// the session reports as a crash.
pub fn record_exit(code: i32) {
    if let Some(path) = std::env::var_os(EXIT_FILE_ENV) {
        if let Err(e) = std::fs::write(&path, code.to_string()) {
            tracing::error!(file = %std::path::Path::new(&path).display(), error = %e, "cannot record the exit code");
        }
    }
}
