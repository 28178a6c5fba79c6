//! `secondaryScreenBase64`: base64 text (a `data:image/…;base64,` prefix is accepted too) that
//! must decode to a PNG, JPEG, GIF, BMP or WebP picture whose header gives a size. Anything
//! else is refused before it reaches the screen.

use base64::Engine;

/// A checked picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

impl Picture {
    /// The picture as a `data:` URL, for an `<img>`.
    pub fn data_url(&self) -> String {
        format!("data:{};base64,{}", self.mime, base64::engine::general_purpose::STANDARD.encode(&self.bytes))
    }
}

/// Why a `secondaryScreenBase64` was refused (the message a page gets after "参数错误: ").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadPicture {
    #[error("secondaryScreenBase64 为空")]
    Empty,
    #[error("secondaryScreenBase64 不是有效的 base64 ({0})")]
    Base64(String),
    #[error("secondaryScreenBase64 不是图片 (支持 PNG、JPEG、GIF、BMP、WebP)")]
    NotAnImage,
    #[error("secondaryScreenBase64 的 {0} 图片头无效")]
    BadHeader(&'static str),
}

/// Decodes and checks `secondaryScreenBase64`.
pub fn decode(text: &str) -> Result<Picture, BadPicture> {
    let mut text = text.trim();
    if let Some(rest) = text.strip_prefix("data:") {
        // data:image/png;base64,AAAA…
        let comma = rest.find(',').ok_or(BadPicture::Base64("data: URL 缺少逗号".into()))?;
        if !rest[..comma].ends_with(";base64") {
            return Err(BadPicture::Base64("data: URL 不是 base64".into()));
        }
        text = &rest[comma + 1..];
    }
    // Line breaks (MIME-style base64) and spaces are tolerated; padding is optional.
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(BadPicture::Empty);
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = engine.decode(&compact).map_err(|e| BadPicture::Base64(e.to_string()))?;
    let (mime, width, height) = sniff(&bytes)?;
    Ok(Picture { mime, width, height, bytes })
}

fn u16_be(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?)))
}
fn u16_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?)))
}
fn u32_be(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u24_le(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

/// The picture's type and size from its header.
fn sniff(b: &[u8]) -> Result<(&'static str, u32, u32), BadPicture> {
    let (mime, size) = if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        ("image/png", (b.get(12..16) == Some(b"IHDR")).then(|| Some((u32_be(b, 16)?, u32_be(b, 20)?))).flatten())
    } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        ("image/jpeg", jpeg_size(b))
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        ("image/gif", u16_le(b, 6).zip(u16_le(b, 8)))
    } else if b.starts_with(b"BM") {
        ("image/bmp", bmp_size(b))
    } else if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        ("image/webp", webp_size(b))
    } else {
        return Err(BadPicture::NotAnImage);
    };
    match size {
        Some((w, h)) if w > 0 && h > 0 => Ok((mime, w, h)),
        _ => Err(BadPicture::BadHeader(mime)),
    }
}

/// The size in the first start-of-frame segment.
fn jpeg_size(b: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    loop {
        // Markers may be padded with extra 0xFF bytes.
        while *b.get(at)? == 0xFF && *b.get(at + 1)? == 0xFF {
            at += 1;
        }
        if *b.get(at)? != 0xFF {
            return None;
        }
        let marker = *b.get(at + 1)?;
        match marker {
            // Stand-alone markers carry no length.
            0x01 | 0xD0..=0xD7 => at += 2,
            0xD9 | 0xDA => return None,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return Some((u16_be(b, at + 7)?, u16_be(b, at + 5)?));
            }
            _ => at += 2 + usize::try_from(u16_be(b, at + 2)?).ok()?,
        }
    }
}

fn bmp_size(b: &[u8]) -> Option<(u32, u32)> {
    match u32_le(b, 14)? {
        // BITMAPCOREHEADER: 16-bit sizes.
        12 => Some((u16_le(b, 18)?, u16_le(b, 20)?)),
        // The later headers: signed 32-bit sizes, a negative height is a top-down picture.
        n if n >= 40 => {
            let w = i32::from_le_bytes(b.get(18..22)?.try_into().ok()?);
            let h = i32::from_le_bytes(b.get(22..26)?.try_into().ok()?);
            Some((w.try_into().ok()?, h.unsigned_abs()))
        }
        _ => None,
    }
}

fn webp_size(b: &[u8]) -> Option<(u32, u32)> {
    match b.get(12..16)? {
        // Lossy: a key frame's start code, then 14-bit sizes.
        b"VP8 " if b.get(23..26)? == [0x9D, 0x01, 0x2A] => Some((u16_le(b, 26)? & 0x3FFF, u16_le(b, 28)? & 0x3FFF)),
        // Lossless: a signature byte, then 14-bit sizes minus one, packed.
        b"VP8L" if *b.get(20)? == 0x2F => {
            let bits = u32_le(b, 21)?;
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        // Extended: the canvas size minus one, 24 bits each.
        b"VP8X" => Some((u24_le(b, 24)? + 1, u24_le(b, 27)? + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 3×2 red pictures written by ImageMagick (`convert -size 3x2 xc:red out.<ext>`).
    const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACAQMAAACnuvRZAAAABGdBTUEAALGPC/xhBQAAACBjSFJNAAB6JgAAgIQAAPoAAACA6AAAdTAAAOpgAAA6mAAAF3CculE8AAAABlBMVEX/AAD///9BHTQRAAAAAWJLR0QB/wIt3gAAAAd0SU1FB+oLFQgVJG65V4UAAAAMSURBVAjXY2BgYAAAAAQAASc0JwoAAAAldEVYdGRhdGU6Y3JlYXRlADIwMjYtMTEtMjFUMDg6MjE6MzYrMDA6MDC2TrVxAAAAJXRFWHRkYXRlOm1vZGlmeQAyMDI2LTExLTIxVDA4OjIxOjM2KzAwOjAwxxMNzQAAAABJRU5ErkJggg==";
    const JPEG: &str = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBD/wAARCAACAAMDAREAAhEBAxEB/8QAFAABAAAAAAAAAAAAAAAAAAAACP/EABQQAQAAAAAAAAAAAAAAAAAAAAD/xAAVAQEBAAAAAAAAAAAAAAAAAAAHCf/EABQRAQAAAAAAAAAAAAAAAAAAAAD/2gAMAwEAAhEDEQA/ADoDFU3/2Q==";
    const GIF: &str = "R0lGODlhAwACAPAAAP8AAAAAACH5BAAAAAAALAAAAAADAAIAAAIChF8AOw==";
    const BMP: &str = "Qk2iAAAAAAAAAIoAAAB8AAAAAwAAAAIAAAABABgAAAAAABgAAAAAAAAAAAAAAAAAAAAAAAAAAAD/AAD/AAD/AAAAAAAA/0JHUnMAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAD/AAD/AAD/AAAAAAD/AAD/AAD/AAAA";
    const WEBP: &str = "UklGRjwAAABXRUJQVlA4IDAAAADQAQCdASoDAAIAAgA0JaACdLoB+AADsAD+8MQL/yC5YXXI1/8gP+QH/ID/+PIAAAA=";

    #[test]
    fn every_supported_kind_gives_its_type_and_size() {
        for (text, mime) in
            [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (BMP, "image/bmp"), (WEBP, "image/webp")]
        {
            let p = decode(text).unwrap_or_else(|e| panic!("{mime}: {e}"));
            assert_eq!((p.mime, p.width, p.height), (mime, 3, 2));
            assert!(p.data_url().starts_with(&format!("data:{mime};base64,")));
            assert_eq!(decode(&p.data_url()).unwrap(), p, "a data: URL is accepted too");
        }
    }

    #[test]
    fn line_breaks_and_missing_padding_are_tolerated() {
        let wrapped: String =
            PNG.as_bytes().chunks(76).map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap())).collect();
        assert_eq!(decode(&wrapped).unwrap().width, 3);
        assert_eq!(decode(PNG.trim_end_matches('=')).unwrap().height, 2);
    }

    #[test]
    fn bad_input_is_named() {
        assert_eq!(decode(""), Err(BadPicture::Empty));
        assert_eq!(decode("  \n"), Err(BadPicture::Empty));
        assert!(matches!(decode("这不是base64"), Err(BadPicture::Base64(_))));
        assert!(matches!(decode("data:image/png,abc"), Err(BadPicture::Base64(_))));
        // Valid base64 of text, not a picture.
        assert_eq!(decode("aGVsbG8gd29ybGQ="), Err(BadPicture::NotAnImage));
        // A PNG signature with its header cut off.
        assert_eq!(decode("iVBORw0KGgoAAAANSUhEUg=="), Err(BadPicture::BadHeader("image/png")));
        // A JPEG that ends before any frame.
        assert_eq!(decode("/9j/4AAQSkZJRgABAQAAAQABAAD/2Q=="), Err(BadPicture::BadHeader("image/jpeg")));
    }

    #[test]
    fn a_zero_size_is_refused() {
        use base64::Engine;
        let mut gif = base64::engine::general_purpose::STANDARD.decode(GIF).unwrap();
        gif[6] = 0;
        gif[7] = 0;
        let text = base64::engine::general_purpose::STANDARD.encode(&gif);
        assert_eq!(decode(&text), Err(BadPicture::BadHeader("image/gif")));
    }
}
