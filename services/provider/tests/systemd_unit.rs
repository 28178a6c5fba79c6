//! The sample unit (services/provider/booth-provider.service) as systemd reads it: no unknown or
//! misspelt directive, the command runs the real binary, and the hardening keeps
//! `systemd-analyze security`'s exposure low. Needs systemd-analyze (systemd ≥ 250 for
//! `--offline`); without it the test says so and checks only what it can read itself.

use std::path::PathBuf;
use std::process::Command;

fn unit_text() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("booth-provider.service");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_sample_unit_passes_systemd_analyze() {
    let text = unit_text();
    let exec = "ExecStart=/usr/local/bin/booth-provider -c /etc/booth-provider/booth-provider.toml serve";
    assert!(text.lines().any(|l| l == exec), "the README's command line");
    for must in ["ProtectSystem=strict", "NoNewPrivileges=yes", "StateDirectory=booth-provider", "User=booth-provider"]
    {
        assert!(text.lines().any(|l| l == must), "{must}");
    }
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("systemd-analyze is not installed: only the unit's text was checked");
        return;
    }
    // The unit as installed, but running the binary this build made.
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("booth-provider.service");
    std::fs::write(&unit, text.replace("/usr/local/bin/booth-provider", env!("CARGO_BIN_EXE_booth-provider"))).unwrap();

    let verify = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&unit).output().unwrap();
    let complaints = String::from_utf8_lossy(&verify.stderr).to_string();
    // Unknown keys are only warnings to systemd (exit 0): any word about the unit is a failure.
    let about_unit: Vec<&str> = complaints.lines().filter(|l| l.contains("booth-provider")).collect();
    assert!(verify.status.success() && about_unit.is_empty(), "systemd-analyze verify: {complaints}");

    let security =
        Command::new("systemd-analyze").args(["security", "--offline=yes", "--no-pager"]).arg(&unit).output().unwrap();
    let report = String::from_utf8_lossy(&security.stdout).to_string();
    let Some(level) = report
        .lines()
        .find_map(|l| l.split("Overall exposure level for booth-provider.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f32>().ok())
    else {
        eprintln!("systemd-analyze security --offline is not supported here (systemd < 250): {report}");
        return;
    };
    println!("systemd-analyze security: exposure {level} (0 = locked down, 10 = exposed)");
    assert!(level <= 2.0, "the unit's exposure rose to {level}:\n{report}");
}
