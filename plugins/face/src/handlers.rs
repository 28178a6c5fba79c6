//! Seed 000's face APIs on the bridge (engine `local`), and the face screen they drive.
//!
//! - `initFace {scope, serviceId, query}`: loads the models, opens the gallery and checks that
//!   the camera gives a picture. Face calls made before it initialise on the way.
//! - `getFaceInfo`: face screen → liveness → 1:N in the gallery (the partition of
//!   `params.orgOutId`/`componentOutId`, else `[face] org_out_id`/`component_out_id`, else all).
//! - `getFaceInfoPersonCard {certName, certNo, certPhotoBase64Str}`: face screen → liveness →
//!   1:1 against the given photo, or against the photo of the ID card with that number read in
//!   the last 60 s.
//! - `doStorageFaceInfo {appid, orgOutId, componentOutId, isvPid}`: consent → face screen →
//!   liveness → enrol (an already enrolled person is found, not added twice); `data` is a JSON
//!   string, as the seed shows.
//! - seed 001's `wxfaceapp.faceLogin`, `isLoginOnFaceApp`, `logoutOnFaceApp`: see [`login`].
//!
//! The face screen is Booth's own page over the calling page; the app shows it through
//! [`FaceScreen`] and reports the person's buttons back with [`FaceService::cancel`] and
//! [`FaceService::consent`].

use crate::attempt::{self, Capture, Failure, Spec};
use crate::authcode::{self, Claims};
use crate::config::FaceConfig;
use crate::gallery::{Gallery, GalleryStatus, Partition, PersonInfo};
use crate::quality::Gates;
use crate::{Engine, FaceError};
use base64::Engine as _;
use booth_bridge::{handler, ApiError, Bridge, CallCtx, Dialect, Done, ErrorCode, Params, SessionId};
use booth_camera::preview::Preview;
use booth_camera::{Camera, Frame};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

mod fin;
pub mod login;
mod provider;

pub use login::{LoginPayCode, LoginTicket, APPLET_RESET_TOPIC};

/// Event topic the ID card plugin publishes card reads on (`idNum`, `photoBase64`, …).
pub const ID_CARD_TOPIC: &str = "idcard.card";
/// How long a card read stays usable for getFaceInfoPersonCard.
pub const ID_CARD_FRESH: Duration = Duration::from_secs(60);

/// Shows Booth's face screen over one page (the app implements it with its webviews).
pub trait FaceScreen: Send + Sync + 'static {
    /// Shows the screen over the page in `window` (a webview label). `options`:
    /// `{mode: "recognize"|"verify"|"enrol", previewUrl, timeoutMs, consentText?}` — with a
    /// `consentText` the screen first asks for consent and reports it with
    /// [`FaceService::consent`].
    fn show(&self, window: &str, options: &Value) -> Result<(), String>;
    /// `{prompt, step}` as the attempt goes on.
    fn update(&self, window: &str, state: &Value);
    fn hide(&self, window: &str);
}

struct Pending {
    cancel: CancellationToken,
    consent: Option<oneshot::Sender<bool>>,
    /// The card capture screen's 拍照 button.
    shutter: Option<oneshot::Sender<()>>,
}

struct IdCardPhoto {
    number: String,
    photo: String,
    at: Instant,
}

/// The face capability: engine, gallery, camera and the calls.
pub struct FaceService {
    config: FaceConfig,
    camera: Camera,
    engine: Mutex<Option<Arc<Engine>>>,
    gallery: Mutex<Option<Arc<Gallery>>>,
    preview: tokio::sync::Mutex<Option<Arc<Preview>>>,
    screen: OnceLock<Arc<dyn FaceScreen>>,
    pending: Mutex<HashMap<SessionId, Pending>>,
    /// The terminal has one camera and one face screen: one attempt at a time.
    busy: Mutex<Option<SessionId>>,
    last_card: Mutex<Option<IdCardPhoto>>,
    /// Why the engine is not loaded (for /health), if it is not.
    engine_detail: Mutex<String>,
    /// `[face] engine = "provider"`: who searches, verifies and enrols.
    provider: OnceLock<Arc<booth_provider_client::Provider>>,
    /// Seed 001's face login: one person per terminal.
    login: Mutex<Option<login::Login>>,
    /// The picture finLivenessCheck last gave a page (single use, for finFaceAuth).
    last_live: Mutex<Option<fin::LivePicture>>,
    /// quickPay: a payment code for each login's face.
    login_pay_code: OnceLock<login::LoginPayCode>,
}

enum Mode {
    Recognize,
    Verify,
    Enrol,
    /// finLivenessCheck.
    Liveness,
    /// facePay: recognition, with the amount on the screen.
    Pay,
}

impl Mode {
    fn as_str(&self) -> &'static str {
        match self {
            Mode::Recognize => "recognize",
            Mode::Verify => "verify",
            Mode::Enrol => "enrol",
            Mode::Liveness => "liveness",
            Mode::Pay => "pay",
        }
    }
}

fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn engine_error(e: FaceError) -> ApiError {
    match e {
        FaceError::ModelsMissing(_) => ApiError::unavailable(e),
        other => ApiError::new(ErrorCode::DeviceError, other),
    }
}

/// A face call's failure: the page's message, and `data.originFaceInfo` with the reason.
fn failed(code: ErrorCode, reason: &str, message: String) -> ApiError {
    ApiError::with_message(code, message.clone())
        .data(json!({"originFaceInfo": {"reason": reason, "subCode": reason, "subMessage": message}}))
}

fn attempt_failed(f: Failure) -> ApiError {
    let code = match &f {
        Failure::Cancelled => ErrorCode::Cancelled,
        Failure::Camera(_) => ErrorCode::DeviceUnavailable,
        Failure::Engine(FaceError::ModelsMissing(_)) => ErrorCode::DeviceUnavailable,
        Failure::NoFace | Failure::Quality(_) => ErrorCode::Timeout,
        Failure::Liveness | Failure::Engine(_) => ErrorCode::DeviceError,
    };
    failed(code, f.code(), f.message())
}

fn required<'a>(params: &'a Params, key: &str) -> Result<&'a str, ApiError> {
    match params.str(key)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(ApiError::invalid(format!("缺少 {key}"))),
    }
}

impl FaceService {
    pub fn new(config: FaceConfig, camera: Camera) -> Arc<FaceService> {
        Arc::new(FaceService {
            config,
            camera,
            engine: Mutex::default(),
            gallery: Mutex::default(),
            preview: tokio::sync::Mutex::default(),
            screen: OnceLock::new(),
            pending: Mutex::default(),
            busy: Mutex::default(),
            last_card: Mutex::default(),
            engine_detail: Mutex::new("未加载 (initFace 时加载)".into()),
            provider: OnceLock::new(),
            login: Mutex::default(),
            last_live: Mutex::default(),
            login_pay_code: OnceLock::new(),
        })
    }

    /// Connects the face screen (once the windows exist).
    pub fn set_screen(&self, screen: Arc<dyn FaceScreen>) {
        if self.screen.set(screen).is_err() {
            tracing::warn!("face screen set twice; keeping the first");
        }
    }

    /// Connects the identity provider (`[face] engine = "provider"`).
    pub fn set_provider(&self, provider: Arc<booth_provider_client::Provider>) {
        if self.provider.set(provider).is_err() {
            tracing::warn!("face provider set twice; keeping the first");
        }
    }

    pub fn camera(&self) -> &Camera {
        &self.camera
    }

    /// The person pressed 取消 on the face screen of `session`'s page.
    pub fn cancel(&self, session: SessionId) -> bool {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        match pending.get(&session) {
            Some(p) => {
                p.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// The person answered the enrolment consent question.
    pub fn consent(&self, session: SessionId, accepted: bool) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        match pending.get_mut(&session).and_then(|p| p.consent.take()) {
            Some(tx) => tx.send(accepted).is_ok(),
            None => false,
        }
    }

    /// The person pressed 拍照 on the card capture screen of `session`'s page.
    pub fn shutter(&self, session: SessionId) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        match pending.get_mut(&session).and_then(|p| p.shutter.take()) {
            Some(tx) => tx.send(()).is_ok(),
            None => false,
        }
    }

    /// Whether a face screen is open for `session`.
    pub fn waiting(&self, session: SessionId) -> bool {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&session)
    }

    /// The gallery, opening it if needed (the admin screen's counts and deletions).
    pub fn gallery(&self) -> Result<Arc<Gallery>, FaceError> {
        let mut g = self.gallery.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(g) = g.as_ref() {
            return Ok(g.clone());
        }
        let opened = Arc::new(Gallery::open(&self.config.gallery_dir, &self.config.key_file)?);
        *g = Some(opened.clone());
        Ok(opened)
    }

    fn engine(&self) -> Result<Arc<Engine>, FaceError> {
        let mut e = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = e.as_ref() {
            return Ok(e.clone());
        }
        let started = Instant::now();
        match Engine::load(&self.config.models_dir) {
            Ok(loaded) => {
                let loaded = Arc::new(loaded);
                tracing::info!(ms = started.elapsed().as_millis() as u64, "face models loaded");
                *self.engine_detail.lock().unwrap_or_else(|p| p.into_inner()) = "已加载".into();
                *e = Some(loaded.clone());
                Ok(loaded)
            }
            Err(err) => {
                *self.engine_detail.lock().unwrap_or_else(|p| p.into_inner()) = err.to_string();
                Err(err)
            }
        }
    }

    /// For `/health` and `booth doctor`: no biometric data, only counts and states.
    pub fn status(&self) -> Value {
        // Only an existing gallery is opened: a status query creates no files.
        let exists = self.config.gallery_dir.join("gallery.log").is_file();
        let opened = self.gallery.lock().unwrap_or_else(|p| p.into_inner()).is_some();
        let gallery: Option<GalleryStatus> =
            (exists || opened).then(|| self.gallery().ok().map(|g| g.status())).flatten();
        let models = self.config.models_dir.join(crate::models::DETECTOR_FILE).is_file()
            && self.config.models_dir.join(crate::models::EMBEDDER_FILE).is_file()
            && self.config.models_dir.join(crate::models::RUNTIME_FILE).is_file();
        let busy = self.busy.lock().unwrap_or_else(|p| p.into_inner()).is_some();
        let camera = self.camera.status();
        // Without a camera face is not configured, not broken.
        let configured = self.config.enabled && camera.backend != "none";
        let detail = if !self.config.enabled {
            "[face] engine = \"none\"".to_string()
        } else if camera.backend == "none" {
            "没有摄像头 ([camera] backend = \"none\")".to_string()
        } else if !models {
            format!("人脸模型未安装 ({}); {}", self.config.models_dir.display(), crate::models::INSTALL_HINT)
        } else if !camera.available {
            format!("摄像头不可用: {}", camera.detail)
        } else {
            self.engine_detail.lock().unwrap_or_else(|p| p.into_inner()).clone()
        };
        let backend = match (configured, self.config.via_provider) {
            (false, _) => "none",
            (true, false) => "local",
            (true, true) => "provider",
        };
        json!({
            "backend": backend,
            "available": configured && models && camera.available,
            "detail": detail,
            "busy": busy,
            "gallery": gallery,
            "provider": self.provider.get().map(|p| p.status()),
        })
    }

    /// Keeps the photo of the last ID card read, for getFaceInfoPersonCard (60 s, then dropped).
    /// An observer of the bridge: it sees each event by reference where it is published, so
    /// other events (a microphone's PCM chunks among them) cost it a comparison, not a copy.
    pub fn watch_id_cards(self: &Arc<Self>, bridge: &booth_bridge::Bridge) {
        bridge.add_observer(Arc::new(IdCardPhotos(Arc::downgrade(self))));
    }

    fn card_photo(&self, number: &str) -> Option<String> {
        let mut card = self.last_card.lock().unwrap_or_else(|p| p.into_inner());
        if card.as_ref().is_some_and(|c| c.at.elapsed() > ID_CARD_FRESH) {
            *card = None;
        }
        card.as_ref()
            .filter(|c| c.number == number.to_ascii_uppercase() && !c.photo.is_empty())
            .map(|c| c.photo.clone())
    }

    /// initFace: models, gallery, and a picture from the camera.
    async fn init(self: &Arc<Self>) -> Result<(), ApiError> {
        self.prepare().await?;
        let mut sub = self.camera.subscribe().map_err(ApiError::unavailable)?;
        sub.next_frame_async(Duration::from_secs(3)).await.map_err(ApiError::unavailable)?;
        Ok(())
    }

    /// Models, gallery and preview, loaded once (the face calls' own camera errors come from
    /// the attempt).
    async fn prepare(self: &Arc<Self>) -> Result<(), ApiError> {
        if !self.config.enabled {
            return Err(ApiError::new(ErrorCode::Unsupported, "本终端未启用人脸识别 ([face] engine = \"none\")"));
        }
        let me = self.clone();
        tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
            me.engine().map_err(engine_error)?;
            if !me.config.via_provider {
                me.gallery().map_err(ApiError::unavailable)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e))??;
        self.preview().await?;
        Ok(())
    }

    async fn preview(&self) -> Result<Arc<Preview>, ApiError> {
        let mut p = self.preview.lock().await;
        if let Some(p) = p.as_ref() {
            return Ok(p.clone());
        }
        let started =
            Preview::start(self.camera.clone()).await.map_err(|e| ApiError::unavailable(format!("preview: {e}")))?;
        *p = Some(started.clone());
        Ok(started)
    }

    /// One face for a payment (booth-payment's facePay): the face screen over the calling page,
    /// the liveness challenge, and what the provider contract carries of it (the aligned crop,
    /// the embedding, the liveness). The face never leaves this call except in that body.
    /// `amount_text` (e.g. "¥12.50") is shown on the screen.
    pub async fn payment_face(
        self: &Arc<Self>,
        ctx: &CallCtx,
        amount_text: Option<String>,
    ) -> Result<booth_provider_client::wire::Face, ApiError> {
        self.prepare().await?;
        let extra = amount_text.map(|a| json!({"amountText": a})).unwrap_or(Value::Null);
        let capture = self.capture_with(ctx, Mode::Pay, extra).await?;
        self.wire_face(&capture).await
    }

    /// Booth's screen over the calling page in `code` mode (no camera: "请出示付款码", a
    /// countdown and 取消), while a payment waits for the customer's code at the scanner. The
    /// screen goes when the guard is dropped; 取消 (or the page going away) fires its token.
    pub fn code_screen(
        self: &Arc<Self>,
        ctx: &CallCtx,
        timeout: Duration,
        amount_text: Option<String>,
    ) -> Result<ScreenGuard, ApiError> {
        let session = ctx.session.id();
        {
            let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
            if busy.is_some_and(|s| s != session) {
                return Err(ApiError::new(ErrorCode::Busy, "正在刷脸"));
            }
            *busy = Some(session);
        }
        let cancel = ctx.cancel.child_token();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(session, Pending { cancel: cancel.clone(), consent: None, shutter: None });
        let window = ctx.session.info().key.clone();
        let finish = Finish { service: self.clone(), session, window: window.clone() };
        let mut options = json!({"mode": "code", "timeoutMs": timeout.as_millis() as u64});
        if let Some(a) = amount_text {
            options["amountText"] = Value::from(a);
        }
        if let Some(s) = self.screen.get() {
            s.show(&window, &options).map_err(ApiError::unavailable)?;
        }
        Ok(ScreenGuard { cancel, _finish: finish })
    }

    /// Whether face capture can run at all here (`[face]` enabled).
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// The terminal's serial number as the provider knows it.
    pub fn terminal(&self) -> &str {
        &self.config.sn
    }

    /// Shows the face screen, runs one attempt (after consent, for enrolment), hides the screen.
    async fn capture(self: &Arc<Self>, ctx: &CallCtx, mode: Mode) -> Result<Capture, ApiError> {
        self.capture_with(ctx, mode, Value::Null).await
    }

    /// [`Self::capture`] with more options for the screen (`amountText`).
    async fn capture_with(self: &Arc<Self>, ctx: &CallCtx, mode: Mode, extra: Value) -> Result<Capture, ApiError> {
        let session = ctx.session.id();
        {
            let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
            if busy.is_some() {
                return Err(ApiError::new(ErrorCode::Busy, "正在刷脸"));
            }
            *busy = Some(session);
        }
        let cancel = ctx.cancel.child_token();
        let (consent_tx, consent_rx) = oneshot::channel();
        let asks_consent = matches!(mode, Mode::Enrol);
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).insert(
            session,
            Pending { cancel: cancel.clone(), consent: asks_consent.then_some(consent_tx), shutter: None },
        );
        let window = ctx.session.info().key.clone();
        let _done = Finish { service: self.clone(), session, window: window.clone() };

        let preview = self.preview().await?;
        let mut options = json!({
            "mode": mode.as_str(),
            "previewUrl": preview.url_for(&window),
            "timeoutMs": self.config.timeout.as_millis() as u64,
        });
        if asks_consent {
            options["consentText"] = Value::from(self.config.consent_text.clone());
        }
        if let (Value::Object(o), Value::Object(extra)) = (&mut options, extra) {
            o.extend(extra);
        }
        let screen = self.screen.get().cloned();
        if let Some(s) = &screen {
            s.show(&window, &options).map_err(ApiError::unavailable)?;
        }
        if asks_consent {
            let accepted = tokio::select! {
                r = consent_rx => r.unwrap_or(false),
                _ = cancel.cancelled() => false,
                _ = tokio::time::sleep(self.config.timeout) => {
                    return Err(failed(ErrorCode::Timeout, "CONSENT_TIMEOUT", "授权超时".into()));
                }
            };
            if !accepted {
                return Err(ApiError::with_message(ErrorCode::Cancelled, "用户拒绝授权").data(json!("consent")));
            }
        }
        let engine = self.engine().map_err(engine_error)?;
        let mut frames = self
            .camera
            .subscribe()
            .map_err(|e| failed(ErrorCode::DeviceUnavailable, "CAMERA_UNAVAILABLE", e.to_string()))?;
        let spec = Spec {
            liveness_steps: self.config.liveness_steps,
            timeout: self.config.timeout,
            mirrored: self.config.mirrored || self.camera.config().mirror,
            gates: Gates { min_eye_px: self.config.min_eye_px, ..Gates::default() },
            same_person: 0.55,
        };
        let (screen_for_attempt, window_for_attempt) = (screen.clone(), window.clone());
        let result = tokio::task::spawn_blocking(move || {
            let mut report = |state: Value| {
                if let Some(s) = &screen_for_attempt {
                    s.update(&window_for_attempt, &state);
                }
            };
            attempt::run(&engine, &mut frames, &spec, &cancel, &mut report)
        })
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e))?;
        match result {
            Ok(capture) => {
                self.keep(&capture.frame, mode.as_str());
                Ok(capture)
            }
            Err(f) => {
                tracing::info!(reason = f.code(), "face attempt failed");
                Err(attempt_failed(f))
            }
        }
    }

    /// `[face] keep_captures`: saves the picture for debugging; otherwise it is dropped.
    fn keep(&self, frame: &Frame, what: &str) {
        let Some(dir) = &self.config.captures_dir else { return };
        let path = dir.join(format!("{}-{what}.jpg", now_s()));
        let saved = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, frame.to_jpeg(90)));
        if let Err(e) = saved {
            tracing::warn!(error = %e, "face: could not keep the capture");
        }
    }

    fn auth_code(&self, uid: &str, ftoken: &str) -> String {
        let Some(key) = &self.config.site_key else { return String::new() };
        let iat = now_s();
        authcode::issue(
            key,
            &Claims {
                uid: uid.to_string(),
                ft: ftoken.to_string(),
                sn: self.config.sn.clone(),
                iat,
                exp: iat + self.config.auth_code_ttl.as_secs(),
                jti: authcode::random_id(""),
            },
        )
    }

    fn partition(&self, params: &Params) -> Result<Option<Partition>, ApiError> {
        let org = params.str("orgOutId")?.unwrap_or_default();
        let component = params.str("componentOutId")?.unwrap_or_default();
        if org.is_empty() && component.is_empty() {
            return Ok(self.config.default_partition.clone());
        }
        Ok(Some(Partition::new(org, component)))
    }

    /// 1:N: the person if the match is close enough and clear of the next person.
    fn identify(&self, gallery: &Gallery, partition: Option<&Partition>, capture: &Capture) -> Option<(String, f32)> {
        let m = gallery.find(partition, capture.embedding())?;
        let clear = m.second.is_none_or(|s| s - m.distance >= self.config.match_margin);
        (m.distance < self.config.match_threshold && clear).then_some((m.person, m.distance))
    }

    async fn get_face_info(self: &Arc<Self>, ctx: CallCtx, params: Params) -> Result<Done, ApiError> {
        let partition = self.partition(&params)?;
        if self.config.via_provider {
            self.the_provider()?;
        }
        self.prepare().await?;
        let capture = self.capture(&ctx, Mode::Recognize).await?;
        if self.config.via_provider {
            return self.remote_search(&capture, partition.as_ref()).await;
        }
        let gallery = self.gallery().map_err(ApiError::unavailable)?;
        let ftoken = authcode::random_id("fp");
        match self.identify(&gallery, partition.as_ref(), &capture) {
            Some((uid, distance)) => {
                tracing::info!("getFaceInfo: recognised an enrolled person");
                let auth = self.auth_code(&uid, &ftoken);
                Ok(Done::from(json!({
                    "alipayUid": uid,
                    "code": 1000,
                    "extInfo": json!({"authCode": auth}).to_string(),
                    "ftoken": ftoken,
                    "isvResult": true,
                    "subCode": "",
                    "subMessage": "",
                    "vid": "",
                    "score": score(distance),
                })))
            }
            None => {
                tracing::info!("getFaceInfo: nobody enrolled matches");
                Err(failed(ErrorCode::DeviceError, "NOT_ENROLLED", "未找到已登记的人脸".into()))
            }
        }
    }

    async fn person_card(self: &Arc<Self>, ctx: CallCtx, params: Params) -> Result<Done, ApiError> {
        let cert_name = required(&params, "certName")?.trim().to_string();
        let cert_no = required(&params, "certNo")?.trim().to_string();
        if !(cert_no.len() == 15 || cert_no.len() == 18)
            || !cert_no.chars().all(|c| c.is_ascii_digit() || c == 'X' || c == 'x')
        {
            return Err(ApiError::invalid("certNo 应为 15 或 18 位身份证号"));
        }
        if self.config.via_provider {
            // The provider may hold templates for the ID number: a photo is optional here.
            let given = params.str("certPhotoBase64Str")?.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
            let photo = given.or_else(|| self.card_photo(&cert_no));
            if let Some(p) = &photo {
                let b64 = p.split_once("base64,").map_or(p.as_str(), |(_, b)| b);
                base64::engine::general_purpose::STANDARD
                    .decode(b64.split_whitespace().collect::<String>())
                    .map_err(|_| ApiError::invalid("certPhotoBase64Str 不是 base64"))?;
            }
            self.the_provider()?;
            self.prepare().await?;
            let capture = self.capture(&ctx, Mode::Verify).await?;
            return self.remote_verify(&capture, &cert_name, &cert_no, photo).await;
        }
        let photo_b64 = match params.str("certPhotoBase64Str")?.map(str::trim).filter(|s| !s.is_empty()) {
            Some(p) => p.to_string(),
            None => self.card_photo(&cert_no).ok_or_else(|| {
                ApiError::invalid("没有证件照片: 请传 certPhotoBase64Str, 或在 60 秒内在读卡器上读取这张身份证")
            })?,
        };
        let b64 = photo_b64.split_once("base64,").map_or(photo_b64.as_str(), |(_, b)| b);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.split_whitespace().collect::<String>())
            .map_err(|_| ApiError::invalid("certPhotoBase64Str 不是 base64"))?;
        let photo = Frame::decode(&bytes).map_err(|e| ApiError::invalid(format!("certPhotoBase64Str: {e}")))?;
        self.prepare().await?;
        let engine = self.engine().map_err(engine_error)?;
        let reference = tokio::task::spawn_blocking(move || engine.embed_photo(&photo))
            .await
            .map_err(|e| ApiError::new(ErrorCode::Internal, e))?
            .map_err(|e| match e {
                FaceError::NoFaceInPhoto => ApiError::invalid("证件照片中没有人脸"),
                other => engine_error(other),
            })?;
        let capture = self.capture(&ctx, Mode::Verify).await?;
        let distance = capture.embedding().distance(&reference);
        if distance >= self.config.verify_threshold {
            tracing::info!("getFaceInfoPersonCard: not the person of the photo");
            return Err(failed(ErrorCode::DeviceError, "MISMATCH", "人证比对不一致".into()));
        }
        let gallery = self.gallery().map_err(ApiError::unavailable)?;
        let uid = self.identify(&gallery, None, &capture).map(|(u, _)| u).unwrap_or_default();
        Ok(Done::from(json!({
            "alipayUid": uid,
            "code": 1000,
            "extInfo": json!({"authCode": ""}).to_string(),
            "ftoken": authcode::random_id("fp"),
            "isvResult": true,
            "subCode": "",
            "subMessage": "",
            "vid": "",
            "score": score(distance),
        })))
    }

    async fn store(self: &Arc<Self>, ctx: CallCtx, params: Params) -> Result<Done, ApiError> {
        for key in ["appid", "orgOutId", "componentOutId", "isvPid"] {
            required(&params, key)?;
        }
        let partition = Partition::new(required(&params, "orgOutId")?, required(&params, "componentOutId")?);
        let info = PersonInfo {
            name: params.str("name")?.unwrap_or_default().to_string(),
            cert_no: params.str("certNo")?.unwrap_or_default().to_string(),
            phone: params.str("phone")?.unwrap_or_default().to_string(),
        };
        let unique_id = params.str("uniqueId")?.unwrap_or_default().to_string();
        if self.config.via_provider {
            self.the_provider()?;
        }
        self.prepare().await?;
        let capture = match self.capture(&ctx, Mode::Enrol).await {
            Ok(c) => c,
            Err(e) if e.data == Some(json!("consent")) => {
                // Seed 000's answer when a new user refuses.
                let data = json!({
                    "eventType": "rocketResult",
                    "eventData": {
                        "uniqueId": authcode::random_id("").chars().filter(char::is_ascii_digit).take(16).collect::<String>(),
                        "subCode": "90001",
                        "subMessage": "请走上传个人信息的链路",
                    }
                });
                return Err(ApiError::with_message(ErrorCode::Cancelled, "失败").data(Value::String(data.to_string())));
            }
            Err(e) => return Err(e),
        };
        if self.config.via_provider {
            return self.remote_enroll(&capture, &partition, info, unique_id).await;
        }
        let gallery = self.gallery().map_err(ApiError::unavailable)?;
        let ftoken = authcode::random_id("fp");
        let data = match self.identify(&gallery, Some(&partition), &capture) {
            Some((uid, _)) => {
                tracing::info!("doStorageFaceInfo: already enrolled");
                json!({
                    "eventType": "rocketResult",
                    "eventData": {"ftoken": ftoken, "uid": uid, "vid": uid, "subCode": "SUCCESS", "subMessage": "成功"}
                })
            }
            None => {
                let uid = new_person_id();
                let me = self.clone();
                let (g, id, p, embeddings) =
                    (gallery.clone(), uid.clone(), partition.clone(), capture.embeddings.clone());
                tokio::task::spawn_blocking(move || g.add(&id, &p, info, embeddings))
                    .await
                    .map_err(|e| ApiError::new(ErrorCode::Internal, e))?
                    .map_err(|e| ApiError::new(ErrorCode::DeviceError, e))?;
                tracing::info!("doStorageFaceInfo: enrolled a new person");
                let auth = me.auth_code(&uid, &ftoken);
                json!({
                    "eventType": "rocketResult",
                    "eventData": {
                        "uid": uid, "ftoken": ftoken, "authCode": auth, "vid": uid,
                        "subCode": "SUCCESS", "subMessage": "成功",
                        "bizId": if unique_id.is_empty() { authcode::random_id("") } else { unique_id },
                    }
                })
            }
        };
        Ok(Done::from(Value::String(data.to_string())))
    }

    /// Registers initFace, getFaceInfo, getFaceInfoPersonCard, doStorageFaceInfo and seed 001's
    /// isLoginOnFaceApp, faceLogin and logoutOnFaceApp.
    pub fn register(self: &Arc<Self>, bridge: &Bridge) {
        // Consent plus the attempt, with room for the models to load.
        let limit = self.config.timeout * 2 + Duration::from_secs(30);
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "initFace",
            Some(Duration::from_secs(30)),
            handler(move |_ctx, params| {
                let me = me.clone();
                async move {
                    for key in ["scope", "serviceId", "query"] {
                        params.str(key)?;
                    }
                    me.init().await?;
                    Ok(Done::from(json!({})))
                }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "getFaceInfo",
            Some(limit),
            handler(move |ctx, params| {
                let me = me.clone();
                async move { me.get_face_info(ctx, params).await }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "getFaceInfoPersonCard",
            Some(limit),
            handler(move |ctx, params| {
                let me = me.clone();
                async move { me.person_card(ctx, params).await }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::My,
            "doStorageFaceInfo",
            Some(limit),
            handler(move |ctx, params| {
                let me = me.clone();
                async move { me.store(ctx, params).await }
            }),
        );
        self.register_login(bridge, limit);
        self.register_fin(bridge, limit);
    }
}

/// Booth's `score`: 100 × (1 − L2 distance), 0–100 (55 at the default 1:N threshold).
fn score(distance: f32) -> u32 {
    ((1.0 - distance).clamp(0.0, 1.0) * 100.0).round() as u32
}

/// A person id shaped like the seed's `alipayUid` (16 digits), starting with 9 so that it never
/// looks like an Alipay id (2088…).
fn new_person_id() -> String {
    let raw = authcode::random_id("");
    let digits: String = raw.bytes().map(|b| char::from(b'0' + b % 10)).take(15).collect();
    format!("9{digits}")
}

/// Hides the screen, ends the preview stream and frees the terminal however a call ends.
/// Booth's screen shown by [`FaceService::code_screen`]; hidden when dropped.
pub struct ScreenGuard {
    cancel: CancellationToken,
    _finish: Finish,
}

impl ScreenGuard {
    /// Fires when the person presses 取消 or the page goes away.
    pub fn cancelled(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

struct Finish {
    service: Arc<FaceService>,
    session: SessionId,
    window: String,
}

impl Drop for Finish {
    fn drop(&mut self) {
        if let Some(p) = self.service.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.session) {
            p.cancel.cancel();
        }
        if let Some(s) = self.service.screen.get() {
            s.hide(&self.window);
        }
        if let Ok(preview) = self.service.preview.try_lock() {
            if let Some(p) = preview.as_ref() {
                p.revoke(&self.window);
            }
        }
        let mut busy = self.service.busy.lock().unwrap_or_else(|p| p.into_inner());
        if *busy == Some(self.session) {
            *busy = None;
        }
    }
}

/// Keeps the last ID card's photo (see [`FaceService::watch_id_cards`]).
struct IdCardPhotos(std::sync::Weak<FaceService>);

impl booth_bridge::Observer for IdCardPhotos {
    fn sees_calls(&self) -> bool {
        false
    }

    fn event(&self, ev: &booth_bridge::DeviceEvent) {
        if ev.topic != ID_CARD_TOPIC {
            return;
        }
        let Some(me) = self.0.upgrade() else { return };
        let number = ev.payload.get("idNum").and_then(Value::as_str).unwrap_or_default().to_ascii_uppercase();
        let photo = ev.payload.get("photoBase64").and_then(Value::as_str).unwrap_or_default().to_string();
        *me.last_card.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(IdCardPhoto { number, photo, at: Instant::now() });
    }
}
