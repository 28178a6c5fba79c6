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

/// How often a missing device is looked for again: soon after it went away, then less often
/// (each failed attempt makes ALSA print its complaint on stderr).
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// An audio device as `booth doctor` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceEntry {
    pub name: String,
    pub input: bool,
    pub output: bool,
    pub default_input: bool,
    pub default_output: bool,
}

/// Every device of the default host (ALSA on Linux, WASAPI on Windows).
pub fn devices() -> Vec<DeviceEntry> {
    let host = cpal::default_host();
    let name = |d: &cpal::Device| d.description().map(|x| x.name().to_string()).unwrap_or_default();
    let def_in = host.default_input_device().map(|d| name(&d));
    let def_out = host.default_output_device().map(|d| name(&d));
    let Ok(all) = host.devices() else { return Vec::new() };
    all.map(|d| {
        let n = name(&d);
        DeviceEntry {
            input: d.supports_input(),
            output: d.supports_output(),
            default_input: def_in.as_deref() == Some(n.as_str()),
            default_output: def_out.as_deref() == Some(n.as_str()),
            name: n,
        }
    })
    .collect()
}

/// Finds a device whose name contains `pattern` (any case); the default one for "".
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
        if fits && name.to_lowercase().contains(&want) {
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
                let broken = Arc::new(AtomicBool::new(false));
                match open(&device, buffer_ms, broken.clone()) {
                    Ok(sink) => {
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
                            if broken.load(Ordering::Relaxed) {
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
                            tracing::warn!(device = %what, error = %e, "sound output unavailable");
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

/// Tells a stream's passing troubles from a device that is gone. The driver reports an
/// underrun (and a failed recovery from one) now and then on a loaded machine and plays on;
/// a device that vanished reports that, or keeps failing.
#[derive(Default)]
pub(crate) struct Faults {
    recent: std::collections::VecDeque<std::time::Instant>,
}

impl Faults {
    /// Notes an error; true when the stream should be given up.
    pub(crate) fn fatal(&mut self, e: &cpal::Error) -> bool {
        use cpal::ErrorKind as K;
        match e.kind() {
            K::Xrun => false,
            K::DeviceNotAvailable | K::StreamInvalidated | K::DeviceChanged | K::HostUnavailable => {
                tracing::debug!(error = %e, "audio stream: device gone");
                true
            }
            _ => {
                let now = std::time::Instant::now();
                self.recent.push_back(now);
                while self.recent.front().is_some_and(|t| now - *t > Duration::from_secs(1)) {
                    self.recent.pop_front();
                }
                tracing::debug!(error = %e, count = self.recent.len(), "audio stream error");
                self.recent.len() >= 5
            }
        }
    }
}

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

fn open(device: &str, buffer_ms: u32, broken: Arc<AtomicBool>) -> Result<MixerDeviceSink, String> {
    let dev = find_device(false, device)?;
    let rate = dev.default_output_config().map(|c| c.sample_rate()).unwrap_or(48_000);
    let builder = DeviceSinkBuilder::from_device(dev).map_err(|e| e.to_string())?;
    // rodio's default is 50 ms; an interrupt must silence the old utterance within 50 ms of
    // the call, device and server latency included. Below ≈20 ms PulseAudio's ALSA plugin
    // under load underruns and then fails (EIO) until the stream is reopened.
    let mut sink = builder
        .with_buffer_size(cpal::BufferSize::Fixed(rate * buffer_ms.clamp(5, 200) / 1000))
        .with_error_callback({
            let mut faults = Faults::default();
            move |e: cpal::Error| {
                if faults.fatal(&e) {
                    broken.store(true, Ordering::Relaxed);
                }
            }
        })
        .open_stream()
        .map_err(|e| e.to_string())?;
    sink.log_on_drop(false);
    Ok(sink)
}
