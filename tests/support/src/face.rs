//! Camera frames of people for the face tests, made from the registry photos that
//! `scripts/setup.sh` fetches (`booth_face_models`, into `BOOTH_FACE_DIR`, default
//! `~/.local/share/booth/face/samples`): a person as a 640×480 camera at the terminal would see
//! them, the same person turning their head (the middle of the face moved sideways around the
//! nose while the ears stay), a still photo, an ID-card-size crop. Where the face is comes from
//! the caller's detector, so this crate needs no model.

use booth_camera::Frame;
use std::path::{Path, PathBuf};

/// Where the face models and photos are.
pub fn face_dir() -> PathBuf {
    std::env::var_os("BOOTH_FACE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".local/share/booth/face"))
}

pub fn models_dir() -> PathBuf {
    face_dir().join("models")
}

/// A sample photo (`obama.jpg`, `obama2.jpg`, `obama3.jpg`, `biden.jpg`, `sample1.jpg` … `sample6.jpg`).
pub fn photo(name: &str) -> Frame {
    let path = face_dir().join("samples").join(name);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (`. scripts/setup.sh; booth_face_models`)", path.display()));
    Frame::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Where a detector found the (first) face: box centre and size, nose tip, the distance
/// between the ears, and the head turn (nose between the ears, 0 = facing the camera).
#[derive(Debug, Clone, Copy)]
pub struct FaceAt {
    pub cx: f32,
    pub cy: f32,
    pub w: f32,
    pub h: f32,
    pub nose: (f32, f32),
    pub ear_span: f32,
    pub yaw: f32,
}

/// The photo as a 640×480 camera sees that person standing at the terminal: the face about a
/// third of the picture's width, in the middle.
pub fn camera_frame(photo: &Frame, face: &FaceAt) -> Frame {
    let w = face.w * 3.0;
    let h = w * 3.0 / 4.0;
    let (x0, y0) = (face.cx - w / 2.0, face.cy - h / 2.0);
    let mut px = Vec::with_capacity(640 * 480 * 3);
    for y in 0..480 {
        for x in 0..640 {
            px.extend_from_slice(&photo.sample(x0 + x as f32 * w / 640.0, y0 + y as f32 * h / 480.0));
        }
    }
    Frame::new(640, 480, px)
}

/// The face turned by `amount` (-1 … 1 of a clear turn; positive towards the picture's right).
pub fn turned(frame: &Frame, face: &FaceAt, amount: f32) -> Frame {
    booth_camera::sim::head_turn(frame, face.nose.0, face.nose.1, face.ear_span * 0.22, amount * face.ear_span * 0.2)
}

/// A person facing the camera, turning to the picture's right, back, to the left, back, each
/// pose held about half a second at 15 fps: both orders of a two-turn challenge occur in the
/// loop. A photo taken slightly from the side is first turned to face the camera.
pub fn live_sequence(name: &str, detect: &dyn Fn(&Frame) -> Option<FaceAt>) -> Vec<Frame> {
    let p = photo(name);
    let at = detect(&p).unwrap_or_else(|| panic!("{name}: no face"));
    let base = camera_frame(&p, &at);
    let base_at = detect(&base).unwrap_or_else(|| panic!("{name}: no face in the camera frame"));
    let facing = |a: f32| detect(&turned(&base, &base_at, a)).map_or(9.0, |f| f.yaw.abs());
    let a0 = (-8..=8).map(|i| i as f32 / 4.0).min_by(|a, b| facing(*a).total_cmp(&facing(*b))).unwrap_or(0.0);
    let base = if a0 == 0.0 { base } else { turned(&base, &base_at, a0) };
    let at = detect(&base).unwrap_or_else(|| panic!("{name}: no face after facing the camera"));
    let (left, right) = (turned(&base, &at, 1.0), turned(&base, &at, -1.0));
    let mut v = Vec::new();
    for f in [&base, &left, &base, &right] {
        for _ in 0..8 {
            v.push(f.clone());
        }
    }
    v
}

/// The person's photo held perfectly still.
pub fn still_sequence(name: &str, detect: &dyn Fn(&Frame) -> Option<FaceAt>) -> Vec<Frame> {
    let p = photo(name);
    let at = detect(&p).unwrap_or_else(|| panic!("{name}: no face"));
    vec![camera_frame(&p, &at); 4]
}

/// A 102×126 crop around the face, as an ID card's photo is.
pub fn id_size(photo: &Frame, face: &FaceAt) -> Frame {
    let h = face.h * 1.7;
    let w = h * 102.0 / 126.0;
    let (x0, y0) = (face.cx - w / 2.0, face.cy - h / 2.0 - face.h * 0.1);
    let mut px = Vec::with_capacity(102 * 126 * 3);
    for y in 0..126 {
        for x in 0..102 {
            px.extend_from_slice(&photo.sample(x0 + x as f32 * w / 102.0, y0 + y as f32 * h / 126.0));
        }
    }
    Frame::new(102, 126, px)
}

/// Writes `frames` as numbered JPEGs into `dir` (what the `file` camera plays in a loop).
pub fn write_frames(dir: &Path, frames: &[Frame]) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for (i, f) in frames.iter().enumerate() {
        std::fs::write(dir.join(format!("{i:04}.jpg")), f.to_jpeg(90)).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// An empty room as the terminal's camera sees it: grey 640×480 frames, nobody in them.
pub fn nobody() -> Vec<Frame> {
    vec![Frame::new(640, 480, vec![128; 640 * 480 * 3]); 3]
}

/// Replaces what the `file` camera in `dir` plays (written aside, then swapped in).
pub fn replace_frames(dir: &Path, frames: &[Frame]) {
    let fresh = dir.with_extension("new");
    let _ = std::fs::remove_dir_all(&fresh);
    write_frames(&fresh, frames);
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&fresh, dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
}

/// The mean colour of a frame's column band (`x0..x1` of its width, as fractions) over its
/// middle half of rows: the colour checks of the video tests.
pub fn band_mean(frame: &Frame, x0: f32, x1: f32) -> [u8; 3] {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let (a, b) = ((w as f32 * x0) as usize, (w as f32 * x1) as usize);
    let mut sum = [0u64; 3];
    let mut n = 0u64;
    for y in h / 4..h * 3 / 4 {
        for x in a..b {
            let i = (y * w + x) * 3;
            for (c, s) in sum.iter_mut().enumerate() {
                *s += frame.rgb[i + c] as u64;
            }
            n += 1;
        }
    }
    sum.map(|s| (s / n.max(1)) as u8)
}
