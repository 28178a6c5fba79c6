//! A supervised serial link shared by Booth's serial devices (ID card SAM module, presence
//! sensor, POS port, keypad): a thread opens the port, runs the device's own conversation on it,
//! reports availability, and reopens the port after an unplug, so that a device works again as
//! soon as it is back.
//!
//! Not for: what is said on the line (each device crate owns its protocol), or the Tauri app.

use serde::Serialize;
use serialport::SerialPort;
use std::io::{ErrorKind, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long the supervisor waits before reopening a port that failed.
pub const REOPEN_EVERY: Duration = Duration::from_millis(500);

/// A device's backend and whether it works, as `/health` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub backend: &'static str,
    pub available: bool,
    pub detail: String,
}

type Hook = Box<dyn Fn(&Status) + Send + Sync>;

/// A device's [`Status`], with a hook run on every change (to log and to publish it).
pub struct Health {
    status: Mutex<Status>,
    on_change: Hook,
}

impl Health {
    pub fn new(status: Status, on_change: impl Fn(&Status) + Send + Sync + 'static) -> Arc<Health> {
        Arc::new(Health { status: Mutex::new(status), on_change: Box::new(on_change) })
    }

    pub fn get(&self) -> Status {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn available(&self) -> bool {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).available
    }

    /// Sets availability and detail; runs the hook (outside the lock) when either changed.
    pub fn set(&self, available: bool, detail: impl Into<String>) {
        let detail = detail.into();
        let changed = {
            let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
            if s.available == available && s.detail == detail {
                None
            } else {
                s.available = available;
                s.detail = detail;
                Some(s.clone())
            }
        };
        if let Some(s) = changed {
            if s.available {
                tracing::info!(backend = s.backend, detail = %s.detail, "device available");
            } else {
                tracing::warn!(backend = s.backend, detail = %s.detail, "device unavailable");
            }
            (self.on_change)(&s);
        }
    }
}

/// Where and how fast to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub path: String,
    pub baud: u32,
    /// How long one read may block; the conversation sees `TimedOut` after it.
    pub read_timeout: Duration,
}

impl PortSpec {
    pub fn new(path: impl Into<String>, baud: u32) -> PortSpec {
        PortSpec { path: path.into(), baud, read_timeout: Duration::from_millis(200) }
    }
}

/// Stops a supervisor thread (also when dropped).
#[derive(Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed)
    }
    pub fn stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Runs `conversation` on the port for as long as it works, reopening it after each failure,
/// until `stop`. The conversation returns why it ended (an unplug, an I/O error, "stopped");
/// that reason, prefixed with the port, becomes the status detail.
pub fn supervise<F>(name: &str, spec: PortSpec, health: Arc<Health>, stop: Stop, mut conversation: F)
where
    F: FnMut(&mut Box<dyn SerialPort>, &Stop) -> String + Send + 'static,
{
    let thread = format!("{name} {}", spec.path);
    let spawned = std::thread::Builder::new().name(thread).spawn(move || {
        while !stop.stopped() {
            match serialport::new(&spec.path, spec.baud).timeout(spec.read_timeout).open() {
                Ok(mut port) => {
                    health.set(true, format!("{} @ {}", spec.path, spec.baud));
                    let reason = conversation(&mut port, &stop);
                    if stop.stopped() {
                        break;
                    }
                    health.set(false, format!("{}: {reason}", spec.path));
                }
                Err(e) => health.set(false, format!("{}: {e}", spec.path)),
            }
            sleep_unless_stopped(REOPEN_EVERY, &stop);
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the {name} thread");
    }
}

/// Sleeps in short steps so that a stop is seen quickly.
pub fn sleep_unless_stopped(total: Duration, stop: &Stop) {
    let step = Duration::from_millis(20);
    let mut left = total;
    while !left.is_zero() && !stop.stopped() {
        let d = left.min(step);
        std::thread::sleep(d);
        left -= d;
    }
}

/// Whether a read error only means "nothing yet".
pub fn is_quiet(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::Interrupted | ErrorKind::WouldBlock)
}

/// Splits what a device sends into lines (CR, LF or CRLF end one; empty lines are skipped;
/// a line longer than `max` is dropped whole).
pub struct Lines {
    line: Vec<u8>,
    overflow: bool,
    max: usize,
}

impl Lines {
    pub fn new(max: usize) -> Lines {
        Lines { line: Vec::with_capacity(64), overflow: false, max }
    }

    /// Feeds bytes; calls `each` with every complete, non-blank line (trimmed).
    pub fn feed(&mut self, bytes: &[u8], mut each: impl FnMut(&str)) {
        for &b in bytes {
            if b == b'\r' || b == b'\n' {
                if !self.overflow && !self.line.is_empty() {
                    let text = String::from_utf8_lossy(&self.line);
                    let text = text.trim();
                    if !text.is_empty() {
                        each(text);
                    }
                } else if self.overflow {
                    tracing::warn!("serial line longer than {} bytes dropped", self.max);
                }
                self.line.clear();
                self.overflow = false;
            } else if self.line.len() >= self.max {
                self.overflow = true;
            } else {
                self.line.push(b);
            }
        }
    }

    /// Forgets a partial line (after an unplug, so it is not glued to what comes next).
    pub fn reset(&mut self) {
        self.line.clear();
        self.overflow = false;
    }
}

/// Reads lines until the device fails or `stop`; returns why it ended. `idle` runs after every
/// read timeout and after every chunk (for devices that must be asked periodically); an error
/// it returns ends the conversation like a read error.
pub fn read_lines(
    port: &mut dyn Read,
    stop: &Stop,
    max: usize,
    mut each: impl FnMut(&str),
    mut idle: impl FnMut() -> Result<(), String>,
) -> String {
    let mut lines = Lines::new(max);
    let mut buf = [0u8; 512];
    while !stop.stopped() {
        match port.read(&mut buf) {
            Ok(0) => return "设备已断开".to_string(),
            Ok(n) => lines.feed(&buf[..n], &mut each),
            Err(e) if is_quiet(&e) => {}
            Err(e) => return e.to_string(),
        }
        if let Err(reason) = idle() {
            return reason;
        }
    }
    "stopped".to_string()
}

/// `\r`, `\n`, `\t`, `\\` and `\xNN` in byte strings an operator writes in booth.toml
/// (serial commands and queries); an unknown escape is kept as written.
pub fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'x' if i + 3 < b.len() => {
                    match std::str::from_utf8(&b[i + 2..i + 4]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(v) => {
                            out.push(v);
                            i += 4;
                            continue;
                        }
                        None => out.extend_from_slice(&b[i..i + 2]),
                    }
                }
                _ => out.extend_from_slice(&b[i..i + 2]),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_on_any_ending_and_drop_overlong_ones() {
        let mut got = Vec::new();
        let mut l = Lines::new(8);
        l.feed(b"a\rb\nc\r\n\r\n  \nlong-line-here\nok", |s| got.push(s.to_string()));
        l.feed(b"\n", |s| got.push(s.to_string()));
        assert_eq!(got, ["a", "b", "c", "ok"]);
        l.feed(b"partial", |_| panic!("no line yet"));
        l.reset();
        l.feed(b"x\n", |s| got.push(s.to_string()));
        assert_eq!(got.last().map(String::as_str), Some("x"));
    }

    #[test]
    fn health_runs_the_hook_on_changes_only() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let h = Health::new(Status { backend: "serial", available: false, detail: "x".into() }, move |s| {
            s2.lock().unwrap().push(s.available)
        });
        h.set(false, "x");
        h.set(true, "y");
        h.set(true, "y");
        h.set(false, "z");
        assert_eq!(*seen.lock().unwrap(), [true, false]);
        assert_eq!(h.get().detail, "z");
    }
}
