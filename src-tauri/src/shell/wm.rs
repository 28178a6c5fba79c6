//! Kiosk windows keep their window-manager state (X11): fullscreen, above everything, left out
//! of taskbars and pagers, and on their own monitor.
//!
//! A state asked for before the window is mapped can be lost: the window manager reads the
//! initial `_NET_WM_STATE` when it manages the window, and a request that races with that was
//! seen to leave a kiosk window fullscreen but not above, and in the taskbar (3 of 12 starts
//! under openbox). So the state is asked for again once the window is mapped, and again whenever
//! the window manager reports a state without fullscreen or above — but at most
//! [`MAX_REASSERTS`] times a minute, so that a window manager that refuses cannot start a loop.
//!
//! The window's place is checked the same way: a position and size given while the window is
//! hidden can be lost too, and a fullscreen window goes to whichever monitor the window manager
//! thinks it is on. So for some seconds after each map, and whenever the check finds it elsewhere, the
//! window's frame is read from the X server and compared with its monitor; a window that is
//! not there is taken out of fullscreen, moved, sized and made fullscreen again. `/health`
//! shows the last check ([`Placements`]).

use super::layout::Rect;
use super::monitors::Area;
use gtk::prelude::{GtkWindowExt, WidgetExt, WidgetExtManual};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tauri::Manager;

/// Re-assertions allowed per minute and window.
const MAX_REASSERTS: usize = 10;

/// When the place is checked after the window is mapped (each delay from the one before).
const CHECKS_AFTER_MAP_MS: [u64; 6] = [300, 700, 1000, 2000, 4000, 8000];
/// … and after it was moved or resized, when no checks are under way.
const CHECKS_AFTER_MOVE_MS: [u64; 2] = [500, 1000];
/// How long after a kiosk window was hidden without Booth asking it is shown again.
const SHOW_AGAIN_MS: u64 = 300;
/// Times in a row a window is put back on its monitor before Booth stops trying (a window
/// manager that will not have it there, a monitor that is gone) until it is placed or mapped again.
const MAX_TRIES: u32 = 3;

/// Keeps `window` above everything, out of taskbars and pagers, and fullscreen on `monitor`
/// while `fullscreen` is set (deviceConfig `hideNavigationBar` 2 clears it for the run; the
/// window manager places a window that is not fullscreen), for as long as the window exists.
/// A window hidden by something other than Booth is shown again; one that `takes_focus` (the
/// page's) takes the keyboard focus back, the others leave it where it is.
pub fn keep(window: &tauri::WebviewWindow, fullscreen: Arc<AtomicBool>, monitor: Area, takes_focus: bool) {
    let gtk = match window.gtk_window() {
        Ok(w) => w,
        Err(e) => return tracing::warn!(error = %e, "kiosk: no GTK window to keep in its state"),
    };
    let label = window.label().to_string();
    let placements = placements(window.app_handle());
    placements.want(&label, monitor);
    let guard = Arc::new(Guard {
        label,
        app: window.app_handle().clone(),
        fullscreen,
        monitor,
        takes_focus,
        placements,
        recent: Mutex::default(),
        last_wrong: Mutex::default(),
        series: Mutex::default(),
        tries: AtomicU32::new(0),
        unmapped: AtomicBool::new(false),
        show_pending: AtomicBool::new(false),
    });
    let g = guard.clone();
    gtk.connect_map_event(move |win, _| {
        g.unmapped.store(false, Ordering::SeqCst);
        apply(win, &g.fullscreen);
        g.tries.store(0, Ordering::SeqCst);
        g.checks(win, &CHECKS_AFTER_MAP_MS, true);
        gtk::glib::Propagation::Proceed
    });
    // Moved or resized later (by the window manager, a monitor change, another client): checked
    // again once it has settled.
    let g = guard.clone();
    gtk.connect_configure_event(move |win, _| {
        g.checks(win, &CHECKS_AFTER_MOVE_MS, false);
        false
    });
    let g = guard.clone();
    gtk.connect_window_state_event(move |win, event| {
        let state = event.new_window_state();
        let fullscreen_lost = g.fullscreen.load(Ordering::SeqCst) && !state.contains(gtk::gdk::WindowState::FULLSCREEN);
        let above_lost = !state.contains(gtk::gdk::WindowState::ABOVE);
        if (fullscreen_lost || above_lost) && win.is_mapped() && g.may_reassert() {
            tracing::warn!(
                window = %g.label,
                fullscreen_lost,
                above_lost,
                "kiosk: the window manager dropped the window's state; asking again"
            );
            apply(win, &g.fullscreen);
        }
        // Iconified by the window manager: shown again (below).
        if state.contains(gtk::gdk::WindowState::ICONIFIED) && win.is_visible() {
            g.show_again_soon(win);
        }
        gtk::glib::Propagation::Proceed
    });
    // Hidden without Booth asking (another client withdrew it, the window manager iconified
    // it): the desktop would show where the page was, so it is shown again once the change has
    // settled. A window Booth hides (the customer screen between uses) is not visible to GTK and
    // stays hidden.
    // (GDK does not count a window withdrawn by another client as hidden when the window manager
    // has _NET_WM_STATE_HIDDEN: the X unmap is what tells.)
    let g = guard.clone();
    gtk.connect_unmap_event(move |win, _| {
        if win.is_visible() {
            g.unmapped.store(true, Ordering::SeqCst);
            g.show_again_soon(win);
        }
        gtk::glib::Propagation::Proceed
    });
    // Already mapped (a window shown before this was called): ask now too.
    if gtk.is_mapped() {
        apply(&gtk, &guard.fullscreen);
        guard.checks(&gtk, &CHECKS_AFTER_MAP_MS, true);
    }
}

fn apply(win: &impl GtkWindowExt, fullscreen: &AtomicBool) {
    win.set_keep_above(true);
    win.set_skip_taskbar_hint(true);
    win.set_skip_pager_hint(true);
    if fullscreen.load(Ordering::SeqCst) {
        win.fullscreen();
    }
}

/// One kiosk window's place and state, kept.
struct Guard {
    label: String,
    app: tauri::AppHandle,
    fullscreen: Arc<AtomicBool>,
    monitor: Area,
    /// Shown again, the window takes the keyboard focus (the page's window).
    takes_focus: bool,
    placements: Arc<Placements>,
    /// When the state or place was last asked for again (at most [`MAX_REASSERTS`] a minute).
    recent: Mutex<Vec<Instant>>,
    /// The frame of the last check, when it was not the monitor.
    last_wrong: Mutex<Option<Rect>>,
    /// The series of checks under way: its number, and whether it is still running.
    series: Mutex<(u64, bool)>,
    /// Times in a row the window was put back without a check finding it placed since.
    tries: AtomicU32,
    /// The X server unmapped the window while GTK had it visible, and has not mapped it since.
    unmapped: AtomicBool,
    /// A [`Guard::show_again`] is due.
    show_pending: AtomicBool,
}

impl Guard {
    fn may_reassert(&self) -> bool {
        let mut r = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        r.retain(|t| t.elapsed() < Duration::from_secs(60));
        let room = r.len() < MAX_REASSERTS;
        if room {
            r.push(Instant::now());
        }
        room
    }

    /// Checks the window's place after each of `delays` (on the main thread). A new series
    /// replaces one under way (`restart`), or starts only when none is.
    fn checks(self: &Arc<Self>, win: &gtk::ApplicationWindow, delays: &'static [u64], restart: bool) {
        let series = {
            let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
            if s.1 && !restart {
                return;
            }
            *s = (s.0.wrapping_add(1), true);
            s.0
        };
        self.check_after(win, delays, series);
    }

    fn check_after(self: &Arc<Self>, win: &gtk::ApplicationWindow, delays: &'static [u64], series: u64) {
        let Some((&ms, rest)) = delays.split_first() else {
            let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
            if s.0 == series {
                s.1 = false;
            }
            return;
        };
        let (guard, win) = (self.clone(), win.clone());
        gtk::glib::timeout_add_local_once(Duration::from_millis(ms), move || {
            if guard.series.lock().unwrap_or_else(|p| p.into_inner()).0 == series {
                guard.check(&win);
                guard.check_after(&win, rest, series);
            }
        });
    }

    /// Shows the window again in [`SHOW_AGAIN_MS`] if it is still hidden then (one check at a time).
    fn show_again_soon(self: &Arc<Self>, win: &gtk::ApplicationWindow) {
        if self.show_pending.swap(true, Ordering::SeqCst) {
            return;
        }
        let (g, win) = (self.clone(), win.clone());
        gtk::glib::timeout_add_local_once(Duration::from_millis(SHOW_AGAIN_MS), move || {
            g.show_pending.store(false, Ordering::SeqCst);
            g.show_again(&win);
        });
    }

    /// Shows the window again if it is still hidden while GTK has it visible (see [`keep`]).
    fn show_again(&self, win: &gtk::ApplicationWindow) {
        let Some(w) = win.window() else { return };
        let iconified = w.state().contains(gtk::gdk::WindowState::ICONIFIED);
        if !win.is_visible() || !(iconified || self.unmapped.load(Ordering::SeqCst)) {
            return;
        }
        if !self.may_reassert() {
            return tracing::error!(window = %self.label, "kiosk: the window keeps being hidden; Booth stops showing it for now");
        }
        tracing::warn!(window = %self.label, state = ?w.state(), "kiosk: the window was hidden without Booth asking; showing it again");
        self.placements.shown(&self.label);
        if self.takes_focus {
            win.present();
            return;
        }
        // GTK still counts the window mapped (it did not hide it), so the map goes to GDK. The
        // window manager may focus the window it manages anew: the keyboard goes back to the
        // Booth window that has it now (the admin window, say), else to the page's.
        let focused = self
            .app
            .webview_windows()
            .into_values()
            .find(|o| o.label() != self.label && o.is_focused().unwrap_or(false))
            .or_else(|| self.app.get_webview_window("main"));
        w.set_focus_on_map(false);
        w.show_unraised();
        let win = win.clone();
        gtk::glib::timeout_add_local_once(Duration::from_millis(SHOW_AGAIN_MS), move || {
            if let Some(other) = focused.filter(|_| win.is_active()) {
                let _ = other.set_focus();
            }
        });
    }

    /// Reads the window's frame from the X server; a fullscreen kiosk window that is not on its
    /// monitor is put there again.
    fn check(&self, win: &gtk::ApplicationWindow) {
        if !win.is_visible() || !self.fullscreen.load(Ordering::SeqCst) {
            return; // hidden on purpose, or the window manager places it
        }
        let Some(seen) = frame(win) else { return };
        let scale = win.scale_factor().max(1);
        let m = self.monitor;
        let ok = seen == Rect::from(m);
        // Only a place that stays wrong from one check to the next is fixed: the window manager
        // may still be moving the window at the first check.
        let settled =
            std::mem::replace(&mut *self.last_wrong.lock().unwrap_or_else(|p| p.into_inner()), (!ok).then_some(seen))
                == Some(seen);
        if ok {
            self.tries.store(0, Ordering::SeqCst);
        }
        let tries = self.tries.load(Ordering::SeqCst);
        let fixing = !ok && settled && tries < MAX_TRIES && self.may_reassert();
        self.placements.seen(&self.label, seen, ok, fixing);
        if !ok && settled && tries == MAX_TRIES {
            self.tries.fetch_add(1, Ordering::SeqCst);
            tracing::error!(
                window = %self.label,
                seen = ?seen,
                monitor = ?m,
                "kiosk: the window manager keeps the window off its monitor; Booth stops moving it until it is placed or shown again"
            );
        }
        if fixing {
            self.tries.fetch_add(1, Ordering::SeqCst);
            tracing::warn!(
                window = %self.label,
                seen = ?seen,
                monitor = ?m,
                "kiosk: the window is not on its monitor; placing it again"
            );
            // A fullscreen window stays where it is: leave fullscreen, move, and go back.
            win.unfullscreen();
            win.move_(m.x / scale, m.y / scale);
            win.resize(m.width as i32 / scale, m.height as i32 / scale);
            win.fullscreen();
        }
    }
}

/// The window's frame as the X server has it now, in physical pixels (none before it is
/// realized). Main thread only.
pub fn frame(win: &gtk::ApplicationWindow) -> Option<Rect> {
    let f = win.window()?.frame_extents();
    let scale = win.scale_factor().max(1);
    let px = |v: i32| (v * scale).max(0) as u32;
    Some(Rect { x: f.x() * scale, y: f.y() * scale, width: px(f.width()), height: px(f.height()) })
}

/// The last place check of each kiosk window (for `/health`).
#[derive(Default)]
pub struct Placements(Mutex<HashMap<String, Placement>>);

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// The monitor the window belongs on (physical pixels).
    pub monitor: Rect,
    /// The window's frame as the X server had it at the last check (none before the first).
    pub seen: Option<Rect>,
    /// The last check found the window on its monitor.
    pub placed: bool,
    /// Times the window was put back on its monitor.
    pub fixes: u32,
    /// Times the window was shown again after something other than Booth hid it.
    pub shown: u32,
}

/// Booth's [`Placements`] (managed on first use).
pub fn placements(app: &tauri::AppHandle) -> Arc<Placements> {
    if app.try_state::<Arc<Placements>>().is_none() {
        app.manage(Arc::new(Placements::default()));
    }
    app.state::<Arc<Placements>>().inner().clone()
}

impl Placements {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Placement>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn want(&self, label: &str, m: Area) {
        self.lock()
            .insert(label.to_string(), Placement { monitor: m.into(), seen: None, placed: false, fixes: 0, shown: 0 });
    }

    fn shown(&self, label: &str) {
        if let Some(p) = self.lock().get_mut(label) {
            p.shown += 1;
        }
    }

    fn seen(&self, label: &str, seen: Rect, placed: bool, fixing: bool) {
        if let Some(p) = self.lock().get_mut(label) {
            p.seen = Some(seen);
            p.placed = placed;
            p.fixes += u32::from(fixing);
        }
    }

    /// The last check of the window `label`, if it is a kiosk window.
    pub fn get(&self, label: &str) -> Option<Placement> {
        self.lock().get(label).cloned()
    }
}
