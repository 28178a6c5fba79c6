//! PP-OCR text detection around the model: the picture scaled so its longer side is
//! [`DET_SIDE`] (both sides multiples of 32) and normalised, then the DB probability map turned
//! into text boxes — binary map, connected regions, each region's smallest rotated rectangle,
//! its mean probability, the rectangle grown by the DB "unclip" distance, and the boxes in
//! reading order (top to bottom, then left to right).

use booth_camera::Frame;

/// The longer side the detector sees. A card photo fills it; 960 is PP-OCR's usual limit.
pub const DET_SIDE: u32 = 960;
/// A pixel is text when its probability exceeds this (PP-OCR `thresh`).
const BIN_THRESH: f32 = 0.3;
/// A region is kept when its mean probability reaches this (PP-OCR `box_thresh`).
const BOX_THRESH: f32 = 0.5;
/// DB's unclip ratio: the box grows by area × ratio / perimeter on every side.
const UNCLIP_RATIO: f32 = 1.6;
/// More regions than this is noise, not a card.
const MAX_CANDIDATES: usize = 1000;

/// A text box: corners top-left, top-right, bottom-right, bottom-left, in the picture's pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quad(pub [(f32, f32); 4]);

impl Quad {
    pub fn width(&self) -> f32 {
        dist(self.0[0], self.0[1]).max(dist(self.0[3], self.0[2]))
    }
    pub fn height(&self) -> f32 {
        dist(self.0[0], self.0[3]).max(dist(self.0[1], self.0[2]))
    }
    pub fn center(&self) -> (f32, f32) {
        let (sx, sy) = self.0.iter().fold((0.0, 0.0), |(a, b), p| (a + p.0, b + p.1));
        (sx / 4.0, sy / 4.0)
    }
}

fn dist(a: (f32, f32), b: (f32, f32)) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

/// The detector's input: NCHW, BGR, (v / 255 − 0.5) / 0.5; with its width and height.
pub fn input(frame: &Frame) -> (Vec<f32>, usize, usize) {
    let long = frame.width.max(frame.height).max(1) as f32;
    let ratio = DET_SIDE as f32 / long;
    let round32 = |v: u32| (((v as f32 * ratio) / 32.0).round() as usize).max(1) * 32;
    let (w, h) = (round32(frame.width), round32(frame.height));
    let sx = frame.width as f32 / w as f32;
    let sy = frame.height as f32 / h as f32;
    let plane = w * h;
    let mut data = vec![0f32; 3 * plane];
    for y in 0..h {
        let fy = ((y as f32 + 0.5) * sy - 0.5).max(0.0);
        for x in 0..w {
            let fx = ((x as f32 + 0.5) * sx - 0.5).max(0.0);
            let [r, g, b] = frame.sample(fx, fy);
            let i = y * w + x;
            data[i] = b as f32 / 127.5 - 1.0;
            data[plane + i] = g as f32 / 127.5 - 1.0;
            data[2 * plane + i] = r as f32 / 127.5 - 1.0;
        }
    }
    (data, w, h)
}

/// The text boxes of a `w`×`h` probability map, scaled to a `pic_w`×`pic_h` picture, in
/// reading order.
pub fn boxes(prob: &[f32], w: usize, h: usize, pic_w: u32, pic_h: u32) -> Vec<Quad> {
    if prob.len() < w * h || w == 0 || h == 0 {
        return Vec::new();
    }
    // Binary map, dilated by a 2×2 square (PP-OCR `use_dilation`) so letters of a line join.
    let mut bin = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let on = |xx: usize, yy: usize| prob[yy * w + xx] > BIN_THRESH;
            bin[y * w + x] =
                on(x, y) || (x > 0 && on(x - 1, y)) || (y > 0 && on(x, y - 1)) || (x > 0 && y > 0 && on(x - 1, y - 1));
        }
    }
    let mut label = vec![0u32; w * h];
    let mut found = Vec::new();
    let mut stack = Vec::new();
    let mut next = 0u32;
    for start in 0..w * h {
        if !bin[start] || label[start] != 0 {
            continue;
        }
        next += 1;
        if next as usize > MAX_CANDIDATES {
            break;
        }
        // The region's outline: its pixels with a 4-neighbour outside it (their centres, as
        // PP-OCR's contours are).
        let mut outline: Vec<(f32, f32)> = Vec::new();
        label[start] = next;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            let mut edge = false;
            for (dx, dy) in [(-1i64, 0i64), (1, 0), (0, -1), (0, 1), (-1, -1), (1, -1), (-1, 1), (1, 1)] {
                let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                    edge |= dx == 0 || dy == 0;
                    continue;
                }
                let j = ny as usize * w + nx as usize;
                if !bin[j] {
                    edge |= dx == 0 || dy == 0;
                } else if label[j] == 0 {
                    label[j] = next;
                    stack.push(j);
                }
            }
            if edge {
                outline.push((x as f32 + 0.5, y as f32 + 0.5));
            }
        }
        let Some(rect) = min_area_rect(&hull(outline)) else { continue };
        if rect.half.0.min(rect.half.1) * 2.0 < 3.0 {
            continue;
        }
        if mean_inside(prob, w, h, &rect) < BOX_THRESH {
            continue;
        }
        let (bw, bh) = (rect.half.0 * 2.0, rect.half.1 * 2.0);
        let grow = bw * bh * UNCLIP_RATIO / (2.0 * (bw + bh));
        let grown = Rect { half: (rect.half.0 + grow, rect.half.1 + grow), ..rect };
        if grown.half.0.min(grown.half.1) * 2.0 < 5.0 {
            continue;
        }
        let (kx, ky) = (pic_w as f32 / w as f32, pic_h as f32 / h as f32);
        let mut q = grown.corners();
        for p in q.0.iter_mut() {
            *p = ((p.0 * kx).clamp(0.0, pic_w as f32), (p.1 * ky).clamp(0.0, pic_h as f32));
        }
        found.push(q);
    }
    reading_order(&mut found);
    found
}

/// Top to bottom; boxes on one line (centres closer than half a box height) left to right.
pub fn reading_order(quads: &mut [Quad]) {
    quads.sort_by(|a, b| a.0[0].1.total_cmp(&b.0[0].1).then(a.0[0].0.total_cmp(&b.0[0].0)));
    for i in 1..quads.len() {
        let mut j = i;
        while j > 0 {
            let (a, b) = (quads[j - 1], quads[j]);
            let same_line = (a.center().1 - b.center().1).abs() < a.height().min(b.height()) / 2.0;
            if same_line && b.center().0 < a.center().0 {
                quads.swap(j - 1, j);
                j -= 1;
            } else {
                break;
            }
        }
    }
}

/// A rotated rectangle: centre, unit axis `u` (the one nearer horizontal, pointing right) and
/// half extents along `u` and along the perpendicular `v` (pointing down).
#[derive(Debug, Clone, Copy)]
struct Rect {
    center: (f32, f32),
    u: (f32, f32),
    half: (f32, f32),
}

impl Rect {
    fn corners(&self) -> Quad {
        let (c, u, v) = (self.center, self.u, (-self.u.1, self.u.0));
        let at = |a: f32, b: f32| (c.0 + u.0 * a + v.0 * b, c.1 + u.1 * a + v.1 * b);
        let (hw, hh) = self.half;
        Quad([at(-hw, -hh), at(hw, -hh), at(hw, hh), at(-hw, hh)])
    }

    fn contains(&self, p: (f32, f32)) -> bool {
        let (dx, dy) = (p.0 - self.center.0, p.1 - self.center.1);
        let a = dx * self.u.0 + dy * self.u.1;
        let b = -dx * self.u.1 + dy * self.u.0;
        a.abs() <= self.half.0 && b.abs() <= self.half.1
    }
}

/// Convex hull (Andrew's monotone chain), counter-clockwise.
fn hull(mut pts: Vec<(f32, f32)>) -> Vec<(f32, f32)> {
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross = |o: (f32, f32), a: (f32, f32), b: (f32, f32)| (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0);
    let mut lower: Vec<(f32, f32)> = Vec::new();
    for &p in &pts {
        while lower.len() >= 2 && cross(lower[lower.len() - 2], lower[lower.len() - 1], p) <= 0.0 {
            lower.pop();
        }
        lower.push(p);
    }
    let mut upper: Vec<(f32, f32)> = Vec::new();
    for &p in pts.iter().rev() {
        while upper.len() >= 2 && cross(upper[upper.len() - 2], upper[upper.len() - 1], p) <= 0.0 {
            upper.pop();
        }
        upper.push(p);
    }
    lower.pop();
    upper.pop();
    lower.extend(upper);
    lower
}

/// The smallest rectangle around a convex polygon: one of its sides lies on a hull edge.
fn min_area_rect(hull: &[(f32, f32)]) -> Option<Rect> {
    if hull.len() < 3 {
        return None;
    }
    let mut best: Option<(f32, Rect)> = None;
    for i in 0..hull.len() {
        let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
        let len = dist(a, b);
        if len < 1e-6 {
            continue;
        }
        let u = ((b.0 - a.0) / len, (b.1 - a.1) / len);
        let (mut amin, mut amax, mut bmin, mut bmax) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
        for p in hull {
            let pa = p.0 * u.0 + p.1 * u.1;
            let pb = -p.0 * u.1 + p.1 * u.0;
            amin = amin.min(pa);
            amax = amax.max(pa);
            bmin = bmin.min(pb);
            bmax = bmax.max(pb);
        }
        let area = (amax - amin) * (bmax - bmin);
        if best.as_ref().is_some_and(|(best_area, _)| *best_area <= area) {
            continue;
        }
        let (ca, cb) = ((amin + amax) / 2.0, (bmin + bmax) / 2.0);
        let center = (ca * u.0 - cb * u.1, ca * u.1 + cb * u.0);
        best = Some((area, upright(Rect { center, u, half: ((amax - amin) / 2.0, (bmax - bmin) / 2.0) })));
    }
    best.map(|(_, r)| r)
}

/// The same rectangle described with `u` the axis nearer horizontal, pointing right.
fn upright(r: Rect) -> Rect {
    let (mut u, mut half) = (r.u, r.half);
    if u.1.abs() > u.0.abs() {
        u = (u.1, -u.0);
        half = (half.1, half.0);
    }
    if u.0 < 0.0 {
        u = (-u.0, -u.1);
    }
    Rect { u, half, ..r }
}

/// The mean probability inside the rectangle (PP-OCR's "fast" box score).
fn mean_inside(prob: &[f32], w: usize, h: usize, r: &Rect) -> f32 {
    let q = r.corners();
    let (x0, x1) = q.0.iter().fold((f32::MAX, f32::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = q.0.iter().fold((f32::MAX, f32::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let (x0, x1) = (x0.floor().max(0.0) as usize, (x1.ceil() as usize).min(w));
    let (y0, y1) = (y0.floor().max(0.0) as usize, (y1.ceil() as usize).min(h));
    let (mut sum, mut n) = (0.0f32, 0usize);
    for y in y0..y1 {
        for x in x0..x1 {
            if r.contains((x as f32 + 0.5, y as f32 + 0.5)) {
                sum += prob[y * w + x];
                n += 1;
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A map with a filled rotated bar and a filled upright bar.
    fn map(w: usize, h: usize, bars: &[Rect]) -> Vec<f32> {
        let mut m = vec![0.0; w * h];
        for y in 0..h {
            for x in 0..w {
                if bars.iter().any(|b| b.contains((x as f32 + 0.5, y as f32 + 0.5))) {
                    m[y * w + x] = 0.9;
                }
            }
        }
        m
    }

    #[test]
    fn a_rotated_bar_becomes_one_box_with_its_angle_grown_by_the_unclip_distance() {
        let angle: f32 = 5f32.to_radians();
        let bar = Rect { center: (100.0, 50.0), u: (angle.cos(), angle.sin()), half: (60.0, 8.0) };
        let flat = Rect { center: (100.0, 120.0), u: (1.0, 0.0), half: (40.0, 6.0) };
        let prob = map(200, 160, &[flat, bar]);
        let found = boxes(&prob, 200, 160, 400, 320);
        assert_eq!(found.len(), 2, "{found:?}");
        // Reading order: the upper bar first; the picture is twice the map's size.
        let q = found[0];
        let (cx, cy) = q.center();
        assert!((cx - 200.0).abs() < 3.0 && (cy - 100.0).abs() < 3.0, "{q:?}");
        let tilt = (q.0[1].1 - q.0[0].1).atan2(q.0[1].0 - q.0[0].0).to_degrees();
        assert!((tilt - 5.0).abs() < 1.0, "tilt {tilt}");
        // 120×16 grows by 120·16·1.6/272 ≈ 11.3 on every side, then doubles.
        let expect_h = (16.0 + 2.0 * 11.3) * 2.0;
        assert!((q.height() - expect_h).abs() < 6.0, "height {} (expected {expect_h})", q.height());
        assert!(found[1].center().1 > 200.0);
    }

    #[test]
    fn faint_regions_and_specks_are_not_text() {
        let mut prob = vec![0.0; 100 * 100];
        for y in 10..20 {
            for x in 10..60 {
                prob[y * 100 + x] = 0.4;
            }
        }
        prob[80 * 100 + 80] = 0.9;
        assert!(boxes(&prob, 100, 100, 100, 100).is_empty());
    }

    #[test]
    fn boxes_on_one_line_read_left_to_right_even_when_the_right_one_is_higher() {
        let q = |x: f32, y: f32| Quad([(x, y), (x + 50.0, y), (x + 50.0, y + 20.0), (x, y + 20.0)]);
        let mut v = vec![q(100.0, 10.0), q(0.0, 14.0), q(0.0, 60.0)];
        reading_order(&mut v);
        assert_eq!(v, vec![q(0.0, 14.0), q(100.0, 10.0), q(0.0, 60.0)]);
    }
}
