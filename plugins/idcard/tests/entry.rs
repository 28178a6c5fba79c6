//! enterIDNumber: the call waits for the keypad, which submits through `IdEntry`; invalid
//! numbers keep it open, valid ones answer `idNum`; cancel and timeout use seed 000's words.
//! (The keypad UI itself is tested end to end in tests/e2e/tests/inputs.rs.)

mod common;

use booth_bridge::{Bridge, Dialect, Family, Screen, SessionInfo};
use booth_idcard::entry::{EntryScreen, IdEntry, Submitted};
use booth_idcard::id_number::Invalid;
use common::{answer, Collect};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records what the app would show.
#[derive(Default)]
struct Screens(Mutex<Vec<String>>);

impl EntryScreen for Screens {
    fn show(&self, window: &str, options: &Value) -> Result<(), String> {
        self.0.lock().unwrap().push(format!("show {window} {}", options["timeoutMs"]));
        Ok(())
    }
    fn hide(&self, window: &str) {
        self.0.lock().unwrap().push(format!("hide {window}"));
    }
}

fn rig() -> (Bridge, Arc<IdEntry>, Arc<Screens>, u64) {
    let bridge = Bridge::default();
    let entry = IdEntry::new(Duration::from_secs(60));
    entry.register(&bridge);
    let screens = Arc::new(Screens::default());
    entry.set_screen(screens.clone());
    let info = SessionInfo {
        key: "main".into(),
        package_id: "t".into(),
        permissions: [Family::Identity].into_iter().collect(),
        dialects: [Dialect::My].into_iter().collect(),
        screen: Screen::Front,
        url: "booth://localhost/".into(),
    };
    let session = bridge.open_session(info, Arc::new(Collect::default()));
    (bridge, entry, screens, session)
}

fn start(bridge: &Bridge, session: u64, raw: &'static str) -> tokio::task::JoinHandle<booth_bridge::Reply> {
    let bridge = bridge.clone();
    tokio::spawn(async move { bridge.call(session, Dialect::My, "ampeHHCommunication", raw).await })
}

const ENTER: &str = r#"{"action":"enterIDNumber","event":"open","taskId":"9"}"#;

#[tokio::test]
async fn typed_number_is_checked_then_answered() {
    let (bridge, entry, screens, session) = rig();
    assert_eq!(entry.submit(session, "410922199611150054"), Submitted::NotWaiting);
    let task = start(&bridge, session, ENTER);
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert!(entry.waiting(session));
    assert_eq!(*screens.0.lock().unwrap(), ["show main 60000"]);

    assert_eq!(entry.submit(session, "410922199611150055"), Submitted::Rejected(Invalid::Checksum));
    assert_eq!(entry.submit(session, "41092219961115"), Submitted::Rejected(Invalid::Length));
    assert!(!task.is_finished(), "a rejected number keeps the keypad open");
    assert_eq!(entry.submit(session, "410922199611150054"), Submitted::Accepted);
    let body = answer(task, Duration::from_secs(1)).await;
    assert_eq!(
        body,
        json!({"action": "enterIDNumber", "event": "open", "taskId": "9", "success": true, "message": "成功", "data": {"idNum": "410922199611150054"}})
    );
    assert_eq!(*screens.0.lock().unwrap(), ["show main 60000", "hide main"]);
    assert!(!entry.waiting(session));
}

#[tokio::test]
async fn cancel_and_timeout_use_the_documented_messages() {
    let (bridge, entry, screens, session) = rig();
    let task = start(&bridge, session, ENTER);
    tokio::time::sleep(Duration::from_millis(30)).await;
    // A second keypad for the same page is refused while the first is open.
    let second = bridge.call(session, Dialect::My, "ampeHHCommunication", ENTER).await;
    assert_eq!(second.body["errorCode"], json!("BUSY"), "{:?}", second);
    assert!(entry.cancel(session));
    let body = answer(task, Duration::from_secs(1)).await;
    assert_eq!(body["success"], json!(false));
    assert_eq!(body["message"], json!("取消手输证件号"));
    assert_eq!(body["errorCode"], json!("CANCELLED"));

    let started = std::time::Instant::now();
    let body = bridge
        .call(
            session,
            Dialect::My,
            "ampeHHCommunication",
            r#"{"action":"enterIDNumber","taskId":"t","params":{"timeout":5000}}"#,
        )
        .await
        .body;
    assert_eq!(body["message"], json!("手输证件号超时"), "{body}");
    assert_eq!(body["errorCode"], json!("TIMEOUT"));
    assert!(started.elapsed() >= Duration::from_secs(5));
    assert_eq!(screens.0.lock().unwrap().iter().filter(|s| s.starts_with("hide")).count(), 2);

    let bad = bridge
        .call(session, Dialect::My, "ampeHHCommunication", r#"{"action":"enterIDNumber","params":{"timeout":10}}"#)
        .await
        .body;
    assert_eq!(bad["errorCode"], json!("INVALID_PARAMS"));
}

#[tokio::test]
async fn without_a_screen_the_call_fails_at_once() {
    let bridge = Bridge::default();
    let entry = IdEntry::new(Duration::from_secs(60));
    entry.register(&bridge);
    let info = SessionInfo {
        key: "main".into(),
        package_id: "t".into(),
        permissions: [Family::Identity].into_iter().collect(),
        dialects: [Dialect::My].into_iter().collect(),
        screen: Screen::Front,
        url: "booth://localhost/".into(),
    };
    let session = bridge.open_session(info, Arc::new(Collect::default()));
    let body = bridge.call(session, Dialect::My, "ampeHHCommunication", ENTER).await.body;
    assert_eq!(body["errorCode"], json!("DEVICE_UNAVAILABLE"));
}
