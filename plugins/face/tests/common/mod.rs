//! Shared by the face tests: the registry photos, the engine, and frames of a person turning
//! their head made from a still photo.

#![allow(dead_code)]

use booth_camera::Frame;
use booth_face::Engine;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Where scripts/setup.sh put the models and photos (BOOTH_FACE_DIR, default
/// ~/.local/share/booth/face).
pub fn face_dir() -> PathBuf {
    std::env::var_os("BOOTH_FACE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".local/share/booth/face"))
}

pub fn models_dir() -> PathBuf {
    face_dir().join("models")
}

pub fn engine() -> Arc<Engine> {
    static E: OnceLock<Arc<Engine>> = OnceLock::new();
    E.get_or_init(|| {
        Arc::new(Engine::load(&models_dir()).unwrap_or_else(|e| {
            panic!("{e} (the face tests need the models: `. scripts/setup.sh; booth_face_models`)")
        }))
    })
    .clone()
}

pub fn photo(name: &str) -> Frame {
    let path = face_dir().join("samples").join(name);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (`. scripts/setup.sh; booth_face_models`)", path.display()));
    Frame::decode(&bytes).unwrap()
}

/// The photo as a 640×480 camera would see that person standing at the terminal: the face
/// about a third of the picture's width, in the middle.
pub fn camera_frame(name: &str) -> Frame {
    let p = photo(name);
    let d = engine().detect(&p).unwrap()[0];
    let w = d.w * 3.0;
    let h = w * 3.0 / 4.0;
    let (x0, y0) = (d.cx - w / 2.0, d.cy - h / 2.0);
    let mut px = Vec::with_capacity(640 * 480 * 3);
    for y in 0..480 {
        for x in 0..640 {
            px.extend_from_slice(&p.sample(x0 + x as f32 * w / 640.0, y0 + y as f32 * h / 480.0));
        }
    }
    Frame::new(640, 480, px)
}

/// The photo with the face turned by `amount` (-1 … 1 of a clear turn), around its nose.
pub fn turned(frame: &Frame, amount: f32) -> Frame {
    let d = engine().detect(frame).unwrap()[0];
    let nose = d.keypoints[booth_face::detect::kp::NOSE];
    let width = d.keypoints[booth_face::detect::kp::LEFT_EAR].x - d.keypoints[booth_face::detect::kp::RIGHT_EAR].x;
    booth_camera::sim::head_turn(frame, nose.x, nose.y, width * 0.22, amount * width * 0.2)
}

/// Writes `frames` as numbered JPEGs into `dir` (the `file` camera plays them in a loop).
pub fn write_frames(dir: &Path, frames: &[Frame]) {
    std::fs::create_dir_all(dir).unwrap();
    for (i, f) in frames.iter().enumerate() {
        std::fs::write(dir.join(format!("{i:04}.jpg")), f.to_jpeg(90)).unwrap();
    }
}

/// A person facing the camera, turning left, back, right, back: both orders of a two-step
/// challenge occur in the loop.
pub fn live_sequence(name: &str) -> Vec<Frame> {
    let base = camera_frame(name);
    let mut v = Vec::new();
    // A photo taken slightly from the side is first turned to face the camera.
    let facing = |a: f32| engine().detect(&turned(&base, a)).unwrap().first().map_or(9.0, |d| d.yaw().abs());
    let a0 = (-8..=8).map(|i| i as f32 / 4.0).min_by(|a, b| facing(*a).total_cmp(&facing(*b))).unwrap_or(0.0);
    let base = if a0 == 0.0 { base } else { turned(&base, a0) };
    let (left, right) = (turned(&base, 1.0), turned(&base, -1.0));
    // Each pose held for about half a second at 15 fps, as a person turning slowly would.
    for f in [&base, &left, &base, &right] {
        for _ in 0..8 {
            v.push(f.clone());
        }
    }
    v
}

/// The same photo, perfectly still.
pub fn still_sequence(name: &str) -> Vec<Frame> {
    vec![camera_frame(name); 4]
}

/// A centred 102×126 crop around the face, as an ID card's photo is.
pub fn id_size(photo: &Frame) -> Frame {
    let d = engine().detect(photo).unwrap()[0];
    let h = d.h * 1.7;
    let w = h * 102.0 / 126.0;
    let (x0, y0) = (d.cx - w / 2.0, d.cy - h / 2.0 - d.h * 0.1);
    let mut px = Vec::with_capacity(102 * 126 * 3);
    for y in 0..126 {
        for x in 0..102 {
            px.extend_from_slice(&photo.sample(x0 + x as f32 * w / 102.0, y0 + y as f32 * h / 126.0));
        }
    }
    Frame::new(102, 126, px)
}
