//! registKeyBoard / onKeyBoardEvent with keys from a serial keypad on a socat pty pair, from the
//! page window and from the simulator; the -1 replies for bad lists; unplug and replug.

use booth_bridge::{Bridge, Dialect, EventMessage, EventSink, Family, Screen, SessionId, SessionInfo, SimRegistry};
use booth_keypad::{Keypad, KeypadConfig, SerialFormat, REGISTERED};
use booth_testkit::pty::Socat;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;

#[derive(Default)]
struct Keys(Mutex<Vec<String>>);

impl EventSink for Keys {
    fn deliver(&self, m: EventMessage) -> bool {
        assert_eq!((m.dialect, m.name.as_str()), (Dialect::Wxfaceapp, "onKeyBoardEvent"));
        assert_eq!(m.body["keyName"], m.body["keyCode"]);
        self.0.lock().unwrap().push(m.body["keyName"].as_str().unwrap().to_string());
        true
    }
}

impl Keys {
    fn got(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

struct Page {
    session: SessionId,
    keys: Arc<Keys>,
}

struct Rig {
    bridge: Bridge,
    keypad: Arc<Keypad>,
}

impl Rig {
    fn new(config: KeypadConfig) -> Rig {
        let bridge = Bridge::default();
        let keypad = Keypad::start(config, bridge.bus());
        keypad.register(&bridge);
        Rig { bridge, keypad }
    }

    fn page(&self, window: &str) -> Page {
        let keys = Arc::new(Keys::default());
        let info = SessionInfo {
            key: window.into(),
            package_id: "test.keypad".into(),
            permissions: [Family::Keyboard].into_iter().collect(),
            dialects: [Dialect::Wxfaceapp].into_iter().collect(),
            screen: Screen::Front,
            url: "booth://localhost/".into(),
        };
        let session = self.bridge.open_session(info, keys.clone());
        self.bridge.subscribe(session, Dialect::Wxfaceapp, "onKeyBoardEvent").unwrap();
        Page { session, keys }
    }

    async fn regist(&self, page: &Page, params: Value) -> (bool, Value) {
        let r = self.bridge.call(page.session, Dialect::Wxfaceapp, "registKeyBoard", &params.to_string()).await;
        (r.ok, r.body)
    }

    async fn wait_available(&self, want: bool) {
        let deadline = Instant::now() + Duration::from_secs(3);
        while self.keypad.status().available != want {
            assert!(Instant::now() < deadline, "available != {want}: {:?}", self.keypad.status());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.keypad.shutdown();
    }
}

async fn wait_keys(page: &Page, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(2);
    while page.keys.got().len() < n {
        assert!(Instant::now() < deadline, "{n} keys: {:?}", page.keys.got());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    page.keys.got()
}

fn seed_list() -> Value {
    json!({"keyCodeList": [{"keyCode": "144"}, {"keyCode": "145"}, {"keyCode": "146"}, {"keyCode": "147"},
                           {"keyCode": "148"}, {"keyCode": "149"}, {"keyCode": "157"}]})
}

#[tokio::test]
async fn serial_keypad_keys_reach_registered_pages() {
    let dir = TempDir::new().unwrap();
    let socat = Socat::start(dir.path());
    let rig = Rig::new(KeypadConfig {
        serial: Some((socat.app().display().to_string(), 9600, SerialFormat::Code)),
        ..KeypadConfig::default()
    });
    rig.wait_available(true).await;
    assert_eq!(rig.keypad.status().backend, "page+serial");
    let page = rig.page("main");
    let other = rig.page("secondary");
    let (ok, body) = rig.regist(&page, seed_list()).await;
    assert!(ok, "{body}");
    assert_eq!(body, json!({"replyCode": "0", "reply": REGISTERED}));
    assert!(rig.regist(&other, json!({"keyCodeList": [{"keyCode": 157}]})).await.0);

    // Registered keys arrive in order; 150 is nobody's; 157 reaches both pages.
    socat.send(b"144\r\n150\r\n149\n157\r\n");
    assert_eq!(wait_keys(&page, 3).await, ["144", "149", "157"]);
    assert_eq!(wait_keys(&other, 1).await, ["157"]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(page.keys.got().len(), 3);

    // Registering again replaces the list.
    rig.regist(&page, json!({"keyCodeList": [{"keyCode": "150"}]})).await;
    socat.send(b"144\r\n150\r\n");
    assert_eq!(wait_keys(&page, 4).await[3], "150");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(page.keys.got().len(), 4);
}

#[tokio::test]
async fn serial_keypad_name_and_char_formats() {
    for (format, bytes) in [(SerialFormat::Name, &b"Numpad1\r\nNumpadAdd\r\n"[..]), (SerialFormat::Char, &b"1+"[..])] {
        let dir = TempDir::new().unwrap();
        let socat = Socat::start(dir.path());
        let rig = Rig::new(KeypadConfig {
            serial: Some((socat.app().display().to_string(), 9600, format)),
            ..KeypadConfig::default()
        });
        rig.wait_available(true).await;
        let page = rig.page("main");
        rig.regist(&page, seed_list()).await;
        socat.send(bytes);
        assert_eq!(wait_keys(&page, 2).await, ["144", "157"], "{format:?}");
    }
}

#[tokio::test]
async fn empty_list_or_item_is_minus_one() {
    let rig = Rig::new(KeypadConfig::default());
    let page = rig.page("main");
    for params in [
        json!({}),
        json!({"keyCodeList": []}),
        json!({"keyCodeList": "144"}),
        json!({"keyCodeList": [{"keyCode": "144"}, {}]}),
        json!({"keyCodeList": [{"keyCode": ""}]}),
        json!({"keyCodeList": [null]}),
        json!({"keyCodeList": [{"keyCode": "abc"}]}),
    ] {
        let (ok, body) = rig.regist(&page, params.clone()).await;
        assert!(!ok, "{params}");
        assert_eq!(body["replyCode"], json!("-1"), "{params}: {body}");
        assert_eq!(body["errorCode"], json!("INVALID_PARAMS"), "{params}: {body}");
        assert!(body["reply"].as_str().unwrap().contains("keyCodeList"), "{body}");
    }
    assert!(rig.keypad.registered(page.session).is_empty(), "a failed registration changes nothing");
}

#[tokio::test]
async fn page_keys_reach_only_that_window_and_map_through_the_table() {
    let rig = Rig::new(KeypadConfig::default());
    let main = rig.page("main");
    let second = rig.page("secondary");
    rig.regist(&main, seed_list()).await;
    rig.regist(&second, seed_list()).await;
    assert!(rig.keypad.page_keys().contains(&"Numpad1".to_string()));

    rig.keypad.page_key(&[main.session], "Numpad1");
    rig.keypad.page_key(&[main.session], "NumpadAdd");
    rig.keypad.page_key(&[main.session], "KeyQ");
    rig.keypad.page_key(&[main.session], "Numpad9");
    assert_eq!(main.keys.got(), ["144", "157"]);
    assert!(second.keys.got().is_empty(), "a page's own window keys are its own");

    // A page that went away is forgotten.
    rig.bridge.end_session(second.session);
    rig.keypad.press("144").unwrap();
    assert!(rig.keypad.registered(second.session).is_empty());
}

#[tokio::test]
async fn sim_press_by_code_or_name() {
    let rig = Rig::new(KeypadConfig { sim: true, ..KeypadConfig::default() });
    let sims = SimRegistry::default();
    rig.keypad.register_sim(&sims);
    let page = rig.page("main");
    rig.regist(&page, seed_list()).await;
    assert_eq!(sims.act("keypad", "press", &json!({"key": "145"})).unwrap(), json!({"codes": [145]}));
    assert_eq!(sims.act("keypad", "press", &json!({"key": "Numpad3"})).unwrap(), json!({"codes": [146]}));
    assert!(sims.act("keypad", "press", &json!({"key": "Banana"})).is_err());
    assert_eq!(page.keys.got(), ["145", "146"]);
}

#[tokio::test]
async fn serial_keypad_unplug_and_replug() {
    let dir = TempDir::new().unwrap();
    let mut socat = Socat::start(dir.path());
    let port = socat.app().display().to_string();
    let rig =
        Rig::new(KeypadConfig { serial: Some((port.clone(), 9600, SerialFormat::Code)), ..KeypadConfig::default() });
    rig.wait_available(true).await;
    let page = rig.page("main");
    rig.regist(&page, seed_list()).await;
    socat.send(b"144\n");
    wait_keys(&page, 1).await;

    socat.kill();
    rig.wait_available(false).await;
    assert!(rig.keypad.status().detail.contains(&port), "{:?}", rig.keypad.status());
    // The page's own keys still work while the external keypad is away.
    rig.keypad.page_key(&[page.session], "Numpad2");
    assert_eq!(page.keys.got(), ["144", "145"]);

    socat.restart();
    rig.wait_available(true).await;
    socat.send(b"146\n");
    assert_eq!(wait_keys(&page, 3).await, ["144", "145", "146"]);
}

/// onSpecialCtrlEvent bodies a page received.
#[derive(Default)]
struct Ctrls(Mutex<Vec<Value>>);

impl EventSink for Ctrls {
    fn deliver(&self, m: EventMessage) -> bool {
        assert_eq!((m.dialect, m.name.as_str()), (Dialect::Wxfaceapp, "onSpecialCtrlEvent"));
        self.0.lock().unwrap().push(m.body);
        true
    }
}

fn listening(rig: &Rig, window: &str, screen: Screen) -> Arc<Ctrls> {
    let ctrls = Arc::new(Ctrls::default());
    let info = SessionInfo {
        key: window.into(),
        package_id: "test.member".into(),
        permissions: [Family::Keyboard].into_iter().collect(),
        dialects: [Dialect::Wxfaceapp].into_iter().collect(),
        screen,
        url: "booth://localhost/".into(),
    };
    let session = rig.bridge.open_session(info, ctrls.clone());
    rig.bridge.subscribe(session, Dialect::Wxfaceapp, "onSpecialCtrlEvent").unwrap();
    ctrls
}

#[tokio::test]
async fn special_control_keys_reach_the_front_app_from_every_source() {
    let dir = TempDir::new().unwrap();
    let socat = Socat::start(dir.path());
    let port = socat.app().display().to_string();
    let rig = Rig::new(KeypadConfig {
        sim: true,
        serial: Some((port, 9600, SerialFormat::Code)),
        pass_code: vec!["F9".into(), "131".into()],
        collect: vec!["F10".into()],
        ..KeypadConfig::default()
    });
    rig.wait_available(true).await;
    let sims = SimRegistry::default();
    rig.keypad.register_sim(&sims);
    let front = listening(&rig, "main", Screen::Front);
    let back = listening(&rig, "secondary", Screen::Back);
    // Another page of the front screen (a window's session key is its own) registered keys.
    let keys = rig.page("keys");
    rig.regist(&keys, seed_list()).await;
    assert!(rig.keypad.page_keys().iter().any(|k| k == "F9") && rig.keypad.page_keys().iter().any(|k| k == "F10"));

    let pass = json!({"ctrlCode": "0", "ctrlMsg": "传码"});
    let collect = json!({"ctrlCode": "1", "ctrlMsg": "收款"});
    // A key of the back screen's window (the cashier's side), the serial keypad, the simulator.
    rig.keypad.page_key(&[], "F10");
    socat.send(b"131\n");
    let deadline = Instant::now() + Duration::from_secs(2);
    while front.0.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "{:?}", front.0.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(sims.act("keypad", "special", &json!({"ctrlCode": "1"})).unwrap(), json!({"pages": 1}));
    assert_eq!(sims.act("keypad", "press", &json!({"key": "F9"})).unwrap(), json!({"codes": []}));
    assert!(sims.act("keypad", "special", &json!({"ctrlCode": "2"})).is_err());
    assert_eq!(*front.0.lock().unwrap(), vec![collect.clone(), pass.clone(), collect, pass]);
    assert!(back.0.lock().unwrap().is_empty(), "only the front screen's app gets them");
    // They are not keys, and keys are not controls.
    rig.keypad.page_key(&[keys.session], "Numpad1");
    assert_eq!(wait_keys(&keys, 1).await, ["144"]);
    assert_eq!(front.0.lock().unwrap().len(), 4);
}
