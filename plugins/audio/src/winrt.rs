//! Windows' own speech: WinRT `SpeechSynthesizer` with a zh-CN voice (Huihui, Yaoyao and
//! Kangkang on Chinese editions; other editions need the Chinese speech pack added). Rate and
//! pitch map 1:1 onto the seed's floats (clamped to 0.5–6.0 and 0–2); the ≈750 ms of silence
//! Windows appends is turned off. The WAV it makes is parsed, not assumed.

use crate::engine::{Engine, EngineError, Prosody, Synthesis};
use crate::wav;
use std::io::Cursor;
use windows::core::{Interface, HSTRING};
use windows::Media::SpeechSynthesis::{SpeechAppendedSilence, SpeechSynthesizer, VoiceInformation};
use windows::Storage::Streams::DataReader;
use windows::Win32::Foundation::E_FAIL;
use windows::Win32::System::WinRT::{RoInitialize, RO_INIT_MULTITHREADED};

pub struct WinRt {
    voice: String,
}

impl WinRt {
    /// `voice`: a part of the voice's display name; "" = the first zh-CN voice.
    pub fn new(voice: &str) -> WinRt {
        WinRt { voice: voice.to_lowercase() }
    }

    fn pick(&self) -> windows::core::Result<VoiceInformation> {
        let voices = SpeechSynthesizer::AllVoices()?;
        for i in 0..voices.Size()? {
            let v = voices.GetAt(i)?;
            let lang = v.Language()?.to_string().to_lowercase();
            let name = v.DisplayName()?.to_string().to_lowercase();
            if lang.starts_with("zh-cn") && (self.voice.is_empty() || name.contains(&self.voice)) {
                return Ok(v);
            }
        }
        Err(windows::core::Error::new(E_FAIL, "no zh-CN speech voice installed (Settings → Time & language → Speech)"))
    }

    fn wav(&self, text: &str, p: Prosody) -> windows::core::Result<Vec<u8>> {
        // Each worker thread joins the multithreaded apartment once; "already" is fine.
        // SAFETY: RoInitialize has no preconditions beyond being called on this thread.
        let _ = unsafe { RoInitialize(RO_INIT_MULTITHREADED) };
        let synth = SpeechSynthesizer::new()?;
        synth.SetVoice(&self.pick()?)?;
        let options = synth.Options()?;
        options.SetSpeakingRate(f64::from(p.rate).clamp(0.5, 6.0))?;
        // Pitch and appended silence need Windows 10 1709 / 1803: older ones keep defaults.
        let _ = options.SetAudioPitch(f64::from(p.pitch).clamp(0.0, 2.0));
        let _ = options.SetAppendedSilence(SpeechAppendedSilence::Min);
        let stream = synth.SynthesizeTextToStreamAsync(&HSTRING::from(text))?.join()?;
        let size = u32::try_from(stream.Size()?).unwrap_or(u32::MAX);
        let reader = DataReader::CreateDataReader(&stream.GetInputStreamAt(0)?)?;
        let load: windows_future::IAsyncOperation<u32> = reader.LoadAsync(size)?.cast()?;
        let got = load.join()?;
        let mut buf = vec![0u8; got as usize];
        reader.ReadBytes(&mut buf)?;
        Ok(buf)
    }
}

impl Engine for WinRt {
    fn name(&self) -> &'static str {
        "winrt"
    }
    fn voice(&self) -> String {
        self.voice.clone()
    }
    fn synthesize(&self, text: &str, prosody: Prosody) -> Result<Synthesis, EngineError> {
        let bytes = self.wav(text, prosody).map_err(|e| EngineError::Unavailable(format!("WinRT speech: {e}")))?;
        let mut cursor = Cursor::new(bytes);
        let format = wav::read_header(&mut cursor)?;
        Ok(Synthesis { format, reader: Box::new(cursor), child: None })
    }
}
