//! Where the screens are: the window system's monitor list, completed on X11 by RandR monitors.
//!
//! GTK skips RandR monitors that have no output of their own (a large display split with
//! `xrandr --setmonitor`, as video walls and some dual-screen terminals are set up), so it can
//! report one monitor where there are two. Booth asks RandR directly when GTK reports fewer.

/// A monitor's area in physical pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
    pub primary: bool,
}

impl From<Area> for super::layout::Rect {
    fn from(a: Area) -> Self {
        super::layout::Rect { x: a.x, y: a.y, width: a.width, height: a.height }
    }
}

/// Every monitor, the primary one first.
pub fn list(app: &tauri::AppHandle) -> Vec<Area> {
    let primary_pos = app.primary_monitor().ok().flatten().map(|m| *m.position());
    let mut areas: Vec<Area> = app
        .available_monitors()
        .unwrap_or_default()
        .iter()
        .map(|m| Area {
            x: m.position().x,
            y: m.position().y,
            width: m.size().width,
            height: m.size().height,
            primary: Some(*m.position()) == primary_pos,
        })
        .collect();
    #[cfg(target_os = "linux")]
    {
        let randr = randr_monitors();
        if randr.len() > areas.len() {
            areas = randr;
        }
    }
    if !areas.iter().any(|a| a.primary) {
        // No primary named: the one at the origin (or the first) is.
        let i = areas.iter().position(|a| a.x == 0 && a.y == 0).unwrap_or(0);
        if let Some(a) = areas.get_mut(i) {
            a.primary = true;
        }
    }
    areas.sort_by_key(|a| !a.primary);
    areas
}

/// RandR 1.5 monitors of the X display, or nothing (Wayland, no DISPLAY, old servers).
#[cfg(target_os = "linux")]
pub(crate) fn randr_monitors() -> Vec<Area> {
    use x11rb::protocol::randr::ConnectionExt;
    if std::env::var_os("DISPLAY").is_none() {
        return vec![];
    }
    let Ok((conn, screen)) = x11rb::connect(None) else { return vec![] };
    let Some(root) = x11rb::connection::Connection::setup(&conn).roots.get(screen).map(|s| s.root) else {
        return vec![];
    };
    let Ok(reply) = conn
        .randr_get_monitors(root, true)
        .map_err(|e| e.to_string())
        .and_then(|c| c.reply().map_err(|e| e.to_string()))
    else {
        return vec![];
    };
    reply
        .monitors
        .iter()
        .map(|m| Area {
            x: m.x.into(),
            y: m.y.into(),
            width: m.width.into(),
            height: m.height.into(),
            primary: m.primary,
        })
        .collect()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// scripts/test-all splits its X display into two monitors side by side with
    /// `xrandr --setmonitor` (which GTK reports as one) and exports the second one's x.
    #[test]
    #[ignore = "needs the two-monitor X display of scripts/test-all"]
    fn randr_sees_monitors_that_gtk_misses() {
        let x: i32 = std::env::var("BOOTH_E2E_SECOND_MONITOR_X")
            .expect("run through scripts/test-all")
            .parse()
            .expect("a number");
        let monitors = super::randr_monitors();
        assert_eq!(monitors.len(), 2, "{monitors:?}");
        assert!(monitors.iter().any(|m| m.x == x && m.width > 0), "{monitors:?}");
    }
}
