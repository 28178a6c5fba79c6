//! The bridge's fuzz run (`booth_bridge::fuzz`) against every capability Booth builds, their
//! devices simulated: the plugins' own handlers and event renderers get the generated requests
//! and events (device events with generated payloads too, as a plugin with a bug would publish).
//! No plugin's handler or event renderer may panic, every call is answered once with a
//! well-formed reply, and afterwards no session, subscription, call, page sink or task is left
//! beyond what the plugins hold anyway.
//!
//! `cargo test -p booth --test fuzz` runs 5,000 messages; set `BOOTH_FUZZ_MESSAGES` (and
//! `BOOTH_FUZZ_SEED`) for a longer run, with `-- --nocapture` to see the figures.

use booth_app::config::Config;
use booth_app::devices::Devices;
use booth_bridge::fuzz::{storm, Options};
use booth_bridge::{Bridge, Dialect, EventMessage, EventSink, Screen, SessionInfo, Stats};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Nowhere;
impl EventSink for Nowhere {
    fn deliver(&self, _: EventMessage) -> bool {
        true
    }
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Waits until nothing is left beyond `baseline` tasks; returns how long that took.
async fn settle(bridge: &Bridge, alive: impl Fn() -> usize, baseline: usize) -> Duration {
    let started = Instant::now();
    while (bridge.stats() != Stats::default() || alive() > baseline) && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// The task count once it has stopped falling for a second (at most 30 s).
async fn steady(alive: impl Fn() -> usize) -> usize {
    let started = Instant::now();
    let (mut last, mut since) = (alive(), Instant::now());
    while since.elapsed() < Duration::from_secs(1) && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = alive();
        if now != last {
            (last, since) = (now, Instant::now());
        }
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_plugin_answers_generated_requests_without_panicking_or_leaking() {
    let devices = Devices::start(&Config::default(), true);
    let bridge = devices.bridge.clone();
    let topics = bridge.event_topics();
    assert!(topics.len() > 5, "the plugins register their events: {topics:?}");
    let metrics = tokio::runtime::Handle::current().metrics();
    let seed = env("BOOTH_FUZZ_SEED", 0xB007);
    let options = |seed, messages| Options { seed, messages, pages: 4, topics: topics.clone(), max_waiting: 64 };

    // initFace starts the face preview server, which then serves for the life of the process.
    // Started here, so that whether a generated call happened to start it does not move the
    // baseline.
    let (dialects, permissions) = booth_bridge::all_permissions();
    let info = SessionInfo {
        key: "prime".into(),
        package_id: "fuzz".into(),
        permissions,
        dialects,
        screen: Screen::Front,
        url: "booth://localhost/fuzz.html".into(),
    };
    let id = bridge.open_session(info, Arc::new(Nowhere));
    let init = r#"{"action":"initFace","taskId":"prime","params":{}}"#;
    let primed =
        tokio::time::timeout(Duration::from_secs(60), bridge.call(id, Dialect::My, "ampeHHCommunication", init))
            .await
            .expect("initFace answers");
    println!("fuzz (devices): initFace: {}", primed.body);
    bridge.end_session(id);

    // The same run twice: the first starts whatever else the plugins start once; what the
    // second leaves beyond that is a leak.
    let messages = env("BOOTH_FUZZ_MESSAGES", 5_000);
    let warm = storm(&bridge, options(seed, messages)).await.unwrap_or_else(|e| panic!("{e}"));
    settle(&bridge, || 0, 0).await;
    let baseline = steady(|| metrics.num_alive_tasks()).await;
    assert_eq!(warm.code("INTERNAL"), 0, "a plugin panicked: {warm}");
    assert_eq!(booth_bridge::guard::contained(), 0, "a plugin's handler or event renderer panicked");

    let report = storm(&bridge, options(seed, messages)).await.unwrap_or_else(|e| panic!("{e}"));
    println!("fuzz (devices): {report}");
    assert_eq!(report.answered, report.calls, "every call answered exactly once");
    assert_eq!(report.code("INTERNAL"), 0, "a plugin panicked (its backtrace is in the log)");
    assert_eq!(booth_bridge::guard::contained(), 0, "a plugin's handler or event renderer panicked");
    assert_eq!(report.bad_events, 0, "events of the wrong shape, the first: {:?}", report.first_bad_event);
    assert!(report.code("OK") > 0 && report.delivered > 0, "the run reached the plugins: {report}");

    let took = settle(&bridge, || metrics.num_alive_tasks(), baseline).await;
    println!("fuzz (devices): settled in {took:?}, {baseline} tasks of the plugins' own");
    assert_eq!(bridge.stats(), Stats::default(), "sessions, subscriptions or calls left");
    assert!(metrics.num_alive_tasks() <= baseline, "tasks left: {} (baseline {baseline})", metrics.num_alive_tasks());
    let deadline = Instant::now() + Duration::from_secs(30);
    while report.sinks_held() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(report.sinks_held(), 0, "page sinks still held by a plugin");
}
