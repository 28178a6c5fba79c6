//! The simulated certification (`booth dev`, `--sim`): no window opens; the call answers, after
//! the same checks of its params and origin, with the outcome chosen in the simulator panel or
//! by `POST /sim/certify/<outcome>` (`pass` by default).

use crate::outcome::{WindowEvent, USER_IS_NOT_CERTIFY};
use crate::CertifyParam;
use booth_bridge::sim::{Action, Field};
use booth_bridge::{SimDevice, SimError};
use serde_json::{json, Map, Value};
use std::sync::Mutex;
use std::time::Duration;

pub const SIM_ID: &str = "certify";

/// What the next certifications answer.
#[derive(Debug, Clone, PartialEq)]
pub enum SimOutcome {
    /// 9000.
    Pass,
    /// 4000 with this errorCode.
    Fail(String),
    /// 6001.
    Cancel,
    /// 6002.
    NetworkDown,
}

impl SimOutcome {
    fn name(&self) -> &'static str {
        match self {
            SimOutcome::Pass => "pass",
            SimOutcome::Fail(_) => "fail",
            SimOutcome::Cancel => "cancel",
            SimOutcome::NetworkDown => "network-down",
        }
    }
}

pub struct SimCertify {
    outcome: Mutex<SimOutcome>,
    /// Certifications answered, for the panel.
    calls: Mutex<u64>,
    /// How long a simulated certification takes (a person doing it).
    delay: Duration,
}

impl Default for SimCertify {
    fn default() -> Self {
        SimCertify { outcome: Mutex::new(SimOutcome::Pass), calls: Mutex::new(0), delay: Duration::from_millis(300) }
    }
}

impl SimCertify {
    pub fn set(&self, outcome: SimOutcome) {
        *self.outcome.lock().unwrap_or_else(|p| p.into_inner()) = outcome;
    }

    pub fn outcome(&self) -> SimOutcome {
        self.outcome.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// What the window would have reported for `p`.
    pub async fn next(&self, p: &CertifyParam) -> WindowEvent {
        tokio::time::sleep(self.delay).await;
        *self.calls.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let mut back = p.url.clone();
        back.set_path("/simulated-return");
        back.set_query(None);
        match self.outcome() {
            SimOutcome::Pass => {
                back.query_pairs_mut().append_pair("certifyId", &p.certify_id).append_pair("status", "PASSED");
                WindowEvent::Returned(back)
            }
            SimOutcome::Fail(code) => {
                back.query_pairs_mut()
                    .append_pair("certifyId", &p.certify_id)
                    .append_pair("status", "FAILED")
                    .append_pair("errorCode", &code);
                WindowEvent::Returned(back)
            }
            SimOutcome::Cancel => WindowEvent::Closed,
            SimOutcome::NetworkDown => WindowEvent::LoadFailed("模拟: 网络不可用".into()),
        }
    }
}

/// The simulator panel's controls.
pub struct CertifySim(pub std::sync::Arc<SimCertify>);

impl SimDevice for CertifySim {
    fn id(&self) -> &'static str {
        SIM_ID
    }
    fn label(&self) -> &'static str {
        "实人认证 (open-certify)"
    }
    fn actions(&self) -> Vec<Action> {
        vec![
            Action::new("pass", "认证通过 (9000)", vec![]),
            Action::new(
                "fail",
                "认证未通过 (4000)",
                vec![Field::choice(
                    "errorCode",
                    "errorCode",
                    &[USER_IS_NOT_CERTIFY, "LIVENESS_FAILED", "SYSTEM_ERROR", "UNKNOWN_ERROR"],
                    USER_IS_NOT_CERTIFY,
                )],
            ),
            Action::new("cancel", "用户关闭 (6001)", vec![]),
            Action::new("network-down", "网络异常 (6002)", vec![]),
        ]
    }
    fn state(&self) -> Value {
        let outcome = self.0.outcome();
        let code = match &outcome {
            SimOutcome::Fail(c) => Value::from(c.as_str()),
            _ => Value::Null,
        };
        json!({
            "outcome": outcome.name(),
            "errorCode": code,
            "calls": *self.0.calls.lock().unwrap_or_else(|p| p.into_inner()),
        })
    }
    fn act(&self, action: &str, args: &Map<String, Value>) -> Result<Value, SimError> {
        let outcome = match action {
            "pass" => SimOutcome::Pass,
            "fail" => SimOutcome::Fail(
                args.get("errorCode").and_then(Value::as_str).unwrap_or(USER_IS_NOT_CERTIFY).to_string(),
            ),
            "cancel" => SimOutcome::Cancel,
            "network-down" => SimOutcome::NetworkDown,
            other => return Err(SimError::InvalidArgs(format!("unknown outcome {other}"))),
        };
        let name = outcome.name();
        self.0.set(outcome);
        Ok(json!({ "outcome": name }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::reply_for;
    use url::Url;

    #[tokio::test(start_paused = true)]
    async fn each_outcome_gives_its_result_status() {
        let sim = std::sync::Arc::new(SimCertify::default());
        let panel = CertifySim(sim.clone());
        let p =
            CertifyParam { certify_id: "c9".into(), url: Url::parse("https://certify.example.com/h5?x=1").unwrap() };
        let ok = reply_for("c9", sim.next(&p).await).unwrap();
        assert_eq!(ok.data["resultStatus"], "9000");
        panel.act("fail", &Map::from_iter([("errorCode".to_string(), json!("LIVENESS_FAILED"))])).unwrap();
        let e = reply_for("c9", sim.next(&p).await).unwrap_err();
        assert_eq!(e.data.unwrap()["result"], json!({"certifyId": "c9", "errorCode": "LIVENESS_FAILED"}));
        panel.act("cancel", &Map::new()).unwrap();
        assert_eq!(reply_for("c9", sim.next(&p).await).unwrap().data["resultStatus"], "6001");
        panel.act("network-down", &Map::new()).unwrap();
        assert_eq!(reply_for("c9", sim.next(&p).await).unwrap().data["resultStatus"], "6002");
        assert_eq!(panel.state()["calls"], 4);
        assert!(panel.act("maybe", &Map::new()).is_err());
    }
}
