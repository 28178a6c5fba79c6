//! The simulated reader through the simulator registry, and the call semantics every backend
//! shares: infoType groups, the 15 s "超时", closeIDCardInfo, bad parameters.

mod common;

use booth_bridge::SimRegistry;
use booth_idcard::{Backend, IdCardConfig};
use common::{answer, Rig};
use serde_json::json;
use std::time::{Duration, Instant};

fn sim_rig(timeout: Duration) -> (Rig, SimRegistry) {
    let rig = Rig::new(IdCardConfig { backend: Backend::Sim, default_timeout: timeout, ..IdCardConfig::default() });
    let sims = SimRegistry::default();
    rig.idcard.register_sim(&sims);
    (rig, sims)
}

#[tokio::test]
async fn sim_place_delivers_the_edited_identity_and_remove() {
    let (rig, sims) = sim_rig(Duration::from_secs(15));
    rig.listen();
    let described = sims.describe();
    assert_eq!(described["devices"][0]["id"], "idcard");
    let fields: Vec<&str> = described["devices"][0]["actions"][0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["name", "sex", "nation", "birth", "address", "idNumber", "issuer", "validFrom", "validTo", "photo"]
    );

    let task = rig
        .pending(r#"{"action":"getIDCardInfo","event":"open","taskId":"3","params":{"infoType":"base,photo,other"}}"#)
        .await;
    let r = sims.act(
        "idcard",
        "place",
        &json!({"name": "王五", "sex": "女", "address": "上海市１号", "photo": "/9j/AAAA"}),
    );
    assert_eq!(r.unwrap(), json!({"placed": "王五"}));
    let body = answer(task, Duration::from_secs(1)).await;
    assert_eq!(
        body["data"],
        json!({
            "name": "王五", "idNum": "110101199003070011", "signingOrganization": "北京市公安局东城分局",
            "address": "上海市1号", "nation": "汉", "sex": "女", "beginTime": "20200101", "endTime": "20400101",
            "birthDate": "19900307", "photoBase64": "/9j/AAAA"
        })
    );
    assert_eq!(rig.wait_events(1, Duration::from_secs(1)).await[0], body["data"]);
    assert_eq!(sims.describe()["devices"][0]["state"]["card"]["name"], "王五");

    sims.act("idcard", "remove", &json!({})).unwrap();
    assert!(sims.describe()["devices"][0]["state"]["card"].is_null());
    assert!(matches!(sims.act("idcard", "remove", &json!({})), Err(booth_bridge::SimError::Refused(_))));
}

#[tokio::test]
async fn get_id_card_info_times_out_with_chaoshi_and_close_cancels() {
    let (rig, sims) = sim_rig(Duration::from_millis(400));
    let started = Instant::now();
    let body = rig.call(r#"{"action":"getIDCardInfo","event":"open","taskId":"3","params":{"infoType":"base"}}"#).await;
    assert_eq!(
        body,
        json!({"action": "getIDCardInfo", "data": {}, "event": "open", "message": "超时", "success": false, "taskId": "3", "errorCode": "TIMEOUT"})
    );
    assert!(started.elapsed() >= Duration::from_millis(400));

    let task = rig.pending(r#"{"action":"getIDCardInfo","taskId":"p","params":{"timeout":5000}}"#).await;
    let close = rig
        .call(r#"{"action":"closeIDCardInfo","event":"open","taskId":"3","params":{"infoType":"base,photo,other"}}"#)
        .await;
    assert_eq!(
        close,
        json!({"action": "closeIDCardInfo", "data": {}, "event": "close", "message": "关闭成功", "success": true, "taskId": "3"})
    );
    let body = answer(task, Duration::from_millis(500)).await;
    assert_eq!(body["errorCode"], json!("CANCELLED"), "{body}");

    // A later call is not affected by the earlier close.
    let task = rig.pending(r#"{"action":"getIDCardInfo","taskId":"q","params":{"timeout":5000}}"#).await;
    sims.act("idcard", "place", &json!({})).unwrap();
    assert_eq!(answer(task, Duration::from_secs(1)).await["data"]["name"], json!("张三"));
}

#[tokio::test]
async fn bad_parameters_are_invalid_params() {
    let (rig, _sims) = sim_rig(Duration::from_secs(15));
    for params in [
        json!({"infoType": "face"}),
        json!({"infoType": ""}),
        json!({"infoType": 3}),
        json!({"timeout": 10}),
        json!({"timeout": "soon"}),
    ] {
        let raw = json!({"action": "getIDCardInfo", "event": "open", "taskId": "b", "params": params}).to_string();
        let body = rig.call(&raw).await;
        assert_eq!(body["errorCode"], json!("INVALID_PARAMS"), "{params}: {body}");
        assert!(body["message"].as_str().unwrap().starts_with("参数错误"), "{body}");
    }
}

#[tokio::test]
async fn no_reader_is_unavailable_and_real_backends_refuse_the_simulator() {
    let rig = Rig::new(IdCardConfig::default());
    let body = rig.call(r#"{"action":"getIDCardInfo","taskId":"n"}"#).await;
    assert_eq!(body["errorCode"], json!("DEVICE_UNAVAILABLE"), "{body}");
    let sims = SimRegistry::default();
    rig.idcard.register_sim(&sims);
    assert!(matches!(sims.act("idcard", "place", &json!({})), Err(booth_bridge::SimError::NotSimulated { .. })));
}
