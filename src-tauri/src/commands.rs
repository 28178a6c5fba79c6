//! The IPC commands the injected runtime calls. They only forward to the bridge.

use crate::app::AppState;
use booth_bridge::{Dialect, EventMessage, EventSink, Reply, Screen, SessionId, SessionInfo};
use serde_json::{json, Value};
use std::sync::Arc;
use tauri::ipc::Channel;
use tauri::{State, Webview};

/// The label of the main window.
pub const MAIN: &str = "main";
/// The label of the customer-facing window.
pub const SECONDARY: &str = "secondary";

struct ChannelSink(Channel<EventMessage>);

impl EventSink for ChannelSink {
    fn deliver(&self, message: EventMessage) -> bool {
        self.0.send(message).is_ok()
    }
}

fn refuse(code: &str, message: impl Into<String>) -> Value {
    json!({"errorCode": code, "message": message.into()})
}

/// Starts the page's session; a reload or navigation of the same webview replaces it.
#[tauri::command]
pub async fn booth_attach(
    webview: Webview,
    state: State<'_, Arc<AppState>>,
    events: Channel<EventMessage>,
    url: String,
) -> Result<Value, Value> {
    let label = webview.label().to_string();
    let package = &state.package;
    let info = SessionInfo {
        key: label.clone(),
        package_id: package.manifest.id.clone(),
        permissions: package.permissions().clone(),
        dialects: package.manifest.dialect_set(),
        screen: if label == SECONDARY { Screen::Back } else { Screen::Front },
        url,
    };
    let session = state.devices.bridge.open_session(info, Arc::new(ChannelSink(events)));
    Ok(json!({ "session": session }))
}

/// A page may only use its own session: another webview's id is refused.
fn owns(state: &AppState, webview: &Webview, session: SessionId) -> bool {
    state.devices.bridge.session_key(session).is_some_and(|k| k == webview.label())
}

#[tauri::command]
pub async fn booth_call(
    webview: Webview,
    state: State<'_, Arc<AppState>>,
    session: SessionId,
    dialect: String,
    name: String,
    params: String,
) -> Result<Reply, Value> {
    let dialect: Dialect = dialect.parse().map_err(|e: String| refuse("INVALID_PARAMS", e))?;
    if !owns(&state, &webview, session) {
        return Ok(booth_bridge::envelope::error_reply(
            dialect,
            &name,
            booth_bridge::ApiError::bare(booth_bridge::ErrorCode::SessionEnded),
        ));
    }
    Ok(state.devices.bridge.call(session, dialect, &name, &params).await)
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
