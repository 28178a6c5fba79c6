//! The simulated provider: `[provider] backend = "sim"` (and `booth dev`, `--sim`) answers the
//! contract in-process with the outcome chosen in the simulator panel or by
//! `POST /sim/provider/<outcome>`, so mini-program developers need no server.

use crate::client::ProviderError;
use crate::wire::*;
use booth_bridge::sim::{Action, SimDevice, SimError};
use serde_json::{json, Map, Value};
use std::sync::Mutex;
use std::time::Duration;

/// What the simulated provider answers next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Match,
    NoMatch,
    LivenessFailed,
    NetworkDown,
    Slow,
}

impl Outcome {
    pub const ALL: [Outcome; 5] =
        [Outcome::Match, Outcome::NoMatch, Outcome::LivenessFailed, Outcome::NetworkDown, Outcome::Slow];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Match => "match",
            Outcome::NoMatch => "no-match",
            Outcome::LivenessFailed => "liveness-failed",
            Outcome::NetworkDown => "network-down",
            Outcome::Slow => "slow",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Outcome::Match => "识别成功 (match)",
            Outcome::NoMatch => "未匹配 (no match)",
            Outcome::LivenessFailed => "活体失败 (liveness failed)",
            Outcome::NetworkDown => "网络中断 (network down)",
            Outcome::Slow => "慢速应答 (slow, 3 s)",
        }
    }
}

/// How long a `slow` answer takes.
pub const SLOW: Duration = Duration::from_secs(3);
/// The simulated enrolled person.
pub const SIM_PERSON: &str = "9000000000000001";

pub struct SimProvider {
    outcome: Mutex<Outcome>,
    calls: Mutex<Vec<String>>,
}

impl Default for SimProvider {
    fn default() -> Self {
        SimProvider { outcome: Mutex::new(Outcome::Match), calls: Mutex::default() }
    }
}

impl SimProvider {
    pub fn outcome(&self) -> Outcome {
        *self.outcome.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_outcome(&self, o: Outcome) {
        *self.outcome.lock().unwrap_or_else(|p| p.into_inner()) = o;
    }

    /// Waits as the outcome says, or fails the way it says; `Ok` means "answer normally".
    async fn gate(&self, what: &str, face: bool) -> Result<Outcome, ProviderError> {
        {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            calls.push(what.to_string());
            let n = calls.len();
            if n > 20 {
                calls.drain(..n - 20);
            }
        }
        match self.outcome() {
            Outcome::NetworkDown => Err(ProviderError::new(Code::Network, "无法连接提供方 (模拟: 网络中断)")),
            Outcome::LivenessFailed if face => Err(ProviderError::new(Code::LivenessFailed, "活体检测未通过 (模拟)")),
            Outcome::Slow => {
                tokio::time::sleep(SLOW).await;
                Ok(Outcome::Match)
            }
            o => Ok(o),
        }
    }

    pub async fn capabilities(&self) -> Result<Capabilities, ProviderError> {
        self.gate("capabilities", false).await?;
        Ok(Capabilities {
            contract: CONTRACT.into(),
            provider: "booth simulator".into(),
            time: crate::sign::now_s(),
            features: FEATURES.iter().map(|s| s.to_string()).collect(),
            models: vec![],
        })
    }

    pub async fn search(&self) -> Result<Identified, ProviderError> {
        match self.gate("face.search", true).await? {
            Outcome::NoMatch => Err(ProviderError::new(Code::NotMatched, "未找到匹配的人 (模拟)")),
            _ => Ok(Identified {
                person_id: SIM_PERSON.into(),
                alipay_uid: SIM_PERSON.into(),
                auth_code: String::new(),
                ftoken: format!("fp{}", crate::sign::nonce()),
                vid: String::new(),
                code: 1000,
                sub_code: String::new(),
                sub_message: String::new(),
                score: 95.0,
            }),
        }
    }

    pub async fn verify(&self) -> Result<VerifyResponse, ProviderError> {
        match self.gate("face.verify", true).await? {
            Outcome::NoMatch => Ok(VerifyResponse { matched: false, score: 0.2, person_id: String::new() }),
            _ => Ok(VerifyResponse { matched: true, score: 0.93, person_id: SIM_PERSON.into() }),
        }
    }

    pub async fn enroll(&self) -> Result<EnrollResponse, ProviderError> {
        self.gate("face.enroll", true).await?;
        Ok(EnrollResponse {
            person_id: SIM_PERSON.into(),
            existing: false,
            ftoken: format!("fp{}", crate::sign::nonce()),
            auth_code: String::new(),
            vid: SIM_PERSON.into(),
        })
    }

    pub async fn liveness(&self) -> Result<LivenessResponse, ProviderError> {
        self.gate("liveness", true).await?;
        Ok(LivenessResponse { passed: true, score: 0.99 })
    }

    pub async fn ocr(&self, kind: &str) -> Result<OcrResponse, ProviderError> {
        self.gate("ocr", false).await?;
        let recog = match kind {
            "IDCard" => json!({"face": 0, "name": "张三", "gender": "男", "nation": "汉", "birthday": "19900307",
                               "address": "北京市东城区景山前街4号", "idNo": "110101199003070011", "idNoValid": true,
                               "birthdayMatchesIdNo": true}),
            "IDCardCheck" => json!({"risk": 0}),
            "BankCard" => {
                json!({"cardNo": "6222020200000000006", "cardNoValid": true, "bankName": "模拟银行", "bankId": "0000", "cardType": "借记卡"})
            }
            _ => json!({"corpName": "模拟企业有限公司", "certNo": "91110000000000000X", "certType": "正本"}),
        };
        Ok(OcrResponse { kind: kind.into(), recog_result: recog })
    }

    pub async fn face_login(&self) -> Result<FaceLoginResponse, ProviderError> {
        match self.gate("session.face-login", true).await? {
            Outcome::NoMatch => Err(ProviderError::new(Code::NotMatched, "未找到匹配的人 (模拟)")),
            _ => Ok(FaceLoginResponse {
                session_id: format!("s{}", crate::sign::nonce()),
                person_id: SIM_PERSON.into(),
                expires_at: crate::sign::now_s() + 600,
            }),
        }
    }

    pub async fn logout(&self) -> Result<LogoutResponse, ProviderError> {
        self.gate("session.logout", false).await?;
        Ok(LogoutResponse { ended: true })
    }

    /// The result a certification would have: `PASSED`, or `FAILED` for no-match / liveness.
    pub async fn certify(&self) -> Result<CertifyStatus, ProviderError> {
        let (status, error) = match self.gate("certify", false).await? {
            Outcome::NoMatch => ("FAILED", "USER_IS_NOT_CERTIFY"),
            Outcome::LivenessFailed => ("FAILED", "LIVENESS_FAILED"),
            _ => ("PASSED", ""),
        };
        Ok(CertifyStatus {
            certify_id: format!("sim{}", crate::sign::nonce()),
            status: status.into(),
            return_url: String::new(),
            error_code: error.into(),
            person_id: String::new(),
            score: 0.0,
        })
    }
}

/// Everything the contract offers (the reference provider may answer NOT_CONFIGURED for OCR).
pub const FEATURES: [&str; 9] = [
    "face.search",
    "face.verify",
    "face.enroll",
    "liveness",
    "ocr",
    "session.face-login",
    "session.logout",
    "certify",
    "certify.status",
];

pub const SIM_ID: &str = "provider";

/// The simulator panel's controls.
pub struct ProviderSim(pub std::sync::Arc<SimProvider>);

impl SimDevice for ProviderSim {
    fn id(&self) -> &'static str {
        SIM_ID
    }
    fn label(&self) -> &'static str {
        "身份提供方 (identity provider)"
    }
    fn actions(&self) -> Vec<Action> {
        Outcome::ALL.iter().map(|o| Action::new(o.as_str(), o.label(), vec![])).collect()
    }
    fn state(&self) -> Value {
        json!({
            "outcome": self.0.outcome().as_str(),
            "calls": *self.0.calls.lock().unwrap_or_else(|p| p.into_inner()),
        })
    }
    fn act(&self, action: &str, _args: &Map<String, Value>) -> Result<Value, SimError> {
        let o = Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == action)
            .ok_or_else(|| SimError::InvalidArgs(format!("unknown outcome {action}")))?;
        self.0.set_outcome(o);
        Ok(json!({"outcome": o.as_str()}))
    }
}
