//! Citizen identity numbers (GB 11643-1999): 17 digits and a check character (0–9 or X).
//!
//! Checked here: length and characters, the ISO 7064 MOD 11-2 check character, a province-level
//! region code that exists (including 81/82/83 of the Hong Kong, Macao and Taiwan residence
//! permits), and a birth date that is a real calendar day between 1900 and today.

use std::time::{SystemTime, UNIX_EPOCH};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";
/// Province-level codes of GB/T 2260, plus the residence permits' 81, 82, 83.
const PROVINCES: [u32; 35] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63,
    64, 65, 71, 81, 82, 83,
];

/// Why a number is not valid; `message` is what the keypad shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    Length,
    Characters,
    Region,
    BirthDate,
    Checksum,
}

impl Invalid {
    pub fn code(self) -> &'static str {
        match self {
            Invalid::Length => "length",
            Invalid::Characters => "characters",
            Invalid::Region => "region",
            Invalid::BirthDate => "birthDate",
            Invalid::Checksum => "checksum",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Invalid::Length => "证件号应为 18 位",
            Invalid::Characters => "证件号只能包含数字和末位的 X",
            Invalid::Region => "证件号的地区码不存在",
            Invalid::BirthDate => "证件号的出生日期无效",
            Invalid::Checksum => "证件号校验位错误",
        }
    }
}

/// The check character for the first 17 digits.
pub fn check_char(first17: &[u8]) -> Option<char> {
    if first17.len() != 17 || !first17.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    Some(CHECK[(sum % 11) as usize] as char)
}

/// Validates a number (a lower-case x is accepted); returns it normalised (upper-case X).
pub fn validate(input: &str) -> Result<String, Invalid> {
    validate_on(input, today())
}

/// [`validate`] with "today" given, for tests.
pub fn validate_on(input: &str, today: (i32, u32, u32)) -> Result<String, Invalid> {
    let n = input.trim().to_ascii_uppercase();
    if n.chars().count() != 18 {
        return Err(Invalid::Length);
    }
    let b = n.as_bytes();
    if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
        return Err(Invalid::Characters);
    }
    let province = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
    if !PROVINCES.contains(&province) {
        return Err(Invalid::Region);
    }
    let num = |r: std::ops::Range<usize>| n[r].parse::<u32>().unwrap_or(0);
    let (y, m, d) = (num(6..10) as i32, num(10..12), num(12..14));
    if y < 1900 || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || (y, m, d) > today {
        return Err(Invalid::BirthDate);
    }
    if check_char(&b[..17]) != Some(b[17] as char) {
        return Err(Invalid::Checksum);
    }
    Ok(n)
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Today's date (UTC is close enough for a birth-date plausibility check).
fn today() -> (i32, u32, u32) {
    let days = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() / 86_400).unwrap_or(0) as i64;
    civil_from_days(days)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: (i32, u32, u32) = (2025, 6, 1);

    #[test]
    fn known_numbers_pass_and_lower_case_x_is_normalised() {
        // The number in seed 000's enterIDNumber example, and a standard X-check example.
        assert_eq!(validate_on("410922199611150054", TODAY), Ok("410922199611150054".into()));
        assert_eq!(validate_on("11010519491231002x", TODAY), Ok("11010519491231002X".into()));
        assert_eq!(check_char(b"11010519491231002"), Some('X'));
    }

    #[test]
    fn each_rule_has_its_reason() {
        assert_eq!(validate_on("41092219961115005", TODAY), Err(Invalid::Length));
        assert_eq!(validate_on("4109221996111500541", TODAY), Err(Invalid::Length));
        assert_eq!(validate_on("41092219961115005A", TODAY), Err(Invalid::Characters));
        assert_eq!(validate_on("4109221996111５0054", TODAY), Err(Invalid::Characters));
        assert_eq!(validate_on("410922199611150055", TODAY), Err(Invalid::Checksum));
        assert_eq!(validate_on("990922199611150054", TODAY), Err(Invalid::Region));
        assert_eq!(validate_on("410922199602300054", TODAY), Err(Invalid::BirthDate), "30 February");
        assert_eq!(validate_on("410922189611150054", TODAY), Err(Invalid::BirthDate), "before 1900");
        assert_eq!(validate_on("410922203011150054", TODAY), Err(Invalid::BirthDate), "in the future");
    }

    #[test]
    fn leap_days_and_the_calendar() {
        let mut n = String::from("11010520000229001");
        n.push(check_char(n.as_bytes()).unwrap());
        assert!(validate_on(&n, TODAY).is_ok(), "2000 was a leap year");
        let mut n = String::from("11010519000229001");
        n.push(check_char(n.as_bytes()).unwrap());
        assert_eq!(validate_on(&n, TODAY), Err(Invalid::BirthDate), "1900 was not");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert!(today().0 >= 2024);
    }
}
