//! The bridge side (Linux): `ft.webrtc.*` calls become operations on native connections and
//! tracks owned by the page's session.
//!
//! The contract lists only the calls that create objects (`createRTCPeerConnection`,
//! `getUserMedia`, …). The objects' own methods reach Booth as the same call with an `op`
//! (`{op: "createOffer", pc}`), so they share its permission (camera) and its checks; the
//! connection's events reach the page by a long poll (`{op: "events", pc}`), which answers as
//! soon as something happened. Everything a page made ends with its session (navigation,
//! exitMp, a closed window): connections close and the camera is let go.

use crate::call::{CallObserver, CallSetup, Phase};
use crate::display::{Display, Feed};
use crate::model::{Candidate, Description, PeerConfig, PeerEvent, WebRtcConfig, WebRtcError};
use crate::peer::{Peer, PeerOptions};
use crate::stream::LocalTrack;
use crate::witness::{WitnessRequest, WitnessSection};
use booth_bridge::api::Dialect;
use booth_bridge::{handler, ApiError, Bridge, CallCtx, Done, ErrorCode, Params, SessionId};
use booth_camera::Camera;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

/// How long an events poll waits before answering with nothing.
const POLL: Duration = Duration::from_secs(20);
/// Connections one page may hold at once.
const MAX_PEERS: usize = 8;

/// A connection's events, taken by one poll at a time.
type Events = Arc<tokio::sync::Mutex<UnboundedReceiver<PeerEvent>>>;

struct PeerEntry {
    session: SessionId,
    peer: Peer,
    events: Events,
}

#[derive(Default)]
struct State {
    peers: HashMap<String, PeerEntry>,
    tracks: HashMap<String, (SessionId, LocalTrack)>,
    /// Local streams (`getUserMedia`): their video track, for display.
    streams: HashMap<String, (SessionId, Option<LocalTrack>)>,
    watched: HashSet<SessionId>,
}

/// Booth's call screen for `finOpenWitnessVideo`, shown over the calling page (the app
/// implements it with its webviews). `view` fields: `roomName`, `phase` (connecting, waiting,
/// in-call, reconnecting), `status` (zh-CN), `agentUrl` and `selfUrl` (MJPEG streams of this
/// page's display grants); `update` carries the fields that changed.
pub trait CallScreen: Send + Sync {
    fn show(&self, window: &str, view: &Value) -> Result<(), String>;
    fn update(&self, window: &str, view: &Value);
    fn hide(&self, window: &str);
}

/// `[witness]` and where its recordings go.
#[derive(Clone, Default)]
struct Witness {
    section: WitnessSection,
    recordings: std::path::PathBuf,
}

/// `ft.webrtc` for one Booth.
pub struct WebRtc {
    camera: Camera,
    config: WebRtcConfig,
    state: Mutex<State>,
    display: std::sync::OnceLock<Arc<Display>>,
    witness: Mutex<Witness>,
    screen: std::sync::OnceLock<Arc<dyn CallScreen>>,
    /// The witnessed call in progress (the terminal has one camera): its session and the way
    /// to end it.
    call: Mutex<Option<(SessionId, tokio::sync::watch::Sender<Option<String>>)>>,
    /// `booth dev`: the simulated agent instead of a media server.
    witness_sim: std::sync::OnceLock<Arc<crate::witness_sim::WitnessSim>>,
}

fn api(e: WebRtcError) -> ApiError {
    let code = match &e {
        WebRtcError::Invalid(_) | WebRtcError::State(_) | WebRtcError::Closed => ErrorCode::InvalidParams,
        WebRtcError::Device(_) => ErrorCode::DeviceUnavailable,
        WebRtcError::Engine(_) => ErrorCode::DeviceError,
        WebRtcError::Unsupported(_) => ErrorCode::Unsupported,
    };
    ApiError::with_message(code, e.to_string())
}

impl WebRtc {
    pub fn new(camera: Camera, config: WebRtcConfig) -> Arc<WebRtc> {
        Arc::new(WebRtc {
            camera,
            config,
            state: Mutex::default(),
            display: std::sync::OnceLock::new(),
            witness: Mutex::default(),
            screen: std::sync::OnceLock::new(),
            call: Mutex::default(),
            witness_sim: std::sync::OnceLock::new(),
        })
    }

    /// `booth dev`: finOpenWitnessVideo calls the simulated agent, which the simulator panel
    /// plays (`POST /sim/witness/decide`, `/leave`).
    pub fn simulate_witness(&self, sims: &booth_bridge::SimRegistry) {
        let sim = self.witness_sim.get_or_init(|| Arc::new(crate::witness_sim::WitnessSim::default())).clone();
        sims.register(Arc::new(crate::witness_sim::WitnessSimDevice(sim)));
    }

    /// `[witness]`, and the directory recordings go to when its `directory` is empty.
    pub fn set_witness(&self, section: WitnessSection, data_dir: &std::path::Path) {
        let recordings = section.recordings(data_dir);
        *self.witness.lock().unwrap_or_else(|p| p.into_inner()) = Witness { section, recordings };
    }

    /// Connects the call screen (once the windows exist).
    pub fn set_call_screen(&self, screen: Arc<dyn CallScreen>) {
        if self.screen.set(screen).is_err() {
            tracing::warn!("call screen set twice; keeping the first");
        }
    }

    /// The person pressed 挂断 on the call screen of `session`'s page; whether a call ended.
    pub fn hang_up(&self, session: SessionId) -> bool {
        let call = self.call.lock().unwrap_or_else(|p| p.into_inner());
        match call.as_ref() {
            Some((s, stop)) if *s == session => stop.send(Some("客户挂断".into())).is_ok(),
            _ => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        let me = self.clone();
        bridge.register(
            Dialect::Ft,
            "webrtc.createRTCPeerConnection",
            Some(POLL + Duration::from_secs(15)),
            handler(move |ctx, p| {
                let me = me.clone();
                async move { me.peer_call(ctx, p).await }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::Ft,
            "finOpenWitnessVideo",
            // Booth ends the call itself ([witness] max_call_s); this only backs that up.
            Some(Duration::from_secs(25 * 3600)),
            handler(move |ctx, p| {
                let me = me.clone();
                async move { me.witness_call(ctx, p).await }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::Ft,
            "webrtc.mediaDevices.getUserMedia",
            None,
            handler(move |ctx, p| {
                let me = me.clone();
                async move { me.media_call(ctx, p).await }
            }),
        );
        bridge.register(
            Dialect::Ft,
            "webrtc.mediaDevices.enumerateDevices",
            None,
            handler(|_ctx, _p| async move {
                let list = tokio::task::spawn_blocking(devices)
                    .await
                    .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
                    .map_err(api)?;
                Ok(Done::from(Value::Array(list)))
            }),
        );
        bridge.register(
            Dialect::Ft,
            "webrtc.mediaDevices.getSupportedConstraints",
            None,
            handler(|_ctx, _p| async move {
                Ok(Done::from(json!({
                    "deviceId": true, "width": true, "height": true, "frameRate": true,
                    "aspectRatio": false, "facingMode": false, "resizeMode": false,
                    "sampleRate": false, "channelCount": false, "echoCancellation": false,
                    "autoGainControl": false, "noiseSuppression": false, "groupId": false
                })))
            }),
        );
    }

    /// Ends what a session made when it ends (once per session).
    fn watch(self: &Arc<Self>, ctx: &CallCtx) {
        let id = ctx.session.id();
        if !self.lock().watched.insert(id) {
            return;
        }
        let weak = Arc::downgrade(self);
        let cancel = ctx.cancel.clone();
        tokio::spawn(async move {
            cancel.cancelled().await;
            if let Some(me) = weak.upgrade() {
                me.end_session(id);
            }
        });
    }

    /// Closes the connections and stops the tracks of a session.
    pub fn end_session(&self, id: SessionId) {
        let mut st = self.lock();
        st.watched.remove(&id);
        let peers: Vec<String> = st.peers.iter().filter(|(_, e)| e.session == id).map(|(k, _)| k.clone()).collect();
        let tracks: Vec<String> = st.tracks.iter().filter(|(_, (s, _))| *s == id).map(|(k, _)| k.clone()).collect();
        let peers: Vec<PeerEntry> = peers.iter().filter_map(|k| st.peers.remove(k)).collect();
        let tracks: Vec<LocalTrack> = tracks.iter().filter_map(|k| st.tracks.remove(k)).map(|(_, t)| t).collect();
        st.streams.retain(|_, (s, _)| *s != id);
        drop(st);
        if let Some(d) = self.display.get() {
            d.revoke_session(id);
        }
        if !peers.is_empty() || !tracks.is_empty() {
            tracing::info!(session = id, peers = peers.len(), tracks = tracks.len(), "webrtc: the page went away");
        }
        for e in peers {
            e.peer.close();
        }
        for t in tracks {
            t.stop();
        }
    }

    /// Open connections (for `/health`).
    pub fn peer_count(&self) -> usize {
        self.lock().peers.len()
    }

    /// `/health`'s entry in the devices' shape: GStreamer with webrtcbin is the backend; the
    /// open connections are its detail.
    pub fn status(&self) -> serde_json::Value {
        let n = self.peer_count();
        let witness = self.call.lock().unwrap_or_else(|p| p.into_inner()).is_some();
        match crate::peer::init() {
            Ok(()) => json!({
                "backend": "gstreamer", "available": true, "optional": true,
                "detail": format!("{n} 个连接"), "connections": n, "witnessCall": witness
            }),
            // Nothing else depends on it: only a page calling ft.webrtc is refused.
            Err(e) => json!({
                "backend": "gstreamer", "available": false, "optional": true,
                "detail": e.to_string(), "connections": n, "witnessCall": witness
            }),
        }
    }

    fn peer(&self, session: SessionId, p: &Params) -> Result<(Peer, Events), ApiError> {
        let id = p.str("pc")?.ok_or_else(|| ApiError::invalid("缺少 pc"))?;
        let st = self.lock();
        match st.peers.get(id) {
            Some(e) if e.session == session => Ok((e.peer.clone(), e.events.clone())),
            _ => Err(ApiError::invalid("未知的连接 (已关闭, 或不属于本页面)")),
        }
    }

    async fn peer_call(self: Arc<Self>, ctx: CallCtx, p: Params) -> Result<Done, ApiError> {
        let session = ctx.session.id();
        let op = p.str("op")?.unwrap_or("create").to_string();
        if op == "create" {
            let config = PeerConfig::parse(p.get("configuration").unwrap_or(&Value::Null)).map_err(api)?;
            if self.lock().peers.values().filter(|e| e.session == session).count() >= MAX_PEERS {
                return Err(ApiError::new(ErrorCode::Busy, format!("一个页面最多 {MAX_PEERS} 个连接")));
            }
            self.watch(&ctx);
            let options = PeerOptions { audio_out: self.config.speaker.clone() };
            let (peer, events) = tokio::task::spawn_blocking(move || Peer::new(config, options))
                .await
                .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
                .map_err(api)?;
            let id = crate::model::new_id("pc");
            let state = peer.state();
            let configuration = peer.configuration();
            self.lock()
                .peers
                .insert(id.clone(), PeerEntry { session, peer, events: Arc::new(tokio::sync::Mutex::new(events)) });
            tracing::info!(session, "webrtc: connection created");
            return Ok(Done::from(json!({"pc": id, "state": state, "configuration": configuration})));
        }
        let (peer, events) = self.peer(session, &p)?;
        let bool_opt = |k: &str| -> Result<bool, ApiError> {
            Ok(match p.get("options") {
                Some(Value::Object(o)) => o.get(k).and_then(Value::as_bool).unwrap_or(false),
                _ => false,
            })
        };
        let data = match op.as_str() {
            "createOffer" => {
                let d = peer
                    .create_offer(bool_opt("offerToReceiveAudio")?, bool_opt("offerToReceiveVideo")?)
                    .await
                    .map_err(api)?;
                json!(d)
            }
            "createAnswer" => json!(peer.create_answer().await.map_err(api)?),
            "setLocalDescription" | "setRemoteDescription" => {
                let d = Description::parse(p.get("description").unwrap_or(&Value::Null)).map_err(api)?;
                if op == "setLocalDescription" {
                    peer.set_local_description(d).await.map_err(api)?;
                } else {
                    peer.set_remote_description(d).await.map_err(api)?;
                }
                json!({"state": peer.state()})
            }
            "addIceCandidate" => {
                match p.get("candidate") {
                    None => {}
                    Some(v) => {
                        let c: Candidate = serde_json::from_value(v.clone())
                            .map_err(|_| ApiError::invalid("candidate 应为 {candidate, sdpMLineIndex, sdpMid}"))?;
                        peer.add_ice_candidate(&c).map_err(api)?;
                    }
                }
                json!({})
            }
            "addTrack" => {
                let id = p.str("track")?.ok_or_else(|| ApiError::invalid("缺少 track"))?;
                let track = match self.lock().tracks.get(id) {
                    Some((s, t)) if *s == session => t.clone(),
                    _ => return Err(ApiError::invalid("未知的 track (应来自本页面的 getUserMedia)")),
                };
                if track.ended() {
                    return Err(ApiError::invalid("track 已停止"));
                }
                peer.add_track(track).map_err(api)?;
                json!({})
            }
            "getConfiguration" => peer.configuration(),
            "close" => {
                peer.close();
                if let Some(id) = p.str("pc")? {
                    self.lock().peers.remove(id);
                }
                json!({"state": peer.state()})
            }
            "events" => {
                let mut rx =
                    events.try_lock().map_err(|_| ApiError::new(ErrorCode::Busy, "这个连接的事件已有人在取"))?;
                let mut list = Vec::new();
                let first = tokio::time::timeout(POLL, rx.recv()).await;
                let mut ended = false;
                match first {
                    Ok(Some(e)) => list.push(e),
                    Ok(None) => ended = true,
                    Err(_) => {}
                }
                while let Ok(e) = rx.try_recv() {
                    list.push(e);
                }
                json!({"events": list, "state": peer.state(), "closed": ended || peer.is_closed()})
            }
            other => {
                return Err(ApiError::invalid(format!("未知的操作 op \"{}\"", booth_bridge::params::clip(other, 40))))
            }
        };
        Ok(Done::from(data))
    }

    async fn media_call(self: Arc<Self>, ctx: CallCtx, p: Params) -> Result<Done, ApiError> {
        let session = ctx.session.id();
        match p.str("op")?.unwrap_or("get") {
            "get" => {}
            "display" => return self.display_url(session, &p).map(Done::from),
            "stop" | "enable" => {
                let id = p.str("track")?.ok_or_else(|| ApiError::invalid("缺少 track"))?;
                let track = match self.lock().tracks.get(id) {
                    Some((s, t)) if *s == session => t.clone(),
                    _ => return Err(ApiError::invalid("未知的 track")),
                };
                if p.str("op")? == Some("stop") {
                    track.stop();
                } else {
                    let on = p.bool("enabled")?.ok_or_else(|| ApiError::invalid("缺少 enabled"))?;
                    track.set_enabled(on);
                }
                return Ok(Done::from(json!(track.info())));
            }
            other => {
                return Err(ApiError::invalid(format!("未知的操作 op \"{}\"", booth_bridge::params::clip(other, 40))))
            }
        }
        // `video: true` or a constraints object both ask for the camera.
        let wants = |k: &str| !matches!(p.get(k), None | Some(Value::Bool(false)));
        let (video, audio) = (wants("video"), wants("audio"));
        if !video && !audio {
            return Err(ApiError::invalid("video 和 audio 至少要一个"));
        }
        self.watch(&ctx);
        let mut tracks = Vec::new();
        if video {
            let camera = self.camera.clone();
            let t = tokio::task::spawn_blocking(move || LocalTrack::camera(&camera))
                .await
                .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
                .map_err(api)?;
            tracks.push(t);
        }
        if audio {
            let Some(mic) = self.config.microphone.clone() else {
                return Err(ApiError::new(ErrorCode::DeviceUnavailable, "没有配置麦克风 ([webrtc] microphone)"));
            };
            tracks.push(LocalTrack::audio(&mic, "microphone"));
        }
        let stream_id = crate::model::new_id("ls");
        let infos: Vec<_> = tracks.iter().map(|t| t.info()).collect();
        let mut st = self.lock();
        let video = tracks.iter().find(|t| t.info().kind == "video").cloned();
        st.streams.insert(stream_id.clone(), (session, video));
        for t in tracks {
            st.tracks.insert(t.id().to_string(), (session, t));
        }
        Ok(Done::from(json!({"streamId": stream_id, "tracks": infos})))
    }
}

impl WebRtc {
    /// `<webrtc-video src="webrtc://<streamId>">`: an MJPEG URL for a local or remote stream of
    /// this page.
    fn display_url(&self, session: SessionId, p: &Params) -> Result<Value, ApiError> {
        let id = p.str("stream")?.ok_or_else(|| ApiError::invalid("缺少 stream"))?;
        let feed = {
            let st = self.lock();
            match st.streams.get(id) {
                Some((s, Some(track))) if *s == session => Some(Feed::Local(track.clone())),
                Some((s, None)) if *s == session => return Err(ApiError::invalid("这个流没有视频")),
                _ => st
                    .peers
                    .values()
                    .find(|e| e.session == session && e.peer.remote_stream_id() == id)
                    .map(|e| Feed::Remote(e.peer.clone())),
            }
        };
        let feed = feed.ok_or_else(|| ApiError::invalid("未知的流 (已结束, 或不属于本页面)"))?;
        Ok(json!({"url": self.display()?.grant(session, feed)}))
    }
}

impl WebRtc {
    fn display(&self) -> Result<Arc<Display>, ApiError> {
        match self.display.get() {
            Some(d) => Ok(d.clone()),
            None => {
                let d = Display::start().map_err(|e| ApiError::new(ErrorCode::Internal, format!("显示服务: {e}")))?;
                Ok(self.display.get_or_init(|| d).clone())
            }
        }
    }

    /// `ft.finOpenWitnessVideo`: the call screen over the page, the call, the seed's reply.
    async fn witness_call(self: Arc<Self>, ctx: CallCtx, p: Params) -> Result<Done, ApiError> {
        let request = WitnessRequest::parse(&Value::Object(p.0.clone())).map_err(api)?;
        let session = ctx.session.id();
        let witness = self.witness.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if !witness.section.allows(&request.ip, request.port) {
            return Err(ApiError::new(
                ErrorCode::PermissionDenied,
                format!("视频服务 {}:{} 不在允许之列 ([witness] servers)", request.ip, request.port),
            ));
        }
        let (stop, stopped) = tokio::sync::watch::channel(None);
        {
            let mut call = self.call.lock().unwrap_or_else(|p| p.into_inner());
            if call.is_some() {
                return Err(ApiError::new(ErrorCode::Busy, "已有一个视频认证在进行"));
            }
            *call = Some((session, stop.clone()));
        }
        // The page going away ends the call (and lets the camera go).
        let cancel = ctx.cancel.clone();
        let on_leave = stop.clone();
        let leave = tokio::spawn(async move {
            cancel.cancelled().await;
            let _ = on_leave.send(Some("页面已离开, 视频认证中断".into()));
        });
        let window = ctx.session.info().key.clone();
        let screen = self.screen.get().cloned();
        if let Some(s) = &screen {
            let view = json!({"roomName": request.room_name, "phase": "connecting", "status": "正在连接视频服务…"});
            if let Err(e) = s.show(&window, &view) {
                tracing::warn!(%e, "witness: the call screen could not be shown");
            }
        }
        let display = self.display().ok();
        let observer: Arc<dyn CallObserver> =
            Arc::new(ScreenObserver { screen: screen.clone(), window: window.clone(), session, display });
        let sim = self.witness_sim.get().cloned();
        let setup = CallSetup {
            recordings: witness.section.record.then(|| witness.recordings.clone()),
            request,
            section: witness.section,
            camera: self.camera.clone(),
            microphone: self.config.microphone.clone(),
            speaker: self.config.speaker.clone(),
        };
        tracing::info!(session, "witness: a call starts");
        // The call runs on a task of its own: when the page goes away the bridge drops this
        // handler, and the call must still end properly (the recording closed, the camera let
        // go, the screen hidden); `leave` tells it to.
        let me = self.clone();
        let call = tokio::spawn(async move {
            let outcome = match sim {
                Some(sim) => {
                    let max = Duration::from_secs(setup.section.max_call_s);
                    let dir = setup.recordings.as_deref();
                    sim.run(&setup.camera, dir, &setup.request.room_id, max, observer, stopped).await
                }
                None => crate::call::run(setup, observer, stopped).await,
            };
            leave.abort();
            if let Some(s) = &screen {
                s.hide(&window);
            }
            *me.call.lock().unwrap_or_else(|p| p.into_inner()) = None;
            outcome
        });
        let outcome = call.await.map_err(|e| ApiError::new(ErrorCode::Internal, format!("视频认证: {e}")))?;
        Ok(Done::from(outcome.to_json()))
    }
}

/// Tells the call screen what the call does; the pictures it shows are this page's display
/// grants.
struct ScreenObserver {
    screen: Option<Arc<dyn CallScreen>>,
    window: String,
    session: SessionId,
    display: Option<Arc<Display>>,
}

impl ScreenObserver {
    fn update(&self, view: Value) {
        if let Some(s) = &self.screen {
            s.update(&self.window, &view);
        }
    }
}

impl CallObserver for ScreenObserver {
    fn progress(&self, phase: Phase, status: &str) {
        self.update(json!({"phase": phase.name(), "status": status}));
    }
    fn agent(&self, peer: &Peer) {
        if let Some(d) = &self.display {
            self.update(json!({"agentUrl": d.grant(self.session, Feed::Remote(peer.clone()))}));
        }
    }
    fn customer(&self, track: &LocalTrack) {
        if let Some(d) = &self.display {
            self.update(json!({"selfUrl": d.grant(self.session, Feed::Local(track.clone()))}));
        }
    }
    fn agent_track(&self, track: &LocalTrack) {
        if let Some(d) = &self.display {
            self.update(json!({"agentUrl": d.grant(self.session, Feed::Local(track.clone()))}));
        }
    }
}

/// The process's one device monitor, started at the first enumerateDevices and left running,
/// with the devices it knows: listed once, then kept up to date from its bus (devices coming
/// and going). Asking the monitor for its devices at each call probes every provider that could
/// not start, and GStreamer's PulseAudio provider leaves a connection behind at each probe when
/// no sound server runs (a memfd and two pipes: a soak run reached 16,000 descriptors in five
/// minutes and GLib ended Booth).
struct Monitor {
    monitor: gstreamer::DeviceMonitor,
    devices: Vec<gstreamer::Device>,
}

static MONITOR: Mutex<Option<Monitor>> = Mutex::new(None);

/// Cameras, microphones and speakers, as `MediaDeviceInfo`.
pub fn devices() -> Result<Vec<Value>, WebRtcError> {
    use gstreamer as gst;
    use gstreamer::prelude::*;
    crate::peer::init()?;
    let mut running = MONITOR.lock().unwrap_or_else(|p| p.into_inner());
    if running.is_none() {
        let monitor = gst::DeviceMonitor::new();
        for class in ["Video/Source", "Audio/Source", "Audio/Sink"] {
            monitor.add_filter(Some(class), None);
        }
        monitor.start().map_err(|e| WebRtcError::Engine(format!("device monitor: {e}")))?;
        let devices = monitor.devices().into_iter().collect();
        *running = Some(Monitor { monitor, devices });
    }
    let Some(m) = running.as_mut() else { return Ok(Vec::new()) };
    let bus = m.monitor.bus();
    while let Some(msg) = bus.pop() {
        match msg.view() {
            gst::MessageView::DeviceAdded(a) => m.devices.push(a.device()),
            gst::MessageView::DeviceRemoved(r) => {
                let gone = r.device();
                m.devices.retain(|d| *d != gone);
            }
            _ => {}
        }
    }
    let list = m
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let class = d.device_class();
            let kind = if class.contains("Video") {
                "videoinput"
            } else if class.contains("Sink") {
                "audiooutput"
            } else {
                "audioinput"
            };
            json!({"deviceId": format!("{kind}-{i}"), "kind": kind, "label": d.display_name().to_string(), "groupId": ""})
        })
        .collect();
    Ok(list)
}
