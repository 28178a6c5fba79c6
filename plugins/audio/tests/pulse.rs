//! Sound against a private PulseAudio server with null sinks (booth-testkit's `Pulse`): what
//! Booth plays is recorded from the speaker's monitor with arrival times, what the microphone
//! hears is played into it. Tests in one process share one server and run one at a time.
//!
//! Figures (call → first audio sample, capture → listener) are printed; run with
//! `--nocapture` to see them.

use base64::Engine as _;
use booth_audio::{Audio, BuzzerConfig, MicrophoneConfig, SpeechConfig};
use booth_bridge::{Bridge, Dialect, EventMessage, EventSink, Family, Screen, SessionId, SessionInfo};
use booth_testkit::pulse::{analysis, Pulse, Recording, RATE};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

static PULSE: tokio::sync::Mutex<Option<Pulse>> = tokio::sync::Mutex::const_new(None);

async fn pulse() -> tokio::sync::MutexGuard<'static, Option<Pulse>> {
    let mut g = PULSE.lock().await;
    if g.is_none() {
        let p = tokio::task::spawn_blocking(Pulse::start).await.expect("pulse");
        p.export_env();
        *g = Some(p);
    }
    if let Some(p) = g.as_mut().filter(|p| !p.is_running()) {
        // A test that failed while the server was stopped.
        p.restart();
    }
    g
}

/// A page: keeps every event with its arrival time, optionally slow to take them.
#[derive(Default)]
struct Page {
    events: Mutex<Vec<(Instant, EventMessage)>>,
    slow: Option<Duration>,
}

impl EventSink for Page {
    fn deliver(&self, m: EventMessage) -> bool {
        if let Some(d) = self.slow {
            std::thread::sleep(d);
        }
        self.events.lock().unwrap().push((Instant::now(), m));
        true
    }
}

impl Page {
    fn chunks(&self) -> Vec<(Instant, Vec<i16>)> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, m)| m.name == "initMicrophoneListener")
            .map(|(t, m)| {
                let b64 = m.body["data"]["voiceContent"].as_str().expect("voiceContent");
                let bytes = base64::engine::general_purpose::STANDARD.decode(b64).expect("base64");
                (*t, bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect())
            })
            .collect()
    }
}

struct Rig {
    bridge: Bridge,
    audio: Arc<Audio>,
}

impl Rig {
    fn new(speech: SpeechConfig, buzzer: BuzzerConfig, mic: MicrophoneConfig) -> Rig {
        let bridge = Bridge::default();
        let audio = Audio::start(&speech, &buzzer, &mic, false, bridge.bus());
        audio.register(&bridge);
        assert!(audio.output().wait_open(Duration::from_secs(10)), "output: {:?}", audio.output().status());
        Rig { bridge, audio }
    }

    fn page(&self, key: &str, slow: Option<Duration>) -> (SessionId, Arc<Page>) {
        let page = Arc::new(Page { slow, ..Page::default() });
        let info = SessionInfo {
            key: key.into(),
            package_id: "test.audio".into(),
            permissions: [Family::Speech, Family::Buzzer, Family::Microphone].into_iter().collect(),
            dialects: [Dialect::My].into_iter().collect(),
            screen: Screen::Front,
            url: "booth://localhost/".into(),
        };
        let id = self.bridge.open_session(info, page.clone());
        self.bridge.subscribe(id, Dialect::My, "initMicrophoneListener").unwrap();
        (id, page)
    }

    async fn call(&self, session: SessionId, action: &str, params: Value) -> Value {
        let req = json!({"action": action, "event": "open", "taskId": "1", "params": params});
        self.bridge.call(session, Dialect::My, "ampeHHCommunication", &req.to_string()).await.body
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.audio.shutdown();
    }
}

fn speech_on() -> SpeechConfig {
    SpeechConfig { engine: "espeak".into(), ..SpeechConfig::default() }
}

fn buzzer_on() -> BuzzerConfig {
    BuzzerConfig { backend: "output".into(), ..BuzzerConfig::default() }
}

fn mic_on() -> MicrophoneConfig {
    MicrophoneConfig { backend: "device".into(), ..MicrophoneConfig::default() }
}

fn tones_engine() -> SpeechConfig {
    // A stand-in voice: the text is "FREQUENCY SECONDS", spoken as that sine tone, so the
    // capture shows which utterance is playing.
    SpeechConfig {
        engine: "command".into(),
        command: vec![
            "sh".into(),
            "-c".into(),
            "read f d; exec sox -q -n -r 22050 -c 1 -b 16 -t wav - synth \"$d\" sine \"$f\" vol 0.9".into(),
        ],
        normalize: false,
        volume: 0.8,
        ..SpeechConfig::default()
    }
}

/// Where `freq` dominates the sound: the first sample of the first run and the last of the
/// last run of at least four 5 ms windows in which it does (a click has every frequency for a
/// moment, a tone has one for a while).
fn span_of(r: &Recording, freq: f64, from: usize) -> Option<(usize, usize)> {
    let w = (RATE / 200) as usize;
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut run: Option<(usize, usize)> = None;
    let mut i = from;
    while i + w <= r.samples.len() {
        let x = &r.samples[i..i + w];
        let loud = analysis::rms(x) > 0.05;
        if loud && analysis::power(x, RATE, freq) > 0.3 * analysis::rms(x).powi(2) {
            run = Some(run.map_or((i, i + w), |(s, _)| (s, i + w)));
        } else if let Some(done) = run.take() {
            runs.push(done);
        }
        i += w;
    }
    runs.extend(run);
    let runs: Vec<_> = runs.into_iter().filter(|(s, e)| e - s >= 4 * w).collect();
    Some((runs.first()?.0, runs.last()?.1))
}

fn first_loud(r: &Recording, from: usize) -> Option<usize> {
    r.samples[from.min(r.samples.len())..].iter().position(|v| v.unsigned_abs() > 1000).map(|p| p + from)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn signed_ms(a: Instant, b: Instant) -> f64 {
    if a >= b {
        ms(a - b)
    } else {
        -ms(b - a)
    }
}

/// A `startBuzzer` of `beep` ms, recorded until 100 ms after the beep: the recording, when
/// the call was made, where that falls in the recording, and the sounds from there on.
async fn buzz(
    rig: &Rig,
    page: SessionId,
    rec: &booth_testkit::pulse::Recorder,
    beep: u32,
) -> (Recording, Instant, usize, Vec<(usize, usize)>) {
    let called = Instant::now();
    let reply = rig.call(page, "startBuzzer", json!({"beep": beep.to_string()})).await;
    assert_eq!(reply["success"], true, "{reply}");
    let r = rec
        .wait_for(Duration::from_secs(5), |r| {
            let from = r.index_at(called);
            let segs = analysis::segments(&r.samples[from..], RATE, 0.05, 480);
            segs.first().is_some_and(|s| r.samples.len() - from > s.1 + 4800)
        })
        .expect("the beep is heard");
    let from = r.index_at(called);
    let segs = analysis::segments(&r.samples[from..], RATE, 0.05, 480);
    (r, called, from, segs)
}

#[tokio::test(flavor = "multi_thread")]
async fn beeps_have_the_configured_frequency_and_length() {
    let pulse = pulse().await;
    let p = pulse.as_ref().unwrap();
    // A machine starved of CPU (CI builds beside the tests) can drop samples between the player,
    // PulseAudio and the recorder: the beep then arrives in pieces. That says nothing about the
    // beep Booth made, so a broken-up recording is measured again (up to three times); a beep
    // of the wrong length or pitch still fails at once.
    let mut attempt = 0;
    let beeps = [(2000u32, 100u32), (1000, 300), (440, 500)];
    let mut next = 0;
    while next < beeps.len() {
        let (hz, beep) = beeps[next];
        attempt += 1;
        let rig = Rig::new(
            SpeechConfig { engine: "none".into(), ..SpeechConfig::default() },
            BuzzerConfig { frequency_hz: hz, volume: 0.5, ..buzzer_on() },
            mic_on(),
        );
        let (page, _) = rig.page("main", None);
        let rec = p.record();
        rec.wait_for(Duration::from_secs(5), |r| r.samples.len() > 4800).expect("recording runs");
        let (r, called, from, segs) = buzz(&rig, page, &rec, beep).await;
        if segs.len() > 1 && attempt < 3 {
            println!("beep {beep} ms at {hz} Hz arrived in {} pieces {segs:?}: measuring again", segs.len());
            rec.stop();
            continue;
        }
        assert_eq!(segs.len(), 1, "one beep: {segs:?}");
        let (s, e) = segs[0];
        let len_ms = (e - s) as f64 * 1000.0 / f64::from(RATE);
        let f = analysis::zero_crossing_hz(&r.samples[from + s..from + e], RATE);
        let latency = r.time_of(from + s).map(|t| signed_ms(t, called)).unwrap_or(f64::NAN);
        println!("beep {beep} ms at {hz} Hz: heard {len_ms:.1} ms at {f:.1} Hz; call → first sample {latency:.1} ms");
        // The 3 ms fades fall below the threshold: allow them on top of ±5 %.
        assert!((len_ms - f64::from(beep)).abs() <= f64::from(beep) * 0.05 + 6.0, "length {len_ms} ms for {beep} ms");
        assert!((f - f64::from(hz)).abs() <= f64::from(hz) * 0.05, "frequency {f} Hz for {hz} Hz");
        rec.stop();
        next += 1;
        attempt = 0;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn buzzer_refuses_bad_lengths() {
    let _pulse = pulse().await;
    let rig = Rig::new(speech_on(), buzzer_on(), mic_on());
    let (page, _) = rig.page("main", None);
    for bad in [json!({}), json!({"beep": 5}), json!({"beep": 5001}), json!({"beep": "long"}), json!({"beep": 1.5})] {
        let r = rig.call(page, "startBuzzer", bad.clone()).await;
        assert_eq!(r["errorCode"], "INVALID_PARAMS", "{bad}: {r}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn speech_queues_interrupts_and_stops_as_the_capture_shows() {
    let pulse = pulse().await;
    let p = pulse.as_ref().unwrap();
    let rig = Rig::new(tones_engine(), buzzer_on(), mic_on());
    let (page, _) = rig.page("main", None);
    let rec = p.record();
    rec.wait_for(Duration::from_secs(5), |r| r.samples.len() > 4800).expect("recording runs");

    // Queue: 440 Hz for 0.6 s, then 1000 Hz, with no gap between them.
    let t0 = Instant::now();
    assert_eq!(rig.call(page, "speech", json!({"text": "440 0.6"})).await["success"], true);
    assert_eq!(rig.call(page, "speech", json!({"text": "1000 0.4", "speechQueue": 0})).await["success"], true);
    let from = rec.snapshot().index_at(t0);
    let r = rec
        .wait_for(Duration::from_secs(10), |r| {
            span_of(r, 1000.0, from).is_some_and(|(_, e)| r.samples.len() > e + 9600)
        })
        .expect("both utterances are heard");
    let (a0, a1) = span_of(&r, 440.0, from).expect("440 Hz heard");
    let (b0, b1) = span_of(&r, 1000.0, from).expect("1000 Hz heard");
    let first = r.time_of(first_loud(&r, from).unwrap()).unwrap();
    println!(
        "speech (command engine) call → first audio sample {:.1} ms; queued: first {:.0} ms, second {:.0} ms, gap {:.1} ms",
        ms(first - t0),
        (a1 - a0) as f64 / 48.0,
        (b1 - b0) as f64 / 48.0,
        (b0 as f64 - a1 as f64) / 48.0
    );
    assert!(a1 <= b0 + 240, "the second waits for the first: 440 {a0}..{a1}, 1000 {b0}..{b1}");
    assert!((a1 - a0) as f64 / 48.0 > 550.0, "the first plays to its end");
    assert!((b0 as f64 - a1 as f64) / 48.0 < 30.0, "no gap between queued utterances");

    // Interrupt: a long 440 Hz, then 1000 Hz with speechQueue 1: 440 ends within 50 ms.
    let start = Instant::now();
    rig.call(page, "speech", json!({"text": "440 5"})).await;
    let from = rec.snapshot().index_at(start);
    rec.wait_for(Duration::from_secs(10), |r| span_of(r, 440.0, from).is_some_and(|(s, e)| e - s > 14_400))
        .unwrap_or_else(|| {
            let r = rec.snapshot();
            panic!(
                "the long utterance plays: recorded {} samples since the call, 440 Hz at {:?}, loud at {:?}, speech busy {}",
                r.samples.len().saturating_sub(from),
                span_of(&r, 440.0, from),
                analysis::segments(&r.samples[from.min(r.samples.len())..], RATE, 0.05, 4800),
                rig.audio.speech().is_some_and(|s| s.busy())
            )
        });
    let cut = Instant::now();
    let reply = rig.call(page, "speech", json!({"text": "1000 0.5", "speechQueue": 1})).await;
    assert_eq!(reply["success"], true, "{reply}");
    let cut_at = rec.snapshot().index_at(cut);
    let r = rec
        .wait_for(Duration::from_secs(10), |r| {
            span_of(r, 1000.0, cut_at).is_some_and(|(_, e)| r.samples.len() > e + 4800)
        })
        .expect("the new utterance is heard");
    let (_, old_end) = span_of(&r, 440.0, from).unwrap();
    let (new_start, _) = span_of(&r, 1000.0, cut_at).unwrap();
    let stopped_after = signed_ms(r.time_of(old_end).unwrap(), cut);
    let new_after = signed_ms(r.time_of(new_start).unwrap(), cut);
    println!(
        "interrupt: old utterance ended {stopped_after:.1} ms after the call, new one began {new_after:.1} ms after it"
    );
    assert!(stopped_after <= 50.0, "old utterance still heard {stopped_after} ms after the interrupt");
    assert!(new_after < 500.0, "new utterance began {new_after} ms after the interrupt");

    // speechStop: silence within 50 ms, and nothing queued plays afterwards.
    let start = Instant::now();
    rig.call(page, "speech", json!({"text": "440 5"})).await;
    rig.call(page, "speech", json!({"text": "1000 1"})).await;
    let from = rec.snapshot().index_at(start);
    rec.wait_for(Duration::from_secs(10), |r| span_of(r, 440.0, from).is_some_and(|(s, e)| e - s > 14_400))
        .expect("plays");
    let stop = Instant::now();
    let reply = rig.call(page, "speechStop", json!({})).await;
    assert_eq!(reply["success"], true, "{reply}");
    std::thread::sleep(Duration::from_millis(1500));
    let r = rec.stop();
    let stop_at = r.index_at(stop);
    let last_loud = r.samples[..].iter().rposition(|v| v.unsigned_abs() > 1000).unwrap();
    let silent_after = signed_ms(r.time_of(last_loud).unwrap(), stop);
    println!("speechStop: sound ended {silent_after:.1} ms after the call");
    assert!(silent_after <= 50.0, "sound {silent_after} ms after speechStop");
    assert!(span_of(&r, 1000.0, stop_at).is_none(), "the queued utterance never plays after speechStop");
    assert!(!rig.audio.speech().unwrap().busy());
}

#[tokio::test(flavor = "multi_thread")]
async fn espeak_speaks_mandarin_and_repeats_come_from_the_cache() {
    let pulse = pulse().await;
    let p = pulse.as_ref().unwrap();
    let rig = Rig::new(SpeechConfig { engine: "espeak".into(), ..SpeechConfig::default() }, buzzer_on(), mic_on());
    let (page, _) = rig.page("main", None);
    let rec = p.record();
    rec.wait_for(Duration::from_secs(5), |r| r.samples.len() > 4800).expect("recording runs");
    let mut firsts = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let reply =
            rig.call(page, "speech", json!({"text": "请取走您的小票, 共12.50元。", "pitch": 1.2, "rate": 1.3})).await;
        assert_eq!(reply["success"], true, "{reply}");
        assert_eq!(reply["data"], json!({}));
        let from = rec.snapshot().index_at(t);
        let r = rec.wait_for(Duration::from_secs(10), |r| first_loud(r, from).is_some()).expect("speech heard");
        let first = r.time_of(first_loud(&r, from).unwrap()).unwrap();
        firsts.push(ms(first - t));
        let deadline = Instant::now() + Duration::from_secs(15);
        while rig.audio.speech().unwrap().busy() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // A pause the segments below can tell (200 ms): the engine's silence before a sentence
        // is skipped, so back-to-back utterances may run closer than that.
        std::thread::sleep(Duration::from_millis(400));
    }
    let r = rec.stop();
    let spoken = analysis::segments(&r.samples, RATE, 0.02, 9600);
    println!(
        "espeak-ng call → first audio sample: {firsts:.1?} ms (first synthesized, then cached); segments {spoken:?}"
    );
    assert!(spoken.len() >= 3, "three utterances: {spoken:?}");
    assert!(spoken.iter().all(|(s, e)| e - s > RATE as usize), "each lasts over a second");
}

#[tokio::test(flavor = "multi_thread")]
async fn microphone_stream_is_16_khz_and_matches_what_was_played() {
    let pulse = pulse().await;
    let p = pulse.as_ref().unwrap();
    let rig = Rig::new(speech_on(), buzzer_on(), mic_on());
    let (page, events) = rig.page("main", None);
    let reply =
        rig.call(page, "startMicrophoneListener", json!({"intervalTime": 1000, "isMicrophoneSourceData": false})).await;
    assert_eq!(reply["success"], true, "{reply}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while events.chunks().len() < 5 {
        assert!(Instant::now() < deadline, "chunks arrive");
        std::thread::sleep(Duration::from_millis(10));
    }
    // A known recording, band-limited below 4 kHz, made as a WAV and played into the mic.
    let n = RATE as usize * 2;
    let source: Vec<i16> = (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(RATE);
            let env = (t * 3.0).sin().abs();
            let v = 0.3 * (2.0 * std::f64::consts::PI * 300.0 * t).sin() * env
                + 0.2 * (2.0 * std::f64::consts::PI * 1234.0 * t + 0.7).sin()
                + 0.1 * (2.0 * std::f64::consts::PI * (500.0 + 800.0 * t) * t).sin();
            (v * 32767.0) as i16
        })
        .collect();
    let wav = booth_audio::wav::encode_s16(RATE, 1, &source);
    let (_, decoded) = booth_audio::wav::decode_all(&wav[..]).unwrap();
    let played_from = events.chunks().len();
    let mut player = p.play_into_mic(&source, RATE);
    let _ = player.wait();
    std::thread::sleep(Duration::from_millis(400));
    let chunks = events.chunks();
    assert!(chunks.iter().all(|(_, c)| c.len() == 640), "40 ms chunks of 640 samples");
    let got: Vec<f64> =
        chunks[played_from..].iter().flat_map(|(_, c)| c.iter().map(|&v| f64::from(v) / 32768.0)).collect();
    // The source at 16 kHz: every third sample (it has nothing above 4 kHz), at the phase
    // that lines up best with the capture's.
    let onset = got.iter().position(|v| v.abs() > 0.02).expect("the recording is heard");
    let start = onset.saturating_sub(400);
    let (corr, lag) = (0..3)
        .map(|phase| {
            let want: Vec<f64> = decoded[phase..].iter().step_by(3).map(|&v| f64::from(v)).collect();
            analysis::best_correlation(&want[..16_000], &got[start..], 1200)
        })
        .fold((f64::MIN, 0), |best, c| if c.0 > best.0 { c } else { best });
    println!("microphone: correlation {corr:.4} at lag {lag} against the source at 16 kHz");
    assert!(corr >= 0.99, "correlation {corr}; {}", rig.audio.status());
    let st = rig.call(page, "getMicrophoneState", json!({})).await;
    assert_eq!(st["data"], json!({"microphoneListenerState": 1, "microphoneState": 0}));
    let reply = rig.call(page, "stopMicrophoneListener", json!({})).await;
    assert_eq!(reply["success"], true);
    let after = events.chunks().len();
    std::thread::sleep(Duration::from_millis(300));
    assert!(events.chunks().len() <= after + 1, "no chunks after stop");
    let st = rig.call(page, "getMicrophoneState", json!({})).await;
    assert_eq!(st["data"], json!({"microphoneListenerState": 0, "microphoneState": 0}));
}

#[tokio::test(flavor = "multi_thread")]
async fn capture_to_listener_latency_through_a_loopback() {
    let pulse = pulse().await;
    let p = pulse.as_ref().unwrap();
    // The microphone hears the speaker: a beep is timed where it is played and where the
    // listener gets it.
    std::env::set_var("PULSE_SOURCE", "spk.monitor");
    let rig = Rig::new(
        SpeechConfig { engine: "none".into(), ..SpeechConfig::default() },
        BuzzerConfig { frequency_hz: 1000, ..buzzer_on() },
        mic_on(),
    );
    let (page, events) = rig.page("main", None);
    let reply = rig.call(page, "startMicrophoneListener", json!({})).await;
    std::env::remove_var("PULSE_SOURCE");
    assert_eq!(reply["success"], true, "{reply}");
    let rec = p.record();
    rec.wait_for(Duration::from_secs(5), |r| r.samples.len() > 4800).expect("recording runs");
    let mut latencies = Vec::new();
    for _ in 0..5 {
        let seen = events.chunks().len();
        let t = Instant::now();
        rig.call(page, "startBuzzer", json!({"beep": 100})).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        let (arrived, chunk, pos) = loop {
            let chunks = events.chunks();
            if let Some((at, c, pos)) = chunks[seen..]
                .iter()
                .find_map(|(at, c)| c.iter().position(|v| v.unsigned_abs() > 3000).map(|p| (*at, c.clone(), p)))
            {
                break (at, c, pos);
            }
            assert!(Instant::now() < deadline, "the beep reaches the listener");
            std::thread::sleep(Duration::from_millis(5));
        };
        let r =
            rec.wait_for(Duration::from_secs(2), |r| first_loud(r, r.index_at(t)).is_some()).expect("beep recorded");
        let played = r.time_of(first_loud(&r, r.index_at(t)).unwrap()).unwrap();
        // The beep's first sample sat `after` in the chunk: the chunk could not be complete
        // before that much more was captured.
        let after = (chunk.len() - pos) as f64 / 16.0;
        latencies.push((signed_ms(arrived, played), after));
        std::thread::sleep(Duration::from_millis(300));
    }
    rec.stop();
    let pipeline: Vec<f64> = latencies.iter().map(|(total, fill)| total - fill).collect();
    println!(
        "capture → listener: played sample → chunk at the page {:.1?} ms; less the chunk still filling: {pipeline:.1?} ms",
        latencies.iter().map(|l| l.0).collect::<Vec<_>>()
    );
    assert!(pipeline.iter().all(|&l| l < 500.0), "{pipeline:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn mp3_clip_has_the_recorded_length_and_stops_at_the_maximum() {
    let _pulse = pulse().await;
    let rig = Rig::new(speech_on(), buzzer_on(), MicrophoneConfig { max_clip_s: 2, ..mic_on() });
    let (page, _) = rig.page("main", None);
    for (record_ms, want_ms) in [(1200u64, 1200.0), (3000, 2000.0)] {
        let reply = rig.call(page, "startMicrophone", json!({})).await;
        assert_eq!(reply["success"], true, "{reply}");
        let started = Instant::now();
        std::thread::sleep(Duration::from_millis(record_ms));
        let st = rig.call(page, "getMicrophoneState", json!({})).await;
        assert_eq!(st["data"]["microphoneState"], i32::from(record_ms < 2000), "{st}");
        let elapsed = ms(started.elapsed());
        let reply = rig.call(page, "stopMicrophone", json!({})).await;
        assert_eq!(reply["success"], true, "{reply}");
        let mp3 =
            base64::engine::general_purpose::STANDARD.decode(reply["data"]["voiceContent"].as_str().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.mp3");
        std::fs::write(&path, &mp3).unwrap();
        let out = std::process::Command::new("mpg123")
            .args(["-q", "-s"])
            .arg(&path)
            .output()
            .expect("mpg123 (apt-get install mpg123)");
        let info = std::process::Command::new("soxi")
            .arg(&path)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string());
        let decoded_ms = out.stdout.len() as f64 / 2.0 / 16.0;
        let want = if record_ms < 2000 { elapsed } else { want_ms };
        println!(
            "clip: {} bytes of MP3, decodes to {decoded_ms:.0} ms for {want:.0} ms recorded; {:?}",
            mp3.len(),
            info.ok().and_then(|i| i.lines().find(|l| l.contains("Sample Rate")).map(str::to_string))
        );
        assert!(decoded_ms >= want - 60.0 && decoded_ms <= want + 150.0, "decoded {decoded_ms} ms for {want} ms");
    }
    let reply = rig.call(page, "stopMicrophone", json!({})).await;
    assert_eq!(reply["errorCode"], "DEVICE_ERROR", "no clip: {reply}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_goes_away_stops_its_recordings_and_another_must_wait() {
    let _pulse = pulse().await;
    let rig = Rig::new(speech_on(), buzzer_on(), mic_on());
    let (a, _) = rig.page("main", None);
    let (b, _) = rig.page("secondary", None);
    assert_eq!(rig.call(a, "startMicrophoneListener", json!({})).await["success"], true);
    assert_eq!(rig.call(a, "startMicrophone", json!({})).await["success"], true);
    let st = rig.call(b, "getMicrophoneState", json!({})).await;
    assert_eq!(st["data"], json!({"microphoneListenerState": 1, "microphoneState": 1}));
    let busy = rig.call(b, "startMicrophoneListener", json!({})).await;
    assert_eq!(busy["errorCode"], "BUSY", "{busy}");
    let busy = rig.call(b, "startMicrophone", json!({})).await;
    assert_eq!(busy["errorCode"], "BUSY", "{busy}");
    // The page reloads: its session ends.
    let (a2, _) = rig.page("main", None);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let st = rig.call(b, "getMicrophoneState", json!({})).await;
        if st["data"] == json!({"microphoneListenerState": 0, "microphoneState": 0}) {
            break;
        }
        assert!(Instant::now() < deadline, "recordings of a page that went away stop: {st}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(rig.call(b, "startMicrophoneListener", json!({})).await["success"], true);
    // Any page may stop a recording left running (the seed's remedy).
    assert_eq!(rig.call(a2, "stopMicrophoneListener", json!({})).await["success"], true);
    let st = rig.call(b, "getMicrophoneState", json!({})).await;
    assert_eq!(st["data"]["microphoneListenerState"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_page_gets_dropped_chunks_not_unbounded_buffers() {
    let _pulse = pulse().await;
    let rig = Rig::new(speech_on(), buzzer_on(), MicrophoneConfig { queue_chunks: 4, ..mic_on() });
    let (page, events) = rig.page("main", Some(Duration::from_millis(200)));
    assert_eq!(rig.call(page, "startMicrophoneListener", json!({})).await["success"], true);
    std::thread::sleep(Duration::from_secs(2));
    rig.call(page, "stopMicrophoneListener", json!({})).await;
    let status = rig.audio.status();
    let dropped = status["microphone"]["droppedChunks"].as_u64().unwrap();
    let got = events.chunks().len();
    println!("slow page: {got} chunks delivered, {dropped} dropped in 2 s");
    assert!(dropped >= 20, "{status}");
    assert!(got <= 20, "{got}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sound_server_gone_is_device_unavailable_and_everything_recovers() {
    let mut pulse = pulse().await;
    let rig = Rig::new(tones_engine(), buzzer_on(), mic_on());
    let (page, events) = rig.page("main", None);
    assert_eq!(rig.call(page, "startMicrophoneListener", json!({})).await["success"], true);
    assert_eq!(rig.call(page, "startBuzzer", json!({"beep": 50})).await["success"], true);

    let deadline = Instant::now() + Duration::from_secs(10);
    while events.chunks().len() < 5 {
        assert!(Instant::now() < deadline, "the listener runs");
        std::thread::sleep(Duration::from_millis(20));
    }
    pulse.as_mut().unwrap().stop();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = rig.call(page, "startBuzzer", json!({"beep": 50})).await;
        if r["errorCode"] == "DEVICE_UNAVAILABLE" {
            break;
        }
        assert!(Instant::now() < deadline, "the output notices the server is gone: {r}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = rig.call(page, "speech", json!({"text": "440 0.2"})).await;
    assert_eq!(r["errorCode"], "DEVICE_UNAVAILABLE", "{r}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while rig.audio.status()["microphone"]["available"] != false {
        assert!(Instant::now() < deadline, "the microphone notices: {}", rig.audio.status());
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("while gone: {}", rig.audio.status());

    pulse.as_mut().unwrap().restart();
    let back = Instant::now();
    let p = pulse.as_ref().unwrap();
    let rec = p.record();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = rig.call(page, "startBuzzer", json!({"beep": 200})).await;
        if r["success"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "the output comes back: {r}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let output_back = ms(back.elapsed());
    rec.wait_for(Duration::from_secs(5), |r| first_loud(r, 0).is_some())
        .expect("the beep is heard after the server returned");
    let before = events.chunks().len();
    let deadline = Instant::now() + Duration::from_secs(15);
    while events.chunks().len() < before + 5 {
        assert!(Instant::now() < deadline, "the listener resumes: {}", rig.audio.status());
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "after the server returned: output usable after {output_back:.0} ms, listener resumed after {:.0} ms",
        ms(back.elapsed())
    );
    let r = rig.call(page, "speech", json!({"text": "440 0.2"})).await;
    assert_eq!(r["success"], true, "{r}");
}

/// A cloud TTS stand-in: answers every request with `answer` and keeps what it was sent.
fn tts_server(answer: Vec<u8>) -> (u16, Arc<Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            s2.lock().unwrap().push(format!("{head}\n{}", String::from_utf8_lossy(&body)));
            let mut stream = stream;
            let _ = stream.write_all(&answer);
        }
    });
    (port, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn http_engine_speaks_what_the_endpoint_answers_and_espeak_when_it_fails() {
    let pulse = pulse().await;
    let p = pulse.as_ref().unwrap();
    let tone: Vec<i16> =
        (0..9600).map(|i| ((2.0 * std::f64::consts::PI * 700.0 * i as f64 / 24000.0).sin() * 20000.0) as i16).collect();
    let wav = booth_audio::wav::encode_s16(24000, 1, &tone);
    let mut ok = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        wav.len()
    )
    .into_bytes();
    ok.extend_from_slice(&wav);
    let (good, seen) = tts_server(ok);
    let (bad, _) =
        tts_server(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec());
    for (port, expect_tone) in [(good, true), (bad, false)] {
        let rig = Rig::new(
            SpeechConfig {
                engine: "http".into(),
                http_url: format!("http://127.0.0.1:{port}/tts?voice=x&text={{text}}"),
                http_headers: [("Authorization".to_string(), "Bearer k".to_string())].into(),
                http_body: r#"{"text": "{text}", "rate": {rate}}"#.into(),
                ..SpeechConfig::default()
            },
            buzzer_on(),
            mic_on(),
        );
        let (page, _) = rig.page("main", None);
        let rec = p.record();
        rec.wait_for(Duration::from_secs(5), |r| r.samples.len() > 4800).expect("recording runs");
        let t = Instant::now();
        let reply = rig.call(page, "speech", json!({"text": "请取\"票\"", "rate": 1.5})).await;
        assert_eq!(reply["success"], true, "{reply}");
        let from = rec.snapshot().index_at(t);
        let r = rec
            .wait_for(Duration::from_secs(10), |r| {
                let segs = analysis::segments(&r.samples[from.min(r.samples.len())..], RATE, 0.05, 4800);
                segs.first().is_some_and(|s| r.samples.len() - from > s.1 + 9600)
            })
            .expect("something is spoken");
        let segs = analysis::segments(&r.samples[from..], RATE, 0.05, 4800);
        let (s, e) = segs[0];
        let hz = analysis::zero_crossing_hz(&r.samples[from + s..from + e], RATE);
        println!("http engine (answer ok: {expect_tone}): heard {:.0} ms, {hz:.0} Hz", (e - s) as f64 / 48.0);
        if expect_tone {
            assert!((hz - 700.0).abs() < 20.0, "the endpoint's answer is played: {hz} Hz");
            let req = seen.lock().unwrap().last().cloned().unwrap();
            assert!(req.starts_with("POST /tts?voice=x&text=%E8%AF%B7%E5%8F%96%22%E7%A5%A8%22 "), "{req}");
            assert!(req.to_ascii_lowercase().contains("authorization: bearer k"), "{req}");
            assert!(req.ends_with(r#"{"text": "请取\"票\"", "rate": 1.50}"#), "{req}");
        } else {
            std::thread::sleep(Duration::from_millis(1500));
            let r = rec.snapshot();
            let segs = analysis::segments(&r.samples[from..], RATE, 0.05, 4800);
            let spoken = (segs.last().unwrap().1 - segs[0].0) as f64 / 48.0;
            println!("http engine failing: espeak-ng spoke {spoken:.0} ms in {} pieces", segs.len());
            assert!(spoken > 300.0 && segs.len() > 1, "espeak-ng speaks instead: {segs:?}");
            assert!((hz - 700.0).abs() > 50.0);
        }
        rec.stop();
    }
}

/// The device's stream runs only while something plays: a beep after a quiet spell finds it
/// closed, opens it and is heard whole, and it closes again once the beep was heard out. With
/// `keep_output_open` it runs throughout. Prints how long a beep takes to be heard either way,
/// next to a separate client's (pacat) beep.
#[tokio::test(flavor = "multi_thread")]
async fn the_output_stream_runs_only_while_something_plays() {
    let pulse = pulse().await;
    let p = pulse.as_ref().unwrap();
    let tone: Vec<i16> = (0..4800)
        .map(|i| ((f64::from(i) * 2.0 * std::f64::consts::PI * 1000.0 / f64::from(RATE)).sin() * 16000.0) as i16)
        .collect();
    for keep in [false, true] {
        let rig = Rig::new(
            SpeechConfig { engine: "none".into(), keep_output_open: keep, ..SpeechConfig::default() },
            BuzzerConfig { frequency_hz: 1000, volume: 0.5, ..buzzer_on() },
            mic_on(),
        );
        let output = rig.audio.output();
        let (page, _) = rig.page("main", None);
        let rec = p.record();
        rec.wait_for(Duration::from_secs(5), |r| r.samples.len() > 4800).expect("recording runs");
        // The stream is opened once at the start to check the device.
        let deadline = Instant::now() + Duration::from_secs(5);
        while output.streaming() != (keep, 1) {
            assert!(Instant::now() < deadline, "keep_output_open = {keep}: stream {:?}", output.streaming());
            std::thread::sleep(Duration::from_millis(10));
        }
        let (mut booth, mut direct) = (Vec::new(), Vec::new());
        let mut attempts = 0;
        while booth.len() < 4 {
            let opened = output.streaming().1;
            let (r, called, from, segs) = buzz(&rig, page, &rec, 100).await;
            // Heard out: the stream closes (or, kept open, stays), and was opened for the beep.
            let deadline = Instant::now() + Duration::from_secs(5);
            let want = if keep { (true, 1) } else { (false, opened + 1) };
            while output.streaming() != want {
                assert!(
                    Instant::now() < deadline,
                    "keep_output_open = {keep}: stream {:?}, not {want:?}",
                    output.streaming()
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            attempts += 1;
            // As in beeps_have_the_configured_frequency_and_length: a machine starved of CPU
            // can drop samples on the way, which says nothing about the beep Booth made.
            if segs.len() > 1 && attempts < 8 {
                println!("a beep arrived in {} pieces {segs:?}: measuring again", segs.len());
                continue;
            }
            assert_eq!(segs.len(), 1, "keep_output_open = {keep}: one beep: {segs:?}");
            let (s, e) = segs[0];
            let len_ms = (e - s) as f64 * 1000.0 / f64::from(RATE);
            assert!((len_ms - 100.0).abs() <= 11.0, "keep_output_open = {keep}: the beep heard whole, not {len_ms} ms");
            booth.push(r.time_of(from + s).map(|t| signed_ms(t, called)).unwrap_or(f64::NAN));
            std::thread::sleep(Duration::from_millis(200));
            let called = Instant::now();
            let mut pacat = p.play_into_speaker(&tone, RATE).expect("pacat");
            let r = rec
                .wait_for(Duration::from_secs(5), |r| first_loud(r, r.index_at(called)).is_some())
                .expect("pacat heard");
            direct.push(
                r.time_of(first_loud(&r, r.index_at(called)).unwrap_or(0))
                    .map(|t| signed_ms(t, called))
                    .unwrap_or(f64::NAN),
            );
            let _ = pacat.wait();
            std::thread::sleep(Duration::from_millis(300));
        }
        println!("keep_output_open = {keep}: call → beep heard {booth:.1?} ms; a pacat client's beep {direct:.1?} ms");
        rec.stop();
    }
}
