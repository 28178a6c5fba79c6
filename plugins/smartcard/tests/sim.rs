//! The simulated smart card backend, driven the way the simulator panel and `POST /sim/card/…`
//! drive it: through the simulator registry.

use booth_bridge::{Bridge, Dialect, Family, Screen, SessionId, SessionInfo, SimRegistry};
use booth_smartcard::sim::{DEFAULT_ATR, DEFAULT_PSAM_ATR};
use booth_smartcard::{Backend, SmartCard, SmartCardConfig};
use booth_testkit::events::Collect;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Rig {
    bridge: Bridge,
    sims: SimRegistry,
    session: SessionId,
    sink: Arc<Collect>,
    _card: Arc<SmartCard>,
}

impl Rig {
    fn new() -> Rig {
        let bridge = Bridge::default();
        let card =
            SmartCard::start(SmartCardConfig { backend: Backend::Sim, ..SmartCardConfig::default() }, bridge.bus());
        card.register(&bridge);
        let sims = SimRegistry::default();
        card.register_sim(&sims);
        let sink = Arc::new(Collect::default());
        let info = SessionInfo {
            key: "main".into(),
            package_id: "test.sim".into(),
            permissions: [Family::Smartcard, Family::Sscard].into_iter().collect(),
            dialects: [Dialect::My].into_iter().collect(),
            screen: Screen::Front,
            url: String::new(),
        };
        let session = bridge.open_session(info, sink.clone());
        Rig { bridge, sims, session, sink, _card: card }
    }

    async fn call(&self, action: &str, params: Value) -> Value {
        let raw = json!({"action": action, "taskId": "s", "params": params}).to_string();
        self.bridge.call(self.session, Dialect::My, "ampeHHCommunication", &raw).await.body
    }

    async fn data(&self, action: &str, params: Value) -> Value {
        let r = self.call(action, params).await;
        assert_eq!(r["success"], true, "{r}");
        r["data"].clone()
    }

    fn act(&self, action: &str, args: Value) -> Value {
        self.sims.act("card", action, &args).unwrap_or_else(|e| panic!("{action}: {e}"))
    }

    async fn wait_events(&self, name: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let ev: Vec<Value> = self.sink.data_of(name);
            if ev.len() >= n {
                return ev;
            }
            assert!(Instant::now() < deadline, "{n} {name} events: {ev:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
async fn sim_card_insert_apdus_and_listener() {
    let rig = Rig::new();
    let described = rig.sims.describe();
    let card = described["devices"].as_array().unwrap().iter().find(|d| d["id"] == "card").expect("card simulator");
    let actions: Vec<&str> = card["actions"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(actions, ["insert", "remove", "identity", "respond", "psam", "reader"]);
    assert_eq!(card["state"]["card"]["inserted"], false);

    assert_eq!(rig.data("readOnceCPUCardInfo", json!({})).await["nfc_cardInfo"], "-2");
    rig.bridge.subscribe(rig.session, Dialect::My, "CPUCardListener").unwrap();
    rig.data("startCPUCardLoopRead", json!({"intervalTime": 200, "isComeBackFailed": true})).await;
    assert_eq!(rig.wait_events("CPUCardListener", 1).await[0], json!({"nfc_cardInfo": "", "code": -1}));

    let state = rig.act("insert", json!({}));
    assert_eq!(state["card"]["atr"], DEFAULT_ATR);
    let ev = rig.wait_events("CPUCardListener", 2).await;
    assert_eq!(ev[1], json!({"nfc_cardInfo": DEFAULT_ATR, "code": 0}));
    rig.data("stopCPUCardLoopRead", json!({})).await;

    assert_eq!(rig.data("readOnceCPUCardInfo", json!({})).await["nfc_cardInfo"], DEFAULT_ATR);
    assert_eq!(
        rig.data("sendCPUCardCommand", json!({"commandApdu": "FFCA000000"})).await["nfc_resultInfo"],
        "A1B2C3D49000"
    );
    let challenge = rig.data("sendCPUCardCommand", json!({"commandApdu": "0084000008"})).await;
    assert_eq!(challenge["nfc_resultInfo"].as_str().unwrap().len(), 20);

    // A scripted answer, and a list failing on it.
    rig.act("respond", json!({"command": "00A4040005F000000001", "response": "6A82"}));
    let r = rig.call("sendCPUCardApduCommands", json!({"commandApdus": ["0084000004", "00A4040005F000000001"]})).await;
    assert_eq!(r["message"], "失败:-100", "{r}");
    assert_eq!(r["data"]["nfc_commandResults"][1], "6A82");

    // PSAMs: both slots hold one; cold reset answers its ATR; an emptied slot answers -2.
    assert_eq!(rig.data("psamCardColdReset", json!({"slot": 2})).await["nfc_resultInfo"], DEFAULT_PSAM_ATR[1]);
    rig.act("psam", json!({"slot": "2", "inserted": false}));
    assert_eq!(rig.data("psamCardColdReset", json!({"slot": 2})).await["nfc_resultInfo"], "-2");

    // The reader unplugged: -1.
    rig.act("reader", json!({"connected": false}));
    assert_eq!(rig.data("readOnceCPUCardInfo", json!({})).await["nfc_cardInfo"], "-1");
    rig.act("reader", json!({"connected": "true"}));

    // Removing with no card is refused (409 at the control endpoint).
    rig.act("remove", json!({}));
    assert!(rig.sims.act("card", "remove", &json!({})).is_err());
    assert!(rig.sims.act("card", "insert", &json!({"atr": "XYZ"})).is_err());
}

#[tokio::test]
async fn sim_social_security_identity() {
    let rig = Rig::new();
    rig.act(
        "identity",
        json!({"name": "赵六", "idNumber": "440106199912121111", "cardNumber": "G00000001", "sex": "1",
               "nation": "08", "birthDate": "19991212", "issueDate": "20220601", "expireDate": "20320601",
               "cityCode": "440100", "address": "", "fullVersion": "3.00"}),
    );
    rig.bridge.subscribe(rig.session, Dialect::My, "socialSecurityCardListener").unwrap();
    rig.data("socialSecurityCardConfig", json!({})).await;
    rig.act("insert", json!({"socialSecurity": true}));
    let want = json!({
        "cardNumber": "G00000001", "name": "赵六", "sex": "男", "idNumber": "440106199912121111",
        "birthDate": "19991212", "issueDate": "20220601", "expireDate": "20320601", "nation": "壮",
        "cityCode": "440100", "address": "", "fullVersion": "3.00",
    });
    assert_eq!(rig.wait_events("socialSecurityCardListener", 1).await[0], want);
    assert_eq!(rig.data("getSocialSecurityCardInfo", json!({})).await, want);
    assert!(rig.sims.act("card", "identity", &json!({"birthDate": "1999"})).is_err());

    // A plain CPU card is not a social security card.
    rig.act("remove", json!({}));
    rig.act("insert", json!({"socialSecurity": false}));
    let r = rig.call("getSocialSecurityCardInfo", json!({"timeout": 1000})).await;
    assert_eq!(r["errorCode"], "DEVICE_ERROR", "{r}");
}
