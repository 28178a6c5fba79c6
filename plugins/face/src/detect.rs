//! Face detection with six keypoints: MediaPipe BlazeFace, full-range 256×256 model.
//!
//! The frame is letterboxed into 256×256 (pixels scaled to [-1, 1]); the model scores 896
//! anchors (16×16×2 at stride 8, 8×8×6 at stride 16) and regresses a box and six keypoints per
//! anchor in pixels of the 256 input, relative to the anchor's centre. Scores go through a
//! sigmoid; overlapping boxes (IoU ≥ 0.3) are blended, weighted by score, as MediaPipe does.

use crate::models::Model;
use crate::FaceError;
use booth_camera::Frame;

pub const INPUT: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub fn dist(self, o: Point) -> f32 {
        ((self.x - o.x).powi(2) + (self.y - o.y).powi(2)).sqrt()
    }
}

/// Keypoint order of BlazeFace. "Right" is the person's right, on the left of an unmirrored picture.
pub mod kp {
    pub const RIGHT_EYE: usize = 0;
    pub const LEFT_EYE: usize = 1;
    pub const NOSE: usize = 2;
    pub const MOUTH: usize = 3;
    pub const RIGHT_EAR: usize = 4;
    pub const LEFT_EAR: usize = 5;
}

/// One face, in the frame's pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// Centre x, centre y, width, height.
    pub cx: f32,
    pub cy: f32,
    pub w: f32,
    pub h: f32,
    pub score: f32,
    pub keypoints: [Point; 6],
}

impl Detection {
    pub fn iou(&self, o: &Detection) -> f32 {
        let (ax0, ay0, ax1, ay1) =
            (self.cx - self.w / 2.0, self.cy - self.h / 2.0, self.cx + self.w / 2.0, self.cy + self.h / 2.0);
        let (bx0, by0, bx1, by1) = (o.cx - o.w / 2.0, o.cy - o.h / 2.0, o.cx + o.w / 2.0, o.cy + o.h / 2.0);
        let iw = (ax1.min(bx1) - ax0.max(bx0)).max(0.0);
        let ih = (ay1.min(by1) - ay0.max(by0)).max(0.0);
        let inter = iw * ih;
        let union = self.w * self.h + o.w * o.h - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }

    /// Head turn from the keypoints: 0 facing the camera, negative towards the picture's left,
    /// positive towards its right; about ±0.5 for a clear turn. The ratio of distances along
    /// the ear-to-ear line, so a flat photo tilted or moved does not change it much.
    pub fn yaw(&self) -> f32 {
        let r = self.keypoints[kp::RIGHT_EAR];
        let l = self.keypoints[kp::LEFT_EAR];
        let n = self.keypoints[kp::NOSE];
        let span = l.x - r.x;
        if span.abs() < 1.0 {
            return 0.0;
        }
        ((n.x - r.x) - (l.x - n.x)) / span
    }

    /// Tilt of the eye line, in degrees.
    pub fn roll(&self) -> f32 {
        let r = self.keypoints[kp::RIGHT_EYE];
        let l = self.keypoints[kp::LEFT_EYE];
        (l.y - r.y).atan2(l.x - r.x).to_degrees()
    }

    /// Nose height between the eyes (0) and the mouth (1): about 0.4–0.6 facing the camera.
    pub fn pitch(&self) -> f32 {
        let eyes = (self.keypoints[kp::RIGHT_EYE].y + self.keypoints[kp::LEFT_EYE].y) / 2.0;
        let mouth = self.keypoints[kp::MOUTH].y;
        if (mouth - eyes).abs() < 1.0 {
            return 0.5;
        }
        (self.keypoints[kp::NOSE].y - eyes) / (mouth - eyes)
    }

    pub fn eye_distance(&self) -> f32 {
        self.keypoints[kp::RIGHT_EYE].dist(self.keypoints[kp::LEFT_EYE])
    }
}

struct Anchor {
    x: f32,
    y: f32,
}

fn anchors(cells: usize, per_cell: usize) -> Vec<Anchor> {
    let mut v = Vec::with_capacity(cells * cells * per_cell);
    for y in 0..cells {
        for x in 0..cells {
            for _ in 0..per_cell {
                v.push(Anchor { x: (x as f32 + 0.5) / cells as f32, y: (y as f32 + 0.5) / cells as f32 });
            }
        }
    }
    v
}

pub struct Detector {
    model: Model,
    anchors: [Vec<Anchor>; 2],
    /// Minimum score after the sigmoid.
    pub threshold: f32,
}

/// Where the frame sits in the square input.
struct Letterbox {
    scale: f32,
    dx: f32,
    dy: f32,
}

impl Detector {
    pub fn new(model: Model) -> Detector {
        Detector { model, anchors: [anchors(16, 2), anchors(8, 6)], threshold: 0.75 }
    }

    fn input(frame: &Frame) -> (Vec<f32>, Letterbox) {
        let scale = INPUT as f32 / frame.width.max(frame.height) as f32;
        let (sw, sh) = (frame.width as f32 * scale, frame.height as f32 * scale);
        let lb = Letterbox { scale, dx: (INPUT as f32 - sw) / 2.0, dy: (INPUT as f32 - sh) / 2.0 };
        let mut data = vec![0f32; INPUT * INPUT * 3];
        let inv = 1.0 / scale;
        for y in 0..INPUT {
            let fy = (y as f32 + 0.5 - lb.dy) * inv - 0.5;
            if fy < -0.5 || fy > frame.height as f32 - 0.5 {
                continue;
            }
            for x in 0..INPUT {
                let fx = (x as f32 + 0.5 - lb.dx) * inv - 0.5;
                if fx < -0.5 || fx > frame.width as f32 - 0.5 {
                    continue;
                }
                let p = frame.sample(fx, fy);
                let o = (y * INPUT + x) * 3;
                data[o] = p[0] as f32 / 127.5 - 1.0;
                data[o + 1] = p[1] as f32 / 127.5 - 1.0;
                data[o + 2] = p[2] as f32 / 127.5 - 1.0;
            }
        }
        (data, lb)
    }

    /// Every face in the frame, best first.
    pub fn detect(&self, frame: &Frame) -> Result<Vec<Detection>, FaceError> {
        let (data, lb) = Detector::input(frame);
        let out = self.model.run(
            "input:0",
            &[1, INPUT, INPUT, 3],
            data,
            &["Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"],
        )?;
        let (scores8, scores16, boxes8, boxes16) = (&out[0], &out[1], &out[2], &out[3]);
        if scores8.len() != 512 || scores16.len() != 384 || boxes8.len() != 512 * 16 || boxes16.len() != 384 * 16 {
            return Err(FaceError::Inference("unexpected detector output shape".into()));
        }
        let mut found = Vec::new();
        for (scores, boxes, anchors) in [(scores8, boxes8, &self.anchors[0]), (scores16, boxes16, &self.anchors[1])] {
            for (i, a) in anchors.iter().enumerate() {
                let score = 1.0 / (1.0 + (-scores[i].clamp(-100.0, 100.0)).exp());
                if score < self.threshold {
                    continue;
                }
                let b = &boxes[i * 16..(i + 1) * 16];
                let s = INPUT as f32;
                // To input pixels, then to frame pixels.
                let to_frame = |px: f32, py: f32| Point {
                    x: ((a.x + px / s) * s - lb.dx) / lb.scale,
                    y: ((a.y + py / s) * s - lb.dy) / lb.scale,
                };
                let c = to_frame(b[0], b[1]);
                let mut keypoints = [Point::default(); 6];
                for (k, p) in keypoints.iter_mut().enumerate() {
                    *p = to_frame(b[4 + 2 * k], b[5 + 2 * k]);
                }
                found.push(Detection { cx: c.x, cy: c.y, w: b[2] / lb.scale, h: b[3] / lb.scale, score, keypoints });
            }
        }
        Ok(blend(found))
    }
}

/// MediaPipe's weighted non-maximum suppression: each cluster of overlapping boxes becomes
/// their score-weighted mean, with the best score.
fn blend(mut found: Vec<Detection>) -> Vec<Detection> {
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    let mut used = vec![false; found.len()];
    for i in 0..found.len() {
        if used[i] {
            continue;
        }
        let mut acc = [0f32; 16];
        let mut total = 0.0;
        for j in i..found.len() {
            if used[j] || found[i].iou(&found[j]) < 0.3 {
                continue;
            }
            used[j] = true;
            let d = &found[j];
            let w = d.score;
            let mut v = [d.cx, d.cy, d.w, d.h, 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0.];
            for k in 0..6 {
                v[4 + 2 * k] = d.keypoints[k].x;
                v[5 + 2 * k] = d.keypoints[k].y;
            }
            for (a, x) in acc.iter_mut().zip(v) {
                *a += x * w;
            }
            total += w;
        }
        let m: Vec<f32> = acc.iter().map(|a| a / total).collect();
        let mut keypoints = [Point::default(); 6];
        for (k, p) in keypoints.iter_mut().enumerate() {
            *p = Point { x: m[4 + 2 * k], y: m[5 + 2 * k] };
        }
        out.push(Detection { cx: m[0], cy: m[1], w: m[2], h: m[3], score: found[i].score, keypoints });
    }
    out
}
