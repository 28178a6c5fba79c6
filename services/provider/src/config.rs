//! The reference provider's configuration file (`booth-provider.toml`, see the README's
//! "Reference provider" section). It holds the terminals' shared secrets, so it must be
//! readable by the provider's user only.

use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Plain HTTP; put it behind a TLS proxy unless it listens on loopback (Booth refuses plain
    /// HTTP to anything else).
    pub listen: SocketAddr,
    pub database: PathBuf,
    /// The template key (32 bytes, made on first use, mode 0600): keep it outside the
    /// database's backups.
    pub key_file: PathBuf,
    /// Booth's face models (`scripts/setup.sh face`), for photos (`person add --photo`, 1:1
    /// against a photo), and the card OCR models next to them; empty: photos and OCR answer
    /// NOT_CONFIGURED.
    pub models_dir: Option<PathBuf>,
    /// 1:N: the nearest template must be closer than this (L2) …
    pub match_threshold: f32,
    /// … and the nearest other person at least this much further.
    pub match_margin: f32,
    /// 1:1 (against an ID number's templates or a photo).
    pub verify_threshold: f32,
    pub session_ttl_s: i64,
    /// How long a certification (`/v1/certify/start`) may take before it ends as `FAILED`
    /// `TIMEOUT` (seconds, 2-3600); its result stays readable for a day after that.
    pub certify_ttl_s: i64,
    /// The base URL terminals and certification pages reach this provider at (behind a TLS
    /// proxy: its `https://` address); empty: `http://<listen>`.
    pub public_url: Option<String>,
    /// Terminals: key id → shared secret (at least 32 characters).
    pub clients: HashMap<String, String>,
    /// The most one payment may be, fen (more is BAD_PARAM).
    pub pay_limit_fen: i64,
    /// How long a face code (`requireFaceCode`) may be paid with.
    pub face_code_ttl_s: i64,
    /// The report's days are taken this many minutes east of UTC (480: China Standard Time).
    pub utc_offset_minutes: i32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8765)),
            database: PathBuf::from("/var/lib/booth-provider/provider.db"),
            key_file: PathBuf::from("/etc/booth-provider/templates.key"),
            models_dir: None,
            match_threshold: 0.45,
            match_margin: 0.06,
            verify_threshold: 0.5,
            session_ttl_s: 600,
            certify_ttl_s: crate::certify::LIFETIME_S,
            public_url: None,
            clients: HashMap::new(),
            pay_limit_fen: 1_000_000,
            face_code_ttl_s: 120,
            utc_offset_minutes: 480,
        }
    }
}

impl Settings {
    pub fn check(&self) -> Result<(), String> {
        if self.clients.is_empty() {
            return Err("[clients]: no terminal may call (add `<key id> = \"<secret>\"`)".into());
        }
        for (id, secret) in &self.clients {
            if secret.len() < 32 {
                return Err(format!("[clients] {id}: the secret needs at least 32 characters"));
            }
        }
        for (name, v) in [
            ("match_threshold", self.match_threshold),
            ("match_margin", self.match_margin),
            ("verify_threshold", self.verify_threshold),
        ] {
            if !(0.0..=1.5).contains(&v) {
                return Err(format!("{name}: {v} is out of range (0-1.5)"));
            }
        }
        if !(30..=86_400).contains(&self.session_ttl_s) {
            return Err(format!("session_ttl_s: {} (30-86400)", self.session_ttl_s));
        }
        if !(1..=100_000_000_000).contains(&self.pay_limit_fen) {
            return Err(format!("pay_limit_fen: {} (1-100000000000)", self.pay_limit_fen));
        }
        if !(10..=3600).contains(&self.face_code_ttl_s) {
            return Err(format!("face_code_ttl_s: {} (10-3600)", self.face_code_ttl_s));
        }
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            return Err(format!("utc_offset_minutes: {} (-720-840)", self.utc_offset_minutes));
        }
        if !(2..=3600).contains(&self.certify_ttl_s) {
            return Err(format!("certify_ttl_s: {} (2-3600)", self.certify_ttl_s));
        }
        if let Some(u) = &self.public_url {
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(format!("public_url: `{u}` must be an http(s) URL"));
            }
        }
        Ok(())
    }

    /// Reads and checks the file, refusing one that others may read.
    pub fn load(path: &Path) -> Result<Settings, String> {
        booth_provider_client::config::check_private(path)?;
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let s: Settings = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        s.check().map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(s)
    }
}
