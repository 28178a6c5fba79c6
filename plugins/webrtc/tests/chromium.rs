//! Interop: a page in Debian's headless Chromium calls Booth's native peer connection
//! (webrtcbin) inside a private network. Chromium offers its fake camera and microphone,
//! Booth answers with its test pattern and a tone; each side decodes the other's video, and the
//! picture Chromium draws from Booth's stream has Booth's two colours where Booth put them.
//! Signalling goes through booth-testkit's WebServer on the namespace's loopback: the page PUTs
//! its offer (candidates gathered), GETs Booth's answer and candidates, PUTs what it saw.

#![cfg(target_os = "linux")]

mod common;

use booth_testkit::netns::run_in_private_network;
use booth_testkit::web::WebServer;
use booth_webrtc::model::{Candidate, Description, PeerConfig, PeerEvent};
use booth_webrtc::peer::{Peer, PeerOptions};
use booth_webrtc::stream::LocalTrack;
use common::pattern_camera;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8"><title>Booth interop</title>
<video id="v" autoplay muted playsinline></video><canvas id="c" width="320" height="240"></canvas>
<script>
const put = (path, body) => fetch(path, {method: 'PUT', body: JSON.stringify(body)});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({video: {width: 320, height: 240}, audio: true});
    const pc = new RTCPeerConnection();
    for (const t of stream.getTracks()) pc.addTrack(t, stream);
    const v = document.getElementById('v');
    pc.ontrack = (e) => {
      if (e.track.kind === 'video') { v.srcObject = new MediaStream([e.track]); v.play().catch(() => {}); }
    };
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((done) => {
      if (pc.iceGatheringState === 'complete') return done();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && done());
      setTimeout(done, 10000);
    });
    await put('/offer', pc.localDescription);
    let answer = null;
    while (!answer) {
      const r = await fetch('/answer');
      if (r.ok) answer = await r.json(); else await sleep(100);
    }
    await pc.setRemoteDescription(answer.description);
    for (const c of answer.candidates) await pc.addIceCandidate(c);
    const started = performance.now();
    for (;;) {
      const stats = await pc.getStats();
      let frames = 0, codec = '';
      stats.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          frames = s.framesDecoded || 0;
          const c = s.codecId && stats.get(s.codecId);
          codec = c ? c.mimeType : '';
        }
      });
      if (frames >= 10 && v.videoWidth > 0) {
        const g = document.getElementById('c').getContext('2d');
        g.drawImage(v, 0, 0, 320, 240);
        const band = (x0, x1) => {
          const d = g.getImageData(x0, 60, x1 - x0, 120).data, s = [0, 0, 0];
          for (let i = 0; i < d.length; i += 4) { s[0] += d[i]; s[1] += d[i + 1]; s[2] += d[i + 2]; }
          return s.map((x) => Math.round(x / (d.length / 4)));
        };
        await put('/result', {frames, codec, width: v.videoWidth, height: v.videoHeight,
          left: band(16, 128), right: band(192, 304), ice: pc.iceConnectionState,
          ms: Math.round(performance.now() - started)});
        return;
      }
      if (performance.now() - started > 60000) {
        await put('/result', {error: 'no frames decoded in 60 s', frames, ice: pc.iceConnectionState});
        return;
      }
      await sleep(200);
    }
  } catch (e) {
    await put('/result', {error: String(e)});
  }
})();
</script>
"#;

/// Headless Chromium on `url`, with a fake camera and microphone and no network of its own.
fn chromium(url: &str, profile: &Path) -> Child {
    let bin = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("Debian's chromium (scripts/test-all installs it)");
    Command::new(bin)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            "--autoplay-policy=no-user-gesture-required",
            // Host candidates as addresses, not mDNS names the native side would have to resolve.
            "--disable-features=WebRtcHideLocalIpsWithMdns",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts")
}

fn wait_upload(web: &WebServer, path: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        if let Some(b) = web.uploaded(path) {
            return serde_json::from_slice(&b).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        assert!(Instant::now() < deadline, "nothing PUT at {path} within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn close_to(got: &Value, want: [u8; 3]) -> bool {
    let got: Vec<i64> = got.as_array().map(|a| a.iter().filter_map(Value::as_i64).collect()).unwrap_or_default();
    got.len() == 3 && got.iter().zip(want).all(|(g, w)| (g - w as i64).abs() < 40)
}

#[test]
#[ignore = "needs Debian's chromium and unshare; run by scripts/test-all"]
fn chromium_calls_booth_and_both_see_each_other() {
    if !run_in_private_network("chromium_calls_booth_and_both_see_each_other") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let web = WebServer::serving("/", PAGE.as_bytes().to_vec());
    let camera = pattern_camera([220, 30, 30], [30, 30, 220]);
    let (peer, mut events) = Peer::new(PeerConfig::default(), PeerOptions::default()).unwrap();
    peer.add_track(LocalTrack::camera(&camera).unwrap()).unwrap();
    peer.add_track(LocalTrack::audio("audiotestsrc is-live=true wave=sine freq=440 volume=0.5", "tone")).unwrap();

    let mut browser = chromium(&web.url("/"), profile.path());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let offer = wait_upload(&web, "/offer", Duration::from_secs(60));
        let offer = Description::parse(&offer).expect("Chromium's offer");
        assert!(offer.sdp.contains("VP8/90000") && offer.sdp.contains("opus/48000"), "{}", offer.sdp);
        let started = Instant::now();
        let (answer, candidates) = rt.block_on(async {
            peer.set_remote_description(offer).await.expect("Booth takes Chromium's offer");
            let answer = peer.create_answer().await.expect("Booth answers");
            peer.set_local_description(answer.clone()).await.unwrap();
            // Booth's candidates, until gathering ends.
            let mut candidates: Vec<Candidate> = Vec::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            loop {
                match tokio::time::timeout_at(deadline, events.recv()).await {
                    Ok(Some(PeerEvent::Icecandidate { candidate: Some(c) })) => candidates.push(c),
                    Ok(Some(PeerEvent::Icecandidate { candidate: None })) | Err(_) | Ok(None) => break,
                    Ok(Some(_)) => {}
                }
            }
            (answer, candidates)
        });
        assert!(!candidates.is_empty(), "Booth gathered no candidates");
        web.put_file("/answer", serde_json::to_vec(&json!({"description": answer, "candidates": candidates})).unwrap());

        let seen = wait_upload(&web, "/result", Duration::from_secs(120));
        assert!(seen.get("error").is_none(), "Chromium: {seen}");
        assert!(seen["frames"].as_u64() >= Some(10), "{seen}");
        assert_eq!((seen["width"].as_u64(), seen["height"].as_u64()), (Some(320), Some(240)), "{seen}");
        assert!(close_to(&seen["left"], [220, 30, 30]), "Chromium sees Booth's left half as {}", seen["left"]);
        assert!(close_to(&seen["right"], [30, 30, 220]), "Chromium sees Booth's right half as {}", seen["right"]);

        // Booth decodes Chromium's camera and microphone.
        let deadline = Instant::now() + Duration::from_secs(60);
        let track = |kind: &str| peer.remote_tracks().into_iter().find(|t| t.kind() == kind);
        let decoded =
            || track("video").is_some_and(|t| t.received() >= 10) && track("audio").is_some_and(|t| t.received() > 0);
        while !decoded() {
            assert!(Instant::now() < deadline, "Booth did not decode Chromium's video and audio");
            std::thread::sleep(Duration::from_millis(50));
        }
        let frame = track("video").unwrap().latest().expect("a picture from Chromium");
        assert!(frame.width >= 160 && frame.height >= 120, "{}×{}", frame.width, frame.height);
        println!(
            "Chromium ↔ Booth: {} in Chromium, {} frames decoded there ({} ms after its answer was set); \
             Booth decoded Chromium's {}×{} picture; {:.1} s from the offer",
            seen["codec"],
            seen["frames"],
            seen["ms"],
            frame.width,
            frame.height,
            started.elapsed().as_secs_f32()
        );
    }));
    let _ = browser.kill();
    let _ = browser.wait();
    peer.close();
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}
