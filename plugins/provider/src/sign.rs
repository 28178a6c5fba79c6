//! Signatures of `booth-provider/v1`, the same on both sides.
//!
//! A request carries `X-Booth-Key-Id`, `X-Booth-Timestamp` (Unix seconds), `X-Booth-Nonce`
//! (random, 16–64 characters of `[A-Za-z0-9_-]`), `Idempotency-Key` (empty for reads) and
//! `X-Booth-Signature: v1=<hex HMAC-SHA256>` over
//!
//! ```text
//! booth-provider/v1 request\n
//! POST\n
//! /v1/face/search\n
//! 1764750000\n
//! <nonce>\n
//! <Idempotency-Key>\n
//! <hex SHA-256 of the body>
//! ```
//!
//! A response carries its own timestamp, nonce and signature over
//! `booth-provider/v1 response`, the status code, the request's method and path, the response's
//! timestamp and nonce, **the request's nonce**, the request's `Idempotency-Key` and the
//! response body's SHA-256. Binding the request's nonce makes a recorded response useless for
//! any other request; the receiver also refuses a timestamp more than [`WINDOW_S`] away from
//! its clock and a nonce it has seen in the last [`NONCE_TTL_S`].

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

pub const KEY_ID: &str = "x-booth-key-id";
pub const TIMESTAMP: &str = "x-booth-timestamp";
pub const NONCE: &str = "x-booth-nonce";
pub const SIGNATURE: &str = "x-booth-signature";
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Clock difference either way that is still accepted, seconds.
pub const WINDOW_S: i64 = 300;
/// How long a nonce is remembered, seconds (twice the window, so a nonce cannot come back
/// inside it).
pub const NONCE_TTL_S: i64 = 600;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("missing header {0}")]
    Missing(&'static str),
    #[error("malformed header {0}")]
    Malformed(&'static str),
    #[error("clock skew of {0} s is outside ±{WINDOW_S} s")]
    Skew(i64),
    #[error("nonce already used")]
    Replayed,
    #[error("signature does not match")]
    BadSignature,
    #[error("unknown key id")]
    UnknownKey,
}

/// Hex SHA-256 of a body (the empty body has one too).
pub fn body_sha256(body: &[u8]) -> String {
    hex(&Sha256::digest(body))
}

pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The string a request's signature covers.
pub fn request_string(method: &str, path: &str, ts: i64, nonce: &str, idem: &str, body: &[u8]) -> String {
    format!(
        "booth-provider/v1 request\n{}\n{path}\n{ts}\n{nonce}\n{idem}\n{}",
        method.to_ascii_uppercase(),
        body_sha256(body)
    )
}

/// The parts of a response's signed string.
pub struct ResponseParts<'a> {
    pub status: u16,
    pub method: &'a str,
    pub path: &'a str,
    pub ts: i64,
    pub nonce: &'a str,
    pub request_nonce: &'a str,
    pub idem: &'a str,
    pub body: &'a [u8],
}

/// The string a response's signature covers.
pub fn response_string(p: &ResponseParts<'_>) -> String {
    format!(
        "booth-provider/v1 response\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
        p.status,
        p.method.to_ascii_uppercase(),
        p.path,
        p.ts,
        p.nonce,
        p.request_nonce,
        p.idem,
        body_sha256(p.body)
    )
}

fn mac(secret: &[u8], data: &str) -> Hmac<Sha256> {
    let mut m =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    m.update(data.as_bytes());
    m
}

/// `v1=<hex>` for the signed string.
pub fn sign(secret: &[u8], signed: &str) -> String {
    format!("v1={}", hex(&mac(secret, signed).finalize().into_bytes()))
}

/// Checks a `v1=<hex>` signature in constant time.
pub fn verify(secret: &[u8], signed: &str, signature: &str) -> Result<(), SignError> {
    let hexsig = signature.trim().strip_prefix("v1=").ok_or(SignError::Malformed("x-booth-signature"))?;
    let bytes = unhex(hexsig).ok_or(SignError::Malformed("x-booth-signature"))?;
    mac(secret, signed).verify_slice(&bytes).map_err(|_| SignError::BadSignature)
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// A fresh nonce: 128 random bits as 32 hex digits.
pub fn nonce() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // Without the OS's randomness a clock-based value still differs per call; the HMAC,
        // not the nonce, is what cannot be forged.
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        b = t.to_le_bytes();
    }
    hex(&b)
}

/// Whether a nonce has an acceptable shape.
pub fn nonce_ok(n: &str) -> bool {
    (16..=64).contains(&n.len()) && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

pub fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `Err(Skew)` when `ts` is more than [`WINDOW_S`] from `now`.
pub fn check_window(ts: i64, now: i64) -> Result<(), SignError> {
    let skew = ts - now;
    if skew.abs() > WINDOW_S {
        return Err(SignError::Skew(skew));
    }
    Ok(())
}

/// Nonces seen in the last [`NONCE_TTL_S`] seconds.
#[derive(Default)]
pub struct NonceCache {
    seen: Mutex<HashMap<String, i64>>,
}

impl NonceCache {
    /// Remembers `nonce`; `Err(Replayed)` if it was seen already.
    pub fn remember(&self, nonce: &str, now: i64) -> Result<(), SignError> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 4096 {
            seen.retain(|_, at| now - *at < NONCE_TTL_S);
        }
        match seen.get(nonce) {
            Some(at) if now - *at < NONCE_TTL_S => Err(SignError::Replayed),
            _ => {
                seen.insert(nonce.to_string(), now);
                Ok(())
            }
        }
    }

    pub fn len(&self) -> usize {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_vector() {
        // Computed independently with
        // printf 'booth-provider/v1 request\nPOST\n/v1/face/search\n1764750000\n0123456789abcdef0123456789abcdef\nidem-1\n%s' \
        //   "$(printf '{}' | sha256sum | cut -d' ' -f1)" | openssl dgst -sha256 -hmac 'secret-secret-secret-secret-1234'
        let s = request_string(
            "post",
            "/v1/face/search",
            1_764_750_000,
            "0123456789abcdef0123456789abcdef",
            "idem-1",
            b"{}",
        );
        assert!(s.ends_with("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"), "{s}");
        let sig = sign(b"secret-secret-secret-secret-1234", &s);
        assert_eq!(sig, format!("v1={}", include_str!("../tests/vector.txt").trim()));
        assert!(verify(b"secret-secret-secret-secret-1234", &s, &sig).is_ok());
        assert_eq!(verify(b"other", &s, &sig), Err(SignError::BadSignature));
        assert_eq!(verify(b"x", &s, "v2=00"), Err(SignError::Malformed("x-booth-signature")));
    }

    #[test]
    fn window_and_nonces() {
        assert!(check_window(1000, 1300).is_ok());
        assert_eq!(check_window(1000, 1301), Err(SignError::Skew(-301)));
        let c = NonceCache::default();
        assert!(c.remember("n1", 0).is_ok());
        assert_eq!(c.remember("n1", 599), Err(SignError::Replayed));
        assert!(c.remember("n1", 600).is_ok());
        assert!(nonce_ok(&nonce()));
        assert!(!nonce_ok("short") && !nonce_ok("has space in it.........."));
    }
}
