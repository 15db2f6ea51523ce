//! The web app's files: embedded at build time (see `build.rs`) or given by a test,
//! each with its content type and a content hash that serves as its cache-busting
//! version and its ETag; `index.html` with its asset references versioned.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use tracing::warn;

/// Every file of `webapp-static/` as (path relative to it, content), sorted by path.
static EMBEDDED_FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/webapp_files.rs"));

/// The app's entry page, served for `/webapp/`, `/webapp/home` and every client route.
pub(super) const INDEX: &str = "index.html";

/// Where the app's assets live, as index.html references them.
const ASSETS_URL_PREFIX: &str = "/webapp/assets/";

/// How many hex digits of a file's SHA-256 make its version.
const VERSION_LEN: usize = 12;

/// `Cache-Control` of a response that is asked for by its current version: the URL
/// changes with the content, so it never needs revalidating.
pub(super) const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` of everything else: cache, but revalidate (a cheap 304) every time.
pub(super) const CACHE_REVALIDATE: &str = "no-cache";

/// The web app as served: its files (cheap to clone) and where the branding package
/// lives, if anywhere.
#[derive(Clone)]
pub struct WebApp {
    /// The files by path relative to the app's root (`index.html`, `assets/app.js`).
    files: Arc<HashMap<String, Asset>>,
    /// The `branding/` folder of the config directory; `None` = no branding served.
    branding_dir: Option<Arc<Path>>,
}

/// One file, ready to serve.
pub(super) struct Asset {
    /// The content (for `index.html`: with versioned asset references).
    pub(super) body: Bytes,
    /// The `Content-Type`, from the file name.
    pub(super) content_type: &'static str,
    /// The first hex digits of the content's SHA-256: `?v=` in versioned URLs.
    pub(super) version: String,
    /// `"<version>"`.
    pub(super) etag: HeaderValue,
}

// === impl WebApp ===

impl WebApp {
    /// The web app embedded in this binary at build time, without branding. Its hashes
    /// are computed once per process.
    pub fn embedded() -> WebApp {
        static FILES: OnceLock<Arc<HashMap<String, Asset>>> = OnceLock::new();
        let files = FILES.get_or_init(|| {
            Arc::new(prepare(EMBEDDED_FILES.iter().map(|&(path, content)| {
                (path.to_owned(), Bytes::from_static(content))
            })))
        });
        WebApp {
            files: files.clone(),
            branding_dir: None,
        }
    }

    /// A web app of the given files, as (path relative to the app's root with `/`
    /// separators, content): e.g. `("index.html", …)`, `("assets/app.js", …)`.
    pub fn from_files<P, C>(files: impl IntoIterator<Item = (P, C)>) -> WebApp
    where
        P: Into<String>,
        C: Into<Bytes>,
    {
        WebApp {
            files: Arc::new(prepare(
                files.into_iter().map(|(p, c)| (p.into(), c.into())),
            )),
            branding_dir: None,
        }
    }

    /// Serves the branding package at `/webapp2/custom_configuration/` from `dir`
    /// (normally `branding/` in the config directory). The folder is read at each
    /// request, so a package can be added, replaced or removed without a restart.
    pub fn with_branding_dir(mut self, dir: impl Into<PathBuf>) -> WebApp {
        self.branding_dir = Some(Arc::from(dir.into()));
        self
    }

    /// The file at `path` (relative to the app's root), if there is one.
    pub(super) fn file(&self, path: &str) -> Option<&Asset> {
        self.files.get(path)
    }

    /// The branding folder, if one was configured.
    pub(super) fn branding_dir(&self) -> Option<&Path> {
        self.branding_dir.as_deref()
    }
}

impl fmt::Debug for WebApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebApp")
            .field("files", &self.files.len())
            .field("branding_dir", &self.branding_dir)
            .finish()
    }
}

// === impl Asset ===

impl Asset {
    /// A file with its content type (from `path`) and content hash.
    pub(super) fn new(path: &str, body: Bytes) -> Asset {
        let version = version_of(&body);
        let etag = HeaderValue::try_from(format!("\"{version}\""))
            .expect("a quoted hex string is a valid header value");
        Asset {
            body,
            content_type: content_type(path),
            version,
            etag,
        }
    }

    /// The answer to a GET or HEAD of this file with `cache_control`: the content, or
    /// 304 when the request's `If-None-Match` names the current ETag.
    pub(super) fn respond(&self, request: &HeaderMap, cache_control: &'static str) -> Response {
        let validators = [
            (CACHE_CONTROL, HeaderValue::from_static(cache_control)),
            (ETAG, self.etag.clone()),
        ];
        if etag_matches(request, &self.etag) {
            return (StatusCode::NOT_MODIFIED, validators).into_response();
        }
        (
            validators,
            [(CONTENT_TYPE, HeaderValue::from_static(self.content_type))],
            Body::from(self.body.clone()),
        )
            .into_response()
    }
}

/// Hashes every file and rewrites `index.html`'s asset references to versioned URLs.
fn prepare(files: impl Iterator<Item = (String, Bytes)>) -> HashMap<String, Asset> {
    let mut assets: HashMap<String, Asset> = files
        .map(|(path, body)| {
            let asset = Asset::new(&path, body);
            (path, asset)
        })
        .collect();
    if let Some(index) = assets.get(INDEX) {
        let html = String::from_utf8_lossy(&index.body);
        let versioned = version_asset_urls(&html, |asset| {
            assets
                .get(&format!("assets/{asset}"))
                .map(|a| a.version.as_str())
        });
        let index = Asset::new(INDEX, Bytes::from(versioned));
        assets.insert(INDEX.to_owned(), index);
    }
    assets
}

/// The first [`VERSION_LEN`] hex digits of the SHA-256 of `content`.
pub(super) fn version_of(content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    let mut hex = String::with_capacity(2 * digest.len());
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex.truncate(VERSION_LEN);
    hex
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `html` with `?v=<version>` appended to every `src` or `href` attribute whose whole
/// value is `/webapp/assets/<name>` (quoted with `"` or `'`, no query or fragment)
/// where `version_of(<name>)` knows the asset. A reference to a missing asset is left
/// as it is and logged.
pub(super) fn version_asset_urls<'a>(
    html: &str,
    version_of: impl Fn(&str) -> Option<&'a str>,
) -> String {
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len() + 256);
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let Some(quote_at) = url_attribute_value_at(bytes, at) else {
            at += 1;
            continue;
        };
        let quote = char::from(bytes[quote_at]);
        let start = quote_at + 1;
        // Indices stay on char boundaries: they follow ASCII bytes.
        let Some(len) = html[start..].find(quote) else {
            break;
        };
        let end = start + len;
        let value = &html[start..end];
        if let Some(asset) = value.strip_prefix(ASSETS_URL_PREFIX)
            && !asset.is_empty()
            && !asset.contains(['?', '#'])
        {
            match version_of(asset) {
                Some(version) => {
                    out.push_str(&html[copied..end]);
                    out.push_str("?v=");
                    out.push_str(version);
                    copied = end;
                }
                None => warn!(url = value, "index.html references a missing asset"),
            }
        }
        at = end + 1;
    }
    out.push_str(&html[copied..]);
    out
}

/// If a `src=` or `href=` attribute (after whitespace, followed by a quote) starts at
/// `at`, the index of its opening quote.
fn url_attribute_value_at(bytes: &[u8], at: usize) -> Option<usize> {
    if at == 0 || !bytes[at - 1].is_ascii_whitespace() {
        return None;
    }
    let rest = &bytes[at..];
    let name_len = [&b"src="[..], b"href="]
        .into_iter()
        .find(|name| rest.starts_with(name))?
        .len();
    let quote_at = at + name_len;
    matches!(bytes.get(quote_at), Some(b'"' | b'\'')).then_some(quote_at)
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 §13.1.2 asks) or
/// is `*`.
fn etag_matches(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let Ok(etag) = etag.to_str() else {
        return false;
    };
    request
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// The `Content-Type` of a file, from its extension (case ignored).
pub(super) fn content_type(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "txt" | "md" => "text/plain; charset=utf-8",
        "mp3" => "audio/mpeg",
        "ogg" | "opus" => "audio/ogg",
        "wav" => "audio/wav",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(html: &str, expected: &str) {
        let versioned = version_asset_urls(html, |asset| match asset {
            "app.js" => Some("aaaaaaaaaaaa"),
            "css/app.css" => Some("bbbbbbbbbbbb"),
            _ => None,
        });
        assert_eq!(versioned, expected);
    }

    #[test]
    fn asset_references_get_their_version() {
        check(
            r#"<script type="module" src="/webapp/assets/app.js"></script>"#,
            r#"<script type="module" src="/webapp/assets/app.js?v=aaaaaaaaaaaa"></script>"#,
        );
        check(
            "<link rel='stylesheet' href='/webapp/assets/css/app.css'>",
            "<link rel='stylesheet' href='/webapp/assets/css/app.css?v=bbbbbbbbbbbb'>",
        );
        check(
            "<link\n  href=\"/webapp/assets/css/app.css\"><p>é</p><img src=\"/webapp/assets/app.js\">",
            "<link\n  href=\"/webapp/assets/css/app.css?v=bbbbbbbbbbbb\"><p>é</p><img src=\"/webapp/assets/app.js?v=aaaaaaaaaaaa\">",
        );
    }

    #[test]
    fn other_references_stay_as_they_are() {
        for html in [
            r#"<script src="/webapp/assets/missing.js"></script>"#,
            r#"<script src="/webapp/assets/app.js?v=1"></script>"#,
            r#"<a href="/webapp/assets/app.js#x">"#,
            r#"<a href="/webapp/home">"#,
            r#"<a href="https://example.com/webapp/assets/app.js">"#,
            r#"<img data-src="/webapp/assets/app.js">"#,
            r#"<p>src="/webapp/assets/app.js"</p>"#,
            r#"<script src=/webapp/assets/app.js></script>"#,
            r#"<script src="/webapp/assets/app.js"#,
            "é src=",
        ] {
            check(html, html);
        }
    }

    #[test]
    fn content_types_follow_the_extension() {
        for (path, expected) in [
            ("index.html", "text/html; charset=utf-8"),
            ("assets/app.js", "text/javascript; charset=utf-8"),
            ("assets/lib/pdf.MJS", "text/javascript; charset=utf-8"),
            ("assets/app.css", "text/css; charset=utf-8"),
            ("favicon.ico", "image/x-icon"),
            ("site.webmanifest", "application/manifest+json"),
            ("assets/fonts/x.woff2", "font/woff2"),
            ("assets/a.b/LICENSE", "application/octet-stream"),
        ] {
            assert_eq!(content_type(path), expected, "{path}");
        }
    }

    #[test]
    fn etags_match_weakly_in_lists_and_star() {
        let etag = HeaderValue::from_static("\"abc\"");
        for (if_none_match, expected) in [
            ("\"abc\"", true),
            ("W/\"abc\"", true),
            ("\"x\", \"abc\"", true),
            ("*", true),
            ("\"abd\"", false),
            ("abc", false),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(IF_NONE_MATCH, HeaderValue::from_static(if_none_match));
            assert_eq!(etag_matches(&headers, &etag), expected, "{if_none_match}");
        }
        assert!(!etag_matches(&HeaderMap::new(), &etag));
    }

    #[test]
    fn the_version_is_the_start_of_the_sha256() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        assert_eq!(version_of(b"abc"), "ba7816bf8f01");
    }
}
