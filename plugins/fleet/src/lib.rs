//! Booth's fleet agent: a terminal managed over an existing MQTT 5 broker (mosquitto for a
//! site, a cluster beyond). It publishes the terminal's status (retained, with a last will),
//! telemetry and events, keeps a versioned shadow of the settings an operator may change, and
//! runs the few commands an operator may send (reload, restart, screenshot, logs, doctor,
//! install-package) — each checked like a page's bridge parameters, run at most once, never
//! after it expired, and, when command keys are pinned, only when signed by one of them. Offline
//! it keeps running and queues what it has to say until the broker is back.
//!
//! It also holds the package store for signed updates (download, hash and signature checks,
//! staging, atomic switch, trial and rollback).
//!
//! Not for: anything with windows (the app implements [`host::FleetHost`]); a server of its
//! own; reaching a page, running a shell command or changing `[admin]` from the broker.

pub mod agent;
pub mod config;
pub mod host;
pub mod http;
pub mod operator;
pub mod protocol;
pub mod runs;
pub mod seen;
pub mod signing;
pub mod store;
pub mod sys;
pub mod topics;

pub use agent::{Agent, AgentEvent};
pub use config::{FleetConfig, FleetSection};
pub use host::FleetHost;
