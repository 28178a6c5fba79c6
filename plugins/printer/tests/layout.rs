//! The layout against golden pictures (Chinese, mixed text, long lines, the three alignments,
//! real and synthetic bold, pictures in three formats, 80 mm paper), compared with a small
//! tolerance; and the PDF, rendered by poppler at 203 dpi, against the bitmap.
//!
//! `BOOTH_UPDATE_GOLDEN=1 cargo test -p booth-printer --test layout` rewrites the pictures
//! (look at them before committing).

use base64::Engine;
use booth_printer::bitmap::Bitmap;
use booth_printer::fonts::{FontChoice, Fonts, DEFAULT_FONTS};
use booth_printer::layout::{Layout, Paper};
use booth_printer::pdf;
use booth_printer::receipt::Receipt;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

fn fonts() -> Arc<Fonts> {
    static F: OnceLock<Arc<Fonts>> = OnceLock::new();
    F.get_or_init(|| Fonts::load(&FontChoice::default()).expect("Noto Sans CJK (apt-get install fonts-noto-cjk)"))
        .clone()
}

/// The regular face alone: bold is drawn by thickening.
fn fonts_without_bold() -> Arc<Fonts> {
    let (regular, _, index) = DEFAULT_FONTS[0];
    Fonts::load(&FontChoice { font: Some(PathBuf::from(regular)), index, bold: None }).expect("Noto Sans CJK")
}

fn encoded(img: &image::DynamicImage, format: image::ImageFormat) -> String {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    base64::engine::general_purpose::STANDARD.encode(out.into_inner())
}

fn gradient(w: u32, h: u32) -> image::DynamicImage {
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
        let v = (x * 255 / w.max(1)) as u8;
        image::Rgb([v, (y * 255 / h.max(1)) as u8, 255 - v])
    }))
}

fn blocks(w: u32) -> image::DynamicImage {
    image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(w, w, |x, y| {
        image::Luma([if ((x / 10) * 3 + (y / 10) * 5) % 4 == 0 || x < 10 || y < 10 { 0 } else { 255 }])
    }))
}

fn t(text: &str, size: u32, bold: bool, algin: &str) -> Value {
    json!({"text": text, "textSize": size, "bold": bold, "algin": algin})
}

fn receipts() -> Vec<(&'static str, u32, bool, Value)> {
    vec![
        (
            "chinese",
            58,
            false,
            json!([
                t("欢迎光临", 40, true, "center"),
                t("深圳市南山区科技园便利店", 26, false, "left"),
                t("收银员：张三　　流水号：000123", 22, false, "left"),
                t("谢谢惠顾，欢迎再次光临！", 26, false, "center")
            ]),
        ),
        (
            "mixed",
            58,
            false,
            json!([
                t("Booth 便利店 Receipt", 32, true, "center"),
                t("矿泉水 Water 550ml x2    ￥4.00", 24, false, "left"),
                t("Latte（大杯）Grande    ￥28.00", 24, false, "left"),
                t("合计 Total: ¥32.00", 28, true, "right"),
                t("Tel: 0755-12345678  www.example.com", 20, false, "center")
            ]),
        ),
        (
            "long_lines",
            58,
            false,
            json!([
                t("说明：本小票为购物凭证，请妥善保管；如需开具发票，请在三十天内凭本小票到服务台办理。退换货请保持商品完好（含包装、配件），谢谢合作！", 24, false, "left"),
                t("Averyveryverylongwordwithoutanyspacesthatmustbecutsomewhere and then normal words follow here.", 22, false, "left"),
                t("第一行\n第二行\n\n第四行（空行保留）", 24, false, "left")
            ]),
        ),
        (
            "alignments",
            58,
            false,
            json!([
                t("左对齐 Left", 26, false, "left"),
                t("居中 Center", 26, false, "center"),
                t("右对齐 Right", 26, false, "right"),
                t("小字 small 16", 16, false, "right"),
                t("大字 64", 64, false, "center"),
                json!({"text": "align 拼写也接受", "align": "right"})
            ]),
        ),
        (
            "bold",
            58,
            false,
            json!([t("常规 Regular 0123456789", 26, false, "left"), t("加粗 Bold 0123456789", 26, true, "left"), t("粗体大字 BIG", 48, true, "center")]),
        ),
        (
            "synthetic_bold",
            58,
            true,
            json!([t("常规 Regular 0123456789", 26, false, "left"), t("加粗 Bold 0123456789", 26, true, "left"), t("粗体大字 BIG", 48, true, "center")]),
        ),
        (
            "images",
            58,
            false,
            json!([
                t("图片 Pictures", 26, true, "center"),
                {"imageBase64": encoded(&gradient(200, 100), image::ImageFormat::Jpeg), "width": 200, "height": 100},
                {"imageBase64": encoded(&blocks(120), image::ImageFormat::Png), "width": 120, "height": 120, "algin": "left"},
                {"imageBase64": encoded(&gradient(60, 60), image::ImageFormat::Bmp), "width": 60, "height": 60, "algin": "right"},
                {"imageBase64": encoded(&gradient(800, 100), image::ImageFormat::Png), "width": 800, "height": 100},
                t("宽图按纸宽缩放", 22, false, "center")
            ]),
        ),
        (
            "paper_80mm",
            80,
            false,
            json!([
                t("80 mm 小票 Receipt", 36, true, "center"),
                t("商品名称            数量      金额", 24, false, "left"),
                t("矿泉水 550ml          2       ￥4.00", 24, false, "left"),
                t("合计 ￥4.00", 32, true, "right"),
                {"imageBase64": encoded(&blocks(160), image::ImageFormat::Png), "width": 160, "height": 160}
            ]),
        ),
    ]
}

fn layout_of(list: &Value, width_mm: u32, fonts: &Fonts) -> Layout {
    let receipt = Receipt::parse(Some(list)).expect("receipt");
    Layout::new(&receipt, fonts, Paper::new(width_mm, 0.0).unwrap()).expect("layout")
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Dots that differ.
fn differing(a: &Bitmap, b: &Bitmap) -> u64 {
    let mut n = 0;
    for y in 0..a.height().max(b.height()) {
        for x in 0..a.width().max(b.width()) {
            if a.get(x, y) != b.get(x, y) {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn receipts_match_their_golden_pictures() {
    let update = std::env::var_os("BOOTH_UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for (name, width, synthetic, list) in receipts() {
        let fonts = if synthetic { fonts_without_bold() } else { fonts() };
        let got = layout_of(&list, width, &fonts).render(&fonts);
        let path = golden_dir().join(format!("{name}.png"));
        if update {
            std::fs::write(&path, got.to_png()).unwrap();
            continue;
        }
        let want = Bitmap::from_png(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .expect("golden png");
        if (got.width(), got.height()) != (want.width(), want.height()) {
            failures.push(format!(
                "{name}: {}x{} instead of {}x{}",
                got.width(),
                got.height(),
                want.width(),
                want.height()
            ));
            continue;
        }
        // Rasterisers of other versions may move a few edge dots.
        let diff = differing(&got, &want);
        let allowed = (want.black() / 100).max(20);
        if diff > allowed {
            let out = std::env::temp_dir().join(format!("booth-golden-{name}.png"));
            let _ = std::fs::write(&out, got.to_png());
            failures.push(format!("{name}: {diff} dots differ (allowed {allowed}); got {}", out.display()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn golden_pictures_are_small() {
    for e in std::fs::read_dir(golden_dir()).unwrap().flatten() {
        let len = e.metadata().unwrap().len();
        assert!(len < 40_000, "{:?} is {len} bytes", e.file_name());
    }
}

/// Black dots of `a` with no black dot of `b` within one dot.
fn unmatched(a: &Bitmap, b: &Bitmap) -> u64 {
    let mut n = 0;
    for y in 0..a.height() {
        for x in 0..a.width() {
            if a.get(x, y) {
                let near = (-1i64..=1).any(|dy| {
                    (-1i64..=1).any(|dx| {
                        let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                        nx >= 0 && ny >= 0 && b.get(nx as u32, ny as u32)
                    })
                });
                if !near {
                    n += 1;
                }
            }
        }
    }
    n
}

#[test]
fn pdf_rendered_at_203_dpi_agrees_with_the_bitmap() {
    let dir = tempfile::tempdir().unwrap();
    for (name, width, synthetic, list) in receipts() {
        let fonts = if synthetic { fonts_without_bold() } else { fonts() };
        let layout = layout_of(&list, width, &fonts);
        let bitmap = layout.render(&fonts);
        let bytes = pdf::render(&layout, &fonts).expect("pdf");
        assert!(bytes.len() < 120_000, "{name}: PDF of {} bytes (fonts not subset?)", bytes.len());
        let file = dir.path().join(format!("{name}.pdf"));
        std::fs::write(&file, &bytes).unwrap();
        let prefix = dir.path().join(name);
        let status = std::process::Command::new("pdftoppm")
            .args(["-r", "203", "-gray", "-png", "-singlefile"])
            .arg(&file)
            .arg(&prefix)
            .status()
            .expect("pdftoppm (apt-get install poppler-utils)");
        assert!(status.success());
        let page = image::open(prefix.with_extension("png")).unwrap().to_luma8();
        let left = pdf::left_offset_dots(&layout).round() as u32;
        let crop =
            image::imageops::crop_imm(&page, left, 0, bitmap.width(), bitmap.height().min(page.height())).to_image();
        let from_pdf = Bitmap::from_grey(&crop, 128);
        // Text is extractable.
        let text = std::process::Command::new("pdftotext").arg(&file).arg("-").output().expect("pdftotext");
        let text = String::from_utf8_lossy(&text.stdout).replace(['\n', ' '], "");
        let first = list[0]["text"].as_str().unwrap().replace(' ', "");
        assert!(text.contains(&first), "{name}: {first:?} not in the PDF's text {text:?}");
        let (missing, extra) = (unmatched(&bitmap, &from_pdf), unmatched(&from_pdf, &bitmap));
        let allowed = bitmap.black() / 50;
        assert!(
            missing <= allowed && extra <= allowed,
            "{name}: {missing} bitmap dots missing from the PDF, {extra} extra (allowed {allowed} of {})",
            bitmap.black()
        );
    }
}
