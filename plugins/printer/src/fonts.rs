//! The receipt font: a CJK face with Latin letters and digits, and its bold (a real bold face
//! when there is one, else the regular face drawn bold). Parsed once at start; the layout,
//! the bitmap and the PDF all use the same glyph ids and advances.
//!
//! The font file is mapped, not read: Noto Sans CJK's two faces are 40 MB, of which a receipt
//! touches a few hundred kB of glyphs. Mapped, those pages are the page cache's, shared with every
//! other process that maps the file (WebKit's fontconfig does) and given back under pressure; read
//! into the heap they were 40 MB of Booth's own memory for the rest of its life.

use ab_glyph::{Font as _, FontRef, GlyphId};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A font file's bytes: mapped, or read when the file cannot be mapped.
enum Bytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl Bytes {
    fn open(path: &Path) -> std::io::Result<Bytes> {
        let file = std::fs::File::open(path)?;
        // SAFETY: the map is read-only and private to this process. Were the file truncated in
        // place while mapped, reading a page past its new end would fault; font packages replace
        // their files by rename (dpkg, Windows' font installer), which leaves the mapped inode
        // whole. FreeType and fontconfig map fonts the same way.
        match unsafe { memmap2::Mmap::map(&file) } {
            Ok(map) => Ok(Bytes::Mapped(map)),
            Err(_) => std::fs::read(path).map(Bytes::Read),
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Read(v) => v,
        }
    }
}

/// A font file, one face of it.
pub struct Face {
    pub path: PathBuf,
    pub index: u32,
    // Declared before `bytes`, so it is dropped first: it borrows them.
    font: FontRef<'static>,
    // Never changed while `font` lives; the bytes do not move when `Face` does (a map's pages,
    // a Vec's heap buffer).
    bytes: Bytes,
    upem: f32,
    ascent: f32,
    descent: f32,
    line_gap: f32,
}

impl Face {
    pub fn load(path: &Path, index: u32) -> Result<Face, FontError> {
        let bytes = Bytes::open(path).map_err(|e| FontError(format!("{}: {e}", path.display())))?;
        // SAFETY: the slice points into `bytes`, which `Face` owns, never changes, and drops after
        // `font`; no `&'static` escapes a `Face` (`ab` and `bytes` hand out borrows of `self`).
        let data: &'static [u8] =
            unsafe { std::slice::from_raw_parts(bytes.as_slice().as_ptr(), bytes.as_slice().len()) };
        let font = FontRef::try_from_slice_and_index(data, index)
            .map_err(|_| FontError(format!("{}: 不是可用的字体 (face {index})", path.display())))?;
        let upem = font.units_per_em().unwrap_or(1000.0);
        let (ascent, descent, line_gap) = (font.ascent_unscaled(), font.descent_unscaled(), font.line_gap_unscaled());
        let face = Face { path: path.to_path_buf(), index, font, bytes, upem, ascent, descent, line_gap };
        // A CJK receipt font must have Latin digits and Chinese (`fonts-droid-fallback` has no
        // digits: every amount would print as empty boxes).
        for c in ['0', '9', 'A', 'z', '中', '￥'] {
            if !face.has(c) {
                return Err(FontError(format!("{}: 字体缺少字符 '{c}'", path.display())));
            }
        }
        Ok(face)
    }

    pub fn has(&self, c: char) -> bool {
        self.font.glyph_id(c).0 != 0
    }

    pub fn glyph(&self, c: char) -> GlyphId {
        self.font.glyph_id(c)
    }

    /// Advance of a glyph at em size `size` (dots).
    pub fn advance(&self, gid: GlyphId, size: f32) -> f32 {
        self.font.h_advance_unscaled(gid) * size / self.upem
    }

    pub fn ascent(&self, size: f32) -> f32 {
        self.ascent * size / self.upem
    }

    /// Distance between baselines at em size `size`.
    pub fn line_height(&self, size: f32) -> f32 {
        (self.ascent - self.descent + self.line_gap) * size / self.upem
    }

    pub fn units_per_em(&self) -> f32 {
        self.upem
    }

    /// The font file's bytes (for subsetting into a PDF).
    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_slice()
    }

    pub(crate) fn ab(&self) -> &FontRef<'_> {
        &self.font
    }
}

/// How bold text is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    /// The bold face.
    Bold,
    /// The regular face, thickened (the font has no bold).
    Synthetic,
}

/// The receipt's fonts.
pub struct Fonts {
    pub regular: Face,
    pub bold: Option<Face>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("字体: {0}")]
pub struct FontError(pub String);

/// Where Booth looks when `[printer] font` is not set: (regular, bold, face index).
/// Noto Sans CJK face 2 is Simplified Chinese; WenQuanYi Micro Hei has no bold.
pub const DEFAULT_FONTS: &[(&str, Option<&str>, u32)] = &[
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        Some("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
        2,
    ),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", Some("/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc"), 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", None, 0),
    ("C:\\Windows\\Fonts\\msyh.ttc", Some("C:\\Windows\\Fonts\\msyhbd.ttc"), 0),
    ("C:\\Windows\\Fonts\\simhei.ttf", None, 0),
];

/// What `[printer]` says about fonts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FontChoice {
    /// A font file; `None`: the first of [`DEFAULT_FONTS`] that exists.
    pub font: Option<PathBuf>,
    pub index: u32,
    /// Its bold; `None` with `font` set: synthetic bold.
    pub bold: Option<PathBuf>,
}

impl Fonts {
    pub fn load(choice: &FontChoice) -> Result<Arc<Fonts>, FontError> {
        if let Some(path) = &choice.font {
            let regular = Face::load(path, choice.index)?;
            let bold = match &choice.bold {
                Some(b) => Some(Face::load(b, choice.index)?),
                None => None,
            };
            return Ok(Arc::new(Fonts { regular, bold }));
        }
        let mut tried = Vec::new();
        for (regular, bold, index) in DEFAULT_FONTS {
            let path = Path::new(regular);
            if !path.exists() {
                tried.push(*regular);
                continue;
            }
            let regular = Face::load(path, *index)?;
            let bold = match bold {
                Some(b) if Path::new(b).exists() => Some(Face::load(Path::new(b), *index)?),
                _ => None,
            };
            return Ok(Arc::new(Fonts { regular, bold }));
        }
        Err(FontError(format!(
            "没有找到中文字体 (安装 fonts-noto-cjk, 或设置 [printer] font); 找过: {}",
            tried.join(", ")
        )))
    }

    pub fn face(&self, weight: Weight) -> &Face {
        match (weight, &self.bold) {
            (Weight::Bold, Some(b)) => b,
            _ => &self.regular,
        }
    }

    pub fn weight(&self, bold: bool) -> Weight {
        match (bold, self.bold.is_some()) {
            (false, _) => Weight::Regular,
            (true, true) => Weight::Bold,
            (true, false) => Weight::Synthetic,
        }
    }

    /// Name and faces, for logs and `/health`.
    pub fn describe(&self) -> String {
        match &self.bold {
            Some(b) => format!("{} #{} + {}", self.regular.path.display(), self.regular.index, b.path.display()),
            None => format!("{} #{} (synthetic bold)", self.regular.path.display(), self.regular.index),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 20 MB face is mapped, not copied into Booth's heap, and a file that is not a font
    /// still says so.
    #[test]
    fn the_font_file_is_mapped_not_read_into_memory() {
        let Some((path, _, index)) = DEFAULT_FONTS.iter().find(|(p, _, _)| Path::new(p).exists()) else {
            panic!("no CJK font installed (apt-get install fonts-noto-cjk)");
        };
        let face = Face::load(Path::new(path), *index).expect("the default font");
        assert!(matches!(face.bytes, Bytes::Mapped(_)), "{path} was read into memory");
        assert_eq!(face.bytes().len() as u64, std::fs::metadata(path).unwrap().len());
        assert!(face.has('中') && face.advance(face.glyph('中'), 24.0) > 0.0);

        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.ttf");
        std::fs::write(&junk, b"not a font at all").unwrap();
        let err = Face::load(&junk, 0).err().expect("junk is not a font");
        assert!(err.0.contains("不是可用的字体"), "{err}");
    }
}
