//! Seed 000's face APIs with `[face] engine = "provider"`, answered by the reference provider
//! (booth-provider) on loopback through the signed contract: the real models and liveness
//! challenge on the `file` camera, the provider's people.

mod common;

use base64::Engine as _;
use booth_bridge::{Bridge, Dialect, EventMessage, EventSink, Family, Reply, Screen, SessionInfo};
use booth_camera::{Backend, Camera, CameraConfig, Frame};
use booth_face::{FaceScreen, FaceSection, FaceService};
use booth_provider_client::client::{Exchange, Observer};
use booth_provider_client::{ClientConfig, Provider, ProviderConfig};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY_ID: &str = "T-0001";
const SECRET: &str = "face-provider-test-secret-0123456789";

struct NoScreen;
impl FaceScreen for NoScreen {
    fn show(&self, _w: &str, _o: &Value) -> Result<(), String> {
        Ok(())
    }
    fn update(&self, _w: &str, _s: &Value) {}
    fn hide(&self, _w: &str) {}
}

struct Sink;
impl EventSink for Sink {
    fn deliver(&self, _m: EventMessage) -> bool {
        true
    }
}

/// Every log line the process writes, for the check that nothing biometric is in them.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);
impl Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Rig {
    bridge: Bridge,
    face: Arc<FaceService>,
    session: u64,
    frames: PathBuf,
    sent: Arc<Mutex<Vec<Exchange>>>,
    _dir: tempfile::TempDir,
}

fn rig(url: &str, frames: &[Frame]) -> Rig {
    let sent: Arc<Mutex<Vec<Exchange>>> = Arc::default();
    let log = sent.clone();
    let observer: Observer = Arc::new(move |x: &Exchange| log.lock().unwrap().push(x.clone()));
    let provider = Provider::from_config(
        &ProviderConfig::Http {
            client: ClientConfig {
                url: url.into(),
                key_id: KEY_ID.into(),
                secret: SECRET.as_bytes().to_vec(),
                // Card OCR in a debug build on a busy machine takes seconds.
                timeout: Duration::from_secs(30),
                retries: 1,
            },
            provider_liveness: false,
        },
        Some(observer),
    )
    .unwrap();
    rig_with(provider, sent, frames)
}

fn rig_with(provider: Arc<Provider>, sent: Arc<Mutex<Vec<Exchange>>>, frames: &[Frame]) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let frames_dir = dir.path().join("camera");
    common::write_frames(&frames_dir, frames);
    let section = FaceSection {
        engine: "provider".into(),
        models_dir: common::models_dir().display().to_string(),
        gallery_dir: dir.path().join("gallery").display().to_string(),
        key_file: dir.path().join("keys/gallery.key").display().to_string(),
        timeout_s: 20,
        ..Default::default()
    };
    let config = section.resolve(dir.path(), dir.path(), "T-0001").unwrap();
    let camera =
        Camera::new(CameraConfig { backend: Backend::File(frames_dir.clone()), fps: 15, ..Default::default() });
    let face = FaceService::new(config, camera);
    face.set_provider(provider);
    let bridge = Bridge::default();
    face.register(&bridge);
    face.set_screen(Arc::new(NoScreen));
    let info = SessionInfo {
        key: "main".into(),
        package_id: "t".into(),
        permissions: [Family::Face, Family::Identity].into_iter().collect(),
        dialects: [Dialect::My, Dialect::Wxfaceapp, Dialect::Ft].into_iter().collect(),
        screen: Screen::Front,
        url: "booth://localhost/".into(),
    };
    let session = bridge.open_session(info, Arc::new(Sink));
    Rig { bridge, face, session, frames: frames_dir, sent, _dir: dir }
}

impl Rig {
    fn start(&self, action: &str, params: Value) -> tokio::task::JoinHandle<Reply> {
        let raw = json!({"action": action, "event": "open", "taskId": "7", "params": params}).to_string();
        let (bridge, session) = (self.bridge.clone(), self.session);
        tokio::spawn(async move { bridge.call(session, Dialect::My, "ampeHHCommunication", &raw).await })
    }

    async fn call(&self, action: &str, params: Value) -> Value {
        self.start(action, params).await.unwrap().body
    }

    /// A `wxfaceapp` call: (success, the callback's object).
    async fn wx(&self, name: &str, params: Value) -> (bool, Value) {
        let reply = self.bridge.call(self.session, Dialect::Wxfaceapp, name, &params.to_string()).await;
        (reply.ok, reply.body)
    }

    /// An `ft` call: (resolved, the Promise's value).
    async fn ft(&self, name: &str, params: Value) -> (bool, Value) {
        let reply = self.bridge.call(self.session, Dialect::Ft, name, &params.to_string()).await;
        (reply.ok, reply.body)
    }

    /// An `ft` call that opens a screen, and what the person does there once it is open.
    async fn ft_then(&self, name: &str, params: Value, act: impl FnOnce(&FaceService, u64)) -> (bool, Value) {
        let (bridge, session, raw) = (self.bridge.clone(), self.session, params.to_string());
        let name = name.to_string();
        let task = tokio::spawn(async move { bridge.call(session, Dialect::Ft, &name, &raw).await });
        wait_for("the screen to open", || self.face.waiting(self.session)).await;
        act(&self.face, self.session);
        let reply = task.await.unwrap();
        (reply.ok, reply.body)
    }

    async fn enrol(&self, params: Value) -> Value {
        let task = self.start("doStorageFaceInfo", params);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.face.waiting(self.session) {
            assert!(Instant::now() < deadline, "the face screen never opened");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(self.face.consent(self.session, true));
        task.await.unwrap().body
    }
}

/// The reference provider on a free loopback port, its database and keys in `dir`, knowing
/// this terminal's key.
async fn reference_provider(dir: &tempfile::TempDir) -> (Arc<booth_provider::App>, booth_provider::Running) {
    let app = booth_provider::App::open(booth_provider::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: dir.path().join("provider.db"),
        key_file: dir.path().join("keys/templates.key"),
        models_dir: Some(common::models_dir()),
        clients: HashMap::from([(KEY_ID.to_string(), SECRET.to_string())]),
        ..Default::default()
    })
    .unwrap();
    let server = app.serve().await.unwrap();
    (app, server)
}

fn reason(body: &Value) -> (&str, &str) {
    let o = &body["data"]["originFaceInfo"];
    (o["reason"].as_str().unwrap_or(""), o["subCode"].as_str().unwrap_or(""))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_000_face_apis_through_the_reference_provider() {
    let logs = Logs::default();
    let writer = logs.clone();
    let _ =
        tracing_subscriber::fmt().with_max_level(tracing::Level::DEBUG).with_writer(move || writer.clone()).try_init();

    let dir = tempfile::tempdir().unwrap();
    let (app, server) = reference_provider(&dir).await;
    let r = rig(&server.url(), &common::live_sequence("obama.jpg"));

    let enrolled = r
        .enrol(json!({"appid": "2021", "orgOutId": "org1", "componentOutId": "canteen", "isvPid": "2088", "certNo": "11010119610804001X", "name": "奥巴马"}))
        .await;
    assert_eq!(enrolled["success"], true, "{enrolled}");
    let data: Value = serde_json::from_str(enrolled["data"].as_str().expect("data is a JSON string")).unwrap();
    assert_eq!(data["eventType"], "rocketResult");
    assert_eq!(data["eventData"]["subCode"], "SUCCESS");
    let uid = data["eventData"]["uid"].as_str().unwrap().to_string();
    let people = app.store.people().unwrap();
    assert_eq!(people.len(), 1);
    assert_eq!((people[0].id.as_str(), people[0].consents[0].terminal.as_str()), (uid.as_str(), "T-0001"));
    assert!(r.face.gallery().unwrap().status().people == 0, "nothing enrolled on the terminal itself");

    // What went over the wire: the aligned 150×150 crop and the embedding, never the camera frame.
    {
        let sent = r.sent.lock().unwrap();
        let enrol = sent.iter().find(|x| x.path == "/v1/face/enroll").expect("an enrolment was sent");
        let face = &enrol.request.as_ref().unwrap()["face"];
        let jpeg = base64::engine::general_purpose::STANDARD.decode(face["image"].as_str().unwrap()).unwrap();
        let crop = Frame::decode(&jpeg).unwrap();
        assert_eq!((crop.width, crop.height), (150, 150));
        assert_eq!(face["embedding"]["values"].as_array().unwrap().len(), 128);
        assert_eq!(face["liveness"]["passed"], true);
    }

    let found = r.call("getFaceInfo", json!({"orgOutId": "org1", "componentOutId": "canteen"})).await;
    assert_eq!(found["success"], true, "{found}");
    let d = &found["data"];
    assert_eq!((d["alipayUid"].as_str().unwrap(), d["code"].as_i64().unwrap()), (uid.as_str(), 1000));
    assert!(d["ftoken"].as_str().unwrap().starts_with("fp"));
    let ext: Value = serde_json::from_str(d["extInfo"].as_str().unwrap()).unwrap();
    assert!(ext.get("authCode").is_some());
    assert!(d["score"].as_u64().unwrap() > 55, "{found}");

    // 1:1 against the ID number the provider holds templates for (no photo needed).
    let card = r.call("getFaceInfoPersonCard", json!({"certName": "奥巴马", "certNo": "11010119610804001x"})).await;
    assert_eq!(card["success"], true, "{card}");
    assert_eq!(card["data"]["alipayUid"], uid.as_str());

    common::replace_frames(&r.frames, &common::live_sequence("biden.jpg"));
    let other = r.call("getFaceInfo", json!({"orgOutId": "org1", "componentOutId": "canteen"})).await;
    assert_eq!(other["errorCode"], "DEVICE_ERROR", "{other}");
    assert_eq!(reason(&other), ("NOT_MATCHED", "NOT_MATCHED"));
    assert!(!other["message"].as_str().unwrap().is_empty());
    let wrong = r.call("getFaceInfoPersonCard", json!({"certName": "奥巴马", "certNo": "11010119610804001X"})).await;
    assert_eq!(reason(&wrong).0, "MISMATCH", "{wrong}");
    // Against a photo of someone nobody enrolled.
    let photo = base64::engine::general_purpose::STANDARD.encode(common::photo("biden.jpg").to_jpeg(90));
    let by_photo = r
        .call(
            "getFaceInfoPersonCard",
            json!({"certName": "拜登", "certNo": "110101194211200011", "certPhotoBase64Str": photo}),
        )
        .await;
    assert_eq!(by_photo["success"], true, "{by_photo}");

    // The provider gone: a clear error, and the terminal is free again.
    server.stop().await;
    let down = r.call("getFaceInfo", json!({})).await;
    assert_eq!(down["errorCode"], "DEVICE_UNAVAILABLE", "{down}");
    assert_eq!(reason(&down).0, "NETWORK");
    assert_eq!(r.face.status()["backend"], "provider");

    // Nothing of a face reached a log: no picture, no embedding.
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(text.contains("getFaceInfo"), "the log was captured: {text}");
    assert!(!text.contains("/9j/"), "a JPEG in the log");
    assert!(!text.contains("values"), "an embedding in the log");
    assert!(text.lines().all(|l| l.len() < 1000), "a long log line");
}

async fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_001_face_login_through_the_reference_provider() {
    let dir = tempfile::tempdir().unwrap();
    let (app, server) = reference_provider(&dir).await;
    let r = rig(&server.url(), &common::live_sequence("obama.jpg"));
    r.face.watch_applet_resets(&r.bridge);
    let live = || app.store.live_sessions().unwrap();

    let (ok, body) = r.wx("isLoginOnFaceApp", json!({})).await;
    assert!(!ok, "nobody logged in yet: {body}");
    assert_eq!(body["replyCode"], "-1");

    // Nobody enrolled: the provider does not know the face (facePay's "-1").
    let (ok, body) = r.wx("faceLogin", json!({})).await;
    assert!(!ok, "{body}");
    assert_eq!((body["replyCode"].as_str(), body["errorCode"].as_str()), (Some("-1"), Some("DEVICE_ERROR")));
    assert_eq!(body["originFaceInfo"]["reason"], "NOT_MATCHED", "{body}");
    assert!(!r.face.logged_in());

    let enrolled =
        r.enrol(json!({"appid": "2021", "orgOutId": "org1", "componentOutId": "canteen", "isvPid": "2088"})).await;
    assert_eq!(enrolled["success"], true, "{enrolled}");

    let (ok, body) = r.wx("faceLogin", json!({"relaunchUrl": "pages/pay/pay"})).await;
    assert!(ok, "{body}");
    assert_eq!(body, json!({"replyCode": "0", "reply": "face login suc"}));
    assert_eq!(live(), 1, "the provider holds the session");
    assert!(r.wx("isLoginOnFaceApp", json!({})).await.0);
    assert!(r.sent.lock().unwrap().iter().any(|x| x.path == "/v1/session/face-login"));

    // Without enableMultiLogin a second login is not needed; with it the session is replaced.
    let (ok, body) = r.wx("faceLogin", json!({})).await;
    assert!(ok, "{body}");
    assert_eq!(body["reply"], "already in login status, no need to face login");
    let (ok, body) = r.wx("faceLogin", json!({"enableMultiLogin": true})).await;
    assert_eq!((ok, body["reply"].as_str()), (true, Some("face login suc")), "{body}");
    wait_for("the old session to end", || live() == 1).await;

    let (ok, body) = r.wx("logoutOnFaceApp", json!({})).await;
    assert!(ok, "{body}");
    assert_eq!(body, json!({"replyCode": "0", "reply": "logout suc!"}));
    assert_eq!(live(), 0, "logout ended the provider's session");
    assert!(!r.wx("isLoginOnFaceApp", json!({})).await.0);

    // The mini-program exits (or the idle reset): the login goes, at the provider too.
    assert!(r.wx("faceLogin", json!({})).await.0);
    assert_eq!(live(), 1);
    r.bridge.bus().publish(booth_face::APPLET_RESET_TOPIC, json!({"why": "exit"}));
    wait_for("the login to end", || !r.face.logged_in()).await;
    wait_for("the provider's session to end", || live() == 0).await;
    assert!(!r.wx("isLoginOnFaceApp", json!({})).await.0);

    // The page's operation watcher runs out (published to that page alone): the login goes too.
    assert!(r.wx("faceLogin", json!({})).await.0);
    assert_eq!(live(), 1);
    assert!(r.bridge.bus().publish_to(r.session, booth_session::OPERATION_TIMEOUT_TOPIC, json!({"timeout": 30})));
    wait_for("the operation timeout to end the login", || !r.face.logged_in()).await;
    wait_for("the provider's session to end", || live() == 0).await;

    // Bad input is refused before the camera starts.
    let (ok, body) = r.wx("faceLogin", json!({"enableMultiLogin": "yes"})).await;
    assert!(!ok);
    assert_eq!(body["errorCode"], "INVALID_PARAMS", "{body}");

    // The provider gone: the terminal forgets the person anyway, and says the logout failed.
    assert!(r.wx("faceLogin", json!({})).await.0);
    server.stop().await;
    let (ok, body) = r.wx("logoutOnFaceApp", json!({})).await;
    assert!(!ok);
    assert_eq!((body["replyCode"].as_str(), body["subCode"].as_str()), (Some("-1"), Some("NETWORK")), "{body}");
    assert!(!r.face.logged_in());
    let (ok, body) = r.wx("faceLogin", json!({})).await;
    assert!(!ok);
    assert_eq!(
        (body["replyCode"].as_str(), body["errorCode"].as_str()),
        (Some("-1"), Some("DEVICE_UNAVAILABLE")),
        "{body}"
    );
}

#[tokio::test]
async fn without_a_provider_the_face_calls_say_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let section = FaceSection {
        engine: "provider".into(),
        models_dir: common::models_dir().display().to_string(),
        ..Default::default()
    };
    let config = section.resolve(dir.path(), dir.path(), "").unwrap();
    let face = FaceService::new(config, Camera::new(CameraConfig { backend: Backend::Sim, ..Default::default() }));
    let bridge = Bridge::default();
    face.register(&bridge);
    let info = SessionInfo {
        key: "main".into(),
        package_id: "t".into(),
        permissions: [Family::Face].into_iter().collect(),
        dialects: [Dialect::My].into_iter().collect(),
        screen: Screen::Front,
        url: String::new(),
    };
    let session = bridge.open_session(info, Arc::new(Sink));
    let raw = json!({"action": "getFaceInfo", "event": "open", "taskId": "1", "params": {}}).to_string();
    let body = bridge.call(session, Dialect::My, "ampeHHCommunication", &raw).await.body;
    assert_eq!(body["errorCode"], "DEVICE_UNAVAILABLE", "{body}");
    assert!(body["message"].as_str().unwrap().contains("[provider]"), "{body}");
}

const OBAMA_ID: &str = "11010119610804001X";

fn data_url(frame: &Frame) -> String {
    format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(frame.to_jpeg(90)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_002_fin_apis_through_the_reference_provider() {
    let contract = booth_testkit::contract::Contract::load();
    let dir = tempfile::tempdir().unwrap();
    let (_app, server) = reference_provider(&dir).await;
    let r = rig(&server.url(), &common::live_sequence("obama.jpg"));
    let enrolled = r
        .enrol(json!({"appid": "2021", "orgOutId": "org1", "componentOutId": "canteen", "isvPid": "2088", "certNo": OBAMA_ID, "name": "奥巴马"}))
        .await;
    assert_eq!(enrolled["success"], true, "{enrolled}");

    // An empty imagePath: the face screen and its liveness challenge, then 1:1 by the provider.
    let (ok, same) = r.ft("finFaceAuth", json!({"idNo": OBAMA_ID, "name": "奥巴马", "imagePath": ""})).await;
    assert!(ok, "{same}");
    assert_eq!(same.as_object().unwrap().len(), 3, "seed 002's three fields: {same}");
    assert_eq!((same["errorCode"].as_i64(), same["description"].as_str()), (Some(0), Some("认证通过")), "{same}");
    let score = same["score"].as_f64().unwrap();
    assert!(score > 0.5 && score <= 1.0, "{same}");

    // Someone else before the camera, for the same ID number: a verdict, not an error.
    common::replace_frames(&r.frames, &common::live_sequence("biden.jpg"));
    let (ok, other) = r.ft("finFaceAuth", json!({"idNo": OBAMA_ID, "name": "奥巴马"})).await;
    assert!(ok, "{other}");
    assert_eq!(other["errorCode"], 1001, "{other}");
    assert!(other["score"].as_f64().unwrap() < 0.5, "{other}");
    let (ok, nobody) = r.ft("finFaceAuth", json!({"idNo": "110101194211200011", "name": "拜登"})).await;
    assert!(ok);
    assert_eq!(nobody["errorCode"], 1001, "an ID number nobody enrolled: {nobody}");

    // finLivenessCheck: the picture it gives counts as live once, for finFaceAuth.
    common::replace_frames(&r.frames, &common::live_sequence("obama.jpg"));
    let (ok, live) = r.ft("finLivenessCheck", json!({})).await;
    assert!(ok, "{live}");
    assert_eq!(live["resultType"], "success");
    let img = live["faceImgStr"].as_str().unwrap();
    let jpeg = base64::engine::general_purpose::STANDARD.decode(img).unwrap();
    assert!(Frame::decode(&jpeg).is_ok());
    let url = format!("data:image/jpeg;base64,{img}");
    let (ok, by_live) = r.ft("finFaceAuth", json!({"idNo": OBAMA_ID, "name": "奥巴马", "imagePath": url})).await;
    assert!(ok);
    assert_eq!(by_live["errorCode"], 0, "{by_live}");
    let (_, again) = r.ft("finFaceAuth", json!({"idNo": OBAMA_ID, "imagePath": url})).await;
    assert_eq!(again["errorCode"], 1003, "a live picture is used once: {again}");
    let (_, photo) =
        r.ft("finFaceAuth", json!({"idNo": OBAMA_ID, "imagePath": data_url(&common::photo("obama2.jpg"))})).await;
    assert_eq!(photo["errorCode"], 1003, "a photo from elsewhere is not live: {photo}");
    let blank = Frame::new(64, 64, vec![128; 64 * 64 * 3]);
    let (_, faceless) = r.ft("finFaceAuth", json!({"idNo": OBAMA_ID, "imagePath": data_url(&blank)})).await;
    assert_eq!(faceless["errorCode"], 1002, "{faceless}");

    // 取消 on the liveness screen is seed 002's "back".
    let (ok, back) = r.ft_then("finLivenessCheck", json!({}), |f, s| assert!(f.cancel(s))).await;
    assert!(ok);
    assert_eq!(back, json!({"resultType": "back"}));

    // Bad input is refused before the camera starts.
    for (params, needle) in [
        (json!({"idNo": OBAMA_ID, "imagePath": "/sdcard/DCIM/me.jpg"}), "data:"),
        (json!({"idNo": OBAMA_ID, "imagePath": "data:image/jpeg;base64,AAAA"}), "图片"),
        (json!({"name": "奥巴马"}), "idNo"),
        (json!({"idNo": "12345"}), "idNo"),
        (json!({"idNo": OBAMA_ID, "imagePath": 7}), "imagePath"),
    ] {
        let (ok, body) = r.ft("finFaceAuth", params.clone()).await;
        assert!(!ok, "{params}");
        assert_eq!(body["errorCode"], "INVALID_PARAMS", "{params}: {body}");
        assert!(body["errMsg"].as_str().unwrap().contains(needle), "{params}: {body}");
    }

    // OCR of a photographed (synthetic, fictional) ID card: seed 002's reply with recogResult.
    use booth_testkit::card::{id_front, photographed, IdFront};
    let person = IdFront {
        name: "林晓雨",
        gender: "女",
        nation: "汉",
        birth: (1994, 7, 9),
        address: &["浙江省杭州市西湖区文三路", "88号2幢301室"],
        id_no: "33010619940709002X",
    };
    let card = data_url(&photographed(&id_front(&person), 900, 1.5, 8, 1));
    let (ok, ocr) = r.ft("finCardOcr", json!({"type": "IDCard", "imagePath": card})).await;
    assert!(ok, "{ocr}");
    assert_eq!(
        ocr,
        json!({"type": "IDCard", "errorCode": 0, "description": "识别成功", "recogResult": {
            "face": 0, "name": "林晓雨", "gender": "女", "nation": "汉", "birthday": "19940709",
            "address": "浙江省杭州市西湖区文三路88号2幢301室", "idNo": "33010619940709002X", "idNoValid": true,
            "birthdayMatchesIdNo": true}})
    );
    // A 出生 that differs from the number's birth date is no success either.
    let other_birth = IdFront { birth: (1994, 7, 19), ..person };
    let bad = data_url(&photographed(&id_front(&other_birth), 900, 0.0, 4, 3));
    let (ok, ocr) = r.ft("finCardOcr", json!({"type": "IDCard", "imagePath": bad})).await;
    assert!(ok, "{ocr}");
    assert_eq!(ocr["errorCode"], 2003, "{ocr}");
    assert_eq!(
        ocr["description"],
        "出生日期 (19940719) 与身份证号码中的出生日期 (19940709) 不符 (可能识别有误), 请重拍"
    );
    // A number whose check digit fails is no success; a face photo is no card.
    let misprinted = IdFront { id_no: "330106199407090021", ..person };
    let bad = data_url(&photographed(&id_front(&misprinted), 900, 0.0, 4, 2));
    let (ok, ocr) = r.ft("finCardOcr", json!({"type": "IDCard", "imagePath": bad})).await;
    assert!(ok, "{ocr}");
    assert_eq!((&ocr["errorCode"], &ocr["recogResult"]["idNoValid"]), (&json!(2001), &json!(false)), "{ocr}");
    let face = data_url(&common::photo("obama.jpg"));
    let (ok, ocr) = r.ft("finCardOcr", json!({"type": "IDCard", "imagePath": face})).await;
    assert!(ok, "{ocr}");
    assert_eq!((&ocr["errorCode"], &ocr["recogResult"]), (&json!(2002), &json!({})), "{ocr}");
    // A type the reference provider does not read: the page hears why.
    let (ok, ocr) = r.ft("finCardOcr", json!({"type": "BusiCert", "imagePath": card})).await;
    assert!(!ok);
    assert_eq!(
        (ocr["errorCode"].as_str(), ocr["reason"].as_str()),
        (Some("DEVICE_UNAVAILABLE"), Some("NOT_CONFIGURED"))
    );
    assert!(ocr["errMsg"].as_str().unwrap().contains("OCR"), "{ocr}");
    // An empty imagePath: the capture screen, the picture taken when 拍照 is pressed (the test
    // camera shows a person, no card).
    let (ok, shot) = r.ft_then("finCardOcr", json!({"type": "BankCard"}), |f, s| assert!(f.shutter(s))).await;
    assert!(ok, "{shot}");
    assert_eq!(shot["errorCode"], 2002, "{shot}");
    {
        let sent = r.sent.lock().unwrap();
        let last = sent.iter().rev().find(|x| x.path == "/v1/ocr").unwrap();
        let req = last.request.as_ref().unwrap();
        assert_eq!(req["type"], "BankCard");
        let jpeg = base64::engine::general_purpose::STANDARD.decode(req["image"].as_str().unwrap()).unwrap();
        assert!(Frame::decode(&jpeg).unwrap().width >= 320, "the camera's picture, not a face crop");
    }
    let (ok, cancelled) =
        r.ft_then("finCardOcr", json!({"type": "IDCard", "imagePath": ""}), |f, s| assert!(f.cancel(s))).await;
    assert!(!ok);
    assert_eq!(cancelled["errorCode"], "CANCELLED", "{cancelled}");
    for params in [
        json!({"type": "Passport", "imagePath": card}),
        json!({"imagePath": card}),
        json!({"type": "IDCard", "imagePath": "C:\\card.jpg"}),
    ] {
        let (ok, body) = r.ft("finCardOcr", params.clone()).await;
        assert!(!ok);
        assert_eq!(body["errorCode"], "INVALID_PARAMS", "{params}: {body}");
    }

    // Everything Booth sent and the provider answered is in the document's words.
    let sent = r.sent.lock().unwrap().clone();
    assert!(sent.iter().any(|x| x.path == "/v1/face/verify") && sent.iter().any(|x| x.path == "/v1/ocr"));
    for x in &sent {
        contract.check_request(&x.method, &x.path, x.request.as_ref()).unwrap();
        contract.check_response(&x.method, &x.path, x.status, &x.response).unwrap();
    }

    // The provider gone: a clear failure, not a verdict.
    server.stop().await;
    let (ok, down) = r.ft("finFaceAuth", json!({"idNo": OBAMA_ID})).await;
    assert!(!ok);
    assert_eq!(
        (down["errorCode"].as_str(), down["reason"].as_str()),
        (Some("DEVICE_UNAVAILABLE"), Some("NETWORK")),
        "{down}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_002_fin_apis_with_the_simulated_provider() {
    let provider = Provider::from_config(&ProviderConfig::Sim, None).unwrap();
    let sim = provider.sim().unwrap();
    let r = rig_with(provider, Arc::default(), &common::live_sequence("obama.jpg"));
    let card = data_url(&common::photo("obama.jpg"));
    let (ok, ocr) = r.ft("finCardOcr", json!({"type": "IDCard", "imagePath": card})).await;
    assert!(ok, "{ocr}");
    assert_eq!((ocr["type"].as_str(), ocr["errorCode"].as_i64()), (Some("IDCard"), Some(0)));
    assert_eq!(ocr["recogResult"]["face"], 0);
    assert!(ocr["recogResult"]["idNo"].is_string(), "{ocr}");
    booth_testkit::contract::Contract::load().check_schema("IdCardFront", &ocr["recogResult"]).unwrap();

    let (ok, auth) = r.ft("finFaceAuth", json!({"idNo": OBAMA_ID})).await;
    assert!(ok);
    assert_eq!(auth["errorCode"], 0, "{auth}");
    sim.set_outcome(booth_provider_client::sim::Outcome::NoMatch);
    let (_, auth) = r.ft("finFaceAuth", json!({"idNo": OBAMA_ID})).await;
    assert_eq!(auth["errorCode"], 1001, "{auth}");
    sim.set_outcome(booth_provider_client::sim::Outcome::LivenessFailed);
    let (_, auth) = r.ft("finFaceAuth", json!({"idNo": OBAMA_ID})).await;
    assert_eq!(auth["errorCode"], 1003, "{auth}");
    sim.set_outcome(booth_provider_client::sim::Outcome::NetworkDown);
    let (ok, auth) = r.ft("finFaceAuth", json!({"idNo": OBAMA_ID})).await;
    assert!(!ok);
    assert_eq!(auth["reason"], "NETWORK", "{auth}");
    let (ok, live) = r.ft("finLivenessCheck", json!({})).await;
    assert_eq!((ok, live["resultType"].as_str()), (true, Some("success")), "device liveness needs no provider: {live}");
}
