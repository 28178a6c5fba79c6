//! A fake ESC/POS thermal printer: it records every byte, decodes what a real printer would
//! print (GB18030 text lines with their alignment, bold and size; `GS v 0` rasters joined into
//! one picture per receipt), answers the `DLE EOT` status queries, and can be out of paper,
//! have its cover open, or stay silent (switched off).
//!
//! It listens on TCP ([`FakePrinter::tcp`], like a network printer's port 9100) or plays the
//! device end of a socat pty pair ([`FakePrinter::serial`]).

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One printed text line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextLine {
    pub text: String,
    /// 0 left, 1 centre, 2 right (`ESC a`).
    pub align: u8,
    pub bold: bool,
    /// `GS !` as sent.
    pub size: u8,
}

/// What a receipt (up to its cut) came out as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Printout {
    pub lines: Vec<TextLine>,
    /// Bytes per raster row, and the rows of every `GS v 0` band, top to bottom.
    pub raster_stride: usize,
    pub raster_rows: Vec<u8>,
    pub raster_bands: usize,
    pub cut: bool,
    pub drawer: bool,
    /// `FS &` seen.
    pub chinese_mode: bool,
}

impl Printout {
    pub fn raster_height(&self) -> usize {
        self.raster_rows.len().checked_div(self.raster_stride).unwrap_or(0)
    }

    pub fn text(&self) -> Vec<String> {
        self.lines.iter().map(|l| l.text.clone()).collect()
    }
}

#[derive(Default)]
struct State {
    bytes: Vec<u8>,
    /// Bytes not yet parsed (a command split across reads).
    pending: Vec<u8>,
    current: Printout,
    line: Vec<u8>,
    align: u8,
    bold: bool,
    size: u8,
    done: Vec<Printout>,
    queries: usize,
    paper_out: bool,
    cover_open: bool,
    silent: bool,
}

impl State {
    /// Parses as much as is complete; returns the status bytes to answer.
    fn feed(&mut self, data: &[u8]) -> Vec<u8> {
        self.bytes.extend_from_slice(data);
        self.pending.extend_from_slice(data);
        let mut answers = Vec::new();
        let mut i = 0;
        let p = std::mem::take(&mut self.pending);
        while i < p.len() {
            let rest = &p[i..];
            let need = |n: usize| rest.len() >= n;
            let used = match rest[0] {
                0x1B if need(2) => match rest[1] {
                    0x40 => {
                        self.align = 0;
                        self.bold = false;
                        self.size = 0;
                        2
                    }
                    0x61 if need(3) => {
                        self.align = rest[2] % 3;
                        3
                    }
                    0x45 if need(3) => {
                        self.bold = rest[2] & 1 == 1;
                        3
                    }
                    0x64 if need(3) => 3,
                    0x70 if need(5) => {
                        self.current.drawer = true;
                        5
                    }
                    0x61 | 0x45 | 0x64 | 0x70 => break,
                    _ => 2,
                },
                0x1C if need(2) => {
                    if rest[1] == 0x26 {
                        self.current.chinese_mode = true;
                    }
                    2
                }
                0x1D if need(2) => match rest[1] {
                    0x21 if need(3) => {
                        self.size = rest[2];
                        3
                    }
                    0x56 if need(3) => {
                        let n = if rest[2] == 0x41 || rest[2] == 0x42 { 4 } else { 3 };
                        if !need(n) {
                            break;
                        }
                        self.flush_line(false);
                        self.current.cut = true;
                        self.done.push(std::mem::take(&mut self.current));
                        n
                    }
                    0x76 if need(8) => {
                        let x = u16::from_le_bytes([rest[4], rest[5]]) as usize;
                        let y = u16::from_le_bytes([rest[6], rest[7]]) as usize;
                        if !need(8 + x * y) {
                            break;
                        }
                        if self.current.raster_stride == 0 {
                            self.current.raster_stride = x;
                        }
                        // Bands of another width are padded or cut to the first one's.
                        for row in rest[8..8 + x * y].chunks(x.max(1)) {
                            let mut r = row.to_vec();
                            r.resize(self.current.raster_stride, 0);
                            self.current.raster_rows.extend_from_slice(&r);
                        }
                        self.current.raster_bands += 1;
                        8 + x * y
                    }
                    0x21 | 0x56 | 0x76 => break,
                    _ => 2,
                },
                0x10 if need(3) && rest[1] == 0x04 => {
                    self.queries += 1;
                    if !self.silent {
                        answers.push(self.status(rest[2]));
                    }
                    3
                }
                0x1B | 0x1C | 0x1D | 0x10 => break,
                b'\n' => {
                    self.flush_line(true);
                    1
                }
                b'\r' => 1,
                b => {
                    self.line.push(b);
                    1
                }
            };
            i += used;
        }
        self.pending = p[i..].to_vec();
        answers
    }

    /// Ends the text line; at a cut only a line with text counts, a line feed always does.
    fn flush_line(&mut self, explicit: bool) {
        if self.line.is_empty() && !explicit {
            return;
        }
        let (text, _, _) = encoding_rs::GB18030.decode(&self.line);
        let line = TextLine { text: text.into_owned(), align: self.align, bold: self.bold, size: self.size };
        self.line.clear();
        self.current.lines.push(line);
    }

    /// `DLE EOT n` answers: `0xx1 xx10` with the flags of the printer's state.
    fn status(&self, n: u8) -> u8 {
        let mut b = 0x12;
        match n {
            2 => {
                if self.cover_open {
                    b |= 0x04;
                }
                if self.paper_out {
                    b |= 0x20;
                }
            }
            4 if self.paper_out => b |= 0x60,
            _ => {}
        }
        b
    }
}

/// The fake printer; stops when dropped.
pub struct FakePrinter {
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    /// `127.0.0.1:PORT` for a TCP printer.
    pub addr: Option<String>,
    #[cfg(unix)]
    socat: Option<crate::pty::Socat>,
}

fn lock(s: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakePrinter {
    fn new() -> FakePrinter {
        FakePrinter {
            state: Arc::default(),
            stop: Arc::default(),
            addr: None,
            #[cfg(unix)]
            socat: None,
        }
    }

    /// A network printer on a free port of 127.0.0.1.
    pub fn tcp() -> FakePrinter {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let mut p = FakePrinter::new();
        p.addr = Some(listener.local_addr().expect("addr").to_string());
        let (state, stop) = (p.state.clone(), p.stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_millis(20)));
                        let (state, stop) = (state.clone(), stop.clone());
                        std::thread::spawn(move || {
                            let mut buf = [0u8; 8192];
                            while !stop.load(Ordering::Relaxed) {
                                match conn.read(&mut buf) {
                                    Ok(0) => break,
                                    Ok(n) => {
                                        let answers = lock(&state).feed(&buf[..n]);
                                        if !answers.is_empty() && conn.write_all(&answers).is_err() {
                                            break;
                                        }
                                    }
                                    Err(e)
                                        if matches!(
                                            e.kind(),
                                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                                        ) => {}
                                    Err(_) => break,
                                }
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        p
    }

    /// A serial printer on the device end of a socat pty pair in `dir`; Booth opens
    /// [`FakePrinter::port`].
    #[cfg(unix)]
    pub fn serial(dir: &std::path::Path) -> FakePrinter {
        let socat = crate::pty::Socat::start(dir);
        let dev = socat.dev();
        let mut p = FakePrinter::new();
        p.socat = Some(socat);
        let (state, stop) = (p.state.clone(), p.stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let port =
                    serialport::new(dev.display().to_string(), 115_200).timeout(Duration::from_millis(20)).open();
                let Ok(mut port) = port else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let mut buf = [0u8; 8192];
                while !stop.load(Ordering::Relaxed) {
                    match port.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            let answers = lock(&state).feed(&buf[..n]);
                            if !answers.is_empty() && port.write_all(&answers).is_err() {
                                break;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                        Err(_) => break,
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        p
    }

    /// The port Booth opens (`tcp://…` or the pty's app end).
    pub fn port(&self) -> String {
        #[cfg(unix)]
        if let Some(s) = &self.socat {
            return s.app().display().to_string();
        }
        format!("tcp://{}", self.addr.clone().unwrap_or_default())
    }

    #[cfg(unix)]
    pub fn socat(&mut self) -> Option<&mut crate::pty::Socat> {
        self.socat.as_mut()
    }

    pub fn set_paper_out(&self, out: bool) {
        lock(&self.state).paper_out = out;
    }

    pub fn set_cover_open(&self, open: bool) {
        lock(&self.state).cover_open = open;
    }

    /// A printer that takes bytes but never answers (switched off behind a serial cable).
    pub fn set_silent(&self, silent: bool) {
        lock(&self.state).silent = silent;
    }

    /// Every byte received.
    pub fn bytes(&self) -> Vec<u8> {
        lock(&self.state).bytes.clone()
    }

    pub fn queries(&self) -> usize {
        lock(&self.state).queries
    }

    /// Receipts finished with a cut.
    pub fn printouts(&self) -> Vec<Printout> {
        lock(&self.state).done.clone()
    }

    /// Waits until `n` receipts were cut.
    pub fn wait_printouts(&self, n: usize, within: Duration) -> Vec<Printout> {
        let deadline = Instant::now() + within;
        loop {
            let done = self.printouts();
            if done.len() >= n || Instant::now() > deadline {
                return done;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for FakePrinter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_text_raster_cut_and_answers_status() {
        let mut s = State::default();
        let mut bytes = vec![0x1B, 0x40, 0x1C, 0x26, 0x1B, 0x61, 0x01, 0x1B, 0x45, 0x01, 0x1D, 0x21, 0x11];
        let (gb, _, _) = encoding_rs::GB18030.encode("合计￥1");
        bytes.extend_from_slice(&gb);
        bytes.push(b'\n');
        bytes.extend_from_slice(&[0x1D, 0x76, 0x30, 0x00, 1, 0, 2, 0, 0x80, 0x01]);
        bytes.extend_from_slice(&[0x10, 0x04, 0x04]);
        // Split mid-command: the parser waits for the rest.
        assert!(s.feed(&bytes[..9]).is_empty());
        assert_eq!(s.feed(&bytes[9..]), vec![0x12]);
        s.paper_out = true;
        assert_eq!(s.feed(&[0x10, 0x04, 0x04, 0x1D, 0x56, 0x42, 0x03]), vec![0x72]);
        let p = &s.done[0];
        assert_eq!(p.lines[0], TextLine { text: "合计￥1".into(), align: 1, bold: true, size: 0x11 });
        assert_eq!((p.raster_stride, p.raster_rows.clone(), p.cut), (1, vec![0x80, 0x01], true));
        assert!(p.chinese_mode);
    }
}
