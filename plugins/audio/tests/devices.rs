//! Sound parts that need no sound server: the serial buzzer on a socat pty pair, the
//! simulated microphone, the simulator panel's log and configuration checks.

use base64::Engine as _;
use booth_audio::{config, Audio, BuzzerConfig, MicrophoneConfig, SpeechConfig};
use booth_bridge::{Bridge, Dialect, Family, Screen, SessionInfo, SimRegistry};
use booth_testkit::events::Collect;
use booth_testkit::pty::Socat;
use serde_json::{json, Value};
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn session(bridge: &Bridge, page: Arc<Collect>) -> u64 {
    let info = SessionInfo {
        key: "main".into(),
        package_id: "test.audio".into(),
        permissions: [Family::Speech, Family::Buzzer, Family::Microphone].into_iter().collect(),
        dialects: [Dialect::My].into_iter().collect(),
        screen: Screen::Front,
        url: "booth://localhost/".into(),
    };
    let id = bridge.open_session(info, page);
    bridge.subscribe(id, Dialect::My, "initMicrophoneListener").unwrap();
    id
}

async fn call(bridge: &Bridge, id: u64, action: &str, params: Value) -> Value {
    let req = json!({"action": action, "event": "open", "taskId": "7", "params": params});
    bridge.call(id, Dialect::My, "ampeHHCommunication", &req.to_string()).await.body
}

#[tokio::test(flavor = "multi_thread")]
async fn serial_buzzer_gets_on_then_off_after_the_beep_and_unplug_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let mut socat = Socat::start(dir.path());
    let bridge = Bridge::default();
    let buzzer = BuzzerConfig {
        backend: "serial".into(),
        port: socat.app().display().to_string(),
        on: r"BEEP\x01\r\n".into(),
        off: r"BEEP\x00\r\n".into(),
        ..BuzzerConfig::default()
    };
    let audio = Audio::start(&SpeechConfig::default(), &buzzer, &MicrophoneConfig::default(), false, bridge.bus());
    audio.register(&bridge);
    let id = session(&bridge, Arc::default());
    let mut dev =
        serialport::new(socat.dev().display().to_string(), 9600).timeout(Duration::from_millis(50)).open().unwrap();
    let t = Instant::now();
    let reply = call(&bridge, id, "startBuzzer", json!({"beep": "300"})).await;
    assert_eq!(reply["success"], true, "{reply}");
    assert_eq!(reply["message"], "成功");
    let mut got = Vec::new();
    let mut on_at = None;
    let deadline = Instant::now() + Duration::from_secs(3);
    while got.len() < 14 && Instant::now() < deadline {
        let mut buf = [0u8; 64];
        if let Ok(n) = dev.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
            if got.len() >= 7 {
                on_at.get_or_insert(t.elapsed());
            }
        }
    }
    let off_at = t.elapsed();
    assert_eq!(got, b"BEEP\x01\r\nBEEP\x00\r\n");
    let on = on_at.unwrap().as_millis();
    assert!(off_at.as_millis() >= 300 && off_at.as_millis() < 600, "on at {on} ms, off at {:?}", off_at);
    socat.kill();
    let reply = call(&bridge, id, "startBuzzer", json!({"beep": 50})).await;
    assert_eq!(reply["errorCode"], "DEVICE_UNAVAILABLE", "{reply}");
    socat.restart();
    let reply = call(&bridge, id, "startBuzzer", json!({"beep": 50})).await;
    assert_eq!(reply["success"], true, "the buzzer works again after replug: {reply}");
    audio.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn simulated_microphone_streams_its_tone_and_the_panel_lists_speech_and_beeps() {
    let bridge = Bridge::default();
    let sims = SimRegistry::default();
    let mic = MicrophoneConfig { sim_tone_hz: 1000, ..MicrophoneConfig::default() };
    // No sound server here: speech and beeps are still accepted and listed under the simulator.
    let audio = Audio::start(&SpeechConfig::default(), &BuzzerConfig::default(), &mic, true, bridge.bus());
    audio.register(&bridge);
    audio.register_sim(&sims);
    let page = Arc::new(Collect::default());
    let id = session(&bridge, page.clone());
    assert_eq!(call(&bridge, id, "speech", json!({"text": "请取走您的小票"})).await["success"], true);
    assert_eq!(call(&bridge, id, "startBuzzer", json!({"beep": 100})).await["success"], true);
    let reply = call(&bridge, id, "startMicrophoneListener", json!({"isMicrophoneSourceData": true})).await;
    assert_eq!(reply["success"], true, "{reply}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while page.data_of("initMicrophoneListener").len() < 10 {
        assert!(Instant::now() < deadline, "simulated chunks arrive");
        std::thread::sleep(Duration::from_millis(10));
    }
    call(&bridge, id, "stopMicrophoneListener", json!({})).await;
    let chunks = page.data_of("initMicrophoneListener");
    let text = chunks[5]["voicecontent"].as_str().expect("the seed's key for source data");
    let bytes: Vec<i8> = serde_json::from_str(text).expect("a JSON array of signed bytes");
    assert_eq!(bytes.len(), 1280);
    let samples: Vec<i16> = bytes.chunks(2).map(|b| i16::from_le_bytes([b[0] as u8, b[1] as u8])).collect();
    let crossings = samples.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    assert!((39..=41).contains(&crossings), "1 kHz for 40 ms: {crossings} cycles");
    let state = sims.describe();
    let audio_sim = state["devices"].as_array().unwrap().iter().find(|d| d["id"] == "audio").unwrap();
    let played = audio_sim["state"]["played"].as_array().unwrap();
    assert_eq!(played[0]["text"], "请取走您的小票");
    assert_eq!(played[1]["beep"], 100);
    // The panel switches the microphone to a recording.
    let dir = tempfile::tempdir().unwrap();
    let wav_path = dir.path().join("hello.wav");
    let ramp: Vec<i16> = (0..16_000).map(|i| ((i % 160) as i16 - 80) * 100).collect();
    std::fs::write(&wav_path, booth_audio::wav::encode_s16(16_000, 1, &ramp)).unwrap();
    sims.act("audio", "microphone", &json!({"source": "wav", "path": wav_path.display().to_string()})).unwrap();
    assert!(sims.act("audio", "microphone", &json!({"source": "wav", "path": "/nonexistent.wav"})).is_err());
    let before = page.data_of("initMicrophoneListener").len();
    let reply = call(&bridge, id, "startMicrophoneListener", json!({})).await;
    assert_eq!(reply["success"], true, "{reply}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while page.data_of("initMicrophoneListener").len() < before + 5 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    let last = page.data_of("initMicrophoneListener").last().cloned().unwrap();
    let pcm = base64::engine::general_purpose::STANDARD.decode(last["voiceContent"].as_str().unwrap()).unwrap();
    let max = pcm.chunks(2).map(|b| i16::from_le_bytes([b[0], b[1]]).unsigned_abs()).max().unwrap();
    assert!((7000..=8500).contains(&max), "the recording is heard (peak {max})");
    audio.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_configured_answers_device_unavailable() {
    let bridge = Bridge::default();
    let audio = Audio::start(
        &SpeechConfig { engine: "none".into(), ..SpeechConfig::default() },
        &BuzzerConfig { backend: "none".into(), ..BuzzerConfig::default() },
        &MicrophoneConfig { backend: "none".into(), ..MicrophoneConfig::default() },
        false,
        bridge.bus(),
    );
    audio.register(&bridge);
    let id = session(&bridge, Arc::default());
    for (action, params) in [
        ("speech", json!({"text": "你好"})),
        ("speechStop", json!({})),
        ("startBuzzer", json!({"beep": 50})),
        ("startMicrophoneListener", json!({})),
        ("stopMicrophoneListener", json!({})),
        ("startMicrophone", json!({})),
        ("stopMicrophone", json!({})),
    ] {
        let r = call(&bridge, id, action, params).await;
        assert_eq!(r["errorCode"], "DEVICE_UNAVAILABLE", "{action}: {r}");
        assert!(r["message"].as_str().unwrap().starts_with("设备不可用"), "{r}");
    }
    let r = call(&bridge, id, "getMicrophoneState", json!({})).await;
    assert_eq!(r["data"], json!({"microphoneListenerState": 0, "microphoneState": 0}));
    // Bad input is refused before the device is looked at.
    let r = call(&bridge, id, "speech", json!({"text": ""})).await;
    assert_eq!(r["errorCode"], "INVALID_PARAMS");
    let r = call(&bridge, id, "startMicrophoneListener", json!({"isMicrophoneSourceData": "yes"})).await;
    assert_eq!(r["errorCode"], "INVALID_PARAMS");
    let status = audio.status();
    assert_eq!(status["speech"]["available"], false);
    assert_eq!(status["microphone"]["backend"], "none");
}

#[test]
fn configuration_is_checked() {
    let (s, b, m) = (SpeechConfig::default(), BuzzerConfig::default(), MicrophoneConfig::default());
    assert!(config::validate(&s, &b, &m).is_ok());
    let bad_engine = SpeechConfig { engine: "festival".into(), ..s.clone() };
    assert!(config::validate(&bad_engine, &b, &m).unwrap_err().starts_with("speech.engine"));
    let no_cmd = SpeechConfig { engine: "command".into(), ..s.clone() };
    assert!(config::validate(&no_cmd, &b, &m).is_err());
    let serial_without_port = BuzzerConfig { backend: "serial".into(), ..b.clone() };
    assert!(config::validate(&s, &serial_without_port, &m).is_err());
    let chunk = MicrophoneConfig { chunk_ms: 5, ..m.clone() };
    assert!(config::validate(&s, &b, &chunk).unwrap_err().starts_with("microphone.chunk_ms"));
    let parsed: SpeechConfig = serde_json::from_value(json!({"engine": "espeak", "money": "decimal"})).unwrap();
    assert_eq!(parsed.money, booth_audio::normalize::Money::Decimal);
    assert!(serde_json::from_value::<SpeechConfig>(json!({"engin": "espeak"})).is_err(), "unknown keys are refused");
}

/// A terminal without a sound card: ALSA's complaints must not reach stderr, however often
/// the output looks for the device again (they go to Booth's log once, with the error). Run in
/// a child process of this test binary with an ALSA configuration that knows no device, so
/// that the stderr checked is the child's alone and the machine's sound setup does not matter.
#[cfg(target_os = "linux")]
#[test]
fn no_sound_card_keeps_alsa_off_stderr() {
    if std::env::var_os("BOOTH_TEST_NO_SOUND_CHILD").is_some() {
        let audio = Audio::start(
            &SpeechConfig { engine: "none".into(), ..SpeechConfig::default() },
            &BuzzerConfig { backend: "none".into(), ..BuzzerConfig::default() },
            &MicrophoneConfig { backend: "none".into(), ..MicrophoneConfig::default() },
            false,
            Bridge::default().bus(),
        );
        // Within 2.5 s the output thread looks for the device four times (0, 0.5, 1.5, 3.5 s
        // minus the time an attempt takes: at least three).
        assert!(!audio.output().wait_open(Duration::from_millis(2500)));
        assert!(!booth_audio::devices().iter().any(|d| d.output && d.default_output));
        println!("child detail: {}", audio.output().status().detail);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("alsa.conf");
    std::fs::write(&conf, "# no devices\n").unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "no_sound_card_keeps_alsa_off_stderr", "--nocapture", "--test-threads=1"])
        .env("BOOTH_TEST_NO_SOUND_CHILD", "1")
        .env("ALSA_CONFIG_PATH", &conf)
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("child detail:"), "{stdout}");
    assert!(!stdout.contains("child detail: 默认输出设备: 尚未打开"), "no attempt was made: {stdout}");
    assert!(!stderr.contains("ALSA"), "ALSA printed on stderr:\n{stderr}");
}

/// A listener started just as the capture thread decides to end (its last listener stopped)
/// must get a running microphone, not wait for a thread that is leaving.
#[test]
fn a_listener_started_right_after_a_stop_always_gets_the_microphone() {
    use booth_audio::mic::{Microphone, Source};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mic = Microphone::new(Source::Tone(440), 10, 5);
    for round in 0..200 {
        let got = Arc::new(AtomicUsize::new(0));
        let seen = got.clone();
        let sink = Box::new(move |_: &[i16]| {
            seen.fetch_add(1, Ordering::Relaxed);
            true
        });
        mic.start_listener(1, sink).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(5);
        while got.load(Ordering::Relaxed) == 0 {
            assert!(Instant::now() < deadline, "round {round}: no chunk");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(mic.stop_listener(Some(1)));
        // The capture thread notices the stop within one round; start again before, during
        // and after that moment.
        std::thread::sleep(Duration::from_micros(round % 25 * 500));
    }
}

/// A start while the capture thread pauses after a fault is answered by a new attempt, not by
/// the fault that came before it: the device (here the simulator's source) may be back.
#[test]
fn a_start_after_a_fault_tries_the_device_again_instead_of_repeating_the_old_error() {
    use booth_audio::mic::{Microphone, Source};
    let mic = Microphone::new(Source::Tone(440), 10, 5);
    let sink = || Box::new(|_: &[i16]| true);
    mic.start_listener(1, sink()).expect("the simulated microphone opens");
    // The source becomes a device that does not exist: the capture thread fails and pauses.
    mic.set_source(Source::Device("booth-no-such-microphone".into()));
    let deadline = Instant::now() + Duration::from_secs(5);
    while mic.status().available {
        assert!(Instant::now() < deadline, "the failure is noticed");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Into the pause (500 ms): the failure is recorded just after it is reported.
    std::thread::sleep(Duration::from_millis(50));
    // Back within the pause: the same page starts again and gets the microphone.
    mic.set_source(Source::Tone(440));
    mic.start_listener(1, sink()).expect("a new attempt, not the old error");
    assert!(mic.status().available);
    assert!(mic.stop_listener(Some(1)));
}
