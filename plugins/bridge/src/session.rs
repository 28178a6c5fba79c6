//! Sessions: one page of one package, with its permissions, subscriptions and running tasks.

use crate::api::{Dialect, Family};
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub type SessionId = u64;

/// Which screen a page is on (`wxfaceapp.checkWxFacePayOsInfo().screenInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Screen {
    #[serde(rename = "front-screen")]
    Front,
    #[serde(rename = "back-screen")]
    Back,
}

impl Screen {
    pub fn as_str(self) -> &'static str {
        match self {
            Screen::Front => "front-screen",
            Screen::Back => "back-screen",
        }
    }
}

/// What the host knows about a page when it attaches.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// Identifies the page slot (a webview label); a new session with the same key ends the old one.
    pub key: String,
    pub package_id: String,
    pub permissions: HashSet<Family>,
    pub dialects: HashSet<Dialect>,
    pub screen: Screen,
    /// The page URL at attach time, for logs.
    pub url: String,
}

impl SessionInfo {
    pub fn allows(&self, family: Family) -> bool {
        family.always_allowed() || self.permissions.contains(&family)
    }
}

/// An event on its way to a page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventMessage {
    pub dialect: Dialect,
    pub name: String,
    pub body: Value,
}

/// Where a session's events go (the Tauri adapter wraps a per-page Channel).
pub trait EventSink: Send + Sync + 'static {
    /// Returns `false` when the page is gone; the bridge then ends the session.
    fn deliver(&self, message: EventMessage) -> bool;
}

pub(crate) struct Session {
    pub id: SessionId,
    pub info: SessionInfo,
    pub sink: Arc<dyn EventSink>,
    pub subscriptions: Mutex<HashSet<(Dialect, &'static str)>>,
    pub cancel: CancellationToken,
    pub groups: Mutex<HashMap<String, CancellationToken>>,
    pub in_flight: Arc<Semaphore>,
}

/// What a handler knows about the page calling it.
#[derive(Clone)]
pub struct SessionHandle {
    pub(crate) inner: Arc<Session>,
}

impl SessionHandle {
    pub fn id(&self) -> SessionId {
        self.inner.id
    }
    pub fn info(&self) -> &SessionInfo {
        &self.inner.info
    }
    /// A token shared by every call of the named group (e.g. pending `getQRCode` calls), so that
    /// a close call can cancel them together. Also cancelled when the session ends.
    pub fn group_token(&self, group: &str) -> CancellationToken {
        let mut groups = self.inner.groups.lock().unwrap_or_else(|p| p.into_inner());
        groups.entry(group.to_string()).or_insert_with(|| self.inner.cancel.child_token()).clone()
    }
    /// Cancels every pending call of the group; returns whether any group token existed.
    pub fn cancel_group(&self, group: &str) -> bool {
        let token = self.inner.groups.lock().unwrap_or_else(|p| p.into_inner()).remove(group);
        match token {
            Some(t) => {
                t.cancel();
                true
            }
            None => false,
        }
    }
}
