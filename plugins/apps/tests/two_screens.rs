//! launchMp, postMsg, onRemoteMessage, finOpenOtherApp and the simulator's two-screen actions through the bridge, with a back screen that records
//! what it was asked to start and attaches the started app's page like the app's window does
//! (the real windows are exercised by `e2e apps::*`).

use booth_apps::{resolve_page, BackError, TwoScreenHost, TwoScreens};
use booth_bridge::{Bridge, Dialect, Family, Screen, SessionId, SessionInfo};
use booth_testkit::events::Collect;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The catalogue (app → files) and a back screen that starts its apps' pages as sessions.
struct Back {
    bridge: Bridge,
    monitor: bool,
    catalogue: Vec<(&'static str, Vec<&'static str>)>,
    /// The started app's page attaches (and listens) by itself, like a real page would.
    attach: bool,
    launched: Mutex<Vec<(String, String)>>,
    showing: Mutex<Option<String>>,
    pages: Mutex<Vec<(SessionId, Arc<Collect>)>>,
    /// The apps whose launch has begun.
    entered: Mutex<Vec<String>>,
    /// Makes `launch` slow, to see a second launchMp while the first is starting.
    delay: Duration,
    /// What finOpenOtherApp put in the main window.
    opened: Mutex<Vec<(String, String)>>,
    /// Booth stepping back for a program (`Some`) and coming back (`None`).
    programs: Mutex<Vec<Option<String>>>,
}

impl TwoScreenHost for Back {
    fn has_back_screen(&self) -> bool {
        self.monitor
    }
    fn resolve_page(&self, app_id: &str, page: &str) -> Result<String, String> {
        let (_, files) = self.catalogue.iter().find(|(id, _)| *id == app_id).ok_or("不在应用目录中")?;
        resolve_page(page, "index.html", |p| files.contains(&p)).ok_or_else(|| format!("{page} 不在包中"))
    }
    fn launch(&self, app_id: &str, page: &str) -> Result<(), BackError> {
        if !self.monitor {
            return Err(BackError::Absent);
        }
        self.entered.lock().unwrap().push(app_id.into());
        std::thread::sleep(self.delay);
        self.launched.lock().unwrap().push((app_id.into(), page.into()));
        *self.showing.lock().unwrap() = Some(app_id.into());
        if self.attach {
            let (id, sink) = page_on(&self.bridge, "secondary", app_id, Screen::Back);
            self.bridge.subscribe(id, Dialect::Wxfaceapp, "onRemoteMessage").unwrap();
            self.pages.lock().unwrap().push((id, sink));
        }
        Ok(())
    }
    fn back_app(&self) -> Option<String> {
        self.showing.lock().unwrap().clone()
    }
    fn open_front(&self, app_id: &str, page: &str) -> Result<(), String> {
        self.opened.lock().unwrap().push((app_id.into(), page.into()));
        Ok(())
    }
    fn program_running(&self, name: Option<&str>) {
        self.programs.lock().unwrap().push(name.map(str::to_string));
    }
    fn close_back(&self) -> bool {
        let was = self.showing.lock().unwrap().take().is_some();
        self.bridge.end_sessions_for("secondary");
        was
    }
    fn apps(&self) -> Vec<String> {
        self.catalogue.iter().map(|(id, _)| id.to_string()).collect()
    }
}

fn page_on(bridge: &Bridge, key: &str, app: &str, screen: Screen) -> (SessionId, Arc<Collect>) {
    let sink = Arc::new(Collect::default());
    let info = SessionInfo {
        key: key.into(),
        package_id: app.into(),
        permissions: [Family::Display, Family::Kiosk].into_iter().collect(),
        dialects: [Dialect::Wxfaceapp, Dialect::Ft].into_iter().collect(),
        screen,
        url: format!("booth://{app}/index.html"),
    };
    (bridge.open_session(info, sink.clone()), sink)
}

/// The bodies of the onRemoteMessage events a page received, in order.
trait Bodies {
    fn bodies(&self) -> Vec<Value>;
}

impl Bodies for Collect {
    fn bodies(&self) -> Vec<Value> {
        self.all().into_iter().filter(|m| m.name == "onRemoteMessage").map(|m| m.body).collect()
    }
}

struct Rig {
    bridge: Bridge,
    back: Arc<Back>,
    front: SessionId,
    front_sink: Arc<Collect>,
    apps: Arc<TwoScreens>,
}

fn rig(monitor: bool, attach: bool, delay: Duration) -> Rig {
    let bridge = Bridge::default();
    let apps = TwoScreens::new(&bridge);
    apps.register(&bridge);
    let back = Arc::new(Back {
        bridge: bridge.clone(),
        monitor,
        catalogue: vec![("cashier", vec!["index.html", "pages/pay.html"]), ("report", vec!["index.html"])],
        attach,
        launched: Mutex::default(),
        showing: Mutex::default(),
        pages: Mutex::default(),
        entered: Mutex::default(),
        delay,
        opened: Mutex::default(),
        programs: Mutex::default(),
    });
    apps.set_host(back.clone());
    let (front, front_sink) = page_on(&bridge, "main", "front", Screen::Front);
    Rig { bridge, back, front, front_sink, apps }
}

async fn wx(bridge: &Bridge, page: SessionId, name: &str, params: Value) -> Value {
    let r = bridge.call(page, Dialect::Wxfaceapp, name, &params.to_string()).await;
    r.body
}

fn launch(app: &str, page: &str) -> Value {
    json!({"appId": app, "hostAppId": "gh_1", "miniappType": 0, "launchPage": page, "needLogin": 0})
}

#[tokio::test]
async fn launch_mp_starts_the_app_on_the_back_screen_and_the_next_one_replaces_it() {
    let rig = rig(true, true, Duration::ZERO);
    let r = wx(&rig.bridge, rig.front, "launchMp", launch("cashier", "pages/pay")).await;
    assert_eq!(r, json!({"replyCode": "0", "reply": "suc calling"}));
    let r = wx(&rig.bridge, rig.front, "launchMp", launch("report", "")).await;
    assert_eq!(r["replyCode"], "0", "{r}");
    assert_eq!(
        *rig.back.launched.lock().unwrap(),
        vec![("cashier".to_string(), "pages/pay.html".to_string()), ("report".to_string(), "index.html".to_string())]
    );
    // The page that replaced the first one is the only one on the back screen.
    let back: Vec<String> = rig.bridge.sessions_on(Screen::Back).into_iter().map(|(_, i)| i.package_id).collect();
    assert_eq!(back, vec!["report"]);
}

#[tokio::test]
async fn launch_mp_refuses_bad_parameters_with_minus_4() {
    let rig = rig(true, true, Duration::ZERO);
    for (params, needle) in [
        (json!({"hostAppId": "h", "miniappType": 0, "launchPage": ""}), "缺少 appId"),
        (launch("", ""), "appId 为空"),
        (launch("nobody", ""), "不在应用目录中"),
        (launch("cashier", "pages/none"), "不在包中"),
        (launch("cashier", "../../etc/passwd"), "不在包中"),
        (json!({"appId": "cashier", "hostAppId": "h", "miniappType": 1, "launchPage": ""}), "miniappType"),
        (json!({"appId": "cashier", "hostAppId": "h", "miniappType": "x", "launchPage": ""}), "miniappType"),
        (json!({"appId": "cashier", "miniappType": 0}), "hostAppId"),
        (json!({"appId": "cashier", "hostAppId": "h", "miniappType": 2, "needLogin": 5}), "needLogin"),
        (json!({"appId": 7, "hostAppId": "h", "miniappType": 0}), "appId 应为字符串"),
    ] {
        let r = wx(&rig.bridge, rig.front, "launchMp", params.clone()).await;
        assert_eq!(r["replyCode"], "-4", "{params}: {r}");
        assert_eq!(r["errorCode"], "INVALID_PARAMS", "{params}: {r}");
        assert!(r["reply"].as_str().unwrap().contains(needle), "{params}: {r}");
    }
    assert!(rig.back.launched.lock().unwrap().is_empty());
    // The trial version (2) is accepted.
    let r =
        wx(&rig.bridge, rig.front, "launchMp", json!({"appId": "cashier", "hostAppId": "h", "miniappType": 2})).await;
    assert_eq!(r["replyCode"], "0", "{r}");
}

#[tokio::test]
async fn launch_mp_without_a_second_screen_or_from_the_back_screen() {
    let rig = rig(false, true, Duration::ZERO);
    let r = wx(&rig.bridge, rig.front, "launchMp", launch("cashier", "")).await;
    assert_eq!((r["replyCode"].as_str(), r["errorCode"].as_str()), (Some("-6"), Some("DEVICE_UNAVAILABLE")), "{r}");

    let rig = self::rig(true, true, Duration::ZERO);
    let (back, _) = page_on(&rig.bridge, "secondary", "cashier", Screen::Back);
    let r = wx(&rig.bridge, back, "launchMp", launch("report", "")).await;
    assert_eq!(r["replyCode"], "-5", "{r}");

    // A bridge whose app never connected its windows.
    let bridge = Bridge::default();
    TwoScreens::new(&bridge).register(&bridge);
    let (front, _) = page_on(&bridge, "main", "front", Screen::Front);
    let r = wx(&bridge, front, "launchMp", launch("cashier", "")).await;
    assert_eq!(r["replyCode"], "-6", "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_launch_while_the_first_app_is_starting_is_minus_1() {
    // The page of the started app never attaches: it is still starting.
    let rig = rig(true, false, Duration::from_millis(300));
    let first = {
        let bridge = rig.bridge.clone();
        let front = rig.front;
        tokio::spawn(async move { wx(&bridge, front, "launchMp", launch("cashier", "")).await })
    };
    // Once the first call is inside the host, a second one is refused.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while rig.back.entered.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the first launch never reached the screen");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let r = wx(&rig.bridge, rig.front, "launchMp", launch("report", "")).await;
    assert_eq!((r["replyCode"].as_str(), r["errorCode"].as_str()), (Some("-1"), Some("BUSY")), "{r}");
    assert_eq!(first.await.unwrap()["replyCode"], "0");
    // Still starting (no page attached): -1 again; once it attached, a launch goes through.
    let r = wx(&rig.bridge, rig.front, "launchMp", launch("report", "")).await;
    assert_eq!(r["replyCode"], "-1", "{r}");
    page_on(&rig.bridge, "secondary", "cashier", Screen::Back);
    let r = wx(&rig.bridge, rig.front, "launchMp", launch("report", "")).await;
    assert_eq!(r["replyCode"], "0", "{r}");
}

#[tokio::test]
async fn messages_go_both_ways_in_order_exactly_once_and_only_to_the_target() {
    let rig = rig(true, true, Duration::ZERO);
    rig.bridge.subscribe(rig.front, Dialect::Wxfaceapp, "onRemoteMessage").unwrap();
    let r = wx(&rig.bridge, rig.front, "launchMp", launch("cashier", "")).await;
    assert_eq!(r["replyCode"], "0", "{r}");
    let (back, back_sink) = rig.back.pages.lock().unwrap()[0].clone();
    // A page of another app on the back screen listens too: it gets nothing.
    let (other, other_sink) = page_on(&rig.bridge, "elsewhere", "report", Screen::Back);
    rig.bridge.subscribe(other, Dialect::Wxfaceapp, "onRemoteMessage").unwrap();

    for i in 0..50 {
        let r =
            wx(&rig.bridge, rig.front, "postMsg", json!({"targetAppid": "cashier", "content": format!("到后屏 {i}")}))
                .await;
        assert_eq!(r, json!({"replyCode": "0", "reply": "suc sending msg"}));
    }
    let r = wx(&rig.bridge, back, "postMsg", json!({"targetAppid": "front", "content": "到前屏"})).await;
    assert_eq!(r["replyCode"], "0", "{r}");

    let got = back_sink.bodies();
    let want: Vec<Value> = (0..50).map(|i| json!({"senderAppid": "front", "content": format!("到后屏 {i}")})).collect();
    assert_eq!(got, want);
    assert_eq!(rig.front_sink.bodies(), vec![json!({"senderAppid": "cashier", "content": "到前屏"})]);
    assert!(other_sink.bodies().is_empty());
}

#[tokio::test]
async fn post_msg_error_codes() {
    let rig = rig(true, true, Duration::ZERO);
    // Nothing on the back screen yet.
    let r = wx(&rig.bridge, rig.front, "postMsg", json!({"targetAppid": "cashier", "content": "x"})).await;
    assert_eq!(r["replyCode"], "-5", "{r}");
    wx(&rig.bridge, rig.front, "launchMp", launch("cashier", "")).await;
    let (_, back_sink) = rig.back.pages.lock().unwrap()[0].clone();
    for (params, code) in [
        (json!({"targetAppid": "report", "content": "x"}), "-2"),
        (json!({"targetAppid": "front", "content": "x"}), "-2"),
        (json!({"targetAppid": "cashier", "content": "字".repeat(2001)}), "-3"),
        (json!({"content": "x"}), "-4"),
        (json!({"targetAppid": "", "content": "x"}), "-4"),
        (json!({"targetAppid": "cashier"}), "-4"),
        (json!({"targetAppid": "cashier", "content": 5}), "-4"),
    ] {
        let r = wx(&rig.bridge, rig.front, "postMsg", params.clone()).await;
        assert_eq!(r["replyCode"], code, "{params}: {r}");
        assert!(r["reply"].as_str().is_some_and(|s| !s.is_empty()), "{params}: {r}");
    }
    // Exactly 2,000 characters is allowed.
    let r =
        wx(&rig.bridge, rig.front, "postMsg", json!({"targetAppid": "cashier", "content": "字".repeat(2000)})).await;
    assert_eq!(r["replyCode"], "0", "{r}");
    assert_eq!(back_sink.bodies().len(), 1, "refused messages are never delivered");
}

#[tokio::test(start_paused = true)]
async fn a_target_that_does_not_listen_within_3_s_is_minus_8() {
    let rig = rig(true, true, Duration::ZERO);
    wx(&rig.bridge, rig.front, "launchMp", launch("cashier", "")).await;
    let (back, back_sink) = rig.back.pages.lock().unwrap()[0].clone();
    rig.bridge.unsubscribe(back, Dialect::Wxfaceapp, "onRemoteMessage");
    let started = tokio::time::Instant::now();
    let r = wx(&rig.bridge, rig.front, "postMsg", json!({"targetAppid": "cashier", "content": "x"})).await;
    assert_eq!((r["replyCode"].as_str(), r["errorCode"].as_str()), (Some("-8"), Some("TIMEOUT")), "{r}");
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert!(back_sink.bodies().is_empty());

    // A page that starts listening while the message waits gets it.
    let bridge = rig.bridge.clone();
    let front = rig.front;
    let sent =
        tokio::spawn(
            async move { wx(&bridge, front, "postMsg", json!({"targetAppid": "cashier", "content": "y"})).await },
        );
    tokio::time::sleep(Duration::from_secs(1)).await;
    rig.bridge.subscribe(back, Dialect::Wxfaceapp, "onRemoteMessage").unwrap();
    assert_eq!(sent.await.unwrap()["replyCode"], "0");
    assert_eq!(back_sink.bodies(), vec![json!({"senderAppid": "front", "content": "y"})]);
}

async fn ft(bridge: &Bridge, page: SessionId, name: &str, params: Value) -> (bool, Value) {
    let r = bridge.call(page, Dialect::Ft, name, &params.to_string()).await;
    (r.ok, r.body)
}

#[tokio::test]
async fn fin_open_other_app_opens_catalogue_apps_only_after_its_reply() {
    let rig = rig(true, true, Duration::ZERO);
    let r =
        ft(&rig.bridge, rig.front, "finOpenOtherApp", json!({"url": "booth-app://cashier/pages/pay?amount=1"})).await;
    assert_eq!(r, (true, json!({"errMsg": "finOpenOtherApp:ok"})));
    assert!(rig.back.opened.lock().unwrap().is_empty(), "the reply goes out before the window changes");
    let r = ft(&rig.bridge, rig.front, "finOpenOtherApp", json!({"package": "report", "alertMsg": "去打印"})).await;
    assert!(r.0, "{r:?}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while rig.back.opened.lock().unwrap().len() < 2 {
        assert!(std::time::Instant::now() < deadline, "never opened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        *rig.back.opened.lock().unwrap(),
        vec![
            ("cashier".to_string(), "pages/pay.html?amount=1".to_string()),
            ("report".to_string(), "index.html".to_string())
        ]
    );

    // Anything that is not a catalogue app is refused (and never opened), with a clear reason.
    for (params, code, needle) in [
        (json!({"url": "https://e.example/app"}), "PERMISSION_DENIED", "只能打开应用目录中的小程序"),
        (
            json!({"url": "weixin://dl/business/?t=x", "downloadUrl": "https://e.example/x.apk"}),
            "PERMISSION_DENIED",
            "weixin://",
        ),
        (json!({"url": "booth-app://nobody/index.html"}), "PERMISSION_DENIED", "不在应用目录中"),
        (json!({"package": "com.tencent.mm"}), "PERMISSION_DENIED", "com.tencent.mm"),
        (json!({"url": "booth-app://cashier/pages/none"}), "INVALID_PARAMS", "不在包中"),
        (json!({"url": "booth-app://cashier/../front/index.html"}), "INVALID_PARAMS", "不在包中"),
        (json!({"url": "booth-app://cashier/", "package": "report"}), "INVALID_PARAMS", "不一致"),
        (json!({"alertMsg": "x"}), "INVALID_PARAMS", "缺少 url"),
        (json!({"url": 3}), "INVALID_PARAMS", "url 应为字符串"),
    ] {
        let (ok, body) = ft(&rig.bridge, rig.front, "finOpenOtherApp", params.clone()).await;
        assert!(!ok, "{params}: {body}");
        assert_eq!(body["errorCode"], code, "{params}: {body}");
        let msg = body["errMsg"].as_str().unwrap();
        assert!(msg.starts_with("finOpenOtherApp:fail ") && msg.contains(needle), "{params}: {body}");
    }
    // The back screen's app cannot take the main window.
    let (back, _) = page_on(&rig.bridge, "secondary", "cashier", Screen::Back);
    let (ok, body) = ft(&rig.bridge, back, "finOpenOtherApp", json!({"package": "report"})).await;
    assert!(!ok && body["errorCode"] == "UNSUPPORTED", "{body}");
    tokio::time::sleep(booth_apps::REPLY_GRACE * 3).await;
    assert_eq!(rig.back.opened.lock().unwrap().len(), 2, "nothing else was opened");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fin_open_other_app_runs_an_allow_listed_program_until_it_exits_or_max_s() {
    use booth_apps::program::Program;
    let rig = rig(true, true, Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("ran");
    let program = |name: &str, script: String, max_ms: u64| Program {
        name: name.into(),
        command: vec!["sh".into(), "-c".into(), script],
        max: Duration::from_millis(max_ms),
    };
    rig.apps.set_programs(vec![
        program("notes", format!("sleep 0.5; echo done > '{}'", mark.display()), 10_000),
        program("stuck", "sleep 30".into(), 500),
    ]);
    let r = ft(&rig.bridge, rig.front, "finOpenOtherApp", json!({"url": "booth-app://notes"})).await;
    assert_eq!(r, (true, json!({"errMsg": "finOpenOtherApp:ok"})));
    // One program at a time.
    let (ok, busy) = ft(&rig.bridge, rig.front, "finOpenOtherApp", json!({"package": "stuck"})).await;
    assert!(!ok && busy["errorCode"] == "BUSY", "{busy}");
    let wait_back = |n: usize| {
        let back = rig.back.clone();
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while back.programs.lock().unwrap().len() < n {
                assert!(std::time::Instant::now() < deadline, "{:?}", back.programs.lock().unwrap());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_back(2).await;
    assert!(mark.exists(), "it ran to its end");
    assert_eq!(*rig.back.programs.lock().unwrap(), vec![Some("notes".to_string()), None]);
    assert_eq!(rig.apps.running_program(), None);

    // Still running at max_s: ended, and Booth is back.
    let started = std::time::Instant::now();
    let r = ft(&rig.bridge, rig.front, "finOpenOtherApp", json!({"package": "stuck"})).await;
    assert!(r.0, "{r:?}");
    wait_back(4).await;
    assert!(started.elapsed() < Duration::from_secs(5), "ended at max_s, not after 30 s");
    assert!(rig.back.opened.lock().unwrap().is_empty(), "no app was opened for a program");
}

#[cfg(unix)]
#[tokio::test]
async fn a_program_that_cannot_start_is_an_error_reply() {
    use booth_apps::program::Program;
    let rig = rig(true, true, Duration::ZERO);
    rig.apps.set_programs(vec![Program {
        name: "gone".into(),
        command: vec!["/nonexistent/booth-program".into()],
        max: Duration::from_secs(1),
    }]);
    let (ok, body) = ft(&rig.bridge, rig.front, "finOpenOtherApp", json!({"package": "gone"})).await;
    assert!(!ok && body["errorCode"] == "DEVICE_ERROR", "{body}");
    assert!(body["errMsg"].as_str().unwrap().contains("/nonexistent/booth-program"), "{body}");
    assert_eq!(rig.apps.running_program(), None);
    assert!(rig.back.programs.lock().unwrap().is_empty());
}

/// A simulator action as the control endpoint runs it (on a blocking thread).
async fn sim(sims: &booth_bridge::sim::SimRegistry, action: &str, args: Value) -> Result<Value, String> {
    let sims = sims.clone();
    let action = action.to_string();
    tokio::task::spawn_blocking(move || sims.act("apps", &action, &args).map_err(|e| e.to_string())).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_switches_either_screens_app_and_posts_as_the_other_screen() {
    let rig = rig(true, true, Duration::ZERO);
    let sims = booth_bridge::sim::SimRegistry::default();
    rig.apps.register_sim(&sims);
    let state = |sims: &booth_bridge::sim::SimRegistry| {
        let all = sims.describe();
        all["devices"].as_array().unwrap().iter().find(|d| d["id"] == "apps").unwrap()["state"].clone()
    };
    assert_eq!(state(&sims), json!({"front": "front", "back": null, "apps": ["cashier", "report"]}));

    // A message to the front app "from the back screen" while nothing runs there names its sender.
    rig.bridge.subscribe(rig.front, Dialect::Wxfaceapp, "onRemoteMessage").unwrap();
    let r = sim(&sims, "post", json!({"content": "扫码"})).await;
    assert!(r.as_ref().is_err_and(|e| e.contains("from")), "{r:?}");
    let r = sim(&sims, "post", json!({"content": "扫码", "from": "cashier"})).await;
    assert_eq!(r, Ok(json!({"senderAppid": "cashier", "targetAppid": "front"})));
    assert_eq!(rig.front_sink.bodies(), vec![json!({"senderAppid": "cashier", "content": "扫码"})]);

    // The back screen: bad app or page refused, then the app started as launchMp would.
    for bad in [json!({"appId": "nobody"}), json!({"appId": "cashier", "page": "pages/none"})] {
        let r = sim(&sims, "back", bad.clone()).await;
        assert!(r.is_err(), "{bad}: {r:?}");
    }
    assert!(rig.back.launched.lock().unwrap().is_empty());
    let r = sim(&sims, "back", json!({"appId": "cashier", "page": "pages/pay"})).await;
    assert_eq!(r, Ok(json!({"back": "cashier", "page": "pages/pay.html"})));
    assert_eq!(state(&sims)["back"], "cashier");
    let (_, back_sink) = rig.back.pages.lock().unwrap()[0].clone();

    // Both ways, in order, with the sender taken from the other screen.
    for i in 0..10 {
        let r = sim(&sims, "post", json!({"to": "back", "content": format!("第{i}条")})).await;
        assert_eq!(r, Ok(json!({"senderAppid": "front", "targetAppid": "cashier"})), "{i}");
    }
    let want: Vec<Value> = (0..10).map(|i| json!({"senderAppid": "front", "content": format!("第{i}条")})).collect();
    assert_eq!(back_sink.bodies(), want);
    let r = sim(&sims, "post", json!({"to": "front", "content": "已付"})).await;
    assert_eq!(r, Ok(json!({"senderAppid": "cashier", "targetAppid": "front"})));
    assert_eq!(rig.front_sink.bodies().last(), Some(&json!({"senderAppid": "cashier", "content": "已付"})));
    let r = sim(&sims, "post", json!({"to": "back", "content": "长".repeat(2001)})).await;
    assert!(r.is_err(), "{r:?}");
    assert_eq!(back_sink.bodies().len(), 10, "a refused message is never delivered");

    // The front screen switches app; the back app ends from the panel.
    let r = sim(&sims, "front", json!({"appId": "report"})).await;
    assert_eq!(r, Ok(json!({"front": "report", "page": "index.html"})));
    let r = sim(&sims, "front", json!({})).await;
    assert_eq!(r, Ok(json!({"front": null})));
    assert_eq!(
        *rig.back.opened.lock().unwrap(),
        vec![("report".to_string(), "index.html".to_string()), (String::new(), String::new())]
    );
    assert!(sim(&sims, "front", json!({"appId": "nobody"})).await.is_err());
    assert_eq!(sim(&sims, "back", json!({})).await, Ok(json!({"back": null, "ended": true})));
    assert_eq!(state(&sims)["back"], Value::Null);
    let r = sim(&sims, "post", json!({"to": "back", "content": "还在吗"})).await;
    assert!(r.as_ref().is_err_and(|e| e.contains("back screen")), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_cannot_start_a_back_app_without_a_second_screen() {
    let rig = rig(false, true, Duration::ZERO);
    let sims = booth_bridge::sim::SimRegistry::default();
    rig.apps.register_sim(&sims);
    let r = sim(&sims, "back", json!({"appId": "cashier"})).await;
    assert!(r.as_ref().is_err_and(|e| e.contains("no back screen")), "{r:?}");
    assert!(rig.back.launched.lock().unwrap().is_empty());
}
