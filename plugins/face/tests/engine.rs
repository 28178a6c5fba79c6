//! The engine on photos from the registries (fetched by scripts/setup.sh into BOOTH_FACE_DIR,
//! default ~/.local/share/booth/face): same person, different people, ID-size crops, two faces,
//! no face, a rotated camera.

use booth_camera::Frame;
use booth_face::Engine;
use std::path::PathBuf;
use std::sync::OnceLock;

fn face_dir() -> PathBuf {
    std::env::var_os("BOOTH_FACE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".local/share/booth/face"))
}

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        Engine::load(&face_dir().join("models"))
            .unwrap_or_else(|e| panic!("{e} (the face tests need `. scripts/setup.sh; booth_face_models`)"))
    })
}

fn photo(name: &str) -> Frame {
    let path = face_dir().join("samples").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run booth_face_models)", path.display()));
    Frame::decode(&bytes).unwrap()
}

#[test]
fn detects_one_face_with_keypoints_in_place() {
    let f = photo("obama.jpg");
    let dets = engine().detect(&f).unwrap();
    assert_eq!(dets.len(), 1, "{dets:?}");
    let d = dets[0];
    eprintln!("{d:?} yaw {} roll {} pitch {}", d.yaw(), d.roll(), d.pitch());
    let k = d.keypoints;
    assert!(k[0].x < k[1].x, "the person's right eye is on the picture's left");
    assert!(k[2].y > k[0].y && k[3].y > k[2].y, "nose below the eyes, mouth below the nose");
}

#[test]
fn same_person_is_near_and_different_people_are_far() {
    let e = engine();
    let emb = |n: &str| e.embed_photo(&photo(n)).unwrap();
    let (o1, o2, o3, b) = (emb("obama.jpg"), emb("obama2.jpg"), emb("obama3.jpg"), emb("biden.jpg"));
    for (x, y, what) in [(&o1, &o2, "o1-o2"), (&o1, &o3, "o1-o3"), (&o2, &o3, "o2-o3")] {
        let d = x.distance(y);
        eprintln!("{what} {d:.3}");
        assert!(d < 0.5, "{what}: same person at {d}");
    }
    for (x, what) in [(&o1, "o1-b"), (&o2, "o2-b"), (&o3, "o3-b")] {
        let d = x.distance(&b);
        eprintln!("{what} {d:.3}");
        assert!(d > 0.65, "{what}: different people at {d}");
    }
}

#[path = "common/mod.rs"]
mod common;

#[test]
fn a_synthetic_head_turn_moves_the_yaw_both_ways() {
    for name in ["obama.jpg", "biden.jpg"] {
        head_turn_of(name);
    }
}

fn head_turn_of(name: &str) {
    let base = common::camera_frame(name);
    let y0 = engine().detect(&base).unwrap()[0].yaw();
    for amount in [-1.0f32, -0.5, 0.5, 1.0] {
        let f = common::turned(&base, amount);
        let dets = engine().detect(&f).unwrap();
        assert_eq!(dets.len(), 1);
        let y = dets[0].yaw();
        eprintln!(
            "{name} amount {amount}: yaw {y:.3} (base {y0:.3}) pitch {:.2} roll {:.1}",
            dets[0].pitch(),
            dets[0].roll()
        );
        if amount.abs() == 1.0 {
            assert!((y - y0) * amount.signum() > 0.25, "amount {amount}: yaw {y} base {y0}");
        }
    }
}

#[test]
fn live_sequences_face_the_camera_then_turn_both_ways() {
    for name in ["obama.jpg", "biden.jpg"] {
        let seq = common::live_sequence(name);
        let yaws: Vec<f32> = seq.iter().step_by(8).map(|f| engine().detect(f).unwrap()[0].yaw()).collect();
        eprintln!("{name}: {yaws:?}");
        assert!(yaws[0].abs() < 0.15, "{name} faces the camera: {yaws:?}");
        assert!(yaws[1] - yaws[0] > 0.25 && yaws[0] - yaws[3] > 0.25, "{name}: {yaws:?}");
    }
}
