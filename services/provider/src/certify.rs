//! Real-person certification (seed 003's open-certify): `POST /v1/certify/start` opens a
//! certification for an ID number, the person does it on the certification page this provider
//! serves (`GET /certify/{id}`: camera, a head-turn liveness challenge, then a 1:1 comparison
//! with the templates enrolled for that ID number), and the page goes to the caller's return URL
//! with the result in its query (`certifyId`, `status` `PASSED`/`FAILED`, `errorCode`).
//! `GET /v1/certify/{id}` answers the authoritative result, since a page's answer can be altered.
//!
//! The certify id is the page's only credential: 32 random hex characters, valid for
//! [`LIFETIME`], answered only to the terminal key that started it. Certifications are kept in
//! SQLite (who started them, for which ID number, the return URL, the result), so a restart of
//! the provider loses none: a result is still answered, and a page in progress goes on with a
//! new head-turn challenge (the challenge's state and the best face so far live in memory only).
//! Rows are deleted [`KEEP_S`] after their start. Frames are used and dropped; none is stored or
//! logged.

use crate::server::{App, Refusal};
use booth_face::liveness::{Challenge, Progress};
use booth_provider_client::sign;
use booth_provider_client::wire::*;
use rusqlite::{params, OptionalExtension};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use url::Url;

/// How long a certification may take from start to its last frame.
pub const LIFETIME: Duration = Duration::from_secs(600);
/// At most this many certifications in memory (older ones are dropped first; the database
/// keeps them).
const MAX_OPEN: usize = 256;
/// How long a certification's row (and so its result) is kept.
pub const KEEP_S: i64 = 7 * 24 * 3600;
/// Frames a page may send for one certification (about 1 minute at 5 per second).
const MAX_FRAMES: u32 = 300;

/// Seed 003's error codes for a failed certification.
pub const NOT_CERTIFIED: &str = "USER_IS_NOT_CERTIFY";
pub const CAMERA_UNAVAILABLE: &str = "CAMERA_UNAVAILABLE";
pub const EXPIRED: &str = "TIMEOUT";

struct Cert {
    key_id: String,
    terminal: String,
    cert_no: String,
    return_url: Url,
    /// Unix seconds (the database's clock survives a restart; an `Instant` would not).
    started_at: i64,
    challenge: Challenge,
    frames: u32,
    /// The most frontal face seen so far (|yaw|, embedding).
    best: Option<(f32, Vec<f32>)>,
    status: &'static str,
    error_code: String,
    person_id: String,
    score: f64,
}

#[derive(Default)]
pub struct Certifications {
    open: Mutex<HashMap<String, Cert>>,
}

fn lock(m: &Mutex<HashMap<String, Cert>>) -> std::sync::MutexGuard<'_, HashMap<String, Cert>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A certify id as this provider makes them.
pub fn id_ok(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|c| c.is_ascii_hexdigit())
}

fn new_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        return sign::nonce().bytes().map(|c| format!("{:02x}", c)).take(16).collect();
    }
    b.iter().map(|c| format!("{c:02x}")).collect()
}

/// The return URL with the result in its query.
pub fn redirect(return_url: &Url, id: &str, status: &str, error_code: &str) -> String {
    let mut u = return_url.clone();
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("certifyId", id);
        q.append_pair("status", status);
        if !error_code.is_empty() {
            q.append_pair("errorCode", error_code);
        }
    }
    u.to_string()
}

impl Certifications {
    /// `POST /v1/certify/start`.
    pub fn start(&self, app: &App, key_id: &str, req: CertifyStartRequest) -> Result<CertifyStartResponse, Refusal> {
        let return_url = Url::parse(req.return_url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| Refusal(Code::BadParam, "returnUrl 必须是 http(s) 网址".into()))?;
        let cert_no = req.cert_no.trim().to_ascii_uppercase();
        if cert_no.is_empty() || cert_no.len() > 32 {
            return Err(Refusal(Code::BadParam, "certNo 不能为空 (至多 32 字符)".into()));
        }
        // The page needs the models to see faces: refuse now rather than on the page.
        app.engine()?;
        let base = app.public_url().ok_or_else(|| Refusal(Code::NotConfigured, "本提供方不知道自己的网址".into()))?;
        let id = new_id();
        let cert = Cert {
            key_id: key_id.to_string(),
            terminal: req.terminal.clone(),
            cert_no,
            return_url,
            started_at: sign::now_s(),
            challenge: Challenge::random(2, false),
            frames: 0,
            best: None,
            status: "PENDING",
            error_code: String::new(),
            person_id: String::new(),
            score: 0.0,
        };
        {
            let db = app.store.conn();
            db.execute("DELETE FROM certification WHERE started_at < ?1", params![cert.started_at - KEEP_S])
                .map_err(crate::store::StoreError::from)?;
            db.execute(
                "INSERT INTO certification (id, key_id, terminal, cert_no, return_url, started_at, status, error_code,
                                            person_id, score)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'PENDING', '', '', 0)",
                params![id, cert.key_id, cert.terminal, cert.cert_no, cert.return_url.as_str(), cert.started_at],
            )
            .map_err(crate::store::StoreError::from)?;
        }
        let mut open = lock(&self.open);
        open.retain(|_, c| !expired(c));
        make_room(&mut open);
        open.insert(id.clone(), cert);
        drop(open);
        app.store.audit(key_id, &req.terminal, "certify.start", "", "PENDING");
        Ok(CertifyStartResponse { certify_url: format!("{}/certify/{id}", base.trim_end_matches('/')), certify_id: id })
    }

    /// `GET /v1/certify/{id}`: only for the terminal key that started it.
    pub fn status(&self, app: &App, key_id: &str, id: &str) -> Result<CertifyStatus, Refusal> {
        match self.load(app, id) {
            Err(Refusal(Code::NotFound, _)) => return Err(Refusal(Code::NotFound, "没有这个认证".into())),
            other => other?,
        }
        let mut open = lock(&self.open);
        let Some(c) = open.get_mut(id).filter(|c| c.key_id == key_id) else {
            return Err(Refusal(Code::NotFound, "没有这个认证".into()));
        };
        expire(app, id, c);
        Ok(CertifyStatus {
            certify_id: id.to_string(),
            status: c.status.to_string(),
            return_url: c.return_url.to_string(),
            error_code: c.error_code.clone(),
            person_id: c.person_id.clone(),
            score: c.score,
        })
    }

    /// Whether the page of `id` may be shown.
    pub fn exists(&self, app: &App, id: &str) -> bool {
        self.load(app, id).is_ok()
    }

    /// Brings a certification the database has into memory (after a restart, or after newer
    /// ones pushed it out), with a new challenge if it is still in progress.
    fn load(&self, app: &App, id: &str) -> Result<(), Refusal> {
        if lock(&self.open).contains_key(id) {
            return Ok(());
        }
        type Row = (String, String, String, String, i64, String, String, String, f64);
        let row: Option<Row> = app
            .store
            .conn()
            .query_row(
                "SELECT key_id, terminal, cert_no, return_url, started_at, status, error_code, person_id, score
                 FROM certification WHERE id = ?1",
                params![id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ))
                },
            )
            .optional()
            .map_err(crate::store::StoreError::from)?;
        let Some((key_id, terminal, cert_no, return_url, started_at, status, error_code, person_id, score)) = row
        else {
            return Err(Refusal(Code::NotFound, "认证不存在或已过期".into()));
        };
        let return_url = Url::parse(&return_url)
            .map_err(|e| Refusal(Code::VendorError, format!("认证记录的 returnUrl 无效: {e}")))?;
        let status = match status.as_str() {
            "PASSED" => "PASSED",
            "FAILED" => "FAILED",
            _ => "PENDING",
        };
        let cert = Cert {
            key_id,
            terminal,
            cert_no,
            return_url,
            started_at,
            challenge: Challenge::random(2, false),
            frames: 0,
            best: None,
            status,
            error_code,
            person_id,
            score,
        };
        let mut open = lock(&self.open);
        make_room(&mut open);
        open.entry(id.to_string()).or_insert(cert);
        Ok(())
    }

    /// One camera frame from the page (JPEG or PNG): the challenge's next prompt, or the result
    /// with the URL to go to.
    pub fn frame(&self, app: &App, id: &str, image: &[u8]) -> Result<Value, Refusal> {
        self.load(app, id)?;
        // The models run outside the lock.
        {
            let mut open = lock(&self.open);
            let c = open.get_mut(id).ok_or_else(|| Refusal(Code::NotFound, "认证不存在或已过期".into()))?;
            expire(app, id, c);
            if c.status != "PENDING" {
                return Ok(answer(id, c, ""));
            }
            c.frames += 1;
            if c.frames > MAX_FRAMES {
                finish(app, id, c, "FAILED", Code::LivenessFailed.as_str());
                return Ok(answer(id, c, ""));
            }
        }
        let frame =
            booth_camera::Frame::decode(image).map_err(|e| Refusal(Code::BadParam, format!("图像无法解码: {e}")))?;
        let engine = app.engine()?;
        let faces = engine.faces(&frame).map_err(|e| Refusal(Code::VendorError, e.to_string()))?;
        let face = match faces.as_slice() {
            [face] => face,
            many => {
                let prompt = if many.is_empty() { "请正对摄像头" } else { "请确保画面中只有一人" };
                let open = lock(&self.open);
                let c = open.get(id).ok_or_else(|| Refusal(Code::NotFound, "认证不存在或已过期".into()))?;
                return Ok(answer(id, c, if c.status == "PENDING" { prompt } else { "" }));
            }
        };
        let yaw = face.detection.yaw().abs();
        let better = {
            let open = lock(&self.open);
            open.get(id).is_some_and(|c| c.best.as_ref().is_none_or(|(b, _)| yaw < *b))
        };
        let embedding = match better {
            true => Some(engine.embed(face).map_err(|e| Refusal(Code::VendorError, e.to_string()))?.0.to_vec()),
            false => None,
        };
        let mut open = lock(&self.open);
        let c = open.get_mut(id).ok_or_else(|| Refusal(Code::NotFound, "认证不存在或已过期".into()))?;
        if c.status != "PENDING" {
            return Ok(answer(id, c, ""));
        }
        if let Some(e) = embedding {
            c.best = Some((yaw, e));
        }
        match c.challenge.feed(&face.detection) {
            Progress::Prompt(p) => Ok(answer(id, c, p)),
            Progress::Done => {
                decide(app, id, c)?;
                Ok(answer(id, c, ""))
            }
        }
    }

    /// The page could not use a camera: the certification fails with `CAMERA_UNAVAILABLE`.
    pub fn no_camera(&self, app: &App, id: &str) -> Result<Value, Refusal> {
        self.load(app, id)?;
        let mut open = lock(&self.open);
        let c = open.get_mut(id).ok_or_else(|| Refusal(Code::NotFound, "认证不存在或已过期".into()))?;
        if c.status == "PENDING" {
            finish(app, id, c, "FAILED", CAMERA_UNAVAILABLE);
        }
        Ok(answer(id, c, ""))
    }
}

fn make_room(open: &mut HashMap<String, Cert>) {
    if open.len() >= MAX_OPEN {
        if let Some(oldest) = open.iter().min_by_key(|(_, c)| c.started_at).map(|(k, _)| k.clone()) {
            open.remove(&oldest);
        }
    }
}

fn expired(c: &Cert) -> bool {
    sign::now_s().saturating_sub(c.started_at) >= LIFETIME.as_secs() as i64
}

fn expire(app: &App, id: &str, c: &mut Cert) {
    if c.status == "PENDING" && expired(c) {
        finish(app, id, c, "FAILED", EXPIRED);
    }
}

fn finish(app: &App, id: &str, c: &mut Cert, status: &'static str, error_code: &str) {
    c.status = status;
    c.error_code = error_code.to_string();
    let saved = app.store.conn().execute(
        "UPDATE certification SET status = ?2, error_code = ?3, person_id = ?4, score = ?5 WHERE id = ?1",
        params![id, status, error_code, c.person_id, c.score],
    );
    if let Err(e) = saved {
        // The answer in memory stands until a restart; the log says the record is behind.
        tracing::error!(certify = %&id[..8.min(id.len())], error = %e, "certification result not saved");
    }
    app.store.audit(
        &c.key_id,
        &c.terminal,
        "certify",
        &c.person_id,
        if status == "PASSED" { "PASSED" } else { error_code },
    );
    tracing::info!(certify = %&id[..8], %status, error_code, "certification ended");
}

/// Liveness passed: the most frontal face against the templates of the ID number.
fn decide(app: &App, id: &str, c: &mut Cert) -> Result<(), Refusal> {
    let Some((_, probe)) = c.best.take() else {
        finish(app, id, c, "FAILED", Code::NoFace.as_str());
        return Ok(());
    };
    let people = app.store.people_with_id_number(&c.cert_no)?;
    let nearest = app
        .store
        .templates(FACE_MODEL, None)?
        .into_iter()
        .filter(|(p, _)| people.contains(p))
        .map(|(p, t)| (p, booth_face::embed::l2(&probe, &t)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    match nearest {
        Some((person, d)) if d < app.settings.verify_threshold => {
            c.person_id = person;
            c.score = f64::from((1.0 - d).clamp(0.0, 1.0));
            finish(app, id, c, "PASSED", "");
        }
        _ => finish(app, id, c, "FAILED", NOT_CERTIFIED),
    }
    Ok(())
}

fn answer(id: &str, c: &Cert, prompt: &str) -> Value {
    let next = (c.status != "PENDING").then(|| redirect(&c.return_url, id, c.status, &c.error_code));
    json!({"status": c.status, "prompt": prompt, "next": next})
}

/// The certification page (zh-CN). The id is checked before it is written into the page.
pub fn page(id: &str) -> String {
    PAGE.replace("{{CERTIFY_ID}}", id)
}

const PAGE: &str = include_str!("certify.html");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_and_differ() {
        let (a, b) = (new_id(), new_id());
        assert!(id_ok(&a) && id_ok(&b) && a != b, "{a} {b}");
        assert!(!id_ok("../../etc/passwd"));
        assert!(!id_ok(&"g".repeat(32)));
    }

    #[test]
    fn the_result_goes_into_the_return_urls_query() {
        let u = Url::parse("https://shop.example/done?x=1#top").unwrap();
        let r = redirect(&u, "ab", "FAILED", "USER_IS_NOT_CERTIFY");
        assert_eq!(r, "https://shop.example/done?x=1&certifyId=ab&status=FAILED&errorCode=USER_IS_NOT_CERTIFY#top");
        assert_eq!(redirect(&u, "ab", "PASSED", ""), "https://shop.example/done?x=1&certifyId=ab&status=PASSED#top");
    }

    #[test]
    fn the_page_carries_the_id() {
        let p = page("0123456789abcdef0123456789abcdef");
        assert!(p.contains("0123456789abcdef0123456789abcdef") && !p.contains("{{CERTIFY_ID}}"));
        assert!(p.contains("lang=\"zh-CN\""));
    }
}
