//! A bare Tauri 2 app: the baseline of Booth's benchmark (`scripts/bench`).
//!
//! One window showing `raw.html` of `bench/package` (the same agent script the Booth bench
//! package runs), a no-op command in its two forms (`noop` runs on the main thread as plain
//! Tauri commands do, `noop_async` on the async runtime as Booth's bridge calls do), an event
//! emitter (a `Channel`, and `emit` to `listen`), and a second window on demand. It reads the
//! benchmark driver's commands on stdin and prints what it measured on stdout:
//!
//! - `stamps`: prints `BENCH-STAMPS {"calls": [ns, …], "emits": [ns, …]}`, when each call arrived
//!   and each `emit` message left since the previous `stamps` (nanoseconds since start)
//! - `send TEXT`: delivers TEXT to the page's channel (the driver's commands to the page)
//! - `emit N BYTES INTERVAL_US [event]`: N messages `ev:<i>:<emit µs since the epoch>:<BYTES of
//!   base64 padding>`, every INTERVAL_US (0 = as fast as possible), on the channel or with `emit`
//!
//! Not for: anything but being measured next to Booth.

use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tauri::ipc::Channel;
use tauri::{Emitter, Manager, WebviewUrl, WebviewWindowBuilder};

struct Bench {
    start: Instant,
    stamps: Mutex<Vec<u64>>,
    emits: Mutex<Vec<u64>>,
    channel: Mutex<Option<Channel<String>>>,
    image: Mutex<String>,
}

impl Bench {
    fn stamp(&self) {
        let ns = self.start.elapsed().as_nanos() as u64;
        self.stamps.lock().unwrap_or_else(|p| p.into_inner()).push(ns);
    }

    fn stamp_emit(&self) {
        let ns = self.start.elapsed().as_nanos() as u64;
        self.emits.lock().unwrap_or_else(|p| p.into_inner()).push(ns);
    }
}

type State<'a> = tauri::State<'a, Arc<Bench>>;

#[tauri::command]
fn noop(bench: State<'_>) {
    bench.stamp();
}

#[tauri::command]
async fn noop_async(bench: State<'_>) -> Result<(), ()> {
    bench.stamp();
    Ok(())
}

#[tauri::command]
fn subscribe(bench: State<'_>, channel: Channel<String>) {
    *bench.channel.lock().unwrap_or_else(|p| p.into_inner()) = Some(channel);
}

#[tauri::command]
fn report(text: String) {
    println!("BENCH {text}");
}

/// A second window showing a picture, as a bare two-window app has it (its own web process).
#[tauri::command]
async fn open_second(app: tauri::AppHandle, bench: State<'_>, image: String) -> Result<(), String> {
    *bench.image.lock().unwrap_or_else(|p| p.into_inner()) = image;
    if app.get_webview_window("second").is_some() {
        return Ok(());
    }
    WebviewWindowBuilder::new(&app, "second", WebviewUrl::App("raw-second.html".into()))
        .title("raw second")
        .position(1280.0, 0.0)
        .inner_size(1280.0, 1080.0)
        .build()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[tauri::command]
fn second_image(bench: State<'_>) -> String {
    bench.image.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Base64 text as long as `bytes` bytes encode to (a PCM chunk's size on the wire).
fn padding(bytes: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..bytes.div_ceil(3) * 4).map(|i| ALPHABET[(i * 7) % 64] as char).collect()
}

fn now_us() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros())
}

fn serve_stdin(app: tauri::AppHandle, bench: Arc<Bench>) {
    let deliver = |text: String, event: bool| {
        if event {
            let _ = app.emit("bench", text);
        } else if let Some(ch) = bench.channel.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            let _ = ch.send(text);
        }
    };
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let mut words = line.splitn(2, ' ');
        match (words.next().unwrap_or(""), words.next().unwrap_or("")) {
            ("stamps", _) => {
                let calls = std::mem::take(&mut *bench.stamps.lock().unwrap_or_else(|p| p.into_inner()));
                let emits = std::mem::take(&mut *bench.emits.lock().unwrap_or_else(|p| p.into_inner()));
                println!("BENCH-STAMPS {}", serde_json::json!({ "calls": calls, "emits": emits }));
            }
            ("send", text) => deliver(text.to_string(), false),
            ("emit", args) => {
                let a: Vec<&str> = args.split(' ').collect();
                let n: u64 = a.first().and_then(|s| s.parse().ok()).unwrap_or(0);
                let bytes: usize = a.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
                let interval = Duration::from_micros(a.get(2).and_then(|s| s.parse().ok()).unwrap_or(0));
                let event = a.get(3) == Some(&"event");
                let pad = padding(bytes);
                let start = Instant::now();
                for i in 0..n {
                    let due = start + interval * i as u32;
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    bench.stamp_emit();
                    deliver(format!("ev:{i}:{}:{pad}", now_us()), event);
                }
            }
            (other, _) => eprintln!("booth-bench-raw: unknown command `{other}`"),
        }
    }
}

fn main() {
    let bench = Arc::new(Bench {
        start: Instant::now(),
        stamps: Mutex::default(),
        emits: Mutex::default(),
        channel: Mutex::default(),
        image: Mutex::default(),
    });
    let for_stdin = bench.clone();
    tauri::Builder::default()
        .manage(bench)
        .invoke_handler(tauri::generate_handler![noop, noop_async, subscribe, report, open_second, second_image])
        .setup(move |app| {
            WebviewWindowBuilder::new(app, "main", WebviewUrl::App("raw.html".into()))
                .title("raw")
                .inner_size(1280.0, 800.0)
                .build()?;
            let handle = app.handle().clone();
            std::thread::spawn(move || serve_stdin(handle, for_stdin));
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("the baseline app runs");
}
