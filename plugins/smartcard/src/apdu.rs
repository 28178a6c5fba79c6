//! APDUs: reading them from a page (strict hex, bounded length), writing answers as hex, and the
//! T=0 conveniences every exchange gets (`61xx` → GET RESPONSE, `6Cxx` → resend with Le).

use crate::port::CardError;
use booth_bridge::ApiError;

/// Shortest command APDU: CLA INS P1 P2.
pub const MIN_APDU_BYTES: usize = 4;
/// Longest command APDU accepted: a short APDU with 255 data bytes and Le (4 + 1 + 255 + 1).
pub const MAX_APDU_BYTES: usize = 261;
/// Most commands in one `sendCPUCardApduCommands` call.
pub const MAX_COMMANDS: usize = 64;
/// GET RESPONSE rounds followed for one command before giving up (a card that keeps answering
/// `61xx` would otherwise hold the reader forever).
const MAX_GET_RESPONSE: usize = 64;

/// Reads a command APDU given as hex by a page. Never touches a card: every failure is
/// `INVALID_PARAMS` naming `field`.
pub fn parse_apdu(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    if text.is_empty() {
        return Err(ApiError::invalid(format!("{field} 不能为空")));
    }
    if let Some((i, c)) = text.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(ApiError::invalid(format!("{field} 含非十六进制字符 {c:?} (位置 {i})")));
    }
    if text.len() % 2 != 0 {
        return Err(ApiError::invalid(format!("{field} 的十六进制位数应为偶数, 收到 {} 位", text.len())));
    }
    let n = text.len() / 2;
    if n < MIN_APDU_BYTES {
        return Err(ApiError::invalid(format!("{field} 至少 {MIN_APDU_BYTES} 字节 (CLA INS P1 P2), 收到 {n} 字节")));
    }
    if n > MAX_APDU_BYTES {
        return Err(ApiError::invalid(format!("{field} 最长 {MAX_APDU_BYTES} 字节, 收到 {n} 字节")));
    }
    Ok((0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap_or(0)).collect())
}

/// Upper-case hex, as the seed's examples write card data.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xF) as usize] as char);
    }
    s
}

/// The status word at the end of a response.
pub fn status_word(response: &[u8]) -> Option<u16> {
    match response {
        [.., a, b] => Some(u16::from_be_bytes([*a, *b])),
        _ => None,
    }
}

/// Whether a response ends in `9000`.
pub fn is_ok(response: &[u8]) -> bool {
    status_word(response) == Some(0x9000)
}

/// `apdu` with its Le replaced (case 2, case 4) or appended (case 1, case 3); `None` when the
/// command's structure cannot be told.
fn with_le(apdu: &[u8], le: u8) -> Option<Vec<u8>> {
    let mut out = apdu.to_vec();
    match apdu.len() {
        4 => out.push(le),
        5 => out[4] = le,
        n => {
            let lc = apdu[4] as usize;
            if lc == 0 {
                return None; // an extended-length command: leave it alone
            }
            if n == 5 + lc {
                out.push(le);
            } else if n == 6 + lc {
                out[n - 1] = le;
            } else {
                return None;
            }
        }
    }
    Some(out)
}

/// Something that sends one APDU to a card and returns its raw answer.
pub type Transmit<'a> = dyn FnMut(&[u8]) -> Result<Vec<u8>, CardError> + 'a;

/// Sends one command and returns the card's complete answer. With `t0_help`:
/// - `6Cxx` (wrong length) → the command is sent once more with Le = xx;
/// - `61xx` (more data) → GET RESPONSE (`00 C0 00 00 xx`, on the command's logical channel)
///   until the card has nothing more, gluing the data together before the final status word.
pub fn exchange(transmit: &mut Transmit<'_>, apdu: &[u8], t0_help: bool) -> Result<Vec<u8>, CardError> {
    let mut transmit = |a: &[u8]| -> Result<Vec<u8>, CardError> {
        let r = transmit(a)?;
        if r.len() < 2 {
            // No status word: the card went mute or away mid-command.
            return Err(CardError::Transmit(format!("应答无状态字 ({} 字节)", r.len())));
        }
        Ok(r)
    };
    let mut response = transmit(apdu)?;
    if !t0_help {
        return Ok(response);
    }
    if let [0x6C, le] = response.as_slice() {
        if let Some(again) = with_le(apdu, *le) {
            response = transmit(&again)?;
        }
    }
    let mut data = Vec::new();
    let channel = if apdu[0] & 0x80 == 0 { apdu[0] & 0x03 } else { 0 };
    for _ in 0..MAX_GET_RESPONSE {
        match response.as_slice() {
            [body @ .., 0x61, le] => {
                data.extend_from_slice(body);
                response = transmit(&[channel, 0xC0, 0x00, 0x00, *le])?;
            }
            _ => break,
        }
    }
    if data.is_empty() {
        Ok(response)
    } else {
        data.extend_from_slice(&response);
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strict_hex() {
        assert_eq!(parse_apdu("a", "0084000008").unwrap(), vec![0, 0x84, 0, 0, 8]);
        assert_eq!(parse_apdu("a", "00a4040000").unwrap(), vec![0, 0xA4, 4, 0, 0]);
        for (bad, why) in [
            ("", "不能为空"),
            ("008400000", "偶数"),
            ("00840000 08", "非十六进制"),
            ("0084zz0008", "非十六进制"),
            ("008400", "至少 4 字节"),
            ("+0084000008", "非十六进制"),
        ] {
            let e = parse_apdu("commandApdu", bad).unwrap_err();
            assert_eq!(e.code, booth_bridge::ErrorCode::InvalidParams);
            assert!(e.message.contains("commandApdu") && e.message.contains(why), "{bad}: {}", e.message);
        }
        let longest = "00".repeat(MAX_APDU_BYTES);
        assert!(parse_apdu("a", &longest).is_ok());
        let e = parse_apdu("a", &format!("{longest}00")).unwrap_err();
        assert!(e.message.contains("最长 261"), "{}", e.message);
    }

    #[test]
    fn hex_and_status_words() {
        assert_eq!(to_hex(&[0x0A, 0xFF, 0x90, 0x00]), "0AFF9000");
        assert_eq!(status_word(&[1, 2, 0x6A, 0x82]), Some(0x6A82));
        assert_eq!(status_word(&[0x90]), None);
        assert!(is_ok(&[0x90, 0x00]));
        assert!(!is_ok(&[0x62, 0x83]));
    }

    #[test]
    fn le_goes_where_the_case_puts_it() {
        assert_eq!(with_le(&[0, 0xB2, 1, 4], 0x10).unwrap(), [0, 0xB2, 1, 4, 0x10]);
        assert_eq!(with_le(&[0, 0xB2, 1, 4, 0], 0x10).unwrap(), [0, 0xB2, 1, 4, 0x10]);
        assert_eq!(with_le(&[0, 0xA4, 0, 0, 2, 0x3F, 0], 9).unwrap(), [0, 0xA4, 0, 0, 2, 0x3F, 0, 9]);
        assert_eq!(with_le(&[0, 0xA4, 0, 0, 2, 0x3F, 0, 0], 9).unwrap(), [0, 0xA4, 0, 0, 2, 0x3F, 0, 9]);
        assert_eq!(with_le(&[0, 0xA4, 0, 0, 2, 0x3F], 9), None);
    }

    type Log = std::rc::Rc<std::cell::RefCell<Vec<Vec<u8>>>>;

    /// A scripted card: answers in order, records what it got.
    fn card(answers: &[&[u8]]) -> (impl FnMut(&[u8]) -> Result<Vec<u8>, CardError>, Log) {
        let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let log = seen.clone();
        let mut answers: Vec<Vec<u8>> = answers.iter().map(|a| a.to_vec()).collect();
        answers.reverse();
        (
            move |apdu: &[u8]| {
                log.borrow_mut().push(apdu.to_vec());
                Ok(answers.pop().expect("no more scripted answers"))
            },
            seen,
        )
    }

    #[test]
    fn t0_get_response_and_wrong_le() {
        let (mut tx, seen) = card(&[&[0x61, 0x03], &[1, 2, 0x61, 0x01], &[3, 0x90, 0x00]]);
        let r = exchange(&mut tx, &[0x00, 0xA4, 0x04, 0x00, 0x01, 0xAA, 0x00], true).unwrap();
        assert_eq!(r, [1, 2, 3, 0x90, 0x00]);
        assert_eq!(seen.borrow()[1], [0x00, 0xC0, 0, 0, 3]);
        assert_eq!(seen.borrow()[2], [0x00, 0xC0, 0, 0, 1]);

        let (mut tx, seen) = card(&[&[0x6C, 0x05], &[9, 9, 9, 9, 9, 0x90, 0x00]]);
        let r = exchange(&mut tx, &[0x00, 0xB2, 0x01, 0x04, 0x00], true).unwrap();
        assert_eq!(r.len(), 7);
        assert_eq!(seen.borrow()[1], [0x00, 0xB2, 0x01, 0x04, 0x05]);

        // Without the help, the page gets exactly what the card said.
        let (mut tx, _) = card(&[&[0x61, 0x03]]);
        assert_eq!(exchange(&mut tx, &[0, 0xA4, 4, 0], false).unwrap(), [0x61, 0x03]);

        // An answer without a status word is a failed command, not a result.
        let (mut tx, _) = card(&[&[]]);
        assert!(matches!(exchange(&mut tx, &[0, 0x84, 0, 0, 8], true), Err(CardError::Transmit(_))));

        // On logical channel 1, GET RESPONSE goes to channel 1 too.
        let (mut tx, seen) = card(&[&[0x61, 0x01], &[7, 0x90, 0x00]]);
        exchange(&mut tx, &[0x01, 0xA4, 4, 0], true).unwrap();
        assert_eq!(seen.borrow()[1][0], 0x01);
    }
}
