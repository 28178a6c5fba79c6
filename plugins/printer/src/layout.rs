//! The receipt laid out once for the paper: every glyph's position (from the font's own
//! advances), every picture scaled and dithered. The bitmap, the PDF and the previews are drawn
//! from this, so they agree.

use crate::bitmap::{dither, Bitmap};
use crate::fonts::{Fonts, Weight};
use crate::receipt::{Align, Item, Receipt};
use ab_glyph::{point, Font as _, Glyph as AbGlyph, PxScale};

/// Dots per inch of kiosk thermal heads (8 dots/mm).
pub const DPI: f32 = 203.0;
/// Longest receipt, in dots (2 m of paper).
pub const MAX_HEIGHT: u32 = 16_000;

/// Paper and print area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paper {
    /// Roll width (58 or 80 mm).
    pub width_mm: u32,
    /// Printable dots across (384 on 58 mm, 576 on 80 mm).
    pub dots: u32,
    /// Blank dots left and right inside the printable width.
    pub margin: u32,
}

impl Paper {
    /// `margin_mm` inside the printable area.
    pub fn new(width_mm: u32, margin_mm: f32) -> Result<Paper, String> {
        let dots = match width_mm {
            58 => 384,
            80 => 576,
            other => return Err(format!("width_mm 应为 58 或 80, 收到 {other}")),
        };
        let margin = (margin_mm.max(0.0) * DPI / 25.4).round() as u32;
        if margin * 2 + 64 > dots {
            return Err(format!("margin_mm {margin_mm} 过大"));
        }
        Ok(Paper { width_mm, dots, margin })
    }

    pub fn content_width(&self) -> f32 {
        (self.dots - 2 * self.margin) as f32
    }
}

/// One glyph of a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Glyph {
    pub gid: u16,
    pub ch: char,
    /// Left edge of the glyph's advance, in dots from the printable area's left edge.
    pub x: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Top of the line box, in dots.
    pub top: u32,
    pub baseline: f32,
    /// Em size in dots.
    pub size: f32,
    pub weight: Weight,
    pub align: Align,
    pub text: String,
    pub glyphs: Vec<Glyph>,
    /// Left edge and width of the inked text (trailing spaces not counted).
    pub x: f32,
    pub width: f32,
    /// Height of the line box.
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    pub x: u32,
    pub y: u32,
    pub dots: Bitmap,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Line(Line),
    Picture(Picture),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub paper: Paper,
    pub height: u32,
    pub blocks: Vec<Block>,
}

impl Layout {
    /// Lays `receipt` out; fails only when the result would be longer than [`MAX_HEIGHT`].
    pub fn new(receipt: &Receipt, fonts: &Fonts, paper: Paper) -> Result<Layout, String> {
        let avail = paper.content_width();
        let left = paper.margin as f32;
        let mut y: u32 = 0;
        let mut blocks = Vec::new();
        for item in &receipt.items {
            match item {
                Item::Text(t) => {
                    let weight = fonts.weight(t.bold);
                    let face = fonts.face(weight);
                    let size = t.size as f32;
                    let height = face.line_height(size).round().max(1.0) as u32;
                    let ascent = face.ascent(size);
                    let measure = |c: char| face.advance(face.glyph(c), size);
                    for (text, width) in wrap(&t.text, avail, measure) {
                        let x = left
                            + match t.align {
                                Align::Left => 0.0,
                                Align::Center => ((avail - width) / 2.0).max(0.0),
                                Align::Right => (avail - width).max(0.0),
                            };
                        let mut pen = x;
                        let mut glyphs = Vec::with_capacity(text.len());
                        for ch in text.chars() {
                            let gid = face.glyph(ch);
                            if !ch.is_whitespace() {
                                glyphs.push(Glyph { gid: gid.0, ch, x: pen });
                            }
                            pen += face.advance(gid, size);
                        }
                        blocks.push(Block::Line(Line {
                            top: y,
                            baseline: y as f32 + ascent,
                            size,
                            weight,
                            align: t.align,
                            text,
                            glyphs,
                            x,
                            width,
                            height,
                        }));
                        y += height;
                        if y > MAX_HEIGHT {
                            return Err(too_long());
                        }
                    }
                }
                Item::Image(im) => {
                    let (mut w, mut h) = (im.width, im.height);
                    if w as f32 > avail {
                        h = ((h as f32 * avail / w as f32).round() as u32).max(1);
                        w = avail as u32;
                    }
                    if y + h > MAX_HEIGHT {
                        return Err(too_long());
                    }
                    let scaled = if (w, h) == im.grey.dimensions() {
                        im.grey.clone()
                    } else {
                        image::imageops::resize(&im.grey, w, h, image::imageops::FilterType::Triangle)
                    };
                    let x = paper.margin
                        + match im.align {
                            Align::Left => 0,
                            Align::Center => (avail as u32 - w) / 2,
                            Align::Right => avail as u32 - w,
                        };
                    blocks.push(Block::Picture(Picture { x, y, dots: dither(&scaled) }));
                    y += h;
                }
            }
        }
        Ok(Layout { paper, height: y, blocks })
    }

    /// The receipt as the head prints it.
    pub fn render(&self, fonts: &Fonts) -> Bitmap {
        let mut out = Bitmap::new(self.paper.dots, self.height.max(1));
        for block in &self.blocks {
            match block {
                Block::Picture(p) => out.draw(&p.dots, p.x, p.y),
                Block::Line(line) => draw_line(&mut out, fonts, line),
            }
        }
        out
    }

    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Line(l) => Some(l),
            Block::Picture(_) => None,
        })
    }
}

fn too_long() -> String {
    format!("打印内容过长 (超过 {} mm)", (MAX_HEIGHT as f32 * 25.4 / DPI) as u32)
}

/// How much synthetic bold thickens strokes, in dots.
pub fn synthetic_bold_dots(size: f32) -> f32 {
    (size / 26.0).max(1.0)
}

/// Coverage from which a dot is black: a little under half, so that thin strokes of small
/// text do not break up on the head.
const INK: f32 = 0.42;

fn draw_line(out: &mut Bitmap, fonts: &Fonts, line: &Line) {
    let face = fonts.face(line.weight);
    let font = face.ab();
    // ab_glyph scales by ascent − descent; the layout speaks em sizes.
    let scale = PxScale::from(line.size * font.height_unscaled() / face.units_per_em());
    let offsets: &[(f32, f32)] = if line.weight == Weight::Synthetic {
        let h = synthetic_bold_dots(line.size) / 2.0;
        &[(0.0, 0.0), (-h, 0.0), (h, 0.0), (0.0, -h), (0.0, h)][..]
    } else {
        &[(0.0, 0.0)][..]
    };
    for g in &line.glyphs {
        for &(dx, dy) in offsets {
            let glyph = AbGlyph { id: ab_glyph::GlyphId(g.gid), scale, position: point(g.x + dx, line.baseline + dy) };
            if let Some(outlined) = font.outline_glyph(glyph) {
                let b = outlined.px_bounds();
                outlined.draw(|gx, gy, cov| {
                    if cov >= INK {
                        let (x, y) = (b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
                        if x >= 0 && y >= 0 {
                            out.set(x as u32, y as u32);
                        }
                    }
                });
            }
        }
    }
}

/// Characters that must not begin a line (closing punctuation, small kana, the iteration mark):
/// when one does not fit, the character before it moves down with it, so nothing is clipped at
/// the right edge and no line starts with "，".
const NO_START: &str = "!),.:;?]}%°·’”›»、。〃〆〉》」』】〕〗〙〛〞〟・ー々〻ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ！），．：；？］｝～｠｡､︰︱︲︳﹐﹑﹒﹔﹕﹖﹗﹚﹜﹞…‥";
/// Characters that must not end a line (opening brackets, currency signs before amounts).
const NO_END: &str = "([{‘“‹«〈《「『【〔〖〘〚〝（［｛｟＄￡￥¥$£";

fn no_start(c: char) -> bool {
    NO_START.contains(c)
}

fn no_end(c: char) -> bool {
    NO_END.contains(c)
}

/// Whether a line may break before and after `c` by itself (CJK scripts have no spaces).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF | 0x2E80..=0x2FFF | 0x3000..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA960..=0xA97F | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFFEF
        | 0x20000..=0x3FFFF)
}

struct Unit {
    text: String,
    space: bool,
}

/// Splits `text` into lines no wider than `max` (by `measure`, the advance of one character):
/// explicit line breaks first, then between CJK characters and at spaces, keeping closing
/// punctuation with the character before it and opening brackets with the one after; a word
/// wider than a line is cut where it must. Leading spaces of a paragraph are kept, those at a
/// wrap are dropped. Returns each line with its width without trailing spaces.
pub fn wrap(text: &str, max: f32, measure: impl Fn(char) -> f32) -> Vec<(String, f32)> {
    let width = |s: &str| s.chars().map(&measure).sum::<f32>();
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let para = para.strip_suffix('\r').unwrap_or(para);
        let mut units: Vec<Unit> = Vec::new();
        let (mut word_open, mut glue_next) = (false, false);
        for c in para.chars() {
            let c = if c == '\t' { ' ' } else { c };
            if c == ' ' || c.is_control() {
                match units.last_mut() {
                    Some(u) if u.space => u.text.push(' '),
                    _ => units.push(Unit { text: " ".into(), space: true }),
                }
                word_open = false;
                glue_next = false;
                continue;
            }
            let cjk = is_cjk(c);
            let attach = match units.last_mut() {
                Some(u) if !u.space && (glue_next || no_start(c) || (!cjk && word_open)) => Some(u),
                _ => None,
            };
            match attach {
                Some(u) => u.text.push(c),
                None => units.push(Unit { text: c.to_string(), space: false }),
            }
            word_open = !cjk;
            glue_next = no_end(c);
        }
        let mut line = String::new();
        let mut line_w = 0.0f32;
        let mut pending = String::new();
        let mut at_start = true;
        for u in units {
            if u.space {
                if at_start || !line.is_empty() {
                    pending.push_str(&u.text);
                }
                continue;
            }
            let w = width(&u.text);
            let pw = width(&pending);
            if line_w + pw + w <= max + 0.01 {
                line.push_str(&pending);
                line.push_str(&u.text);
                line_w += pw + w;
                pending.clear();
                at_start = false;
                continue;
            }
            if !line.is_empty() {
                lines.push((std::mem::take(&mut line), line_w));
                line_w = 0.0;
            }
            pending.clear();
            at_start = false;
            // A unit wider than the whole line is cut, character by character.
            for c in u.text.chars() {
                let cw = measure(c);
                if line_w + cw > max + 0.01 && !line.is_empty() {
                    lines.push((std::mem::take(&mut line), line_w));
                    line_w = 0.0;
                }
                line.push(c);
                line_w += cw;
            }
        }
        lines.push((line, line_w));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A monospaced stand-in: CJK 2, everything else 1.
    fn m(c: char) -> f32 {
        if is_cjk(c) {
            2.0
        } else {
            1.0
        }
    }

    fn w(text: &str, max: f32) -> Vec<String> {
        wrap(text, max, m).into_iter().map(|(s, _)| s).collect()
    }

    #[test]
    fn chinese_wraps_between_characters_and_latin_at_spaces() {
        assert_eq!(w("一二三四五六", 8.0), ["一二三四", "五六"]);
        assert_eq!(w("hello big world", 10.0), ["hello big", "world"]);
        assert_eq!(w("合计 Total 12.50", 10.0), ["合计 Total", "12.50"]);
    }

    #[test]
    fn closing_punctuation_never_starts_a_line_and_carries_its_character() {
        // "四，" would overflow: "四" moves down with the comma.
        assert_eq!(w("一二三四，五", 8.0), ["一二三", "四，五"]);
        assert_eq!(w("一二三。", 6.0), ["一二", "三。"]);
        // Opening brackets stay with what follows.
        assert_eq!(w("一二三（四）", 8.0), ["一二三", "（四）"]);
    }

    #[test]
    fn long_words_are_cut_blank_lines_kept_and_widths_exclude_trailing_spaces() {
        assert_eq!(w("abcdefghij", 4.0), ["abcd", "efgh", "ij"]);
        assert_eq!(w("a\n\nb", 4.0), ["a", "", "b"]);
        assert_eq!(w("  indented", 20.0), ["  indented"]);
        let lines = wrap("ab   ", 10.0, m);
        assert_eq!(lines[0].1, 2.0);
        assert_eq!(w("", 4.0), [""]);
    }
}
