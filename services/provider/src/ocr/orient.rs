//! PP-OCR's text orientation classifier (`ch_ppocr_mobile_v2.0_cls`, 0° or 180°) around the
//! model: each line cut out along its box, 48 px high and at most 192 wide (padded with zeros
//! after normalising, as PP-OCR does), and the model's two probabilities. A card is printed one
//! way up, so the card's lines vote ([`upside_down`]) rather than each line deciding alone:
//! a line of one or two characters (性别 女) says little on its own.

use super::detect::Quad;
use booth_camera::Frame;

pub const CLS_HEIGHT: usize = 48;
pub const CLS_WIDTH: usize = 192;

/// The classifier's input for one box: NCHW, BGR, (v / 255 − 0.5) / 0.5, zero padding.
pub fn input(frame: &Frame, q: &Quad) -> Vec<f32> {
    let (w, h) = (q.width().max(1.0), q.height().max(1.0));
    let text_w = ((CLS_HEIGHT as f32 * w / h).ceil() as usize).clamp(1, CLS_WIDTH);
    let plane = CLS_HEIGHT * CLS_WIDTH;
    let mut data = vec![0f32; 3 * plane];
    let [tl, tr, _, bl] = q.0;
    for y in 0..CLS_HEIGHT {
        let fy = (y as f32 + 0.5) / CLS_HEIGHT as f32;
        for x in 0..text_w {
            let fx = (x as f32 + 0.5) / text_w as f32;
            let px = tl.0 + fx * (tr.0 - tl.0) + fy * (bl.0 - tl.0) - 0.5;
            let py = tl.1 + fx * (tr.1 - tl.1) + fy * (bl.1 - tl.1) - 0.5;
            let [r, g, b] = frame.sample(px, py);
            let i = y * CLS_WIDTH + x;
            data[i] = b as f32 / 127.5 - 1.0;
            data[plane + i] = g as f32 / 127.5 - 1.0;
            data[2 * plane + i] = r as f32 / 127.5 - 1.0;
        }
    }
    data
}

/// The same box read the other way round: its corners turned by two places.
pub fn turned(q: &Quad) -> Quad {
    let [tl, tr, br, bl] = q.0;
    Quad([br, bl, tl, tr])
}

/// Whether the card is upside down: the lines' probabilities of 180°, each weighted by its
/// width (longer lines are surer), outweigh those of 0°.
pub fn upside_down(votes: &[(f32, f32)]) -> bool {
    let (up, down) =
        votes.iter().fold((0.0, 0.0), |(u, d), (p180, width)| (u + (1.0 - p180) * width, d + p180 * width));
    down > up
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turned_box_has_its_corners_the_other_way() {
        let q = Quad([(0.0, 0.0), (10.0, 0.0), (10.0, 2.0), (0.0, 2.0)]);
        assert_eq!(turned(&q).0, [(10.0, 2.0), (0.0, 2.0), (0.0, 0.0), (10.0, 0.0)]);
        assert_eq!(turned(&turned(&q)), q);
    }

    #[test]
    fn long_lines_outvote_short_ones() {
        assert!(!upside_down(&[]));
        assert!(upside_down(&[(0.95, 300.0), (0.2, 40.0), (0.9, 200.0)]));
        assert!(!upside_down(&[(0.1, 300.0), (0.99, 40.0)]));
    }

    #[test]
    fn the_input_is_padded_with_zeros_past_the_text() {
        let frame = Frame::filled(100, 20, [255, 255, 255]);
        let short = Quad([(0.0, 0.0), (20.0, 0.0), (20.0, 10.0), (0.0, 10.0)]);
        let data = input(&frame, &short);
        assert_eq!(data.len(), 3 * CLS_HEIGHT * CLS_WIDTH);
        // 20 × 10 → 96 × 48: white (1.0) then padding (0.0).
        assert!((data[10] - 1.0).abs() < 1e-6 && data[100] == 0.0);
    }
}
