//! `[payment]` in booth.toml.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `[payment]` as written in booth.toml (README → Payments lists every key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentSection {
    /// The journal file; default `<local data dir>/booth/payments/journal.log`.
    pub journal: String,
    /// How long after a face login quickPay may charge without a second face, seconds.
    pub quick_pay_s: u64,
    /// Faces that fail in a row before facePay offers the customer's payment code instead
    /// (`onFacePayFailedEvent` "-8", "请出示付款码").
    pub face_attempts: u32,
    /// How long the screen waits for the customer's payment code at the scanner, seconds.
    pub code_timeout_s: u64,
    /// How long Booth keeps asking (same Idempotency-Key, then `/v1/pay/query`) before a
    /// payment whose answer was lost is reported as failed to query ("-10"), seconds.
    pub answer_timeout_s: u64,
    /// Whether the POS serial port of `[pos]` also carries the cash register's payment lines.
    pub register: bool,
    /// Who charges a facePay (or quickPay) without `requireFaceCode` when a register is
    /// connected: `false`, Booth charges through the provider and tells the register `PAID` /
    /// `FAIL`; `true`, the seed device's way, Booth hands the register `CODE <faceCode>`, the
    /// register charges it, and Booth asks the provider what the code came to.
    pub register_charges: bool,
    /// How long Booth asks after a `CODE` line before it tells the page the register never
    /// charged the code (`onQueryPaymentFailedEvent` "-6"), seconds.
    pub register_wait_s: u64,
    /// The register's words (README → Cash register): `AMT 1250` in, `CODE …`, `PAID …`,
    /// `FAIL …` out.
    pub amount_word: String,
    pub code_word: String,
    pub paid_word: String,
    pub fail_word: String,
    /// What ends a line Booth sends: `crlf` or `lf`.
    pub line_end: String,
}

impl Default for PaymentSection {
    fn default() -> Self {
        PaymentSection {
            journal: String::new(),
            quick_pay_s: 45,
            face_attempts: 3,
            code_timeout_s: 60,
            answer_timeout_s: 30,
            register: true,
            register_charges: false,
            register_wait_s: 120,
            amount_word: "AMT".into(),
            code_word: "CODE".into(),
            paid_word: "PAID".into(),
            fail_word: "FAIL".into(),
            line_end: "crlf".into(),
        }
    }
}

/// `[payment]` checked, with the journal's path resolved.
#[derive(Debug, Clone)]
pub struct PaymentConfig {
    pub journal: PathBuf,
    pub quick_pay: Duration,
    pub face_attempts: u32,
    pub code_timeout: Duration,
    pub answer_timeout: Duration,
    pub register: bool,
    pub register_charges: bool,
    pub register_wait: Duration,
    pub words: Words,
    /// The terminal's serial number, as the provider knows it.
    pub terminal: String,
}

/// The cash register's line words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words {
    pub amount: String,
    pub code: String,
    pub paid: String,
    pub fail: String,
    pub line_end: &'static str,
}

impl Default for Words {
    fn default() -> Self {
        Words { amount: "AMT".into(), code: "CODE".into(), paid: "PAID".into(), fail: "FAIL".into(), line_end: "\r\n" }
    }
}

impl PaymentSection {
    /// The journal's default folder is `<data>/booth/payments`.
    pub fn resolve(&self, data: &Path, terminal: &str) -> Result<PaymentConfig, String> {
        let word = |key: &str, w: &str| -> Result<String, String> {
            let w = w.trim();
            if w.is_empty() || w.len() > 16 || !w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(format!("[payment] {key} 应为 1–16 个字母或数字 (得到 {w:?})"));
            }
            Ok(w.to_string())
        };
        let words = Words {
            amount: word("amount_word", &self.amount_word)?,
            code: word("code_word", &self.code_word)?,
            paid: word("paid_word", &self.paid_word)?,
            fail: word("fail_word", &self.fail_word)?,
            line_end: match self.line_end.as_str() {
                "crlf" => "\r\n",
                "lf" => "\n",
                other => return Err(format!("[payment] line_end 应为 \"crlf\" 或 \"lf\" (得到 {other:?})")),
            },
        };
        let all = [&words.amount, &words.code, &words.paid, &words.fail];
        if all.iter().enumerate().any(|(i, a)| all[i + 1..].iter().any(|b| a.eq_ignore_ascii_case(b))) {
            return Err("[payment] 收银机指令词不能重复".into());
        }
        if !(1..=600).contains(&self.quick_pay_s) {
            return Err("[payment] quick_pay_s 应在 1–600 之间".into());
        }
        if !(1..=10).contains(&self.face_attempts) {
            return Err("[payment] face_attempts 应在 1–10 之间".into());
        }
        if !(5..=600).contains(&self.code_timeout_s) || !(5..=600).contains(&self.answer_timeout_s) {
            return Err("[payment] code_timeout_s 与 answer_timeout_s 应在 5–600 之间".into());
        }
        if !(5..=900).contains(&self.register_wait_s) {
            return Err("[payment] register_wait_s 应在 5–900 之间".into());
        }
        let journal = if self.journal.trim().is_empty() {
            data.join("booth").join("payments").join("journal.log")
        } else {
            PathBuf::from(self.journal.trim())
        };
        Ok(PaymentConfig {
            journal,
            quick_pay: Duration::from_secs(self.quick_pay_s),
            face_attempts: self.face_attempts,
            code_timeout: Duration::from_secs(self.code_timeout_s),
            answer_timeout: Duration::from_secs(self.answer_timeout_s),
            register: self.register,
            register_charges: self.register_charges,
            register_wait: Duration::from_secs(self.register_wait_s),
            words,
            terminal: terminal.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_resolve_and_bad_words_are_refused() {
        let c = PaymentSection::default().resolve(Path::new("/data"), "SN1").unwrap();
        assert_eq!(c.journal, Path::new("/data/booth/payments/journal.log"));
        assert_eq!(c.quick_pay, Duration::from_secs(45));
        assert_eq!(c.words, Words::default());
        let bad = PaymentSection { paid_word: "PAID NOW".into(), ..PaymentSection::default() };
        assert!(bad.resolve(Path::new("/"), "").is_err());
        let same = PaymentSection { fail_word: "paid".into(), ..PaymentSection::default() };
        assert!(same.resolve(Path::new("/"), "").is_err());
        let end = PaymentSection { line_end: "cr".into(), ..PaymentSection::default() };
        assert!(end.resolve(Path::new("/"), "").is_err());
    }
}
