//! Booth's side of `booth-provider/v1`, the small signed HTTP contract through which an
//! operator's identity server (or an adapter to WeChat Pay, Alipay or Alibaba Cloud) answers
//! what a vendor SDK answers on the seed devices: 1:N face search, 1:1 verification, enrolment,
//! liveness, OCR, face-login sessions, real-person certification and payments (face, payment
//! code, query, cancel, refund; money in integer fen). The contract itself is
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

pub use client::{Client, ClientConfig, PayError, ProviderError};
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

    /// A fresh Idempotency-Key for a payment call: keep it with the attempt (the terminal's
    /// journal) before calling, and send it again to learn the first result.
    pub fn new_idempotency_key() -> String {
        sign::nonce()
    }

    fn pay_note<T>(&self, r: Result<T, PayError>) -> Result<T, PayError> {
        let state = match &r {
            Ok(_) => (true, "ok".to_string()),
            Err(PayError::Declined(e)) if e.code != Code::Unauthorized => (true, format!("last answer {}", e.code)),
            Err(e) => (false, e.error().message.clone()),
        };
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(state);
        r
    }

    async fn pay<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
        idem: &str,
    ) -> Result<T, PayError> {
        let r = match &self.backend {
            Backend::Http(c) => c.pay(path, body, idem).await,
            // The simulated payment outcomes belong to the payment simulator.
            Backend::Sim(_) => Err(PayError::Declined(ProviderError::new(
                Code::NotConfigured,
                "模拟提供方不支持支付 (simulated payments not set up)",
            ))),
        };
        self.pay_note(r)
    }

    /// `POST /v1/pay/face`: charges the person the face is. Declined: `NOT_MATCHED`,
    /// `LIVENESS_FAILED`, `NO_FACE`, `INSUFFICIENT_FUNDS`, `PAYMENT_FAILED`, `BAD_PARAM`.
    pub async fn pay_face(&self, req: &PayFaceRequest, idem: &str) -> Result<Payment, PayError> {
        check_amount(req.amount)?;
        check_trade_no("outTradeNo", &req.out_trade_no)?;
        let req = PayFaceRequest { require_face_code: false, ..req.clone() };
        self.pay("/v1/pay/face", &req, idem).await
    }

    /// `POST /v1/pay/face` with `requireFaceCode`: a one-time code for the person the face is,
    /// nothing charged. `amount` (0: not known yet) caps what the code may pay and
    /// `out_trade_no` (empty: any) binds it to one trade number.
    pub async fn face_code(&self, req: &PayFaceRequest, idem: &str) -> Result<FaceCode, PayError> {
        if req.amount != 0 {
            check_amount(req.amount)?;
        }
        if !req.out_trade_no.is_empty() {
            check_trade_no("outTradeNo", &req.out_trade_no)?;
        }
        let req = PayFaceRequest { require_face_code: true, ..req.clone() };
        self.pay("/v1/pay/face", &req, idem).await
    }

    /// `POST /v1/pay/code`: a member code or a face code. Declined: `PAYMENT_FAILED` (unknown,
    /// expired or used code; closed trade number), `INSUFFICIENT_FUNDS`, `BAD_PARAM`.
    pub async fn pay_code(&self, req: &PayCodeRequest, idem: &str) -> Result<Payment, PayError> {
        check_amount(req.amount)?;
        check_trade_no("outTradeNo", &req.out_trade_no)?;
        if req.code.trim().is_empty() || req.code.len() > 128 {
            return Err(bad("付款码为空或过长"));
        }
        self.pay("/v1/pay/code", req, idem).await
    }

    /// `POST /v1/pay/query` (a fresh Idempotency-Key: it changes nothing). Declined
    /// `NOT_FOUND`: no payment with that trade number has been made (one still travelling may
    /// yet arrive: cancel to rule it out); `PAYMENT_PENDING` (unknown): a face code not used yet.
    pub async fn pay_query(&self, req: &PayQueryRequest) -> Result<Payment, PayError> {
        if req.out_trade_no.is_empty() == req.face_code.is_empty() {
            return Err(bad("需要 outTradeNo 或 faceCode 之一"));
        }
        if !req.out_trade_no.is_empty() {
            check_trade_no("outTradeNo", &req.out_trade_no)?;
        }
        self.pay("/v1/pay/query", req, &Self::new_idempotency_key()).await
    }

    /// `POST /v1/pay/cancel`: after it, the trade number is `CLOSED` (nothing charged, nothing
    /// can be) or `REVOKED` (the charge returned in full).
    pub async fn pay_cancel(&self, req: &PayCancelRequest, idem: &str) -> Result<Payment, PayError> {
        check_trade_no("outTradeNo", &req.out_trade_no)?;
        self.pay("/v1/pay/cancel", req, idem).await
    }

    /// `POST /v1/pay/refund`: at most what is left of the charge, once per `out_refund_no`.
    pub async fn pay_refund(&self, req: &PayRefundRequest, idem: &str) -> Result<Refund, PayError> {
        check_amount(req.amount)?;
        check_trade_no("outTradeNo", &req.out_trade_no)?;
        check_trade_no("outRefundNo", &req.out_refund_no)?;
        self.pay("/v1/pay/refund", req, idem).await
    }
}

fn bad(message: &str) -> PayError {
    PayError::Declined(ProviderError::new(Code::BadParam, message))
}

/// An amount in fen a payment may have (the provider applies its own upper limit too).
fn check_amount(amount: i64) -> Result<(), PayError> {
    if amount <= 0 {
        return Err(bad("金额 (分) 应为正整数"));
    }
    Ok(())
}

fn check_trade_no(name: &str, v: &str) -> Result<(), PayError> {
    if !trade_no_ok(v) {
        return Err(bad(&format!("{name} 应为 1-64 个字母、数字、- 或 _")));
    }
    Ok(())
}
