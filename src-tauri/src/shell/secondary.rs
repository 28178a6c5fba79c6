//! The customer-facing second screen: Booth's `secondary` window.
//!
//! It costs nothing until it is needed. The window is made on first use (a picture from
//! `openSecondaryScreen`), or at start when the package declares `secondary.entry`, and only
//! when there is a monitor for it: the first one that is not the primary one (`booth dev`
//! makes do with the primary monitor, for developers with one screen). On Linux it is a view
//! *related* to the main window's, so WebKitGTK renders both pages in the main window's web
//! process instead of starting another one (each WebKitWebProcess costs about 110 MB).
//!
//! [`build`] is the one place the window is made: window flags (full screen, always on top)
//! belong there.

use super::monitors::Area;
use crate::config::SecondaryPlacement;
#[cfg(target_os = "linux")]
use crate::names::MAIN;
use crate::names::SECONDARY;
use booth_bridge::Bridge;
use booth_display::{Picture, ScreenError, ScreenState, SecondaryScreen};
use std::sync::{Arc, Mutex};
use tauri::webview::PageLoadEvent;
use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindow, WebviewWindowBuilder, WindowEvent};
use url::Url;

/// Booth's own page that shows pictures (`ui/secondary.html`).
const PICTURE_PAGE: &str = "secondary.html";

/// Everything a secondary window gets, worked out once at start.
pub struct Setup {
    pub title: String,
    /// Initialization scripts of package pages (the runtime and page inputs).
    pub scripts: Vec<String>,
    /// The navigation guard.
    pub guard: Arc<dyn Fn(&Url) -> bool + Send + Sync>,
    pub devtools: bool,
    /// The package's `secondary.entry`, shown from start-up.
    pub entry: Option<WebviewUrl>,
    /// `booth dev`: with one monitor, the window opens on it as an ordinary window.
    pub on_primary_if_alone: bool,
    /// Kiosk mode: undecorated, fullscreen and above everything on its monitor.
    pub kiosk: bool,
    /// `[kiosk] secondary_monitor`.
    pub placement: SecondaryPlacement,
    /// Hooks the window's web process and loads (the shell's lifecycle).
    pub watch: Arc<dyn Fn(&WebviewWindow) + Send + Sync>,
    /// The pages' sessions end with the window.
    pub bridge: Bridge,
}

/// Makes the secondary window showing `url`, hidden, placed on `monitor`. Runs on the main
/// thread; on Linux the new view shares the main window's web process.
pub fn build(app: &AppHandle, setup: &Arc<Setup>, url: WebviewUrl, monitor: Area) -> tauri::Result<WebviewWindow> {
    #[cfg(target_os = "linux")]
    if let Some(main) = app.get_webview_window(MAIN) {
        let (tx, rx) = std::sync::mpsc::channel();
        let (app, moved) = (app.clone(), setup.clone());
        // On the main thread, `with_webview` runs the closure before it returns.
        main.with_webview(move |view| {
            let made = builder(&app, &moved, url).with_related_view(view.inner()).build();
            let _ = tx.send(made);
        })?;
        let window = rx.try_recv().map_err(|_| tauri::Error::FailedToReceiveMessage)??;
        return place(window, monitor, setup);
    }
    place(builder(app, setup, url).build()?, monitor, setup)
}

fn builder<'a>(app: &'a AppHandle, setup: &Setup, url: WebviewUrl) -> WebviewWindowBuilder<'a, tauri::Wry, AppHandle> {
    let guard = setup.guard.clone();
    let picture_page = matches!(&url, WebviewUrl::App(p) if p.as_os_str() == PICTURE_PAGE);
    let mut builder = WebviewWindowBuilder::new(app, SECONDARY, url)
        .title(&setup.title)
        .visible(false)
        .focused(false)
        .on_navigation(move |url| guard(url))
        .on_new_window(|url, _| {
            tracing::warn!(window = SECONDARY, url = %url, "new window blocked");
            tauri::webview::NewWindowResponse::Deny
        })
        .on_page_load(|window, payload| {
            if let Some(s) = window.try_state::<Arc<Secondary>>() {
                s.page_loaded(&window, payload.url(), payload.event());
            }
        })
        .devtools(setup.devtools);
    if setup.kiosk {
        builder = builder.decorations(false).always_on_top(true).skip_taskbar(true);
    }
    if picture_page {
        // Booth's own page: its output is forwarded, it needs no bridge.
        builder = builder.initialization_script(booth_miniapp_host::runtime::console_script());
    } else {
        for script in &setup.scripts {
            builder = builder.initialization_script(script);
        }
    }
    builder
}

fn place(window: WebviewWindow, monitor: Area, setup: &Setup) -> tauri::Result<WebviewWindow> {
    window.set_position(tauri::PhysicalPosition::new(monitor.x, monitor.y))?;
    window.set_size(tauri::PhysicalSize::new(monitor.width, monitor.height))?;
    if setup.kiosk {
        window.set_fullscreen(true)?;
        #[cfg(target_os = "linux")]
        super::wm::keep(&window, Arc::new(std::sync::atomic::AtomicBool::new(true)), monitor, false);
    }
    (setup.watch)(&window);
    tracing::info!(?monitor, "secondary window made");
    Ok(window)
}

#[derive(Default)]
struct State {
    /// The picture to show (a data: URL) while the picture page loads, or shown.
    picture: Option<String>,
    /// The picture page has finished loading.
    picture_page_ready: bool,
    /// What the page asked for: shown or not.
    shown: bool,
}

/// The second screen as the display plugin sees it.
pub struct Secondary {
    app: AppHandle,
    setup: Arc<Setup>,
    state: Arc<Mutex<State>>,
}

impl Secondary {
    pub fn new(app: AppHandle, setup: Setup) -> Arc<Secondary> {
        Arc::new(Secondary { app, setup: Arc::new(setup), state: Arc::default() })
    }

    /// Where the window goes: `[kiosk] secondary_monitor`, by default the first monitor that is
    /// not the primary one.
    fn monitor(&self) -> Option<Area> {
        let monitors = super::monitors::list(&self.app);
        let other = match self.setup.placement {
            SecondaryPlacement::Never => return None,
            SecondaryPlacement::Auto => monitors.iter().find(|m| !m.primary).copied(),
            SecondaryPlacement::Monitor(i) => monitors.get(i).copied(),
        };
        other.or_else(|| if self.setup.on_primary_if_alone { monitors.first().copied() } else { None })
    }

    /// At start: shows the package's `secondary.entry`, if it has one and there is a monitor.
    pub fn open_entry(&self) {
        let Some(entry) = self.setup.entry.clone() else { return };
        let Some(monitor) = self.monitor() else {
            tracing::warn!("no second monitor: the package's secondary page is not shown");
            return;
        };
        match self.make(entry, monitor).and_then(|w| w.show()) {
            Ok(()) => self.lock().shown = true,
            Err(e) => tracing::error!(error = %e, "cannot show the package's secondary page"),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the window on the main thread, and forgets it when it is gone.
    fn make(&self, url: WebviewUrl, monitor: Area) -> tauri::Result<WebviewWindow> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (app, setup) = (self.app.clone(), self.setup.clone());
        self.app.run_on_main_thread(move || {
            let _ = tx.send(build(&app, &setup, url, monitor));
        })?;
        let window = rx.recv().map_err(|_| tauri::Error::FailedToReceiveMessage)??;
        let state = self.state.clone();
        let bridge = self.setup.bridge.clone();
        window.on_window_event(move |event| {
            if let WindowEvent::Destroyed = event {
                *state.lock().unwrap_or_else(|p| p.into_inner()) = State::default();
                bridge.end_sessions_for(SECONDARY);
            }
        });
        Ok(window)
    }

    /// Every page load of the secondary window (on the main thread): the picture page gets the
    /// picture as soon as it can show it.
    fn page_loaded(&self, window: &WebviewWindow, url: &Url, event: PageLoadEvent) {
        let picture = {
            let mut state = self.lock();
            state.picture_page_ready = event == PageLoadEvent::Finished && url.path().ends_with(PICTURE_PAGE);
            if state.picture_page_ready {
                state.picture.clone()
            } else {
                None
            }
        };
        if let Some(p) = picture {
            show_in_page(window, &p);
        }
    }

    fn window(&self) -> Option<WebviewWindow> {
        self.app.get_webview_window(SECONDARY)
    }

    /// launchMp: a catalogue app's page replaces whatever the screen showed.
    pub fn show_app(&self, url: WebviewUrl) -> Result<(), booth_apps::BackError> {
        use booth_apps::BackError;
        let monitor = self.monitor().ok_or(BackError::Absent)?;
        let failed = |e: tauri::Error| BackError::Failed(e.to_string());
        self.lock().picture = None;
        let window = match self.window() {
            Some(w) => {
                // The page that goes ends its sessions now, not when the next one attaches.
                self.setup.bridge.end_sessions_for(SECONDARY);
                let (WebviewUrl::External(to) | WebviewUrl::CustomProtocol(to)) = url else {
                    return Err(BackError::Failed("not a page URL".into()));
                };
                w.navigate(to).map_err(failed)?;
                w
            }
            None => self.make(url, monitor).map_err(failed)?,
        };
        window.show().map_err(failed)?;
        self.lock().shown = true;
        Ok(())
    }

    /// The page the screen shows (not Booth's picture page), while it is shown.
    pub fn showing(&self) -> Option<Url> {
        if !self.lock().shown {
            return None;
        }
        self.window()?.url().ok().filter(|u| !u.path().ends_with(PICTURE_PAGE))
    }
}

/// Hands a picture (a data: URL, or "" for none) to the picture page.
fn show_in_page(window: &WebviewWindow, data_url: &str) {
    let arg = serde_json::Value::from(data_url);
    if let Err(e) = window.eval(format!("window.__boothShowPicture && window.__boothShowPicture({arg})")) {
        tracing::warn!(error = %e, "cannot hand the picture to the secondary window");
    }
}

impl SecondaryScreen for Secondary {
    // The state lock is never held across a call that waits for the main thread.
    fn show_picture(&self, picture: &Picture) -> Result<(), ScreenError> {
        let monitor = self.monitor().ok_or(ScreenError::Absent)?;
        let failed = |e: tauri::Error| ScreenError::Failed(e.to_string());
        let data_url = picture.data_url();
        self.lock().picture = Some(data_url.clone());
        let window = match self.window() {
            Some(w) => {
                if w.url().is_ok_and(|u| u.path().ends_with(PICTURE_PAGE)) {
                    // Shown now if the page is ready, else when it has loaded.
                    if self.lock().picture_page_ready {
                        show_in_page(&w, &data_url);
                    }
                } else {
                    // The package's own second-screen page gives way to the picture.
                    let url =
                        crate::names::ui_base().join(PICTURE_PAGE).map_err(|e| ScreenError::Failed(e.to_string()))?;
                    w.navigate(url).map_err(failed)?;
                }
                w
            }
            None => self.make(WebviewUrl::App(PICTURE_PAGE.into()), monitor).map_err(failed)?,
        };
        window.show().map_err(failed)?;
        self.lock().shown = true;
        Ok(())
    }

    fn close(&self) -> Result<(), ScreenError> {
        if self.monitor().is_none() {
            return Err(ScreenError::Absent);
        }
        {
            let mut state = self.lock();
            state.picture = None;
            state.shown = false;
        }
        if let Some(w) = self.window() {
            // Drops the decoded picture too.
            show_in_page(&w, "");
            w.hide().map_err(|e| ScreenError::Failed(e.to_string()))?;
        }
        Ok(())
    }

    fn state(&self) -> ScreenState {
        if self.monitor().is_none() {
            ScreenState::Absent
        } else if self.lock().shown && self.window().is_some() {
            ScreenState::Shown
        } else {
            ScreenState::Closed
        }
    }
}
