//! A wall-clock jump (an operator setting the time, NTP stepping after a long power cut) neither
//! fires nor cancels a call's timeout: timeouts run on the monotonic clock. The test runs itself
//! again under libfaketime (Debian `libfaketime`, in scripts/setup.sh), which moves the wall clock
//! a day forward and then back while a call waits, and leaves the monotonic clock alone.

#![cfg(target_os = "linux")]

use booth_bridge::{handler, Bridge, Dialect, EventMessage, EventSink, Screen, SessionInfo};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const CHILD: &str = "BOOTH_CLOCK_JUMP_CHILD";
/// The call's timeout.
const TIMEOUT: Duration = Duration::from_millis(1500);

struct Nowhere;
impl EventSink for Nowhere {
    fn deliver(&self, _: EventMessage) -> bool {
        true
    }
}

#[test]
fn a_wall_clock_jump_neither_fires_nor_cancels_a_timeout() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    assert!(
        std::path::Path::new(LIBFAKETIME).exists(),
        "{LIBFAKETIME} is missing: install Debian's libfaketime (scripts/setup.sh does)"
    );
    let stamp = std::env::temp_dir().join(format!("booth-clock-jump-{}", std::process::id()));
    std::fs::write(&stamp, "+0").expect("faketime file");
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "a_wall_clock_jump_neither_fires_nor_cancels_a_timeout", "--nocapture"])
        .env(CHILD, &stamp)
        .env("LD_PRELOAD", LIBFAKETIME)
        .env("FAKETIME_TIMESTAMP_FILE", &stamp)
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .output()
        .expect("run the test under libfaketime");
    let _ = std::fs::remove_file(&stamp);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{text}");
    assert!(out.status.success(), "under libfaketime:\n{text}");
    assert!(text.contains("clock jumps checked"), "the child did not run the checks:\n{text}");
}

fn child() {
    let stamp = std::path::PathBuf::from(std::env::var_os(CHILD).expect("stamp file"));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let bridge = Bridge::default();
        // A device that never answers: only the timeout ends the call.
        bridge.register(
            Dialect::My,
            "speech",
            Some(TIMEOUT),
            handler(|_ctx, _params| async move { futures::future::pending().await }),
        );
        let (dialects, permissions) = booth_bridge::all_permissions();
        let session = bridge.open_session(
            SessionInfo {
                key: "main".into(),
                package_id: "clock".into(),
                permissions,
                dialects,
                screen: Screen::Front,
                url: "booth://localhost/index.html".into(),
            },
            Arc::new(Nowhere),
        );
        for (jump, seconds) in [("+86400", 86_400i64), ("-86400", -86_400)] {
            std::fs::write(&stamp, "+0").expect("reset the wall clock");
            let wall_before = SystemTime::now();
            let started = Instant::now();
            let call = bridge.call(
                session,
                Dialect::My,
                "ampeHHCommunication",
                r#"{"action":"speech","event":"open","taskId":"t","params":{"text":"x"}}"#,
            );
            let jumper = async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                std::fs::write(&stamp, jump).expect("jump the wall clock");
            };
            let (reply, ()) = tokio::join!(call, jumper);
            let took = started.elapsed();
            // The jump happened (else the test proves nothing)…
            let moved = match SystemTime::now().duration_since(wall_before) {
                Ok(d) => d.as_secs() as i64,
                Err(e) => -(e.duration().as_secs() as i64),
            };
            assert!(
                (moved - seconds).abs() < 60,
                "the wall clock moved {moved} s, not {seconds} s: is libfaketime loaded?"
            );
            // …and the call still timed out after its own 1.5 s, not at once and not a day later.
            assert_eq!(reply.body["errorCode"], "TIMEOUT", "{jump}: {:?}", reply.body);
            assert!(took >= TIMEOUT - Duration::from_millis(50), "{jump}: the timeout fired early, after {took:?}");
            assert!(took < Duration::from_secs(10), "{jump}: the timeout fired late, after {took:?}");
            println!("wall clock {jump} s during the call: TIMEOUT after {} ms", took.as_millis());
        }
        assert_eq!(bridge.stats().calls_in_flight, 0);
    });
    println!("clock jumps checked");
}
