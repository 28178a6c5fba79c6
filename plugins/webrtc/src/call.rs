//! The witnessed call itself (Linux): Booth joins a Janus VideoRoom, publishes the customer (the
//! camera plugin's camera and the microphone), watches the first other publisher (the agent),
//! and waits for the agent's decision on the agent's data channel.
//!
//! Faults: a network that goes away (Janus unreachable, a connection that fails or is hung up by
//! Janus) is retried with a new session for `[witness] reconnect_s` from the moment it was
//! lost; a camera silent for `camera_gone_s` ends the call; the agent leaving, the person
//! hanging up and the page going away end it at once. Every end answers the seed's
//! `{videoFlag, rejectReason, message}`.

use crate::janus::{room_data, room_id, Janus, JanusError};
use crate::model::{PeerConfig, PeerEvent};
use crate::peer::{DataEvent, Peer, PeerOptions};
use crate::record::Recorder;
use crate::stream::LocalTrack;
use crate::witness::{decision, Outcome, WitnessRequest, WitnessSection};
use booth_camera::Camera;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

const VIDEOROOM: &str = "janus.plugin.videoroom";
/// How often Booth asks Janus whether it is still there during a call; two unanswered asks in a
/// row mean the network is gone (ICE alone takes 49 s to notice).
const PING_EVERY: Duration = Duration::from_millis(1500);

/// Where the call stands, for the call screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connecting,
    Waiting,
    InCall,
    Reconnecting,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Connecting => "connecting",
            Phase::Waiting => "waiting",
            Phase::InCall => "in-call",
            Phase::Reconnecting => "reconnecting",
        }
    }
}

/// Who watches a call: the call screen.
pub trait CallObserver: Send + Sync {
    /// The call's state and its zh-CN status line.
    fn progress(&self, phase: Phase, status: &str);
    /// The connection that receives the agent (a new one after a reconnection).
    fn agent(&self, peer: &Peer);
    /// The agent's picture as a local track (the simulator's agent).
    fn agent_track(&self, _track: &LocalTrack) {}
    /// The customer's camera track, once.
    fn customer(&self, track: &LocalTrack);
}

/// Everything a call needs.
pub struct CallSetup {
    pub request: WitnessRequest,
    pub section: WitnessSection,
    /// Where to write the recording (`None`: not recorded).
    pub recordings: Option<PathBuf>,
    pub camera: Camera,
    /// The microphone as a GStreamer source (`None`: the customer is not heard).
    pub microphone: Option<String>,
    /// Where the agent's voice plays.
    pub speaker: Option<String>,
}

enum Attempt {
    Ended(Outcome),
    Lost { connected: bool, reason: String },
}

struct Ctx<'a> {
    setup: &'a CallSetup,
    observer: &'a dyn CallObserver,
    stop: watch::Receiver<Option<String>>,
    customer: LocalTrack,
    recorder: Option<Recorder>,
    deadline: Instant,
    /// Booth's own publishers in this room, of this call's earlier attempts and of earlier
    /// calls ([`OwnPublishers`]): never the agent.
    own: Vec<u64>,
}

/// Runs a call to its end. `stop` ends it early with its message (the person hung up, the page
/// went away).
pub async fn run(setup: CallSetup, observer: Arc<dyn CallObserver>, stop: watch::Receiver<Option<String>>) -> Outcome {
    let customer = match customer_track(&setup.camera).await {
        Ok(t) => t,
        Err(o) => return o,
    };
    observer.customer(&customer);
    let recorder = match &setup.recordings {
        None => None,
        Some(dir) => match start_recording(dir, &setup.request.room_id) {
            Ok(r) => Some(r),
            // A witnessed call that must be recorded and cannot be is not held.
            Err(e) => {
                customer.stop();
                return Outcome::failed(format!("无法录像: {e}"));
            }
        },
    };
    let max = Duration::from_secs(setup.section.max_call_s);
    let mut ctx = Ctx {
        setup: &setup,
        observer: &*observer,
        stop,
        customer,
        recorder,
        deadline: Instant::now() + max,
        own: OWN_PUBLISHERS.of(&setup.request.base_url(&setup.section), &room_id(&setup.request.room_id)),
    };
    let window = Duration::from_secs(setup.section.reconnect_s);
    let mut lost_at: Option<Instant> = None;
    let mut outcome = loop {
        match attempt(&mut ctx).await {
            Attempt::Ended(o) => break o,
            Attempt::Lost { connected, reason } => {
                tracing::warn!(%reason, "witness: the call was lost");
                if connected || lost_at.is_none() {
                    lost_at = Some(Instant::now());
                }
                let since = lost_at.map(|t| t.elapsed()).unwrap_or_default();
                if since >= window || Instant::now() >= ctx.deadline {
                    break Outcome::failed(format!("网络中断, {} 秒内未能恢复: {reason}", window.as_secs()));
                }
                ctx.observer.progress(Phase::Reconnecting, "网络中断, 正在重新连接…");
                if let Some(m) = pause(&mut ctx.stop, Duration::from_secs(1)).await {
                    break Outcome::failed(m);
                }
            }
        }
    };
    ctx.customer.stop();
    if let Some(r) = ctx.recorder.take() {
        outcome.recording = Some(tokio::task::spawn_blocking(move || r.finish()).await.unwrap_or_default());
    }
    tracing::info!(flag = outcome.flag, "witness: the call ended");
    outcome
}

/// The customer's camera track (opening the camera is blocking), or the call's end when the
/// camera cannot be had.
pub(crate) async fn customer_track(camera: &Camera) -> Result<LocalTrack, Outcome> {
    let camera = camera.clone();
    match tokio::task::spawn_blocking(move || LocalTrack::camera(&camera)).await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(Outcome::failed(format!("摄像头不可用: {e}"))),
        Err(e) => Err(Outcome::failed(format!("摄像头不可用: {e}"))),
    }
}

/// A new recording in `dir`, named after the time and the room.
pub(crate) fn start_recording(dir: &std::path::Path, room_id: &str) -> Result<Recorder, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let room: String =
        room_id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).take(32).collect();
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
    let path = dir.join(format!("witness-{stamp}-{room}.webm"));
    Recorder::start(&path).map_err(|e| e.to_string())
}

/// Sleeps `d`, or less when the call is stopped (its message).
async fn pause(stop: &mut watch::Receiver<Option<String>>, d: Duration) -> Option<String> {
    tokio::select! {
        _ = tokio::time::sleep(d) => None,
        m = stopped(stop) => Some(m),
    }
}

pub(crate) async fn stopped(stop: &mut watch::Receiver<Option<String>>) -> String {
    loop {
        if let Some(m) = stop.borrow().clone() {
            return m;
        }
        if stop.changed().await.is_err() {
            // Nobody can stop the call any more: it runs to its own end.
            std::future::pending::<()>().await;
        }
    }
}

fn lost(connected: bool, e: impl std::fmt::Display) -> Attempt {
    Attempt::Lost { connected, reason: e.to_string() }
}

/// Janus's refusal as the end of the call, its network faults as a lost call.
fn janus_fault(what: &str, e: JanusError, connected: bool) -> Attempt {
    if e.is_network() {
        lost(connected, format!("{what}: {e}"))
    } else {
        Attempt::Ended(Outcome::failed(format!("{what}: {e}")))
    }
}

/// What a peer's events mean to the call: its candidates go to Janus, its ICE states come back.
pub(crate) fn pump(
    janus: Arc<Janus>,
    handle: u64,
    mut events: mpsc::UnboundedReceiver<PeerEvent>,
) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            match e {
                PeerEvent::Icecandidate { candidate } => {
                    let _ = janus.trickle(handle, candidate.as_ref()).await;
                }
                PeerEvent::Iceconnectionstatechange { ice_connection_state }
                    if tx.send(ice_connection_state.clone()).is_err() =>
                {
                    return;
                }
                _ => {}
            }
        }
    });
    rx
}

pub(crate) fn jsep(v: &Value) -> Option<crate::model::Description> {
    let j = v.get("jsep")?;
    Some(crate::model::Description { kind: j["type"].as_str()?.to_string(), sdp: j["sdp"].as_str()?.to_string() })
}

fn jsep_json(d: &crate::model::Description) -> Value {
    json!({"type": d.kind, "sdp": d.sdp})
}

/// Booth's publishers of the last [`OWN_KEEP`], by server and room. A call's publisher stays in
/// the room after the call ends until Janus lets its session go: at once when Booth's goodbye
/// arrives, only at the session timeout when the network was lost. The next call, and the next
/// attempt of a call, must not take it for the agent (its name is the customer's).
struct OwnPublishers(Mutex<Vec<(String, String, u64, Instant)>>);

/// Longer than any Janus session timeout in use (the default is 60 s).
const OWN_KEEP: Duration = Duration::from_secs(600);

static OWN_PUBLISHERS: OwnPublishers = OwnPublishers(Mutex::new(Vec::new()));

impl OwnPublishers {
    fn add(&self, server: &str, room: &Value, id: u64) {
        let mut list = self.0.lock().unwrap_or_else(|p| p.into_inner());
        list.retain(|(_, _, _, at)| at.elapsed() < OWN_KEEP);
        list.push((server.to_string(), room.to_string(), id, Instant::now()));
    }

    fn of(&self, server: &str, room: &Value) -> Vec<u64> {
        let (list, room) = (self.0.lock().unwrap_or_else(|p| p.into_inner()), room.to_string());
        list.iter()
            .filter(|(s, r, _, at)| s == server && *r == room && at.elapsed() < OWN_KEEP)
            .map(|(_, _, id, _)| *id)
            .collect()
    }
}

/// The agent among a room's publishers: the first that is not one of ours.
fn agent_in(publishers: &Value, ours: &[u64]) -> Option<(u64, String)> {
    publishers.as_array()?.iter().find_map(|p| {
        let id = p["id"].as_u64()?;
        (!ours.contains(&id)).then(|| (id, p["display"].as_str().unwrap_or("").to_string()))
    })
}

async fn attempt(ctx: &mut Ctx<'_>) -> Attempt {
    let req = &ctx.setup.request;
    let section = &ctx.setup.section;
    ctx.observer.progress(Phase::Connecting, "正在连接视频服务…");
    let base = req.base_url(section);
    let (janus, mut events) = match Janus::connect(&base, req.login_pwd.clone()).await {
        Ok(j) => j,
        Err(e) => return janus_fault("连接视频服务", e, false),
    };
    let janus = Arc::new(janus);
    let result = in_session(ctx, &janus, &mut events).await;
    let j = janus.clone();
    // Leaving is polite, not needed: Janus ends the session when its poll stops. After a lost
    // network it is tried for a while, so that the old publisher leaves the room soon.
    tokio::spawn(async move { j.destroy_soon(10).await });
    result
}

async fn in_session(ctx: &mut Ctx<'_>, janus: &Arc<Janus>, events: &mut mpsc::UnboundedReceiver<Value>) -> Attempt {
    let req = &ctx.setup.request;
    let room = room_id(&req.room_id);
    let publisher = match janus.attach(VIDEOROOM).await {
        Ok(h) => h,
        Err(e) => return janus_fault("视频服务", e, false),
    };
    let mut join = json!({"request": "join", "ptype": "publisher", "room": room, "display": req.login_name});
    if let Some(pin) = &req.room_pwd {
        join["pin"] = json!(pin);
    }
    ctx.observer.progress(Phase::Connecting, "正在进入房间…");
    let joined = match janus.message(publisher, join, None).await {
        Ok(v) => v,
        Err(e) => return janus_fault("无法进入房间", e, false),
    };
    let me = room_data(&joined)["id"].as_u64().unwrap_or(0);
    ctx.own.push(me);
    OWN_PUBLISHERS.add(&req.base_url(&ctx.setup.section), &room, me);
    let agent = agent_in(&room_data(&joined)["publishers"], &ctx.own);

    // Publish the customer.
    let (out, out_events) = match Peer::new(PeerConfig::default(), PeerOptions::default()) {
        Ok(p) => p,
        Err(e) => return Attempt::Ended(Outcome::failed(format!("无法建立连接: {e}"))),
    };
    let mut watched: Option<Peer> = None;
    let result = talk(ctx, janus, events, publisher, (&out, out_events), agent, &mut watched).await;
    out.close();
    if let Some(p) = watched {
        p.close();
    }
    result
}

async fn talk(
    ctx: &mut Ctx<'_>,
    janus: &Arc<Janus>,
    events: &mut mpsc::UnboundedReceiver<Value>,
    publisher: u64,
    (out, out_events): (&Peer, mpsc::UnboundedReceiver<PeerEvent>),
    mut agent: Option<(u64, String)>,
    watched: &mut Option<Peer>,
) -> Attempt {
    let setup = ctx.setup;
    let req = &setup.request;
    let room = room_id(&req.room_id);
    if let Err(e) = out.add_track(ctx.customer.clone()) {
        return Attempt::Ended(Outcome::failed(format!("无法发送画面: {e}")));
    }
    if let Some(mic) = &setup.microphone {
        let _ = out.add_track(LocalTrack::audio(mic, "microphone"));
    }
    let offer = match out.create_offer(false, false).await {
        Ok(o) => o,
        Err(e) => return Attempt::Ended(Outcome::failed(format!("无法建立连接: {e}"))),
    };
    if let Err(e) = out.set_local_description(offer.clone()).await {
        return Attempt::Ended(Outcome::failed(format!("无法建立连接: {e}")));
    }
    let mut out_ice = pump(janus.clone(), publisher, out_events);
    let publish =
        json!({"request": "publish", "audio": setup.microphone.is_some(), "video": true, "display": req.login_name});
    let offered =
        crate::model::Description { kind: offer.kind.clone(), sdp: crate::janus::offer_for_janus(&offer.sdp) };
    let answer = match janus.message(publisher, publish, Some(jsep_json(&offered))).await {
        Ok(v) => v,
        Err(e) => return janus_fault("无法发送画面", e, false),
    };
    let Some(answer) = jsep(&answer) else {
        return Attempt::Ended(Outcome::failed("视频服务没有应答 (无 jsep)"));
    };
    if let Err(e) = out.set_remote_description(answer).await {
        return Attempt::Ended(Outcome::failed(format!("视频服务的应答无法使用: {e}")));
    }
    if let Some(r) = &ctx.recorder {
        r.set_customer(&ctx.customer, out.local_audio());
    }

    // Wait for the agent.
    let waiting_since = Instant::now();
    let agent_wait = Duration::from_secs(setup.section.agent_wait_s);
    let mut told_waiting = false;
    let (agent_id, agent_name) = loop {
        if let Some(a) = agent.take() {
            break a;
        }
        if !told_waiting {
            told_waiting = true;
            ctx.observer.progress(Phase::Waiting, "等待坐席接入…");
        }
        let left = agent_wait.saturating_sub(waiting_since.elapsed());
        if left.is_zero() {
            return Attempt::Ended(Outcome::failed(format!("{} 秒内没有坐席接入", agent_wait.as_secs())));
        }
        tokio::select! {
            m = stopped(&mut ctx.stop) => return Attempt::Ended(Outcome::failed(m)),
            _ = tokio::time::sleep(left) => {}
            s = out_ice.recv() => if s.as_deref() == Some("failed") { return lost(false, "连接失败 (ICE)") },
            e = events.recv() => match e {
                None => return lost(false, "视频服务已断开"),
                Some(e) => {
                    if let Some(fault) = session_fault(&e, &[publisher]) {
                        return lost(false, fault);
                    }
                    agent = agent_in(&room_data(&e)["publishers"], &ctx.own);
                }
            },
        }
    };
    tracing::info!("witness: an agent is in the room");

    // Watch the agent.
    let subscriber = match janus.attach(VIDEOROOM).await {
        Ok(h) => h,
        Err(e) => return janus_fault("视频服务", e, false),
    };
    let mut join = json!({"request": "join", "ptype": "subscriber", "room": room, "streams": [{"feed": agent_id}]});
    if let Some(pin) = &req.room_pwd {
        join["pin"] = json!(pin);
    }
    let attached = match janus.message(subscriber, join, None).await {
        Ok(v) => v,
        Err(e) => return janus_fault("无法接收坐席画面", e, false),
    };
    let Some(offer) = jsep(&attached) else {
        return Attempt::Ended(Outcome::failed("视频服务没有给出坐席的媒体描述"));
    };
    let (inp, in_events) = match Peer::new(PeerConfig::default(), PeerOptions { audio_out: setup.speaker.clone() }) {
        Ok(p) => p,
        Err(e) => return Attempt::Ended(Outcome::failed(format!("无法建立连接: {e}"))),
    };
    *watched = Some(inp.clone());
    let mut data = inp.data_events();
    let has_data = offer.sdp.contains("m=application");
    let ready = async {
        inp.set_remote_description(offer).await?;
        // webrtcbin starts the data channels' association only when it has a channel of its
        // own; without one the agent's channel never reaches Booth.
        if has_data {
            inp.create_data_channel("booth")?;
        }
        let answer = inp.create_answer().await?;
        inp.set_local_description(answer.clone()).await?;
        Ok::<_, crate::model::WebRtcError>(answer)
    };
    let answer = match ready.await {
        Ok(a) => a,
        Err(e) => return Attempt::Ended(Outcome::failed(format!("坐席的媒体描述无法使用: {e}"))),
    };
    let mut in_ice = pump(janus.clone(), subscriber, in_events);
    if let Err(e) = janus.message(subscriber, json!({"request": "start", "room": room}), Some(jsep_json(&answer))).await
    {
        return janus_fault("无法接收坐席画面", e, false);
    }
    ctx.observer.agent(&inp);
    if let Some(r) = &ctx.recorder {
        r.set_agent(&inp);
    }
    let in_call_text =
        if agent_name.is_empty() { "通话中".to_string() } else { format!("通话中 · {agent_name}") };
    let mut connected = false;
    let mut in_call = false;
    let camera_gone = Duration::from_secs(setup.section.camera_gone_s);
    let mut camera_quiet_since: Option<Instant> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut pings = ping(janus.clone());
    loop {
        if connected && !in_call {
            in_call = true;
            ctx.observer.progress(Phase::InCall, &in_call_text);
        }
        tokio::select! {
            m = stopped(&mut ctx.stop) => return Attempt::Ended(Outcome::failed(m)),
            s = out_ice.recv() => if s.as_deref() == Some("failed") { return lost(connected, "发送连接失败 (ICE)") },
            s = in_ice.recv() => match s.as_deref() {
                Some("failed") => return lost(connected, "接收连接失败 (ICE)"),
                // With a data channel the call is on when it is open (Booth's own channel
                // opens with the association): before that the agent's words would be lost.
                Some("connected") | Some("completed") if !has_data => connected = true,
                _ => {}
            },
            d = data.recv() => match d {
                Some(DataEvent::Open { .. }) => connected = true,
                Some(DataEvent::Message { text, .. }) => {
                    if let Some(o) = decision(&text) {
                        tracing::info!(flag = o.flag, "witness: the agent decided");
                        return Attempt::Ended(o);
                    }
                }
                Some(DataEvent::Closed { .. }) | None => {}
            },
            e = events.recv() => match e {
                None => return lost(connected, "视频服务已断开"),
                Some(e) => {
                    if let Some(fault) = session_fault(&e, &[publisher, subscriber]) {
                        return lost(connected, fault);
                    }
                    let d = room_data(&e);
                    let gone = ["unpublished", "leaving"].iter().any(|k| d[*k].as_u64() == Some(agent_id));
                    if gone {
                        return Attempt::Ended(Outcome::failed("坐席已离开, 视频认证未完成"));
                    }
                }
            },
            p = pings.recv() => if let Some(reason) = p {
                return lost(connected, reason);
            },
            _ = tick.tick() => {
                if Instant::now() >= ctx.deadline {
                    return Attempt::Ended(Outcome::failed(format!("通话超过 {} 秒", setup.section.max_call_s)));
                }
                // The camera plugin reopens a camera that went away; the call waits for it a while.
                let fresh = ctx.customer_frame_age().is_some_and(|a| a < Duration::from_secs(2));
                if fresh {
                    if camera_quiet_since.take().is_some() {
                        ctx.observer.progress(Phase::InCall, &in_call_text);
                    }
                } else {
                    let since = *camera_quiet_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= camera_gone {
                        return Attempt::Ended(Outcome::failed(format!("摄像头断开超过 {} 秒", camera_gone.as_secs())));
                    }
                    ctx.observer.progress(Phase::InCall, "摄像头已断开, 正在恢复…");
                }
            }
        }
    }
}

/// Asks Janus every [`PING_EVERY`] whether the session is still there (a keepalive); the
/// receiver hears why once two asks in a row went unanswered. Stops with the receiver.
fn ping(janus: Arc<Janus>) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut failed = 0;
        loop {
            tokio::time::sleep(PING_EVERY).await;
            if tx.is_closed() {
                return;
            }
            match janus.keepalive().await {
                Err(e) if e.is_network() => {
                    failed += 1;
                    if failed >= 2 {
                        let _ = tx.send(format!("视频服务没有应答: {e}"));
                        return;
                    }
                }
                _ => failed = 0,
            }
        }
    });
    rx
}

/// A session-level event that means the call is gone: Janus lost, the session timed out, or one
/// of our handles hung up or detached.
fn session_fault(e: &Value, handles: &[u64]) -> Option<String> {
    let ours = e["sender"].as_u64().is_some_and(|s| handles.contains(&s));
    match e["janus"].as_str() {
        Some("booth-lost") => Some(format!("视频服务已断开: {}", e["reason"].as_str().unwrap_or(""))),
        Some("timeout") => Some("视频服务会话超时".into()),
        Some("hangup") if ours => Some(format!("视频服务挂断了连接: {}", e["reason"].as_str().unwrap_or(""))),
        Some("detached") if ours => Some("视频服务断开了连接".into()),
        _ => None,
    }
}

impl Ctx<'_> {
    fn customer_frame_age(&self) -> Option<Duration> {
        let crate::stream::TrackSource::Camera { camera, .. } = self.customer.source() else { return None };
        camera.latest().map(|f| f.captured.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publisher_of_an_earlier_call_in_the_same_room_is_never_the_agent() {
        let (server, room) = ("http://10.0.0.9:8088/janus", json!(4321));
        // The first call's publisher, its session not yet let go by Janus.
        OWN_PUBLISHERS.add(server, &room, 111);
        let publishers = json!([{"id": 111, "display": "张三"}, {"id": 222, "display": "坐席 007"}]);
        let ours = OWN_PUBLISHERS.of(server, &room);
        assert_eq!(agent_in(&publishers, &ours), Some((222, "坐席 007".to_string())));
        // Another room or another server knows nothing of it.
        assert!(OWN_PUBLISHERS.of(server, &json!(1)).is_empty());
        assert!(OWN_PUBLISHERS.of("http://10.0.0.8:8088/janus", &room).is_empty());
        assert_eq!(agent_in(&publishers, &[]), Some((111, "张三".to_string())));
    }
}
