//! `[fleet]` in booth.toml: the broker, this terminal's identity and credentials, the topic
//! prefix, and the keys package updates must be signed with.

use crate::topics::valid_id;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// `[fleet]` as written in booth.toml (README → Fleets has every key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetSection {
    /// `mqtts://host:8883` (TLS) or, with `allow_insecure`, `mqtt://host:1883`. Empty: no agent.
    pub broker: String,
    /// This terminal's id in topics; default: `[terminal] sn`, else the machine's serial number.
    pub terminal_id: String,
    /// Topics start with this (`booth/v1`).
    pub topic_prefix: String,
    /// Broker user name; default: the terminal id (what a per-terminal ACL `pattern … %u` needs).
    pub username: String,
    pub password: String,
    /// A file holding the password (its first line), instead of `password`.
    pub password_file: String,
    /// PEM certificate(s) of the authority that signed the broker's (and upload servers')
    /// certificates; empty: the system's roots.
    pub ca_file: String,
    /// PEM client certificate and its PKCS#8 PEM key, for brokers that authenticate terminals
    /// by certificate (`require_certificate`, `use_identity_as_username`).
    pub client_cert: String,
    pub client_key: String,
    /// PEM authority for upload and package URLs instead of the system's roots (a site's own
    /// storage server).
    pub http_ca_file: String,
    /// Allows `mqtt://` without TLS and `http://` upload and package URLs: a lab only.
    pub allow_insecure: bool,
    /// Telemetry every this many seconds (retained).
    pub telemetry_s: u64,
    pub keepalive_s: u64,
    /// Largest command or shadow message taken from the broker, in bytes.
    pub max_payload_bytes: usize,
    /// Minisign public keys (the base64 line of a `.pub` file) packages must be signed with;
    /// two for a key rotation. Empty: `install-package` is refused.
    pub update_keys: Vec<String>,
    /// Minisign public keys commands must be signed with (two for a rotation). Empty: commands
    /// are trusted as the broker's ACL lets them through.
    pub command_keys: Vec<String>,
    /// Where updates are staged and kept; default `<local data dir>/booth/packages`.
    pub packages_dir: String,
    /// The version of the last desired settings document applied (written by Booth itself,
    /// together with those settings).
    pub shadow_version: u64,
}

impl Default for FleetSection {
    fn default() -> Self {
        FleetSection {
            broker: String::new(),
            terminal_id: String::new(),
            topic_prefix: crate::topics::DEFAULT_PREFIX.into(),
            username: String::new(),
            password: String::new(),
            password_file: String::new(),
            ca_file: String::new(),
            client_cert: String::new(),
            client_key: String::new(),
            http_ca_file: String::new(),
            allow_insecure: false,
            telemetry_s: 30,
            keepalive_s: 30,
            max_payload_bytes: 64 * 1024,
            update_keys: Vec::new(),
            command_keys: Vec::new(),
            packages_dir: String::new(),
            shadow_version: 0,
        }
    }
}

/// The broker's address, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl Broker {
    pub fn parse(url: &str, allow_insecure: bool) -> Result<Broker, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("fleet.broker: `{url}` is not a URL ({e})"))?;
        let tls = match parsed.scheme() {
            "mqtts" | "ssl" | "tls" => true,
            "mqtt" | "tcp" if allow_insecure => false,
            "mqtt" | "tcp" => {
                return Err("fleet.broker: mqtt:// has no TLS; use mqtts:// (or allow_insecure = true in a lab)".into())
            }
            other => return Err(format!("fleet.broker: `{other}://` is not mqtts:// or mqtt://")),
        };
        let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or("fleet.broker: no host")?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = parsed.port().unwrap_or(if tls { 8883 } else { 1883 });
        Ok(Broker { host, port, tls })
    }
}

/// `[fleet]` checked and resolved.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub broker: Broker,
    pub terminal_id: String,
    pub prefix: String,
    pub username: String,
    pub password: Option<String>,
    pub ca_pem: Option<Vec<u8>>,
    /// (certificate PEM, PKCS#8 key PEM).
    pub client_identity: Option<(Vec<u8>, Vec<u8>)>,
    pub http_ca_pem: Option<Vec<u8>>,
    pub allow_insecure: bool,
    pub telemetry_every: Duration,
    pub keepalive: Duration,
    pub max_payload: usize,
    pub update_keys: Vec<String>,
    pub command_keys: Vec<String>,
    pub packages_dir: PathBuf,
    /// The agent's own files (the ids of commands received).
    pub state_dir: PathBuf,
}

impl FleetSection {
    /// Whether the agent runs (a broker is given).
    pub fn enabled(&self) -> bool {
        !self.broker.trim().is_empty()
    }

    /// For booth.toml's own check at load: what can be judged without reading files.
    pub fn validate(&self) -> Result<(), String> {
        if !self.enabled() {
            return Ok(());
        }
        Broker::parse(self.broker.trim(), self.allow_insecure)?;
        if !self.terminal_id.is_empty() && !valid_id(&self.terminal_id) {
            return Err(format!(
                "fleet.terminal_id: `{}` must be 1-64 letters, digits, `.`, `_` or `-`",
                self.terminal_id
            ));
        }
        crate::topics::check_prefix(&self.topic_prefix).map_err(|e| format!("fleet.topic_prefix: {e}"))?;
        if !(1..=3600).contains(&self.telemetry_s) {
            return Err("fleet.telemetry_s: must be 1 to 3600".into());
        }
        if !(5..=3600).contains(&self.keepalive_s) {
            return Err("fleet.keepalive_s: must be 5 to 3600".into());
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.max_payload_bytes) {
            return Err("fleet.max_payload_bytes: must be 1024 to 16777216".into());
        }
        if self.update_keys.len() > 2 {
            return Err("fleet.update_keys: at most two keys (the current one and the next, for a rotation)".into());
        }
        for (i, k) in self.update_keys.iter().enumerate() {
            crate::signing::parse_public_key(k).map_err(|e| format!("fleet.update_keys[{i}]: {e}"))?;
        }
        if self.command_keys.len() > 2 {
            return Err("fleet.command_keys: at most two keys (the current one and the next, for a rotation)".into());
        }
        for (i, k) in self.command_keys.iter().enumerate() {
            crate::signing::parse_public_key(k).map_err(|e| format!("fleet.command_keys[{i}]: {e}"))?;
        }
        if self.client_cert.is_empty() != self.client_key.is_empty() {
            return Err("fleet.client_cert and fleet.client_key go together".into());
        }
        if !self.password.is_empty() && !self.password_file.is_empty() {
            return Err("fleet.password and fleet.password_file: give one".into());
        }
        Ok(())
    }

    /// Reads the files it names and fills the defaults: `fallback_id` is the terminal's serial
    /// number, `data_dir` the local data folder.
    pub fn resolve(&self, fallback_id: &str, data_dir: &std::path::Path) -> Result<FleetConfig, String> {
        self.validate()?;
        let broker = Broker::parse(self.broker.trim(), self.allow_insecure)?;
        let terminal_id = if self.terminal_id.is_empty() { fallback_id.to_string() } else { self.terminal_id.clone() };
        if !valid_id(&terminal_id) {
            return Err(format!(
                "fleet.terminal_id: the serial number `{terminal_id}` cannot be a topic level; set fleet.terminal_id"
            ));
        }
        let read = |key: &str, path: &str| std::fs::read(path).map_err(|e| format!("fleet.{key}: {path}: {e}"));
        let password = if !self.password_file.is_empty() {
            let bytes = read("password_file", &self.password_file)?;
            Some(String::from_utf8_lossy(&bytes).lines().next().unwrap_or_default().to_string())
        } else if !self.password.is_empty() {
            Some(self.password.clone())
        } else {
            None
        };
        let ca_pem = if self.ca_file.is_empty() { None } else { Some(read("ca_file", &self.ca_file)?) };
        let client_identity = if self.client_cert.is_empty() {
            None
        } else {
            Some((read("client_cert", &self.client_cert)?, read("client_key", &self.client_key)?))
        };
        let http_ca_pem =
            if self.http_ca_file.is_empty() { None } else { Some(read("http_ca_file", &self.http_ca_file)?) };
        let packages_dir = self.packages_dir(data_dir);
        Ok(FleetConfig {
            broker,
            username: if self.username.is_empty() { terminal_id.clone() } else { self.username.clone() },
            terminal_id,
            prefix: self.topic_prefix.clone(),
            password,
            ca_pem,
            client_identity,
            http_ca_pem,
            allow_insecure: self.allow_insecure,
            telemetry_every: Duration::from_secs(self.telemetry_s),
            keepalive: Duration::from_secs(self.keepalive_s),
            max_payload: self.max_payload_bytes,
            update_keys: self.update_keys.clone(),
            command_keys: self.command_keys.clone(),
            state_dir: data_dir.join("booth").join("fleet"),
            packages_dir,
        })
    }

    /// The packages folder without the rest of the resolution (for `booth kiosk` at start).
    pub fn packages_dir(&self, data_dir: &std::path::Path) -> PathBuf {
        if self.packages_dir.is_empty() {
            data_dir.join("booth").join("packages")
        } else {
            PathBuf::from(&self.packages_dir)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls() {
        assert_eq!(
            Broker::parse("mqtts://mqtt.example.com", false).unwrap(),
            Broker { host: "mqtt.example.com".into(), port: 8883, tls: true }
        );
        assert_eq!(Broker::parse("mqtt://127.0.0.1:1999", true).unwrap().port, 1999);
        assert!(Broker::parse("mqtt://127.0.0.1:1999", false).unwrap_err().contains("allow_insecure"));
        assert!(Broker::parse("http://x", true).is_err());
        assert!(Broker::parse("nonsense", true).is_err());
    }

    #[test]
    fn section_checks() {
        assert!(FleetSection::default().validate().is_ok(), "off by default");
        let mut s = FleetSection { broker: "mqtts://b".into(), ..Default::default() };
        assert!(s.validate().is_ok());
        s.terminal_id = "a/b".into();
        assert!(s.validate().unwrap_err().contains("terminal_id"));
        s.terminal_id = "T-1".into();
        s.telemetry_s = 0;
        assert!(s.validate().unwrap_err().contains("telemetry_s"));
        s.telemetry_s = 30;
        s.update_keys = vec!["not a key".into()];
        assert!(s.validate().unwrap_err().contains("update_keys[0]"));
        s.update_keys = vec![];
        s.client_cert = "c.pem".into();
        assert!(s.validate().unwrap_err().contains("client_key"));
        s.client_cert.clear();
        let r = s.resolve("SN", std::path::Path::new("/data")).unwrap();
        assert_eq!((r.terminal_id.as_str(), r.username.as_str()), ("T-1", "T-1"));
        assert_eq!(r.packages_dir, std::path::Path::new("/data/booth/packages"));
        s.terminal_id.clear();
        assert!(s.resolve("SN 1", std::path::Path::new("/")).is_err(), "a serial with a space is no topic level");
    }
}
