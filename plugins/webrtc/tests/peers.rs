//! Two native peer connections calling each other through the crate's API, inside a private
//! network (libnice ignores loopback): SDP and candidates cross as text, as they cross the bridge.

#![cfg(target_os = "linux")]

mod common;

use booth_testkit::netns::run_in_private_network;
use booth_webrtc::model::{PeerConfig, PeerEvent};
use booth_webrtc::peer::{Peer, PeerOptions};
use booth_webrtc::stream::LocalTrack;
use common::{close_to, cpu_ticks, mean, pattern_camera};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

/// Forwards one side's candidates to the other and returns its ICE states as they come.
fn pump(mut rx: UnboundedReceiver<PeerEvent>, to: Peer) -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, states) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            match e {
                PeerEvent::Icecandidate { candidate: Some(c) } => to.add_ice_candidate(&c).expect("candidate accepted"),
                PeerEvent::Iceconnectionstatechange { ice_connection_state } => {
                    let _ = tx.send(ice_connection_state);
                }
                _ => {}
            }
        }
    });
    states
}

async fn wait_state(states: &mut UnboundedReceiver<String>, want: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s =
            tokio::time::timeout_at(deadline, states.recv()).await.expect("ICE state in time").expect("channel open");
        assert_ne!(s, "failed", "ICE failed");
        if s == want || (want == "connected" && s == "completed") {
            return;
        }
    }
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn two_peers_see_and_hear_each_other_and_close_cleanly() {
    if !run_in_private_network("two_peers_see_and_hear_each_other_and_close_cleanly") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cam_a = pattern_camera([220, 30, 30], [30, 30, 220]);
        let cam_b = pattern_camera([30, 200, 30], [230, 230, 30]);
        let started = Instant::now();
        let (a, a_events) = Peer::new(PeerConfig::default(), PeerOptions::default()).unwrap();
        let (b, b_events) = Peer::new(PeerConfig::default(), PeerOptions::default()).unwrap();
        a.add_track(LocalTrack::camera(&cam_a).unwrap()).unwrap();
        a.add_track(LocalTrack::audio("audiotestsrc is-live=true wave=sine freq=440 volume=0.5", "tone")).unwrap();
        b.add_track(LocalTrack::camera(&cam_b).unwrap()).unwrap();

        let offer = a.create_offer(false, false).await.unwrap();
        assert!(offer.sdp.contains("VP8/90000") && offer.sdp.contains("OPUS/48000"), "{}", offer.sdp);
        a.set_local_description(offer.clone()).await.unwrap();
        b.set_remote_description(offer).await.unwrap();
        let answer = b.create_answer().await.unwrap();
        b.set_local_description(answer.clone()).await.unwrap();
        a.set_remote_description(answer).await.unwrap();
        assert_eq!(a.state().signaling_state, "stable");
        assert_eq!(b.state().signaling_state, "stable");

        let mut a_states = pump(a_events, b.clone());
        let mut b_states = pump(b_events, a.clone());
        wait_state(&mut a_states, "connected").await;
        wait_state(&mut b_states, "connected").await;
        let connected = started.elapsed();

        let video = |p: &Peer| p.remote_tracks().into_iter().find(|t| t.kind() == "video");
        wait_until("B to see A's picture", || video(&b).is_some_and(|t| t.received() >= 10)).await;
        let first_frames = started.elapsed();
        wait_until("A to see B's picture", || video(&a).is_some_and(|t| t.received() >= 10)).await;
        let seen_by_b = video(&b).unwrap().latest().unwrap();
        let seen_by_a = video(&a).unwrap().latest().unwrap();
        assert!(close_to(mean(&seen_by_b, 0.05, 0.4), [220, 30, 30]), "B sees {:?}", mean(&seen_by_b, 0.05, 0.4));
        assert!(close_to(mean(&seen_by_b, 0.6, 0.95), [30, 30, 220]), "B sees {:?}", mean(&seen_by_b, 0.6, 0.95));
        assert!(close_to(mean(&seen_by_a, 0.05, 0.4), [30, 200, 30]), "A sees {:?}", mean(&seen_by_a, 0.05, 0.4));
        assert!(close_to(mean(&seen_by_a, 0.6, 0.95), [230, 230, 30]), "A sees {:?}", mean(&seen_by_a, 0.6, 0.95));

        let audio = || b.remote_tracks().into_iter().find(|t| t.kind() == "audio");
        wait_until("B to hear A's tone", || audio().is_some_and(|t| t.received() > 48_000 && t.audio_peak() > 2000))
            .await;
        assert!(a.remote_tracks().iter().all(|t| t.kind() == "video"), "B sent no audio");
        println!(
            "two peers: ICE connected after {} ms, 10 frames after {} ms",
            connected.as_millis(),
            first_frames.as_millis()
        );
        // CPU of the whole process (both ends: VP8 both ways, Opus one way, the cameras) over 5 s.
        let (cpu0, t0) = (cpu_ticks(), Instant::now());
        tokio::time::sleep(Duration::from_secs(5)).await;
        let (cpu1, t1) = (cpu_ticks(), Instant::now());
        if let (Some(a), Some(b)) = (cpu0, cpu1) {
            let ticks = 100.0; // USER_HZ on Linux
            println!(
                "two peers in one process, 320x240@15 VP8 both ways + Opus: {:.0} % of one core",
                (b - a) as f64 / ticks / (t1 - t0).as_secs_f64() * 100.0
            );
        }

        a.close();
        b.close();
        assert_eq!(a.state().signaling_state, "closed");
        assert!(a.create_offer(false, false).await.is_err(), "a closed connection refuses work");
        assert!(video(&b).unwrap().is_ended());
        drop((a, b));
        // Nobody holds the cameras any more: they stop.
        wait_until("the cameras to stop", || !cam_a.status().running && !cam_b.status().running).await;
    });
}

/// Connects `a` (sending `camera`) to a receive-only `b`; `a`'s ICE states from then on.
async fn connect(camera: &booth_camera::Camera) -> (Peer, Peer, UnboundedReceiver<String>) {
    let (a, a_events) = Peer::new(PeerConfig::default(), PeerOptions::default()).unwrap();
    let (b, b_events) = Peer::new(PeerConfig::default(), PeerOptions::default()).unwrap();
    a.add_track(LocalTrack::camera(camera).unwrap()).unwrap();
    let offer = a.create_offer(false, false).await.unwrap();
    a.set_local_description(offer.clone()).await.unwrap();
    b.set_remote_description(offer).await.unwrap();
    let answer = b.create_answer().await.unwrap();
    b.set_local_description(answer.clone()).await.unwrap();
    a.set_remote_description(answer).await.unwrap();
    let mut a_states = pump(a_events, b.clone());
    let _b_states = pump(b_events, a.clone());
    wait_state(&mut a_states, "connected").await;
    (a, b, a_states)
}

#[test]
fn a_camera_unplugged_mid_call_comes_back_in_the_same_call() {
    if !run_in_private_network("a_camera_unplugged_mid_call_comes_back_in_the_same_call") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (camera, plugged) = common::pluggable_camera([220, 30, 30], [30, 30, 220]);
        let (a, b, _) = connect(&camera).await;
        let video = || b.remote_tracks().into_iter().find(|t| t.kind() == "video");
        wait_until("the first pictures", || video().is_some_and(|t| t.received() >= 10)).await;

        plugged.store(false, std::sync::atomic::Ordering::SeqCst);
        wait_until("the camera to be reported unavailable", || !camera.status().available).await;
        let during = video().unwrap().received();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(video().unwrap().received() <= during + 2, "pictures went on with the camera unplugged");
        assert!(!a.is_closed() && !b.is_closed(), "the call survives");

        plugged.store(true, std::sync::atomic::Ordering::SeqCst);
        let back = video().unwrap().received();
        wait_until("pictures again", || video().unwrap().received() >= back + 10).await;
        let seen = video().unwrap().latest().unwrap();
        assert!(close_to(mean(&seen, 0.05, 0.4), [220, 30, 30]), "{:?}", mean(&seen, 0.05, 0.4));
        a.close();
        b.close();
    });
}

/// The network goes away mid-call (every address of the private network removed): the side
/// that would tell the page hears its ICE state leave `connected` (`disconnected`, then
/// `failed`, as a browser reports it), nothing hangs, and both connections still close cleanly
/// and let the camera go.
#[test]
fn losing_the_network_mid_call_is_reported_and_the_call_still_closes() {
    if !run_in_private_network("losing_the_network_mid_call_is_reported_and_the_call_still_closes") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let camera = pattern_camera([220, 30, 30], [30, 30, 220]);
        let (a, b, mut a_states) = connect(&camera).await;
        let video = || b.remote_tracks().into_iter().find(|t| t.kind() == "video");
        wait_until("the first pictures", || video().is_some_and(|t| t.received() >= 10)).await;

        let lost = Instant::now();
        for dev in ["booth0", "booth1"] {
            let ok = std::process::Command::new("ip").args(["addr", "flush", "dev", dev]).status().unwrap();
            assert!(ok.success(), "ip addr flush dev {dev}");
        }
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        while !seen.iter().any(|s| s == "failed") {
            match tokio::time::timeout_at(deadline, a_states.recv()).await {
                Ok(Some(s)) => seen.push(s),
                Ok(None) => break,
                Err(_) => break,
            }
        }
        assert!(
            seen.iter().any(|s| s == "disconnected" || s == "failed"),
            "ICE state after the network went away: {seen:?}"
        );
        println!("network gone: ICE states {seen:?} within {} ms", lost.elapsed().as_millis());
        let frozen = video().unwrap().received();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(video().unwrap().received() <= frozen + 1, "pictures without a network");

        a.close();
        b.close();
        assert_eq!(a.state().signaling_state, "closed");
        drop((a, b));
        wait_until("the camera to stop", || !camera.status().running).await;
    });
}

#[test]
fn bad_descriptions_and_candidates_are_refused_without_harm() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use booth_webrtc::model::{Candidate, Description, WebRtcError};
        let (p, _events) = Peer::new(PeerConfig::default(), PeerOptions::default()).unwrap();
        let garbage = Description { kind: "offer".into(), sdp: "this is not SDP".into() };
        assert!(matches!(p.set_remote_description(garbage).await, Err(WebRtcError::Invalid(_))));
        let c = Candidate {
            candidate: "candidate:1 1 UDP 1 10.0.0.1 9 typ host".into(),
            sdp_m_line_index: Some(0),
            sdp_mid: None,
        };
        assert!(matches!(p.add_ice_candidate(&c), Err(WebRtcError::State(_))), "no remote description yet");
        assert!(matches!(p.create_answer().await, Err(WebRtcError::State(_))), "no offer yet");
        // An answer where an offer is expected: webrtcbin says no, the connection stays usable.
        let (q, _qe) = Peer::new(PeerConfig::default(), PeerOptions::default()).unwrap();
        let offer = q.create_offer(true, true).await.unwrap();
        let wrong = Description { kind: "answer".into(), sdp: offer.sdp.clone() };
        assert!(p.set_remote_description(wrong).await.is_err());
        p.set_remote_description(offer).await.unwrap();
        let bad_line = Candidate { sdp_m_line_index: Some(9), ..c.clone() };
        assert!(matches!(p.add_ice_candidate(&bad_line), Err(WebRtcError::Invalid(_))));
        let no_prefix = Candidate { candidate: "1 1 UDP 1 10.0.0.1 9 typ host".into(), ..c.clone() };
        assert!(matches!(p.add_ice_candidate(&no_prefix), Err(WebRtcError::Invalid(_))));
        let answer = p.create_answer().await.unwrap();
        assert_eq!(answer.kind, "answer");
        p.close();
        q.close();
    });
}
