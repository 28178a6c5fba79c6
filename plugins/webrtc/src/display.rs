//! Showing a native stream in a page: MJPEG (`multipart/x-mixed-replace`) on 127.0.0.1 at a free
//! port, one unguessable token per `<webrtc-video>`, shown by an `<img>` in the element.
//!
//! WebKitGTK holds each multipart part until the next part's headers arrive, so the boundary and
//! the next part's headers are written right after each frame (about 15 ms added, against
//! 85 ms with the headers written before each frame). A token works while its stream lives and
//! its page's session lasts; anything else gets 404. Frames are encoded as they come and dropped.

use crate::peer::Peer;
use crate::stream::LocalTrack;
use booth_bridge::SessionId;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

const NEXT_PART: &[u8] = b"\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n";

/// What a token shows.
#[derive(Clone)]
pub enum Feed {
    /// A local video track (the camera).
    Local(LocalTrack),
    /// The video of a connection's remote stream (it may arrive after the element asked).
    Remote(Peer),
}

struct Grant {
    session: SessionId,
    feed: Feed,
}

pub struct Display {
    addr: SocketAddr,
    grants: Mutex<HashMap<String, Grant>>,
}

impl Display {
    /// Listens on 127.0.0.1 at a free port.
    pub fn start() -> std::io::Result<Arc<Display>> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let display = Arc::new(Display { addr, grants: Mutex::default() });
        let weak = Arc::downgrade(&display);
        std::thread::Builder::new().name("booth-webrtc-display".into()).spawn(move || accept(listener, weak))?;
        Ok(display)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Grant>> {
        self.grants.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A URL that streams `feed` to a page of `session`.
    pub fn grant(&self, session: SessionId, feed: Feed) -> String {
        let token = crate::model::new_id("v");
        self.lock().insert(token.clone(), Grant { session, feed });
        format!("http://{}/stream/{token}", self.addr)
    }

    /// Ends every stream of a session.
    pub fn revoke_session(&self, session: SessionId) {
        self.lock().retain(|_, g| g.session != session);
    }

    fn feed(&self, token: &str) -> Option<Feed> {
        self.lock().get(token).map(|g| g.feed.clone())
    }

    fn valid(&self, token: &str) -> bool {
        self.lock().contains_key(token)
    }
}

fn accept(listener: TcpListener, display: Weak<Display>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let Some(d) = display.upgrade() else { break };
        let _ = std::thread::Builder::new().name("booth-webrtc-mjpeg".into()).spawn(move || serve(stream, d));
    }
}

fn serve(mut s: TcpStream, display: Arc<Display>) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.set_nodelay(true);
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while n < buf.len() {
        match s.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => {
                n += k;
                if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    }
    let head = String::from_utf8_lossy(&buf[..n]);
    let token = head
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("GET /stream/"))
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_default()
        .to_string();
    let Some(feed) = display.feed(&token) else {
        let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    let header = "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\
                  Cache-Control: no-store\r\nConnection: close\r\n\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n";
    if s.write_all(header.as_bytes()).is_err() {
        return;
    }
    let mut send = |frame: &booth_camera::Frame| -> bool {
        let jpeg = frame.to_jpeg(80);
        s.write_all(&jpeg).is_ok() && s.write_all(NEXT_PART).is_ok() && s.flush().is_ok()
    };
    match feed {
        Feed::Local(track) => {
            let crate::stream::TrackSource::Camera { camera, .. } = track.source() else { return };
            let Ok(mut sub) = camera.subscribe() else { return };
            while display.valid(&token) && !track.ended() {
                match sub.next_frame(Duration::from_millis(500)) {
                    Ok(f) if track.enabled() => {
                        if !send(&f) {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(booth_camera::CameraError::NoFrame(_)) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(200)),
                }
            }
        }
        Feed::Remote(peer) => {
            let mut seen = 0;
            while display.valid(&token) && !peer.is_closed() {
                let Some(track) = peer.remote_tracks().into_iter().find(|t| t.kind() == "video") else {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                };
                if let Some(f) = track.next_frame(seen, Duration::from_millis(500)) {
                    seen = f.seq;
                    if !send(&f) {
                        return;
                    }
                }
            }
        }
    }
}
