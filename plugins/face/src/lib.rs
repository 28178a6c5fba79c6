//! Booth's on-device face capability (seed 000's face APIs, engine `local`): `initFace`,
//! `getFaceInfo` (1:N against the local gallery), `getFaceInfoPersonCard` (1:1 against an ID
//! photo) and `doStorageFaceInfo` (enrolment); seed 001's face login (`wxfaceapp.faceLogin`,
//! `isLoginOnFaceApp`, `logoutOnFaceApp`); seed 002's `ft.finLivenessCheck`, `finFaceAuth` and
//! `finCardOcr` (the card capture screen, then the identity provider). With `[face] engine =
//! "provider"` the same screen and liveness run here and the identity provider decides who it is.
//!
//! The pipeline: BlazeFace detection with six keypoints ([`detect`]), alignment to dlib's
//! 150×150 face chip and dlib's 128-d embedding ([`embed`]), quality gates ([`quality`]), an
//! active liveness challenge from the keypoints ([`liveness`]), an encrypted gallery
//! partitioned by `orgOutId`/`componentOutId` ([`gallery`]) and signed, short-lived, single-use
//! auth codes ([`authcode`]). Inference runs on the CPU through ONNX Runtime, loaded at run time
//! ([`models`]). The face screen is page-side UI that the app shows through
//! [`handlers::FaceScreen`].
//!
//! Not for: cameras (booth-camera), payment-grade identification (a 2017-era model; see the
//! README's Face section), or logging anything biometric: embeddings and pictures never reach a
//! log, the flight recorder or `/health`.

pub mod attempt;
pub mod authcode;
pub mod config;
pub mod detect;
pub mod embed;
pub mod engine;
pub mod gallery;
pub mod handlers;
pub mod liveness;
pub mod models;
pub mod quality;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use config::{FaceConfig, FaceSection};
pub use engine::Engine;
pub use handlers::{FaceScreen, FaceService, LoginPayCode, LoginTicket, ScreenGuard, APPLET_RESET_TOPIC};

/// What goes wrong inside the engine.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaceError {
    /// A model file or the runtime library is missing or unusable: DEVICE_UNAVAILABLE.
    #[error("人脸模型未安装: {0}; {hint}", hint = models::INSTALL_HINT)]
    ModelsMissing(String),
    #[error("人脸识别出错: {0}")]
    Inference(String),
    #[error("照片中没有人脸")]
    NoFaceInPhoto,
    #[error("人脸库出错: {0}")]
    Gallery(String),
}
