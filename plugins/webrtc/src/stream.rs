//! Local media: the tracks `getUserMedia` hands out. A video track is a subscription to the
//! camera plugin's one camera; an audio track is a GStreamer source (the microphone) that each
//! connection it is added to runs.

use crate::model::{TrackInfo, WebRtcError};
use booth_camera::{Camera, Subscription};
use gstreamer as gst;
use gstreamer_app as gst_app;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where a local track's media comes from.
#[derive(Clone)]
pub enum TrackSource {
    /// The camera plugin's camera, at its configured size (after rotation) and rate.
    Camera { camera: Camera, width: u32, height: u32, fps: u32 },
    /// A GStreamer source description (`pulsesrc`, `autoaudiosrc`, `audiotestsrc is-live=true`).
    Audio(String),
}

type Watcher = Box<dyn Fn(bool) + Send + Sync>;

struct TrackInner {
    id: String,
    kind: &'static str,
    label: String,
    enabled: AtomicBool,
    ended: AtomicBool,
    source: TrackSource,
    watchers: Mutex<Vec<Watcher>>,
    /// Keeps the camera running while the page holds the track (its own preview, and a
    /// connection that adds it later starts without the camera's start-up delay).
    hold: Mutex<Option<Subscription>>,
}

/// One local track. Cloning shares it.
#[derive(Clone)]
pub struct LocalTrack {
    inner: Arc<TrackInner>,
}

impl LocalTrack {
    /// A video track on the camera; fails when the camera is not configured.
    pub fn camera(camera: &Camera) -> Result<LocalTrack, WebRtcError> {
        let hold = camera.subscribe().map_err(|e| WebRtcError::Device(e.to_string()))?;
        let cfg = camera.config();
        let (width, height) =
            if cfg.rotation == 90 || cfg.rotation == 270 { (cfg.height, cfg.width) } else { (cfg.width, cfg.height) };
        let source = TrackSource::Camera { camera: camera.clone(), width, height, fps: cfg.fps.max(1) };
        Ok(LocalTrack::new("video", "camera".into(), source, Some(hold)))
    }

    /// An audio track on a GStreamer source description.
    pub fn audio(source: &str, label: &str) -> LocalTrack {
        LocalTrack::new("audio", label.into(), TrackSource::Audio(source.into()), None)
    }

    fn new(kind: &'static str, label: String, source: TrackSource, hold: Option<Subscription>) -> LocalTrack {
        LocalTrack {
            inner: Arc::new(TrackInner {
                id: crate::model::new_id("t"),
                kind,
                label,
                enabled: AtomicBool::new(true),
                ended: AtomicBool::new(false),
                source,
                watchers: Mutex::default(),
                hold: Mutex::new(hold),
            }),
        }
    }

    pub fn id(&self) -> &str {
        &self.inner.id
    }

    pub fn info(&self) -> TrackInfo {
        TrackInfo {
            id: self.inner.id.clone(),
            kind: self.inner.kind.into(),
            label: self.inner.label.clone(),
            enabled: self.enabled(),
            ready_state: if self.ended() { "ended" } else { "live" }.into(),
        }
    }

    pub fn source(&self) -> TrackSource {
        self.inner.source.clone()
    }

    pub fn enabled(&self) -> bool {
        self.inner.enabled.load(Ordering::SeqCst)
    }

    /// `track.enabled = …`: a disabled video track sends black, a disabled audio track silence.
    pub fn set_enabled(&self, on: bool) {
        self.inner.enabled.store(on, Ordering::SeqCst);
        for w in self.inner.watchers.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            w(on);
        }
    }

    pub(crate) fn watch_enabled(&self, f: impl Fn(bool) + Send + Sync + 'static) {
        f(self.enabled());
        self.inner.watchers.lock().unwrap_or_else(|p| p.into_inner()).push(Box::new(f));
    }

    pub fn ended(&self) -> bool {
        self.inner.ended.load(Ordering::SeqCst)
    }

    /// `track.stop()`: ends the track everywhere it is sent, and lets the camera go.
    pub fn stop(&self) {
        self.inner.ended.store(true, Ordering::SeqCst);
        self.inner.hold.lock().unwrap_or_else(|p| p.into_inner()).take();
        // A stopped audio track is silent in every connection that sends it.
        for w in self.inner.watchers.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            w(false);
        }
    }
}

/// Pushes the camera's frames into a connection's `appsrc` on a thread of its own, until the
/// connection closes (`stop`) or the track ends. A camera that fails is reopened by the camera
/// plugin; the connection goes on and the picture comes back with it.
pub(crate) fn feed_camera(
    camera: Camera,
    track: LocalTrack,
    src: gst_app::AppSrc,
    stop: Arc<AtomicBool>,
    (width, height, _fps): (u32, u32, u32),
) -> Result<(), WebRtcError> {
    let mut sub = camera.subscribe().map_err(|e| WebRtcError::Device(e.to_string()))?;
    std::thread::Builder::new()
        .name("booth-webrtc-video".into())
        .spawn(move || {
            let black = vec![0u8; width as usize * height as usize * 3];
            while !stop.load(Ordering::SeqCst) && !track.ended() {
                match sub.next_frame(Duration::from_millis(500)) {
                    Ok(frame) => {
                        // Frames of another size (the camera reconfigured) are not sent: the
                        // caps were fixed when the connection was negotiated.
                        if frame.width != width || frame.height != height {
                            continue;
                        }
                        let buffer = if track.enabled() {
                            gst::Buffer::from_slice(frame.rgb.clone())
                        } else {
                            gst::Buffer::from_slice(black.clone())
                        };
                        if src.push_buffer(buffer).is_err() {
                            break;
                        }
                    }
                    Err(booth_camera::CameraError::NoFrame(_)) => {}
                    Err(e) => {
                        tracing::warn!(%e, "webrtc: the camera failed during a call");
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
            }
            let _ = src.end_of_stream();
        })
        .map_err(|e| WebRtcError::Engine(format!("thread: {e}")))?;
    Ok(())
}
