//! Booth's customer-facing second screen (seed 000, 副屏): `openSecondaryScreen
//! {secondaryScreenBase64}` shows a picture on it, `closeSecondaryScreen` turns it off, and
//! `getSecondaryScreenState` answers `{getSecondaryScreenState: 1 | 0 | -1}` (shown, closed, no
//! second screen).
//!
//! The picture is checked here ([`picture::decode`]: base64 of a PNG, JPEG, GIF, BMP or WebP
//! with a size in its header; anything else is `INVALID_PARAMS`). The app shows it through
//! [`SecondaryScreen`], which it implements with its secondary window.
//!
//! Not for: the window itself (placement, creation, kiosk flags: the app's `secondary` module).

pub mod picture;

use booth_bridge::{handler, ApiError, Bridge, Dialect, Done, ErrorCode};
pub use picture::{BadPicture, Picture};
use serde_json::json;
use std::sync::{Arc, OnceLock};

/// What `getSecondaryScreenState` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenState {
    /// Showing (a picture, or the package's own second-screen page).
    Shown,
    /// There is a second screen and it shows nothing.
    Closed,
    /// No second screen (没加载到副屏).
    Absent,
}

impl ScreenState {
    /// The seed's number: 1 shown, 0 closed, -1 no second screen.
    pub fn code(self) -> i32 {
        match self {
            ScreenState::Shown => 1,
            ScreenState::Closed => 0,
            ScreenState::Absent => -1,
        }
    }
}

/// Why the screen could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScreenError {
    /// No second monitor (or no window system): `DEVICE_UNAVAILABLE`.
    #[error("没有副屏")]
    Absent,
    /// The window system refused: `DEVICE_ERROR`.
    #[error("副屏显示失败: {0}")]
    Failed(String),
}

impl From<ScreenError> for ApiError {
    fn from(e: ScreenError) -> Self {
        match e {
            ScreenError::Absent => ApiError::unavailable("没有副屏"),
            ScreenError::Failed(why) => ApiError::new(ErrorCode::DeviceError, why),
        }
    }
}

/// The second screen, as the app provides it. Calls may block (a window is created on the
/// window system's thread); the plugin runs them off the async runtime.
pub trait SecondaryScreen: Send + Sync + 'static {
    fn show_picture(&self, picture: &Picture) -> Result<(), ScreenError>;
    fn close(&self) -> Result<(), ScreenError>;
    fn state(&self) -> ScreenState;
}

/// The display capability: the page-facing calls over the app's [`SecondaryScreen`].
#[derive(Default)]
pub struct Display {
    screen: OnceLock<Arc<dyn SecondaryScreen>>,
}

impl Display {
    pub fn new() -> Arc<Display> {
        Arc::new(Display::default())
    }

    /// Connects the app's screen (once its windows can be made).
    pub fn set_screen(&self, screen: Arc<dyn SecondaryScreen>) {
        if self.screen.set(screen).is_err() {
            tracing::warn!("secondary screen set twice; keeping the first");
        }
    }

    /// The screen's state; `Absent` until the app connects one.
    pub fn state(&self) -> ScreenState {
        self.screen.get().map_or(ScreenState::Absent, |s| s.state())
    }

    fn screen(&self) -> Result<Arc<dyn SecondaryScreen>, ApiError> {
        self.screen.get().cloned().ok_or_else(|| ScreenError::Absent.into())
    }

    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "openSecondaryScreen",
            None,
            handler(move |_, params| {
                let me = me.clone();
                async move {
                    let text = params
                        .str("secondaryScreenBase64")?
                        .ok_or_else(|| ApiError::invalid("缺少 secondaryScreenBase64"))?;
                    let picture = picture::decode(text).map_err(ApiError::invalid)?;
                    let screen = me.screen()?;
                    tracing::info!(
                        mime = picture.mime,
                        width = picture.width,
                        height = picture.height,
                        "second screen: picture"
                    );
                    blocking(move || screen.show_picture(&picture)).await?;
                    Ok(Done::from(json!({})))
                }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "closeSecondaryScreen",
            None,
            handler(move |_, _| {
                let me = me.clone();
                async move {
                    let screen = me.screen()?;
                    blocking(move || screen.close()).await?;
                    Ok(Done::from(json!({})))
                }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "getSecondaryScreenState",
            None,
            handler(move |_, _| {
                let me = me.clone();
                async move {
                    let state = tokio::task::spawn_blocking(move || me.state())
                        .await
                        .map_err(|e| ApiError::new(ErrorCode::Internal, e))?;
                    Ok(Done::from(json!({ "getSecondaryScreenState": state.code() })))
                }
            }),
        );
    }
}

async fn blocking(f: impl FnOnce() -> Result<(), ScreenError> + Send + 'static) -> Result<(), ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => Err(ApiError::new(ErrorCode::Internal, e)),
    }
}
