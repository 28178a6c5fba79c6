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
