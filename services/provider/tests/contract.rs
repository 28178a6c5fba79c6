//! Booth's client against the reference provider on loopback: the endpoints, their error
//! codes, idempotent retries, and answers that were altered, replayed or never came.

mod common;

use base64::Engine as _;
use booth_provider_client::sign;
use booth_provider_client::wire::*;
use booth_provider_client::{Code, Provider, ProviderConfig};
use common::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn provider(url: &str) -> Arc<Provider> {
    let cfg = ProviderConfig::Http {
        client: booth_provider_client::ClientConfig {
            url: url.into(),
            key_id: KEY_ID.into(),
            secret: SECRET.as_bytes().to_vec(),
            timeout: Duration::from_secs(10),
            retries: 2,
        },
        provider_liveness: false,
    };
    Provider::from_config(&cfg, None).unwrap()
}

fn part(org: &str) -> Partition {
    Partition { org_out_id: org.into(), component_out_id: "canteen".into() }
}

fn enroll_req(photo: &str, org: &str, id_number: &str) -> EnrollRequest {
    EnrollRequest {
        terminal: "T-1".into(),
        face: face(photo),
        partition: part(org),
        person: PersonInfo { name: "测试".into(), id_number: id_number.into(), ..Default::default() },
        consent: consent(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_search_verify_login_logout() {
    let site = start().await;
    let p = provider(&site.running.url());

    let (caps, at) = p.capabilities().await.unwrap();
    assert_eq!(caps.contract, CONTRACT);
    assert!((at - sign::now_s()).abs() <= 5);
    assert!(caps.models.contains(&format!("{FACE_MODEL}@{FACE_MODEL_VERSION}")));

    let obama = p.enroll(&enroll_req("obama.jpg", "org1", "11010119610804001X")).await.unwrap();
    assert!(!obama.existing && obama.person_id.len() == 16);
    // The same person again (another photo) is found, not added twice.
    let again = p.enroll(&enroll_req("obama2.jpg", "org1", "")).await.unwrap();
    assert!(again.existing);
    assert_eq!(again.person_id, obama.person_id);
    let biden = p.enroll(&enroll_req("biden.jpg", "org1", "")).await.unwrap();
    assert_ne!(biden.person_id, obama.person_id);

    // 1:N in the partition, and nobody in another one.
    let search = |photo: &str, org: &str| SearchRequest {
        terminal: "T-1".into(),
        face: face(photo),
        partition: Some(part(org)),
    };
    let found = p.search(&search("obama2.jpg", "org1")).await.unwrap();
    assert_eq!((found.alipay_uid.as_str(), found.code), (obama.person_id.as_str(), 1000));
    assert!(found.score > 50.0 && found.ftoken.starts_with("fp"));
    assert_eq!(p.search(&search("obama2.jpg", "org2")).await.unwrap_err().code, Code::NotMatched);

    // 1:1 against an enrolled ID number, and against a photo.
    let verify = |photo: &str, id: &str, reference: &str| VerifyRequest {
        terminal: "T-1".into(),
        face: face(photo),
        id_number: id.into(),
        name: String::new(),
        photo: reference.into(),
    };
    let same = p.verify(&verify("obama2.jpg", "11010119610804001x", "")).await.unwrap();
    assert!(same.matched && same.person_id == obama.person_id, "{same:?}");
    let other = p.verify(&verify("biden.jpg", "11010119610804001X", "")).await.unwrap();
    assert!(!other.matched && other.person_id.is_empty());
    let jpeg = std::fs::read(booth_testkit::face::face_dir().join("samples/obama.jpg")).unwrap();
    let photo = format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(jpeg));
    assert!(p.verify(&verify("obama2.jpg", "", &photo)).await.unwrap().matched);
    assert!(!p.verify(&verify("biden.jpg", "", &photo)).await.unwrap().matched);
    assert_eq!(p.verify(&verify("biden.jpg", "110101199001010011", "")).await.unwrap_err().code, Code::NotMatched);
    assert_eq!(p.verify(&verify("biden.jpg", "", "")).await.unwrap_err().code, Code::BadParam);

    // A face-login session, ended once.
    let login = p.face_login(&FaceLoginRequest { terminal: "T-1".into(), face: face("obama2.jpg") }).await.unwrap();
    assert_eq!(login.person_id, obama.person_id);
    assert!(login.expires_at > sign::now_s());
    assert_eq!(site.running.app.store.live_sessions().unwrap(), 1);
    let logout = LogoutRequest { terminal: "T-1".into(), session_id: login.session_id.clone() };
    assert!(p.logout(&logout).await.unwrap().ended);
    assert!(!p.logout(&logout).await.unwrap().ended);
    assert_eq!(site.running.app.store.live_sessions().unwrap(), 0);

    // Deleting a person removes them from search.
    assert!(site.running.app.store.delete_person(&obama.person_id).unwrap());
    assert_eq!(p.search(&search("obama2.jpg", "org1")).await.unwrap_err().code, Code::NotMatched);

    // The audit trail names people and outcomes, and holds nothing biometric.
    let audit = site.running.app.store.audit_rows(100).unwrap();
    assert!(audit.iter().any(|r| r.action == "face.enroll" && r.outcome == "ENROLLED"));
    assert!(audit.iter().any(|r| r.action == "session.logout" && r.outcome == "ENDED"));
    site.running.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_have_the_contracts_codes() {
    let site = start().await;
    let p = provider(&site.running.url());
    let mut no_consent = enroll_req("obama.jpg", "org1", "");
    no_consent.consent.text.clear();
    assert_eq!(p.enroll(&no_consent).await.unwrap_err().code, Code::ConsentRefused);
    assert!(site.running.app.store.people().unwrap().is_empty());

    let mut dead = face("obama.jpg");
    dead.liveness.passed = false;
    let search = SearchRequest { terminal: "T-1".into(), face: dead.clone(), partition: None };
    assert_eq!(p.search(&search).await.unwrap_err().code, Code::LivenessFailed);
    let live = LivenessRequest { terminal: "T-1".into(), face: dead };
    assert_eq!(p.liveness(&live).await.unwrap_err().code, Code::LivenessFailed);
    assert!(p.liveness(&LivenessRequest { terminal: "T-1".into(), face: face("obama.jpg") }).await.unwrap().passed);

    let mut empty = face("obama.jpg");
    empty.embedding.values.clear();
    let search = SearchRequest { terminal: "T-1".into(), face: empty, partition: None };
    assert_eq!(p.search(&search).await.unwrap_err().code, Code::NoFace);
    let mut foreign = face("obama.jpg");
    foreign.embedding.model = "arcface".into();
    let e = p.search(&SearchRequest { terminal: "T-1".into(), face: foreign, partition: None }).await.unwrap_err();
    assert_eq!(e.code, Code::BadParam);
    assert!(e.message.contains(FACE_MODEL), "{}", e.message);

    let ocr = OcrRequest { terminal: "T-1".into(), kind: "IDCard".into(), image: String::new() };
    assert_eq!(p.ocr(&ocr).await.unwrap_err().code, Code::BadParam);
    site.running.stop().await;
}

/// Card OCR through Booth's client: the fields of a photographed ID card, and a provider
/// without the models saying so in its capabilities and answering NOT_CONFIGURED.
#[tokio::test(flavor = "multi_thread")]
async fn card_ocr_through_booths_client_and_without_models() {
    let site = start().await;
    let p = provider(&site.running.url());
    let (caps, _) = p.capabilities().await.unwrap();
    assert!(caps.features.iter().any(|f| f == "ocr"), "{caps:?}");
    assert!(caps.models.iter().any(|m| m == booth_provider::ocr::MODEL), "{caps:?}");
    let picture = booth_testkit::card::photographed(&booth_testkit::card::id_front(&ID_FRONT), 1000, -2.0, 10, 2);
    let started = std::time::Instant::now();
    let answer = p.ocr(&ocr_req("IDCard", &picture)).await.unwrap();
    println!("IDCard through the client: {:?}", started.elapsed());
    assert_eq!(
        answer.recog_result,
        serde_json::json!({"face": 0, "name": "林晓雨", "gender": "女", "nation": "汉", "birthday": "19940709", "birthdayMatchesIdNo": true,
            "address": "浙江省杭州市西湖区文三路88号2幢301室", "idNo": "33010619940709002X", "idNoValid": true})
    );
    site.running.stop().await;

    let bare = start_with(None).await;
    let p = provider(&bare.running.url());
    let (caps, _) = p.capabilities().await.unwrap();
    assert!(!caps.features.iter().any(|f| f == "ocr"), "{caps:?}");
    let e = p.ocr(&ocr_req("IDCard", &picture)).await.unwrap_err();
    assert_eq!(e.code, Code::NotConfigured);
    assert!(e.message.contains("OCR"), "{}", e.message);
    bare.running.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn altered_and_replayed_answers_are_refused() {
    let site = start().await;
    let tamper = Proxy::start(site.running.addr, Mode::Tamper);
    let e = provider(&tamper.url()).capabilities().await.unwrap_err();
    assert_eq!(e.code, Code::Unauthorized);
    assert!(e.message.contains("signature"), "{}", e.message);

    // A genuine answer, recorded and played back for the next request, is refused: it is
    // bound to the first request's nonce.
    let replay = Proxy::start(site.running.addr, Mode::ReplayFirst);
    let p = provider(&replay.url());
    p.capabilities().await.unwrap();
    assert_eq!(p.capabilities().await.unwrap_err().code, Code::Unauthorized);

    // A terminal with the wrong secret hears why (the provider's unsigned claim).
    let wrong = Arc::new(booth_provider_client::Client::new(booth_provider_client::ClientConfig {
        url: site.running.url(),
        key_id: KEY_ID.into(),
        secret: b"not-the-secret-not-the-secret-0000".to_vec(),
        timeout: Duration::from_secs(5),
        retries: 0,
    }));
    let e = wrong.exchange("GET", "/v1/capabilities", None).await.unwrap_err();
    assert_eq!(e.code, Code::Unauthorized);
    assert!(e.message.contains("signature does not match"), "{}", e.message);

    // The same through an honest proxy works.
    let pass = Proxy::start(site.running.addr, Mode::Pass);
    provider(&pass.url()).capabilities().await.unwrap();
    site.running.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_answer_is_retried_under_the_same_key_and_applied_once() {
    let site = start().await;
    let drop_first = Proxy::start(site.running.addr, Mode::DropFirst);
    let p = provider(&drop_first.url());
    let enrolled = p.enroll(&enroll_req("biden.jpg", "org1", "")).await.unwrap();
    assert!(!enrolled.existing, "the retry got the first attempt's answer");
    let seen = drop_first.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(!seen[0].is_empty() && seen[0] == seen[1], "{seen:?}");
    assert_eq!(site.running.app.store.people().unwrap().len(), 1);
    site.running.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn timeouts_and_a_stopped_provider() {
    let site = start().await;
    let stall = Proxy::start(site.running.addr, Mode::Stall);
    let c = client_to(&stall.url(), Duration::from_millis(500), 1);
    let started = Instant::now();
    let e = c.exchange("GET", "/v1/capabilities", None).await.unwrap_err();
    assert_eq!(e.code, Code::Timeout);
    assert_eq!(stall.seen.lock().unwrap().len(), 2, "one retry");
    assert!(started.elapsed() < Duration::from_secs(10));

    let url = site.running.url();
    site.running.stop().await;
    let e = provider(&url).capabilities().await.unwrap_err();
    assert_eq!(e.code, Code::Network);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_provider_refuses_bad_signatures_skew_and_replayed_requests() {
    let site = start().await;
    let addr = site.running.addr;
    let body = b"{}";
    let signed = |ts: i64, nonce: &str, secret: &str, key: &str| {
        let s = sign::request_string("POST", "/v1/liveness", ts, nonce, "idem-raw-1", body);
        vec![
            (sign::KEY_ID, key.to_string()),
            (sign::TIMESTAMP, ts.to_string()),
            (sign::NONCE, nonce.to_string()),
            (sign::IDEMPOTENCY_KEY, "idem-raw-1".to_string()),
            (sign::SIGNATURE, sign::sign(secret.as_bytes(), &s)),
        ]
    };
    let now = sign::now_s();
    let n1 = "nonce-raw-000000000001";
    let (status, answer) = common::raw(addr, "POST", "/v1/liveness", &signed(now, n1, SECRET, KEY_ID), body);
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("BAD_PARAM"), "a valid signature reaches the endpoint: {answer}");
    // The same request again: its nonce was used.
    let (status, answer) = common::raw(addr, "POST", "/v1/liveness", &signed(now, n1, SECRET, KEY_ID), body);
    assert_eq!(status, 401);
    assert!(answer.contains("nonce already used"), "{answer}");
    // Outside the clock window.
    let (status, answer) =
        common::raw(addr, "POST", "/v1/liveness", &signed(now - 400, "nonce-raw-000000000002", SECRET, KEY_ID), body);
    assert_eq!(status, 401);
    assert!(answer.contains("clock skew"), "{answer}");
    // Another secret, an unknown key, no signature.
    let wrong = "another-secret-another-secret-0000";
    let (status, _) =
        common::raw(addr, "POST", "/v1/liveness", &signed(now, "nonce-raw-000000000003", wrong, KEY_ID), body);
    assert_eq!(status, 401);
    let (status, answer) =
        common::raw(addr, "POST", "/v1/liveness", &signed(now, "nonce-raw-000000000004", SECRET, "T-9"), body);
    assert_eq!(status, 401);
    assert!(answer.contains("unknown key"));
    let (status, _) = common::raw(addr, "GET", "/v1/capabilities", &[], b"");
    assert_eq!(status, 401);
    site.running.stop().await;
}
