//! A Chinese ID card reader's SAM module, emulated at frame level on the device end of a
//! [`Socat`] pair: it answers find (20 01), select (20 02) and read base information (30 01)
//! frames, checks each command's checksum, reports a placed card once per placement, and can
//! send read replies with a corrupt checksum. Written from the protocol description, sharing
//! no code with Booth's decoder.

use crate::pty::Socat;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
pub struct Module {
    /// Text block and photo of the card on the reader.
    pub card: Option<(Vec<u8>, Vec<u8>)>,
    /// Whether the card has not been read yet (the module reports "found" once per placement).
    pub fresh: bool,
    /// How many read replies to send with a wrong checksum.
    pub corrupt_reads: usize,
    pub reads: usize,
    pub bad_commands: usize,
}

pub struct Emulator {
    pub module: Arc<Mutex<Module>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn reply(sw3: u8, data: &[u8], corrupt: bool) -> Vec<u8> {
    let len = data.len() + 4;
    let mut frame = vec![0xAA, 0xAA, 0xAA, 0x96, 0x69, (len >> 8) as u8, len as u8, 0x00, 0x00, sw3];
    frame.extend_from_slice(data);
    let mut chk = 0u8;
    for b in &frame[5..] {
        chk ^= b;
    }
    frame.push(if corrupt { !chk } else { chk });
    frame
}

impl Emulator {
    pub fn start(socat: &Socat, module: Arc<Mutex<Module>>) -> Emulator {
        let mut port = serialport::new(socat.dev().display().to_string(), 115_200)
            .timeout(Duration::from_millis(50))
            .open()
            .expect("open the module end");
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (module.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf: Vec<u8> = Vec::new();
            let mut chunk = [0u8; 256];
            while !s.load(Ordering::Relaxed) {
                match port.read(&mut chunk) {
                    Ok(0) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
                    Err(_) => return,
                }
                // Commands are 10 bytes: preamble, 00 03, CMD, PARA, XOR.
                while let Some(at) = buf.windows(5).position(|w| w == [0xAA, 0xAA, 0xAA, 0x96, 0x69]) {
                    if buf.len() < at + 10 {
                        break;
                    }
                    let cmd: Vec<u8> = buf.drain(..at + 10).skip(at).collect();
                    let xor = cmd[5] ^ cmd[6] ^ cmd[7] ^ cmd[8];
                    let mut module = m.lock().unwrap();
                    if cmd[5..7] != [0x00, 0x03] || xor != cmd[9] {
                        module.bad_commands += 1;
                        continue;
                    }
                    let out = match (cmd[7], cmd[8], module.card.clone()) {
                        (0x20, 0x01, Some(_)) if module.fresh => reply(0x9F, &[0, 0, 0, 0], false),
                        (0x20, 0x01, _) => reply(0x80, &[], false),
                        (0x20, 0x02, Some(_)) => reply(0x90, &[0; 8], false),
                        (0x20, 0x02, None) => reply(0x81, &[], false),
                        (0x30, 0x01, Some((text, photo))) => {
                            module.reads += 1;
                            let corrupt = module.corrupt_reads > 0;
                            if corrupt {
                                module.corrupt_reads -= 1;
                            } else {
                                module.fresh = false;
                            }
                            let mut data = vec![(text.len() >> 8) as u8, text.len() as u8];
                            data.extend_from_slice(&[(photo.len() >> 8) as u8, photo.len() as u8]);
                            data.extend_from_slice(&text);
                            data.extend_from_slice(&photo);
                            reply(0x90, &data, corrupt)
                        }
                        (0x30, 0x01, None) => reply(0x41, &[], false),
                        _ => reply(0x21, &[], false),
                    };
                    drop(module);
                    if port.write_all(&out).is_err() {
                        return;
                    }
                }
            }
        });
        Emulator { module, stop, thread: Some(thread) }
    }

    pub fn place(&self, text: Vec<u8>) {
        let mut m = self.module.lock().unwrap();
        m.card = Some((text, vec![0x57; 1024]));
        m.fresh = true;
    }

    pub fn reads(&self) -> usize {
        self.module.lock().unwrap().reads
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The module's 256-byte UCS-2LE text block, written field by field the way the card stores it:
/// name, sex code, nation code, birth, address, ID number, issuer, valid from, valid to.
pub fn text_block(fields: [&str; 9]) -> Vec<u8> {
    const WIDTHS: [usize; 9] = [15, 1, 2, 8, 35, 18, 15, 8, 8];
    let mut out = Vec::new();
    for (f, w) in fields.iter().zip(WIDTHS) {
        let mut units: Vec<u16> = f.encode_utf16().collect();
        assert!(units.len() <= w, "{f} is longer than {w}");
        units.resize(w, 0x0020);
        for u in units {
            out.push((u & 0xFF) as u8);
            out.push((u >> 8) as u8);
        }
    }
    out.resize(256, 0x20);
    out
}
