//! Keyboard-wedge scanners: barcode scanners that type the code as key presses and end it with
//! Enter.
//!
//! - In the page (`Wedge::Page`): `miniapp-host/js/inputs.js` recognises key bursts at scanner
//!   speed (every key within `max_gap_ms` of the previous one, at least `min_length`
//!   characters, then Enter), keeps them out of the page and reports the code here.
//! - From a dedicated device (`Wedge::Device`): the scanner's own keyboard device, read through
//!   `booth-keyboard` (evdev grabbed on Linux, so the page never sees its keys; Raw Input on
//!   Windows, where the page-side filter also catches the keys and the same code reported twice
//!   within a moment counts once).

use booth_keyboard::{names, KeyEvent};
use std::time::{Duration, Instant};

/// Where wedge scans are recognised.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Wedge {
    #[default]
    Off,
    Page,
    Device(booth_keyboard::DeviceSpec),
}

/// How a burst is told from typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    pub min_length: usize,
    pub max_gap_ms: u64,
}

impl Default for Burst {
    fn default() -> Self {
        Burst { min_length: 4, max_gap_ms: 50 }
    }
}

/// Turns a device's key presses into codes: characters until Enter.
pub struct Assembler {
    text: String,
    shift: bool,
    last: Option<Instant>,
    /// A partial code older than this is dropped (the scanner never pauses mid-code).
    stale: Duration,
    min_length: usize,
}

impl Assembler {
    pub fn new(burst: Burst) -> Assembler {
        Assembler {
            text: String::new(),
            shift: false,
            last: None,
            stale: Duration::from_millis(burst.max_gap_ms.max(1) * 20),
            min_length: burst.min_length.max(1),
        }
    }

    /// Feeds one key event; returns a finished code.
    pub fn key(&mut self, ev: KeyEvent) -> Option<String> {
        if names::is_shift(ev.code) {
            self.shift = ev.down;
            return None;
        }
        if !ev.down {
            return None;
        }
        let now = Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) > self.stale) {
            self.text.clear();
        }
        self.last = Some(now);
        if ev.code == "Enter" || ev.code == "NumpadEnter" {
            let code = std::mem::take(&mut self.text);
            return (code.chars().count() >= self.min_length).then_some(code);
        }
        if let Some(c) = names::char_of(ev.code, self.shift) {
            if self.text.len() < crate::MAX_CODE_BYTES {
                self.text.push(c);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(a: &mut Assembler, code: &'static str) -> Option<String> {
        a.key(KeyEvent { code, down: true }).or_else(|| a.key(KeyEvent { code, down: false }))
    }

    #[test]
    fn keys_become_a_code_at_enter() {
        let mut a = Assembler::new(Burst::default());
        for k in ["Digit6", "Digit9", "Digit0", "Digit1"] {
            assert_eq!(press(&mut a, k), None);
        }
        a.key(KeyEvent { code: "ShiftLeft", down: true });
        assert_eq!(press(&mut a, "KeyX"), None);
        a.key(KeyEvent { code: "ShiftLeft", down: false });
        assert_eq!(press(&mut a, "Minus"), None);
        assert_eq!(press(&mut a, "Enter"), Some("6901X-".to_string()));
        // Too short: not a code.
        assert_eq!(press(&mut a, "Digit1"), None);
        assert_eq!(press(&mut a, "NumpadEnter"), None);
    }
}
