//! The app catalogue as the windows see it: each `[apps.<appId>]` package loaded at start and
//! served from its own origin, and the back screen that launchMp starts them on
//! ([`booth_apps::TwoScreenHost`], implemented with the secondary window).

use super::lifecycle::{Owner, Shell};
use super::secondary::Secondary;
use crate::names::{app_base, app_location, app_of, SECONDARY};
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
                        match &entry.permissions {
                            Some(list) => {
                                package.restrict_permissions(list.iter().filter_map(|p| p.parse().ok()).collect())
                            }
                            None => {
                                tracing::warn!(app = %id, "remote app: every permission granted (set permissions to restrict)")
                            }
                        }
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

/// The back screen launchMp starts catalogue apps on, and the main window finOpenOtherApp
/// puts them in.
pub struct BackScreen {
    pub secondary: Arc<Secondary>,
    pub catalogue: Arc<Catalogue>,
    pub shell: Arc<Shell>,
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
        let location = app_location(&app.id, &app.package, page).map_err(BackError::Failed)?;
        let url = match &app.package.source {
            booth_miniapp_host::Source::Remote(_) => WebviewUrl::External(location),
            _ => WebviewUrl::CustomProtocol(location),
        };
        self.shell.place(SECONDARY, Owner::App(app.id.clone()));
        self.secondary.show_app(url)
    }

    fn back_app(&self) -> Option<String> {
        let url = self.secondary.showing()?;
        self.catalogue.for_url(&url).map(|app| app.id.clone())
    }

    fn open_front(&self, app_id: &str, page: &str) -> Result<(), String> {
        let app = self.catalogue.get(app_id).ok_or_else(|| format!("{app_id}: 不在应用目录中"))?;
        self.shell.open_front(Owner::App(app.id.clone()), page)
    }

    fn program_running(&self, name: Option<&str>) {
        self.shell.program_running(name);
    }
}
