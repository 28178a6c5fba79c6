//! `booth package keygen`, `booth package sign` and `booth fleet` against a private mosquitto
//! and a running fleet agent that pins the key: signed commands, status, and a signed package
//! pushed to the terminal until its `update` event says installed.

use booth_fleet::agent::AgentOptions;
use booth_fleet::host::Windowless;
use booth_fleet::store::Store;
use booth_fleet::{Agent, FleetHost, FleetSection};
use booth_testkit::mosquitto::Mosquitto;
use booth_testkit::web::WebServer;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

fn booth(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_booth"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("BOOTH_KEY_PASSWORD")
        .output()
        .expect("booth runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn package_zip(path: &Path, version: &str) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let o = zip::write::SimpleFileOptions::default();
    w.start_file("miniapp.json", o).unwrap();
    w.write_all(
        json!({"id": "shop", "name": "Shop", "version": version, "entry": "index.html"}).to_string().as_bytes(),
    )
    .unwrap();
    w.start_file("index.html", o).unwrap();
    w.write_all(b"<p>shop").unwrap();
    w.finish().unwrap();
}

#[test]
fn keygen_sign_and_push_to_a_running_terminal() {
    let work = tempfile::tempdir().unwrap();
    let key = work.path().join("ops.key");
    let key_s = key.to_str().unwrap();
    let (code, out, err) = booth(&["package", "keygen", "--key", key_s], &[]);
    assert_eq!(code, 0, "{out}{err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let public = std::fs::read_to_string(work.path().join("ops.key.pub")).unwrap();
    assert!(out.contains(public.lines().last().unwrap()), "prints the key line for booth.toml: {out}");
    let (code, _, err) = booth(&["package", "keygen", "--key", key_s], &[]);
    assert_eq!(code, 2, "never overwritten: {err}");

    let zip = work.path().join("shop-2.0.0.zip");
    package_zip(&zip, "2.0.0");
    let (code, out, err) =
        booth(&["package", "sign", zip.to_str().unwrap(), "--key", key_s, "--min-booth", "0.1.0"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(work.path().join("shop-2.0.0.zip.manifest.json")).unwrap()).unwrap();
    assert_eq!((manifest["app"].as_str(), manifest["version"].as_str()), (Some("shop"), Some("2.0.0")));
    assert!(work.path().join("shop-2.0.0.zip.manifest.json.minisig").is_file());

    // A terminal that runs only commands and packages signed with that key.
    let broker = Mosquitto::start();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let tdir = tempfile::tempdir().unwrap();
    let section = FleetSection {
        broker: broker.url(),
        terminal_id: "T1".into(),
        allow_insecure: true,
        telemetry_s: 1,
        update_keys: vec![public.clone()],
        command_keys: vec![public.clone()],
        ..Default::default()
    };
    let config = section.resolve("SN", tdir.path()).unwrap();
    let store = Store::new(config.packages_dir.clone());
    let host = Arc::new(Windowless::new(store.clone()));
    let opts = AgentOptions { config, booth_version: "0.1.0".into(), store: store.clone() };
    let agent = Arc::new(Agent::start(rt.handle(), opts, host.clone() as Arc<dyn FleetHost>).unwrap());
    host.attach(&agent);

    let url = broker.url();
    let conn = [("BOOTH_FLEET_BROKER", url.as_str())];
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (code, out, err) = booth(&["fleet", "--allow-insecure", "status", "--json"], &conn);
        assert_eq!(code, 0, "{err}");
        let views: Value = serde_json::from_str(&out).unwrap();
        if views[0]["terminal"] == "T1" && views[0]["status"]["state"] == "online" {
            break;
        }
        assert!(std::time::Instant::now() < end, "T1 never online: {out}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (code, out, _) = booth(&["fleet", "--allow-insecure", "status"], &conn);
    assert!(code == 0 && out.starts_with("TERMINAL") && out.contains("\nT1 "), "{out}");

    // Unsigned: refused (exit 1); signed: run.
    let (code, out, _) = booth(&["fleet", "--allow-insecure", "cmd", "T1", "doctor"], &conn);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Refused"), "{out}");
    let signed = [("BOOTH_FLEET_BROKER", url.as_str()), ("BOOTH_FLEET_KEY", key_s)];
    let (code, out, err) = booth(&["fleet", "--allow-insecure", "cmd", "T1", "doctor"], &signed);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("T1  Ok"), "{out}");
    // The same from the operator's file: broker and key (relative to the file) in fleet.toml.
    let file = work.path().join("fleet.toml");
    std::fs::write(&file, format!("broker = \"{url}\"\nallow_insecure = true\nkey = \"ops.key\"\n")).unwrap();
    let (code, out, err) = booth(&["fleet", "--config", file.to_str().unwrap(), "cmd", "T1", "doctor"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("T1  Ok"), "{out}");
    let bad = work.path().join("bad.toml");
    std::fs::write(&bad, format!("broker = \"{url}\"\nallow_insecure = true\nbrokr = \"x\"\n")).unwrap();
    let (code, _, err) = booth(&["fleet", "--config", bad.to_str().unwrap(), "status"], &[]);
    assert!(code == 2 && err.contains("brokr"), "an unknown key is an error: {err}");
    let (code, _, err) = booth(&["fleet", "--config", "/nonexistent/fleet.toml", "status"], &[]);
    assert!(code == 2 && err.contains("/nonexistent/fleet.toml"), "{err}");
    let (code, out, _) = booth(&["fleet", "--allow-insecure", "cmd", "T1", "reload", "bogus=1"], &signed);
    assert!(code == 1 && out.contains("InvalidParams"), "{out}");

    // The push: the terminal downloads, checks, installs, restarts; its update event ends it.
    let port = WebServer::serving("/shop-2.0.0.zip", std::fs::read(&zip).unwrap()).port;
    let pkg_url = format!("http://127.0.0.1:{port}/shop-2.0.0.zip");
    let (code, out, err) = booth(
        &[
            "fleet",
            "--allow-insecure",
            "push",
            "T1",
            zip.to_str().unwrap(),
            "--url",
            &pkg_url,
            "--timeout-s",
            "30",
            "--json",
        ],
        &signed,
    );
    assert_eq!(code, 0, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["results"][0]["result"], "installed", "{report}");
    assert_eq!(store.current().map(|r| r.version).as_deref(), Some("2.0.0"));
    rt.block_on(async move { drop(agent) });
}
