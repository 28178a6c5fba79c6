//! The recording of a witnessed call: the agent on the left, the customer on the right, both
//! voices mixed, as WebM (VP8 + Opus) written as it goes.
//!
//! The file must survive Booth dying at any moment: the muxer writes a stream (no index, no
//! duration to patch in at the end), a new cluster at least every second, and the file sink
//! writes each buffer through at once. A file cut short plays up to its last cluster.
//!
//! One thread paces the recording: every 20 ms it takes 20 ms of each side's audio (silence
//! where a side sent none) and mixes them; every 1/15 s it draws the newest picture of each side
//! into its half of the frame. Timestamps are counted, not taken from arrival, so that the muxer
//! sees a steady stream whatever the network does.

use crate::model::WebRtcError;
use crate::peer::Peer;
use crate::remote::RemoteTrack;
use crate::stream::LocalTrack;
use booth_camera::Frame;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The size of each half of the recorded picture.
pub const HALF: (u32, u32) = (480, 360);
const FPS: u64 = 15;
const RATE: usize = 48_000;
const CHUNK: usize = RATE / 50;
/// At most this much audio waits per side (a side that sends faster than real time is cut).
const MAX_QUEUED: usize = RATE / 2;

#[derive(Default)]
struct Sources {
    agent: Option<Peer>,
    /// The agent's picture from a camera (the simulator's agent) when there is no connection.
    agent_camera: Option<booth_camera::Camera>,
    agent_audio: Option<Arc<RemoteTrack>>,
    customer: Option<booth_camera::Camera>,
    customer_audio: Option<Arc<RemoteTrack>>,
}

type Queue = Arc<Mutex<VecDeque<i16>>>;

/// A recording in progress.
pub struct Recorder {
    path: PathBuf,
    pipeline: gst::Pipeline,
    sources: Arc<Mutex<Sources>>,
    queues: [Queue; 2],
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    finished: bool,
}

fn engine(e: impl std::fmt::Display) -> WebRtcError {
    WebRtcError::Engine(e.to_string())
}

impl Recorder {
    /// Starts writing `path` (created; an existing file is an error).
    pub fn start(path: &Path) -> Result<Recorder, WebRtcError> {
        crate::peer::init()?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| WebRtcError::Device(format!("录像文件 {}: {e}", path.display())))?;
        drop(file);
        let (w, h) = (HALF.0 * 2, HALF.1);
        let desc = format!(
            "appsrc name=video is-live=true format=time \
               caps=video/x-raw,format=RGB,width={w},height={h},framerate={FPS}/1,pixel-aspect-ratio=1/1 \
             ! queue max-size-buffers=30 ! videoconvert ! vp8enc deadline=1 cpu-used=8 target-bitrate=800000 \
               keyframe-max-dist=15 lag-in-frames=0 threads=2 ! queue ! mux. \
             appsrc name=audio is-live=true format=time \
               caps=audio/x-raw,format=S16LE,rate={RATE},channels=1,layout=interleaved \
             ! queue max-size-time=1000000000 ! audioconvert ! opusenc frame-size=20 ! queue ! mux. \
             webmmux name=mux streamable=true min-cluster-duration=250000000 max-cluster-duration=1000000000 \
             ! filesink name=file sync=false async=false buffer-mode=unbuffered",
        );
        let pipeline = gst::parse::launch(&desc)
            .map_err(engine)?
            .downcast::<gst::Pipeline>()
            .map_err(|_| engine("not a pipeline"))?;
        let sink = pipeline.by_name("file").ok_or_else(|| engine("no file sink"))?;
        sink.set_property("location", path.to_string_lossy().to_string());
        let app = |name: &str| {
            pipeline
                .by_name(name)
                .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
                .ok_or_else(|| engine(format!("no {name}")))
        };
        let (video, audio) = (app("video")?, app("audio")?);
        pipeline.set_state(gst::State::Playing).map_err(|e| engine(format!("录像: {e}")))?;
        let sources: Arc<Mutex<Sources>> = Arc::default();
        let queues: [Queue; 2] = [Arc::default(), Arc::default()];
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (sources, queues, stop) = (sources.clone(), queues.clone(), stop.clone());
            std::thread::Builder::new()
                .name("booth-witness-record".into())
                .spawn(move || pace(video, audio, sources, queues, stop))
                .map_err(engine)?
        };
        tracing::info!(path = %path.display(), "witness: recording");
        Ok(Recorder {
            path: path.to_path_buf(),
            pipeline,
            sources,
            queues,
            stop,
            thread: Some(thread),
            finished: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sources(&self) -> std::sync::MutexGuard<'_, Sources> {
        self.sources.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The agent's side from now on: the connection that receives the agent (a new one after a
    /// reconnection).
    pub fn set_agent(&self, peer: &Peer) {
        let mut s = self.sources();
        if let Some(old) = s.agent_audio.take() {
            old.set_audio_tap(None);
        }
        s.agent = Some(peer.clone());
    }

    /// The agent's picture from a camera (the simulator's agent).
    pub fn set_agent_camera(&self, camera: &booth_camera::Camera) {
        self.sources().agent_camera = Some(camera.clone());
    }

    /// The customer's side: the camera track sent and, once linked, the audio as sent.
    pub fn set_customer(&self, camera: &LocalTrack, audio: Option<Arc<RemoteTrack>>) {
        // The track holds the camera open while the call lasts.
        let sub = match camera.source() {
            crate::stream::TrackSource::Camera { camera, .. } => Some(camera),
            _ => None,
        };
        let mut s = self.sources();
        if let Some(old) = s.customer_audio.take() {
            old.set_audio_tap(None);
        }
        if let Some(a) = &audio {
            a.set_audio_tap(Some(tap(self.queues[1].clone())));
        }
        s.customer = sub;
        s.customer_audio = audio;
    }

    /// Ends the file properly (the muxer's last cluster), at most a few seconds.
    pub fn finish(mut self) -> PathBuf {
        self.end();
        self.path.clone()
    }

    fn end(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        {
            let s = self.sources();
            for a in [&s.agent_audio, &s.customer_audio].into_iter().flatten() {
                a.set_audio_tap(None);
            }
        }
        if let Some(bus) = self.pipeline.bus() {
            let _ = bus
                .timed_pop_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Eos, gst::MessageType::Error]);
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        tracing::info!(path = %self.path.display(), "witness: recording closed");
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.end();
    }
}

fn tap(queue: Queue) -> crate::remote::AudioTap {
    Box::new(move |pcm: &[i16]| {
        let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
        q.extend(pcm.iter().copied());
        let extra = q.len().saturating_sub(MAX_QUEUED);
        q.drain(..extra);
    })
}

fn pace(
    video: gst_app::AppSrc,
    audio: gst_app::AppSrc,
    sources: Arc<Mutex<Sources>>,
    queues: [Queue; 2],
    stop: Arc<AtomicBool>,
) {
    let start = Instant::now();
    let (mut chunks, mut frames) = (0u64, 0u64);
    let mut picture = vec![0u8; (HALF.0 * 2 * HALF.1 * 3) as usize];
    while !stop.load(Ordering::SeqCst) {
        let audio_due = Duration::from_millis(chunks * 20);
        let video_due = Duration::from_nanos(frames * 1_000_000_000 / FPS);
        let now = start.elapsed();
        if now < audio_due.min(video_due) {
            std::thread::sleep(audio_due.min(video_due) - now);
            continue;
        }
        if audio_due <= video_due {
            let mut mixed = vec![0i32; CHUNK];
            for q in &queues {
                let mut q = q.lock().unwrap_or_else(|p| p.into_inner());
                let n = CHUNK.min(q.len());
                for (m, s) in mixed.iter_mut().zip(q.drain(..n)) {
                    *m += s as i32;
                }
            }
            let bytes: Vec<u8> = mixed
                .iter()
                .flat_map(|m| ((*m).clamp(i16::MIN as i32, i16::MAX as i32) as i16).to_le_bytes())
                .collect();
            let mut buf = gst::Buffer::from_mut_slice(bytes);
            if let Some(b) = buf.get_mut() {
                b.set_pts(gst::ClockTime::from_nseconds(audio_due.as_nanos() as u64));
                b.set_duration(gst::ClockTime::from_mseconds(20));
            }
            if audio.push_buffer(buf).is_err() {
                break;
            }
            chunks += 1;
        } else {
            let (agent, customer) = {
                let mut s = sources.lock().unwrap_or_else(|p| p.into_inner());
                // The agent's audio track appears some time after its connection.
                if s.agent_audio.is_none() {
                    let track =
                        s.agent.as_ref().and_then(|p| p.remote_tracks().into_iter().find(|t| t.kind() == "audio"));
                    if let Some(t) = track {
                        t.set_audio_tap(Some(tap(queues[0].clone())));
                        s.agent_audio = Some(t);
                    }
                }
                let agent = s
                    .agent
                    .as_ref()
                    .and_then(|p| p.remote_tracks().into_iter().find(|t| t.kind() == "video"))
                    .and_then(|t| t.latest())
                    .or_else(|| s.agent_camera.as_ref().and_then(|c| c.latest()));
                (agent, s.customer.as_ref().and_then(|c| c.latest()))
            };
            draw(&mut picture, 0, agent.as_ref());
            draw(&mut picture, HALF.0, customer.as_ref());
            let mut buf = gst::Buffer::from_slice(picture.clone());
            if let Some(b) = buf.get_mut() {
                b.set_pts(gst::ClockTime::from_nseconds(video_due.as_nanos() as u64));
                b.set_duration(gst::ClockTime::from_nseconds(1_000_000_000 / FPS));
            }
            if video.push_buffer(buf).is_err() {
                break;
            }
            frames += 1;
        }
    }
    let _ = video.end_of_stream();
    let _ = audio.end_of_stream();
}

/// Draws `frame` into the half of `picture` starting at column `x0`, scaled to fit with black
/// bars (nearest neighbour: a record, not a show); black without a frame.
fn draw(picture: &mut [u8], x0: u32, frame: Option<&Frame>) {
    let (hw, hh) = (HALF.0 as usize, HALF.1 as usize);
    let stride = hw * 2 * 3;
    for y in 0..hh {
        picture[y * stride + x0 as usize * 3..y * stride + (x0 as usize + hw) * 3].fill(0);
    }
    let Some(f) = frame else { return };
    let (fw, fh) = (f.width as usize, f.height as usize);
    if fw == 0 || fh == 0 || f.rgb.len() < fw * fh * 3 {
        return;
    }
    // The largest size of the frame's shape that fits the half.
    let (dw, dh) = if fw * hh > fh * hw { (hw, fh * hw / fw) } else { (fw * hh / fh, hh) };
    let (ox, oy) = (x0 as usize + (hw - dw) / 2, (hh - dh) / 2);
    for y in 0..dh {
        let sy = y * fh / dh;
        let row = &mut picture[(oy + y) * stride..];
        for x in 0..dw {
            let sx = x * fw / dw;
            let s = (sy * fw + sx) * 3;
            let d = (ox + x) * 3;
            row[d..d + 3].copy_from_slice(&f.rgb[s..s + 3]);
        }
    }
}

/// What a recording holds, as GStreamer's own demuxer and decoders play it.
#[derive(Debug, Default)]
pub struct Playback {
    /// Pictures decoded.
    pub frames: usize,
    /// Milliseconds of audio decoded.
    pub audio_ms: u64,
    /// The loudest sample.
    pub audio_peak: u16,
    /// The last picture (both halves).
    pub last: Option<Frame>,
    /// Why playing stopped before the end of the file, if it did (a file cut by a crash ends
    /// with an error after its last whole cluster: what played before it counts).
    pub stopped: Option<String>,
}

/// Plays a recording back as fast as it decodes (for checks: `booth doctor`-style and tests).
pub fn play_back(file: &Path) -> Result<Playback, WebRtcError> {
    crate::peer::init()?;
    let src = gst::ElementFactory::make("filesrc")
        .property("location", file.to_string_lossy().to_string())
        .build()
        .map_err(engine)?;
    let desc = "matroskademux name=d \
         d.video_0 ! queue ! vp8dec ! videoconvert ! video/x-raw,format=RGB ! appsink name=v sync=false \
         d.audio_0 ! queue ! opusdec ! audioconvert ! audio/x-raw,format=S16LE,channels=1 ! appsink name=a sync=false";
    let bin = gst::parse::bin_from_description(desc, false).map_err(engine)?;
    let pipeline = gst::Pipeline::new();
    pipeline.add_many([&src, bin.upcast_ref()]).map_err(engine)?;
    let demux = bin.by_name("d").ok_or_else(|| engine("no demuxer"))?;
    let sink_pad = demux.static_pad("sink").ok_or_else(|| engine("demuxer without sink"))?;
    let ghost = gst::GhostPad::with_target(&sink_pad).map_err(engine)?;
    bin.add_pad(&ghost).map_err(engine)?;
    src.link(&bin).map_err(engine)?;
    let sink = |n: &str| {
        bin.by_name(n).and_then(|e| e.downcast::<gst_app::AppSink>().ok()).ok_or_else(|| engine(format!("no {n}")))
    };
    let (v, a) = (sink("v")?, sink("a")?);
    let played: Arc<Mutex<Playback>> = Arc::default();
    let p = played.clone();
    v.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let frame = crate::peer::to_frame(&sample).map_err(|_| gst::FlowError::Error)?;
                let mut p = p.lock().unwrap_or_else(|e| e.into_inner());
                p.frames += 1;
                p.last = Some(frame);
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    let p = played.clone();
    a.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let buffer = sample.buffer().ok_or(gst::FlowError::Error)?;
                let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                let mut p = p.lock().unwrap_or_else(|e| e.into_inner());
                p.audio_ms += (map.len() / 2) as u64 * 1000 / RATE as u64;
                let peak =
                    map.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]]).unsigned_abs()).max().unwrap_or(0);
                p.audio_peak = p.audio_peak.max(peak);
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    pipeline.set_state(gst::State::Playing).map_err(|e| engine(format!("{}: {e}", file.display())))?;
    let bus = pipeline.bus().ok_or_else(|| engine("no bus"))?;
    let msg =
        bus.timed_pop_filtered(gst::ClockTime::from_seconds(120), &[gst::MessageType::Eos, gst::MessageType::Error]);
    let stopped = match msg.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Error(e)) => Some(e.error().to_string()),
        None => Some("120 秒未播完".into()),
        _ => None,
    };
    let _ = pipeline.set_state(gst::State::Null);
    let mut p = std::mem::take(&mut *played.lock().unwrap_or_else(|e| e.into_inner()));
    p.stopped = stopped;
    Ok(p)
}
