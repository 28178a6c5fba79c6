//! The sound output: one device, opened by name (or the system's default), with a mixer that
//! speech and the buzzer play into. A thread owns the device stream; when the device fails
//! (unplugged, the sound server gone) it is closed, calls answer `DEVICE_UNAVAILABLE`, and it
//! is opened again as soon as it is back.

use crate::status::{Health, Status};
use cpal::traits::{DeviceTrait, HostTrait};
use rodio::mixer::Mixer;
use rodio::{DeviceSinkBuilder, MixerDeviceSink};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// Counts openings of the device: players made on an older one are replaced.
    epoch: AtomicU64,
    /// The open device's sample rate: what is played is made or converted at this rate.
    rate: AtomicU32,
}

impl Output {
    /// Opens the device named `device` ("" = default) on a thread of its own and keeps it open.
    /// `buffer_ms` is the device buffer: what is already on its way to the speaker when
    /// playback stops (an interrupt is heard this much later, at least).
    pub fn start(device: String, buffer_ms: u32) -> Arc<Output> {
        let what = if device.is_empty() { "默认输出设备".to_string() } else { device.clone() };
        let out = Arc::new(Output {
            mixer: Mutex::new(None),
            health: Health::new(Status::new("output", false, format!("{what}: 尚未打开"))),
            stop: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            rate: AtomicU32::new(48_000),
        });
        let weak = Arc::downgrade(&out);
        let spawned = std::thread::Builder::new().name("booth-audio-out".into()).spawn(move || {
            let mut last_error = String::new();
            let mut retry = RETRY_FIRST;
            loop {
                let Some(me) = weak.upgrade() else { return };
                if me.stop.load(Ordering::Relaxed) {
                    return;
                }
                let faults = Arc::new(Faults::default());
                let (opened, alsa) = quiet_alsa(|| open(&device, buffer_ms, faults.clone()));
                match opened {
                    Ok((sink, dev)) => {
                        tracing::info!(device = %what, rate = sink.config().sample_rate().get(), "sound output open");
                        last_error.clear();
                        retry = RETRY_FIRST;
                        me.rate.store(sink.config().sample_rate().get(), Ordering::Relaxed);
                        me.epoch.fetch_add(1, Ordering::Relaxed);
                        *me.mixer.lock().unwrap_or_else(|p| p.into_inner()) = Some(sink.mixer().clone());
                        me.health.set(true, what.clone());
                        drop(me);
                        loop {
                            std::thread::sleep(Duration::from_millis(50));
                            let Some(me) = weak.upgrade() else { return };
                            if me.stop.load(Ordering::Relaxed) {
                                return;
                            }
                            // Opening the device's configuration connects to it: it fails when
                            // the device or its server is gone.
                            if faults.settle(|| dev.default_output_config().is_ok()) {
                                *me.mixer.lock().unwrap_or_else(|p| p.into_inner()) = None;
                                me.health.set(false, format!("{what}: 设备已断开"));
                                tracing::warn!(device = %what, "sound output lost; reopening when it is back");
                                break;
                            }
                        }
                        drop_aside(sink, "sound output stream");
                    }
                    Err(e) => {
                        if e != last_error {
                            tracing::warn!(device = %what, error = %e, alsa = %alsa, "sound output unavailable");
                            last_error = e.clone();
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

    /// The mixer to play into, or why there is none.
    pub fn mixer(&self) -> Result<Mixer, String> {
        match self.mixer.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(m) => Ok(m.clone()),
            None => Err(self.health.get().detail),
        }
    }

    pub fn status(&self) -> Status {
        self.health.get()
    }

    /// The device's sample rate (48 kHz until it is open).
    pub fn rate(&self) -> u32 {
        self.rate.load(Ordering::Relaxed)
    }

    /// Which opening of the device the current mixer belongs to.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }

    /// Waits until the device is open (tests, the self-test).
    pub fn wait_open(&self, within: Duration) -> bool {
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
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

fn open(device: &str, buffer_ms: u32, faults: Arc<Faults>) -> Result<(MixerDeviceSink, cpal::Device), String> {
    let dev = find_device(false, device)?;
    let rate = dev.default_output_config().map(|c| c.sample_rate()).unwrap_or(48_000);
    let builder = DeviceSinkBuilder::from_device(dev.clone()).map_err(|e| e.to_string())?;
    // rodio's default is 50 ms; an interrupt must silence the old utterance within 50 ms of
    // the call, device and server latency included. Below ≈20 ms PulseAudio's ALSA plugin
    // under load underruns and then fails (EIO) until the stream is reopened.
    let mut sink = builder
        .with_buffer_size(cpal::BufferSize::Fixed(rate * buffer_ms.clamp(5, 200) / 1000))
        .with_error_callback(move |e: cpal::Error| faults.note(&e))
        .open_stream()
        .map_err(|e| e.to_string())?;
    sink.log_on_drop(false);
    Ok((sink, dev))
}
