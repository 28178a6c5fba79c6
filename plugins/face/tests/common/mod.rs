//! Shared by the face tests: the engine on the registry photos, and booth-testkit's frames of
//! people located with it.

#![allow(dead_code, unused_imports)]

use booth_camera::Frame;
pub use booth_face::test_support::{detect, engine};
pub use booth_testkit::face::{models_dir, photo, replace_frames, write_frames, FaceAt};

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
