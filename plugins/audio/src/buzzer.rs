//! `startBuzzer {beep}`: a tone of `beep` ms through the sound output, or a buzzer on a serial
//! port switched by configured on/off commands.

use crate::output::{Held, Output};
use rodio::buffer::SamplesBuffer;
use rodio::Player;
use std::io::Write;
use std::num::NonZero;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Fade in and out, so that the tone starts and ends without a click.
const RAMP_MS: f32 = 3.0;

pub enum Backend {
    Output { frequency_hz: u32, volume: f32 },
    Serial { port: String, baud: u32, on: Vec<u8>, off: Vec<u8> },
    None,
}

pub struct Buzzer {
    backend: Backend,
    output: Arc<Output>,
    player: Mutex<Option<(u64, Player)>>,
    /// A serial beep in progress ends before the next begins.
    serial: Arc<Mutex<()>>,
}

/// A sine tone of exactly `ms` milliseconds with short fades, at `rate` (the device's, so that
/// nothing converts it).
pub fn tone(rate: u32, frequency_hz: u32, ms: u32, volume: f32) -> Vec<f32> {
    let n = (u64::from(rate) * u64::from(ms) / 1000) as usize;
    let ramp = (rate as f32 * RAMP_MS / 1000.0).min(n as f32 / 2.0).max(1.0);
    let w = 2.0 * std::f32::consts::PI * frequency_hz as f32 / rate as f32;
    (0..n)
        .map(|i| {
            let edge = (i as f32).min((n - 1 - i) as f32);
            let gain = if edge < ramp { 0.5 - 0.5 * (std::f32::consts::PI * edge / ramp).cos() } else { 1.0 };
            (w * i as f32).sin() * volume * gain
        })
        .collect()
}

impl Buzzer {
    pub fn new(backend: Backend, output: Arc<Output>) -> Buzzer {
        Buzzer { backend, output, player: Mutex::new(None), serial: Arc::default() }
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Output { .. } => "output",
            Backend::Serial { .. } => "serial",
            Backend::None => "none",
        }
    }

    /// Starts a beep of `ms` milliseconds; returns once it is under way.
    pub fn beep(&self, ms: u32) -> Result<(), String> {
        match &self.backend {
            Backend::None => Err("未配置蜂鸣器 (booth.toml [buzzer])".into()),
            Backend::Output { frequency_hz, volume } => {
                let mixer = self.output.mixer()?;
                let epoch = self.output.epoch();
                let mut guard = self.player.lock().unwrap_or_else(|p| p.into_inner());
                if guard.as_ref().is_none_or(|(e, _)| *e != epoch) {
                    *guard = Some((epoch, Player::connect_new(&mixer)));
                }
                let rate = self.output.rate();
                if let (Some((_, player)), Some(nz)) = (guard.as_ref(), NonZero::new(rate)) {
                    let tone = SamplesBuffer::new(NonZero::<u16>::MIN, nz, tone(rate, *frequency_hz, ms, *volume));
                    player.append(Held::new(tone, self.output.hold()));
                }
                Ok(())
            }
            Backend::Serial { port, baud, on, off } => {
                let lock = self.serial.clone();
                let mut dev = serialport::new(port, *baud)
                    .timeout(Duration::from_millis(500))
                    .open()
                    .map_err(|e| format!("{port}: {e}"))?;
                let held = lock.lock().unwrap_or_else(|p| p.into_inner());
                dev.write_all(on).and_then(|()| dev.flush()).map_err(|e| format!("{port}: {e}"))?;
                drop(held);
                let (off, port) = (off.clone(), port.clone());
                std::thread::spawn(move || {
                    let _held = lock.lock().unwrap_or_else(|p| p.into_inner());
                    std::thread::sleep(Duration::from_millis(u64::from(ms)));
                    if !off.is_empty() {
                        if let Err(e) = dev.write_all(&off).and_then(|()| dev.flush()) {
                            tracing::warn!(port, error = %e, "buzzer: off command failed");
                        }
                    }
                });
                Ok(())
            }
        }
    }
}

pub use booth_serial_io::unescape;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_has_the_exact_length_and_soft_edges() {
        let t = tone(48_000, 1000, 100, 0.5);
        assert_eq!(t.len(), 4800);
        assert!(t[0].abs() < 1e-3 && t[4799].abs() < 0.01);
        let peak = t.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!((peak - 0.5).abs() < 0.01, "{peak}");
        assert_eq!(tone(48_000, 1000, 0, 0.5).len(), 0);
        assert_eq!(tone(44_100, 1000, 1, 0.5).len(), 44);
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r"ON\r\n"), b"ON\r\n");
        assert_eq!(unescape(r"\x1B\x07"), vec![0x1B, 0x07]);
        assert_eq!(unescape(r"a\x4"), b"a\\x4".to_vec());
        assert_eq!(unescape(r"\q"), b"\\q".to_vec());
    }
}
