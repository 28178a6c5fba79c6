//! What arrives from the other side: decoded frames and audio, kept for display, recording and
//! checks (never logged: a remote picture is a picture of a person).

use crate::model::TrackInfo;
use booth_camera::Frame;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Latest {
    frame: Option<Frame>,
    seq: u64,
}

/// One remote track.
pub struct RemoteTrack {
    id: String,
    kind: &'static str,
    stream_id: String,
    latest: Mutex<Latest>,
    cv: Condvar,
    /// Video frames or audio samples received.
    count: AtomicU64,
    /// The loudest audio sample of the last buffer (0 … 32767).
    peak: AtomicU64,
    ended: AtomicBool,
    /// Who else takes the audio samples as they arrive (a recording).
    tap: Mutex<Option<AudioTap>>,
}

/// Takes a track's 16-bit mono samples at 48 kHz as they arrive.
pub type AudioTap = Box<dyn Fn(&[i16]) + Send + Sync>;

impl RemoteTrack {
    pub(crate) fn new(kind: &str, stream_id: &str) -> RemoteTrack {
        RemoteTrack {
            id: crate::model::new_id("t"),
            kind: if kind == "video" { "video" } else { "audio" },
            stream_id: stream_id.into(),
            latest: Mutex::default(),
            cv: Condvar::new(),
            count: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            ended: AtomicBool::new(false),
            tap: Mutex::default(),
        }
    }

    pub fn info(&self) -> TrackInfo {
        TrackInfo {
            id: self.id.clone(),
            kind: self.kind.into(),
            label: "remote".into(),
            enabled: true,
            ready_state: if self.ended.load(Ordering::SeqCst) { "ended" } else { "live" }.into(),
        }
    }

    pub fn kind(&self) -> &str {
        self.kind
    }

    pub fn stream_id(&self) -> &str {
        &self.stream_id
    }

    /// Frames (video) or samples (audio) received so far.
    pub fn received(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The loudest sample of the latest audio buffer.
    pub fn audio_peak(&self) -> u16 {
        self.peak.load(Ordering::Relaxed) as u16
    }

    pub(crate) fn push_frame(&self, mut frame: Frame) {
        let mut l = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        l.seq += 1;
        frame.seq = l.seq;
        frame.captured = Instant::now();
        l.frame = Some(frame);
        drop(l);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.cv.notify_all();
    }

    pub(crate) fn push_audio(&self, pcm: &[i16]) {
        let peak = pcm.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        self.peak.store(peak as u64, Ordering::Relaxed);
        self.count.fetch_add(pcm.len() as u64, Ordering::Relaxed);
        if let Some(tap) = self.tap.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            tap(pcm);
        }
    }

    /// Gives the audio samples from now on to `tap` too (`None`: to nobody else).
    pub fn set_audio_tap(&self, tap: Option<AudioTap>) {
        *self.tap.lock().unwrap_or_else(|p| p.into_inner()) = tap;
    }

    pub(crate) fn end(&self) {
        self.ended.store(true, Ordering::SeqCst);
        self.cv.notify_all();
    }

    pub fn is_ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    /// The newest frame.
    pub fn latest(&self) -> Option<Frame> {
        self.latest.lock().unwrap_or_else(|p| p.into_inner()).frame.clone()
    }

    /// Waits up to `timeout` for a frame newer than `after` (a frame's `seq`); `None` on timeout
    /// or when the track ended.
    pub fn next_frame(&self, after: u64, timeout: Duration) -> Option<Frame> {
        let deadline = Instant::now() + timeout;
        let mut l = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(f) = l.frame.as_ref().filter(|f| f.seq > after) {
                return Some(f.clone());
            }
            let now = Instant::now();
            if now >= deadline || self.is_ended() {
                return None;
            }
            l = self.cv.wait_timeout(l, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}
