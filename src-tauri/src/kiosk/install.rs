//! `booth install`: makes this machine start Booth as its kiosk and start it again when it ends.
//!
//! Linux, two ways (README, Kiosk terminals):
//! - **user** (default): for a desktop session that logs in automatically. Writes the systemd
//!   user unit `~/.config/systemd/user/booth.service` (started with the graphical session,
//!   `Restart=always`, `RestartSec=1`) and the XDG autostart entry `~/.config/autostart/booth.desktop`
//!   that starts that unit on desktops whose sessions do not reach `graphical-session.target`.
//! - **system** (`--system`): for a dedicated kiosk account with no desktop at all. Writes the
//!   system unit `/etc/systemd/system/booth-kiosk.service` that logs that account in on tty1 and
//!   runs Booth as the only client of the cage compositor, through `booth kiosk-session`, which
//!   passes Booth's own exit code on (cage may not).
//!
//! Both units follow the exit codes of [`crate::kiosk::exit`]: not restarted after an admin exit, the
//! device restarted or shut down when Booth asks, restarted after anything else.
//!
//! Windows: prints the Shell Launcher and Keyboard Filter steps (PowerShell, as an administrator).

use crate::kiosk::exit::{self, EXIT_ACTIONS, EXIT_FILE_ENV, EXIT_REBOOT, EXIT_SHUTDOWN};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A file `booth install` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    pub path: PathBuf,
    pub contents: String,
}

/// What an install writes, and the commands the operator runs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub files: Vec<PlannedFile>,
    pub next: Vec<String>,
}

/// The name of the user unit and of the system unit.
pub const USER_UNIT: &str = "booth.service";
pub const SYSTEM_UNIT: &str = "booth-kiosk.service";

/// Quotes one argument of a systemd command line: `"…"` with `\` and `"` escaped, `%` → `%%`
/// (specifiers) and `$` → `$$` (variables).
pub fn systemd_quote(arg: &str) -> String {
    let mut out = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn space_separated(codes: &[i32]) -> String {
    codes.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" ")
}

/// The `[Service]` lines both units share: restart policy and the exit-code actions.
fn restart_lines(power: &str) -> String {
    format!(
        "Restart=always\n\
         RestartSec=1\n\
         # Exit codes (booth kiosk): {admin} admin exit, {reboot} restart the device, {shutdown} shut down;\n\
         # anything else (a crash too) starts Booth again.\n\
         RestartPreventExitStatus={prevent}\n\
         ExecStopPost={power}/bin/sh -c 'case \"$$EXIT_STATUS\" in {reboot}) exec systemctl reboot ;; {shutdown}) exec systemctl poweroff ;; esac'\n",
        admin = exit::EXIT_ADMIN,
        reboot = EXIT_REBOOT,
        shutdown = EXIT_SHUTDOWN,
        prevent = space_separated(&exit::no_restart_codes()),
    )
}

/// The systemd user unit: Booth in the logged-in graphical session.
pub fn user_unit(exe: &Path, config: &Path) -> String {
    format!(
        "# Written by `booth install`. Booth, the kiosk shell of this graphical session.\n\
         [Unit]\n\
         Description=Booth kiosk shell\n\
         PartOf=graphical-session.target\n\
         After=graphical-session.target\n\
         # Never give up restarting.\n\
         StartLimitIntervalSec=0\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={exe} kiosk --config {config}\n\
         {restart}\
         \n\
         [Install]\n\
         WantedBy=graphical-session.target\n",
        exe = systemd_quote(&exe.to_string_lossy()),
        config = systemd_quote(&config.to_string_lossy()),
        restart = restart_lines(""),
    )
}

/// The XDG autostart entry: hands the session's display to the user manager and starts the unit
/// (on desktops that reach `graphical-session.target` the unit is already starting; starting it
/// twice is harmless).
pub fn autostart_entry() -> String {
    format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=Booth\n\
         Comment=Starts the Booth kiosk shell (systemd user unit {USER_UNIT})\n\
         Exec=sh -c \"systemctl --user import-environment DISPLAY WAYLAND_DISPLAY XAUTHORITY; systemctl --user start {USER_UNIT}\"\n\
         NoDisplay=true\n\
         X-GNOME-Autostart-enabled=true\n"
    )
}

/// The system unit: logs `user` in on `tty` and runs Booth under cage there.
pub fn system_unit(exe: &Path, config: &Path, user: &str, tty: &str) -> String {
    format!(
        "# Written by `booth install --system`. The {user} account runs Booth under the cage\n\
         # compositor on {tty}, instead of a login prompt there.\n\
         [Unit]\n\
         Description=Booth kiosk on {tty} (cage)\n\
         After=systemd-user-sessions.service plymouth-quit-wait.service getty@{tty}.service\n\
         Conflicts=getty@{tty}.service\n\
         Wants=dbus.socket systemd-logind.service\n\
         After=dbus.socket systemd-logind.service\n\
         ConditionPathExists=/dev/tty0\n\
         StartLimitIntervalSec=0\n\
         \n\
         [Service]\n\
         Type=simple\n\
         User={user}\n\
         # A logind session on the terminal, as a console login would have.\n\
         PAMName=login\n\
         TTYPath=/dev/{tty}\n\
         TTYReset=yes\n\
         TTYVHangup=yes\n\
         TTYVTDisallocate=yes\n\
         StandardInput=tty-fail\n\
         StandardOutput=journal\n\
         StandardError=journal\n\
         UtmpIdentifier={tty}\n\
         UtmpMode=user\n\
         RuntimeDirectory=booth-kiosk\n\
         Environment=XDG_SESSION_TYPE=wayland\n\
         ExecStart={exe} kiosk-session --config {config}\n\
         {restart}\
         \n\
         [Install]\n\
         WantedBy=graphical.target\n",
        exe = systemd_quote(&exe.to_string_lossy()),
        config = systemd_quote(&config.to_string_lossy()),
        // The unit runs as the kiosk account; reboot and power-off need root (`+`).
        restart = restart_lines("+"),
    )
}

/// `booth install` for the current user: the files under `config_home` (`~/.config`).
pub fn user_plan(exe: &Path, config: &Path, config_home: &Path) -> Plan {
    Plan {
        files: vec![
            PlannedFile { path: config_home.join("systemd/user").join(USER_UNIT), contents: user_unit(exe, config) },
            PlannedFile { path: config_home.join("autostart/booth.desktop"), contents: autostart_entry() },
        ],
        next: vec![
            format!("systemctl --user daemon-reload && systemctl --user enable --now {USER_UNIT}"),
            "# and let the display manager log this user in automatically (GDM: AutomaticLogin in \
             /etc/gdm3/daemon.conf; LightDM: autologin-user in /etc/lightdm/lightdm.conf)"
                .into(),
            format!("# logs: journalctl --user -u {USER_UNIT} -f"),
        ],
    }
}

/// `booth install --system`: the system unit under `unit_dir` (`/etc/systemd/system`).
pub fn system_plan(exe: &Path, config: &Path, user: &str, tty: &str, unit_dir: &Path) -> Plan {
    Plan {
        files: vec![PlannedFile { path: unit_dir.join(SYSTEM_UNIT), contents: system_unit(exe, config, user, tty) }],
        next: vec![
            "sudo apt-get install cage   # the kiosk compositor".into(),
            format!("sudo usermod -aG dialout,input {user}   # serial ports and keyboard devices of the terminal"),
            format!("sudo systemctl daemon-reload && sudo systemctl enable --now {SYSTEM_UNIT}"),
            "sudo systemctl set-default graphical.target".into(),
            format!("# logs: journalctl -u {SYSTEM_UNIT} -f"),
        ],
    }
}

/// The home folder of the account `user`, if there is one.
#[cfg(unix)]
pub fn home_of(user: &str) -> Option<PathBuf> {
    use std::ffi::{CStr, CString};
    let name = CString::new(user).ok()?;
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; `buf` outlives the use of pwd's strings.
    let rc = unsafe { libc::getpwnam_r(name.as_ptr(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() || pwd.pw_dir.is_null() {
        return None;
    }
    // SAFETY: pw_dir points into `buf`, NUL-terminated.
    let dir = unsafe { CStr::from_ptr(pwd.pw_dir) };
    Some(PathBuf::from(std::ffi::OsStr::new(&*dir.to_string_lossy())))
}

#[cfg(not(unix))]
pub fn home_of(_user: &str) -> Option<PathBuf> {
    None
}

/// PowerShell quoting: `'…'` with `'` doubled.
fn ps_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The Windows steps: Shell Launcher with Booth's exit codes, and Keyboard Filter.
pub fn windows_steps(exe: &Path, config: &Path, user: &str) -> String {
    let shell = format!("\"{}\" kiosk --config \"{}\"", exe.display(), config.display());
    let codes = EXIT_ACTIONS.iter().map(|(c, _)| c.to_string()).collect::<Vec<_>>().join(",");
    let actions = EXIT_ACTIONS.iter().map(|(_, a)| a.to_string()).collect::<Vec<_>>().join(",");
    format!(
        r#"Booth as the Windows shell of the {user} account (Windows 10/11 Enterprise, Education or IoT
Enterprise). Run in PowerShell as an administrator.

1. Turn on Shell Launcher and Keyboard Filter (Keyboard Filter needs a restart):

    Enable-WindowsOptionalFeature -Online -All -FeatureName Client-EmbeddedShellLauncher
    Enable-WindowsOptionalFeature -Online -All -FeatureName Client-KeyboardFilter

2. Booth as the shell of {user}; Explorer stays the shell of every other account. Booth's exit
   codes map to Shell Launcher actions (0 restart shell, 1 restart device, 2 shut down, 3 do
   nothing): {table}; any other code (a crash) restarts Booth.

    $sl = [wmiclass]"\\localhost\root\standardcimv2\embedded:WESL_UserSetting"
    $sid = (New-Object System.Security.Principal.NTAccount({user_q})).Translate([System.Security.Principal.SecurityIdentifier]).Value
    $sl.SetDefaultShell("explorer.exe", 0)
    $sl.SetCustomShell($sid, {shell_q}, ([int[]]({codes})), ([int[]]({actions})), 0)
    $sl.SetEnabled($true)

   Check with $sl.GetCustomShell($sid). Undo with $sl.RemoveCustomShell($sid).
   (This is the Shell Launcher WMI provider; Windows 10 1809+ also accepts the same setting as
   Shell Launcher v2 XML through the AssignedAccess CSP, which Booth does not need.)

3. Keyboard Filter blocks what no application can: Ctrl+Alt+Del and Win+L (Booth's own hook
   already swallows the Windows keys, Alt+Tab, Alt+Esc, Alt+F4, Ctrl+Esc, Ctrl+Shift+Esc):

    foreach ($id in "Ctrl+Alt+Del", "Win+L", "Shift+Ctrl+Esc") {{
        $key = Get-WmiObject -Namespace root\standardcimv2\embedded -Class WEKF_PredefinedKey | Where-Object {{ $_.Id -eq $id }}
        $key.Enabled = $true; $key.Put() | Out-Null
    }}

   Keyboard Filter leaves administrators alone by default (WEKF_Settings
   DisableKeyboardFilterForAdministrators), so an administrator can still sign in to service
   the terminal.

4. Sign {user} in automatically (Sysinternals Autologon, or the AutoAdminLogon registry values),
   set the admin PIN (booth pin --config "{config}") and restart.
"#,
        table = EXIT_ACTIONS.iter().map(|(c, a)| format!("{c}→{a}")).collect::<Vec<_>>().join(", "),
        user_q = ps_quote(user),
        shell_q = ps_quote(&shell),
        config = config.display(),
    )
}

/// Writes every file of `plan` (atomically; folders created).
pub fn write(plan: &Plan) -> std::io::Result<()> {
    for f in &plan.files {
        crate::config::settings::write_atomic(&f.path, f.contents.as_bytes())
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", f.path.display())))?;
    }
    Ok(())
}

/// Runs `systemd-analyze verify` on a unit file: `Ok(None)` when it is clean, `Ok(Some(output))`
/// with its complaints, `Err` when the tool is not there.
pub fn verify_unit(path: &Path, user: bool) -> std::io::Result<Option<String>> {
    let mut cmd = Command::new("systemd-analyze");
    if user {
        cmd.arg("--user");
    }
    let out = cmd.arg("verify").arg(path).output()?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Ok(if out.status.success() && text.trim().is_empty() { None } else { Some(text) })
}

/// The command `booth kiosk-session` runs: `<compositor> -- <exe> kiosk --config <config>`.
pub fn session_command(compositor: &OsString, exe: &Path, config: &Path) -> Command {
    let mut cmd = Command::new(compositor);
    cmd.arg("--").arg(exe).arg("kiosk").arg("--config").arg(config);
    cmd
}

/// Where the session has Booth record its exit code.
fn exit_file() -> PathBuf {
    let dir = std::env::var_os("RUNTIME_DIRECTORY")
        .or_else(|| std::env::var_os("XDG_RUNTIME_DIR"))
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    dir.join(format!("booth-exit-{}", std::process::id()))
}

/// Runs `cmd` (the compositor with Booth as its client) and returns Booth's exit code: the one
/// Booth recorded, else the compositor's when it failed, else 1 (Booth ended without recording
/// one: a crash).
pub fn run_session(mut cmd: Command) -> i32 {
    let file = exit_file();
    let _ = std::fs::remove_file(&file);
    let status = match cmd.env(EXIT_FILE_ENV, &file).status() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("booth: error: cannot start {:?} ({e})", cmd.get_program());
            return exit::EXIT_FAILED;
        }
    };
    let recorded = std::fs::read_to_string(&file).ok().and_then(|t| t.trim().parse::<i32>().ok());
    let _ = std::fs::remove_file(&file);
    match (recorded, status.code()) {
        (Some(code), _) => code,
        (None, Some(code)) if code != 0 => code,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> (PathBuf, PathBuf) {
        (std::env::current_exe().unwrap(), PathBuf::from("/home/kiosk/.config/booth/booth.toml"))
    }

    #[cfg(unix)]
    #[test]
    fn home_folders() {
        assert_eq!(home_of("root"), Some(PathBuf::from("/root")));
        assert_eq!(home_of("no-such-account-here"), None);
    }

    /// The units the .deb installs (packaging/linux, see scripts/package) are the ones
    /// `booth install` writes for /usr/bin/booth and /etc/booth/booth.toml.
    #[test]
    fn packaged_units_are_what_install_writes() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/linux");
        let (exe, config) = (Path::new("/usr/bin/booth"), Path::new("/etc/booth/booth.toml"));
        let units = [
            ("booth-kiosk.service", system_unit(exe, config, "kiosk", "tty1")),
            ("booth.service", user_unit(exe, config)),
            ("booth-autostart.desktop", autostart_entry()),
        ];
        for (name, text) in units {
            // After a change to the units: BOOTH_BLESS_PACKAGING=1 cargo test -p booth packaged_units
            if std::env::var_os("BOOTH_BLESS_PACKAGING").is_some() {
                std::fs::write(root.join(name), &text).unwrap();
            }
            let packaged = std::fs::read_to_string(root.join(name)).unwrap_or_default();
            assert_eq!(packaged, text, "packaging/linux/{name} differs from what booth install writes");
        }
        // The default settings parse, and run nothing until a package is named.
        let (c, _) = crate::config::Config::load(Some(&root.join("booth.toml"))).unwrap();
        assert!(c.package.source.is_none() && !c.fleet.enabled());
    }

    #[test]
    fn quoting() {
        assert_eq!(systemd_quote("/opt/booth/booth"), "\"/opt/booth/booth\"");
        assert_eq!(systemd_quote("/a b/100%/$HOME/\"x\"\\"), "\"/a b/100%%/$$HOME/\\\"x\\\"\\\\\"");
        assert_eq!(ps_quote("it's"), "'it''s'");
    }

    #[test]
    fn user_install_writes_unit_and_autostart() {
        let home = tempfile::tempdir().unwrap();
        let (exe, config) = paths();
        let plan = user_plan(&exe, &config, &home.path().join(".config"));
        write(&plan).unwrap();
        let unit = std::fs::read_to_string(home.path().join(".config/systemd/user/booth.service")).unwrap();
        assert!(unit.contains(&format!("ExecStart=\"{}\" kiosk --config \"{}\"\n", exe.display(), config.display())));
        assert!(unit.contains("Restart=always\nRestartSec=1\n"), "{unit}");
        assert!(unit.contains("RestartPreventExitStatus=0 11 12\n"), "{unit}");
        assert!(unit.contains("11) exec systemctl reboot ;; 12) exec systemctl poweroff"), "{unit}");
        assert!(unit.contains("WantedBy=graphical-session.target"), "{unit}");
        let desktop = std::fs::read_to_string(home.path().join(".config/autostart/booth.desktop")).unwrap();
        assert!(desktop.contains("systemctl --user start booth.service"), "{desktop}");
        assert!(plan.next[0].contains("systemctl --user daemon-reload && systemctl --user enable --now booth.service"));
    }

    #[test]
    fn system_unit_runs_the_session_on_the_tty() {
        let dir = tempfile::tempdir().unwrap();
        let (exe, config) = paths();
        let plan = system_plan(&exe, &config, "kiosk", "tty1", dir.path());
        assert_eq!(plan.files[0].path, dir.path().join("booth-kiosk.service"));
        let unit = &plan.files[0].contents;
        for line in [
            "User=kiosk\n",
            "TTYPath=/dev/tty1\n",
            "Conflicts=getty@tty1.service\n",
            "PAMName=login\n",
            "ExecStopPost=+/bin/sh",
            "WantedBy=graphical.target\n",
        ] {
            assert!(unit.contains(line), "{line:?} missing from\n{unit}");
        }
        assert!(unit.contains(&format!("ExecStart=\"{}\" kiosk-session --config", exe.display())), "{unit}");
    }

    /// The units pass `systemd-analyze verify` (skipped where systemd-analyze is missing).
    #[test]
    fn units_pass_systemd_analyze() {
        if Command::new("systemd-analyze").arg("--version").output().is_err() {
            eprintln!("skipped: systemd-analyze is not installed");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (exe, config) = paths();
        // The user unit is checked as a plain unit file: `--user` needs a running user manager.
        let system = system_plan(&exe, &config, "root", "tty1", dir.path());
        let user = user_plan(&exe, &config, dir.path());
        for file in [&system.files[0], &user.files[0]] {
            write_atomic_for_test(file);
            let complaints = verify_unit(&file.path, false).unwrap().unwrap_or_default();
            // A unit it depends on that this machine lacks is not the unit's fault; anything
            // else (an unknown key, a bad value, a missing executable) is.
            let real: Vec<&str> =
                complaints.lines().filter(|l| !l.trim().is_empty() && !l.contains("not found")).collect();
            assert!(real.is_empty(), "systemd-analyze verify {}:\n{complaints}", file.path.display());
        }
        // The check itself catches a bad key.
        let bad = PlannedFile {
            path: dir.path().join("bad.service"),
            contents: system.files[0].contents.replace("RestartSec=1", "RestartSec=1\nRestrt=always"),
        };
        write_atomic_for_test(&bad);
        assert!(verify_unit(&bad.path, false).unwrap().is_some_and(|c| c.contains("Restrt")));
    }

    fn write_atomic_for_test(file: &PlannedFile) {
        crate::config::settings::write_atomic(&file.path, file.contents.as_bytes()).unwrap();
    }

    #[test]
    fn windows_steps_name_the_exit_codes() {
        let steps =
            windows_steps(Path::new(r"C:\Program Files\Booth\booth.exe"), Path::new(r"C:\kiosk\booth.toml"), "kiosk");
        assert!(steps.contains("WESL_UserSetting"));
        assert!(steps.contains("SetCustomShell($sid, '\"C:\\Program Files\\Booth\\booth.exe\" kiosk --config \"C:\\kiosk\\booth.toml\"', ([int[]](0,2,10,11,12)), ([int[]](3,0,0,1,2)), 0)"), "{steps}");
        assert!(steps.contains("Client-EmbeddedShellLauncher") && steps.contains("Client-KeyboardFilter"));
        assert!(steps.contains("\"Ctrl+Alt+Del\""));
    }

    #[cfg(unix)]
    #[test]
    fn session_passes_booths_exit_code_on() {
        let sh = |script: &str| {
            let mut cmd = Command::new("sh");
            cmd.arg("-c").arg(script);
            cmd
        };
        // Booth recorded 11 (restart the device) but the compositor exited 0.
        assert_eq!(run_session(sh("echo 11 > \"$BOOTH_EXIT_FILE\"; exit 0")), 11);
        assert_eq!(run_session(sh("echo 0 > \"$BOOTH_EXIT_FILE\"; exit 0")), 0);
        // Nothing recorded: a crash, whatever the compositor says.
        assert_eq!(run_session(sh("exit 0")), 1);
        assert_eq!(run_session(sh("exit 7")), 7);
        // The real wrapper shape: `env -- sh -c …` stands in for `cage -- booth kiosk …`.
        let mut cmd = Command::new("env");
        cmd.args(["--", "sh", "-c", "echo 12 > \"$BOOTH_EXIT_FILE\""]);
        assert_eq!(run_session(cmd), 12);
        assert_eq!(run_session(Command::new("/nonexistent/cage")), exit::EXIT_FAILED);
        let cmd = session_command(&"cage".into(), Path::new("/usr/bin/booth"), Path::new("/etc/booth.toml"));
        let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(args, ["--", "/usr/bin/booth", "kiosk", "--config", "/etc/booth.toml"]);
    }
}
