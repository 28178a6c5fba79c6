//! End to end, seed 003's open-certify in a real booth window against the reference provider
//! (`booth-provider`, started here on loopback with Booth's face models): the page's server
//! part is played by the test (it starts the certification with a signed request), the page
//! calls `my.call('startBizService', {name: 'open-certify', param})`, Booth opens the
//! provider's certification page in its certification window, the page takes frames from
//! Booth's `file` camera (a person turning their head), the provider runs the liveness
//! challenge and the comparison, and the page goes to its return URL: 9000. Also: the person
//! closes the window (6001), the provider is stopped (6002), an origin the manifest does not
//! list (refused), and the simulator's outcomes under `--sim`.
//! Needs Xvfb, a window manager, tauri-driver and the face models: run through scripts/test-all.

use booth_camera::Frame;
use booth_e2e::{with_booth, with_real_booth, Booth};
use booth_face::test_support::detect;
use booth_provider::{App, Running, Settings};
use booth_provider_client::wire::*;
use booth_provider_client::{Client, ClientConfig};
use booth_testkit::face as tk;
use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const KEY_ID: &str = "T-e2e";
const SECRET: &str = "certify-e2e-secret-0123456789abcdef";
const ID_NUMBER: &str = "110101199003070011";

/// The reference provider on a free loopback port with one person enrolled (ID_NUMBER, from
/// `obama2.jpg`).
async fn provider(dir: &Path) -> Running {
    let settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: dir.join("provider/provider.db"),
        key_file: dir.join("provider/templates.key"),
        models_dir: Some(tk::models_dir()),
        clients: HashMap::from([(KEY_ID.to_string(), SECRET.to_string())]),
        ..Settings::default()
    };
    let app = App::open(settings).unwrap();
    let template = app.embed_photo(&tk::photo("obama2.jpg").to_jpeg(92)).unwrap_or_else(|r| panic!("{}", r.1));
    let consent =
        Consent { text: "同意".into(), accepted_at: booth_provider_client::sign::now_s(), terminal: "e2e".into() };
    let info = PersonInfo { name: "奥巴马".into(), id_number: ID_NUMBER.into(), ..Default::default() };
    app.store.add_person("9000000000000001", &Partition::default(), &info, FACE_MODEL, &template, &consent).unwrap();
    app.serve().await.unwrap()
}

fn client(url: &str) -> Arc<Client> {
    Arc::new(Client::new(ClientConfig {
        url: url.to_string(),
        key_id: KEY_ID.into(),
        secret: SECRET.as_bytes().to_vec(),
        timeout: Duration::from_secs(10),
        retries: 0,
    }))
}

/// What the mini-program's server does first (seed 003: 认证初始化).
async fn start(c: &Arc<Client>) -> CertifyStartResponse {
    let req = CertifyStartRequest {
        terminal: "e2e".into(),
        cert_name: "奥巴马".into(),
        cert_no: ID_NUMBER.into(),
        return_url: "https://shop.example/certified".into(),
    };
    c.post("/v1/certify/start", &req).await.unwrap_or_else(|e| panic!("certify/start: {e:?}"))
}

/// A person turning their head slowly in front of Booth's camera: each pose held about two
/// seconds at 15 frames a second. The page sends what it gets through the provider's models one
/// frame at a time (a few a second in a debug build), as a person's slow turn allows.
fn slowly(name: &str) -> Vec<Frame> {
    tk::live_sequence(name, &detect).into_iter().flat_map(|f| std::iter::repeat_n(f, 4)).collect()
}

/// A package whose manifest lists `origin`, and a booth.toml with the file camera.
fn setup(dir: &Path, origin: &str, frames: &[Frame]) -> (String, String) {
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join("miniapp.json"),
        json!({"id": "test.certify", "name": "E2E certify", "version": "1.0.0", "entry": "index.html",
               "dialects": ["my"], "permissions": ["identity"], "origins": [origin]})
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        pkg.join("index.html"),
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>E2E certify</title></head>\
         <body><h1>E2E certify</h1><script>window.ready = typeof my === 'object';</script></body></html>",
    )
    .unwrap();
    let camera = dir.join("camera");
    tk::write_frames(&camera, frames);
    let config = dir.join("booth.toml");
    std::fs::write(
        &config,
        format!("[log]\ndir = \"\"\n[camera]\nbackend = \"file\"\npath = \"{}\"\nfps = 15\n", camera.display()),
    )
    .unwrap();
    (pkg.display().to_string(), config.display().to_string())
}

/// Starts open-certify from the page; the reply lands in `window.certified`.
async fn open_certify(b: &Booth, certify_id: &str, url: &str) {
    let param = json!({"certifyId": certify_id, "url": url}).to_string();
    b.client
        .execute(
            "window.certified = null; my.call('startBizService', {name: 'open-certify', param: arguments[0]}, function (r) { window.certified = r; }); return true;",
            vec![Value::from(param)],
        )
        .await
        .expect("start the call");
}

async fn reply(b: &Booth, within: Duration) -> Value {
    b.wait_for("return window.certified", within).await
}

/// What the certification page shows (its prompt and whether it has a picture), for a failure
/// message; `None` when no certification window is open.
async fn page_state(b: &Booth) -> Option<Value> {
    let main = b.client.window().await.ok()?;
    let mut state = None;
    for h in b.client.windows().await.unwrap_or_default() {
        if h != main
            && b.client.switch_to_window(h).await.is_ok()
            && b.client.title().await.unwrap_or_default() == "实人认证"
        {
            state = b
                .client
                .execute(
                    "var p = document.getElementById('prompt'); return {url: location.href, prompt: p && p.textContent, booth: !!window.__boothCertify};",
                    vec![],
                )
                .await
                .ok();
        }
    }
    b.client.switch_to_window(main).await.ok()?;
    state
}

/// The reply to open-certify, waiting up to `within`; says what the page showed if none comes.
async fn reply_watching(b: &Booth, within: Duration) -> Value {
    let deadline = std::time::Instant::now() + within;
    let mut last = None;
    loop {
        let got = b.client.execute("return window.certified", vec![]).await.unwrap_or(Value::Null);
        if !got.is_null() {
            return got;
        }
        if let Some(s) = page_state(b).await {
            last = Some(s);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no answer within {within:?}; the certification page showed {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The certification window's handle, once it is open.
async fn certify_window(b: &Booth) -> fantoccini::wd::WindowHandle {
    let main = b.client.window().await.expect("current window");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        for h in b.client.windows().await.unwrap_or_default() {
            if h != main && b.client.switch_to_window(h.clone()).await.is_ok() {
                let title = b.client.title().await.unwrap_or_default();
                if title == "实人认证" {
                    b.client.switch_to_window(main.clone()).await.expect("back to main");
                    return h;
                }
            }
        }
        b.client.switch_to_window(main.clone()).await.expect("back to main");
        assert!(std::time::Instant::now() < deadline, "no certification window");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A GET with an `Origin` header, as a page of that origin would send it; the status code.
fn raw_get(url: &str, origin: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("a loopback http URL");
    let (addr, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\n\r\n").expect("write");
    let mut v = Vec::new();
    let _ = s.read_to_end(&mut v);
    let head = String::from_utf8_lossy(&v[..v.len().min(200)]).to_string();
    (head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0), head)
}

/// Waits until Booth has `n` windows again (the certification window closed).
async fn windows_back_to(b: &Booth, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while b.client.windows().await.unwrap_or_default().len() != n {
        assert!(std::time::Instant::now() < deadline, "the certification window stayed open");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver + face models; run by scripts/test-all"]
async fn open_certify_through_the_reference_page_passes_and_can_be_closed() {
    let dir = tempfile::tempdir().unwrap();
    let running = provider(dir.path()).await;
    let url = running.url();
    let c = client(&url);
    let (pkg, config) = setup(dir.path(), &url, &slowly("obama.jpg"));
    with_real_booth(&pkg, &["--config", &config], async |b| {
        b.wait_for("return window.ready", Duration::from_secs(5)).await;

        let before = b.client.windows().await.unwrap().len();
        // The person does the challenge on the provider's page: 9000, and the provider agrees.
        let s = start(&c).await;
        assert!(s.certify_url.starts_with(&url), "{s:?}");
        let t = std::time::Instant::now();
        open_certify(b, &s.certify_id, &s.certify_url).await;
        let passed = reply_watching(b, Duration::from_secs(90)).await;
        eprintln!("certification passed in {:.1} s", t.elapsed().as_secs_f32());
        assert_eq!(passed, json!({"resultStatus": "9000", "result": {"certifyId": s.certify_id}}));
        let status: CertifyStatus = c.get(&format!("/v1/certify/{}", s.certify_id)).await.unwrap();
        assert_eq!(status.status, "PASSED", "{status:?}");
        assert_eq!(status.person_id, "9000000000000001");
        // The window is gone.
        windows_back_to(b, before).await;

        // The person closes the window with its 关闭 button: 6001.
        let s = start(&c).await;
        open_certify(b, &s.certify_id, &s.certify_url).await;
        let main = b.client.window().await.unwrap();
        let w = certify_window(b).await;
        b.client.switch_to_window(w).await.unwrap();
        // A page that knows only getUserMedia gets Booth's camera too, and may read its pixels:
        // a canvas drawn from that video is not tainted, and the picture is the camera's.
        let seen = b
            .run_async(
                "navigator.mediaDevices.getUserMedia({video: true}).then(function (s) { \
                   var v = document.createElement('video'); v.muted = true; v.playsInline = true; v.srcObject = s; \
                   v.onplaying = function () { setTimeout(function () { \
                     var c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight; \
                     var g = c.getContext('2d'); g.drawImage(v, 0, 0); \
                     var d = g.getImageData(0, 0, c.width, c.height).data, lit = 0; \
                     for (var i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 60) lit++; \
                     s.getTracks().forEach(function (t) { t.stop(); }); \
                     done({width: c.width, height: c.height, lit: lit / (c.width * c.height)}); }, 300); }; \
                   v.play(); }, function (e) { done({error: e.name + ': ' + e.message}); });",
                Value::Null,
            )
            .await;
        assert!(seen["width"].as_u64().unwrap_or(0) >= 320, "{seen}");
        assert!(seen["lit"].as_f64().unwrap_or(0.0) > 0.2, "the camera's picture, not a black frame: {seen}");
        // Another origin cannot read Booth's frames.
        let frame_url = b.client.execute("return window.__boothCertify.frameUrl", vec![]).await.unwrap();
        let frame_url = frame_url.as_str().unwrap_or_default().to_string();
        let (code, _) = raw_get(&frame_url, "https://evil.example");
        assert_eq!(code, 403, "{frame_url}");
        // The person presses 关闭: a pointer click where Booth draws it, above the page.
        let at = b
            .wait_for(
                "var h = document.querySelector('booth-certify-close'); var x = h && h.shadowRoot && h.shadowRoot.querySelector('button'); \
                 if (!x) return null; var r = x.getBoundingClientRect(); return {x: r.left + r.width / 2, y: r.top + r.height / 2};",
                Duration::from_secs(20),
            )
            .await;
        let (x, y) = (at["x"].as_f64().unwrap_or(0.0), at["y"].as_f64().unwrap_or(0.0));
        let click = MouseActions::new("mouse".into())
            .then(PointerAction::MoveTo { duration: None, x, y })
            .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
            .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
        // The window goes away under the click: the driver may report that as an error.
        let _ = b.client.perform_actions(click).await;
        b.client.switch_to_window(main).await.unwrap();
        let closed = reply(b, Duration::from_secs(20)).await;
        assert_eq!(closed, json!({"resultStatus": "6001", "result": {}}));
        windows_back_to(b, before).await;
        let status: CertifyStatus = c.get(&format!("/v1/certify/{}", s.certify_id)).await.unwrap();
        assert_eq!(status.status, "PENDING");

        // A stranger in front of the camera: 4000 USER_IS_NOT_CERTIFY.
        tk::replace_frames(&dir.path().join("camera"), &slowly("biden.jpg"));
        let s = start(&c).await;
        open_certify(b, &s.certify_id, &s.certify_url).await;
        let failed = reply_watching(b, Duration::from_secs(90)).await;
        assert_eq!(failed["resultStatus"], "4000", "{failed}");
        assert_eq!(failed["result"], json!({"certifyId": s.certify_id, "errorCode": "USER_IS_NOT_CERTIFY"}));
        assert_eq!(failed["success"], false);
    })
    .await;
    running.stop().await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver + face models; run by scripts/test-all"]
async fn open_certify_network_failure_and_an_origin_not_in_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let running = provider(dir.path()).await;
    let url = running.url();
    let c = client(&url);
    let (pkg, config) = setup(dir.path(), &url, &tk::still_sequence("obama.jpg", &detect));
    let s = start(&c).await;
    with_real_booth(&pkg, &["--config", &config], async |b| {
        b.wait_for("return window.ready", Duration::from_secs(5)).await;
        let before = b.client.windows().await.unwrap().len();

        // Another origin (the same host, another port) is refused before any window opens.
        let other = format!("http://127.0.0.1:{}/certify/{}", booth_e2e::free_port(), s.certify_id);
        open_certify(b, &s.certify_id, &other).await;
        let refused = reply(b, Duration::from_secs(10)).await;
        assert_eq!(refused["resultStatus"], "4000", "{refused}");
        assert_eq!(refused["errorCode"], "PERMISSION_DENIED");
        assert_eq!(refused["result"]["errorCode"], "PERMISSION_DENIED");
        assert!(refused["message"].as_str().unwrap_or("").contains("origins"), "{refused}");

        // Bad param: a clear error, no window.
        b.client
            .execute(
                "window.certified = null; my.call('startBizService', {name: 'open-certify', param: '{\"url\": 5}'}, function (r) { window.certified = r; }); return true;",
                vec![],
            )
            .await
            .unwrap();
        let bad = reply(b, Duration::from_secs(10)).await;
        assert_eq!(bad["errorCode"], "INVALID_PARAMS", "{bad}");
        assert_eq!(bad["resultStatus"], "4000");
        assert_eq!(b.client.windows().await.unwrap().len(), before, "no certification window for refused calls");

        // The provider stops: the page cannot load, 6002.
        running.stop().await;
        open_certify(b, &s.certify_id, &s.certify_url).await;
        let down = reply(b, Duration::from_secs(30)).await;
        assert_eq!(down["resultStatus"], "6002", "{down}");
        assert_eq!(down["result"], json!({}));
        windows_back_to(b, before).await;
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn simulated_certification_answers_the_panels_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let origin = "https://certify.example.com";
    let (pkg, _) = setup(dir.path(), origin, &[Frame::filled(64, 48, [0, 0, 0])]);
    with_booth(&pkg, &[], async |b| {
        b.wait_for("return window.ready", Duration::from_secs(5)).await;
        let url = format!("{origin}/h5?certifyId=sim1");
        open_certify(b, "sim1", &url).await;
        assert_eq!(
            reply(b, Duration::from_secs(10)).await,
            json!({"resultStatus": "9000", "result": {"certifyId": "sim1"}})
        );
        for (action, body, status) in [
            ("cancel", "{}", "6001"),
            ("network-down", "{}", "6002"),
            ("fail", "{\"errorCode\":\"LIVENESS_FAILED\"}", "4000"),
        ] {
            let (code, r) = b.control("POST", &format!("/sim/certify/{action}"), body);
            assert_eq!(code, 200, "{r}");
            open_certify(b, "sim1", &url).await;
            let got = reply(b, Duration::from_secs(10)).await;
            assert_eq!(got["resultStatus"], status, "{action}: {got}");
        }
        let (_, sims) = b.control("GET", "/sim", "");
        assert!(sims["devices"].as_array().unwrap().iter().any(|d| d["id"] == "certify"), "{sims}");
    })
    .await;
}
