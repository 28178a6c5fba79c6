//! Typed access to a call's `params` object, with the error replies bad input deserves.
//!
//! The seed documents pass numbers both as JSON numbers and as strings (`"intervalTime": "1000"`,
//! `"type": "1"`), so integer getters accept either; anything else of the wrong type is
//! `INVALID_PARAMS` naming the field.

use crate::error::ApiError;
use serde_json::{Map, Value};

/// The `params` object of a call (empty when the page sent none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub Map<String, Value>);

impl Params {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// A string field, `None` when absent or null.
    pub fn str(&self, key: &str) -> Result<Option<&str>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(ApiError::invalid(format!("{key} 应为字符串, 收到 {}", kind(other)))),
        }
    }

    /// An integer field given as a number or a decimal string.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                n.as_i64().map(Some).ok_or_else(|| ApiError::invalid(format!("{key} 应为整数, 收到 {n}")))
            }
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::invalid(format!("{key} 应为整数, 收到 \"{}\"", clip(s, SHOWN)))),
            Some(other) => Err(ApiError::invalid(format!("{key} 应为整数, 收到 {}", kind(other)))),
        }
    }

    /// An integer field that must lie in `range` when present.
    pub fn int_in(&self, key: &str, range: std::ops::RangeInclusive<i64>) -> Result<Option<i64>, ApiError> {
        match self.int(key)? {
            Some(v) if !range.contains(&v) => {
                Err(ApiError::invalid(format!("{key} 应在 {} 到 {} 之间, 收到 {v}", range.start(), range.end())))
            }
            other => Ok(other),
        }
    }

    /// A boolean field (`true`/`false`, or the strings "true"/"false").
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(other) => Err(ApiError::invalid(format!("{key} 应为布尔值, 收到 {}", kind(other)))),
        }
    }
}

/// `s` cut to at most `max` bytes (at a character boundary) with `…` added when it was longer:
/// what a message or a log line repeats of a page's string.
pub fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return s.into();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end]).into()
}

/// Most of a page's string value an error message repeats.
const SHOWN: usize = 64;

/// The JSON type name of a value, for error messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Value) -> Params {
        Params(v.as_object().cloned().unwrap())
    }

    #[test]
    fn ints_accept_numbers_and_numeric_strings() {
        let params = p(json!({"a": 1000, "b": "1000", "c": " 7 ", "d": "x", "e": true, "f": 1.5}));
        assert_eq!(params.int("a").unwrap(), Some(1000));
        assert_eq!(params.int("b").unwrap(), Some(1000));
        assert_eq!(params.int("c").unwrap(), Some(7));
        assert_eq!(params.int("missing").unwrap(), None);
        for bad in ["d", "e", "f"] {
            let err = params.int(bad).unwrap_err();
            assert_eq!(err.code, crate::ErrorCode::InvalidParams);
            assert!(err.message.contains(bad), "{}", err.message);
        }
    }

    #[test]
    fn ranges_and_types_are_checked() {
        let params = p(json!({"t": 100, "s": 5, "b": "true", "n": null}));
        assert!(params.int_in("t", 1000..=5000).is_err());
        assert!(params.str("s").is_err());
        assert_eq!(params.bool("b").unwrap(), Some(true));
        assert_eq!(params.str("n").unwrap(), None);
    }
}
