//! `miniapp.json`: what a package is and what it may use. Schema: `miniapp-host/miniapp.schema.json`.

use booth_bridge::{Dialect, Family};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use url::Url;

fn all_dialects() -> Vec<Dialect> {
    Dialect::ALL.to_vec()
}

/// A package manifest. Unknown fields are refused: a typo must not silently drop a permission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Editors add this; Booth ignores it.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Stable identifier: letters, digits, `.`, `_`, `-`.
    pub id: String,
    pub name: String,
    pub version: String,
    /// Path of the first page inside the package, e.g. `index.html`.
    pub entry: String,
    /// Which injected objects the pages use; default all three.
    #[serde(default = "all_dialects")]
    pub dialects: Vec<Dialect>,
    /// Capability families the pages may use (`device` is always allowed).
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Extra origins the pages may navigate to (`https://host[:port]`).
    #[serde(default)]
    pub origins: Vec<String>,
    /// The customer-facing second screen's page, if the package has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary: Option<Secondary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secondary {
    pub entry: String,
}

impl Manifest {
    /// Parses and validates; the error names the field (`permissions[1]: unknown permission …`).
    pub fn parse(json: &str) -> Result<Manifest, String> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let manifest: Manifest = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." || path == "?" || path.is_empty() {
                inner.to_string()
            } else {
                format!("{path}: {inner}")
            }
        })?;
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<(), String> {
        if self.id.is_empty() || !self.id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
            return Err(format!("id: `{}` must be non-empty and use only letters, digits, `.`, `_`, `-`", self.id));
        }
        if self.name.trim().is_empty() {
            return Err("name: must not be empty".into());
        }
        if self.version.trim().is_empty() {
            return Err("version: must not be empty".into());
        }
        check_relative("entry", &self.entry)?;
        if let Some(s) = &self.secondary {
            check_relative("secondary.entry", &s.entry)?;
        }
        if self.dialects.is_empty() {
            return Err("dialects: must name at least one of my, wxfaceapp, ft".into());
        }
        for (i, p) in self.permissions.iter().enumerate() {
            p.parse::<Family>().map_err(|e| {
                let known: Vec<&str> = Family::GRANTABLE.iter().map(|f| f.as_str()).collect();
                format!("permissions[{i}]: {e} (known: {})", known.join(", "))
            })?;
        }
        for (i, o) in self.origins.iter().enumerate() {
            parse_origin(o).map_err(|e| format!("origins[{i}]: {e}"))?;
        }
        Ok(())
    }

    pub fn permission_set(&self) -> HashSet<Family> {
        self.permissions.iter().filter_map(|p| p.parse().ok()).collect()
    }

    pub fn dialect_set(&self) -> HashSet<Dialect> {
        self.dialects.iter().copied().collect()
    }
}

fn check_relative(field: &str, path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err(format!("{field}: must not be empty"));
    }
    if path.starts_with('/')
        || path.starts_with('\\')
        || path.contains(':')
        || path.split(['/', '\\']).any(|s| s == "..")
    {
        return Err(format!("{field}: `{path}` must be a relative path inside the package"));
    }
    Ok(())
}

/// An allowed origin: `http(s)://host[:port]` with no path, query or fragment.
pub fn parse_origin(s: &str) -> Result<url::Origin, String> {
    let url = Url::parse(s).map_err(|e| format!("`{s}` is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{s}` must be an http or https origin"));
    }
    if url.host_str().is_none() || !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some()
    {
        return Err(format!("`{s}` must be an origin like https://example.com (no path)"));
    }
    Ok(url.origin())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str =
        r#"{"id":"demo.app","name":"Demo","version":"1.0.0","entry":"index.html","permissions":["scanner"]}"#;

    #[test]
    fn defaults_to_all_dialects() {
        let m = Manifest::parse(OK).unwrap();
        assert_eq!(m.dialects, Dialect::ALL.to_vec());
        assert!(m.permission_set().contains(&Family::Scanner));
        assert!(m.secondary.is_none());
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (r#"{"id":"a","name":"n","version":"1","entry":5}"#, "entry: invalid type: integer `5`"),
            (
                r#"{"id":"a","name":"n","version":"1","entry":"i.html","permissions":["scanner","teleport"]}"#,
                "permissions[1]: unknown permission `teleport`",
            ),
            (
                r#"{"id":"a","name":"n","version":"1","entry":"i.html","dialects":["my","wx"]}"#,
                "dialects[1]: unknown variant `wx`",
            ),
            (r#"{"id":"a","name":"n","version":"1","entry":"i.html","colour":"red"}"#, "unknown field `colour`"),
            (
                r#"{"id":"a","name":"n","version":"1","entry":"../x.html"}"#,
                "entry: `../x.html` must be a relative path",
            ),
            (r#"{"id":"a b","name":"n","version":"1","entry":"i.html"}"#, "id: `a b`"),
            (r#"{"id":"a","name":"n","version":"1","entry":"i.html","origins":["https://x.com/path"]}"#, "origins[0]:"),
            (r#"{"id":"a","name":"n","version":"1","entry":"i.html","dialects":[]}"#, "dialects: must name"),
            (r#"{"id":"a","name":"n","version":"1"}"#, "missing field `entry`"),
            (
                r#"{"id":"a","name":"n","version":"1","entry":"i.html","secondary":{"entry":7}}"#,
                "secondary.entry: invalid type",
            ),
        ];
        for (json, want) in cases {
            let err = Manifest::parse(json).unwrap_err();
            assert!(err.contains(want), "{json}\n  got: {err}\n  want: {want}");
        }
    }

    #[test]
    fn origins_must_be_plain_origins() {
        assert!(parse_origin("https://pay.example.com").is_ok());
        assert!(parse_origin("http://127.0.0.1:8080/").is_ok());
        assert!(parse_origin("ftp://x").is_err());
        assert!(parse_origin("https://x.com/a").is_err());
        assert!(parse_origin("nonsense").is_err());
    }
}

#[cfg(test)]
mod schema_tests {
    use booth_bridge::Family;
    use serde_json::Value;

    /// The JSON Schema in the repository lists exactly the permissions Booth accepts.
    #[test]
    fn schema_permissions_match_the_families() {
        let schema: Value = serde_json::from_str(include_str!("../miniapp.schema.json")).expect("schema is JSON");
        let listed: Vec<&str> = schema["properties"]["permissions"]["items"]["enum"]
            .as_array()
            .expect("enum")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut want: Vec<&str> = Family::GRANTABLE.iter().map(|f| f.as_str()).collect();
        want.extend(["device", "session"]);
        let (mut a, mut b) = (listed.clone(), want.clone());
        a.sort();
        b.sort();
        assert_eq!(a, b);
        let fields: Vec<&String> = schema["properties"].as_object().expect("properties").keys().collect();
        for f in ["id", "name", "version", "entry", "dialects", "permissions", "origins", "secondary"] {
            assert!(fields.iter().any(|k| k.as_str() == f), "{f}");
        }
    }
}
