//! End to end, ft.webrtc in a real booth window: a page calls a native peer played by the test
//! (the crate's own `Peer`, the far end a browser would be), the test relaying SDP and
//! candidates as a signalling server would. Everything runs inside a private network namespace
//! (libnice ignores loopback): the test starts again inside one, with its own tauri-driver there.

use booth_camera::Frame;
use booth_e2e::*;
use booth_testkit as tk;
use booth_webrtc::peer::{Peer, PeerOptions};
use booth_webrtc::{Candidate, Description, PeerConfig, PeerEvent};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A tauri-driver of this namespace's own (the one scripts/test-all starts lives outside it).
struct Driver(std::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // SIGTERM, never SIGKILL: tauri-driver must stop its WebKitWebDriver child.
        let _ = std::process::Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

fn start_driver() -> Driver {
    let port = free_port();
    let child = std::process::Command::new("tauri-driver")
        .args(["--port", &port.to_string(), "--native-port", &free_port().to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tauri-driver on PATH (scripts/test-all installs it)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "tauri-driver did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Read by Booth::start_app; this process is the namespace's only test.
    unsafe { std::env::set_var("TAURI_DRIVER_URL", format!("http://127.0.0.1:{port}")) };
    Driver(child)
}

fn pattern(left: [u8; 3], right: [u8; 3]) -> Frame {
    let (w, h) = (320u32, 240u32);
    let mut px = Vec::with_capacity((w * h * 3) as usize);
    for _ in 0..h {
        for x in 0..w {
            px.extend_from_slice(if x < w / 2 { &left } else { &right });
        }
    }
    Frame::new(w, h, px)
}

/// The band's mean colour as signed values, for `near`.
fn mean(frame: &Frame, x0: f32, x1: f32) -> [i32; 3] {
    tk::face::band_mean(frame, x0, x1).map(i32::from)
}

fn near(got: [i32; 3], want: [i32; 3]) -> bool {
    got.iter().zip(want).all(|(g, w)| (g - w).abs() < 45)
}

#[tokio::test]
async fn a_booth_page_calls_a_native_peer_and_both_see_each_other() {
    if !tk::netns::run_in_private_network("a_booth_page_calls_a_native_peer_and_both_see_each_other") {
        return;
    }
    let _driver = start_driver();
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("camera");
    tk::face::write_frames(&frames, &[pattern([220, 30, 30], [30, 30, 220])]);
    let config = dir.path().join("booth.toml");
    std::fs::write(
        &config,
        format!(
            "[log]\ndir = \"\"\n[camera]\nbackend = \"file\"\npath = \"{}\"\nwidth = 320\nheight = 240\nfps = 15\n\
             [webrtc]\nmicrophone = \"test\"\nspeaker = \"none\"\n",
            frames.display()
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    with_real_booth(&fixture("webrtc"), &["--config", &config], async |b| {
        b.wait_for("return window.ready", Duration::from_secs(10)).await;
        let started = Instant::now();
        let r = b.run_async("window.start().then(done, e => done({error: e && (e.errMsg || e.stack || e.message) || String(e)}))", Value::Null).await;
        assert!(r.get("error").is_none(), "{r}");
        assert_eq!(r["kinds"], json!(["video", "audio"]), "{r}");
        assert_eq!(r["config"], json!({"iceServers": []}));
        assert!(r["streamId"].as_str().is_some_and(|s| !s.is_empty()));

        // The far end: a native peer with a camera of its own (green | yellow).
        let (peer, mut events) = Peer::new(PeerConfig::default(), PeerOptions::default()).unwrap();
        let far_cam = tk_camera(pattern([30, 200, 30], [230, 230, 30]));
        peer.add_track(booth_webrtc::stream::LocalTrack::camera(&far_cam).unwrap()).unwrap();
        let offer: Description = serde_json::from_value(r["offer"].clone()).unwrap();
        assert!(offer.sdp.contains("VP8/90000"), "{}", offer.sdp);
        peer.set_remote_description(offer).await.unwrap();
        let answer = peer.create_answer().await.unwrap();
        peer.set_local_description(answer.clone()).await.unwrap();
        let r = b
            .run_async("pc.setRemoteDescription(arg).then(() => done(pc.signalingState), e => done({error: e}))", json!(answer))
            .await;
        assert_eq!(r, json!("stable"));

        // Relay candidates both ways until both sides are connected.
        let mut given = 0usize;
        let mut native_connected = false;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let page: Vec<Value> = serde_json::from_value(b.client.execute("return call.candidates", vec![]).await.unwrap()).unwrap();
            for c in &page[given..] {
                let c: Candidate = serde_json::from_value(c.clone()).unwrap();
                peer.add_ice_candidate(&c).unwrap();
            }
            given = page.len();
            while let Ok(e) = events.try_recv() {
                match e {
                    PeerEvent::Icecandidate { candidate: Some(c) } => {
                        let r = b.run_async("pc.addIceCandidate(arg).then(() => done(true), e => done(e))", json!(c)).await;
                        assert_eq!(r, json!(true), "the page refused a candidate: {r}");
                    }
                    PeerEvent::Iceconnectionstatechange { ice_connection_state } => {
                        native_connected |= ice_connection_state == "connected";
                    }
                    _ => {}
                }
            }
            let ice = b.client.execute("return call.ice", vec![]).await.unwrap();
            if native_connected && ice.as_array().is_some_and(|a| a.contains(&json!("connected"))) {
                break;
            }
            assert!(Instant::now() < deadline, "not connected: page {ice}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let connected = started.elapsed();

        // The far end sees the page's camera and hears its microphone (a test tone).
        let track = |kind: &str| peer.remote_tracks().into_iter().find(|t| t.kind() == kind);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !(track("video").is_some_and(|t| t.received() >= 10)
            && track("audio").is_some_and(|t| t.received() > 48_000 && t.audio_peak() > 1000))
        {
            assert!(Instant::now() < deadline, "no media from the page");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let seen = track("video").unwrap().latest().unwrap();
        assert!(near(mean(&seen, 0.05, 0.4), [220, 30, 30]), "{:?}", mean(&seen, 0.05, 0.4));
        assert!(near(mean(&seen, 0.6, 0.95), [30, 30, 220]), "{:?}", mean(&seen, 0.6, 0.95));
        // The page got the far end's video as a track event with a stream id.
        let tracks = b.wait_for("return call.tracks.length ? call.tracks : null", Duration::from_secs(20)).await;
        assert_eq!(tracks[0]["kind"], "video", "{tracks}");
        assert!(tracks[0]["streamId"].as_str().is_some_and(|s| !s.is_empty()));
        println!("page ↔ native peer: ICE connected after {} ms (from getUserMedia)", connected.as_millis());

        // <webrtc-video> shows the far end's stream (src) and the page's own (srcObject).
        let shown = b
            .run_async(
                "const remote = document.createElement('webrtc-video'); remote.setAttribute('src', 'webrtc://' + arg);
                 const local = document.createElement('webrtc-video'); local.setAttribute('muted', '');
                 document.body.append(remote, local); local.srcObject = window.localStream;
                 done(true);",
                tracks[0]["streamId"].clone(),
            )
            .await;
        assert_eq!(shown, json!(true));
        let sizes = b
            .wait_for(
                "const s = [...document.querySelectorAll('webrtc-video')].map(v => v.shadowRoot.querySelector('img'));
                 return s.every(i => i && i.naturalWidth === 320 && i.src.startsWith('http://127.0.0.1:')) ? s.map(i => i.naturalHeight) : null;",
                Duration::from_secs(20),
            )
            .await;
        assert_eq!(sizes, json!([240, 240]));

        // close ends it: the page's state is closed and Booth's connection is gone.
        let state = b.run_async("pc.close(); done(pc.signalingState)", Value::Null).await;
        assert_eq!(state, json!("closed"));
        health_until(b, "no open connection", Duration::from_secs(10), |h| h["devices"]["webrtc"]["connections"] == 0).await;
        peer.close();
    })
    .await;
}

fn tk_camera(frame: Frame) -> booth_camera::Camera {
    let dir = tempfile::tempdir().unwrap().keep();
    tk::face::write_frames(&dir, &[frame]);
    let config = booth_camera::CameraConfig {
        backend: booth_camera::Backend::File(dir),
        width: 320,
        height: 240,
        fps: 15,
        ..Default::default()
    };
    booth_camera::Camera::new(config)
}

/// finOpenWitnessVideo from a real page: the test starts Janus in its private network and plays
/// the agent (booth_webrtc::agent); the page's promise answers as the agent decides or the
/// person hangs up on Booth's call screen; the recording plays back; leaving the page ends a call.
#[tokio::test]
async fn a_page_holds_a_witnessed_call_through_janus_on_the_call_screen() {
    if !tk::netns::run_in_private_network("a_page_holds_a_witnessed_call_through_janus_on_the_call_screen") {
        return;
    }
    let _driver = start_driver();
    let janus = tk::janus::Janus::start(tk::netns::ADDRESSES[0], 8088);
    let agent_camera = tk_camera(pattern([220, 30, 30], [30, 30, 220]));
    let mut agent = booth_webrtc::agent::Agent::join(&janus.url(), 4321, "pin-7", "坐席 007", &agent_camera)
        .await
        .expect("the agent joins");
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("camera");
    tk::face::write_frames(&frames, &[pattern([30, 200, 30], [230, 230, 30])]);
    let recordings = dir.path().join("recordings");
    let config = dir.path().join("booth.toml");
    std::fs::write(
        &config,
        format!(
            "[log]\ndir = \"\"\n[camera]\nbackend = \"file\"\npath = \"{}\"\nwidth = 320\nheight = 240\nfps = 15\n\
             [webrtc]\nmicrophone = \"test\"\nspeaker = \"none\"\n\
             [witness]\nrecord = true\ndirectory = \"{}\"\nreconnect_s = 5\n",
            frames.display(),
            recordings.display()
        ),
    )
    .unwrap();
    let params = json!({"videoType": "janus", "videoIp": tk::netns::ADDRESSES[0], "videoPort": "8088", "loginName": "张三",
                        "roomId": "4321", "roomName": "开户见证", "roomPwd": "pin-7", "appId": "ignored"});
    let config = config.display().to_string();
    with_real_booth(&fixture("webrtc"), &["--config", &config], async |b| {
        b.wait_for("return window.ready", Duration::from_secs(10)).await;
        // AnyChat is not spoken: UNSUPPORTED, naming what is.
        let mut anychat = params.clone();
        anychat["videoType"] = json!("anychat");
        let r = b.run_async("ft.finOpenWitnessVideo(arg).then(r => done({ok: r}), done)", anychat).await;
        assert_eq!(r["errorCode"], "UNSUPPORTED", "{r}");
        assert!(r["errMsg"].as_str().unwrap_or("").contains("janus"), "{r}");

        let start = "window.__w = null; ft.finOpenWitnessVideo(arguments[0]).then(r => window.__w = r, e => window.__w = {error: e}); return true";
        let in_call = "const w = window.__boothWitness, s = w.showing();
                       return w.isOpen() && w.status().startsWith('通话中') && s.agent && s.self ? w.status() : null";

        // 1. Approved: both pictures on the call screen, the agent sees the customer.
        let started = Instant::now();
        b.client.execute(start, vec![params.clone()]).await.unwrap();
        let customer = agent.watch_customer(Duration::from_secs(60)).await.expect("the customer joins");
        let status = b.wait_for(in_call, Duration::from_secs(60)).await;
        assert_eq!(status, json!("通话中 · 坐席 007"));
        let shown = started.elapsed();
        let video = || customer.remote_tracks().into_iter().find(|t| t.kind() == "video");
        let deadline = Instant::now() + Duration::from_secs(20);
        while video().is_none_or(|t| t.received() < 10) {
            let got: Vec<(String, u64)> = customer.remote_tracks().iter().map(|t| (t.kind().to_string(), t.received())).collect();
            assert!(Instant::now() < deadline, "the agent sees no customer: {got:?} {:?} {}", customer.state(), janus.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let seen = video().unwrap().latest().unwrap();
        assert!(near(mean(&seen, 0.05, 0.4), [30, 200, 30]), "{:?}", mean(&seen, 0.05, 0.4));
        // A page's own key event (not a person's) does not hang up.
        b.client
            .execute("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true})); return true", vec![])
            .await
            .unwrap();
        health_until(b, "a witness call in progress", Duration::from_secs(5), |h| h["devices"]["webrtc"]["witnessCall"] == true).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        agent.say("approved").unwrap();
        let r = b.wait_for("return window.__w", Duration::from_secs(20)).await;
        assert_eq!((&r["videoFlag"], &r["rejectReason"], &r["message"]), (&json!("0"), &json!(""), &json!("坐席审核通过")), "{r}");
        println!("witness: the call screen showed both pictures {} ms after the call", shown.as_millis());
        assert_eq!(b.client.execute("return window.__boothWitness.isOpen()", vec![]).await.unwrap(), json!(false));
        let file = std::path::PathBuf::from(r["recording"].as_str().expect("the reply names the recording"));
        assert!(file.starts_with(&recordings), "{file:?}");
        let played = booth_webrtc::record::play_back(&file).unwrap();
        assert!(played.frames >= 30 && played.audio_ms >= 2000, "{played:?}");

        // 2. The person hangs up on the call screen (a real click of the X server).
        b.client.execute(start, vec![params.clone()]).await.unwrap();
        b.wait_for(in_call, Duration::from_secs(60)).await;
        let at = b.wait_for("return window.__boothWitness.where()", Duration::from_secs(5)).await;
        touch("E2E WebRTC — Booth", &at);
        let r = b.wait_for("return window.__w", Duration::from_secs(10)).await;
        assert_eq!((&r["videoFlag"], &r["message"]), (&json!("1"), &json!("客户挂断")), "{r}");

        // 3. The page goes away mid-call: the call ends and the camera is let go.
        b.client.execute(start, vec![params.clone()]).await.unwrap();
        b.wait_for(in_call, Duration::from_secs(60)).await;
        b.client.execute("location.reload(); return true", vec![]).await.unwrap();
        health_until(b, "the call to end", Duration::from_secs(15), |h| h["devices"]["webrtc"]["witnessCall"] == false).await;
        health_until(b, "the camera to stop", Duration::from_secs(15), |h| h["devices"]["camera"]["running"] == false).await;
    })
    .await;
    agent.leave().await;
}
