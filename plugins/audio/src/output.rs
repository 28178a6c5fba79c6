//! The sound output: one device, opened by name (or the system's default), with a mixer that
//! speech and the buzzer play into. A thread owns the device. The device's stream runs only while
//! something plays: a stream that plays silence between sounds keeps its buffer full of it, and
//! every new sound would wait behind that buffer (40 ms with the default `buffer_ms`) and the
//! period being filled; a stream opened for the sound starts with the sound. Sounds hold the
//! stream open ([`Hold`]) until the mixer has played them, and the stream is closed only once
//! the speaker has played the last loud sample. When the device fails (unplugged, the sound
//! server gone) calls answer `DEVICE_UNAVAILABLE`, and it is used again as soon as it is back.

use crate::status::{Health, Status};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use rodio::mixer::{Mixer, MixerSource};
use std::num::NonZero;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

/// How often a missing device is looked for again: soon after it went away, then less often.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// An audio device as `booth doctor` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceEntry {
    /// The host's id (`alsa:pulse`, `alsa:hw:CARD=PCH,DEV=0`, a WASAPI endpoint id).
    pub id: String,
    /// The description the system gives it.
    pub name: String,
    pub input: bool,
    pub output: bool,
    pub default_input: bool,
    pub default_output: bool,
}

/// Runs `f` with what ALSA says on this thread kept from stderr, and returns that text (lines
/// joined by " | ") with f's result. ALSA prints its complaints (no sound card, a device it
/// cannot open, several lines each time) on stderr of whichever thread looked for a device; a
/// terminal without a sound card would print them at every retry. Booth's log gets them once
/// instead, with the error they explain.
pub(crate) fn quiet_alsa<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[cfg(target_os = "linux")]
    {
        // The handler stays installed on this thread with its buffer until the next call here
        // replaces both, so what ALSA says in between is kept from stderr too.
        let Ok(buffer) = alsa::Output::local_error_handler() else { return (f(), String::new()) };
        let r = f();
        let text = buffer.borrow().to_string();
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        (r, lines.join(" | "))
    }
    #[cfg(not(target_os = "linux"))]
    {
        (f(), String::new())
    }
}

/// Every device of the default host (ALSA on Linux, WASAPI on Windows).
pub fn devices() -> Vec<DeviceEntry> {
    let (list, alsa) = quiet_alsa(devices_of_host);
    if !alsa.is_empty() {
        tracing::debug!(alsa, "listing audio devices");
    }
    list
}

fn devices_of_host() -> Vec<DeviceEntry> {
    let host = cpal::default_host();
    let name = |d: &cpal::Device| d.description().map(|x| x.name().to_string()).unwrap_or_default();
    let def_in = host.default_input_device().map(|d| name(&d));
    let def_out = host.default_output_device().map(|d| name(&d));
    let Ok(all) = host.devices() else { return Vec::new() };
    all.map(|d| {
        let n = name(&d);
        DeviceEntry {
            id: d.id().map(|i| i.to_string()).unwrap_or_default(),
            input: d.supports_input(),
            output: d.supports_output(),
            default_input: def_in.as_deref() == Some(n.as_str()),
            default_output: def_out.as_deref() == Some(n.as_str()),
            name: n,
        }
    })
    .collect()
}

/// Finds a device whose id or name contains `pattern` (any case); the default one for "".
pub(crate) fn find_device(input: bool, pattern: &str) -> Result<cpal::Device, String> {
    let host = cpal::default_host();
    let kind = if input { "输入" } else { "输出" };
    if pattern.is_empty() {
        let d = if input { host.default_input_device() } else { host.default_output_device() };
        return d.ok_or_else(|| format!("没有默认音频{kind}设备"));
    }
    let want = pattern.to_lowercase();
    let devices = host.devices().map_err(|e| format!("列出音频设备失败: {e}"))?;
    for d in devices {
        let fits = if input { d.supports_input() } else { d.supports_output() };
        let name = d.description().map(|x| x.name().to_string()).unwrap_or_default();
        let id = d.id().map(|i| i.to_string()).unwrap_or_default();
        if fits && (name.to_lowercase().contains(&want) || id.to_lowercase().contains(&want)) {
            return Ok(d);
        }
    }
    Err(format!("没有名称含 \"{pattern}\" 的音频{kind}设备"))
}

pub struct Output {
    mixer: Mutex<Option<Mixer>>,
    health: Arc<Health>,
    stop: AtomicBool,
    /// Counts the devices' mixers: players made on an older one are replaced.
    epoch: AtomicU64,
    /// The device's sample rate: what is played is made or converted at this rate.
    rate: AtomicU32,
    demand: Arc<Demand>,
}

/// What keeps the device's stream running, shared by the output thread, the stream's callback
/// and the sounds that need it (no reference back to the [`Output`], which owns the mixer the
/// sounds sit in).
pub(crate) struct Demand {
    /// Sounds handed to the mixer and not yet played to their end.
    holds: AtomicUsize,
    /// Whether the stream is open, as the output thread decided.
    running: AtomicBool,
    /// When the speaker will have played the latest loud sample, ms since `base`.
    audible_until: AtomicU64,
    /// Stream openings (tests, the log).
    opens: AtomicU64,
    base: Instant,
    lock: Mutex<()>,
    wake: Condvar,
}

impl Demand {
    fn now_ms(&self) -> u64 {
        self.base.elapsed().as_millis() as u64
    }

    fn notify(&self) {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.wake.notify_all();
    }

    /// Whether nothing needs the stream: no sound waiting or playing, the last one heard out.
    fn idle(&self) -> bool {
        self.holds.load(Ordering::SeqCst) == 0
            && self.now_ms() > self.audible_until.load(Ordering::Relaxed) + CLOSE_AFTER.as_millis() as u64
    }
}

/// A sound's claim on the device stream: while one exists the stream is open (it is opened
/// when the first is made). A source holds one until the mixer drops it, played out or stopped.
pub struct Hold(Arc<Demand>);

impl Hold {
    fn new(demand: &Arc<Demand>) -> Hold {
        demand.holds.fetch_add(1, Ordering::SeqCst);
        // SeqCst with the thread's store of `running` then load of `holds`: either it sees
        // this hold, or this sees that the stream is closed and wakes the thread.
        if !demand.running.load(Ordering::SeqCst) {
            demand.notify();
        }
        Hold(demand.clone())
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        // Often on the stream's real-time thread (the mixer drops a finished source): no lock.
        self.0.holds.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A source that holds the stream open until the mixer is done with it.
pub struct Held<S> {
    inner: S,
    _hold: Hold,
}

impl<S> Held<S> {
    pub fn new(inner: S, hold: Hold) -> Held<S> {
        Held { inner, _hold: hold }
    }
}

impl<S: Iterator<Item = f32>> Iterator for Held<S> {
    type Item = f32;
    fn next(&mut self) -> Option<f32> {
        self.inner.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<S: rodio::Source> rodio::Source for Held<S> {
    fn current_span_len(&self) -> Option<usize> {
        self.inner.current_span_len()
    }
    fn channels(&self) -> rodio::ChannelCount {
        self.inner.channels()
    }
    fn sample_rate(&self) -> rodio::SampleRate {
        self.inner.sample_rate()
    }
    fn total_duration(&self) -> Option<Duration> {
        self.inner.total_duration()
    }
}

/// How long after the speaker played the last loud sample the stream is closed: the gap
/// between two sentences or beeps of one prompt stays within it.
const CLOSE_AFTER: Duration = Duration::from_millis(150);
/// How often a running stream is checked (faults, idleness) …
const TICK: Duration = Duration::from_millis(50);
/// … and how often the device is asked whether it is still there while no stream runs.
const PROBE: Duration = Duration::from_secs(1);

impl Output {
    /// Finds the device named `device` ("" = default) on a thread of its own and serves it.
    /// `buffer_ms` is the device's period: what is already on its way to the speaker when
    /// playback stops (an interrupt is heard this much later, at least). With `keep_open` the
    /// stream runs all the time, playing silence between sounds (for a sound card that clicks
    /// when opened), and every sound starts up to two periods later.
    pub fn start(device: String, buffer_ms: u32, keep_open: bool) -> Arc<Output> {
        let what = if device.is_empty() { "默认输出设备".to_string() } else { device.clone() };
        let out = Arc::new(Output {
            mixer: Mutex::new(None),
            health: Health::new(Status::new("output", false, format!("{what}: 尚未打开"))),
            stop: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            rate: AtomicU32::new(48_000),
            demand: Arc::new(Demand {
                holds: AtomicUsize::new(0),
                running: AtomicBool::new(false),
                audible_until: AtomicU64::new(0),
                opens: AtomicU64::new(0),
                base: Instant::now(),
                lock: Mutex::new(()),
                wake: Condvar::new(),
            }),
        });
        let weak = Arc::downgrade(&out);
        let spawned = std::thread::Builder::new().name("booth-audio-out".into()).spawn(move || {
            let mut last_error = String::new();
            let mut retry = RETRY_FIRST;
            // Whether "available" was said since the last warning (a device that is found but
            // whose stream cannot be opened would say it at every retry).
            let mut announced = false;
            loop {
                let Some(me) = weak.upgrade() else { return };
                if me.stop.load(Ordering::Relaxed) {
                    return;
                }
                let (found, alsa) = quiet_alsa(|| {
                    let dev = find_device(false, &device)?;
                    let config = config_of(&dev, buffer_ms)?;
                    Ok::<_, String>((dev, config))
                });
                match found {
                    Ok((dev, config)) => {
                        if !announced {
                            tracing::info!(device = %what, rate = config.rate.get(), channels = config.channels.get(),
                                format = %config.format, "sound output available");
                            announced = true;
                        }
                        let (mixer, source) = rodio::mixer::mixer(config.channels, config.rate);
                        me.rate.store(config.rate.get(), Ordering::Relaxed);
                        me.epoch.fetch_add(1, Ordering::Relaxed);
                        *me.mixer.lock().unwrap_or_else(|p| p.into_inner()) = Some(mixer);
                        me.health.set(true, what.clone());
                        let demand = me.demand.clone();
                        drop(me);
                        let source = Arc::new(Mutex::new(source));
                        let lost = serve(&weak, &dev, &config, source.clone(), &demand, keep_open);
                        // The sounds still in this device's mixer go now, with their holds on the
                        // stream, even when the closed stream's callback (which shares the mixer)
                        // is stuck in a close that never ends.
                        *source.lock().unwrap_or_else(|p| p.into_inner()) =
                            rodio::mixer::mixer(config.channels, config.rate).1;
                        let Some(me) = weak.upgrade() else { return };
                        let Some((why, worked)) = lost else { return };
                        *me.mixer.lock().unwrap_or_else(|p| p.into_inner()) = None;
                        me.health.set(false, format!("{what}: {why}"));
                        if worked {
                            // It played: look for it again at once.
                            tracing::warn!(device = %what, why, "sound output lost; using it again when it is back");
                            last_error.clear();
                            retry = RETRY_FIRST;
                            announced = false;
                        } else {
                            // Found, but its stream cannot be opened: as unavailable, with the pause.
                            if why != last_error {
                                tracing::warn!(device = %what, error = %why, "sound output unavailable");
                                last_error = why;
                                announced = false;
                            }
                            drop(me);
                            std::thread::sleep(retry);
                            retry = (retry * 2).min(RETRY_MAX);
                        }
                    }
                    Err(e) => {
                        if e != last_error {
                            tracing::warn!(device = %what, error = %e, alsa = %alsa, "sound output unavailable");
                            last_error = e.clone();
                            announced = false;
                        }
                        me.health.set(false, format!("{what}: {e}"));
                        drop(me);
                        std::thread::sleep(retry);
                        retry = (retry * 2).min(RETRY_MAX);
                    }
                }
            }
        });
        if let Err(e) = spawned {
            out.health.set(false, format!("cannot start the output thread: {e}"));
        }
        out
    }

    /// The mixer to play into, or why there is none. What is played into it must hold the
    /// stream ([`Output::hold`], [`Held`]).
    pub fn mixer(&self) -> Result<Mixer, String> {
        match self.mixer.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(m) => Ok(m.clone()),
            None => Err(self.health.get().detail),
        }
    }

    /// A claim on the device's stream: it is opened now if it is closed.
    pub fn hold(&self) -> Hold {
        Hold::new(&self.demand)
    }

    pub fn status(&self) -> Status {
        self.health.get()
    }

    /// The device's sample rate (48 kHz until it is open).
    pub fn rate(&self) -> u32 {
        self.rate.load(Ordering::Relaxed)
    }

    /// Which of the device's mixers the current one is.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    /// Whether the device's stream runs now, and how often it was opened.
    pub fn streaming(&self) -> (bool, u64) {
        (self.demand.running.load(Ordering::SeqCst), self.demand.opens.load(Ordering::Relaxed))
    }

    /// Waits until the device is there (tests, the self-test).
    pub fn wait_open(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.health.available() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.health.available()
    }

    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Relaxed);
        *self.mixer.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.demand.notify();
    }
}

/// The device's format, as the mixer and every stream of the device use it.
struct Config {
    stream: cpal::StreamConfig,
    format: cpal::SampleFormat,
    channels: NonZero<u16>,
    rate: NonZero<u32>,
}

fn config_of(dev: &cpal::Device, buffer_ms: u32) -> Result<Config, String> {
    let supported = dev.default_output_config().map_err(|e| e.to_string())?;
    let mut stream = supported.config();
    let rate = stream.sample_rate;
    // An interrupt must silence the old utterance within 50 ms of the call, device and server
    // latency included. Below ≈20 ms PulseAudio's ALSA plugin under load underruns and then
    // fails (EIO) until the stream is reopened.
    let frames = rate * buffer_ms.clamp(5, 200) / 1000;
    stream.buffer_size = match *supported.buffer_size() {
        cpal::SupportedBufferSize::Range { min, max } => cpal::BufferSize::Fixed(frames.clamp(min, max)),
        cpal::SupportedBufferSize::Unknown => cpal::BufferSize::Fixed(frames),
    };
    Ok(Config {
        channels: NonZero::new(stream.channels).ok_or("the device has no channels")?,
        rate: NonZero::new(rate).ok_or("the device has no sample rate")?,
        format: supported.sample_format(),
        stream,
    })
}

/// Serves one device until it is lost (`Some((why, whether a stream of it ever opened))`) or
/// the output stops (`None`): opens the stream when a sound holds it, closes it when everything
/// was heard, asks the device whether it is still there while no stream runs.
fn serve(
    weak: &Weak<Output>,
    dev: &cpal::Device,
    config: &Config,
    source: Arc<Mutex<MixerSource>>,
    demand: &Arc<Demand>,
    keep_open: bool,
) -> Option<(String, bool)> {
    // Opened once at the start whatever is held: a device that cannot play says so now. That
    // stream is closed at once unless a sound came meanwhile.
    let mut wanted = true;
    let mut checking = true;
    let mut worked = false;
    let mut stream: Option<Running> = None;
    let mut probed = Instant::now();
    loop {
        if weak.upgrade().is_none_or(|me| me.stop.load(Ordering::Relaxed)) {
            if let Some(r) = stream.take() {
                r.close();
            }
            demand.running.store(false, Ordering::SeqCst);
            return None;
        }
        if stream.is_none() && (wanted || demand.holds.load(Ordering::SeqCst) > 0) {
            wanted = false;
            let started = Instant::now();
            let (opened, alsa) = quiet_alsa(|| Running::open(dev, config, source.clone(), demand.clone()));
            match opened {
                Ok(r) => {
                    worked = true;
                    demand.running.store(true, Ordering::SeqCst);
                    demand.opens.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "sound output stream opened");
                    stream = Some(r);
                }
                Err(e) => {
                    tracing::debug!(error = %e, alsa = %alsa, "sound output stream failed to open");
                    return Some((format!("打开失败: {e}"), worked));
                }
            }
        }
        {
            let g = demand.lock.lock().unwrap_or_else(|p| p.into_inner());
            if stream.is_some() || demand.holds.load(Ordering::SeqCst) == 0 {
                let wait = if stream.is_some() { TICK } else { PROBE.saturating_sub(probed.elapsed()) };
                let _ = demand.wake.wait_timeout(g, wait);
            }
        }
        match stream.take() {
            Some(r) => {
                // Opening the device's configuration connects to it: it fails when the device
                // or its server is gone.
                if r.faults.settle(|| dev.default_output_config().is_ok()) {
                    demand.running.store(false, Ordering::SeqCst);
                    r.close();
                    return Some(("设备已断开".into(), worked));
                }
                if !keep_open && (checking || demand.idle()) {
                    demand.running.store(false, Ordering::SeqCst);
                    if demand.holds.load(Ordering::SeqCst) == 0 {
                        r.close();
                        checking = false;
                        probed = Instant::now();
                        continue;
                    }
                    demand.running.store(true, Ordering::SeqCst);
                }
                checking = false;
                stream = Some(r);
            }
            None if probed.elapsed() >= PROBE => {
                probed = Instant::now();
                let (now, _) = quiet_alsa(|| dev.default_output_config());
                match now {
                    Ok(c) if c.sample_rate() == config.rate.get() && c.channels() == config.channels.get() => {}
                    Ok(c) => {
                        return Some((
                            format!("设备格式已改变 ({} Hz, {} 声道)", c.sample_rate(), c.channels()),
                            worked,
                        ))
                    }
                    Err(e) => return Some((format!("设备已断开: {e}"), worked)),
                }
            }
            None => {}
        }
    }
}

/// An open stream of the device, pulling from the mixer.
struct Running {
    stream: cpal::Stream,
    faults: Arc<Faults>,
    /// Cleared before the stream is closed: a callback still running while it closes plays
    /// silence and leaves the mixer to the next stream.
    live: Arc<AtomicBool>,
}

impl Running {
    fn open(
        dev: &cpal::Device,
        config: &Config,
        source: Arc<Mutex<MixerSource>>,
        demand: Arc<Demand>,
    ) -> Result<Running, String> {
        let faults = Arc::new(Faults::default());
        let live = Arc::new(AtomicBool::new(true));
        let pull = Pull {
            source,
            demand,
            live: live.clone(),
            channels: usize::from(config.channels.get()),
            rate: config.rate.get(),
        };
        let f = faults.clone();
        let on_error = move |e: cpal::Error| f.note(&e);
        macro_rules! build {
            ($($format:ident => $t:ty),+) => {
                match config.format {
                    $(cpal::SampleFormat::$format => dev.build_output_stream::<$t, _, _>(
                        config.stream.clone(),
                        move |data: &mut [$t], info: &cpal::OutputCallbackInfo| pull.fill(data, info),
                        on_error,
                        None,
                    ),)+
                    other => return Err(format!("不支持的采样格式 {other}")),
                }
            };
        }
        let stream = build!(F32 => f32, F64 => f64, I16 => i16, I32 => i32, I8 => i8, U8 => u8, U16 => u16, U32 => u32)
            .map_err(|e| e.to_string())?;
        stream.play().map_err(|e| e.to_string())?;
        Ok(Running { stream, faults, live })
    }

    /// Closes the stream on a thread of its own (see [`drop_aside`]).
    fn close(self) {
        self.live.store(false, Ordering::SeqCst);
        drop_aside(self.stream, "sound output stream");
    }
}

/// The stream's callback: the mixer's samples in the device's format, noting when the speaker
/// will have played the last loud one.
struct Pull {
    source: Arc<Mutex<MixerSource>>,
    demand: Arc<Demand>,
    live: Arc<AtomicBool>,
    channels: usize,
    rate: u32,
}

impl Pull {
    fn fill<T: cpal::SizedSample + cpal::FromSample<f32>>(&self, data: &mut [T], info: &cpal::OutputCallbackInfo) {
        // Real-time thread: no waiting for a lock, no allocation.
        let source = if self.live.load(Ordering::Relaxed) {
            match self.source.try_lock() {
                Ok(g) => Some(g),
                Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => None,
            }
        } else {
            None
        };
        let Some(mut source) = source else {
            data.fill(T::EQUILIBRIUM);
            return;
        };
        let mut loud = false;
        for d in data.iter_mut() {
            let v = source.next().unwrap_or(0.0);
            loud |= v != 0.0;
            *d = T::from_sample(v);
        }
        drop(source);
        if loud {
            let ts = info.timestamp();
            let frames = (data.len() / self.channels.max(1)) as u64;
            let ahead = ts.playback.duration_since(ts.callback).as_millis() as u64
                + frames * 1000 / u64::from(self.rate.max(1));
            self.demand.audible_until.fetch_max(self.demand.now_ms() + ahead, Ordering::Relaxed);
        }
    }
}

/// What a stream's error callback saw, for the thread that owns the stream.
///
/// PulseAudio's ALSA plugin, after an underrun on a busy machine, answers every call with EIO
/// for a while as it sets its stream up again, and then plays on; a device or server that is
/// gone looks the same from inside the stream. So errors only make the stream *suspect*; the
/// owner then asks the device itself ([`Faults::settle`]).
#[derive(Default)]
pub(crate) struct Faults {
    /// A kind that means the device is gone.
    fatal: AtomicBool,
    /// Milliseconds since `base` of the first and the latest error of the current run.
    first: AtomicU64,
    last: AtomicU64,
    base: std::sync::OnceLock<std::time::Instant>,
}

impl Faults {
    fn now_ms(&self) -> u64 {
        // Never 0, so that 0 can mean "none".
        self.base.get_or_init(std::time::Instant::now).elapsed().as_millis() as u64 + 1
    }

    /// Notes an error (from the stream's callback).
    pub(crate) fn note(&self, e: &cpal::Error) {
        use cpal::ErrorKind as K;
        match e.kind() {
            K::Xrun => {}
            K::DeviceNotAvailable | K::StreamInvalidated | K::DeviceChanged | K::HostUnavailable => {
                tracing::debug!(error = %e, "audio stream: device gone");
                self.fatal.store(true, Ordering::Relaxed);
            }
            _ => {
                let now = self.now_ms();
                let _ = self.first.compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
                self.last.store(now, Ordering::Relaxed);
            }
        }
    }

    /// Whether the stream must be given up: a fatal kind, errors that go on for
    /// `PERSIST`, or errors while the device cannot be opened (`probe` fails).
    pub(crate) fn settle(&self, probe: impl FnOnce() -> bool) -> bool {
        if self.fatal.load(Ordering::Relaxed) {
            return true;
        }
        let first = self.first.load(Ordering::Relaxed);
        if first == 0 {
            return false;
        }
        let (now, last) = (self.now_ms(), self.last.load(Ordering::Relaxed));
        if now.saturating_sub(last) > QUIET_MS {
            // The run of errors is over: the stream recovered by itself.
            self.first.store(0, Ordering::Relaxed);
            return false;
        }
        last.saturating_sub(first) > PERSIST_MS || !probe()
    }
}

/// Errors followed by this much quiet were a passing trouble …
const QUIET_MS: u64 = 300;
/// … errors going on this long are not.
const PERSIST_MS: u64 = 3000;

/// Closes a device stream on a thread of its own: a driver whose server or device vanished
/// can block in its close for good, and the thread that reopens the device must not wait for it.
pub(crate) fn drop_aside<T: Send + 'static>(stream: T, what: &'static str) {
    let spawned = std::thread::Builder::new().name("booth-audio-close".into()).spawn(move || {
        let started = std::time::Instant::now();
        drop(stream);
        tracing::debug!(what, ms = started.elapsed().as_millis() as u64, "closed");
    });
    if let Err(e) = spawned {
        tracing::warn!(what, error = %e, "cannot close a stream aside; closed here");
    }
}
