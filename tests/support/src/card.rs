//! Synthetic cards for the OCR tests, drawn with a CJK font from a Debian package
//! (fonts-noto-cjk, in scripts/setup.sh's build packages): a resident ID card front and back
//! and a bank card, laid out like the real ones (85.6 × 54 mm at 10 px/mm), for fictional
//! people only; then "photographed": scaled, slightly rotated, on a table, with sensor noise.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use booth_camera::Frame;
use std::sync::OnceLock;

/// Noto Sans CJK, face 2 of the collection (Simplified Chinese glyph shapes).
pub const FONT_PATH: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
const FONT_INDEX: u32 = 2;
pub const CARD_W: u32 = 856;
pub const CARD_H: u32 = 540;

/// Noto Serif CJK (same package, same face index): a Song-style face, as cards print their
/// values in, for pictures that are not all in one font.
pub const SERIF_PATH: &str = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc";

fn load_font(path: &'static str) -> FontRef<'static> {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e} (`. scripts/setup.sh; booth_apt fonts-noto-cjk`)"));
    FontRef::try_from_slice_and_index(Box::leak(bytes.into_boxed_slice()), FONT_INDEX)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn font() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| load_font(FONT_PATH))
}

fn serif() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| load_font(SERIF_PATH))
}

thread_local! {
    /// Whether values (not labels) are drawn in the serif face on this thread.
    static SERIF_VALUES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// An RGB canvas to draw a card on.
pub struct Canvas {
    pub w: u32,
    pub h: u32,
    px: Vec<u8>,
}

impl Canvas {
    pub fn new(w: u32, h: u32, fill: impl Fn(u32, u32) -> [u8; 3]) -> Canvas {
        let mut px = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                px.extend_from_slice(&fill(x, y));
            }
        }
        Canvas { w, h, px }
    }

    fn blend(&mut self, x: i32, y: i32, color: [u8; 3], a: f32) {
        if x < 0 || y < 0 || x >= self.w as i32 || y >= self.h as i32 {
            return;
        }
        let i = ((y as u32 * self.w + x as u32) * 3) as usize;
        for (old, new) in self.px[i..i + 3].iter_mut().zip(color) {
            let o = *old as f32;
            *old = (o + (new as f32 - o) * a.clamp(0.0, 1.0)).round() as u8;
        }
    }

    pub fn rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, color: [u8; 3]) {
        for y in y0..y1 {
            for x in x0..x1 {
                self.blend(x, y, color, 1.0);
            }
        }
    }

    /// `text` with its baseline at `y`, `size` px high, `spacing` px between characters.
    /// Returns the x after the last character.
    pub fn text(&mut self, x: f32, y: f32, size: f32, spacing: f32, color: [u8; 3], text: &str) -> f32 {
        let f = if color == INK && SERIF_VALUES.get() { serif() } else { font() };
        let scale = PxScale::from(size);
        let scaled = f.as_scaled(scale);
        let mut pen = x;
        for ch in text.chars() {
            let id = f.glyph_id(ch);
            let glyph = id.with_scale_and_position(scale, ab_glyph::point(pen, y));
            if let Some(outline) = f.outline_glyph(glyph) {
                let b = outline.px_bounds();
                outline
                    .draw(|gx, gy, cov| self.blend(b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32, color, cov));
            }
            pen += scaled.h_advance(id) + spacing;
        }
        pen
    }

    pub fn frame(self) -> Frame {
        Frame::new(self.w, self.h, self.px)
    }
}

const LABEL: [u8; 3] = [52, 96, 150];
const INK: [u8; 3] = [24, 24, 28];

/// The ID card's pale background with a faint pattern, and the portrait's place: a grey
/// silhouette, not a face.
fn id_background() -> Canvas {
    Canvas::new(CARD_W, CARD_H, |x, y| {
        let wave = (((x as f32 / 23.0).sin() + (y as f32 / 31.0).cos()) * 3.0) as i32;
        [(236 + wave) as u8, (238 + wave) as u8, (230 + wave) as u8]
    })
}

/// A fictional person's card front.
pub struct IdFront<'a> {
    pub name: &'a str,
    pub gender: &'a str,
    pub nation: &'a str,
    pub birth: (u32, u32, u32),
    /// As printed: one or two lines.
    pub address: &'a [&'a str],
    pub id_no: &'a str,
}

pub fn id_front(p: &IdFront) -> Frame {
    let mut c = id_background();
    c.rect(590, 70, 800, 330, [205, 208, 212]);
    c.rect(655, 120, 735, 210, [170, 174, 180]);
    c.rect(620, 220, 770, 330, [170, 174, 180]);
    c.text(60.0, 110.0, 26.0, 14.0, LABEL, "姓名");
    c.text(170.0, 112.0, 32.0, 2.0, INK, p.name);
    c.text(60.0, 180.0, 26.0, 14.0, LABEL, "性别");
    c.text(170.0, 182.0, 30.0, 0.0, INK, p.gender);
    c.text(300.0, 180.0, 26.0, 14.0, LABEL, "民族");
    c.text(410.0, 182.0, 30.0, 0.0, INK, p.nation);
    c.text(60.0, 250.0, 26.0, 14.0, LABEL, "出生");
    let (y, m, d) = p.birth;
    let mut x = c.text(170.0, 252.0, 30.0, 0.0, INK, &y.to_string());
    x = c.text(x + 6.0, 250.0, 26.0, 0.0, LABEL, "年");
    x = c.text(x + 14.0, 252.0, 30.0, 0.0, INK, &m.to_string());
    x = c.text(x + 6.0, 250.0, 26.0, 0.0, LABEL, "月");
    x = c.text(x + 14.0, 252.0, 30.0, 0.0, INK, &d.to_string());
    c.text(x + 6.0, 250.0, 26.0, 0.0, LABEL, "日");
    c.text(60.0, 320.0, 26.0, 14.0, LABEL, "住址");
    for (i, line) in p.address.iter().enumerate() {
        c.text(170.0, 322.0 + 44.0 * i as f32, 28.0, 1.0, INK, line);
    }
    c.text(60.0, 470.0, 26.0, 6.0, LABEL, "公民身份号码");
    c.text(290.0, 474.0, 34.0, 5.0, INK, p.id_no);
    c.frame()
}

/// [`id_front`] with the values (name, dates, address, number) in Noto Serif CJK.
pub fn id_front_serif(p: &IdFront) -> Frame {
    SERIF_VALUES.set(true);
    let f = id_front(p);
    SERIF_VALUES.set(false);
    f
}

/// A card's back: the issuing office and the validity period as printed (`2016.03.12-2036.03.12`).
pub fn id_back(sign_org: &str, period: &str) -> Frame {
    let mut c = id_background();
    // The emblem's place: a red disc, no emblem.
    for y in 40..200 {
        for x in 50..210 {
            if ((x - 130) * (x - 130) + (y - 120) * (y - 120)) < 75 * 75 {
                c.blend(x, y, [196, 40, 36], 1.0);
            }
        }
    }
    c.text(300.0, 120.0, 40.0, 10.0, INK, "中华人民共和国");
    c.text(280.0, 220.0, 58.0, 16.0, INK, "居民身份证");
    c.text(170.0, 400.0, 26.0, 6.0, INK, "签发机关");
    c.text(330.0, 402.0, 28.0, 1.0, INK, sign_org);
    c.text(170.0, 470.0, 26.0, 6.0, INK, "有效期限");
    c.text(330.0, 472.0, 28.0, 1.0, INK, period);
    c.frame()
}

/// A bank card: the bank's name, the card type, the number in groups of four, the holder.
pub fn bank_card(bank: &str, kind: &str, number: &str, holder: &str) -> Frame {
    let mut c = Canvas::new(CARD_W, CARD_H, |x, y| {
        let t = (x + y) as f32 / (CARD_W + CARD_H) as f32;
        [(30.0 + 40.0 * t) as u8, (70.0 + 60.0 * t) as u8, (120.0 + 70.0 * t) as u8]
    });
    const WHITE: [u8; 3] = [250, 250, 250];
    c.text(50.0, 90.0, 44.0, 4.0, WHITE, bank);
    c.text(660.0, 90.0, 30.0, 2.0, WHITE, kind);
    c.rect(70, 170, 170, 245, [214, 180, 96]);
    let grouped: Vec<String> = number.as_bytes().chunks(4).map(|g| String::from_utf8_lossy(g).into_owned()).collect();
    c.text(60.0, 350.0, 50.0, 3.0, WHITE, &grouped.join(" "));
    c.text(60.0, 470.0, 30.0, 4.0, WHITE, holder);
    c.frame()
}

/// A small deterministic random source (no dependency, repeatable pictures).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// The card as a camera sees it on a table: the card `card_w` px wide in a picture a fifth
/// larger, turned by `degrees` (positive: clockwise), with ± `noise` grey levels of noise.
pub fn photographed(card: &Frame, card_w: u32, degrees: f32, noise: u8, seed: u64) -> Frame {
    let k = card.width as f32 / card_w as f32;
    let card_h = card.height as f32 / k;
    let (w, h) = ((card_w as f32 * 1.2) as u32, (card_h * 1.3) as u32);
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (s, co) = degrees.to_radians().sin_cos();
    let mut rng = Rng(seed | 1);
    let mut px = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            // Back-rotate into the card's frame, then into the card's pixels.
            let (u, v) =
                ((dx * co + dy * s) * k + card.width as f32 / 2.0, (-dx * s + dy * co) * k + card.height as f32 / 2.0);
            let mut p = if u >= 0.0 && v >= 0.0 && u < card.width as f32 && v < card.height as f32 {
                card.sample(u - 0.5, v - 0.5)
            } else {
                let grain = ((x / 7 + y / 5) % 3) as u8 * 4;
                [96 + grain, 78 + grain, 60 + grain]
            };
            if noise > 0 {
                let n = (rng.next() * 2.0 - 1.0) * noise as f32;
                for ch in p.iter_mut() {
                    *ch = (*ch as f32 + n).clamp(0.0, 255.0) as u8;
                }
            }
            px.extend_from_slice(&p);
        }
    }
    Frame::new(w, h, px)
}

/// How a person's camera sees the card: [`photographed`]'s size, turn (180°: upside down) and
/// noise, plus a perspective (the card's far edge narrower: `keystone` 0.1 makes it 10 %
/// shorter than the near one; `skew` does the same sideways), uneven light (`shade`: the
/// darker side loses that fraction of its brightness) and a slightly defocused lens (`blur`:
/// box blur radius in pixels).
#[derive(Debug, Clone, Copy)]
pub struct Shot {
    pub card_w: u32,
    pub degrees: f32,
    pub keystone: f32,
    pub skew: f32,
    pub noise: u8,
    pub shade: f32,
    pub blur: u32,
    pub seed: u64,
}

pub fn shot(card: &Frame, s: &Shot) -> Frame {
    let k = card.width as f32 / s.card_w as f32;
    let card_h = card.height as f32 / k;
    // Room for the card at any turn.
    let side = (s.card_w as f32).hypot(card_h) * 1.1;
    let (w, h) = (side as u32, (side * 0.8).max(card_h * 1.3) as u32);
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (sn, co) = s.degrees.to_radians().sin_cos();
    // A homography x' = x / (1 + p·y + q·x): the far edge shrinks by `keystone`.
    let (p, q) = (s.keystone / card_h, s.skew / s.card_w as f32);
    let mut rng = Rng(s.seed | 1);
    let mut px = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            let d = 1.0 - p * dy - q * dx;
            let (dx, dy) = (dx / d, dy / d);
            let (u, v) = (
                (dx * co + dy * sn) * k + card.width as f32 / 2.0,
                (-dx * sn + dy * co) * k + card.height as f32 / 2.0,
            );
            let mut c = if d > 0.0 && u >= 0.0 && v >= 0.0 && u < card.width as f32 && v < card.height as f32 {
                card.sample(u - 0.5, v - 0.5)
            } else {
                let grain = ((x / 7 + y / 5) % 3) as u8 * 4;
                [96 + grain, 78 + grain, 60 + grain]
            };
            let light = 1.0 - s.shade * (x as f32 / w as f32);
            for ch in c.iter_mut() {
                *ch = (*ch as f32 * light).clamp(0.0, 255.0) as u8;
            }
            px.extend_from_slice(&c);
        }
    }
    let px = box_blur(&px, w, h, s.blur);
    let mut out = Vec::with_capacity(px.len());
    for v in px {
        let n = if s.noise > 0 { (rng.next() * 2.0 - 1.0) * s.noise as f32 } else { 0.0 };
        out.push((v as f32 + n).clamp(0.0, 255.0) as u8);
    }
    Frame::new(w, h, out)
}

fn box_blur(px: &[u8], w: u32, h: u32, r: u32) -> Vec<u8> {
    if r == 0 {
        return px.to_vec();
    }
    let (w, h, r) = (w as i64, h as i64, r as i64);
    let at = |x: i64, y: i64, c: usize| px[((y.clamp(0, h - 1) * w + x.clamp(0, w - 1)) * 3) as usize + c] as u32;
    let n = ((2 * r + 1) * (2 * r + 1)) as u32;
    let mut out = Vec::with_capacity(px.len());
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let mut sum = 0;
                for yy in -r..=r {
                    for xx in -r..=r {
                        sum += at(x + xx, y + yy, c);
                    }
                }
                out.push((sum / n) as u8);
            }
        }
    }
    out
}

/// A picture with no card in it: the table, a cup's shadow, noise.
pub fn no_card(w: u32, h: u32) -> Frame {
    let mut rng = Rng(7);
    let mut c = Canvas::new(w, h, |x, y| {
        let grain = ((x / 7 + y / 5) % 3) as u8 * 4;
        [96 + grain, 78 + grain, 60 + grain]
    });
    for y in 0..h as i32 {
        for x in 0..w as i32 {
            let (dx, dy) = (x - w as i32 / 3, y - h as i32 / 2);
            if dx * dx + dy * dy < (h as i32 / 4).pow(2) {
                c.blend(x, y, [60, 50, 40], 0.5);
            }
            let n = rng.next() * 0.1;
            c.blend(x, y, [0, 0, 0], n);
        }
    }
    c.frame()
}
