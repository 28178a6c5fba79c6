//! Stand-ins for Booth's device tests, shared by the plugin tests and the end-to-end suite.
//!
//! - [`pty::Socat`]: a pair of linked pseudo-terminals (`socat pty,link=DIR/dev pty,link=DIR/app`).
//!   The test plays the device on `DIR/dev`; Booth opens `DIR/app` as its serial port. Killing
//!   socat is an unplug, starting it again with the same links is a replug.
//! - [`sam`]: the ID card SAM module, played on a pty's device end.
//! - [`pcscd::Pcscd`]: a private pcscd with four vpcd virtual readers (a card reader, a second
//!   slot, PSAM slots 1 and 2); stopping and starting it is "pcscd restarted".
//! - [`vcard::VirtualCard`]: a scriptable card speaking vpcd's protocol (ATR, UID, APDU → answer
//!   rules, GET CHALLENGE, a social security application); connecting is inserting it, closing
//!   is pulling it out.
//!
//! - [`pulse::Pulse`]: a private PulseAudio server with null sinks: a speaker whose output is
//!   recorded with arrival times, and a microphone the test plays into; stopping and starting
//!   it is "the sound device went away and came back".
//! - [`escpos::FakePrinter`]: an ESC/POS thermal printer on TCP or a pty that records and decodes
//!   what it is sent, answers status queries, and can run out of paper.
//! - [`cups::Cupsd`]: a private cupsd on a free port with its own configuration, spool and
//!   backends (a cups-pdf queue, a capturing raw queue that can be made to hang).
//! - [`mosquitto::Mosquitto`]: a private MQTT broker on a free port with its own configuration
//!   and persistence; stopping and starting it is "the broker restarted".
//! - [`web::WebServer`]: an HTTP server on a free loopback port that serves files and keeps
//!   what is uploaded to it (fleet packages, screenshots and logs).
//!
//! - [`netns::run_in_private_network`]: runs a test again inside its own network namespace with
//!   a veth pair, for WebRTC (libnice ignores loopback).
//! - [`janus::Janus`]: a private Janus WebRTC server (VideoRoom and the HTTP API only) with its
//!   own configuration, for `finOpenWitnessVideo`; run inside the private network.
//! - [`contract::Contract`] (feature `contract`): docs/provider-v1.yaml's schemas, to check
//!   the bodies Booth sends and the reference provider answers.
//! - [`netfault::FaultProxy`]: a TCP proxy between a client and its server that drops the
//!   request, drops the answer after the server acted, or holds either past the client's
//!   timeout (the payment tests' "no double charge").
//! - [`events::Collect`]: a page stand-in that keeps every event the bridge delivers to it.
//! - [`face`]: camera frames of a person (live, turning their head; a still photo; an ID-size
//!   crop) made from the registry photos the face setup fetches.
//! - [`card`]: synthetic resident ID cards (front, back) and bank cards of fictional people,
//!   photographed at a size and angle, for the card OCR tests.
//!
//! Not for: production code.

pub mod card;
#[cfg(feature = "contract")]
pub mod contract;
#[cfg(unix)]
pub mod cups;
pub mod escpos;
pub mod events;
pub mod face;
#[cfg(target_os = "linux")]
pub mod janus;
#[cfg(unix)]
pub mod mosquitto;
pub mod netfault;
#[cfg(target_os = "linux")]
pub mod netns;
#[cfg(unix)]
pub mod pcscd;
#[cfg(unix)]
pub mod pty;
#[cfg(unix)]
pub mod pulse;
#[cfg(unix)]
pub mod sam;
pub mod vcard;
pub mod web;
