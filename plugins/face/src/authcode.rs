//! The auth code a successful recognition carries (`extInfo.authCode`): short-lived,
//! single-use, signed with the site's key from booth.toml, so that the site's own server can
//! trust which enrolled person stood at which terminal — the role Alipay's
//! `alipay.system.oauth.token` exchange plays for its codes.
//!
//! Format: `b1.<payload>.<signature>`, both parts base64url without padding;
//! `payload` is JSON `{"uid", "ft", "sn", "iat", "exp", "jti"}` (person id, recognition id
//! (`ftoken`), terminal serial number, issued and expiry times in Unix seconds, a random
//! one-time id); `signature` is HMAC-SHA256 over `b1.<payload>` with the site key.
//! A server accepts a code when the signature matches, `exp` has not passed and it has not seen
//! `jti` before (it remembers each `jti` until its `exp`). README → Face has a verifier.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const PREFIX: &str = "b1.";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub uid: String,
    pub ft: String,
    pub sn: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthCodeError {
    #[error("malformed auth code")]
    Malformed,
    #[error("bad signature")]
    BadSignature,
    #[error("expired")]
    Expired,
    #[error("already used")]
    Replayed,
}

/// A site key from booth.toml: hex, at least 32 bytes (64 hex digits).
pub fn parse_key(hex: &str) -> Result<Vec<u8>, String> {
    let hex = hex.trim();
    if hex.len() < 64 || !hex.len().is_multiple_of(2) {
        return Err("site_key: at least 64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`".into());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| "site_key: not hex".to_string()))
        .collect()
}

fn mac(key: &[u8], data: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    let mut m =
        <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    m.update(data.as_bytes());
    m
}

/// Signs a code for `claims`.
pub fn issue(key: &[u8], claims: &Claims) -> String {
    let payload = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signed = format!("{PREFIX}{payload}");
    let sig = B64.encode(mac(key, &signed).finalize().into_bytes());
    format!("{signed}.{sig}")
}

/// Checks a code as a site's server would. `first_use(jti, exp)` must return `true` the first
/// time it sees a `jti` and remember it until `exp`.
pub fn verify(
    key: &[u8],
    code: &str,
    now: u64,
    first_use: impl FnOnce(&str, u64) -> bool,
) -> Result<Claims, AuthCodeError> {
    let rest = code.strip_prefix(PREFIX).ok_or(AuthCodeError::Malformed)?;
    let (payload, sig) = rest.split_once('.').ok_or(AuthCodeError::Malformed)?;
    let sig = B64.decode(sig).map_err(|_| AuthCodeError::Malformed)?;
    mac(key, &format!("{PREFIX}{payload}")).verify_slice(&sig).map_err(|_| AuthCodeError::BadSignature)?;
    let claims: Claims = serde_json::from_slice(&B64.decode(payload).map_err(|_| AuthCodeError::Malformed)?)
        .map_err(|_| AuthCodeError::Malformed)?;
    if now >= claims.exp {
        return Err(AuthCodeError::Expired);
    }
    if !first_use(&claims.jti, claims.exp) {
        return Err(AuthCodeError::Replayed);
    }
    Ok(claims)
}

/// A random id: `prefix` + 32 hex digits.
pub fn random_id(prefix: &str) -> String {
    let mut b = [0u8; 16];
    // Without randomness an id could repeat; the clock keeps it unique enough for an id that
    // is not a secret (the auth code's signature is what protects it).
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        b = t.to_le_bytes();
    }
    format!("{prefix}{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn issue_verify_expiry_replay_and_tampering() {
        let key = parse_key(&"ab".repeat(32)).unwrap();
        let claims = Claims {
            uid: "2088000000000001".into(),
            ft: "fp0".into(),
            sn: "T-0001".into(),
            iat: 1000,
            exp: 1300,
            jti: random_id(""),
        };
        let code = issue(&key, &claims);
        let mut seen = HashSet::new();
        assert_eq!(verify(&key, &code, 1100, |j, _| seen.insert(j.to_string())).unwrap(), claims);
        assert_eq!(verify(&key, &code, 1100, |j, _| seen.insert(j.to_string())), Err(AuthCodeError::Replayed));
        assert_eq!(verify(&key, &code, 1300, |_, _| true), Err(AuthCodeError::Expired));
        let other = parse_key(&"cd".repeat(32)).unwrap();
        assert_eq!(verify(&other, &code, 1100, |_, _| true), Err(AuthCodeError::BadSignature));
        let mut tampered = code.clone();
        tampered.insert(5, 'A');
        assert!(verify(&key, &tampered, 1100, |_, _| true).is_err());
        assert_eq!(verify(&key, "hello", 0, |_, _| true), Err(AuthCodeError::Malformed));
        assert!(parse_key("abcd").is_err());
        assert!(parse_key(&"zz".repeat(32)).is_err());
    }
}
