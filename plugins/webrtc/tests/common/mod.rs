//! Shared by the WebRTC tests: a camera showing a test pattern (each test binary uses a part).

#![allow(dead_code)]

use booth_camera::{Backend, Camera, CameraConfig, Frame, Source};
use std::time::{Duration, Instant};

/// A test pattern: the left half one colour, the right half another, at 15 frames a second.
pub struct Pattern {
    left: [u8; 3],
    right: [u8; 3],
    next: Instant,
}

impl Source for Pattern {
    fn open(&mut self) -> Result<(), String> {
        Ok(())
    }
    fn next(&mut self) -> Result<Frame, String> {
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep(self.next - now);
        }
        self.next = Instant::now() + Duration::from_millis(66);
        let (w, h) = (320usize, 240usize);
        let mut px = Vec::with_capacity(w * h * 3);
        for _ in 0..h {
            for x in 0..w {
                px.extend_from_slice(if x < w / 2 { &self.left } else { &self.right });
            }
        }
        Ok(Frame::new(w as u32, h as u32, px))
    }
}

pub fn pattern_camera(left: [u8; 3], right: [u8; 3]) -> Camera {
    let config = CameraConfig { backend: Backend::Sim, width: 320, height: 240, fps: 15, ..Default::default() };
    Camera::with_source(
        config,
        Box::new(move || Some(Box::new(Pattern { left, right, next: Instant::now() }) as Box<dyn Source>)),
        None,
    )
}

/// A camera that can be unplugged and plugged back in (its source fails while unplugged).
pub struct Pluggable {
    pub inner: Pattern,
    pub plugged: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Source for Pluggable {
    fn open(&mut self) -> Result<(), String> {
        if self.plugged.load(std::sync::atomic::Ordering::SeqCst) {
            Ok(())
        } else {
            Err("unplugged".into())
        }
    }
    fn next(&mut self) -> Result<Frame, String> {
        if !self.plugged.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("unplugged".into());
        }
        self.inner.next()
    }
}

pub fn pluggable_camera(left: [u8; 3], right: [u8; 3]) -> (Camera, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    let plugged = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let p = plugged.clone();
    let config = CameraConfig { backend: Backend::Sim, width: 320, height: 240, fps: 15, ..Default::default() };
    let camera = Camera::with_source(
        config,
        Box::new(move || {
            Some(Box::new(Pluggable { inner: Pattern { left, right, next: Instant::now() }, plugged: p.clone() })
                as Box<dyn Source>)
        }),
        None,
    );
    (camera, plugged)
}

#[allow(unused_imports)] // not every test binary checks colours
pub use booth_testkit::face::band_mean as mean;

/// Each channel within 40 of the colour wanted (codecs shift colours a little).
pub fn close_to(got: [u8; 3], want: [u8; 3]) -> bool {
    got.iter().zip(want).all(|(g, w)| (*g as i32 - w as i32).abs() < 40)
}

/// This process's CPU time so far (user + system), in clock ticks (USER_HZ, 100 a second).
pub fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}
