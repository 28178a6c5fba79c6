//! A TCP proxy that fails on purpose between an HTTP client and its server, for the payment
//! tests: the connection drops before the request reaches the server, or after the server
//! answered but before the answer reaches the client, or the answer (or the request) is held
//! back past the client's timeout. One request per connection (the answer says
//! `connection: close`), so each request meets exactly one planned fault.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Carries the request and its answer.
    Pass,
    /// Reads the request and closes the connection: the server never sees it.
    DropRequest,
    /// Forwards the request, waits for the server's whole answer, then closes the connection
    /// without passing it on: the server did the work, the client does not know.
    DropAnswer,
    /// Forwards the request at once and holds the answer this long before passing it on.
    StallAnswer(Duration),
    /// Holds the request this long, then forwards it (the client has given up by then); the
    /// answer goes back if the client is still there.
    LateRequest(Duration),
}

struct Shared {
    plan: Mutex<VecDeque<Fault>>,
    default: Mutex<Fault>,
    requests: AtomicUsize,
    forwarded: AtomicUsize,
    /// Requests held back (`LateRequest`) not yet forwarded.
    held: AtomicUsize,
    stop: AtomicBool,
}

pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let shared = Arc::new(Shared {
            plan: Mutex::default(),
            default: Mutex::new(Fault::Pass),
            requests: AtomicUsize::new(0),
            forwarded: AtomicUsize::new(0),
            held: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || serve(conn, upstream, &s));
            }
        });
        FaultProxy { addr, shared }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to give the client instead of the server's.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next requests meet these faults, one each, in order; after them, the default.
    pub fn plan(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.shared.plan).extend(faults);
    }

    /// What requests meet when the plan is used up (at first: `Pass`).
    pub fn set_default(&self, fault: Fault) {
        *lock(&self.shared.default) = fault;
    }

    /// Requests read from clients so far.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Requests passed on to the server so far.
    pub fn forwarded(&self) -> usize {
        self.shared.forwarded.load(Ordering::SeqCst)
    }

    /// Requests held back by `LateRequest` that have not reached the server yet.
    pub fn held(&self) -> usize {
        self.shared.held.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the stop.
        let _ = TcpStream::connect(self.addr);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn serve(mut conn: TcpStream, upstream: SocketAddr, s: &Shared) {
    let Some(request) = read_message(&mut conn) else { return };
    s.requests.fetch_add(1, Ordering::SeqCst);
    let fault = lock(&s.plan).pop_front().unwrap_or_else(|| *lock(&s.default));
    match fault {
        Fault::DropRequest => {
            let _ = conn.shutdown(Shutdown::Both);
        }
        Fault::LateRequest(d) => {
            s.held.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(d);
            let answer = forward(upstream, &request);
            s.forwarded.fetch_add(1, Ordering::SeqCst);
            s.held.fetch_sub(1, Ordering::SeqCst);
            if let Some(a) = answer {
                let _ = conn.write_all(&a);
            }
        }
        Fault::Pass | Fault::DropAnswer | Fault::StallAnswer(_) => {
            let answer = forward(upstream, &request);
            s.forwarded.fetch_add(1, Ordering::SeqCst);
            let Some(answer) = answer else { return };
            match fault {
                Fault::DropAnswer => {
                    let _ = conn.shutdown(Shutdown::Both);
                }
                Fault::StallAnswer(d) => {
                    std::thread::sleep(d);
                    let _ = conn.write_all(&answer);
                }
                _ => {
                    let _ = conn.write_all(&answer);
                }
            }
        }
    }
}

/// One HTTP/1.1 message (a request or an answer): its head and a `content-length` body, waiting
/// at most 30 s for each read; for the proxies of the tests.
pub fn read_message(conn: &mut TcpStream) -> Option<Vec<u8>> {
    conn.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let len = header_value(&buf[..end], "content-length").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return Some(buf);
            }
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn header_value(head: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(head).lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// Sends the request with `connection: close` and reads the whole answer (`None`: the server
/// could not be reached).
fn forward(upstream: SocketAddr, request: &[u8]) -> Option<Vec<u8>> {
    let line_end = request.windows(2).position(|w| w == b"\r\n")?;
    let head_end = request.windows(4).position(|w| w == b"\r\n\r\n")?;
    let kept: Vec<u8> = String::from_utf8_lossy(&request[line_end + 2..head_end])
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .flat_map(|l| format!("{l}\r\n").into_bytes())
        .collect();
    let mut up = TcpStream::connect(upstream).ok()?;
    up.set_read_timeout(Some(Duration::from_secs(120))).ok()?;
    up.write_all(&request[..line_end + 2]).ok()?;
    up.write_all(&kept).ok()?;
    up.write_all(b"connection: close\r\n\r\n").ok()?;
    up.write_all(&request[head_end + 4..]).ok()?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).ok()?;
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server answering every request with its own count.
    fn counting_server() -> (SocketAddr, Arc<AtomicUsize>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let n = Arc::new(AtomicUsize::new(0));
        let seen = n.clone();
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(mut c) = c else { continue };
                if read_message(&mut c).is_none() {
                    continue;
                }
                let k = seen.fetch_add(1, Ordering::SeqCst) + 1;
                let body = k.to_string();
                let _ =
                    write!(c, "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
            }
        });
        (addr, n)
    }

    fn get(addr: SocketAddr, timeout: Duration) -> Option<String> {
        let mut c = TcpStream::connect(addr).ok()?;
        c.set_read_timeout(Some(timeout)).ok()?;
        c.write_all(b"POST /x HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}").ok()?;
        let mut a = Vec::new();
        c.read_to_end(&mut a).ok()?;
        let a = String::from_utf8_lossy(&a).to_string();
        a.split("\r\n\r\n").nth(1).map(str::to_string).filter(|b| !b.is_empty())
    }

    #[test]
    fn each_fault_does_what_it_says() {
        let (server, served) = counting_server();
        let p = FaultProxy::start(server);
        p.plan([
            Fault::DropRequest,
            Fault::DropAnswer,
            Fault::StallAnswer(Duration::from_millis(1500)),
            Fault::LateRequest(Duration::from_millis(800)),
        ]);
        assert_eq!(get(p.addr(), Duration::from_secs(5)), None);
        assert_eq!(served.load(Ordering::SeqCst), 0, "a dropped request never reaches the server");
        assert_eq!(get(p.addr(), Duration::from_secs(5)), None);
        assert_eq!(served.load(Ordering::SeqCst), 1, "a dropped answer was served");
        // The client gives up before the stalled answer comes.
        assert_eq!(get(p.addr(), Duration::from_millis(300)), None);
        assert_eq!(served.load(Ordering::SeqCst), 2);
        assert_eq!(get(p.addr(), Duration::from_millis(200)), None);
        assert_eq!(served.load(Ordering::SeqCst), 2, "a late request is still held");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while (p.held() > 0 || served.load(Ordering::SeqCst) < 3) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(served.load(Ordering::SeqCst), 3, "the late request arrived after all");
        assert_eq!(get(p.addr(), Duration::from_secs(5)).as_deref(), Some("4"));
        assert_eq!((p.requests(), p.forwarded()), (5, 4));
    }
}
