//! The loopback control endpoint: health for supervisors, and simulated hardware events for
//! developers' and test authors' own tests.
//!
//! - `GET /health` → `{status, package: {id, name, version, location}, version, sessions, devices}`
//! - `POST /sim/scanner` with `{"code": "…"}` → the simulated scanner reads that code.
//!
//! It listens on 127.0.0.1 only and never on another interface.

use crate::devices::Devices;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use booth_miniapp_host::Package;
use booth_scanner::ScannerError;
use serde_json::{json, Value};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;

/// The port used with `--sim` when neither `--control-port` nor booth.toml names one.
pub const DEFAULT_PORT: u16 = 17800;

pub struct ControlState {
    pub devices: Arc<Devices>,
    pub package: Arc<Package>,
    /// Reports the windows' state for `/health` (absent in headless tests).
    pub windows: Option<Box<dyn Fn() -> Value + Send + Sync>>,
}

pub fn router(state: Arc<ControlState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/sim/scanner", post(sim_scanner))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint; see README, Control endpoint") })
        .with_state(state)
}

/// Binds 127.0.0.1:`port` (0 picks a free port) before the app starts, so a taken port is
/// reported at once.
pub fn bind(port: u16) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Serves until the process ends.
pub async fn serve(listener: TcpListener, state: Arc<ControlState>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "control endpoint cannot listen");
            return;
        }
    };
    if let Err(e) = axum::serve(listener, router(state)).await {
        tracing::error!(error = %e, "control endpoint stopped");
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn health(State(s): State<Arc<ControlState>>) -> Json<Value> {
    let m = &s.package.manifest;
    Json(json!({
        "status": "ok",
        "version": crate::VERSION,
        "package": {"id": m.id, "name": m.name, "version": m.version, "location": s.package.location()},
        "sessions": s.devices.bridge.session_count(),
        "devices": {"scanner": s.devices.scanner.status()},
        "windows": s.windows.as_ref().map(|w| w()).unwrap_or(Value::Null),
    }))
}

async fn sim_scanner(State(s): State<Arc<ControlState>>, body: Bytes) -> Response {
    let code = match serde_json::from_slice::<Value>(&body) {
        Ok(v) => match v.get("code") {
            Some(Value::String(c)) => c.clone(),
            _ => return error(StatusCode::BAD_REQUEST, "body must be {\"code\": \"<string>\"}"),
        },
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("body is not JSON: {e}")),
    };
    match s.devices.scanner.inject(&code) {
        Ok(()) => Json(json!({"ok": true})).into_response(),
        Err(e @ ScannerError::NotSimulated(_)) => error(StatusCode::CONFLICT, &e.to_string()),
        Err(e @ ScannerError::InvalidCode) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn state(sim: bool) -> (Arc<ControlState>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("miniapp.json"),
            r#"{"id":"t","name":"T","version":"1.2.3","entry":"index.html"}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("index.html"), "x").unwrap();
        let package = Arc::new(Package::load(dir.path().to_str().unwrap()).unwrap());
        let devices = Arc::new(Devices::start(&Config::default(), sim));
        (Arc::new(ControlState { devices, package, windows: None }), dir)
    }

    async fn send(state: Arc<ControlState>, method: &str, uri: &str, body: &str) -> (StatusCode, Value) {
        let req = Request::builder().method(method).uri(uri).body(Body::from(body.to_string())).unwrap();
        let res = router(state).oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn health_names_the_package() {
        let (s, _d) = state(true);
        let (status, body) = send(s, "GET", "/health", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "ok");
        assert_eq!(body["package"]["version"], "1.2.3");
        assert_eq!(body["sessions"], 0);
        assert_eq!(body["devices"]["scanner"]["backend"], "sim");
    }

    #[tokio::test]
    async fn sim_scanner_publishes_the_code() {
        let (s, _d) = state(true);
        let mut rx = s.devices.bridge.bus().subscribe();
        let (status, _) = send(s.clone(), "POST", "/sim/scanner", r#"{"code":"12345"}"#).await;
        assert_eq!(status, StatusCode::OK);
        let ev = rx.recv().await.unwrap();
        assert_eq!(ev.topic, booth_scanner::TOPIC_CODE);
        assert_eq!(ev.payload["code"], "12345");
    }

    #[tokio::test]
    async fn sim_scanner_refuses_bad_bodies_and_real_backends() {
        let (s, _d) = state(true);
        for body in ["", "{}", r#"{"code":5}"#, r#"{"code":""}"#, r#"{"code":"a\nb"}"#] {
            let (status, v) = send(s.clone(), "POST", "/sim/scanner", body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {v}");
            assert!(v["error"].is_string());
        }
        let (real, _d2) = state(false);
        let (status, v) = send(real, "POST", "/sim/scanner", r#"{"code":"1"}"#).await;
        assert_eq!(status, StatusCode::CONFLICT, "{v}");
        let (s404, _) = send(s, "GET", "/nope", "").await;
        assert_eq!(s404, StatusCode::NOT_FOUND);
    }
}
