//! `[face]` in booth.toml.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// `[face]` as written in booth.toml (see README → Face for every key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaceSection {
    /// `local` (this terminal's models and gallery), `provider` (this terminal's camera screen,
    /// models and liveness; search, verification and enrolment by the `[provider]`) or `none`
    /// (face calls answer UNSUPPORTED).
    pub engine: String,
    /// Where scripts/setup.sh put the models; default `<local data dir>/booth/face/models`.
    pub models_dir: String,
    /// The gallery's folder; default `<local data dir>/booth/face/gallery`.
    pub gallery_dir: String,
    /// The gallery key (made on first use, mode 0600, never inside gallery_dir); default
    /// `<config dir>/booth/face-gallery.key`.
    pub key_file: String,
    /// Hex, at least 32 bytes: signs auth codes. Empty: `authCode` is "".
    pub site_key: String,
    pub auth_code_ttl_s: u64,
    /// 1:N: the nearest enrolled face must be closer than this (L2) …
    pub match_threshold: f32,
    /// … and the nearest other person at least this much further.
    pub match_margin: f32,
    /// 1:1 against an ID photo.
    pub verify_threshold: f32,
    /// `turn` (head turns, in random order) or `none`.
    pub liveness: String,
    /// How many turns a challenge asks for (1–4).
    pub liveness_steps: u32,
    /// How long the face screen waits for a good capture, seconds.
    pub timeout_s: u64,
    /// Smallest face accepted, as the distance between the eyes in pixels.
    pub min_eye_px: f32,
    /// Keep the captured pictures (for debugging) in captures_dir; default off: every capture
    /// is dropped once the call is answered.
    pub keep_captures: bool,
    pub captures_dir: String,
    /// Shown on the enrolment (doStorageFaceInfo) consent screen.
    pub consent_text: String,
    /// The partition getFaceInfo searches when the page names none; empty: all.
    pub org_out_id: String,
    pub component_out_id: String,
}

pub const DEFAULT_CONSENT: &str = "为了在本机刷脸识别您的身份，本终端将保存您的人脸特征（加密存储，不保存照片）。您可以随时请工作人员删除。是否同意？";

impl Default for FaceSection {
    fn default() -> Self {
        FaceSection {
            engine: "local".into(),
            models_dir: String::new(),
            gallery_dir: String::new(),
            key_file: String::new(),
            site_key: String::new(),
            auth_code_ttl_s: 300,
            match_threshold: 0.45,
            match_margin: 0.06,
            verify_threshold: 0.5,
            liveness: "turn".into(),
            liveness_steps: 2,
            timeout_s: 20,
            min_eye_px: 28.0,
            keep_captures: false,
            captures_dir: String::new(),
            consent_text: DEFAULT_CONSENT.into(),
            org_out_id: String::new(),
            component_out_id: String::new(),
        }
    }
}

/// `[face]` checked, with every path resolved.
#[derive(Debug, Clone)]
pub struct FaceConfig {
    pub enabled: bool,
    /// `engine = "provider"`: the people are the provider's, not the local gallery's.
    pub via_provider: bool,
    pub models_dir: PathBuf,
    pub gallery_dir: PathBuf,
    pub key_file: PathBuf,
    pub site_key: Option<Vec<u8>>,
    pub auth_code_ttl: Duration,
    pub match_threshold: f32,
    pub match_margin: f32,
    pub verify_threshold: f32,
    pub liveness_steps: usize,
    pub timeout: Duration,
    pub min_eye_px: f32,
    pub captures_dir: Option<PathBuf>,
    pub consent_text: String,
    pub default_partition: Option<crate::gallery::Partition>,
    /// The terminal's serial number (auth codes carry it).
    pub sn: String,
    /// Whether the camera's frames are mirrored (decides which way is "left").
    pub mirrored: bool,
}

impl FaceSection {
    /// Checks the values; `data_dir` / `config_dir` are the platform's (`~/.local/share`,
    /// `~/.config`), for the defaults.
    pub fn resolve(
        &self,
        data_dir: &std::path::Path,
        config_dir: &std::path::Path,
        sn: &str,
    ) -> Result<FaceConfig, String> {
        let (enabled, via_provider) = match self.engine.as_str() {
            "local" => (true, false),
            "provider" => (true, true),
            "none" => (false, false),
            other => return Err(format!("[face] engine: unknown `{other}` (local, provider or none)")),
        };
        let path = |s: &str, default: PathBuf| if s.trim().is_empty() { default } else { PathBuf::from(s.trim()) };
        let base = data_dir.join("booth").join("face");
        let site_key = if self.site_key.trim().is_empty() {
            None
        } else {
            Some(crate::authcode::parse_key(&self.site_key).map_err(|e| format!("[face] {e}"))?)
        };
        for (name, v) in [
            ("match_threshold", self.match_threshold),
            ("verify_threshold", self.verify_threshold),
            ("match_margin", self.match_margin),
        ] {
            if !(0.0..=1.5).contains(&v) {
                return Err(format!("[face] {name}: {v} is out of range (0-1.5)"));
            }
        }
        let steps = match self.liveness.as_str() {
            "none" => 0,
            "turn" if (1..=4).contains(&self.liveness_steps) => self.liveness_steps as usize,
            "turn" => return Err(format!("[face] liveness_steps: {} (1-4)", self.liveness_steps)),
            other => return Err(format!("[face] liveness: unknown `{other}` (turn or none)")),
        };
        if !(5..=120).contains(&self.timeout_s) {
            return Err(format!("[face] timeout_s: {} (5-120)", self.timeout_s));
        }
        if !(30..=86_400).contains(&self.auth_code_ttl_s) {
            return Err(format!("[face] auth_code_ttl_s: {} (30-86400)", self.auth_code_ttl_s));
        }
        let default_partition = (!self.org_out_id.is_empty() || !self.component_out_id.is_empty())
            .then(|| crate::gallery::Partition::new(self.org_out_id.clone(), self.component_out_id.clone()));
        Ok(FaceConfig {
            enabled,
            via_provider,
            models_dir: path(&self.models_dir, base.join("models")),
            gallery_dir: path(&self.gallery_dir, base.join("gallery")),
            key_file: path(&self.key_file, config_dir.join("booth").join("face-gallery.key")),
            site_key,
            auth_code_ttl: Duration::from_secs(self.auth_code_ttl_s),
            match_threshold: self.match_threshold,
            match_margin: self.match_margin,
            verify_threshold: self.verify_threshold,
            liveness_steps: steps,
            timeout: Duration::from_secs(self.timeout_s),
            min_eye_px: self.min_eye_px,
            captures_dir: self.keep_captures.then(|| path(&self.captures_dir, base.join("captures"))),
            consent_text: self.consent_text.clone(),
            default_partition,
            sn: sn.to_string(),
            mirrored: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn defaults_resolve_and_bad_values_are_refused() {
        let c = FaceSection::default().resolve(Path::new("/d"), Path::new("/c"), "T1").unwrap();
        assert!(c.enabled && !c.via_provider);
        let p = FaceSection { engine: "provider".into(), ..Default::default() };
        assert!(p.resolve(Path::new("/d"), Path::new("/c"), "").unwrap().via_provider);
        assert_eq!(c.models_dir, Path::new("/d/booth/face/models"));
        assert_eq!(c.key_file, Path::new("/c/booth/face-gallery.key"));
        assert!(c.site_key.is_none() && c.captures_dir.is_none());
        assert_eq!(c.liveness_steps, 2);
        for bad in [
            FaceSection { engine: "cloud".into(), ..Default::default() },
            FaceSection { site_key: "12".into(), ..Default::default() },
            FaceSection { liveness: "blink".into(), ..Default::default() },
            FaceSection { liveness_steps: 9, ..Default::default() },
            FaceSection { match_threshold: 7.0, ..Default::default() },
            FaceSection { timeout_s: 1, ..Default::default() },
        ] {
            assert!(bad.resolve(Path::new("/d"), Path::new("/c"), "").is_err(), "{bad:?}");
        }
        let parsed: FaceSection = serde_json::from_value(serde_json::json!({"liveness": "none"})).unwrap();
        assert_eq!(parsed.resolve(Path::new("/d"), Path::new("/c"), "").unwrap().liveness_steps, 0);
        assert!(serde_json::from_value::<FaceSection>(serde_json::json!({"nope": 1})).is_err());
    }
}
