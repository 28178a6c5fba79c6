//! Card OCR on synthetic cards (booth-testkit `card`, fictional people): the models read the
//! printed fields exactly at several sizes, angles and noise levels; a picture without a card is
//! refused and a misprinted number is flagged as not valid, never accepted silently; a bank
//! card's BIN names its bank (`bankId`, from the BIN table `booth_ocr_models` installs). Each test
//! prints the time per card (a figure to watch, not a limit).

use base64::Engine as _;
use booth_provider::ocr::{self, card::CardError, Ocr};
use booth_provider_client::wire::{Code, OcrRequest};
use booth_testkit::card::{bank_card, id_back, id_front, no_card, photographed, IdFront};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Instant;

fn engine() -> &'static Ocr {
    static OCR: OnceLock<Ocr> = OnceLock::new();
    OCR.get_or_init(|| {
        Ocr::load(&booth_testkit::face::models_dir())
            .unwrap_or_else(|e| panic!("{e} (`. scripts/setup.sh; booth_face_models`)"))
    })
}

const PERSON: IdFront = IdFront {
    name: "林晓雨",
    gender: "女",
    nation: "汉",
    birth: (1994, 7, 9),
    address: &["浙江省杭州市西湖区文三路", "88号2幢301室"],
    // Fictional, with a correct GB 11643 check digit.
    id_no: "33010619940709002X",
};

/// The card's picture through `/v1/ocr`'s handler, as a JPEG like the terminal sends.
fn read(kind: &str, picture: &booth_camera::Frame) -> Result<Value, (Code, String)> {
    let req = OcrRequest {
        terminal: "T-1".into(),
        kind: kind.into(),
        image: base64::engine::general_purpose::STANDARD.encode(picture.to_jpeg(90)),
    };
    let started = Instant::now();
    let answer = ocr::answer(Some(engine()), &req);
    println!("{kind} {}×{}: {:?} per card", picture.width, picture.height, started.elapsed());
    answer.map(|a| a.recog_result).map_err(|r| (r.0, r.1))
}

#[test]
fn the_front_of_an_id_card_read_exactly_at_several_sizes_angles_and_noise() {
    let card = id_front(&PERSON);
    let expected = json!({
        "face": 0, "name": "林晓雨", "gender": "女", "nation": "汉", "birthday": "19940709",
        "address": "浙江省杭州市西湖区文三路88号2幢301室", "idNo": "33010619940709002X", "idNoValid": true,
        "birthdayMatchesIdNo": true,
    });
    for (width, degrees, noise) in [(800, 0.0, 0), (1280, -3.0, 12), (640, 2.5, 20)] {
        let got = read("IDCard", &photographed(&card, width, degrees, noise, 11)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(got, expected, "card {width} px wide, {degrees}°, noise ±{noise}");
    }
}

#[test]
fn the_back_of_an_id_card() {
    let card = id_back("杭州市公安局西湖分局", "2016.03.12-2036.03.12");
    let got = read("IDCard", &photographed(&card, 900, 1.5, 10, 3)).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        got,
        json!({"face": 1, "signOrg": "杭州市公安局西湖分局", "startDate": "20160312", "endDate": "20360312"})
    );
    let card = id_back("杭州市公安局西湖分局", "2016.03.12-长期");
    let got = read("IDCard", &photographed(&card, 800, -2.0, 8, 4)).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(got["endDate"], "长期");
}

#[test]
fn a_bank_card_number_with_its_luhn_check() {
    let card = bank_card("示例银行", "借记卡", "6217000010012345677", "LIN XIAOYU");
    let got = read("BankCard", &photographed(&card, 900, -2.0, 10, 5)).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        got,
        json!({"cardNo": "6217000010012345677", "cardNoValid": true, "bankName": "示例银行", "cardType": "借记卡", "bankId": "CCB"})
    );
}

#[test]
fn a_number_failing_its_check_is_reported_not_valid() {
    let misprinted = IdFront { id_no: "330106199407090021", ..PERSON };
    let got = read("IDCard", &photographed(&id_front(&misprinted), 900, 0.0, 5, 6)).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(got["idNo"], "330106199407090021");
    assert_eq!(got["idNoValid"], false);
    let card = bank_card("示例银行", "借记卡", "6217000010012345670", "LIN XIAOYU");
    let got = read("BankCard", &photographed(&card, 900, 0.0, 5, 7)).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(got["cardNo"], "6217000010012345670");
    assert_eq!(got["cardNoValid"], false);
}

#[test]
fn a_picture_without_a_card_is_refused() {
    let table = no_card(900, 600);
    assert!(engine().lines(&table).unwrap_or_else(|e| panic!("{e}")).is_empty());
    let (code, message) = read("IDCard", &table).unwrap_err();
    assert_eq!((code, message.as_str()), (Code::BadParam, CardError::NoIdCard.to_string().as_str()));
    let (code, message) = read("BankCard", &table).unwrap_err();
    assert_eq!((code, message.as_str()), (Code::BadParam, CardError::NoBankCard.to_string().as_str()));
    // The back of an ID card is no bank card.
    let back = photographed(&id_back("杭州市公安局西湖分局", "2016.03.12-2036.03.12"), 800, 0.0, 0, 8);
    assert_eq!(read("BankCard", &back).unwrap_err().0, Code::BadParam);
}

#[test]
fn types_without_a_reader_and_bad_pictures() {
    let card = photographed(&id_front(&PERSON), 640, 0.0, 0, 9);
    for kind in ["IDCardCheck", "BusiCert"] {
        let (code, message) = read(kind, &card).unwrap_err();
        assert_eq!(code, Code::NotConfigured, "{kind}");
        assert!(message.contains(kind), "{message}");
    }
    assert_eq!(read("Passport", &card).unwrap_err().0, Code::BadParam);
    let req = |image: &str| OcrRequest { terminal: "T-1".into(), kind: "IDCard".into(), image: image.into() };
    let e = ocr::answer(Some(engine()), &req("not base64!")).unwrap_err();
    assert_eq!(e.0, Code::BadParam);
    let e = ocr::answer(Some(engine()), &req("aGVsbG8=")).unwrap_err();
    assert_eq!(e.0, Code::BadParam);
    assert!(e.1.contains("无法解码"), "{}", e.1);
    // Without the models: NOT_CONFIGURED, as before OCR existed.
    let e = ocr::answer(None, &req("aGVsbG8=")).unwrap_err();
    assert_eq!(e.0, Code::NotConfigured);
}
