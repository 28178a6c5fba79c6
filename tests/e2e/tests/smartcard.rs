//! End to end: a page calls the smart card APIs of seed 000 in a real booth, once against
//! virtual cards in a private pcscd (booth's PC/SC backend), once against the simulator.

use booth_e2e::{fixture, with_booth, with_real_booth, Booth};
use booth_testkit::pcscd::{Pcscd, Slot};
use booth_testkit::vcard::{SsCard, SsIdentity, VirtualCard};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const CPU_ATR: &str = "3B8B8001209000000000002E20419F6A";
const PSAM2_ATR: &str = "3B6D000086381234567890A0B0C0D0E002";

async fn health_until(b: &Booth, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (_, health) = b.control("GET", "/health", "");
        if ok(&health["devices"]["smartcard"]) {
            return health;
        }
        assert!(start.elapsed() < Duration::from_secs(8), "{what}: {health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the page until `window.seen.<list>` has more than `n` entries; returns them all.
async fn seen(b: &Booth, list: &str, n: usize) -> Vec<Value> {
    let v = b
        .wait_for(&format!("return window.seen.{list}.length > {n} && window.seen.{list}"), Duration::from_secs(8))
        .await;
    v.as_array().cloned().unwrap_or_default()
}

fn action(name: &str, params: Value) -> Value {
    json!({"action": name, "event": "open", "taskId": name, "params": params})
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn smartcard_pcsc_from_a_page() {
    let mut pcscd = Pcscd::start();
    let mut cpu = VirtualCard::new(CPU_ATR).uid("04A1B2C3D4E580").respond("00A4040005F000000001", "6A82");
    let mut psam2 = VirtualCard::new(PSAM2_ATR);
    cpu.insert(pcscd.port(Slot::Card));
    psam2.insert(pcscd.port(Slot::Psam2));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("booth.toml");
    std::fs::write(&config, "[smartcard]\nbackend = \"pcsc\"\ninterval_ms = 500\n").expect("booth.toml");
    let config = config.display().to_string();

    with_real_booth(&fixture("smartcard"), &["--config", &config], async |b| {
        b.wait_for("return window.ready", Duration::from_secs(5)).await;
        let health = health_until(b, "the card reader", |s| s["available"] == true).await;
        let readers = &health["devices"]["smartcard"]["readers"];
        assert_eq!(readers[0], json!({"name": "Booth Card 00 00", "role": "card", "how": "auto: the first reader without SAM in its name"}), "{health}");
        assert_eq!(readers[3]["role"], "psam2", "{health}");
        let (status, _) = b.control("POST", "/sim/card/insert", "{}");
        assert_eq!(status, 409, "a real reader cannot be simulated");

        // Power the card, GET DATA, GET CHALLENGE. pcscd notices the virtual card on its own
        // schedule (slowly on a loaded machine): until it does, the reader has no card (-2).
        let start = std::time::Instant::now();
        let r = loop {
            let r = b.ampe(action("readOnceCPUCardInfo", json!({}))).await;
            if r["data"]["nfc_cardInfo"] != "-2" || start.elapsed() > Duration::from_secs(5) {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(r["success"], true, "{r}");
        assert_eq!(r["data"], json!({"nfc_cardInfo": CPU_ATR}));
        let r = b.ampe(action("sendCPUCardCommand", json!({"commandApdu": "FFCA000000", "type": "1"}))).await;
        assert_eq!(r["data"]["nfc_resultInfo"], "04A1B2C3D4E5809000", "{r}");
        let r = b.ampe(action("sendCPUCardCommand", json!({"commandApdu": "0084000008", "type": "1", "slot": "1"}))).await;
        let challenge = r["data"]["nfc_resultInfo"].as_str().unwrap_or_default().to_string();
        assert!(challenge.len() == 20 && challenge.ends_with("9000"), "{r}");

        // A list with a failing status word.
        let r = b.ampe(action("sendCPUCardApduCommands", json!({"commandApdus": ["0084000008", "00A4040005F000000001", "0084000008"], "type": 1}))).await;
        assert_eq!(r["success"], false, "{r}");
        assert_eq!(r["message"], "失败:-100");
        assert_eq!(r["errorCode"], "DEVICE_ERROR");
        assert_eq!(r["taskId"], "sendCPUCardApduCommands");
        assert_eq!(r["data"]["nfc_commandResults"].as_array().map(Vec::len), Some(2), "{r}");
        assert_eq!(r["data"]["nfc_commandResults"][1], "6A82");

        // PSAM cold reset on the second slot; the first slot is empty.
        let r = b.ampe(action("psamCardColdReset", json!({"slot": "2"}))).await;
        assert_eq!(r["data"], json!({"nfc_resultInfo": PSAM2_ATR}), "{r}");
        let r = b.ampe(action("psamCardColdReset", json!({"slot": "1"}))).await;
        assert_eq!(r["data"], json!({"nfc_resultInfo": "-2"}), "{r}");

        // Bad input never reaches the card.
        let before = cpu.apdus().len();
        for params in [json!({"commandApdu": "0084000"}), json!({"commandApdu": "0084000008", "type": 2, "slot": 3})] {
            let r = b.ampe(action("sendCPUCardCommand", params)).await;
            assert_eq!(r["errorCode"], "INVALID_PARAMS", "{r}");
        }
        let r = b.ampe(action("sendCPUCardApduCommands", json!({"commandApdus": []}))).await;
        assert_eq!(r["errorCode"], "INVALID_PARAMS", "{r}");
        assert_eq!(cpu.apdus().len(), before);

        // The loop: the card, then a failed search once it is pulled out.
        let r = b.ampe(action("startCPUCardLoopRead", json!({"intervalTime": "1000", "isComeBackFailed": true}))).await;
        assert_eq!(r["success"], true, "{r}");
        let ev = seen(b, "cpu", 0).await;
        assert_eq!(ev[0], json!({"data": {"nfc_cardInfo": CPU_ATR, "code": 0}}));
        let n = ev.len();
        cpu.remove();
        let ev = seen(b, "cpu", n).await;
        assert_eq!(ev[n], json!({"data": {"nfc_cardInfo": "", "code": -1}}));

        // A social security card: the listener and the one-shot read give the identity.
        let r = b.ampe(action("socialSecurityCardConfig", json!({}))).await;
        assert_eq!(r["success"], true, "{r}");
        let mut ss = VirtualCard::new(CPU_ATR).social_security(SsCard::from(&SsIdentity::sample()));
        ss.insert(pcscd.port(Slot::Card));
        let ev = seen(b, "sscard", 0).await;
        let want = json!({
            "cardNumber": "A01234567", "name": "张三丰", "sex": "男", "idNumber": "330102199001011234",
            "birthDate": "19900101", "issueDate": "20210315", "expireDate": "20310315", "nation": "汉",
            "cityCode": "330100", "address": "330102", "fullVersion": "3.00",
        });
        assert_eq!(ev[0]["data"], want);
        let shown = b.wait_for("return document.getElementById('log').textContent", Duration::from_secs(2)).await;
        assert_eq!(shown, "张三丰 A01234567");
        let r = b.ampe(action("getSocialSecurityCardInfo", json!({}))).await;
        assert_eq!(r["data"], want, "{r}");
        // The loop saw the new card too.
        let cpu_events = seen(b, "cpu", n + 1).await;
        assert_eq!(cpu_events[n + 1], json!({"data": {"nfc_cardInfo": CPU_ATR, "code": 0}}));
        let r = b.ampe(action("stopCPUCardLoopRead", json!({}))).await;
        assert_eq!(r["success"], true);

        // pcscd restarted: -1 while it is down, everything back once it is.
        pcscd.stop();
        health_until(b, "the reader gone", |s| s["available"] == false).await;
        let r = b.ampe(action("readOnceCPUCardInfo", json!({}))).await;
        assert_eq!(r["data"], json!({"nfc_cardInfo": "-1"}), "{r}");
        pcscd.restart();
        let mut back = VirtualCard::new(CPU_ATR);
        back.insert(pcscd.port(Slot::Card));
        health_until(b, "the reader back", |s| s["available"] == true).await;
        let start = Instant::now();
        loop {
            let r = b.ampe(action("readOnceCPUCardInfo", json!({}))).await;
            if r["data"]["nfc_cardInfo"] == CPU_ATR {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(5), "card not back: {r}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn smartcard_simulator_from_a_page() {
    with_booth(&fixture("smartcard"), &[], async |b| {
        b.wait_for("return window.ready", Duration::from_secs(5)).await;
        let (status, sims) = b.control("GET", "/sim", "");
        assert_eq!(status, 200);
        let card = sims["devices"].as_array().and_then(|d| d.iter().find(|d| d["id"] == "card")).cloned();
        let card = card.unwrap_or_else(|| panic!("no card simulator: {sims}"));
        assert_eq!(card["state"]["card"]["inserted"], false, "{card}");

        let r = b.ampe(action("readOnceCPUCardInfo", json!({}))).await;
        assert_eq!(r["data"], json!({"nfc_cardInfo": "-2"}), "{r}");

        let r = b.ampe(action("startCPUCardLoopRead", json!({"intervalTime": 5000}))).await;
        assert_eq!(r["success"], true, "{r}");
        let (status, body) = b.control(
            "POST",
            "/sim/card/insert",
            r#"{"atr":"3B8F8001804F0CA000000306030001000000006A","uid":"11223344"}"#,
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["card"]["inserted"], true, "{body}");
        let ev = seen(b, "cpu", 0).await;
        assert_eq!(ev[0], json!({"data": {"nfc_cardInfo": "3B8F8001804F0CA000000306030001000000006A", "code": 0}}));
        b.ampe(action("stopCPUCardLoopRead", json!({}))).await;

        let r = b.ampe(action("sendCPUCardCommand", json!({"commandApdu": "FFCA000000"}))).await;
        assert_eq!(r["data"]["nfc_resultInfo"], "112233449000", "{r}");
        let (status, _) =
            b.control("POST", "/sim/card/respond", r#"{"command":"80CA9F7F00","response":"9F7F0101029000"}"#);
        assert_eq!(status, 200);
        let r = b.ampe(action("sendCPUCardApduCommands", json!({"commandApdus": ["80CA9F7F00", "0084000004"]}))).await;
        assert_eq!(r["data"]["nfc_commandResults"][0], "9F7F0101029000", "{r}");

        let (status, _) = b.control(
            "POST",
            "/sim/card/identity",
            r#"{"name":"钱七","cardNumber":"Q12345678","idNumber":"310101200001011234"}"#,
        );
        assert_eq!(status, 200);
        let r = b.ampe(action("getSocialSecurityCardInfo", json!({}))).await;
        assert_eq!(r["success"], true, "{r}");
        assert_eq!(r["data"]["name"], "钱七");
        assert_eq!(r["data"]["cardNumber"], "Q12345678");
        assert_eq!(r["data"]["idNumber"], "310101200001011234");
        let (status, body) = b.control("POST", "/sim/card/psam", r#"{"slot":"3"}"#);
        assert_eq!(status, 400, "{body}");
    })
    .await;
}
