//! Seed 002's `recogResult` from recognised lines: lines grouped into rows as printed, labels
//! matched after removing spaces (a card prints 姓  名 spaced out), and the numbers checked —
//! the resident ID number by its GB 11643 check digit, a bank card number by Luhn. A number
//! that fails its check is still returned, with `idNoValid` / `cardNoValid` false, so the
//! caller can ask for another picture instead of using a misread number.

use super::Line;
use serde_json::{json, Map, Value};

/// What the picture does not allow to answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("图片中没有找到身份证 (未识别到身份证的栏目)")]
    NoIdCard,
    #[error("图片中没有找到银行卡号")]
    NoBankCard,
}

/// Rows of text as printed: the picture's tilt (the median angle of the longer lines) taken
/// out, lines whose centres are within half a line height of a row's join it, left to right;
/// spaces removed.
pub fn rows(lines: &[Line]) -> Vec<String> {
    let mut angles: Vec<f32> = lines
        .iter()
        .filter(|l| l.quad.width() > 2.0 * l.quad.height())
        .map(|l| {
            let [tl, tr, _, _] = l.quad.0;
            (tr.1 - tl.1).atan2(tr.0 - tl.0)
        })
        .collect();
    angles.sort_by(f32::total_cmp);
    let tilt = angles.get(angles.len() / 2).copied().unwrap_or(0.0);
    let (sin, cos) = tilt.sin_cos();
    // Centres in the card's own axes: along the text, across it.
    let level = |l: &Line| {
        let (x, y) = l.quad.center();
        (x * cos + y * sin, -x * sin + y * cos)
    };
    let mut sorted: Vec<&Line> = lines.iter().filter(|l| !l.text.trim().is_empty()).collect();
    sorted.sort_by(|a, b| level(a).1.total_cmp(&level(b).1));
    let mut rows: Vec<Vec<&Line>> = Vec::new();
    for l in sorted {
        let across = level(l).1;
        let joined = rows.last_mut().filter(|row| {
            let mean = row.iter().map(|m| level(m).1).sum::<f32>() / row.len() as f32;
            let height = row.iter().map(|m| m.quad.height()).fold(l.quad.height(), f32::min);
            (mean - across).abs() < height / 2.0
        });
        match joined {
            Some(row) => row.push(l),
            None => rows.push(vec![l]),
        }
    }
    rows.into_iter()
        .map(|mut row| {
            row.sort_by(|a, b| level(a).0.total_cmp(&level(b).0));
            row.iter().flat_map(|l| l.text.chars()).filter(|c| !c.is_whitespace()).collect()
        })
        .collect()
}

/// `IDCard`: the front (`face` 0) or the back (`face` 1), whichever the rows show.
pub fn id_card(rows: &[String]) -> Result<Value, CardError> {
    let has = |label: &str| rows.iter().any(|r| r.contains(label));
    if has("公民身份号码") || has("姓名") || rows.iter().any(|r| id_number_in(r).is_some()) {
        Ok(id_front(rows))
    } else if has("签发机关") || has("有效期限") {
        Ok(id_back(rows))
    } else {
        Err(CardError::NoIdCard)
    }
}

fn after<'a>(row: &'a str, label: &str) -> Option<&'a str> {
    row.find(label).map(|i| &row[i + label.len()..])
}

fn id_front(rows: &[String]) -> Value {
    let mut r = Map::new();
    r.insert("face".into(), json!(0));
    let mut put = |k: &str, v: String| {
        if !v.is_empty() {
            r.insert(k.into(), Value::String(v));
        }
    };
    for row in rows {
        if let Some(name) = after(row, "姓名") {
            put("name", name.to_string());
        }
        if let Some(g) = after(row, "性别") {
            if let Some(c) = g.chars().find(|c| *c == '男' || *c == '女') {
                put("gender", c.to_string());
            }
        }
        if let Some(n) = after(row, "民族") {
            put("nation", n.to_string());
        }
        if let Some(b) = after(row, "出生") {
            if let Some(d) = date(b) {
                put("birthday", d);
            }
        }
    }
    // The address: the 住址 row and the rows under it until the number's row.
    if let Some(start) = rows.iter().position(|r| r.contains("住址")) {
        let mut address = after(&rows[start], "住址").unwrap_or_default().to_string();
        for row in &rows[start + 1..] {
            if row.contains("公民身份号码") || id_number_in(row).is_some() {
                break;
            }
            address.push_str(row);
        }
        put("address", address);
    }
    let number = rows
        .iter()
        .find_map(|row| after(row, "公民身份号码").and_then(id_number_in))
        .or_else(|| rows.iter().find_map(|row| id_number_in(row)));
    if let Some(n) = number {
        r.insert("idNoValid".into(), json!(id_number_valid(&n)));
        // The number carries the birth date (digits 7-14): a card whose 出生 differs from it
        // was misread (or is no genuine card).
        if let Some(Value::String(birthday)) = r.get("birthday") {
            let matches = n.get(6..14) == Some(birthday.as_str());
            r.insert("birthdayMatchesIdNo".into(), json!(matches));
        }
        r.insert("idNo".into(), json!(n));
    }
    Value::Object(r)
}

fn id_back(rows: &[String]) -> Value {
    let mut r = Map::new();
    r.insert("face".into(), json!(1));
    for row in rows {
        if let Some(org) = after(row, "签发机关").filter(|o| !o.is_empty()) {
            r.insert("signOrg".into(), json!(org));
        }
        if let Some(period) = after(row, "有效期限") {
            let (from, to) = match period.find(['-', '—', '–', '~', '至']) {
                Some(i) => {
                    let dash = period[i..].chars().next().map_or(1, char::len_utf8);
                    (&period[..i], &period[i + dash..])
                }
                None => (period, ""),
            };
            if let Some(d) = date(from) {
                r.insert("startDate".into(), json!(d));
            }
            if to.contains("长期") {
                r.insert("endDate".into(), json!("长期"));
            } else if let Some(d) = date(to) {
                r.insert("endDate".into(), json!(d));
            }
        }
    }
    Value::Object(r)
}

/// A date printed as `1990年1月1日`, `2015.01.01` or `20150101`, as `YYYYMMDD`.
fn date(text: &str) -> Option<String> {
    let groups: Vec<String> =
        text.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).map(str::to_string).collect();
    let (y, m, d) = match groups.as_slice() {
        [one, ..] if one.len() == 8 => (one[..4].to_string(), one[4..6].to_string(), one[6..].to_string()),
        [y, m, d, ..] if y.len() == 4 && m.len() <= 2 && d.len() <= 2 => (y.clone(), m.clone(), d.clone()),
        _ => return None,
    };
    let (mi, di): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&mi) || !(1..=31).contains(&di) {
        return None;
    }
    Some(format!("{y}{mi:02}{di:02}"))
}

/// The first 18-character resident ID number in a row (17 digits and a digit or X; a read
/// `x` or `×` is taken as X).
fn id_number_in(row: &str) -> Option<String> {
    let chars: Vec<char> = row.chars().collect();
    (0..chars.len()).find_map(|i| {
        let cand: Vec<char> = chars.get(i..i + 18)?.to_vec();
        let body_ok = cand[..17].iter().all(char::is_ascii_digit);
        let last = match cand[17] {
            c if c.is_ascii_digit() => c,
            'X' | 'x' | '×' => 'X',
            _ => return None,
        };
        let before_ok = i == 0 || !chars[i - 1].is_ascii_digit();
        body_ok.then_some(()).filter(|_| before_ok)?;
        Some(cand[..17].iter().collect::<String>() + &last.to_string())
    })
}

/// GB 11643-1999: the 18th character is the ISO 7064 MOD 11-2 check of the first 17.
pub fn id_number_valid(n: &str) -> bool {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let c: Vec<char> = n.chars().collect();
    if c.len() != 18 {
        return false;
    }
    let mut sum = 0;
    for (ch, w) in c[..17].iter().zip(W) {
        let Some(d) = ch.to_digit(10) else { return false };
        sum += d * w;
    }
    CHECK[(sum % 11) as usize] == c[17]
}

/// `BankCard`: the number (the longest run of 13–19 digits in a row), the bank's name and the
/// card type where the card prints them.
pub fn bank_card(rows: &[String]) -> Result<Value, CardError> {
    let number = rows
        .iter()
        .flat_map(|row| row.split(|c: char| !c.is_ascii_digit()).map(str::to_string).collect::<Vec<_>>())
        .filter(|run| (13..=19).contains(&run.len()))
        .max_by_key(|run| run.len())
        .ok_or(CardError::NoBankCard)?;
    let mut r = Map::new();
    r.insert("cardNoValid".into(), json!(luhn_valid(&number)));
    r.insert("cardNo".into(), json!(number));
    if let Some(bank) = rows.iter().find_map(|row| row.find("银行").map(|i| &row[..i + "银行".len()])) {
        r.insert("bankName".into(), json!(bank));
    }
    let all: String = rows.concat();
    for (printed, kind) in [("准贷记卡", "准贷记卡"), ("借记卡", "借记卡"), ("储蓄卡", "借记卡"), ("信用卡", "贷记卡")]
    {
        if all.contains(printed) {
            r.insert("cardType".into(), json!(kind));
            break;
        }
    }
    Ok(Value::Object(r))
}

/// A bank card's issuer from its BIN: `bankId` (the bank's code), and `bankName` and
/// `cardType` where the card does not print them.
pub fn with_issuer(result: &mut Value, bins: &super::bins::Bins) {
    let Some(issuer) = result.get("cardNo").and_then(Value::as_str).and_then(|n| bins.issuer(n)).cloned() else {
        return;
    };
    let Value::Object(r) = result else { return };
    r.insert("bankId".into(), json!(issuer.code));
    r.entry("bankName").or_insert_with(|| json!(issuer.name));
    r.entry("cardType").or_insert_with(|| json!(issuer.card_type));
}

/// The Luhn check every bank card number carries in its last digit.
pub fn luhn_valid(n: &str) -> bool {
    let mut sum = 0;
    for (i, c) in n.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else { return false };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !n.is_empty() && sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_of(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn check_digits() {
        // GB 11643's own example number.
        assert!(id_number_valid("11010519491231002X"));
        assert!(!id_number_valid("110105194912310021"));
        assert!(!id_number_valid("11010519491231002"));
        assert!(luhn_valid("4111111111111111"));
        assert!(luhn_valid("6217000010012345677"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid(""));
    }

    #[test]
    fn the_front_of_an_id_card() {
        let rows = rows_of(&[
            "姓名林晓雨",
            "性别女民族汉",
            "出生1994年7月9日",
            "住址浙江省杭州市西湖区",
            "文三路88号2幢301室",
            "公民身份号码11010519491231002x",
        ]);
        let r = id_card(&rows).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r,
            json!({"face":0,"name":"林晓雨","gender":"女","nation":"汉","birthday":"19940709",
                   "address":"浙江省杭州市西湖区文三路88号2幢301室","idNo":"11010519491231002X","idNoValid":true,
                   "birthdayMatchesIdNo":false})
        );
    }

    #[test]
    fn a_misread_number_is_returned_as_not_valid() {
        let r = id_card(&rows_of(&["公民身份号码110105194912310021"])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r["idNo"], "110105194912310021");
        assert_eq!(r["idNoValid"], false);
        let b = bank_card(&rows_of(&["4111111111111112"])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b["cardNoValid"], false);
    }

    #[test]
    fn the_birth_date_is_checked_against_the_number() {
        let rows = rows_of(&["出生1949年12月31日", "公民身份号码11010519491231002X"]);
        let r = id_card(&rows).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((&r["birthday"], &r["birthdayMatchesIdNo"]), (&json!("19491231"), &json!(true)));
        let r = id_card(&rows_of(&["出生1949年12月30日", "公民身份号码11010519491231002X"])).unwrap();
        assert_eq!(r["birthdayMatchesIdNo"], false);
        // Without a 出生 read there is nothing to compare.
        let r = id_card(&rows_of(&["公民身份号码11010519491231002X"])).unwrap();
        assert!(r.get("birthdayMatchesIdNo").is_none());
    }

    #[test]
    fn a_bank_cards_issuer_from_its_bin() {
        let bins = crate::ocr::bins::Bins::parse("621700\t19\tCCB\t中国建设银行\tDC\n");
        let mut r = bank_card(&rows_of(&["6217000010012345677"])).unwrap();
        with_issuer(&mut r, &bins);
        assert_eq!(
            r,
            json!({"cardNo":"6217000010012345677","cardNoValid":true,"bankId":"CCB","bankName":"中国建设银行","cardType":"借记卡"})
        );
        // What the card prints stands; the code is added.
        let mut r = bank_card(&rows_of(&["示例银行", "信用卡", "6217000010012345677"])).unwrap();
        with_issuer(&mut r, &bins);
        assert_eq!(
            (&r["bankName"], &r["cardType"], &r["bankId"]),
            (&json!("示例银行"), &json!("贷记卡"), &json!("CCB"))
        );
    }

    #[test]
    fn the_back_of_an_id_card() {
        let r = id_card(&rows_of(&[
            "中华人民共和国",
            "居民身份证",
            "签发机关杭州市公安局西湖分局",
            "有效期限2016.03.12-2036.03.12",
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r, json!({"face":1,"signOrg":"杭州市公安局西湖分局","startDate":"20160312","endDate":"20360312"}));
        let r = id_card(&rows_of(&["有效期限2016.03.12-长期"])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r["endDate"], "长期");
    }

    #[test]
    fn text_that_is_no_card() {
        assert_eq!(id_card(&rows_of(&["今日菜单", "红烧肉12元"])), Err(CardError::NoIdCard));
        assert_eq!(bank_card(&rows_of(&["今日菜单", "红烧肉12元"])), Err(CardError::NoBankCard));
        assert_eq!(id_card(&[]), Err(CardError::NoIdCard));
    }

    #[test]
    fn a_bank_card() {
        let r = bank_card(&rows_of(&["示例银行", "借记卡", "6217000010012345677", "LINXIAOYU"]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r["cardNo"], "6217000010012345677");
        assert_eq!(r["bankName"], "示例银行");
        assert_eq!(r["cardType"], "借记卡");
    }
}
