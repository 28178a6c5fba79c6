//! The other end of a witnessed call, for tests and demonstrations: an agent that joins a Janus
//! VideoRoom (creating it with a PIN when it does not exist), publishes a camera, a tone and a
//! data channel, can watch the customer, and says its decision as a real agent's desk would.

use crate::call::{jsep, pump};
use crate::janus::{offer_for_janus, room_data, Janus, JanusError};
use crate::model::PeerConfig;
use crate::peer::{DataChannel, Peer, PeerOptions};
use crate::stream::LocalTrack;
use booth_camera::Camera;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const VIDEOROOM: &str = "janus.plugin.videoroom";

/// An agent in a room.
pub struct Agent {
    janus: Arc<Janus>,
    events: mpsc::UnboundedReceiver<Value>,
    handle: u64,
    id: u64,
    room: u64,
    pin: String,
    peer: Peer,
    channel: DataChannel,
    watching: Option<Peer>,
}

fn fault(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

impl Agent {
    /// Joins (or creates) room `room` with `pin` on the Janus at `url`, shows `camera` and a
    /// 440 Hz tone under the name `display`, and returns once its data channel is open.
    pub async fn join(url: &str, room: u64, pin: &str, display: &str, camera: &Camera) -> Result<Agent, String> {
        let (janus, events) = Janus::connect(url, None).await.map_err(|e| fault("connect", e))?;
        let janus = Arc::new(janus);
        let handle = janus.attach(VIDEOROOM).await.map_err(|e| fault("attach", e))?;
        let create = json!({"request": "create", "room": room, "pin": pin, "publishers": 4, "bitrate": 512000});
        match janus.message(handle, create, None).await {
            // 427: the room exists already.
            Ok(_) | Err(JanusError::Refused { code: 427, .. }) => {}
            Err(e) => return Err(fault("create the room", e)),
        }
        let join = json!({"request": "join", "ptype": "publisher", "room": room, "pin": pin, "display": display});
        let joined = janus.message(handle, join, None).await.map_err(|e| fault("join", e))?;
        let id = room_data(&joined)["id"].as_u64().ok_or("join: no id")?;
        let (peer, peer_events) =
            Peer::new(PeerConfig::default(), PeerOptions::default()).map_err(|e| fault("peer", e))?;
        peer.add_track(LocalTrack::camera(camera).map_err(|e| fault("camera", e))?).map_err(|e| fault("camera", e))?;
        let tone = LocalTrack::audio("audiotestsrc is-live=true wave=sine freq=440 volume=0.5", "tone");
        peer.add_track(tone).map_err(|e| fault("tone", e))?;
        let channel = peer.create_data_channel("decision").map_err(|e| fault("data channel", e))?;
        let offer = peer.create_offer(false, false).await.map_err(|e| fault("offer", e))?;
        peer.set_local_description(offer.clone()).await.map_err(|e| fault("offer", e))?;
        let _ice = pump(janus.clone(), handle, peer_events);
        let publish = json!({"request": "publish", "audio": true, "video": true, "data": true});
        let offered = json!({"type": "offer", "sdp": offer_for_janus(&offer.sdp)});
        let answer = janus.message(handle, publish, Some(offered)).await.map_err(|e| fault("publish", e))?;
        let answer = jsep(&answer).ok_or("publish: no answer")?;
        peer.set_remote_description(answer).await.map_err(|e| fault("answer", e))?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !channel.is_open() {
            if tokio::time::Instant::now() >= deadline {
                return Err("the data channel did not open in 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Agent { janus, events, handle, id, room, pin: pin.into(), peer, channel, watching: None })
    }

    /// Waits up to `limit` for another publisher (the customer) and watches it: the connection
    /// that receives the customer.
    pub async fn watch_customer(&mut self, limit: Duration) -> Result<Peer, String> {
        let deadline = tokio::time::Instant::now() + limit;
        let customer = loop {
            let e = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .map_err(|_| "no customer joined")?
                .ok_or("the agent's session ended")?;
            let found = room_data(&e)["publishers"]
                .as_array()
                .and_then(|l| l.iter().filter_map(|p| p["id"].as_u64()).find(|id| *id != self.id));
            if let Some(id) = found {
                break id;
            }
        };
        let h = self.janus.attach(VIDEOROOM).await.map_err(|e| fault("attach", e))?;
        let join = json!({"request": "join", "ptype": "subscriber", "room": self.room, "pin": self.pin,
                          "streams": [{"feed": customer}]});
        let attached = self.janus.message(h, join, None).await.map_err(|e| fault("subscribe", e))?;
        let offer = jsep(&attached).ok_or("subscribe: no offer")?;
        let (peer, events) = Peer::new(PeerConfig::default(), PeerOptions::default()).map_err(|e| fault("peer", e))?;
        peer.set_remote_description(offer).await.map_err(|e| fault("offer", e))?;
        let answer = peer.create_answer().await.map_err(|e| fault("answer", e))?;
        peer.set_local_description(answer.clone()).await.map_err(|e| fault("answer", e))?;
        let _ice = pump(self.janus.clone(), h, events);
        let start = json!({"request": "start", "room": self.room});
        self.janus
            .message(h, start, Some(json!({"type": "answer", "sdp": answer.sdp})))
            .await
            .map_err(|e| fault("start", e))?;
        self.watching = Some(peer.clone());
        Ok(peer)
    }

    /// Says `text` on the agent's data channel (a decision: `approved`, `rejected: reason`).
    pub fn say(&self, text: &str) -> Result<(), String> {
        self.channel.send(text).map_err(|e| e.to_string())
    }

    /// Leaves the room and ends the agent's session.
    pub async fn leave(self) {
        let _ = self.janus.message(self.handle, json!({"request": "leave"}), None).await;
        self.peer.close();
        if let Some(w) = &self.watching {
            w.close();
        }
        self.janus.destroy().await;
    }
}
