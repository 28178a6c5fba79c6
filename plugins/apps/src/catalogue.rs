//! `[apps.<appId>]` of booth.toml: the mini-programs a terminal may run besides its
//! `[package]`, each served from its own origin (`booth://<appId>/`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One catalogue entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppEntry {
    /// A package folder, zip or `https://` URL (as `[package] source`).
    pub source: String,
    /// The name people see; the manifest's name when absent.
    pub name: Option<String>,
    /// For a remote app: the permission families it gets (a manifest cannot be trusted there);
    /// none when absent.
    pub permissions: Option<Vec<String>>,
}

/// `[apps]`: appId → entry.
pub type AppsSection = BTreeMap<String, AppEntry>;

/// Why the catalogue cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("[apps.{0}]: an appId is 1 to 63 letters, digits, `-` or `_`, starting with a letter or digit")]
    BadId(String),
    #[error("[apps.{0}]: `localhost` is the origin of [package]")]
    Reserved(String),
    #[error("[apps.{0}] and [apps.{1}] differ only in case (a web origin ignores case)")]
    SameOrigin(String, String),
    #[error("[apps.{0}]: source is missing")]
    NoSource(String),
}

/// Whether `id` can be an app's origin host (`booth://<id>/`).
pub fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks the section as a whole (called when booth.toml is read).
pub fn check(apps: &AppsSection) -> Result<(), CatalogueError> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (id, entry) in apps {
        if !valid_id(id) {
            return Err(CatalogueError::BadId(id.clone()));
        }
        if id.eq_ignore_ascii_case("localhost") {
            return Err(CatalogueError::Reserved(id.clone()));
        }
        if entry.source.trim().is_empty() {
            return Err(CatalogueError::NoSource(id.clone()));
        }
        if let Some(other) = seen.insert(id.to_ascii_lowercase(), id) {
            return Err(CatalogueError::SameOrigin(other.to_string(), id.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(source: &str) -> AppEntry {
        AppEntry { source: source.into(), ..AppEntry::default() }
    }

    #[test]
    fn ids_are_origin_hosts() {
        for ok in ["wx1234abcd", "pay-desk", "a", "report_print", "A1"] {
            assert!(valid_id(ok), "{ok}");
        }
        for bad in ["", "-a", "a.b", "a/b", "中文", "a b", &"x".repeat(64)] {
            assert!(!valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn the_section_is_read_and_checked() {
        let apps: AppsSection = toml_like(
            r#"{"pay": {"source": "/srv/pay", "name": "缴费"}, "report": {"source": "https://e.example/r/", "permissions": ["printer"]}}"#,
        );
        assert_eq!(apps["pay"].name.as_deref(), Some("缴费"));
        assert_eq!(check(&apps), Ok(()));
        let mut bad = apps.clone();
        bad.insert("Pay".into(), entry("/x"));
        assert_eq!(check(&bad), Err(CatalogueError::SameOrigin("Pay".into(), "pay".into())));
        let mut bad = apps.clone();
        bad.insert("localhost".into(), entry("/x"));
        assert_eq!(check(&bad), Err(CatalogueError::Reserved("localhost".into())));
        let mut bad = apps.clone();
        bad.insert("a.b".into(), entry("/x"));
        assert_eq!(check(&bad), Err(CatalogueError::BadId("a.b".into())));
        let mut bad = apps;
        bad.insert("empty".into(), entry(" "));
        assert_eq!(check(&bad), Err(CatalogueError::NoSource("empty".into())));
        let unknown = serde_json::from_str::<AppsSection>(r#"{"a": {"source": "/a", "sorce": "/b"}}"#);
        assert!(unknown.is_err());
    }

    fn toml_like(json: &str) -> AppsSection {
        serde_json::from_str(json).expect("valid section")
    }
}
