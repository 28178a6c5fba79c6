//! The package scheme (`booth://localhost/…`): package files as the webview asks for them.

use booth_miniapp_host::Package;
use tauri::http::{header, Response, StatusCode};

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
