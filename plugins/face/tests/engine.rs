//! The engine on photos from the registries (fetched by scripts/setup.sh into BOOTH_FACE_DIR,
//! default ~/.local/share/booth/face): same person, different people, ID-size crops, two faces,
//! no face, a rotated camera.

use booth_camera::Frame;
use booth_face::Engine;
use std::sync::Arc;

#[path = "common/mod.rs"]
mod common;

fn engine() -> Arc<Engine> {
    common::engine()
}

fn photo(name: &str) -> Frame {
    common::photo(name)
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

#[test]
fn id_size_crops_match_their_person_only() {
    let e = engine();
    let live = e.embed_photo(&common::camera_frame("obama.jpg")).unwrap();
    let other = e.embed_photo(&common::camera_frame("biden.jpg")).unwrap();
    for name in ["obama2.jpg", "obama3.jpg"] {
        let card = common::id_size(&photo(name));
        assert_eq!((card.width, card.height), (102, 126));
        let c = e.embed_photo(&card).unwrap();
        let (same, diff) = (c.distance(&live), c.distance(&other));
        eprintln!("{name} 102x126: same {same:.3} different {diff:.3}");
        assert!(same < 0.5 && diff > 0.65, "{name}: {same} {diff}");
    }
}

#[test]
fn several_faces_and_no_face() {
    let e = engine();
    let mut counts = Vec::new();
    for i in 1..=6 {
        counts.push(e.detect(&photo(&format!("sample{i}.jpg"))).unwrap().len());
    }
    eprintln!("faces in face-api's demo photos: {counts:?}");
    assert!(counts.iter().any(|&n| n >= 2), "{counts:?}");
    let grey = Frame::filled(640, 480, [128, 128, 128]);
    assert!(e.detect(&grey).unwrap().is_empty());
    assert_eq!(e.embed_photo(&grey).err(), Some(booth_face::FaceError::NoFaceInPhoto));
    // Tiny or odd pictures are not an error.
    assert!(e.detect(&Frame::filled(3, 700, [10, 200, 10])).unwrap().is_empty());
}

#[test]
fn a_sideways_camera_needs_its_rotation_set() {
    let e = engine();
    let upright = common::camera_frame("obama.jpg");
    let reference = e.embed_photo(&upright).unwrap();
    // The camera is mounted turned a quarter clockwise: the picture arrives rotated.
    let sideways = upright.oriented(90, false);
    let gates = booth_face::quality::Gates::default();
    let dets = e.detect(&sideways).unwrap();
    assert!(gates.placement(&dets).is_err(), "a sideways face is no capture: {dets:?}");
    // `[camera] rotation = 270` turns it back.
    let corrected = sideways.oriented(270, false);
    let dets = e.detect(&corrected).unwrap();
    assert!(gates.placement(&dets).is_ok());
    assert!(e.embed_photo(&corrected).unwrap().distance(&reference) < 0.05);
}
