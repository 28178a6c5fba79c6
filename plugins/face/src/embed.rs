//! Alignment and the 128-d face embedding (dlib's ResNet, as converted from face-api's weights).
//!
//! Four keypoints (eyes, nose tip, mouth centre) are mapped by a least-squares similarity
//! transform onto a 150×150 "face chip" laid out like dlib's (padding 0.25); the network turns
//! the chip into 128 numbers. Two chips of one person are within L2 distance 0.6 (dlib's rule);
//! Booth's thresholds are stricter (see `[face]`).

use crate::detect::{kp, Detection, Point};
use crate::models::Model;
use crate::FaceError;
use booth_camera::Frame;

pub const CHIP: usize = 150;
pub const DIM: usize = 128;

/// Where the keypoints go in the chip (fitted to dlib's own 5-point alignment).
const TEMPLATE: [(usize, Point); 4] = [
    (kp::RIGHT_EYE, Point { x: 48.3, y: 47.2 }),
    (kp::LEFT_EYE, Point { x: 99.5, y: 47.2 }),
    (kp::NOSE, Point { x: 73.9, y: 78.1 }),
    (kp::MOUTH, Point { x: 73.9, y: 103.6 }),
];

/// A face's 128 numbers.
#[derive(Clone, PartialEq)]
pub struct Embedding(pub [f32; DIM]);

impl std::fmt::Debug for Embedding {
    // Biometric: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Embedding(…)")
    }
}

impl Embedding {
    pub fn distance(&self, o: &Embedding) -> f32 {
        l2(&self.0, &o.0)
    }
}

#[inline]
pub fn l2(a: &[f32], b: &[f32]) -> f32 {
    l2_squared(a, b).sqrt()
}

/// Squared L2 distance, written so that the compiler vectorises it.
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    for (ca, cb) in a.as_chunks::<8>().0.iter().zip(b.as_chunks::<8>().0) {
        for i in 0..8 {
            let d = ca[i] - cb[i];
            acc[i] += d * d;
        }
    }
    acc.iter().sum()
}

/// The aligned face: 150×150 RGB.
pub struct Chip(pub Frame);

/// Maps the detection's keypoints onto the template and samples the chip.
pub fn align(frame: &Frame, det: &Detection) -> Chip {
    let src: Vec<Point> = TEMPLATE.iter().map(|(k, _)| det.keypoints[*k]).collect();
    let dst: Vec<Point> = TEMPLATE.iter().map(|(_, p)| *p).collect();
    let n = src.len() as f32;
    let mean =
        |v: &[Point]| Point { x: v.iter().map(|p| p.x).sum::<f32>() / n, y: v.iter().map(|p| p.y).sum::<f32>() / n };
    let (ms, md) = (mean(&src), mean(&dst));
    // dst = [a -b; b a] (src - ms) + md
    let (mut num_a, mut num_b, mut den) = (0f32, 0f32, 0f32);
    for (s, d) in src.iter().zip(&dst) {
        let (px, py) = (s.x - ms.x, s.y - ms.y);
        let (qx, qy) = (d.x - md.x, d.y - md.y);
        num_a += px * qx + py * qy;
        num_b += px * qy - py * qx;
        den += px * px + py * py;
    }
    let den = den.max(1e-6);
    let (a, b) = (num_a / den, num_b / den);
    let k = (a * a + b * b).max(1e-12);
    let mut out = vec![0u8; CHIP * CHIP * 3];
    for y in 0..CHIP {
        for x in 0..CHIP {
            let (qx, qy) = (x as f32 - md.x, y as f32 - md.y);
            // Inverse of the similarity.
            let sx = (a * qx + b * qy) / k + ms.x;
            let sy = (-b * qx + a * qy) / k + ms.y;
            let p = frame.sample(sx, sy);
            out[(y * CHIP + x) * 3..][..3].copy_from_slice(&p);
        }
    }
    Chip(Frame::new(CHIP as u32, CHIP as u32, out))
}

impl Chip {
    fn gray(&self) -> Vec<f32> {
        self.0.rgb.chunks_exact(3).map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32).collect()
    }

    /// Mean brightness (0–255) of the face's middle.
    pub fn brightness(&self) -> f32 {
        let g = self.gray();
        let mut sum = 0.0;
        let mut n = 0.0;
        for y in 40..110 {
            for x in 40..110 {
                sum += g[y * CHIP + x];
                n += 1.0;
            }
        }
        sum / n
    }

    /// Sharpness: variance of the Laplacian over the face's middle (low = blurred).
    pub fn sharpness(&self) -> f32 {
        let g = self.gray();
        let mut vals = Vec::with_capacity(70 * 70);
        for y in 40..110 {
            for x in 40..110 {
                let c = g[y * CHIP + x];
                let lap =
                    g[(y - 1) * CHIP + x] + g[(y + 1) * CHIP + x] + g[y * CHIP + x - 1] + g[y * CHIP + x + 1] - 4.0 * c;
                vals.push(lap);
            }
        }
        let mean = vals.iter().sum::<f32>() / vals.len() as f32;
        vals.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / vals.len() as f32
    }
}

pub struct Embedder {
    model: Model,
}

impl Embedder {
    pub fn new(model: Model) -> Embedder {
        Embedder { model }
    }

    pub fn embed(&self, chip: &Chip) -> Result<Embedding, FaceError> {
        let plane = CHIP * CHIP;
        let mut data = vec![0f32; 3 * plane];
        for (i, p) in chip.0.rgb.chunks_exact(3).enumerate() {
            data[i] = p[0] as f32;
            data[plane + i] = p[1] as f32;
            data[2 * plane + i] = p[2] as f32;
        }
        let out = self.model.run("input", &[1, 3, CHIP, CHIP], data, &["embedding"])?;
        let v: [f32; DIM] = out[0]
            .as_slice()
            .try_into()
            .map_err(|_| FaceError::Inference(format!("embedding of {} numbers", out[0].len())))?;
        if v.iter().any(|x| !x.is_finite()) {
            return Err(FaceError::Inference("embedding is not finite".into()));
        }
        Ok(Embedding(v))
    }
}
