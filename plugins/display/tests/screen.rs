//! The second-screen calls through the bridge, on a screen that records what it was asked to
//! show (the real window is exercised by `e2e secondary::*`).

use booth_bridge::{Bridge, Dialect, Family, Screen, SessionInfo};
use booth_display::{Display, Picture, ScreenError, ScreenState, SecondaryScreen};
use booth_testkit::events::Collect;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// A 3×2 red PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACAQMAAACnuvRZAAAABGdBTUEAALGPC/xhBQAAACBjSFJNAAB6JgAAgIQAAPoAAACA6AAAdTAAAOpgAAA6mAAAF3CculE8AAAABlBMVEX/AAD///9BHTQRAAAAAWJLR0QB/wIt3gAAAAd0SU1FB+oLFQgVJG65V4UAAAAMSURBVAjXY2BgYAAAAAQAASc0JwoAAAAldEVYdGRhdGU6Y3JlYXRlADIwMjYtMTEtMjFUMDg6MjE6MzYrMDA6MDC2TrVxAAAAJXRFWHRkYXRlOm1vZGlmeQAyMDI2LTExLTIxVDA4OjIxOjM2KzAwOjAwxxMNzQAAAABJRU5ErkJggg==";

/// A screen that keeps what it shows; `monitor: false` plays a terminal without a second monitor.
struct Recorder {
    monitor: bool,
    fail: Mutex<Option<String>>,
    shown: Mutex<Vec<Picture>>,
    state: Mutex<ScreenState>,
}

impl Recorder {
    fn new(monitor: bool) -> Arc<Recorder> {
        let state = if monitor { ScreenState::Closed } else { ScreenState::Absent };
        Arc::new(Recorder { monitor, fail: Mutex::default(), shown: Mutex::default(), state: Mutex::new(state) })
    }
}

impl SecondaryScreen for Recorder {
    fn show_picture(&self, picture: &Picture) -> Result<(), ScreenError> {
        if !self.monitor {
            return Err(ScreenError::Absent);
        }
        if let Some(why) = self.fail.lock().unwrap().clone() {
            return Err(ScreenError::Failed(why));
        }
        self.shown.lock().unwrap().push(picture.clone());
        *self.state.lock().unwrap() = ScreenState::Shown;
        Ok(())
    }
    fn close(&self) -> Result<(), ScreenError> {
        if !self.monitor {
            return Err(ScreenError::Absent);
        }
        *self.state.lock().unwrap() = ScreenState::Closed;
        Ok(())
    }
    fn state(&self) -> ScreenState {
        *self.state.lock().unwrap()
    }
}

fn page(bridge: &Bridge, permissions: &[Family]) -> u64 {
    let info = SessionInfo {
        key: "main".into(),
        package_id: "test".into(),
        permissions: permissions.iter().copied().collect(),
        dialects: [Dialect::My].into_iter().collect(),
        screen: Screen::Front,
        url: "booth://localhost/index.html".into(),
    };
    bridge.open_session(info, Arc::new(Collect::default()))
}

async fn ampe(bridge: &Bridge, page: u64, action: &str, params: Value) -> Value {
    let raw = json!({"action": action, "event": "open", "taskId": "t", "params": params}).to_string();
    bridge.call(page, Dialect::My, "ampeHHCommunication", &raw).await.body
}

fn rig(screen: Option<Arc<Recorder>>) -> (Bridge, u64) {
    let bridge = Bridge::default();
    let display = Display::new();
    display.register(&bridge);
    if let Some(s) = screen {
        display.set_screen(s);
    }
    let page = page(&bridge, &[Family::Display]);
    (bridge, page)
}

#[tokio::test]
async fn open_shows_the_picture_close_turns_it_off_and_state_follows() {
    let screen = Recorder::new(true);
    let (bridge, page) = rig(Some(screen.clone()));
    let state = ampe(&bridge, page, "getSecondaryScreenState", json!({})).await;
    assert_eq!(state["data"], json!({"getSecondaryScreenState": 0}), "{state}");

    let r = ampe(&bridge, page, "openSecondaryScreen", json!({"secondaryScreenBase64": PNG})).await;
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(r["message"], "成功");
    assert_eq!(r["action"], "openSecondaryScreen");
    assert_eq!(r["data"], json!({}));
    let shown = screen.shown.lock().unwrap().clone();
    assert_eq!(shown.len(), 1);
    assert_eq!((shown[0].mime, shown[0].width, shown[0].height), ("image/png", 3, 2));
    let state = ampe(&bridge, page, "getSecondaryScreenState", json!({})).await;
    assert_eq!(state["data"]["getSecondaryScreenState"], 1, "{state}");

    // A data: URL is accepted as well.
    let url = format!("data:image/png;base64,{PNG}");
    let r = ampe(&bridge, page, "openSecondaryScreen", json!({"secondaryScreenBase64": url})).await;
    assert_eq!(r["success"], true, "{r}");

    let r = ampe(&bridge, page, "closeSecondaryScreen", json!({})).await;
    assert_eq!(r["success"], true, "{r}");
    let state = ampe(&bridge, page, "getSecondaryScreenState", json!({})).await;
    assert_eq!(state["data"]["getSecondaryScreenState"], 0, "{state}");
}

#[tokio::test]
async fn bad_pictures_are_invalid_params_and_never_reach_the_screen() {
    let screen = Recorder::new(true);
    let (bridge, page) = rig(Some(screen.clone()));
    for (params, needle) in [
        (json!({}), "secondaryScreenBase64"),
        (json!({"secondaryScreenBase64": ""}), "为空"),
        (json!({"secondaryScreenBase64": 42}), "字符串"),
        (json!({"secondaryScreenBase64": "不是 base64!"}), "base64"),
        (json!({"secondaryScreenBase64": "aGVsbG8gd29ybGQ="}), "不是图片"),
        (json!({"secondaryScreenBase64": "iVBORw0KGgoAAAANSUhEUg=="}), "图片头无效"),
    ] {
        let r = ampe(&bridge, page, "openSecondaryScreen", params.clone()).await;
        assert_eq!(r["success"], false, "{params}: {r}");
        assert_eq!(r["errorCode"], "INVALID_PARAMS", "{params}: {r}");
        assert!(r["message"].as_str().unwrap().contains(needle), "{params}: {r}");
    }
    assert!(screen.shown.lock().unwrap().is_empty());
    let state = ampe(&bridge, page, "getSecondaryScreenState", json!({})).await;
    assert_eq!(state["data"]["getSecondaryScreenState"], 0, "{state}");
}

#[tokio::test]
async fn without_a_second_monitor_the_state_is_minus_one_and_open_is_unavailable() {
    for screen in [Some(Recorder::new(false)), None] {
        let (bridge, page) = rig(screen);
        let state = ampe(&bridge, page, "getSecondaryScreenState", json!({})).await;
        assert_eq!(state["success"], true, "{state}");
        assert_eq!(state["data"]["getSecondaryScreenState"], -1, "{state}");
        for action in ["openSecondaryScreen", "closeSecondaryScreen"] {
            let r = ampe(&bridge, page, action, json!({"secondaryScreenBase64": PNG})).await;
            assert_eq!(r["errorCode"], "DEVICE_UNAVAILABLE", "{action}: {r}");
            assert!(r["message"].as_str().unwrap().contains("没有副屏"), "{r}");
        }
    }
}

#[tokio::test]
async fn a_window_system_failure_is_a_device_error_and_the_next_call_works() {
    let screen = Recorder::new(true);
    let (bridge, page) = rig(Some(screen.clone()));
    *screen.fail.lock().unwrap() = Some("window refused".into());
    let r = ampe(&bridge, page, "openSecondaryScreen", json!({"secondaryScreenBase64": PNG})).await;
    assert_eq!(r["errorCode"], "DEVICE_ERROR", "{r}");
    assert!(r["message"].as_str().unwrap().contains("window refused"), "{r}");
    *screen.fail.lock().unwrap() = None;
    let r = ampe(&bridge, page, "openSecondaryScreen", json!({"secondaryScreenBase64": PNG})).await;
    assert_eq!(r["success"], true, "{r}");
}

#[tokio::test]
async fn the_calls_need_the_display_permission() {
    let bridge = Bridge::default();
    let display = Display::new();
    display.register(&bridge);
    display.set_screen(Recorder::new(true));
    let page = page(&bridge, &[Family::Scanner]);
    for action in ["openSecondaryScreen", "closeSecondaryScreen", "getSecondaryScreenState"] {
        let r = ampe(&bridge, page, action, json!({"secondaryScreenBase64": PNG})).await;
        assert_eq!(r["errorCode"], "PERMISSION_DENIED", "{action}: {r}");
    }
}
