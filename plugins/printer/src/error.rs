//! Why a receipt was not printed, and the error code a page gets for it.

use booth_bridge::{ApiError, ErrorCode};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrintError {
    /// The receipt itself is wrong (`INVALID_PARAMS`); nothing was printed.
    #[error("{0}")]
    Invalid(String),
    /// No printer: not configured, unplugged, switched off, not answering (`DEVICE_UNAVAILABLE`).
    #[error("{0}")]
    Unavailable(String),
    /// `DEVICE_ERROR`.
    #[error("打印机缺纸")]
    PaperOut,
    /// `DEVICE_ERROR`.
    #[error("打印机纸仓盖打开")]
    CoverOpen,
    /// The printer is there but failed the job (`DEVICE_ERROR`).
    #[error("{0}")]
    Device(String),
    /// The job waited too long for its turn and was not printed (`TIMEOUT`).
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Internal(String),
}

impl PrintError {
    pub fn code(&self) -> ErrorCode {
        match self {
            PrintError::Invalid(_) => ErrorCode::InvalidParams,
            PrintError::Unavailable(_) => ErrorCode::DeviceUnavailable,
            PrintError::PaperOut | PrintError::CoverOpen | PrintError::Device(_) => ErrorCode::DeviceError,
            PrintError::Timeout(_) => ErrorCode::Timeout,
            PrintError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<PrintError> for ApiError {
    fn from(e: PrintError) -> Self {
        ApiError::new(e.code(), e)
    }
}
