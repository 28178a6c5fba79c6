//! `<webrtc-video>`'s MJPEG endpoint: only a granted token streams, a part is complete as soon
//! as its frame is written (the next part's headers follow at once), and the added latency from
//! the camera's frame to the client's complete JPEG is printed.

#![cfg(target_os = "linux")]

use booth_camera::{Backend, Camera, CameraConfig, Frame, Source};
use booth_webrtc::display::{Display, Feed};
use booth_webrtc::stream::LocalTrack;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Frames numbered by their colour, each one's making time kept.
struct Numbered {
    n: u64,
    made: Arc<Mutex<HashMap<u64, Instant>>>,
}

impl Source for Numbered {
    fn open(&mut self) -> Result<(), String> {
        Ok(())
    }
    fn next(&mut self) -> Result<Frame, String> {
        std::thread::sleep(Duration::from_millis(66));
        self.n += 1;
        let v = [((self.n % 16) * 16 + 8) as u8, (((self.n / 16) % 16) * 16 + 8) as u8, 128];
        self.made.lock().unwrap().insert(self.n, Instant::now());
        Ok(Frame::filled(640, 480, v))
    }
}

fn number(f: &Frame) -> u64 {
    let (r, g) = (f.rgb[0] as u64, f.rgb[1] as u64);
    r / 16 + (g / 16) * 16
}

fn get(url: &str) -> TcpStream {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET /{path} HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
    s
}

#[test]
fn only_granted_tokens_stream_and_each_frame_arrives_complete_at_once() {
    let made = Arc::new(Mutex::new(HashMap::new()));
    let m = made.clone();
    let config = CameraConfig { backend: Backend::Sim, width: 640, height: 480, fps: 15, ..Default::default() };
    let camera = Camera::with_source(
        config,
        Box::new(move || Some(Box::new(Numbered { n: 0, made: m.clone() }) as Box<dyn Source>)),
        None,
    );
    let display = Display::start().unwrap();
    let track = LocalTrack::camera(&camera).unwrap();
    let url = display.grant(7, Feed::Local(track.clone()));

    let mut bad = get(&url.replace("/stream/v", "/stream/x"));
    let mut answer = String::new();
    let _ = bad.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");

    let mut s = get(&url);
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 65536];
    let mut latencies = Vec::new();
    let mut last = 0;
    let sep = b"\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n";
    let deadline = Instant::now() + Duration::from_secs(30);
    while latencies.len() < 60 {
        assert!(Instant::now() < deadline, "frames stopped after {}", latencies.len());
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "the stream ended");
        buf.extend_from_slice(&chunk[..n]);
        // A part is complete when the next part's headers have arrived after it.
        while let Some(start) = buf.windows(2).position(|w| w == [0xFF, 0xD8]) {
            let Some(end) = buf[start..].windows(sep.len()).position(|w| w == sep) else { break };
            let jpeg = &buf[start..start + end];
            let now = Instant::now();
            let f = Frame::decode(jpeg).unwrap();
            let k = number(&f);
            if let Some(t) = made.lock().unwrap().iter().filter(|(n, _)| *n % 256 == k).map(|(_, t)| *t).max() {
                latencies.push(now.duration_since(t));
            }
            assert_ne!(k, last, "a frame was sent twice");
            last = k;
            buf.drain(..start + end + sep.len());
        }
    }
    latencies.sort();
    println!(
        "MJPEG display 640x480@15 (camera frame → complete JPEG at the client, JPEG encode included): p50 {:.1} ms, p95 {:.1} ms",
        latencies[latencies.len() / 2].as_secs_f64() * 1000.0,
        latencies[latencies.len() * 95 / 100].as_secs_f64() * 1000.0
    );

    let sample = Frame::filled(640, 480, [90, 90, 90]);
    let t = Instant::now();
    for _ in 0..10 {
        std::hint::black_box(sample.to_jpeg(80));
    }
    println!("  of which JPEG encoding (this build): {:.1} ms a frame", t.elapsed().as_secs_f64() * 100.0);

    // The page went away: its streams end.
    display.revoke_session(7);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(_) => assert!(Instant::now() < deadline, "the stream went on after its page left"),
        }
    }
    track.stop();
}
