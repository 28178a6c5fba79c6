//! Times a 20-line receipt with one picture, after the fonts are loaded: printList → ESC/POS
//! bytes (raster and text mode) and printList → PDF bytes. Prints figures; asserts nothing.
//!
//! `cargo run --release -p booth-printer --example bench [-- --out DIR] [--width 80] [--rounds N]`
//! (`--out` also writes the receipt as PNG and PDF there, to look at).

use booth_printer::fonts::{FontChoice, Fonts};
use booth_printer::layout::{Layout, Paper};
use booth_printer::receipt::Receipt;
use booth_printer::{escpos, pdf};
use std::time::{Duration, Instant};

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
    let list = booth_printer::sample::shop_receipt();
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
