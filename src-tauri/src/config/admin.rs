//! booth.toml `[admin]`: the admin PIN's Argon2id hash (a PHC string written by `booth pin`) and
//! the lock-out policy, plus where the PIN pad keeps its attempt count. Hashing and checking
//! PINs is the kiosk room's (`kiosk::pin`).

use argon2::password_hash::PasswordHash;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `[admin]` in booth.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSection {
    /// Argon2id hash of the admin PIN (a PHC string written by `booth pin`); none: no admin access.
    pub pin_hash: Option<String>,
    /// Wrong PINs allowed before the PIN pad locks.
    pub free_attempts: u32,
    /// The first lockout, in seconds; each further wrong PIN doubles it, up to 15 minutes.
    pub lockout_s: u64,
}

impl Default for AdminSection {
    fn default() -> Self {
        AdminSection { pin_hash: None, free_attempts: 3, lockout_s: 30 }
    }
}

/// The booth.toml key that holds the hash.
pub const PIN_HASH_KEY: &str = "admin.pin_hash";

impl AdminSection {
    /// For `Config::parse`: a hash that is present must be an Argon2 PHC string.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=10).contains(&self.free_attempts) {
            return Err("admin.free_attempts: must be 1 to 10".into());
        }
        if !(1..=900).contains(&self.lockout_s) {
            return Err("admin.lockout_s: must be 1 to 900".into());
        }
        match &self.pin_hash {
            None => Ok(()),
            Some(h) => validate_hash(h).map_err(|e| format!("admin.pin_hash: {e} (set it with `booth pin`)")),
        }
    }
}

/// A stored hash must be an Argon2 PHC string (`$argon2id$v=19$m=…`) with usable parameters
/// (checked without hashing, so loading booth.toml stays fast).
pub fn validate_hash(phc: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(phc).map_err(|e| format!("not a PHC hash string ({e})"))?;
    argon2::Algorithm::try_from(parsed.algorithm)
        .map_err(|_| format!("`{}` is not an Argon2 hash", parsed.algorithm))?;
    argon2::Params::try_from(&parsed).map_err(|e| format!("unusable Argon2 parameters ({e})"))?;
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err("the hash has no salt or no output".into());
    }
    Ok(())
}

/// Where the attempt count of the booth.toml at `config` lives: `admin-pin-state.json` next to
/// it (so a restart does not end a lock-out), else [`default_state_path`], else the temp folder.
pub fn state_path_for(config: Option<&Path>) -> PathBuf {
    config
        .and_then(|p| p.parent().map(|d| d.join("admin-pin-state.json")))
        .or_else(default_state_path)
        .unwrap_or_else(|| std::env::temp_dir().join("booth-admin-pin-state.json"))
}

/// `<local data dir>/booth/admin-pin.json` (`~/.local/share/booth`, `%LOCALAPPDATA%\booth`).
pub fn default_state_path() -> Option<PathBuf> {
    dirs::data_local_dir().map(|d| d.join("booth").join("admin-pin.json"))
}
