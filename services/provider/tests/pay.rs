//! Payments through Booth's client against the reference provider: each charge made once or not
//! at all whatever the network does between them (a proxy that drops requests, drops answers,
//! stalls answers and delivers requests late), the same Idempotency-Key getting the first
//! result, refunds and cancellation, the ledger's invariants and the day's report.

mod common;

use booth_provider::testing::RefProvider;
use booth_provider_client::wire::*;
use booth_provider_client::{ClientConfig, Code, PayError, Provider, ProviderConfig};
use booth_testkit::netfault::{Fault, FaultProxy};
use common::{embedding, face, KEY_ID, SECRET};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY_2: &str = "T-2";
const SECRET_2: &str = "fedcba9876543210fedcba9876543210-two";

fn client(url: &str, key_id: &str, secret: &str, timeout: Duration, retries: u32) -> Arc<Provider> {
    let cfg = ProviderConfig::Http {
        client: ClientConfig {
            url: url.into(),
            key_id: key_id.into(),
            secret: secret.as_bytes().to_vec(),
            timeout,
            retries,
        },
        provider_liveness: false,
    };
    Provider::from_config(&cfg, None).unwrap()
}

async fn provider() -> RefProvider {
    RefProvider::start(&[(KEY_ID, SECRET), (KEY_2, SECRET_2)]).await
}

fn by_code(code: &str, amount: i64, no: &str) -> PayCodeRequest {
    PayCodeRequest {
        terminal: "T-1".into(),
        code: code.into(),
        amount,
        out_trade_no: no.into(),
        description: "午餐".into(),
    }
}

fn by_face(photo: &str, amount: i64, no: &str) -> PayFaceRequest {
    PayFaceRequest {
        terminal: "T-1".into(),
        face: face(photo),
        amount,
        out_trade_no: no.into(),
        description: "午餐".into(),
        require_face_code: false,
        partition: None,
    }
}

fn query(no: &str) -> PayQueryRequest {
    PayQueryRequest { terminal: "T-1".into(), out_trade_no: no.into(), face_code: String::new() }
}

fn key() -> String {
    Provider::new_idempotency_key()
}

/// Every wallet's balance is the sum of its ledger lines, and no line may change.
fn ledger_holds(p: &RefProvider) {
    let ledger = p.ledger();
    let mut people: Vec<&str> = ledger.iter().map(|e| e.person_id.as_str()).collect();
    people.sort();
    people.dedup();
    for person in people {
        let sum: i64 = ledger.iter().filter(|e| e.person_id == person).map(|e| e.delta).sum();
        assert_eq!(p.balance(person), sum, "{person}'s balance is its ledger's sum");
        let last = ledger.iter().rev().find(|e| e.person_id == person).unwrap();
        assert_eq!(last.balance_after, sum);
    }
    let db = rusqlite::Connection::open(p.dir.path().join("db/provider.db")).unwrap();
    assert!(db.execute("UPDATE ledger SET amount = 1", []).unwrap_err().to_string().contains("append-only"));
    assert!(db.execute("DELETE FROM ledger", []).unwrap_err().to_string().contains("append-only"));
}

#[tokio::test(flavor = "multi_thread")]
async fn face_and_code_payments_refunds_and_cancellation() {
    let p = provider().await;
    let c = client(&p.url(), KEY_ID, SECRET, Duration::from_secs(10), 1);
    let obama = p.enroll_embedding(&embedding("obama.jpg"), 10_000);
    let bob = p.member("鲍勃", 5_000);

    // A face payment charges the person recognised, once per key and once per trade number.
    let k = key();
    let paid = c.pay_face(&by_face("obama2.jpg", 1250, "F-1"), &k).await.unwrap();
    assert_eq!(
        (paid.status, paid.person_id.as_str(), paid.method.as_str()),
        (PayStatus::Success, obama.person_id.as_str(), "face")
    );
    assert_eq!(p.balance(&obama.person_id), 8_750);
    assert_eq!(c.pay_face(&by_face("obama2.jpg", 1250, "F-1"), &k).await.unwrap(), paid);
    assert_eq!(c.pay_face(&by_face("obama2.jpg", 1250, "F-1"), &key()).await.unwrap(), paid);
    let other = c.pay_face(&by_face("obama2.jpg", 1300, "F-1"), &key()).await.unwrap_err();
    assert!(matches!(&other, PayError::Declined(e) if e.code == Code::BadParam), "{other:?}");
    assert_eq!(p.charges_of("F-1").len(), 1);
    // The same key with another body is refused, not answered with the first result.
    assert_eq!(c.pay_face(&by_face("obama2.jpg", 1250, "F-9"), &k).await.unwrap_err().code(), Code::BadParam);

    // Nobody, a failed liveness, bad amounts: declined, nothing charged.
    assert_eq!(c.pay_face(&by_face("biden.jpg", 100, "F-2"), &key()).await.unwrap_err().code(), Code::NotMatched);
    let mut dead = by_face("obama2.jpg", 100, "F-2");
    dead.face.liveness.passed = false;
    assert_eq!(c.pay_face(&dead, &key()).await.unwrap_err().code(), Code::LivenessFailed);
    for amount in [0, -5, i64::MIN] {
        let e = c.pay_code(&by_code(&bob.code, amount, "C-0"), &key()).await.unwrap_err();
        assert!(matches!(&e, PayError::Declined(x) if x.code == Code::BadParam), "{amount}: {e:?}");
    }
    assert_eq!(c.pay_code(&by_code(&bob.code, 1_000_001, "C-0"), &key()).await.unwrap_err().code(), Code::BadParam);
    assert_eq!(c.pay_code(&by_code(&bob.code, i64::MAX, "C-0"), &key()).await.unwrap_err().code(), Code::BadParam);

    // Insufficient funds is final for its key: a top-up later does not turn it into a charge.
    let k = key();
    assert_eq!(c.pay_code(&by_code(&bob.code, 6_000, "C-1"), &k).await.unwrap_err().code(), Code::InsufficientFunds);
    p.top_up(&bob.person_id, 2_000);
    assert_eq!(c.pay_code(&by_code(&bob.code, 6_000, "C-1"), &k).await.unwrap_err().code(), Code::InsufficientFunds);
    assert_eq!(p.balance(&bob.person_id), 7_000);
    let member_paid = c.pay_code(&by_code(&bob.code, 6_000, "C-1"), &key()).await.unwrap();
    assert_eq!((member_paid.method.as_str(), p.balance(&bob.person_id)), ("member-code", 1_000));

    // A rotated member code pays nothing; an unknown one neither.
    let old = bob.code.clone();
    let new = booth_provider::pay::issue_member_code(p.app(), &bob.person_id).unwrap();
    assert_eq!(c.pay_code(&by_code(&old, 100, "C-2"), &key()).await.unwrap_err().code(), Code::PaymentFailed);
    assert_eq!(c.pay_code(&by_code("123456", 100, "C-2"), &key()).await.unwrap_err().code(), Code::PaymentFailed);
    c.pay_code(&by_code(&new, 100, "C-2"), &key()).await.unwrap();

    // A face code: nothing charged until it is used, once, within its cap and trade number.
    let mut ask = by_face("obama2.jpg", 500, "FC-1");
    let fc = c.face_code(&ask, &key()).await.unwrap();
    assert_eq!((fc.face_code.len(), &fc.face_code[..2], fc.person_id.as_str()), (18, "98", obama.person_id.as_str()));
    assert_eq!(p.balance(&obama.person_id), 8_750);
    let fq = PayQueryRequest { terminal: "T-1".into(), out_trade_no: String::new(), face_code: fc.face_code.clone() };
    assert!(matches!(c.pay_query(&fq).await, Err(PayError::Unknown(e)) if e.code == Code::PaymentPending));
    assert_eq!(c.pay_code(&by_code(&fc.face_code, 501, "FC-1"), &key()).await.unwrap_err().code(), Code::PaymentFailed);
    assert_eq!(c.pay_code(&by_code(&fc.face_code, 400, "FC-2"), &key()).await.unwrap_err().code(), Code::PaymentFailed);
    let by_fc = c.pay_code(&by_code(&fc.face_code, 480, "FC-1"), &key()).await.unwrap();
    assert_eq!((by_fc.method.as_str(), p.balance(&obama.person_id)), ("face-code", 8_270));
    assert_eq!(c.pay_query(&fq).await.unwrap(), by_fc);
    ask.out_trade_no = "FC-3".into();
    ask.amount = 0;
    let fc2 = c.face_code(&ask, &key()).await.unwrap();
    c.pay_code(&by_code(&fc2.face_code, 10, "FC-3"), &key()).await.unwrap();
    assert_eq!(c.pay_code(&by_code(&fc2.face_code, 10, "FC-4"), &key()).await.unwrap_err().code(), Code::PaymentFailed);
    // Another terminal cannot learn about this terminal's face codes.
    let c2 = client(&p.url(), KEY_2, SECRET_2, Duration::from_secs(10), 0);
    assert_eq!(c2.pay_query(&fq).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(c2.pay_query(&query("FC-1")).await.unwrap(), by_fc);

    // Partial refunds up to the charge, once per refund number.
    let refund = |no: &str, rno: &str, amount: i64| PayRefundRequest {
        terminal: "T-1".into(),
        out_trade_no: no.into(),
        out_refund_no: rno.into(),
        amount,
        reason: "退菜".into(),
    };
    let r1 = c.pay_refund(&refund("F-1", "R-1", 250), &key()).await.unwrap();
    assert_eq!((r1.payment.refunded, r1.payment.status), (250, PayStatus::Success));
    assert_eq!(c.pay_refund(&refund("F-1", "R-1", 250), &key()).await.unwrap().refund_no, r1.refund_no);
    assert_eq!(c.pay_refund(&refund("F-1", "R-1", 251), &key()).await.unwrap_err().code(), Code::BadParam);
    assert_eq!(c.pay_refund(&refund("F-1", "R-2", 1001), &key()).await.unwrap_err().code(), Code::BadParam);
    let r2 = c.pay_refund(&refund("F-1", "R-2", 1000), &key()).await.unwrap();
    assert_eq!((r2.payment.refunded, r2.payment.status), (1250, PayStatus::Refunded));
    assert_eq!(c.pay_refund(&refund("F-1", "R-3", 1), &key()).await.unwrap_err().code(), Code::BadParam);
    assert_eq!(p.balance(&obama.person_id), 9_510);

    // Cancel: an unused number is closed for good; a paid one is revoked and returned.
    let cancel = |no: &str| PayCancelRequest { terminal: "T-1".into(), out_trade_no: no.into() };
    assert_eq!(c.pay_cancel(&cancel("X-1"), &key()).await.unwrap().status, PayStatus::Closed);
    assert_eq!(c.pay_code(&by_code(&new, 100, "X-1"), &key()).await.unwrap_err().code(), Code::PaymentFailed);
    assert_eq!(c.pay_query(&query("X-1")).await.unwrap().status, PayStatus::Closed);
    let revoked = c.pay_cancel(&cancel("C-1"), &key()).await.unwrap();
    assert_eq!((revoked.status, revoked.refunded), (PayStatus::Revoked, 6_000));
    assert_eq!(p.balance(&bob.person_id), 6_900);
    assert_eq!(c.pay_cancel(&cancel("C-1"), &key()).await.unwrap(), revoked);
    assert_eq!(c.pay_refund(&refund("C-1", "R-9", 1), &key()).await.unwrap_err().code(), Code::PaymentFailed);
    assert_eq!(c.pay_query(&query("NOPE")).await.unwrap_err().code(), Code::NotFound);

    // The administrator's refund takes the same rules.
    let admin = booth_provider::pay::admin_refund(p.app(), "C-2", "", 40, "多收").unwrap();
    assert_eq!(admin.payment.refunded, 40);
    assert!(booth_provider::pay::admin_refund(p.app(), "C-2", "", 61, "多收").unwrap_err().contains("BAD_PARAM"));
    ledger_holds(&p);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_key_sent_twice_at_once_charges_once() {
    let p = provider().await;
    let m = p.member("并发", 100_000);
    let c = client(&p.url(), KEY_ID, SECRET, Duration::from_secs(20), 0);
    let k = key();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (c, k, code) = (c.clone(), k.clone(), m.code.clone());
            tokio::spawn(async move { c.pay_code(&by_code(&code, 700, "S-1"), &k).await })
        })
        .collect();
    let mut trades = Vec::new();
    for t in tasks {
        trades.push(t.await.unwrap().unwrap().trade_no);
    }
    trades.dedup();
    assert_eq!(trades.len(), 1);
    assert_eq!(p.charges_of("S-1").len(), 1);
    assert_eq!(p.balance(&m.person_id), 99_300);
    // One trade number from many keys at once: still one charge.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (c, code) = (c.clone(), m.code.clone());
            tokio::spawn(async move { c.pay_code(&by_code(&code, 300, "S-2"), &key()).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(p.charges_of("S-2").len(), 1);
    ledger_holds(&p);
}

/// Waits for a condition with a generous deadline.
async fn until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_double_charge_whatever_the_network_does() {
    let p = provider().await;
    let m = p.member("网络", 1_000_000);
    let proxy = FaultProxy::start(p.addr());
    // Short attempts so that a stall outlasts one; two retries under the same key.
    let through = client(&proxy.url(), KEY_ID, SECRET, Duration::from_secs(2), 2);
    let direct = client(&p.url(), KEY_ID, SECRET, Duration::from_secs(10), 0);
    let pay = |no: &str| by_code(&m.code, 1000, no);

    // (a) The request never reaches the provider, then a retry does: one charge.
    proxy.plan([Fault::DropRequest]);
    let a = through.pay_code(&pay("A-1"), &key()).await.unwrap();
    assert_eq!(p.charges_of("A-1").len(), 1);
    assert_eq!(direct.pay_query(&query("A-1")).await.unwrap(), a);
    // No attempt reaches it: the outcome is unknown, the query says nothing was made, none was.
    proxy.set_default(Fault::DropRequest);
    let e = through.pay_code(&pay("A-2"), &key()).await.unwrap_err();
    assert!(e.is_unknown(), "{e:?}");
    assert_eq!(direct.pay_query(&query("A-2")).await.unwrap_err().code(), Code::NotFound);
    assert!(p.charges_of("A-2").is_empty());

    // (b) The provider charges and the answer is lost; the retry gets the stored answer.
    proxy.set_default(Fault::Pass);
    proxy.plan([Fault::DropAnswer]);
    let before = proxy.forwarded();
    let b = through.pay_code(&pay("B-1"), &key()).await.unwrap();
    assert_eq!(proxy.forwarded() - before, 2, "the provider saw the request twice");
    assert_eq!(p.charges_of("B-1").len(), 1);
    assert_eq!(direct.pay_query(&query("B-1")).await.unwrap(), b);
    // Every answer lost: unknown to the terminal, charged once at the provider, and the query
    // tells the truth; the same request again under its key gets the first result.
    proxy.set_default(Fault::DropAnswer);
    let k = key();
    let e = through.pay_code(&pay("B-2"), &k).await.unwrap_err();
    assert!(e.is_unknown(), "{e:?}");
    let truth = direct.pay_query(&query("B-2")).await.unwrap();
    assert_eq!((truth.status, truth.amount), (PayStatus::Success, 1000));
    assert_eq!(direct.pay_code(&pay("B-2"), &k).await.unwrap(), truth);
    assert_eq!(p.charges_of("B-2").len(), 1);

    // (c) The answer stalls past the client's timeout; the retry gets the stored answer.
    proxy.set_default(Fault::Pass);
    proxy.plan([Fault::StallAnswer(Duration::from_secs(5))]);
    let c = through.pay_code(&pay("C-1"), &key()).await.unwrap();
    assert_eq!(p.charges_of("C-1").len(), 1);
    assert_eq!(direct.pay_query(&query("C-1")).await.unwrap(), c);
    proxy.set_default(Fault::StallAnswer(Duration::from_secs(5)));
    let e = through.pay_code(&pay("C-2"), &key()).await.unwrap_err();
    assert!(matches!(&e, PayError::Unknown(x) if x.code == Code::Timeout), "{e:?}");
    assert_eq!(direct.pay_query(&query("C-2")).await.unwrap().status, PayStatus::Success);
    assert_eq!(p.charges_of("C-2").len(), 1);

    // (d) The request is held until the terminal gave up: the query finds nothing, the cancel
    // closes the number, and the request arriving late charges nothing.
    proxy.set_default(Fault::LateRequest(Duration::from_secs(3)));
    let once = client(&proxy.url(), KEY_ID, SECRET, Duration::from_secs(1), 0);
    let e = once.pay_code(&pay("D-1"), &key()).await.unwrap_err();
    assert!(e.is_unknown(), "{e:?}");
    assert_eq!(direct.pay_query(&query("D-1")).await.unwrap_err().code(), Code::NotFound);
    let cancel = PayCancelRequest { terminal: "T-1".into(), out_trade_no: "D-1".into() };
    assert_eq!(direct.pay_cancel(&cancel, &key()).await.unwrap().status, PayStatus::Closed);
    until("the late request to reach the provider", || proxy.held() == 0).await;
    assert!(p.charges_of("D-1").is_empty());
    assert_eq!(direct.pay_query(&query("D-1")).await.unwrap().status, PayStatus::Closed);

    // Five payments succeeded at the provider, each once.
    let charged: Vec<_> = p.ledger().into_iter().filter(|e| e.kind == "CHARGE").collect();
    assert_eq!(charged.len(), 5, "{charged:?}");
    assert_eq!(p.balance(&m.person_id), 1_000_000 - 5 * 1000);
    ledger_holds(&p);
    drop(proxy);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_days_report_matches_the_ledger() {
    let p = provider().await;
    let alice = p.member("甲", 50_000);
    let bob = p.member("乙", 50_000);
    let t1 = client(&p.url(), KEY_ID, SECRET, Duration::from_secs(10), 0);
    let t2 = client(&p.url(), KEY_2, SECRET_2, Duration::from_secs(10), 0);
    for (i, amount) in [1200, 800, 450].into_iter().enumerate() {
        t1.pay_code(&by_code(&alice.code, amount, &format!("R1-{i}")), &key()).await.unwrap();
    }
    for (i, amount) in [990, 10].into_iter().enumerate() {
        t2.pay_code(&by_code(&bob.code, amount, &format!("R2-{i}")), &key()).await.unwrap();
    }
    // Declined payments are not in the report.
    assert_eq!(
        t2.pay_code(&by_code(&bob.code, 49_500, "R2-x"), &key()).await.unwrap_err().code(),
        Code::InsufficientFunds
    );
    let refund = PayRefundRequest {
        terminal: "T-2".into(),
        out_trade_no: "R2-0".into(),
        out_refund_no: "RF-1".into(),
        amount: 90,
        reason: String::new(),
    };
    t2.pay_refund(&refund, &key()).await.unwrap();
    t1.pay_cancel(&PayCancelRequest { terminal: "T-1".into(), out_trade_no: "R1-2".into() }, &key()).await.unwrap();

    // Today as the provider counts it (UTC+8 by default).
    let now = booth_provider_client::sign::now_s() + 8 * 3600;
    let (y, m, d) = civil(now.div_euclid(86_400));
    let day = format!("{y:04}-{m:02}-{d:02}");
    let r = booth_provider::pay::report(p.app(), &day).unwrap();
    assert!(r.from <= booth_provider_client::sign::now_s() && booth_provider_client::sign::now_s() < r.to);
    let ledger = p.ledger();
    let figures = |kind: &str, key: Option<&str>| {
        let lines: Vec<_> = ledger.iter().filter(|e| e.kind == kind && key.is_none_or(|k| e.key_id == k)).collect();
        (lines.len() as i64, lines.iter().map(|e| e.amount).sum::<i64>())
    };
    assert_eq!((r.charges.count, r.charges.sum), figures("CHARGE", None));
    assert_eq!((r.charges.count, r.charges.sum), (5, 3450));
    assert_eq!((r.refunds.count, r.refunds.sum), (2, 540));
    assert_eq!((r.refunds.count, r.refunds.sum), figures("REFUND", None));
    assert_eq!((r.top_ups.count, r.top_ups.sum), (2, 100_000));
    assert_eq!(r.net, 3450 - 540);
    let keys: Vec<&str> = r.terminals.iter().map(|t| t.key_id.as_str()).collect();
    assert_eq!(keys, vec![KEY_ID, KEY_2]);
    for t in &r.terminals {
        assert_eq!((t.charges.count, t.charges.sum), figures("CHARGE", Some(&t.key_id)));
        assert_eq!((t.refunds.count, t.refunds.sum), figures("REFUND", Some(&t.key_id)));
    }
    assert_eq!((r.terminals[0].refunds.count, r.terminals[0].refunds.sum), (1, 450));
    // Another day has nothing.
    let empty = booth_provider::pay::report(p.app(), "2001-01-01").unwrap();
    assert_eq!((empty.charges.count, empty.refunds.count, empty.net), (0, 0, 0));
    assert!(booth_provider::pay::report(p.app(), "2026-02-30").is_err());
    ledger_holds(&p);
}

/// (year, month, day) of a day number since 1970-01-01.
fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[test]
fn the_admin_command_line_tops_up_refunds_shows_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("booth-provider.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndatabase = \"{}\"\nkey_file = \"{}\"\n[clients]\n{KEY_ID} = \"{SECRET}\"\n",
            dir.path().join("p.db").display(),
            dir.path().join("t.key").display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_booth-provider"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, person, err) = run(&["person", "add", "--name", "丙"]);
    assert!(ok, "{err}");
    let (ok, balance, err) = run(&["wallet", "top-up", &person, "--fen", "2500"]);
    assert!(ok && balance == "2500", "{balance} {err}");
    for bad in ["0", "-1", "99999999999"] {
        let (ok, _, err) = run(&["wallet", "top-up", &person, &format!("--fen={bad}")]);
        assert!(!ok && err.contains("BAD_PARAM"), "{bad}: {err}");
    }
    assert!(!run(&["wallet", "top-up", "nobody", "--fen", "1"]).0);
    let (ok, code, _) = run(&["wallet", "code", &person]);
    assert!(ok && code.len() == 18 && code.starts_with("99"), "{code}");
    // A payment made through the library on the same database, refunded from the command line.
    {
        let settings = booth_provider::Settings::load(&config).unwrap();
        let app = booth_provider::App::open(settings).unwrap();
        let pay = PayCodeRequest {
            terminal: "T-1".into(),
            code: code.clone(),
            amount: 700,
            out_trade_no: "CLI-1".into(),
            description: String::new(),
        };
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let running = app.serve().await.unwrap();
            let c = client(&running.url(), KEY_ID, SECRET, Duration::from_secs(10), 0);
            c.pay_code(&pay, &key()).await.unwrap();
            running.stop().await;
        });
    }
    let (ok, refund, err) =
        run(&["wallet", "refund", "--out-trade-no", "CLI-1", "--fen", "200", "--out-refund-no", "CR-1"]);
    assert!(ok, "{err}");
    let refund: serde_json::Value = serde_json::from_str(&refund).unwrap();
    assert_eq!(refund["payment"]["refunded"], 200);
    let (ok, again, _) =
        run(&["wallet", "refund", "--out-trade-no", "CLI-1", "--fen", "200", "--out-refund-no", "CR-1"]);
    assert!(ok);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&again).unwrap()["refundNo"], refund["refundNo"]);
    let (ok, _, err) = run(&["wallet", "refund", "--out-trade-no", "CLI-1", "--fen", "501"]);
    assert!(!ok && err.contains("BAD_PARAM"), "{err}");
    let (ok, shown, _) = run(&["wallet", "show", &person]);
    assert!(ok);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["balance"], 2500 - 700 + 200);
    assert_eq!(shown["ledger"].as_array().unwrap().len(), 3);
    assert!(!shown.to_string().contains(&code), "the member code is never shown again");
    let now = booth_provider_client::sign::now_s() + 8 * 3600;
    let (y, m, d) = civil(now.div_euclid(86_400));
    let (ok, report, err) = run(&["report", "--day", &format!("{y:04}-{m:02}-{d:02}")]);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!((report["charges"]["count"].as_i64(), report["charges"]["sum"].as_i64()), (Some(1), Some(700)));
    assert_eq!((report["refunds"]["count"].as_i64(), report["refunds"]["sum"].as_i64()), (Some(1), Some(200)));
    assert_eq!(report["terminals"][0]["keyId"], KEY_ID);
    assert!(!run(&["report", "--day", "03/12/2026"]).0);
}
