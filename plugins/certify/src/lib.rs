//! Seed 003's real-person certification started from a mini-program:
//! `my.call('startBizService', {name: 'open-certify', param: JSON.stringify({certifyId, url})}, cb)`.
//!
//! The page's server has already asked its certification service (Alibaba Cloud's
//! `InitFaceVerify`, or `POST /v1/certify/start` of a `booth-provider/v1` provider) for a
//! `certifyId` and a page URL. Booth opens that URL in its own certification window above the
//! calling page ([`CertifyWindow`], implemented by the app): only the URL's origin may load
//! there, and it must be one of the manifest's `origins`; the camera is granted to that origin
//! in that window only, and Booth's own camera is offered to the page for web views that give
//! pages no camera (Booth holds the device): a preview stream to show and single frames the page
//! may read, both granted to the certification origin alone and revoked when the window closes. The answer ([`outcome`]) is seed 003's `resultStatus`:
//!
//! - `9000` when the page leaves for its return URL with `status=PASSED`;
//! - `6001` when the person closes the window (its 关闭 button);
//! - `6002` when the page cannot be loaded (the service is unreachable, or a gateway fails);
//! - `4000` with `result.errorCode` otherwise (`USER_IS_NOT_CERTIFY`, …).
//!
//! The seed says the page's answer can be altered: a mini-program's server asks its service for
//! the final result (`GET /v1/certify/{id}`) before it trusts a `9000`.
//!
//! Not for: the window itself (the app's `shell/certify.rs`), the certification service (the
//! reference one is `services/provider`), or anything biometric: the page's frames go from the
//! page to its service and never through Booth's logs.

pub mod outcome;
pub mod param;
pub mod sim;

use booth_bridge::{handler, ApiError, Bridge, CallCtx, Dialect, Done, ErrorCode, Params};
use booth_camera::preview::{Grant, Preview};
pub use outcome::{reply_for, WindowEvent};
pub use param::CertifyParam;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;
use url::Url;

/// How long one certification may take before the call answers `4000` `TIMEOUT` and the window
/// closes (Alibaba Cloud's pages allow 30 minutes for a certifyId; a kiosk should not wait that long).
pub const LIFETIME: Duration = Duration::from_secs(600);

/// What the app's certification window is asked to show.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenRequest {
    /// The calling page's window: the certification window goes above it.
    pub parent: String,
    pub url: Url,
    /// The only origin that may load in the window (`scheme://host[:port]`).
    pub origin: String,
    /// Booth's camera for the page (on 127.0.0.1, readable by `origin` only), when there is one.
    pub camera: Option<Grant>,
}

/// The certification window, as the app provides it. `open` may block (a window is made on the
/// window system's thread); the plugin calls it off the async runtime.
pub trait CertifyWindow: Send + Sync + 'static {
    /// Shows the page; what happens to it goes to `events` until [`CertifyWindow::close`].
    fn open(&self, request: &OpenRequest, events: mpsc::UnboundedSender<WindowEvent>) -> Result<(), String>;
    /// Closes the window, if it is open, and stops reporting its events. Must not block: it is
    /// called from the async runtime (the app posts the work to the window system's thread).
    fn close(&self);
}

/// The open-certify capability.
pub struct Certify {
    sim: Option<Arc<sim::SimCertify>>,
    window: OnceLock<Arc<dyn CertifyWindow>>,
    /// Origins the certification page may come from (the manifest's `origins`).
    origins: OnceLock<Vec<String>>,
    camera: Option<booth_camera::Camera>,
    preview: tokio::sync::Mutex<Option<Arc<Preview>>>,
    /// One certification at a time: there is one window.
    busy: AtomicBool,
}

impl Certify {
    /// `sim`: answer with the outcome chosen in the simulator panel instead of opening a window.
    /// `camera`: Booth's camera, whose preview the page is offered.
    pub fn new(sim: bool, camera: Option<booth_camera::Camera>) -> Arc<Certify> {
        Arc::new(Certify {
            sim: sim.then(Arc::default),
            window: OnceLock::new(),
            origins: OnceLock::new(),
            camera,
            preview: tokio::sync::Mutex::default(),
            busy: AtomicBool::new(false),
        })
    }

    /// The simulator's controls, when simulated.
    pub fn sim(&self) -> Option<Arc<sim::SimCertify>> {
        self.sim.clone()
    }

    /// Connects the app's window and the package's allowed origins (once its windows can be made).
    pub fn set_window(&self, window: Arc<dyn CertifyWindow>, origins: Vec<String>) {
        if self.window.set(window).is_err() || self.origins.set(origins).is_err() {
            tracing::warn!("certification window set twice; keeping the first");
        }
    }

    /// The origins the certification page may come from; empty until the app connects them.
    pub fn origins(&self) -> &[String] {
        self.origins.get().map_or(&[], |o| o.as_slice())
    }

    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "startBizService",
            // The bridge's own limit is a backstop: the call ends itself at LIFETIME.
            Some(LIFETIME + Duration::from_secs(30)),
            handler(move |ctx, params| {
                let me = me.clone();
                async move { me.start_biz_service(ctx, params).await }
            }),
        );
    }

    async fn start_biz_service(self: Arc<Self>, ctx: CallCtx, params: Params) -> Result<Done, ApiError> {
        let p = param::parse(&params)?;
        param::check_origin(&p.url, self.origins())?;
        tracing::info!(certify = %param::short(&p.certify_id), origin = %p.url.origin().ascii_serialization(), "open-certify");
        if let Some(sim) = &self.sim {
            let event = sim.next(&p).await;
            return reply_for(&p.certify_id, event);
        }
        let window = self.window.get().cloned().ok_or_else(|| ApiError::unavailable("认证窗口不可用"))?;
        if self.busy.swap(true, Ordering::SeqCst) {
            return Err(ApiError::new(ErrorCode::Busy, "另一个实人认证正在进行"));
        }
        let origin = p.url.origin().ascii_serialization();
        let camera = self.grant(&origin).await;
        // Closes the window and ends the grant however the call ends (answered, timed out,
        // or its page gone). The camera keeps running meanwhile, so that each frame the page
        // asks for comes at once.
        let _open = Opened {
            certify: self.clone(),
            window: window.clone(),
            _warm: camera.as_ref().and_then(|_| self.camera.as_ref()?.subscribe().ok()),
        };
        let request = OpenRequest { parent: ctx.session.info().key.clone(), origin, url: p.url.clone(), camera };
        let (tx, mut rx) = mpsc::unbounded_channel();
        let opener = window.clone();
        tokio::task::spawn_blocking(move || opener.open(&request, tx))
            .await
            .map_err(|e| ApiError::new(ErrorCode::Internal, e))?
            .map_err(|e| ApiError::new(ErrorCode::DeviceError, format!("认证窗口无法打开: {e}")))?;
        let event = tokio::select! {
            e = rx.recv() => e.unwrap_or(WindowEvent::Closed),
            _ = tokio::time::sleep(LIFETIME) => WindowEvent::TimedOut,
            _ = ctx.cancel.cancelled() => return Err(ApiError::bare(ErrorCode::Cancelled)),
        };
        tracing::info!(certify = %param::short(&p.certify_id), outcome = event.name(), "open-certify ended");
        reply_for(&p.certify_id, event)
    }

    /// Booth's camera for a page of `origin`, if there is a camera.
    async fn grant(&self, origin: &str) -> Option<Grant> {
        let camera = self.camera.clone()?;
        if camera.status().backend == "none" {
            return None;
        }
        let mut p = self.preview.lock().await;
        if p.is_none() {
            match Preview::start(camera).await {
                Ok(started) => *p = Some(started),
                Err(e) => {
                    tracing::warn!(error = %e, "certification window: no camera preview");
                    return None;
                }
            }
        }
        p.as_ref().map(|p| p.grant(PREVIEW_SCREEN, origin))
    }
}

const PREVIEW_SCREEN: &str = "certify";

struct Opened {
    certify: Arc<Certify>,
    window: Arc<dyn CertifyWindow>,
    _warm: Option<booth_camera::Subscription>,
}

impl Drop for Opened {
    fn drop(&mut self) {
        // Before the next certification may start: its window must not be the one closed.
        self.window.close();
        if let Ok(p) = self.certify.preview.try_lock() {
            if let Some(p) = p.as_ref() {
                p.revoke(PREVIEW_SCREEN);
            }
        }
        self.certify.busy.store(false, Ordering::SeqCst);
    }
}
