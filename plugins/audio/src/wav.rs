//! Reading WAV as it streams in (an engine's stdout, an HTTP body) and writing it (tests, the
//! simulator's microphone files).
//!
//! Streaming writers such as `espeak-ng --stdout` put a placeholder size (0x7ffff000) in the
//! RIFF and data headers, so the data is read until the end of the stream, not until the
//! declared size.

use std::io::{self, Read};

/// The format of a PCM stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub rate: u32,
    pub channels: u16,
    pub bits: u16,
    /// IEEE float samples (format tag 3) rather than integers.
    pub float: bool,
}

impl Format {
    pub const fn s16(rate: u32, channels: u16) -> Format {
        Format { rate, channels, bits: 16, float: false }
    }
    fn bytes_per_sample(self) -> usize {
        usize::from(self.bits / 8)
    }
}

/// Reads the RIFF header up to the start of the `data` chunk.
pub fn read_header(r: &mut impl Read) -> io::Result<Format> {
    let mut riff = [0u8; 12];
    r.read_exact(&mut riff)?;
    if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
        return Err(bad("not a WAV stream (no RIFF/WAVE header)"));
    }
    let mut format: Option<Format> = None;
    loop {
        let mut head = [0u8; 8];
        r.read_exact(&mut head)?;
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        match &head[0..4] {
            b"fmt " => {
                if !(16..=1024).contains(&size) {
                    return Err(bad("WAV fmt chunk of an impossible size"));
                }
                let mut fmt = vec![0u8; size + (size & 1)];
                r.read_exact(&mut fmt)?;
                let mut tag = u16::from_le_bytes([fmt[0], fmt[1]]);
                let channels = u16::from_le_bytes([fmt[2], fmt[3]]);
                let rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
                let bits = u16::from_le_bytes([fmt[14], fmt[15]]);
                if tag == 0xFFFE && size >= 26 {
                    // WAVE_FORMAT_EXTENSIBLE: the real tag opens the sub-format GUID.
                    tag = u16::from_le_bytes([fmt[24], fmt[25]]);
                }
                let float = match (tag, bits) {
                    (1, 8 | 16 | 24 | 32) => false,
                    (3, 32) => true,
                    _ => return Err(bad(&format!("unsupported WAV encoding (tag {tag}, {bits} bits)"))),
                };
                if channels == 0 || rate == 0 {
                    return Err(bad("WAV with no channels or a zero sample rate"));
                }
                format = Some(Format { rate, channels, bits, float });
            }
            b"data" => return format.ok_or_else(|| bad("WAV data before its fmt chunk")),
            _ => {
                // LIST, fact, …: skip (sizes are padded to even).
                let mut left = (size + (size & 1)) as u64;
                let skipped = io::copy(&mut r.take(left), &mut io::sink())?;
                left -= skipped;
                if left > 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
        }
    }
}

fn bad(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_string())
}

/// Turns raw little-endian sample bytes into mono f32 (channels averaged). Keeps an incomplete
/// frame at the end of `bytes` for the next call.
pub struct Decoder {
    format: Format,
    pending: Vec<u8>,
}

impl Decoder {
    pub fn new(format: Format) -> Decoder {
        Decoder { format, pending: Vec::new() }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Appends the mono samples of the complete frames in `pending + bytes` to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<f32>) {
        self.pending.extend_from_slice(bytes);
        let bps = self.format.bytes_per_sample();
        let frame = bps * usize::from(self.format.channels);
        let whole = self.pending.len() / frame * frame;
        let channels = f32::from(self.format.channels);
        for f in self.pending[..whole].chunks_exact(frame) {
            let sum: f32 = f.chunks_exact(bps).map(|s| sample(s, self.format)).sum();
            out.push(sum / channels);
        }
        self.pending.drain(..whole);
    }
}

fn sample(b: &[u8], f: Format) -> f32 {
    match (f.bits, f.float) {
        (8, _) => (f32::from(b[0]) - 128.0) / 128.0,
        (16, _) => f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0,
        (24, _) => (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0,
        (32, true) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        _ => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0,
    }
}

/// A whole WAV file in memory (16-bit PCM).
pub fn encode_s16(rate: u32, channels: u16, samples: &[i16]) -> Vec<u8> {
    let data = (samples.len() * 2) as u32;
    let mut v = Vec::with_capacity(44 + samples.len() * 2);
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
    v.extend_from_slice(&(channels * 2).to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data.to_le_bytes());
    for s in samples {
        v.extend_from_slice(&s.to_le_bytes());
    }
    v
}

/// Reads a whole WAV stream as mono f32.
pub fn decode_all(mut r: impl Read) -> io::Result<(u32, Vec<f32>)> {
    let format = read_header(&mut r)?;
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes)?;
    let mut out = Vec::with_capacity(bytes.len() / 2);
    Decoder::new(format).push(&bytes, &mut out);
    Ok((format.rate, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_streaming_placeholder_sizes() {
        let samples: Vec<i16> = (0..1000).map(|i| ((i * 37) % 2000 - 1000) as i16).collect();
        let mut wav = encode_s16(22050, 1, &samples);
        // What espeak-ng --stdout writes: placeholder sizes.
        wav[4..8].copy_from_slice(&0x7fff_f024u32.to_le_bytes());
        wav[40..44].copy_from_slice(&0x7fff_f000u32.to_le_bytes());
        let (rate, got) = decode_all(&wav[..]).unwrap();
        assert_eq!(rate, 22050);
        assert_eq!(got.len(), 1000);
        assert!((got[1] * 32768.0 - f32::from(samples[1])).abs() < 0.5);
    }

    #[test]
    fn stereo_is_averaged_and_partial_frames_wait() {
        let mut d = Decoder::new(Format::s16(48000, 2));
        let mut out = Vec::new();
        let frame: Vec<u8> = [16384i16, 0].iter().flat_map(|s| s.to_le_bytes()).collect();
        d.push(&frame[..3], &mut out);
        assert!(out.is_empty());
        d.push(&frame[3..], &mut out);
        assert_eq!(out, vec![0.25]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode_all(&b"hello world, not a wav"[..]).is_err());
        assert!(decode_all(&b"RIFF\0\0\0\0WAVEfmt \x02\0\0\0"[..]).is_err());
        assert!(decode_all(&b""[..]).is_err());
    }
}
