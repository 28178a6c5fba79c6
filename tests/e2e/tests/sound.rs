//! End to end with the real sound backends against a private PulseAudio (booth-testkit's
//! `Pulse`): a page speaks and beeps (heard on the speaker's monitor), streams the microphone
//! (a tone played into it reaches the page's `initMicrophoneListener`), and its recording ends
//! when it reloads.

use booth_e2e::{fixture, with_real_booth_env, Booth};
use booth_testkit::pulse::{analysis, Pulse, RATE};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn healthy(b: &Booth, part: &str) {
    let start = Instant::now();
    loop {
        let (_, health) = b.control("GET", "/health", "");
        if health["devices"][part]["available"] == Value::Bool(true) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{part} not available: {health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
#[ignore = "needs Xvfb + tauri-driver; run by scripts/test-all"]
async fn a_page_speaks_beeps_and_streams_the_microphone() {
    let pulse = tokio::task::spawn_blocking(Pulse::start).await.expect("pulse");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("booth.toml");
    std::fs::write(
        &config,
        "[speech]\nengine = \"espeak\"\n[buzzer]\nbackend = \"output\"\nfrequency_hz = 1000\n[microphone]\nbackend = \"device\"\nchunk_ms = 40\n",
    )
    .expect("booth.toml");
    let config = config.display().to_string();

    with_real_booth_env(&fixture("sound"), &["--config", &config], &pulse.env(), async |b| {
        healthy(b, "speech").await;
        let rec = pulse.record();
        rec.wait_for(Duration::from_secs(5), |r| r.samples.len() > 4800).expect("recording runs");

        // Speech from the page is heard.
        let called = Instant::now();
        let r = b.ampe(json!({"action": "speech", "event": "open", "taskId": "8", "params": {"text": "请取走您的小票", "pitch": 1.0, "rate": 1.0, "speechQueue": 0}})).await;
        assert_eq!(r["success"], true, "{r}");
        assert_eq!(r["message"], "成功");
        assert_eq!(r["data"], json!({}));
        let from = rec.snapshot().index_at(called);
        let heard = rec
            .wait_for(Duration::from_secs(10), |r| r.samples[from.min(r.samples.len())..].iter().any(|v| v.unsigned_abs() > 1000))
            .expect("the page's text is spoken");
        let first = heard.samples[from..].iter().position(|v| v.unsigned_abs() > 1000).unwrap() + from;
        let latency = heard.time_of(first).map(|t| (t - called).as_secs_f64() * 1000.0).unwrap_or(f64::NAN);
        println!("page speech call → first audio sample on the speaker: {latency:.0} ms");

        // speechStop: silence soon after.
        let r = b.ampe(json!({"action": "speechStop", "event": "open", "taskId": "9"})).await;
        assert_eq!(r["success"], true, "{r}");
        let stopped = Instant::now();
        tokio::time::sleep(Duration::from_millis(600)).await;
        let r = rec.snapshot();
        let after = r.index_at(stopped + Duration::from_millis(150));
        assert!(analysis::rms(&r.samples[after..]) < 0.01, "silent after speechStop");

        // A beep of 200 ms.
        let at = Instant::now();
        let r = b.ampe(json!({"action": "startBuzzer", "event": "open", "taskId": "15", "params": {"beep": "200"}})).await;
        assert_eq!(r["success"], true, "{r}");
        let from = rec.snapshot().index_at(at);
        let r = rec
            .wait_for(Duration::from_secs(5), |r| {
                let segs = analysis::segments(&r.samples[from.min(r.samples.len())..], RATE, 0.05, 480);
                segs.first().is_some_and(|s| r.samples.len() - from > s.1 + 4800)
            })
            .expect("the beep is heard");
        let segs = analysis::segments(&r.samples[from..], RATE, 0.05, 480);
        let ms = (segs[0].1 - segs[0].0) as f64 / 48.0;
        assert!((ms - 200.0).abs() < 16.0, "beep of {ms} ms");
        rec.stop();

        // The microphone streams to the page; a tone played into it arrives.
        healthy(b, "microphone").await;
        let r = b.ampe(json!({"action": "startMicrophoneListener", "event": "open", "taskId": "3", "params": {"intervalTime": 1000, "isMicrophoneSourceData": false}})).await;
        assert_eq!(r["success"], true, "{r}");
        b.wait_for("return window.chunks.length >= 5", Duration::from_secs(10)).await;
        let tone: Vec<i16> = (0..RATE as usize).map(|i| ((2.0 * std::f64::consts::PI * 1000.0 * i as f64 / f64::from(RATE)).sin() * 16000.0) as i16).collect();
        let played = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        let mut player = pulse.play_into_mic(&tone, RATE);
        let loud = b.wait_for("return window.chunks.find(function (c) { return c.peak > 8000; }) || null", Duration::from_secs(10)).await;
        let _ = player.wait();
        println!("page got the microphone's tone {} ms after it began to play (chunk 40 ms, player and server latency included)", loud["at"].as_i64().unwrap_or(0) - played);
        let sizes = b.wait_for("return window.chunks.map(function (c) { return c.samples; })", Duration::from_secs(1)).await;
        assert!(sizes.as_array().unwrap().iter().all(|n| n == 640), "16 kHz, 40 ms chunks: {sizes}");
        let st = b.ampe(json!({"action": "getMicrophoneState", "event": "open", "taskId": "1"})).await;
        assert_eq!(st["data"], json!({"microphoneListenerState": 1, "microphoneState": 0}), "{st}");
        let (_, health) = b.control("GET", "/health", "");
        assert_eq!(health["devices"]["microphone"]["listening"], true, "{health}");

        // The page reloads: its recording stops with it.
        b.client.execute("location.reload(); return true;", vec![]).await.expect("reload");
        b.wait_for("return !!window.__BOOTH__ && document.readyState === 'complete' && window.chunks.length === 0", Duration::from_secs(15)).await;
        let start = Instant::now();
        loop {
            let st = b.ampe(json!({"action": "getMicrophoneState", "event": "open", "taskId": "2"})).await;
            if st["data"] == json!({"microphoneListenerState": 0, "microphoneState": 0}) {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(5), "the reloaded page's old recording stops: {st}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}
