//! Times a 20-line receipt with one picture, after the fonts are loaded: printList → ESC/POS
//! bytes (raster and text mode) and printList → PDF bytes. Prints figures; asserts nothing.
//!
//! `cargo run --release -p booth-printer --example bench [-- --out DIR] [--width 80] [--rounds N]`
//! (`--out` also writes the receipt as PNG and PDF there, to look at).

use base64::Engine as _;
use booth_printer::fonts::{FontChoice, Fonts};
use booth_printer::layout::{Layout, Paper};
use booth_printer::receipt::Receipt;
use booth_printer::{escpos, pdf};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A receipt as a shop prints it: title, items, amounts, a long line, a QR-like picture.
fn receipt() -> Value {
    let qr = image::GrayImage::from_fn(200, 200, |x, y| {
        let (cx, cy) = (x / 8, y / 8);
        let finder = |a: u32, b: u32| {
            a < 7 && b < 7 && (a == 0 || a == 6 || b == 0 || b == 6 || (2..5).contains(&a) && (2..5).contains(&b))
        };
        let on = finder(cx, cy)
            || finder(24 - cx.min(24), cy)
            || finder(cx, 24 - cy.min(24))
            || (cx * 7 + cy * 13 + cx * cy) % 3 == 0;
        image::Luma([if on { 0 } else { 255 }])
    });
    let mut png = std::io::Cursor::new(Vec::new());
    qr.write_to(&mut png, image::ImageFormat::Png).expect("png");
    let b64 = base64::engine::general_purpose::STANDARD.encode(png.into_inner());
    let mut list = vec![
        json!({"text": "Booth 便利店 · 收银小票", "textSize": 36, "bold": true, "algin": "center"}),
        json!({"text": "门店: 深圳南山科技园店  终端: T-0001", "textSize": 22}),
        json!({"text": "时间: 2026-12-03 09:30:12", "textSize": 22}),
    ];
    for (i, (name, fen)) in [
        ("矿泉水 550ml", 200),
        ("三明治 Sandwich", 1250),
        ("咖啡 Latte（大杯）", 2800),
        ("口香糖", 850),
        ("纸巾 x2", 600),
        ("酸奶 原味", 590),
        ("面包", 780),
        ("苹果 1.2kg", 1560),
        ("牛奶 250ml x6", 3300),
        ("雨伞", 3900),
        ("电池 AA x4", 1990),
        ("笔记本", 600),
    ]
    .iter()
    .enumerate()
    {
        list.push(json!({"text": format!("{:>2}. {name}  ￥{}.{:02}", i + 1, fen / 100, fen % 100), "textSize": 24, "algin": if i % 3 == 2 { "right" } else { "left" }}));
    }
    list.push(json!({"text": "合计 Total：￥196.20", "textSize": 32, "bold": true, "algin": "right"}));
    list.push(json!({"text": "说明：本小票为购物凭证，请妥善保管；如需开具发票，请在三十天内凭本小票到服务台办理，谢谢合作！", "textSize": 22}));
    list.push(json!({"imageBase64": b64, "width": 200, "height": 200}));
    list.push(json!({"text": "扫码开发票 Scan for invoice", "textSize": 22, "algin": "center"}));
    Value::Array(list)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let width: u32 = arg("--width").and_then(|w| w.parse().ok()).unwrap_or(58);
    let rounds: usize = arg("--rounds").and_then(|w| w.parse().ok()).unwrap_or(30);
    let t = Instant::now();
    let fonts = Fonts::load(&FontChoice::default()).expect("fonts");
    println!("fonts: {} parsed in {:.1} ms", fonts.describe(), t.elapsed().as_secs_f64() * 1e3);
    let paper = Paper::new(width, 0.0).expect("paper");
    let list = receipt();
    let items = list.as_array().map(|a| a.len()).unwrap_or(0);

    let mut escpos_t = Vec::new();
    let mut text_t = Vec::new();
    let mut pdf_t = Vec::new();
    let (mut raster_len, mut text_len, mut pdf_len, mut lines) = (0, 0, 0, 0);
    for _ in 0..rounds {
        let t = Instant::now();
        let r = Receipt::parse(Some(&list)).expect("receipt");
        let layout = Layout::new(&r, &fonts, paper).expect("layout");
        let bytes = escpos::raster(&layout.render(&fonts), escpos::Finish { cut: true, drawer: false });
        escpos_t.push(t.elapsed());
        raster_len = bytes.len();
        lines = layout.lines().count();

        let t = Instant::now();
        let r = Receipt::parse(Some(&list)).expect("receipt");
        let layout = Layout::new(&r, &fonts, paper).expect("layout");
        let bytes = escpos::text_mode(&r, &layout, true, escpos::Finish { cut: true, drawer: false });
        text_t.push(t.elapsed());
        text_len = bytes.len();

        let t = Instant::now();
        let r = Receipt::parse(Some(&list)).expect("receipt");
        let layout = Layout::new(&r, &fonts, paper).expect("layout");
        let bytes = pdf::render(&layout, &fonts).expect("pdf");
        pdf_t.push(t.elapsed());
        pdf_len = bytes.len();
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("receipt: {items} items, {lines} lines after wrapping, one 200×200 picture, {width} mm; {rounds} rounds, median (min)");
    let min = |v: &Vec<Duration>| v.iter().min().copied().unwrap_or_default();
    println!(
        "  printList → ESC/POS raster: {:7.2} ms ({:.2})  {:>7} bytes   target ≤ 5 ms",
        ms(median(escpos_t.clone())),
        ms(min(&escpos_t)),
        raster_len
    );
    println!(
        "  printList → ESC/POS text:   {:7.2} ms ({:.2})  {:>7} bytes",
        ms(median(text_t.clone())),
        ms(min(&text_t)),
        text_len
    );
    println!(
        "  printList → PDF:            {:7.2} ms ({:.2})  {:>7} bytes   target ≤ 50 ms",
        ms(median(pdf_t.clone())),
        ms(min(&pdf_t)),
        pdf_len
    );

    if let Some(dir) = arg("--out") {
        let r = Receipt::parse(Some(&list)).expect("receipt");
        let layout = Layout::new(&r, &fonts, paper).expect("layout");
        std::fs::create_dir_all(&dir).expect("out dir");
        std::fs::write(format!("{dir}/receipt.png"), layout.render(&fonts).to_png()).expect("png");
        std::fs::write(format!("{dir}/receipt.pdf"), pdf::render(&layout, &fonts).expect("pdf")).expect("pdf");
        println!("wrote {dir}/receipt.png and {dir}/receipt.pdf");
    }
}
