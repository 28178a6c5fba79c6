//! The camera owner with its `file` sources (a folder of JPEG frames; a video decoded by
//! GStreamer), the simulator and the MJPEG preview.

use booth_camera::preview::Preview;
use booth_camera::sim::Scene;
use booth_camera::{Backend, Camera, CameraConfig, CameraError, Frame};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// A frame whose left half is red and right half blue, `n` in its top-left pixel's green.
fn marked(n: u8, w: u32, h: u32) -> Frame {
    let mut px = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let g = if x < 8 && y < 8 { n * 20 } else { 0 };
            px.extend_from_slice(&if x < w / 2 { [220, g, 20] } else { [20, g, 220] });
        }
    }
    Frame::new(w, h, px)
}

fn write_frames(dir: &Path, n: u8) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        std::fs::write(dir.join(format!("{i:03}.jpg")), marked(i, 64, 48).to_jpeg(95)).unwrap();
    }
}

fn file_camera(dir: &Path, fps: u32) -> Camera {
    Camera::new(CameraConfig {
        backend: Backend::File(dir.to_path_buf()),
        width: 64,
        height: 48,
        fps,
        ..Default::default()
    })
}

#[test]
fn a_folder_plays_in_order_in_a_loop_at_its_rate_to_every_consumer() {
    let dir = tempfile::tempdir().unwrap();
    write_frames(dir.path(), 3);
    let cam = file_camera(dir.path(), 20);
    assert!(!cam.status().running);
    let mut a = cam.subscribe().unwrap();
    let mut b = cam.subscribe().unwrap();
    let start = Instant::now();
    let mut marks = Vec::new();
    for _ in 0..7 {
        let f = a.next_frame(Duration::from_secs(5)).unwrap();
        marks.push((f.pixel(2, 2)[1] as f32 / 20.0).round() as u8);
    }
    // 7 frames at 20 fps take at least 6 periods.
    assert!(start.elapsed() >= Duration::from_millis(290), "{:?}", start.elapsed());
    let first = marks[0];
    for (i, m) in marks.iter().enumerate() {
        assert_eq!(*m, (first + i as u8) % 3, "{marks:?}");
    }
    // The second consumer sees the same camera (the newest frame, not a second device).
    let fb = b.next_frame(Duration::from_secs(5)).unwrap();
    assert!(fb.seq >= 7);
    assert!(cam.status().running && cam.status().available);
    drop((a, b));
    let deadline = Instant::now() + Duration::from_secs(5);
    while cam.status().running {
        assert!(Instant::now() < deadline, "the camera stops without consumers");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_removed_folder_is_an_unplugged_camera_that_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    write_frames(&frames, 2);
    let cam = file_camera(&frames, 30);
    let mut sub = cam.subscribe().unwrap();
    sub.next_frame(Duration::from_secs(5)).unwrap();
    std::fs::remove_dir_all(&frames).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match sub.next_frame(Duration::from_secs(1)) {
            Err(CameraError::Unavailable(detail)) => {
                assert!(detail.contains("frames"), "{detail}");
                break;
            }
            Ok(_) | Err(CameraError::NoFrame(_)) => assert!(Instant::now() < deadline, "never noticed"),
        }
    }
    assert!(!cam.status().available);
    write_frames(&frames, 2);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match sub.next_frame(Duration::from_secs(1)) {
            Ok(_) => break,
            Err(_) => assert!(Instant::now() < deadline, "never came back"),
        }
    }
    assert!(cam.status().available);
}

#[test]
fn rotation_and_mirror_apply_to_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    write_frames(dir.path(), 1);
    let cam = Camera::new(CameraConfig {
        backend: Backend::File(dir.path().to_path_buf()),
        rotation: 90,
        mirror: true,
        fps: 30,
        ..Default::default()
    });
    let f = cam.subscribe().unwrap().next_frame(Duration::from_secs(5)).unwrap();
    assert_eq!((f.width, f.height), (48, 64));
    // Red was on the left; turned clockwise it is on top; mirrored, still on top.
    assert!(f.pixel(24, 5)[0] > 150 && f.pixel(24, 58)[2] > 150, "{:?} {:?}", f.pixel(24, 5), f.pixel(24, 58));
}

#[test]
fn no_camera_configured_is_unavailable_with_a_reason() {
    let cam = Camera::new(CameraConfig::default());
    match cam.subscribe() {
        Err(CameraError::Unavailable(d)) => assert!(d.contains("[camera]"), "{d}"),
        other => panic!("{:?}", other.err()),
    }
    assert!(!cam.status().available);
    let missing = file_camera(Path::new("/nonexistent/frames"), 10);
    let mut sub = missing.subscribe().unwrap();
    assert!(matches!(sub.next_frame(Duration::from_secs(5)), Err(CameraError::Unavailable(_))));
}

#[test]
fn a_video_file_plays_through_gstreamer_in_a_loop() {
    let dir = tempfile::tempdir().unwrap();
    write_frames(&dir.path().join("src"), 4);
    let video = dir.path().join("clip.avi");
    // An MJPEG AVI made from the frames with GStreamer itself (plugins-good only).
    gstreamer::init().unwrap();
    make_avi(&format!(
        "multifilesrc location={}/%03d.jpg index=0 stop-index=3 caps=image/jpeg,framerate=10/1 ! jpegdec ! videoconvert ! jpegenc ! avimux ! filesink location={}",
        dir.path().join("src").display(),
        video.display()
    ));
    assert!(std::fs::metadata(&video).unwrap().len() > 1000);
    let cam = Camera::new(CameraConfig {
        backend: Backend::File(video.clone()),
        width: 64,
        height: 48,
        fps: 10,
        ..Default::default()
    });
    let mut sub = cam.subscribe().unwrap();
    let mut seen = 0;
    for _ in 0..10 {
        let f = sub.next_frame(Duration::from_secs(10)).unwrap_or_else(|e| panic!("{e} / {:?}", cam.status()));
        assert_eq!((f.width, f.height), (64, 48));
        assert!(f.pixel(40, 30)[2] > 150, "blue on the right");
        seen += 1;
    }
    assert_eq!(seen, 10, "4 frames of video looped");
    std::fs::remove_file(&video).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !matches!(sub.next_frame(Duration::from_secs(1)), Err(CameraError::Unavailable(_))) {
        assert!(Instant::now() < deadline, "a removed video is an unplugged camera");
    }
}

fn make_avi(desc: &str) {
    use gstreamer::prelude::*;
    let p = gstreamer::parse::launch(desc).unwrap();
    p.set_state(gstreamer::State::Playing).unwrap();
    let bus = p.bus().unwrap();
    bus.timed_pop_filtered(
        gstreamer::ClockTime::from_seconds(10),
        &[gstreamer::MessageType::Eos, gstreamer::MessageType::Error],
    );
    p.set_state(gstreamer::State::Null).unwrap();
}

#[test]
fn the_simulator_shows_scenes_and_unplugs() {
    let cam =
        Camera::new(CameraConfig { backend: Backend::Sim, width: 160, height: 120, fps: 30, ..Default::default() });
    let sim = cam.sim().unwrap().clone();
    let mut sub = cam.subscribe().unwrap();
    let nobody = sub.next_frame(Duration::from_secs(5)).unwrap();
    assert_eq!(nobody.pixel(80, 60), [120, 124, 128]);
    sim.set_picture(marked(1, 100, 100));
    sim.set_scene(Scene::Photo);
    let deadline = Instant::now() + Duration::from_secs(5);
    let photo = loop {
        let f = sub.next_frame(Duration::from_secs(5)).unwrap();
        if f.pixel(80, 60) != [120, 124, 128] {
            break f;
        }
        assert!(Instant::now() < deadline);
    };
    // A photo held up: a white border inside the grey scene, and perfectly still.
    assert_eq!(photo.pixel(2, 2), [120, 124, 128]);
    let next = sub.next_frame(Duration::from_secs(5)).unwrap();
    assert_eq!(photo.rgb, next.rgb, "a still photo does not move");
    sim.set_scene(Scene::Person);
    let a = sub.next_frame(Duration::from_secs(5)).unwrap();
    let mut moved = false;
    for _ in 0..20 {
        if sub.next_frame(Duration::from_secs(5)).unwrap().rgb != a.rgb {
            moved = true;
            break;
        }
    }
    assert!(moved, "a person moves");
    sim.set_unplugged(true);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !matches!(sub.next_frame(Duration::from_secs(1)), Err(CameraError::Unavailable(_))) {
        assert!(Instant::now() < deadline);
    }
    sim.set_unplugged(false);
    let deadline = Instant::now() + Duration::from_secs(5);
    while sub.next_frame(Duration::from_secs(1)).is_err() {
        assert!(Instant::now() < deadline, "plugged back in");
    }
}

/// Reads until `needle` has been seen `times` times or the deadline passes.
fn read_until(stream: &mut TcpStream, needle: &[u8], times: usize) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let deadline = Instant::now() + Duration::from_secs(10);
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    while buf.windows(needle.len()).filter(|w| *w == needle).count() < times {
        assert!(Instant::now() < deadline, "stream stalled after {} bytes", buf.len());
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => continue,
        }
    }
    buf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_streams_mjpeg_to_a_token_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    write_frames(dir.path(), 3);
    let cam = file_camera(dir.path(), 15);
    let preview = Preview::start(cam.clone()).await.unwrap();
    assert!(preview.addr().ip().is_loopback());
    let url = preview.url_for("main");
    let path = url.split(&format!("{}", preview.addr())).nth(1).unwrap().to_string();
    let addr = preview.addr();
    let body = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let boundary = b"\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n";
        read_until(&mut s, boundary, 3)
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&body[..120]).to_string();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame"), "{text}");
    // Each JPEG is followed at once by the next part's boundary and headers (ends with FFD9).
    let boundary = b"\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\n";
    let jpeg_at = body.windows(2).position(|w| w == [0xFF, 0xD8]).unwrap();
    let head = &body[..jpeg_at];
    assert!(head.ends_with(boundary), "the first part's headers come with the response's");
    let jpeg_end = body[jpeg_at..].windows(boundary.len()).position(|w| w == boundary).unwrap() + jpeg_at;
    assert_eq!(&body[jpeg_end - 2..jpeg_end], &[0xFF, 0xD9], "a frame ends right before the next boundary");
    let frame = Frame::decode(&body[jpeg_at..jpeg_end]).unwrap();
    assert_eq!((frame.width, frame.height), (64, 48));

    // A wrong or revoked token gets nothing.
    for bad in ["/stream/0000", "/", "/stream/"] {
        let bad = bad.to_string();
        let reply = tokio::task::spawn_blocking(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            write!(s, "GET {bad} HTTP/1.1\r\n\r\n").unwrap();
            let mut v = String::new();
            let _ = s.read_to_string(&mut v);
            v
        })
        .await
        .unwrap();
        assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
    }
    let old = url.clone();
    let new = preview.url_for("main");
    assert_ne!(old, new, "a new token per showing");
    preview.revoke("main");
    let path = new.split(&format!("{addr}")).nth(1).unwrap().to_string();
    let reply = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\n\r\n").unwrap();
        let mut v = String::new();
        let _ = s.read_to_string(&mut v);
        v
    })
    .await
    .unwrap();
    assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
}

/// A GET with optional `Origin`, read to the end (for single answers).
async fn get(addr: std::net::SocketAddr, path: &str, origin: Option<&str>) -> Vec<u8> {
    let head = match origin {
        Some(o) => format!("GET {path} HTTP/1.1\r\nHost: x\r\nOrigin: {o}\r\n\r\n"),
        None => format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"),
    };
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(head.as_bytes()).unwrap();
        let mut v = Vec::new();
        let _ = s.read_to_end(&mut v);
        v
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_lets_one_origin_read_frames_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    write_frames(dir.path(), 3);
    let cam = file_camera(dir.path(), 15);
    let preview = Preview::start(cam.clone()).await.unwrap();
    let addr = preview.addr();
    let origin = "http://127.0.0.1:9";
    let grant = preview.grant("certify", origin);
    let path = |u: &str| u.split(&format!("{addr}")).nth(1).unwrap().to_string();
    assert!(grant.frame_url.contains("/frame/") && grant.stream_url.contains("/stream/"), "{grant:?}");

    // The granted origin reads one JPEG per request, with CORS for it alone.
    let reply = get(addr, &path(&grant.frame_url), Some(origin)).await;
    let split = reply.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&reply[..split]).to_string();
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("Content-Type: image/jpeg"), "{head}");
    assert!(head.contains(&format!("Access-Control-Allow-Origin: {origin}\r\n")), "{head}");
    let frame = Frame::decode(&reply[split + 4..]).unwrap();
    assert_eq!((frame.width, frame.height), (64, 48));

    // Another origin gets nothing, from the frame or the stream.
    for p in [path(&grant.frame_url), path(&grant.stream_url)] {
        let reply = get(addr, &p, Some("https://evil.example")).await;
        assert!(reply.starts_with(b"HTTP/1.1 403"), "{}", String::from_utf8_lossy(&reply));
    }
    // Booth's own screens' streams allow no origin to read them.
    let own = preview.url_for("face");
    let reply = get(addr, &path(&own).replace("/stream/", "/frame/"), Some(origin)).await;
    assert!(reply.starts_with(b"HTTP/1.1 403"), "{}", String::from_utf8_lossy(&reply));

    // Revoked: 404.
    preview.revoke("certify");
    let reply = get(addr, &path(&grant.frame_url), Some(origin)).await;
    assert!(reply.starts_with(b"HTTP/1.1 404"), "{}", String::from_utf8_lossy(&reply));
}

#[test]
fn a_missing_device_is_unavailable_with_the_reason_and_is_listed_as_none() {
    // This machine has no camera: the device backend must say so, not hang or panic.
    let devices = booth_camera::list_devices();
    assert!(devices.as_ref().map_or(true, |d| d.is_empty()), "{devices:?}");
    for name in ["", "0", "USB Camera", "/dev/video9"] {
        let cam = Camera::new(CameraConfig { backend: Backend::Device(name.into()), ..Default::default() });
        let mut sub = cam.subscribe().unwrap();
        match sub.next_frame(Duration::from_secs(10)) {
            Err(CameraError::Unavailable(d)) => assert!(!d.is_empty()),
            other => panic!("{name}: {other:?}"),
        }
        assert!(!cam.status().available, "{:?}", cam.status());
    }
}

#[test]
fn the_simulator_panel_checks_its_arguments() {
    use base64::Engine;
    use booth_bridge::sim::{SimDevice, SimError};
    use serde_json::{json, Map, Value};
    let cam = Camera::new(CameraConfig { backend: Backend::Sim, ..Default::default() });
    let panel = booth_camera::sim::CameraSim(cam.sim().unwrap().clone());
    let args = |v: Value| v.as_object().cloned().unwrap_or_else(Map::new);
    assert!(matches!(panel.act("show", &args(json!({"scene": "person", "picture": ""}))), Err(SimError::Refused(_))));
    assert!(matches!(
        panel.act("show", &args(json!({"scene": "person", "picture": "!!"}))),
        Err(SimError::InvalidArgs(_))
    ));
    let png_or_jpeg = base64::engine::general_purpose::STANDARD.encode(marked(0, 32, 32).to_jpeg(90));
    let ok = panel
        .act("show", &args(json!({"scene": "two", "picture": format!("data:image/jpeg;base64,{png_or_jpeg}")})))
        .unwrap();
    assert_eq!(ok["scene"], "two");
    assert_eq!(panel.state()["picture"], true);
    assert_eq!(panel.act("show", &args(json!({"scene": "nobody", "picture": ""}))).unwrap()["scene"], "nobody");
    panel.act("unplug", &Map::new()).unwrap();
    assert_eq!(panel.state()["unplugged"], true);
    assert!(panel.act("fly", &Map::new()).is_err());
}

#[test]
fn a_consumer_that_arrives_while_the_camera_stops_still_gets_new_frames() {
    let dir = tempfile::tempdir().unwrap();
    write_frames(dir.path(), 2);
    let cam = file_camera(dir.path(), 30);
    for _ in 0..20 {
        let mut a = cam.subscribe().unwrap();
        a.next_frame(Duration::from_secs(5)).unwrap();
        drop(a);
        // Straight away, while the capture thread may be on its way out.
        let mut b = cam.subscribe().unwrap();
        b.next_frame(Duration::from_secs(5)).expect("frames after a restart are new to a consumer");
    }
}
