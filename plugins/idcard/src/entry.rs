//! `enterIDNumber` (seed 000): Booth's own on-screen keypad for typing an 18-character ID
//! number over the mini-program. The keypad is page-side UI that the app shows through
//! [`EntryScreen`]; what it submits comes back through [`IdEntry::submit`] and is validated
//! here (GB 11643 check character, region, birth date) before the page's call is answered.
//!
//! Replies: success `data: {idNum}`; timeout `手输证件号超时` (TIMEOUT); cancel
//! `取消手输证件号` (CANCELLED), as seed 000 words them.

use crate::id_number::{validate, Invalid};
use booth_bridge::{handler, ApiError, Bridge, Dialect, Done, ErrorCode, SessionId};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::oneshot;

pub const TIMEOUT_MESSAGE: &str = "手输证件号超时";
pub const CANCEL_MESSAGE: &str = "取消手输证件号";
/// `params.timeout` bounds (milliseconds), a Booth addition.
pub const TIMEOUT_RANGE_MS: std::ops::RangeInclusive<i64> = 5_000..=300_000;

/// Shows and hides the keypad over one page (the app implements it with its webviews).
pub trait EntryScreen: Send + Sync + 'static {
    /// Shows the keypad over the page in `window` (a webview label).
    fn show(&self, window: &str, options: &Value) -> Result<(), String>;
    fn hide(&self, window: &str);
}

enum Outcome {
    Number(String),
    Cancelled,
}

struct Pending {
    window: String,
    tx: Option<oneshot::Sender<Outcome>>,
}

/// What a submission from the keypad got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Valid: the page's call is answered and the keypad closes.
    Accepted,
    /// Not valid: the keypad stays open and shows why.
    Rejected(Invalid),
    /// No enterIDNumber call is waiting for this page.
    NotWaiting,
}

/// The pending `enterIDNumber` calls, one per page at most.
pub struct IdEntry {
    screen: OnceLock<Arc<dyn EntryScreen>>,
    pending: Mutex<HashMap<SessionId, Pending>>,
    default_timeout: Duration,
}

impl IdEntry {
    pub fn new(default_timeout: Duration) -> Arc<IdEntry> {
        Arc::new(IdEntry { screen: OnceLock::new(), pending: Mutex::default(), default_timeout })
    }

    /// Connects the keypad UI (once the windows exist).
    pub fn set_screen(&self, screen: Arc<dyn EntryScreen>) {
        if self.screen.set(screen).is_err() {
            tracing::warn!("ID number keypad screen set twice; keeping the first");
        }
    }

    fn take(&self, session: SessionId) -> Option<Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&session)
    }

    /// The keypad submitted `value` for the page of `session`.
    pub fn submit(&self, session: SessionId, value: &str) -> Submitted {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let Some(p) = pending.get_mut(&session) else { return Submitted::NotWaiting };
        match validate(value) {
            Ok(number) => {
                if let Some(tx) = p.tx.take() {
                    let _ = tx.send(Outcome::Number(number));
                }
                Submitted::Accepted
            }
            Err(why) => Submitted::Rejected(why),
        }
    }

    /// The person pressed cancel on the keypad of `session`'s page.
    pub fn cancel(&self, session: SessionId) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        match pending.get_mut(&session).and_then(|p| p.tx.take()) {
            Some(tx) => tx.send(Outcome::Cancelled).is_ok(),
            None => false,
        }
    }

    /// Whether a keypad is open for `session` (for tests and /health).
    pub fn waiting(&self, session: SessionId) -> bool {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&session)
    }

    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        let me = self.clone();
        let limit = Duration::from_millis(*TIMEOUT_RANGE_MS.end() as u64) + Duration::from_secs(5);
        bridge.register(
            Dialect::My,
            "enterIDNumber",
            Some(limit),
            handler(move |ctx, params| {
                let me = me.clone();
                async move {
                    let timeout = params
                        .int_in("timeout", TIMEOUT_RANGE_MS)?
                        .map(|ms| Duration::from_millis(ms as u64))
                        .unwrap_or(me.default_timeout);
                    let Some(screen) = me.screen.get().cloned() else {
                        return Err(ApiError::unavailable("没有可显示键盘的屏幕"));
                    };
                    let session = ctx.session.id();
                    let window = ctx.session.info().key.clone();
                    let (tx, rx) = oneshot::channel();
                    {
                        let mut pending = me.pending.lock().unwrap_or_else(|p| p.into_inner());
                        if pending.contains_key(&session) {
                            return Err(ApiError::new(ErrorCode::Busy, "证件号键盘已打开"));
                        }
                        pending.insert(session, Pending { window: window.clone(), tx: Some(tx) });
                    }
                    // Closes the keypad however this call ends (answered, timed out, page gone).
                    let _close = Close { entry: me.clone(), session, screen: screen.clone() };
                    let options = json!({ "timeoutMs": timeout.as_millis() as u64 });
                    screen.show(&window, &options).map_err(ApiError::unavailable)?;
                    tokio::select! {
                        r = rx => match r {
                            Ok(Outcome::Number(n)) => Ok(Done::from(json!({ "idNum": n }))),
                            Ok(Outcome::Cancelled) | Err(_) => {
                                Err(ApiError::with_message(ErrorCode::Cancelled, CANCEL_MESSAGE))
                            }
                        },
                        _ = tokio::time::sleep(timeout) => Err(ApiError::with_message(ErrorCode::Timeout, TIMEOUT_MESSAGE)),
                        _ = ctx.cancel.cancelled() => Err(ApiError::bare(ErrorCode::Cancelled)),
                    }
                }
            }),
        );
    }
}

struct Close {
    entry: Arc<IdEntry>,
    session: SessionId,
    screen: Arc<dyn EntryScreen>,
}

impl Drop for Close {
    fn drop(&mut self) {
        if let Some(p) = self.entry.take(self.session) {
            self.screen.hide(&p.window);
        }
    }
}
