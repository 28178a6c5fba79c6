//! `[provider]` in booth.toml.

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// `[provider]` as written in booth.toml (README → Identity provider).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderSection {
    /// `http` (a booth-provider/v1 server), `sim` (the simulator: no server) or `none`.
    pub backend: String,
    /// `https://…`, or `http://` to a loopback address.
    pub url: String,
    pub key_id: String,
    /// The shared secret (at least 32 characters). booth.toml must then be readable by Booth's
    /// user only.
    pub secret: String,
    /// Per attempt. The default covers the slowest endpoint (`/v1/ocr` of an ID card) of the
    /// reference provider on a busy two-core machine: p99 19.0 s release, up to 23.0 s debug
    /// (README "Booth's side: `[provider]`").
    pub timeout_ms: u64,
    /// Further attempts after a failed transfer, with the same Idempotency-Key.
    pub retries: u32,
    /// `device` (finLivenessCheck uses the terminal's own liveness) or `provider` (the provider
    /// confirms it through `/v1/liveness`).
    pub liveness: String,
}

impl std::fmt::Debug for ProviderSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSection")
            .field("backend", &self.backend)
            .field("url", &self.url)
            .field("key_id", &self.key_id)
            .field("secret", &if self.secret.is_empty() { "" } else { "<set>" })
            .finish_non_exhaustive()
    }
}

/// `[provider] timeout_ms` when booth.toml does not say (see [`ProviderSection::timeout_ms`]).
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;

impl Default for ProviderSection {
    fn default() -> Self {
        ProviderSection {
            backend: "none".into(),
            url: String::new(),
            key_id: String::new(),
            secret: String::new(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            retries: 2,
            liveness: "device".into(),
        }
    }
}

/// `[provider]` checked.
#[derive(Debug, Clone)]
pub enum ProviderConfig {
    None,
    Sim,
    Http { client: crate::client::ClientConfig, provider_liveness: bool },
}

impl ProviderConfig {
    pub fn provider_liveness(&self) -> bool {
        matches!(self, ProviderConfig::Http { provider_liveness: true, .. })
    }
}

impl ProviderSection {
    pub fn resolve(&self) -> Result<ProviderConfig, String> {
        let provider_liveness = match self.liveness.as_str() {
            "device" => false,
            "provider" => true,
            other => return Err(format!("[provider] liveness: unknown `{other}` (device or provider)")),
        };
        if !(500..=120_000).contains(&self.timeout_ms) {
            return Err(format!("[provider] timeout_ms: {} (500-120000)", self.timeout_ms));
        }
        if self.retries > 5 {
            return Err(format!("[provider] retries: {} (0-5)", self.retries));
        }
        match self.backend.as_str() {
            "none" => Ok(ProviderConfig::None),
            "sim" => Ok(ProviderConfig::Sim),
            "http" => {
                let url = crate::client::check_url(&self.url).map_err(|e| format!("[provider] url: {e}"))?;
                if self.key_id.trim().is_empty() {
                    return Err("[provider] key_id: required with backend = \"http\"".into());
                }
                if self.secret.len() < 32 {
                    return Err("[provider] secret: at least 32 characters (e.g. `openssl rand -hex 32`)".into());
                }
                Ok(ProviderConfig::Http {
                    client: crate::client::ClientConfig {
                        url,
                        key_id: self.key_id.trim().to_string(),
                        secret: self.secret.as_bytes().to_vec(),
                        timeout: Duration::from_millis(self.timeout_ms),
                        retries: self.retries,
                    },
                    provider_liveness,
                })
            }
            other => Err(format!("[provider] backend: unknown `{other}` (http, sim or none)")),
        }
    }

    /// Whether the section holds a secret (then the file must be private).
    pub fn has_secret(&self) -> bool {
        !self.secret.is_empty()
    }
}

/// Refuses a file that others than its owner may read or write (a booth.toml holding the
/// provider's secret, a key file). On Windows the file's ACL decides; Booth does not read it.
pub fn check_private(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "{}: holds a secret but others may read it (mode {mode:03o}); run `chmod 600 {}` as its owner",
                path.display(),
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_resolve_and_refuse() {
        assert!(matches!(ProviderSection::default().resolve(), Ok(ProviderConfig::None)));
        let ok = ProviderSection {
            backend: "http".into(),
            url: "http://127.0.0.1:9000/".into(),
            key_id: "T-1".into(),
            secret: "s".repeat(32),
            ..Default::default()
        };
        match ok.resolve() {
            Ok(ProviderConfig::Http { client, provider_liveness }) => {
                assert_eq!(client.url, "http://127.0.0.1:9000");
                assert!(!provider_liveness);
            }
            other => panic!("{other:?}"),
        }
        for (bad, says) in [
            (ProviderSection { secret: "short".into(), ..ok.clone() }, "secret"),
            (ProviderSection { url: "http://192.168.1.2".into(), ..ok.clone() }, "loopback"),
            (ProviderSection { key_id: "".into(), ..ok.clone() }, "key_id"),
            (ProviderSection { backend: "grpc".into(), ..ok.clone() }, "backend"),
            (ProviderSection { liveness: "cloud".into(), ..ok.clone() }, "liveness"),
        ] {
            let e = bad.resolve().unwrap_err();
            assert!(e.contains(says), "{e}");
        }
        assert!(!format!("{ok:?}").contains("ssss"), "the secret is never printed");
    }

    #[cfg(unix)]
    #[test]
    fn private_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("booth.toml");
        std::fs::write(&f, "").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(check_private(&f).unwrap_err().contains("chmod 600"));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(check_private(&f).is_ok());
    }
}
