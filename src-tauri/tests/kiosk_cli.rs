//! `booth pin` and `booth install` from the command line, in private config folders.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs booth with `XDG_CONFIG_HOME` / `XDG_DATA_HOME` / `HOME` in `home`, feeding `stdin`.
fn booth(home: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_booth"))
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("booth runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn pin_from_a_pipe_sets_and_clears_the_hash() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config/booth/booth.toml");
    // No booth.toml yet: the default one is created.
    let (code, out, err) = booth(home.path(), &["pin"], "4711\n");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&config.display().to_string()), "{out}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("[admin]\npin_hash = \"$argon2id$"), "{text}");
    assert!(!text.contains("4711"));

    // A bad PIN: one line, exit 2, file unchanged.
    let (code, _, err) = booth(home.path(), &["admin-pin"], "12ab\n");
    assert_eq!(code, 2);
    assert_eq!(err.trim(), "booth: error: the PIN must be digits only (0-9)");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);

    let (code, _, err) = booth(home.path(), &["pin", "--clear"], "");
    assert_eq!(code, 0, "{err}");
    assert!(!std::fs::read_to_string(&config).unwrap().contains("pin_hash"));

    let (code, out, err) = booth(home.path(), &["pin", "--unlock"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&home.path().join("config/booth/admin-pin-state.json").display().to_string()), "{out}");
}

#[cfg(target_os = "linux")]
#[test]
fn install_writes_the_user_unit_or_prints_it() {
    let home = tempfile::tempdir().unwrap();
    let unit = home.path().join("config/systemd/user/booth.service");
    let (code, out, err) = booth(home.path(), &["install", "--dry-run"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("RestartPreventExitStatus=0 11 12"), "{out}");
    assert!(out.contains("systemctl --user daemon-reload && systemctl --user enable --now booth.service"), "{out}");
    assert!(!unit.exists(), "--dry-run wrote a file");

    let (code, out, err) = booth(home.path(), &["install"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("wrote {}", unit.display())), "{out}");
    let text = std::fs::read_to_string(&unit).unwrap();
    let config = home.path().join("config/booth/booth.toml");
    assert!(text.contains(&format!("kiosk --config \"{}\"", config.display())), "{text}");
    assert!(home.path().join("config/autostart/booth.desktop").exists());
}
