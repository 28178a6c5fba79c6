//! Booth's HTTP client of `booth-provider/v1`: signs every request, verifies every response
//! (signature, clock window, nonce not seen before, bound to this request's nonce), retries a
//! failed transfer with the same `Idempotency-Key`, and turns everything that goes wrong into a
//! [`ProviderError`] with one of the contract's codes.

use crate::sign::{self, NonceCache, ResponseParts, SignError};
use crate::wire::{Code, ErrorBody};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Largest answer read (an OCR result or a person list is far smaller).
const MAX_ANSWER: u64 = 8 * 1024 * 1024;

/// What went wrong, in the contract's words.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ProviderError {
    pub code: Code,
    pub message: String,
    pub sub_code: String,
    pub sub_message: String,
}

impl ProviderError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ProviderError { code, message: message.into(), sub_code: String::new(), sub_message: String::new() }
    }
}

/// One request and its answer, as the contract tests see them.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    pub request: Option<Value>,
    pub status: u16,
    pub response: Vec<u8>,
}

pub type Observer = Arc<dyn Fn(&Exchange) + Send + Sync>;

/// Where and who.
#[derive(Clone)]
pub struct ClientConfig {
    /// Base URL without a trailing slash: `https://id.example.com` (plain `http://` only to loopback).
    pub url: String,
    pub key_id: String,
    pub secret: Vec<u8>,
    /// Per attempt.
    pub timeout: Duration,
    /// Further attempts after a failed transfer (same Idempotency-Key).
    pub retries: u32,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is never printed.
        f.debug_struct("ClientConfig")
            .field("url", &self.url)
            .field("key_id", &self.key_id)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

pub struct Client {
    cfg: ClientConfig,
    agent: ureq::Agent,
    nonces: NonceCache,
    observer: Option<Observer>,
}

/// A successful, verified answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// The provider's clock from the signed answer (for `booth doctor`).
    pub timestamp: i64,
}

enum Attempt {
    Done(Answer),
    /// Worth another attempt with the same Idempotency-Key.
    Retry(ProviderError),
    Fail(ProviderError),
    /// An answer came but cannot be trusted (altered, replayed, for another request): the
    /// request may have been carried out.
    Untrusted(ProviderError),
}

/// A payment call that did not end in a verified success.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PayError {
    /// The provider answered with a final refusal: nothing was charged, refunded or cancelled
    /// by this request (`INSUFFICIENT_FUNDS`, `PAYMENT_FAILED`, `NOT_MATCHED`, `BAD_PARAM`, …).
    #[error("{0}")]
    Declined(ProviderError),
    /// The request may or may not have been carried out (the network failed after it was
    /// sent, the answer never came or could not be trusted, the payment is pending, the
    /// provider failed inside): ask `/v1/pay/query` with the trade number, or send the same
    /// request again with the same Idempotency-Key, which gets the first result.
    #[error("结果未知: {0}")]
    Unknown(ProviderError),
}

impl PayError {
    pub fn error(&self) -> &ProviderError {
        match self {
            PayError::Declined(e) | PayError::Unknown(e) => e,
        }
    }

    pub fn code(&self) -> Code {
        self.error().code
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, PayError::Unknown(_))
    }
}

/// Why a call failed, and whether the provider may have carried it out anyway.
struct Failure {
    error: ProviderError,
    maybe_done: bool,
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Client {
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::NativeTls)
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(cfg.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .tls_config(tls)
            .build()
            .into();
        Client { cfg, agent, nonces: NonceCache::default(), observer: None }
    }

    /// Sees every exchange (the contract tests validate them against docs/provider-v1.yaml).
    pub fn with_observer(mut self, observer: Observer) -> Client {
        self.observer = Some(observer);
        self
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// A GET (no Idempotency-Key), verified and decoded.
    pub async fn get<T: DeserializeOwned>(self: &Arc<Self>, path: &str) -> Result<T, ProviderError> {
        let a = self.exchange("GET", path, None).await?;
        decode(&a.body)
    }

    /// A POST with a fresh Idempotency-Key shared by its retries.
    pub async fn post<T: DeserializeOwned>(
        self: &Arc<Self>,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, ProviderError> {
        let value = serde_json::to_value(body).map_err(|e| ProviderError::new(Code::BadParam, e.to_string()))?;
        let a = self.exchange("POST", path, Some(value)).await?;
        decode(&a.body)
    }

    /// A payment POST under the caller's Idempotency-Key (kept in the terminal's journal before
    /// the call, so that a retry after a restart gets the first result), its outcome sorted
    /// into declined (nothing happened) and unknown (query before telling anyone).
    pub async fn pay<T: DeserializeOwned>(
        self: &Arc<Self>,
        path: &str,
        body: &impl serde::Serialize,
        idem: &str,
    ) -> Result<T, PayError> {
        if idem.is_empty() || idem.len() > 128 || !idem.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(PayError::Declined(ProviderError::new(
                Code::BadParam,
                "Idempotency-Key 应为 1-128 个可见字符",
            )));
        }
        let value = serde_json::to_value(body)
            .map_err(|e| PayError::Declined(ProviderError::new(Code::BadParam, e.to_string())))?;
        match self.exchange_keyed("POST", path, Some(value), idem).await {
            Ok(a) => serde_json::from_slice(&a.body).map_err(|e| {
                // A success we cannot read: it may well have charged.
                PayError::Unknown(ProviderError::new(Code::VendorError, format!("提供方应答格式不符: {e}")))
            }),
            Err(f) if f.maybe_done => Err(PayError::Unknown(f.error)),
            Err(f) => match f.error.code {
                Code::Network | Code::Timeout | Code::PaymentPending | Code::VendorError => {
                    Err(PayError::Unknown(f.error))
                }
                _ => Err(PayError::Declined(f.error)),
            },
        }
    }

    /// One call with its retries; the answer verified.
    pub async fn exchange(
        self: &Arc<Self>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Answer, ProviderError> {
        let idem = if method == "GET" { String::new() } else { sign::nonce() };
        self.exchange_keyed(method, path, body, &idem).await.map_err(|f| f.error)
    }

    async fn exchange_keyed(
        self: &Arc<Self>,
        method: &str,
        path: &str,
        body: Option<Value>,
        idem: &str,
    ) -> Result<Answer, Failure> {
        let idem = idem.to_string();
        let bytes = body.as_ref().map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let mut last = ProviderError::new(Code::Network, "no attempt");
        for attempt in 0..=self.cfg.retries {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << (attempt - 1).min(4))).await;
                tracing::info!(path, attempt, code = %last.code, "provider: trying again with the same idempotency key");
            }
            let me = self.clone();
            let (m, p, i, b, v) = (method.to_string(), path.to_string(), idem.clone(), bytes.clone(), body.clone());
            let outcome =
                tokio::task::spawn_blocking(move || me.attempt(&m, &p, &i, &b, v)).await.unwrap_or_else(|e| {
                    Attempt::Untrusted(ProviderError::new(Code::VendorError, format!("internal: {e}")))
                });
            match outcome {
                Attempt::Done(a) => return Ok(a),
                Attempt::Fail(error) => return Err(Failure { error, maybe_done: false }),
                Attempt::Untrusted(error) => return Err(Failure { error, maybe_done: true }),
                Attempt::Retry(e) => last = e,
            }
        }
        // Every attempt failed in transfer: any of them may have reached the provider.
        Err(Failure { error: last, maybe_done: true })
    }

    fn attempt(&self, method: &str, path: &str, idem: &str, body: &[u8], value: Option<Value>) -> Attempt {
        let url = format!("{}{path}", self.cfg.url);
        let ts = sign::now_s();
        let nonce = sign::nonce();
        let signed = sign::request_string(method, path, ts, &nonce, idem, body);
        let signature = sign::sign(&self.cfg.secret, &signed);
        let result = if method == "GET" {
            self.agent
                .get(&url)
                .header(sign::KEY_ID, &self.cfg.key_id)
                .header(sign::TIMESTAMP, ts.to_string())
                .header(sign::NONCE, &nonce)
                .header(sign::SIGNATURE, &signature)
                .call()
        } else {
            self.agent
                .post(&url)
                .header("content-type", "application/json")
                .header(sign::KEY_ID, &self.cfg.key_id)
                .header(sign::TIMESTAMP, ts.to_string())
                .header(sign::NONCE, &nonce)
                .header(sign::IDEMPOTENCY_KEY, idem)
                .header(sign::SIGNATURE, &signature)
                .send(body)
        };
        let mut response = match result {
            Ok(r) => r,
            Err(ureq::Error::Timeout(_)) => {
                return Attempt::Retry(ProviderError::new(Code::Timeout, format!("提供方 {} 超时", self.cfg.url)))
            }
            Err(e) => {
                return Attempt::Retry(ProviderError::new(
                    Code::Network,
                    format!("无法连接提供方 {}: {e}", self.cfg.url),
                ))
            }
        };
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (rts, rnonce, rsig) = (header(sign::TIMESTAMP), header(sign::NONCE), header(sign::SIGNATURE));
        let bytes = match response.body_mut().with_config().limit(MAX_ANSWER).read_to_vec() {
            Ok(b) => b,
            Err(ureq::Error::Timeout(_)) => {
                return Attempt::Retry(ProviderError::new(Code::Timeout, format!("提供方 {} 超时", self.cfg.url)))
            }
            Err(e) => return Attempt::Retry(ProviderError::new(Code::Network, format!("读取应答失败: {e}"))),
        };
        if let Some(o) = &self.observer {
            o(&Exchange { method: method.into(), path: path.into(), request: value, status, response: bytes.clone() });
        }
        // Every answer must be the provider's own, for this request, now, once.
        let verified = (|| -> Result<i64, SignError> {
            let rts: i64 = rts
                .ok_or(SignError::Missing(sign::TIMESTAMP))?
                .parse()
                .map_err(|_| SignError::Malformed(sign::TIMESTAMP))?;
            let rnonce = rnonce.ok_or(SignError::Missing(sign::NONCE))?;
            let rsig = rsig.ok_or(SignError::Missing(sign::SIGNATURE))?;
            let parts = ResponseParts {
                status,
                method,
                path,
                ts: rts,
                nonce: &rnonce,
                request_nonce: &nonce,
                idem,
                body: &bytes,
            };
            sign::verify(&self.cfg.secret, &sign::response_string(&parts), &rsig)?;
            sign::check_window(rts, sign::now_s())?;
            self.nonces.remember(&rnonce, sign::now_s())?;
            Ok(rts)
        })();
        let timestamp = match verified {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(path, status, error = %e, "provider: answer refused");
                // A gateway in front of a stopped provider answers unsigned 5xx: that is the network.
                if status >= 500 && matches!(e, SignError::Missing(_)) {
                    return Attempt::Retry(ProviderError::new(Code::Network, format!("提供方不可用 (HTTP {status})")));
                }
                // The provider refused our signature (key, clock, nonce): its unsigned reason is
                // shown as its claim, nothing more.
                if status == 401 && matches!(e, SignError::Missing(_)) {
                    let why = serde_json::from_slice::<ErrorBody>(&bytes).map(|b| b.error.message).unwrap_or_default();
                    return Attempt::Fail(ProviderError::new(Code::Unauthorized, format!("提供方拒绝了请求: {why}")));
                }
                return Attempt::Untrusted(ProviderError::new(
                    Code::Unauthorized,
                    format!("提供方的应答未通过校验: {e}"),
                ));
            }
        };
        if (200..300).contains(&status) {
            return Attempt::Done(Answer { status, body: bytes, timestamp });
        }
        let err = match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(b) => ProviderError {
                code: b.error.code,
                message: b.error.message,
                sub_code: b.error.sub_code,
                sub_message: b.error.sub_message,
            },
            Err(_) => ProviderError::new(Code::VendorError, format!("提供方应答 HTTP {status}")),
        };
        // PAYMENT_PENDING: the first request with this key is still being worked on.
        if matches!(status, 503 | 504) || matches!(err.code, Code::Timeout | Code::PaymentPending) {
            Attempt::Retry(err)
        } else {
            Attempt::Fail(err)
        }
    }
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ProviderError> {
    serde_json::from_slice(body).map_err(|e| ProviderError::new(Code::VendorError, format!("提供方应答格式不符: {e}")))
}

/// `url` may be `https://…`, or `http://` to a loopback address only.
pub fn check_url(url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("`{url}` is not an http(s) URL"))?;
    let host_port = rest.split('/').next().unwrap_or("");
    if rest.contains('/') {
        return Err(format!("`{url}`: give the base URL only (no path)"));
    }
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.rsplit_once(':').map_or(host_port, |(h, _)| h),
    };
    if host.is_empty() {
        return Err(format!("`{url}`: no host"));
    }
    match scheme {
        "https" => Ok(url.to_string()),
        "http" if is_loopback(host) => Ok(url.to_string()),
        "http" => Err(format!("`{url}`: plain http is only allowed to a loopback address; use https")),
        other => Err(format!("`{url}`: unknown scheme `{other}` (https)")),
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(check_url("https://id.example.com/").unwrap(), "https://id.example.com");
        assert!(check_url("http://127.0.0.1:8080").is_ok());
        assert!(check_url("http://[::1]:8080").is_ok());
        assert!(check_url("http://localhost:1").is_ok());
        assert!(check_url("http://10.0.0.5:8080").unwrap_err().contains("loopback"));
        assert!(check_url("http://127.0.0.1:8080/v1").unwrap_err().contains("base URL"));
        assert!(check_url("ftp://x").is_err());
    }
}
