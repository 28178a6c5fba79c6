//! Booth's `ft.webrtc` (seed 002): peer connections, `getUserMedia` and device lists for pages
//! whose web view has no WebRTC. Debian's WebKitGTK is built without `RTCPeerConnection`, so on
//! Linux every connection runs natively in Booth on GStreamer's `webrtcbin` ([`peer`]): the page
//! holds a thin object whose methods and events cross the bridge as text (SDP, candidates,
//! states). Local video is the camera plugin's camera (never opened a second time), local audio
//! the microphone. On Windows WebView2 has WebRTC of its own; Booth only grants the camera there.
//!
//! `ft.finOpenWitnessVideo` ([`witness`], [`call`], [`record`]) joins a room on a Janus server
//! ([`janus`]) with the same native connections, shows Booth's call screen over the page and
//! records both sides; [`witness_sim`] is its `booth dev` agent, [`agent`] the other end for tests.
//!
//! Not for: showing video in Booth's own screens (booth-camera's preview), recording one-way
//! video, or anything biometric: frames and audio are never logged.

#[cfg(target_os = "linux")]
pub mod agent;
#[cfg(target_os = "linux")]
pub mod call;
#[cfg(target_os = "linux")]
pub mod display;
#[cfg(target_os = "linux")]
pub mod janus;
pub mod model;
#[cfg(target_os = "linux")]
pub mod peer;
#[cfg(target_os = "linux")]
pub mod record;
#[cfg(target_os = "linux")]
pub mod remote;
#[cfg(target_os = "linux")]
pub mod service;
#[cfg(target_os = "linux")]
pub mod stream;
pub mod witness;
#[cfg(target_os = "linux")]
pub mod witness_sim;
#[cfg(target_os = "linux")]
pub use service::WebRtc;
pub use witness::WitnessSection;

pub use model::{
    Candidate, Description, PeerConfig, PeerEvent, PeerState, TrackInfo, WebRtcConfig, WebRtcError, WebRtcSection,
};
