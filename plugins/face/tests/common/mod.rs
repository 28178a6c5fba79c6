//! Shared by the face tests: the engine on the registry photos, and booth-testkit's frames of
//! people located with it.

#![allow(dead_code, unused_imports)]

use booth_camera::Frame;
use booth_face::detect::kp;
use booth_face::Engine;
pub use booth_testkit::face::{models_dir, photo, replace_frames, write_frames, FaceAt};
use std::sync::{Arc, OnceLock};

pub fn engine() -> Arc<Engine> {
    static E: OnceLock<Arc<Engine>> = OnceLock::new();
    E.get_or_init(|| {
        Arc::new(Engine::load(&models_dir()).unwrap_or_else(|e| {
            panic!("{e} (the face tests need the models: `. scripts/setup.sh; booth_face_models`)")
        }))
    })
    .clone()
}

/// The first face the engine finds, as booth-testkit wants it.
pub fn detect(f: &Frame) -> Option<FaceAt> {
    let d = *engine().detect(f).ok()?.first()?;
    Some(FaceAt {
        cx: d.cx,
        cy: d.cy,
        w: d.w,
        h: d.h,
        nose: (d.keypoints[kp::NOSE].x, d.keypoints[kp::NOSE].y),
        ear_span: d.keypoints[kp::LEFT_EAR].x - d.keypoints[kp::RIGHT_EAR].x,
        yaw: d.yaw(),
    })
}

pub fn camera_frame(name: &str) -> Frame {
    let p = photo(name);
    booth_testkit::face::camera_frame(&p, &detect(&p).expect("a face"))
}

pub fn turned(frame: &Frame, amount: f32) -> Frame {
    booth_testkit::face::turned(frame, &detect(frame).expect("a face"), amount)
}

pub fn live_sequence(name: &str) -> Vec<Frame> {
    booth_testkit::face::live_sequence(name, &detect)
}

pub fn still_sequence(name: &str) -> Vec<Frame> {
    booth_testkit::face::still_sequence(name, &detect)
}

pub fn id_size(photo: &Frame) -> Frame {
    booth_testkit::face::id_size(photo, &detect(photo).expect("a face"))
}
