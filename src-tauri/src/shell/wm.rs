//! Kiosk windows keep their window-manager state (X11): fullscreen, above everything, and left
//! out of taskbars and pagers.
//!
//! A state asked for before the window is mapped can be lost: the window manager reads the
//! initial `_NET_WM_STATE` when it manages the window, and a request that races with that was
//! seen to leave a kiosk window fullscreen but not above, and in the taskbar (3 of 12 starts
//! under openbox). So the state is asked for again once the window is mapped, and again whenever
//! the window manager reports a state without fullscreen or above — but at most
//! [`MAX_REASSERTS`] times a minute, so that a window manager that refuses cannot start a loop.

use gtk::prelude::{GtkWindowExt, WidgetExt, WidgetExtManual};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Re-assertions allowed per minute and window.
const MAX_REASSERTS: usize = 10;

/// Keeps `window` above everything, out of taskbars and pagers, and fullscreen while
/// `fullscreen` is set (deviceConfig `hideNavigationBar` 2 clears it for the run), for as long as
/// the window exists.
pub fn keep(window: &tauri::WebviewWindow, fullscreen: Arc<AtomicBool>) {
    let gtk = match window.gtk_window() {
        Ok(w) => w,
        Err(e) => return tracing::warn!(error = %e, "kiosk: no GTK window to keep in its state"),
    };
    let label = window.label().to_string();
    let w = fullscreen.clone();
    gtk.connect_map_event(move |win, _| {
        apply(win, &w);
        gtk::glib::Propagation::Proceed
    });
    let recent: Mutex<Vec<Instant>> = Mutex::new(Vec::new());
    let keep_full = fullscreen.clone();
    gtk.connect_window_state_event(move |win, event| {
        let fullscreen = keep_full.as_ref();
        let state = event.new_window_state();
        let fullscreen_lost = fullscreen.load(Ordering::SeqCst) && !state.contains(gtk::gdk::WindowState::FULLSCREEN);
        let above_lost = !state.contains(gtk::gdk::WindowState::ABOVE);
        if (fullscreen_lost || above_lost) && win.is_mapped() {
            let mut r = recent.lock().unwrap_or_else(|p| p.into_inner());
            r.retain(|t| t.elapsed() < Duration::from_secs(60));
            if r.len() < MAX_REASSERTS {
                r.push(Instant::now());
                tracing::warn!(
                    window = %label,
                    fullscreen_lost,
                    above_lost,
                    "kiosk: the window manager dropped the window's state; asking again"
                );
                apply(win, fullscreen);
            }
        }
        gtk::glib::Propagation::Proceed
    });
    // Already mapped (a window shown before this was called): ask now too.
    if gtk.is_mapped() {
        apply(&gtk, &fullscreen);
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
