//! A camera frame (packed RGB, shared without copying) and the few image operations Booth
//! needs: JPEG / PNG in, JPEG out, rotation and mirroring, scaling.

use std::sync::Arc;
use std::time::Instant;

/// One picture from a camera: packed 8-bit RGB, row after row, no padding. Cloning shares the
/// pixels.
#[derive(Clone)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub rgb: Arc<[u8]>,
    /// Counts frames from one camera since it was opened.
    pub seq: u64,
    pub captured: Instant,
}

impl std::fmt::Debug for Frame {
    // Never the pixels: a frame is a picture of a person.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({}x{} #{})", self.width, self.height, self.seq)
    }
}

/// Why a picture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("不是 JPEG 或 PNG 图片")]
    UnknownFormat,
    #[error("图片无法解码: {0}")]
    Decode(String),
    #[error("图片过大 ({0}x{1})")]
    TooLarge(u32, u32),
}

/// Largest picture Booth decodes (a 16-megapixel photo), so that a bad file cannot exhaust memory.
const MAX_PIXELS: u64 = 16_000_000;

impl Frame {
    pub fn new(width: u32, height: u32, rgb: Vec<u8>) -> Frame {
        debug_assert_eq!(rgb.len(), width as usize * height as usize * 3);
        Frame { width, height, rgb: rgb.into(), seq: 0, captured: Instant::now() }
    }

    /// A frame of one colour.
    pub fn filled(width: u32, height: u32, rgb: [u8; 3]) -> Frame {
        let mut px = Vec::with_capacity(width as usize * height as usize * 3);
        for _ in 0..width as usize * height as usize {
            px.extend_from_slice(&rgb);
        }
        Frame::new(width, height, px)
    }

    /// Decodes a JPEG or PNG picture.
    pub fn decode(bytes: &[u8]) -> Result<Frame, ImageError> {
        if bytes.starts_with(&[0xFF, 0xD8]) {
            decode_jpeg(bytes)
        } else if bytes.starts_with(b"\x89PNG") {
            decode_png(bytes)
        } else {
            Err(ImageError::UnknownFormat)
        }
    }

    /// Encodes as a baseline JPEG (`quality` 1–100).
    pub fn to_jpeg(&self, quality: u8) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.rgb.len() / 8);
        let enc = jpeg_encoder::Encoder::new(&mut out, quality);
        // The sizes come from a Frame, which never exceeds u16 in practice; a failure gives an
        // empty picture rather than a panic.
        if let (Ok(w), Ok(h)) = (u16::try_from(self.width), u16::try_from(self.height)) {
            if enc.encode(&self.rgb, w, h, jpeg_encoder::ColorType::Rgb).is_err() {
                out.clear();
            }
        }
        out
    }

    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Rotated clockwise by 0, 90, 180 or 270 degrees, then mirrored left to right if asked.
    pub fn oriented(&self, rotation: u16, mirror: bool) -> Frame {
        if rotation.is_multiple_of(360) && !mirror {
            return self.clone();
        }
        let (w, h) = (self.width as usize, self.height as usize);
        let (ow, oh) = if rotation % 180 == 90 { (h, w) } else { (w, h) };
        let mut out = vec![0u8; ow * oh * 3];
        for oy in 0..oh {
            for ox in 0..ow {
                let mx = if mirror { ow - 1 - ox } else { ox };
                let (sx, sy) = match rotation % 360 {
                    90 => (oy, h - 1 - mx),
                    180 => (w - 1 - mx, h - 1 - oy),
                    270 => (w - 1 - oy, mx),
                    _ => (mx, oy),
                };
                let s = (sy * w + sx) * 3;
                let d = (oy * ow + ox) * 3;
                out[d..d + 3].copy_from_slice(&self.rgb[s..s + 3]);
            }
        }
        Frame { width: ow as u32, height: oh as u32, rgb: out.into(), seq: self.seq, captured: self.captured }
    }

    /// Scaled to `width`×`height` (bilinear).
    pub fn resized(&self, width: u32, height: u32) -> Frame {
        if width == self.width && height == self.height {
            return self.clone();
        }
        let mut out = vec![0u8; width as usize * height as usize * 3];
        let sx = self.width as f32 / width as f32;
        let sy = self.height as f32 / height as f32;
        for y in 0..height as usize {
            let fy = ((y as f32 + 0.5) * sy - 0.5).max(0.0);
            for x in 0..width as usize {
                let fx = ((x as f32 + 0.5) * sx - 0.5).max(0.0);
                let px = self.sample(fx, fy);
                out[(y * width as usize + x) * 3..][..3].copy_from_slice(&px);
            }
        }
        Frame { width, height, rgb: out.into(), seq: self.seq, captured: self.captured }
    }

    /// Bilinear sample at (x, y) in pixel coordinates; outside the picture the edge is repeated.
    #[inline]
    pub fn sample(&self, x: f32, y: f32) -> [u8; 3] {
        let w = self.width as i32;
        let h = self.height as i32;
        let x0 = x.floor();
        let y0 = y.floor();
        let ax = x - x0;
        let ay = y - y0;
        let cx = |v: i32| v.clamp(0, w - 1) as usize;
        let cy = |v: i32| v.clamp(0, h - 1) as usize;
        let (x0, y0) = (x0 as i32, y0 as i32);
        let (xa, xb, ya, yb) = (cx(x0), cx(x0 + 1), cy(y0), cy(y0 + 1));
        let row = self.width as usize * 3;
        let p = |xx: usize, yy: usize, c: usize| self.rgb[yy * row + xx * 3 + c] as f32;
        let mut out = [0u8; 3];
        for (c, o) in out.iter_mut().enumerate() {
            let top = p(xa, ya, c) * (1.0 - ax) + p(xb, ya, c) * ax;
            let bottom = p(xa, yb, c) * (1.0 - ax) + p(xb, yb, c) * ax;
            *o = (top * (1.0 - ay) + bottom * ay + 0.5).clamp(0.0, 255.0) as u8;
        }
        out
    }
}

fn check_size(w: u32, h: u32) -> Result<(), ImageError> {
    if w == 0 || h == 0 || w as u64 * h as u64 > MAX_PIXELS || w > u16::MAX as u32 || h > u16::MAX as u32 {
        return Err(ImageError::TooLarge(w, h));
    }
    Ok(())
}

fn decode_jpeg(bytes: &[u8]) -> Result<Frame, ImageError> {
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(bytes, options);
    dec.decode_headers().map_err(|e| ImageError::Decode(e.to_string()))?;
    let (w, h) = dec.dimensions().map(|(w, h)| (w as u32, h as u32)).ok_or(ImageError::UnknownFormat)?;
    check_size(w, h)?;
    let px = dec.decode().map_err(|e| ImageError::Decode(e.to_string()))?;
    if px.len() != w as usize * h as usize * 3 {
        return Err(ImageError::Decode(format!("{} bytes for {w}x{h}", px.len())));
    }
    Ok(Frame::new(w, h, px))
}

fn decode_png(bytes: &[u8]) -> Result<Frame, ImageError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| ImageError::Decode(e.to_string()))?;
    let (w, h) = (reader.info().width, reader.info().height);
    check_size(w, h)?;
    let size = reader.output_buffer_size().ok_or_else(|| ImageError::Decode("size".into()))?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(|e| ImageError::Decode(e.to_string()))?;
    let buf = &buf[..info.buffer_size()];
    let n = w as usize * h as usize;
    let mut rgb = Vec::with_capacity(n * 3);
    match info.color_type {
        png::ColorType::Rgb => rgb.extend_from_slice(&buf[..n * 3]),
        png::ColorType::Rgba => buf.chunks_exact(4).for_each(|p| rgb.extend_from_slice(&p[..3])),
        png::ColorType::Grayscale => buf.iter().for_each(|&g| rgb.extend_from_slice(&[g, g, g])),
        png::ColorType::GrayscaleAlpha => buf.chunks_exact(2).for_each(|p| rgb.extend_from_slice(&[p[0], p[0], p[0]])),
        png::ColorType::Indexed => return Err(ImageError::Decode("indexed PNG".into())),
    }
    Ok(Frame::new(w, h, rgb))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(w: u32, h: u32) -> Frame {
        let mut px = Vec::new();
        for i in 0..w * h {
            px.extend_from_slice(&[i as u8, 0, 0]);
        }
        Frame::new(w, h, px)
    }

    #[test]
    fn rotation_and_mirror_move_pixels_where_they_belong() {
        // 3x2:  0 1 2 / 3 4 5
        let f = numbered(3, 2);
        let r = f.oriented(90, false);
        assert_eq!((r.width, r.height), (2, 3));
        // Clockwise: the bottom-left pixel (3) comes to the top-left.
        assert_eq!(r.pixel(0, 0)[0], 3);
        assert_eq!(r.pixel(1, 0)[0], 0);
        let r = f.oriented(180, false);
        assert_eq!(r.pixel(0, 0)[0], 5);
        let r = f.oriented(270, false);
        assert_eq!(r.pixel(0, 0)[0], 2);
        let m = f.oriented(0, true);
        assert_eq!(m.pixel(0, 0)[0], 2);
        assert_eq!(m.pixel(2, 1)[0], 3);
    }

    #[test]
    fn jpeg_round_trip_and_bad_bytes() {
        let f = Frame::filled(64, 48, [200, 100, 50]);
        let jpeg = f.to_jpeg(90);
        let back = Frame::decode(&jpeg).unwrap();
        assert_eq!((back.width, back.height), (64, 48));
        let p = back.pixel(10, 10);
        assert!((p[0] as i32 - 200).abs() < 6 && (p[1] as i32 - 100).abs() < 6, "{p:?}");
        assert!(matches!(Frame::decode(b"hello"), Err(ImageError::UnknownFormat)));
        assert!(Frame::decode(&jpeg[..20]).is_err());
        assert!(format!("{back:?}").starts_with("Frame(64x48"));
    }
}
