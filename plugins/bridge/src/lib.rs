//! Booth's bridge core: everything between a mini-program's call and a device plugin.
//!
//! It owns the contract table ([`api`]), the per-dialect envelopes ([`envelope`]), sessions
//! (one page of one package), the permission check against the manifest, per-call timeouts,
//! the in-flight limit, `taskId` echo, cancellation and event subscriptions. Capability plugins
//! register handlers and event renderers here; the Tauri app only forwards IPC to [`Bridge`].
//!
//! Not for: talking to devices (that is `plugins/<capability>`), or anything that needs Tauri.

pub mod api;
pub mod envelope;
pub mod error;
pub mod fuzz;
pub mod guard;
pub mod params;
pub mod session;
pub mod sim;

pub use api::{ApiSpec, Dialect, Family, Kind};
pub use envelope::{Done, Reply, Request};
pub use error::{ApiError, ErrorCode};
pub use params::Params;
pub use session::{EventMessage, EventSink, Screen, SessionHandle, SessionId, SessionInfo};
pub use sim::{SimDevice, SimError, SimRegistry};

use futures::future::BoxFuture;
use serde_json::Value;
use session::Session;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, Semaphore};
use tokio_util::sync::CancellationToken;

/// Documented limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted `params` JSON, in bytes (4 MiB: room for a receipt image or a
    /// secondary-screen picture in base64).
    pub max_params_bytes: usize,
    /// Calls one page may have in flight at once; more are answered `BUSY`.
    pub max_in_flight: usize,
    /// Default time a handler may take before the page gets `TIMEOUT`.
    pub default_timeout: Duration,
    /// Deepest nesting of arrays and objects accepted in a request (32: the documents' deepest
    /// parameter is 4 levels); deeper is `INVALID_PARAMS`, refused before it is parsed.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_params_bytes: 4 * 1024 * 1024,
            max_in_flight: 1024,
            default_timeout: Duration::from_secs(10),
            max_depth: 32,
        }
    }
}

/// Longest API or event name a message or a log line repeats; a longer name is cut (no name in
/// the contract comes near it).
pub const MAX_NAME_SHOWN: usize = 64;

/// Everything a handler gets besides its parameters.
#[derive(Clone)]
pub struct CallCtx {
    pub session: SessionHandle,
    pub bus: EventBus,
    /// `event` of an ampeHHCommunication request ("open"/"close"); empty for other dialects.
    pub event: String,
    pub task_id: String,
    /// Cancelled when the session ends.
    pub cancel: CancellationToken,
}

/// A capability's implementation of one API.
///
/// The app polls a call's future once where the page's request arrives (the window system's
/// thread) and answers at once when it is ready; only a call that waits moves to the async
/// runtime. So a handler never blocks before its first `.await`: device I/O goes to a worker
/// thread or `spawn_blocking`, as it must anyway.
pub trait Handler: Send + Sync + 'static {
    fn call(&self, ctx: CallCtx, params: Params) -> BoxFuture<'static, Result<Done, ApiError>>;
}

struct FnHandler<F>(F);

impl<F, Fut> Handler for FnHandler<F>
where
    F: Fn(CallCtx, Params) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Done, ApiError>> + Send + 'static,
{
    fn call(&self, ctx: CallCtx, params: Params) -> BoxFuture<'static, Result<Done, ApiError>> {
        Box::pin((self.0)(ctx, params))
    }
}

/// Wraps an async closure as a [`Handler`].
pub fn handler<F, Fut>(f: F) -> Arc<dyn Handler>
where
    F: Fn(CallCtx, Params) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Done, ApiError>> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

/// Turns a device event's payload into what one dialect's listeners receive (`None` skips it).
pub type Render = Arc<dyn Fn(&Value) -> Option<Value> + Send + Sync>;

struct Registration {
    handler: Arc<dyn Handler>,
    timeout: Duration,
}

struct EventRegistration {
    topic: &'static str,
    render: Render,
}

/// A device event, as plugins publish it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceEvent {
    /// e.g. `scanner.code`.
    pub topic: &'static str,
    pub payload: Value,
}

struct Inner {
    limits: Limits,
    handlers: RwLock<HashMap<(Dialect, &'static str), Registration>>,
    events: RwLock<HashMap<(Dialect, &'static str), EventRegistration>>,
    sessions: RwLock<HashMap<SessionId, Arc<Session>>>,
    next_id: AtomicU64,
    tx: broadcast::Sender<DeviceEvent>,
    /// Replaced whole when one is added (rare), so a call takes one reference count, not a copy.
    observers: RwLock<Arc<[Arc<dyn Observer>]>>,
    /// Calls entered and not yet answered (or dropped), over every session.
    calls: AtomicUsize,
    /// Per package id: where the operator grants a permission the package lacks (a remote
    /// package's permissions come from booth.toml, not from a manifest).
    grant_hints: RwLock<HashMap<String, String>>,
}

/// What the bridge holds right now (`/health`, the fuzz and soak checks): after every page is
/// gone and every call answered, all three are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub sessions: usize,
    pub subscriptions: usize,
    pub calls_in_flight: usize,
}

/// Counts one call as in flight for as long as it lives (also when its future is dropped).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a page sent: JSON text, or JSON already parsed.
enum Sent<'a> {
    Text(&'a str),
    Value(Value),
}

/// A finished call, as observers see it.
pub struct CallRecord<'a> {
    pub session: SessionId,
    pub info: &'a SessionInfo,
    pub dialect: Dialect,
    /// The API name as called: `ampeHHCommunication` for `my.call` actions (the action is in `raw`).
    pub name: &'a str,
    /// The JSON the page sent (see [`Bridge::call`]).
    pub raw: &'a str,
    pub reply: &'a Reply,
    pub started: Instant,
    pub latency: Duration,
}

/// Sees every session, call and device event: the flight recorder, the simulator panel's live
/// list and replay. Observers run on the caller's thread and must be quick.
pub trait Observer: Send + Sync + 'static {
    fn session_opened(&self, _id: SessionId, _info: &SessionInfo) {}
    /// A call arrived (before any check).
    fn call_started(&self, _session: SessionId, _dialect: Dialect, _name: &str) {}
    /// A call was answered.
    fn call(&self, _call: &CallRecord<'_>) {}
    /// Whether [`Observer::call`] does anything: when no observer reads finished calls, none is
    /// put together.
    fn sees_calls(&self) -> bool {
        true
    }
    fn event(&self, _event: &DeviceEvent) {}
}

/// Plugins publish device events here; one-shot calls (e.g. `getQRCode`) wait on it.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<DeviceEvent>,
    inner: Weak<Inner>,
}

impl EventBus {
    /// Delivers to every subscribed page (shaped per dialect) and to every waiting call.
    pub fn publish(&self, topic: &'static str, payload: Value) {
        let event = DeviceEvent { topic, payload };
        if let Some(inner) = self.inner.upgrade() {
            for o in inner.observers.read().unwrap_or_else(|p| p.into_inner()).clone().iter() {
                o.event(&event);
            }
            dispatch(&inner, &event);
        }
        // No receiver is not an error: nobody is waiting for a one-shot result.
        let _ = self.tx.send(event);
    }

    /// Receives every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<DeviceEvent> {
        self.tx.subscribe()
    }

    /// Delivers an event to one page only (e.g. a key that page registered, or the presence
    /// reports a page asked for). Observers see it; one-shot waiters do not. Returns `false`
    /// when that session has ended, so the publisher can forget it.
    pub fn publish_to(&self, session: SessionId, topic: &'static str, payload: Value) -> bool {
        let Some(inner) = self.inner.upgrade() else { return false };
        if !inner.sessions.read().unwrap_or_else(|p| p.into_inner()).contains_key(&session) {
            return false;
        }
        let event = DeviceEvent { topic, payload };
        for o in inner.observers.read().unwrap_or_else(|p| p.into_inner()).clone().iter() {
            o.event(&event);
        }
        dispatch_to(&inner, &event, Some(session));
        true
    }

    /// Whether a session is still open.
    pub fn session_alive(&self, session: SessionId) -> bool {
        self.inner
            .upgrade()
            .is_some_and(|inner| inner.sessions.read().unwrap_or_else(|p| p.into_inner()).contains_key(&session))
    }
}

/// The shape every one-shot device call shares (`getQRCode`, `getIDCardInfo`, …): waits on `rx`
/// until `pick` accepts an event, answering `TIMEOUT` after `timeout`, `CANCELLED` when `cancel`
/// fires, and `DEVICE_UNAVAILABLE` with `closed` if the bus closes. Subscribe `rx` before checking
/// the device's status, so that no event slips between the two.
pub async fn wait_for_event<T>(
    mut rx: broadcast::Receiver<DeviceEvent>,
    timeout: Duration,
    cancel: &CancellationToken,
    closed: &str,
    mut pick: impl FnMut(&DeviceEvent) -> Option<Result<T, ApiError>>,
) -> Result<T, ApiError> {
    use broadcast::error::RecvError;
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(ev) => {
                    if let Some(answer) = pick(&ev) {
                        return answer;
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return Err(ApiError::unavailable(closed)),
            }
        }
    };
    tokio::select! {
        r = wait => r,
        _ = tokio::time::sleep(timeout) => Err(ApiError::bare(ErrorCode::Timeout)),
        _ = cancel.cancelled() => Err(ApiError::bare(ErrorCode::Cancelled)),
    }
}

/// `DEVICE_UNAVAILABLE` with the event's `detail` when `ev` is a `{"available": false, "detail"}`
/// event on `status_topic` (the status events plugins publish).
pub fn device_gone(ev: &DeviceEvent, status_topic: &str) -> Option<ApiError> {
    if ev.topic == status_topic && ev.payload.get("available") == Some(&Value::Bool(false)) {
        let detail = ev.payload.get("detail").and_then(Value::as_str).unwrap_or("");
        return Some(ApiError::unavailable(detail.to_string()));
    }
    None
}

fn dispatch(inner: &Arc<Inner>, event: &DeviceEvent) {
    dispatch_to(inner, event, None)
}

fn dispatch_to(inner: &Arc<Inner>, event: &DeviceEvent, only: Option<SessionId>) {
    // Work out the deliveries under the locks, then render and deliver without holding any, so
    // that plugin code (render) and sinks may call back into the bridge.
    let targets: Vec<(Arc<Session>, Dialect, &'static str, Render)> = {
        let sessions = inner.sessions.read().unwrap_or_else(|p| p.into_inner());
        let events = inner.events.read().unwrap_or_else(|p| p.into_inner());
        let mut targets = Vec::new();
        for s in sessions.values().filter(|s| only.is_none_or(|id| id == s.id)) {
            for &(dialect, name) in s.subscriptions.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                if let Some(reg) = events.get(&(dialect, name)).filter(|r| r.topic == event.topic) {
                    targets.push((s.clone(), dialect, name, reg.render.clone()));
                }
            }
        }
        targets
    };
    let mut gone = Vec::new();
    for (s, dialect, name, render) in targets {
        if gone.contains(&s.id) {
            continue;
        }
        let payload = match guard::call(|| render(&event.payload)) {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(panic) => {
                let plugin = api::lookup(dialect, name, Kind::Event).map(|s| s.family.to_string()).unwrap_or_default();
                guard::note(plugin, format!("{dialect}.{name}"), "renderer");
                tracing::error!(
                    topic = event.topic,
                    %dialect,
                    name,
                    at = %panic.location,
                    "event renderer panicked: {}\n{}",
                    panic.message,
                    panic.backtrace
                );
                continue;
            }
        };
        let message = EventMessage { dialect, name: name.to_string(), body: envelope::event_body(dialect, payload) };
        if !s.sink.deliver(message) {
            gone.push(s.id);
        }
    }
    for id in gone {
        tracing::info!(session = id, "page is gone; ending its session");
        end(inner, id);
    }
}

fn end(inner: &Inner, id: SessionId) -> bool {
    let removed = inner.sessions.write().unwrap_or_else(|p| p.into_inner()).remove(&id);
    match removed {
        Some(s) => {
            s.cancel.cancel();
            tracing::debug!(session = id, package = %s.info.package_id, "session ended");
            true
        }
        None => false,
    }
}

/// The router. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct Bridge {
    inner: Arc<Inner>,
}

impl Default for Bridge {
    fn default() -> Self {
        Bridge::new(Limits::default())
    }
}

impl Bridge {
    pub fn new(limits: Limits) -> Self {
        guard::install();
        let (tx, _) = broadcast::channel(256);
        Bridge {
            inner: Arc::new(Inner {
                limits,
                handlers: RwLock::default(),
                events: RwLock::default(),
                sessions: RwLock::default(),
                next_id: AtomicU64::new(1),
                tx,
                observers: RwLock::new(Arc::from(Vec::new())),
                calls: AtomicUsize::new(0),
                grant_hints: RwLock::default(),
            }),
        }
    }

    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Names, in the refusal of a permission `package_id` lacks, where it is granted (for a
    /// remote package: the booth.toml key), so that the page's developer and the operator see
    /// what to set.
    pub fn set_grant_hint(&self, package_id: &str, hint: &str) {
        self.inner
            .grant_hints
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(package_id.to_string(), hint.to_string());
    }

    fn permission_denied(&self, info: &SessionInfo, name: &str, family: Family) -> ApiError {
        let hints = self.inner.grant_hints.read().unwrap_or_else(|p| p.into_inner());
        match hints.get(&info.package_id) {
            Some(hint) => ErrorCode::PermissionDenied
                .err(format!("{name} 需要权限 {family} (未授予: 请在 {hint} 中加入 \"{family}\")")),
            None => ErrorCode::PermissionDenied.err(format!("{name} 需要权限 {family}")),
        }
    }

    pub fn bus(&self) -> EventBus {
        EventBus { tx: self.inner.tx.clone(), inner: Arc::downgrade(&self.inner) }
    }

    pub fn add_observer(&self, observer: Arc<dyn Observer>) {
        let mut all = self.inner.observers.write().unwrap_or_else(|p| p.into_inner());
        let mut list = all.to_vec();
        list.push(observer);
        *all = Arc::from(list);
    }

    fn observers(&self) -> Arc<[Arc<dyn Observer>]> {
        self.inner.observers.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Implements a call of the contract. Panics on a name that is not in [`api::APIS`]: that is
    /// a programming error in a plugin, caught by its tests.
    pub fn register(&self, dialect: Dialect, name: &str, timeout: Option<Duration>, handler: Arc<dyn Handler>) {
        let spec = api::lookup(dialect, name, Kind::Call)
            .unwrap_or_else(|| panic!("{dialect}.{name} is not in the API table"));
        let timeout = timeout.unwrap_or(self.inner.limits.default_timeout);
        self.inner
            .handlers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert((dialect, spec.name), Registration { handler, timeout });
    }

    /// Implements an event of the contract: device events on `topic` reach its listeners through `render`.
    pub fn register_event(&self, dialect: Dialect, name: &str, topic: &'static str, render: Render) {
        let spec = api::lookup(dialect, name, Kind::Event)
            .unwrap_or_else(|| panic!("{dialect}.{name} is not in the API table"));
        self.inner
            .events
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert((dialect, spec.name), EventRegistration { topic, render });
    }

    /// The device-event topics some page event is registered for (the fuzz run publishes on them).
    pub fn event_topics(&self) -> Vec<&'static str> {
        let events = self.inner.events.read().unwrap_or_else(|p| p.into_inner());
        let mut topics: Vec<&'static str> = events.values().map(|r| r.topic).collect();
        topics.sort_unstable();
        topics.dedup();
        topics
    }

    /// Whether an API has an implementation (for `booth doctor` and the coverage test).
    pub fn implements(&self, spec: &ApiSpec) -> bool {
        match spec.kind {
            Kind::Call => {
                self.inner.handlers.read().unwrap_or_else(|p| p.into_inner()).contains_key(&(spec.dialect, spec.name))
            }
            Kind::Event => {
                self.inner.events.read().unwrap_or_else(|p| p.into_inner()).contains_key(&(spec.dialect, spec.name))
            }
        }
    }

    /// Starts a session for a page. A previous session with the same key (the same webview,
    /// before it navigated or reloaded) ends: its tasks are cancelled and subscriptions dropped.
    pub fn open_session(&self, info: SessionInfo, sink: Arc<dyn EventSink>) -> SessionId {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        tracing::info!(session = id, key = %info.key, package = %info.package_id, url = %info.url, "session opened");
        let session = Arc::new(Session {
            id,
            info,
            sink,
            subscriptions: Mutex::default(),
            cancel: CancellationToken::new(),
            groups: Mutex::default(),
            in_flight: Arc::new(Semaphore::new(self.inner.limits.max_in_flight)),
        });
        // Replace under one write lock, so two pages attaching at once cannot both survive.
        let mut sessions = self.inner.sessions.write().unwrap_or_else(|p| p.into_inner());
        let old: Vec<SessionId> = sessions.values().filter(|s| s.info.key == session.info.key).map(|s| s.id).collect();
        for o in old {
            if let Some(s) = sessions.remove(&o) {
                s.cancel.cancel();
                tracing::debug!(session = o, "session replaced");
            }
        }
        let info = session.info.clone();
        sessions.insert(id, session);
        drop(sessions);
        for o in self.observers().iter() {
            o.session_opened(id, &info);
        }
        id
    }

    /// Ends a session; returns whether it existed.
    pub fn end_session(&self, id: SessionId) -> bool {
        end(&self.inner, id)
    }

    /// Ends every session whose key matches (e.g. a window closed).
    pub fn end_sessions_for(&self, key: &str) {
        let ids: Vec<SessionId> = self
            .inner
            .sessions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|s| s.info.key == key)
            .map(|s| s.id)
            .collect();
        for id in ids {
            end(&self.inner, id);
        }
    }

    /// The open sessions of one page slot (a webview label): normally one.
    pub fn sessions_for(&self, key: &str) -> Vec<SessionId> {
        let sessions = self.inner.sessions.read().unwrap_or_else(|p| p.into_inner());
        sessions.values().filter(|s| s.info.key == key).map(|s| s.id).collect()
    }

    /// The key (webview label) a session belongs to, if it is still open.
    pub fn session_key(&self, id: SessionId) -> Option<String> {
        self.session(id).map(|s| s.info.key.clone())
    }

    /// What the host said about an open session (its package, screen and window).
    pub fn session_info(&self, id: SessionId) -> Option<SessionInfo> {
        self.session(id).map(|s| s.info.clone())
    }

    /// The open sessions of pages on one screen, oldest first.
    pub fn sessions_on(&self, screen: Screen) -> Vec<(SessionId, SessionInfo)> {
        let sessions = self.inner.sessions.read().unwrap_or_else(|p| p.into_inner());
        let mut on: Vec<_> =
            sessions.values().filter(|s| s.info.screen == screen).map(|s| (s.id, s.info.clone())).collect();
        on.sort_by_key(|(id, _)| *id);
        on
    }

    /// Whether a page listens to an event (has subscribed and not unsubscribed since).
    pub fn is_subscribed(&self, id: SessionId, dialect: Dialect, name: &str) -> bool {
        self.session(id).is_some_and(|s| {
            s.subscriptions.lock().unwrap_or_else(|p| p.into_inner()).iter().any(|(d, n)| *d == dialect && *n == name)
        })
    }

    pub fn session_count(&self) -> usize {
        self.inner.sessions.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Open sessions, their subscriptions, and calls not yet answered.
    pub fn stats(&self) -> Stats {
        let sessions = self.inner.sessions.read().unwrap_or_else(|p| p.into_inner());
        Stats {
            sessions: sessions.len(),
            subscriptions: sessions
                .values()
                .map(|s| s.subscriptions.lock().unwrap_or_else(|p| p.into_inner()).len())
                .sum(),
            calls_in_flight: self.inner.calls.load(Ordering::Relaxed),
        }
    }

    fn session(&self, id: SessionId) -> Option<Arc<Session>> {
        self.inner.sessions.read().unwrap_or_else(|p| p.into_inner()).get(&id).cloned()
    }

    /// Starts delivering an event to a page.
    pub fn subscribe(&self, id: SessionId, dialect: Dialect, name: &str) -> Result<(), ApiError> {
        let session = self.session(id).ok_or_else(|| ApiError::bare(ErrorCode::SessionEnded))?;
        let spec = api::lookup(dialect, name, Kind::Event).ok_or_else(|| {
            ErrorCode::Unsupported.err(format!("未知事件 {dialect}.{}", params::clip(name, MAX_NAME_SHOWN)))
        })?;
        check_dialect(&session.info, dialect)?;
        if !self.implements(spec) {
            return Err(ErrorCode::Unsupported.err(format!("{name} (本终端尚未实现)")));
        }
        if !session.info.allows(spec.family) {
            return Err(self.permission_denied(&session.info, name, spec.family));
        }
        session.subscriptions.lock().unwrap_or_else(|p| p.into_inner()).insert((dialect, spec.name));
        Ok(())
    }

    /// Stops delivering an event to a page (the last listener went away).
    pub fn unsubscribe(&self, id: SessionId, dialect: Dialect, name: &str) {
        if let Some(session) = self.session(id) {
            session
                .subscriptions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|(d, n)| !(*d == dialect && *n == name));
        }
    }

    /// Answers one call. `raw_params` is the JSON the page sent: for `my.call('ampeHHCommunication')`
    /// the whole `{action, event, taskId, params}` object, for every other API its parameter object.
    /// Never panics and always answers: errors become the dialect's failure reply.
    pub async fn call(&self, id: SessionId, dialect: Dialect, name: &str, raw_params: &str) -> Reply {
        self.answer(id, dialect, name, Sent::Text(raw_params)).await
    }

    /// [`Bridge::call`] with the parameters already parsed (the IPC layer parsed the page's
    /// message, so they are not sent as a string inside it and parsed again). The same limits
    /// and replies apply.
    pub async fn call_value(&self, id: SessionId, dialect: Dialect, name: &str, params: Value) -> Reply {
        self.answer(id, dialect, name, Sent::Value(params)).await
    }

    async fn answer(&self, id: SessionId, dialect: Dialect, name: &str, sent: Sent<'_>) -> Reply {
        let _in_flight = InFlight::new(&self.inner.calls);
        // A name longer than any in the contract is unknown anyway; only its start is repeated in
        // the reply, the log and the recording.
        let name = &*params::clip(name, MAX_NAME_SHOWN);
        let started = Instant::now();
        let ampe = dialect == Dialect::My && name == envelope::AMPE;
        let Some(session) = self.session(id) else {
            return envelope::error_reply(dialect, name, ApiError::bare(ErrorCode::SessionEnded));
        };
        let observers = self.observers();
        for o in observers.iter() {
            o.call_started(id, dialect, name);
        }
        // Parsed parameters are consumed by the call; observers that read calls get a copy.
        let kept = match &sent {
            Sent::Value(v) if observers.iter().any(|o| o.sees_calls()) => Some(v.clone()),
            _ => None,
        };
        let raw = match &sent {
            Sent::Text(t) => Some(*t),
            Sent::Value(_) => None,
        };
        let reply = self.route(&session, dialect, name, ampe, sent).await;
        let latency = started.elapsed();
        if !reply.ok || reply.body.get("success") == Some(&Value::Bool(false)) {
            tracing::info!(session = id, %dialect, name, ?latency, reply = %truncate(&reply.body), "call failed");
        } else {
            tracing::debug!(session = id, %dialect, name, ?latency, "call ok");
        }
        if observers.iter().any(|o| o.sees_calls()) {
            let text;
            let raw = match (raw, &kept) {
                (Some(t), _) => t,
                (None, Some(v)) => {
                    text = v.to_string();
                    text.as_str()
                }
                (None, None) => "",
            };
            let record =
                CallRecord { session: id, info: &session.info, dialect, name, raw, reply: &reply, started, latency };
            for o in observers.iter() {
                o.call(&record);
            }
        }
        reply
    }

    async fn route(&self, session: &Arc<Session>, dialect: Dialect, name: &str, ampe: bool, sent: Sent<'_>) -> Reply {
        let limit = self.inner.limits.max_params_bytes;
        let max_depth = self.inner.limits.max_depth;
        let refuse = |err: ApiError| envelope::reply(dialect, name, ampe, &envelope::Echo::default(), Err(err));
        let too_deep = || ErrorCode::InvalidParams.err(format!("参数嵌套超过 {max_depth} 层"));
        let parsed = match sent {
            Sent::Text(raw) => {
                if raw.len() > limit {
                    return refuse(ErrorCode::PayloadTooLarge.err(format!("{} 字节, 上限 {limit} 字节", raw.len())));
                }
                if nesting_exceeds(raw, max_depth) {
                    return refuse(too_deep());
                }
                envelope::parse(dialect, name, raw)
            }
            Sent::Value(value) => {
                // The same order as for text (the IPC layer's parser already stopped at 128 levels).
                let len = json_len(&value);
                if len > limit {
                    return refuse(ErrorCode::PayloadTooLarge.err(format!("{len} 字节, 上限 {limit} 字节")));
                }
                if depth_exceeds(&value, max_depth) {
                    return refuse(too_deep());
                }
                envelope::parse_value(dialect, name, value)
            }
        };
        let (request, echo) = match parsed {
            Ok(ok) => ok,
            Err(rejected) => {
                let (err, echo) = *rejected;
                return envelope::reply(dialect, name, ampe, &echo, Err(err));
            }
        };
        let name = request.name.clone();
        let result = self.run(session, dialect, request, ampe).await;
        envelope::reply(dialect, &name, ampe, &echo, result)
    }

    async fn run(
        &self,
        session: &Arc<Session>,
        dialect: Dialect,
        request: Request,
        ampe: bool,
    ) -> Result<Done, ApiError> {
        let Request { name, event, task_id, params } = request;
        let name = name.as_str();
        let spec = api::lookup(dialect, name, Kind::Call)
            // `my` names are ampeHHCommunication actions or top-level my.call names, never both.
            .filter(|s| dialect != Dialect::My || api::MY_TOP_LEVEL_CALLS.contains(&s.name) != ampe)
            .ok_or_else(|| ErrorCode::Unsupported.err(format!("未知的操作 {}", params::clip(name, MAX_NAME_SHOWN))))?;
        check_dialect(&session.info, dialect)?;
        // What the terminal cannot do is UNSUPPORTED whatever the manifest says; permission is
        // checked for what it can do.
        let (handler, timeout) = {
            let handlers = self.inner.handlers.read().unwrap_or_else(|p| p.into_inner());
            match handlers.get(&(dialect, spec.name)) {
                Some(r) => (r.handler.clone(), r.timeout),
                None => {
                    let why = api::WITHDRAWN
                        .iter()
                        .find(|(d, n, _)| *d == dialect && *n == spec.name)
                        .map_or("本终端尚未实现", |(_, _, why)| why);
                    return Err(ErrorCode::Unsupported.err(format!("{name} ({why})")));
                }
            }
        };
        if !session.info.allows(spec.family) {
            return Err(self.permission_denied(&session.info, name, spec.family));
        }
        let _permit =
            session.in_flight.clone().try_acquire_owned().map_err(|_| {
                ErrorCode::Busy.err(format!("同时进行的调用超过 {} 个", self.inner.limits.max_in_flight))
            })?;
        let ctx = CallCtx {
            session: SessionHandle { inner: session.clone() },
            bus: self.bus(),
            event,
            task_id,
            cancel: session.cancel.clone(),
        };
        // A panicking handler is a plugin bug; the page still gets exactly one answer (INTERNAL),
        // the log gets the panic once with its backtrace, and the plugin goes on serving.
        // The contract's name, not the page's string, goes to `/health`.
        let (family, api) = (spec.family, spec.name);
        let fut = guard::Guarded::new(async move { handler.call(ctx, params).await });
        let fut = async move {
            fut.await.unwrap_or_else(|panic| {
                guard::note(family.to_string(), format!("{dialect}.{api}"), "handler");
                tracing::error!(
                    %dialect,
                    name,
                    at = %panic.location,
                    "handler panicked: {}\n{}",
                    panic.message,
                    panic.backtrace
                );
                Err(ErrorCode::Internal.err(format!("{name} 的处理程序崩溃 ({})", panic.message)))
            })
        };
        tokio::select! {
            r = tokio::time::timeout(timeout, fut) => r.unwrap_or_else(|_| Err(ApiError::bare(ErrorCode::Timeout))),
            _ = session.cancel.cancelled() => Err(ApiError::bare(ErrorCode::Cancelled)),
        }
    }
}

fn check_dialect(info: &SessionInfo, dialect: Dialect) -> Result<(), ApiError> {
    if info.dialects.contains(&dialect) {
        Ok(())
    } else {
        Err(ErrorCode::PermissionDenied.err(format!("清单未声明 {dialect} 接口")))
    }
}

/// Whether `raw` nests arrays and objects deeper than `max` (brackets inside strings do not
/// count). A linear scan, so a hostile request costs no recursion and no allocation.
fn nesting_exceeds(raw: &str, max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for b in raw.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Whether `value` nests arrays and objects deeper than `max`.
fn depth_exceeds(value: &Value, max: usize) -> bool {
    fn walk(v: &Value, left: usize) -> bool {
        match v {
            Value::Array(a) => left == 0 || a.iter().any(|v| walk(v, left - 1)),
            Value::Object(m) => left == 0 || m.values().any(|v| walk(v, left - 1)),
            _ => false,
        }
    }
    walk(value, max)
}

/// The length of `value` as compact JSON (as `JSON.stringify` writes it), counted, not written.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail, and every `Value` serializes.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

fn truncate(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 300 {
        let mut end = 300;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s
    }
}

/// Every dialect and every grantable family: what a development session without a manifest gets.
pub fn all_permissions() -> (HashSet<Dialect>, HashSet<Family>) {
    (Dialect::ALL.into_iter().collect(), Family::GRANTABLE.into_iter().collect())
}
