//! open-certify through the bridge with a stand-in window that reports what a person or a page
//! would do (the real window is exercised by `e2e certify::*`).

use booth_bridge::{Bridge, Dialect, Family, Screen, SessionInfo};
use booth_certify::{Certify, CertifyWindow, OpenRequest, WindowEvent};
use booth_testkit::events::Collect;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use url::Url;

const ORIGIN: &str = "https://certify.example.com";

/// Opens nothing; answers each open with the next scripted event (none: stays open).
#[derive(Default)]
struct StandIn {
    script: Mutex<Vec<Option<WindowEvent>>>,
    opened: Mutex<Vec<OpenRequest>>,
    open_now: Mutex<bool>,
    closes: Mutex<u32>,
    fail: Mutex<Option<String>>,
}

impl CertifyWindow for StandIn {
    fn open(&self, request: &OpenRequest, events: UnboundedSender<WindowEvent>) -> Result<(), String> {
        if let Some(why) = self.fail.lock().unwrap().clone() {
            return Err(why);
        }
        self.opened.lock().unwrap().push(request.clone());
        *self.open_now.lock().unwrap() = true;
        let next = self.script.lock().unwrap().remove(0);
        if let Some(e) = next {
            events.send(e).unwrap();
        } else {
            // Keep the sender alive: the window stays open.
            std::mem::forget(events);
        }
        Ok(())
    }
    fn close(&self) {
        *self.open_now.lock().unwrap() = false;
        *self.closes.lock().unwrap() += 1;
    }
}

fn rig(window: Arc<StandIn>, permissions: &[Family]) -> (Bridge, u64) {
    let bridge = Bridge::default();
    let certify = Certify::new(false, None);
    certify.register(&bridge);
    certify.set_window(window, vec![ORIGIN.to_string()]);
    let info = SessionInfo {
        key: "main".into(),
        package_id: "test".into(),
        permissions: permissions.iter().copied().collect(),
        dialects: [Dialect::My].into_iter().collect(),
        screen: Screen::Front,
        url: "booth://localhost/index.html".into(),
    };
    let page = bridge.open_session(info, Arc::new(Collect::default()));
    (bridge, page)
}

fn param(id: &str, url: &str) -> String {
    json!({"name": "open-certify", "param": json!({"certifyId": id, "url": url}).to_string()}).to_string()
}

async fn call(bridge: &Bridge, page: u64, raw: &str) -> (bool, Value) {
    let r = bridge.call(page, Dialect::My, "startBizService", raw).await;
    (r.ok, r.body)
}

#[tokio::test]
async fn each_window_outcome_is_seed_003s_answer_and_the_window_closes() {
    let w = Arc::new(StandIn::default());
    let url = format!("{ORIGIN}/h5?certifyId=c1");
    let back = |q: &str| Url::parse(&format!("https://shop.example/done?{q}")).unwrap();
    *w.script.lock().unwrap() = vec![
        Some(WindowEvent::Returned(back("certifyId=c1&status=PASSED"))),
        Some(WindowEvent::Closed),
        Some(WindowEvent::LoadFailed("Could not connect: Connection refused".into())),
        Some(WindowEvent::Returned(back("certifyId=c1&status=FAILED&errorCode=USER_IS_NOT_CERTIFY"))),
    ];
    let (bridge, page) = rig(w.clone(), &[Family::Identity]);

    let (ok, passed) = call(&bridge, page, &param("c1", &url)).await;
    assert!(ok);
    assert_eq!(passed, json!({"resultStatus": "9000", "result": {"certifyId": "c1"}}));
    let opened = w.opened.lock().unwrap()[0].clone();
    assert_eq!((opened.parent.as_str(), opened.origin.as_str(), opened.url.as_str()), ("main", ORIGIN, url.as_str()));
    assert_eq!(opened.camera, None, "no camera, no grant");
    assert!(!*w.open_now.lock().unwrap(), "the window closes when the call answers");

    assert_eq!(call(&bridge, page, &param("c1", &url)).await.1, json!({"resultStatus": "6001", "result": {}}));
    let (_, down) = call(&bridge, page, &param("c1", &url)).await;
    assert_eq!(down["resultStatus"], "6002", "{down}");
    assert_eq!(down["result"], json!({}));
    let (ok, failed) = call(&bridge, page, &param("c1", &url)).await;
    assert!(!ok);
    assert_eq!(failed["resultStatus"], "4000");
    assert_eq!(failed["success"], false);
    assert_eq!(failed["errorCode"], "DEVICE_ERROR");
    assert_eq!(failed["result"], json!({"certifyId": "c1", "errorCode": "USER_IS_NOT_CERTIFY"}));
    assert_eq!(*w.closes.lock().unwrap(), 4);
}

#[tokio::test]
async fn refusals_open_no_window() {
    let w = Arc::new(StandIn::default());
    let (bridge, page) = rig(w.clone(), &[Family::Identity]);
    let (ok, other) = call(&bridge, page, &param("c1", "https://evil.example.com/h5")).await;
    assert!(!ok);
    assert_eq!(other["resultStatus"], "4000");
    assert_eq!(other["errorCode"], "PERMISSION_DENIED");
    assert_eq!(other["result"], json!({"errorCode": "PERMISSION_DENIED"}));
    assert!(other["message"].as_str().unwrap().contains("https://evil.example.com"), "{other}");
    let (_, bad) = call(&bridge, page, r#"{"name":"open-certify","param":"{\"certifyId\":\"c1\"}"}"#).await;
    assert_eq!(bad["errorCode"], "INVALID_PARAMS", "{bad}");
    assert!(w.opened.lock().unwrap().is_empty());

    // Without the identity permission the call never reaches the window either.
    let (bridge, page) = rig(w.clone(), &[]);
    let (_, denied) = call(&bridge, page, &param("c1", &format!("{ORIGIN}/h5"))).await;
    assert_eq!(denied["errorCode"], "PERMISSION_DENIED", "{denied}");
    assert!(w.opened.lock().unwrap().is_empty());

    // A window that cannot open is a device error, not a hang.
    *w.fail.lock().unwrap() = Some("no display".into());
    let (bridge, page) = rig(w.clone(), &[Family::Identity]);
    let (_, broken) = call(&bridge, page, &param("c1", &format!("{ORIGIN}/h5"))).await;
    assert_eq!(broken["errorCode"], "DEVICE_ERROR", "{broken}");
    assert!(broken["message"].as_str().unwrap().contains("no display"));
}

#[tokio::test]
async fn one_certification_at_a_time_and_the_page_leaving_closes_the_window() {
    let w = Arc::new(StandIn::default());
    *w.script.lock().unwrap() = vec![None, Some(WindowEvent::Closed)];
    let (bridge, page) = rig(w.clone(), &[Family::Identity]);
    let url = format!("{ORIGIN}/h5");
    let first = {
        let (bridge, raw) = (bridge.clone(), param("c1", &url));
        tokio::spawn(async move { bridge.call(page, Dialect::My, "startBizService", &raw).await })
    };
    for _ in 0..100 {
        if *w.open_now.lock().unwrap() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(*w.open_now.lock().unwrap());
    let (_, busy) = call(&bridge, page, &param("c2", &url)).await;
    assert_eq!(busy["errorCode"], "BUSY", "{busy}");
    assert_eq!(busy["resultStatus"], "4000");

    // The page navigates away: its call is cancelled and the window closes.
    assert!(bridge.end_session(page));
    let r = first.await.unwrap();
    assert_eq!(r.body["errorCode"], "CANCELLED", "{:?}", r.body);
    assert!(!*w.open_now.lock().unwrap());
    // And the next certification may start.
    let (bridge, page) = {
        let info = SessionInfo {
            key: "main".into(),
            package_id: "test".into(),
            permissions: [Family::Identity].into_iter().collect(),
            dialects: [Dialect::My].into_iter().collect(),
            screen: Screen::Front,
            url: "booth://localhost/index.html".into(),
        };
        let page = bridge.open_session(info, Arc::new(Collect::default()));
        (bridge, page)
    };
    assert_eq!(call(&bridge, page, &param("c3", &url)).await.1["resultStatus"], "6001");
}
