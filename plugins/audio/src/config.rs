//! booth.toml's `[speech]`, `[buzzer]` and `[microphone]` sections.

use crate::normalize::Money;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[speech]`: the engine, its voice, and the output device (which the buzzer shares).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeechConfig {
    /// `auto` (espeak-ng on Linux, WinRT on Windows) | `espeak` | `winrt` | `command` | `http` |
    /// `none` (the default: calls answer DEVICE_UNAVAILABLE; `--sim` and `booth dev` use `auto`).
    pub engine: String,
    /// Output device: a part of its id or name as `booth doctor` lists them; "" = the system's default.
    pub device: String,
    /// The output device's buffer (5–200 ms): an interrupt or speechStop is heard about this
    /// much after the call; too small underruns on a busy machine.
    pub buffer_ms: u32,
    /// Keep the output device's stream running between sounds, playing silence: for a sound
    /// card that clicks when it is opened. Every sound then starts up to two buffers later;
    /// by default the stream runs only while something plays.
    pub keep_output_open: bool,
    /// espeak-ng's program and voice (`cmn-latn-pinyin`; Debian's `cmn` voice is broken).
    pub espeak: String,
    pub voice: String,
    /// WinRT: a part of the voice's name (`Huihui`, `Yaoyao`, `Kangkang`); "" = the first zh-CN voice.
    pub winrt_voice: String,
    /// engine = "command": program and arguments; `{text}`, `{pitch}`, `{rate}` are filled in
    /// (without `{text}` the text goes to its stdin). It writes WAV to stdout …
    pub command: Vec<String>,
    /// … or raw signed 16-bit mono PCM at this rate when set (0 = WAV).
    pub command_raw_rate: u32,
    /// engine = "http": URL (`{text}` percent-encoded), method, headers and body (`{text}`
    /// JSON-escaped). The answer must be WAV. On failure espeak-ng speaks instead.
    pub http_url: String,
    pub http_method: String,
    pub http_headers: BTreeMap<String, String>,
    pub http_body: String,
    pub http_timeout_ms: u64,
    /// Amounts: `yuan_jiao` (12.50元 → 十二元五角) | `decimal` (十二点五零元).
    pub money: Money,
    /// Read amounts, dates, times and numbers as words before synthesis.
    pub normalize: bool,
    /// 0.0–1.0 (espeak-ng peaks at full scale).
    pub volume: f32,
    /// Phrase cache size in MB (0 = off).
    pub cache_mb: u32,
    /// Longest accepted text, in characters.
    pub max_chars: usize,
}

impl Default for SpeechConfig {
    fn default() -> Self {
        SpeechConfig {
            engine: "none".into(),
            device: String::new(),
            buffer_ms: 20,
            keep_output_open: false,
            espeak: "espeak-ng".into(),
            voice: "cmn-latn-pinyin".into(),
            winrt_voice: String::new(),
            command: Vec::new(),
            command_raw_rate: 0,
            http_url: String::new(),
            http_method: "POST".into(),
            http_headers: BTreeMap::new(),
            http_body: String::new(),
            http_timeout_ms: 3000,
            money: Money::YuanJiao,
            normalize: true,
            volume: 0.8,
            cache_mb: 16,
            max_chars: 2000,
        }
    }
}

/// `[buzzer]`: a tone through the sound output, or a serial buzzer.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BuzzerConfig {
    /// `output` (a tone through [speech]'s output device) | `serial` | `none` (the default;
    /// `--sim` and `booth dev` use `output`).
    pub backend: String,
    pub frequency_hz: u32,
    /// 0.0–1.0.
    pub volume: f32,
    /// backend = "serial": the port, its speed, and what turns the buzzer on and off
    /// (`\r`, `\n`, `\xNN` escapes).
    pub port: String,
    pub baud: u32,
    pub on: String,
    pub off: String,
}

impl Default for BuzzerConfig {
    fn default() -> Self {
        BuzzerConfig {
            backend: "none".into(),
            frequency_hz: 2000,
            volume: 0.5,
            port: String::new(),
            baud: 9600,
            on: String::new(),
            off: String::new(),
        }
    }
}

/// `[microphone]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MicrophoneConfig {
    /// `device` (the input device below) | `sim` (the simulator's tone or WAV; speech and beeps
    /// are then accepted without an output device too, as under `--sim`) | `none` (the default).
    pub backend: String,
    /// A part of the input device's id or name as `booth doctor` lists them; "" = the system's default.
    pub device: String,
    /// Length of one `initMicrophoneListener` chunk (20–200 ms).
    pub chunk_ms: u32,
    /// A clip (startMicrophone) stops by itself after this long.
    pub max_clip_s: u32,
    /// MP3 bit rate of clips: 16, 24, 32, 48 or 64 kbit/s.
    pub clip_kbps: u32,
    /// Chunks kept for a page that does not keep up; older ones are dropped and counted.
    pub queue_chunks: usize,
    /// Simulator: a WAV file the simulated microphone hears (looped); "" = a tone.
    pub sim_wav: String,
    pub sim_tone_hz: u32,
}

impl Default for MicrophoneConfig {
    fn default() -> Self {
        MicrophoneConfig {
            backend: "none".into(),
            device: String::new(),
            chunk_ms: 40,
            max_clip_s: 60,
            clip_kbps: 32,
            queue_chunks: 50,
            sim_wav: String::new(),
            sim_tone_hz: 440,
        }
    }
}

/// Checks values a type cannot: returns the first problem as `section.key: why`.
pub fn validate(s: &SpeechConfig, b: &BuzzerConfig, m: &MicrophoneConfig) -> Result<(), String> {
    let engines = ["auto", "espeak", "winrt", "command", "http", "none"];
    if !engines.contains(&s.engine.as_str()) {
        return Err(format!("speech.engine: `{}` (expected one of {})", s.engine, engines.join(", ")));
    }
    if s.engine == "command" && s.command.is_empty() {
        return Err("speech.command: engine = \"command\" needs the program to run".into());
    }
    if s.engine == "http" && !(s.http_url.starts_with("http://") || s.http_url.starts_with("https://")) {
        return Err("speech.http_url: engine = \"http\" needs an http:// or https:// URL".into());
    }
    if !(5..=200).contains(&s.buffer_ms) {
        return Err(format!("speech.buffer_ms: {} (expected 5–200)", s.buffer_ms));
    }
    if !(0.0..=1.0).contains(&s.volume) {
        return Err(format!("speech.volume: {} (expected 0.0–1.0)", s.volume));
    }
    if !["output", "serial", "none"].contains(&b.backend.as_str()) {
        return Err(format!("buzzer.backend: `{}` (expected output, serial or none)", b.backend));
    }
    if b.backend == "serial" && (b.port.is_empty() || b.on.is_empty()) {
        return Err("buzzer: backend = \"serial\" needs port and on".into());
    }
    if !(20..=20_000).contains(&b.frequency_hz) {
        return Err(format!("buzzer.frequency_hz: {} (expected 20–20000)", b.frequency_hz));
    }
    if !(0.0..=1.0).contains(&b.volume) {
        return Err(format!("buzzer.volume: {} (expected 0.0–1.0)", b.volume));
    }
    if !["device", "sim", "none"].contains(&m.backend.as_str()) {
        return Err(format!("microphone.backend: `{}` (expected device, sim or none)", m.backend));
    }
    if !(20..=200).contains(&m.chunk_ms) {
        return Err(format!("microphone.chunk_ms: {} (expected 20–200)", m.chunk_ms));
    }
    if !(1..=600).contains(&m.max_clip_s) {
        return Err(format!("microphone.max_clip_s: {} (expected 1–600)", m.max_clip_s));
    }
    if ![16, 24, 32, 48, 64].contains(&m.clip_kbps) {
        return Err(format!("microphone.clip_kbps: {} (expected 16, 24, 32, 48 or 64)", m.clip_kbps));
    }
    if !(2..=1000).contains(&m.queue_chunks) {
        return Err(format!("microphone.queue_chunks: {} (expected 2–1000)", m.queue_chunks));
    }
    Ok(())
}
