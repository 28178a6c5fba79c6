//! End to end, the bridge fuzzed through the real web view: the fuzz package
//! (`tests/fixtures/fuzz`) sends valid, mutated and garbage calls through `my`, `wxfaceapp` and
//! `ft` as fast as Booth answers (32 in flight), subscribes and unsubscribes, while the simulated
//! devices produce events through the control endpoint. Booth must stay up and answer every call
//! exactly once, and afterwards hold no call in flight.
//!
//! Then the page reloads (as the idle reset does between customers): Booth must hold exactly the
//! session and subscriptions of the fresh page it held before the run — no session, subscription
//! or call of the fuzzed page is left behind.
//!
//! In CI it sends 2,000 calls. By hand, `BOOTH_FUZZ_PAGE_SECONDS=300` runs it for that long and
//! measures memory (PSS, as scripts/bench does) of Booth's process and of its web processes
//! before, during and after, printing the figures. Before and after are taken the same way: a
//! freshly loaded page, 10 s without calls, and Booth's heap trimmed (`POST /memory/trim`, what
//! Booth does itself after an idle reset), so that what the allocator kept from the peak is not
//! counted as held. The run fails if Booth's own PSS ends more than 15 % + 15 MB above its
//! baseline, or the web processes' more than 30 % + 40 MB: WebKit keeps its memory cache, JIT code
//! and the JS heap's grown capacity for the next page, and JavaScriptCore collects on its own
//! schedule (WebKitGTK offers no way to force it).
//! Needs Xvfb, a window manager and tauri-driver: run through scripts/test-all.

use booth_e2e::{fixture, with_booth, Booth};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// The benchmark's process walk and PSS reading, so both measure memory the same way.
#[path = "../../../bench/src/procs.rs"]
#[allow(dead_code)]
mod procs;

/// The booth process serving `port`.
fn booth_pid(port: u16) -> u32 {
    let pattern = format!("booth run .*--control-port {port}");
    let out = std::process::Command::new("pgrep").args(["-f", &pattern]).output().expect("pgrep");
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.trim().parse().ok()).expect("the booth process")
}

/// PSS in MB: (Booth's own process, its web processes, everything below it).
fn memory(root: u32) -> (f64, f64, f64) {
    let (mut own, mut web, mut all) = (0, 0, 0);
    for (pid, name) in procs::tree(root) {
        let kb = procs::pss_kb(pid).unwrap_or(0);
        all += kb;
        if pid == root {
            own += kb;
        } else if name.starts_with("WebKitWebProces") {
            web += kb;
        }
    }
    (own as f64 / 1024.0, web as f64 / 1024.0, all as f64 / 1024.0)
}

/// Simulated device events as fast as the control endpoint takes them, until `stop`.
fn devices(port: u16, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let actions: [(&str, &str); 14] = [
            ("/sim/scanner/scan", r#"{"code":"6901234567892"}"#),
            ("/sim/idcard/place", "{}"),
            ("/sim/idcard/remove", "{}"),
            ("/sim/presence/present", "{}"),
            ("/sim/presence/absent", "{}"),
            ("/sim/keypad/press", r#"{"key":"144"}"#),
            ("/sim/card/insert", "{}"),
            ("/sim/card/remove", "{}"),
            ("/sim/pos/unplug", "{}"),
            ("/sim/pos/plug", "{}"),
            ("/sim/printer/paper-out", "{}"),
            ("/sim/printer/paper-in", "{}"),
            ("/sim/card/reader", r#"{"connected":false}"#),
            ("/sim/card/reader", r#"{"connected":true}"#),
        ];
        let mut i = 0usize;
        while !stop.load(Ordering::Relaxed) {
            let (path, body) = actions[i % actions.len()];
            // 409 (no card to remove …) is a fine answer; only an unreachable Booth fails.
            let answer = booth_e2e::try_http(port, "POST", path, body);
            assert!(answer.is_some(), "the control endpoint stopped answering");
            sent.fetch_add(1, Ordering::Relaxed);
            i += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
    })
}

/// Waits for a freshly loaded fuzz page with nothing in flight and, for a measured run, 10 s
/// without calls and Booth's heap trimmed. Returns Booth's bridge figures for that page.
async fn fresh_page(b: &Booth, root: u32, measured: bool) -> Value {
    b.wait_for("return window.ready === true", Duration::from_secs(15)).await;
    let started = Instant::now();
    let h = loop {
        let (status, h) = b.control("GET", "/health", "");
        if status == 200 && h["sessions"] == 1 && h["bridge"]["callsInFlight"] == 0 {
            break h;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "the fresh page's session: {h}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if measured {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let untrimmed = memory(root);
        let (status, trimmed) = b.control("POST", "/memory/trim", "{}");
        assert_eq!(status, 200, "{trimmed}");
        let m = memory(root);
        let mb = |name| procs::field(root, "smaps_rollup", name).unwrap_or(0) as f64 / 1024.0;
        let threads = procs::field(root, "status", "Threads:").unwrap_or(0);
        println!(
            "fuzz page: fresh page, 10 s quiet: PSS booth {:.1} MB (anonymous {:.1}, files {:.1}; {threads} threads), web {:.1} MB; the trim gave back {:.1} MB of Booth's",
            m.0,
            mb("Pss_Anon:"),
            mb("Pss_File:"),
            m.1,
            untrimmed.0 - m.0
        );
    }
    json!({"sessions": h["sessions"], "subscriptions": h["bridge"]["subscriptions"], "callsInFlight": 0})
}

async fn state(b: &Booth) -> Value {
    b.client.execute("return window.fuzz.state()", vec![]).await.expect("fuzz state")
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn the_fuzz_page_gets_an_answer_for_every_call_and_booth_stays_up() {
    let seconds: Option<u64> = std::env::var("BOOTH_FUZZ_PAGE_SECONDS").ok().and_then(|s| s.parse().ok());
    let count = if seconds.is_some() { 0 } else { 2000 };
    with_booth(&fixture("fuzz"), &[], async |b| {
        b.wait_for("return window.ready", Duration::from_secs(10)).await;
        let root = booth_pid(b.control_port);
        let fresh = fresh_page(b, root, seconds.is_some()).await;
        let before = memory(root);
        let stop = Arc::new(AtomicBool::new(false));
        let events = Arc::new(AtomicU64::new(0));
        let device_thread = devices(b.control_port, stop.clone(), events.clone());
        let start = Instant::now();
        b.client
            .execute(
                "return window.fuzz.start(arguments[0])",
                vec![json!({"seed": 0xB007, "count": count, "seconds": seconds.unwrap_or(0), "inFlight": 32})],
            )
            .await
            .expect("start");
        let deadline = Duration::from_secs(seconds.unwrap_or(0) + 180);
        let mut peak = before;
        let mut samples = vec![];
        let mut last_sample = Instant::now();
        let end = loop {
            let s = state(b).await;
            if s["done"] == true {
                break s;
            }
            assert!(start.elapsed() < deadline, "the fuzz page did not finish: {s}");
            if last_sample.elapsed() >= Duration::from_secs(5) {
                let m = memory(root);
                samples.push((start.elapsed().as_secs(), m));
                if m.2 > peak.2 {
                    peak = m;
                }
                last_sample = Instant::now();
                let (_, h) = b.control("GET", "/health", "");
                assert_eq!(h["status"], "ok", "{h}");
                if seconds.is_some() {
                    println!("fuzz page {:>4} s: sent {} answered {} | PSS booth {:.1} MB, web {:.1} MB, all {:.1} MB",
                        start.elapsed().as_secs(), s["sent"], s["answered"], m.0, m.1, m.2);
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        stop.store(true, Ordering::Relaxed);
        device_thread.join().expect("device events");
        let took = start.elapsed();
        println!("fuzz page: {end}");
        println!(
            "fuzz page: {} calls in {:.1} s ({:.0}/s), {} device events, every call answered once",
            end["sent"],
            took.as_secs_f64(),
            end["sent"].as_f64().unwrap_or(0.0) / took.as_secs_f64(),
            events.load(Ordering::Relaxed)
        );
        assert_eq!(end["answered"], end["sent"], "{end}");
        assert_eq!(end["twice"], 0, "a call answered twice: {end}");
        assert_eq!(end["threw"], 0, "a runtime function threw instead of answering: {end}");
        assert!(end["sent"].as_u64().unwrap_or(0) >= count, "{end}");
        for kind in ["valid", "mutated", "garbage"] {
            assert!(end["kinds"][kind].as_u64().unwrap_or(0) > 0, "no {kind} calls: {end}");
        }
        // Booth is up, and nothing is left in flight.
        let started = Instant::now();
        loop {
            let (status, h) = b.control("GET", "/health", "");
            if status == 200 && h["bridge"]["callsInFlight"] == 0 {
                assert_eq!(h["sessions"], 1, "{h}");
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "calls left in flight: {h}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let again = b.ampe(json!({"action": "getDeviceInfo", "event": "open", "taskId": "after"})).await;
        assert_eq!(again["success"], true, "{again}");
        // The next customer's page: what Booth holds for it is what it held for the first one.
        b.client.execute("window.ready = false; location.reload(); return 1", vec![]).await.expect("reload");
        let after_reload = fresh_page(b, root, seconds.is_some()).await;
        assert_eq!(after_reload, fresh, "sessions, subscriptions and calls of Booth's bridge before and after");
        let after = memory(root);
        println!(
            "fuzz page PSS (MB)  booth / web processes / all:  before {:.1} / {:.1} / {:.1}   peak {:.1} / {:.1} / {:.1}   after {:.1} / {:.1} / {:.1}",
            before.0, before.1, before.2, peak.0, peak.1, peak.2, after.0, after.1, after.2
        );
        if seconds.is_some() {
            let (booth, web) = (after.0 - before.0, after.1 - before.1);
            println!(
                "fuzz page: after − before: Booth {booth:+.1} MB ({:+.1} %), web processes {web:+.1} MB ({:+.1} %)",
                booth / before.0 * 100.0,
                web / before.1 * 100.0
            );
            assert!(booth < before.0 * 0.15 + 15.0, "Booth's memory did not come back near its baseline");
            assert!(web < before.1 * 0.30 + 40.0, "the web processes' memory did not come back near its baseline");
        }
    })
    .await;
}
