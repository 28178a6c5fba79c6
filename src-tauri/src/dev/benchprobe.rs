//! `booth run --bench` (a hidden flag for `scripts/bench`): what the benchmark driver needs from
//! a running Booth. Only the command line turns it on, and it reads only stdin: no page can
//! reach it. It adds one bridge observer and one thread, nothing on the call path itself.
//!
//! Commands, one per stdin line (the bare Tauri baseline in `bench/raw` reads the same):
//! - `stamps`: prints `BENCH-STAMPS {"calls": [ns, …], "emits": [ns, …]}` on stdout: when each
//!   call reached the bridge and each `emit` code was published since the previous `stamps`
//!   (nanoseconds since start). A page's sequential calls arrive one round trip apart, and a
//!   page that answers an event with a call shows emit → listener → back, both timed far finer
//!   than WebKitGTK's 1 ms page clock
//! - `send TEXT`: publishes TEXT as a scanner code (the bench page listens with initQRListener)
//! - `emit N BYTES INTERVAL_US`: publishes N codes `ev:<i>:<µs since the epoch>:<padding>`, the
//!   padding as long as BYTES bytes in base64 (3,200 for a PCM chunk), one every INTERVAL_US
//!   (0: as fast as the bridge takes them)

use booth_bridge::{Bridge, Dialect, Observer, SessionId};
use serde_json::json;
use std::io::{BufRead, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Stamps {
    start: Instant,
    calls: Mutex<Vec<u64>>,
    emits: Mutex<Vec<u64>>,
}

impl Stamps {
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
}

impl Observer for Stamps {
    fn call_started(&self, _session: SessionId, _dialect: Dialect, _name: &str) {
        let ns = self.now();
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).push(ns);
    }

    fn sees_calls(&self) -> bool {
        false
    }
}

fn take(v: &Mutex<Vec<u64>>) -> Vec<u64> {
    std::mem::take(&mut *v.lock().unwrap_or_else(|p| p.into_inner()))
}

/// Base64 text as long as `bytes` bytes encode to.
fn padding(bytes: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..bytes.div_ceil(3) * 4).map(|i| ALPHABET[(i * 7) % 64] as char).collect()
}

fn now_us() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros())
}

/// Starts the probe: the observer on `bridge`, and a thread serving stdin until it closes.
pub fn start(bridge: &Bridge) {
    let stamps = std::sync::Arc::new(Stamps {
        start: Instant::now(),
        calls: Mutex::new(Vec::with_capacity(1 << 16)),
        emits: Mutex::default(),
    });
    bridge.add_observer(stamps.clone());
    let bus = bridge.bus();
    let publish = move |text: String| bus.publish(booth_scanner::TOPIC_CODE, json!({ "code": text }));
    tracing::warn!("bench probe on: stdin takes benchmark commands");
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let (command, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            match command {
                "stamps" => {
                    let all = json!({ "calls": take(&stamps.calls), "emits": take(&stamps.emits) });
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "BENCH-STAMPS {all}");
                    let _ = out.flush();
                }
                "send" => publish(rest.to_string()),
                "emit" => {
                    let a: Vec<u64> = rest.split(' ').filter_map(|s| s.parse().ok()).collect();
                    let (n, bytes, interval) = (
                        a.first().copied().unwrap_or(0),
                        a.get(1).copied().unwrap_or(0),
                        a.get(2).copied().unwrap_or(0),
                    );
                    let pad = padding(bytes as usize);
                    let begin = Instant::now();
                    for i in 0..n {
                        let due = begin + Duration::from_micros(interval * i);
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                        let ns = stamps.now();
                        stamps.emits.lock().unwrap_or_else(|p| p.into_inner()).push(ns);
                        publish(format!("ev:{i}:{}:{pad}", now_us()));
                    }
                }
                other => tracing::warn!("bench probe: unknown command `{other}`"),
            }
        }
    });
}
