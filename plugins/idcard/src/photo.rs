//! The card photo: the vendor's WLT decoder (a licensed library, loaded at run time when
//! configured) turns the card's 1024 compressed bytes into a 102×126 bitmap, which Booth sends
//! to pages as a base64 JPEG (seed 000's `photoBase64` starts `/9j/`).
//!
//! Decoder contract (the common `unpack` export of vendor WLT libraries):
//! `int unpack(const unsigned char *wlt, unsigned char *out, int flag)` returning 1 on success,
//! `out` receiving either a Windows bitmap (starting `BM`, 38,862 bytes) or raw 102×126 BGR
//! rows bottom-up (38,556 bytes). `flag` is passed as configured (default 0).

use crate::identity::Photo;
use base64::Engine;
use std::path::Path;

pub const WIDTH: usize = 102;
pub const HEIGHT: usize = 126;
const OUT_BYTES: usize = 64 * 1024;

type Unpack = unsafe extern "system" fn(*const u8, *mut u8, i32) -> i32;

/// A loaded WLT decoder.
pub struct WltDecoder {
    unpack: Unpack,
    flag: i32,
    // Keeps the library mapped while `unpack` may be called; dropped last.
    _lib: libloading::Library,
}

impl WltDecoder {
    /// Loads `library` and its `symbol` (normally `unpack`).
    pub fn load(library: &Path, symbol: &str, flag: i32) -> Result<WltDecoder, String> {
        // SAFETY: loading a library runs its initialisers; the operator configured this
        // vendor library for exactly this purpose.
        let lib = unsafe { libloading::Library::new(library) }
            .map_err(|e| format!("{}: 无法加载照片解码库 ({e})", library.display()))?;
        // SAFETY: the symbol is declared with the decoder contract documented above; the
        // pointer stays valid because the library is kept in the same struct.
        let unpack = unsafe { lib.get::<Unpack>(symbol) }
            .map(|s| *s)
            .map_err(|e| format!("{}: 没有 {symbol} ({e})", library.display()))?;
        Ok(WltDecoder { unpack, flag, _lib: lib })
    }

    /// Decodes the card's WLT bytes to a bitmap.
    pub fn decode(&self, wlt: &[u8]) -> Result<Vec<u8>, String> {
        if wlt.len() < 1024 {
            return Err(format!("照片数据只有 {} 字节", wlt.len()));
        }
        let input = wlt[..1024].to_vec();
        let mut out = vec![0u8; OUT_BYTES];
        // SAFETY: `input` holds the 1024 bytes the decoder reads and `out` is larger than the
        // largest bitmap it writes.
        let rc = unsafe { (self.unpack)(input.as_ptr(), out.as_mut_ptr(), self.flag) };
        if rc != 1 {
            return Err(format!("照片解码失败 (返回 {rc})"));
        }
        if out.starts_with(b"BM") {
            let size = u32::from_le_bytes([out[2], out[3], out[4], out[5]]) as usize;
            out.truncate(size.clamp(54, OUT_BYTES));
            Ok(out)
        } else {
            Ok(raw_to_bmp(&out[..WIDTH * HEIGHT * 3]))
        }
    }
}

/// Wraps raw bottom-up BGR rows (no padding) in a bitmap header.
fn raw_to_bmp(raw: &[u8]) -> Vec<u8> {
    let row = WIDTH * 3;
    let stride = row.div_ceil(4) * 4;
    let size = 54 + stride * HEIGHT;
    let mut bmp = Vec::with_capacity(size);
    bmp.extend_from_slice(b"BM");
    bmp.extend_from_slice(&(size as u32).to_le_bytes());
    bmp.extend_from_slice(&[0, 0, 0, 0]);
    bmp.extend_from_slice(&54u32.to_le_bytes());
    bmp.extend_from_slice(&40u32.to_le_bytes());
    bmp.extend_from_slice(&(WIDTH as i32).to_le_bytes());
    bmp.extend_from_slice(&(HEIGHT as i32).to_le_bytes());
    bmp.extend_from_slice(&1u16.to_le_bytes());
    bmp.extend_from_slice(&24u16.to_le_bytes());
    bmp.extend_from_slice(&[0u8; 24]);
    for r in raw.chunks(row).take(HEIGHT) {
        bmp.extend_from_slice(r);
        bmp.resize(bmp.len() + stride - row, 0);
    }
    bmp
}

/// A 24-bit Windows bitmap as a JPEG.
pub fn bmp_to_jpeg(bmp: &[u8]) -> Result<Vec<u8>, String> {
    let u32_at = |i: usize| bmp.get(i..i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let u16_at = |i: usize| bmp.get(i..i + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    if !bmp.starts_with(b"BM") {
        return Err("不是 BMP 图像".into());
    }
    let (Some(offset), Some(width), Some(height), Some(bpp)) = (u32_at(10), u32_at(18), u32_at(22), u16_at(28)) else {
        return Err("BMP 头不完整".into());
    };
    let height = height as i32;
    let (w, h, top_down) = (width as usize, height.unsigned_abs() as usize, height < 0);
    if bpp != 24 || w == 0 || h == 0 || w > 4096 || h > 4096 {
        return Err(format!("只支持 24 位 BMP (收到 {bpp} 位, {w}×{h})"));
    }
    let stride = (w * 3).div_ceil(4) * 4;
    let start = offset as usize;
    if bmp.len() < start + stride * h {
        return Err("BMP 数据不完整".into());
    }
    let mut bgr = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        let src = if top_down { y } else { h - 1 - y };
        let at = start + src * stride;
        bgr.extend_from_slice(&bmp[at..at + w * 3]);
    }
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 90)
        .encode(&bgr, w as u16, h as u16, jpeg_encoder::ColorType::Bgr)
        .map_err(|e| format!("JPEG 编码失败: {e}"))?;
    Ok(jpeg)
}

/// Turns a backend's photo into `photoBase64`: empty when there is none or it cannot be decoded
/// (the reason is logged; the rest of the card still reaches the page).
pub fn to_base64(photo: &Photo, decoder: Option<&WltDecoder>) -> String {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let result = match photo {
        Photo::None => return String::new(),
        Photo::Base64(s) => return s.clone(),
        Photo::Bmp(bmp) => bmp_to_jpeg(bmp),
        Photo::Wlt(wlt) => match decoder {
            Some(d) => d.decode(wlt).and_then(|bmp| bmp_to_jpeg(&bmp)),
            None => Err("未配置照片解码库 ([idcard] photo_decoder), photoBase64 为空".into()),
        },
    };
    match result {
        Ok(jpeg) => b64(&jpeg),
        Err(why) => {
            tracing::warn!(%why, "ID card photo not decoded");
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_rows_become_a_bitmap_and_then_a_jpeg() {
        let raw: Vec<u8> = (0..WIDTH * HEIGHT * 3).map(|i| (i % 251) as u8).collect();
        let bmp = raw_to_bmp(&raw);
        assert_eq!(bmp.len(), 38_862, "the size vendor decoders produce");
        let jpeg = bmp_to_jpeg(&bmp).unwrap();
        assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF]);
        let b64 = to_base64(&Photo::Bmp(bmp), None);
        assert!(b64.starts_with("/9j/"), "{}", &b64[..8]);
    }

    #[test]
    fn without_a_decoder_the_photo_is_empty() {
        assert_eq!(to_base64(&Photo::Wlt(vec![0; 1024]), None), "");
        assert_eq!(to_base64(&Photo::None, None), "");
        assert_eq!(to_base64(&Photo::Base64("abc".into()), None), "abc");
        assert!(bmp_to_jpeg(b"GIF89a").is_err());
    }
}
