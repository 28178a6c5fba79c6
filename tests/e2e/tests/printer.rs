//! End to end, receiptPrinting from a real page: on the simulated printer (the receipt shows up
//! in the simulator's state as a picture; paper out from the simulator fails the next call) and
//! on a real ESC/POS backend against booth-testkit's fake network printer (the raster it
//! decodes is the receipt, the page's picture included).
//! Needs Xvfb, a window manager and tauri-driver: run through `scripts/test-all`.

use booth_e2e::{fixture, with_booth, with_real_booth, Booth};
use booth_testkit::escpos::FakePrinter;
use serde_json::{json, Value};
use std::time::Duration;

async fn ready(b: &Booth) {
    b.wait_for("return window.ready", Duration::from_secs(5)).await;
}

async fn receipt(b: &Booth) -> Value {
    let picture = b.run_async("done(window.picture(128, 64, 'image/jpeg'));", Value::Null).await;
    json!([
        {"text": "E2E 收银小票", "textSize": 36, "bold": true, "algin": "center"},
        {"text": "矿泉水 550ml ￥2.00", "textSize": 26, "bold": false, "algin": "left"},
        {"text": "合计：￥2.00", "textSize": 26, "bold": false, "algin": "right"},
        {"imageBase64": picture, "width": 128, "height": 64}
    ])
}

fn print_call(list: Value) -> Value {
    json!({"action": "receiptPrinting", "event": "open", "taskId": "10", "params": {"printList": list}})
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn receipt_from_a_page_on_the_simulated_printer_and_paper_out() {
    with_booth(&fixture("printer"), &[], async |b| {
        ready(b).await;
        let list = receipt(b).await;
        let reply = b.ampe(print_call(list.clone())).await;
        assert_eq!(reply["success"], true, "{reply}");
        assert_eq!(reply["message"], "成功");
        assert_eq!(reply["taskId"], "10");
        let (_, sims) = b.control("GET", "/sim", "");
        let printer =
            sims["devices"].as_array().unwrap().iter().find(|d| d["id"] == "printer").cloned().expect("printer sim");
        let kept = &printer["state"]["receipts"][0];
        assert!(kept["text"].as_str().unwrap().contains("E2E 收银小票"), "{kept}");
        assert!(kept["png"].as_str().unwrap().starts_with("data:image/png;base64,"));

        let (status, _) = b.control("POST", "/sim/printer/paper-out", "{}");
        assert_eq!(status, 200);
        let reply = b.ampe(print_call(list.clone())).await;
        assert_eq!(reply["success"], false, "{reply}");
        assert_eq!(reply["errorCode"], "DEVICE_ERROR", "{reply}");
        b.control("POST", "/sim/printer/paper-in", "{}");
        let reply = b.ampe(print_call(json!([{"text": "x", "algin": "middle"}]))).await;
        assert_eq!(reply["errorCode"], "INVALID_PARAMS", "{reply}");
        assert_eq!(b.ampe(print_call(list)).await["success"], true);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn receipt_from_a_page_on_a_network_escpos_printer() {
    let fake = FakePrinter::tcp();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("booth.toml");
    std::fs::write(
        &config,
        format!("[printer]\nbackend = \"escpos\"\nport = \"{}\"\nwidth_mm = 58\n\n[log]\ndir = \"\"\n", fake.port()),
    )
    .unwrap();
    with_real_booth(&fixture("printer"), &["--config", &config.display().to_string()], async |b| {
        ready(b).await;
        let reply = b.ampe(print_call(receipt(b).await)).await;
        assert_eq!(reply["success"], true, "{reply}");
        let printed = fake.wait_printouts(1, Duration::from_secs(5));
        assert_eq!(printed.len(), 1);
        let p = &printed[0];
        assert_eq!(p.raster_stride, 48, "58 mm: 384 dots across");
        assert!(p.raster_height() > 64 + 3 * 26, "text and picture: {} rows", p.raster_height());
        let black: u32 = p.raster_rows.iter().map(|b| b.count_ones()).sum();
        assert!(black > 2000, "ink on the receipt: {black}");
        let (_, health) = b.control("GET", "/health", "");
        assert_eq!(health["devices"]["printer"]["available"], true, "{health}");
    })
    .await;
}
