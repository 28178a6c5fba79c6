//! Seed 001's face login (运行中登录): `wxfaceapp.isLoginOnFaceApp`, `faceLogin` and
//! `logoutOnFaceApp`, with one login state per terminal.
//!
//! - engine `provider`: the face screen and liveness on this terminal, then
//!   `POST /v1/session/face-login`; the provider's session is ended with `/v1/session/logout`.
//! - engine `local`: a local 1:N login against the terminal's gallery (the partition of
//!   `[face] org_out_id`/`component_out_id`, else all); there is no session to end elsewhere.
//!
//! The login ends with `logoutOnFaceApp`, when the shell publishes [`APPLET_RESET_TOPIC`]
//! (the mini-program exits, the idle reset), and when the page's operation watcher runs out
//! (`ampeOperationTimeout`, [`booth_session::OPERATION_TIMEOUT_TOPIC`]: nobody touched the
//! page for its time, so the person has most likely walked away). `relaunchUrl` is checked but not followed: the
//! page stays where it is.

use super::provider::provider_failed;
use super::{failed, FaceService, Mode};
use booth_bridge::{handler, ApiError, Bridge, CallCtx, Dialect, Done, ErrorCode, Params};
use booth_provider_client::wire;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Published by the shell when the mini-program is gone (`{"why": "exit" | "idle"}`): the
/// customer left, so does the login.
pub const APPLET_RESET_TOPIC: &str = "shell.applet_reset";

/// Seed 001's replies, word for word.
const LOGIN_OK: &str = "face login suc";
const ALREADY: &str = "already in login status, no need to face login";
const LOGOUT_OK: &str = "logout suc!";

/// Someone is logged in on this terminal (who, the provider knows; the terminal keeps no id).
pub(super) struct Login {
    /// The provider's session (`None` for a local login).
    session: Option<String>,
    /// Where to end the provider's session from when the login is cleared off a call.
    runtime: tokio::runtime::Handle,
    /// This login among all of this run's (quickPay allows one payment per login).
    id: u64,
    since: std::time::Instant,
    /// A payment code the provider issued for the face of the login (quickPay charges it).
    pay_code: Option<String>,
}

/// What a payment may know of the current login: which one it is, since when, and the
/// provider's session (who it is, the provider knows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginTicket {
    pub id: u64,
    pub since: std::time::Instant,
    pub session: Option<String>,
    pub pay_code: Option<String>,
}

/// Asks the provider for a payment code for the face of a login (set by booth-payment).
pub type LoginPayCode = std::sync::Arc<
    dyn Fn(wire::Face) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>> + Send>> + Send + Sync,
>;

static LOGINS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Login {
    fn new(session: Option<String>) -> Login {
        Login {
            session,
            runtime: tokio::runtime::Handle::current(),
            id: LOGINS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            since: std::time::Instant::now(),
            pay_code: None,
        }
    }
}

/// A failed faceLogin: "具体返回码和facePay是一样的" — "-6" 超时, else "-1" 未知错误.
fn login_failed(e: ApiError) -> ApiError {
    let code = if e.code == ErrorCode::Timeout { "-6" } else { "-1" };
    e.reply_code(code)
}

/// faceLogin's `relaunchUrl` (seed 001: "若传入正确的页面URL,则App会在登录成功后,重新路由至传入页面"):
/// a page of the package itself, as a path from the package's root (`pages/pay/pay.html`; a
/// leading `/` is allowed, a query and a fragment too). No scheme, no host, no `..`: a login must
/// not send the page anywhere else. The runtime (miniapp-host) does the navigation after the
/// success callback, and adds `.html` to a last segment without an extension, as a
/// mini-program's page path (`pages/pay/pay`) names a page without one. Empty: stay.
pub fn relaunch_path(url: &str) -> Result<Option<String>, ApiError> {
    let url = url.trim();
    if url.is_empty() {
        return Ok(None);
    }
    let path = url.split(['?', '#']).next().unwrap_or("");
    let bad = url.len() > 512
        || path.contains(':')
        || path.contains('\\')
        || url.starts_with("//")
        || url.chars().any(char::is_control)
        || path.split('/').any(|seg| seg == ".." || seg == ".")
        || path.trim_start_matches('/').is_empty();
    if bad {
        return Err(ApiError::new(
            ErrorCode::InvalidParams,
            "relaunchUrl 应为本小程序内的页面路径 (如 pages/pay/pay.html)".to_string(),
        ));
    }
    Ok(Some(url.trim_start_matches('/').to_string()))
}

impl FaceService {
    /// Whether someone is logged in (for tests and the admin screen; no identity is given out).
    pub fn logged_in(&self) -> bool {
        self.login.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// Connects quickPay: after each login through the provider, `ask` gets a payment code for
    /// the login's face.
    pub fn set_login_pay_code(&self, ask: LoginPayCode) {
        if self.login_pay_code.set(ask).is_err() {
            tracing::warn!("face: login payment code set twice; keeping the first");
        }
    }

    /// The current login, if any (quickPay).
    pub fn login_ticket(&self) -> Option<LoginTicket> {
        self.login.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|l| LoginTicket {
            id: l.id,
            since: l.since,
            session: l.session.clone(),
            pay_code: l.pay_code.clone(),
        })
    }

    /// Ends the login, if any, and the provider's session behind it (in the background: the
    /// terminal forgets the person at once whatever the provider answers).
    pub fn clear_login(&self, why: &str) {
        let Some(login) = self.login.lock().unwrap_or_else(|p| p.into_inner()).take() else { return };
        tracing::info!(why, "face login ended");
        if let (Some(session), Some(provider)) = (login.session, self.provider.get().cloned()) {
            let req = wire::LogoutRequest { terminal: self.config.sn.clone(), session_id: session };
            login.runtime.spawn(async move {
                if let Err(e) = provider.logout(&req).await {
                    tracing::warn!(code = %e.code, "face login: the provider's session was not ended");
                }
            });
        }
    }

    async fn face_login(self: &Arc<Self>, ctx: CallCtx, params: Params) -> Result<Done, ApiError> {
        let multi = params.bool("enableMultiLogin")?.unwrap_or(false);
        relaunch_path(params.str("relaunchUrl")?.unwrap_or_default())?;
        if !multi && self.logged_in() {
            return Ok(Done::from(json!({"replyCode": "0", "reply": ALREADY})));
        }
        if self.config.via_provider {
            self.the_provider()?;
        }
        self.prepare().await?;
        let capture = self.capture(&ctx, Mode::Recognize).await?;
        let login = if self.config.via_provider {
            let provider = self.the_provider()?;
            let face = self.wire_face(&capture).await?;
            let req = wire::FaceLoginRequest { terminal: self.config.sn.clone(), face: face.clone() };
            let answer = provider.face_login(&req).await.map_err(provider_failed)?;
            let mut login = Login::new(Some(answer.session_id));
            // quickPay's payment without a second face: a code for this face, asked now.
            if let Some(ask) = self.login_pay_code.get() {
                login.pay_code = ask(face).await;
            }
            login
        } else {
            let gallery = self.gallery().map_err(ApiError::unavailable)?;
            self.identify(&gallery, self.config.default_partition.as_ref(), &capture)
                .ok_or_else(|| failed(ErrorCode::DeviceError, "NOT_ENROLLED", "未找到已登记的人脸".into()))?;
            Login::new(None)
        };
        // A new login (enableMultiLogin) replaces the one before, whose session ends.
        self.clear_login("faceLogin again");
        *self.login.lock().unwrap_or_else(|p| p.into_inner()) = Some(login);
        tracing::info!("faceLogin: logged in");
        Ok(Done::from(json!({"replyCode": "0", "reply": LOGIN_OK})))
    }

    async fn logout(self: &Arc<Self>) -> Result<Done, ApiError> {
        let Some(login) = self.login.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            // Nobody logged in: the state asked for is the state there is.
            return Ok(Done::from(json!({"replyCode": "0", "reply": LOGOUT_OK})));
        };
        tracing::info!("logoutOnFaceApp: logged out");
        if let (Some(session), Some(provider)) = (login.session, self.provider.get().cloned()) {
            let req = wire::LogoutRequest { terminal: self.config.sn.clone(), session_id: session };
            if let Err(e) = provider.logout(&req).await {
                // The terminal has forgotten the person; the provider's session runs out by
                // itself. The seed's failure reply is "logout suc!" too; subCode says why.
                return Err(ApiError::with_message(ErrorCode::DeviceUnavailable, LOGOUT_OK)
                    .reply_code("-1")
                    .data(json!({"subCode": e.code.as_str(), "subMessage": e.message})));
            }
        }
        Ok(Done::from(json!({"replyCode": "0", "reply": LOGOUT_OK})))
    }

    /// Ends the login when the shell says the mini-program is gone, and when a page's operation
    /// watcher runs out (that event goes to its page only: the bridge's observers see it). An
    /// observer sees each event by reference where it is published: no copy of every event (a
    /// microphone's PCM chunks among them) and no thread woken per event.
    pub fn watch_applet_resets(self: &Arc<Self>, bridge: &Bridge) {
        bridge.add_observer(Arc::new(OperationTimeouts(Arc::downgrade(self))));
    }

    /// Registers isLoginOnFaceApp, faceLogin and logoutOnFaceApp.
    pub(super) fn register_login(self: &Arc<Self>, bridge: &Bridge, limit: Duration) {
        let me = self.clone();
        bridge.register(
            Dialect::Wxfaceapp,
            "isLoginOnFaceApp",
            None,
            handler(move |_ctx, _params| {
                let me = me.clone();
                async move {
                    if me.logged_in() {
                        Ok(Done::from(json!({})))
                    } else {
                        Err(ApiError::with_message(ErrorCode::DeviceError, "not login on face app").reply_code("-1"))
                    }
                }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::Wxfaceapp,
            "faceLogin",
            Some(limit),
            handler(move |ctx, params| {
                let me = me.clone();
                async move { me.face_login(ctx, params).await.map_err(login_failed) }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::Wxfaceapp,
            "logoutOnFaceApp",
            Some(Duration::from_secs(15)),
            handler(move |_ctx, _params| {
                let me = me.clone();
                async move { me.logout().await }
            }),
        );
    }
}

/// Sees the operation watcher's timeout, which is published to its page alone.
struct OperationTimeouts(std::sync::Weak<FaceService>);

impl booth_bridge::Observer for OperationTimeouts {
    fn sees_calls(&self) -> bool {
        false
    }

    fn event(&self, event: &booth_bridge::DeviceEvent) {
        if event.topic == booth_session::OPERATION_TIMEOUT_TOPIC {
            if let Some(face) = self.0.upgrade() {
                face.clear_login("operation timeout");
            }
        } else if event.topic == APPLET_RESET_TOPIC {
            if let Some(face) = self.0.upgrade() {
                face.clear_login(event.payload.get("why").and_then(Value::as_str).unwrap_or("reset"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::relaunch_path;

    #[test]
    fn relaunch_urls_stay_inside_the_package() {
        assert_eq!(relaunch_path("").unwrap(), None);
        assert_eq!(relaunch_path("pages/pay/pay").unwrap().as_deref(), Some("pages/pay/pay"));
        assert_eq!(
            relaunch_path("/index.html?after=login#top").unwrap().as_deref(),
            Some("index.html?after=login#top")
        );
        assert_eq!(relaunch_path("pay.html?next=https://x").unwrap().as_deref(), Some("pay.html?next=https://x"));
        for bad in [
            "https://evil.example/",
            "javascript:alert(1)",
            "//evil.example/x",
            "../other/index.html",
            "pages/../../x.html",
            "pages\\..\\x",
            "/",
            "a\nb",
        ] {
            let e = relaunch_path(bad).unwrap_err();
            assert_eq!(e.code, booth_bridge::ErrorCode::InvalidParams, "{bad}");
        }
    }
}
