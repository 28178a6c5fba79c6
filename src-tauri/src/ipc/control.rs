//! The loopback control endpoint: health for supervisors, and simulated hardware for
//! developers, test authors and the simulator panel.
//!
//! - `GET /health` → `{status, version, package: {id, name, version, location}, sessions, bridge,
//!   devices, windows, shell}`
//! - `GET /sim` → every simulated device: its actions, their fields, and its state
//! - `POST /sim/<device>/<action>` with a JSON object of arguments → runs the action
//!   (e.g. `POST /sim/scanner/scan {"code": "12345"}`)
//! - `GET /feed?after=N&wait=MS` → the flight recorder's records after `N`, waiting up to `MS`
//!   (at most 30,000) for one to arrive: `{"records": […], "last": M}`
//!
//! It listens on 127.0.0.1 only. POST bodies must be sent as `Content-Type: application/json`,
//! which a web page of another origin cannot send without asking first; only Booth's own pages
//! are answered yes (CORS), so a page in a browser on the terminal cannot produce hardware events.
//! A request must name the loopback address as its `Host` (`127.0.0.1` or `localhost`): a page
//! whose own name was made to resolve to 127.0.0.1 (DNS rebinding) sends its own name and gets
//! 403. Bodies over [`BODY_MAX`] get 413.

use crate::dev::recorder::Recorder;
use crate::devices::Devices;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use booth_bridge::SimError;
use booth_miniapp_host::Package;
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

pub use crate::names::CONTROL_PORT as DEFAULT_PORT;
/// The longest `GET /feed` wait.
const FEED_WAIT_MAX: Duration = Duration::from_secs(30);
/// The largest request body: room for a simulated camera picture or ID card photo in base64.
pub const BODY_MAX: usize = 8 * 1024 * 1024;

pub struct ControlState {
    pub devices: Arc<Devices>,
    pub package: Arc<Package>,
    pub recorder: Arc<Recorder>,
    /// Reports the windows' state for `/health` (absent in headless tests).
    pub windows: Option<Box<dyn Fn() -> Value + Send + Sync>>,
    /// Reports the shell's state (launcher, kiosk, recoveries) for `/health`.
    pub shell: Option<Box<dyn Fn() -> Value + Send + Sync>>,
    /// Serve `/health` only: a kiosk's supervisor needs it, and nothing on a kiosk should be able
    /// to produce hardware events or read the flight recorder.
    pub health_only: bool,
}

pub fn router(state: Arc<ControlState>) -> Router {
    let routes = Router::new().route("/health", get(health));
    let routes = if state.health_only {
        routes.fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "kiosk mode: the control endpoint serves /health only ([control] full_in_kiosk = true serves the rest)",
            )
        })
    } else {
        routes
            .route("/sim", get(sim_list))
            .route("/sim/{device}/{action}", post(sim_act))
            .route("/feed", get(feed))
            .route("/memory/trim", post(memory_trim))
            .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint; see README, Control endpoint") })
    };
    routes
        .layer(middleware::from_fn(guard))
        // Also bounds a body sent without Content-Length, which `guard` cannot see in advance.
        .layer(DefaultBodyLimit::max(BODY_MAX))
        .with_state(state)
}

/// Origins of Booth's own pages (the simulator panel), the only ones CORS lets in.
fn booth_origin(headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let allowed = origin.to_str().ok()? == crate::names::ui_origin();
    allowed.then(|| origin.clone())
}

/// Whether `Host` names the loopback address (any port: the listener is on 127.0.0.1 only, so
/// the port is the one it listens on).
fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else { return false };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost")
}

/// Loopback `Host` only, bounded bodies, CORS for Booth's pages, and JSON-only POSTs.
async fn guard(request: Request, next: Next) -> Response {
    if !loopback_host(request.headers()) {
        return error(StatusCode::FORBIDDEN, "the control endpoint answers only requests for 127.0.0.1 or localhost");
    }
    let length = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if length.is_some_and(|n| n > BODY_MAX as u64) {
        return error(StatusCode::PAYLOAD_TOO_LARGE, &format!("the body is over {BODY_MAX} bytes"));
    }
    let origin = booth_origin(request.headers());
    if request.method() == Method::OPTIONS {
        let mut res = StatusCode::NO_CONTENT.into_response();
        if let Some(o) = origin {
            let h = res.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type"));
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
        return res;
    }
    if request.method() == Method::POST {
        let json =
            request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
                v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
            });
        if !json {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as Content-Type: application/json (e.g. curl --json '{…}')",
            );
        }
    }
    let mut res = next.run(request).await;
    if let Some(o) = origin {
        res.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
    }
    res
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

/// Returns the heap's free pages to the system (Booth does it itself after an idle reset):
/// memory measured after it is what Booth holds, not what its allocator kept from a peak.
async fn memory_trim() -> Json<Value> {
    Json(json!({"trimmed": crate::shell::memory::trim_heap()}))
}

async fn health(State(s): State<Arc<ControlState>>) -> Json<Value> {
    let m = &s.package.manifest;
    Json(json!({
        "status": "ok",
        "version": crate::VERSION,
        "package": {"id": m.id, "name": m.name, "version": m.version, "location": s.package.location()},
        "sessions": s.devices.bridge.session_count(),
        "bridge": s.devices.bridge_health(),
        "storage": crate::devices::storage::report(),
        "devices": s.devices.status(),
        "windows": s.windows.as_ref().map(|w| w()).unwrap_or(Value::Null),
        "shell": s.shell.as_ref().map(|w| w()).unwrap_or(Value::Null),
    }))
}

async fn sim_list(State(s): State<Arc<ControlState>>) -> Json<Value> {
    Json(s.devices.sims.describe())
}

async fn sim_act(
    State(s): State<Arc<ControlState>>,
    Path((device, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let args: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return error(StatusCode::BAD_REQUEST, &format!("body is not JSON: {e}")),
        }
    };
    // Device simulators may block briefly (a serial write, a lock); keep them off the reactor.
    let sims = s.devices.sims.clone();
    let result = tokio::task::spawn_blocking(move || sims.act(&device, &action, &args)).await;
    match result {
        Ok(Ok(v)) => Json(json!({"ok": true, "result": v})).into_response(),
        Ok(Err(e)) => {
            let status = match e {
                SimError::UnknownDevice(_) | SimError::UnknownAction { .. } => StatusCode::NOT_FOUND,
                SimError::NotSimulated { .. } | SimError::Refused(_) => StatusCode::CONFLICT,
                SimError::InvalidArgs(_) => StatusCode::BAD_REQUEST,
            };
            error(status, &e.to_string())
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("simulator failed: {e}")),
    }
}

#[derive(Deserialize)]
struct FeedQuery {
    #[serde(default)]
    after: u64,
    #[serde(default)]
    wait: u64,
}

async fn feed(State(s): State<Arc<ControlState>>, Query(q): Query<FeedQuery>) -> Json<Value> {
    let wait = Duration::from_millis(q.wait).min(FEED_WAIT_MAX);
    let (records, last) = s.recorder.feed(q.after, wait).await;
    Json(json!({ "records": records, "last": last }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::dev::recorder::Recorder;
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
        let recorder = Arc::new(Recorder::new(None).unwrap());
        devices.bridge.add_observer(recorder.clone());
        (Arc::new(ControlState { devices, package, recorder, windows: None, shell: None, health_only: false }), dir)
    }

    async fn send(state: Arc<ControlState>, method: &str, uri: &str, body: &str) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "127.0.0.1:17800")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let res = router(state).oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn a_kiosk_endpoint_serves_health_only() {
        let (s, _d) = state(true);
        let s = Arc::new(ControlState {
            devices: s.devices.clone(),
            package: s.package.clone(),
            recorder: s.recorder.clone(),
            windows: None,
            shell: None,
            health_only: true,
        });
        assert_eq!(send(s.clone(), "GET", "/health", "").await.0, StatusCode::OK);
        for (method, uri, body) in
            [("GET", "/sim", ""), ("POST", "/sim/scanner/scan", r#"{"code":"1"}"#), ("GET", "/feed?after=0", "")]
        {
            let (status, answer) = send(s.clone(), method, uri, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}");
            assert!(answer["error"].as_str().unwrap().contains("full_in_kiosk"), "{answer}");
        }
        // The other guards still come first.
        let req = Request::builder().uri("/health").header("host", "evil.example:17800").body(Body::empty()).unwrap();
        assert_eq!(router(s).oneshot(req).await.unwrap().status(), StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn health_names_the_package() {
        let (s, _d) = state(true);
        let (status, body) = send(s, "GET", "/health", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "ok");
        assert_eq!(body["package"]["version"], "1.2.3");
        assert_eq!(body["sessions"], 0);
        let bridge = &body["bridge"];
        assert_eq!(
            (&bridge["sessions"], &bridge["subscriptions"], &bridge["callsInFlight"]),
            (&json!(0), &json!(0), &json!(0))
        );
        assert!(bridge["panicsContained"].is_u64(), "{body}");
        assert_eq!(body["devices"]["scanner"]["backend"], "sim");
    }

    #[tokio::test]
    async fn sim_scanner_scan_publishes_the_code_and_the_feed_shows_it() {
        let (s, _d) = state(true);
        let mut rx = s.devices.bridge.bus().subscribe();
        let (status, v) = send(s.clone(), "POST", "/sim/scanner/scan", r#"{"code":"12345"}"#).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v, json!({"ok": true, "result": {"code": "12345"}}));
        let ev = rx.recv().await.unwrap();
        assert_eq!(ev.topic, booth_scanner::TOPIC_CODE);
        assert_eq!(ev.payload["code"], "12345");
        let (status, feed) = send(s, "GET", "/feed?after=0&wait=1000", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(feed["records"][0]["topic"], "scanner.code");
        assert_eq!(feed["records"][0]["payload"]["code"], "12345");
        assert_eq!(feed["last"], feed["records"][0]["seq"]);
    }

    #[tokio::test]
    async fn sim_lists_devices_with_their_actions() {
        let (s, _d) = state(true);
        let (status, v) = send(s, "GET", "/sim", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["devices"][0]["id"], "scanner");
        assert_eq!(v["devices"][0]["actions"][0]["name"], "scan");
        assert_eq!(v["devices"][0]["actions"][0]["fields"][0]["name"], "code");
        assert_eq!(v["devices"][0]["state"]["backend"], "sim");
    }

    #[tokio::test]
    async fn sim_refuses_bad_bodies_unknown_paths_and_real_backends() {
        let (s, _d) = state(true);
        for body in ["{}", r#"{"code":true}"#, r#"{"code":""}"#, r#"{"code":"a\nb"}"#, "[1]", "nope"] {
            let (status, v) = send(s.clone(), "POST", "/sim/scanner/scan", body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {v}");
            assert!(v["error"].is_string());
        }
        let (status, v) = send(s.clone(), "POST", "/sim/scanner/explode", "{}").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
        assert!(v["error"].as_str().unwrap().contains("it has: scan"), "{v}");
        let (status, _) = send(s.clone(), "POST", "/sim/toaster/scan", "{}").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (real, _d2) = state(false);
        let (status, v) = send(real, "POST", "/sim/scanner/scan", r#"{"code":"1"}"#).await;
        assert_eq!(status, StatusCode::CONFLICT, "{v}");
        let (s404, _) = send(s, "GET", "/nope", "").await;
        assert_eq!(s404, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn posts_must_be_json_and_only_booth_pages_get_cors() {
        let (s, _d) = state(true);
        let req = Request::builder()
            .method("POST")
            .uri("/sim/scanner/scan")
            .header("host", "localhost:17800")
            .header("content-type", "text/plain")
            .header("origin", "https://evil.example")
            .body(Body::from(r#"{"code":"1"}"#))
            .unwrap();
        let res = router(s.clone()).oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        for (origin, allowed) in [(crate::names::ui_origin(), true), ("https://evil.example".into(), false)] {
            let req = Request::builder()
                .method("OPTIONS")
                .uri("/sim/scanner/scan")
                .header("host", "127.0.0.1")
                .header("origin", origin.as_str())
                .header("access-control-request-method", "POST")
                .body(Body::empty())
                .unwrap();
            let res = router(s.clone()).oneshot(req).await.unwrap();
            let acao = res.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_string());
            assert_eq!(acao, allowed.then_some(origin.clone()), "{origin}");
        }
    }

    #[tokio::test]
    async fn only_requests_for_the_loopback_address_are_answered() {
        let (s, _d) = state(true);
        let mut rx = s.devices.bridge.bus().subscribe();
        // A rebinding page sends its own name; a request without Host is refused too.
        for host in [Some("evil.example:17800"), Some("127.0.0.1.evil.example"), Some("localhost.evil"), None] {
            for (method, uri, body) in [("GET", "/health", ""), ("POST", "/sim/scanner/scan", r#"{"code":"1"}"#)] {
                let mut req = Request::builder().method(method).uri(uri).header("content-type", "application/json");
                if let Some(h) = host {
                    req = req.header("host", h);
                }
                let res = router(s.clone()).oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
                assert_eq!(res.status(), StatusCode::FORBIDDEN, "{host:?} {uri}");
            }
        }
        assert!(rx.try_recv().is_err(), "no scan reached the bus");
        for host in ["127.0.0.1", "127.0.0.1:17800", "localhost:1", "LOCALHOST"] {
            let req = Request::builder().uri("/health").header("host", host).body(Body::empty()).unwrap();
            let res = router(s.clone()).oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{host}");
        }
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused_with_413() {
        let (s, _d) = state(true);
        let big = format!(r#"{{"code":"{}"}}"#, "1".repeat(BODY_MAX));
        // Announced by Content-Length: refused before it is read.
        let req = Request::builder()
            .method("POST")
            .uri("/sim/scanner/scan")
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .header("content-length", big.len())
            .body(Body::from(big.clone()))
            .unwrap();
        let res = router(s.clone()).oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(v["error"], format!("the body is over {BODY_MAX} bytes"));
        // Without Content-Length (a streamed body), the limit still holds.
        let stream = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(big))]);
        let req = Request::builder()
            .method("POST")
            .uri("/sim/scanner/scan")
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .body(Body::from_stream(stream))
            .unwrap();
        let res = router(s.clone()).oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        // Just under the limit is read (and refused by the scanner for its own reason).
        let under = format!(r#"{{"code":"{}"}}"#, "1".repeat(BODY_MAX - 20));
        let (status, v) = send(s, "POST", "/sim/scanner/scan", &under).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    }
}
