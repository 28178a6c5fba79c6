//! The microphone: one capture owner for the whole terminal, feeding the page's real-time
//! listener (16 kHz mono 16-bit PCM in chunks) and one-shot clips (MP3).
//!
//! The device callback only downmixes to mono and pushes into a lock-free ring (no allocation,
//! no lock); a thread takes 10 ms blocks from it, resamples them to 16 kHz (rubato, FFT),
//! cuts chunks and hands them out. The device is open only while a listener or a clip needs
//! it. A listener that does not keep up has a bounded queue: older chunks are dropped and
//! counted, Booth never buffers without bound. A device that fails or stops delivering is
//! closed and opened again when it is back; listeners carry on.

use crate::status::{Health, Status};
use cpal::traits::{DeviceTrait, StreamTrait};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub const RATE: u32 = 16_000;
/// A device that delivers nothing this long is treated as gone.
const SILENT_DEVICE: Duration = Duration::from_millis(1500);
/// How long a start call waits for the device to open.
const OPEN_WAIT: Duration = Duration::from_secs(3);

/// What the microphone hears.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A capture device: a part of its name, "" = the default.
    Device(String),
    /// The simulator: a tone, or a recording (mono, its rate), looped; paced in real time.
    Tone(u32),
    Recording(u32, Arc<[f32]>),
    None,
}

/// Who gets the chunks of a listener.
pub type ChunkSink = Box<dyn Fn(&[i16]) -> bool + Send>;

struct Listener {
    owner: u64,
    sink: ChunkSink,
}

struct Clip {
    owner: u64,
    samples: Vec<i16>,
    recording: bool,
}

#[derive(Default)]
struct State {
    listener: Option<Listener>,
    clip: Option<Clip>,
    /// The capture thread runs.
    running: bool,
    /// The device is open and delivering (set by the capture thread).
    open: bool,
    /// Why the last opening failed.
    last_error: Option<String>,
    /// Failed openings so far: a start waits for one that ends after it asked, not for an
    /// error left from before.
    failures: u64,
    /// A start asks the capture thread, pausing after a failure, to try again now.
    retry_now: bool,
}

pub struct Microphone {
    source: Mutex<Source>,
    chunk: usize,
    max_clip: usize,
    state: Mutex<State>,
    changed: Condvar,
    health: Arc<Health>,
    /// Samples lost between the device callback and the capture thread.
    overruns: Arc<AtomicU64>,
    /// Chunks a listener did not take in time.
    dropped: AtomicU64,
    /// Time from the device callback to the chunk handed to the listener, last chunk (µs).
    last_latency_us: AtomicU64,
}

/// The state getMicrophoneState reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MicState {
    pub listener: bool,
    pub clip_recording: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MicError {
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    NoClip(String),
}

impl Microphone {
    pub fn new(source: Source, chunk_ms: u32, max_clip_s: u32) -> Arc<Microphone> {
        let (backend, detail) = match &source {
            Source::Device(d) if d.is_empty() => ("device", "默认输入设备".to_string()),
            Source::Device(d) => ("device", d.clone()),
            Source::Tone(_) | Source::Recording(..) => ("sim", "simulated".to_string()),
            Source::None => ("none", "未配置麦克风 (booth.toml [microphone])".to_string()),
        };
        let available = backend != "none";
        Arc::new(Microphone {
            source: Mutex::new(source),
            chunk: (RATE * chunk_ms / 1000) as usize,
            max_clip: (RATE * max_clip_s) as usize,
            state: Mutex::default(),
            changed: Condvar::new(),
            health: Health::new(Status::new(backend, available, detail)),
            overruns: Arc::default(),
            dropped: AtomicU64::new(0),
            last_latency_us: AtomicU64::new(0),
        })
    }

    pub fn status(&self) -> Status {
        self.health.get()
    }

    /// Chunks dropped because a listener did not keep up, samples lost in the capture ring.
    pub fn losses(&self) -> (u64, u64) {
        (self.dropped.load(Ordering::Relaxed), self.overruns.load(Ordering::Relaxed))
    }

    pub fn count_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Device callback → chunk handed over, for the last chunk, in milliseconds.
    pub fn last_latency_ms(&self) -> f64 {
        self.last_latency_us.load(Ordering::Relaxed) as f64 / 1000.0
    }

    /// Changes what the simulator's microphone hears.
    pub fn set_source(&self, source: Source) {
        *self.source.lock().unwrap_or_else(|p| p.into_inner()) = source;
        // The capture thread picks it up when it next opens; make it reopen now.
        self.lock().open = false;
        self.changed.notify_all();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn state(&self) -> MicState {
        let st = self.lock();
        MicState { listener: st.listener.is_some(), clip_recording: st.clip.as_ref().is_some_and(|c| c.recording) }
    }

    /// Whose listener runs, if any.
    pub fn listener_owner(&self) -> Option<u64> {
        self.lock().listener.as_ref().map(|l| l.owner)
    }

    /// Starts the listener of `owner` (a page). Another page's running listener makes this
    /// `Busy` (it must be stopped first); the same page's is replaced.
    pub fn start_listener(self: &Arc<Self>, owner: u64, sink: ChunkSink) -> Result<(), MicError> {
        {
            let mut st = self.lock();
            if let Some(l) = &st.listener {
                if l.owner != owner {
                    return Err(MicError::Busy(
                        "麦克风正在被另一个页面持续录音, 请先停止 (stopMicrophoneListener)".into(),
                    ));
                }
            }
            st.listener = Some(Listener { owner, sink });
        }
        if let Err(e) = self.ensure_running() {
            let mut st = self.lock();
            if st.listener.as_ref().is_some_and(|l| l.owner == owner) {
                st.listener = None;
            }
            return Err(e);
        }
        Ok(())
    }

    /// Stops the listener (any page's: the seed's remedy for a recording left running);
    /// returns whether one ran. `only` limits it to one page's (a page that went away).
    pub fn stop_listener(&self, only: Option<u64>) -> bool {
        let mut st = self.lock();
        let hit = st.listener.as_ref().is_some_and(|l| only.is_none_or(|o| o == l.owner));
        if hit {
            st.listener = None;
            self.changed.notify_all();
        }
        hit
    }

    /// Starts a clip for `owner`, replacing a finished one it has not collected.
    pub fn start_clip(self: &Arc<Self>, owner: u64) -> Result<(), MicError> {
        {
            let mut st = self.lock();
            if let Some(c) = &st.clip {
                if c.recording && c.owner != owner {
                    return Err(MicError::Busy("麦克风正在被另一个页面单次录音, 请先停止 (stopMicrophone)".into()));
                }
            }
            st.clip = Some(Clip { owner, samples: Vec::with_capacity(RATE as usize * 10), recording: true });
        }
        if let Err(e) = self.ensure_running() {
            self.lock().clip = None;
            return Err(e);
        }
        Ok(())
    }

    /// Ends the clip and returns its samples (16 kHz mono). A clip that stopped by itself at
    /// `max_clip_s` is returned too. Any page may stop a clip; `only` limits it to one page's.
    pub fn stop_clip(&self, only: Option<u64>) -> Result<Vec<i16>, MicError> {
        let mut st = self.lock();
        match st.clip.take() {
            Some(c) if only.is_none_or(|o| o == c.owner) => {
                self.changed.notify_all();
                Ok(c.samples)
            }
            other => {
                st.clip = other;
                Err(MicError::NoClip("没有进行中的单次录音 (先调用 startMicrophone)".into()))
            }
        }
    }

    /// A page went away: its listener and clip end.
    pub fn release(&self, owner: u64) {
        self.stop_listener(Some(owner));
        let _ = self.stop_clip(Some(owner));
    }

    fn wanted(st: &State) -> bool {
        st.listener.is_some() || st.clip.as_ref().is_some_and(|c| c.recording)
    }

    /// Starts the capture thread if needed and waits until the device delivers.
    fn ensure_running(self: &Arc<Self>) -> Result<(), MicError> {
        if matches!(*self.source.lock().unwrap_or_else(|p| p.into_inner()), Source::None) {
            return Err(MicError::Unavailable(self.status().detail));
        }
        let mut st = self.lock();
        let deadline = Instant::now() + OPEN_WAIT;
        // An error from an earlier attempt is not this start's answer: a thread pausing after
        // it tries again now, and what that attempt finds is the answer.
        let seen = st.failures;
        if st.running && !st.open && st.last_error.is_some() {
            st.retry_now = true;
            self.changed.notify_all();
        }
        loop {
            // A capture thread that had just decided to end (nobody needed it) has cleared
            // `running` under this lock: start a new one rather than wait for the old.
            if !st.running {
                st.running = true;
                st.open = false;
                st.last_error = None;
                let me = self.clone();
                if let Err(e) = std::thread::Builder::new().name("booth-mic".into()).spawn(move || me.run()) {
                    st.running = false;
                    return Err(MicError::Unavailable(format!("cannot start the capture thread: {e}")));
                }
            }
            if st.open {
                return Ok(());
            }
            if st.failures > seen {
                if let Some(e) = st.last_error.clone() {
                    return Err(MicError::Unavailable(e));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(MicError::Unavailable(format!("{}: 设备未响应", self.status().detail)));
            }
            st = self.changed.wait_timeout(st, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// The capture thread: opens the source, pumps it while someone needs it, reopens it
    /// after a failure.
    fn run(self: Arc<Self>) {
        let mut announced = String::new();
        loop {
            {
                // Deciding to end and saying so happen under one lock, so a listener that
                // starts in between either keeps this thread or sees it gone and starts another.
                let mut st = self.lock();
                if !Self::wanted(&st) {
                    st.running = false;
                    st.open = false;
                    self.changed.notify_all();
                    return;
                }
            }
            let source = self.source.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let (opened, alsa) = crate::output::quiet_alsa(|| Capture::open(&source, self.overruns.clone()));
            let why = match opened {
                Ok(mut cap) => {
                    announced.clear();
                    self.health.set(true, cap.name.clone());
                    tracing::info!(device = %cap.name, rate = cap.rate, "microphone open");
                    let why = self.pump(&mut cap);
                    self.lock().open = false;
                    if let Some(why) = &why {
                        self.health.set(false, why.clone());
                    }
                    crate::output::drop_aside(cap, "microphone stream");
                    why
                }
                Err(e) => Some(e),
            };
            let Some(why) = why else { continue };
            if why != announced {
                tracing::warn!(error = %why, alsa, "microphone unavailable; retrying");
                announced = why.clone();
            }
            self.health.set(false, why.clone());
            let mut st = self.lock();
            st.last_error = Some(why);
            st.failures += 1;
            self.changed.notify_all();
            // Retry after a pause, sooner when nobody needs the device any more or a start asks.
            let wait = |s: &mut State| Self::wanted(s) && !s.retry_now;
            let (mut st, _) = self
                .changed
                .wait_timeout_while(st, Duration::from_millis(500), wait)
                .unwrap_or_else(|p| p.into_inner());
            st.retry_now = false;
        }
    }

    /// Moves audio from the capture to the listener and the clip. Returns why it stopped:
    /// `None` when nobody needs the device any more (or the source changed), else the fault.
    fn pump(&self, cap: &mut Capture) -> Option<String> {
        let block_in = (cap.rate / 100) as usize;
        let mut resampler = if cap.rate == RATE {
            None
        } else {
            match Fft::<f32>::new(cap.rate as usize, RATE as usize, block_in, 1, FixedSync::Input) {
                Ok(r) => Some(r),
                Err(e) => return Some(format!("resampler: {e}")),
            }
        };
        let mut skip = resampler.as_ref().map_or(0, |r| r.output_delay());
        let mut out_block = vec![0f32; resampler.as_ref().map_or(block_in, |r| r.output_frames_max())];
        let mut block = vec![0f32; block_in];
        let mut filled = 0usize;
        let mut chunk: Vec<i16> = Vec::with_capacity(self.chunk);
        let mut last_data = Instant::now();
        let mut first_block_at: Option<Instant> = None;
        let mut pcm: Vec<i16> = Vec::with_capacity(out_block.len());
        let mut announced_open = false;
        let (mut window_from, mut window) = (cap.delivered.load(Ordering::Relaxed), Instant::now());
        loop {
            if cap.broken.load(Ordering::Relaxed) {
                return Some(format!("{}: 设备已断开", cap.name));
            }
            {
                let st = self.lock();
                if !Self::wanted(&st) {
                    return None;
                }
                if announced_open && !st.open {
                    // The simulator's source changed.
                    return None;
                }
            }
            cap.produce();
            let mut got = false;
            // At most 100 ms per round, so that faults and stops are seen between rounds.
            let mut budget = block_in * 10;
            while let Some(s) = (budget > 0).then(|| cap.ring.pop().ok()).flatten() {
                budget -= 1;
                got = true;
                if filled == 0 {
                    first_block_at.get_or_insert_with(Instant::now);
                }
                block[filled] = s;
                filled += 1;
                if filled < block_in {
                    continue;
                }
                filled = 0;
                let produced: &[f32] = match resampler.as_mut() {
                    Some(r) => {
                        let (Ok(input), Ok(mut output)) = (
                            InterleavedSlice::new(&block[..], 1, block_in),
                            InterleavedSlice::new_mut(&mut out_block[..], 1, r.output_frames_max()),
                        ) else {
                            return Some("resampler buffers".into());
                        };
                        match r.process_into_buffer(&input, &mut output, None) {
                            Ok((_, n)) => &out_block[..n],
                            Err(e) => return Some(format!("resampler: {e}")),
                        }
                    }
                    None => &block[..],
                };
                let take = skip.min(produced.len());
                skip -= take;
                pcm.clear();
                pcm.extend(produced[take..].iter().map(|&v| (v.clamp(-1.0, 1.0) * 32767.0).round() as i16));
                if pcm.is_empty() {
                    continue;
                }
                if !announced_open {
                    // Open means sound arrives: a clip starts with the call's answer.
                    announced_open = true;
                    let mut st = self.lock();
                    st.open = true;
                    st.last_error = None;
                    self.changed.notify_all();
                }
                self.record(&pcm);
                for &v in &pcm {
                    chunk.push(v);
                    if chunk.len() == self.chunk {
                        if let Some(t) = first_block_at.take() {
                            // The newest sample of the chunk arrived about now; its block began
                            // at `t`: what a page waits beyond the chunk length itself.
                            self.last_latency_us.store(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                        }
                        self.deliver(&chunk);
                        chunk.clear();
                    }
                }
            }
            if window.elapsed() >= Duration::from_secs(1) {
                // A device that went away can make its driver return at once, over and over:
                // far more samples than real time delivers is a fault too. Counted where the
                // driver hands them over, from this loop's start: what waited in the ring while
                // this thread was held up (a busy machine) is not a fault. The simulator makes
                // exactly what time asks for and is not watched.
                let delivered = cap.delivered.load(Ordering::Relaxed);
                let per_s = (delivered - window_from) as f64 / window.elapsed().as_secs_f64();
                if cap.sim.is_none() && per_s > f64::from(cap.rate) * 1.5 {
                    return Some(format!("{}: 设备数据异常 ({per_s:.0} 样本/秒)", cap.name));
                }
                window_from = delivered;
                window = Instant::now();
            }
            if got {
                last_data = Instant::now();
            } else if last_data.elapsed() > SILENT_DEVICE {
                return Some(format!("{}: 设备无数据", cap.name));
            } else {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }

    fn deliver(&self, chunk: &[i16]) {
        let mut st = self.lock();
        if let Some(l) = &st.listener {
            if !(l.sink)(chunk) {
                st.listener = None;
            }
        }
    }

    /// Clips take every block as it comes (not whole chunks), so a clip ends where it is stopped.
    fn record(&self, pcm: &[i16]) {
        let max = self.max_clip;
        let mut st = self.lock();
        if let Some(c) = st.clip.as_mut().filter(|c| c.recording) {
            let room = max.saturating_sub(c.samples.len());
            c.samples.extend_from_slice(&pcm[..room.min(pcm.len())]);
            if c.samples.len() >= max {
                c.recording = false;
                tracing::info!(seconds = max / RATE as usize, "microphone clip reached its maximum length");
            }
        }
    }
}

/// An open source: a cpal input stream, or the simulator's generator.
struct Capture {
    name: String,
    rate: u32,
    ring: rtrb::Consumer<f32>,
    /// Frames the driver has handed over, kept or not.
    delivered: Arc<AtomicU64>,
    broken: Arc<AtomicBool>,
    _stream: Option<cpal::Stream>,
    sim: Option<SimGen>,
}

struct SimGen {
    producer: rtrb::Producer<f32>,
    samples: Arc<[f32]>,
    tone_hz: u32,
    pos: usize,
    started: Instant,
    made: u64,
}

impl Capture {
    fn open(source: &Source, overruns: Arc<AtomicU64>) -> Result<Capture, String> {
        match source {
            Source::None => Err("未配置麦克风".into()),
            Source::Tone(_) | Source::Recording(..) => {
                let (rate, samples, tone_hz) = match source {
                    Source::Recording(rate, s) if !s.is_empty() => (*rate, s.clone(), 0),
                    Source::Tone(hz) => (48_000, Arc::from(Vec::new()), *hz),
                    _ => (48_000, Arc::from(Vec::new()), 0),
                };
                let (producer, ring) = rtrb::RingBuffer::new(rate as usize);
                Ok(Capture {
                    name: "simulated microphone".into(),
                    rate,
                    ring,
                    delivered: Arc::default(),
                    broken: Arc::default(),
                    _stream: None,
                    sim: Some(SimGen { producer, samples, tone_hz, pos: 0, started: Instant::now(), made: 0 }),
                })
            }
            Source::Device(pattern) => {
                let device = crate::output::find_device(true, pattern)?;
                let name = device.description().map(|d| d.name().to_string()).unwrap_or_else(|_| pattern.clone());
                // 16 kHz straight from the device when it offers it (PulseAudio, most USB
                // microphones): no resampler, whose delay (≈16 ms) would come on top of every
                // chunk. Otherwise the device's own format, resampled here.
                let config = match at_16_khz(&device) {
                    Some(c) => c,
                    None => device.default_input_config().map_err(|e| format!("{name}: {e}"))?,
                };
                let rate = config.sample_rate();
                let channels = usize::from(config.channels()).max(1);
                // One second of room between the callback and the capture thread.
                let (producer, ring) = rtrb::RingBuffer::new(rate as usize);
                let broken = Arc::new(AtomicBool::new(false));
                let mut stream_config: cpal::StreamConfig = config.config();
                // Periods of 10 ms where the device lets us choose: a driver's default can be
                // several times that, and every chunk would wait for it.
                if let cpal::SupportedBufferSize::Range { min, max } = *config.buffer_size() {
                    stream_config.buffer_size = cpal::BufferSize::Fixed((rate / 100).clamp(min, max));
                }
                let b2 = broken.clone();
                let delivered = Arc::new(AtomicU64::new(0));
                let counter = Counters { delivered: delivered.clone(), overruns };
                // Only a kind that says the device is gone ends the capture here: passing
                // troubles are left to the data watchdog (no data, or far too much).
                let on_error = move |e: cpal::Error| {
                    use cpal::ErrorKind as K;
                    if matches!(
                        e.kind(),
                        K::DeviceNotAvailable | K::StreamInvalidated | K::DeviceChanged | K::HostUnavailable
                    ) {
                        tracing::debug!(error = %e, "microphone: device gone");
                        b2.store(true, Ordering::Relaxed);
                    }
                };
                let stream = match config.sample_format() {
                    cpal::SampleFormat::F32 => {
                        build::<f32>(&device, &stream_config, channels, producer, counter, on_error)
                    }
                    cpal::SampleFormat::I16 => {
                        build::<i16>(&device, &stream_config, channels, producer, counter, on_error)
                    }
                    cpal::SampleFormat::I32 => {
                        build::<i32>(&device, &stream_config, channels, producer, counter, on_error)
                    }
                    cpal::SampleFormat::U16 => {
                        build::<u16>(&device, &stream_config, channels, producer, counter, on_error)
                    }
                    other => return Err(format!("{name}: unsupported sample format {other}")),
                }
                .map_err(|e| format!("{name}: {e}"))?;
                stream.play().map_err(|e| format!("{name}: {e}"))?;
                Ok(Capture { name, rate, ring, delivered, broken, _stream: Some(stream), sim: None })
            }
        }
    }

    /// The simulator makes what real time asks for by now.
    fn produce(&mut self) {
        let rate = self.rate;
        let Some(g) = self.sim.as_mut() else { return };
        let due = (g.started.elapsed().as_secs_f64() * f64::from(rate)) as u64;
        while g.made < due {
            let v = if g.samples.is_empty() {
                if g.tone_hz == 0 {
                    0.0
                } else {
                    0.5 * (2.0 * std::f64::consts::PI * f64::from(g.tone_hz) * g.made as f64 / f64::from(rate)).sin()
                        as f32
                }
            } else {
                let v = g.samples[g.pos];
                g.pos = (g.pos + 1) % g.samples.len();
                v
            };
            if g.producer.push(v).is_err() {
                break;
            }
            g.made += 1;
        }
    }
}

/// A 16 kHz input format the device supports natively, fewest channels and a sample format
/// `build` takes first.
fn at_16_khz(device: &cpal::Device) -> Option<cpal::SupportedStreamConfig> {
    use cpal::SampleFormat as F;
    let rank = |f: F| match f {
        F::F32 => Some(0),
        F::I16 => Some(1),
        F::I32 => Some(2),
        F::U16 => Some(3),
        _ => None,
    };
    device
        .supported_input_configs()
        .ok()?
        .filter_map(|r| Some((r.channels(), rank(r.sample_format())?, r)))
        .filter_map(|(ch, rank, r)| Some((ch, rank, r.try_with_sample_rate(RATE)?)))
        .min_by_key(|(ch, rank, _)| (*ch, *rank))
        .map(|(_, _, c)| c)
}

/// What a device callback counts: frames handed over, and frames lost to a full ring.
struct Counters {
    delivered: Arc<AtomicU64>,
    overruns: Arc<AtomicU64>,
}

fn build<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    channels: usize,
    mut producer: rtrb::Producer<f32>,
    counter: Counters,
    on_error: impl FnMut(cpal::Error) + Send + 'static,
) -> Result<cpal::Stream, cpal::Error>
where
    T: cpal::SizedSample,
    f32: cpal::FromSample<T>,
{
    use cpal::Sample;
    device.build_input_stream::<T, _, _>(
        *config,
        move |data: &[T], _| {
            // Real-time thread: no allocation, no lock; a full ring drops and counts.
            let mut lost = 0u64;
            for frame in data.chunks_exact(channels) {
                let mut sum = 0f32;
                for s in frame {
                    sum += f32::from_sample(*s);
                }
                if producer.push(sum / channels as f32).is_err() {
                    lost += 1;
                }
            }
            counter.delivered.fetch_add((data.len() / channels) as u64, Ordering::Relaxed);
            if lost > 0 {
                counter.overruns.fetch_add(lost, Ordering::Relaxed);
            }
        },
        on_error,
        None,
    )
}

/// Encodes a clip as MP3 (MPEG-2 layer III at 16 kHz mono) with LAME.
pub fn encode_mp3(samples: &[i16], kbps: u32) -> Result<Vec<u8>, String> {
    use mp3lame_encoder::{Bitrate, Builder, FlushGap, Mode, MonoPcm, Quality};
    let bitrate = match kbps {
        16 => Bitrate::Kbps16,
        24 => Bitrate::Kbps24,
        48 => Bitrate::Kbps48,
        64 => Bitrate::Kbps64,
        _ => Bitrate::Kbps32,
    };
    let mut b = Builder::new().ok_or("LAME: cannot allocate an encoder")?;
    b.set_num_channels(1).map_err(|e| format!("LAME: {e}"))?;
    b.set_sample_rate(RATE).map_err(|e| format!("LAME: {e}"))?;
    b.set_brate(bitrate).map_err(|e| format!("LAME: {e}"))?;
    b.set_mode(Mode::Mono).map_err(|e| format!("LAME: {e}"))?;
    b.set_quality(Quality::Good).map_err(|e| format!("LAME: {e}"))?;
    let mut enc = b.build().map_err(|e| format!("LAME: {e}"))?;
    let mut out = Vec::with_capacity(mp3lame_encoder::max_required_buffer_size(samples.len()));
    enc.encode_to_vec(MonoPcm(samples), &mut out).map_err(|e| format!("LAME: {e}"))?;
    out.reserve(7200);
    enc.flush_to_vec::<FlushGap>(&mut out).map_err(|e| format!("LAME: {e}"))?;
    Ok(out)
}
