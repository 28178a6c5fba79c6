//! What happened to the certification window, and seed 003's answer for it.
//!
//! The page ends by going to its return URL, which Booth never loads: any navigation away from
//! the certification origin is that return. The service puts the result in the return URL's
//! query — `status=PASSED` (9000), `status=FAILED` with `errorCode` (4000) — as the reference
//! provider does; a return without a status is `4000` `UNKNOWN_ERROR`.

use booth_bridge::{ApiError, Done, ErrorCode};
use serde_json::json;
use url::Url;

/// Seed 003's error codes (`result.errorCode` with `resultStatus` `4000`).
pub const UNKNOWN_ERROR: &str = "UNKNOWN_ERROR";
pub const SYSTEM_ERROR: &str = "SYSTEM_ERROR";
pub const USER_IS_NOT_CERTIFY: &str = "USER_IS_NOT_CERTIFY";
/// The certification took longer than [`crate::LIFETIME`].
pub const TIMEOUT: &str = "TIMEOUT";

#[derive(Debug, Clone, PartialEq)]
pub enum WindowEvent {
    /// The page went to a URL outside the certification origin: its return URL.
    Returned(Url),
    /// The person closed the window.
    Closed,
    /// The page could not be loaded (connection refused, DNS, TLS, …).
    LoadFailed(String),
    /// The certification origin answered an HTTP error for the page itself.
    HttpStatus(u16),
    /// Nothing happened within [`crate::LIFETIME`].
    TimedOut,
}

impl WindowEvent {
    pub fn name(&self) -> &'static str {
        match self {
            WindowEvent::Returned(_) => "returned",
            WindowEvent::Closed => "closed",
            WindowEvent::LoadFailed(_) => "load failed",
            WindowEvent::HttpStatus(_) => "http error",
            WindowEvent::TimedOut => "timed out",
        }
    }
}

fn status(code: &str, extra: serde_json::Value) -> Result<Done, ApiError> {
    let mut body = json!({ "resultStatus": code, "result": {} });
    if let (Some(b), serde_json::Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    Ok(Done::from(body))
}

/// `4000`: the bridge shapes it as `{success:false, resultStatus:"4000", result:{certifyId,
/// errorCode}, message, errorCode}`.
fn business(certify_id: &str, error_code: &str, message: String) -> Result<Done, ApiError> {
    Err(ApiError::with_message(ErrorCode::DeviceError, message)
        .data(json!({ "result": { "certifyId": certify_id, "errorCode": error_code } })))
}

/// Seed 003's reply for what happened.
pub fn reply_for(certify_id: &str, event: WindowEvent) -> Result<Done, ApiError> {
    match event {
        WindowEvent::Returned(url) => {
            let q = |k: &str| url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned());
            if let Some(other) = q("certifyId").filter(|id| id != certify_id) {
                return business(
                    certify_id,
                    UNKNOWN_ERROR,
                    format!("认证页面返回了另一个认证的结果 ({})", booth_bridge::params::clip(&other, 64)),
                );
            }
            match q("status").as_deref() {
                Some("PASSED") => status("9000", json!({ "result": { "certifyId": certify_id } })),
                Some("FAILED") => {
                    let code = q("errorCode")
                        .filter(|c| !c.is_empty() && c.len() <= 64 && c.bytes().all(|b| b.is_ascii_graphic()))
                        .unwrap_or_else(|| USER_IS_NOT_CERTIFY.to_string());
                    let message = format!("实人认证未通过 ({code})");
                    business(certify_id, &code, message)
                }
                _ => business(certify_id, UNKNOWN_ERROR, "认证页面返回时没有给出结果".into()),
            }
        }
        WindowEvent::Closed => status("6001", json!({})),
        WindowEvent::LoadFailed(why) => status("6002", json!({ "message": format!("网络异常: {why}") })),
        WindowEvent::HttpStatus(code) if code >= 500 => {
            status("6002", json!({ "message": format!("网络异常: 认证服务回答 HTTP {code}") }))
        }
        WindowEvent::HttpStatus(code) => business(certify_id, SYSTEM_ERROR, format!("认证页面无法打开: HTTP {code}")),
        WindowEvent::TimedOut => business(certify_id, TIMEOUT, "实人认证超时".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn ret(u: &str) -> Result<Done, ApiError> {
        reply_for("c1", WindowEvent::Returned(Url::parse(u).unwrap()))
    }

    fn failed(r: Result<Done, ApiError>) -> (String, Value) {
        let e = r.expect_err("4000");
        assert_eq!(e.code, ErrorCode::DeviceError);
        (e.message, e.data.unwrap_or_default())
    }

    #[test]
    fn passed_is_9000_with_the_certify_id() {
        let d = ret("https://shop.example/done?certifyId=c1&status=PASSED").unwrap();
        assert_eq!(d.data, json!({"resultStatus": "9000", "result": {"certifyId": "c1"}}));
        let d = ret("https://shop.example/done?status=PASSED").unwrap();
        assert_eq!(d.data["resultStatus"], "9000");
    }

    #[test]
    fn failed_is_4000_with_the_services_error_code() {
        let (m, data) = failed(ret("https://shop.example/done?certifyId=c1&status=FAILED&errorCode=LIVENESS_FAILED"));
        assert_eq!(data, json!({"result": {"certifyId": "c1", "errorCode": "LIVENESS_FAILED"}}));
        assert!(m.contains("LIVENESS_FAILED"), "{m}");
        let (_, data) = failed(ret("https://shop.example/done?status=FAILED"));
        assert_eq!(data["result"]["errorCode"], USER_IS_NOT_CERTIFY);
        let (_, data) = failed(ret("https://shop.example/done?status=FAILED&errorCode=%3Cscript%3E%20x"));
        assert_eq!(data["result"]["errorCode"], USER_IS_NOT_CERTIFY);
    }

    #[test]
    fn a_return_without_a_result_or_for_another_id_is_unknown() {
        for u in [
            "https://shop.example/done",
            "https://shop.example/done?status=maybe",
            "https://shop.example/?certifyId=zz&status=PASSED",
        ] {
            let (_, data) = failed(ret(u));
            assert_eq!(data["result"]["errorCode"], UNKNOWN_ERROR, "{u}");
        }
    }

    #[test]
    fn closed_network_and_http_errors() {
        assert_eq!(reply_for("c1", WindowEvent::Closed).unwrap().data, json!({"resultStatus": "6001", "result": {}}));
        let d = reply_for("c1", WindowEvent::LoadFailed("Connection refused".into())).unwrap();
        assert_eq!(d.data["resultStatus"], "6002");
        assert_eq!(d.data["result"], json!({}));
        assert!(d.data["message"].as_str().unwrap().contains("Connection refused"));
        assert_eq!(reply_for("c1", WindowEvent::HttpStatus(502)).unwrap().data["resultStatus"], "6002");
        let (_, data) = failed(reply_for("c1", WindowEvent::HttpStatus(404)));
        assert_eq!(data["result"]["errorCode"], SYSTEM_ERROR);
        let (_, data) = failed(reply_for("c1", WindowEvent::TimedOut));
        assert_eq!(data["result"]["errorCode"], TIMEOUT);
    }
}
