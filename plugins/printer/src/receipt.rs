//! `printList` as the page sends it (seed 000), checked and turned into typed items before
//! anything is laid out or printed.

use base64::Engine;
use serde_json::Value;

/// Longest accepted list.
pub const MAX_ITEMS: usize = 200;
/// Most characters in one text item.
pub const MAX_TEXT_CHARS: usize = 4000;
/// `textSize` range, in dots (203 dpi: 26 ≈ 3.25 mm, the seed's default).
pub const TEXT_SIZE: std::ops::RangeInclusive<i64> = 8..=96;
pub const DEFAULT_TEXT_SIZE: u32 = 26;
/// `width` / `height` of an image, in dots, before it is scaled to fit the paper.
pub const IMAGE_SIDE: std::ops::RangeInclusive<i64> = 1..=4000;
/// Largest decoded image (pixels), so that a small file cannot unpack into gigabytes.
pub const MAX_IMAGE_PIXELS: u64 = 16_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

impl Align {
    pub fn parse(s: &str) -> Option<Align> {
        match s.trim().to_ascii_lowercase().as_str() {
            "left" | "" => Some(Align::Left),
            "center" | "centre" => Some(Align::Center),
            "right" => Some(Align::Right),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TextItem {
    pub text: String,
    /// Em size in dots.
    pub size: u32,
    pub bold: bool,
    pub align: Align,
}

#[derive(Clone, PartialEq)]
pub struct ImageItem {
    /// Decoded pixels, grey (0 black … 255 white), alpha composited on white.
    pub grey: image::GrayImage,
    /// Requested size in dots (the picture's own size when the page gave none).
    pub width: u32,
    pub height: u32,
    pub align: Align,
}

impl std::fmt::Debug for ImageItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ImageItem({}x{} → {}x{}, {:?})",
            self.grey.width(),
            self.grey.height(),
            self.width,
            self.height,
            self.align
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Text(TextItem),
    Image(ImageItem),
}

/// A checked `printList`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Receipt {
    pub items: Vec<Item>,
}

/// Why a `printList` was refused; the message names the item and field (`printList[2].algin`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadReceipt(pub String);

fn bad(at: usize, field: &str, what: impl std::fmt::Display) -> BadReceipt {
    BadReceipt(format!("printList[{at}].{field} {what}"))
}

impl Receipt {
    /// Checks `printList` (the whole list before anything is printed).
    pub fn parse(list: Option<&Value>) -> Result<Receipt, BadReceipt> {
        let list = match list {
            None | Some(Value::Null) => return Err(BadReceipt("缺少 printList".into())),
            Some(Value::Array(a)) => a,
            Some(other) => {
                return Err(BadReceipt(format!("printList 应为数组, 收到 {}", booth_bridge::params::kind(other))))
            }
        };
        if list.is_empty() {
            return Err(BadReceipt("printList 不能为空".into()));
        }
        if list.len() > MAX_ITEMS {
            return Err(BadReceipt(format!("printList 最多 {MAX_ITEMS} 项, 收到 {}", list.len())));
        }
        let items = list.iter().enumerate().map(|(i, v)| parse_item(i, v)).collect::<Result<_, _>>()?;
        Ok(Receipt { items })
    }

    /// All text of the receipt, one item a line (for logs and the simulator).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for item in &self.items {
            match item {
                Item::Text(t) => out.push_str(&t.text),
                Item::Image(im) => out.push_str(&format!("[image {}x{}]", im.width, im.height)),
            }
            out.push('\n');
        }
        out
    }
}

fn parse_item(at: usize, v: &Value) -> Result<Item, BadReceipt> {
    let Value::Object(o) = v else {
        return Err(BadReceipt(format!("printList[{at}] 应为对象, 收到 {}", booth_bridge::params::kind(v))));
    };
    let get = |k: &str| o.get(k).filter(|v| !v.is_null());
    let string = |k: &str| -> Result<Option<&str>, BadReceipt> {
        match get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(bad(at, k, format_args!("应为字符串, 收到 {}", booth_bridge::params::kind(other)))),
        }
    };
    let int = |k: &str, range: std::ops::RangeInclusive<i64>| -> Result<Option<u32>, BadReceipt> {
        let n = match get(k) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            Some(_) => None,
        };
        match n {
            Some(n) if range.contains(&n) => Ok(Some(n as u32)),
            Some(n) => Err(bad(at, k, format_args!("应在 {} 到 {} 之间, 收到 {n}", range.start(), range.end()))),
            None => Err(bad(at, k, "应为整数")),
        }
    };
    // The seed spells it `algin`; `align` is accepted too.
    let (align_key, align_text) = match (string("algin")?, string("align")?) {
        (Some(a), _) => ("algin", Some(a)),
        (None, Some(a)) => ("align", Some(a)),
        (None, None) => ("algin", None),
    };
    let align = match align_text {
        None => None,
        Some(a) => Some(
            Align::parse(a)
                .ok_or_else(|| bad(at, align_key, format_args!("应为 left、center 或 right, 收到 \"{a}\"")))?,
        ),
    };
    let image = string("imageBase64")?.filter(|s| !s.trim().is_empty());
    if let Some(b64) = image {
        let grey = decode_image(b64).map_err(|why| bad(at, "imageBase64", why))?;
        let (w, h) = (int("width", IMAGE_SIDE)?, int("height", IMAGE_SIDE)?);
        let (width, height) = match (w, h) {
            (Some(w), Some(h)) => (w, h),
            // One side given: keep the picture's proportions.
            (Some(w), None) => (w, scale_side(grey.height(), w, grey.width())),
            (None, Some(h)) => (scale_side(grey.width(), h, grey.height()), h),
            (None, None) => (grey.width(), grey.height()),
        };
        return Ok(Item::Image(ImageItem { grey, width, height, align: align.unwrap_or(Align::Center) }));
    }
    let text = string("text")?.unwrap_or("");
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(bad(at, "text", format_args!("超过 {MAX_TEXT_CHARS} 个字符")));
    }
    let bold = match get("bold") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
        Some(Value::Number(n)) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => n.as_i64() == Some(1),
        Some(other) => {
            return Err(bad(at, "bold", format_args!("应为布尔值, 收到 {}", booth_bridge::params::kind(other))))
        }
    };
    let size = int("textSize", TEXT_SIZE)?.unwrap_or(DEFAULT_TEXT_SIZE);
    Ok(Item::Text(TextItem { text: text.to_string(), size, bold, align: align.unwrap_or(Align::Left) }))
}

fn scale_side(side: u32, given: u32, other: u32) -> u32 {
    ((side as u64 * given as u64) / other.max(1) as u64).clamp(1, *IMAGE_SIDE.end() as u64) as u32
}

/// Base64 (standard or URL-safe, padded or not, line breaks ignored; a `data:` prefix is
/// tolerated although the seed says there is none) of a JPEG, PNG or BMP.
pub fn decode_image(b64: &str) -> Result<image::GrayImage, String> {
    let body = match b64.find("base64,") {
        Some(i) if b64.starts_with("data:") => &b64[i + 7..],
        _ => b64,
    };
    let clean: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let bytes = engines.iter().find_map(|e| e.decode(clean.as_bytes()).ok()).ok_or("不是有效的 base64")?;
    let format = image::guess_format(&bytes).map_err(|_| "不是 JPEG、PNG 或 BMP 图片")?;
    if !matches!(format, image::ImageFormat::Jpeg | image::ImageFormat::Png | image::ImageFormat::Bmp) {
        return Err(format!("不支持的图片格式 {format:?} (支持 JPEG、PNG、BMP)"));
    }
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(&bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_IMAGE_PIXELS * 4 + 1024);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| format!("图片无法解码: {e}"))?;
    if img.width() as u64 * img.height() as u64 > MAX_IMAGE_PIXELS {
        return Err(format!("图片过大 ({}x{})", img.width(), img.height()));
    }
    // Transparent areas print as paper (white), not as whatever colour they hide.
    let rgba = img.to_rgba8();
    let grey = image::GrayImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let l = (299 * r as u32 + 587 * g as u32 + 114 * b as u32) / 1000;
        let a = a as u32;
        image::Luma([((l * a + 255 * (255 - a)) / 255) as u8])
    });
    Ok(grey)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn png_b64(w: u32, h: u32) -> String {
        let img = image::GrayImage::from_fn(w, h, |x, _| image::Luma([if x % 2 == 0 { 0 } else { 255 }]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        base64::engine::general_purpose::STANDARD.encode(out.into_inner())
    }

    #[test]
    fn seed_example_shape_parses_with_defaults_and_both_spellings() {
        let list = json!([
            {"text": "测试文字打印", "textSize": 26, "bold": false, "algin": "left"},
            {"text": "右", "align": "right"},
            {"text": "默认"},
            {"imageBase64": png_b64(10, 20), "width": 376, "height": 376},
            {"imageBase64": png_b64(10, 20), "width": 100}
        ]);
        let r = Receipt::parse(Some(&list)).unwrap();
        assert_eq!(r.items.len(), 5);
        let Item::Text(t) = &r.items[1] else { panic!() };
        assert_eq!(t.align, Align::Right);
        let Item::Text(t) = &r.items[2] else { panic!() };
        assert_eq!((t.size, t.bold, t.align), (26, false, Align::Left));
        let Item::Image(im) = &r.items[3] else { panic!() };
        assert_eq!((im.width, im.height, im.align), (376, 376, Align::Center));
        let Item::Image(im) = &r.items[4] else { panic!() };
        assert_eq!((im.width, im.height), (100, 200));
    }

    #[test]
    fn bad_items_name_the_field() {
        let cases = [
            (json!(null), "缺少 printList"),
            (json!("x"), "printList 应为数组"),
            (json!([]), "不能为空"),
            (json!([{"text": "a", "algin": "middle"}]), "printList[0].algin"),
            (json!([{"text": "a"}, {"text": "b", "textSize": 500}]), "printList[1].textSize"),
            (json!([{"text": "a", "textSize": "big"}]), "printList[0].textSize"),
            (json!([{"text": 5}]), "printList[0].text"),
            (json!([{"text": "a", "bold": "yes"}]), "printList[0].bold"),
            (json!([{"imageBase64": "测试图片打印/9j/4AAQ"}]), "printList[0].imageBase64"),
            (json!([{"imageBase64": "aGVsbG8gd29ybGQ="}]), "printList[0].imageBase64"),
            (json!([{"imageBase64": png_b64(4, 4), "width": 0}]), "printList[0].width"),
            (json!([7]), "printList[0] 应为对象"),
        ];
        for (list, want) in cases {
            let err = Receipt::parse(Some(&list)).unwrap_err();
            assert!(err.0.contains(want), "{list}: {err}");
        }
        let long = json!([{"text": "x".repeat(MAX_TEXT_CHARS + 1)}]);
        assert!(Receipt::parse(Some(&long)).is_err());
        let many: Vec<Value> = (0..=MAX_ITEMS).map(|_| json!({"text": "a"})).collect();
        assert!(Receipt::parse(Some(&Value::Array(many))).unwrap_err().0.contains("最多"));
    }

    #[test]
    fn images_accept_data_urls_and_line_breaks_and_composite_alpha_on_white() {
        let b64 = png_b64(3, 3);
        let wrapped = format!("data:image/png;base64,{}\n", &b64);
        assert_eq!(decode_image(&wrapped).unwrap().dimensions(), (3, 3));
        let rgba = image::RgbaImage::from_pixel(2, 2, image::Rgba([0, 0, 0, 0]));
        let mut out = std::io::Cursor::new(Vec::new());
        rgba.write_to(&mut out, image::ImageFormat::Png).unwrap();
        let grey = decode_image(&base64::engine::general_purpose::STANDARD.encode(out.into_inner())).unwrap();
        assert!(grey.pixels().all(|p| p.0[0] == 255));
    }
}
