//! Seed 000's face APIs through the bridge, headless: the real models, the `file` camera playing
//! JPEG frames made from registry photos, and a face screen that records what it is shown.
//! (The screen itself is tested end to end with the app.)

mod common;

use base64::Engine as _;
use booth_bridge::{Bridge, Dialect, EventMessage, EventSink, Family, Reply, Screen, SessionInfo};
use booth_camera::{Backend, Camera, CameraConfig, Frame};
use booth_face::authcode;
use booth_face::{FaceScreen, FaceSection, FaceService};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SITE_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[derive(Default)]
struct Screens(Mutex<Vec<String>>);

impl FaceScreen for Screens {
    fn show(&self, window: &str, options: &Value) -> Result<(), String> {
        assert!(options["previewUrl"].as_str().unwrap().starts_with("http://127.0.0.1:"));
        self.0.lock().unwrap().push(format!("show {window} {}", options["mode"].as_str().unwrap()));
        Ok(())
    }
    fn update(&self, _window: &str, state: &Value) {
        self.0.lock().unwrap().push(format!("prompt {}", state["prompt"].as_str().unwrap_or("")));
    }
    fn hide(&self, window: &str) {
        self.0.lock().unwrap().push(format!("hide {window}"));
    }
}

impl Screens {
    fn saw(&self, what: &str) -> bool {
        self.0.lock().unwrap().iter().any(|s| s == what)
    }
}

struct Sink;
impl EventSink for Sink {
    fn deliver(&self, _m: EventMessage) -> bool {
        true
    }
}

struct Rig {
    bridge: Bridge,
    face: Arc<FaceService>,
    screens: Arc<Screens>,
    session: u64,
    frames: PathBuf,
    _dir: tempfile::TempDir,
}

fn rig(frames: &[Frame], timeout_s: u64) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let frames_dir = dir.path().join("camera");
    common::write_frames(&frames_dir, frames);
    let section = FaceSection {
        models_dir: common::models_dir().display().to_string(),
        gallery_dir: dir.path().join("gallery").display().to_string(),
        key_file: dir.path().join("keys/gallery.key").display().to_string(),
        site_key: SITE_KEY.into(),
        timeout_s,
        ..Default::default()
    };
    let config = section.resolve(dir.path(), dir.path(), "T-0001").unwrap();
    let camera =
        Camera::new(CameraConfig { backend: Backend::File(frames_dir.clone()), fps: 15, ..Default::default() });
    let face = FaceService::new(config, camera);
    let bridge = Bridge::default();
    face.register(&bridge);
    face.watch_id_cards(&bridge);
    let screens = Arc::new(Screens::default());
    face.set_screen(screens.clone());
    let info = SessionInfo {
        key: "main".into(),
        package_id: "t".into(),
        permissions: [Family::Face].into_iter().collect(),
        dialects: [Dialect::My, Dialect::Wxfaceapp].into_iter().collect(),
        screen: Screen::Front,
        url: "booth://localhost/".into(),
    };
    let session = bridge.open_session(info, Arc::new(Sink));
    Rig { bridge, face, screens, session, frames: frames_dir, _dir: dir }
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

    /// Waits for the face screen of this page to open.
    async fn until_waiting(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.face.waiting(self.session) {
            assert!(Instant::now() < deadline, "the face screen never opened");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Enrolment with consent given on the screen.
    async fn enrol(&self) -> Value {
        let task = self.start(
            "doStorageFaceInfo",
            json!({"appid": "2021", "orgOutId": "org1", "componentOutId": "day_label_sign_online", "isvPid": "2088"}),
        );
        self.until_waiting().await;
        assert!(self.face.consent(self.session, true));
        task.await.unwrap().body
    }

    fn show(&self, frames: &[Frame]) {
        common::replace_frames(&self.frames, frames);
    }
}

fn verify(code: &str) -> authcode::Claims {
    let key = authcode::parse_key(SITE_KEY).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    authcode::verify(&key, code, now, |_, _| true).unwrap()
}

fn reason(body: &Value) -> &str {
    body["data"]["originFaceInfo"]["reason"].as_str().unwrap_or("")
}

fn b64(frame: &Frame) -> String {
    base64::engine::general_purpose::STANDARD.encode(frame.to_jpeg(90))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrol_recognise_and_someone_else_is_not_found() {
    let r = rig(&common::live_sequence("obama.jpg"), 20);
    let init = r.call("initFace", json!({"scope": "auth_user,yingpin", "serviceId": "", "query": ""})).await;
    assert_eq!(init["success"], true, "{init}");

    let enrolled = r.enrol().await;
    assert_eq!(enrolled["success"], true, "{enrolled}");
    let data: Value = serde_json::from_str(enrolled["data"].as_str().expect("data is a JSON string")).unwrap();
    assert_eq!(data["eventType"], "rocketResult");
    let ev = &data["eventData"];
    assert_eq!(ev["subCode"], "SUCCESS");
    let uid = ev["uid"].as_str().unwrap().to_string();
    assert_eq!(uid.len(), 16);
    assert_eq!(verify(ev["authCode"].as_str().unwrap()).uid, uid);
    assert!(r.screens.saw("show main enrol") && r.screens.saw("hide main"));
    assert!(r.screens.0.lock().unwrap().iter().any(|s| s.contains("转头")), "the challenge asked for a turn");

    // Enrolling again finds the person instead of adding a second one.
    let again = r.enrol().await;
    let data: Value = serde_json::from_str(again["data"].as_str().unwrap()).unwrap();
    assert_eq!(data["eventData"]["uid"], uid.as_str(), "{again}");
    assert!(data["eventData"].get("authCode").is_none(), "the seed's answer for an existing user");
    assert_eq!(r.face.gallery().unwrap().status().people, 1);

    let found = r.call("getFaceInfo", json!({})).await;
    assert_eq!(found["success"], true, "{found} {:?}", r.screens.0.lock().unwrap());
    let d = &found["data"];
    assert_eq!(d["alipayUid"], uid.as_str());
    assert_eq!(d["code"], 1000);
    assert_eq!(d["isvResult"], true);
    assert!(d["ftoken"].as_str().unwrap().starts_with("fp"));
    let ext: Value = serde_json::from_str(d["extInfo"].as_str().unwrap()).unwrap();
    let claims = verify(ext["authCode"].as_str().unwrap());
    assert_eq!(
        (claims.uid.as_str(), claims.ft.as_str(), claims.sn.as_str()),
        (uid.as_str(), d["ftoken"].as_str().unwrap(), "T-0001")
    );
    assert!(d["score"].as_u64().unwrap() > 55);

    r.show(&common::live_sequence("biden.jpg"));
    let other = r.call("getFaceInfo", json!({})).await;
    assert_eq!(other["success"], false, "{other}");
    assert_eq!(other["errorCode"], "DEVICE_ERROR", "{other} {:?}", r.screens.0.lock().unwrap());
    assert_eq!(reason(&other), "NOT_ENROLLED");
    assert!(!other["message"].as_str().unwrap().is_empty());

    // The status says how many, never who or what.
    let status = r.face.status().to_string();
    assert!(status.contains("\"people\":1"), "{status}");
    assert!(!status.contains(&uid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn person_card_against_a_photo_an_id_size_crop_and_the_card_reader() {
    let r = rig(&common::live_sequence("obama.jpg"), 20);
    let ok = r.call("getFaceInfoPersonCard", json!({"certName": "奥巴马", "certNo": "110101199003070011", "certPhotoBase64Str": b64(&common::photo("obama2.jpg"))})).await;
    assert_eq!(ok["success"], true, "{ok}");
    assert_eq!(ok["data"]["code"], 1000);
    assert!(r.screens.saw("show main verify"));

    // An ID card's photo is 102×126: the card reader's size.
    let id_photo = common::id_size(&common::photo("obama3.jpg"));
    r.bridge.bus().publish(
        "idcard.card",
        json!({"idNum": "11010119900307001X", "name": "奥巴马", "photoBase64": b64(&id_photo)}),
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let card = r.call("getFaceInfoPersonCard", json!({"certName": "奥巴马", "certNo": "11010119900307001x"})).await;
    assert_eq!(card["success"], true, "{card}");

    let wrong = r.call("getFaceInfoPersonCard", json!({"certName": "拜登", "certNo": "110101199003070011", "certPhotoBase64Str": b64(&common::photo("biden.jpg"))})).await;
    assert_eq!(wrong["success"], false, "{wrong}");
    assert_eq!(reason(&wrong), "MISMATCH");

    for (params, why) in [
        (json!({"certNo": "110101199003070011"}), "certName"),
        (json!({"certName": "a", "certNo": "12"}), "certNo"),
        (json!({"certName": "a", "certNo": "110101199003070022"}), "certPhotoBase64Str"),
        (json!({"certName": "a", "certNo": "110101199003070011", "certPhotoBase64Str": "not base64!"}), "base64"),
        (
            json!({"certName": "a", "certNo": "110101199003070011", "certPhotoBase64Str": b64(&Frame::filled(200, 200, [90, 90, 90]))}),
            "人脸",
        ),
    ] {
        let body = r.call("getFaceInfoPersonCard", params).await;
        assert_eq!(body["errorCode"], "INVALID_PARAMS", "{why}: {body}");
        assert!(body["message"].as_str().unwrap().contains(why), "{why}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_still_photo_fails_liveness_and_nobody_times_out() {
    let r = rig(&common::still_sequence("obama.jpg"), 6);
    let still = r.call("getFaceInfo", json!({})).await;
    assert_eq!(still["success"], false, "{still}");
    assert_eq!(reason(&still), "LIVENESS_FAILED");
    assert_eq!(still["message"], "活体检测未通过");

    r.show(&[Frame::filled(640, 480, [120, 120, 120])]);
    let nobody = r.call("getFaceInfo", json!({})).await;
    assert_eq!(nobody["errorCode"], "TIMEOUT", "{nobody}");
    assert_eq!(reason(&nobody), "NO_FACE");

    // Two people in front of the camera are never one capture.
    let two = common::photo("sample1.jpg");
    r.show(&[Frame::decode(&two.to_jpeg(90)).unwrap()]);
    let many = r.call("getFaceInfo", json!({})).await;
    assert_eq!(many["success"], false, "{many}");
    assert!(r.screens.saw("prompt 请一个人刷脸"), "{:?}", r.screens.0.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_busy_consent_refused_and_bad_params() {
    let r = rig(&common::still_sequence("obama.jpg"), 20);
    let task = r.start("getFaceInfo", json!({}));
    r.until_waiting().await;
    let busy = r.call("getFaceInfo", json!({})).await;
    assert_eq!(busy["errorCode"], "BUSY", "{busy}");
    assert!(r.face.cancel(r.session));
    let cancelled = task.await.unwrap().body;
    assert_eq!(cancelled["errorCode"], "CANCELLED", "{cancelled}");
    assert_eq!(cancelled["message"], "用户取消刷脸");
    assert!(r.screens.saw("hide main"));
    assert!(!r.face.waiting(r.session));

    let task =
        r.start("doStorageFaceInfo", json!({"appid": "a", "orgOutId": "o", "componentOutId": "c", "isvPid": "p"}));
    r.until_waiting().await;
    assert!(r.face.consent(r.session, false));
    let refused = task.await.unwrap().body;
    assert_eq!(refused["success"], false);
    let data: Value = serde_json::from_str(refused["data"].as_str().unwrap()).unwrap();
    assert_eq!(data["eventData"]["subCode"], "90001", "{refused}");
    assert_eq!(r.face.gallery().unwrap().status().people, 0);

    let missing = r.call("doStorageFaceInfo", json!({"appid": "a", "orgOutId": "o", "componentOutId": "c"})).await;
    assert_eq!(missing["errorCode"], "INVALID_PARAMS");
    assert!(missing["message"].as_str().unwrap().contains("isvPid"));
    let typed = r.call("initFace", json!({"scope": 5})).await;
    assert_eq!(typed["errorCode"], "INVALID_PARAMS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_camera_source_removed_mid_attempt_is_a_clean_error_then_it_works_again() {
    let r = rig(&common::live_sequence("obama.jpg"), 20);
    assert_eq!(r.enrol().await["success"], true);
    r.show(&common::still_sequence("obama.jpg"));
    let task = r.start("getFaceInfo", json!({}));
    r.until_waiting().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    std::fs::remove_dir_all(&r.frames).unwrap();
    let gone = tokio::time::timeout(Duration::from_secs(10), task).await.expect("answered").unwrap().body;
    assert_eq!(gone["errorCode"], "DEVICE_UNAVAILABLE", "{gone}");
    assert_eq!(reason(&gone), "CAMERA_UNAVAILABLE");
    assert!(r.screens.0.lock().unwrap().last().unwrap() == "hide main");

    common::write_frames(&r.frames, &common::live_sequence("obama.jpg"));
    let back = r.call("getFaceInfo", json!({})).await;
    assert_eq!(back["success"], true, "{back}");
}

#[tokio::test]
async fn missing_models_say_how_to_install_them() {
    let dir = tempfile::tempdir().unwrap();
    let section = FaceSection { models_dir: dir.path().join("nothing").display().to_string(), ..Default::default() };
    let config = section.resolve(dir.path(), dir.path(), "").unwrap();
    let camera = Camera::new(CameraConfig { backend: Backend::Sim, ..Default::default() });
    let face = FaceService::new(config, camera);
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
    let raw =
        json!({"action": "initFace", "event": "open", "taskId": "1", "params": {"scope": "auth_user"}}).to_string();
    let body = bridge.call(session, Dialect::My, "ampeHHCommunication", &raw).await.body;
    assert_eq!(body["errorCode"], "DEVICE_UNAVAILABLE", "{body}");
    assert!(body["message"].as_str().unwrap().contains("setup.sh"), "{body}");
    assert_eq!(face.status()["available"], false);
}

/// Seed 001's face login with the local engine: a 1:N login against the terminal's gallery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_001_face_login_with_the_local_engine() {
    let r = rig(&common::live_sequence("obama.jpg"), 20);
    r.face.watch_applet_resets(&r.bridge);
    let wx = |name: &'static str, params: Value| {
        let (bridge, session) = (r.bridge.clone(), r.session);
        async move {
            let reply = bridge.call(session, Dialect::Wxfaceapp, name, &params.to_string()).await;
            (reply.ok, reply.body)
        }
    };
    let (ok, body) = wx("faceLogin", json!({})).await;
    assert!(!ok, "nobody is enrolled: {body}");
    assert_eq!(
        (body["replyCode"].as_str(), body["originFaceInfo"]["reason"].as_str()),
        (Some("-1"), Some("NOT_ENROLLED"))
    );

    assert_eq!(r.enrol().await["success"], true);
    let (ok, body) = wx("faceLogin", json!({"enableMultiLogin": false})).await;
    assert!(ok, "{body}");
    assert_eq!(body, json!({"replyCode": "0", "reply": "face login suc"}));
    assert!(r.screens.saw("show main recognize"));
    assert!(wx("isLoginOnFaceApp", json!({})).await.0);
    assert_eq!(wx("faceLogin", json!({})).await.1["reply"], "already in login status, no need to face login");
    assert_eq!(wx("logoutOnFaceApp", json!({})).await, (true, json!({"replyCode": "0", "reply": "logout suc!"})));
    let (ok, body) = wx("isLoginOnFaceApp", json!({})).await;
    assert_eq!((ok, body["replyCode"].as_str()), (false, Some("-1")));

    // The idle reset ends the login.
    assert!(wx("faceLogin", json!({})).await.0);
    r.bridge.bus().publish(booth_face::APPLET_RESET_TOPIC, json!({"why": "idle"}));
    let deadline = Instant::now() + Duration::from_secs(20);
    while r.face.logged_in() {
        assert!(Instant::now() < deadline, "the idle reset did not end the login");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Someone else: not enrolled, not logged in.
    r.show(&common::live_sequence("biden.jpg"));
    let (ok, body) = wx("faceLogin", json!({"enableMultiLogin": true})).await;
    assert!(!ok, "{body}");
    assert!(!wx("isLoginOnFaceApp", json!({})).await.0);
}
