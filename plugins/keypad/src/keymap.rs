//! Android key codes (what seed 001's `registKeyBoard` lists) to PC keys (W3C `code` names, as
//! pages, evdev and Raw Input deliver them through Booth).
//!
//! Seed 001 labels the frog terminal's own keypad: 144 is its "1", 145 "2", … 149 "6", and 157
//! "+". The default table follows those labels and continues them (150–152 "7"–"9", 153 "0");
//! 154–158 and 160 are Android's numeric-keypad operators, decimal point and Enter, which agree
//! with the seed's 157. A few general Android codes (digits 7–16, Enter 66, Del 67, Escape 111,
//! Forward-delete 112) are mapped too. `[keypad.keys]` in booth.toml replaces or adds entries.

use std::collections::{BTreeMap, HashMap};

/// The default table: (Android code, PC keys).
pub const DEFAULT: &[(u32, &[&str])] = &[
    (144, &["Numpad1"]),
    (145, &["Numpad2"]),
    (146, &["Numpad3"]),
    (147, &["Numpad4"]),
    (148, &["Numpad5"]),
    (149, &["Numpad6"]),
    (150, &["Numpad7"]),
    (151, &["Numpad8"]),
    (152, &["Numpad9"]),
    (153, &["Numpad0"]),
    (154, &["NumpadDivide"]),
    (155, &["NumpadMultiply"]),
    (156, &["NumpadSubtract"]),
    (157, &["NumpadAdd"]),
    (158, &["NumpadDecimal"]),
    (160, &["NumpadEnter"]),
    (7, &["Digit0"]),
    (8, &["Digit1"]),
    (9, &["Digit2"]),
    (10, &["Digit3"]),
    (11, &["Digit4"]),
    (12, &["Digit5"]),
    (13, &["Digit6"]),
    (14, &["Digit7"]),
    (15, &["Digit8"]),
    (16, &["Digit9"]),
    (66, &["Enter"]),
    (67, &["Backspace"]),
    (111, &["Escape"]),
    (112, &["Delete"]),
];

/// Both directions of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    to_pc: BTreeMap<u32, Vec<String>>,
    from_pc: HashMap<String, Vec<u32>>,
}

impl Default for KeyMap {
    fn default() -> Self {
        KeyMap::new(&BTreeMap::new()).unwrap_or_else(|_| unreachable!("the default table is valid"))
    }
}

/// Whether a PC key name looks like a W3C `code` value (letters and digits, starting upper-case).
fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 32
        && n.starts_with(|c: char| c.is_ascii_uppercase())
        && n.chars().all(|c| c.is_ascii_alphanumeric())
}

impl KeyMap {
    /// The default table with `overrides` (Android code as a string → PC key names; an empty
    /// list removes the code).
    pub fn new(overrides: &BTreeMap<String, Vec<String>>) -> Result<KeyMap, String> {
        let mut to_pc: BTreeMap<u32, Vec<String>> =
            DEFAULT.iter().map(|(code, keys)| (*code, keys.iter().map(|k| k.to_string()).collect())).collect();
        for (code, keys) in overrides {
            let n: u32 =
                code.trim().parse().map_err(|_| format!("keypad.keys: `{code}` is not an Android key code"))?;
            if let Some(bad) = keys.iter().find(|k| !valid_name(k)) {
                return Err(format!("keypad.keys.{code}: `{bad}` is not a key name like Numpad1 or KeyA"));
            }
            if keys.is_empty() {
                to_pc.remove(&n);
            } else {
                to_pc.insert(n, keys.clone());
            }
        }
        let mut from_pc: HashMap<String, Vec<u32>> = HashMap::new();
        for (code, keys) in &to_pc {
            for k in keys {
                from_pc.entry(k.clone()).or_default().push(*code);
            }
        }
        Ok(KeyMap { to_pc, from_pc })
    }

    /// The Android codes a PC key stands for.
    pub fn android_for(&self, pc: &str) -> &[u32] {
        self.from_pc.get(pc).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every PC key in the table (the page only reports these).
    pub fn pc_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.from_pc.keys().cloned().collect();
        keys.sort();
        keys
    }

    pub fn table(&self) -> &BTreeMap<u32, Vec<String>> {
        &self.to_pc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_labels_and_overrides() {
        let m = KeyMap::default();
        assert_eq!(m.android_for("Numpad1"), [144]);
        assert_eq!(m.android_for("Numpad6"), [149]);
        assert_eq!(m.android_for("NumpadAdd"), [157]);
        assert_eq!(m.android_for("KeyQ"), [] as [u32; 0]);
        let o: BTreeMap<String, Vec<String>> = [
            ("144".to_string(), vec!["Numpad0".to_string(), "Digit0".to_string()]),
            ("157".to_string(), vec![]),
            ("200".to_string(), vec!["F1".to_string()]),
        ]
        .into_iter()
        .collect();
        let m = KeyMap::new(&o).unwrap();
        assert_eq!(m.android_for("Digit0"), [7, 144]);
        assert!(m.android_for("NumpadAdd").is_empty());
        assert_eq!(m.android_for("F1"), [200]);
        assert!(KeyMap::new(&[("x".to_string(), vec![])].into_iter().collect()).is_err());
        assert!(KeyMap::new(&[("1".to_string(), vec!["numpad 1".to_string()])].into_iter().collect()).is_err());
    }
}
