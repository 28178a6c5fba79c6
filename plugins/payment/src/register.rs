//! The cash register's lines on the POS serial port.
//!
//! In (register → Booth): `AMT <fen> [<outTradeNo>]` asks for a payment of that amount: Booth
//! shows it and runs facePay's face screen on the page that is open. Out (Booth → register):
//! `CODE <faceCode>` when the register charges the code itself, `PAID <outTradeNo> <fen>` when
//! Booth charged, `FAIL <code> <message>` when it did not (the seed's codes: `-7` cancelled,
//! `-8` faces failed, `-10` query failed …). The words are `[payment]`'s; a line ends with
//! `\r\n` (or `\n`, `line_end`). Other lines are not Booth's and are ignored.

use crate::config::Words;

/// A line from the register that Booth acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Amount { fen: u64, trade: Option<String> },
}

/// Why a line that starts with Booth's amount word was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("收银机指令无效: {0}")]
pub struct BadLine(pub String);

/// Largest amount a register may ask for: ¥1,000,000.00.
pub const MAX_FEN: u64 = 100_000_000;

/// A trade number as the contract allows it: 1–64 of `A-Za-z0-9_-`.
pub fn valid_trade(t: &str) -> bool {
    !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `Ok(None)`: not a payment line.
pub fn parse(words: &Words, line: &str) -> Result<Option<Incoming>, BadLine> {
    let mut parts = line.split_whitespace();
    let Some(word) = parts.next() else { return Ok(None) };
    if !word.eq_ignore_ascii_case(&words.amount) {
        return Ok(None);
    }
    let fen = parts.next().ok_or_else(|| BadLine("缺少金额".into()))?;
    let fen: u64 = fen
        .parse()
        .ok()
        .filter(|f| (1..=MAX_FEN).contains(f))
        .ok_or_else(|| BadLine(format!("金额应为 1–{MAX_FEN} 分的整数 (得到 {fen:?})")))?;
    let trade = parts.next().map(str::to_string);
    if let Some(t) = &trade {
        if !valid_trade(t) {
            return Err(BadLine("outTradeNo 应为 1–64 个字母、数字、- 或 _".into()));
        }
    }
    if parts.next().is_some() {
        return Err(BadLine("多余的字段".into()));
    }
    Ok(Some(Incoming::Amount { fen, trade }))
}

pub fn code(words: &Words, face_code: &str) -> String {
    format!("{} {face_code}{}", words.code, words.line_end)
}

pub fn paid(words: &Words, trade: &str, fen: u64) -> String {
    format!("{} {trade} {fen}{}", words.paid, words.line_end)
}

/// The message is kept to one line of printable text.
pub fn fail(words: &Words, code: &str, message: &str) -> String {
    let msg: String = message.chars().map(|c| if c.is_control() { ' ' } else { c }).take(120).collect();
    format!("{} {code} {}{}", words.fail, msg.trim(), words.line_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amount_lines() {
        let w = Words::default();
        assert_eq!(parse(&w, "AMT 1250").unwrap(), Some(Incoming::Amount { fen: 1250, trade: None }));
        assert_eq!(parse(&w, " amt 1 T-9_x ").unwrap(), Some(Incoming::Amount { fen: 1, trade: Some("T-9_x".into()) }));
        assert_eq!(parse(&w, "TOTAL 12.50").unwrap(), None);
        assert_eq!(parse(&w, "").unwrap(), None);
        for bad in ["AMT", "AMT 0", "AMT -5", "AMT 12.50", "AMT 999999999999", "AMT 5 a/b", "AMT 5 T 6"] {
            assert!(parse(&w, bad).is_err(), "{bad}");
        }
        assert_eq!(paid(&w, "T1", 1250), "PAID T1 1250\r\n");
        assert_eq!(fail(&w, "-7", "用户取消\n支付"), "FAIL -7 用户取消 支付\r\n");
        assert_eq!(code(&w, "28123"), "CODE 28123\r\n");
    }
}
