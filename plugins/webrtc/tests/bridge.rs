//! Two pages call each other through the bridge, exactly as the injected runtime does: every
//! method is `ft.webrtc.createRTCPeerConnection` with an `op`, events come by the long poll.
//! Inside a private network (libnice ignores loopback).

#![cfg(target_os = "linux")]

mod common;

use booth_bridge::{api::Family, Bridge, Dialect, Screen, SessionId, SessionInfo};
use booth_testkit::events::Collect;
use booth_testkit::netns::run_in_private_network;
use booth_webrtc::{WebRtc, WebRtcSection};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PC: &str = "webrtc.createRTCPeerConnection";
const GUM: &str = "webrtc.mediaDevices.getUserMedia";

fn page(bridge: &Bridge, key: &str, camera: bool) -> SessionId {
    let info = SessionInfo {
        key: key.into(),
        package_id: "demo".into(),
        permissions: if camera { [Family::Camera].into() } else { Default::default() },
        dialects: [Dialect::Ft].into(),
        screen: Screen::Front,
        url: "booth-app://demo/index.html".into(),
    };
    bridge.open_session(info, Arc::new(Collect::default()))
}

async fn call(bridge: &Bridge, s: SessionId, name: &str, params: Value) -> Result<Value, Value> {
    let r = bridge.call(s, Dialect::Ft, name, &params.to_string()).await;
    if r.ok {
        Ok(r.body)
    } else {
        Err(r.body)
    }
}

/// What the runtime's event loop does: polls, forwards candidates to the other page, and
/// reports ICE states and tracks.
fn poll_loop(
    bridge: Bridge,
    me: SessionId,
    pc: String,
    other: SessionId,
    other_pc: String,
) -> tokio::sync::mpsc::UnboundedReceiver<Value> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok(r) = call(&bridge, me, PC, json!({"op": "events", "pc": pc})).await else { break };
            for e in r["events"].as_array().cloned().unwrap_or_default() {
                if e["type"] == "icecandidate" && !e["candidate"].is_null() {
                    call(
                        &bridge,
                        other,
                        PC,
                        json!({"op": "addIceCandidate", "pc": other_pc, "candidate": e["candidate"]}),
                    )
                    .await
                    .expect("candidate accepted");
                }
                let _ = tx.send(e);
            }
            if r["closed"] == true {
                break;
            }
        }
    });
    rx
}

async fn wait_event(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Value>,
    what: &str,
    f: impl Fn(&Value) -> bool,
) -> Value {
    // Generous: a remote track is announced when its decoding starts, which a loaded CI machine
    // (OCR tests beside this one) delays.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let e = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} in time"))
            .expect("open");
        assert_ne!(e["iceConnectionState"], "failed");
        if f(&e) {
            return e;
        }
    }
}

#[test]
fn two_pages_call_each_other_through_the_bridge() {
    if !run_in_private_network("two_pages_call_each_other_through_the_bridge") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let bridge = Bridge::default();
        let camera = common::pattern_camera([220, 30, 30], [30, 30, 220]);
        let config = WebRtcSection { microphone: "test".into(), speaker: "none".into() }.to_config();
        let webrtc = WebRtc::new(camera.clone(), config);
        webrtc.register(&bridge);
        let (a, b) = (page(&bridge, "a", true), page(&bridge, "b", true));
        let stranger = page(&bridge, "c", false);

        // Refusals first: no permission, bad input, someone else's connection.
        let e = call(&bridge, stranger, PC, json!({})).await.unwrap_err();
        assert_eq!(e["errorCode"], "PERMISSION_DENIED");
        let e = call(&bridge, a, PC, json!({"configuration": {"iceServers": "nope"}})).await.unwrap_err();
        assert_eq!(e["errorCode"], "INVALID_PARAMS", "{e}");
        let e = call(&bridge, a, GUM, json!({"video": false, "audio": false})).await.unwrap_err();
        assert_eq!(e["errorCode"], "INVALID_PARAMS");

        let started = Instant::now();
        let stream = call(&bridge, a, GUM, json!({"video": true, "audio": true})).await.unwrap();
        let tracks = stream["tracks"].as_array().unwrap().clone();
        assert_eq!(tracks.len(), 2, "{stream}");
        let pa = call(&bridge, a, PC, json!({"configuration": {"iceServers": []}})).await.unwrap()["pc"]
            .as_str()
            .unwrap()
            .to_string();
        let pb = call(&bridge, b, PC, json!({})).await.unwrap()["pc"].as_str().unwrap().to_string();
        let e = call(&bridge, b, PC, json!({"op": "createOffer", "pc": pa})).await.unwrap_err();
        assert_eq!(e["errorCode"], "INVALID_PARAMS", "another page's connection: {e}");
        let e = call(&bridge, b, PC, json!({"op": "addTrack", "pc": pb, "track": tracks[0]["id"]})).await.unwrap_err();
        assert_eq!(e["errorCode"], "INVALID_PARAMS", "another page's track: {e}");
        let e = call(&bridge, a, PC, json!({"op": "fly", "pc": pa})).await.unwrap_err();
        assert_eq!(e["errorCode"], "INVALID_PARAMS");
        for t in &tracks {
            call(&bridge, a, PC, json!({"op": "addTrack", "pc": pa, "track": t["id"]})).await.unwrap();
        }
        let offer = call(&bridge, a, PC, json!({"op": "createOffer", "pc": pa})).await.unwrap();
        assert_eq!(offer["type"], "offer");
        call(&bridge, a, PC, json!({"op": "setLocalDescription", "pc": pa, "description": offer})).await.unwrap();
        // B only receives (offerToReceive… is implied by the offer's media).
        call(&bridge, b, PC, json!({"op": "setRemoteDescription", "pc": pb, "description": offer})).await.unwrap();
        let answer = call(&bridge, b, PC, json!({"op": "createAnswer", "pc": pb})).await.unwrap();
        call(&bridge, b, PC, json!({"op": "setLocalDescription", "pc": pb, "description": answer})).await.unwrap();
        let r =
            call(&bridge, a, PC, json!({"op": "setRemoteDescription", "pc": pa, "description": answer})).await.unwrap();
        assert_eq!(r["state"]["signalingState"], "stable");

        let mut ea = poll_loop(bridge.clone(), a, pa.clone(), b, pb.clone());
        let mut eb = poll_loop(bridge.clone(), b, pb.clone(), a, pa.clone());
        wait_event(&mut ea, "A connected", |e| e["iceConnectionState"] == "connected").await;
        wait_event(&mut eb, "B connected", |e| e["iceConnectionState"] == "connected").await;
        let connected = started.elapsed();
        // B's two tracks, in whichever order their decoding starts (waiting for one and then the
        // other would drop the other's event when it came first).
        let mut kinds = HashSet::new();
        while kinds.len() < 2 {
            let track = wait_event(&mut eb, "B's video and audio tracks", |e| e["type"] == "track").await;
            assert!(track["streamId"].as_str().is_some_and(|s| !s.is_empty()), "{track}");
            kinds.insert(track["track"]["kind"].as_str().unwrap_or_default().to_string());
        }
        assert_eq!(kinds, HashSet::from(["video".to_string(), "audio".to_string()]));
        println!("two pages through the bridge: ICE connected after {} ms", connected.as_millis());

        // A page that goes away ends its connections and lets the camera go.
        assert_eq!(webrtc.peer_count(), 2);
        assert!(camera.status().running);
        bridge.end_session(a);
        let deadline = Instant::now() + Duration::from_secs(10);
        while webrtc.peer_count() != 1 || camera.status().running {
            assert!(Instant::now() < deadline, "A's connection and camera were not released");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let r = call(&bridge, b, PC, json!({"op": "close", "pc": pb})).await.unwrap();
        assert_eq!(r["state"]["signalingState"], "closed");
        assert_eq!(webrtc.peer_count(), 0);
        let e = call(&bridge, b, PC, json!({"op": "createOffer", "pc": pb})).await.unwrap_err();
        assert_eq!(e["errorCode"], "INVALID_PARAMS");
    });
}
