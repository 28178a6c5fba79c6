//! Booth's cameras. One [`Camera`] owns one camera for the whole of Booth; every consumer (the
//! face engine, the face screen's live preview, and later WebRTC and recording) holds a
//! [`Subscription`] and sees the same frames, so two parts of Booth never fight over a device.
//! The camera runs while at least one subscription is alive.
//!
//! Sources ([`Backend`]): a real camera through GStreamer (`v4l2src`, chosen by name or index
//! with GStreamer's device monitor; Linux), Media Foundation (Windows), a `file` source (a folder
//! of JPEG/PNG frames, or a video file decoded by GStreamer, played in a loop at the configured
//! rate; the stand-in for tests on machines without a camera), and the simulator ([`sim`]).
//! A camera that fails or disappears is reported unavailable and opened again by itself.
//! [`preview`] serves the frames as MJPEG on 127.0.0.1 for Booth's own screens.
//!
//! Not for: faces (booth-face), or anything biometric: frames are never logged.

pub mod config;
pub mod frame;
#[cfg(target_os = "linux")]
pub mod gst;
#[cfg(windows)]
pub mod mf;
pub mod preview;
pub mod sim;
pub mod source;

pub use config::CameraSection;
pub use frame::{Frame, ImageError};

use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Where frames come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// No camera configured: consumers get [`CameraError::Unavailable`].
    None,
    /// A real camera: by name (a part of its name as `booth doctor` lists it), by index (`0`,
    /// `1`, … in that list), or a device path (`/dev/video0`). Empty: the first camera.
    Device(String),
    /// A folder of JPEG/PNG frames (played in name order) or a video file, looped.
    File(PathBuf),
    /// The simulator.
    Sim,
}

/// What a camera is asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraConfig {
    pub backend: Backend,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Clockwise, in degrees: 0, 90, 180 or 270 (kiosk cameras are often mounted sideways).
    pub rotation: u16,
    /// Left and right swapped (after the rotation).
    pub mirror: bool,
}

impl Default for CameraConfig {
    fn default() -> Self {
        CameraConfig { backend: Backend::None, width: 640, height: 480, fps: 15, rotation: 0, mirror: false }
    }
}

/// A camera's state, for `/health` and `booth doctor` (never a picture).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub backend: &'static str,
    pub available: bool,
    pub detail: String,
    /// Whether frames are being taken now (some consumer holds a subscription).
    pub running: bool,
    /// Frames delivered since Booth started.
    pub frames: u64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CameraError {
    #[error("摄像头不可用: {0}")]
    Unavailable(String),
    #[error("摄像头超时: {0} ms 内没有画面")]
    NoFrame(u64),
}

/// A source of frames (one per backend); it runs on the camera's own thread.
pub trait Source: Send {
    /// Opens the device or file. Called again after a failure, about once a second.
    fn open(&mut self) -> Result<(), String>;
    /// The next frame, waiting for it (a paced source sleeps until its time). An error closes
    /// the source; the camera reports it and opens it again.
    fn next(&mut self) -> Result<Frame, String>;
    fn close(&mut self) {}
}

struct Slot {
    frame: Option<Frame>,
    /// Set when the source failed: waiting consumers are told at once. Numbered, so that a
    /// consumer only hears of failures after it subscribed.
    error: Option<(u64, String)>,
    errors: u64,
}

struct Shared {
    config: CameraConfig,
    slot: Mutex<Slot>,
    cv: Condvar,
    notify: tokio::sync::Notify,
    users: AtomicUsize,
    running: AtomicBool,
    status: Mutex<Status>,
    frames: std::sync::atomic::AtomicU64,
    /// The last frame's number; it keeps counting when the camera stops and starts again, so a
    /// consumer never mistakes new frames for ones it has seen.
    seq: std::sync::atomic::AtomicU64,
    make_source: Box<dyn Fn() -> Option<Box<dyn Source>> + Send + Sync>,
    /// Wakes the capture thread's back-off when a consumer arrives.
    wake: (Mutex<u64>, Condvar),
}

/// The one owner of one camera. Cheap to clone; clones share the camera.
#[derive(Clone)]
pub struct Camera {
    shared: Arc<Shared>,
    /// The simulator's controls, when the backend is `Sim`.
    sim: Option<Arc<sim::SimCamera>>,
}

impl Camera {
    /// A camera for `config`; nothing is opened until the first [`Camera::subscribe`].
    pub fn new(config: CameraConfig) -> Camera {
        let sim = matches!(config.backend, Backend::Sim).then(|| sim::SimCamera::new(&config));
        let cfg = config.clone();
        let sim_for_source = sim.clone();
        let make_source: Box<dyn Fn() -> Option<Box<dyn Source>> + Send + Sync> =
            Box::new(move || source::make(&cfg, sim_for_source.clone()));
        Camera::with_source(config, make_source, sim)
    }

    /// A camera over a source of the caller's (tests, other crates' stand-ins).
    pub fn with_source(
        config: CameraConfig,
        make_source: Box<dyn Fn() -> Option<Box<dyn Source>> + Send + Sync>,
        sim: Option<Arc<sim::SimCamera>>,
    ) -> Camera {
        let (backend, detail) = match &config.backend {
            Backend::None => ("none", "未配置摄像头 (booth.toml [camera])".to_string()),
            Backend::Device(d) if d.is_empty() => ("device", "第一个摄像头 (尚未打开)".to_string()),
            Backend::Device(d) => ("device", format!("{d} (尚未打开)")),
            Backend::File(p) => ("file", format!("{} (尚未打开)", p.display())),
            Backend::Sim => ("sim", "simulated".to_string()),
        };
        let available = !matches!(config.backend, Backend::None);
        Camera {
            shared: Arc::new(Shared {
                config,
                slot: Mutex::new(Slot { frame: None, error: None, errors: 0 }),
                cv: Condvar::new(),
                notify: tokio::sync::Notify::new(),
                users: AtomicUsize::new(0),
                running: AtomicBool::new(false),
                status: Mutex::new(Status { backend, available, detail, running: false, frames: 0 }),
                frames: Default::default(),
                seq: Default::default(),
                make_source,
                wake: (Mutex::new(0), Condvar::new()),
            }),
            sim,
        }
    }

    pub fn config(&self) -> &CameraConfig {
        &self.shared.config
    }

    pub fn status(&self) -> Status {
        let mut s = self.shared.status.lock().unwrap_or_else(|p| p.into_inner()).clone();
        s.running = self.shared.running.load(Ordering::SeqCst);
        s.frames = self.shared.frames.load(Ordering::Relaxed);
        s
    }

    /// The simulator's controls (backend `Sim` only).
    pub fn sim(&self) -> Option<&Arc<sim::SimCamera>> {
        self.sim.as_ref()
    }

    /// Starts the camera if it is not running and returns a handle to its frames. The camera
    /// stops when the last subscription is dropped.
    pub fn subscribe(&self) -> Result<Subscription, CameraError> {
        if matches!(self.shared.config.backend, Backend::None) {
            return Err(CameraError::Unavailable(self.status().detail));
        }
        let previous = self.shared.users.fetch_add(1, Ordering::SeqCst);
        if previous == 0 && !self.shared.running.swap(true, Ordering::SeqCst) {
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new().name("booth-camera".into()).spawn(move || capture(shared));
            if let Err(e) = spawned {
                self.shared.running.store(false, Ordering::SeqCst);
                self.shared.users.fetch_sub(1, Ordering::SeqCst);
                return Err(CameraError::Unavailable(format!("thread: {e}")));
            }
        }
        {
            let (lock, cv) = &self.shared.wake;
            *lock.lock().unwrap_or_else(|p| p.into_inner()) += 1;
            cv.notify_all();
        }
        let slot = self.shared.slot.lock().unwrap_or_else(|p| p.into_inner());
        let seen = slot.frame.as_ref().map_or(0, |f| f.seq);
        let errors_seen = slot.errors;
        drop(slot);
        Ok(Subscription { shared: self.shared.clone(), seen, errors_seen })
    }

    /// The newest frame, if the camera is running (the preview's snapshot).
    pub fn latest(&self) -> Option<Frame> {
        self.shared.slot.lock().unwrap_or_else(|p| p.into_inner()).frame.clone()
    }
}

/// A consumer's hold on a running camera.
pub struct Subscription {
    shared: Arc<Shared>,
    seen: u64,
    errors_seen: u64,
}

impl Subscription {
    /// Waits up to `timeout` for a frame newer than the last one this subscription got.
    /// Fails at once when the source has failed (unplugged, file gone).
    pub fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        let deadline = Instant::now() + timeout;
        let mut slot = self.shared.slot.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some((n, err)) = slot.error.as_ref().filter(|(n, _)| *n > self.errors_seen) {
                self.errors_seen = *n;
                return Err(CameraError::Unavailable(err.clone()));
            }
            if let Some(f) = slot.frame.as_ref().filter(|f| f.seq > self.seen) {
                self.seen = f.seq;
                return Ok(f.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(CameraError::NoFrame(timeout.as_millis() as u64));
            }
            slot = self.shared.cv.wait_timeout(slot, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Like [`Subscription::next_frame`], for async consumers (waits without blocking a thread).
    pub async fn next_frame_async(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.notify.notified();
            {
                let slot = self.shared.slot.lock().unwrap_or_else(|p| p.into_inner());
                if let Some((n, err)) = slot.error.as_ref().filter(|(n, _)| *n > self.errors_seen) {
                    self.errors_seen = *n;
                    return Err(CameraError::Unavailable(err.clone()));
                }
                if let Some(f) = slot.frame.as_ref().filter(|f| f.seq > self.seen) {
                    self.seen = f.seq;
                    return Ok(f.clone());
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(CameraError::NoFrame(timeout.as_millis() as u64));
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.shared.users.fetch_sub(1, Ordering::SeqCst);
        let (lock, cv) = &self.shared.wake;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        cv.notify_all();
    }
}

fn set_status(shared: &Shared, available: bool, detail: String) {
    let mut s = shared.status.lock().unwrap_or_else(|p| p.into_inner());
    if s.available != available || s.detail != detail {
        if available {
            tracing::info!(backend = s.backend, %detail, "camera available");
        } else {
            tracing::warn!(backend = s.backend, %detail, "camera unavailable");
        }
        s.available = available;
        s.detail = detail;
    }
}

fn publish(shared: &Shared, result: Result<Frame, String>) {
    let mut slot = shared.slot.lock().unwrap_or_else(|p| p.into_inner());
    match result {
        Ok(f) => {
            slot.frame = Some(f);
            slot.error = None;
        }
        Err(e) => {
            slot.frame = None;
            slot.errors += 1;
            slot.error = Some((slot.errors, e));
        }
    }
    drop(slot);
    shared.cv.notify_all();
    shared.notify.notify_waiters();
}

/// Waits up to `d`, or until a consumer arrives or leaves.
fn back_off(shared: &Shared, d: Duration) {
    let (lock, cv) = &shared.wake;
    let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
    let start = *guard;
    let _ = cv.wait_timeout_while(guard, d, |n| *n == start);
}

/// The capture thread: opens the source, hands out frames, reopens after failures, and stops
/// when nobody holds a subscription.
fn capture(shared: Arc<Shared>) {
    let Some(mut source) = (shared.make_source)() else {
        publish(&shared, Err("no source for this backend".into()));
        shared.running.store(false, Ordering::SeqCst);
        return;
    };
    let cfg = shared.config.clone();
    let mut open = false;
    loop {
        if shared.users.load(Ordering::SeqCst) == 0 {
            // Stop, unless a consumer arrived between the check and the flag.
            shared.running.store(false, Ordering::SeqCst);
            if shared.users.load(Ordering::SeqCst) == 0 || shared.running.swap(true, Ordering::SeqCst) {
                break;
            }
        }
        if !open {
            match source.open() {
                Ok(()) => {
                    open = true;
                    set_status(&shared, true, describe(&cfg));
                }
                Err(e) => {
                    set_status(&shared, false, e.clone());
                    publish(&shared, Err(e));
                    back_off(&shared, Duration::from_secs(1));
                    continue;
                }
            }
        }
        match source.next() {
            Ok(frame) => {
                let mut f = frame.oriented(cfg.rotation, cfg.mirror);
                f.seq = shared.seq.fetch_add(1, Ordering::SeqCst) + 1;
                f.captured = Instant::now();
                shared.frames.fetch_add(1, Ordering::Relaxed);
                publish(&shared, Ok(f));
            }
            Err(e) => {
                source.close();
                open = false;
                set_status(&shared, false, e.clone());
                publish(&shared, Err(e));
                back_off(&shared, Duration::from_millis(500));
            }
        }
    }
    source.close();
    // Consumers that come later must not get a stale picture of whoever stood there.
    let mut slot = shared.slot.lock().unwrap_or_else(|p| p.into_inner());
    slot.frame = None;
    slot.error = None;
}

fn describe(cfg: &CameraConfig) -> String {
    let what = match &cfg.backend {
        Backend::Device(d) if d.is_empty() => "第一个摄像头".to_string(),
        Backend::Device(d) => d.clone(),
        Backend::File(p) => p.display().to_string(),
        Backend::Sim => "simulated".to_string(),
        Backend::None => String::new(),
    };
    format!("{what} {}x{}@{}", cfg.width, cfg.height, cfg.fps)
}

/// Every camera the machine has, for `booth doctor` (names only).
pub fn list_devices() -> Result<Vec<String>, String> {
    #[cfg(target_os = "linux")]
    {
        gst::list_devices()
    }
    #[cfg(windows)]
    {
        mf::list_devices()
    }
    #[cfg(not(any(target_os = "linux", windows)))]
    {
        Ok(Vec::new())
    }
}
