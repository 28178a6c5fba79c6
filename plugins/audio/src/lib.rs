//! Booth's sound (seed 000): `speech` / `speechStop` (Mandarin text-to-speech with a queue and
//! interrupt), `startBuzzer`, and the microphone — `startMicrophoneListener` /
//! `my.on('initMicrophoneListener')` / `stopMicrophoneListener` (real-time 16 kHz 16-bit mono
//! PCM), `startMicrophone` / `stopMicrophone` (one clip as MP3) and `getMicrophoneState`.
//!
//! One output device (rodio over cpal) carries speech and beeps; one capture owner (cpal) feeds
//! the listener and clips. Both are chosen by name in booth.toml, fail with
//! `DEVICE_UNAVAILABLE` while gone and are used again when they return. Engines: espeak-ng
//! (a child process: it is GPL-3.0), WinRT on Windows, an operator's command, or an HTTP
//! endpoint; text is normalised for Mandarin first and repeated sentences come from a cache.
//!
//! Not for: audio in the page itself (WebRTC, `<audio>`), which the web view plays.

pub mod buzzer;
pub mod config;
pub mod engine;
pub mod mic;
pub mod normalize;
pub mod output;
pub mod resample;
pub mod speech;
pub mod status;
pub mod wav;
#[cfg(windows)]
mod winrt;

pub use config::{BuzzerConfig, MicrophoneConfig, SpeechConfig};
pub use output::{devices, DeviceEntry};
pub use status::Status;

use base64::Engine as _;
use booth_bridge::sim::{Action, Field, SimDevice, SimError};
use booth_bridge::{handler, ApiError, Bridge, Dialect, Done, ErrorCode, EventBus, Params, SimRegistry};
use engine::{Engine, Prosody};
use mic::{MicError, Microphone, Source};
use serde_json::{json, Map, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One chunk for one page's `initMicrophoneListener`: `{voiceContent}` or `{voicecontent}`.
pub const TOPIC_CHUNK: &str = "microphone.chunk";
/// A text accepted for speech: `{text, engine}` (the simulator panel lists them).
pub const TOPIC_SPOKEN: &str = "speech.spoken";
/// A beep: `{beep, backend}`.
pub const TOPIC_BEEP: &str = "buzzer.beep";
pub const SIM_ID: &str = "audio";
/// `startBuzzer`'s accepted lengths (ms).
pub const BEEP_RANGE_MS: std::ops::RangeInclusive<i64> = 10..=5000;
/// Accepted `pitch` and `rate` (1.0 normal); engines clamp them to their own ranges.
pub const PROSODY_RANGE: std::ops::RangeInclusive<f64> = 0.1..=4.0;
/// What the simulator panel keeps.
const SIM_KEEP: usize = 20;

pub struct Audio {
    speech: Option<Arc<speech::Speech>>,
    speech_detail: Mutex<String>,
    speech_engine_ok: Arc<Mutex<Option<Result<(), String>>>>,
    buzzer: buzzer::Buzzer,
    output: Arc<output::Output>,
    mic: Arc<Microphone>,
    mic_kbps: u32,
    queue_chunks: usize,
    max_chars: usize,
    sim: bool,
    bus: EventBus,
    log: Mutex<VecDeque<Value>>,
}

/// The configured engine and the one that speaks when it fails.
type Engines = (Arc<dyn Engine>, Option<Arc<dyn Engine>>);

/// The engines of `[speech]`, or why that configuration cannot speak.
fn build_engine(s: &SpeechConfig) -> Result<Engines, String> {
    let espeak =
        || -> Arc<dyn Engine> { Arc::new(engine::Espeak { program: s.espeak.clone(), voice: s.voice.clone() }) };
    let native = || -> Result<Arc<dyn Engine>, String> {
        #[cfg(windows)]
        {
            Ok(Arc::new(winrt::WinRt::new(&s.winrt_voice)))
        }
        #[cfg(not(windows))]
        {
            Ok(espeak())
        }
    };
    match s.engine.as_str() {
        "auto" => Ok((native()?, None)),
        "espeak" => Ok((espeak(), None)),
        "winrt" => {
            #[cfg(windows)]
            {
                Ok((native()?, None))
            }
            #[cfg(not(windows))]
            {
                Err("speech.engine = \"winrt\" 仅适用于 Windows".into())
            }
        }
        "command" => Ok((
            Arc::new(engine::Command {
                argv: s.command.clone(),
                raw_rate: (s.command_raw_rate > 0).then_some(s.command_raw_rate),
            }),
            None,
        )),
        "http" => Ok((
            Arc::new(engine::Http {
                url: s.http_url.clone(),
                method: s.http_method.clone(),
                headers: s.http_headers.clone(),
                body: s.http_body.clone(),
                timeout: Duration::from_millis(s.http_timeout_ms.max(100)),
            }),
            Some(native()?),
        )),
        _ => Err("未配置语音播报 (booth.toml [speech] engine = \"none\")".into()),
    }
}

impl Audio {
    /// Starts the output, the speech worker and the microphone owner. With `sim` (or
    /// `[microphone] backend = "sim"`), the microphone hears the simulator's source
    /// (`[microphone] sim_wav`, else a tone) and speech and beeps are accepted even without an
    /// output device (the panel lists them).
    pub fn start(s: &SpeechConfig, b: &BuzzerConfig, m: &MicrophoneConfig, sim: bool, bus: EventBus) -> Arc<Audio> {
        let sim = sim || m.backend == "sim";
        // The simulator speaks and beeps through the real output when there is one.
        let s = &SpeechConfig {
            engine: if sim && s.engine == "none" { "auto".into() } else { s.engine.clone() },
            ..s.clone()
        };
        let b = &BuzzerConfig {
            backend: if sim && b.backend == "none" { "output".into() } else { b.backend.clone() },
            ..b.clone()
        };
        let output = output::Output::start(s.device.clone(), s.buffer_ms, s.keep_output_open);
        let engine_ok: Arc<Mutex<Option<Result<(), String>>>> = Arc::default();
        let (speech, speech_detail) = match build_engine(s) {
            Ok((engine, fallback)) => {
                probe(&*engine, s, engine_ok.clone());
                let options = speech::SpeechOptions {
                    money: s.money,
                    normalize: s.normalize,
                    volume: s.volume,
                    cache_bytes: s.cache_mb as usize * 1024 * 1024,
                };
                let name = engine.name().to_string();
                (Some(speech::Speech::start(engine, fallback, output.clone(), options)), name)
            }
            Err(why) => (None, why),
        };
        let buzzer_backend = match b.backend.as_str() {
            "output" => buzzer::Backend::Output { frequency_hz: b.frequency_hz, volume: b.volume },
            "serial" => buzzer::Backend::Serial {
                port: b.port.clone(),
                baud: b.baud,
                on: buzzer::unescape(&b.on),
                off: buzzer::unescape(&b.off),
            },
            _ => buzzer::Backend::None,
        };
        let source = if sim {
            sim_source(m)
        } else if m.backend == "device" {
            Source::Device(m.device.clone())
        } else {
            Source::None
        };
        Arc::new(Audio {
            speech,
            speech_detail: Mutex::new(speech_detail),
            speech_engine_ok: engine_ok,
            buzzer: buzzer::Buzzer::new(buzzer_backend, output.clone()),
            output,
            mic: Microphone::new(source, m.chunk_ms, m.max_clip_s),
            mic_kbps: m.clip_kbps,
            queue_chunks: m.queue_chunks,
            max_chars: s.max_chars,
            sim,
            bus,
            log: Mutex::default(),
        })
    }

    /// The output (tests and the self-test wait for it).
    pub fn output(&self) -> &output::Output {
        &self.output
    }

    pub fn microphone(&self) -> &Arc<Microphone> {
        &self.mic
    }

    pub fn speech(&self) -> Option<&Arc<speech::Speech>> {
        self.speech.as_ref()
    }

    fn speech_status(&self) -> Status {
        let detail = self.speech_detail.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(sp) = &self.speech else { return Status::new("none", false, detail) };
        let engine = sp.engine_name();
        let engine_error =
            self.speech_engine_ok.lock().unwrap_or_else(|p| p.into_inner()).clone().and_then(Result::err);
        let out = self.output.status();
        if self.sim {
            // The simulator accepts every text (the panel lists it) and plays what it can.
            let why = engine_error.unwrap_or_else(|| out.detail.clone());
            return Status::new(engine, true, format!("simulated: {engine} ({why})"));
        }
        if let Some(why) = engine_error {
            return Status::new(engine, false, why);
        }
        Status::new(engine, out.available, format!("{detail} → {}", out.detail))
    }

    /// `/health`: speech, buzzer and microphone, each `{backend, available, detail, …}`.
    pub fn status(&self) -> Value {
        let out = self.output.status();
        let buzzer = match self.buzzer.backend_name() {
            "output" => Status::new("output", out.available || self.sim, out.detail.clone()),
            "serial" => Status::new("serial", true, "serial buzzer (checked at each beep)"),
            _ => Status::new("none", false, "未配置蜂鸣器 (booth.toml [buzzer])"),
        };
        let m = self.mic.status();
        let (dropped, overruns) = self.mic.losses();
        let st = self.mic.state();
        json!({
            "speech": self.speech_status(),
            "buzzer": buzzer,
            "microphone": {
                "backend": m.backend, "available": m.available, "detail": m.detail,
                "listening": st.listener, "recording": st.clip_recording,
                "droppedChunks": dropped, "overrunSamples": overruns,
            },
        })
    }

    /// The admin screen's self-test: a 1 kHz tone of 300 ms through the output, then the
    /// microphone's level over one second.
    pub fn self_test(&self) -> Value {
        let tone = match self.output.mixer() {
            Ok(_) => {
                let played = buzzer::Buzzer::new(
                    buzzer::Backend::Output { frequency_hz: 1000, volume: 0.5 },
                    self.output.clone(),
                )
                .beep(300);
                json!({"ok": played.is_ok(), "detail": played.err().unwrap_or_else(|| "1 kHz, 300 ms".into())})
            }
            Err(why) => json!({"ok": false, "detail": why}),
        };
        let owner = u64::MAX;
        let level = match self.mic.start_clip(owner) {
            Ok(()) => {
                std::thread::sleep(Duration::from_secs(1));
                match self.mic.stop_clip(Some(owner)) {
                    Ok(samples) => {
                        let (rms, peak) = levels(&samples);
                        json!({"ok": true, "rmsDb": rms, "peakDb": peak, "detail": format!("{rms:.1} dBFS rms, {peak:.1} dBFS peak")})
                    }
                    Err(e) => json!({"ok": false, "detail": e.to_string()}),
                }
            }
            Err(e) => json!({"ok": false, "detail": e.to_string()}),
        };
        let ok = tone["ok"] == true && level["ok"] == true;
        json!({"ok": ok, "detail": format!("tone: {}; microphone: {}", tone["detail"].as_str().unwrap_or(""), level["detail"].as_str().unwrap_or("")), "tone": tone, "microphone": level})
    }

    pub fn shutdown(&self) {
        if let Some(s) = &self.speech {
            s.shutdown();
        }
        self.mic.stop_listener(None);
        let _ = self.mic.stop_clip(None);
        self.output.shutdown();
    }

    fn note(&self, entry: Value) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.push_back(entry);
        while log.len() > SIM_KEEP {
            log.pop_front();
        }
    }

    pub fn register_sim(self: &Arc<Self>, sims: &SimRegistry) {
        if self.sim {
            sims.register(Arc::new(AudioSim(self.clone())));
        } else {
            sims.note_real(SIM_ID, "device");
        }
    }

    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "speech",
            None,
            handler(move |_ctx, params| {
                let me = me.clone();
                async move {
                    let (text, prosody, interrupt) = speech_params(&params, me.max_chars)?;
                    let sp = me.speech_ready()?;
                    sp.speak(&text, prosody, interrupt);
                    me.note(json!({"kind": "speech", "text": text, "interrupt": interrupt}));
                    me.bus.publish(TOPIC_SPOKEN, json!({"text": text, "engine": sp.engine_name()}));
                    Ok(Done::from(json!({})))
                }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "speechStop",
            None,
            handler(move |_ctx, _params| {
                let me = me.clone();
                async move {
                    match &me.speech {
                        Some(sp) => sp.stop(),
                        None => return Err(ApiError::unavailable(me.speech_status().detail)),
                    }
                    me.note(json!({"kind": "speechStop"}));
                    Ok(Done::from(json!({})))
                }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "startBuzzer",
            None,
            handler(move |_ctx, params| {
                let me = me.clone();
                async move {
                    let ms =
                        params.int_in("beep", BEEP_RANGE_MS)?.ok_or_else(|| ApiError::invalid("缺少 beep (毫秒)"))?;
                    let me2 = me.clone();
                    let started = tokio::task::spawn_blocking(move || me2.buzzer.beep(ms as u32))
                        .await
                        .unwrap_or_else(|e| Err(e.to_string()));
                    match started {
                        Ok(()) => {}
                        Err(_) if me.sim && me.buzzer.backend_name() == "output" => {}
                        Err(why) => return Err(ApiError::unavailable(why)),
                    }
                    me.note(json!({"kind": "beep", "beep": ms}));
                    me.bus.publish(TOPIC_BEEP, json!({"beep": ms, "backend": me.buzzer.backend_name()}));
                    Ok(Done::from(json!({})))
                }
            }),
        );
        bridge.register_event(
            Dialect::My,
            "initMicrophoneListener",
            TOPIC_CHUNK,
            Arc::new(|p: &Value| Some(p.clone())),
        );
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "startMicrophoneListener",
            None,
            handler(move |ctx, params| {
                let me = me.clone();
                async move {
                    // intervalTime: deprecated since 2.9.0 (seed 000); accepted and ignored.
                    let source_data = params.bool("isMicrophoneSourceData")?.unwrap_or(false);
                    let session = ctx.session.id();
                    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<i16>>(me.queue_chunks);
                    let mic = me.mic.clone();
                    let sink: mic::ChunkSink = Box::new(move |chunk: &[i16]| match tx.try_send(chunk.to_vec()) {
                        Ok(()) => true,
                        Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {
                            mic.count_dropped();
                            true
                        }
                        Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => false,
                    });
                    let m2 = me.clone();
                    tokio::task::spawn_blocking(move || m2.mic.start_listener(session, sink))
                        .await
                        .unwrap_or_else(|e| Err(MicError::Unavailable(e.to_string())))
                        .map_err(mic_error)?;
                    let (bus, mic, cancel) = (ctx.bus.clone(), me.mic.clone(), ctx.cancel.clone());
                    tokio::spawn(async move {
                        loop {
                            let chunk = tokio::select! {
                                c = rx.recv() => match c { Some(c) => c, None => break },
                                _ = cancel.cancelled() => break,
                            };
                            if !bus.publish_to(session, TOPIC_CHUNK, render_chunk(&chunk, source_data)) {
                                break;
                            }
                        }
                        // The page went away (or the listener was stopped): nothing keeps recording for it.
                        mic.stop_listener(Some(session));
                    });
                    tracing::info!(session, source_data, "microphone listener started");
                    Ok(Done::from(json!({})))
                }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "stopMicrophoneListener",
            None,
            handler(move |_ctx, _params| {
                let me = me.clone();
                async move {
                    me.mic_configured()?;
                    me.mic.stop_listener(None);
                    Ok(Done::from(json!({})))
                }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "startMicrophone",
            None,
            handler(move |ctx, _params| {
                let me = me.clone();
                async move {
                    let session = ctx.session.id();
                    let m2 = me.clone();
                    tokio::task::spawn_blocking(move || m2.mic.start_clip(session))
                        .await
                        .unwrap_or_else(|e| Err(MicError::Unavailable(e.to_string())))
                        .map_err(mic_error)?;
                    let (mic, cancel) = (me.mic.clone(), ctx.cancel.clone());
                    tokio::spawn(async move {
                        cancel.cancelled().await;
                        mic.release(session);
                    });
                    Ok(Done::from(json!({})))
                }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "stopMicrophone",
            Some(Duration::from_secs(30)),
            handler(move |_ctx, _params| {
                let me = me.clone();
                async move {
                    me.mic_configured()?;
                    let samples = me.mic.stop_clip(None).map_err(mic_error)?;
                    let kbps = me.mic_kbps;
                    let mp3 = tokio::task::spawn_blocking(move || mic::encode_mp3(&samples, kbps))
                        .await
                        .unwrap_or_else(|e| Err(e.to_string()))
                        .map_err(|e| ApiError::new(ErrorCode::Internal, e))?;
                    let b64 = base64::engine::general_purpose::STANDARD.encode(mp3);
                    Ok(Done::from(json!({ "voiceContent": b64 })))
                }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "getMicrophoneState",
            None,
            handler(move |_ctx, _params| {
                let me = me.clone();
                async move {
                    let st = me.mic.state();
                    Ok(Done::from(json!({
                        "microphoneListenerState": i32::from(st.listener),
                        "microphoneState": i32::from(st.clip_recording),
                    })))
                }
            }),
        );
    }

    fn speech_ready(&self) -> Result<&Arc<speech::Speech>, ApiError> {
        let status = self.speech_status();
        match &self.speech {
            Some(sp) if status.available => Ok(sp),
            _ => Err(ApiError::unavailable(status.detail)),
        }
    }

    fn mic_configured(&self) -> Result<(), ApiError> {
        let s = self.mic.status();
        if s.backend == "none" {
            return Err(ApiError::unavailable(s.detail));
        }
        Ok(())
    }
}

fn mic_error(e: MicError) -> ApiError {
    match e {
        MicError::Unavailable(why) => ApiError::unavailable(why),
        MicError::Busy(why) => ApiError::new(ErrorCode::Busy, why),
        MicError::NoClip(why) => ApiError::new(ErrorCode::DeviceError, why),
    }
}

/// `{voiceContent: base64}`, or with `isMicrophoneSourceData` the seed's `{voicecontent:
/// "[-106,-1,…]"}`: the PCM bytes as signed bytes, written as a JSON array in a string.
pub fn render_chunk(chunk: &[i16], source_data: bool) -> Value {
    let bytes: Vec<u8> = chunk.iter().flat_map(|s| s.to_le_bytes()).collect();
    if source_data {
        let mut s = String::with_capacity(bytes.len() * 4 + 2);
        s.push('[');
        for (i, b) in bytes.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&(*b as i8).to_string());
        }
        s.push(']');
        json!({ "voicecontent": s })
    } else {
        json!({ "voiceContent": base64::engine::general_purpose::STANDARD.encode(bytes) })
    }
}

/// Reads speech's parameters: text (required, not blank, at most `max_chars`), pitch and rate
/// (numbers or numeric strings within [`PROSODY_RANGE`]), speechQueue 0 or 1.
pub fn speech_params(p: &Params, max_chars: usize) -> Result<(String, Prosody, bool), ApiError> {
    let text = p.str("text")?.ok_or_else(|| ApiError::invalid("缺少 text"))?;
    if text.trim().is_empty() {
        return Err(ApiError::invalid("text 不能为空"));
    }
    let n = text.chars().count();
    if n > max_chars {
        return Err(ApiError::invalid(format!("text 过长: {n} 字, 上限 {max_chars} 字")));
    }
    let float = |key: &str| -> Result<f32, ApiError> {
        let v = match p.get(key) {
            None => return Ok(1.0),
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().trim_end_matches(['f', 'F']).parse::<f64>().ok(),
            Some(_) => None,
        };
        match v {
            Some(v) if PROSODY_RANGE.contains(&v) => Ok(v as f32),
            Some(v) => Err(ApiError::invalid(format!(
                "{key} 应在 {} 到 {} 之间, 收到 {v}",
                PROSODY_RANGE.start(),
                PROSODY_RANGE.end()
            ))),
            None => Err(ApiError::invalid(format!("{key} 应为数字 (1.0 为正常)"))),
        }
    };
    let prosody = Prosody { pitch: float("pitch")?, rate: float("rate")? };
    let interrupt = p.int_in("speechQueue", 0..=1)?.unwrap_or(0) == 1;
    Ok((text.to_string(), prosody, interrupt))
}

/// RMS and peak of a clip in dBFS.
pub fn levels(samples: &[i16]) -> (f64, f64) {
    if samples.is_empty() {
        return (-120.0, -120.0);
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / samples.len() as f64).sqrt() / 32768.0;
    let peak = samples.iter().map(|&s| f64::from(s).abs()).fold(0.0, f64::max) / 32768.0;
    let db = |v: f64| if v <= 1e-6 { -120.0 } else { 20.0 * v.log10() };
    (db(rms), db(peak))
}

/// Checks in the background that the engine can run (espeak-ng installed), so that calls get
/// `DEVICE_UNAVAILABLE` with the reason rather than silence.
fn probe(engine: &dyn Engine, s: &SpeechConfig, slot: Arc<Mutex<Option<Result<(), String>>>>) {
    if engine.name() != "espeak" {
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Ok(()));
        return;
    }
    let program = s.espeak.clone();
    std::thread::spawn(move || {
        let r = std::process::Command::new(&program)
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let result = match r {
            Ok(st) if st.success() => Ok(()),
            Ok(st) => Err(format!("{program} --version: {st}")),
            Err(e) => Err(format!("{program}: {e} (apt-get install espeak-ng)")),
        };
        if let Err(why) = &result {
            tracing::warn!(why, "speech engine unavailable");
        }
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
    });
}

fn sim_source(m: &MicrophoneConfig) -> Source {
    if !m.sim_wav.is_empty() {
        match std::fs::File::open(&m.sim_wav)
            .map_err(|e| e.to_string())
            .and_then(|f| wav::decode_all(std::io::BufReader::new(f)).map_err(|e| e.to_string()))
        {
            Ok((rate, samples)) if !samples.is_empty() => return Source::Recording(rate, samples.into()),
            Ok(_) => tracing::warn!(file = %m.sim_wav, "simulated microphone: empty WAV; using a tone"),
            Err(e) => tracing::warn!(file = %m.sim_wav, error = %e, "simulated microphone: cannot read; using a tone"),
        }
    }
    Source::Tone(m.sim_tone_hz)
}

struct AudioSim(Arc<Audio>);

impl SimDevice for AudioSim {
    fn id(&self) -> &'static str {
        SIM_ID
    }
    fn label(&self) -> &'static str {
        "声音 Sound"
    }
    fn actions(&self) -> Vec<Action> {
        vec![
            Action::new(
                "microphone",
                "麦克风输入 Microphone input",
                vec![
                    Field::choice("source", "声源 Source", &["tone", "wav", "silence"], "tone"),
                    Field::integer("hz", "频率 Hz", 440),
                    Field::text("path", "WAV 文件 WAV file", ""),
                ],
            ),
            Action::new("clear", "清空记录 Clear", vec![]),
        ]
    }
    fn state(&self) -> Value {
        let log: Vec<Value> = self.0.log.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect();
        json!({"status": self.0.status(), "played": log})
    }
    fn act(&self, action: &str, args: &Map<String, Value>) -> Result<Value, SimError> {
        match action {
            "clear" => self.0.log.lock().unwrap_or_else(|p| p.into_inner()).clear(),
            "microphone" => {
                let source = match args.get("source").and_then(Value::as_str) {
                    Some("wav") => {
                        let path = args.get("path").and_then(Value::as_str).unwrap_or("");
                        let f = std::fs::File::open(path)
                            .map_err(|e| SimError::InvalidArgs(format!("path: {path}: {e}")))?;
                        let (rate, samples) = wav::decode_all(std::io::BufReader::new(f))
                            .map_err(|e| SimError::InvalidArgs(format!("path: {path}: {e}")))?;
                        Source::Recording(rate, samples.into())
                    }
                    Some("silence") => Source::Tone(0),
                    _ => {
                        let hz = args.get("hz").and_then(Value::as_i64).unwrap_or(440);
                        if !(20..=8000).contains(&hz) {
                            return Err(SimError::InvalidArgs("hz: 20–8000".into()));
                        }
                        Source::Tone(hz as u32)
                    }
                };
                self.0.mic.set_source(source);
            }
            _ => {}
        }
        Ok(self.state())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: Value) -> Params {
        Params(v.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn speech_params_follow_the_seed_and_refuse_the_rest() {
        let (t, pr, i) = speech_params(&p(json!({"text": "你好"})), 100).unwrap();
        assert_eq!((t.as_str(), pr, i), ("你好", Prosody::default(), false));
        let (_, pr, i) =
            speech_params(&p(json!({"text": "a", "pitch": 1.5, "rate": "0.8f", "speechQueue": "1"})), 100).unwrap();
        assert_eq!((pr.pitch, pr.rate, i), (1.5, 0.8, true));
        for bad in [
            json!({}),
            json!({"text": ""}),
            json!({"text": "  "}),
            json!({"text": 5}),
            json!({"text": "a", "pitch": "high"}),
            json!({"text": "a", "pitch": 0}),
            json!({"text": "a", "rate": 10}),
            json!({"text": "a", "rate": true}),
            json!({"text": "a", "speechQueue": 2}),
            json!({"text": "a", "speechQueue": "x"}),
            json!({"text": "长".repeat(101)}),
        ] {
            let e = speech_params(&p(bad.clone()), 100).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidParams, "{bad}");
        }
    }

    #[test]
    fn chunks_render_both_ways() {
        let c = [1i16, -2];
        assert_eq!(render_chunk(&c, false), json!({"voiceContent": "AQD+/w=="}));
        assert_eq!(render_chunk(&c, true), json!({"voicecontent": "[1,0,-2,-1]"}));
    }

    #[test]
    fn levels_in_dbfs() {
        let (rms, peak) = levels(&[16384, -16384]);
        assert!((rms + 6.02).abs() < 0.05 && (peak + 6.02).abs() < 0.05);
        assert_eq!(levels(&[]).0, -120.0);
    }
}
