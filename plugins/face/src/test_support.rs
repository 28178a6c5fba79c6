//! For tests of any crate (feature `test-support`): the engine loaded once from the registry
//! models scripts/setup.sh fetches, and its first detection in booth-testkit's terms
//! ([`FaceAt`], which places a registry photo in a camera frame). booth-testkit cannot depend
//! on booth-face, so the conversion lives here. Not for production code.

use crate::detect::{kp, Detection};
use crate::Engine;
use booth_camera::Frame;
use booth_testkit::face::{models_dir, FaceAt};
use std::sync::{Arc, OnceLock};

/// The engine on the registry models, loaded once per test process.
pub fn engine() -> Arc<Engine> {
    static E: OnceLock<Arc<Engine>> = OnceLock::new();
    E.get_or_init(|| {
        Arc::new(Engine::load(&models_dir()).unwrap_or_else(|e| {
            panic!("{e} (the face tests need the models: `. scripts/setup.sh; booth_face_models`)")
        }))
    })
    .clone()
}

/// Where `d` is, as booth-testkit wants it.
pub fn face_at(d: &Detection) -> FaceAt {
    FaceAt {
        cx: d.cx,
        cy: d.cy,
        w: d.w,
        h: d.h,
        nose: (d.keypoints[kp::NOSE].x, d.keypoints[kp::NOSE].y),
        ear_span: d.keypoints[kp::LEFT_EAR].x - d.keypoints[kp::RIGHT_EAR].x,
        yaw: d.yaw(),
    }
}

/// The first face the engine finds in `f`.
pub fn detect(f: &Frame) -> Option<FaceAt> {
    engine().detect(f).ok()?.first().map(face_at)
}

/// A pseudo-random embedding for `seed` (the same every time): for gallery sizes and search
/// timings, whose cost does not depend on the values.
pub fn pseudo_random_embedding(seed: u64) -> crate::embed::Embedding {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut e = [0f32; crate::embed::DIM];
    for v in e.iter_mut() {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51afd7ed558ccd);
        *v = ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2;
    }
    crate::embed::Embedding(e)
}

/// `n` people for a gallery of that size in `partition`, each with one
/// [`pseudo_random_embedding`] (ids `0000000000000000`, `0000000000000001`, …).
pub fn pseudo_random_people(
    n: usize,
    partition: &crate::gallery::Partition,
) -> Vec<(String, crate::gallery::Partition, crate::gallery::PersonInfo, Vec<crate::embed::Embedding>)> {
    (0..n)
        .map(|i| {
            let info = crate::gallery::PersonInfo::default();
            (format!("{i:016}"), partition.clone(), info, vec![pseudo_random_embedding(i as u64)])
        })
        .collect()
}
