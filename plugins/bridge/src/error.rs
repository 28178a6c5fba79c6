//! Stable error codes and the typed error every handler returns.

use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// Machine-readable codes sent next to the human message (`errorCode` in every envelope).
/// They never change meaning; pages may switch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The call's parameters are malformed: not an object, a missing or empty field, a wrong type.
    InvalidParams,
    /// The package's manifest does not grant the API's permission family.
    PermissionDenied,
    /// The device is not configured, unplugged, or failed.
    DeviceUnavailable,
    /// The device is there but refused or failed the operation (e.g. a card answered an error
    /// status word, or is not the kind of card the call reads).
    DeviceError,
    /// No result within the time allowed.
    Timeout,
    /// Too many calls in flight for this page, or the device is serving another call.
    Busy,
    /// Cancelled by the page (a close call) or because the page went away.
    Cancelled,
    /// The API exists in the documents but this terminal does not provide it.
    Unsupported,
    /// The call's parameters exceed the size limit.
    PayloadTooLarge,
    /// The call came from a page whose session has ended (it navigated or reloaded).
    SessionEnded,
    /// A bug in Booth; the message says more and the log has the details.
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::InvalidParams,
        ErrorCode::PermissionDenied,
        ErrorCode::DeviceUnavailable,
        ErrorCode::DeviceError,
        ErrorCode::Timeout,
        ErrorCode::Busy,
        ErrorCode::Cancelled,
        ErrorCode::Unsupported,
        ErrorCode::PayloadTooLarge,
        ErrorCode::SessionEnded,
        ErrorCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidParams => "INVALID_PARAMS",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::DeviceUnavailable => "DEVICE_UNAVAILABLE",
            ErrorCode::DeviceError => "DEVICE_ERROR",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::Busy => "BUSY",
            ErrorCode::Cancelled => "CANCELLED",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::SessionEnded => "SESSION_ENDED",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// The message a page shows; terminals speak Chinese, as the documents do ("超时" is seed 000's).
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::InvalidParams => "参数错误",
            ErrorCode::PermissionDenied => "无权限",
            ErrorCode::DeviceUnavailable => "设备不可用",
            ErrorCode::DeviceError => "设备执行失败",
            ErrorCode::Timeout => "超时",
            ErrorCode::Busy => "设备忙",
            ErrorCode::Cancelled => "已取消",
            ErrorCode::Unsupported => "本终端不支持",
            ErrorCode::PayloadTooLarge => "参数过大",
            ErrorCode::SessionEnded => "页面会话已结束",
            ErrorCode::Internal => "内部错误",
        }
    }

    /// `replyCode` for `wxfaceapp` failures when the API does not document a more specific one:
    /// seed 001 uses "-6" for 机具不支持此功能 and "-1" for 未知错误.
    pub fn wx_reply_code(self) -> &'static str {
        match self {
            ErrorCode::Unsupported => "-6",
            ErrorCode::Timeout => "-6",
            ErrorCode::InvalidParams => "-4",
            _ => "-1",
        }
    }
}

impl ErrorCode {
    /// Shorthand used by the router: this code with a detail.
    pub(crate) fn err(self, detail: impl fmt::Display) -> ApiError {
        ApiError::new(self, detail)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a handler or the router answers instead of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// A documented `replyCode` for `wxfaceapp` (e.g. "-1" for writeToSerialPort), if any.
    pub reply_code: Option<String>,
    /// Extra data for the reply (e.g. the results so far of a failed APDU list).
    pub data: Option<Value>,
}

impl ApiError {
    /// The code's own message, e.g. exactly "超时".
    pub fn bare(code: ErrorCode) -> Self {
        ApiError { code, message: code.message().to_string(), reply_code: None, data: None }
    }

    /// The code's message followed by a detail: "参数错误: action 不能为空".
    pub fn new(code: ErrorCode, detail: impl fmt::Display) -> Self {
        ApiError { code, message: format!("{}: {}", code.message(), detail), reply_code: None, data: None }
    }

    /// A message chosen by the API's document (e.g. "关闭成功", "失败:-2").
    pub fn with_message(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), reply_code: None, data: None }
    }

    pub fn invalid(detail: impl fmt::Display) -> Self {
        Self::new(ErrorCode::InvalidParams, detail)
    }

    pub fn unavailable(detail: impl fmt::Display) -> Self {
        Self::new(ErrorCode::DeviceUnavailable, detail)
    }

    pub fn reply_code(mut self, code: impl Into<String>) -> Self {
        self.reply_code = Some(code.into());
        self
    }

    pub fn data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}
