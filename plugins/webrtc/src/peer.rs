//! A native peer connection (Linux): one GStreamer pipeline around a `webrtcbin`.
//!
//! Local video comes from the camera plugin (a [`booth_camera::Subscription`] pushed into an
//! `appsrc`: the camera is never opened a second time); local audio from a GStreamer source
//! (the microphone, or a test tone). Remote tracks are decoded to RGB frames and 16-bit PCM,
//! kept in a [`RemoteTrack`] for display, recording and checks. Signals and promises of
//! `webrtcbin` fire on GStreamer's threads and become [`PeerEvent`]s on a channel; no GLib main
//! loop is involved.

use crate::model::{Candidate, Description, PeerConfig, PeerEvent, PeerState, TrackInfo, WebRtcError};
use crate::remote::RemoteTrack;
use crate::stream::{LocalTrack, TrackSource};
use booth_camera::Frame;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_sdp as gst_sdp;
use gstreamer_webrtc as gst_webrtc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The video codec a connection sends (and offers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    Vp8,
    H264,
}

impl VideoCodec {
    fn encoding(self) -> &'static str {
        match self {
            VideoCodec::Vp8 => "VP8",
            VideoCodec::H264 => "H264",
        }
    }
    fn payload(self) -> u32 {
        match self {
            VideoCodec::Vp8 => 96,
            VideoCodec::H264 => 102,
        }
    }
    fn rtp_caps(self) -> String {
        match self {
            VideoCodec::Vp8 => "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000".into(),
            VideoCodec::H264 => "application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,\
                packetization-mode=(string)1,profile-level-id=(string)42e01f"
                .into(),
        }
    }
}

const OPUS_CAPS: &str = "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000";

pub(crate) fn init() -> Result<(), WebRtcError> {
    gst::init().map_err(|e| WebRtcError::Engine(format!("GStreamer: {e}")))?;
    if gst::ElementFactory::find("webrtcbin").is_none() {
        return Err(WebRtcError::Unsupported(
            "GStreamer webrtcbin 未安装 (gstreamer1.0-plugins-bad, gstreamer1.0-nice)".into(),
        ));
    }
    Ok(())
}

fn engine(e: impl std::fmt::Display) -> WebRtcError {
    WebRtcError::Engine(e.to_string())
}

struct Inner {
    pipeline: gst::Pipeline,
    webrtc: gst::Element,
    events: mpsc::UnboundedSender<PeerEvent>,
    closed: AtomicBool,
    config: PeerConfig,
    /// What local tracks were added, kept until negotiation links them.
    pending: Mutex<Vec<LocalTrack>>,
    /// Feeders of linked local video tracks: stopped on close.
    stops: Mutex<Vec<Arc<AtomicBool>>>,
    remote: Mutex<Vec<Arc<RemoteTrack>>>,
    remote_stream: String,
    local: Mutex<Option<Description>>,
    remote_desc: Mutex<Option<Description>>,
    /// Where remote audio plays (a GStreamer sink description), if anywhere.
    audio_out: Option<String>,
    last_ice: Mutex<Option<gst_webrtc::WebRTCICEConnectionState>>,
    /// Where the data channels' happenings go (see [`Peer::data_events`]).
    data: Mutex<Option<mpsc::UnboundedSender<DataEvent>>>,
    /// The channels this side or the other opened, kept so that they can be closed.
    channels: Mutex<Vec<gst_webrtc::WebRTCDataChannel>>,
    /// The local audio as sent (after `enabled`), for recording.
    local_audio: Mutex<Option<Arc<RemoteTrack>>>,
}

/// What happens on a connection's data channels (text messages only: Booth's own uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataEvent {
    Open { label: String },
    Message { label: String, text: String },
    Closed { label: String },
}

/// A data channel this side created.
#[derive(Clone)]
pub struct DataChannel {
    channel: gst_webrtc::WebRTCDataChannel,
}

impl DataChannel {
    pub fn is_open(&self) -> bool {
        self.channel.ready_state() == gst_webrtc::WebRTCDataChannelState::Open
    }

    /// Sends a text message; an error when the channel is not open.
    pub fn send(&self, text: &str) -> Result<(), WebRtcError> {
        if !self.is_open() {
            return Err(WebRtcError::State("数据通道未打开".into()));
        }
        self.channel.send_string(Some(text));
        Ok(())
    }
}

/// One peer connection. Cloning shares it.
#[derive(Clone)]
pub struct Peer {
    inner: Arc<Inner>,
}

/// Options of a connection that are Booth's, not the page's.
#[derive(Debug, Clone, Default)]
pub struct PeerOptions {
    /// A GStreamer sink description for remote audio (`autoaudiosink`, `pulsesink device=…`);
    /// `None`: remote audio is decoded but not played.
    pub audio_out: Option<String>,
}

/// Asks libnice to check, while the call lasts, that the other side still answers (binding
/// requests that need a reply as keepalives, and RFC 7675 consent freshness where libnice has
/// it): without it a network that goes away mid-call leaves ICE `completed` for ever and the
/// page never learns of it.
fn keep_consent(webrtc: &gst::Element) {
    use gst::prelude::*;
    let Some(ice) = webrtc.find_property("ice-agent").map(|_| webrtc.property::<gst::glib::Object>("ice-agent")) else {
        return;
    };
    if ice.find_property("agent").is_none() {
        tracing::info!("webrtc: the ICE agent does not expose libnice; a lost network is not detected");
        return;
    }
    let agent = ice.property::<gst::glib::Object>("agent");
    // consent-freshness is construct-only on the agent webrtcbin made: only what can still be set.
    for name in ["keepalive-conncheck", "consent-freshness"] {
        let settable = agent.find_property(name).is_some_and(|p| {
            p.flags().contains(gst::glib::ParamFlags::WRITABLE)
                && !p.flags().contains(gst::glib::ParamFlags::CONSTRUCT_ONLY)
        });
        if settable {
            agent.set_property(name, true);
        }
    }
}

fn state_name<T: std::fmt::Debug>(v: T) -> String {
    // WebRTC's state names are the enum's variant names, lowercase, with hyphens
    // (HaveLocalOffer → have-local-offer).
    let s = format!("{v:?}");
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl Peer {
    /// A new connection; its events arrive on the returned receiver.
    pub fn new(
        config: PeerConfig,
        options: PeerOptions,
    ) -> Result<(Peer, mpsc::UnboundedReceiver<PeerEvent>), WebRtcError> {
        init()?;
        let pipeline = gst::Pipeline::with_name(&crate::model::new_id("booth-webrtc-"));
        let webrtc = gst::ElementFactory::make("webrtcbin").name("webrtc").build().map_err(engine)?;
        webrtc.set_property_from_str("bundle-policy", "max-bundle");
        if config.ice_transport_policy == "relay" {
            webrtc.set_property_from_str("ice-transport-policy", "relay");
        }
        let (stun, turns) = config.gst_servers();
        if let Some(s) = stun {
            webrtc.set_property("stun-server", s);
        }
        for t in turns {
            let _ok: bool = webrtc.emit_by_name("add-turn-server", &[&t]);
        }
        keep_consent(&webrtc);
        pipeline.add(&webrtc).map_err(engine)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            pipeline,
            webrtc,
            events: tx,
            closed: AtomicBool::new(false),
            config,
            pending: Mutex::default(),
            stops: Mutex::default(),
            remote: Mutex::default(),
            remote_stream: crate::model::new_id("rs"),
            local: Mutex::default(),
            remote_desc: Mutex::default(),
            audio_out: options.audio_out,
            last_ice: Mutex::default(),
            data: Mutex::default(),
            channels: Mutex::default(),
            local_audio: Mutex::default(),
        });
        connect_signals(&inner);
        inner.pipeline.set_state(gst::State::Playing).map_err(|e| WebRtcError::Engine(format!("webrtcbin: {e}")))?;
        Ok((Peer { inner }, rx))
    }

    fn check_open(&self) -> Result<(), WebRtcError> {
        if self.inner.closed.load(Ordering::SeqCst) {
            Err(WebRtcError::Closed)
        } else {
            Ok(())
        }
    }

    pub fn configuration(&self) -> serde_json::Value {
        self.inner.config.raw.clone()
    }

    pub fn state(&self) -> PeerState {
        let w = &self.inner.webrtc;
        let closed = self.inner.closed.load(Ordering::SeqCst);
        PeerState {
            signaling_state: if closed {
                "closed".into()
            } else {
                state_name(w.property::<gst_webrtc::WebRTCSignalingState>("signaling-state"))
            },
            ice_connection_state: if closed {
                "closed".into()
            } else {
                state_name(w.property::<gst_webrtc::WebRTCICEConnectionState>("ice-connection-state"))
            },
            ice_gathering_state: state_name(w.property::<gst_webrtc::WebRTCICEGatheringState>("ice-gathering-state")),
            connection_state: if closed {
                "closed".into()
            } else {
                state_name(w.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state"))
            },
            local_description: self.inner.local.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            remote_description: self.inner.remote_desc.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    /// `addTrack`: the track is sent once the next offer or answer is made.
    pub fn add_track(&self, track: LocalTrack) -> Result<(), WebRtcError> {
        self.check_open()?;
        let mut pending = self.inner.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.iter().any(|t| t.info().id == track.info().id) {
            return Err(WebRtcError::Invalid("这个 track 已经添加过".into()));
        }
        pending.push(track);
        drop(pending);
        // The pads are requested when the offer or answer is made (the codec depends on what the
        // other side offers), so webrtcbin's own signal would come late: tell the page now.
        let _ = self.inner.events.send(PeerEvent::Negotiationneeded);
        Ok(())
    }

    pub async fn create_offer(&self, receive_audio: bool, receive_video: bool) -> Result<Description, WebRtcError> {
        self.check_open()?;
        let linked = link_pending(&self.inner, VideoCodec::Vp8)?;
        self.wait_for_caps().await;
        let has = |kind: &str| linked.iter().any(|k| k == kind) || self.has_transceiver(kind);
        if receive_video && !has("video") {
            self.add_recvonly(&VideoCodec::Vp8.rtp_caps())?;
        }
        if receive_audio && !has("audio") {
            self.add_recvonly(OPUS_CAPS)?;
        }
        self.describe("create-offer", "offer").await
    }

    pub async fn create_answer(&self) -> Result<Description, WebRtcError> {
        self.check_open()?;
        let offered = self.inner.remote_desc.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(offer) = offered.filter(|d| d.kind == "offer") else {
            return Err(WebRtcError::State("没有对方的 offer, 不能 createAnswer".into()));
        };
        // Send in the codec the other side offered (VP8 first, as browsers do).
        let codec = if offer.sdp.contains(" VP8/90000") {
            VideoCodec::Vp8
        } else if offer.sdp.contains(" H264/90000") {
            VideoCodec::H264
        } else {
            VideoCodec::Vp8
        };
        link_pending(&self.inner, codec)?;
        self.wait_for_caps().await;
        self.describe("create-answer", "answer").await
    }

    /// Waits (up to 3 s) until every local track reaches webrtcbin with its caps: a
    /// description made before describes the track from its codec preference only (no SSRC, no
    /// Opus channel count), which browsers accept and Janus does not (it rejects the line).
    async fn wait_for_caps(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        loop {
            let pads = self.inner.webrtc.sink_pads();
            if pads.iter().all(|p| p.current_caps().is_some()) || tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn has_transceiver(&self, kind: &str) -> bool {
        let mut i = 0;
        loop {
            let t: Option<gst_webrtc::WebRTCRTPTransceiver> = self.inner.webrtc.emit_by_name("get-transceiver", &[&i]);
            let Some(t) = t else { return false };
            let caps: Option<gst::Caps> = t.property("codec-preferences");
            if caps.and_then(|c| c.structure(0).and_then(|s| s.get::<String>("media").ok())).as_deref() == Some(kind) {
                return true;
            }
            i += 1;
        }
    }

    fn add_recvonly(&self, caps: &str) -> Result<(), WebRtcError> {
        let caps: gst::Caps = caps.parse().map_err(engine)?;
        let _t: gst_webrtc::WebRTCRTPTransceiver = self
            .inner
            .webrtc
            .emit_by_name("add-transceiver", &[&gst_webrtc::WebRTCRTPTransceiverDirection::Recvonly, &caps]);
        Ok(())
    }

    async fn describe(&self, signal: &str, field: &str) -> Result<Description, WebRtcError> {
        let reply = promise(&self.inner.webrtc, signal, |w, p| {
            w.emit_by_name::<()>(signal, &[&None::<gst::Structure>, p]);
        })
        .await?;
        let desc = reply
            .get::<gst_webrtc::WebRTCSessionDescription>(field)
            .map_err(|_| WebRtcError::Engine(format!("{signal}: 没有 {field}")))?;
        let sdp = desc.sdp().as_text().map_err(engine)?;
        Ok(Description { kind: field.into(), sdp })
    }

    pub async fn set_local_description(&self, d: Description) -> Result<(), WebRtcError> {
        self.check_open()?;
        let desc = to_gst(&d)?;
        promise(&self.inner.webrtc, "set-local-description", |w, p| {
            w.emit_by_name::<()>("set-local-description", &[&desc, p]);
        })
        .await?;
        *self.inner.local.lock().unwrap_or_else(|p| p.into_inner()) = Some(d);
        self.signaling_changed();
        Ok(())
    }

    pub async fn set_remote_description(&self, d: Description) -> Result<(), WebRtcError> {
        self.check_open()?;
        let desc = to_gst(&d)?;
        promise(&self.inner.webrtc, "set-remote-description", |w, p| {
            w.emit_by_name::<()>("set-remote-description", &[&desc, p]);
        })
        .await?;
        *self.inner.remote_desc.lock().unwrap_or_else(|p| p.into_inner()) = Some(d);
        self.signaling_changed();
        Ok(())
    }

    /// webrtcbin changes its signaling state before its promise is answered; the event follows
    /// the answer so that the page sees it after its own await, as in a browser.
    fn signaling_changed(&self) {
        let s = state_name(self.inner.webrtc.property::<gst_webrtc::WebRTCSignalingState>("signaling-state"));
        let _ = self.inner.events.send(PeerEvent::Signalingstatechange { signaling_state: s });
    }

    pub fn add_ice_candidate(&self, c: &Candidate) -> Result<(), WebRtcError> {
        self.check_open()?;
        // An empty candidate marks the end of the other side's candidates.
        if c.candidate.trim().is_empty() {
            return Ok(());
        }
        let remote = self.inner.remote_desc.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(remote) = remote else {
            return Err(WebRtcError::State("请先 setRemoteDescription 再 addIceCandidate".into()));
        };
        let line = match (c.sdp_m_line_index, &c.sdp_mid) {
            (Some(i), _) => i,
            (None, Some(mid)) => mline_of_mid(&remote.sdp, mid)
                .ok_or_else(|| WebRtcError::Invalid(format!("sdpMid \"{mid}\" 不在对方的描述中")))?,
            (None, None) => return Err(WebRtcError::Invalid("candidate 需要 sdpMLineIndex 或 sdpMid".into())),
        };
        let media = remote.sdp.lines().filter(|l| l.starts_with("m=")).count() as u32;
        if line >= media {
            return Err(WebRtcError::Invalid(format!("sdpMLineIndex {line} 超出范围 (共 {media} 个)")));
        }
        if !c.candidate.trim_start().starts_with("candidate:") {
            return Err(WebRtcError::Invalid("candidate 应以 candidate: 开头".into()));
        }
        self.inner.webrtc.emit_by_name::<()>("add-ice-candidate", &[&line, &c.candidate.trim()]);
        Ok(())
    }

    /// The happenings of this connection's data channels from now on (one receiver: a second
    /// call replaces the first).
    pub fn data_events(&self) -> mpsc::UnboundedReceiver<DataEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.inner.data.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
        rx
    }

    /// Creates a data channel (before the offer that announces it).
    pub fn create_data_channel(&self, label: &str) -> Result<DataChannel, WebRtcError> {
        self.check_open()?;
        let channel: Option<gst_webrtc::WebRTCDataChannel> =
            self.inner.webrtc.emit_by_name("create-data-channel", &[&label, &None::<gst::Structure>]);
        let channel = channel.ok_or_else(|| engine("webrtcbin gave no data channel"))?;
        watch_channel(&self.inner, &channel);
        Ok(DataChannel { channel })
    }

    /// The local audio as this connection sends it (16-bit mono at 48 kHz), once an audio track
    /// was linked: for recording.
    pub fn local_audio(&self) -> Option<Arc<RemoteTrack>> {
        self.inner.local_audio.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Remote tracks received so far.
    pub fn remote_tracks(&self) -> Vec<Arc<RemoteTrack>> {
        self.inner.remote.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn remote_stream_id(&self) -> &str {
        &self.inner.remote_stream
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// Ends the connection, its feeders and its pipeline. Idempotent.
    pub fn close(&self) {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        for s in self.inner.stops.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            s.store(true, Ordering::SeqCst);
        }
        self.inner.pending.lock().unwrap_or_else(|p| p.into_inner()).clear();
        for c in self.inner.channels.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            c.close();
        }
        let _ = self.inner.pipeline.set_state(gst::State::Null);
        for t in self.inner.remote.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            t.end();
        }
        let _ = self.inner.events.send(PeerEvent::Signalingstatechange { signaling_state: "closed".into() });
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for s in self.stops.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            s.store(true, Ordering::SeqCst);
        }
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

fn to_gst(d: &Description) -> Result<gst_webrtc::WebRTCSessionDescription, WebRtcError> {
    let kind = match d.kind.as_str() {
        "offer" => gst_webrtc::WebRTCSDPType::Offer,
        "answer" => gst_webrtc::WebRTCSDPType::Answer,
        "pranswer" => gst_webrtc::WebRTCSDPType::Pranswer,
        other => return Err(WebRtcError::Invalid(format!("description.type 不能是 \"{other}\""))),
    };
    let sdp =
        gst_sdp::SDPMessage::parse_buffer(d.sdp.as_bytes()).map_err(|_| WebRtcError::Invalid("SDP 无法解析".into()))?;
    if sdp.medias_len() == 0 {
        return Err(WebRtcError::Invalid("SDP 没有媒体 (m=)".into()));
    }
    Ok(gst_webrtc::WebRTCSessionDescription::new(kind, sdp))
}

fn mline_of_mid(sdp: &str, mid: &str) -> Option<u32> {
    let mut index: Option<u32> = None;
    for line in sdp.lines() {
        if line.starts_with("m=") {
            index = Some(index.map_or(0, |i| i + 1));
        } else if let Some(m) = line.strip_prefix("a=mid:") {
            if m.trim() == mid {
                return index;
            }
        }
    }
    None
}

fn mid_of_mline(sdp: &str, line: u32) -> Option<String> {
    let mut index: Option<u32> = None;
    for l in sdp.lines() {
        if l.starts_with("m=") {
            index = Some(index.map_or(0, |i| i + 1));
        } else if let Some(m) = l.strip_prefix("a=mid:") {
            if index == Some(line) {
                return Some(m.trim().to_string());
            }
        }
    }
    None
}

/// Emits a webrtcbin action with a promise and waits for its answer (an error in the answer
/// becomes an error here).
async fn promise(
    webrtc: &gst::Element,
    what: &str,
    emit: impl FnOnce(&gst::Element, &gst::Promise),
) -> Result<gst::Structure, WebRtcError> {
    let (tx, rx) = oneshot::channel();
    let p = gst::Promise::with_change_func(move |reply| {
        let r = match reply {
            Ok(Some(s)) => Ok(s.to_owned()),
            Ok(None) => Ok(gst::Structure::new_empty("empty")),
            Err(e) => Err(format!("{e:?}")),
        };
        let _ = tx.send(r);
    });
    emit(webrtc, &p);
    let reply = tokio::time::timeout(Duration::from_secs(10), rx)
        .await
        .map_err(|_| WebRtcError::Engine(format!("{what}: 10 秒没有回应")))?
        .map_err(|_| WebRtcError::Engine(format!("{what}: 没有回应")))?
        .map_err(|e| WebRtcError::Engine(format!("{what}: {e}")))?;
    if let Ok(err) = reply.get::<glib_error::Error>("error") {
        return Err(WebRtcError::State(format!("{what}: {}", err.message())));
    }
    Ok(reply)
}

mod glib_error {
    pub use gstreamer::glib::Error;
}

fn data_event(inner: &Inner, e: DataEvent) {
    if let Some(tx) = inner.data.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        let _ = tx.send(e);
    }
}

/// Reports a data channel's opening, text messages and closing as [`DataEvent`]s.
fn watch_channel(inner: &Arc<Inner>, channel: &gst_webrtc::WebRTCDataChannel) {
    let label = channel.label().map(|l| l.to_string()).unwrap_or_default();
    let weak = Arc::downgrade(inner);
    let l = label.clone();
    channel.connect_on_open(move |_| {
        if let Some(inner) = weak.upgrade() {
            data_event(&inner, DataEvent::Open { label: l.clone() });
        }
    });
    let weak = Arc::downgrade(inner);
    let l = label.clone();
    channel.connect_on_message_string(move |_, text| {
        if let (Some(inner), Some(text)) = (weak.upgrade(), text) {
            data_event(&inner, DataEvent::Message { label: l.clone(), text: text.to_string() });
        }
    });
    let weak = Arc::downgrade(inner);
    channel.connect_on_close(move |_| {
        if let Some(inner) = weak.upgrade() {
            data_event(&inner, DataEvent::Closed { label: label.clone() });
        }
    });
    // A channel the other side opened may be open already when it is announced.
    if channel.ready_state() == gst_webrtc::WebRTCDataChannelState::Open {
        data_event(inner, DataEvent::Open { label: channel.label().map(|l| l.to_string()).unwrap_or_default() });
    }
    inner.channels.lock().unwrap_or_else(|p| p.into_inner()).push(channel.clone());
}

fn connect_signals(inner: &Arc<Inner>) {
    let weak = Arc::downgrade(inner);
    inner.webrtc.connect("on-data-channel", false, move |values| {
        let inner = weak.upgrade()?;
        let channel = values.get(1)?.get::<gst_webrtc::WebRTCDataChannel>().ok()?;
        watch_channel(&inner, &channel);
        None
    });
    let weak = Arc::downgrade(inner);
    inner.webrtc.connect("on-ice-candidate", false, move |values| {
        let inner = weak.upgrade()?;
        let line = values.get(1)?.get::<u32>().ok()?;
        let candidate = values.get(2)?.get::<String>().ok()?;
        // Gathering starts inside set-local-description, before its promise is answered: read
        // the mid from webrtcbin's own copy of the description.
        let local: Option<gst_webrtc::WebRTCSessionDescription> = inner.webrtc.property("local-description");
        let mid = local
            .and_then(|d| d.sdp().media(line).and_then(|m| m.attribute_val("mid").map(str::to_string)))
            .or_else(|| {
                inner.local.lock().unwrap_or_else(|p| p.into_inner()).as_ref().and_then(|d| mid_of_mline(&d.sdp, line))
            });
        let _ = inner.events.send(PeerEvent::Icecandidate {
            candidate: Some(Candidate { candidate, sdp_m_line_index: Some(line), sdp_mid: mid }),
        });
        None
    });
    let weak = Arc::downgrade(inner);
    inner.webrtc.connect_notify(Some("ice-gathering-state"), move |w, _| {
        let Some(inner) = weak.upgrade() else { return };
        let s = w.property::<gst_webrtc::WebRTCICEGatheringState>("ice-gathering-state");
        let _ = inner.events.send(PeerEvent::Icegatheringstatechange { ice_gathering_state: state_name(s) });
        if s == gst_webrtc::WebRTCICEGatheringState::Complete {
            let _ = inner.events.send(PeerEvent::Icecandidate { candidate: None });
        }
    });
    let weak = Arc::downgrade(inner);
    inner.webrtc.connect_notify(Some("ice-connection-state"), move |w, _| {
        let Some(inner) = weak.upgrade() else { return };
        if inner.closed.load(Ordering::SeqCst) {
            return;
        }
        let s = w.property::<gst_webrtc::WebRTCICEConnectionState>("ice-connection-state");
        let mut last = inner.last_ice.lock().unwrap_or_else(|p| p.into_inner());
        // libnice goes from checking straight to completed; browsers, and pages waiting for
        // `connected`, always see connected first.
        if s == gst_webrtc::WebRTCICEConnectionState::Completed
            && *last != Some(gst_webrtc::WebRTCICEConnectionState::Connected)
        {
            let _ = inner.events.send(PeerEvent::Iceconnectionstatechange { ice_connection_state: "connected".into() });
        }
        if *last != Some(s) {
            let _ = inner.events.send(PeerEvent::Iceconnectionstatechange { ice_connection_state: state_name(s) });
        }
        *last = Some(s);
    });
    let weak = Arc::downgrade(inner);
    inner.webrtc.connect_notify(Some("connection-state"), move |w, _| {
        let Some(inner) = weak.upgrade() else { return };
        if inner.closed.load(Ordering::SeqCst) {
            return;
        }
        let s = w.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state");
        let _ = inner.events.send(PeerEvent::Connectionstatechange { connection_state: state_name(s) });
    });
    let weak = Arc::downgrade(inner);
    inner.webrtc.connect_pad_added(move |_, pad| {
        if pad.direction() != gst::PadDirection::Src {
            return;
        }
        let Some(inner) = weak.upgrade() else { return };
        if let Err(e) = receive(&inner, pad) {
            tracing::warn!(%e, "webrtc: a remote track could not be decoded");
        }
    });
}

/// A remote RTP stream: depayloaded and decoded by `decodebin`, then to a [`RemoteTrack`].
fn receive(inner: &Arc<Inner>, pad: &gst::Pad) -> Result<(), WebRtcError> {
    let decode = gst::ElementFactory::make("decodebin").build().map_err(engine)?;
    inner.pipeline.add(&decode).map_err(engine)?;
    decode.sync_state_with_parent().map_err(engine)?;
    pad.link(&decode.static_pad("sink").ok_or_else(|| engine("decodebin without sink"))?).map_err(engine)?;
    let weak = Arc::downgrade(inner);
    decode.connect_pad_added(move |_, pad| {
        let Some(inner) = weak.upgrade() else { return };
        let caps = pad.current_caps().or_else(|| Some(pad.query_caps(None)));
        let name = caps.and_then(|c| c.structure(0).map(|s| s.name().to_string())).unwrap_or_default();
        let result = if name.starts_with("video/") {
            decoded_video(&inner, pad)
        } else if name.starts_with("audio/") {
            decoded_audio(&inner, pad)
        } else {
            Ok(())
        };
        if let Err(e) = result {
            tracing::warn!(%e, "webrtc: remote media");
        }
    });
    Ok(())
}

fn add_branch(inner: &Inner, desc: &str, pad: &gst::Pad) -> Result<gst::Bin, WebRtcError> {
    let bin = gst::parse::bin_from_description(desc, true).map_err(engine)?;
    inner.pipeline.add(&bin).map_err(engine)?;
    bin.sync_state_with_parent().map_err(engine)?;
    pad.link(&bin.static_pad("sink").ok_or_else(|| engine("branch without sink"))?).map_err(engine)?;
    Ok(bin)
}

fn new_remote(inner: &Inner, kind: &str) -> Arc<RemoteTrack> {
    let track = Arc::new(RemoteTrack::new(kind, &inner.remote_stream));
    inner.remote.lock().unwrap_or_else(|p| p.into_inner()).push(track.clone());
    let _ = inner.events.send(PeerEvent::Track { track: track.info(), stream_id: inner.remote_stream.clone() });
    track
}

fn decoded_video(inner: &Inner, pad: &gst::Pad) -> Result<(), WebRtcError> {
    let bin = add_branch(
        inner,
        "queue max-size-buffers=2 leaky=downstream ! videoconvert ! video/x-raw,format=RGB \
         ! appsink name=sink sync=false max-buffers=2 drop=true emit-signals=false",
        pad,
    )?;
    let sink =
        bin.by_name("sink").and_then(|s| s.downcast::<gst_app::AppSink>().ok()).ok_or_else(|| engine("no appsink"))?;
    let track = new_remote(inner, "video");
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                if let Ok(frame) = to_frame(&sample) {
                    track.push_frame(frame);
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    Ok(())
}

fn decoded_audio(inner: &Inner, pad: &gst::Pad) -> Result<(), WebRtcError> {
    let play = match &inner.audio_out {
        Some(out) => format!("t. ! queue ! audioconvert ! audioresample ! {out}"),
        None => String::new(),
    };
    let bin = add_branch(
        inner,
        &format!(
            "tee name=t ! queue ! audioconvert ! audioresample ! audio/x-raw,format=S16LE,rate=48000,channels=1 \
             ! appsink name=sink sync=false emit-signals=false {play}"
        ),
        pad,
    )?;
    let sink =
        bin.by_name("sink").and_then(|s| s.downcast::<gst_app::AppSink>().ok()).ok_or_else(|| engine("no appsink"))?;
    pcm_into(&sink, new_remote(inner, "audio"));
    Ok(())
}

/// Hands an appsink's 16-bit samples to a track.
fn pcm_into(sink: &gst_app::AppSink, track: Arc<RemoteTrack>) {
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                if let Some(buf) = sample.buffer() {
                    if let Ok(map) = buf.map_readable() {
                        let pcm: Vec<i16> = map.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
                        track.push_audio(&pcm);
                    }
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
}

pub(crate) fn to_frame(sample: &gst::Sample) -> Result<Frame, String> {
    let caps = sample.caps().ok_or("sample without caps")?;
    let info = gstreamer_video::VideoInfo::from_caps(caps).map_err(|e| e.to_string())?;
    let buffer = sample.buffer().ok_or("sample without buffer")?;
    let map = buffer.map_readable().map_err(|e| e.to_string())?;
    let (w, h) = (info.width() as usize, info.height() as usize);
    let stride = info.stride()[0] as usize;
    if h == 0 || stride < w * 3 || map.len() < stride * (h - 1) + w * 3 {
        return Err("short buffer".into());
    }
    let mut rgb = Vec::with_capacity(w * h * 3);
    for row in 0..h {
        rgb.extend_from_slice(&map[row * stride..row * stride + w * 3]);
    }
    Ok(Frame::new(w as u32, h as u32, rgb))
}

/// Links every pending local track to webrtcbin, encoded as `codec` (video) or Opus (audio);
/// returns the kinds linked.
fn link_pending(inner: &Arc<Inner>, codec: VideoCodec) -> Result<Vec<String>, WebRtcError> {
    let pending: Vec<LocalTrack> = inner.pending.lock().unwrap_or_else(|p| p.into_inner()).drain(..).collect();
    let mut kinds = Vec::new();
    for track in pending {
        let info = track.info();
        match track.source() {
            TrackSource::Camera { camera, width, height, fps } => {
                let encode = match codec {
                    VideoCodec::Vp8 => "vp8enc deadline=1 cpu-used=8 target-bitrate=1000000 keyframe-max-dist=30 \
                        error-resilient=partitions lag-in-frames=0 ! rtpvp8pay mtu=1200 picture-id-mode=15-bit"
                        .to_string(),
                    VideoCodec::H264 => "video/x-raw,format=I420 ! openh264enc bitrate=1000000 complexity=low \
                        gop-size=30 ! h264parse ! rtph264pay mtu=1200 config-interval=-1 aggregate-mode=zero-latency"
                        .to_string(),
                };
                let desc = format!(
                    "appsrc name=src is-live=true do-timestamp=true format=time \
                     caps=video/x-raw,format=RGB,width={width},height={height},framerate={fps}/1,pixel-aspect-ratio=1/1 \
                     ! queue max-size-buffers=2 leaky=downstream ! videoconvert ! {encode} pt={pt} \
                     ! capsfilter caps=\"{caps}\"",
                    pt = codec.payload(),
                    caps = codec.rtp_caps().replace(' ', ""),
                );
                let bin = link_source(inner, &desc)?;
                let src = bin
                    .by_name("src")
                    .and_then(|s| s.downcast::<gst_app::AppSrc>().ok())
                    .ok_or_else(|| engine("no appsrc"))?;
                let stop = Arc::new(AtomicBool::new(false));
                inner.stops.lock().unwrap_or_else(|p| p.into_inner()).push(stop.clone());
                crate::stream::feed_camera(camera, track.clone(), src, stop, (width, height, fps))?;
                tracing::info!(codec = codec.encoding(), "webrtc: sending the camera");
            }
            TrackSource::Audio(source) => {
                // The tee's second branch is the audio as sent, for recording: the microphone is
                // not opened twice.
                let desc = format!(
                    "{source} ! volume name=volume ! audioconvert ! audioresample ! tee name=sent \
                     sent. ! queue max-size-time=100000000 leaky=downstream \
                     ! opusenc frame-size=20 ! rtpopuspay pt=111 ! capsfilter caps=\"{OPUS_CAPS}\" \
                     sent. ! queue max-size-time=100000000 leaky=downstream ! audioconvert ! audioresample \
                     ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! appsink name=tap sync=false emit-signals=false"
                );
                let bin = link_source(inner, &desc)?;
                if let Some(volume) = bin.by_name("volume") {
                    track.watch_enabled(move |on| volume.set_property("mute", !on));
                }
                if let Some(tap) = bin.by_name("tap").and_then(|s| s.downcast::<gst_app::AppSink>().ok()) {
                    let local = Arc::new(RemoteTrack::new("audio", "local"));
                    *inner.local_audio.lock().unwrap_or_else(|p| p.into_inner()) = Some(local.clone());
                    pcm_into(&tap, local);
                }
            }
        }
        kinds.push(info.kind);
    }
    Ok(kinds)
}

fn link_source(inner: &Inner, desc: &str) -> Result<gst::Bin, WebRtcError> {
    let bin = gst::parse::bin_from_description(desc, true).map_err(|e| WebRtcError::Engine(format!("{e}: {desc}")))?;
    inner.pipeline.add(&bin).map_err(engine)?;
    let sink = inner.webrtc.request_pad_simple("sink_%u").ok_or_else(|| engine("webrtcbin gave no sink pad"))?;
    bin.static_pad("src").ok_or_else(|| engine("source without src"))?.link(&sink).map_err(engine)?;
    bin.sync_state_with_parent().map_err(engine)?;
    Ok(bin)
}

/// The track of a local stream, as the page added it.
pub fn local_info(track: &LocalTrack) -> TrackInfo {
    track.info()
}
