//! The bodies of `booth-provider/v1` (docs/provider-v1.yaml is the reference; these types are
//! what both Booth and the reference provider read and write, and the tests check them against
//! that document).
//!
//! Money is integer fen (`i64`) everywhere; faces travel as what Booth's camera
//! screen produced — the best aligned face crop as JPEG, its embedding with the model's name and
//! version, and the on-device liveness result — never as video.

use serde::{Deserialize, Serialize};

/// The stable error codes of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    NoFace,
    NotMatched,
    LivenessFailed,
    ConsentRefused,
    BadParam,
    NotConfigured,
    Timeout,
    Network,
    VendorError,
    /// The request's signature, key, clock or nonce was refused (HTTP 401).
    Unauthorized,
    /// No such certification, session, person or payment (HTTP 404).
    NotFound,
    /// The payment's outcome is not settled yet (the customer is still confirming, or the
    /// same request is still being worked on): ask again with `/v1/pay/query` (HTTP 409).
    PaymentPending,
    /// The payment was refused and nothing was charged: an unknown, expired or used payment
    /// code, a closed trade number, a wallet that may not pay (HTTP 402).
    PaymentFailed,
    /// The payer's balance is below the amount; nothing was charged (HTTP 402).
    InsufficientFunds,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::NoFace => "NO_FACE",
            Code::NotMatched => "NOT_MATCHED",
            Code::LivenessFailed => "LIVENESS_FAILED",
            Code::ConsentRefused => "CONSENT_REFUSED",
            Code::BadParam => "BAD_PARAM",
            Code::NotConfigured => "NOT_CONFIGURED",
            Code::Timeout => "TIMEOUT",
            Code::Network => "NETWORK",
            Code::VendorError => "VENDOR_ERROR",
            Code::Unauthorized => "UNAUTHORIZED",
            Code::NotFound => "NOT_FOUND",
            Code::PaymentPending => "PAYMENT_PENDING",
            Code::PaymentFailed => "PAYMENT_FAILED",
            Code::InsufficientFunds => "INSUFFICIENT_FUNDS",
        }
    }

    /// The HTTP status a provider answers with.
    pub fn status(self) -> u16 {
        match self {
            Code::BadParam | Code::ConsentRefused => 400,
            Code::Unauthorized => 401,
            Code::NotFound => 404,
            Code::PaymentFailed | Code::InsufficientFunds => 402,
            Code::PaymentPending => 409,
            Code::NoFace | Code::NotMatched | Code::LivenessFailed => 422,
            Code::NotConfigured => 501,
            Code::VendorError | Code::Network => 502,
            Code::Timeout => 504,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error answer: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    pub code: Code,
    pub message: String,
    /// The vendor's own code and message, passed through to the page unchanged.
    #[serde(default)]
    pub sub_code: String,
    #[serde(default)]
    pub sub_message: String,
}

/// `GET /v1/capabilities`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Capabilities {
    /// Always `booth-provider/v1`.
    pub contract: String,
    /// Who answers: e.g. `booth-provider 0.1.0 (reference)`.
    pub provider: String,
    /// The provider's clock (Unix seconds), for `booth doctor`'s skew check.
    pub time: i64,
    /// Endpoints offered, e.g. `face.search`, `ocr`, `certify`.
    pub features: Vec<String>,
    /// Embedding models the provider can compare (`name@version`).
    pub models: Vec<String>,
}

/// An embedding with the model that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    pub model: String,
    pub version: String,
    pub values: Vec<f32>,
}

/// The on-device liveness result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Liveness {
    /// `turn` (head turns in random order), `none`.
    pub method: String,
    pub passed: bool,
    /// The steps asked, e.g. `["TURN_LEFT", "TURN_RIGHT"]`.
    #[serde(default)]
    pub steps: Vec<String>,
}

/// What Booth's camera screen produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Face {
    /// The best aligned face crop, JPEG, base64.
    pub image: String,
    pub embedding: Embedding,
    pub liveness: Liveness,
}

/// Which people a search looks among (seed 000's `orgOutId` / `componentOutId`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Partition {
    #[serde(default)]
    pub org_out_id: String,
    #[serde(default)]
    pub component_out_id: String,
}

/// `POST /v1/face/search` (1:N).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    pub terminal: String,
    pub face: Face,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Partition>,
}

/// A recognised person, in seed 000's vocabulary (returned to the page unchanged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identified {
    pub person_id: String,
    pub alipay_uid: String,
    pub auth_code: String,
    pub ftoken: String,
    pub vid: String,
    pub code: i64,
    pub sub_code: String,
    pub sub_message: String,
    /// 0–100.
    pub score: f64,
}

/// `POST /v1/face/verify` (1:1 against an ID number and/or a photo).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyRequest {
    pub terminal: String,
    pub face: Face,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id_number: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// A reference photo (JPEG or PNG, base64).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub photo: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResponse {
    pub matched: bool,
    /// 0–1 similarity.
    pub score: f64,
    #[serde(default)]
    pub person_id: String,
}

/// The person's recorded consent (zh-CN text shown, when, where).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    pub text: String,
    pub accepted_at: i64,
    pub terminal: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonInfo {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub unique_id: String,
}

/// `POST /v1/face/enroll`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollRequest {
    pub terminal: String,
    pub face: Face,
    pub partition: Partition,
    #[serde(default)]
    pub person: PersonInfo,
    pub consent: Consent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollResponse {
    pub person_id: String,
    /// Already enrolled in that partition: nothing was added.
    pub existing: bool,
    pub ftoken: String,
    pub auth_code: String,
    pub vid: String,
}

/// `POST /v1/liveness`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LivenessRequest {
    pub terminal: String,
    pub face: Face,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LivenessResponse {
    pub passed: bool,
    /// 0–1.
    pub score: f64,
}

/// `POST /v1/ocr`: seed 002's `type` (`BankCard`, `IDCard`, `IDCardCheck`, `BusiCert`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OcrRequest {
    pub terminal: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// JPEG or PNG, base64.
    pub image: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OcrResponse {
    #[serde(rename = "type")]
    pub kind: String,
    /// Seed 002's `recogResult` fields for the type.
    pub recog_result: serde_json::Value,
}

/// `POST /v1/session/face-login`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceLoginRequest {
    pub terminal: String,
    pub face: Face,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceLoginResponse {
    pub session_id: String,
    pub person_id: String,
    pub expires_at: i64,
}

/// `POST /v1/session/logout`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogoutRequest {
    pub terminal: String,
    pub session_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogoutResponse {
    pub ended: bool,
}

/// `POST /v1/certify/start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertifyStartRequest {
    #[serde(default)]
    pub terminal: String,
    #[serde(default)]
    pub cert_name: String,
    #[serde(default)]
    pub cert_no: String,
    /// Where the certification page goes when it is done.
    pub return_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertifyStartResponse {
    pub certify_id: String,
    pub certify_url: String,
}

/// `GET /v1/certify/{id}`: the authoritative result (seed 003: the page's own answer can be
/// altered, so the result is asked of the provider).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertifyStatus {
    pub certify_id: String,
    /// `PENDING`, `PASSED`, `FAILED`.
    pub status: String,
    pub return_url: String,
    /// For `FAILED`: seed 003's `result.errorCode` (e.g. `USER_IS_NOT_CERTIFY`).
    #[serde(default)]
    pub error_code: String,
    #[serde(default)]
    pub person_id: String,
    #[serde(default)]
    pub score: f64,
}

/// `POST /v1/pay/face`: charge the person the face is (1:N), or with `requireFaceCode` issue a
/// one-time payment code for them without charging (seed 001 `facePay {requireFaceCode}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayFaceRequest {
    pub terminal: String,
    pub face: Face,
    /// Fen, 1 or more. With `requireFaceCode` it may be 0 (the amount is not known yet); a
    /// positive amount then caps what the face code may pay.
    pub amount: i64,
    /// The terminal's trade number (unique per provider). With `requireFaceCode` it may be
    /// empty; when given, the face code pays that trade number only.
    pub out_trade_no: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub require_face_code: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Partition>,
}

/// `POST /v1/pay/code`: a payment code the customer showed (the provider's member code) or a
/// face code `/v1/pay/face` issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayCodeRequest {
    pub terminal: String,
    pub code: String,
    pub amount: i64,
    pub out_trade_no: String,
    #[serde(default)]
    pub description: String,
}

/// `POST /v1/pay/query`: one of `outTradeNo` or `faceCode` (the payment made with a face code
/// the terminal handed to a cash register).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayQueryRequest {
    pub terminal: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub out_trade_no: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub face_code: String,
}

/// `POST /v1/pay/cancel`: the trade number can no longer be charged; a charge already made is
/// returned in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayCancelRequest {
    pub terminal: String,
    pub out_trade_no: String,
}

/// `POST /v1/pay/refund`: part or all of what is left of a charge, once per `outRefundNo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayRefundRequest {
    pub terminal: String,
    pub out_trade_no: String,
    pub out_refund_no: String,
    /// Fen, 1 up to what is left of the charge.
    pub amount: i64,
    #[serde(default)]
    pub reason: String,
}

/// Where a trade number stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PayStatus {
    /// Charged (`refunded` may be above 0 after partial refunds).
    Success,
    /// Charged, then refunded in full.
    Refunded,
    /// Cancelled after the charge: all of it was returned.
    Revoked,
    /// Cancelled before any charge: nothing was taken, and nothing can be with this number.
    Closed,
}

/// A trade number's payment, as every pay endpoint answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub out_trade_no: String,
    /// The provider's own number for the trade (empty for `CLOSED`).
    pub trade_no: String,
    pub status: PayStatus,
    /// Fen charged (0 for `CLOSED`).
    pub amount: i64,
    /// Fen returned so far.
    pub refunded: i64,
    /// Who paid (empty for `CLOSED`).
    pub person_id: String,
    /// `face`, `face-code`, `member-code`, or empty for `CLOSED`.
    pub method: String,
    pub description: String,
    /// Unix seconds of the charge; 0 when nothing was charged.
    pub paid_at: i64,
}

/// What `/v1/pay/face` with `requireFaceCode` answers: a one-time code for the person
/// recognised, nothing charged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceCode {
    pub face_code: String,
    pub person_id: String,
    /// Unix seconds after which the code pays nothing.
    pub expires_at: i64,
}

/// What `/v1/pay/refund` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    pub out_refund_no: String,
    /// The provider's own number for the refund.
    pub refund_no: String,
    pub amount: i64,
    pub refunded_at: i64,
    /// The trade after the refund.
    pub payment: Payment,
}

/// Trade and refund numbers: what both sides accept.
pub fn trade_no_ok(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub const CONTRACT: &str = "booth-provider/v1";

/// The embedding model Booth's face engine uses (booth-face: dlib's ResNet v1, 128 numbers);
/// a provider refuses embeddings of a model it cannot compare.
pub const FACE_MODEL: &str = "dlib-face-recognition-resnet-v1";
pub const FACE_MODEL_VERSION: &str = "1";
pub const FACE_DIM: usize = 128;
