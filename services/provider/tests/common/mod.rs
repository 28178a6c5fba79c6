//! The reference provider on loopback, real embeddings of the sample photos from Booth's face
//! engine, and a proxy that misbehaves on purpose between Booth and the provider.

#![allow(dead_code)]

use booth_camera::Frame;
// Not every test binary that includes this module places faces.
#[allow(unused_imports)]
pub use booth_face::test_support::{detect, engine};
use booth_provider::{App, Running, Settings};
use booth_provider_client::wire::*;
use booth_provider_client::{Client, ClientConfig};
use booth_testkit::netfault::read_message;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub const KEY_ID: &str = "T-1";
pub const SECRET: &str = "0123456789abcdef0123456789abcdef-test";

pub struct Site {
    pub dir: tempfile::TempDir,
    pub running: Running,
}

pub async fn start() -> Site {
    start_with(Some(booth_testkit::face::models_dir())).await
}

/// A provider with the given models (None: no photos, no OCR).
pub async fn start_with(models_dir: Option<std::path::PathBuf>) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: dir.path().join("db/provider.db"),
        key_file: dir.path().join("keys/templates.key"),
        models_dir,
        clients: HashMap::from([(KEY_ID.to_string(), SECRET.to_string())]),
        ..Settings::default()
    };
    let app = App::open(settings).unwrap();
    let running = app.serve().await.unwrap();
    Site { dir, running }
}

/// A fictional person's ID card (the number has a correct check digit).
pub const ID_FRONT: booth_testkit::card::IdFront = booth_testkit::card::IdFront {
    name: "林晓雨",
    gender: "女",
    nation: "汉",
    birth: (1994, 7, 9),
    address: &["浙江省杭州市西湖区文三路", "88号2幢301室"],
    id_no: "33010619940709002X",
};

/// `/v1/ocr` for a picture, sent as the terminal sends it (JPEG, base64).
pub fn ocr_req(kind: &str, picture: &booth_camera::Frame) -> OcrRequest {
    use base64::Engine as _;
    OcrRequest {
        terminal: "T-1".into(),
        kind: kind.into(),
        image: base64::engine::general_purpose::STANDARD.encode(picture.to_jpeg(90)),
    }
}

pub fn client_to(url: &str, timeout: Duration, retries: u32) -> Arc<Client> {
    Arc::new(Client::new(ClientConfig {
        url: url.to_string(),
        key_id: KEY_ID.into(),
        secret: SECRET.as_bytes().to_vec(),
        timeout,
        retries,
    }))
}

/// The embedding Booth's engine makes of a sample photo (computed once per photo).
pub fn embedding(photo: &str) -> Vec<f32> {
    static CACHE: OnceLock<Mutex<HashMap<String, Vec<f32>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(v) = cache.lock().unwrap().get(photo) {
        return v.clone();
    }
    let v = engine().embed_photo(&booth_testkit::face::photo(photo)).unwrap().0.to_vec();
    cache.lock().unwrap().insert(photo.to_string(), v.clone());
    v
}

pub fn face(photo: &str) -> Face {
    Face {
        image: String::new(),
        embedding: Embedding { model: FACE_MODEL.into(), version: FACE_MODEL_VERSION.into(), values: embedding(photo) },
        liveness: Liveness {
            method: "turn".into(),
            passed: true,
            steps: vec!["TURN_LEFT".into(), "TURN_RIGHT".into()],
        },
    }
}

pub fn consent() -> Consent {
    Consent {
        text: "同意以人脸特征登记".into(),
        accepted_at: booth_provider_client::sign::now_s(),
        terminal: "T-1".into(),
    }
}

/// What the proxy does to the exchanges it carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Passes everything through.
    Pass,
    /// Changes one byte of every answer's body.
    Tamper,
    /// Answers every request after the first with the first one's answer.
    ReplayFirst,
    /// Forwards the first request but closes the connection instead of answering.
    DropFirst,
    /// Never answers.
    Stall,
}

/// A one-request-per-connection HTTP proxy on loopback.
pub struct Proxy {
    pub addr: SocketAddr,
    /// The Idempotency-Key of every request seen, in order.
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr, mode: Mode) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let first: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
        let log = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let (log, first) = (log.clone(), first.clone());
                std::thread::spawn(move || {
                    let Some(request) = read_message(&mut conn) else { return };
                    let head = String::from_utf8_lossy(&request[..request.len().min(4096)]).to_ascii_lowercase();
                    let idem = head
                        .lines()
                        .find_map(|l| l.strip_prefix("idempotency-key:"))
                        .map(|v| v.trim().to_string())
                        .unwrap_or_default();
                    let n = {
                        let mut l = log.lock().unwrap();
                        l.push(idem);
                        l.len()
                    };
                    if mode == Mode::Stall {
                        std::thread::sleep(Duration::from_secs(30));
                        return;
                    }
                    if mode == Mode::ReplayFirst && n > 1 {
                        if let Some(answer) = first.lock().unwrap().clone() {
                            let _ = conn.write_all(&answer);
                        }
                        return;
                    }
                    let mut answer = forward(upstream, &request);
                    if n == 1 {
                        *first.lock().unwrap() = Some(answer.clone());
                        if mode == Mode::DropFirst {
                            return;
                        }
                    }
                    if mode == Mode::Tamper {
                        if let Some(at) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
                            if let Some(b) = answer.get_mut(at + 6) {
                                *b = if *b == b'x' { b'y' } else { b'x' };
                            }
                        }
                    }
                    let _ = conn.write_all(&answer);
                });
            }
        });
        Proxy { addr, seen }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Sends a request with `Connection: close` and reads the whole answer.
pub fn forward(upstream: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut up = TcpStream::connect(upstream).unwrap();
    let line_end = request.windows(2).position(|w| w == b"\r\n").unwrap();
    let head_end = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let kept: Vec<u8> = String::from_utf8_lossy(&request[line_end + 2..head_end])
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .flat_map(|l| format!("{l}\r\n").into_bytes())
        .collect();
    up.write_all(&request[..line_end + 2]).unwrap();
    up.write_all(&kept).unwrap();
    up.write_all(b"connection: close\r\n\r\n").unwrap();
    up.write_all(&request[head_end + 4..]).unwrap();
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).unwrap();
    answer
}

/// A raw request signed by hand (for what Booth's client never sends).
pub fn raw(upstream: SocketAddr, method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: {upstream}\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    let answer = String::from_utf8_lossy(&forward(upstream, &bytes)).to_string();
    let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer)
}

// The certification page, as its browser uses it.

/// A plain HTTP/1.1 request as the page's browser makes it: (status, body).
pub fn page_request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("an answer head");
    let status = String::from_utf8_lossy(&raw[..split]).split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap();
    let mut body = raw[split + 4..].to_vec();
    if String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = unchunk(&body);
    }
    (status, body)
}

pub fn unchunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else { return out };
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
}

/// Plays `frames` in a loop as the page does until the provider names where to go.
pub fn run_page(addr: SocketAddr, id: &str, frames: &[Frame], max: usize) -> Value {
    let jpegs: Vec<Vec<u8>> = frames.iter().map(|f| f.to_jpeg(85)).collect();
    // The page samples a 15 fps camera about five times a second.
    for (i, jpeg) in jpegs.iter().cycle().step_by(3).take(max).enumerate() {
        let (status, body) = page_request(addr, "POST", &format!("/certify/{id}/frame"), jpeg);
        assert_eq!(status, 200, "frame {i}: {}", String::from_utf8_lossy(&body));
        let answer: Value = serde_json::from_slice(&body).unwrap();
        if !answer["next"].is_null() {
            return answer;
        }
        assert_eq!(answer["status"], "PENDING");
    }
    panic!("no result after {max} frames");
}
