//! End to end, the face calls in a real booth window with the `file` camera (frames made from
//! the registry photos the face setup fetches): enrolment with consent on the face screen,
//! recognition with a signed auth code, a stranger, 1:1 against a photo and against the
//! simulated ID card, a still photo, cancel, timeout, and the camera's folder removed mid-call;
//! seed 002's finFaceAuth and finLivenessCheck against the reference provider (its own binary,
//! started by the test). Needs Xvfb, a window manager, tauri-driver and the face models: run through scripts/test-all.

use booth_camera::Frame;
use booth_e2e::provider::{write_private, ProviderProcess, ProviderSetup};
use booth_e2e::{fixture, with_real_booth, Booth};
use booth_face::test_support::detect;
use booth_testkit::face as tk;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SITE_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// A booth.toml with the file camera playing `frames` and a private gallery.
fn setup(dir: &Path, frames: &[Frame], timeout_s: u64) -> (String, PathBuf) {
    let camera = dir.join("camera");
    tk::write_frames(&camera, frames);
    let config = dir.join("booth.toml");
    std::fs::write(
        &config,
        format!(
            "[log]\ndir = \"\"\n[idcard]\nbackend = \"sim\"\n[camera]\nbackend = \"file\"\npath = \"{}\"\nfps = 15\n\
             [face]\nmodels_dir = \"{}\"\ngallery_dir = \"{}\"\nkey_file = \"{}\"\nsite_key = \"{SITE_KEY}\"\ntimeout_s = {timeout_s}\n",
            camera.display(),
            tk::models_dir().display(),
            dir.join("gallery").display(),
            dir.join("keys/gallery.key").display(),
        ),
    )
    .expect("booth.toml");
    (config.display().to_string(), camera)
}

async fn ready(b: &Booth) {
    b.wait_for("return window.ready", Duration::from_secs(5)).await;
}

/// Presses a button of the face screen as a person does.
async fn press(b: &Booth, action: &str) {
    booth_e2e::press_face_button(b, "E2E face — Booth", action).await;
}

async fn result(b: &Booth, var: &str, within: Duration) -> Value {
    b.wait_for(&format!("return window[{}]", Value::from(var)), within).await
}

fn call(action: &str, params: Value) -> Value {
    json!({"action": action, "event": "open", "taskId": "t", "params": params})
}

fn verify(code: &str) -> String {
    use hmac_check::check;
    check(SITE_KEY, code)
}

/// The auth code verifier of README → Face, in Rust: signature, expiry; returns the uid.
mod hmac_check {
    pub fn check(key_hex: &str, code: &str) -> String {
        let key = booth_face::authcode::parse_key(key_hex).expect("key");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        booth_face::authcode::verify(&key, code, now, |_, _| true).expect("a valid auth code").uid
    }
}

fn b64(frame: &Frame) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(frame.to_jpeg(90))
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver + face models; run by scripts/test-all"]
async fn enrol_recognise_and_a_stranger_with_the_file_camera() {
    let dir = tempfile::tempdir().unwrap();
    let (config, camera) = setup(dir.path(), &tk::live_sequence("obama.jpg", &detect), 20);
    with_real_booth(&fixture("face"), &["--config", &config], async |b| {
        ready(b).await;
        let init = b.ampe(call("initFace", json!({"scope": "auth_user,yingpin", "serviceId": "", "query": ""}))).await;
        assert_eq!(init["success"], true, "{init}");

        b.ampe_pending("enrol", call("doStorageFaceInfo", json!({"appid": "2021", "orgOutId": "org1", "componentOutId": "day_label_sign_online", "isvPid": "2088"}))).await;
        // The consent question first, then the camera with its live preview.
        press(b, "agree").await;
        b.wait_for(
            "return window.__boothFace.previewShowing()",
            Duration::from_secs(10),
        )
        .await;
        let enrolled = result(b, "enrol", Duration::from_secs(40)).await;
        assert_eq!(enrolled["success"], true, "{enrolled}");
        let data: Value = serde_json::from_str(enrolled["data"].as_str().expect("data is a JSON string")).unwrap();
        let uid = data["eventData"]["uid"].as_str().unwrap().to_string();
        assert_eq!(verify(data["eventData"]["authCode"].as_str().unwrap()), uid);
        b.wait_for("return !document.querySelector('booth-face')", Duration::from_secs(5)).await;

        let found = b.ampe(call("getFaceInfo", json!({}))).await;
        assert_eq!(found["success"], true, "{found}");
        assert_eq!(found["data"]["alipayUid"], uid.as_str());
        assert_eq!(found["data"]["code"], 1000);
        let ext: Value = serde_json::from_str(found["data"]["extInfo"].as_str().unwrap()).unwrap();
        assert_eq!(verify(ext["authCode"].as_str().unwrap()), uid);

        // Seed 001's faceLogin with relaunchUrl: after the login the page goes there, inside the
        // package; a URL elsewhere is refused before the camera and the page stays.
        let refused = b
            .run_async("wxfaceapp.faceLogin({relaunchUrl: 'https://evil.example/', fail: done, success: done});", Value::Null)
            .await;
        assert_eq!(refused["errorCode"], "INVALID_PARAMS", "{refused}");
        b.client
            .execute(
                "window.loggedIn = null; wxfaceapp.faceLogin({relaunchUrl: '/index.html?after=login', complete: function (r) { window.loggedIn = r; }}); return true;",
                vec![],
            )
            .await
            .expect("faceLogin");
        let landed = b
            .wait_for("return window.ready && location.search === '?after=login' && location.pathname", Duration::from_secs(40))
            .await;
        assert_eq!(landed, "/index.html");
        let login = b.run_async("wxfaceapp.isLoginOnFaceApp({success: function () { done(true); }, fail: function () { done(false); }});", Value::Null).await;
        assert_eq!(login, true, "logged in, on the page relaunchUrl named");

        tk::replace_frames(&camera, &tk::live_sequence("biden.jpg", &detect));
        let stranger = b.ampe(call("getFaceInfo", json!({}))).await;
        assert_eq!(stranger["success"], false, "{stranger}");
        assert_eq!(stranger["data"]["originFaceInfo"]["reason"], "NOT_ENROLLED");

        // /health counts the gallery and names nobody.
        let (_, health) = b.control("GET", "/health", "");
        assert_eq!(health["devices"]["face"]["gallery"]["people"], 1, "{health}");
        assert_eq!(health["devices"]["camera"]["backend"], "file");
        assert!(!health.to_string().contains(&uid));
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver + face models; run by scripts/test-all"]
async fn person_card_with_a_photo_and_with_the_simulated_id_card() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _camera) = setup(dir.path(), &tk::live_sequence("obama.jpg", &detect), 20);
    with_real_booth(&fixture("face"), &["--config", &config], async |b| {
        ready(b).await;
        let photo = tk::photo("obama2.jpg");
        let ok = b
            .ampe(call("getFaceInfoPersonCard", json!({"certName": "奥巴马", "certNo": "110101199003070011", "certPhotoBase64Str": b64(&photo)})))
            .await;
        assert_eq!(ok["success"], true, "{ok}");

        // The simulated reader reads a card whose photo is an ID-size crop of the person.
        let card = tk::photo("obama3.jpg");
        let id_photo = tk::id_size(&card, &detect(&card).unwrap());
        let (status, placed) = b.control(
            "POST",
            "/sim/idcard/place",
            &json!({"name": "奥巴马", "idNumber": "110101199003070011", "photo": b64(&id_photo)}).to_string(),
        );
        assert_eq!(status, 200, "{placed}");
        let by_card = b.ampe(call("getFaceInfoPersonCard", json!({"certName": "奥巴马", "certNo": "110101199003070011"}))).await;
        assert_eq!(by_card["success"], true, "{by_card}");

        let none = b.ampe(call("getFaceInfoPersonCard", json!({"certName": "x", "certNo": "110101199003070027"}))).await;
        assert_eq!(none["errorCode"], "INVALID_PARAMS", "{none}");
        let other = b
            .ampe(call("getFaceInfoPersonCard", json!({"certName": "拜登", "certNo": "110101199003070011", "certPhotoBase64Str": b64(&tk::photo("biden.jpg"))})))
            .await;
        assert_eq!(other["data"]["originFaceInfo"]["reason"], "MISMATCH", "{other}");
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver + face models; run by scripts/test-all"]
async fn still_photo_cancel_timeout_and_a_removed_camera() {
    let dir = tempfile::tempdir().unwrap();
    let (config, camera) = setup(dir.path(), &tk::still_sequence("obama.jpg", &detect), 6);
    with_real_booth(&fixture("face"), &["--config", &config], async |b| {
        ready(b).await;
        let still = b.ampe(call("getFaceInfo", json!({}))).await;
        assert_eq!(still["data"]["originFaceInfo"]["reason"], "LIVENESS_FAILED", "{still}");
        assert_eq!(still["message"], "活体检测未通过");

        b.ampe_pending("cancelled", call("getFaceInfo", json!({}))).await;
        press(b, "cancel").await;
        let cancelled = result(b, "cancelled", Duration::from_secs(10)).await;
        assert_eq!(cancelled["errorCode"], "CANCELLED", "{cancelled}");

        tk::replace_frames(&camera, &[Frame::filled(640, 480, [120, 120, 120])]);
        let nobody = b.ampe(call("getFaceInfo", json!({}))).await;
        assert_eq!(nobody["errorCode"], "TIMEOUT", "{nobody}");
        assert_eq!(nobody["data"]["originFaceInfo"]["reason"], "NO_FACE");

        // The camera's folder disappears mid-call: a clean error, and it works again after.
        tk::replace_frames(&camera, &tk::still_sequence("obama.jpg", &detect));
        b.ampe_pending("gone", call("getFaceInfo", json!({}))).await;
        b.wait_for("return !!document.querySelector('booth-face')", Duration::from_secs(10)).await;
        std::fs::remove_dir_all(&camera).unwrap();
        let gone = result(b, "gone", Duration::from_secs(15)).await;
        assert_eq!(gone["errorCode"], "DEVICE_UNAVAILABLE", "{gone}");
        b.wait_for("return !document.querySelector('booth-face')", Duration::from_secs(5)).await;
        let start = Instant::now();
        loop {
            let (_, health) = b.control("GET", "/health", "");
            if health["devices"]["camera"]["available"] == false || start.elapsed() > Duration::from_secs(5) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tk::write_frames(&camera, &tk::still_sequence("obama.jpg", &detect));
        let back = b.ampe(call("getFaceInfo", json!({}))).await;
        assert_eq!(back["data"]["originFaceInfo"]["reason"], "LIVENESS_FAILED", "the camera works again: {back}");
    })
    .await;
}

const PROVIDER_KEY: &str = "T-E2E";
const PROVIDER_SECRET: &str = "e2e-provider-secret-0123456789abcdef";
const OBAMA_ID: &str = "11010119610804001X";

/// The reference provider's own binary with Obama enrolled through its admin command.
fn reference_provider(dir: &Path) -> ProviderProcess {
    let setup = ProviderSetup::new(dir, PROVIDER_KEY, PROVIDER_SECRET, &tk::models_dir());
    let photo = tk::face_dir().join("samples/obama.jpg").display().to_string();
    setup.cmd(&[
        "person",
        "add",
        "--photo",
        &photo,
        "--id-number",
        OBAMA_ID,
        "--name",
        "奥巴马",
        "--org",
        "org1",
        "--component",
        "canteen",
    ]);
    setup.serve()
}

/// An ft call's outcome: `{ok: value}` when resolved, the rejection otherwise.
async fn ft(b: &Booth, call: &str) -> Value {
    b.run_async(&format!("{call}.then(function (r) {{ done({{ok: r}}); }}, done);"), Value::Null).await
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver + face models + the booth-provider binary; run by scripts/test-all"]
async fn fin_face_auth_and_liveness_against_the_reference_provider() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let provider = reference_provider(dir.path());
    let (config, camera) = setup(dir.path(), &tk::live_sequence("obama.jpg", &detect), 20);
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml = toml.replace("[face]\n", "[face]\nengine = \"provider\"\n");
    // Card OCR in a debug build on a busy machine takes seconds.
    toml.push_str(&format!(
        "[provider]\nbackend = \"http\"\nurl = \"{}\"\nkey_id = \"{PROVIDER_KEY}\"\nsecret = \"{PROVIDER_SECRET}\"\ntimeout_ms = 30000\n",
        provider.url
    ));
    // It holds a secret: Booth refuses a booth.toml others may read.
    write_private(Path::new(&config), &toml);
    with_real_booth(&fixture("face"), &["--config", &config], async |b| {
        ready(b).await;
        let same = ft(b, &format!("ft.finFaceAuth({{idNo: '{OBAMA_ID}', name: '奥巴马', imagePath: ''}})")).await;
        assert_eq!(same["ok"]["errorCode"], 0, "{same}");
        assert_eq!(same["ok"]["description"], "认证通过");
        assert!(same["ok"]["score"].as_f64().unwrap() > 0.5, "{same}");

        tk::replace_frames(&camera, &tk::live_sequence("biden.jpg", &detect));
        let other = ft(b, &format!("ft.finFaceAuth({{idNo: '{OBAMA_ID}', name: '奥巴马'}})")).await;
        assert_eq!(other["ok"]["errorCode"], 1001, "{other}");
        assert!(other["ok"]["score"].as_f64().unwrap() < 0.5, "{other}");

        tk::replace_frames(&camera, &tk::live_sequence("obama.jpg", &detect));
        let live = ft(b, "ft.finLivenessCheck()").await;
        assert_eq!(live["ok"]["resultType"], "success", "{live}");
        let img = live["ok"]["faceImgStr"].as_str().unwrap().to_string();
        assert!(img.starts_with("/9j/"), "a JPEG, base64");
        // Its picture, as a data: URL, is accepted once as a live face.
        let by_live = b
            .run_async(
                "ft.finFaceAuth({idNo: arg.id, imagePath: 'data:image/jpeg;base64,' + arg.img}).then(function (r) { done({ok: r}); }, done);",
                json!({"id": OBAMA_ID, "img": img}),
            )
            .await;
        assert_eq!(by_live["ok"]["errorCode"], 0, "{by_live}");

        // 取消 on the liveness screen: "back".
        b.client
            .execute(
                "window.back = null; ft.finLivenessCheck().then(function (r) { window.back = {ok: r}; }, function (e) { window.back = e; }); return true;",
                vec![],
            )
            .await
            .expect("start finLivenessCheck");
        press(b, "cancel").await;
        let back = result(b, "back", Duration::from_secs(10)).await;
        assert_eq!(back, json!({"ok": {"resultType": "back"}}));

        // finCardOcr on a photographed synthetic ID card (a fictional person), as a data: URL.
        let person = booth_testkit::card::IdFront {
            name: "林晓雨",
            gender: "女",
            nation: "汉",
            birth: (1994, 7, 9),
            address: &["浙江省杭州市西湖区文三路", "88号2幢301室"],
            id_no: "33010619940709002X",
        };
        let card = booth_testkit::card::photographed(&booth_testkit::card::id_front(&person), 900, -1.5, 6, 3);
        let card_url = format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(card.to_jpeg(90)));
        let ocr = b
            .run_async(
                "ft.finCardOcr({type: 'IDCard', imagePath: arg}).then(function (r) { done({ok: r}); }, done);",
                json!(card_url),
            )
            .await;
        assert_eq!(
            ocr["ok"],
            json!({"type": "IDCard", "errorCode": 0, "description": "识别成功", "recogResult": {
                "face": 0, "name": "林晓雨", "gender": "女", "nation": "汉", "birthday": "19940709",
                "address": "浙江省杭州市西湖区文三路88号2幢301室", "idNo": "33010619940709002X", "idNoValid": true,
                "birthdayMatchesIdNo": true}}),
            "{ocr}"
        );

        // Nothing biometric in /health.
        let (_, health) = b.control("GET", "/health", "");
        assert_eq!(health["devices"]["provider"]["backend"], "http", "{health}");
        assert!(!health.to_string().contains(&img[..40]));
    })
    .await;
    drop(provider);
    // The provider said at start that it reads cards, and never what it read.
    let log = std::fs::read_to_string(dir.path().join("provider.log")).unwrap_or_default();
    assert!(log.contains("card OCR: available"), "{log}");
    assert!(!log.contains("33010619940709002X") && !log.contains("林晓雨"), "{log}");
}

/// What a hostile page tries against Booth's screen (see the script), and its forged input.
const HOSTILE_SCRIPT: &str = include_str!("hostile_screen.js");
const FORGE_SCRIPT: &str = include_str!("forge_screen.js");

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver + face models; run by scripts/test-all"]
async fn a_page_script_cannot_agree_on_the_consent_screen() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _camera) = setup(dir.path(), &tk::live_sequence("obama.jpg", &detect), 20);
    with_real_booth(&fixture("face"), &["--config", &config], async |b| {
        ready(b).await;
        let redefined = b.client.execute(HOSTILE_SCRIPT, vec![json!("booth-face")]).await.expect("hostile script");
        assert_eq!(redefined, "no", "a page defined Booth's element name");
        let init = b.ampe(call("initFace", json!({"scope": "auth_user,yingpin", "serviceId": "", "query": ""}))).await;
        assert_eq!(init["success"], true, "{init}");
        b.ampe_pending("enrol", call("doStorageFaceInfo", json!({"appid": "2021", "orgOutId": "org1", "componentOutId": "day_label_sign_online", "isvPid": "2088"}))).await;
        let agree = b.wait_for("return window.__boothFace.where('agree')", Duration::from_secs(20)).await;
        let forged = b
            .client
            .execute(FORGE_SCRIPT, vec![json!("booth-face"), agree.clone(), json!(["Enter", " ", "Escape"])])
            .await
            .expect("forge");
        assert_eq!(forged["host"], true, "{forged}");
        assert_eq!(forged["shadowRoot"], "null", "the screen's shadow root is closed: {forged}");
        assert_eq!(forged["hit"], "booth-face", "{forged}");
        // The forged clicks and keys did nothing: the consent question is still up (the refuse
        // button is where it was), and the person's own 不同意 decides.
        assert!(b.client.execute("return window.__boothFace.where('refuse')", vec![]).await.unwrap().is_object());
        press(b, "refuse").await;
        let refused = result(b, "enrol", Duration::from_secs(10)).await;
        // Seed 000's answer when the person refuses: CANCELLED, subCode 90001.
        assert_eq!(refused["success"], false, "{refused}");
        assert_eq!(refused["errorCode"], "CANCELLED", "{refused}");
        assert!(refused["data"].as_str().unwrap_or_default().contains("90001"), "{refused}");
        let leaked = b.client.execute("return window.__hostile.leaked()", vec![]).await.unwrap();
        assert_eq!(leaked, 0, "the page's replaced prototypes saw Booth's screen from inside");
    })
    .await;
}

/// The fictional person of the card tests.
const CARD_PERSON: booth_testkit::card::IdFront = booth_testkit::card::IdFront {
    name: "林晓雨",
    gender: "女",
    nation: "汉",
    birth: (1994, 7, 9),
    address: &["浙江省杭州市西湖区文三路", "88号2幢301室"],
    id_no: "33010619940709002X",
};

/// finCardOcr with an empty imagePath, as a person uses it: Booth's capture screen shows the
/// camera (here the `file` camera playing a photographed card), the person presses 拍照 with
/// the pointer (a click of the X server, not a script), the picture goes to the reference
/// provider and the page gets the card's fields; a second call is ended with 取消.
#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver + face models + the booth-provider binary; run by scripts/test-all"]
async fn card_capture_screen_shutter_and_cancel_by_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let provider = reference_provider(dir.path());
    let card = booth_testkit::card::photographed(&booth_testkit::card::id_front(&CARD_PERSON), 560, 1.0, 4, 5);
    let (config, _camera) = setup(dir.path(), &[card], 30);
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str(&format!(
        "[provider]\nbackend = \"http\"\nurl = \"{}\"\nkey_id = \"{PROVIDER_KEY}\"\nsecret = \"{PROVIDER_SECRET}\"\ntimeout_ms = 30000\n",
        provider.url
    ));
    write_private(Path::new(&config), &toml);
    with_real_booth(&fixture("face"), &["--config", &config], async |b| {
        ready(b).await;
        b.client
            .execute(
                "window.card = null; ft.finCardOcr({type: 'IDCard', imagePath: ''}).then(function (r) { window.card = {ok: r}; }, function (e) { window.card = e; }); return true;",
                vec![],
            )
            .await
            .expect("start finCardOcr");
        // The screen is up with its preview before the person presses 拍照.
        b.wait_for("return window.__boothFace.previewShowing()", Duration::from_secs(15)).await;
        press(b, "shoot").await;
        let read = result(b, "card", Duration::from_secs(60)).await;
        assert_eq!(
            read["ok"],
            json!({"type": "IDCard", "errorCode": 0, "description": "识别成功", "recogResult": {
                "face": 0, "name": "林晓雨", "gender": "女", "nation": "汉", "birthday": "19940709",
                "address": "浙江省杭州市西湖区文三路88号2幢301室", "idNo": "33010619940709002X", "idNoValid": true,
                "birthdayMatchesIdNo": true}}),
            "{read}"
        );
        b.wait_for("return !document.querySelector('booth-face')", Duration::from_secs(5)).await;

        // 取消: the call fails as ft calls fail, CANCELLED, and nothing reaches the provider.
        b.client
            .execute(
                "window.card = null; ft.finCardOcr({type: 'BankCard'}).then(function (r) { window.card = {ok: r}; }, function (e) { window.card = e; }); return true;",
                vec![],
            )
            .await
            .expect("start finCardOcr");
        b.wait_for("return window.__boothFace.previewShowing()", Duration::from_secs(15)).await;
        press(b, "cancel").await;
        let cancelled = result(b, "card", Duration::from_secs(10)).await;
        assert_eq!(cancelled["errorCode"], "CANCELLED", "{cancelled}");
        assert!(cancelled["errMsg"].as_str().unwrap_or_default().starts_with("finCardOcr:fail"), "{cancelled}");
        b.wait_for("return !document.querySelector('booth-face')", Duration::from_secs(5)).await;
    })
    .await;
    drop(provider);
    let log = std::fs::read_to_string(dir.path().join("provider.log")).unwrap_or_default();
    // One picture reached the provider: the cancelled call sent none.
    assert_eq!(log.lines().filter(|l| l.contains("recognised")).count(), 1, "{log}");
    assert!(!log.contains("33010619940709002X"), "{log}");
}

/// A remote package served under a sub-path (`http://127.0.0.1:<port>/app/index.html`):
/// faceLogin's relaunchUrl is a page of the package, so it resolves inside `/app/`, not at the
/// host's root.
#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver + face models; run by scripts/test-all"]
async fn relaunch_url_of_a_remote_package_under_a_sub_path() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("app/pages")).unwrap();
    let page = std::fs::read_to_string(Path::new(&fixture("face")).join("index.html")).unwrap();
    std::fs::write(site.join("app/index.html"), &page).unwrap();
    std::fs::write(site.join("app/pages/after.html"), &page).unwrap();
    let port = booth_e2e::free_port();
    let mut server = booth_e2e::serve_dir(&site.display().to_string(), port);
    let (config, _camera) = setup(dir.path(), &tk::live_sequence("obama.jpg", &detect), 20);
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml = toml.replace("[face]\n", "[face]\nengine = \"provider\"\n");
    toml.push_str("[provider]\nbackend = \"sim\"\n[package]\nremote_permissions = [\"face\"]\n");
    std::fs::write(&config, toml).unwrap();
    let url = format!("http://127.0.0.1:{port}/app/index.html");
    with_real_booth(&url, &["--config", &config], async |b| {
        ready(b).await;
        b.client
            .execute(
                "window.loggedIn = null; wxfaceapp.faceLogin({relaunchUrl: 'pages/after?from=login', complete: function (r) { window.loggedIn = r; }}); return true;",
                vec![],
            )
            .await
            .expect("faceLogin");
        let landed = b
            .wait_for("return window.ready && location.search === '?from=login' && location.pathname", Duration::from_secs(40))
            .await;
        assert_eq!(landed, "/app/pages/after.html", "relaunchUrl resolves inside the package's folder");
    })
    .await;
    let _ = server.kill();
    let _ = server.wait();
}
