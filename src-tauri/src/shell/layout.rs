//! Where windows go when Booth places them next to each other (physical pixels, no window system
//! needed: tested as plain arithmetic).

/// A screen area or a window's outer frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
}

/// Where the page's window and the simulator panel go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Beside {
    pub page: Rect,
    pub panel: Rect,
    /// The screen was too small for both: the panel covers the page's right edge.
    pub overlaps: bool,
}

/// Gap between the two windows.
const GAP: u32 = 8;

/// Puts the page (size `page`, never shrunk) and the panel (`panel`, shrunk down to `min_panel`
/// wide and to the screen's height when needed) side by side, centred as a pair on monitor
/// `here`. Where that monitor cannot hold both, the panel goes to the top right of another
/// monitor; with no other monitor it covers the page's right edge at its narrowest.
pub fn beside(monitors: &[Rect], here: usize, page: (u32, u32), panel: (u32, u32), min_panel: u32) -> Option<Beside> {
    let m = *monitors.get(here)?;
    let room = m.width.saturating_sub(page.0.saturating_add(GAP));
    let panel_h = panel.1.min(m.height);
    let page_y = m.y + (m.height.saturating_sub(page.1) / 2) as i32;
    if room >= min_panel {
        let panel_w = panel.0.min(room);
        let x0 = m.x + (m.width - (page.0 + GAP + panel_w)) as i32 / 2;
        let page_rect = Rect { x: x0, y: page_y, width: page.0, height: page.1 };
        let panel_rect = Rect { x: x0 + (page.0 + GAP) as i32, y: m.y, width: panel_w, height: panel_h };
        return Some(Beside { page: page_rect, panel: panel_rect, overlaps: false });
    }
    let page_rect = Rect { x: m.x, y: page_y, width: page.0, height: page.1 };
    if let Some(other) = monitors.iter().enumerate().find(|(i, _)| *i != here).map(|(_, o)| *o) {
        let w = panel.0.min(other.width);
        let panel_rect =
            Rect { x: other.x + (other.width - w) as i32, y: other.y, width: w, height: panel.1.min(other.height) };
        return Some(Beside { page: page_rect, panel: panel_rect, overlaps: false });
    }
    let w = min_panel.min(m.width);
    let panel_rect = Rect { x: m.x + (m.width - w) as i32, y: m.y, width: w, height: panel_h };
    Some(Beside { page: page_rect, panel: panel_rect, overlaps: true })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HD: Rect = Rect { x: 0, y: 0, width: 1920, height: 1080 };

    fn disjoint(a: Rect, b: Rect) -> bool {
        a.x + a.width as i32 <= b.x || b.x + b.width as i32 <= a.x
    }

    #[test]
    fn full_hd_holds_the_page_and_the_panel_side_by_side() {
        let p = beside(&[HD], 0, (1282, 830), (462, 850), 342).unwrap();
        assert!(!p.overlaps);
        assert_eq!((p.page.width, p.page.height), (1282, 830), "the page keeps its size");
        assert_eq!(p.panel.width, 462);
        assert!(disjoint(p.page, p.panel));
        assert!(p.page.x >= 0 && p.panel.x + p.panel.width as i32 <= 1920, "{p:?}");
        assert_eq!(p.panel.height, 850);
    }

    #[test]
    fn a_narrower_screen_shrinks_the_panel_not_the_page() {
        let m = Rect { x: 0, y: 0, width: 1680, height: 768 };
        let p = beside(&[m], 0, (1282, 830), (462, 850), 342).unwrap();
        assert!(!p.overlaps);
        assert_eq!(p.page.width, 1282);
        assert_eq!(p.panel.width, 1680 - 1282 - 8);
        assert_eq!(p.panel.height, 768);
        assert!(disjoint(p.page, p.panel));
    }

    #[test]
    fn too_small_uses_another_monitor_or_covers_the_page_edge_at_the_narrowest() {
        let left = Rect { x: 0, y: 0, width: 1280, height: 1080 };
        let right = Rect { x: 1280, y: 0, width: 1280, height: 1080 };
        let p = beside(&[left, right], 0, (1282, 830), (462, 850), 342).unwrap();
        assert!(!p.overlaps);
        assert_eq!(p.panel.x, 2560 - 462);
        let p = beside(&[left], 0, (1282, 830), (462, 850), 342).unwrap();
        assert!(p.overlaps);
        assert_eq!((p.panel.x, p.panel.width), (1280 - 342, 342));
        assert_eq!(p.page.width, 1282);
    }
}
