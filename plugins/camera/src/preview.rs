//! The live preview for Booth's own screens: MJPEG (`multipart/x-mixed-replace`) on 127.0.0.1,
//! one token per screen, shown by an `<img>`.
//!
//! WebKitGTK holds each multipart part until the next part's headers arrive, so the boundary and
//! the next part's headers are written right after each frame (about 15 ms added latency here,
//! against 85 ms with the headers sent before each frame). Only a URL handed out by
//! [`Preview::url_for`] streams; [`Preview::revoke`] ends it, and a revoked or unknown token gets
//! 404. Nothing is kept: frames are encoded as they come and dropped.
//!
//! Booth's own screens only show the picture. A web page that must read the pixels (the
//! certification window's page, another origin) gets a grant bound to its origin
//! ([`Preview::grant`]): the stream and `GET /frame/<token>` (one JPEG per request) answer with
//! CORS for that origin alone, and a request from any other origin is refused. A single-frame
//! fetch is what such a page can read on every web view: WebKitGTK fails a cross-origin
//! `<img crossorigin>` on an MJPEG stream outright, so a canvas cannot be fed from the stream.

use crate::Camera;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BOUNDARY_AND_HEADERS: &[u8] = b"\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n";

struct Token {
    screen: String,
    /// The web origin that may read the pixels (CORS), for a grant.
    origin: Option<String>,
}

/// A page's access to the picture: see [`Preview::grant`].
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// The MJPEG stream, to show in an `<img>`.
    pub stream_url: String,
    /// One JPEG of the camera's next frame per GET, readable by the granted origin.
    pub frame_url: String,
}

pub struct Preview {
    camera: Camera,
    addr: SocketAddr,
    tokens: Mutex<HashMap<String, Token>>,
    quality: u8,
}

impl Preview {
    /// Listens on 127.0.0.1 at a free port; must be called inside a tokio runtime.
    pub async fn start(camera: Camera) -> std::io::Result<Arc<Preview>> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let preview = Arc::new(Preview { camera, addr, tokens: Mutex::default(), quality: 80 });
        let weak = Arc::downgrade(&preview);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let Some(p) = weak.upgrade() else { break };
                tokio::spawn(async move { p.serve(stream).await });
            }
        });
        Ok(preview)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A fresh stream URL for `screen` (shown by Booth's own screens; its pixels are not
    /// readable by another origin); an earlier one of the same screen stops working.
    pub fn url_for(&self, screen: &str) -> String {
        let token = self.issue(screen, None);
        format!("http://{}/stream/{token}", self.addr)
    }

    /// The picture for `screen` to a page of `origin` (`scheme://host[:port]`), which may read
    /// its pixels; an earlier grant or URL of the same screen stops working.
    pub fn grant(&self, screen: &str, origin: &str) -> Grant {
        let token = self.issue(screen, Some(origin.to_string()));
        Grant {
            stream_url: format!("http://{}/stream/{token}", self.addr),
            frame_url: format!("http://{}/frame/{token}", self.addr),
        }
    }

    fn issue(&self, screen: &str, origin: Option<String>) -> String {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            // Without randomness the token would be guessable: hand out none that works.
            return "-".into();
        }
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.retain(|_, t| t.screen != screen);
        tokens.insert(token.clone(), Token { screen: screen.to_string(), origin });
        token
    }

    /// Ends `screen`'s stream.
    pub fn revoke(&self, screen: &str) {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, t| t.screen != screen);
    }

    fn valid(&self, token: &str) -> bool {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).contains_key(token)
    }

    /// The granted origin of a live token: `Some(None)` for Booth's own screens.
    fn origin_of(&self, token: &str) -> Option<Option<String>> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).get(token).map(|t| t.origin.clone())
    }

    async fn serve(&self, mut stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let Some(request) = read_request(&mut stream).await else { return };
        let (frame, token) = match (request.path.strip_prefix("/stream/"), request.path.strip_prefix("/frame/")) {
            (Some(t), _) => (false, t),
            (_, Some(t)) => (true, t),
            _ => (false, ""),
        };
        let granted = if token.is_empty() { None } else { self.origin_of(token) };
        let Some(granted) = granted else {
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
            return;
        };
        // A browser names the page's origin on a cross-origin read; only the granted one may.
        if request.origin.is_some() && request.origin != granted {
            let _ = stream.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
            return;
        }
        let cors = match &granted {
            Some(o) => format!("Access-Control-Allow-Origin: {o}\r\nVary: Origin\r\n"),
            None => String::new(),
        };
        if frame {
            self.serve_frame(stream, &cors).await;
        } else {
            self.serve_stream(stream, token, &cors).await;
        }
    }

    /// One JPEG: the camera's next frame.
    async fn serve_frame(&self, mut stream: TcpStream, cors: &str) {
        let jpeg = match self.camera.subscribe() {
            Ok(mut sub) => match sub.next_frame_async(Duration::from_secs(3)).await {
                Ok(f) => {
                    let quality = self.quality;
                    tokio::task::spawn_blocking(move || f.to_jpeg(quality)).await.unwrap_or_default()
                }
                Err(_) => Vec::new(),
            },
            Err(_) => Vec::new(),
        };
        if jpeg.is_empty() {
            let head =
                format!("HTTP/1.1 503 Service Unavailable\r\n{cors}Content-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(head.as_bytes()).await;
            return;
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nCache-Control: no-store\r\n{cors}Connection: close\r\n\r\n",
            jpeg.len()
        );
        if stream.write_all(head.as_bytes()).await.is_ok() {
            let _ = stream.write_all(&jpeg).await;
        }
    }

    async fn serve_stream(&self, mut stream: TcpStream, token: &str, cors: &str) {
        let mut sub = match self.camera.subscribe() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "preview: camera unavailable");
                let _ = stream
                    .write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
                return;
            }
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\
             Cache-Control: no-store\r\n{cors}Connection: close\r\n\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n"
        );
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let quality = self.quality;
        while self.valid(token) {
            let frame = match sub.next_frame_async(Duration::from_secs(1)).await {
                Ok(f) => f,
                Err(_) => {
                    // The camera is away; keep the stream open for when it is back.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let Ok(jpeg) = tokio::task::spawn_blocking(move || frame.to_jpeg(quality)).await else { break };
            if jpeg.is_empty() {
                continue;
            }
            if stream.write_all(&jpeg).await.is_err() || stream.write_all(BOUNDARY_AND_HEADERS).await.is_err() {
                break;
            }
        }
    }
}

struct Request {
    path: String,
    /// The `Origin` header, when a browser sent one.
    origin: Option<String>,
}

/// Reads a request head; returns the path of a GET and its `Origin`.
async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let read = async {
        loop {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                return Some(());
            }
            if buf.len() > 8192 {
                return None;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read).await.ok()??;
    let text = std::str::from_utf8(&buf).ok()?;
    let mut lines = text.lines();
    let line = lines.next()?;
    let mut parts = line.split(' ');
    if parts.next()? != "GET" {
        return None;
    }
    let path = parts.next()?.to_string();
    let origin = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("origin"))
        .map(|(_, v)| v.trim().to_string());
    Some(Request { path, origin })
}
