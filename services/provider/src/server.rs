//! The HTTP side: every request's signature, clock and nonce checked with the same code Booth
//! signs with, POSTs answered once per Idempotency-Key (a repeat gets the stored answer), every
//! answer signed and bound to the request's nonce, and the endpoints of `booth-provider/v1`.
//! Logs carry the endpoint, the terminal, the person id and the outcome — never a body.

use crate::certify::{self, Certifications};
use crate::config::Settings;
use crate::store::{template_ok, Store, StoreError};
use axum::body::{to_bytes, Body};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use booth_face::embed::l2;
use booth_provider_client::sign::{self, NonceCache, ResponseParts, SignError};
use booth_provider_client::wire::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Largest request body (a face crop and a reference photo).
const MAX_BODY: usize = 4 * 1024 * 1024;

pub struct App {
    pub settings: Settings,
    pub store: Store,
    nonces: NonceCache,
    engine: Mutex<Option<Arc<booth_face::Engine>>>,
    /// Card OCR, when its models are in `models_dir`.
    pub ocr: Option<crate::ocr::Ocr>,
    certify: Certifications,
    /// Where it listens, once serving (the certification page's address without `public_url`).
    addr: std::sync::OnceLock<SocketAddr>,
}

/// A refusal in the contract's words.
#[derive(Debug)]
pub struct Refusal(pub Code, pub String);

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store");
        Refusal(Code::VendorError, e.to_string())
    }
}

type Answer = Result<Vec<u8>, Refusal>;

/// The server running on its port.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting and waits for the server to end.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl App {
    pub fn open(settings: Settings) -> Result<Arc<App>, String> {
        settings.check()?;
        let store = Store::open(&settings.database, &settings.key_file).map_err(|e| e.to_string())?;
        let ocr = crate::ocr::load_for(settings.models_dir.as_deref());
        Ok(Arc::new(App {
            settings,
            store,
            nonces: NonceCache::default(),
            engine: Mutex::default(),
            ocr,
            certify: Certifications::default(),
            addr: std::sync::OnceLock::new(),
        }))
    }

    /// The address terminals and certification pages reach this provider at.
    pub fn public_url(&self) -> Option<String> {
        match &self.settings.public_url {
            Some(u) => Some(u.trim_end_matches('/').to_string()),
            None => self.addr.get().map(|a| format!("http://{a}")),
        }
    }

    /// Booth's face engine, for photos; NOT_CONFIGURED without `models_dir`.
    pub fn engine(&self) -> Result<Arc<booth_face::Engine>, Refusal> {
        let Some(dir) = &self.settings.models_dir else {
            return Err(Refusal(Code::NotConfigured, "本提供方未配置人脸模型 (models_dir), 不能比对照片".into()));
        };
        let mut e = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = e.as_ref() {
            return Ok(e.clone());
        }
        let loaded = Arc::new(booth_face::Engine::load(dir).map_err(|e| Refusal(Code::NotConfigured, e.to_string()))?);
        *e = Some(loaded.clone());
        Ok(loaded)
    }

    /// The embedding of the one face of a photo (JPEG or PNG bytes).
    pub fn embed_photo(&self, bytes: &[u8]) -> Result<Vec<f32>, Refusal> {
        let frame =
            booth_camera::Frame::decode(bytes).map_err(|e| Refusal(Code::BadParam, format!("照片无法解码: {e}")))?;
        let engine = self.engine()?;
        match engine.embed_photo(&frame) {
            Ok(e) => Ok(e.0.to_vec()),
            Err(booth_face::FaceError::NoFaceInPhoto) => Err(Refusal(Code::NoFace, "照片中没有人脸".into())),
            Err(e) => Err(Refusal(Code::VendorError, e.to_string())),
        }
    }

    /// Starts serving on `settings.listen` (port 0: any free port).
    pub async fn serve(self: &Arc<Self>) -> std::io::Result<Running> {
        let listener = tokio::net::TcpListener::bind(self.settings.listen).await?;
        let addr = listener.local_addr()?;
        let _ = self.addr.set(addr);
        let router = axum::Router::new()
            .route("/certify/{id}", axum::routing::get(certify_page))
            .route("/certify/{id}/frame", axum::routing::post(certify_frame))
            .route("/certify/{id}/no-camera", axum::routing::post(certify_no_camera))
            .fallback(handle)
            .with_state(self.clone());
        let stop = CancellationToken::new();
        let until = stop.clone();
        let task = tokio::spawn(async move {
            let served =
                axum::serve(listener, router).with_graceful_shutdown(async move { until.cancelled().await }).await;
            if let Err(e) = served {
                tracing::error!(error = %e, "server ended");
            }
        });
        tracing::info!(%addr, "booth-provider listening");
        Ok(Running { addr, app: self.clone(), stop, task: Some(task) })
    }
}

/// The certification page's answers: JSON, never cached, never framed by another site.
fn page_answer(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static(content_type));
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    r
}

fn page_result(outcome: Result<serde_json::Value, Refusal>) -> Response {
    match outcome {
        Ok(v) => page_answer(StatusCode::OK, "application/json", v.to_string().into_bytes()),
        Err(Refusal(code, message)) => page_answer(
            StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST),
            "application/json",
            error_body(code, &message),
        ),
    }
}

/// `GET /certify/{id}`: the certification page (no signature: a person's browser asks).
async fn certify_page(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    if !certify::id_ok(&id) || !app.certify.exists(&app, &id) {
        let body = "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>实人认证</title><p>认证不存在或已过期</p></html>";
        return page_answer(StatusCode::NOT_FOUND, "text/html; charset=utf-8", body.as_bytes().to_vec());
    }
    page_answer(StatusCode::OK, "text/html; charset=utf-8", certify::page(&id).into_bytes())
}

/// `POST /certify/{id}/frame` (a JPEG): the challenge's next prompt, or where to go.
async fn certify_frame(State(app): State<Arc<App>>, Path(id): Path<String>, body: axum::body::Bytes) -> Response {
    if !certify::id_ok(&id) {
        return page_result(Err(Refusal(Code::NotFound, "认证不存在或已过期".into())));
    }
    let worker = app.clone();
    let outcome = tokio::task::spawn_blocking(move || worker.certify.frame(&worker, &id, &body))
        .await
        .unwrap_or_else(|e| Err(Refusal(Code::VendorError, format!("internal: {e}"))));
    page_result(outcome)
}

/// `POST /certify/{id}/no-camera`: the page has no camera; the certification fails.
async fn certify_no_camera(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    if !certify::id_ok(&id) {
        return page_result(Err(Refusal(Code::NotFound, "认证不存在或已过期".into())));
    }
    page_result(app.certify.no_camera(&app, &id))
}

fn header<'a>(h: &'a HeaderMap, name: &'static str) -> Result<&'a str, SignError> {
    h.get(name).ok_or(SignError::Missing(name))?.to_str().map_err(|_| SignError::Malformed(name))
}

/// What a verified request carries.
struct Caller {
    key_id: String,
    secret: Vec<u8>,
    nonce: String,
    idem: String,
}

fn authenticate(app: &App, method: &str, path: &str, h: &HeaderMap, body: &[u8]) -> Result<Caller, SignError> {
    let key_id = header(h, sign::KEY_ID)?;
    let secret = app.settings.clients.get(key_id).ok_or(SignError::UnknownKey)?.as_bytes().to_vec();
    let ts: i64 = header(h, sign::TIMESTAMP)?.parse().map_err(|_| SignError::Malformed(sign::TIMESTAMP))?;
    let nonce = header(h, sign::NONCE)?;
    if !sign::nonce_ok(nonce) {
        return Err(SignError::Malformed(sign::NONCE));
    }
    let idem = h.get(sign::IDEMPOTENCY_KEY).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let signed = sign::request_string(method, path, ts, nonce, &idem, body);
    sign::verify(&secret, &signed, header(h, sign::SIGNATURE)?)?;
    let now = sign::now_s();
    sign::check_window(ts, now)?;
    // Remembered only once the signature holds, so a stranger cannot use up nonces.
    app.nonces.remember(nonce, now)?;
    Ok(Caller { key_id: key_id.to_string(), secret, nonce: nonce.to_string(), idem })
}

fn error_body(code: Code, message: &str) -> Vec<u8> {
    let body = ErrorBody {
        error: ErrorDetail { code, message: message.to_string(), sub_code: String::new(), sub_message: String::new() },
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

fn signed(caller: &Caller, method: &str, path: &str, status: u16, body: Vec<u8>) -> Response {
    let ts = sign::now_s();
    let nonce = sign::nonce();
    let parts = ResponseParts {
        status,
        method,
        path,
        ts,
        nonce: &nonce,
        request_nonce: &caller.nonce,
        idem: &caller.idem,
        body: &body,
    };
    let signature = sign::sign(&caller.secret, &sign::response_string(&parts));
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    for (name, value) in [(sign::TIMESTAMP, ts.to_string()), (sign::NONCE, nonce), (sign::SIGNATURE, signature)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    r
}

async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let headers = request.headers().clone();
    let body = match to_bytes(request.into_body(), MAX_BODY).await {
        Ok(b) => b.to_vec(),
        Err(_) => {
            let mut r = Response::new(Body::from(error_body(Code::BadParam, "请求过大")));
            *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return r;
        }
    };
    let caller = match authenticate(&app, &method, &path, &headers, &body) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(%method, %path, error = %e, "request refused");
            // Unsigned: the caller is not known to be one of ours.
            let mut r = Response::new(Body::from(error_body(Code::Unauthorized, &e.to_string())));
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
            return r;
        }
    };
    let post = method == "POST";
    if post {
        if caller.idem.is_empty() || caller.idem.len() > 128 {
            return signed(
                &caller,
                &method,
                &path,
                400,
                error_body(Code::BadParam, "POST 需要 Idempotency-Key (1-128 字符)"),
            );
        }
        let request_id = format!("{method} {path} {}", sign::body_sha256(&body));
        match app.store.answer(&caller.key_id, &caller.idem) {
            Ok(Some(stored)) if stored.request == request_id => {
                tracing::info!(%path, key_id = %caller.key_id, "repeated Idempotency-Key: the stored answer");
                return signed(&caller, &method, &path, stored.status, stored.body);
            }
            Ok(Some(_)) => {
                return signed(
                    &caller,
                    &method,
                    &path,
                    400,
                    error_body(Code::BadParam, "Idempotency-Key 已用于另一个请求"),
                );
            }
            Ok(None) => {}
            Err(e) => return signed(&caller, &method, &path, 502, error_body(Code::VendorError, &e.to_string())),
        }
        let worker = app.clone();
        let (m, p, key_id) = (method.clone(), path.clone(), caller.key_id.clone());
        let outcome = tokio::task::spawn_blocking(move || dispatch(&worker, &m, &p, &key_id, &body))
            .await
            .unwrap_or_else(|e| Err(Refusal(Code::VendorError, format!("internal: {e}"))));
        let (status, bytes) = match outcome {
            Ok(b) => (200, b),
            Err(Refusal(code, message)) => (code.status(), error_body(code, &message)),
        };
        if let Err(e) = app.store.keep_answer(&caller.key_id, &caller.idem, &request_id, status, &bytes) {
            tracing::error!(error = %e, "answer not kept for idempotency");
        }
        return signed(&caller, &method, &path, status, bytes);
    }
    let outcome = match (method.as_str(), path.as_str()) {
        ("GET", "/v1/capabilities") => capabilities(&app),
        ("GET", p) if p.starts_with("/v1/certify/") => {
            app.certify.status(&app, &caller.key_id, &p["/v1/certify/".len()..]).and_then(|s| json(&s))
        }
        _ => Err(Refusal(Code::NotFound, format!("{method} {path}: 没有这个接口"))),
    };
    let (status, bytes) = match outcome {
        Ok(b) => (200, b),
        Err(Refusal(code, message)) => (code.status(), error_body(code, &message)),
    };
    signed(&caller, &method, &path, status, bytes)
}

fn json<T: Serialize>(v: &T) -> Answer {
    serde_json::to_vec(v).map_err(|e| Refusal(Code::VendorError, e.to_string()))
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| Refusal(Code::BadParam, format!("请求格式不符: {e}")))
}

fn capabilities(app: &App) -> Answer {
    let mut features: Vec<String> = [
        "face.search",
        "face.verify",
        "face.enroll",
        "liveness",
        "session.face-login",
        "session.logout",
        "certify.status",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if app.settings.models_dir.is_some() {
        features.push("face.verify.photo".into());
        // The certification page needs the models to see faces.
        features.push("certify".into());
    }
    let mut models = vec![format!("{FACE_MODEL}@{FACE_MODEL_VERSION}")];
    if app.ocr.is_some() {
        features.push("ocr".into());
        models.push(crate::ocr::MODEL.into());
    }
    json(&Capabilities {
        contract: CONTRACT.into(),
        provider: format!("booth-provider {} (reference)", env!("CARGO_PKG_VERSION")),
        time: sign::now_s(),
        features,
        models,
    })
}

fn dispatch(app: &App, method: &str, path: &str, key_id: &str, body: &[u8]) -> Answer {
    let _ = method;
    match path {
        "/v1/face/search" => search(app, key_id, parse(body)?),
        "/v1/face/verify" => verify(app, key_id, parse(body)?),
        "/v1/face/enroll" => enroll(app, key_id, parse(body)?),
        "/v1/liveness" => liveness(app, key_id, parse(body)?),
        "/v1/session/face-login" => face_login(app, key_id, parse(body)?),
        "/v1/session/logout" => logout(app, key_id, parse(body)?),
        "/v1/ocr" => {
            let req: OcrRequest = parse(body)?;
            let answer = crate::ocr::answer(app.ocr.as_ref(), &req);
            let outcome = answer.as_ref().map_or_else(|Refusal(code, _)| code.as_str(), |_| "OK");
            app.store.audit(key_id, &req.terminal, "ocr", "", outcome);
            json(&answer?)
        }
        "/v1/certify/start" => app.certify.start(app, key_id, parse(body)?).and_then(|r| json(&r)),
        _ => Err(Refusal(Code::NotFound, format!("POST {path}: 没有这个接口"))),
    }
}

/// The checks every face in a request passes: liveness passed, an embedding of the model the
/// provider compares.
fn check_face(face: &Face) -> Result<(), Refusal> {
    if face.embedding.values.is_empty() {
        return Err(Refusal(Code::NoFace, "请求中没有人脸特征".into()));
    }
    if face.embedding.model != FACE_MODEL || face.embedding.version != FACE_MODEL_VERSION {
        return Err(Refusal(
            Code::BadParam,
            format!(
                "不支持的特征模型 {}@{} (支持 {FACE_MODEL}@{FACE_MODEL_VERSION})",
                face.embedding.model, face.embedding.version
            ),
        ));
    }
    if !template_ok(&face.embedding.values) {
        return Err(Refusal(Code::BadParam, format!("人脸特征应为 {FACE_DIM} 个有限数")));
    }
    if !face.liveness.passed {
        return Err(Refusal(Code::LivenessFailed, "活体检测未通过".into()));
    }
    Ok(())
}

/// The nearest person and the distance, if close enough and clear of the next person.
fn nearest(app: &App, probe: &[f32], partition: Option<&Partition>) -> Result<Option<(String, f32)>, Refusal> {
    let part = partition
        .filter(|p| !p.org_out_id.is_empty() || !p.component_out_id.is_empty())
        .map(|p| (p.org_out_id.as_str(), p.component_out_id.as_str()));
    let mut best: Option<(String, f32)> = None;
    let mut second: Option<f32> = None;
    for (person, t) in app.store.templates(FACE_MODEL, part)? {
        let d = l2(probe, &t);
        match &mut best {
            Some((bp, bd)) if *bp == person => *bd = bd.min(d),
            Some((_, bd)) if d < *bd => {
                second = Some(*bd);
                best = Some((person, d));
            }
            Some(_) => second = Some(second.map_or(d, |s| s.min(d))),
            None => best = Some((person, d)),
        }
    }
    Ok(best.filter(|(_, d)| {
        *d < app.settings.match_threshold && second.is_none_or(|s| s - *d >= app.settings.match_margin)
    }))
}

fn score100(d: f32) -> f64 {
    (((1.0 - d).clamp(0.0, 1.0) * 100.0).round()) as f64
}

fn search(app: &App, key_id: &str, req: SearchRequest) -> Answer {
    let checked = check_face(&req.face);
    if let Err(Refusal(code, _)) = &checked {
        app.store.audit(key_id, &req.terminal, "face.search", "", code.as_str());
    }
    checked?;
    match nearest(app, &req.face.embedding.values, req.partition.as_ref())? {
        Some((person, d)) => {
            app.store.audit(key_id, &req.terminal, "face.search", &person, "MATCHED");
            tracing::info!(terminal = %req.terminal, person = %person, "face.search: matched");
            json(&Identified {
                alipay_uid: person.clone(),
                person_id: person,
                auth_code: String::new(),
                ftoken: format!("fp{}", sign::nonce()),
                vid: String::new(),
                code: 1000,
                sub_code: String::new(),
                sub_message: String::new(),
                score: score100(d),
            })
        }
        None => {
            app.store.audit(key_id, &req.terminal, "face.search", "", "NOT_MATCHED");
            Err(Refusal(Code::NotMatched, "未找到已登记的人脸".into()))
        }
    }
}

fn verify(app: &App, key_id: &str, req: VerifyRequest) -> Answer {
    check_face(&req.face)?;
    if req.id_number.trim().is_empty() && req.photo.trim().is_empty() {
        return Err(Refusal(Code::BadParam, "需要 idNumber 或 photo".into()));
    }
    let probe = &req.face.embedding.values;
    let mut worst: f32 = 0.0;
    let mut person = String::new();
    if !req.id_number.trim().is_empty() {
        let people = app.store.people_with_id_number(req.id_number.trim())?;
        if people.is_empty() && req.photo.trim().is_empty() {
            app.store.audit(key_id, &req.terminal, "face.verify", "", "NOT_ENROLLED");
            return Err(Refusal(Code::NotMatched, "该证件号未登记, 也没有证件照片".into()));
        }
        let templates = app.store.templates(FACE_MODEL, None)?;
        let d = templates
            .iter()
            .filter(|(p, _)| people.contains(p))
            .map(|(p, t)| (p, l2(probe, t)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        match d {
            Some((p, d)) => {
                worst = worst.max(d);
                person = p.clone();
            }
            // An ID number nobody enrolled: the photo alone decides.
            None if !req.photo.trim().is_empty() => {}
            None => return Err(Refusal(Code::NotMatched, "该证件号没有人脸模板".into())),
        }
    }
    if !req.photo.trim().is_empty() {
        let b64 = req.photo.split_once("base64,").map_or(req.photo.as_str(), |(_, b)| b);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.split_whitespace().collect::<String>())
            .map_err(|_| Refusal(Code::BadParam, "photo 不是 base64".into()))?;
        let reference = app.embed_photo(&bytes)?;
        worst = worst.max(l2(probe, &reference));
    }
    let matched = worst < app.settings.verify_threshold;
    app.store.audit(key_id, &req.terminal, "face.verify", &person, if matched { "MATCHED" } else { "NOT_MATCHED" });
    json(&VerifyResponse {
        matched,
        score: f64::from((1.0 - worst).clamp(0.0, 1.0)),
        person_id: if matched { person } else { String::new() },
    })
}

fn enroll(app: &App, key_id: &str, req: EnrollRequest) -> Answer {
    if req.consent.text.trim().is_empty() || req.consent.accepted_at <= 0 {
        app.store.audit(key_id, &req.terminal, "face.enroll", "", "CONSENT_REFUSED");
        return Err(Refusal(Code::ConsentRefused, "没有本人同意的记录, 不能登记".into()));
    }
    check_face(&req.face)?;
    let ftoken = format!("fp{}", sign::nonce());
    if let Some((person, _)) = nearest(app, &req.face.embedding.values, Some(&req.partition))? {
        app.store.audit(key_id, &req.terminal, "face.enroll", &person, "EXISTING");
        return json(&EnrollResponse {
            vid: person.clone(),
            person_id: person,
            existing: true,
            ftoken,
            auth_code: String::new(),
        });
    }
    let person = new_person_id();
    app.store.add_person(&person, &req.partition, &req.person, FACE_MODEL, &req.face.embedding.values, &req.consent)?;
    app.store.audit(key_id, &req.terminal, "face.enroll", &person, "ENROLLED");
    tracing::info!(terminal = %req.terminal, person = %person, "face.enroll: enrolled");
    json(&EnrollResponse { vid: person.clone(), person_id: person, existing: false, ftoken, auth_code: String::new() })
}

/// The reference provider has no liveness model of its own: it accepts the terminal's active
/// challenge (head turns) when it was run and passed, and says so in the answer's score.
fn liveness(app: &App, key_id: &str, req: LivenessRequest) -> Answer {
    let ran = req.face.liveness.method != "none" && !req.face.liveness.steps.is_empty();
    let passed = ran && req.face.liveness.passed && !req.face.embedding.values.is_empty();
    app.store.audit(key_id, &req.terminal, "liveness", "", if passed { "PASSED" } else { "LIVENESS_FAILED" });
    if !passed {
        return Err(Refusal(Code::LivenessFailed, "活体检测未通过".into()));
    }
    json(&LivenessResponse { passed, score: 1.0 })
}

fn face_login(app: &App, key_id: &str, req: FaceLoginRequest) -> Answer {
    check_face(&req.face)?;
    let Some((person, _)) = nearest(app, &req.face.embedding.values, None)? else {
        app.store.audit(key_id, &req.terminal, "session.face-login", "", "NOT_MATCHED");
        return Err(Refusal(Code::NotMatched, "未找到已登记的人脸".into()));
    };
    let session = format!("s{}", sign::nonce());
    let expires_at = sign::now_s() + app.settings.session_ttl_s;
    app.store.start_session(&session, &person, &req.terminal, expires_at)?;
    app.store.audit(key_id, &req.terminal, "session.face-login", &person, "STARTED");
    json(&FaceLoginResponse { session_id: session, person_id: person, expires_at })
}

fn logout(app: &App, key_id: &str, req: LogoutRequest) -> Answer {
    let ended = app.store.end_session(&req.session_id, &req.terminal)?;
    app.store.audit(key_id, &req.terminal, "session.logout", "", if ended { "ENDED" } else { "NO_SESSION" });
    json(&LogoutResponse { ended })
}

/// 16 digits like seed 000's `alipayUid`, starting with 9 so it never looks like an Alipay id
/// (2088…).
pub fn new_person_id() -> String {
    let raw = sign::nonce();
    let digits: String = raw.bytes().map(|b| char::from(b'0' + b % 10)).take(15).collect();
    format!("9{digits}")
}
