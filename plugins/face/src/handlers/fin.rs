//! Seed 002's identity APIs (FinClip `ft.*`):
//!
//! - `finLivenessCheck` → `{resultType: "success", faceImgStr}` after the face screen's liveness
//!   challenge on this terminal (and the provider's `/v1/liveness` when `[provider] liveness =
//!   "provider"`), `{resultType: "back"}` when the person presses 取消.
//! - `finFaceAuth {idNo, name, imagePath}` → `{errorCode, description, score}` through the
//!   provider's `/v1/face/verify`. An empty `imagePath` opens the face screen; a `data:` URL is
//!   a photo (live only if it is the picture finLivenessCheck just gave the page).
//! - `finCardOcr {type, imagePath}` → `{type, errorCode, description, recogResult}` through the
//!   provider's `/v1/ocr`. An empty `imagePath` opens the capture screen to photograph the card.
//!
//! A page on a kiosk has no files: `imagePath` is empty or a `data:` URL, nothing else. A verdict
//! about the person (matched or not, no face, not live) is a reply with seed 002's numeric
//! `errorCode` (0 = success); anything that kept the provider from giving one is a failure with
//! Booth's `errorCode`, the contract's code as `reason` and the vendor's `subCode`/`subMessage`.

use super::provider::provider_failed;
use super::{FaceService, Finish, Mode, Pending};
use base64::Engine as _;
use booth_bridge::{handler, ApiError, Bridge, CallCtx, Dialect, Done, ErrorCode, Params};
use booth_camera::Frame;
use booth_provider_client::wire::{self, Code, FACE_MODEL, FACE_MODEL_VERSION};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// finFaceAuth's `errorCode`s: seed 002 defines 0 (成功); the others are Booth's, one per
/// verdict of the contract.
pub const AUTH_OK: i64 = 0;
pub const AUTH_NOT_MATCHED: i64 = 1001;
pub const AUTH_NO_FACE: i64 = 1002;
pub const AUTH_LIVENESS_FAILED: i64 = 1003;

/// finCardOcr's `errorCode`s besides seed 002's 0: a number read whose check digit fails
/// (most likely misread; `recogResult` still carries it), and no card of the type in the picture.
pub const OCR_NUMBER_INVALID: i64 = 2001;
pub const OCR_NO_CARD: i64 = 2002;
/// An ID card whose 出生 differs from the birth date inside its number (digits 7-14).
pub const OCR_BIRTH_MISMATCH: i64 = 2003;

/// seed 002's card types.
pub const CARD_TYPES: [&str; 4] = ["BankCard", "IDCard", "IDCardCheck", "BusiCert"];

/// How long the picture of a passed liveness check counts as live for finFaceAuth.
pub const LIVE_FRESH: Duration = Duration::from_secs(120);

/// A photo's aligned face crop (JPEG) and its embedding.
type PhotoFace = (Vec<u8>, Vec<f32>);

/// The picture finLivenessCheck gave a page, and when.
pub(super) struct LivePicture {
    jpeg: Vec<u8>,
    at: Instant,
}

/// A failure of the ft calls: Booth's code, the contract's as `reason`, the vendor's pass-through.
fn fin_failed(e: booth_provider_client::ProviderError) -> ApiError {
    let reason = e.code.as_str();
    let (sub_code, sub_message) = (e.sub_code.clone(), e.sub_message.clone());
    let mut err = provider_failed(e);
    err.data = Some(json!({"reason": reason, "subCode": sub_code, "subMessage": sub_message}));
    err
}

/// The bytes of a `data:image/…;base64,…` URL.
pub fn data_url(s: &str, field: &str) -> Result<Vec<u8>, ApiError> {
    let bad = || {
        ApiError::invalid(format!(
            "{field} 应为空 (在本终端拍摄) 或 data:image/…;base64,… (本终端没有文件, 不接受路径或网址)"
        ))
    };
    let rest = s.trim().strip_prefix("data:").ok_or_else(bad)?;
    let (meta, payload) = rest.split_once(',').ok_or_else(bad)?;
    if !meta.to_ascii_lowercase().starts_with("image/") || !meta.to_ascii_lowercase().ends_with(";base64") {
        return Err(bad());
    }
    base64::engine::general_purpose::STANDARD
        .decode(payload.split_whitespace().collect::<String>())
        .map_err(|_| ApiError::invalid(format!("{field}: data URL 不是合法的 base64")))
}

fn id_number(params: &Params) -> Result<String, ApiError> {
    let id = match params.str("idNo")? {
        Some(s) if !s.trim().is_empty() => s.trim().to_ascii_uppercase(),
        _ => return Err(ApiError::invalid("缺少 idNo")),
    };
    if !(id.len() == 15 || id.len() == 18) || !id.chars().all(|c| c.is_ascii_digit() || c == 'X') {
        return Err(ApiError::invalid("idNo 应为 15 或 18 位身份证号"));
    }
    Ok(id)
}

fn verdict(code: i64, description: impl Into<String>, score: f64) -> Done {
    Done::from(json!({"errorCode": code, "description": description.into(), "score": score}))
}

impl FaceService {
    /// The face of a photo as the contract carries it; `None` when it shows no face.
    async fn photo_face(self: &Arc<Self>, frame: Frame, live: bool) -> Result<Option<wire::Face>, ApiError> {
        let engine = self.engine().map_err(super::engine_error)?;
        let found = tokio::task::spawn_blocking(move || -> Result<Option<PhotoFace>, crate::FaceError> {
            let faces = engine.faces(&frame)?;
            let Some(face) = faces
                .into_iter()
                .max_by(|a, b| (a.detection.w * a.detection.h).total_cmp(&(b.detection.w * b.detection.h)))
            else {
                return Ok(None);
            };
            let embedding = engine.embed(&face)?;
            Ok(Some((face.chip.0.to_jpeg(90), embedding.0.to_vec())))
        })
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e))?
        .map_err(super::engine_error)?;
        let steps = self.config.liveness_steps;
        Ok(found.map(|(crop, values)| wire::Face {
            image: base64::engine::general_purpose::STANDARD.encode(crop),
            embedding: wire::Embedding { model: FACE_MODEL.into(), version: FACE_MODEL_VERSION.into(), values },
            liveness: if live {
                wire::Liveness { method: "turn".into(), passed: true, steps: vec!["TURN".into(); steps] }
            } else {
                // A photo from the page: nothing showed that the person was there.
                wire::Liveness { method: "none".into(), passed: false, steps: vec![] }
            },
        }))
    }

    /// Whether `jpeg` is the picture of the last passed liveness check (used up if so).
    fn was_live(&self, jpeg: &[u8]) -> bool {
        let mut last = self.last_live.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = last.as_ref().is_some_and(|l| l.at.elapsed() <= LIVE_FRESH && l.jpeg == jpeg);
        if fresh || last.as_ref().is_some_and(|l| l.at.elapsed() > LIVE_FRESH) {
            *last = None;
        }
        fresh
    }

    async fn fin_liveness(self: &Arc<Self>, ctx: CallCtx) -> Result<Done, ApiError> {
        let provider = self.provider.get().cloned().filter(|p| p.provider_liveness());
        self.prepare().await?;
        let capture = match self.capture(&ctx, Mode::Liveness).await {
            Ok(c) => c,
            Err(e) if e.code == ErrorCode::Cancelled => {
                tracing::info!("finLivenessCheck: the person went back");
                return Ok(Done::from(json!({"resultType": "back"})));
            }
            Err(e) => return Err(e),
        };
        if let Some(p) = provider {
            let req = wire::LivenessRequest { terminal: self.config.sn.clone(), face: self.wire_face(&capture).await? };
            p.liveness(&req).await.map_err(fin_failed)?;
        }
        let jpeg = capture.frame.to_jpeg(90);
        let face_img = base64::engine::general_purpose::STANDARD.encode(&jpeg);
        *self.last_live.lock().unwrap_or_else(|p| p.into_inner()) = Some(LivePicture { jpeg, at: Instant::now() });
        tracing::info!("finLivenessCheck: live");
        Ok(Done::from(json!({"resultType": "success", "faceImgStr": face_img})))
    }

    async fn fin_face_auth(self: &Arc<Self>, ctx: CallCtx, params: Params) -> Result<Done, ApiError> {
        let id_no = id_number(&params)?;
        let name = params.str("name")?.unwrap_or_default().trim().to_string();
        let image = params.str("imagePath")?.unwrap_or_default().trim().to_string();
        let photo = if image.is_empty() { None } else { Some(data_url(&image, "imagePath")?) };
        let provider = self.the_provider()?;
        self.prepare().await?;
        let face = match photo {
            None => {
                let capture = self.capture(&ctx, Mode::Verify).await?;
                self.wire_face(&capture).await?
            }
            Some(bytes) => {
                let frame = Frame::decode(&bytes).map_err(|e| ApiError::invalid(format!("imagePath 不是图片: {e}")))?;
                let live = self.was_live(&bytes);
                match self.photo_face(frame, live).await? {
                    Some(f) => f,
                    None => return Ok(verdict(AUTH_NO_FACE, "照片中没有人脸", 0.0)),
                }
            }
        };
        let req = wire::VerifyRequest {
            terminal: self.config.sn.clone(),
            face,
            id_number: id_no,
            name,
            photo: String::new(),
        };
        match provider.verify(&req).await {
            Ok(a) if a.matched => {
                tracing::info!("finFaceAuth: the same person");
                Ok(verdict(AUTH_OK, "认证通过", a.score))
            }
            Ok(a) => {
                tracing::info!("finFaceAuth: not the person of the ID number");
                Ok(verdict(AUTH_NOT_MATCHED, "人证比对不一致", a.score))
            }
            Err(e) => match e.code {
                Code::NotMatched => Ok(verdict(AUTH_NOT_MATCHED, e.message, 0.0)),
                Code::NoFace => Ok(verdict(AUTH_NO_FACE, e.message, 0.0)),
                Code::LivenessFailed => Ok(verdict(
                    AUTH_LIVENESS_FAILED,
                    format!(
                        "{}: 照片须是本终端刚做过活体检测的 (finLivenessCheck), 或传空 imagePath 当场拍摄",
                        e.message
                    ),
                    0.0,
                )),
                _ => Err(fin_failed(e)),
            },
        }
    }

    /// The capture screen for a card: the camera's picture when the person presses 拍照.
    async fn capture_card(self: &Arc<Self>, ctx: &CallCtx) -> Result<Frame, ApiError> {
        if self.camera.status().backend == "none" {
            return Err(ApiError::unavailable("没有摄像头 ([camera] backend = \"none\"), 请传 data: URL 的图片"));
        }
        let session = ctx.session.id();
        {
            let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
            if busy.is_some() {
                return Err(ApiError::new(ErrorCode::Busy, "正在使用摄像头"));
            }
            *busy = Some(session);
        }
        let cancel = ctx.cancel.child_token();
        let (shutter_tx, shutter_rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(session, Pending { cancel: cancel.clone(), consent: None, shutter: Some(shutter_tx) });
        let window = ctx.session.info().key.clone();
        let _done = Finish { service: self.clone(), session, window: window.clone() };
        let preview = self.preview().await?;
        let options = json!({
            "mode": "card",
            "previewUrl": preview.url_for(&window),
            "timeoutMs": self.config.timeout.as_millis() as u64,
        });
        if let Some(s) = self.screen.get() {
            s.show(&window, &options).map_err(ApiError::unavailable)?;
        }
        let mut frames = self.camera.subscribe().map_err(ApiError::unavailable)?;
        tokio::select! {
            r = shutter_rx => if r.is_err() {
                return Err(ApiError::with_message(ErrorCode::Cancelled, "用户取消拍摄"));
            },
            _ = cancel.cancelled() => return Err(ApiError::with_message(ErrorCode::Cancelled, "用户取消拍摄")),
            _ = tokio::time::sleep(self.config.timeout) => {
                return Err(ApiError::with_message(ErrorCode::Timeout, "拍摄超时"));
            }
        }
        // The picture after the button, not one from before it.
        frames.next_frame_async(Duration::from_secs(3)).await.map_err(ApiError::unavailable)
    }

    async fn fin_card_ocr(self: &Arc<Self>, ctx: CallCtx, params: Params) -> Result<Done, ApiError> {
        let kind = match params.str("type")? {
            Some(t) if CARD_TYPES.contains(&t) => t.to_string(),
            Some(t) => {
                return Err(ApiError::invalid(format!(
                    "type 应为 BankCard, IDCard, IDCardCheck 或 BusiCert, 收到 {}",
                    t.chars().take(32).collect::<String>()
                )))
            }
            None => return Err(ApiError::invalid("缺少 type (BankCard, IDCard, IDCardCheck 或 BusiCert)")),
        };
        let image = params.str("imagePath")?.unwrap_or_default().trim().to_string();
        let photo = if image.is_empty() { None } else { Some(data_url(&image, "imagePath")?) };
        let provider = self.the_provider()?;
        let jpeg = match photo {
            Some(bytes) => {
                Frame::decode(&bytes).map_err(|e| ApiError::invalid(format!("imagePath 不是图片: {e}")))?;
                bytes
            }
            None => self.capture_card(&ctx).await?.to_jpeg(90),
        };
        let req = wire::OcrRequest {
            terminal: self.config.sn.clone(),
            kind: kind.clone(),
            image: base64::engine::general_purpose::STANDARD.encode(jpeg),
        };
        let answer = match provider.ocr(&req).await {
            Ok(a) => a,
            // The picture was checked above: the provider found no card of the type in it.
            Err(e) if e.code == Code::BadParam => {
                tracing::info!(kind = %kind, "finCardOcr: no card in the picture");
                return Ok(Done::from(json!({
                    "type": kind,
                    "errorCode": OCR_NO_CARD,
                    "description": format!("未识别到证件, 请将证件放平对准后重拍 ({})", e.message),
                    "recogResult": {},
                })));
            }
            Err(e) => return Err(fin_failed(e)),
        };
        let result =
            if answer.recog_result.is_object() { answer.recog_result } else { Value::Object(Default::default()) };
        let (code, description) = ocr_verdict(&result);
        tracing::info!(kind = %kind, code, "finCardOcr: recognised");
        Ok(Done::from(json!({"type": kind, "errorCode": code, "description": description, "recogResult": result})))
    }

    /// Registers finLivenessCheck, finFaceAuth and finCardOcr.
    pub(super) fn register_fin(self: &Arc<Self>, bridge: &Bridge, limit: Duration) {
        let me = self.clone();
        bridge.register(
            Dialect::Ft,
            "finLivenessCheck",
            Some(limit),
            handler(move |ctx, _params| {
                let me = me.clone();
                async move { me.fin_liveness(ctx).await }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::Ft,
            "finFaceAuth",
            Some(limit),
            handler(move |ctx, params| {
                let me = me.clone();
                async move { me.fin_face_auth(ctx, params).await }
            }),
        );
        let me = self.clone();
        bridge.register(
            Dialect::Ft,
            "finCardOcr",
            Some(limit),
            handler(move |ctx, params| {
                let me = me.clone();
                async move { me.fin_card_ocr(ctx, params).await }
            }),
        );
    }
}

/// finCardOcr's `errorCode` and `description` for what the provider read: the numbers' check
/// digits first, then an ID card's 出生 against the birth date its number carries.
pub fn ocr_verdict(result: &Value) -> (i64, String) {
    if result["idNoValid"] == false {
        return (OCR_NUMBER_INVALID, "身份证号码校验位不符 (可能识别有误), 请重拍".into());
    }
    if result["cardNoValid"] == false {
        return (OCR_NUMBER_INVALID, "银行卡号校验 (Luhn) 不符 (可能识别有误), 请重拍".into());
    }
    if result["birthdayMatchesIdNo"] == false {
        let printed = result["birthday"].as_str().unwrap_or_default();
        let inside = result["idNo"].as_str().and_then(|n| n.get(6..14)).unwrap_or_default();
        return (
            OCR_BIRTH_MISMATCH,
            format!("出生日期 ({printed}) 与身份证号码中的出生日期 ({inside}) 不符 (可能识别有误), 请重拍"),
        );
    }
    (0, "识别成功".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_paths_are_empty_or_data_urls() {
        assert_eq!(data_url("data:image/png;base64,aGk=", "imagePath").unwrap(), b"hi");
        assert_eq!(data_url(" data:image/jpeg;base64,aG\nk= ", "imagePath").unwrap(), b"hi");
        for bad in [
            "/tmp/card.jpg",
            "file:///tmp/a.jpg",
            "https://x/a.jpg",
            "data:text/plain;base64,aGk=",
            "data:image/png,hi",
        ] {
            let e = data_url(bad, "imagePath").unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidParams, "{bad}");
            assert!(e.message.contains("data:"), "{bad}: {}", e.message);
        }
        assert!(data_url("data:image/png;base64,@@@", "imagePath").unwrap_err().message.contains("base64"));
    }

    #[test]
    fn ocr_verdicts_check_digits_then_the_birth_date() {
        let id = |valid: bool, matches: bool| json!({"idNo": "11010519491231002X", "idNoValid": valid, "birthday": "19491230", "birthdayMatchesIdNo": matches});
        assert_eq!(ocr_verdict(&id(true, true)).0, 0);
        assert_eq!(ocr_verdict(&id(false, false)).0, OCR_NUMBER_INVALID);
        let (code, description) = ocr_verdict(&id(true, false));
        assert_eq!(code, OCR_BIRTH_MISMATCH);
        assert!(description.contains("19491230") && description.contains("19491231"), "{description}");
        assert_eq!(ocr_verdict(&json!({"cardNo": "4111111111111112", "cardNoValid": false})).0, OCR_NUMBER_INVALID);
        assert_eq!(ocr_verdict(&json!({})).0, 0);
    }
}
