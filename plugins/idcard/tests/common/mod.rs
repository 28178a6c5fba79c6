//! Shared by the ID card tests: a bridge with one page session, and waiting helpers.

#![allow(dead_code)]

use booth_bridge::{Bridge, Dialect, Family, Reply, Screen, SessionId, SessionInfo};
use booth_idcard::{IdCard, IdCardConfig};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use booth_testkit::events::Collect;

pub struct Rig {
    pub bridge: Bridge,
    pub idcard: Arc<IdCard>,
    pub session: SessionId,
    pub sink: Arc<Collect>,
}

impl Rig {
    pub fn new(config: IdCardConfig) -> Rig {
        let bridge = Bridge::default();
        let idcard = IdCard::start(config, bridge.bus());
        idcard.register(&bridge);
        let sink = Arc::new(Collect::default());
        let info = SessionInfo {
            key: "main".into(),
            package_id: "test.idcard".into(),
            permissions: [Family::Idcard].into_iter().collect(),
            dialects: [Dialect::My].into_iter().collect(),
            screen: Screen::Front,
            url: "booth://localhost/index.html".into(),
        };
        let session = bridge.open_session(info, sink.clone());
        Rig { bridge, idcard, session, sink }
    }

    pub fn listen(&self) {
        self.bridge.subscribe(self.session, Dialect::My, "initIDCardListener").expect("subscribe");
    }

    pub async fn call(&self, raw: &str) -> Value {
        let reply = self.bridge.call(self.session, Dialect::My, "ampeHHCommunication", raw).await;
        assert!(reply.ok, "{reply:?}");
        reply.body
    }

    /// Starts a call and lets it reach its wait.
    pub async fn pending(&self, raw: &str) -> tokio::task::JoinHandle<Reply> {
        let (bridge, session, raw) = (self.bridge.clone(), self.session, raw.to_string());
        let task = tokio::spawn(async move { bridge.call(session, Dialect::My, "ampeHHCommunication", &raw).await });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!task.is_finished(), "the call answered at once: {:?}", task.await);
        task
    }

    pub async fn wait_available(&self, available: bool, within: Duration) {
        wait_until(
            within,
            &format!("available == {available}"),
            || self.idcard.status().available == available,
            || format!("{:?}", self.idcard.status()),
        )
        .await;
    }

    pub async fn wait_events(&self, n: usize, within: Duration) -> Vec<Value> {
        wait_until(within, &format!("{n} events"), || self.sink.all().len() >= n, || format!("{:?}", self.sink.all()))
            .await;
        self.sink
            .all()
            .into_iter()
            .map(|m| {
                assert_eq!(m.name, "initIDCardListener");
                m.body["data"].clone()
            })
            .collect()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.idcard.shutdown();
    }
}

pub async fn wait_until(within: Duration, what: &str, mut done: impl FnMut() -> bool, state: impl Fn() -> String) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}; state: {}", state());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub async fn answer(task: tokio::task::JoinHandle<Reply>, within: Duration) -> Value {
    let reply = tokio::time::timeout(within, task).await.expect("an answer in time").expect("call task");
    assert!(reply.ok, "{reply:?}");
    reply.body
}

/// A known identity: name, sex code, nation code, birth, address (full-width house number),
/// ID number, issuer, valid from, valid to.
pub const KNOWN: [&str; 9] = [
    "李四",
    "2",
    "03",
    "19851224",
    "浙江省杭州市余杭区文一西路９６９号",
    "330106198512240021",
    "杭州市公安局余杭分局",
    "20230529",
    "20430529",
];

/// What pages receive for [`KNOWN`] (no photo decoder: empty photo).
pub fn known_data() -> Value {
    serde_json::json!({
        "name": "李四",
        "idNum": "330106198512240021",
        "signingOrganization": "杭州市公安局余杭分局",
        "address": "浙江省杭州市余杭区文一西路969号",
        "nation": "回",
        "sex": "女",
        "beginTime": "20230529",
        "endTime": "20430529",
        "birthDate": "19851224",
        "photoBase64": "",
    })
}
