//! How ESC/POS bytes reach the printer: a serial port (kept open and reopened after an unplug
//! by the serial-io supervisor), TCP port 9100, or a USB printer-class device (`/dev/usb/lp*`).
//! Each answers the real-time status queries when the printer can.

use crate::error::PrintError;
use crate::escpos::{is_status_byte, Status, QUERY_OFFLINE, QUERY_PAPER};
use booth_serial_io::{is_quiet, supervise, Health, PortSpec, Stop};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Where the printer is, from `[printer] port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// `tcp://host:9100` or `host:port`.
    Tcp(String),
    /// `/dev/usb/lp0` (Linux usblp).
    UsbLp(String),
    /// A serial port (`/dev/ttyUSB0`, `COM3`).
    Serial { port: String, baud: u32 },
}

impl Transport {
    pub fn parse(port: &str, baud: u32) -> Result<Transport, String> {
        let port = port.trim();
        if port.is_empty() {
            return Err("[printer] port 未设置".into());
        }
        if let Some(addr) = port.strip_prefix("tcp://") {
            return Ok(Transport::Tcp(with_port(addr)));
        }
        if port.starts_with("/dev/usb/lp") || port.starts_with("/dev/lp") {
            return Ok(Transport::UsbLp(port.to_string()));
        }
        let looks_serial = port.starts_with('/') || port.to_ascii_uppercase().starts_with("COM");
        if !looks_serial && port.contains(':') || port.parse::<std::net::IpAddr>().is_ok() {
            return Ok(Transport::Tcp(with_port(port)));
        }
        Ok(Transport::Serial { port: port.to_string(), baud })
    }
}

fn with_port(addr: &str) -> String {
    if addr.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) && !addr.ends_with(']') {
        addr.to_string()
    } else {
        format!("{addr}:9100")
    }
}

/// An open connection for one job.
pub trait Link {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Sends a real-time query and waits up to `timeout` for its status byte.
    fn query(&mut self, q: &[u8], timeout: Duration) -> io::Result<Option<u8>>;
}

/// Asks both status queries; `None` when the printer does not answer.
pub fn status(link: &mut dyn Link, timeout: Duration) -> Result<Option<Status>, PrintError> {
    let io = |e: io::Error| PrintError::Unavailable(format!("打印机连接中断: {e}"));
    let Some(offline) = link.query(QUERY_OFFLINE, timeout).map_err(io)? else { return Ok(None) };
    let Some(paper) = link.query(QUERY_PAPER, timeout).map_err(io)? else { return Ok(None) };
    Ok(Some(Status::from_replies(offline, paper)))
}

/// Fails unless the printer answered and is ready.
pub fn require_ready(link: &mut dyn Link, timeout: Duration) -> Result<Status, PrintError> {
    match status(link, timeout)? {
        None => Err(PrintError::Unavailable("打印机无应答 (DLE EOT)".into())),
        Some(s) if s.cover_open => Err(PrintError::CoverOpen),
        Some(s) if s.paper_out => Err(PrintError::PaperOut),
        Some(s) => Ok(s),
    }
}

/// Reads one status byte from `read` until `deadline`, skipping anything else.
fn read_status(read: &mut dyn FnMut(&mut [u8]) -> io::Result<usize>, deadline: Instant) -> io::Result<Option<u8>> {
    let mut buf = [0u8; 64];
    while Instant::now() < deadline {
        match read(&mut buf) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "连接已关闭")),
            Ok(n) => {
                if let Some(b) = buf[..n].iter().rev().find(|b| is_status_byte(**b)) {
                    return Ok(Some(*b));
                }
            }
            Err(e) if is_quiet(&e) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

pub struct TcpLink {
    stream: std::net::TcpStream,
}

impl TcpLink {
    pub fn connect(addr: &str) -> Result<TcpLink, PrintError> {
        use std::net::ToSocketAddrs;
        let unavailable = |e: io::Error| PrintError::Unavailable(format!("{addr}: {e}"));
        let sa = addr
            .to_socket_addrs()
            .map_err(unavailable)?
            .next()
            .ok_or_else(|| PrintError::Unavailable(format!("{addr}: 地址无效")))?;
        let stream = std::net::TcpStream::connect_timeout(&sa, Duration::from_secs(3)).map_err(unavailable)?;
        let _ = stream.set_nodelay(true);
        stream.set_write_timeout(Some(Duration::from_secs(30))).map_err(unavailable)?;
        Ok(TcpLink { stream })
    }
}

impl Link for TcpLink {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    fn query(&mut self, q: &[u8], timeout: Duration) -> io::Result<Option<u8>> {
        // Drop anything stale (an earlier late answer).
        self.stream.set_nonblocking(true)?;
        let mut junk = [0u8; 256];
        while let Ok(n) = self.stream.read(&mut junk) {
            if n == 0 {
                break;
            }
        }
        self.stream.set_nonblocking(false)?;
        self.stream.write_all(q)?;
        self.stream.set_read_timeout(Some(Duration::from_millis(20)))?;
        let deadline = Instant::now() + timeout;
        let stream = &mut self.stream;
        read_status(&mut |b| stream.read(b), deadline)
    }
}

/// A USB printer-class device node: written like a file; bidirectional printers answer status
/// queries on the same node.
#[cfg(unix)]
pub struct UsbLink {
    file: std::fs::File,
}

#[cfg(unix)]
impl UsbLink {
    pub fn open(path: &str) -> Result<UsbLink, PrintError> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| PrintError::Unavailable(format!("{path}: {e}")))?;
        Ok(UsbLink { file })
    }
}

#[cfg(unix)]
impl Link for UsbLink {
    fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !bytes.is_empty() {
            match self.file.write(bytes) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "打印机不接收数据")),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if is_quiet(&e) && Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn query(&mut self, q: &[u8], timeout: Duration) -> io::Result<Option<u8>> {
        self.write_all(q)?;
        let deadline = Instant::now() + timeout;
        let file = &mut self.file;
        read_status(&mut |b| file.read(b), deadline)
    }
}

/// What the serial supervisor shares with jobs: the open port and the bytes the printer sent.
#[derive(Default)]
pub struct SerialShared {
    writer: Mutex<Option<Box<dyn serialport::SerialPort>>>,
    replies: Mutex<VecDeque<u8>>,
    arrived: Condvar,
}

/// Starts the supervisor of a serial printer: the port is held open, what the printer sends
/// is kept for status queries, and the port is reopened after an unplug.
pub fn supervise_serial(port: &str, baud: u32, health: Arc<Health>, stop: Stop) -> Arc<SerialShared> {
    let shared = Arc::new(SerialShared::default());
    let s = shared.clone();
    supervise("printer", PortSpec::new(port, baud), health, stop, move |dev, stop| {
        match dev.try_clone() {
            Ok(c) => *s.writer.lock().unwrap_or_else(|p| p.into_inner()) = Some(c),
            Err(e) => return e.to_string(),
        }
        let mut buf = [0u8; 64];
        let why = loop {
            if stop.stopped() {
                break "stopped".to_string();
            }
            match dev.read(&mut buf) {
                Ok(0) => break "设备已断开".to_string(),
                Ok(n) => {
                    let mut q = s.replies.lock().unwrap_or_else(|p| p.into_inner());
                    q.extend(&buf[..n]);
                    while q.len() > 256 {
                        q.pop_front();
                    }
                    s.arrived.notify_all();
                }
                Err(e) if is_quiet(&e) => {}
                Err(e) => break e.to_string(),
            }
        };
        *s.writer.lock().unwrap_or_else(|p| p.into_inner()) = None;
        why
    });
    shared
}

pub struct SerialLink {
    pub shared: Arc<SerialShared>,
    pub port: String,
}

impl Link for SerialLink {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut guard = self.shared.writer.lock().unwrap_or_else(|p| p.into_inner());
        let Some(w) = guard.as_mut() else {
            return Err(io::Error::new(io::ErrorKind::NotConnected, format!("{} 未打开", self.port)));
        };
        // Serial ports time out writes in small steps; keep going while bytes drain.
        let mut rest = bytes;
        let deadline = Instant::now() + Duration::from_secs(600);
        while !rest.is_empty() {
            match w.write(rest) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "串口不接收数据")),
                Ok(n) => rest = &rest[n..],
                Err(e) if is_quiet(&e) && Instant::now() < deadline => {}
                Err(e) => {
                    *guard = None;
                    return Err(e);
                }
            }
        }
        w.flush()
    }

    fn query(&mut self, q: &[u8], timeout: Duration) -> io::Result<Option<u8>> {
        self.shared.replies.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.write_all(q)?;
        let deadline = Instant::now() + timeout;
        let mut replies = self.shared.replies.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            while let Some(b) = replies.pop_front() {
                if is_status_byte(b) {
                    return Ok(Some(b));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            replies = self.shared.arrived.wait_timeout(replies, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_name_their_transport() {
        let t = |s: &str| Transport::parse(s, 9600).unwrap();
        assert_eq!(t("tcp://10.0.0.5"), Transport::Tcp("10.0.0.5:9100".into()));
        assert_eq!(t("printer.local:9101"), Transport::Tcp("printer.local:9101".into()));
        assert_eq!(t("10.0.0.5"), Transport::Tcp("10.0.0.5:9100".into()));
        assert_eq!(t("/dev/usb/lp0"), Transport::UsbLp("/dev/usb/lp0".into()));
        assert_eq!(t("/dev/ttyUSB0"), Transport::Serial { port: "/dev/ttyUSB0".into(), baud: 9600 });
        assert_eq!(t("COM3"), Transport::Serial { port: "COM3".into(), baud: 9600 });
        assert!(Transport::parse("", 9600).is_err());
    }
}
