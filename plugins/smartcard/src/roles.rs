//! Which PC/SC reader does what: the card reader, PSAM slot 1 and PSAM slot 2.
//!
//! The rules, applied to the reader list in the order PC/SC gives it (the order the readers
//! appeared), each time a reader is needed, so a replugged reader finds its role again:
//! 1. A role with a pattern in `booth.toml` takes the first reader matching it that no earlier
//!    configured role took (roles are looked at in the order card, psam1, psam2).
//! 2. A PSAM slot without a pattern takes the next remaining reader whose name contains `SAM`
//!    (any case): the first such reader is slot 1, the second slot 2.
//! 3. The card reader without a pattern takes the first remaining reader whose name does not
//!    contain `SAM`.
//!
//! A pattern matches case-insensitively; `*` stands for any run of characters and `?` for one.
//! A pattern without wildcards matches any reader whose name contains it.

use serde::Serialize;
use std::fmt;

/// What a reader is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The card reader: CPU cards and social security cards (seed `type: 1`).
    Card,
    /// PSAM slot 1 (seed `type: 2, slot: 1`).
    Psam1,
    /// PSAM slot 2 (seed `type: 2, slot: 2`).
    Psam2,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Card, Role::Psam1, Role::Psam2];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Card => "card",
            Role::Psam1 => "psam1",
            Role::Psam2 => "psam2",
        }
    }

    /// The PSAM slot for seed `slot` 1 / 2.
    pub fn psam(slot: i64) -> Option<Role> {
        match slot {
            1 => Some(Role::Psam1),
            2 => Some(Role::Psam2),
            _ => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reader-name patterns from `booth.toml`; `None` = automatic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolePatterns {
    pub card: Option<String>,
    pub psam1: Option<String>,
    pub psam2: Option<String>,
}

impl RolePatterns {
    pub fn get(&self, role: Role) -> Option<&str> {
        match role {
            Role::Card => self.card.as_deref(),
            Role::Psam1 => self.psam1.as_deref(),
            Role::Psam2 => self.psam2.as_deref(),
        }
        .filter(|p| !p.trim().is_empty())
    }
}

/// One role's reader and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub reader: String,
    /// `pattern "…"` or `auto`.
    pub how: String,
}

/// The readers of each role (`None`: no reader for it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub card: Option<Choice>,
    pub psam1: Option<Choice>,
    pub psam2: Option<Choice>,
}

impl Assignment {
    pub fn get(&self, role: Role) -> Option<&Choice> {
        match role {
            Role::Card => self.card.as_ref(),
            Role::Psam1 => self.psam1.as_ref(),
            Role::Psam2 => self.psam2.as_ref(),
        }
    }

    /// The role of a reader, if it has one.
    pub fn role_of(&self, reader: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| self.get(*r).is_some_and(|c| c.reader == reader))
    }
}

fn is_sam(name: &str) -> bool {
    name.to_ascii_lowercase().contains("sam")
}

/// Whether `name` matches `pattern` (see the module documentation).
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let n: Vec<char> = name.to_lowercase().chars().collect();
    if !p.iter().any(|c| *c == '*' || *c == '?') {
        let p: String = p.into_iter().collect();
        let n: String = n.into_iter().collect();
        return n.contains(&p);
    }
    // Iterative glob with backtracking to the last `*`.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// Gives each role its reader (see the module documentation).
pub fn assign(readers: &[String], patterns: &RolePatterns) -> Assignment {
    let mut taken = vec![false; readers.len()];
    let mut out: [Option<Choice>; 3] = [None, None, None];
    for role in Role::ALL {
        if let Some(p) = patterns.get(role) {
            if let Some(i) = (0..readers.len()).find(|&i| !taken[i] && matches(p, &readers[i])) {
                taken[i] = true;
                out[role.index()] = Some(Choice { reader: readers[i].clone(), how: format!("pattern \"{p}\"") });
            }
        }
    }
    for role in [Role::Psam1, Role::Psam2] {
        if patterns.get(role).is_none() {
            if let Some(i) = (0..readers.len()).find(|&i| !taken[i] && is_sam(&readers[i])) {
                taken[i] = true;
                out[role.index()] =
                    Some(Choice { reader: readers[i].clone(), how: "auto: a reader with SAM in its name".into() });
            }
        }
    }
    if patterns.get(Role::Card).is_none() {
        if let Some(i) = (0..readers.len()).find(|&i| !taken[i] && !is_sam(&readers[i])) {
            out[Role::Card.index()] = Some(Choice {
                reader: readers[i].clone(),
                how: "auto: the first reader without SAM in its name".into(),
            });
        }
    }
    let [card, psam1, psam2] = out;
    Assignment { card, psam1, psam2 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn readers(a: &Assignment) -> [Option<&str>; 3] {
        Role::ALL.map(|r| a.get(r).map(|c| c.reader.as_str()))
    }

    #[test]
    fn globs() {
        assert!(matches("ACS*PICC*", "ACS ACR1281 1S Dual Reader [ACR1281 PICC] 00 00"));
        assert!(matches("picc", "ACS ACR1281 1S Dual Reader [ACR1281 PICC] 00 00"));
        assert!(!matches("ACS*SAM", "ACS ACR1281 SAM 00 01"));
        assert!(matches("ACS*SAM*", "ACS ACR1281 SAM 00 01"));
        assert!(matches("*00 0?", "Booth PSAM 00 01"));
        assert!(matches("*", ""));
        assert!(!matches("x", ""));
        assert!(matches("*a*b*c", "xxaxxbxxc"));
        assert!(!matches("*a*b*c", "xxaxxcxxb"));
    }

    #[test]
    fn automatic_roles_are_predictable() {
        let list = names(&["Booth Card 00 00", "Booth Card 00 01", "Booth PSAM 00 00", "Booth PSAM 00 01"]);
        let a = assign(&list, &RolePatterns::default());
        assert_eq!(readers(&a), [Some("Booth Card 00 00"), Some("Booth PSAM 00 00"), Some("Booth PSAM 00 01")]);
        assert!(a.card.as_ref().unwrap().how.starts_with("auto"));
        assert_eq!(a.role_of("Booth PSAM 00 01"), Some(Role::Psam2));
        assert_eq!(a.role_of("Booth Card 00 01"), None);

        // SAM readers listed first still do not become the card reader.
        let list = names(&["Dual [SAM] 00 00", "Dual [PICC] 00 01"]);
        assert_eq!(
            readers(&assign(&list, &RolePatterns::default())),
            [Some("Dual [PICC] 00 01"), Some("Dual [SAM] 00 00"), None]
        );

        // Only SAM readers: no card reader.
        let list = names(&["X SAM 00 00"]);
        assert_eq!(readers(&assign(&list, &RolePatterns::default())), [None, Some("X SAM 00 00"), None]);
        assert_eq!(assign(&[], &RolePatterns::default()), Assignment::default());
    }

    #[test]
    fn patterns_win_and_claim_their_reader() {
        let list = names(&["Booth Card 00 00", "Booth Card 00 01", "Booth PSAM 00 00", "Booth PSAM 00 01"]);
        let p = RolePatterns { card: Some("card 00 01".into()), psam1: Some("*PSAM 00 01".into()), psam2: None };
        let a = assign(&list, &p);
        assert_eq!(readers(&a), [Some("Booth Card 00 01"), Some("Booth PSAM 00 01"), Some("Booth PSAM 00 00")]);
        assert_eq!(a.card.unwrap().how, "pattern \"card 00 01\"");

        // A pattern that matches nothing leaves its role empty rather than guessing.
        let p = RolePatterns { card: Some("Gemalto".into()), ..RolePatterns::default() };
        assert_eq!(readers(&assign(&list, &p))[0], None);

        // Two roles with the same pattern get different readers.
        let p = RolePatterns { psam1: Some("PSAM".into()), psam2: Some("PSAM".into()), card: None };
        assert_eq!(
            readers(&assign(&list, &p)),
            [Some("Booth Card 00 00"), Some("Booth PSAM 00 00"), Some("Booth PSAM 00 01")]
        );
        // An empty pattern is automatic.
        let p = RolePatterns { card: Some(" ".into()), ..RolePatterns::default() };
        assert_eq!(readers(&assign(&list, &p))[0], Some("Booth Card 00 00"));
    }
}
