//! The reference web client (`web/`), served at `/`.
//!
//! `web/dist` is built by Vite, committed, and embedded in the binary at
//! compile time, so `cargo run --release` serves the client without Node.
//! CI rebuilds it and fails when the committed copy is stale.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/dist/"]
struct Dist;

/// `index.html` names the current assets, so browsers revalidate it on
/// every load (a cheap 304 while it is unchanged).
const INDEX_CACHE: &str = "no-cache";
/// Every asset name carries a content hash: a changed file gets a new
/// name, so browsers may keep each one for good.
const ASSET_CACHE: &str = "public, max-age=31536000, immutable";

/// `GET /`: the client's `index.html`.
pub(super) async fn index(headers: HeaderMap) -> Response {
    serve("index.html", INDEX_CACHE, &headers)
}

/// `GET /assets/{*path}`: the client's hashed scripts and styles.
pub(super) async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&format!("assets/{path}"), ASSET_CACHE, &headers)
}

fn serve(path: &str, cache_control: &'static str, request: &HeaderMap) -> Response {
    // Only names embedded at build time match: no file system, no `..`.
    let Some(file) = Dist::get(path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = etag(&file.metadata.sha256_hash());
    let headers = [
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        ),
        (header::ETAG, etag.clone()),
    ];
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .is_some_and(|tags| tags.as_bytes() == etag.as_bytes());
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let content_type = content_type(file.metadata.mimetype());
    (
        headers,
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        file.data,
    )
        .into_response()
}

/// Text types get an explicit charset; Vite writes UTF-8.
fn content_type(mime: &str) -> HeaderValue {
    let text = mime.starts_with("text/") || mime.ends_with("javascript") || mime.ends_with("json");
    let value = if text {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// A strong validator from the file's SHA-256 (computed at build time).
fn etag(hash: &[u8; 32]) -> HeaderValue {
    let hex: String = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
    HeaderValue::from_str(&format!("\"{hex}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}
