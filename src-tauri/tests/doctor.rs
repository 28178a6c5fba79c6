//! `booth doctor` against a real pcscd with vpcd readers: the readers with their roles, and
//! each configured device's status (runs without a display).

#![cfg(unix)]

use booth_testkit::pcscd::Pcscd;
use booth_testkit::vcard::VirtualCard;
use std::process::Command;

fn doctor(config: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_booth"))
        .args(["doctor", "--config"])
        .arg(config)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("booth runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn doctor_lists_readers_roles_and_device_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("booth.toml");

    // Automatic roles.
    std::fs::write(&config, "[smartcard]\nbackend = \"pcsc\"\n").unwrap();
    let mut pcscd = Pcscd::start();
    let mut psam = VirtualCard::new("3B6D000086381234567890A0B0C0D0E001");
    psam.insert(pcscd.port(booth_testkit::pcscd::Slot::Psam1));
    let (code, out) = doctor(&config);
    assert_eq!(code, 0, "{out}");
    let line =
        |name: &str| out.lines().find(|l| l.contains(name)).unwrap_or_else(|| panic!("no {name}:\n{out}")).to_string();
    assert!(line("Booth Card 00 00").contains("card (auto"), "{out}");
    assert!(line("Booth Card 00 01").contains("unused"), "{out}");
    assert!(line("Booth PSAM 00 00").contains("psam1 (auto"), "{out}");
    assert!(line("Booth PSAM 00 01").contains("psam2 (auto"), "{out}");
    let sc = line("smartcard ");
    assert!(sc.contains("pcsc") && sc.contains("ok") && sc.contains("Booth Card 00 00"), "{out}");
    assert!(line("scanner ").contains("not configured"), "{out}");

    // Patterns.
    std::fs::write(
        &config,
        "[smartcard]\nbackend = \"pcsc\"\ncard_reader = \"*Card 00 01\"\npsam1_reader = \"PSAM 00 01\"\n",
    )
    .unwrap();
    let (code, out) = doctor(&config);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines().any(|l| l.contains("Booth Card 00 01") && l.contains("card (pattern \"*Card 00 01\")")),
        "{out}"
    );
    assert!(out.lines().any(|l| l.contains("Booth PSAM 00 00") && l.contains("psam2 (auto")), "{out}");

    // pcscd gone: the service error, and exit 1 because a configured device is unavailable.
    pcscd.stop();
    let (code, out) = doctor(&config);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("PC/SC: 智能卡服务不可用"), "{out}");
    assert!(out.lines().any(|l| l.contains("smartcard") && l.contains("UNAVAILABLE")), "{out}");
}

#[test]
fn doctor_says_what_remote_packages_are_granted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("booth.toml");
    std::fs::write(
        &config,
        "[package]\nsource = \"https://kiosk.example.com/app/\"\n\n\
         [apps.report]\nsource = \"https://e.example/r/\"\npermissions = [\"printer\", \"scanner\"]\n",
    )
    .unwrap();
    let (_, out) = doctor(&config);
    assert!(
        out.lines().any(|l| l.contains("[package] https://kiosk.example.com/app/: no permissions granted")
            && l.contains("booth.toml [package] remote_permissions")),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.contains("[apps.report] https://e.example/r/: permissions granted by booth.toml [apps.report] permissions: scanner, printer")
            || l.contains("[apps.report] https://e.example/r/: permissions granted by booth.toml [apps.report] permissions: printer, scanner")),
        "{out}"
    );
}
