//! End to end with the real serial scanner backend on a pty pair: codes reach the page, an
//! unplug gives DEVICE_UNAVAILABLE, and a replug works again without restarting booth.

use booth_e2e::{fixture, with_real_booth, Booth};
use booth_testkit::pty::Socat;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn scanner_available(b: &Booth, want: bool) {
    let start = Instant::now();
    loop {
        let (_, health) = b.control("GET", "/health", "");
        if health["devices"]["scanner"]["available"] == Value::Bool(want) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "scanner available != {want}: {health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn serial_scanner_unplug_and_replug_without_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut socat = Socat::start(dir.path());
    let config = dir.path().join("booth.toml");
    std::fs::write(
        &config,
        format!("[scanner]\nbackend = \"serial\"\nport = \"{}\"\nbaud = 9600\n", socat.app().display()),
    )
    .expect("booth.toml");
    let config = config.display().to_string();

    with_real_booth(&fixture("basic"), &["--config", &config], async |b| {
        b.wait_for("return window.ready", Duration::from_secs(5)).await;
        scanner_available(b, true).await;
        let (status, _) = b.control("POST", "/sim/scanner/scan", r#"{"code":"x"}"#);
        assert_eq!(status, 409, "a real scanner cannot be simulated");

        socat.send(b"SER-1\r\n");
        let seen = b.wait_for("return window.seen.qr.length >= 1 && window.seen.qr", Duration::from_secs(5)).await;
        assert_eq!(seen, json!([{"data": {"qrCode": "SER-1"}}]));

        // Unplug.
        socat.kill();
        scanner_available(b, false).await;
        let r =
            b.ampe(json!({"action": "getQRCode", "event": "open", "taskId": "u", "params": {"timeout": 2000}})).await;
        assert_eq!(r["success"], false, "{r}");
        assert_eq!(r["errorCode"], "DEVICE_UNAVAILABLE", "{r}");
        assert!(r["message"].as_str().unwrap_or("").contains("app"), "the message names the port: {r}");

        // Replug: same booth, same page.
        socat.restart();
        scanner_available(b, true).await;
        b.ampe_pending("one", json!({"action": "getQRCode", "taskId": "r", "params": {"timeout": 5000}})).await;
        socat.send(b"SER-2\n");
        let one = b.ampe_result("one").await;
        assert_eq!(one["success"], true, "{one}");
        assert_eq!(one["data"], json!({"qrCode": "SER-2"}));
    })
    .await;
}
