//! The live preview for Booth's own screens: MJPEG (`multipart/x-mixed-replace`) on 127.0.0.1,
//! one token per screen, shown by an `<img>`.
//!
//! WebKitGTK holds each multipart part until the next part's headers arrive, so the boundary and
//! the next part's headers are written right after each frame (about 15 ms added latency here,
//! against 85 ms with the headers sent before each frame). Only a URL handed out by
//! [`Preview::url_for`] streams; [`Preview::revoke`] ends it, and a revoked or unknown token gets
//! 404. Nothing is kept: frames are encoded as they come and dropped. The stream allows any
//! origin to read its pixels (CORS): the token is what grants the picture, and a page Booth
//! hands a URL to (the certification window's page) needs to take frames from it.

use crate::Camera;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BOUNDARY_AND_HEADERS: &[u8] = b"\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n";

pub struct Preview {
    camera: Camera,
    addr: SocketAddr,
    /// token → screen
    tokens: Mutex<HashMap<String, String>>,
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

    /// A fresh stream URL for `screen`; an earlier one of the same screen stops working.
    pub fn url_for(&self, screen: &str) -> String {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            // Without randomness the token would be guessable: hand out none that works.
            return format!("http://{}/stream/-", self.addr);
        }
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.retain(|_, s| s != screen);
        tokens.insert(token.clone(), screen.to_string());
        format!("http://{}/stream/{token}", self.addr)
    }

    /// Ends `screen`'s stream.
    pub fn revoke(&self, screen: &str) {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, s| s != screen);
    }

    fn valid(&self, token: &str) -> bool {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).contains_key(token)
    }

    async fn serve(&self, mut stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let Some(path) = read_request(&mut stream).await else { return };
        let token = path.strip_prefix("/stream/").unwrap_or("");
        if token.is_empty() || !self.valid(token) {
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
            return;
        }
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
        let head = "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\
                    Cache-Control: no-store\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n";
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

/// Reads a request head; returns the path of a GET.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
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
    let line = std::str::from_utf8(&buf).ok()?.lines().next()?.to_string();
    let mut parts = line.split(' ');
    if parts.next()? != "GET" {
        return None;
    }
    Some(parts.next()?.to_string())
}
