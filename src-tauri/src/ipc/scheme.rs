//! The package scheme (`booth://localhost/…` for `[package]`, `booth://<appId>/…` for each
//! catalogue app): package files as the webview asks for them.

use crate::shell::apps::Catalogue;
use booth_miniapp_host::Package;
use tauri::http::{header, Response, StatusCode};

/// The package a request on the scheme is for: a catalogue app's by its origin, `[package]`'s
/// on `localhost`; `None` for an unknown origin (never served).
pub fn package_for<'a>(main: &'a Package, catalogue: &'a Catalogue, uri: &str) -> Option<&'a Package> {
    let url = url::Url::parse(uri).ok()?;
    match crate::names::app_of(&url) {
        None => Some(main),
        Some(_) => catalogue.for_url(&url).map(|a| a.package.as_ref()),
    }
}

/// Answers a request on the package scheme.
pub fn serve(package: &Package, path: &str) -> tauri::http::Result<Response<Vec<u8>>> {
    match package.read(path) {
        Some(asset) => Response::builder()
            .header(header::CONTENT_TYPE, asset.mime)
            .header(header::CACHE_CONTROL, "no-cache")
            .body(asset.bytes.to_vec()),
        None => {
            tracing::warn!(path, "not in the package");
            Response::builder()
                .status(StatusCode::NOT_FOUND)
                .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(format!("{path}: not in the package").into_bytes())
        }
    }
}

/// A request for an origin that is neither `[package]` nor a catalogue app.
pub fn unknown_origin(uri: &str) -> tauri::http::Result<Response<Vec<u8>>> {
    tracing::warn!(uri, "no such app in the catalogue");
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(format!("{uri}: no such app").into_bytes())
}
