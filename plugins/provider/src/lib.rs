//! Booth's side of `booth-provider/v1`, the small signed HTTP contract through which an
//! operator's identity server (or an adapter to WeChat Pay, Alipay or Alibaba Cloud) answers
//! what a vendor SDK answers on the seed devices: 1:N face search, 1:1 verification, enrolment,
//! liveness, OCR, face-login sessions and real-person certification. The contract itself is
//! `docs/provider-v1.yaml`.
//!
//! - [`sign`]: the HMAC-SHA256 signatures of requests and responses, the clock window and the
//!   nonce memory — shared with the reference provider (`services/provider`), which verifies
//!   with the same code Booth signs with (a fixed vector pins the format).
//! - [`wire`]: the bodies and the stable error codes.
//! - [`client`]: the HTTP client (retries under one Idempotency-Key, answers verified).
//! - [`config`]: `[provider]` in booth.toml.
//! - [`sim`]: a provider in-process for development (`backend = "sim"`).
//! - [`Provider`]: what the capability plugins call, whichever backend answers.
//!
//! Not for: the page-facing APIs (booth-identity, booth-face), or anything biometric in a log:
//! faces travel in request bodies only and are never logged.

pub mod client;
pub mod config;
pub mod sign;
pub mod sim;
pub mod wire;

pub use client::{Client, ClientConfig, ProviderError};
pub use config::{ProviderConfig, ProviderSection};
pub use wire::Code;

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use wire::*;

enum Backend {
    Http(Arc<Client>),
    Sim(Arc<sim::SimProvider>),
}

/// The configured provider, whichever backend answers. Cheap to share.
pub struct Provider {
    backend: Backend,
    /// The device liveness is confirmed by the provider (`[provider] liveness = "provider"`).
    provider_liveness: bool,
    /// The last call's outcome, for `/health` (never a body).
    last: Mutex<Option<(bool, String)>>,
}

impl Provider {
    /// `None` for `backend = "none"`.
    pub fn from_config(cfg: &ProviderConfig, observer: Option<client::Observer>) -> Option<Arc<Provider>> {
        let backend = match cfg {
            ProviderConfig::None => return None,
            ProviderConfig::Sim => Backend::Sim(Arc::default()),
            ProviderConfig::Http { client, .. } => {
                let mut c = Client::new(client.clone());
                if let Some(o) = observer {
                    c = c.with_observer(o);
                }
                Backend::Http(Arc::new(c))
            }
        };
        Some(Arc::new(Provider { backend, provider_liveness: cfg.provider_liveness(), last: Mutex::default() }))
    }

    /// The simulator's controls, for the simulated backend.
    pub fn sim(&self) -> Option<Arc<sim::SimProvider>> {
        match &self.backend {
            Backend::Sim(s) => Some(s.clone()),
            Backend::Http(_) => None,
        }
    }

    pub fn provider_liveness(&self) -> bool {
        self.provider_liveness
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Http(_) => "http",
            Backend::Sim(_) => "sim",
        }
    }

    fn note<T>(&self, r: Result<T, ProviderError>) -> Result<T, ProviderError> {
        let state = match &r {
            Ok(_) => (true, "ok".to_string()),
            // Reachable: the provider answered, with a refusal of its own.
            Err(e) if !matches!(e.code, Code::Network | Code::Timeout | Code::Unauthorized) => {
                (true, format!("last answer {}", e.code))
            }
            Err(e) => (false, e.message.clone()),
        };
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(state);
        r
    }

    /// For `/health` and `booth doctor`: backend, URL, key id and the last call's outcome.
    pub fn status(&self) -> Value {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let (url, key_id) = match &self.backend {
            Backend::Http(c) => (c.config().url.clone(), c.config().key_id.clone()),
            Backend::Sim(_) => (String::new(), String::new()),
        };
        json!({
            "backend": self.backend_name(),
            "available": last.as_ref().is_none_or(|(ok, _)| *ok),
            "detail": last.map(|(_, d)| d).unwrap_or_else(|| "尚未调用 (not called yet)".into()),
            "url": url,
            "keyId": key_id,
        })
    }

    /// `GET /v1/capabilities` with the provider's clock from the signed answer.
    pub async fn capabilities(&self) -> Result<(Capabilities, i64), ProviderError> {
        let r = match &self.backend {
            Backend::Http(c) => match c.exchange("GET", "/v1/capabilities", None).await {
                Ok(a) => serde_json::from_slice::<Capabilities>(&a.body)
                    .map(|caps| (caps, a.timestamp))
                    .map_err(|e| ProviderError::new(Code::VendorError, format!("提供方应答格式不符: {e}"))),
                Err(e) => Err(e),
            },
            Backend::Sim(s) => s.capabilities().await.map(|c| (c, sign::now_s())),
        };
        self.note(r)
    }

    pub async fn search(&self, req: &SearchRequest) -> Result<Identified, ProviderError> {
        let r = match &self.backend {
            Backend::Http(c) => c.post("/v1/face/search", req).await,
            Backend::Sim(s) => s.search().await,
        };
        self.note(r)
    }

    pub async fn verify(&self, req: &VerifyRequest) -> Result<VerifyResponse, ProviderError> {
        let r = match &self.backend {
            Backend::Http(c) => c.post("/v1/face/verify", req).await,
            Backend::Sim(s) => s.verify().await,
        };
        self.note(r)
    }

    pub async fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse, ProviderError> {
        let r = match &self.backend {
            Backend::Http(c) => c.post("/v1/face/enroll", req).await,
            Backend::Sim(s) => s.enroll().await,
        };
        self.note(r)
    }

    pub async fn liveness(&self, req: &LivenessRequest) -> Result<LivenessResponse, ProviderError> {
        let r = match &self.backend {
            Backend::Http(c) => c.post("/v1/liveness", req).await,
            Backend::Sim(s) => s.liveness().await,
        };
        self.note(r)
    }

    pub async fn ocr(&self, req: &OcrRequest) -> Result<OcrResponse, ProviderError> {
        let r = match &self.backend {
            Backend::Http(c) => c.post("/v1/ocr", req).await,
            Backend::Sim(s) => s.ocr(&req.kind).await,
        };
        self.note(r)
    }

    pub async fn face_login(&self, req: &FaceLoginRequest) -> Result<FaceLoginResponse, ProviderError> {
        let r = match &self.backend {
            Backend::Http(c) => c.post("/v1/session/face-login", req).await,
            Backend::Sim(s) => s.face_login().await,
        };
        self.note(r)
    }

    pub async fn logout(&self, req: &LogoutRequest) -> Result<LogoutResponse, ProviderError> {
        let r = match &self.backend {
            Backend::Http(c) => c.post("/v1/session/logout", req).await,
            Backend::Sim(s) => s.logout().await,
        };
        self.note(r)
    }

    pub async fn certify_start(&self, req: &CertifyStartRequest) -> Result<CertifyStartResponse, ProviderError> {
        let r = match &self.backend {
            Backend::Http(c) => c.post("/v1/certify/start", req).await,
            Backend::Sim(_) => Err(ProviderError::new(Code::NotConfigured, "模拟提供方没有认证页面")),
        };
        self.note(r)
    }

    /// `GET /v1/certify/{id}`; the simulator answers with its outcome.
    pub async fn certify_status(&self, id: &str) -> Result<CertifyStatus, ProviderError> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(ProviderError::new(Code::BadParam, "certifyId 只能含字母、数字、- 和 _"));
        }
        let r = match &self.backend {
            Backend::Http(c) => c.get(&format!("/v1/certify/{id}")).await,
            Backend::Sim(s) => s.certify().await.map(|mut st| {
                st.certify_id = id.to_string();
                st
            }),
        };
        self.note(r)
    }
}
