//! The certification flow of the reference provider over HTTP, without a browser: start it with
//! a signed request, fetch its page, send the frames a camera would (a person turning their
//! head, made from the sample photos), and read the result the page would be sent to and the
//! signed status. The page in a real window is `booth-e2e certify::*`.

mod common;

use booth_provider_client::wire::*;
use booth_provider_client::Code;
use booth_testkit::face as tk;
use common::*;
use serde_json::Value;
use std::time::Duration;

const ID_NUMBER: &str = "110101199003070011";

fn start_req(cert_no: &str, return_url: &str) -> CertifyStartRequest {
    CertifyStartRequest {
        terminal: "T-1".into(),
        cert_name: "测试".into(),
        cert_no: cert_no.into(),
        return_url: return_url.into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_certifies_on_the_page_and_a_stranger_does_not() {
    let site = start().await;
    let addr = site.running.addr;
    let c = client_to(&site.running.url(), Duration::from_secs(10), 0);
    let enrolled: EnrollResponse = c
        .post(
            "/v1/face/enroll",
            &EnrollRequest {
                terminal: "T-1".into(),
                face: face("obama2.jpg"),
                partition: Partition::default(),
                person: PersonInfo { name: "测试".into(), id_number: ID_NUMBER.into(), ..Default::default() },
                consent: consent(),
            },
        )
        .await
        .unwrap();

    let caps: Capabilities = c.get("/v1/capabilities").await.unwrap();
    assert!(caps.features.iter().any(|f| f == "certify"), "{caps:?}");

    let s: CertifyStartResponse =
        c.post("/v1/certify/start", &start_req(ID_NUMBER, "https://shop.example/done?x=1")).await.unwrap();
    assert_eq!(s.certify_url, format!("{}/certify/{}", site.running.url(), s.certify_id));
    let id = s.certify_id.clone();
    let (status, html) =
        tokio::task::spawn_blocking(move || page_request(addr, "GET", &format!("/certify/{id}"), b"")).await.unwrap();
    assert_eq!(status, 200);
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("实人认证") && html.contains(&s.certify_id));
    let pending: CertifyStatus = c.get(&format!("/v1/certify/{}", s.certify_id)).await.unwrap();
    assert_eq!(pending.status, "PENDING");

    let live = tk::live_sequence("obama.jpg", &detect);
    let id = s.certify_id.clone();
    let frames = live.clone();
    let passed = tokio::task::spawn_blocking(move || run_page(addr, &id, &frames, 200)).await.unwrap();
    assert_eq!(passed["status"], "PASSED", "{passed}");
    assert_eq!(
        passed["next"],
        format!("https://shop.example/done?x=1&certifyId={}&status=PASSED", s.certify_id).as_str()
    );
    let done: CertifyStatus = c.get(&format!("/v1/certify/{}", s.certify_id)).await.unwrap();
    assert_eq!((done.status.as_str(), done.person_id.as_str()), ("PASSED", enrolled.person_id.as_str()));
    assert!(done.score > 0.5, "{done:?}");

    // Another person does the challenge for that ID number.
    let s: CertifyStartResponse =
        c.post("/v1/certify/start", &start_req(ID_NUMBER, "https://shop.example/done")).await.unwrap();
    let id = s.certify_id.clone();
    let stranger = tk::live_sequence("biden.jpg", &detect);
    let failed = tokio::task::spawn_blocking(move || run_page(addr, &id, &stranger, 200)).await.unwrap();
    assert_eq!(failed["status"], "FAILED", "{failed}");
    assert!(failed["next"].as_str().unwrap().ends_with("status=FAILED&errorCode=USER_IS_NOT_CERTIFY"), "{failed}");

    // An ID number nobody enrolled.
    let s: CertifyStartResponse =
        c.post("/v1/certify/start", &start_req("11010119900307002X", "https://shop.example/done")).await.unwrap();
    let id = s.certify_id.clone();
    let frames = live.clone();
    let nobody = tokio::task::spawn_blocking(move || run_page(addr, &id, &frames, 200)).await.unwrap();
    assert_eq!(nobody["status"], "FAILED", "{nobody}");
    let st: CertifyStatus = c.get(&format!("/v1/certify/{}", s.certify_id)).await.unwrap();
    assert_eq!(st.error_code, "USER_IS_NOT_CERTIFY");

    // No camera on the page: the person ends it.
    let s: CertifyStartResponse =
        c.post("/v1/certify/start", &start_req(ID_NUMBER, "https://shop.example/done")).await.unwrap();
    let id = s.certify_id.clone();
    let (status, body) =
        tokio::task::spawn_blocking(move || page_request(addr, "POST", &format!("/certify/{id}/no-camera"), b"{}"))
            .await
            .unwrap();
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["next"].as_str().unwrap().ends_with("errorCode=CAMERA_UNAVAILABLE"), "{v}");

    // Nothing of it is in the audit trail but the outcome.
    let audit = site.running.app.store.audit_rows(100).unwrap();
    let text = format!("{audit:?}");
    assert!(
        text.contains("certify.start") && text.contains("PASSED") && text.contains("USER_IS_NOT_CERTIFY"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_starts_unknown_ids_and_other_terminals() {
    let site = start().await;
    let addr = site.running.addr;
    let c = client_to(&site.running.url(), Duration::from_secs(10), 0);
    for (req, want) in [
        (start_req(ID_NUMBER, "javascript:alert(1)"), "returnUrl"),
        (start_req(ID_NUMBER, ""), "returnUrl"),
        (start_req("", "https://shop.example/"), "certNo"),
    ] {
        let e = c.post::<CertifyStartResponse>("/v1/certify/start", &req).await.unwrap_err();
        assert_eq!(e.code, Code::BadParam, "{e:?}");
        assert!(e.message.contains(want), "{e:?}");
    }
    let s: CertifyStartResponse =
        c.post("/v1/certify/start", &start_req(ID_NUMBER, "https://shop.example/")).await.unwrap();

    // Ids the provider never made: 404 for the page and its frames, NOT_FOUND when asked.
    let (status, _) = tokio::task::spawn_blocking(move || {
        page_request(addr, "GET", "/certify/0123456789abcdef0123456789abcdef", b"")
    })
    .await
    .unwrap();
    assert_eq!(status, 404);
    let (status, _) =
        tokio::task::spawn_blocking(move || page_request(addr, "POST", "/certify/..%2F..%2Fetc/frame", b"x"))
            .await
            .unwrap();
    assert_eq!(status, 404);
    let e = c.get::<CertifyStatus>("/v1/certify/0123456789abcdef0123456789abcdef").await.unwrap_err();
    assert_eq!(e.code, Code::NotFound);

    // Not an image: BAD_PARAM, and the certification goes on.
    let id = s.certify_id.clone();
    let (status, body) =
        tokio::task::spawn_blocking(move || page_request(addr, "POST", &format!("/certify/{id}/frame"), b"hello"))
            .await
            .unwrap();
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let st: CertifyStatus = c.get(&format!("/v1/certify/{}", s.certify_id)).await.unwrap();
    assert_eq!(st.status, "PENDING");

    // Without the models the provider cannot run the page: NOT_CONFIGURED at start.
    let dir = tempfile::tempdir().unwrap();
    let bare = booth_provider::App::open(booth_provider::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: dir.path().join("p.db"),
        key_file: dir.path().join("k.key"),
        models_dir: None,
        clients: std::collections::HashMap::from([(KEY_ID.to_string(), SECRET.to_string())]),
        ..booth_provider::Settings::default()
    })
    .unwrap();
    let running = bare.serve().await.unwrap();
    let c2 = client_to(&running.url(), Duration::from_secs(10), 0);
    let e = c2
        .post::<CertifyStartResponse>("/v1/certify/start", &start_req(ID_NUMBER, "https://shop.example/"))
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::NotConfigured, "{e:?}");
    running.stop().await;
}

fn settings_in(dir: &std::path::Path, listen: &str, certify_ttl_s: i64) -> booth_provider::Settings {
    booth_provider::Settings {
        listen: listen.parse().unwrap(),
        database: dir.join("db/provider.db"),
        key_file: dir.join("keys/templates.key"),
        models_dir: Some(tk::models_dir()),
        clients: std::collections::HashMap::from([(KEY_ID.to_string(), SECRET.to_string())]),
        certify_ttl_s,
        ..booth_provider::Settings::default()
    }
}

/// The provider restarts while a person is half-way through the challenge: the certification
/// is still there (same id, same page, same terminal key), the page gets a fresh challenge and
/// ends it with the right result.
#[tokio::test(flavor = "multi_thread")]
async fn a_certification_survives_a_provider_restart_mid_challenge() {
    let dir = tempfile::tempdir().unwrap();
    let app = booth_provider::App::open(settings_in(dir.path(), "127.0.0.1:0", 600)).unwrap();
    let running = app.serve().await.unwrap();
    let addr = running.addr;
    let c = client_to(&running.url(), Duration::from_secs(10), 0);
    let _: EnrollResponse = c
        .post(
            "/v1/face/enroll",
            &EnrollRequest {
                terminal: "T-1".into(),
                face: face("obama2.jpg"),
                partition: Partition::default(),
                person: PersonInfo { name: "测试".into(), id_number: ID_NUMBER.into(), ..Default::default() },
                consent: consent(),
            },
        )
        .await
        .unwrap();
    let s: CertifyStartResponse =
        c.post("/v1/certify/start", &start_req(ID_NUMBER, "https://shop.example/done")).await.unwrap();
    // A few frames of a person looking straight at the camera: the challenge has begun.
    let live = tk::live_sequence("obama.jpg", &detect);
    let id = s.certify_id.clone();
    let first = live[0].to_jpeg(85);
    let answers = tokio::task::spawn_blocking(move || {
        (0..3).map(|_| page_request(addr, "POST", &format!("/certify/{id}/frame"), &first)).collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{}", String::from_utf8_lossy(body));
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["status"], "PENDING", "{v}");
    }

    running.stop().await;
    drop(app);
    // Up again on the same address, from the same database.
    let app = booth_provider::App::open(settings_in(dir.path(), &addr.to_string(), 600)).unwrap();
    let running = app.serve().await.unwrap();
    let st: CertifyStatus = c.get(&format!("/v1/certify/{}", s.certify_id)).await.unwrap();
    assert_eq!(st.status, "PENDING", "{st:?}");
    assert_eq!(st.return_url, "https://shop.example/done");
    let id = s.certify_id.clone();
    let (status, _) =
        tokio::task::spawn_blocking(move || page_request(addr, "GET", &format!("/certify/{id}"), b"")).await.unwrap();
    assert_eq!(status, 200, "the page is still there after the restart");
    let id = s.certify_id.clone();
    let passed = tokio::task::spawn_blocking(move || run_page(addr, &id, &live, 200)).await.unwrap();
    assert_eq!(passed["status"], "PASSED", "{passed}");
    let done: CertifyStatus = c.get(&format!("/v1/certify/{}", s.certify_id)).await.unwrap();
    assert_eq!(done.status, "PASSED");
    running.stop().await;
}

/// A certification nobody finishes within `certify_ttl_s` ends as FAILED / TIMEOUT, for the
/// terminal and for the page (which goes to the return URL with that result), also after a
/// restart.
#[tokio::test(flavor = "multi_thread")]
async fn an_unfinished_certification_expires_with_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let app = booth_provider::App::open(settings_in(dir.path(), "127.0.0.1:0", 2)).unwrap();
    let running = app.serve().await.unwrap();
    let addr = running.addr;
    let c = client_to(&running.url(), Duration::from_secs(10), 0);
    let s: CertifyStartResponse =
        c.post("/v1/certify/start", &start_req(ID_NUMBER, "https://shop.example/done")).await.unwrap();
    let st: CertifyStatus = c.get(&format!("/v1/certify/{}", s.certify_id)).await.unwrap();
    assert_eq!(st.status, "PENDING");
    running.stop().await;
    drop(app);
    let app = booth_provider::App::open(settings_in(dir.path(), &addr.to_string(), 2)).unwrap();
    let running = app.serve().await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let st = loop {
        let st: CertifyStatus = c.get(&format!("/v1/certify/{}", s.certify_id)).await.unwrap();
        if st.status != "PENDING" || std::time::Instant::now() > deadline {
            break st;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!((st.status.as_str(), st.error_code.as_str()), ("FAILED", "TIMEOUT"), "{st:?}");
    let id = s.certify_id.clone();
    let (status, body) = tokio::task::spawn_blocking(move || {
        page_request(addr, "POST", &format!("/certify/{id}/frame"), &tk::photo("obama.jpg").to_jpeg(85))
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["status"], "FAILED");
    assert!(v["next"].as_str().unwrap().ends_with("status=FAILED&errorCode=TIMEOUT"), "{v}");
    let audit = format!("{:?}", running.app.store.audit_rows(10).unwrap());
    assert!(audit.contains("TIMEOUT"), "{audit}");
    running.stop().await;
    // An out-of-range lifetime is refused at start.
    assert!(booth_provider::App::open(settings_in(dir.path(), "127.0.0.1:0", 1)).is_err());
}
