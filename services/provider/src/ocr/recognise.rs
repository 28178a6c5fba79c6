//! PP-OCR text recognition around the model: each box cut out of the picture along its own
//! angle and scaled to the recogniser's height of 48 (width following the box, at least 320 as
//! PP-OCR pads), normalised like the detector's input; the model's per-step class probabilities
//! decoded greedily (CTC: best class per step, repeats merged, blanks dropped) over the
//! character list the model carries in its metadata.

use super::detect::Quad;
use booth_camera::Frame;

pub const REC_HEIGHT: usize = 48;
/// PP-OCR pads every line to at least this width.
const REC_MIN_WIDTH: usize = 320;
/// A line longer than this (relative to its height) is cut off: no card line is that long.
const REC_MAX_RATIO: f32 = 40.0;

/// The recogniser's input for one box: NCHW, BGR, (v / 255 − 0.5) / 0.5; and its width.
pub fn input(frame: &Frame, q: &Quad) -> (Vec<f32>, usize) {
    let (w, h) = (q.width().max(1.0), q.height().max(1.0));
    let text_w = ((REC_HEIGHT as f32 * w / h).ceil() as usize).clamp(8, (REC_HEIGHT as f32 * REC_MAX_RATIO) as usize);
    let width = text_w.max(REC_MIN_WIDTH);
    let plane = REC_HEIGHT * width;
    let mut data = vec![0f32; 3 * plane];
    let [tl, tr, _, bl] = q.0;
    for y in 0..REC_HEIGHT {
        let fy = (y as f32 + 0.5) / REC_HEIGHT as f32;
        for x in 0..text_w {
            let fx = (x as f32 + 0.5) / text_w as f32;
            let px = tl.0 + fx * (tr.0 - tl.0) + fy * (bl.0 - tl.0) - 0.5;
            let py = tl.1 + fx * (tr.1 - tl.1) + fy * (bl.1 - tl.1) - 0.5;
            let [r, g, b] = frame.sample(px, py);
            let i = y * width + x;
            data[i] = b as f32 / 127.5 - 1.0;
            data[plane + i] = g as f32 / 127.5 - 1.0;
            data[2 * plane + i] = r as f32 / 127.5 - 1.0;
        }
    }
    (data, width)
}

/// Greedy CTC decoding of `steps × classes` probabilities. Class 0 is the blank, class `i`
/// (1 ≤ i ≤ chars) is `chars[i − 1]`, the one after them a space. Returns the text and its
/// confidence (the mean probability of the kept steps; 0 for no text).
pub fn decode(probs: &[f32], classes: usize, chars: &[String]) -> (String, f32) {
    let mut text = String::new();
    let (mut sum, mut n) = (0.0f32, 0usize);
    let mut last = 0usize;
    for step in probs.chunks_exact(classes.max(1)) {
        let (best, p) =
            step.iter().enumerate().fold((0, f32::MIN), |acc, (i, &p)| if p > acc.1 { (i, p) } else { acc });
        if best != 0 && best != last {
            match chars.get(best - 1) {
                Some(c) => text.push_str(c),
                None => text.push(' '),
            }
            sum += p;
            n += 1;
        }
        last = best;
    }
    (text, if n == 0 { 0.0 } else { sum / n as f32 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_hot(classes: usize, seq: &[usize]) -> Vec<f32> {
        let mut v = vec![0.01; classes * seq.len()];
        for (t, &c) in seq.iter().enumerate() {
            v[t * classes + c] = 0.9;
        }
        v
    }

    #[test]
    fn repeats_merge_blanks_separate_and_the_last_class_is_a_space() {
        let chars: Vec<String> = ["姓", "名", "1"].iter().map(|s| s.to_string()).collect();
        // 姓 姓 _ 名 _ 1 1 _ 1 ␠
        let probs = one_hot(5, &[1, 1, 0, 2, 0, 3, 3, 0, 3, 4]);
        let (text, conf) = decode(&probs, 5, &chars);
        assert_eq!(text, "姓名11 ");
        assert!((conf - 0.9).abs() < 1e-6);
        assert_eq!(decode(&one_hot(5, &[0, 0, 0]), 5, &chars), (String::new(), 0.0));
    }

    #[test]
    fn the_crop_follows_the_box_angle() {
        // A picture dark everywhere except a bright tilted band; the crop along the band is bright.
        let (w, h) = (200u32, 100u32);
        let angle: f32 = 10f32.to_radians();
        let mut px = vec![0u8; (w * h * 3) as usize];
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f32 - 100.0, y as f32 - 50.0);
                let across = -dx * angle.sin() + dy * angle.cos();
                if across.abs() < 10.0 {
                    px[((y * w + x) * 3) as usize..][..3].copy_from_slice(&[255, 255, 255]);
                }
            }
        }
        let frame = Frame::new(w, h, px);
        let (c, s) = (angle.cos(), angle.sin());
        let at = |a: f32, b: f32| (100.0 + a * c - b * s, 50.0 + a * s + b * c);
        let q = Quad([at(-60.0, -8.0), at(60.0, -8.0), at(60.0, 8.0), at(-60.0, 8.0)]);
        let (data, width) = input(&frame, &q);
        let text_w = (48.0f32 * 120.0 / 16.0).ceil() as usize;
        assert_eq!(width, text_w.max(320));
        let bright =
            (0..REC_HEIGHT).flat_map(|y| (0..text_w).map(move |x| y * width + x)).filter(|&i| data[i] > 0.9).count();
        assert!(bright as f32 > 0.95 * (REC_HEIGHT * text_w) as f32, "{bright}");
    }
}
