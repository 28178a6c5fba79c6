//! The simulated printer (what `booth dev` and `--sim` use) and the queue's promises: every
//! receipt is kept as PNG and PDF, paper out and cover open come from simulator actions, and a
//! job already queued prints even when its page goes away.

mod common;

use booth_bridge::{Dialect, Family, Screen, SessionInfo, SimRegistry};
use booth_printer::{BackendKind, Mode, PrinterConfig};
use booth_testkit::escpos::FakePrinter;
use common::{error_code, text, Rig};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn sim_keeps_receipts_and_plays_paper_out_and_cover_open() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("receipts");
    let rig = Rig::new(PrinterConfig {
        backend: BackendKind::Sim,
        keep: keep.display().to_string(),
        width_mm: 80,
        ..Default::default()
    });
    let sims = SimRegistry::default();
    rig.printer.register_sim(&sims);
    let act = |a: &str| sims.act("printer", a, &json!({})).unwrap_or_else(|e| panic!("{a}: {e}"));

    let reply = rig.print(json!([text("模拟打印 1"), {"text": "居中", "algin": "center"}])).await;
    assert_eq!(reply["success"], true, "{reply}");
    let state = act("clear");
    assert_eq!(state["printed"], 1);
    assert_eq!(state["receipts"], json!([]));

    let reply = rig.print(json!([text("模拟打印 2")])).await;
    assert_eq!(reply["success"], true, "{reply}");
    let state =
        sims.describe()["devices"].as_array().unwrap().iter().find(|d| d["id"] == "printer").unwrap()["state"].clone();
    let r = &state["receipts"][0];
    assert_eq!(r["widthMm"], 80);
    assert!(r["png"].as_str().unwrap().starts_with("data:image/png;base64,"));
    assert!(r["text"].as_str().unwrap().contains("模拟打印 2"));
    let files: Vec<String> =
        std::fs::read_dir(&keep).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(files.iter().filter(|f| f.ends_with(".png")).count(), 2, "{files:?}");
    assert_eq!(files.iter().filter(|f| f.ends_with(".pdf")).count(), 2, "{files:?}");
    let pdf = std::fs::read(r["pdfPath"].as_str().unwrap()).unwrap();
    assert!(pdf.starts_with(b"%PDF") && pdf.len() < 60_000, "{}", pdf.len());

    act("paper-out");
    let reply = rig.print(json!([text("缺纸")])).await;
    assert_eq!(error_code(&reply), "DEVICE_ERROR", "{reply}");
    assert_eq!(reply["message"], "设备执行失败: 打印机缺纸");
    act("paper-in");
    act("cover-open");
    let reply = rig.print(json!([text("开盖")])).await;
    assert_eq!(error_code(&reply), "DEVICE_ERROR", "{reply}");
    act("cover-close");
    assert_eq!(rig.print(json!([text("恢复")])).await["success"], true);
    assert!(rig.printer.status().available);
}

#[test]
fn real_backends_refuse_simulator_actions() {
    let printer = booth_printer::Printer::start(PrinterConfig {
        backend: BackendKind::Escpos,
        port: "tcp://127.0.0.1:1".into(),
        ..Default::default()
    });
    let sims = SimRegistry::default();
    printer.register_sim(&sims);
    assert!(sims.act("printer", "paper-out", &json!({})).is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_queued_by_a_page_that_went_away_still_prints() {
    let fake = FakePrinter::tcp();
    let rig = Rig::new(PrinterConfig {
        backend: BackendKind::Escpos,
        port: fake.port(),
        mode: Mode::Text,
        status_timeout_ms: 1500,
        ..Default::default()
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while !rig.printer.status().available {
        assert!(Instant::now() < deadline, "start-up probe: {:?}", rig.printer.status());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The printer hesitates: the first job waits for its status answer.
    fake.set_silent(true);
    let first = {
        let req = json!({"action": "receiptPrinting", "event": "open", "taskId": "1", "params": {"printList": [text("第一张")]}});
        let bridge = rig.bridge.clone();
        let s = rig.session;
        tokio::spawn(async move { bridge.call(s, Dialect::My, "ampeHHCommunication", &req.to_string()).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let other = rig.bridge.open_session(
        SessionInfo {
            key: "secondary".into(),
            package_id: "test.printer".into(),
            permissions: [Family::Printer].into_iter().collect(),
            dialects: [Dialect::My].into_iter().collect(),
            screen: Screen::Front,
            url: "booth://localhost/".into(),
        },
        Arc::new(Sink),
    );
    let second = {
        let req = json!({"action": "receiptPrinting", "event": "open", "taskId": "2", "params": {"printList": [text("第二张")]}});
        let bridge = rig.bridge.clone();
        tokio::spawn(async move { bridge.call(other, Dialect::My, "ampeHHCommunication", &req.to_string()).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The second page navigates away while its receipt waits in the queue.
    rig.bridge.end_session(other);
    let gone = second.await.unwrap();
    assert_eq!(gone.body["errorCode"], "CANCELLED", "{}", gone.body);
    fake.set_silent(false);
    let first = first.await.unwrap();
    assert_eq!(first.body["errorCode"], "DEVICE_UNAVAILABLE", "{}", first.body);
    let printed = fake.wait_printouts(1, Duration::from_secs(5));
    assert_eq!(printed.len(), 1, "the second receipt printed anyway");
    assert_eq!(printed[0].text(), ["第二张"]);
    let deadline = Instant::now() + Duration::from_secs(2);
    while !rig.printer.status().available && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(rig.printer.status().available, "{:?}", rig.printer.status());
}

struct Sink;
impl booth_bridge::EventSink for Sink {
    fn deliver(&self, _: booth_bridge::EventMessage) -> bool {
        true
    }
}

#[test]
fn test_receipt_prints_from_a_plain_thread() {
    let printer = booth_printer::Printer::start(PrinterConfig { backend: BackendKind::Sim, ..Default::default() });
    let printed = printer.print_blocking(Some(printer.test_receipt()));
    assert!(printed.is_ok(), "{printed:?}");
    let kept = printer.kept();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].text.contains("Booth 打印测试"));
    assert!(kept[0].height_dots > 300);
}
