//! The ESC/POS a kiosk thermal printer understands: the receipt as a raster (exact, any glyph)
//! or as GB18030 text in the printer's own font (small, for slow serial links), the cut, the
//! cash drawer, and the real-time status queries.

use crate::bitmap::Bitmap;
use crate::layout::{wrap, Block, Layout};
use crate::receipt::{Align, Item, Receipt};

pub const INIT: &[u8] = &[0x1B, 0x40];
/// Chinese character mode on (`FS &`); vendor-dependent, harmless where unknown.
pub const CHINESE_ON: &[u8] = &[0x1C, 0x26];
/// Feed to the cutter and cut, leaving a little paper (`GS V 66 n`).
pub const FEED_AND_CUT: &[u8] = &[0x1D, 0x56, 0x42, 0x03];
/// Pulse on drawer pin 2: 50 ms on, 500 ms off (`ESC p 0 25 250`).
pub const KICK_DRAWER: &[u8] = &[0x1B, 0x70, 0x00, 0x19, 0xFA];
/// Rows of a raster sent in one `GS v 0` (small printers have small buffers).
pub const BAND_ROWS: u32 = 128;
/// Dots of the printer's Chinese font (Font A ASCII is half of it).
pub const FONT_DOTS: u32 = 24;

/// What to add around the receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finish {
    pub cut: bool,
    pub drawer: bool,
}

fn finish(out: &mut Vec<u8>, f: Finish) {
    if f.drawer {
        out.extend_from_slice(KICK_DRAWER);
    }
    if f.cut {
        out.extend_from_slice(FEED_AND_CUT);
    } else {
        out.extend_from_slice(&[0x1B, 0x64, 0x04]);
    }
}

/// `GS v 0` for a bitmap, in bands.
pub fn raster_bands(out: &mut Vec<u8>, bitmap: &Bitmap) {
    let mut y = 0;
    while y < bitmap.height() {
        let band = bitmap.band(y, y + BAND_ROWS);
        let x_bytes = band.stride() as u16;
        let rows = band.height() as u16;
        out.extend_from_slice(&[0x1D, 0x76, 0x30, 0x00]);
        out.extend_from_slice(&x_bytes.to_le_bytes());
        out.extend_from_slice(&rows.to_le_bytes());
        out.extend_from_slice(band.rows());
        y += BAND_ROWS;
    }
}

/// The whole receipt as one raster: prints exactly what the layout shows.
pub fn raster(bitmap: &Bitmap, f: Finish) -> Vec<u8> {
    let mut out = Vec::with_capacity(bitmap.rows().len() + 64);
    out.extend_from_slice(INIT);
    raster_bands(&mut out, bitmap);
    finish(&mut out, f);
    out
}

/// Text for the printer: `¥` is not in GBK and GB18030 makes it four bytes printers lack; the
/// full-width `￥` is A3 A4.
pub fn printable(text: &str) -> String {
    text.replace('¥', "￥")
}

pub fn gb18030(text: &str) -> Vec<u8> {
    let text = printable(text);
    let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
    bytes.into_owned()
}

/// Width of a character in the printer's font at magnification `mag`: CJK full width (24
/// dots), everything else half.
fn printer_width(c: char, mag: u32) -> f32 {
    let full = crate::layout::is_cjk(c) || (c as u32) > 0x2000 && !c.is_ascii();
    (if full { FONT_DOTS } else { FONT_DOTS / 2 } * mag) as f32
}

/// `textSize` → whole multiples of the printer's 24-dot font (1–8).
pub fn magnification(size: u32) -> u32 {
    ((size as f32 / FONT_DOTS as f32).round() as u32).clamp(1, 8)
}

/// Text mode: the receipt's text in GB18030 in the printer's own font (wrapped here with the
/// same rules as the layout, by the printer font's widths), pictures as rasters of the
/// layout's dots.
pub fn text_mode(receipt: &Receipt, layout: &Layout, chinese_mode: bool, f: Finish) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(INIT);
    if chinese_mode {
        out.extend_from_slice(CHINESE_ON);
    }
    let width = layout.paper.content_width();
    let mut pictures = layout.blocks.iter().filter_map(|b| match b {
        Block::Picture(p) => Some(p),
        Block::Line(_) => None,
    });
    for item in &receipt.items {
        match item {
            Item::Text(t) => {
                let mag = magnification(t.size);
                let n = (mag - 1) as u8;
                out.extend_from_slice(&[0x1B, 0x61, align_byte(t.align)]);
                out.extend_from_slice(&[0x1B, 0x45, t.bold as u8]);
                out.extend_from_slice(&[0x1D, 0x21, (n << 4) | n]);
                for (line, _) in wrap(&t.text, width, |c| printer_width(c, mag)) {
                    out.extend_from_slice(&gb18030(&line));
                    out.push(b'\n');
                }
            }
            Item::Image(_) => {
                if let Some(p) = pictures.next() {
                    // The picture at its place across the paper, as the layout put it.
                    let mut row = Bitmap::new(layout.paper.dots, p.dots.height());
                    row.draw(&p.dots, p.x, 0);
                    out.extend_from_slice(&[0x1B, 0x61, 0x00]);
                    raster_bands(&mut out, &row);
                }
            }
        }
    }
    out.extend_from_slice(&[0x1B, 0x45, 0x00, 0x1D, 0x21, 0x00, 0x1B, 0x61, 0x00]);
    finish(&mut out, f);
    out
}

fn align_byte(a: Align) -> u8 {
    match a {
        Align::Left => 0,
        Align::Center => 1,
        Align::Right => 2,
    }
}

/// `DLE EOT n` real-time status queries: 2 = offline cause (cover), 4 = paper roll sensor.
pub const QUERY_OFFLINE: &[u8] = &[0x10, 0x04, 0x02];
pub const QUERY_PAPER: &[u8] = &[0x10, 0x04, 0x04];

/// A status byte is `0xx1 xx10`: bits 1 and 4 set, 0 and 7 clear.
pub fn is_status_byte(b: u8) -> bool {
    b & 0x93 == 0x12
}

/// What the printer said about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    pub cover_open: bool,
    pub paper_out: bool,
    pub paper_near_end: bool,
}

impl Status {
    /// From the replies to `DLE EOT 2` and `DLE EOT 4`.
    pub fn from_replies(offline: u8, paper: u8) -> Status {
        Status {
            cover_open: offline & 0x04 != 0,
            paper_out: paper & 0x60 != 0 || offline & 0x20 != 0,
            paper_near_end: paper & 0x0C != 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raster_is_sent_in_bands_with_little_endian_sizes() {
        let mut b = Bitmap::new(16, 200);
        b.set(0, 0);
        b.set(15, 199);
        let bytes = raster(&b, Finish { cut: true, drawer: true });
        assert_eq!(&bytes[..2], INIT);
        assert_eq!(&bytes[2..10], &[0x1D, 0x76, 0x30, 0x00, 2, 0, 128, 0]);
        assert_eq!(bytes[10], 0x80);
        let second = 10 + 2 * 128;
        assert_eq!(&bytes[second..second + 8], &[0x1D, 0x76, 0x30, 0x00, 2, 0, 72, 0]);
        assert!(bytes.ends_with(&[KICK_DRAWER, FEED_AND_CUT].concat()));
    }

    #[test]
    fn control_characters_in_page_text_never_reach_the_printer_as_commands() {
        let fonts = match crate::fonts::Fonts::load(&Default::default()) {
            Ok(f) => f,
            Err(e) => panic!("{e}"),
        };
        let list = serde_json::json!([{"text": "a\u{1b}p\u{0}\u{19}\u{fa}b\u{1d}V\u{42}"}]);
        let receipt = Receipt::parse(Some(&list)).unwrap();
        let layout = Layout::new(&receipt, &fonts, crate::layout::Paper::new(58, 0.0).unwrap()).unwrap();
        let bytes = text_mode(&receipt, &layout, false, Finish { cut: false, drawer: false });
        assert!(!bytes.windows(2).any(|w| w == [0x1B, 0x70]), "drawer kick injected");
        assert!(!bytes.windows(2).any(|w| w == [0x1D, 0x56]), "cut injected");
        assert!(bytes.windows(3).any(|w| w == b"a p"), "controls print as spaces");
    }

    #[test]
    fn yen_becomes_full_width_and_status_bits_decode() {
        assert_eq!(gb18030("¥1"), vec![0xA3, 0xA4, b'1']);
        assert_eq!(gb18030("合计"), vec![0xBA, 0xCF, 0xBC, 0xC6]);
        assert!(is_status_byte(0x12) && is_status_byte(0x72) && !is_status_byte(0x00));
        assert_eq!(Status::from_replies(0x12, 0x12), Status::default());
        assert!(Status::from_replies(0x16, 0x12).cover_open);
        assert!(Status::from_replies(0x12, 0x72).paper_out);
        assert_eq!(magnification(26), 1);
        assert_eq!(magnification(48), 2);
        assert_eq!(magnification(96), 4);
    }
}
