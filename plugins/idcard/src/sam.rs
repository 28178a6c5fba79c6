//! The SAM module's serial protocol (the security module inside every PC ID card reader that is
//! not used through a vendor SDK).
//!
//! Frame: `AA AA AA 96 69 | LEN (2 bytes, big-endian: the bytes after it, checksum included) |
//! body | XOR of LEN and body`. Commands have body `CMD PARA [data]`; replies have body
//! `SW1 SW2 SW3 [data]`. A poll is: find card (`20 01`: SW3 `9F` found, `80` none), select
//! (`20 02`: `90`), read base information (`30 01`: `90` + text length, photo length, 256 bytes
//! of UCS-2LE text, 1024 bytes of WLT photo).

use crate::identity::{decode_text, CardRead, Photo};
use crate::reader::{ReadError, Reader};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

pub const PREAMBLE: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];
pub const FIND: (u8, u8) = (0x20, 0x01);
pub const SELECT: (u8, u8) = (0x20, 0x02);
pub const READ_BASE: (u8, u8) = (0x30, 0x01);
/// SW3 values.
pub const SW_OK: u8 = 0x90;
pub const SW_FOUND: u8 = 0x9F;
pub const SW_NO_CARD: u8 = 0x80;
/// The largest body accepted (base information with photo is 1,295 bytes).
const MAX_LEN: usize = 4096;

/// A reply from the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub sw: [u8; 3],
    pub data: Vec<u8>,
}

/// A command frame.
pub fn command(cmd: u8, para: u8, data: &[u8]) -> Vec<u8> {
    let len = (data.len() + 3) as u16;
    let mut f = PREAMBLE.to_vec();
    f.extend_from_slice(&len.to_be_bytes());
    f.push(cmd);
    f.push(para);
    f.extend_from_slice(data);
    let chk = f[PREAMBLE.len()..].iter().fold(0u8, |a, b| a ^ b);
    f.push(chk);
    f
}

/// What went wrong while waiting for a reply.
#[derive(Debug)]
pub enum FrameError {
    /// The port failed (unplugged).
    Io(std::io::Error),
    /// Nothing (complete) within the time allowed.
    Timeout,
    /// A frame arrived but cannot be trusted.
    Corrupt(String),
}

/// Reads one reply frame, skipping anything before the preamble.
pub fn read_reply(port: &mut dyn Read, within: Duration) -> Result<Reply, FrameError> {
    let deadline = Instant::now() + within;
    let mut buf: Vec<u8> = Vec::with_capacity(1400);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(start) = find(&buf, &PREAMBLE) {
            let head = start + PREAMBLE.len();
            if buf.len() >= head + 2 {
                let len = usize::from(u16::from_be_bytes([buf[head], buf[head + 1]]));
                if !(4..=MAX_LEN).contains(&len) {
                    return Err(FrameError::Corrupt(format!("长度字段 {len} 无效")));
                }
                if buf.len() >= head + 2 + len {
                    let frame = &buf[head..head + 2 + len];
                    let (body, chk) = frame.split_at(frame.len() - 1);
                    let want = body.iter().fold(0u8, |a, b| a ^ b);
                    if want != chk[0] {
                        return Err(FrameError::Corrupt(format!("校验和错误 (收到 {:02X}, 应为 {want:02X})", chk[0])));
                    }
                    return Ok(Reply { sw: [body[2], body[3], body[4]], data: body[5..].to_vec() });
                }
            }
        }
        if Instant::now() >= deadline {
            return Err(FrameError::Timeout);
        }
        match port.read(&mut chunk) {
            Ok(0) => return Err(FrameError::Io(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "设备已断开"))),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if booth_serial_io::is_quiet(&e) => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The SAM module on a serial port.
pub struct SamReader {
    path: String,
    baud: u32,
    port: Option<Box<dyn serialport::SerialPort>>,
    /// How long a find or select may take to answer.
    pub short_wait: Duration,
    /// How long a base-information read may take (the card transfer takes about a second).
    pub read_wait: Duration,
}

impl SamReader {
    pub fn new(path: impl Into<String>, baud: u32) -> SamReader {
        SamReader {
            path: path.into(),
            baud,
            port: None,
            short_wait: Duration::from_millis(800),
            read_wait: Duration::from_secs(3),
        }
    }

    fn transact(&mut self, (cmd, para): (u8, u8), within: Duration) -> Result<Reply, ReadError> {
        let path = self.path.clone();
        let gone = |why: String| ReadError::Gone(format!("{path}: {why}"));
        let port = self.port.as_mut().ok_or_else(|| gone("端口未打开".into()))?;
        // Whatever is left from an earlier, broken exchange must not be read as this reply.
        let _ = port.clear(serialport::ClearBuffer::Input);
        port.write_all(&command(cmd, para, &[])).map_err(|e| gone(e.to_string()))?;
        port.flush().map_err(|e| gone(e.to_string()))?;
        match read_reply(port.as_mut(), within) {
            Ok(r) => Ok(r),
            Err(FrameError::Io(e)) => Err(gone(e.to_string())),
            Err(FrameError::Timeout) => Err(gone(format!("模块无应答 ({cmd:02X} {para:02X})"))),
            Err(FrameError::Corrupt(why)) => Err(ReadError::Bad(format!("{cmd:02X} {para:02X} 的应答: {why}"))),
        }
    }
}

impl Reader for SamReader {
    fn open(&mut self) -> Result<String, ReadError> {
        let port = serialport::new(&self.path, self.baud)
            .timeout(Duration::from_millis(50))
            .open()
            .map_err(|e| ReadError::Gone(format!("{}: {e}", self.path)))?;
        self.port = Some(port);
        Ok(format!("{} @ {} (SAM)", self.path, self.baud))
    }

    fn poll(&mut self) -> Result<Option<CardRead>, ReadError> {
        let short = self.short_wait;
        let found = self.transact(FIND, short)?;
        if found.sw[2] != SW_FOUND {
            return Ok(None);
        }
        let selected = self.transact(SELECT, short)?;
        if selected.sw[2] != SW_OK {
            return Ok(None);
        }
        let read = self.transact(READ_BASE, self.read_wait)?;
        if read.sw[2] != SW_OK {
            return Err(ReadError::Bad(format!("读基本信息失败 (SW3 {:02X})", read.sw[2])));
        }
        parse_base(&read.data)
    }

    fn close(&mut self) {
        self.port = None;
    }

    fn name(&self) -> &'static str {
        "sam"
    }
}

/// Splits the base-information reply: text length, photo length, text, photo.
pub fn parse_base(data: &[u8]) -> Result<Option<CardRead>, ReadError> {
    if data.len() < 4 {
        return Err(ReadError::Bad(format!("基本信息只有 {} 字节", data.len())));
    }
    let text_len = usize::from(u16::from_be_bytes([data[0], data[1]]));
    let photo_len = usize::from(u16::from_be_bytes([data[2], data[3]]));
    if data.len() < 4 + text_len + photo_len {
        return Err(ReadError::Bad(format!(
            "基本信息长度不符: 文字 {text_len} + 照片 {photo_len}, 收到 {}",
            data.len() - 4
        )));
    }
    let identity = decode_text(&data[4..4 + text_len]).map_err(ReadError::Bad)?;
    let wlt = &data[4 + text_len..4 + text_len + photo_len];
    let photo = if wlt.is_empty() { Photo::None } else { Photo::Wlt(wlt.to_vec()) };
    Ok(Some(CardRead { identity, photo }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_frames_match_the_well_known_bytes() {
        assert_eq!(command(0x20, 0x01, &[]), [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x20, 0x01, 0x22]);
        assert_eq!(command(0x20, 0x02, &[]), [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x20, 0x02, 0x21]);
        assert_eq!(command(0x30, 0x01, &[]), [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x30, 0x01, 0x32]);
    }

    fn reply_frame(sw3: u8, data: &[u8]) -> Vec<u8> {
        let len = (data.len() + 4) as u16;
        let mut body = len.to_be_bytes().to_vec();
        body.extend_from_slice(&[0, 0, sw3]);
        body.extend_from_slice(data);
        let chk = body.iter().fold(0u8, |a, b| a ^ b);
        let mut f = PREAMBLE.to_vec();
        f.extend_from_slice(&body);
        f.push(chk);
        f
    }

    #[test]
    fn replies_are_found_after_noise_and_checked() {
        let mut bytes = vec![0x00, 0xAA, 0x13];
        bytes.extend(reply_frame(0x9F, &[1, 2, 3]));
        let r = read_reply(&mut bytes.as_slice(), Duration::from_millis(100)).unwrap();
        assert_eq!(r, Reply { sw: [0, 0, 0x9F], data: vec![1, 2, 3] });

        let mut bad = reply_frame(0x90, &[9, 9]);
        let last = bad.len() - 1;
        bad[last] ^= 0x55;
        match read_reply(&mut bad.as_slice(), Duration::from_millis(100)) {
            Err(FrameError::Corrupt(why)) => assert!(why.contains("校验和"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_cut_frame_ends_as_disconnected() {
        let f = reply_frame(0x90, &[1, 2, 3, 4]);
        match read_reply(&mut &f[..8], Duration::from_millis(100)) {
            Err(FrameError::Io(_)) => {}
            other => panic!("{other:?}"),
        }
    }
}
