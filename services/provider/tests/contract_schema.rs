//! Both sides against docs/provider-v1.yaml: every request Booth's client sends and every answer
//! the reference provider gives — successes and refusals of every endpoint — validated against
//! the document's schemas, and every operation of the document exercised.

mod common;

use booth_provider_client::client::{Exchange, Observer};
use booth_provider_client::wire::*;
use booth_provider_client::{ClientConfig, Code, Provider, ProviderConfig};
use booth_testkit::contract::Contract;
use common::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn recorded(url: &str, secret: &str) -> (Arc<Provider>, Arc<Mutex<Vec<Exchange>>>) {
    let sent: Arc<Mutex<Vec<Exchange>>> = Arc::default();
    let log = sent.clone();
    let observer: Observer = Arc::new(move |x: &Exchange| log.lock().unwrap().push(x.clone()));
    let cfg = ProviderConfig::Http {
        client: ClientConfig {
            url: url.into(),
            key_id: KEY_ID.into(),
            secret: secret.as_bytes().to_vec(),
            timeout: Duration::from_secs(10),
            retries: 0,
        },
        provider_liveness: false,
    };
    (Provider::from_config(&cfg, Some(observer)).unwrap(), sent)
}

fn part(org: &str) -> Partition {
    Partition { org_out_id: org.into(), component_out_id: "canteen".into() }
}

#[tokio::test(flavor = "multi_thread")]
async fn booths_requests_and_the_reference_providers_answers_follow_the_document() {
    let contract = Contract::load();
    let site = start().await;
    let (p, sent) = recorded(&site.running.url(), SECRET);

    p.capabilities().await.unwrap();
    let enroll = EnrollRequest {
        terminal: "T-1".into(),
        face: face("obama.jpg"),
        partition: part("org1"),
        person: PersonInfo { name: "测试".into(), id_number: "11010119610804001X".into(), ..Default::default() },
        consent: consent(),
    };
    let obama = p.enroll(&enroll).await.unwrap();
    assert!(p.enroll(&enroll).await.unwrap().existing);
    let mut refused = enroll.clone();
    refused.consent.text.clear();
    assert_eq!(p.enroll(&refused).await.unwrap_err().code, Code::ConsentRefused);

    let search = |photo: &str, org: &str| SearchRequest {
        terminal: "T-1".into(),
        face: face(photo),
        partition: Some(part(org)),
    };
    assert_eq!(p.search(&search("obama2.jpg", "org1")).await.unwrap().person_id, obama.person_id);
    assert_eq!(p.search(&search("obama2.jpg", "org2")).await.unwrap_err().code, Code::NotMatched);
    let mut foreign = search("obama2.jpg", "org1");
    foreign.face.embedding.model = "arcface".into();
    assert_eq!(p.search(&foreign).await.unwrap_err().code, Code::BadParam);

    let verify = |photo: &str, id: &str| VerifyRequest {
        terminal: "T-1".into(),
        face: face(photo),
        id_number: id.into(),
        name: "测试".into(),
        photo: String::new(),
    };
    assert!(p.verify(&verify("obama2.jpg", "11010119610804001X")).await.unwrap().matched);
    assert!(!p.verify(&verify("biden.jpg", "11010119610804001X")).await.unwrap().matched);
    assert_eq!(p.verify(&verify("biden.jpg", "110101199001010011")).await.unwrap_err().code, Code::NotMatched);
    assert_eq!(p.verify(&verify("biden.jpg", "")).await.unwrap_err().code, Code::BadParam);

    assert!(p.liveness(&LivenessRequest { terminal: "T-1".into(), face: face("obama.jpg") }).await.unwrap().passed);
    let mut dead = face("obama.jpg");
    dead.liveness.passed = false;
    let e = p.liveness(&LivenessRequest { terminal: "T-1".into(), face: dead }).await.unwrap_err();
    assert_eq!(e.code, Code::LivenessFailed);

    // Card OCR: the fields of each card the provider reads, a picture with no card, types it
    // does not read.
    let front = booth_testkit::card::id_front(&ID_FRONT);
    let back = booth_testkit::card::id_back("杭州市公安局西湖分局", "2016.03.12-2036.03.12");
    let bank = booth_testkit::card::bank_card("示例银行", "借记卡", "6217000010012345677", "LIN XIAOYU");
    for (kind, card) in [("IDCard", &front), ("IDCard", &back), ("BankCard", &bank)] {
        let picture = booth_testkit::card::photographed(card, 800, 1.0, 6, 1);
        let answer = p.ocr(&ocr_req(kind, &picture)).await.unwrap();
        assert_eq!(answer.kind, kind);
        assert!(answer.recog_result.as_object().is_some_and(|o| o.len() >= 3), "{answer:?}");
    }
    let table = booth_testkit::card::no_card(640, 480);
    assert_eq!(p.ocr(&ocr_req("IDCard", &table)).await.unwrap_err().code, Code::BadParam);
    for kind in ["IDCardCheck", "BusiCert"] {
        assert_eq!(p.ocr(&ocr_req(kind, &front)).await.unwrap_err().code, Code::NotConfigured);
    }

    let login = p.face_login(&FaceLoginRequest { terminal: "T-1".into(), face: face("obama2.jpg") }).await.unwrap();
    let stranger = FaceLoginRequest { terminal: "T-1".into(), face: face("biden.jpg") };
    assert_eq!(p.face_login(&stranger).await.unwrap_err().code, Code::NotMatched);
    let logout = LogoutRequest { terminal: "T-1".into(), session_id: login.session_id };
    assert!(p.logout(&logout).await.unwrap().ended);
    assert!(!p.logout(&logout).await.unwrap().ended);

    // Certification: a refused start, then one started, pending, passed on its page; one the
    // person ends (FAILED with its errorCode); an id nobody made.
    let certify = |return_url: &str| CertifyStartRequest {
        terminal: "T-1".into(),
        cert_name: "测试".into(),
        cert_no: "11010119610804001X".into(),
        return_url: return_url.into(),
    };
    assert_eq!(p.certify_start(&certify("booth://localhost/done")).await.unwrap_err().code, Code::BadParam);
    let addr = site.running.addr;
    let s = p.certify_start(&certify("https://shop.example/done")).await.unwrap();
    assert_eq!(p.certify_status(&s.certify_id).await.unwrap().status, "PENDING");
    let (id, frames) = (s.certify_id.clone(), booth_testkit::face::live_sequence("obama.jpg", &detect));
    let page = tokio::task::spawn_blocking(move || run_page(addr, &id, &frames, 200)).await.unwrap();
    assert_eq!(page["status"], "PASSED", "{page}");
    let passed = p.certify_status(&s.certify_id).await.unwrap();
    assert_eq!((passed.status.as_str(), passed.person_id.as_str()), ("PASSED", obama.person_id.as_str()));
    let s = p.certify_start(&certify("https://shop.example/done")).await.unwrap();
    let id = s.certify_id.clone();
    tokio::task::spawn_blocking(move || page_request(addr, "POST", &format!("/certify/{id}/no-camera"), b"{}"))
        .await
        .unwrap();
    assert_eq!(p.certify_status(&s.certify_id).await.unwrap().error_code, "CAMERA_UNAVAILABLE");
    assert_eq!(p.certify_status("0123456789abcdef0123456789abcdef").await.unwrap_err().code, Code::NotFound);

    // Payments: successes and refusals of every pay endpoint.
    let app = site.running.app.clone();
    booth_provider::pay::top_up(&app, &obama.person_id, 10_000, "test").unwrap();
    let member = booth_provider::pay::issue_member_code(&app, &obama.person_id).unwrap();
    let idem = Provider::new_idempotency_key;
    let by_face = |amount: i64, no: &str| PayFaceRequest {
        terminal: "T-1".into(),
        face: face("obama2.jpg"),
        amount,
        out_trade_no: no.into(),
        description: "午餐".into(),
        require_face_code: false,
        partition: Some(part("org1")),
    };
    let by_code = |code: &str, amount: i64, no: &str| PayCodeRequest {
        terminal: "T-1".into(),
        code: code.into(),
        amount,
        out_trade_no: no.into(),
        description: String::new(),
    };
    let query = |no: &str, code: &str| PayQueryRequest {
        terminal: "T-1".into(),
        out_trade_no: no.into(),
        face_code: code.into(),
    };
    let paid = p.pay_face(&by_face(1250, "C-1"), &idem()).await.unwrap();
    assert_eq!(
        (paid.status, paid.amount, paid.person_id.as_str()),
        (PayStatus::Success, 1250, obama.person_id.as_str())
    );
    assert_eq!(p.pay_face(&by_face(999_999, "C-2"), &idem()).await.unwrap_err().code(), Code::InsufficientFunds);
    assert_eq!(p.pay_face(&by_face(1251, "C-1"), &idem()).await.unwrap_err().code(), Code::BadParam);
    assert_eq!(p.pay_face(&by_face(2_000_000, "C-2"), &idem()).await.unwrap_err().code(), Code::BadParam);
    let mut nobody = by_face(100, "C-3");
    nobody.face = face("biden.jpg");
    assert_eq!(p.pay_face(&nobody, &idem()).await.unwrap_err().code(), Code::NotMatched);
    let code = p.face_code(&by_face(0, ""), &idem()).await.unwrap();
    assert_eq!(p.pay_query(&query("", &code.face_code)).await.unwrap_err().code(), Code::PaymentPending);
    assert_eq!(p.pay_code(&by_code(&code.face_code, 300, "C-4"), &idem()).await.unwrap().method, "face-code");
    assert_eq!(p.pay_query(&query("", &code.face_code)).await.unwrap().out_trade_no, "C-4");
    assert_eq!(
        p.pay_code(&by_code(&code.face_code, 300, "C-5"), &idem()).await.unwrap_err().code(),
        Code::PaymentFailed
    );
    assert_eq!(p.pay_query(&query("C-1", "")).await.unwrap(), paid);
    assert_eq!(p.pay_query(&query("C-9", "")).await.unwrap_err().code(), Code::NotFound);
    let refund = |no: &str, refund_no: &str, amount: i64| PayRefundRequest {
        terminal: "T-1".into(),
        out_trade_no: no.into(),
        out_refund_no: refund_no.into(),
        amount,
        reason: "退菜".into(),
    };
    assert_eq!(p.pay_refund(&refund("C-1", "R-1", 250), &idem()).await.unwrap().payment.refunded, 250);
    assert_eq!(p.pay_refund(&refund("C-1", "R-2", 1001), &idem()).await.unwrap_err().code(), Code::BadParam);
    assert_eq!(p.pay_refund(&refund("C-9", "R-3", 1), &idem()).await.unwrap_err().code(), Code::NotFound);
    let cancel = |no: &str| PayCancelRequest { terminal: "T-1".into(), out_trade_no: no.into() };
    assert_eq!(p.pay_cancel(&cancel("C-6"), &idem()).await.unwrap().status, PayStatus::Closed);
    assert_eq!(p.pay_code(&by_code(&member, 100, "C-6"), &idem()).await.unwrap_err().code(), Code::PaymentFailed);
    assert_eq!(p.pay_cancel(&cancel("C-1"), &idem()).await.unwrap().status, PayStatus::Revoked);
    assert_eq!(p.pay_refund(&refund("C-1", "R-4", 1), &idem()).await.unwrap_err().code(), Code::PaymentFailed);

    // An unknown secret: the unsigned 401 is in the document too.
    let (stranger_terminal, stranger_sent) = recorded(&site.running.url(), "not-the-secret-not-the-secret-0000");
    assert_eq!(stranger_terminal.capabilities().await.unwrap_err().code, Code::Unauthorized);

    let mut all = sent.lock().unwrap().clone();
    all.extend(stranger_sent.lock().unwrap().iter().cloned());
    let mut failures = Vec::new();
    for x in &all {
        if let Err(e) = contract.check_request(&x.method, &x.path, x.request.as_ref()) {
            failures.push(format!("request: {e}"));
        }
        if let Err(e) = contract.check_response(&x.method, &x.path, x.status, &x.response) {
            failures.push(format!("answer: {e} — {}", String::from_utf8_lossy(&x.response)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} exchanges drift from the document:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
    let missing: Vec<_> = contract.operations().difference(&contract.seen()).cloned().collect();
    assert!(missing.is_empty(), "operations of the document never exercised: {missing:?}");
    site.running.stop().await;
}
