//! The IPC commands of package pages: the injected runtime's calls and subscriptions, page
//! output, Booth's page-side inputs and the shell's reports. They only forward (to the bridge,
//! the input plugins and the shell).

use super::batch::Batcher;
use super::state::AppState;
use crate::names::SECONDARY;
use crate::shell::apps::{App, Catalogue};
use crate::shell::lifecycle::{Owner, Shell};
use crate::shell::page_key::{self, PageKeys};
use booth_bridge::{Dialect, EventMessage, EventSink, Reply, Screen, SessionId, SessionInfo};
use serde_json::{json, Value};
use std::sync::Arc;
use tauri::ipc::{Channel, InvokeResponseBody};
use tauri::{Manager, State, Webview};
use url::Url;

/// The page's events, through [`Batcher`] to its Channel (each message a JSON array of events).
struct ChannelSink(Arc<Batcher>);

impl ChannelSink {
    fn new(channel: Channel<InvokeResponseBody>) -> ChannelSink {
        let send = move |json: String| channel.send(InvokeResponseBody::Json(json)).is_ok();
        ChannelSink(Batcher::new(tauri::async_runtime::handle().inner().clone(), Box::new(send)))
    }
}

impl EventSink for ChannelSink {
    fn deliver(&self, message: EventMessage) -> bool {
        match serde_json::to_string(&message) {
            Ok(json) => self.0.push(json),
            Err(e) => {
                tracing::error!(%e, name = %message.name, "an event that is not JSON; not delivered");
                true
            }
        }
    }
}

pub(super) fn refuse(code: &str, message: impl Into<String>) -> Value {
    json!({"errorCode": code, "message": message.into()})
}

/// Starts the page's session; a reload or navigation of the same webview replaces it.
#[tauri::command]
pub async fn booth_attach(
    webview: Webview,
    state: State<'_, Arc<AppState>>,
    shell: State<'_, Arc<Shell>>,
    events: Channel<InvokeResponseBody>,
    url: String,
) -> Result<Value, Value> {
    let label = webview.label().to_string();
    // Which app the page belongs to is its origin's word, not the page's; and the window must
    // be one Booth put that app in (a link from another app's page gets nothing).
    let placed = shell.placed(&label);
    let app = match session_app(&state.catalogue, webview.url().ok().as_ref(), &placed) {
        Ok(app) => app,
        Err(None) => {
            tracing::debug!(window = %label, "no session for Booth's own page");
            return Err(refuse("PERMISSION_DENIED", "Booth 自己的页面没有小程序会话"));
        }
        Err(Some(owner)) => {
            tracing::warn!(window = %label, page = ?owner, showing = ?placed, "session refused: the page is not the window's app");
            return Err(refuse("PERMISSION_DENIED", "此页面不属于本窗口的小程序"));
        }
    };
    let package = app.as_ref().map_or(&state.package, |a| &a.package);
    let info = SessionInfo {
        key: label.clone(),
        // A catalogue app is known by its appId (what launchMp and postMsg name it by).
        package_id: app.as_ref().map_or_else(|| package.manifest.id.clone(), |a| a.id.clone()),
        permissions: package.permissions().clone(),
        dialects: package.manifest.dialect_set(),
        screen: if label == SECONDARY { Screen::Back } else { Screen::Front },
        url,
    };
    let sink = ChannelSink::new(events);
    let batcher = sink.0.clone();
    let session = state.devices.bridge.open_session(info, Arc::new(sink));
    state.replies.add(session, &batcher);
    Ok(json!({ "session": session }))
}

/// The catalogue app a page at `url` belongs to (`None`: `[package]`), when that is the app
/// Booth put in its window (`placed`); otherwise `Err` with whose page it is. Booth's own pages
/// (the home screen, the launcher) are nobody's app and get no session (`Err(None)`): they
/// never call the bridge, and a session there would count as the front app being there.
fn session_app(catalogue: &Catalogue, url: Option<&Url>, placed: &Owner) -> Result<Option<Arc<App>>, Option<Owner>> {
    let ui = crate::names::ui_base();
    if url.is_some_and(|u| u.scheme() == ui.scheme() && u.host() == ui.host()) {
        return Err(None);
    }
    let app = url.and_then(|u| catalogue.for_url(u).cloned());
    let owner = app.as_ref().map_or(Owner::Package, |a| Owner::App(a.id.clone()));
    if &owner != placed {
        return Err(Some(owner));
    }
    Ok(app)
}

/// A page may only use its own session: another webview's id is refused.
fn owns(state: &AppState, webview: &Webview, session: SessionId) -> bool {
    state.devices.bridge.session_key(session).is_some_and(|k| k == webview.label())
}

/// `booth_call`'s arguments. `params` is the page's parameter object as JSON (not as a string of
/// JSON inside the message: that was escaped, unescaped and parsed a second time per call).
#[derive(serde::Deserialize)]
struct CallArgs {
    session: SessionId,
    dialect: String,
    name: String,
    #[serde(default)]
    params: Value,
}

/// What the page's runtime sends as `booth_call`'s raw body: one call
/// (`{"session", "dialect", "name", "params"}`), or the calls a page made in one turn of its
/// event loop (`{"session", "first", "calls": [{"dialect", "name", "params"}, …]}`, numbered
/// from `first`). Each call of a batch is parsed on its own, so one the bridge cannot read
/// fails alone and nests as deep as a lone call may.
#[derive(serde::Deserialize)]
struct Body<'a> {
    session: SessionId,
    #[serde(default)]
    dialect: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    params: Value,
    #[serde(default)]
    first: u64,
    #[serde(borrow, default)]
    calls: Option<Vec<&'a serde_json::value::RawValue>>,
}

/// The most calls one batch may carry (the runtime sends at most 256): a batch is answered on
/// the thread that received it, and one without bound would hold it as long as a page liked.
const MAX_BATCH: usize = 1024;

/// One call of a batch.
#[derive(serde::Deserialize)]
struct BatchedCall {
    dialect: String,
    name: String,
    #[serde(default)]
    params: Value,
}

async fn call(state: Arc<AppState>, label: String, args: CallArgs) -> Result<Reply, Value> {
    let dialect: Dialect = args.dialect.parse().map_err(|e: String| refuse("INVALID_PARAMS", e))?;
    if state.devices.bridge.session_key(args.session).is_none_or(|k| k != label) {
        return Ok(booth_bridge::envelope::error_reply(
            dialect,
            &args.name,
            booth_bridge::ApiError::bare(booth_bridge::ErrorCode::SessionEnded),
        ));
    }
    Ok(state.devices.bridge.call_value(args.session, dialect, &args.name, args.params).await)
}

type Answer = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Reply, Value>> + Send>>;

/// Starts a call and answers it at once when it can: a call whose answer is ready (device
/// information, state queries: most calls) is answered on the thread that received it; `Err`
/// gives back one that waits. The round trip through the async runtime cost about 80 µs a call
/// on the benchmark machine, 15% of a page's call (README, Performance); plugin handlers never
/// block before their first `.await` (see `booth_bridge::Handler`).
fn start(state: &Arc<AppState>, label: &str, args: CallArgs) -> Result<Result<Reply, Value>, Answer> {
    let mut answer: Answer = Box::pin(call(state.clone(), label.to_string(), args));
    let runtime = tauri::async_runtime::handle();
    let _context = runtime.inner().enter();
    futures::FutureExt::now_or_never(&mut answer).ok_or(answer)
}

/// `booth_call`: a page's call, or the calls it made in one turn, answered by the bridge.
///
/// A batch is answered with one JSON array, an entry per call in order: the reply
/// (`{"ok", "body"}`), `{"error": …}` for a call refused before the bridge, or `null` for a
/// call that waits (a scan, a card, a payment). A waiting call holds no other back: its answer
/// goes later through the page's event Channel as `{"reply": number, …}`. Many calls in flight
/// then cost a few IPC messages instead of one each way per call; a page's lone call is sent
/// and answered exactly as before.
pub fn booth_call(invoke: tauri::ipc::Invoke<tauri::Wry>) {
    let tauri::ipc::Invoke { message, resolver, .. } = invoke;
    let webview = message.webview();
    let state = webview.state::<Arc<AppState>>().inner().clone();
    let label = webview.label().to_string();
    let args = match message.payload() {
        tauri::ipc::InvokeBody::Json(v) => {
            <CallArgs as serde::Deserialize>::deserialize(v).map_err(|e| refuse("INVALID_PARAMS", e.to_string()))
        }
        // The page's runtime sends its calls as JSON text in a raw body.
        tauri::ipc::InvokeBody::Raw(bytes) => match serde_json::from_slice::<Body>(bytes) {
            Ok(Body { calls: Some(calls), .. }) if calls.len() > MAX_BATCH => {
                let why = format!("booth_call: 一次最多 {MAX_BATCH} 个调用 (收到 {})", calls.len());
                return resolver.reject(refuse("INVALID_PARAMS", why));
            }
            Ok(Body { session, calls: Some(calls), first, .. }) => {
                return answer_batch(&state, &label, session, first, &calls, resolver);
            }
            Ok(Body { session, dialect: Some(dialect), name: Some(name), params, .. }) => {
                Ok(CallArgs { session, dialect, name, params })
            }
            Ok(_) => Err(refuse("INVALID_PARAMS", "booth_call: dialect 与 name 必填")),
            Err(e) => return resolver.reject(e.to_string()),
        },
    };
    let args = match args {
        Ok(a) => a,
        Err(e) => return resolver.reject(e),
    };
    let respond = move |r: Result<Reply, Value>| match r {
        Ok(reply) => resolver.resolve(reply),
        Err(e) => resolver.reject(e),
    };
    match start(&state, &label, args) {
        Ok(r) => respond(r),
        Err(answer) => {
            tauri::async_runtime::spawn(async move { respond(answer.await) });
        }
    }
}

/// One entry of a batch's answer (see [`booth_call`]).
fn entry(out: &mut String, r: &Result<Reply, Value>) {
    let written = match r {
        Ok(reply) => serde_json::to_string(reply),
        Err(e) => serde_json::to_string(&json!({ "error": e })),
    };
    // A reply is a JSON tree already and writing it does not fail; were it to, the call gets an
    // error, never `null` (which would leave it waiting).
    out.push_str(&written.unwrap_or_else(|e| json!({ "error": e.to_string() }).to_string()));
}

fn answer_batch(
    state: &Arc<AppState>,
    label: &str,
    session: SessionId,
    first: u64,
    calls: &[&serde_json::value::RawValue],
    resolver: tauri::ipc::InvokeResolver<tauri::Wry>,
) {
    let mut entries: Vec<Option<Result<Reply, Value>>> = Vec::with_capacity(calls.len());
    // Which calls wait, by their place in the batch.
    let mut waiting: Vec<(usize, Answer)> = Vec::new();
    for (i, raw) in calls.iter().enumerate() {
        let args = match serde_json::from_str::<BatchedCall>(raw.get()) {
            Ok(c) => CallArgs { session, dialect: c.dialect, name: c.name, params: c.params },
            // As a lone call's unreadable body: the message as text (the runtime tells a
            // nesting past serde_json's limit from it).
            Err(e) => {
                entries.push(Some(Err(Value::String(e.to_string()))));
                continue;
            }
        };
        match start(state, label, args) {
            Ok(r) => entries.push(Some(r)),
            Err(answer) => {
                entries.push(None);
                waiting.push((i, answer));
            }
        }
    }
    let route = if waiting.is_empty() { None } else { state.replies.route(session) };
    if waiting.is_empty() || route.is_some() {
        for (i, answer) in waiting {
            let id = first.wrapping_add(i as u64);
            let route = route.clone();
            tauri::async_runtime::spawn(async move {
                let r = answer.await;
                let mut out = format!("{{\"reply\":{id},\"answer\":");
                entry(&mut out, &r);
                out.push('}');
                if let Some(batcher) = route.as_ref().and_then(std::sync::Weak::upgrade) {
                    batcher.push(out);
                }
            });
        }
        resolver.resolve(tauri::ipc::Response::new(batch_json(&entries)));
        return;
    }
    // No Channel to answer through (the page's session is ending): the batch waits for all.
    tauri::async_runtime::spawn(async move {
        for (i, answer) in waiting {
            entries[i] = Some(answer.await);
        }
        resolver.resolve(tauri::ipc::Response::new(batch_json(&entries)));
    });
}

fn batch_json(entries: &[Option<Result<Reply, Value>>]) -> String {
    let mut out = String::with_capacity(entries.len() * 320);
    out.push('[');
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match e {
            Some(r) => entry(&mut out, r),
            None => out.push_str("null"),
        }
    }
    out.push(']');
    out
}

#[tauri::command]
pub async fn booth_subscribe(
    webview: Webview,
    state: State<'_, Arc<AppState>>,
    session: SessionId,
    dialect: String,
    name: String,
    on: bool,
) -> Result<(), Value> {
    let dialect: Dialect = dialect.parse().map_err(|e: String| refuse("INVALID_PARAMS", e))?;
    if !owns(&state, &webview, session) {
        return Err(refuse("SESSION_ENDED", "页面会话已结束"));
    }
    let bridge = &state.devices.bridge;
    if on {
        bridge.subscribe(session, dialect, &name).map_err(|e| refuse(e.code.as_str(), e.message))
    } else {
        bridge.unsubscribe(session, dialect, &name);
        Ok(())
    }
}

/// One line of page output (console.*, an uncaught error, an unhandled rejection).
#[derive(Debug, serde::Deserialize)]
pub struct LogEntry {
    level: String,
    text: String,
    #[serde(default)]
    source: String,
}

/// Most lines a window may log per second; the rest are counted and reported, so a page stuck
/// in a loop cannot flood the terminal or the log files.
const LOG_LINES_PER_SECOND: u32 = 200;
/// Longest line kept (the page already cuts at 8,192 characters).
const LOG_TEXT_MAX: usize = 8192;

#[derive(Default)]
pub struct LogLimiter(std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, u32, u64)>>);

impl LogLimiter {
    /// How many of `n` lines may be printed now, and how many were dropped before (reported once).
    fn admit(&self, window: &str, n: u32) -> (u32, u64) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        let slot = map.entry(window.to_string()).or_insert((now, 0, 0));
        if now.duration_since(slot.0) >= std::time::Duration::from_secs(1) {
            *slot = (now, 0, slot.2);
        }
        let room = LOG_LINES_PER_SECOND.saturating_sub(slot.1);
        let admitted = n.min(room);
        slot.1 += admitted;
        let dropped_before = if admitted > 0 { std::mem::take(&mut slot.2) } else { 0 };
        slot.2 += u64::from(n - admitted);
        (admitted, dropped_before)
    }
}

/// Makes a source location readable: the package's own files lose the scheme and host.
fn short_source(source: &str) -> &str {
    let base = crate::names::package_base();
    source.strip_prefix(base.as_str()).unwrap_or(source)
}

/// Page output: printed under the `page` target as `[window] file:line: text`.
#[tauri::command]
pub fn booth_log(
    webview: Webview,
    limiter: State<'_, LogLimiter>,
    shell: State<'_, Arc<Shell>>,
    url: String,
    entries: Vec<LogEntry>,
) {
    let window = webview.label();
    // What console.js reports of a page failing (not a page's own console.error): counted for
    // a package update on trial before the rate limit can drop it.
    for e in entries.iter().filter(|e| e.level == "error") {
        let failing = ["Uncaught ", "Unhandled promise rejection", "failed to load <script>"];
        if failing.iter().any(|f| e.text.starts_with(f)) {
            shell.page_error(window, &e.text);
        }
    }
    let (admitted, dropped) = limiter.admit(window, entries.len().min(u32::MAX as usize) as u32);
    if dropped > 0 {
        tracing::warn!(target: "page", "[{window}] {dropped} lines of page output dropped (over {LOG_LINES_PER_SECOND}/s)");
    }
    for e in entries.into_iter().take(admitted as usize) {
        let mut text = e.text;
        // Tauri's own note when a reply reaches a page that has just reloaded: expected under
        // hot reload, and not the page's output.
        if text.starts_with("[TAURI] Couldn't find callback id") {
            tracing::debug!(target: "page", "[{window}] {text}");
            continue;
        }
        if text.len() > LOG_TEXT_MAX {
            let mut end = LOG_TEXT_MAX;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        let source = if e.source.is_empty() { short_source(&url) } else { short_source(&e.source) };
        match e.level.as_str() {
            "error" => tracing::error!(target: "page", "[{window}] {source}: {text}"),
            "warn" => tracing::warn!(target: "page", "[{window}] {source}: {text}"),
            "debug" => tracing::debug!(target: "page", "[{window}] {source}: {text}"),
            _ => tracing::info!(target: "page", "[{window}] {source}: {text}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_limiter_admits_a_burst_then_counts_what_it_drops() {
        let l = LogLimiter::default();
        assert_eq!(l.admit("main", 150), (150, 0));
        assert_eq!(l.admit("main", 100), (50, 0));
        assert_eq!(l.admit("main", 30), (0, 0));
        assert_eq!(l.admit("secondary", 10), (10, 0), "each window has its own budget");
        let slot = l.0.lock().unwrap().get("main").copied().unwrap();
        assert_eq!(slot.2, 80, "50 + 30 dropped so far");
    }

    fn catalogue() -> Catalogue {
        let fixture = |name: &str| format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let section: booth_apps::catalogue::AppsSection = [
            (
                "cashier".to_string(),
                booth_apps::catalogue::AppEntry { source: fixture("apps-back"), ..Default::default() },
            ),
            (
                "report".to_string(),
                booth_apps::catalogue::AppEntry { source: fixture("apps-report"), ..Default::default() },
            ),
        ]
        .into_iter()
        .collect();
        let catalogue = Catalogue::load(&section);
        assert_eq!(catalogue.apps().count(), 2, "both fixtures load");
        catalogue
    }

    #[test]
    fn a_page_gets_a_session_only_for_the_app_its_window_shows() {
        let catalogue = catalogue();
        let app = |id: &str| Owner::App(id.to_string());
        let at = |base: Url| base.join("index.html").expect("page");
        let cashier = at(crate::names::app_base("cashier").expect("base"));
        let report = at(crate::names::app_base("report").expect("base"));
        let package = at(crate::names::package_base());

        let ok = session_app(&catalogue, Some(&cashier), &app("cashier")).expect("its own window");
        assert_eq!(ok.map(|a| a.id.clone()).as_deref(), Some("cashier"));
        assert!(session_app(&catalogue, Some(&package), &Owner::Package).expect("[package]'s window").is_none());

        // Another app's page in a window Booth gave to cashier, [package]'s page there, and a
        // catalogue page in [package]'s window: no session.
        assert_eq!(session_app(&catalogue, Some(&report), &app("cashier")).err(), Some(Some(app("report"))));
        assert_eq!(session_app(&catalogue, Some(&package), &app("cashier")).err(), Some(Some(Owner::Package)));
        assert_eq!(session_app(&catalogue, Some(&cashier), &Owner::Package).err(), Some(Some(app("cashier"))));
        // A window whose address cannot be read counts as [package]'s page.
        assert_eq!(session_app(&catalogue, None, &app("report")).err(), Some(Some(Owner::Package)));
        // Booth's own pages are no app's, whatever the window shows.
        for page in ["home.html", "launcher.html?reason=exit"] {
            let booth = crate::names::ui_base().join(page).expect("page");
            for placed in [Owner::Package, app("cashier")] {
                assert_eq!(session_app(&catalogue, Some(&booth), &placed).err(), Some(None), "{booth}");
            }
        }
    }

    #[test]
    fn package_sources_are_shortened() {
        let base = crate::names::package_base();
        assert_eq!(short_source(&format!("{base}js/app.js:3:9")), "js/app.js:3:9");
        assert_eq!(short_source("https://cdn.example.com/x.js:1:2"), "https://cdn.example.com/x.js:1:2");
    }
}

/// What a page tells the shell (`js/shell.js`): `activity` (a touch, click or key, `agoMs`
/// ago), `beat` (a heartbeat answer), `admin` (the administrator's gesture), and from the
/// launcher page `launcher` (its state) and `start` (open the mini-program).
/// Only Booth's own scripts of the window may report (they send its page key); the launcher page,
/// Booth's own, may ask for its state and start the package, and the home screen for its apps
/// and to open one.
#[tauri::command]
pub async fn booth_shell(
    webview: Webview,
    request: tauri::ipc::Request<'_>,
    keys: State<'_, Arc<PageKeys>>,
    shell: State<'_, Arc<Shell>>,
    kind: String,
    payload: Value,
) -> Result<Value, Value> {
    let url = webview.url().ok();
    let launcher = matches!(kind.as_str(), "launcher" | "start") && url.as_ref().is_some_and(Shell::is_launcher);
    let home = matches!(kind.as_str(), "home" | "open") && url.as_ref().is_some_and(Shell::is_home);
    if !launcher && !home {
        internal_only(&webview, &request, &keys, "booth_shell")?;
    }
    shell.report(webview.label(), &kind, &payload).map_err(|e| refuse("INVALID_PARAMS", e))
}

/// Refuses a request to an internal command that does not carry its window's page key: it was
/// not sent by Booth's own scripts (a page calling the command itself). Said once per window,
/// not per attempt, so a page cannot flood the log this way.
fn internal_only(
    webview: &Webview,
    request: &tauri::ipc::Request<'_>,
    keys: &PageKeys,
    command: &str,
) -> Result<(), Value> {
    let presented = request.headers().get(page_key::HEADER).map(|v| v.as_bytes());
    if keys.check(webview.label(), presented) {
        return Ok(());
    }
    if keys.first_refusal(webview.label()) {
        tracing::warn!(
            window = webview.label(),
            url = %webview.url().map(|u| u.to_string()).unwrap_or_default(),
            "{command} refused: not sent by Booth's own scripts (a page called it itself); further refusals are not logged"
        );
    }
    Err(refuse("PERMISSION_DENIED", format!("{command} 只接受 Booth 自己的脚本的请求")))
}

/// Booth's own page-side inputs (not a mini-program API): keys of the page window
/// (`{kind: "key", payload: {code}}`), keyboard-wedge scans (`"scan"`, `{code}`) and the
/// enterIDNumber keypad (`"idNumber"`, `{action: "submit", value}` / `{action: "cancel"}`) and
/// the face screen (`"face"`, `{action: "cancel"}` / `{action: "consent", accepted}` /
/// `{action: "shoot"}` on the card capture screen).
/// They act for the pages of the calling window only.
/// Only Booth's own scripts of the window may send them (they carry its page key).
#[tauri::command]
pub async fn booth_input(
    webview: Webview,
    request: tauri::ipc::Request<'_>,
    keys: State<'_, Arc<PageKeys>>,
    state: State<'_, Arc<AppState>>,
    kind: String,
    payload: Value,
) -> Result<Value, Value> {
    internal_only(&webview, &request, &keys, "booth_input")?;
    let devices = &state.devices;
    let sessions = devices.bridge.sessions_for(webview.label());
    let text = |key: &str, max: usize| -> Result<String, Value> {
        match payload.get(key).and_then(Value::as_str) {
            Some(s) if s.len() <= max => Ok(s.to_string()),
            _ => Err(refuse("INVALID_PARAMS", format!("{kind}: {key} 应为不超过 {max} 字节的字符串"))),
        }
    };
    match kind.as_str() {
        "key" => {
            devices.keypad.page_key(&sessions, &text("code", 32)?);
            Ok(json!({}))
        }
        "scan" => {
            devices
                .scanner
                .page_scan(&text("code", booth_scanner::MAX_CODE_BYTES)?)
                .map_err(|e| refuse("INVALID_PARAMS", e.to_string()))?;
            Ok(json!({}))
        }
        "idNumber" => match payload.get("action").and_then(Value::as_str) {
            Some("submit") => {
                let value = text("value", 64)?;
                let mut answer = json!({"ok": false, "code": "notWaiting", "message": "没有等待输入的证件号"});
                for s in sessions {
                    match devices.id_entry.submit(s, &value) {
                        booth_idcard::entry::Submitted::Accepted => return Ok(json!({"ok": true})),
                        booth_idcard::entry::Submitted::Rejected(why) => {
                            answer = json!({"ok": false, "code": why.code(), "message": why.message()})
                        }
                        booth_idcard::entry::Submitted::NotWaiting => {}
                    }
                }
                Ok(answer)
            }
            Some("cancel") => Ok(json!({"ok": sessions.into_iter().any(|s| devices.id_entry.cancel(s))})),
            _ => Err(refuse("INVALID_PARAMS", "idNumber: action 应为 submit 或 cancel")),
        },
        "face" => match (payload.get("action").and_then(Value::as_str), payload.get("accepted")) {
            (Some("cancel"), _) => Ok(json!({"ok": sessions.into_iter().any(|s| devices.face.cancel(s))})),
            (Some("shoot"), _) => Ok(json!({"ok": sessions.into_iter().any(|s| devices.face.shutter(s))})),
            (Some("consent"), Some(Value::Bool(accepted))) => {
                Ok(json!({"ok": sessions.into_iter().any(|s| devices.face.consent(s, *accepted))}))
            }
            _ => Err(refuse("INVALID_PARAMS", "face: action 应为 cancel, shoot 或 consent (accepted: true/false)")),
        },
        "witness" => match payload.get("action").and_then(Value::as_str) {
            #[cfg(target_os = "linux")]
            Some("hangup") => Ok(json!({"ok": sessions.into_iter().any(|s| devices.webrtc.hang_up(s))})),
            #[cfg(not(target_os = "linux"))]
            Some("hangup") => Ok(json!({"ok": false})),
            _ => Err(refuse("INVALID_PARAMS", "witness: action 应为 hangup")),
        },
        other => Err(refuse("INVALID_PARAMS", format!("unknown input `{other}`"))),
    }
}
