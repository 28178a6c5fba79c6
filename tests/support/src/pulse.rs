//! A private PulseAudio server with null sinks: sound tests without a sound card.
//!
//! [`Pulse::start`] runs `pulseaudio` in its own runtime directory with two null sinks:
//!
//! | name | what it is |
//! | --- | --- |
//! | `spk` (48 kHz stereo, default sink) | the speaker: what Booth plays lands here; [`Pulse::record`] captures its monitor |
//! | `micfeed` (48 kHz mono) | what the microphone hears: [`Pulse::play_into_mic`] plays into it |
//! | `mic` (default source) | a remap of `micfeed.monitor`: the microphone Booth opens |
//!
//! Booth needs nothing special: ALSA's `default` device goes to PulseAudio through the pulse
//! ALSA plugin when a server is reachable, and [`Pulse::env`] says where it is
//! (`PULSE_SERVER`, `XDG_RUNTIME_DIR`); [`Pulse::export_env`] sets that for this process.
//! A null sink runs at 2 s latency unless a low-latency stream plays into it, so one silent
//! `pacat --latency-msec=10` stream per sink stays open.
//!
//! [`Pulse::stop`] is "the sound device went away" to Booth, [`Pulse::restart`] is its return.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The sample rate of both sinks and of recordings.
pub const RATE: u32 = 48_000;

pub struct Pulse {
    dir: PathBuf,
    daemon: Option<Child>,
    keepalive: Vec<Child>,
}

/// Starts a helper that ends with the test process. `PR_SET_PDEATHSIG` fires when the
/// *thread* that forked the child ends, and tests share one server across their threads, so
/// every child is forked by one thread that lives as long as the process.
fn start_child(mut cmd: Command) -> std::io::Result<Child> {
    type Job = (Command, mpsc::Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    // SAFETY: prctl is async-signal-safe; it asks the kernel to SIGTERM the helper when the
    // spawner thread (that is, the test process) ends.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("booth-testkit-spawner".into())
            .spawn(move || {
                for (mut cmd, back) in rx {
                    let _ = back.send(cmd.spawn());
                }
            })
            .expect("spawner thread");
        Mutex::new(tx)
    });
    let (back, result) = mpsc::channel();
    spawner
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send((cmd, back))
        .map_err(|_| std::io::Error::other("spawner gone"))?;
    result.recv().map_err(|_| std::io::Error::other("spawner gone"))?
}

impl Pulse {
    /// Starts the server and waits until both sinks run at low latency (≈2 s).
    pub fn start() -> Pulse {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "booth-pulse-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("pulse dir");
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).expect("chmod");
        let script = "load-module module-native-protocol-unix auth-anonymous=1\n\
             load-module module-null-sink sink_name=spk rate=48000 channels=2\n\
             load-module module-null-sink sink_name=micfeed rate=48000 channels=1\n\
             load-module module-remap-source source_name=mic master=micfeed.monitor\n\
             set-default-sink spk\n\
             set-default-source mic\n";
        std::fs::write(dir.join("booth.pa"), script).expect("pulse script");
        let mut p = Pulse { dir, daemon: None, keepalive: Vec::new() };
        p.spawn();
        p
    }

    /// The runtime directory (`XDG_RUNTIME_DIR` for clients).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What a client process needs in its environment to reach this server.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("XDG_RUNTIME_DIR".into(), self.dir.display().to_string()),
            ("PULSE_SERVER".into(), format!("unix:{}", self.dir.join("pulse/native").display())),
            ("PULSE_RUNTIME_PATH".into(), self.dir.join("pulse").display().to_string()),
            // Clients keep their cookie here rather than in the account's ~/.config/pulse.
            ("PULSE_COOKIE".into(), self.dir.join("cookie").display().to_string()),
        ]
    }

    /// Points this process's own sound (cpal, rodio) at this server. Call before the first
    /// audio device is opened.
    pub fn export_env(&self) {
        for (k, v) in self.env() {
            std::env::set_var(k, v);
        }
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.envs(self.env()).env("HOME", &self.dir).stdin(Stdio::null());
        c
    }

    fn spawn(&mut self) {
        assert!(self.daemon.is_none(), "pulseaudio is already running");
        let log = std::fs::File::create(self.dir.join("pulseaudio.log")).expect("log");
        let mut cmd = self.cmd("pulseaudio");
        cmd.args(["-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no", "--disallow-exit", "-F"])
            .arg(self.dir.join("booth.pa"))
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log));
        let child = start_child(cmd).unwrap_or_else(|e| {
            panic!("cannot start pulseaudio (apt-get install pulseaudio pulseaudio-utils libasound2-plugins): {e}")
        });
        self.daemon = Some(child);
        let socket = self.dir.join("pulse/native");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let up = socket.exists()
                && self
                    .cmd("pactl")
                    .arg("info")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
            if up {
                break;
            }
            if let Some(st) = self.daemon.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                self.daemon = None;
                panic!(
                    "pulseaudio exited ({st}):\n{}",
                    std::fs::read_to_string(self.dir.join("pulseaudio.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "pulseaudio not ready within 15 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        for (sink, channels) in [("spk", "2"), ("micfeed", "1")] {
            let mut c = self.cmd("pacat");
            c.args(["-p", "-d", sink, "--latency-msec=10", "--rate=48000", "--format=s16le"])
                .arg(format!("--channels={channels}"))
                .arg("/dev/zero")
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            self.keepalive.push(start_child(c).expect("pacat keep-alive"));
        }
        // The null sinks drop to low latency once the keep-alive streams have run a moment.
        std::thread::sleep(Duration::from_millis(2000));
    }

    /// Stops the server (SIGTERM, then waits): every client's stream breaks.
    pub fn stop(&mut self) {
        for mut k in self.keepalive.drain(..) {
            let _ = k.kill();
            let _ = k.wait();
        }
        if let Some(mut d) = self.daemon.take() {
            // SAFETY: kill(2) on a process we started.
            unsafe {
                libc::kill(d.id() as i32, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while d.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = d.kill();
                    let _ = d.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Whether the server runs (not after [`Pulse::stop`]).
    pub fn is_running(&self) -> bool {
        self.daemon.is_some()
    }

    /// Starts the server again with the same sinks and runtime directory.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Records what is played to the speaker (mono, 48 kHz), timing each read on arrival.
    pub fn record(&self) -> Recorder {
        let mut c = self.cmd("parec");
        c.args(["-d", "spk.monitor", "--latency-msec=5", "--rate=48000", "--channels=1", "--format=s16le", "--raw"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = start_child(c).expect("parec");
        let mut out = child.stdout.take().expect("parec stdout");
        let data: Arc<Mutex<Recording>> = Arc::default();
        let d2 = data.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut odd: Option<u8> = None;
            loop {
                let n = match out.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let now = Instant::now();
                let mut bytes: Vec<u8> = odd.take().into_iter().collect();
                bytes.extend_from_slice(&buf[..n]);
                if bytes.len() % 2 == 1 {
                    odd = bytes.pop();
                }
                let mut r = d2.lock().unwrap_or_else(|p| p.into_inner());
                r.samples.extend(bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
                let len = r.samples.len();
                r.marks.push((len, now));
            }
        });
        Recorder { child, thread: Some(thread), data }
    }

    /// Plays mono samples into the microphone (through `micfeed`) in real time; returns the
    /// player process (it ends when the samples are played).
    pub fn play_into_mic(&self, samples: &[i16], rate: u32) -> Child {
        // A generous buffer: an underrun here would put a gap into what the microphone hears.
        self.play("micfeed", samples, rate, 100).expect("pacat")
    }

    /// Plays mono samples to the speaker (`spk`, whose monitor a recording hears) with a
    /// short buffer, as another program on the terminal would; returns the player process.
    pub fn play_into_speaker(&self, samples: &[i16], rate: u32) -> std::io::Result<Child> {
        self.play("spk", samples, rate, 10)
    }

    fn play(&self, sink: &str, samples: &[i16], rate: u32, latency_ms: u32) -> std::io::Result<Child> {
        let mut c = self.cmd("pacat");
        c.args(["-p", "-d", sink, "--channels=1", "--format=s16le", "--raw"])
            .arg(format!("--latency-msec={latency_ms}"))
            .arg(format!("--rate={rate}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = start_child(c)?;
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut stdin = child.stdin.take().ok_or_else(|| std::io::Error::other("pacat has no stdin"))?;
        std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
        Ok(child)
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What [`Pulse::record`] heard so far: samples and, for each read, how many samples had
/// arrived and when.
#[derive(Default, Clone)]
pub struct Recording {
    pub samples: Vec<i16>,
    pub marks: Vec<(usize, Instant)>,
}

impl Recording {
    /// When sample `i` was recorded, from the arrival times of the reads (a read arrives
    /// after its last sample was captured; samples before it are a sample period apart).
    pub fn time_of(&self, i: usize) -> Option<Instant> {
        let period = Duration::from_secs_f64(1.0 / f64::from(RATE));
        self.marks.iter().filter(|(n, _)| *n > i).map(|(n, t)| *t - period * (*n - i) as u32).min()
    }

    /// The index of the first sample recorded at or after `t`.
    pub fn index_at(&self, t: Instant) -> usize {
        let (mut lo, mut hi) = (0usize, self.samples.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.time_of(mid) {
                Some(tm) if tm < t => lo = mid + 1,
                _ => hi = mid,
            }
        }
        lo
    }
}

pub struct Recorder {
    child: Child,
    thread: Option<std::thread::JoinHandle<()>>,
    data: Arc<Mutex<Recording>>,
}

impl Recorder {
    pub fn snapshot(&self) -> Recording {
        self.data.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until `pred` holds for the recording, up to `within`.
    pub fn wait_for(&self, within: Duration, pred: impl Fn(&Recording) -> bool) -> Option<Recording> {
        let deadline = Instant::now() + within;
        loop {
            let r = self.snapshot();
            if pred(&r) {
                return Some(r);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn stop(mut self) -> Recording {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.snapshot()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Signal analysis for sound tests.
pub mod analysis {
    /// Goertzel power of `freq` in `x` (sample rate `rate`), normalised by length.
    pub fn power(x: &[i16], rate: u32, freq: f64) -> f64 {
        if x.is_empty() {
            return 0.0;
        }
        let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
        let coeff = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &v in x {
            let s = f64::from(v) / 32768.0 + coeff * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        let p = s1 * s1 + s2 * s2 - coeff * s1 * s2;
        p / (x.len() as f64 * x.len() as f64)
    }

    /// RMS of a slice, 0.0–1.0.
    pub fn rms(x: &[i16]) -> f64 {
        if x.is_empty() {
            return 0.0;
        }
        (x.iter().map(|&v| (f64::from(v) / 32768.0).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    /// Sample ranges `[start, end)` where the 2 ms RMS exceeds `threshold`, joining gaps
    /// shorter than `join` samples.
    pub fn segments(x: &[i16], rate: u32, threshold: f64, join: usize) -> Vec<(usize, usize)> {
        let w = (rate / 500) as usize;
        let mut out: Vec<(usize, usize)> = Vec::new();
        let mut i = 0;
        while i + w <= x.len() {
            if rms(&x[i..i + w]) > threshold {
                // Refine to the first and last loud samples of the window.
                let first =
                    x[i..i + w].iter().position(|v| f64::from(v.unsigned_abs()) / 32768.0 > threshold).unwrap_or(0);
                let last = x[i..i + w]
                    .iter()
                    .rposition(|v| f64::from(v.unsigned_abs()) / 32768.0 > threshold)
                    .unwrap_or(w - 1);
                let (s, e) = (i + first, i + last + 1);
                match out.last_mut() {
                    Some(seg) if s <= seg.1 + join => seg.1 = e,
                    _ => out.push((s, e)),
                }
            }
            i += w;
        }
        out
    }

    /// Frequency from zero crossings (a pure tone).
    pub fn zero_crossing_hz(x: &[i16], rate: u32) -> f64 {
        let crossings: Vec<usize> = (1..x.len()).filter(|&i| x[i - 1] < 0 && x[i] >= 0).collect();
        if crossings.len() < 2 {
            return 0.0;
        }
        let span = (crossings[crossings.len() - 1] - crossings[0]) as f64;
        (crossings.len() - 1) as f64 * f64::from(rate) / span
    }

    /// The best normalised cross-correlation of `b` against `a` over lags `0..max_lag` (b
    /// delayed), with that lag.
    pub fn best_correlation(a: &[f64], b: &[f64], max_lag: usize) -> (f64, usize) {
        let mut best = (f64::MIN, 0);
        for lag in 0..max_lag.min(b.len()) {
            let n = a.len().min(b.len() - lag);
            if n < 100 {
                break;
            }
            let (x, y) = (&a[..n], &b[lag..lag + n]);
            let (mx, my) = (x.iter().sum::<f64>() / n as f64, y.iter().sum::<f64>() / n as f64);
            let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
            for i in 0..n {
                let (dx, dy) = (x[i] - mx, y[i] - my);
                sxy += dx * dy;
                sxx += dx * dx;
                syy += dy * dy;
            }
            let c = sxy / (sxx.sqrt() * syy.sqrt()).max(1e-12);
            if c > best.0 {
                best = (c, lag);
            }
        }
        best
    }
}
