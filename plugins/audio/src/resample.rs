//! Sample-rate conversion of a mono stream in steps (rubato's FFT resampler).
//!
//! Speech is converted to the output device's rate here rather than by rodio's mixer: rodio
//! 0.23 played a 22,050 Hz source 2.5 % fast on a 48 kHz device (measured: a 700 Hz tone came
//! out at 717 Hz and 2.5 % short), which would make every engine's voice higher and faster.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

pub struct Converter {
    fft: Option<Fft<f32>>,
    /// Input waiting for a whole block.
    pending: Vec<f32>,
    block: Vec<f32>,
    out_block: Vec<f32>,
    /// Output still to drop: the resampler's delay.
    skip: usize,
    taken: u64,
    given: u64,
    ratio: f64,
}

impl Converter {
    pub fn new(from: u32, to: u32) -> Result<Converter, String> {
        let fft = if from == to {
            None
        } else {
            Some(
                Fft::<f32>::new(from as usize, to as usize, (from / 100).max(1) as usize, 1, FixedSync::Input)
                    .map_err(|e| e.to_string())?,
            )
        };
        let skip = fft.as_ref().map_or(0, |f| f.output_delay());
        let out_len = fft.as_ref().map_or(0, |f| f.output_frames_max());
        Ok(Converter {
            fft,
            pending: Vec::new(),
            block: Vec::new(),
            out_block: vec![0.0; out_len],
            skip,
            taken: 0,
            given: 0,
            ratio: f64::from(to) / f64::from(from),
        })
    }

    /// Converts what whole blocks of `input` allow, appending to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.taken += input.len() as u64;
        let Some(fft) = self.fft.as_mut() else {
            out.extend_from_slice(input);
            self.given += input.len() as u64;
            return;
        };
        self.pending.extend_from_slice(input);
        loop {
            let need = fft.input_frames_next();
            if self.pending.len() < need {
                break;
            }
            self.block.clear();
            self.block.extend(self.pending.drain(..need));
            let frames_out = fft.output_frames_max();
            let (Ok(i), Ok(mut o)) = (
                InterleavedSlice::new(&self.block[..], 1, need),
                InterleavedSlice::new_mut(&mut self.out_block[..], 1, frames_out),
            ) else {
                return;
            };
            let Ok((_, n)) = fft.process_into_buffer(&i, &mut o, None) else { return };
            let drop = self.skip.min(n);
            self.skip -= drop;
            out.extend_from_slice(&self.out_block[drop..n]);
            self.given += (n - drop) as u64;
        }
    }

    /// Ends the stream: the rest of the input comes out, and the total length is the input's
    /// length converted.
    pub fn finish(&mut self, out: &mut Vec<f32>) {
        if self.fft.is_none() {
            return;
        }
        let want = (self.taken as f64 * self.ratio).round() as u64;
        let taken = self.taken;
        let mut guard = 0;
        while self.given < want && guard < 64 {
            let need = self.fft.as_ref().map_or(0, |f| f.input_frames_next());
            let zeros = vec![0.0; need.max(1)];
            let before = out.len();
            self.push(&zeros, out);
            let extra = self.given.saturating_sub(want) as usize;
            if extra > 0 {
                out.truncate(out.len().saturating_sub(extra).max(before));
                self.given = want;
            }
            guard += 1;
        }
        self.taken = taken;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_keeps_its_frequency_and_length() {
        for (from, to) in [(22_050u32, 48_000u32), (24_000, 48_000), (16_000, 44_100), (48_000, 48_000)] {
            let n = from as usize / 2;
            let tone: Vec<f32> =
                (0..n).map(|i| (2.0 * std::f32::consts::PI * 700.0 * i as f32 / from as f32).sin() * 0.5).collect();
            let mut c = Converter::new(from, to).unwrap();
            let mut out = Vec::new();
            for piece in tone.chunks(1000) {
                c.push(piece, &mut out);
            }
            c.finish(&mut out);
            assert_eq!(out.len(), to as usize / 2, "{from} → {to}");
            let crossings: Vec<usize> = (1..out.len()).filter(|&i| out[i - 1] < 0.0 && out[i] >= 0.0).collect();
            let hz =
                (crossings.len() - 1) as f64 * f64::from(to) / (crossings[crossings.len() - 1] - crossings[0]) as f64;
            assert!((hz - 700.0).abs() < 1.0, "{from} → {to}: {hz} Hz");
        }
    }
}
