//! Card OCR accuracy on cards made to look photographed by a person (booth-testkit `card::shot`:
//! perspective, a turn of a few degrees or upside down, uneven light, defocus, sensor noise,
//! values in a serif or a sans face from fonts-noto-cjk), fictional people with valid numbers.
//! Prints the fields read exactly out of all fields, without and with the orientation
//! classifier, and holds the figures with it to a floor.

use base64::Engine as _;
use booth_provider::ocr::{self, Ocr};
use booth_provider_client::wire::OcrRequest;
use booth_testkit::card::{bank_card, id_front, id_front_serif, shot, IdFront, Shot};
use serde_json::Value;
use std::time::Instant;

const NAMES: [&str; 8] = ["林晓雨", "王建国", "陈思远", "赵敏", "周一鸣", "孙丽华", "黄志强", "刘芳"];
const STREETS: [(&str, &str); 4] = [
    ("浙江省杭州市西湖区文三路", "88号2幢301室"),
    ("北京市海淀区中关村大街", "27号院5号楼1201"),
    ("广东省广州市天河区体育西路", "103号"),
    ("四川省成都市武侯区人民南路", "四段9号3单元"),
];
const REGIONS: [&str; 4] = ["330106", "110108", "440106", "510107"];

/// GB 11643's check character of 17 digits.
fn check(body: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.chars().zip(W).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
    ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize]
}

/// Luhn's check digit for a number without it.
fn luhn_digit(body: &str) -> char {
    let sum: u32 = body
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).unwrap_or(0);
            if i % 2 == 0 {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    char::from_digit((10 - sum % 10) % 10, 10).unwrap_or('0')
}

struct Person {
    name: &'static str,
    gender: &'static str,
    birth: (u32, u32, u32),
    street: (&'static str, &'static str),
    id_no: String,
}

fn person(i: usize) -> Person {
    let birth = (1950 + (i as u32 * 7) % 55, 1 + (i as u32 * 5) % 12, 1 + (i as u32 * 11) % 28);
    let male = i % 2 == 1;
    let seq = 100 + (i as u32 * 37) % 800;
    // The 17th digit is odd for men, even for women.
    let seq = if (seq % 2 == 1) == male { seq } else { seq + 1 };
    let body = format!("{}{:04}{:02}{:02}{seq:03}", REGIONS[i % 4], birth.0, birth.1, birth.2);
    Person {
        name: NAMES[i % NAMES.len()],
        gender: if male { "男" } else { "女" },
        birth,
        street: STREETS[i % STREETS.len()],
        id_no: format!("{body}{}", check(&body)),
    }
}

/// The i-th picture's conditions (repeatable), upside down when asked.
fn conditions(i: usize, upside_down: bool) -> Shot {
    let f = |k: usize, m: usize| ((i * k + 3) % m) as f32 / (m - 1) as f32;
    Shot {
        card_w: 640 + (f(7, 9) * 460.0) as u32,
        degrees: (f(5, 9) - 0.5) * 8.0 + if upside_down { 180.0 } else { 0.0 },
        keystone: f(3, 7) * 0.12,
        skew: (f(11, 5) - 0.5) * 0.1,
        noise: (f(13, 6) * 18.0) as u8,
        shade: f(17, 5) * 0.35,
        blur: (i % 3 == 2) as u32,
        seed: i as u64 + 1,
    }
}

fn read(o: &Ocr, kind: &str, picture: &booth_camera::Frame) -> Value {
    let req = OcrRequest {
        terminal: "T-1".into(),
        kind: kind.into(),
        image: base64::engine::general_purpose::STANDARD.encode(picture.to_jpeg(85)),
    };
    ocr::answer(Some(o), &req).map(|a| a.recog_result).unwrap_or(Value::Null)
}

/// Fields read exactly, and fields in all, for the ID card fronts and bank cards.
fn score(o: &Ocr, n: usize, upside_down: bool) -> (usize, usize) {
    let (mut right, mut all) = (0, 0);
    for i in 0..n {
        let p = person(i);
        let card = IdFront {
            name: p.name,
            gender: p.gender,
            nation: "汉",
            birth: p.birth,
            address: &[p.street.0, p.street.1],
            id_no: &p.id_no,
        };
        let drawn = if i % 2 == 0 { id_front(&card) } else { id_front_serif(&card) };
        let got = read(o, "IDCard", &shot(&drawn, &conditions(i, upside_down)));
        let want = [
            ("name", p.name.to_string()),
            ("gender", p.gender.to_string()),
            ("nation", "汉".to_string()),
            ("birthday", format!("{:04}{:02}{:02}", p.birth.0, p.birth.1, p.birth.2)),
            ("address", format!("{}{}", p.street.0, p.street.1)),
            ("idNo", p.id_no.clone()),
        ];
        for (k, v) in want {
            all += 1;
            if got[k] == v.as_str() {
                right += 1;
            }
        }
        // A bank card for every other person.
        if i % 2 == 0 {
            let body = format!("621700{:012}", 100_000_000_007u64 * (i as u64 + 1) % 1_000_000_000_000);
            let number = format!("{body}{}", luhn_digit(&body));
            let got = read(
                o,
                "BankCard",
                &shot(&bank_card("示例银行", "借记卡", &number, "ZHANG SAN"), &conditions(i + 1, upside_down)),
            );
            all += 1;
            if got["cardNo"] == number.as_str() {
                right += 1;
            }
        }
    }
    (right, all)
}

#[test]
fn fields_read_from_photographed_cards_with_and_without_the_orientation_classifier() {
    let dir = booth_testkit::face::models_dir();
    let with = Ocr::load(&dir).unwrap_or_else(|e| panic!("{e} (`. scripts/setup.sh; booth_face_models`)"));
    assert!(with.turns_cards(), "ppocr-cls.onnx missing from {} (booth_ocr_models)", dir.display());
    let without = Ocr::load(&dir).unwrap().without_orientation();
    const N: usize = 6;
    let started = Instant::now();
    let mut figures = vec![];
    for (label, o) in [("without the classifier", &without), ("with the classifier", &with)] {
        for upside_down in [false, true] {
            let (right, all) = score(o, N, upside_down);
            println!(
                "card OCR {label}, {}: {right}/{all} fields right",
                if upside_down { "upside down" } else { "right way up" }
            );
            figures.push((right, all));
        }
    }
    println!("({} pictures in {:?})", 4 * (N + N / 2), started.elapsed());
    let [(_, _), (down_before, _), (up_after, up_all), (down_after, down_all)] = figures[..] else { unreachable!() };
    // The classifier turns upside-down cards, and costs nothing on cards the right way up.
    assert!(down_after * 10 >= down_all * 8, "upside down with the classifier: {down_after}/{down_all}");
    assert!(down_before * 2 < down_all, "upside down without it should fail: {down_before}/{down_all}");
    assert!(up_after * 10 >= up_all * 8, "right way up with the classifier: {up_after}/{up_all}");
}
