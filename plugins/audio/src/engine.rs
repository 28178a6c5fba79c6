//! Text-to-speech engines behind one trait. Each turns one sentence into a PCM stream that the
//! speech worker plays as it arrives:
//!
//! - [`Espeak`]: the `espeak-ng` program (GPL-3.0, so run as a child process, never linked)
//!   with the `cmn-latn-pinyin` voice: Debian's `cmn` voice reads hanzi as English-spelled
//!   pinyin, `cmn-latn-pinyin` gives the right syllables and tones;
//! - [`Command`]: any program that writes WAV (or raw 16-bit PCM) to stdout for a text, so an
//!   operator can plug in a voice they license;
//! - [`Http`]: a cloud TTS endpoint answering WAV, with a timeout; on failure the speech worker
//!   falls back to espeak-ng;
//! - `winrt` (Windows): `Windows.Media.SpeechSynthesis.SpeechSynthesizer` with a zh-CN voice.

use crate::wav::{self, Format};
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The seed's `pitch` and `rate` (1.0 normal), already range-checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prosody {
    pub pitch: f32,
    pub rate: f32,
}

impl Default for Prosody {
    fn default() -> Self {
        Prosody { pitch: 1.0, rate: 1.0 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{program}: {source}")]
    Spawn { program: String, source: io::Error },
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Http(String),
    #[error("{0}")]
    Unavailable(String),
}

/// A running synthesis: its format and a reader positioned at the first sample byte. A child
/// process, if any, is kept in the shared slot so that an interrupt can end it at once.
pub struct Synthesis {
    pub format: Format,
    pub reader: Box<dyn Read + Send>,
    pub child: Option<Arc<Mutex<Option<Child>>>>,
}

impl Synthesis {
    /// Ends the engine's process (an interrupt); the reader then sees the end of the stream.
    pub fn kill(&self) {
        if let Some(slot) = &self.child {
            if let Some(child) = slot.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                let _ = child.kill();
            }
        }
    }

    /// Reaps the child, if any.
    pub fn finish(&self) {
        if let Some(slot) = &self.child {
            if let Some(mut child) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Drop for Synthesis {
    fn drop(&mut self) {
        self.finish();
    }
}

pub trait Engine: Send + Sync + 'static {
    /// `espeak`, `command`, `http`, `winrt`: part of the phrase cache key and of /health.
    fn name(&self) -> &'static str;
    /// The voice (part of the phrase cache key).
    fn voice(&self) -> String;
    /// Whether text should get the pinyin polyphone table (espeak-ng's Mandarin only).
    fn wants_pinyin(&self) -> bool {
        false
    }
    fn synthesize(&self, text: &str, prosody: Prosody) -> Result<Synthesis, EngineError>;
}

/// Runs `program args…`, writes `stdin_text` (if any) to its stdin and closes it, and returns
/// a synthesis reading its stdout.
fn spawn(
    program: &str,
    args: &[String],
    stdin_text: Option<&str>,
    raw: Option<Format>,
) -> Result<Synthesis, EngineError> {
    let mut cmd = std::process::Command::new(program);
    cmd.args(args)
        .stdin(if stdin_text.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        const CREATE_NO_WINDOW: u32 = 0x0800_0000;
        cmd.creation_flags(CREATE_NO_WINDOW);
    }
    let mut child = cmd.spawn().map_err(|source| EngineError::Spawn { program: program.to_string(), source })?;
    if let (Some(text), Some(mut stdin)) = (stdin_text, child.stdin.take()) {
        // Short texts fit in the pipe; a writer thread keeps a long one from blocking us
        // while the engine blocks writing its stdout.
        let text = text.to_string();
        std::thread::spawn(move || {
            let _ = stdin.write_all(text.as_bytes());
        });
    }
    let Some(mut stdout) = child.stdout.take() else {
        return Err(EngineError::Io(io::Error::other("no stdout")));
    };
    let slot = Arc::new(Mutex::new(Some(child)));
    let format = match raw {
        Some(f) => f,
        None => match wav::read_header(&mut stdout) {
            Ok(f) => f,
            Err(e) => {
                if let Some(mut c) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                return Err(EngineError::Io(io::Error::new(e.kind(), format!("{program}: {e}"))));
            }
        },
    };
    Ok(Synthesis { format, reader: Box::new(stdout), child: Some(slot) })
}

/// espeak-ng as a child process; text on stdin (never on the command line, where a text
/// starting with `-` would be an option).
pub struct Espeak {
    pub program: String,
    pub voice: String,
}

impl Espeak {
    /// wpm = 175 × rate, clamped to espeak-ng's 80–450; pitch 0–100 = 50 × pitch.
    pub fn args(&self, p: Prosody) -> Vec<String> {
        let wpm = (175.0 * p.rate).round().clamp(80.0, 450.0) as u32;
        let pitch = (50.0 * p.pitch).round().clamp(0.0, 100.0) as u32;
        vec![
            "-v".into(),
            self.voice.clone(),
            "-s".into(),
            wpm.to_string(),
            "-p".into(),
            pitch.to_string(),
            "--stdout".into(),
        ]
    }
}

impl Engine for Espeak {
    fn name(&self) -> &'static str {
        "espeak"
    }
    fn voice(&self) -> String {
        self.voice.clone()
    }
    fn wants_pinyin(&self) -> bool {
        self.voice.to_ascii_lowercase().contains("pinyin")
    }
    fn synthesize(&self, text: &str, prosody: Prosody) -> Result<Synthesis, EngineError> {
        spawn(&self.program, &self.args(prosody), Some(text), None)
    }
}

/// An operator's program. `argv` may hold `{text}`, `{pitch}` and `{rate}`; without `{text}`
/// the text goes to its stdin. It writes WAV to stdout, or raw signed 16-bit little-endian
/// mono PCM at `raw_rate` when that is set.
pub struct Command {
    pub argv: Vec<String>,
    pub raw_rate: Option<u32>,
}

impl Engine for Command {
    fn name(&self) -> &'static str {
        "command"
    }
    fn voice(&self) -> String {
        self.argv.join(" ")
    }
    fn synthesize(&self, text: &str, p: Prosody) -> Result<Synthesis, EngineError> {
        let Some((program, rest)) = self.argv.split_first() else {
            return Err(EngineError::Unavailable("[speech] command is empty".into()));
        };
        let fill = |a: &String| {
            a.replace("{text}", text)
                .replace("{pitch}", &format!("{:.2}", p.pitch))
                .replace("{rate}", &format!("{:.2}", p.rate))
        };
        let args: Vec<String> = rest.iter().map(fill).collect();
        let on_stdin = !self.argv.iter().any(|a| a.contains("{text}"));
        spawn(program, &args, on_stdin.then_some(text), self.raw_rate.map(|r| Format::s16(r, 1)))
    }
}

/// A cloud endpoint: `{text}`, `{pitch}`, `{rate}` are filled into the URL (percent-encoded)
/// and the body (JSON-escaped); the answer must be WAV.
pub struct Http {
    pub url: String,
    pub method: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub timeout: Duration,
}

impl Engine for Http {
    fn name(&self) -> &'static str {
        "http"
    }
    fn voice(&self) -> String {
        self.url.clone()
    }
    fn synthesize(&self, text: &str, p: Prosody) -> Result<Synthesis, EngineError> {
        let (pitch, rate) = (format!("{:.2}", p.pitch), format!("{:.2}", p.rate));
        let url = self.url.replace("{text}", &percent_encode(text)).replace("{pitch}", &pitch).replace("{rate}", &rate);
        // The text as a JSON string's contents (the template supplies the quotes).
        let quoted = serde_json::to_string(text).unwrap_or_default();
        let json_text = quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or("");
        let body = self.body.replace("{text}", json_text).replace("{pitch}", &pitch).replace("{rate}", &rate);
        // The operating system's TLS and certificate store (OpenSSL on Linux, SChannel on
        // Windows): nothing to bundle or keep up to date.
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::NativeTls)
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(true)
            .tls_config(tls)
            .build()
            .into();
        let method = self.method.to_ascii_uppercase();
        let answer = if method == "GET" {
            let mut req = agent.get(&url);
            for (k, v) in &self.headers {
                req = req.header(k.as_str(), v.as_str());
            }
            req.call()
        } else {
            let mut req = agent.post(&url);
            for (k, v) in &self.headers {
                req = req.header(k.as_str(), v.as_str());
            }
            req.send(body.as_bytes())
        };
        let response = answer.map_err(|e| EngineError::Http(format!("{}: {e}", redact(&self.url))))?;
        let mut reader = response.into_body().into_reader();
        let format =
            wav::read_header(&mut reader).map_err(|e| EngineError::Http(format!("{}: {e}", redact(&self.url))))?;
        Ok(Synthesis { format, reader: Box::new(reader), child: None })
    }
}

/// The URL without its query (which may hold a key), for logs and errors.
fn redact(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(windows)]
pub use crate::winrt::WinRt;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn espeak_prosody_maps_and_clamps() {
        let e = Espeak { program: "espeak-ng".into(), voice: "cmn-latn-pinyin".into() };
        let a = e.args(Prosody { pitch: 1.0, rate: 1.0 });
        assert_eq!(a, ["-v", "cmn-latn-pinyin", "-s", "175", "-p", "50", "--stdout"]);
        let a = e.args(Prosody { pitch: 3.0, rate: 0.1 });
        assert_eq!(&a[3], "80");
        assert_eq!(&a[5], "100");
        assert!(e.wants_pinyin());
    }

    #[test]
    fn url_encoding() {
        assert_eq!(percent_encode("请 a&b"), "%E8%AF%B7%20a%26b");
        assert_eq!(redact("https://x/tts?key=secret"), "https://x/tts");
    }
}
