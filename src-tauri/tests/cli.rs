//! The command line refuses broken packages and settings with one clear line and a non-zero exit,
//! before any window opens (these run without a display).

use std::path::Path;
use std::process::Command;

fn booth(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_booth"))
        .args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("booth-cli-test-no-config"))
        .output()
        .expect("booth runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write fixture");
}

/// Asserts a refusal: exit 2, exactly one stderr line, naming `file` and saying `problem`.
fn assert_refused(args: &[&str], file: &str, problem: &str) {
    let (code, _, err) = booth(args);
    assert_eq!(code, 2, "{args:?}: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?} printed several lines:\n{err}");
    assert!(lines[0].starts_with("booth: error: "), "{err}");
    assert!(lines[0].contains(file), "{err} should name {file}");
    assert!(lines[0].contains(problem), "{err} should say {problem}");
}

const OK: &str = r#"{"id":"cli.test","name":"CLI","version":"1","entry":"index.html"}"#;

#[test]
fn version_and_help() {
    let (code, out, _) = booth(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("booth {}", env!("CARGO_PKG_VERSION")));
    let (code, out, _) = booth(&["run", "--help"]);
    assert_eq!(code, 0);
    for needle in ["--sim", "--control-port", "--config", "Examples:", "booth run examples/demo --sim"] {
        assert!(out.contains(needle), "help lacks {needle}:\n{out}");
    }
}

#[test]
fn broken_folders_are_refused() {
    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path().to_str().expect("utf-8 path");
    write(d.path(), "index.html", "<p>hi");
    assert_refused(&["run", p], p, "no miniapp.json");

    write(d.path(), "miniapp.json", "{ \"id\": ");
    assert_refused(&["run", p], "miniapp.json", "EOF while parsing");

    write(
        d.path(),
        "miniapp.json",
        r#"{"id":"a","name":"n","version":"1","entry":"index.html","permissions":"scanner"}"#,
    );
    assert_refused(&["run", p], "miniapp.json", "permissions: invalid type: string");

    write(
        d.path(),
        "miniapp.json",
        r#"{"id":"a","name":"n","version":"1","entry":"index.html","permissions":["scaner"]}"#,
    );
    assert_refused(&["run", p], "miniapp.json", "permissions[0]: unknown permission `scaner`");

    write(d.path(), "miniapp.json", r#"{"id":"a","name":"n","version":"1","entry":"start.html"}"#);
    assert_refused(&["run", p], "miniapp.json", "entry: `start.html` does not exist");

    assert_refused(&["run", "/nonexistent/booth-pkg"], "/nonexistent/booth-pkg", "cannot open package");
}

#[test]
fn a_zip_that_is_not_a_zip_is_refused() {
    let d = tempfile::tempdir().expect("tempdir");
    let z = d.path().join("shop.zip");
    std::fs::write(&z, "this is not a zip").expect("write");
    let z = z.to_str().expect("utf-8 path");
    assert_refused(&["run", z], "shop.zip", "not a zip archive");
}

#[test]
fn broken_settings_are_refused() {
    let d = tempfile::tempdir().expect("tempdir");
    write(d.path(), "miniapp.json", OK);
    write(d.path(), "index.html", "<p>hi");
    write(d.path(), "booth.toml", "[scanner]\nbackend = \"serial\"\n");
    let pkg = d.path().to_str().expect("utf-8 path");
    let cfg = d.path().join("booth.toml");
    let cfg = cfg.to_str().expect("utf-8 path");
    assert_refused(&["run", pkg, "--config", cfg], "booth.toml", "scanner.port: required");
    assert_refused(&["run", pkg, "--config", "/nonexistent/booth.toml"], "/nonexistent/booth.toml", "cannot read");
}

#[test]
fn a_taken_control_port_is_refused_before_any_window() {
    let d = tempfile::tempdir().expect("tempdir");
    write(d.path(), "miniapp.json", OK);
    write(d.path(), "index.html", "<p>hi");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let pkg = d.path().to_str().expect("utf-8 path");
    assert_refused(&["run", pkg, "--control-port", &port], &format!("127.0.0.1:{port}"), "cannot listen");
}

#[test]
fn developer_commands_refuse_clearly() {
    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path().to_str().expect("utf-8 path");
    // booth new: a non-empty folder is left alone.
    write(d.path(), "keep.txt", "mine");
    assert_refused(&["new", p], p, "exists and is not empty");
    assert_eq!(std::fs::read_to_string(d.path().join("keep.txt")).unwrap(), "mine");
    // booth dev: a folder with neither manifest nor index.html.
    assert_refused(&["dev", p], p, "no miniapp.json and no index.html");
    // booth replay: not a recording, named with its line.
    write(d.path(), "rec.jsonl", "{\"type\":\"start\"}\nnonsense\n");
    let rec = d.path().join("rec.jsonl");
    assert_refused(&["replay", rec.to_str().unwrap(), "--against", p], "rec.jsonl:2", "not a flight record");
    // booth sim: nobody listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (code, _, err) = booth(&["sim", "scanner", "scan", "1", "--control-port", &port.to_string()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("no Booth answering on 127.0.0.1:{port}")), "{err}");
}

#[test]
fn booth_new_writes_a_package_that_loads() {
    let d = tempfile::tempdir().expect("tempdir");
    let dir = d.path().join("kiosk app");
    let (code, out, err) = booth(&["new", dir.to_str().unwrap(), "--name", "食堂"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("booth dev"), "{out}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("miniapp.json")).unwrap()).unwrap();
    assert_eq!(manifest["id"], "kiosk-app");
    assert_eq!(manifest["name"], "食堂");
    assert!(std::fs::read_to_string(dir.join("index.html")).unwrap().contains("<title>食堂</title>"));
}

/// A machine's first start: no log folder, no config folder, nothing cached. Booth still prints
/// only its own line (the log appender once printed a second one about the missing folder).
#[test]
fn a_first_start_on_a_fresh_machine_prints_only_booths_line() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_booth"))
        .args(["run", "/nonexistent/package"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("HOME", home.path())
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("XDG_STATE_HOME")
        .output()
        .expect("booth runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "a first start printed more than its one line:\n{err}");
    assert!(lines[0].starts_with("booth: error: /nonexistent/package"), "{err}");
    if cfg!(target_os = "linux") {
        assert!(home.path().join(".local/share/booth/logs").is_dir(), "the log folder is made at the first start");
    }
}
