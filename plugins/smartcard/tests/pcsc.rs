//! The PC/SC backend against a real pcscd with vpcd virtual readers and virtual cards
//! (`booth-testkit`'s `Pcscd` and `VirtualCard`): what the seed's APIs answer, what reached the
//! card, and how faults (a card pulled mid-command, pcscd restarted) are reported and recovered.
//!
//! Each test starts its own pcscd (the guard serializes tests that use cards, also across
//! processes) and its own cards. Waits poll with deadlines.

#![cfg(unix)]

use booth_bridge::{Bridge, Dialect, Family, Screen, SessionId, SessionInfo};
use booth_smartcard::roles::RolePatterns;
use booth_smartcard::{Backend, SmartCard, SmartCardConfig};
use booth_testkit::events::Collect;
use booth_testkit::pcscd::{Pcscd, Slot};
use booth_testkit::vcard::{to_hex, CardEvent, SsCard, SsIdentity, VirtualCard};
use serde_json::{json, Value};
use std::ffi::CString;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CPU_ATR: &str = "3B8B8001209000000000002E20419F6A";
const PSAM1_ATR: &str = "3B6D000086381234567890A0B0C0D0E001";
const PSAM2_ATR: &str = "3B6D000086381234567890A0B0C0D0E002";
const POLL: Duration = Duration::from_millis(10);

struct Rig {
    bridge: Bridge,
    card: Arc<SmartCard>,
    session: SessionId,
    sink: Arc<Collect>,
}

impl Rig {
    fn new() -> Rig {
        Rig::with(RolePatterns::default())
    }

    fn with(readers: RolePatterns) -> Rig {
        let bridge = Bridge::default();
        let config = SmartCardConfig { backend: Backend::Pcsc, readers, ..SmartCardConfig::default() };
        let card = SmartCard::start(config, bridge.bus());
        card.register(&bridge);
        let sink = Arc::new(Collect::default());
        let info = SessionInfo {
            key: "main".into(),
            package_id: "test.smartcard".into(),
            permissions: [Family::Smartcard, Family::Sscard].into_iter().collect(),
            dialects: [Dialect::My].into_iter().collect(),
            screen: Screen::Front,
            url: "booth://test.smartcard/index.html".into(),
        };
        let session = bridge.open_session(info, sink.clone());
        Rig { bridge, card, session, sink }
    }

    async fn call(&self, action: &str, params: Value) -> Value {
        let raw = json!({"action": action, "event": "open", "taskId": "t", "params": params}).to_string();
        let reply = self.bridge.call(self.session, Dialect::My, "ampeHHCommunication", &raw).await;
        assert!(reply.ok, "{reply:?}");
        assert_eq!(reply.body["action"], action, "{}", reply.body);
        reply.body
    }

    /// A successful call's `data`.
    async fn data(&self, action: &str, params: Value) -> Value {
        let r = self.call(action, params).await;
        assert_eq!(r["success"], true, "{r}");
        assert_eq!(r["message"], "成功", "{r}");
        r["data"].clone()
    }

    fn listen(&self, event: &str) {
        self.bridge.subscribe(self.session, Dialect::My, event).expect("subscribe");
    }

    fn events(&self, name: &str) -> Vec<Value> {
        self.sink.data_of(name)
    }

    async fn wait_events(&self, name: &str, n: usize, within: Duration) -> Vec<Value> {
        wait_until(
            within,
            &format!("{n} {name} events"),
            || self.events(name).len() >= n,
            || format!("{:?}", self.events(name)),
        )
        .await;
        self.events(name)
    }

    async fn wait_available(&self, available: bool) {
        wait_until(
            Duration::from_secs(5),
            &format!("available == {available}"),
            || self.card.status().available == available,
            || format!("{:?}", self.card.status()),
        )
        .await;
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.card.shutdown();
    }
}

async fn wait_until(within: Duration, what: &str, mut done: impl FnMut() -> bool, state: impl Fn() -> String) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}; state: {}", state());
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until pcscd reports a card in `slot` (or none), as seen through PC/SC directly.
async fn wait_card(slot: Slot, present: bool) {
    let ctx = pcsc::Context::establish(pcsc::Scope::User).expect("PC/SC context");
    let name = CString::new(slot.reader_name()).unwrap();
    let is_present = || {
        let mut rs = [pcsc::ReaderState::new(name.clone(), pcsc::State::UNAWARE)];
        ctx.get_status_change(Duration::ZERO, &mut rs).is_ok() && rs[0].event_state().contains(pcsc::State::PRESENT)
    };
    wait_until(
        Duration::from_secs(5),
        &format!("card in {slot:?} == {present}"),
        || is_present() == present,
        String::new,
    )
    .await;
}

fn inserted(card: &mut VirtualCard, pcscd: &Pcscd, slot: Slot) {
    card.insert(pcscd.port(slot));
}

fn cpu_card() -> VirtualCard {
    VirtualCard::new(CPU_ATR).uid("04A1B2C3D4E580")
}

fn failed(body: &Value, error_code: &str, message: &str) {
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["errorCode"], error_code, "{body}");
    assert_eq!(body["message"], message, "{body}");
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn atr_uid_and_get_challenge() {
    let pcscd = Pcscd::start();
    let rig = Rig::new();
    let mut card = cpu_card();
    inserted(&mut card, &pcscd, Slot::Card);
    wait_card(Slot::Card, true).await;
    rig.wait_available(true).await;

    // readOnceCPUCardInfo powers the card afresh (a warm reset): nfc_cardInfo is its ATR in hex.
    card.clear_log();
    let d = rig.data("readOnceCPUCardInfo", json!({})).await;
    assert_eq!(d, json!({"nfc_cardInfo": CPU_ATR}));
    assert!(card.events().contains(&CardEvent::Reset), "{:?}", card.events());

    // GET DATA (UID), the PC/SC pseudo-APDU contactless readers answer.
    let d = rig.data("sendCPUCardCommand", json!({"commandApdu": "FFCA000000", "type": 1})).await;
    assert_eq!(d, json!({"nfc_resultInfo": "04A1B2C3D4E5809000"}));

    // GET CHALLENGE as in the seed's example (type and slot as strings): 8 bytes + 9000, fresh each time.
    let a = rig.data("sendCPUCardCommand", json!({"commandApdu": "0084000008", "type": "1", "slot": "1"})).await;
    let b = rig.data("sendCPUCardCommand", json!({"commandApdu": "0084000008"})).await;
    for d in [&a, &b] {
        let r = d["nfc_resultInfo"].as_str().unwrap();
        assert_eq!(r.len(), 20, "{d}");
        assert!(r.ends_with("9000"), "{d}");
    }
    assert_ne!(a, b, "two challenges differ");
    // Lower-case hex is accepted; answers are upper case.
    let d = rig.data("sendCPUCardCommand", json!({"commandApdu": "ffca000000"})).await;
    assert_eq!(d["nfc_resultInfo"], "04A1B2C3D4E5809000");
    // The card saw exactly these four commands after being powered.
    let apdus = card.apdus();
    assert_eq!(apdus, ["FFCA000000", "0084000008", "0084000008", "FFCA000000"]);

    // A status word other than 9000 is still a result for a single command.
    let d = rig.data("sendCPUCardCommand", json!({"commandApdu": "00B0950000"})).await;
    assert_eq!(d["nfc_resultInfo"], "6D00");
}

#[tokio::test]
async fn apdu_list_stops_at_a_failing_status_word() {
    let pcscd = Pcscd::start();
    let rig = Rig::new();
    let mut card = cpu_card()
        .respond("00A404000AA0000000031010", "6F0A8408A0000000031010A5009000")
        .respond("00A4040005F000000001", "6A82");
    inserted(&mut card, &pcscd, Slot::Card);
    wait_card(Slot::Card, true).await;
    rig.data("readOnceCPUCardInfo", json!({})).await;

    // All 9000: every answer, in order.
    card.clear_log();
    let d = rig
        .data(
            "sendCPUCardApduCommands",
            json!({"commandApdus": ["0084000008", "00A404000AA0000000031010", "0084000004"], "type": "1"}),
        )
        .await;
    let results = d["nfc_commandResults"].as_array().unwrap();
    assert_eq!(results.len(), 3, "{d}");
    assert_eq!(results[1], "6F0A8408A0000000031010A5009000");
    assert!(results.iter().all(|r| r.as_str().unwrap().ends_with("9000")), "{d}");
    assert_eq!(card.apdus().len(), 3);

    // A 6A82 in the middle: 失败:-100, the results so far including the failing answer, and
    // the rest of the list never reaches the card.
    card.clear_log();
    let r = rig
        .call("sendCPUCardApduCommands", json!({"commandApdus": ["0084000008", "00A4040005F000000001", "0084000008"]}))
        .await;
    failed(&r, "DEVICE_ERROR", "失败:-100");
    let results = r["data"]["nfc_commandResults"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{r}");
    assert!(results[0].as_str().unwrap().ends_with("9000"));
    assert_eq!(results[1], "6A82");
    assert_eq!(card.apdus(), ["0084000008", "00A4040005F000000001"]);
}

#[tokio::test]
async fn card_removed_mid_command_and_mid_list() {
    let pcscd = Pcscd::start();
    let rig = Rig::new();
    rig.listen("CPUCardListener");
    let mut card = cpu_card().vanish_on("00B2");
    inserted(&mut card, &pcscd, Slot::Card);
    wait_card(Slot::Card, true).await;
    rig.data("readOnceCPUCardInfo", json!({})).await;

    // The card leaves during the second command: 失败:-2 with the first result.
    let r =
        rig.call("sendCPUCardApduCommands", json!({"commandApdus": ["0084000008", "00B2010400", "0084000008"]})).await;
    assert_eq!(r["success"], false, "{r}");
    assert_eq!(r["message"], "失败:-2", "{r}");
    assert_eq!(r["errorCode"], "DEVICE_ERROR", "{r}");
    let results = r["data"]["nfc_commandResults"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{r}");

    // Gone: single commands answer -2, readOnceCPUCardInfo -2 (寻卡失败).
    wait_card(Slot::Card, false).await;
    assert_eq!(rig.data("sendCPUCardCommand", json!({"commandApdu": "0084000008"})).await["nfc_resultInfo"], "-2");
    assert_eq!(rig.data("readOnceCPUCardInfo", json!({})).await["nfc_cardInfo"], "-2");

    // A slow command whose card is pulled out while the reader waits for the answer.
    let mut card = cpu_card().slow("0088", Duration::from_millis(400), "9000");
    inserted(&mut card, &pcscd, Slot::Card);
    wait_card(Slot::Card, true).await;
    assert_eq!(rig.data("readOnceCPUCardInfo", json!({})).await["nfc_cardInfo"], CPU_ATR);
    let (bridge, session) = (rig.bridge.clone(), rig.session);
    let pending = tokio::spawn(async move {
        let raw = r#"{"action":"sendCPUCardCommand","taskId":"p","params":{"commandApdu":"0088000008"}}"#;
        bridge.call(session, Dialect::My, "ampeHHCommunication", raw).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    card.remove();
    let reply = tokio::time::timeout(Duration::from_secs(5), pending).await.expect("answered").expect("task");
    assert_eq!(reply.body["success"], true, "{:?}", reply.body);
    assert_eq!(reply.body["data"]["nfc_resultInfo"], "-2", "{:?}", reply.body);

    // A new card works at once, through the same Booth.
    let mut card = cpu_card();
    inserted(&mut card, &pcscd, Slot::Card);
    wait_card(Slot::Card, true).await;
    assert_eq!(rig.data("readOnceCPUCardInfo", json!({})).await["nfc_cardInfo"], CPU_ATR);
    assert!(rig.data("sendCPUCardCommand", json!({"commandApdu": "0084000008"})).await["nfc_resultInfo"]
        .as_str()
        .unwrap()
        .ends_with("9000"));
}

#[tokio::test]
async fn psam_cold_reset_on_the_second_slot() {
    let pcscd = Pcscd::start();
    let rig = Rig::new();
    let mut psam1 = VirtualCard::new(PSAM1_ATR).respond("00B0960006", "1111111111119000");
    let mut psam2 = VirtualCard::new(PSAM2_ATR).respond("00B0960006", "2222222222229000");
    inserted(&mut psam1, &pcscd, Slot::Psam1);
    inserted(&mut psam2, &pcscd, Slot::Psam2);
    wait_card(Slot::Psam1, true).await;
    wait_card(Slot::Psam2, true).await;

    // The terminal number of each PSAM (READ BINARY of EF16), by slot.
    let d = rig.data("sendCPUCardCommand", json!({"commandApdu": "00B0960006", "type": 2, "slot": 2})).await;
    assert_eq!(d["nfc_resultInfo"], "2222222222229000");
    let d = rig.data("sendCPUCardCommand", json!({"commandApdu": "00B0960006", "type": 2})).await;
    assert_eq!(d["nfc_resultInfo"], "1111111111119000", "slot defaults to 1");
    let r = rig
        .call(
            "sendCPUCardApduCommands",
            json!({"commandApdus": ["00B0960006", "0084000004"], "type": "2", "slot": "2"}),
        )
        .await;
    assert_eq!(r["data"]["nfc_commandResults"][0], "2222222222229000", "{r}");

    // Cold reset of slot 2: its ATR, a power cycle on that card only.
    psam1.clear_log();
    psam2.clear_log();
    let d = rig.data("psamCardColdReset", json!({"slot": "2"})).await;
    assert_eq!(d, json!({"nfc_resultInfo": PSAM2_ATR}));
    let ev = psam2.events();
    let off = ev.iter().position(|e| *e == CardEvent::PowerOff).unwrap_or_else(|| panic!("no power-off: {ev:?}"));
    assert!(ev[off..].contains(&CardEvent::PowerOn), "{ev:?}");
    assert!(!psam1.events().iter().any(|e| matches!(e, CardEvent::PowerOff | CardEvent::PowerOn | CardEvent::Reset)));
    // Default slot 1.
    assert_eq!(rig.data("psamCardColdReset", json!({})).await, json!({"nfc_resultInfo": PSAM1_ATR}));
    // After the reset the card still answers.
    let d = rig.data("sendCPUCardCommand", json!({"commandApdu": "00B0960006", "type": 2, "slot": 2})).await;
    assert_eq!(d["nfc_resultInfo"], "2222222222229000");

    // An empty slot: -2; no card reader card needed for PSAM work.
    psam2.remove();
    wait_card(Slot::Psam2, false).await;
    assert_eq!(rig.data("psamCardColdReset", json!({"slot": 2})).await["nfc_resultInfo"], "-2");
    assert_eq!(
        rig.data("sendCPUCardCommand", json!({"commandApdu": "00B0960006", "type": 2, "slot": 2})).await
            ["nfc_resultInfo"],
        "-2"
    );
}

fn expected_identity() -> Value {
    json!({
        "cardNumber": "A01234567",
        "name": "张三丰",
        "sex": "男",
        "idNumber": "330102199001011234",
        "birthDate": "19900101",
        "issueDate": "20210315",
        "expireDate": "20310315",
        "nation": "汉",
        "cityCode": "330100",
        "address": "330102",
        "fullVersion": "3.00",
    })
}

#[tokio::test]
async fn social_security_card_of_a_known_identity() {
    let pcscd = Pcscd::start();
    let rig = Rig::new();
    let id = SsIdentity::sample();
    let mut card = VirtualCard::new(CPU_ATR).social_security(SsCard::from(&id));
    inserted(&mut card, &pcscd, Slot::Card);
    wait_card(Slot::Card, true).await;
    card.clear_log();
    let d = rig.data("getSocialSecurityCardInfo", json!({})).await;
    assert_eq!(d, expected_identity());
    let apdus = card.apdus();
    assert_eq!(apdus[0], "00A404000F7378312E73682EC9E7BBE1B1A3D5CF");
    assert_eq!(apdus[1], "00A4020002EF05");
    assert!(apdus.contains(&"00B2070400".to_string()), "{apdus:?}");
    assert!(apdus.contains(&"00A4020002EF06".to_string()), "{apdus:?}");
    card.remove();
    wait_card(Slot::Card, false).await;

    // The same identity on a T=0 card (61xx, 6Cxx) and without a birthplace record.
    let mut id2 = id.clone();
    id2.birthplace = None;
    id2.sex = "2".into();
    id2.nation = "03".into();
    let mut card = VirtualCard::new(CPU_ATR).t0().social_security(SsCard::from(&id2));
    inserted(&mut card, &pcscd, Slot::Card);
    wait_card(Slot::Card, true).await;
    let d = rig.data("getSocialSecurityCardInfo", json!({})).await;
    let mut want = expected_identity();
    want["address"] = json!("");
    want["sex"] = json!("女");
    want["nation"] = json!("回");
    assert_eq!(d, want);
    assert!(card.events().iter().any(|e| matches!(e, CardEvent::Apdu { response, .. } if response.starts_with("6C"))));
    card.remove();
    wait_card(Slot::Card, false).await;

    // A card whose holder file needs a PIN or PSAM authentication.
    let mut ss = SsCard::from(&id);
    ss.ef06_protected = true;
    let mut card = VirtualCard::new(CPU_ATR).social_security(ss);
    inserted(&mut card, &pcscd, Slot::Card);
    wait_card(Slot::Card, true).await;
    let r = rig.call("getSocialSecurityCardInfo", json!({})).await;
    assert_eq!(r["success"], false, "{r}");
    assert_eq!(r["errorCode"], "DEVICE_ERROR", "{r}");
    assert!(r["message"].as_str().unwrap().contains("PIN 或 PSAM 认证 (6982)"), "{r}");
    card.remove();
    wait_card(Slot::Card, false).await;

    // A CPU card without the application.
    let mut card = cpu_card();
    inserted(&mut card, &pcscd, Slot::Card);
    wait_card(Slot::Card, true).await;
    let r = rig.call("getSocialSecurityCardInfo", json!({})).await;
    assert_eq!(r["errorCode"], "DEVICE_ERROR", "{r}");
    assert!(r["message"].as_str().unwrap().contains("不是社保卡"), "{r}");
    card.remove();
    wait_card(Slot::Card, false).await;

    // No card: the call waits for one (here 1 s), then 超时; a card inserted while it waits is read.
    let started = Instant::now();
    let r = rig.call("getSocialSecurityCardInfo", json!({"timeout": 1000})).await;
    failed(&r, "TIMEOUT", "超时");
    assert!(started.elapsed() >= Duration::from_millis(1000));
    let (bridge, session) = (rig.bridge.clone(), rig.session);
    let pending = tokio::spawn(async move {
        let raw = r#"{"action":"getSocialSecurityCardInfo","taskId":"w","params":{"timeout":8000}}"#;
        bridge.call(session, Dialect::My, "ampeHHCommunication", raw).await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut card = VirtualCard::new(CPU_ATR).social_security(SsCard::from(&id));
    inserted(&mut card, &pcscd, Slot::Card);
    let reply = tokio::time::timeout(Duration::from_secs(8), pending).await.expect("answered").expect("task");
    assert_eq!(reply.body["data"], expected_identity(), "{:?}", reply.body);
}

#[tokio::test]
async fn cpu_card_listener_sees_insert_and_remove() {
    let pcscd = Pcscd::start();
    let rig = Rig::new();
    rig.listen("CPUCardListener");
    rig.wait_available(true).await;

    // With isComeBackFailed: failed searches are reported (at most once per interval).
    let d = rig.data("startCPUCardLoopRead", json!({"intervalTime": "400", "isComeBackFailed": true})).await;
    assert_eq!(d, json!({}));
    let ev = rig.wait_events("CPUCardListener", 1, Duration::from_secs(2)).await;
    assert_eq!(ev[0], json!({"nfc_cardInfo": "", "code": -1}));

    let mut card = cpu_card();
    let inserted_at = Instant::now();
    inserted(&mut card, &pcscd, Slot::Card);
    wait_until(
        Duration::from_secs(3),
        "a card event",
        || rig.events("CPUCardListener").iter().any(|e| e["code"] == 0),
        || format!("{:?}", rig.events("CPUCardListener")),
    )
    .await;
    let seen_after = inserted_at.elapsed();
    // The same card is reported again only after the interval.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let cards: Vec<Value> = rig.events("CPUCardListener").into_iter().filter(|e| e["code"] == 0).collect();
    assert!(cards.iter().all(|e| *e == json!({"nfc_cardInfo": CPU_ATR, "code": 0})), "{cards:?}");
    assert!((2..=4).contains(&cards.len()), "1 s with a 400 ms interval: {cards:?}");

    // Removed: a failed search again.
    let n = rig.events("CPUCardListener").len();
    card.remove();
    let ev = rig.wait_events("CPUCardListener", n + 1, Duration::from_secs(2)).await;
    assert_eq!(ev[n], json!({"nfc_cardInfo": "", "code": -1}));

    // Stop: nothing more, even with a card coming and going.
    assert_eq!(rig.data("stopCPUCardLoopRead", json!({})).await, json!({}));
    let n = rig.events("CPUCardListener").len();
    inserted(&mut card, &pcscd, Slot::Card);
    wait_card(Slot::Card, true).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(rig.events("CPUCardListener").len(), n);

    // Without isComeBackFailed only cards are reported; a card put back is reported at once.
    rig.data("startCPUCardLoopRead", json!({"intervalTime": 5000})).await;
    let ev = rig.wait_events("CPUCardListener", n + 1, Duration::from_secs(2)).await;
    assert_eq!(ev[n], json!({"nfc_cardInfo": CPU_ATR, "code": 0}));
    card.remove();
    wait_card(Slot::Card, false).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rig.events("CPUCardListener").len(), n + 1, "no failure events without isComeBackFailed");
    inserted(&mut card, &pcscd, Slot::Card);
    let ev = rig.wait_events("CPUCardListener", n + 2, Duration::from_secs(2)).await;
    assert_eq!(ev[n + 1]["code"], 0);
    rig.data("stopCPUCardLoopRead", json!({})).await;
    eprintln!("card seen by the listener {seen_after:?} after insertion");
}

#[tokio::test]
async fn social_security_listener_reads_each_insertion() {
    let pcscd = Pcscd::start();
    let rig = Rig::new();
    rig.listen("socialSecurityCardListener");
    let d = rig.data("socialSecurityCardConfig", json!({})).await;
    assert_eq!(d, json!({}));

    let id = SsIdentity::sample();
    let mut card = VirtualCard::new(CPU_ATR).social_security(SsCard::from(&id));
    inserted(&mut card, &pcscd, Slot::Card);
    let ev = rig.wait_events("socialSecurityCardListener", 1, Duration::from_secs(3)).await;
    assert_eq!(ev[0], expected_identity());
    // Once per insertion, not once per poll.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rig.events("socialSecurityCardListener").len(), 1);

    // Another card: another event, with its identity.
    card.remove();
    let mut other = id.clone();
    other.name = "王五".into();
    other.card_number = "B76543210".into();
    let mut card = VirtualCard::new(CPU_ATR).social_security(SsCard::from(&other));
    inserted(&mut card, &pcscd, Slot::Card);
    let ev = rig.wait_events("socialSecurityCardListener", 2, Duration::from_secs(3)).await;
    assert_eq!(ev[1]["name"], "王五");
    assert_eq!(ev[1]["cardNumber"], "B76543210");

    // A card that is not a social security card gives no event; close stops the listener.
    card.remove();
    let mut plain = cpu_card();
    inserted(&mut plain, &pcscd, Slot::Card);
    wait_card(Slot::Card, true).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(rig.events("socialSecurityCardListener").len(), 2);
    plain.remove();
    let r = rig.call("socialSecurityCardConfig", json!({})).await;
    assert_eq!(r["success"], true);
    let raw = r#"{"action":"socialSecurityCardConfig","event":"close","taskId":"c"}"#;
    let close = rig.bridge.call(rig.session, Dialect::My, "ampeHHCommunication", raw).await.body;
    assert_eq!(close["message"], "关闭成功", "{close}");
    let mut card = VirtualCard::new(CPU_ATR).social_security(SsCard::from(&id));
    inserted(&mut card, &pcscd, Slot::Card);
    wait_card(Slot::Card, true).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rig.events("socialSecurityCardListener").len(), 2);
}

#[tokio::test]
async fn pcscd_restart_readers_disappear_and_loops_resume() {
    let mut pcscd = Pcscd::start();
    let rig = Rig::new();
    rig.listen("CPUCardListener");
    let mut card = cpu_card();
    inserted(&mut card, &pcscd, Slot::Card);
    wait_card(Slot::Card, true).await;
    rig.wait_available(true).await;
    rig.data("startCPUCardLoopRead", json!({"intervalTime": 300, "isComeBackFailed": true})).await;
    rig.wait_events("CPUCardListener", 1, Duration::from_secs(2)).await;
    assert_eq!(rig.data("readOnceCPUCardInfo", json!({})).await["nfc_cardInfo"], CPU_ATR);

    // pcscd stops: the service is gone, every call says -1 (初始化失败), the loop says -1.
    pcscd.stop();
    let stopped = Instant::now();
    rig.wait_available(false).await;
    assert!(rig.card.status().detail.contains("服务不可用"), "{:?}", rig.card.status());
    assert_eq!(rig.data("readOnceCPUCardInfo", json!({})).await["nfc_cardInfo"], "-1");
    assert_eq!(rig.data("sendCPUCardCommand", json!({"commandApdu": "0084000008"})).await["nfc_resultInfo"], "-1");
    assert_eq!(rig.data("psamCardColdReset", json!({"slot": 1})).await["nfc_resultInfo"], "-1");
    let r = rig.call("sendCPUCardApduCommands", json!({"commandApdus": ["0084000008"]})).await;
    failed(&r, "DEVICE_UNAVAILABLE", "失败:-1");
    assert_eq!(r["data"], json!({"nfc_commandResults": []}));
    let n = rig.events("CPUCardListener").len();
    let ev = rig.wait_events("CPUCardListener", n + 1, Duration::from_secs(2)).await;
    assert_eq!(ev.last().unwrap()["code"], -1);
    let r = rig.call("getSocialSecurityCardInfo", json!({"timeout": 1000})).await;
    assert_eq!(r["errorCode"], "DEVICE_UNAVAILABLE", "{r}");

    // pcscd is back and the card is in again: the same loop reports it, calls work.
    pcscd.restart();
    assert!(!card.is_inserted(), "the old daemon's connection ended");
    inserted(&mut card, &pcscd, Slot::Card);
    rig.wait_available(true).await;
    let back = stopped.elapsed();
    let n = rig.events("CPUCardListener").len();
    wait_until(
        Duration::from_secs(5),
        "a card event after the restart",
        || rig.events("CPUCardListener")[n..].iter().any(|e| e["code"] == 0),
        || format!("{:?}", rig.events("CPUCardListener")),
    )
    .await;
    assert_eq!(rig.data("readOnceCPUCardInfo", json!({})).await["nfc_cardInfo"], CPU_ATR);
    assert!(rig.data("sendCPUCardCommand", json!({"commandApdu": "0084000008"})).await["nfc_resultInfo"]
        .as_str()
        .unwrap()
        .ends_with("9000"));
    rig.data("stopCPUCardLoopRead", json!({})).await;
    eprintln!("pcscd down and back, Booth available again after {back:?}");
}

#[tokio::test]
async fn bad_input_never_reaches_the_card() {
    let pcscd = Pcscd::start();
    let rig = Rig::new();
    let mut card = cpu_card();
    let mut psam = VirtualCard::new(PSAM1_ATR);
    inserted(&mut card, &pcscd, Slot::Card);
    inserted(&mut psam, &pcscd, Slot::Psam1);
    wait_card(Slot::Card, true).await;
    wait_card(Slot::Psam1, true).await;
    rig.data("readOnceCPUCardInfo", json!({})).await;
    card.clear_log();
    psam.clear_log();

    let long = "00".repeat(262);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("sendCPUCardCommand", json!({"commandApdu": "008400000"}), "偶数"),
        ("sendCPUCardCommand", json!({"commandApdu": "00840000XY"}), "非十六进制"),
        ("sendCPUCardCommand", json!({"commandApdu": "00 84 00 00 08"}), "非十六进制"),
        ("sendCPUCardCommand", json!({"commandApdu": ""}), "不能为空"),
        ("sendCPUCardCommand", json!({}), "缺少 commandApdu"),
        ("sendCPUCardCommand", json!({"commandApdu": 84000008}), "commandApdu"),
        ("sendCPUCardCommand", json!({"commandApdu": "008400"}), "至少 4 字节"),
        ("sendCPUCardCommand", json!({"commandApdu": long}), "最长 261"),
        ("sendCPUCardCommand", json!({"commandApdu": "0084000008", "type": 2, "slot": 3}), "slot"),
        ("sendCPUCardCommand", json!({"commandApdu": "0084000008", "slot": "x"}), "slot"),
        ("sendCPUCardCommand", json!({"commandApdu": "0084000008", "type": 3}), "type"),
        ("sendCPUCardApduCommands", json!({"commandApdus": []}), "不能为空"),
        ("sendCPUCardApduCommands", json!({}), "缺少 commandApdus"),
        ("sendCPUCardApduCommands", json!({"commandApdus": "0084000008"}), "字符串数组"),
        ("sendCPUCardApduCommands", json!({"commandApdus": ["0084000008", "0084"]}), "commandApdus[1]"),
        ("sendCPUCardApduCommands", json!({"commandApdus": ["0084000008", 5]}), "commandApdus[1]"),
        ("sendCPUCardApduCommands", json!({"commandApdus": vec!["0084000008"; 65]}), "最多 64"),
        ("sendCPUCardApduCommands", json!({"commandApdus": ["0084000008"], "type": 2, "slot": 0}), "slot"),
        ("psamCardColdReset", json!({"slot": 3}), "slot"),
        ("psamCardColdReset", json!({"slot": "one"}), "slot"),
        ("startCPUCardLoopRead", json!({"intervalTime": 10}), "intervalTime"),
        ("startCPUCardLoopRead", json!({"isComeBackFailed": "yes"}), "isComeBackFailed"),
        ("getSocialSecurityCardInfo", json!({"timeout": 5}), "timeout"),
    ];
    for (action, params, why) in cases {
        let r = rig.call(action, params.clone()).await;
        assert_eq!(r["success"], false, "{action} {params}: {r}");
        assert_eq!(r["errorCode"], "INVALID_PARAMS", "{action} {params}: {r}");
        let message = r["message"].as_str().unwrap();
        assert!(message.starts_with("参数错误: ") && message.contains(why), "{action} {params}: {r}");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(card.apdus(), Vec::<String>::new(), "nothing reached the card");
    assert_eq!(psam.apdus(), Vec::<String>::new(), "nothing reached the PSAM");
    assert!(!psam.events().iter().any(|e| matches!(e, CardEvent::PowerOff | CardEvent::Reset)));

    // …and the card still works.
    assert!(rig.data("sendCPUCardCommand", json!({"commandApdu": "0084000008"})).await["nfc_resultInfo"]
        .as_str()
        .unwrap()
        .ends_with("9000"));
}

#[tokio::test]
async fn one_reader_serialized_two_readers_concurrent() {
    let pcscd = Pcscd::start();
    let rig = Rig::new();
    let delay = Duration::from_millis(300);
    let mut card = cpu_card().slow("0088", delay, "11229000").respond_prefix("80CA", "9000");
    let mut psam = VirtualCard::new(PSAM1_ATR).slow("0088", delay, "33449000");
    inserted(&mut card, &pcscd, Slot::Card);
    inserted(&mut psam, &pcscd, Slot::Psam1);
    wait_card(Slot::Card, true).await;
    wait_card(Slot::Psam1, true).await;
    rig.data("readOnceCPUCardInfo", json!({})).await;

    // Two readers: both slow commands together take about one delay, not two.
    let started = Instant::now();
    let (a, b) = tokio::join!(
        rig.data("sendCPUCardCommand", json!({"commandApdu": "0088000008"})),
        rig.data("sendCPUCardCommand", json!({"commandApdu": "0088000008", "type": 2, "slot": 1})),
    );
    let both = started.elapsed();
    assert_eq!(a["nfc_resultInfo"], "11229000");
    assert_eq!(b["nfc_resultInfo"], "33449000");
    assert!(both < delay * 2 - Duration::from_millis(50), "two readers took {both:?}");

    // One reader: two concurrent lists never interleave on the card.
    card.clear_log();
    let list = |tag: &str| json!({"commandApdus": (0..5).map(|i| format!("80CA{tag}0{i}00")).collect::<Vec<_>>()});
    let started = Instant::now();
    let (x, y, z) = tokio::join!(
        rig.data("sendCPUCardApduCommands", list("AA")),
        rig.data("sendCPUCardApduCommands", list("BB")),
        rig.data("sendCPUCardCommand", json!({"commandApdu": "0088000008"})),
    );
    let serial = started.elapsed();
    assert_eq!(x["nfc_commandResults"].as_array().unwrap().len(), 5);
    assert_eq!(y["nfc_commandResults"].as_array().unwrap().len(), 5);
    assert_eq!(z["nfc_resultInfo"], "11229000");
    let seen: Vec<String> = card.apdus().iter().map(|a| a[4..6].to_string()).collect();
    let runs: Vec<&String> =
        seen.iter().collect::<Vec<_>>().windows(2).filter(|w| w[0] != w[1]).map(|w| w[1]).collect();
    assert!(runs.len() <= 2, "each list ran in one piece: {seen:?}");
    eprintln!("two readers in parallel: {both:?} for two {delay:?} commands; one reader: {serial:?}");
}

#[tokio::test]
async fn reader_roles_follow_patterns() {
    let pcscd = Pcscd::start();
    // Automatic: the first reader without SAM is the card reader, the SAM readers in order.
    let rig = Rig::new();
    rig.wait_available(true).await;
    let roles: Vec<(String, Option<String>)> =
        rig.card.status().readers.iter().map(|r| (r.name.clone(), r.role.map(|r| r.as_str().to_string()))).collect();
    assert_eq!(
        roles,
        [
            ("Booth Card 00 00".to_string(), Some("card".to_string())),
            ("Booth Card 00 01".to_string(), None),
            ("Booth PSAM 00 00".to_string(), Some("psam1".to_string())),
            ("Booth PSAM 00 01".to_string(), Some("psam2".to_string())),
        ]
    );
    drop(rig);

    // Patterns: the second contact slot is the card reader; the PSAM slots swapped.
    let rig = Rig::with(RolePatterns {
        card: Some("Booth Card 00 01".into()),
        psam1: Some("*PSAM*01".into()),
        psam2: Some("psam 00 00".into()),
    });
    let mut in_card2 = VirtualCard::new(CPU_ATR).respond("80CA000000", "C2C29000");
    let mut in_psam2 = VirtualCard::new(PSAM2_ATR);
    inserted(&mut in_card2, &pcscd, Slot::Card2);
    inserted(&mut in_psam2, &pcscd, Slot::Psam2);
    wait_card(Slot::Card2, true).await;
    wait_card(Slot::Psam2, true).await;
    assert_eq!(
        rig.data("sendCPUCardCommand", json!({"commandApdu": "80CA000000"})).await["nfc_resultInfo"],
        "C2C29000"
    );
    assert_eq!(rig.data("psamCardColdReset", json!({"slot": 1})).await["nfc_resultInfo"], PSAM2_ATR);
    assert_eq!(rig.data("psamCardColdReset", json!({"slot": 2})).await["nfc_resultInfo"], "-2", "PSAM 00 00 is empty");
    drop(rig);

    // A pattern matching no reader: that role has none (-1), the others still work.
    let rig = Rig::with(RolePatterns { card: Some("ACME*".into()), ..RolePatterns::default() });
    wait_until(
        Duration::from_secs(5),
        "the status names the missing reader",
        || rig.card.status().detail.contains("未找到读卡器"),
        || format!("{:?}", rig.card.status()),
    )
    .await;
    assert!(!rig.card.status().available);
    assert_eq!(rig.data("readOnceCPUCardInfo", json!({})).await["nfc_cardInfo"], "-1");
    let r = rig.data("sendCPUCardCommand", json!({"commandApdu": "80CA000000"})).await;
    assert_eq!(r["nfc_resultInfo"], "-1", "{r}");
    let r = rig.call("startCPUCardLoopRead", json!({})).await;
    assert_eq!(r["success"], true, "a loop may start before its reader is there: {r}");
    rig.data("stopCPUCardLoopRead", json!({})).await;
}

#[tokio::test]
async fn no_card_codes_and_the_none_backend() {
    let _pcscd = Pcscd::start();
    let rig = Rig::new();
    rig.wait_available(true).await;
    assert_eq!(rig.data("readOnceCPUCardInfo", json!({})).await["nfc_cardInfo"], "-2");
    assert_eq!(rig.data("sendCPUCardCommand", json!({"commandApdu": "0084000008"})).await["nfc_resultInfo"], "-2");
    let r = rig.call("sendCPUCardApduCommands", json!({"commandApdus": ["0084000008"]})).await;
    failed(&r, "DEVICE_ERROR", "失败:-2");

    // No backend configured: the seed's "初始化失败" codes.
    let bridge = Bridge::default();
    let card = SmartCard::start(SmartCardConfig::default(), bridge.bus());
    card.register(&bridge);
    let s = card.status();
    assert_eq!((s.backend, s.available), ("none", false));
    let info = SessionInfo {
        key: "k".into(),
        package_id: "p".into(),
        permissions: [Family::Smartcard, Family::Sscard].into_iter().collect(),
        dialects: [Dialect::My].into_iter().collect(),
        screen: Screen::Front,
        url: String::new(),
    };
    let id = bridge.open_session(info, Arc::new(Collect::default()));
    let call = |action: &str| {
        let raw = json!({"action": action, "taskId": "n", "params": {"commandApdu": "0084000008", "commandApdus": ["0084000008"]}}).to_string();
        let bridge = bridge.clone();
        async move { bridge.call(id, Dialect::My, "ampeHHCommunication", &raw).await.body }
    };
    assert_eq!(call("readOnceCPUCardInfo").await["data"]["nfc_cardInfo"], "-1");
    assert_eq!(call("sendCPUCardCommand").await["data"]["nfc_resultInfo"], "-1");
    assert_eq!(call("psamCardColdReset").await["data"]["nfc_resultInfo"], "-1");
    failed(&call("sendCPUCardApduCommands").await, "DEVICE_UNAVAILABLE", "失败:-1");
    assert_eq!(call("startCPUCardLoopRead").await["errorCode"], "DEVICE_UNAVAILABLE");
    assert_eq!(call("getSocialSecurityCardInfo").await["errorCode"], "DEVICE_UNAVAILABLE");
    assert_eq!(call("socialSecurityCardConfig").await["errorCode"], "DEVICE_UNAVAILABLE");
}

/// The APDU round trip through the bridge (page-shaped JSON in, reply out, worker thread,
/// pcsc-lite, pcscd, vpcd, the virtual card) against a direct `pcsc` transmit on the same
/// card in the same run. `cargo test -p booth-smartcard --test pcsc -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement, not a check: run it by name"]
async fn apdu_round_trip_bridge_vs_direct() {
    const N: usize = 2000;
    let pcscd = Pcscd::start();
    let rig = Rig::new();
    let mut card = cpu_card();
    inserted(&mut card, &pcscd, Slot::Card);
    wait_card(Slot::Card, true).await;
    rig.data("readOnceCPUCardInfo", json!({})).await;

    // Direct: another PC/SC handle on the same card, shared mode. The two paths alternate so
    // that both see the same machine load.
    let ctx = pcsc::Context::establish(pcsc::Scope::User).unwrap();
    let reader = CString::new(Slot::Card.reader_name()).unwrap();
    let direct = ctx.connect(&reader, pcsc::ShareMode::Shared, pcsc::Protocols::ANY).unwrap();
    let mut buf = [0u8; 300];
    let raw =
        r#"{"action":"sendCPUCardCommand","event":"open","taskId":"b","params":{"commandApdu":"0084000008","type":1}}"#;
    let mut bridge_times = Vec::with_capacity(N);
    let mut direct_times = Vec::with_capacity(N);
    for _ in 0..N {
        let t = Instant::now();
        let r = rig.bridge.call(rig.session, Dialect::My, "ampeHHCommunication", raw).await;
        bridge_times.push(t.elapsed());
        assert!(r.body["data"]["nfc_resultInfo"].as_str().unwrap().ends_with("9000"));

        let t = Instant::now();
        let r = direct.transmit(&[0x00, 0x84, 0x00, 0x00, 0x08], &mut buf).unwrap();
        direct_times.push(t.elapsed());
        assert!(to_hex(r).ends_with("9000"));
    }
    let stats = |v: &mut Vec<Duration>| {
        v.sort();
        let mean = v.iter().sum::<Duration>() / v.len() as u32;
        (v[v.len() / 2], v[v.len() * 99 / 100], mean)
    };
    let (bp50, bp99, bmean) = stats(&mut bridge_times);
    let (dp50, dp99, dmean) = stats(&mut direct_times);
    println!("APDU round trip over {N} GET CHALLENGE each, same virtual card:");
    println!("  direct pcsc transmit: p50 {dp50:?}  p99 {dp99:?}  mean {dmean:?}");
    println!("  through the bridge:   p50 {bp50:?}  p99 {bp99:?}  mean {bmean:?}");
    println!("  bridge overhead at p50: {:?}", bp50.saturating_sub(dp50));
}
