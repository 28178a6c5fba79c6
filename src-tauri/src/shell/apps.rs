//! The app catalogue as the windows see it: each `[apps.<appId>]` package loaded at start and
//! served from its own origin, and the back screen that launchMp starts them on
//! ([`booth_apps::TwoScreenHost`], implemented with the secondary window).

use super::secondary::Secondary;
use crate::names::{app_base, app_of};
use booth_apps::catalogue::AppsSection;
use booth_apps::{BackError, TwoScreenHost};
use booth_display::{ScreenState, SecondaryScreen};
use booth_miniapp_host::Package;
use std::collections::BTreeMap;
use std::sync::Arc;
use tauri::WebviewUrl;
use url::Url;

/// One catalogue app.
pub struct App {
    /// The appId as booth.toml spells it.
    pub id: String,
    pub name: String,
    pub package: Arc<Package>,
}

/// The catalogue of this run. A package that cannot load is left out (and said so in the log,
/// and to launchMp), so that one broken app never keeps the terminal from starting.
#[derive(Default)]
pub struct Catalogue {
    /// By lower-case appId: web origins ignore case.
    apps: BTreeMap<String, Arc<App>>,
    broken: BTreeMap<String, String>,
}

impl Catalogue {
    pub fn load(section: &AppsSection) -> Catalogue {
        let mut catalogue = Catalogue::default();
        for (id, entry) in section {
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
                    catalogue.apps.insert(key, Arc::new(App { id: id.clone(), name, package: Arc::new(package) }));
                }
                Err(e) => {
                    tracing::error!(app = %id, source = %entry.source, error = %e, "catalogue app cannot load");
                    catalogue.broken.insert(key, e.to_string());
                }
            }
        }
        catalogue
    }

    pub fn get(&self, app_id: &str) -> Option<&Arc<App>> {
        self.apps.get(&app_id.to_ascii_lowercase())
    }

    /// The app whose origin `url` is on.
    pub fn for_url(&self, url: &Url) -> Option<&Arc<App>> {
        app_of(url).and_then(|id| self.get(&id))
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

/// The back screen launchMp starts catalogue apps on.
pub struct BackScreen {
    pub secondary: Arc<Secondary>,
    pub catalogue: Arc<Catalogue>,
}

impl TwoScreenHost for BackScreen {
    fn has_back_screen(&self) -> bool {
        self.secondary.state() != ScreenState::Absent
    }

    fn resolve_page(&self, app_id: &str, page: &str) -> Result<String, String> {
        let lower = app_id.to_ascii_lowercase();
        if let Some(why) = self.catalogue.broken.get(&lower) {
            return Err(format!("无法加载 ({why})"));
        }
        let app = self.catalogue.get(app_id).ok_or("不在应用目录中 ([apps] of booth.toml)")?;
        let package = &app.package;
        if package.is_remote() {
            return booth_apps::resolve_page(page, "", |_| true).ok_or_else(|| format!("页面 {page} 不在小程序中"));
        }
        booth_apps::resolve_page(page, &package.manifest.entry, |p| package.read(p).is_some())
            .ok_or_else(|| format!("页面 {page} 不在小程序包中"))
    }

    fn launch(&self, app_id: &str, page: &str) -> Result<(), BackError> {
        let app = self.catalogue.get(app_id).ok_or_else(|| BackError::Failed(format!("{app_id}: 不在应用目录中")))?;
        let bad = |e: url::ParseError| BackError::Failed(e.to_string());
        let url = match &app.package.source {
            booth_miniapp_host::Source::Remote(base) => WebviewUrl::External(base.join(page).map_err(bad)?),
            _ => WebviewUrl::CustomProtocol(app_base(&app.id).map_err(BackError::Failed)?.join(page).map_err(bad)?),
        };
        self.secondary.show_app(url)
    }

    fn back_app(&self) -> Option<String> {
        let url = self.secondary.showing()?;
        match self.catalogue.for_url(&url) {
            Some(app) => Some(app.id.clone()),
            // A remote app is known by its origin.
            None => self
                .catalogue
                .apps()
                .find(|a| match &a.package.source {
                    booth_miniapp_host::Source::Remote(base) => base.origin() == url.origin(),
                    _ => false,
                })
                .map(|a| a.id.clone()),
        }
    }
}
