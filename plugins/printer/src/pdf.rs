//! The laid-out receipt as a PDF page of the paper's width and the receipt's length (for CUPS
//! queues and archives). Text stays text (selectable, searchable); each font is cut down to the
//! glyphs the receipt uses before it is embedded, so a receipt with a 20 MB CJK font is tens of KB.

use crate::fonts::{Face, Fonts, Weight};
use crate::layout::{synthetic_bold_dots, Block, Layout, DPI};
use allsorts::binary::read::ReadScope;
use allsorts::font_data::FontData;
use allsorts::subset::{subset, CmapTarget, SubsetProfile};
use printpdf::{
    Codepoint, Color, Greyscale, Mm, Op, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Pt, RawImage,
    RawImageData, RawImageFormat, TextItem, TextMatrix, TextRenderingMode, XObjectTransform,
};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PDF: {0}")]
pub struct PdfError(pub String);

/// Points per dot.
fn pt(dots: f32) -> Pt {
    Pt(dots * 72.0 / DPI)
}

/// Page size in millimetres: the roll's width, the receipt's length.
pub fn page_size_mm(layout: &Layout) -> (f32, f32) {
    (layout.paper.width_mm as f32, (layout.height.max(1) as f32 * 25.4 / DPI * 10.0).ceil() / 10.0)
}

/// Dots from the page's left edge to the printable area's (the head is centred on the roll).
pub fn left_offset_dots(layout: &Layout) -> f32 {
    (layout.paper.width_mm as f32 * DPI / 25.4 - layout.paper.dots as f32) / 2.0
}

/// A face cut down to some glyphs: the font program and old glyph id → new glyph id.
struct Subset {
    font: ParsedFont,
    gids: BTreeMap<u16, u16>,
}

fn subset_face(face: &Face, used: &BTreeSet<u16>) -> Result<Subset, PdfError> {
    // Glyph 0 (.notdef) must stay glyph 0; the subset numbers glyphs in the order given.
    let ids: Vec<u16> = std::iter::once(0).chain(used.iter().copied().filter(|&g| g != 0)).collect();
    let data = ReadScope::new(face.bytes()).read::<FontData<'_>>().map_err(|e| PdfError(format!("字体: {e}")))?;
    let provider = data.table_provider(face.index as usize).map_err(|e| PdfError(format!("字体: {e}")))?;
    let bytes = subset(&provider, &ids, &SubsetProfile::Pdf, CmapTarget::Unrestricted)
        .map_err(|e| PdfError(format!("字体子集: {e}")))?;
    let mut warnings = Vec::new();
    let font = ParsedFont::from_bytes(&bytes, 0, &mut warnings)
        .ok_or_else(|| PdfError(format!("字体子集无法读取: {warnings:?}")))?;
    let gids = ids.iter().enumerate().map(|(new, &old)| (old, new as u16)).collect();
    Ok(Subset { font, gids })
}

/// The PDF of a laid-out receipt.
pub fn render(layout: &Layout, fonts: &Fonts) -> Result<Vec<u8>, PdfError> {
    let mut doc = PdfDocument::new("receipt");
    let (w_mm, h_mm) = page_size_mm(layout);
    let page_h = h_mm * DPI / 25.4;
    let left = left_offset_dots(layout);

    // Which glyphs each face draws.
    let mut used: BTreeMap<bool, BTreeSet<u16>> = BTreeMap::new();
    for line in layout.lines() {
        let bold_face = line.weight == Weight::Bold;
        used.entry(bold_face).or_default().extend(line.glyphs.iter().map(|g| g.gid));
    }
    let mut faces = BTreeMap::new();
    for (bold_face, gids) in &used {
        let face = fonts.face(if *bold_face { Weight::Bold } else { Weight::Regular });
        let sub = subset_face(face, gids)?;
        let id = doc.add_font(&sub.font);
        faces.insert(*bold_face, (id, sub.gids));
    }

    let mut ops = vec![Op::SetFillColor { col: Color::Greyscale(Greyscale { percent: 0.0, icc_profile: None }) }];
    for block in &layout.blocks {
        match block {
            Block::Line(line) if !line.glyphs.is_empty() => {
                let Some((font_id, gids)) = faces.get(&(line.weight == Weight::Bold)) else { continue };
                ops.push(Op::StartTextSection);
                ops.push(Op::SetFont { font: PdfFontHandle::External(font_id.clone()), size: pt(line.size) });
                if line.weight == Weight::Synthetic {
                    ops.push(Op::SetOutlineColor {
                        col: Color::Greyscale(Greyscale { percent: 0.0, icc_profile: None }),
                    });
                    ops.push(Op::SetOutlineThickness { pt: pt(synthetic_bold_dots(line.size)) });
                    ops.push(Op::SetTextRenderingMode { mode: TextRenderingMode::FillStroke });
                } else {
                    ops.push(Op::SetTextRenderingMode { mode: TextRenderingMode::Fill });
                }
                // Each glyph at the layout's own position: the same places as the bitmap's.
                for g in &line.glyphs {
                    let gid = gids.get(&g.gid).copied().unwrap_or(0);
                    ops.push(Op::SetTextMatrix {
                        matrix: TextMatrix::Translate(pt(left + g.x), pt(page_h - line.baseline)),
                    });
                    ops.push(Op::ShowText {
                        items: vec![TextItem::GlyphIds(vec![Codepoint {
                            gid,
                            offset: 0.0,
                            cid: Some(g.ch.to_string()),
                        }])],
                    });
                }
                ops.push(Op::EndTextSection);
            }
            Block::Line(_) => {}
            Block::Picture(p) => {
                let (w, h) = (p.dots.width(), p.dots.height());
                let pixels: Vec<u8> = (0..h)
                    .flat_map(|y| (0..w).map(move |x| (x, y)))
                    .map(|(x, y)| if p.dots.get(x, y) { 0 } else { 255 })
                    .collect();
                let image = RawImage {
                    pixels: RawImageData::U8(pixels),
                    width: w as usize,
                    height: h as usize,
                    data_format: RawImageFormat::R8,
                    tag: Vec::new(),
                };
                let id = doc.add_image(&image);
                ops.push(Op::SaveGraphicsState);
                ops.push(Op::UseXobject {
                    id,
                    transform: XObjectTransform {
                        translate_x: Some(pt(left + p.x as f32)),
                        translate_y: Some(pt(page_h - (p.y + h) as f32)),
                        dpi: Some(DPI),
                        ..Default::default()
                    },
                });
                ops.push(Op::RestoreGraphicsState);
            }
        }
    }
    let page = PdfPage::new(Mm(w_mm), Mm(h_mm), ops);
    doc.with_pages(vec![page]);
    let mut warnings = Vec::new();
    let opts = PdfSaveOptions { image_optimization: None, ..Default::default() };
    let bytes = doc.save(&opts, &mut warnings);
    for w in &warnings {
        tracing::debug!(warning = ?w, "printpdf");
    }
    if bytes.is_empty() {
        return Err(PdfError("printpdf 没有输出".into()));
    }
    Ok(bytes)
}
