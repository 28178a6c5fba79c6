//! Bank card issuers by BIN (the number's first digits): the table `scripts/setup.sh` makes
//! from npm `bankcardinfo` 2.0.6 (ISC; 125 Chinese banks, about 1,800 prefixes), one
//! `prefix<TAB>length<TAB>bank code<TAB>bank name<TAB>card type` line each. The longest prefix
//! that fits a number of that length wins. The table is as old as the package (2019): a newer
//! BIN is simply not found, and the card's printed bank name still stands.

use std::path::Path;

/// One BIN.
#[derive(Debug, Clone, PartialEq)]
pub struct Issuer {
    /// `ICBC`, `CCB`, … (seed 002's `bankId`).
    pub code: String,
    pub name: String,
    /// Seed 002's words: 借记卡, 贷记卡, 准贷记卡, 预付费卡.
    pub card_type: &'static str,
}

#[derive(Debug, Default)]
pub struct Bins {
    rows: Vec<(String, usize, Issuer)>,
}

impl Bins {
    /// Reads the table; a missing or unreadable file gives an empty table (and a log line).
    pub fn load(path: &Path) -> Bins {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bins = Bins::parse(&text);
                tracing::info!(bins = bins.len(), "bank card BIN table loaded");
                bins
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "no bank card BIN table: banks are what cards print");
                Bins::default()
            }
        }
    }

    pub fn parse(text: &str) -> Bins {
        let rows = text
            .lines()
            .filter_map(|line| {
                let mut f = line.split('\t');
                let (prefix, len, code, name, kind) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
                let card_type = match kind.trim() {
                    "DC" => "借记卡",
                    "CC" => "贷记卡",
                    "SCC" => "准贷记卡",
                    "PC" => "预付费卡",
                    _ => return None,
                };
                prefix.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
                let issuer = Issuer { code: code.to_string(), name: name.to_string(), card_type };
                Some((prefix.to_string(), len.trim().parse().ok()?, issuer))
            })
            .collect();
        Bins { rows }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The issuer of a card number, if the table knows its BIN.
    pub fn issuer(&self, number: &str) -> Option<&Issuer> {
        self.rows
            .iter()
            .filter(|(p, len, _)| *len == number.len() && number.starts_with(p.as_str()))
            .max_by_key(|(p, _, _)| p.len())
            .map(|(_, _, i)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_prefix_of_the_right_length_wins() {
        let b = Bins::parse("621700\t19\tCCB\t中国建设银行\tDC\n62170012\t19\tXX\t某银行\tCC\n622588\t16\tCMB\t招商银行\tCC\nbad line\n");
        assert_eq!(b.len(), 3);
        assert_eq!(b.issuer("6217000010012345677").map(|i| i.code.as_str()), Some("CCB"));
        assert_eq!(b.issuer("6217001210012345677").map(|i| (i.code.as_str(), i.card_type)), Some(("XX", "贷记卡")));
        assert_eq!(b.issuer("6225880000000000").map(|i| i.name.as_str()), Some("招商银行"));
        // Right prefix, wrong length; unknown prefix.
        assert_eq!(b.issuer("62258800000000000"), None);
        assert_eq!(b.issuer("4111111111111111"), None);
        assert!(Bins::load(Path::new("/nonexistent/bank-bins.tsv")).is_empty());
    }
}
