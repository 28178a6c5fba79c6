//! `docs/provider-v1.yaml`, the booth-provider/v1 document, as a checker: a request body Booth
//! sent, or a status and body a provider answered, is held against the schema the document gives
//! for that method and path (JSON Schema 2020-12, as OpenAPI 3.1 says; every object schema
//! there refuses unknown fields, so a renamed or added field fails).

use jsonschema::Validator;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where the document lives in the repository.
pub fn document_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/provider-v1.yaml")
}

pub struct Contract {
    doc: Value,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
    /// (METHOD, path template) of every request and answer checked.
    seen: Mutex<BTreeSet<(String, String)>>,
}

impl Contract {
    /// Reads the document; panics with the reason when it is not there or not valid YAML.
    pub fn load() -> Contract {
        let path = document_path();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Contract::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    pub fn parse(yaml: &str) -> Result<Contract, String> {
        let doc: Value = serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
        if doc.get("openapi").and_then(Value::as_str).is_none_or(|v| !v.starts_with("3.1")) {
            return Err("not an OpenAPI 3.1 document".into());
        }
        Ok(Contract { doc, validators: Mutex::default(), seen: Mutex::default() })
    }

    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// Every (METHOD, path template) the document defines.
    pub fn operations(&self) -> BTreeSet<(String, String)> {
        let mut ops = BTreeSet::new();
        if let Some(paths) = self.doc["paths"].as_object() {
            for (template, item) in paths {
                for method in ["get", "post", "put", "delete", "patch"] {
                    if item.get(method).is_some() {
                        ops.insert((method.to_ascii_uppercase(), template.clone()));
                    }
                }
            }
        }
        ops
    }

    /// The operations checked so far.
    pub fn seen(&self) -> BTreeSet<(String, String)> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The path template and the operation of a concrete request.
    fn operation(&self, method: &str, path: &str) -> Result<(String, &Value), String> {
        let paths = self.doc["paths"].as_object().ok_or("the document has no paths")?;
        let wanted: Vec<&str> = path.split('/').collect();
        for (template, item) in paths {
            let parts: Vec<&str> = template.split('/').collect();
            let fits = parts.len() == wanted.len()
                && parts.iter().zip(&wanted).all(|(t, w)| (t.starts_with('{') && !w.is_empty()) || t == w);
            if fits {
                if let Some(op) = item.get(method.to_ascii_lowercase()) {
                    self.seen
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert((method.to_ascii_uppercase(), template.clone()));
                    return Ok((template.clone(), op));
                }
            }
        }
        Err(format!("{method} {path} is not in the document"))
    }

    /// Follows a `#/components/...` reference inside the document (not schemas: those are
    /// resolved by the validator).
    fn deref<'a>(&'a self, v: &'a Value) -> Result<&'a Value, String> {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let pointer = r.strip_prefix('#').ok_or_else(|| format!("external reference {r}"))?;
                self.doc.pointer(pointer).ok_or_else(|| format!("dangling reference {r}"))
            }
            None => Ok(v),
        }
    }

    fn validator(&self, key: &str, schema: &Value) -> Result<Arc<Validator>, String> {
        if let Some(v) = self.validators.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
            return Ok(v.clone());
        }
        // The schema at the root of a copy of the document's components, so that its
        // `#/components/schemas/...` references resolve.
        let mut root = json!({"$schema": "https://json-schema.org/draft/2020-12/schema"});
        if let (Value::Object(r), Value::Object(s)) = (&mut root, schema) {
            for (k, v) in s {
                r.insert(k.clone(), v.clone());
            }
            r.insert("components".into(), self.doc["components"].clone());
        }
        let v = Arc::new(
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .build(&root)
                .map_err(|e| format!("{key}: the schema itself is invalid: {e}"))?,
        );
        self.validators.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_string(), v.clone());
        Ok(v)
    }

    fn check(&self, key: &str, schema: &Value, instance: &Value) -> Result<(), String> {
        let v = self.validator(key, schema)?;
        let errors: Vec<String> =
            v.iter_errors(instance).map(|e| format!("{} (at `{}`)", e, e.instance_path())).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{key}: {}", errors.join("; ")))
        }
    }

    /// Holds a request body against the operation's `requestBody` (no body: the operation must
    /// not want one).
    pub fn check_request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(), String> {
        let (template, op) = self.operation(method, path)?;
        let key = format!("{method} {template} request");
        match (op.get("requestBody"), body) {
            (None, None) => Ok(()),
            (None, Some(_)) => Err(format!("{key}: the document says no body")),
            (Some(rb), None) if rb["required"] == true => Err(format!("{key}: a body is required")),
            (Some(_), None) => Ok(()),
            (Some(rb), Some(body)) => {
                let rb = self.deref(rb)?;
                let schema = &rb["content"]["application/json"]["schema"];
                if schema.is_null() {
                    return Err(format!("{key}: no application/json schema"));
                }
                self.check(&key, schema, body)
            }
        }
    }

    /// Holds an answer against the operation's response for its status code.
    pub fn check_response(&self, method: &str, path: &str, status: u16, body: &[u8]) -> Result<(), String> {
        let (template, op) = self.operation(method, path)?;
        let key = format!("{method} {template} {status}");
        let response =
            op["responses"].get(status.to_string()).ok_or_else(|| format!("{key}: status not in the document"))?;
        let response = self.deref(response)?;
        let schema = &response["content"]["application/json"]["schema"];
        if schema.is_null() {
            return Err(format!("{key}: no application/json schema"));
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| format!("{key}: the answer is not JSON ({e})"))?;
        self.check(&key, schema, &value)
    }

    /// Holds a named schema (`#/components/schemas/<name>`) against a value.
    pub fn check_schema(&self, name: &str, value: &Value) -> Result<(), String> {
        let schema = json!({"$ref": format!("#/components/schemas/{name}")});
        if self.doc["components"]["schemas"].get(name).is_none() {
            return Err(format!("no schema {name}"));
        }
        self.check(&format!("schema {name}"), &schema, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_loads_and_its_schemas_compile() {
        let c = Contract::load();
        for name in c.doc["components"]["schemas"].as_object().unwrap().keys() {
            c.validator(name, &json!({"$ref": format!("#/components/schemas/{name}")})).unwrap();
        }
        assert!(c.operations().contains(&("POST".to_string(), "/v1/face/verify".to_string())));
    }

    #[test]
    fn a_drifted_field_is_refused() {
        let c = Contract::load();
        let ok = json!({"sessionId": "s1", "personId": "9", "expiresAt": 1});
        c.check_response("POST", "/v1/session/face-login", 200, ok.to_string().as_bytes()).unwrap();
        let renamed = json!({"sessionId": "s1", "personId": "9", "expires_at": 1});
        let e = c.check_response("POST", "/v1/session/face-login", 200, renamed.to_string().as_bytes()).unwrap_err();
        assert!(e.contains("expires_at") || e.contains("expiresAt"), "{e}");
        let wrong_type = json!({"error": {"code": "NOPE", "message": "x"}});
        assert!(c.check_response("POST", "/v1/ocr", 501, wrong_type.to_string().as_bytes()).is_err());
        assert!(c.check_response("POST", "/v1/ocr", 418, b"{}").is_err());
        assert!(c.check_request("POST", "/v1/nowhere", None).is_err());
        let certify = c.check_response(
            "GET",
            "/v1/certify/abc",
            200,
            json!({"certifyId": "abc", "status": "PENDING", "returnUrl": "https://x/", "errorCode": "", "personId": "", "score": 0})
                .to_string()
                .as_bytes(),
        );
        certify.unwrap();
        // A status without the fields the document requires is refused.
        let short = json!({"certifyId": "abc", "status": "PENDING", "returnUrl": "https://x/"});
        assert!(c.check_response("GET", "/v1/certify/abc", 200, short.to_string().as_bytes()).is_err());
    }
}
