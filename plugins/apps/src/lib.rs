//! Several mini-programs on one terminal: the app catalogue (`[apps.<appId>]` of booth.toml,
//! [`catalogue`]) and seed 001's two-screen calls between its apps.
//!
//! - `wxfaceapp.launchMp {appId, hostAppId, miniappType, launchPage, needLogin}` (§3.3): the
//!   front screen's app starts a catalogue app on the back screen (the secondary window).
//! - `wxfaceapp.postMsg {targetAppid, content}` (§3.5) and `wxfaceapp.onRemoteMessage` (§3.6):
//!   a text message to the app on the other screen, delivered as `{senderAppid, content}`, in
//!   order, exactly once, or answered `-8` when it could not be delivered within 3 s.
//! - `ft.finOpenOtherApp {package, url, downloadUrl, alertMsg}` (seed 002 §2.4): the front app
//!   hands the main window to another catalogue app (`url` = `booth-app://<appId>/<page>`, or
//!   `package` = appId), or starts an allow-listed local program (`[apps.<name>] command`,
//!   [`program`]) in front of Booth until it exits or its `max_s` ends it. Nothing outside the
//!   catalogue is ever opened.
//!
//! The windows are the app's: it implements [`TwoScreenHost`] with its secondary window and
//! the catalogue's packages. Which app a page belongs to is the bridge session's `package_id`,
//! which the app sets from the page's origin (`booth://<appId>/`), never from the page's word.
//!
//! The simulator panel's "two screens" device ([`sim`]) switches the app on either screen and
//! posts a message as the other screen's app.
//!
//! Not for: the windows themselves, serving packages, or the home screen (the app's `shell`).

pub mod catalogue;
pub mod program;
pub mod sim;

use booth_bridge::{handler, ApiError, Bridge, CallCtx, Dialect, Done, ErrorCode, Params, Screen};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The bus topic of messages between apps (`{senderAppid, content}`).
pub const TOPIC_REMOTE: &str = "apps.remote";
/// The longest `content` postMsg takes, in characters (seed 001 §3.5, version 2.13).
pub const MAX_CONTENT_CHARS: usize = 2000;
/// How long postMsg waits for the other app to listen before answering `-8`.
pub const DELIVERY_WAIT: Duration = Duration::from_secs(3);
/// A back-screen app counts as starting (a second launchMp answers `-1`) until its page has
/// attached, or for this long.
pub const STARTING_WAIT: Duration = Duration::from_secs(10);

/// Why the back screen could not start an app.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackError {
    /// No second monitor.
    #[error("没有后屏")]
    Absent,
    /// The window system refused.
    #[error("后屏启动失败: {0}")]
    Failed(String),
}

/// What the two-screen calls need from the running app. Calls may block (windows are made on
/// the window system's thread); the plugin runs them off the async runtime.
pub trait TwoScreenHost: Send + Sync + 'static {
    /// Whether there is a second screen to start an app on.
    fn has_back_screen(&self) -> bool;
    /// Where `page` of catalogue app `app_id` is, as a path inside its package (an empty
    /// `page` is the app's entry). `Err` says why not: the app is not in the catalogue, or the
    /// page is not in its package.
    fn resolve_page(&self, app_id: &str, page: &str) -> Result<String, String>;
    /// Shows `page` (from [`Self::resolve_page`]) of app `app_id` on the back screen, replacing
    /// whatever it showed.
    fn launch(&self, app_id: &str, page: &str) -> Result<(), BackError>;
    /// The catalogue app the back screen shows now, if any.
    fn back_app(&self) -> Option<String>;
    /// Puts `page` (from [`Self::resolve_page`]) of app `app_id` in the main window in place
    /// of the front app; an empty `app_id` is `[package]` at its entry.
    fn open_front(&self, app_id: &str, page: &str) -> Result<(), String>;
    /// Ends the back screen's app, if one runs (it shows its default again); `false` when none
    /// ran.
    fn close_back(&self) -> bool;
    /// The catalogue's appIds (its packages, not its programs).
    fn apps(&self) -> Vec<String>;
    /// A program runs (`Some(name)`): Booth's windows step back for it, staying locked down;
    /// `None`: it ended, Booth is in front again.
    fn program_running(&self, name: Option<&str>);
}

/// The scheme of `ft.finOpenOtherApp`'s `url` for a catalogue app: `booth-app://<appId>/<page>`.
pub const APP_URL_SCHEME: &str = "booth-app";
/// Time for finOpenOtherApp's reply to reach the page before its window changes.
pub const REPLY_GRACE: Duration = Duration::from_millis(150);

/// launchMp, postMsg and onRemoteMessage over the app's [`TwoScreenHost`].
pub struct TwoScreens {
    bridge: Bridge,
    host: OnceLock<Arc<dyn TwoScreenHost>>,
    /// The app launchMp is starting on the back screen, and since when.
    starting: Mutex<Option<(String, Instant)>>,
    /// One message at a time per direction (to the front, to the back), so that they arrive in
    /// the order they were sent.
    lanes: [tokio::sync::Mutex<()>; 2],
    /// `[apps.<name>] command` entries.
    programs: Mutex<Vec<program::Program>>,
    /// The program running now.
    running: Arc<Mutex<Option<String>>>,
    /// Done when the last finOpenOtherApp has opened its app: each opening waits for the one
    /// before, so two quick calls open in the order they were made and the later one stays.
    front_opened: Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
}

fn code(code: &str, kind: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::with_message(kind, message).reply_code(code)
}

fn other(screen: Screen) -> Screen {
    match screen {
        Screen::Front => Screen::Back,
        Screen::Back => Screen::Front,
    }
}

fn lane(screen: Screen) -> usize {
    match screen {
        Screen::Front => 0,
        Screen::Back => 1,
    }
}

/// A required string parameter, `-4` otherwise.
fn text<'a>(params: &'a Params, key: &str) -> Result<&'a str, ApiError> {
    match params.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(code("-4", ErrorCode::InvalidParams, format!("{key} 应为字符串"))),
        None => Err(code("-4", ErrorCode::InvalidParams, format!("缺少 {key}"))),
    }
}

/// An integer parameter among `allowed` (a number, or a string of digits as some pages send).
fn choice(params: &Params, key: &str, allowed: &[i64], default: Option<i64>) -> Result<i64, ApiError> {
    let value = match params.get(key) {
        None | Some(Value::Null) => default,
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(_) => None,
    };
    value
        .filter(|v| allowed.contains(v))
        .ok_or_else(|| code("-4", ErrorCode::InvalidParams, format!("{key} 应为 {allowed:?} 之一")))
}

impl TwoScreens {
    pub fn new(bridge: &Bridge) -> Arc<TwoScreens> {
        Arc::new(TwoScreens {
            bridge: bridge.clone(),
            host: OnceLock::new(),
            starting: Mutex::default(),
            lanes: [tokio::sync::Mutex::new(()), tokio::sync::Mutex::new(())],
            programs: Mutex::default(),
            running: Arc::default(),
            front_opened: Mutex::default(),
        })
    }

    /// The programs finOpenOtherApp may start.
    pub fn set_programs(&self, programs: Vec<program::Program>) {
        *self.programs.lock().unwrap_or_else(|p| p.into_inner()) = programs;
    }

    /// The program running now, if any.
    pub fn running_program(&self) -> Option<String> {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// finOpenOtherApp of a program: started now (a failure is the reply), supervised on a
    /// thread of its own; Booth steps back once the reply went out.
    fn start_program(&self, host: Arc<dyn TwoScreenHost>, p: program::Program) -> Result<Done, ApiError> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(other) = running.as_ref() {
            return Err(ApiError::with_message(ErrorCode::Busy, format!("程序 {other} 正在运行")));
        }
        let child = p.start().map_err(|e| {
            tracing::error!(error = %e, "finOpenOtherApp: the program cannot start");
            ApiError::with_message(ErrorCode::DeviceError, e.to_string())
        })?;
        tracing::info!(program = %p.name, pid = child.id(), max_s = p.max.as_secs(), "finOpenOtherApp: program started");
        *running = Some(p.name.clone());
        let slot = self.running.clone();
        let spawned = std::thread::Builder::new().name(format!("program-{}", p.name)).spawn(move || {
            std::thread::sleep(REPLY_GRACE);
            host.program_running(Some(&p.name));
            let outcome = p.supervise(child);
            tracing::info!(program = %p.name, ?outcome, "program ended; Booth in front again");
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = None;
            host.program_running(None);
        });
        if let Err(e) = spawned {
            *running = None;
            return Err(ApiError::new(ErrorCode::Internal, e));
        }
        Ok(Done::from(json!({"errMsg": "finOpenOtherApp:ok"})))
    }

    /// Connects the app's windows (once they can be made).
    pub fn set_host(&self, host: Arc<dyn TwoScreenHost>) {
        if self.host.set(host).is_err() {
            tracing::warn!("two-screen host set twice; keeping the first");
        }
    }

    fn host(&self) -> Result<Arc<dyn TwoScreenHost>, ApiError> {
        self.host.get().cloned().ok_or_else(|| code("-6", ErrorCode::DeviceUnavailable, "本终端没有后屏"))
    }

    /// The app running on `screen`: the back screen's catalogue app, or the front page's app.
    fn running_on(&self, screen: Screen) -> Option<String> {
        match screen {
            Screen::Back => self.host.get().and_then(|h| h.back_app()),
            Screen::Front => self.bridge.sessions_on(Screen::Front).pop().map(|(_, info)| info.package_id),
        }
    }

    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        let me = self.clone();
        bridge.register(
            Dialect::Wxfaceapp,
            "launchMp",
            None,
            handler(move |ctx, params| {
                let me = me.clone();
                async move { me.launch_mp(ctx, params).await }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::Wxfaceapp,
            "postMsg",
            // Longer than the delivery wait, so that the page gets -8 rather than TIMEOUT.
            Some(DELIVERY_WAIT + Duration::from_secs(5)),
            handler(move |ctx, params| {
                let me = me.clone();
                async move { me.post_msg(ctx, params).await }
            }),
        );
        bridge.register_event(Dialect::Wxfaceapp, "onRemoteMessage", TOPIC_REMOTE, Arc::new(|v| Some(v.clone())));
        let me = self.clone();
        bridge.register(
            Dialect::Ft,
            "finOpenOtherApp",
            None,
            handler(move |ctx, params| {
                let me = me.clone();
                async move { me.fin_open_other_app(ctx, params).await }
            }),
        );
    }

    async fn fin_open_other_app(&self, ctx: CallCtx, params: Params) -> Result<Done, ApiError> {
        let optional = |key: &str| -> Result<Option<String>, ApiError> {
            match params.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
                Some(_) => Err(ApiError::invalid(format!("{key} 应为字符串"))),
            }
        };
        let (url, package) = (optional("url")?, optional("package")?);
        optional("downloadUrl")?;
        optional("alertMsg")?;
        let (app_id, page) = match (&url, &package) {
            (Some(url), _) => parse_app_url(url).ok_or_else(|| {
                tracing::warn!(url, "finOpenOtherApp refused: not a catalogue app");
                ApiError::with_message(
                    ErrorCode::PermissionDenied,
                    format!("本终端只能打开应用目录中的小程序 ({APP_URL_SCHEME}://<appId>/<页面>), 不能打开 {url}"),
                )
            })?,
            (None, Some(package)) => (package.clone(), String::new()),
            (None, None) => return Err(ApiError::invalid("缺少 url (booth-app://<appId>/<页面>) 或 package (appId)")),
        };
        if let (Some(_), Some(package)) = (&url, &package) {
            if !package.eq_ignore_ascii_case(&app_id) {
                return Err(ApiError::invalid(format!("package {package} 与 url 中的 appId {app_id} 不一致")));
            }
        }
        if ctx.session.info().screen != Screen::Front {
            return Err(ApiError::with_message(ErrorCode::Unsupported, "只有前屏小程序可以打开其他小程序"));
        }
        let host = self
            .host
            .get()
            .cloned()
            .ok_or_else(|| ApiError::with_message(ErrorCode::Unsupported, "本终端没有应用目录"))?;
        let program = self
            .programs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(&app_id))
            .cloned();
        if let Some(p) = program {
            tracing::info!(from = %ctx.session.info().package_id, program = %p.name, "finOpenOtherApp: a program");
            return self.start_program(host, p);
        }
        let refused = |kind: ErrorCode, why: String| {
            tracing::warn!(app = %app_id, page = %page, why = %why, "finOpenOtherApp refused");
            ApiError::with_message(kind, format!("appId {app_id}: {why}"))
        };
        // Only what booth.toml lists opens; then the page must be in that app's package.
        host.resolve_page(&app_id, "").map_err(|why| refused(ErrorCode::PermissionDenied, why))?;
        let path = host.resolve_page(&app_id, &page).map_err(|why| refused(ErrorCode::InvalidParams, why))?;
        tracing::info!(from = %ctx.session.info().package_id, app = %app_id, page = %path, "finOpenOtherApp");
        // The reply goes out before the page that asked is replaced.
        let (opened, now_opened) = tokio::sync::oneshot::channel();
        let before = self.front_opened.lock().unwrap_or_else(|p| p.into_inner()).replace(now_opened);
        tokio::spawn(async move {
            tokio::time::sleep(REPLY_GRACE).await;
            if let Some(before) = before {
                // Err only when that opening's task ended without saying so; this one goes on.
                let _ = before.await;
            }
            let _opened = opened;
            let (id, p) = (app_id.clone(), path);
            match tokio::task::spawn_blocking(move || host.open_front(&id, &p)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(app = %app_id, error = %e, "finOpenOtherApp: cannot open"),
                Err(e) => tracing::error!(app = %app_id, error = %e, "finOpenOtherApp: cannot open"),
            }
        });
        Ok(Done::from(json!({"errMsg": "finOpenOtherApp:ok"})))
    }

    async fn launch_mp(&self, ctx: CallCtx, params: Params) -> Result<Done, ApiError> {
        if ctx.session.info().screen != Screen::Front {
            return Err(code("-5", ErrorCode::Unsupported, "只有前屏小程序可以启动后屏小程序"));
        }
        let app_id = text(&params, "appId")?.trim().to_string();
        if app_id.is_empty() {
            return Err(code("-4", ErrorCode::InvalidParams, "appId 为空"));
        }
        text(&params, "hostAppId")?;
        // 1 is the development version, which the seed does not run either.
        choice(&params, "miniappType", &[0, 2], None)?;
        choice(&params, "needLogin", &[0, 1], Some(0))?;
        let page = match params.get("launchPage") {
            None | Some(Value::Null) => String::new(),
            Some(_) => text(&params, "launchPage")?.trim().to_string(),
        };
        let host = self.host()?;
        let probe = host.clone();
        let has_screen = tokio::task::spawn_blocking(move || probe.has_back_screen()).await.unwrap_or(false);
        if !has_screen {
            return Err(code("-6", ErrorCode::DeviceUnavailable, "本终端没有后屏"));
        }
        let path = host
            .resolve_page(&app_id, &page)
            .map_err(|why| code("-4", ErrorCode::InvalidParams, format!("appId {app_id}: {why}")))?;
        {
            let mut starting = self.starting.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((app, since)) = starting.as_ref() {
                let attached = self.bridge.sessions_on(Screen::Back).iter().any(|(_, i)| &i.package_id == app);
                if !attached && since.elapsed() < STARTING_WAIT {
                    return Err(code("-1", ErrorCode::Busy, format!("后屏小程序 {app} 正在启动, 请勿重复启动")));
                }
            }
            *starting = Some((app_id.clone(), Instant::now()));
        }
        tracing::info!(app = %app_id, page = %path, "launchMp: starting on the back screen");
        let (id, p) = (app_id.clone(), path.clone());
        let launched = tokio::task::spawn_blocking(move || host.launch(&id, &p))
            .await
            .unwrap_or_else(|e| Err(BackError::Failed(e.to_string())));
        if let Err(e) = launched {
            *self.starting.lock().unwrap_or_else(|p| p.into_inner()) = None;
            tracing::warn!(app = %app_id, error = %e, "launchMp failed");
            return Err(match e {
                BackError::Absent => code("-6", ErrorCode::DeviceUnavailable, e.to_string()),
                BackError::Failed(_) => code("-2", ErrorCode::DeviceError, e.to_string()),
            });
        }
        Ok(Done::from(json!({"replyCode": "0", "reply": "suc calling"})))
    }

    async fn post_msg(&self, ctx: CallCtx, params: Params) -> Result<Done, ApiError> {
        let target = text(&params, "targetAppid")?.trim().to_string();
        if target.is_empty() {
            return Err(code("-4", ErrorCode::InvalidParams, "targetAppid 为空"));
        }
        let content = text(&params, "content")?.to_string();
        let chars = content.chars().count();
        if chars > MAX_CONTENT_CHARS {
            return Err(code(
                "-3",
                ErrorCode::PayloadTooLarge,
                format!("content 有 {chars} 个字符, 上限 {MAX_CONTENT_CHARS}"),
            ));
        }
        let from = ctx.session.info();
        let there = other(from.screen);
        let running =
            self.running_on(there).ok_or_else(|| code("-5", ErrorCode::DeviceUnavailable, "另一屏没有运行小程序"))?;
        if running != target {
            return Err(code("-2", ErrorCode::InvalidParams, format!("另一屏运行的是 {running}, 不是 {target}")));
        }
        let sender = from.package_id.clone();
        let _lane = self.lanes[lane(there)].lock().await;
        let deadline = tokio::time::Instant::now() + DELIVERY_WAIT;
        let payload = json!({"senderAppid": sender, "content": content});
        let bus = ctx.bus.clone();
        loop {
            if self.deliver_now(&bus, there, &target, &payload) {
                tracing::debug!(from = %sender, to = %target, chars, "postMsg delivered");
                return Ok(Done::from(json!({"replyCode": "0", "reply": "suc sending msg"})));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(code(
                    "-8",
                    ErrorCode::Timeout,
                    format!("{target} 在 3 秒内没有接收消息 (onRemoteMessage)"),
                ));
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = ctx.cancel.cancelled() => return Err(ApiError::bare(ErrorCode::Cancelled)),
            }
        }
    }
}

impl TwoScreens {
    /// Hands `payload` to the page of app `target` on `there` that listens (onRemoteMessage);
    /// `false` while none does.
    fn deliver_now(&self, bus: &booth_bridge::EventBus, there: Screen, target: &str, payload: &Value) -> bool {
        let listening = self.bridge.sessions_on(there).into_iter().rev().find(|(id, info)| {
            info.package_id == target && self.bridge.is_subscribed(*id, Dialect::Wxfaceapp, "onRemoteMessage")
        });
        listening.is_some_and(|(id, _)| bus.publish_to(id, TOPIC_REMOTE, payload.clone()))
    }
}

/// The appId and page of `booth-app://<appId>/<page>` (`None` for any other address).
pub fn parse_app_url(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case(APP_URL_SCHEME) {
        return None;
    }
    let (id, page) = rest.split_once('/').unwrap_or((rest, ""));
    catalogue::valid_id(id).then(|| (id.to_string(), page.to_string()))
}

/// Where `page` of a package is: `page` itself, `page.html` or `page/index.html` (mini-program
/// pages are often named without an extension, `pages/index`), whichever `exists`; a query is
/// kept. `None` for anything outside the package (`..`, an absolute path, another scheme).
pub fn resolve_page(page: &str, entry: &str, exists: impl Fn(&str) -> bool) -> Option<String> {
    let page = page.trim();
    let page = if page.is_empty() { entry } else { page };
    let (path, query) = match page.find(['?', '#']) {
        Some(i) => page.split_at(i),
        None => (page, ""),
    };
    let path = path.trim_start_matches("./");
    if path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains(':')
        || path.split('/').any(|part| part == ".." || part == ".")
    {
        return None;
    }
    [path.to_string(), format!("{path}.html"), format!("{}/index.html", path.trim_end_matches('/'))]
        .into_iter()
        .find(|p| exists(p))
        .map(|p| format!("{p}{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_urls_name_a_catalogue_app_and_a_page() {
        assert_eq!(
            parse_app_url("booth-app://report/pages/print?no=3"),
            Some(("report".into(), "pages/print?no=3".into()))
        );
        assert_eq!(parse_app_url("BOOTH-APP://pay"), Some(("pay".into(), String::new())));
        for other in ["https://e.example/", "weixin://dl/business", "booth-app://a.b/x", "booth-app:///x", "report"] {
            assert_eq!(parse_app_url(other), None, "{other}");
        }
    }

    #[test]
    fn pages_resolve_inside_the_package_only() {
        let files = ["index.html", "pages/pay.html", "pages/report/index.html"];
        let exists = |p: &str| files.contains(&p);
        assert_eq!(resolve_page("", "index.html", exists).as_deref(), Some("index.html"));
        assert_eq!(resolve_page("pages/pay", "index.html", exists).as_deref(), Some("pages/pay.html"));
        assert_eq!(resolve_page("pages/pay.html?a=1", "index.html", exists).as_deref(), Some("pages/pay.html?a=1"));
        assert_eq!(resolve_page("./pages/report", "index.html", exists).as_deref(), Some("pages/report/index.html"));
        for outside in ["../x.html", "/etc/passwd", "pages/../index.html", "https://e.example/", "pages/none", "c:\\x"]
        {
            assert_eq!(resolve_page(outside, "index.html", exists), None, "{outside}");
        }
    }
}
