//! A 1-bit picture of the receipt as a thermal head prints it: rows of dots, packed eight to a
//! byte with the leftmost dot in the most significant bit (the order of ESC/POS `GS v 0`).

use std::io::Write;

#[derive(Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: u32,
    height: u32,
    stride: usize,
    bits: Vec<u8>,
}

impl std::fmt::Debug for Bitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bitmap({}x{}, {} black)", self.width, self.height, self.black())
    }
}

impl Bitmap {
    pub fn new(width: u32, height: u32) -> Bitmap {
        let stride = width.div_ceil(8) as usize;
        Bitmap { width, height, stride, bits: vec![0; stride * height as usize] }
    }

    /// From packed rows (`stride` bytes each, MSB = left dot).
    pub fn from_rows(width: u32, height: u32, bits: Vec<u8>) -> Option<Bitmap> {
        let stride = width.div_ceil(8) as usize;
        (bits.len() == stride * height as usize).then_some(Bitmap { width, height, stride, bits })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes per row.
    pub fn stride(&self) -> usize {
        self.stride
    }

    pub fn rows(&self) -> &[u8] {
        &self.bits
    }

    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width
            && y < self.height
            && self.bits[y as usize * self.stride + (x / 8) as usize] & (0x80 >> (x % 8)) != 0
    }

    pub fn set(&mut self, x: u32, y: u32) {
        if x < self.width && y < self.height {
            self.bits[y as usize * self.stride + (x / 8) as usize] |= 0x80 >> (x % 8);
        }
    }

    /// Black dots in all.
    pub fn black(&self) -> u64 {
        self.bits.iter().map(|b| b.count_ones() as u64).sum()
    }

    /// Copies `other` with its top-left corner at (x, y) (black wins).
    pub fn draw(&mut self, other: &Bitmap, x: u32, y: u32) {
        for oy in 0..other.height {
            for ox in 0..other.width {
                if other.get(ox, oy) {
                    self.set(x + ox, y + oy);
                }
            }
        }
    }

    /// Rows `from..to` as a bitmap of their own.
    pub fn band(&self, from: u32, to: u32) -> Bitmap {
        let (from, to) = (from.min(self.height), to.min(self.height));
        let bits = self.bits[from as usize * self.stride..to as usize * self.stride].to_vec();
        Bitmap { width: self.width, height: to - from, stride: self.stride, bits }
    }

    /// Grey picture: black dots 0, paper 255.
    pub fn to_grey(&self) -> image::GrayImage {
        image::GrayImage::from_fn(self.width, self.height, |x, y| image::Luma([if self.get(x, y) { 0 } else { 255 }]))
    }

    /// From a grey picture: darker than `threshold` is a black dot.
    pub fn from_grey(img: &image::GrayImage, threshold: u8) -> Bitmap {
        let mut b = Bitmap::new(img.width(), img.height());
        for (x, y, p) in img.enumerate_pixels() {
            if p.0[0] < threshold {
                b.set(x, y);
            }
        }
        b
    }

    /// A 1-bit PNG (white paper, black dots): a few KB for a receipt.
    pub fn to_png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width.max(1), self.height.max(1));
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::One);
            enc.set_compression(png::Compression::High);
            // PNG's 1-bit grey has 1 = white; ours has 1 = black.
            let inverted: Vec<u8> = self.bits.iter().map(|b| !b).collect();
            let written = enc.write_header().and_then(|mut w| {
                if self.width == 0 || self.height == 0 {
                    w.write_image_data(&[0xFF])
                } else {
                    w.write_image_data(&inverted)
                }
            });
            if let Err(e) = written {
                tracing::error!(error = %e, "PNG encoding failed");
            }
        }
        let _ = out.flush();
        out
    }

    /// Reads a PNG (any colour type) as dots: darker than mid-grey is black.
    pub fn from_png(bytes: &[u8]) -> Result<Bitmap, String> {
        let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Png).map_err(|e| e.to_string())?;
        Ok(Bitmap::from_grey(&img.to_luma8(), 128))
    }
}

/// Floyd–Steinberg error diffusion to 1 bit: photos keep their tones on a thermal head, and
/// flat black or white areas (QR codes, logos) stay exact.
pub fn dither(img: &image::GrayImage) -> Bitmap {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut out = Bitmap::new(img.width(), img.height());
    let mut cur: Vec<i32> = vec![0; w + 2];
    let mut next: Vec<i32> = vec![0; w + 2];
    for y in 0..h {
        for x in 0..w {
            let old = img.get_pixel(x as u32, y as u32).0[0] as i32 + cur[x + 1];
            let (new, black) = if old < 128 { (0, true) } else { (255, false) };
            if black {
                out.set(x as u32, y as u32);
            }
            let err = old - new;
            cur[x + 2] += err * 7 / 16;
            next[x] += err * 3 / 16;
            next[x + 1] += err * 5 / 16;
            next[x + 2] += err / 16;
        }
        std::mem::swap(&mut cur, &mut next);
        next.iter_mut().for_each(|e| *e = 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_msb_first_and_png_round_trips() {
        let mut b = Bitmap::new(10, 3);
        b.set(0, 0);
        b.set(9, 2);
        assert_eq!(b.rows()[0], 0x80);
        assert_eq!(b.rows()[5], 0x40);
        assert_eq!(b.stride(), 2);
        let back = Bitmap::from_png(&b.to_png()).unwrap();
        assert_eq!(back, b);
    }

    #[test]
    fn dithering_keeps_flat_areas_and_mid_grey_is_half_black() {
        let flat = image::GrayImage::from_fn(16, 16, |x, _| image::Luma([if x < 8 { 0 } else { 255 }]));
        let d = dither(&flat);
        assert_eq!(d.black(), 8 * 16);
        let grey = image::GrayImage::from_pixel(64, 64, image::Luma([128]));
        let share = dither(&grey).black() as f64 / (64.0 * 64.0);
        assert!((0.4..0.6).contains(&share), "{share}");
    }
}
