//! Real-person certification (seed 003's open-certify): `POST /v1/certify/start` opens a
//! certification for an ID number, the person does it on the certification page this provider
//! serves (`GET /certify/{id}`: camera, a head-turn liveness challenge, then a 1:1 comparison
//! with the templates enrolled for that ID number), and the page goes to the caller's return URL
//! with the result in its query (`certifyId`, `status` `PASSED`/`FAILED`, `errorCode`).
//! `GET /v1/certify/{id}` answers the authoritative result, since a page's answer can be altered.
//!
//! The certify id is the page's only credential: 32 random hex characters, answered only to the
//! terminal key that started it. Certifications are rows of the provider's database
//! (`certification`), so a restart of the provider keeps them: a page that was half-way through
//! the liveness challenge gets a fresh challenge (the challenge's progress and the best face so
//! far live in memory only) and goes on. A certification not finished within `certify_ttl_s`
//! (default [`LIFETIME_S`], 10 minutes) ends as `FAILED` with `errorCode` `TIMEOUT`, its page
//! then goes to the return URL with that result; [`KEEP_S`] after that end of life the row is
//! deleted and the id is unknown (`NOT_FOUND`). Frames are used and dropped; none is stored or
//! logged, and the best face's embedding never reaches the database.

use crate::server::{App, Refusal};
use crate::store::StoreError;
use booth_face::liveness::{Challenge, Progress};
use booth_provider_client::sign;
use booth_provider_client::wire::*;
use rusqlite::{params, OptionalExtension};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use url::Url;

/// How long a certification may take from start to its last frame unless `certify_ttl_s` says
/// otherwise (seconds).
pub const LIFETIME_S: i64 = 600;
/// How long the result of an ended certification stays readable after its end of life.
pub const KEEP_S: i64 = 24 * 3600;
/// At most this many certifications in progress (the oldest gives way: `TIMEOUT`).
const MAX_OPEN: i64 = 256;
/// Frames a page may send for one certification (about 1 minute at 5 per second).
const MAX_FRAMES: i64 = 300;

/// Seed 003's error codes for a failed certification.
pub const NOT_CERTIFIED: &str = "USER_IS_NOT_CERTIFY";
pub const CAMERA_UNAVAILABLE: &str = "CAMERA_UNAVAILABLE";
pub const EXPIRED: &str = "TIMEOUT";

const PENDING: &str = "PENDING";

/// A certification as its row has it.
struct Cert {
    key_id: String,
    terminal: String,
    cert_no: String,
    return_url: Url,
    status: String,
    error_code: String,
    person_id: String,
    score: f64,
}

/// What only this process knows of a certification in progress: the challenge's progress and
/// the most frontal face seen so far (|yaw|, embedding). Lost on a restart, by design.
struct Live {
    challenge: Challenge,
    best: Option<(f32, Vec<f32>)>,
    touched: Instant,
}

#[derive(Default)]
pub struct Certifications {
    live: Mutex<HashMap<String, Live>>,
}

fn lock(m: &Mutex<HashMap<String, Live>>) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn db(e: rusqlite::Error) -> Refusal {
    Refusal::from(StoreError::from(e))
}

fn gone() -> Refusal {
    Refusal(Code::NotFound, "认证不存在或已过期".into())
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

/// The row of `id`; a pending one past its end of life is ended (`TIMEOUT`) first.
fn load(app: &App, id: &str) -> Result<Option<Cert>, Refusal> {
    let now = sign::now_s();
    let row = app
        .store
        .conn()
        .query_row(
            "SELECT key_id, terminal, cert_no, return_url, expires_at, status, error_code, person_id, score
             FROM certification WHERE id = ?1",
            params![id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, f64>(8)?,
                ))
            },
        )
        .optional()
        .map_err(db)?;
    let Some((key_id, terminal, cert_no, return_url, expires_at, status, error_code, person_id, score)) = row else {
        return Ok(None);
    };
    let return_url = Url::parse(&return_url).map_err(|e| Refusal(Code::VendorError, format!("returnUrl: {e}")))?;
    let mut c = Cert { key_id, terminal, cert_no, return_url, status, error_code, person_id, score };
    if c.status == PENDING && now >= expires_at {
        finish(app, id, &mut c, "FAILED", EXPIRED)?;
    }
    Ok(Some(c))
}

/// Ends a pending certification (only the first ending counts: a concurrent one reloads).
fn finish(app: &App, id: &str, c: &mut Cert, status: &str, error_code: &str) -> Result<(), Refusal> {
    let (person, score) = if status == "PASSED" { (c.person_id.clone(), c.score) } else { (String::new(), 0.0) };
    let n = app
        .store
        .conn()
        .execute(
            "UPDATE certification SET status = ?2, error_code = ?3, person_id = ?4, score = ?5
             WHERE id = ?1 AND status = 'PENDING'",
            params![id, status, error_code, person, score],
        )
        .map_err(db)?;
    if n == 0 {
        // Ended meanwhile by another request: its ending stands.
        if let Some(now) = load(app, id)? {
            *c = now;
        }
        return Ok(());
    }
    c.status = status.to_string();
    c.error_code = error_code.to_string();
    c.person_id = person;
    c.score = score;
    app.store.audit(
        &c.key_id,
        &c.terminal,
        "certify",
        &c.person_id,
        if status == "PASSED" { "PASSED" } else { error_code },
    );
    tracing::info!(certify = %&id[..8], %status, error_code, "certification ended");
    Ok(())
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
        let now = sign::now_s();
        {
            let conn = app.store.conn();
            conn.execute("DELETE FROM certification WHERE expires_at < ?1", params![now - KEEP_S]).map_err(db)?;
            let open: i64 = conn
                .query_row(
                    "SELECT count(*) FROM certification WHERE status = 'PENDING' AND expires_at > ?1",
                    params![now],
                    |r| r.get(0),
                )
                .map_err(db)?;
            if open >= MAX_OPEN {
                conn.execute(
                    "UPDATE certification SET status = 'FAILED', error_code = ?2 WHERE id =
                     (SELECT id FROM certification WHERE status = 'PENDING' AND expires_at > ?1
                      ORDER BY started_at LIMIT 1)",
                    params![now, EXPIRED],
                )
                .map_err(db)?;
            }
            conn.execute(
                "INSERT INTO certification (id, key_id, terminal, cert_no, return_url, started_at, expires_at, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'PENDING')",
                params![id, key_id, req.terminal, cert_no, return_url.as_str(), now, now + app.settings.certify_ttl_s],
            )
            .map_err(db)?;
        }
        app.store.audit(key_id, &req.terminal, "certify.start", "", PENDING);
        Ok(CertifyStartResponse { certify_url: format!("{}/certify/{id}", base.trim_end_matches('/')), certify_id: id })
    }

    /// `GET /v1/certify/{id}`: only for the terminal key that started it.
    pub fn status(&self, app: &App, key_id: &str, id: &str) -> Result<CertifyStatus, Refusal> {
        let c = load(app, id)?
            .filter(|c| c.key_id == key_id)
            .ok_or_else(|| Refusal(Code::NotFound, "没有这个认证 (或已过期删除)".into()))?;
        Ok(CertifyStatus {
            certify_id: id.to_string(),
            status: c.status,
            return_url: c.return_url.to_string(),
            error_code: c.error_code,
            person_id: c.person_id,
            score: c.score,
        })
    }

    /// Whether the page of `id` may be shown.
    pub fn exists(&self, app: &App, id: &str) -> bool {
        matches!(load(app, id), Ok(Some(_)))
    }

    /// One camera frame from the page (JPEG or PNG): the challenge's next prompt, or the result
    /// with the URL to go to.
    pub fn frame(&self, app: &App, id: &str, image: &[u8]) -> Result<Value, Refusal> {
        let mut c = load(app, id)?.ok_or_else(gone)?;
        if c.status != PENDING {
            self.forget(id);
            return Ok(answer(id, &c, ""));
        }
        let frames: Option<i64> = app
            .store
            .conn()
            .query_row(
                "UPDATE certification SET frames = frames + 1 WHERE id = ?1 AND status = 'PENDING' RETURNING frames",
                params![id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        if frames.is_none_or(|n| n > MAX_FRAMES) {
            finish(app, id, &mut c, "FAILED", Code::LivenessFailed.as_str())?;
            self.forget(id);
            return Ok(answer(id, &c, ""));
        }
        // The models run outside any lock.
        let frame =
            booth_camera::Frame::decode(image).map_err(|e| Refusal(Code::BadParam, format!("图像无法解码: {e}")))?;
        let engine = app.engine()?;
        let faces = engine.faces(&frame).map_err(|e| Refusal(Code::VendorError, e.to_string()))?;
        let face = match faces.as_slice() {
            [face] => face,
            many => return Ok(answer(id, &c, if many.is_empty() { "请正对摄像头" } else { "请确保画面中只有一人" })),
        };
        let yaw = face.detection.yaw().abs();
        let better = lock(&self.live).get(id).is_none_or(|l| l.best.as_ref().is_none_or(|(b, _)| yaw < *b));
        let embedding = match better {
            true => Some(engine.embed(face).map_err(|e| Refusal(Code::VendorError, e.to_string()))?.0.to_vec()),
            false => None,
        };
        let best = {
            let mut live = lock(&self.live);
            live.retain(|_, l| {
                l.touched.elapsed() < Duration::from_secs(LIFETIME_S.max(app.settings.certify_ttl_s) as u64)
            });
            if live.len() >= MAX_OPEN as usize && !live.contains_key(id) {
                if let Some(oldest) = live.iter().min_by_key(|(_, l)| l.touched).map(|(k, _)| k.clone()) {
                    live.remove(&oldest);
                }
            }
            let l = live.entry(id.to_string()).or_insert_with(|| Live {
                challenge: Challenge::random(2, false),
                best: None,
                touched: Instant::now(),
            });
            l.touched = Instant::now();
            if let Some(e) = embedding.filter(|_| l.best.as_ref().is_none_or(|(b, _)| yaw < *b)) {
                l.best = Some((yaw, e));
            }
            match l.challenge.feed(&face.detection) {
                Progress::Prompt(p) => return Ok(answer(id, &c, p)),
                Progress::Done => live.remove(id).and_then(|l| l.best),
            }
        };
        decide(app, id, &mut c, best)?;
        Ok(answer(id, &c, ""))
    }

    /// The page could not use a camera: the certification fails with `CAMERA_UNAVAILABLE`.
    pub fn no_camera(&self, app: &App, id: &str) -> Result<Value, Refusal> {
        let mut c = load(app, id)?.ok_or_else(gone)?;
        if c.status == PENDING {
            finish(app, id, &mut c, "FAILED", CAMERA_UNAVAILABLE)?;
        }
        self.forget(id);
        Ok(answer(id, &c, ""))
    }

    fn forget(&self, id: &str) {
        lock(&self.live).remove(id);
    }
}

/// Liveness passed: the most frontal face against the templates of the ID number.
fn decide(app: &App, id: &str, c: &mut Cert, best: Option<(f32, Vec<f32>)>) -> Result<(), Refusal> {
    let Some((_, probe)) = best else {
        return finish(app, id, c, "FAILED", Code::NoFace.as_str());
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
            finish(app, id, c, "PASSED", "")
        }
        _ => finish(app, id, c, "FAILED", NOT_CERTIFIED),
    }
}

fn answer(id: &str, c: &Cert, prompt: &str) -> Value {
    let pending = c.status == PENDING;
    let next = (!pending).then(|| redirect(&c.return_url, id, &c.status, &c.error_code));
    json!({"status": c.status, "prompt": if pending { prompt } else { "" }, "next": next})
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
