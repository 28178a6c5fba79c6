//! Keyboard-wedge scans reported by the page reach getQRCode and initQRListener like any other
//! scan; listenCodePayment pages get every code through onCodePayEvent, and only they.

use booth_bridge::{Bridge, Dialect, Family, Screen, SessionId, SessionInfo};
use booth_scanner::{Backend, Scanner, ScannerConfig, ScannerError, Wedge};
use booth_testkit::events::Collect;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

fn page(bridge: &Bridge, key: &str) -> (SessionId, Arc<Collect>) {
    let sink = Arc::new(Collect::default());
    let (dialects, _) = booth_bridge::all_permissions();
    let info = SessionInfo {
        key: key.into(),
        package_id: "t".into(),
        permissions: [Family::Scanner].into_iter().collect(),
        dialects,
        screen: Screen::Front,
        url: "booth://localhost/".into(),
    };
    (bridge.open_session(info, sink.clone()), sink)
}

fn rig(backend: Backend, wedge: Wedge) -> (Bridge, Arc<Scanner>) {
    let bridge = Bridge::default();
    let scanner = Scanner::start(ScannerConfig { backend, wedge, ..ScannerConfig::default() }, bridge.bus());
    scanner.register(&bridge);
    (bridge, scanner)
}

#[tokio::test]
async fn page_wedge_scans_reach_get_qr_code_and_the_listener() {
    // No other scanner: the page's wedge alone makes the scanner available.
    let (bridge, scanner) = rig(Backend::None, Wedge::Page);
    assert!(scanner.status().available, "{:?}", scanner.status());
    assert!(scanner.page_wedge().is_some());
    let (id, sink) = page(&bridge, "main");
    bridge.subscribe(id, Dialect::My, "initQRListener").unwrap();

    let b = bridge.clone();
    let task = tokio::spawn(async move {
        b.call(
            id,
            Dialect::My,
            "ampeHHCommunication",
            r#"{"action":"getQRCode","taskId":"w","params":{"timeout":3000}}"#,
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    scanner.page_scan("6901234567892").unwrap();
    let reply = task.await.unwrap();
    assert_eq!(reply.body["data"], json!({"qrCode": "6901234567892"}), "{:?}", reply);
    assert_eq!(sink.all()[0].body, json!({"data": {"qrCode": "6901234567892"}}));

    for bad in ["", "a\nb"] {
        assert_eq!(scanner.page_scan(bad), Err(ScannerError::InvalidCode));
    }
    let (_, off) = rig(Backend::Sim, Wedge::Off);
    assert_eq!(off.page_scan("123456"), Err(ScannerError::WedgeOff));
    assert!(off.page_wedge().is_none());
}

#[tokio::test]
async fn listen_code_payment_pages_get_on_code_pay_event() {
    let (bridge, scanner) = rig(Backend::Sim, Wedge::Page);
    let (a, sink_a) = page(&bridge, "main");
    let (b, sink_b) = page(&bridge, "secondary");
    for id in [a, b] {
        bridge.subscribe(id, Dialect::Wxfaceapp, "onCodePayEvent").unwrap();
    }
    let reply = bridge.call(a, Dialect::Wxfaceapp, "listenCodePayment", "{}").await;
    assert!(reply.ok);
    assert_eq!(reply.body, json!({"replyCode": "0", "reply": "success"}));

    scanner.inject("134567890123456789").unwrap();
    scanner.page_scan("wedge-code-1").unwrap();
    let got: Vec<Value> = sink_a.all().iter().map(|m| m.body.clone()).collect();
    assert_eq!(
        got,
        [
            json!({"replyCode": "0", "reply": "code payment happens", "code": "134567890123456789"}),
            json!({"replyCode": "0", "reply": "code payment happens", "code": "wedge-code-1"}),
        ]
    );
    assert!(sink_b.all().is_empty(), "only pages that declared listenCodePayment");
}
