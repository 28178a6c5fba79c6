//! What the lock-down decides without touching the desktop: the outcome type every part
//! reports, and the rules for escape keys and accessibility hotkeys. Kept apart from the
//! platform code so that the rules are tested on every platform.

/// The outcome of one part of the lock-down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Done,
    NotRequested,
    /// This platform or session has no such thing, or Booth cannot change it here.
    Unsupported(String),
    Failed(String),
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Done => f.write_str("done"),
            Status::NotRequested => f.write_str("not requested"),
            Status::Unsupported(why) => write!(f, "not supported here: {why}"),
            Status::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

/// Virtual-key codes the escape-key filter looks at (Windows' values).
pub mod vk {
    pub const TAB: u32 = 0x09;
    pub const ESCAPE: u32 = 0x1B;
    pub const SPACE: u32 = 0x20;
    pub const F4: u32 = 0x73;
    pub const LWIN: u32 = 0x5B;
    pub const RWIN: u32 = 0x5C;
}

/// Decides which key events the Windows hook swallows. Kept apart from the hook so the rules are
/// tested on every platform.
#[derive(Debug, Default)]
pub struct KeyFilter {
    win_down: bool,
}

impl KeyFilter {
    /// `true`: swallow this key event. `alt` / `ctrl`: whether those are held.
    pub fn swallow(&mut self, vk: u32, down: bool, alt: bool, ctrl: bool) -> bool {
        if vk == vk::LWIN || vk == vk::RWIN {
            self.win_down = down;
            return true;
        }
        if self.win_down {
            return true; // Win+anything: the Windows key itself never reached the system
        }
        match vk {
            vk::TAB | vk::ESCAPE | vk::SPACE | vk::F4 if alt => true,
            vk::ESCAPE if ctrl => true, // Ctrl+Esc, Ctrl+Shift+Esc
            _ => false,
        }
    }
}

/// Accessibility flag bits (the same positions in STICKYKEYS, FILTERKEYS and TOGGLEKEYS).
const FEATURE_ON: u32 = 0x01;
const HOTKEY_ACTIVE: u32 = 0x04;
const CONFIRM_HOTKEY: u32 = 0x08;

/// The flags with the hotkeys off — except for a feature the user has switched on, which keeps
/// its hotkey so it can still be switched off.
pub fn hotkeys_off(flags: [u32; 3]) -> [u32; 3] {
    flags.map(|f| if f & FEATURE_ON != 0 { f } else { f & !(HOTKEY_ACTIVE | CONFIRM_HOTKEY) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_filter_rules() {
        let mut f = KeyFilter::default();
        // Plain typing passes, Alt and Ctrl alone pass.
        assert!(!f.swallow(0x41, true, false, false));
        assert!(!f.swallow(vk::TAB, true, false, false));
        assert!(!f.swallow(vk::ESCAPE, true, false, false));
        assert!(!f.swallow(vk::F4, true, false, true)); // Ctrl+F4 is the page's
                                                        // Alt+Tab, Alt+Esc, Alt+Space, Alt+F4; Ctrl+Esc (and Ctrl+Shift+Esc).
        for key in [vk::TAB, vk::ESCAPE, vk::SPACE, vk::F4] {
            assert!(f.swallow(key, true, true, false), "Alt+{key:#x}");
        }
        assert!(f.swallow(vk::ESCAPE, true, false, true));
        // The Windows keys, and anything while one is held.
        assert!(f.swallow(vk::LWIN, true, false, false));
        assert!(f.swallow(0x52, true, false, false)); // Win+R
        assert!(f.swallow(0x52, false, false, false));
        assert!(f.swallow(vk::LWIN, false, false, false));
        assert!(!f.swallow(0x52, true, false, false)); // R again, Win released
        assert!(f.swallow(vk::RWIN, true, false, false));
        assert!(f.swallow(0x44, true, false, false)); // Win+D
        assert!(f.swallow(vk::RWIN, false, false, false));
        assert!(!f.swallow(0x44, true, false, false));
    }

    #[test]
    fn hotkeys_off_keeps_features_the_user_turned_on() {
        // Sticky Keys off with its hotkey and confirmation; Filter Keys on; Toggle Keys hotkey only.
        let before = [0x0000_01FE & !FEATURE_ON, 0x0000_007E | FEATURE_ON, HOTKEY_ACTIVE];
        let after = hotkeys_off(before);
        assert_eq!(after[0] & (HOTKEY_ACTIVE | CONFIRM_HOTKEY), 0);
        assert_eq!(after[0] | HOTKEY_ACTIVE | CONFIRM_HOTKEY, before[0]);
        assert_eq!(after[1], before[1]);
        assert_eq!(after[2], 0);
    }
}
