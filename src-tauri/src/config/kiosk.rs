//! booth.toml `[kiosk]`: how a terminal behaves when nobody is watching it — the operation
//! timeout pages ask for, the shell's own idle reset, the administrator's gesture, the secondary
//! screen's placement and how a dead or hung page is brought back.

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KioskSection {
    /// `ampeStartOperationWatcher`'s countdown, in seconds (seed 000: default 30; 0 turns it off).
    pub operation_timeout_s: u64,
    /// Kiosk mode: after this many seconds without a touch, click or key, go back to the
    /// package's entry and clear the page's cookies and storage. 0 turns it off.
    pub idle_s: u64,
    /// Seconds of on-screen warning before that reset (any touch cancels it); 0: no warning.
    pub idle_warning_s: u64,
    /// Clear cookies, storage and caches at the idle reset.
    pub idle_clear_data: bool,
    /// Where the administrator taps: `top-left`, `top-right`, `bottom-left` or `bottom-right`.
    pub admin_corner: String,
    /// How many taps in that corner open the PIN pad …
    pub admin_taps: u32,
    /// … within this many milliseconds.
    pub admin_window_ms: u64,
    /// Size of the corner's square, in CSS pixels.
    pub admin_corner_px: u32,
    /// Where the secondary screen goes: `auto` (the first monitor that is not the primary one),
    /// `none` (never shown), or a monitor number counted from 1 in `booth doctor`'s order.
    pub secondary_monitor: String,
    /// A page that does not answer Booth's heartbeat for this many seconds is reloaded.
    pub hang_s: u64,
    /// First retry delay of the launcher page when the package cannot load, in seconds; it
    /// doubles after each failure up to `retry_max_s`.
    pub retry_s: u64,
    pub retry_max_s: u64,
    /// With more than one app in `[apps]`: start on Booth's home screen (a grid of the apps)
    /// and go back to it when an app ends. `false`: the terminal runs `[package]` as with one app.
    pub home: bool,
}

impl Default for KioskSection {
    fn default() -> Self {
        KioskSection {
            operation_timeout_s: 30,
            idle_s: 120,
            idle_warning_s: 10,
            idle_clear_data: true,
            admin_corner: "top-right".into(),
            admin_taps: 5,
            admin_window_ms: 3000,
            admin_corner_px: 80,
            secondary_monitor: "auto".into(),
            hang_s: 3,
            retry_s: 5,
            retry_max_s: 60,
            home: true,
        }
    }
}

/// The administrator's corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Corner {
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}

impl std::str::FromStr for Corner {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "top-left" => Corner::TopLeft,
            "top-right" => Corner::TopRight,
            "bottom-left" => Corner::BottomLeft,
            "bottom-right" => Corner::BottomRight,
            other => return Err(format!("`{other}` is not one of top-left, top-right, bottom-left, bottom-right")),
        })
    }
}

/// Where the secondary screen goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondaryPlacement {
    Auto,
    Never,
    /// Index into the monitor list (0 = the primary one).
    Monitor(usize),
}

impl KioskSection {
    pub fn corner(&self) -> Corner {
        self.admin_corner.parse().unwrap_or(Corner::TopRight)
    }

    pub fn secondary(&self) -> SecondaryPlacement {
        match self.secondary_monitor.as_str() {
            "none" => SecondaryPlacement::Never,
            s => match s.parse::<usize>() {
                Ok(n) if n >= 1 => SecondaryPlacement::Monitor(n - 1),
                _ => SecondaryPlacement::Auto,
            },
        }
    }

    pub fn operation_timeout(&self) -> Option<Duration> {
        (self.operation_timeout_s > 0).then(|| Duration::from_secs(self.operation_timeout_s))
    }

    pub fn idle(&self) -> Option<Duration> {
        (self.idle_s > 0).then(|| Duration::from_secs(self.idle_s))
    }

    pub fn validate(&self) -> Result<(), String> {
        self.admin_corner.parse::<Corner>().map_err(|e| format!("kiosk.admin_corner: {e}"))?;
        if !(2..=20).contains(&self.admin_taps) {
            return Err("kiosk.admin_taps: must be 2 to 20".into());
        }
        if !(500..=10_000).contains(&self.admin_window_ms) {
            return Err("kiosk.admin_window_ms: must be 500 to 10000".into());
        }
        if !(20..=400).contains(&self.admin_corner_px) {
            return Err("kiosk.admin_corner_px: must be 20 to 400".into());
        }
        match self.secondary_monitor.as_str() {
            "auto" | "none" => {}
            s if s.parse::<usize>().is_ok_and(|n| (1..=16).contains(&n)) => {}
            s => return Err(format!("kiosk.secondary_monitor: `{s}` is not auto, none or a monitor number 1–16")),
        }
        if self.operation_timeout_s > 86_400 || self.idle_s > 86_400 {
            return Err("kiosk: timeouts are at most 86400 s (a day)".into());
        }
        if self.idle_s > 0 && self.idle_warning_s >= self.idle_s {
            return Err("kiosk.idle_warning_s: must be shorter than idle_s".into());
        }
        if !(1..=60).contains(&self.hang_s) {
            return Err("kiosk.hang_s: must be 1 to 60".into());
        }
        if self.retry_s == 0 || self.retry_max_s < self.retry_s {
            return Err("kiosk.retry_s: must be positive and at most retry_max_s".into());
        }
        Ok(())
    }
}
