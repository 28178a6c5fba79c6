//! Page keys: one random secret per page window, known to Booth's own initialization scripts
//! (kept in their closures, `miniapp-host/js/internal.js`) and to Booth. Booth's internal
//! commands (`booth_input`, `booth_shell`) act only on a request that carries its window's key,
//! so a mini-program cannot forge a scan, a key, an activity report or the administrator's
//! gesture by calling those commands itself.

use crate::names::{MAIN, SECONDARY};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// The header Booth's scripts send the key in.
pub const HEADER: &str = "Booth-Page-Key";

/// The keys of this run, one per page window (made at start, never shown or logged), and the
/// windows whose pages were already refused once (logged once).
pub struct PageKeys(HashMap<&'static str, String>, Mutex<HashSet<String>>);

impl PageKeys {
    /// New random keys for the main and the secondary window.
    pub fn new() -> Result<Self, getrandom::Error> {
        let mut keys = HashMap::new();
        for label in [MAIN, SECONDARY] {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)?;
            keys.insert(label, bytes.iter().map(|b| format!("{b:02x}")).collect());
        }
        Ok(Self(keys, Mutex::default()))
    }

    /// True the first time a page of `label` is refused.
    pub fn first_refusal(&self, label: &str) -> bool {
        self.1.lock().unwrap_or_else(|p| p.into_inner()).insert(label.to_string())
    }

    /// The key of `label`'s window, for its scripts.
    pub fn key(&self, label: &str) -> Option<&str> {
        self.0.get(label).map(String::as_str)
    }

    /// Whether `presented` is `label`'s key. Compared in constant time, so that the answer's
    /// timing tells a guessing page nothing.
    pub fn check(&self, label: &str, presented: Option<&[u8]>) -> bool {
        let (Some(key), Some(presented)) = (self.0.get(label), presented) else { return false };
        let key = key.as_bytes();
        if key.len() != presented.len() {
            return false;
        }
        key.iter().zip(presented).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_window_has_its_own_key_and_only_it_passes() {
        let keys = PageKeys::new().unwrap();
        let main = keys.key(MAIN).unwrap().to_string();
        let secondary = keys.key(SECONDARY).unwrap().to_string();
        assert_eq!(main.len(), 64);
        assert_ne!(main, secondary);
        assert!(keys.check(MAIN, Some(main.as_bytes())));
        assert!(!keys.check(SECONDARY, Some(main.as_bytes())), "a key is good for its own window only");
        assert!(!keys.check(MAIN, None));
        assert!(!keys.check(MAIN, Some(&main.as_bytes()[..63])));
        assert!(!keys.check(MAIN, Some(b"")));
        assert!(!keys.check("admin", Some(main.as_bytes())), "no other window has a key");
        assert_ne!(PageKeys::new().unwrap().key(MAIN).unwrap(), main, "new keys each run");
    }
}
