//! `[face] engine = "provider"`: the same face screen, models and liveness challenge on this
//! terminal, but the people are the provider's. Booth sends what the screen produced — the best
//! aligned face crop (JPEG), its embedding with the model's name and version, the liveness
//! result — and returns the provider's `alipayUid`, `extInfo.authCode`, `ftoken`, `vid`,
//! `code`, `subCode` and `subMessage` unchanged. Nothing of the face is logged.

use super::{failed, FaceService};
use crate::attempt::Capture;
use crate::gallery::{Partition, PersonInfo};
use base64::Engine as _;
use booth_bridge::{ApiError, Done, ErrorCode};
use booth_provider_client::wire::{self, Code, FACE_MODEL, FACE_MODEL_VERSION};
use booth_provider_client::{Provider, ProviderError};
use serde_json::{json, Value};
use std::sync::Arc;

/// A provider refusal as the page sees it: the contract's code as `reason`, the vendor's
/// `subCode`/`subMessage` passed through (the contract's code and message when it has none).
pub(super) fn provider_failed(e: ProviderError) -> ApiError {
    let code = match e.code {
        Code::Timeout => ErrorCode::Timeout,
        Code::Network | Code::Unauthorized | Code::NotConfigured => ErrorCode::DeviceUnavailable,
        Code::BadParam => ErrorCode::Internal,
        _ => ErrorCode::DeviceError,
    };
    let sub_code = if e.sub_code.is_empty() { e.code.as_str().to_string() } else { e.sub_code.clone() };
    let sub_message = if e.sub_message.is_empty() { e.message.clone() } else { e.sub_message.clone() };
    tracing::info!(code = %e.code, "face: the provider refused");
    ApiError::with_message(code, e.message)
        .data(json!({"originFaceInfo": {"reason": e.code.as_str(), "subCode": sub_code, "subMessage": sub_message}}))
}

fn partition(p: &Partition) -> wire::Partition {
    wire::Partition { org_out_id: p.org.clone(), component_out_id: p.component.clone() }
}

impl FaceService {
    pub(super) fn the_provider(&self) -> Result<Arc<Provider>, ApiError> {
        self.provider.get().cloned().ok_or_else(|| {
            ApiError::unavailable("[face] engine = \"provider\" 需要配置 [provider] (backend = \"http\" 或 \"sim\")")
        })
    }

    /// What the contract carries of a capture: the aligned crop of its last frame, the
    /// embedding, and the liveness the screen ran.
    pub(super) async fn wire_face(self: &Arc<Self>, capture: &Capture) -> Result<wire::Face, ApiError> {
        let engine = self.engine().map_err(super::engine_error)?;
        let frame = capture.frame.clone();
        let crop = tokio::task::spawn_blocking(move || {
            engine
                .faces(&frame)
                .ok()
                .and_then(|faces| {
                    faces
                        .into_iter()
                        .max_by(|a, b| (a.detection.w * a.detection.h).total_cmp(&(b.detection.w * b.detection.h)))
                })
                .map(|f| f.chip.0.to_jpeg(90))
                .unwrap_or_default()
        })
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e))?;
        let steps = self.config.liveness_steps;
        Ok(wire::Face {
            image: base64::engine::general_purpose::STANDARD.encode(crop),
            embedding: wire::Embedding {
                model: FACE_MODEL.into(),
                version: FACE_MODEL_VERSION.into(),
                values: capture.embedding().0.to_vec(),
            },
            liveness: wire::Liveness {
                method: if steps > 0 { "turn" } else { "none" }.into(),
                // Without a challenge nothing showed the face was live.
                passed: steps > 0,
                steps: vec!["TURN".into(); steps],
            },
        })
    }

    /// getFaceInfo through the provider's 1:N search.
    pub(super) async fn remote_search(
        self: &Arc<Self>,
        capture: &Capture,
        part: Option<&Partition>,
    ) -> Result<Done, ApiError> {
        let provider = self.the_provider()?;
        let req = wire::SearchRequest {
            terminal: self.config.sn.clone(),
            face: self.wire_face(capture).await?,
            partition: part.map(partition),
        };
        let id = provider.search(&req).await.map_err(provider_failed)?;
        tracing::info!("getFaceInfo: the provider recognised a person");
        Ok(Done::from(json!({
            "alipayUid": id.alipay_uid,
            "code": id.code,
            "extInfo": json!({"authCode": id.auth_code}).to_string(),
            "ftoken": id.ftoken,
            "isvResult": true,
            "subCode": id.sub_code,
            "subMessage": id.sub_message,
            "vid": id.vid,
            "score": id.score.round() as u32,
        })))
    }

    /// getFaceInfoPersonCard through the provider's 1:1: against the photo when there is one,
    /// and against the templates the provider holds for the ID number.
    pub(super) async fn remote_verify(
        self: &Arc<Self>,
        capture: &Capture,
        cert_name: &str,
        cert_no: &str,
        photo_b64: Option<String>,
    ) -> Result<Done, ApiError> {
        let provider = self.the_provider()?;
        let req = wire::VerifyRequest {
            terminal: self.config.sn.clone(),
            face: self.wire_face(capture).await?,
            id_number: cert_no.to_string(),
            name: cert_name.to_string(),
            photo: photo_b64.unwrap_or_default(),
        };
        let answer = provider.verify(&req).await.map_err(provider_failed)?;
        if !answer.matched {
            tracing::info!("getFaceInfoPersonCard: the provider says not the same person");
            return Err(failed(ErrorCode::DeviceError, "MISMATCH", "人证比对不一致".into()));
        }
        Ok(Done::from(json!({
            "alipayUid": answer.person_id,
            "code": 1000,
            "extInfo": json!({"authCode": ""}).to_string(),
            "ftoken": crate::authcode::random_id("fp"),
            "isvResult": true,
            "subCode": "",
            "subMessage": "",
            "vid": "",
            "score": (answer.score * 100.0).round() as u32,
        })))
    }

    /// doStorageFaceInfo through the provider, with the consent the screen recorded.
    pub(super) async fn remote_enroll(
        self: &Arc<Self>,
        capture: &Capture,
        part: &Partition,
        info: PersonInfo,
        unique_id: String,
    ) -> Result<Done, ApiError> {
        let provider = self.the_provider()?;
        let req = wire::EnrollRequest {
            terminal: self.config.sn.clone(),
            face: self.wire_face(capture).await?,
            partition: partition(part),
            person: wire::PersonInfo {
                name: info.name,
                id_number: info.cert_no,
                phone: info.phone,
                unique_id: unique_id.clone(),
            },
            consent: wire::Consent {
                text: self.config.consent_text.clone(),
                accepted_at: super::now_s() as i64,
                terminal: self.config.sn.clone(),
            },
        };
        let answer = provider.enroll(&req).await.map_err(provider_failed)?;
        let data: Value = if answer.existing {
            tracing::info!("doStorageFaceInfo: the provider knows the person already");
            json!({
                "eventType": "rocketResult",
                "eventData": {"ftoken": answer.ftoken, "uid": answer.person_id, "vid": answer.vid, "subCode": "SUCCESS", "subMessage": "成功"}
            })
        } else {
            tracing::info!("doStorageFaceInfo: the provider enrolled a new person");
            json!({
                "eventType": "rocketResult",
                "eventData": {
                    "uid": answer.person_id, "ftoken": answer.ftoken, "authCode": answer.auth_code, "vid": answer.vid,
                    "subCode": "SUCCESS", "subMessage": "成功",
                    "bizId": if unique_id.is_empty() { crate::authcode::random_id("") } else { unique_id },
                }
            })
        };
        Ok(Done::from(Value::String(data.to_string())))
    }
}
