//! Reading `startBizService`'s params: `{name: 'open-certify', param}` where `param` is the JSON
//! text of `{certifyId, url}` (seed 003 passes `JSON.stringify(options)`; an object is accepted
//! too), and the certification page's origin checked against the manifest's `origins`.

use booth_bridge::{params::clip, ApiError, ErrorCode, Params};
use serde_json::Value;
use url::Url;

/// The one service Booth provides through `startBizService`.
pub const OPEN_CERTIFY: &str = "open-certify";

/// A checked open-certify request.
#[derive(Debug, Clone, PartialEq)]
pub struct CertifyParam {
    pub certify_id: String,
    pub url: Url,
}

/// The first characters of a certify id, for logs (the id is the page's credential).
pub fn short(certify_id: &str) -> &str {
    certify_id.get(..6).unwrap_or("")
}

pub fn parse(params: &Params) -> Result<CertifyParam, ApiError> {
    let name = params.str("name")?.ok_or_else(|| ApiError::invalid("缺少 name"))?;
    if name != OPEN_CERTIFY {
        return Err(ApiError::new(
            ErrorCode::Unsupported,
            format!("startBizService name `{}` (本终端只提供 {OPEN_CERTIFY})", clip(name, 64)),
        ));
    }
    let param = match params.get("param") {
        None => return Err(ApiError::invalid("缺少 param")),
        Some(Value::String(text)) => {
            serde_json::from_str::<Value>(text).map_err(|e| ApiError::invalid(format!("param 不是 JSON: {e}")))?
        }
        Some(v @ Value::Object(_)) => v.clone(),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "param 应为 JSON 字符串, 收到 {}",
                booth_bridge::params::kind(other)
            )))
        }
    };
    let Value::Object(map) = param else { return Err(ApiError::invalid("param 应为对象 {certifyId, url}")) };
    let inner = Params(map);
    let certify_id = inner.str("certifyId")?.map(str::trim).unwrap_or("");
    if certify_id.is_empty() {
        return Err(ApiError::invalid("缺少 param.certifyId"));
    }
    if certify_id.len() > 128 || certify_id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ApiError::invalid("param.certifyId 至多 128 个字符, 不含空白"));
    }
    let text = inner.str("url")?.map(str::trim).unwrap_or("");
    if text.is_empty() {
        return Err(ApiError::invalid("缺少 param.url"));
    }
    let url = Url::parse(text).map_err(|e| ApiError::invalid(format!("param.url 不是网址: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(ApiError::invalid(format!("param.url 应为 http(s) 网址, 收到 {}", clip(text, 64))));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiError::invalid("param.url 不能含用户名或密码"));
    }
    Ok(CertifyParam { certify_id: certify_id.to_string(), url })
}

/// The page's origin must be one the manifest lists in `origins`.
pub fn check_origin(url: &Url, allowed: &[String]) -> Result<(), ApiError> {
    let origin = url.origin().ascii_serialization();
    if allowed.contains(&origin) {
        return Ok(());
    }
    Err(ApiError::new(ErrorCode::PermissionDenied, format!("认证页面的来源 {origin} 不在 miniapp.json 的 origins 中")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Params {
        match v {
            Value::Object(m) => Params(m),
            _ => unreachable!(),
        }
    }

    fn err(v: Value) -> ApiError {
        parse(&params(v)).expect_err("refused")
    }

    #[test]
    fn seed_003s_call_is_read() {
        let p = parse(&params(json!({
            "name": "open-certify",
            "param": "{\"certifyId\":\"sha1a2b3\",\"url\":\"https://certify.example.com/h5?certifyId=sha1a2b3\"}"
        })))
        .expect("ok");
        assert_eq!(p.certify_id, "sha1a2b3");
        assert_eq!(p.url.as_str(), "https://certify.example.com/h5?certifyId=sha1a2b3");
        let obj =
            parse(&params(json!({"name": "open-certify", "param": {"certifyId": "a", "url": "http://127.0.0.1:9/c"}})));
        assert_eq!(obj.expect("object param").url.as_str(), "http://127.0.0.1:9/c");
    }

    #[test]
    fn bad_params_are_invalid_and_name_the_field() {
        let cases = [
            (json!({}), "缺少 name"),
            (json!({"name": 3}), "name 应为字符串"),
            (json!({"name": "open-certify"}), "缺少 param"),
            (json!({"name": "open-certify", "param": 5}), "param 应为 JSON 字符串"),
            (json!({"name": "open-certify", "param": "{"}), "param 不是 JSON"),
            (json!({"name": "open-certify", "param": "[1]"}), "param 应为对象"),
            (json!({"name": "open-certify", "param": "{\"url\":\"https://a.example\"}"}), "缺少 param.certifyId"),
            (
                json!({"name": "open-certify", "param": "{\"certifyId\":\"a b\",\"url\":\"https://a.example\"}"}),
                "不含空白",
            ),
            (
                json!({"name": "open-certify", "param": {"certifyId": "x".repeat(129), "url": "https://a.example"}}),
                "至多 128",
            ),
            (json!({"name": "open-certify", "param": "{\"certifyId\":\"a\"}"}), "缺少 param.url"),
            (json!({"name": "open-certify", "param": "{\"certifyId\":\"a\",\"url\":\"not a url\"}"}), "不是网址"),
            (
                json!({"name": "open-certify", "param": "{\"certifyId\":\"a\",\"url\":\"javascript:alert(1)\"}"}),
                "http(s)",
            ),
            (
                json!({"name": "open-certify", "param": "{\"certifyId\":\"a\",\"url\":\"file:///etc/passwd\"}"}),
                "http(s)",
            ),
            (
                json!({"name": "open-certify", "param": "{\"certifyId\":\"a\",\"url\":\"https://u:p@a.example\"}"}),
                "用户名",
            ),
            (
                json!({"name": "open-certify", "param": {"certifyId": 7, "url": "https://a.example"}}),
                "certifyId 应为字符串",
            ),
        ];
        for (v, want) in cases {
            let e = err(v.clone());
            assert_eq!(e.code, ErrorCode::InvalidParams, "{v}: {e:?}");
            assert!(e.message.contains(want), "{v}: `{}` lacks `{want}`", e.message);
        }
    }

    #[test]
    fn other_services_are_unsupported() {
        let e = err(json!({"name": "open-pay", "param": "{}"}));
        assert_eq!(e.code, ErrorCode::Unsupported);
        assert!(e.message.contains("open-pay"), "{}", e.message);
    }

    #[test]
    fn only_listed_origins_may_open() {
        let allowed = vec!["https://certify.example.com".to_string(), "http://127.0.0.1:8765".to_string()];
        for ok in [
            "https://certify.example.com/h5?x=1",
            "https://CERTIFY.example.com:443/",
            "http://127.0.0.1:8765/certify/ab",
        ] {
            assert!(check_origin(&Url::parse(ok).unwrap(), &allowed).is_ok(), "{ok}");
        }
        for no in [
            "https://evil.example.com/",
            "http://certify.example.com/",
            "http://127.0.0.1:8766/",
            "https://certify.example.com:8443/",
        ] {
            let e = check_origin(&Url::parse(no).unwrap(), &allowed).expect_err(no);
            assert_eq!(e.code, ErrorCode::PermissionDenied);
            assert!(e.message.contains("origins"), "{}", e.message);
        }
        assert!(check_origin(&Url::parse("https://certify.example.com/").unwrap(), &[]).is_err());
    }
}
