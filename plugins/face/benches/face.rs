//! Face figures on this machine: detection and embedding per frame, the gallery's 1:N search
//! at 10,000 and 100,000 faces, model loading and opening a large gallery.
//!
//! `cargo bench -p booth-face` (needs the models: `. scripts/setup.sh; booth_face_models`).

use booth_camera::Frame;
use booth_face::embed::align;
use booth_face::gallery::{Gallery, Partition};
use booth_face::Engine;
use std::time::{Duration, Instant};

fn percentiles(mut v: Vec<Duration>) -> String {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    format!("p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms  (n={})", at(0.5), at(0.99), at(1.0), v.len())
}

fn time<T>(n: usize, mut f: impl FnMut() -> T) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect()
}

/// Pseudo-random unit-scale embeddings (the search cost does not depend on the values).
fn main() {
    let models = booth_testkit::face::face_dir().join("models");
    let t = Instant::now();
    let engine = Engine::load(&models).unwrap_or_else(|e| panic!("{e}"));
    println!("model load (detector + embedder)          {:>8.1} ms", t.elapsed().as_secs_f64() * 1000.0);
    let photo = std::fs::read(booth_testkit::face::face_dir().join("samples/obama.jpg")).expect("samples/obama.jpg");
    let big = Frame::decode(&photo).unwrap();
    let frame = big.resized(640, 480 * big.width / 640 * 480 / 480).resized(640, 480);
    let det = engine.detect(&frame).unwrap()[0];
    for _ in 0..5 {
        engine.detect(&frame).unwrap();
    }
    println!("640x480 frame, one thread of ONNX Runtime each:");
    println!(
        "  detection (letterbox + BlazeFace + NMS)   {}",
        percentiles(time(100, || engine.detect(&frame).unwrap()))
    );
    println!("  alignment (150x150 chip)                  {}", percentiles(time(100, || align(&frame, &det))));
    let chip = align(&frame, &det);
    println!(
        "  embedding (ResNet, 128-d)                 {}",
        percentiles(time(100, || engine.embedder.embed(&chip).unwrap()))
    );
    println!(
        "  detection + alignment + embedding         {}",
        percentiles(time(100, || {
            let d = engine.detect(&frame).unwrap()[0];
            engine.embedder.embed(&align(&frame, &d)).unwrap()
        }))
    );

    let dir = tempfile::tempdir().unwrap();
    for n in [10_000usize, 100_000] {
        let gdir = dir.path().join(format!("g{n}"));
        let key = dir.path().join(format!("k{n}"));
        let g = Gallery::open(&gdir, &key).unwrap();
        let p = Partition::new("org", "canteen");
        let t = Instant::now();
        let people = booth_face::test_support::pseudo_random_people(n, &p);
        g.add_many(people).unwrap();
        let added = t.elapsed();
        drop(g);
        let t = Instant::now();
        let g = Gallery::open(&gdir, &key).unwrap();
        let opened = t.elapsed();
        let mut i = 0u64;
        let probes = time(1000, || {
            i += 1;
            g.find(Some(&p), &booth_face::test_support::pseudo_random_embedding(1_000_000 + i))
        });
        println!(
            "1:N search, {n:>7} faces                   {}   (enrol all {:.2} s, open {:.0} ms, {:.1} MB on disk)",
            percentiles(probes),
            added.as_secs_f64(),
            opened.as_secs_f64() * 1000.0,
            g.status().size_bytes as f64 / 1e6
        );
    }
}
