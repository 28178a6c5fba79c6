//! facePay and its events with the real face screen flow (models, liveness, the `file`
//! camera) and the cash register on a pty pair, the charges answered by the payment simulator
//! (its outcomes are what the panel offers). The same flows against the reference provider are
//! in `provider.rs`.

mod common;

use booth_payment::journal::{Journal, State};
use booth_payment::sim::SimGateway;
use common::*;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn face_code_to_the_page_and_a_charge_through_the_cash_register() {
    let sim = Arc::new(SimGateway::default());
    let r = rig(sim.clone(), &live("obama.jpg"), Options { register: true, ..Options::default() });
    let reg = r.register.as_ref().unwrap();

    // requireFaceCode: the code goes to the page, nothing is charged or journalled.
    let (ok, body) = r.wx("facePay", json!({"requireFaceCode": true})).await;
    assert!(ok, "{body}");
    assert_eq!(body, json!({"replyCode": "0", "reply": "success"}));
    let got = r.events_until(1, LONG).await;
    assert_eq!(got[0].0, "onFacePayPassEvent");
    assert_eq!(got[0].1["replyCode"], "0");
    assert_eq!(got[0].1["reply"], "face pay finished");
    assert!(got[0].1["faceCode"].as_str().is_some_and(|c| c.starts_with("28")), "{got:?}");
    assert_eq!(sim.ledger_total(), 0);
    assert_eq!(r.screens.0.lock().unwrap()[0]["mode"], "pay");

    // The register asks for ¥12.50; facePay without an amount takes it; PAID goes back.
    r.clear_events();
    reg.send("AMT 1250 POS-0001");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (ok, body) = r.wx("facePay", json!({})).await;
    assert!(ok, "{body}");
    let got = r.events_until(2, LONG).await;
    assert_eq!(got[0], ev("onFacePayPassEvent", json!({"replyCode": "0", "reply": "face pay finished"})));
    assert_eq!(got[1].0, "onQueryPaymentSucEvent");
    assert_eq!(got[1].1["replyCode"], "0");
    assert_eq!(got[1].1["reply"], "query payment success");
    assert_eq!(got[1].1["outTradeNo"], "POS-0001");
    assert_eq!(reg.next_line(Duration::from_secs(5)), "PAID POS-0001 1250");
    assert_eq!(sim.ledger_total(), 1250);
    let amount_shown = r.screens.0.lock().unwrap().last().unwrap()["amountText"].clone();
    assert_eq!(amount_shown, "¥12.50");
    let j = Journal::read_only(&r.journal).unwrap();
    let a = j.by_trade("POS-0001").unwrap();
    assert_eq!((a.last.state, a.last.amount), (State::Paid, 1250));

    // A bad line from the register is answered, not acted on.
    reg.send("AMT 12.50");
    assert_eq!(reg.next_line(Duration::from_secs(5)), "FAIL -12 金额应为 1–100000000 分的整数 (得到 \"12.50\")");

    // Insufficient funds: the face passed, the query says no ("-10"), the register hears FAIL.
    r.clear_events();
    sim.set_outcome("insufficient-funds");
    reg.send("AMT 99");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(r.wx("facePay", json!({})).await.0);
    let got = r.events_until(2, LONG).await;
    assert_eq!(got[1].0, "onQueryPaymentFailedEvent");
    assert_eq!(got[1].1["replyCode"], "-10");
    assert_eq!(got[1].1["subCode"], "INSUFFICIENT_FUNDS");
    assert!(reg.next_line(Duration::from_secs(5)).starts_with("FAIL -10 "));
    assert_eq!(sim.ledger_total(), 1250);

    // The answer is lost after the charge: the same key again finds it; one charge, and the
    // page learns it was paid.
    r.clear_events();
    sim.set_outcome("cut-after");
    assert!(r.wx("facePay", json!({"amount": 300, "outTradeNo": "CUT-1"})).await.0);
    let got = r.events_until(2, LONG).await;
    assert_eq!(got[1].0, "onQueryPaymentSucEvent", "{got:?}");
    assert_eq!(sim.ledger_total(), 1550);
    // The request is lost before the charge: asked again under the same key, charged once.
    r.clear_events();
    sim.set_outcome("cut-before");
    assert!(r.wx("facePay", json!({"amount": 200, "outTradeNo": "CUT-2"})).await.0);
    let got = r.events_until(2, LONG).await;
    assert_eq!(got[1].0, "onQueryPaymentSucEvent", "{got:?}");
    assert_eq!(sim.ledger_total(), 1750);
    // The page's amount, not the register's, and no register line for it.
    assert!(reg.next_line_none());

    // The provider is slow (the panel's `slow`: the answer takes 5 s). The attempt is in the
    // journal before the provider is called; the terminal takes no second payment while it
    // waits ("-3"); the face's and the payment's events come with the answer, charged once.
    r.clear_events();
    assert!(sim.set_outcome("slow"));
    assert!(r.wx("facePay", json!({"amount": 500, "outTradeNo": "SLOW-1"})).await.0);
    let open = |state| {
        Journal::read_only(&r.journal).ok().and_then(|j| j.by_trade("SLOW-1")).is_some_and(|a| a.last.state == state)
    };
    wait_for("the attempt in the journal", LONG, || open(State::Open)).await;
    let charging = std::time::Instant::now();
    let (ok, body) = r.wx("facePay", json!({"amount": 100, "outTradeNo": "SLOW-2"})).await;
    assert!(!ok && body["replyCode"] == "-3", "{body}");
    assert!(r.events_until(0, LONG).await.is_empty(), "nothing before the answer");
    let got = r.events_until(2, LONG).await;
    assert!(charging.elapsed() >= booth_payment::sim::SLOW - Duration::from_millis(500), "{:?}", charging.elapsed());
    assert_eq!(got[0].0, "onFacePayPassEvent", "{got:?}");
    assert_eq!(got[1].0, "onQueryPaymentSucEvent", "{got:?}");
    assert_eq!(got[1].1["outTradeNo"], "SLOW-1");
    assert!(open(State::Paid));
    assert_eq!(sim.ledger_total(), 2250);
    assert!(!sim.set_outcome("very-slow"), "an outcome the panel does not offer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_codes_and_the_payment_code_after_failed_faces() {
    let sim = Arc::new(SimGateway::default());
    let r = rig(sim.clone(), &nobody(), Options { face_timeout_s: 5, ..Options::default() });

    // No amount and no register: a clear error before anything starts.
    let (ok, body) = r.wx("facePay", json!({})).await;
    assert!(!ok);
    assert_eq!(
        (body["replyCode"].as_str(), body["errorCode"].as_str()),
        (Some("-1"), Some("INVALID_PARAMS")),
        "{body}"
    );
    assert!(
        body["errorMessage"].as_str().unwrap_or_default().contains("amount") || body.to_string().contains("amount"),
        "{body}"
    );
    let (ok, body) = r.wx("facePay", json!({"amount": -5})).await;
    assert!(!ok && body["errorCode"] == "INVALID_PARAMS", "{body}");
    let (ok, body) = r.wx("facePay", json!({"amount": 100, "outTradeNo": "a/b"})).await;
    assert!(!ok && body["errorCode"] == "INVALID_PARAMS", "{body}");

    // Nobody at the camera: "-6"; a second facePay while one runs: "-3".
    assert!(r.wx("facePay", json!({"amount": 100})).await.0);
    let (ok, body) = r.wx("facePay", json!({"amount": 100})).await;
    assert!(!ok);
    assert_eq!(body["replyCode"], "-3", "{body}");
    let got = r.events_until(1, LONG).await;
    assert_eq!(got[0], ev("onFacePayFailedEvent", json!({"replyCode": "-6", "reply": "超时"})));

    // The customer presses 取消: "-7".
    r.clear_events();
    r.show(&live("obama.jpg"));
    assert!(r.wx("facePay", json!({"amount": 100})).await.0);
    wait_for("the face screen", LONG, || r.face.waiting(r.session)).await;
    assert!(r.face.cancel(r.session));
    let got = r.events_until(1, LONG).await;
    assert_eq!(got[0], ev("onFacePayFailedEvent", json!({"replyCode": "-7", "reply": "用户取消支付"})));

    // A photo held up (no liveness) three times: "-8", then "请出示付款码" and the scanner.
    r.clear_events();
    r.show(&still("obama.jpg"));
    assert!(r.wx("facePay", json!({"amount": 450, "outTradeNo": "CODE-1"})).await.0);
    let got = r.events_until(1, LONG).await;
    assert_eq!(
        got[0],
        ev("onFacePayFailedEvent", json!({"replyCode": "-8", "reply": "用户刷脸多次失败,转二维码支付"}))
    );
    wait_for("the code screen", LONG, || r.face.waiting(r.session)).await;
    assert_eq!(r.screens.0.lock().unwrap().last().unwrap()["mode"], "code");
    r.bridge.bus().publish(booth_scanner::TOPIC_CODE, json!({"code": "2812345678901234"}));
    let got = r.events_until(2, LONG).await;
    assert_eq!(got[1].0, "onQueryPaymentSucEvent", "{got:?}");
    assert_eq!(sim.ledger_total(), 450);
    let j = Journal::read_only(&r.journal).unwrap();
    assert_eq!(format!("{:?}", j.by_trade("CODE-1").unwrap().last.kind), "Code");

    // No code shown in time after "-8": the query fails with "-11".
    r.clear_events();
    assert!(r.wx("facePay", json!({"amount": 450})).await.0);
    let got = r.events_until(1, LONG).await;
    assert_eq!(got[0].1["replyCode"], "-8");
    wait_for("the code screen", LONG, || r.face.waiting(r.session)).await;
    assert!(r.face.cancel(r.session));
    let got = r.events_until(2, LONG).await;
    assert_eq!(
        got[1],
        ev("onQueryPaymentFailedEvent", json!({"replyCode": "-11", "reply": "用户刷脸多次失败,转二维码支付"}))
    );
    assert_eq!(sim.ledger_total(), 450);
}
