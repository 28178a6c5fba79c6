//! The app catalogue as the windows see it: each `[apps.<appId>]` package loaded at start and
//! served from its own origin (the back screen that launchMp starts them on is
//! [`super::back_screen`]).

use crate::names::{app_base, app_of};
use booth_apps::catalogue::AppsSection;
use booth_miniapp_host::Package;
use std::collections::BTreeMap;
use std::sync::Arc;
use url::Url;

/// One catalogue app.
pub struct App {
    /// The appId as booth.toml spells it.
    pub id: String,
    pub name: String,
    /// `icon`: a file in the package, for the home screen.
    pub icon: Option<String>,
    pub package: Arc<Package>,
}

/// The catalogue of this run. A package that cannot load is left out (and said so in the log,
/// and to launchMp), so that one broken app never keeps the terminal from starting.
#[derive(Default)]
pub struct Catalogue {
    /// By lower-case appId: web origins ignore case.
    apps: BTreeMap<String, Arc<App>>,
    broken: BTreeMap<String, String>,
    /// `command` entries: the local programs finOpenOtherApp may start.
    pub programs: Vec<booth_apps::program::Program>,
}

impl Catalogue {
    pub fn load(section: &AppsSection) -> Catalogue {
        let mut catalogue = Catalogue { programs: booth_apps::catalogue::programs(section), ..Catalogue::default() };
        for (id, entry) in section.iter().filter(|(_, e)| e.command.is_none()) {
            let key = id.to_ascii_lowercase();
            match Package::load(&entry.source) {
                Ok(mut package) => {
                    if package.is_remote() {
                        let granted = crate::config::sections::remote_grant(entry.permissions.as_deref());
                        let key = format!("booth.toml [apps.{id}] permissions");
                        let line = crate::config::sections::describe_grant(&format!("remote app {id}"), &granted, &key);
                        if granted.is_empty() {
                            tracing::warn!("{line}");
                        } else {
                            tracing::info!("{line}");
                        }
                        package.restrict_permissions(granted.into_iter().collect());
                    }
                    let name = entry.name.clone().unwrap_or_else(|| package.manifest.name.clone());
                    tracing::info!(app = %id, location = %package.location(), "catalogue app loaded");
                    catalogue.apps.insert(
                        key,
                        Arc::new(App { id: id.clone(), name, icon: entry.icon.clone(), package: Arc::new(package) }),
                    );
                }
                Err(e) => {
                    tracing::error!(app = %id, source = %entry.source, error = %e, "catalogue app cannot load");
                    catalogue.broken.insert(key, e.to_string());
                }
            }
        }
        catalogue
    }

    /// Why app `app_id` could not load, if it could not.
    pub fn broken(&self, app_id: &str) -> Option<&String> {
        self.broken.get(&app_id.to_ascii_lowercase())
    }

    pub fn get(&self, app_id: &str) -> Option<&Arc<App>> {
        self.apps.get(&app_id.to_ascii_lowercase())
    }

    /// The app whose origin `url` is on: `booth://<appId>/`, or a remote app's address.
    pub fn for_url(&self, url: &Url) -> Option<&Arc<App>> {
        if let Some(id) = app_of(url) {
            return self.get(&id);
        }
        self.apps.values().find(|a| match &a.package.source {
            booth_miniapp_host::Source::Remote(base) => base.origin() == url.origin(),
            _ => false,
        })
    }

    pub fn apps(&self) -> impl Iterator<Item = &Arc<App>> {
        self.apps.values()
    }

    /// Every app's origin (`booth://<appId>/`, or a remote app's address), for the navigation guard and the IPC capability.
    pub fn origins(&self) -> Vec<Url> {
        self.apps
            .values()
            .filter_map(|a| match &a.package.source {
                booth_miniapp_host::Source::Remote(base) => Some(base.clone()),
                _ => app_base(&a.id).ok(),
            })
            .collect()
    }
}
