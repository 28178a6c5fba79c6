//! [`booth_apps::TwoScreenHost`] for the running app: the back screen (the secondary window)
//! launchMp starts catalogue apps on, the main window finOpenOtherApp puts them in, and the
//! programs it starts in front of Booth.

use super::apps::Catalogue;
use super::lifecycle::{Owner, Shell};
use super::secondary::Secondary;
use crate::names::{app_location, SECONDARY};
use booth_apps::{BackError, TwoScreenHost};
use booth_display::{ScreenState, SecondaryScreen};
use std::sync::Arc;
use tauri::WebviewUrl;

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
        if let Some(why) = self.catalogue.broken(app_id) {
            return Err(format!("无法加载 ({why})"));
        }
        let app = self.catalogue.get(app_id).ok_or("不在应用目录中 ([apps] of booth.toml)")?;
        let package = &app.package;
        if package.is_remote() {
            // An empty page is the app's address itself.
            if page.trim().is_empty() {
                return Ok(String::new());
            }
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
        if app_id.is_empty() {
            if self.shell.home_only() {
                return Err("本终端没有 [package], 只有应用目录".into());
            }
            return self.shell.open_front(Owner::Package, "");
        }
        let app = self.catalogue.get(app_id).ok_or_else(|| format!("{app_id}: 不在应用目录中"))?;
        self.shell.open_front(Owner::App(app.id.clone()), page)
    }

    fn close_back(&self) -> bool {
        self.back_app().is_some() && self.shell.end_back_app("ended from the simulator")
    }

    fn apps(&self) -> Vec<String> {
        self.catalogue.apps().map(|a| a.id.clone()).collect()
    }

    fn program_running(&self, name: Option<&str>) {
        self.shell.program_running(name);
    }
}
