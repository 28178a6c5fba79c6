//! `[apps.<appId>]` of booth.toml: the mini-programs a terminal may run besides its
//! `[package]`, each served from its own origin (`booth://<appId>/`), and the local programs
//! `ft.finOpenOtherApp` may start (`command`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One catalogue entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppEntry {
    /// A package folder, zip or `https://` URL (as `[package] source`); empty for a program.
    pub source: String,
    /// A local program instead of a package: the program and its arguments (no shell).
    pub command: Option<Vec<String>>,
    /// A program still running after this many seconds is ended (default 600).
    pub max_s: Option<u64>,
    /// The name people see; the manifest's name when absent.
    pub name: Option<String>,
    /// The home screen's picture of the app: a file in its package (`icon.png`); a tile with
    /// the name's first letter when absent or when it cannot be shown.
    pub icon: Option<String>,
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
    #[error("[apps.{0}]: source (a package) or command (a program) is missing")]
    NoSource(String),
    #[error("[apps.{0}]: {1}")]
    BadProgram(String, &'static str),
    #[error("[apps.{0}]: icon `{1}` is not a file in the app's package (a relative path such as `icon.png`)")]
    BadIcon(String, String),
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
        match &entry.command {
            Some(_) if !entry.source.trim().is_empty() => {
                return Err(CatalogueError::BadProgram(id.clone(), "source and command exclude each other"))
            }
            Some(c) if c.first().is_none_or(|exe| exe.trim().is_empty()) => {
                return Err(CatalogueError::BadProgram(id.clone(), "command names no program"))
            }
            Some(_) if entry.icon.is_some() || entry.permissions.is_some() => {
                return Err(CatalogueError::BadProgram(id.clone(), "a program has no icon or permissions"))
            }
            Some(_) => {}
            None if entry.max_s.is_some() => {
                return Err(CatalogueError::BadProgram(id.clone(), "max_s is for a command"))
            }
            None if entry.source.trim().is_empty() => return Err(CatalogueError::NoSource(id.clone())),
            None => {}
        }
        if entry.max_s.is_some_and(|m| !(1..=86_400).contains(&m)) {
            return Err(CatalogueError::BadProgram(id.clone(), "max_s must be 1 to 86400"));
        }
        if let Some(icon) = &entry.icon {
            if crate::resolve_page(icon, "", |_| true).is_none_or(|p| p.contains(['?', '#'])) {
                return Err(CatalogueError::BadIcon(id.clone(), icon.clone()));
            }
        }
        if let Some(other) = seen.insert(id.to_ascii_lowercase(), id) {
            return Err(CatalogueError::SameOrigin(other.to_string(), id.clone()));
        }
    }
    Ok(())
}

/// The section's programs (`command` entries).
pub fn programs(apps: &AppsSection) -> Vec<crate::program::Program> {
    apps.iter()
        .filter_map(|(id, e)| {
            e.command.as_ref().map(|command| crate::program::Program {
                name: id.clone(),
                command: command.clone(),
                max: e.max_s.map_or(crate::program::DEFAULT_MAX, std::time::Duration::from_secs),
            })
        })
        .collect()
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
        let mut bad = apps.clone();
        bad.insert("pic".into(), AppEntry { icon: Some("../x.png".into()), ..entry("/x") });
        assert_eq!(check(&bad), Err(CatalogueError::BadIcon("pic".into(), "../x.png".into())));
        let mut bad = apps.clone();
        bad.insert("empty".into(), entry(" "));
        assert_eq!(check(&bad), Err(CatalogueError::NoSource("empty".into())));
        let program = |command: &[&str], max_s| AppEntry {
            command: Some(command.iter().map(|s| s.to_string()).collect()),
            max_s,
            ..AppEntry::default()
        };
        let mut ok = apps.clone();
        ok.insert("notes".into(), program(&["/usr/bin/notes", "--kiosk"], Some(60)));
        assert_eq!(check(&ok), Ok(()));
        let programs = programs(&ok);
        assert_eq!(programs.len(), 1);
        assert_eq!((programs[0].command.len(), programs[0].max.as_secs()), (2, 60));
        for (bad_entry, why) in [
            (program(&[], None), "command names no program"),
            (program(&["/x"], Some(0)), "max_s must be 1 to 86400"),
            (AppEntry { source: "/srv/x".into(), ..program(&["/x"], None) }, "source and command exclude each other"),
            (AppEntry { max_s: Some(5), ..entry("/srv/x") }, "max_s is for a command"),
        ] {
            let mut bad = apps.clone();
            bad.insert("p".into(), bad_entry);
            assert_eq!(check(&bad), Err(CatalogueError::BadProgram("p".into(), why)));
        }
        let unknown = serde_json::from_str::<AppsSection>(r#"{"a": {"source": "/a", "sorce": "/b"}}"#);
        assert!(unknown.is_err());
    }

    fn toml_like(json: &str) -> AppsSection {
        serde_json::from_str(json).expect("valid section")
    }
}
