//! The web app and the branding package, driven through `webapp::router(..).oneshot(..)`
//! over a fixture app (and once over the app embedded in the binary).

use std::path::Path;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use plenum_http::webapp::{self, WebApp};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tower::ServiceExt as _;

const INDEX: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <link rel="stylesheet" href="/webapp/assets/app.css">
  <link rel="icon" href="/webapp/assets/missing.ico">
  <script type="module" src="/webapp/assets/app.js"></script>
</head>
<body><a href="/webapp/home">home</a></body>
</html>
"#;
const APP_JS: &str = "import { h } from './dom.js';\nh();\n";
const DOM_JS: &str = "export function h() {}\n";
const APP_CSS: &str = "body { margin: 0 }\n";

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; \
    font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
    form-action 'self'";
const PERMISSIONS: &str = "camera=(self), microphone=(self), display-capture=(self), \
    fullscreen=(self), picture-in-picture=(self)";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn fixture() -> WebApp {
    WebApp::from_files([
        ("index.html", INDEX.as_bytes()),
        ("assets/app.js", APP_JS.as_bytes()),
        ("assets/dom.js", DOM_JS.as_bytes()),
        ("assets/app.css", APP_CSS.as_bytes()),
        ("assets/lib/pdf.mjs", b"export {};".as_slice()),
        ("assets/logo.svg", b"<svg/>".as_slice()),
        ("assets/logo.png", b"\x89PNG".as_slice()),
        ("assets/photo.jpg", b"\xff\xd8".as_slice()),
        ("assets/spinner.gif", b"GIF89a".as_slice()),
        ("assets/i18n/de.json", b"{}".as_slice()),
        ("assets/fonts/inter.woff2", b"wOF2".as_slice()),
        ("favicon.ico", b"\0\0\x01\0".as_slice()),
        ("site.webmanifest", b"{}".as_slice()),
    ])
}

/// The first 12 hex digits of the SHA-256 of `content`.
fn version(content: &[u8]) -> String {
    let hex: String = Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex[..12].to_owned()
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

async fn send(app: &Router, method: Method, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::empty()).expect("valid test request");
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body is readable");
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(app: &Router, uri: &str) -> Answer {
    send(app, Method::GET, uri, &[]).await
}

fn app() -> Router {
    webapp::router(fixture())
}

// === routes ===

#[tokio::test]
async fn root_leads_to_the_home_screen() {
    for method in [Method::GET, Method::HEAD] {
        let answer = send(&app(), method.clone(), "/", &[]).await;
        assert_eq!(answer.status, StatusCode::FOUND, "{method}");
        assert_eq!(answer.header(header::LOCATION), Some("/webapp/home"));
    }
}

#[tokio::test]
async fn app_pages_and_client_routes_answer_the_index() {
    let app = app();
    let index = get(&app, "/webapp/home").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.text().starts_with("<!doctype html>"));
    for uri in [
        "/webapp",
        "/webapp/",
        "/webapp/home",
        "/webapp/home?conference=meet.open",
        "/webapp/?conference=meet.open&name=Alice&join=1&media=1",
        "/webapp/index.html",
        "/webapp/settings/audio",
        "/webapp/home/",
        "/webapp/conference/",
        "/webapp/conference/meet.open/extra",
        "/webapp/no-such-page.html",
        "/webapp/%FF",
    ] {
        let answer = get(&app, uri).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}");
        assert_eq!(
            answer.header(header::CONTENT_TYPE),
            Some("text/html; charset=utf-8"),
            "{uri}"
        );
        assert_eq!(
            answer.header(header::CACHE_CONTROL),
            Some("no-cache"),
            "{uri}"
        );
        assert_eq!(answer.body, index.body, "{uri}");
    }
}

#[tokio::test]
async fn conference_links_redirect_to_the_join_route() {
    let app = app();
    for (uri, location) in [
        (
            "/webapp/conference/meet.open",
            "/webapp/#/?conference=meet.open",
        ),
        (
            "/webapp/conference/meet.open?",
            "/webapp/#/?conference=meet.open",
        ),
        (
            "/webapp/conference/meet.open?name=Alice&pin=1234&role=guest",
            "/webapp/#/?conference=meet.open&name=Alice&pin=1234&role=guest",
        ),
        (
            "/webapp/conference/alice%40example.com?name=Ann%20Lee&bandwidth=576",
            "/webapp/#/?conference=alice%40example.com&name=Ann%20Lee&bandwidth=576",
        ),
        (
            "/webapp/conference/+4412345",
            "/webapp/#/?conference=%2B4412345",
        ),
        (
            "/webapp/conference/a&b=c%23d%2Fe",
            "/webapp/#/?conference=a%26b%3Dc%23d%2Fe",
        ),
        (
            "/webapp/conference/caf%C3%A9?name=Jos%C3%A9",
            "/webapp/#/?conference=caf%C3%A9&name=Jos%C3%A9",
        ),
        (
            "/webapp/conference/meet%20room",
            "/webapp/#/?conference=meet%20room",
        ),
    ] {
        for method in [Method::GET, Method::HEAD] {
            let answer = send(&app, method, uri, &[]).await;
            assert_eq!(answer.status, StatusCode::FOUND, "{uri}");
            assert_eq!(answer.header(header::LOCATION), Some(location), "{uri}");
        }
    }
}

#[tokio::test]
async fn a_conference_link_with_a_broken_alias_is_a_bad_request() {
    let answer = get(&app(), "/webapp/conference/%FF").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.json()["code"], "invalid_parameter");
}

#[tokio::test]
async fn files_are_served_with_their_content_type() {
    let app = app();
    for (uri, content_type, body) in [
        (
            "/webapp/assets/app.js",
            "text/javascript; charset=utf-8",
            APP_JS.as_bytes(),
        ),
        (
            "/webapp/assets/lib/pdf.mjs",
            "text/javascript; charset=utf-8",
            b"export {};",
        ),
        (
            "/webapp/assets/app.css",
            "text/css; charset=utf-8",
            APP_CSS.as_bytes(),
        ),
        ("/webapp/assets/logo.svg", "image/svg+xml", b"<svg/>"),
        ("/webapp/assets/logo.png", "image/png", b"\x89PNG"),
        ("/webapp/assets/photo.jpg", "image/jpeg", b"\xff\xd8"),
        ("/webapp/assets/spinner.gif", "image/gif", b"GIF89a"),
        ("/webapp/assets/i18n/de.json", "application/json", b"{}"),
        ("/webapp/assets/fonts/inter.woff2", "font/woff2", b"wOF2"),
        ("/webapp/favicon.ico", "image/x-icon", b"\0\0\x01\0"),
        (
            "/webapp/site.webmanifest",
            "application/manifest+json",
            b"{}",
        ),
    ] {
        let answer = get(&app, uri).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}");
        assert_eq!(
            answer.header(header::CONTENT_TYPE),
            Some(content_type),
            "{uri}"
        );
        assert_eq!(
            answer.header(header::X_CONTENT_TYPE_OPTIONS),
            Some("nosniff")
        );
        assert_eq!(&answer.body[..], body, "{uri}");
    }
}

#[tokio::test]
async fn head_answers_the_headers_without_the_body() {
    let answer = send(&app(), Method::HEAD, "/webapp/assets/app.js", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.header(header::CONTENT_TYPE),
        Some("text/javascript; charset=utf-8")
    );
    assert!(answer.header(header::ETAG).is_some());
    assert!(answer.body.is_empty());
}

#[tokio::test]
async fn missing_assets_are_404_not_the_app() {
    let app = app();
    for uri in [
        "/webapp/assets/missing.js",
        "/webapp/assets/lib/missing.mjs",
        "/webapp/assets/",
        "/webapp/assets",
        "/webapp/assets/../index.html",
        "/webapp/vendor/pdfjs/missing.mjs",
        "/webapp/vendor",
    ] {
        let answer = get(&app, uri).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.json()["code"], "not_found", "{uri}");
        assert_eq!(answer.header(header::CONTENT_SECURITY_POLICY), Some(CSP));
    }
}

#[tokio::test]
async fn other_paths_keep_the_json_404() {
    let app = app();
    for uri in [
        "/webappx",
        "/webapp2",
        "/webapp2/other/manifest.json",
        "/webapp2/custom_configuration",
        "/webapp2/custom_configuration/",
        "/favicon.ico",
    ] {
        let answer = get(&app, uri).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.json()["code"], "not_found", "{uri}");
    }
}

#[tokio::test]
async fn every_web_app_answer_carries_the_security_headers() {
    let branding = tempfile::tempdir().expect("temp dir");
    std::fs::write(branding.path().join("manifest.json"), "{}").expect("write");
    let app = webapp::router(fixture().with_branding_dir(branding.path()));
    for uri in [
        "/",
        "/webapp",
        "/webapp/home",
        "/webapp/settings",
        "/webapp/conference/meet.open?name=A",
        "/webapp/assets/app.js",
        "/webapp/assets/app.css?v=0",
        "/webapp/assets/missing.js",
        "/webapp2/custom_configuration/manifest.json",
        "/webapp2/custom_configuration/missing.json",
    ] {
        let answer = get(&app, uri).await;
        assert_eq!(
            answer.header(header::CONTENT_SECURITY_POLICY),
            Some(CSP),
            "{uri}"
        );
        assert_eq!(
            answer.header(header::X_CONTENT_TYPE_OPTIONS),
            Some("nosniff"),
            "{uri}"
        );
        assert_eq!(
            answer.header(header::REFERRER_POLICY),
            Some("no-referrer"),
            "{uri}"
        );
        assert_eq!(
            answer
                .headers
                .get("permissions-policy")
                .and_then(|v| v.to_str().ok()),
            Some(PERMISSIONS),
            "{uri}"
        );
    }
}

// === caching ===

#[tokio::test]
async fn the_index_names_its_assets_by_content_hash() {
    let answer = get(&app(), "/webapp/home").await;
    let html = answer.text();
    let css = format!(
        r#"href="/webapp/assets/app.css?v={}""#,
        version(APP_CSS.as_bytes())
    );
    let js = format!(
        r#"src="/webapp/assets/app.js?v={}""#,
        version(APP_JS.as_bytes())
    );
    assert!(html.contains(&css), "{html}");
    assert!(html.contains(&js), "{html}");
    // Missing assets and other links are left alone.
    assert!(
        html.contains(r#"href="/webapp/assets/missing.ico""#),
        "{html}"
    );
    assert!(html.contains(r#"href="/webapp/home""#), "{html}");
    assert_eq!(html.matches("?v=").count(), 2, "{html}");
    assert_eq!(
        answer.header(header::ETAG),
        Some(format!("\"{}\"", version(html.as_bytes())).as_str())
    );
}

#[tokio::test]
async fn versioned_assets_are_immutable_and_others_revalidate() {
    let app = app();
    let v = version(APP_JS.as_bytes());
    for (uri, cache_control) in [
        (format!("/webapp/assets/app.js?v={v}"), IMMUTABLE),
        (format!("/webapp/assets/app.js?lang=de&v={v}"), IMMUTABLE),
        ("/webapp/assets/app.js".to_owned(), "no-cache"),
        (
            "/webapp/assets/app.js?v=000000000000".to_owned(),
            "no-cache",
        ),
        (format!("/webapp/assets/app.js?v={v}0"), "no-cache"),
        (format!("/webapp/assets/dom.js?v={v}"), "no-cache"),
        (format!("/webapp/index.html?v={v}"), "no-cache"),
    ] {
        let answer = get(&app, &uri).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}");
        assert_eq!(
            answer.header(header::CACHE_CONTROL),
            Some(cache_control),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn modules_revalidate_with_their_etag() {
    let app = app();
    let etag = format!("\"{}\"", version(DOM_JS.as_bytes()));
    let first = get(&app, "/webapp/assets/dom.js").await;
    assert_eq!(first.header(header::ETAG), Some(etag.as_str()));
    assert_eq!(first.header(header::CACHE_CONTROL), Some("no-cache"));

    let weak = format!("W/{etag}");
    let listed = format!("\"other\", {etag}");
    for if_none_match in [etag.as_str(), weak.as_str(), listed.as_str(), "*"] {
        let again = send(
            &app,
            Method::GET,
            "/webapp/assets/dom.js",
            &[("if-none-match", if_none_match)],
        )
        .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{if_none_match}");
        assert!(again.body.is_empty());
        assert_eq!(again.header(header::ETAG), Some(etag.as_str()));
        assert_eq!(again.header(header::CACHE_CONTROL), Some("no-cache"));
    }

    let changed = send(
        &app,
        Method::GET,
        "/webapp/assets/dom.js",
        &[("if-none-match", "\"000000000000\"")],
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(changed.text(), DOM_JS);
}

#[tokio::test]
async fn the_index_revalidates_with_its_etag() {
    let app = app();
    let first = get(&app, "/webapp/home").await;
    let etag = first.header(header::ETAG).expect("etag").to_owned();
    for uri in ["/webapp/home", "/webapp/", "/webapp/some/route"] {
        let again = send(&app, Method::GET, uri, &[("if-none-match", etag.as_str())]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{uri}");
        assert!(again.body.is_empty(), "{uri}");
    }
}

// === the embedded app ===

#[tokio::test]
async fn the_embedded_app_serves_its_index_and_versioned_assets() {
    let app = webapp::router(WebApp::embedded());
    let index = get(&app, "/webapp/home").await;
    assert_eq!(
        index.status,
        StatusCode::OK,
        "webapp-static/index.html embedded"
    );
    assert_eq!(
        index.header(header::CONTENT_TYPE),
        Some("text/html; charset=utf-8")
    );
    let html = index.text();
    for (at, _) in html.match_indices("\"/webapp/assets/") {
        let url = &html[at + 1..];
        let url = &url[..url.find('"').expect("closing quote")];
        if !url.contains("?v=") {
            continue;
        }
        let asset = get(&app, url).await;
        assert_eq!(asset.status, StatusCode::OK, "{url}");
        assert_eq!(
            asset.header(header::CACHE_CONTROL),
            Some(IMMUTABLE),
            "{url}"
        );
        let v = url.rsplit_once("?v=").expect("version").1;
        assert_eq!(version(&asset.body), v, "{url}");
    }
}

// === branding ===

/// A config directory with a secret beside `branding/`, which holds a package.
fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("plenum.toml"), "SECRET").expect("write");
    let branding = dir.path().join("branding");
    std::fs::create_dir_all(branding.join("themes")).expect("mkdir");
    std::fs::write(branding.join("manifest.json"), r#"{"brandingID":"b1"}"#).expect("write");
    std::fs::write(branding.join("settings.json"), "{}").expect("write");
    std::fs::write(branding.join("themes/styles.css"), ":root{}").expect("write");
    std::fs::write(branding.join("watermark_icon.png"), b"\x89PNG").expect("write");
    dir
}

fn branded(dir: &Path) -> Router {
    webapp::router(fixture().with_branding_dir(dir.join("branding")))
}

#[tokio::test]
async fn branding_files_are_served_from_the_folder() {
    let dir = config_dir();
    let app = branded(dir.path());
    for (uri, content_type, body) in [
        (
            "manifest.json",
            "application/json",
            br#"{"brandingID":"b1"}"#.as_slice(),
        ),
        ("settings.json", "application/json", b"{}"),
        ("themes/styles.css", "text/css; charset=utf-8", b":root{}"),
        ("watermark_icon.png", "image/png", b"\x89PNG"),
    ] {
        let uri = format!("/webapp2/custom_configuration/{uri}");
        let answer = get(&app, &uri).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}");
        assert_eq!(
            answer.header(header::CONTENT_TYPE),
            Some(content_type),
            "{uri}"
        );
        assert_eq!(
            answer.header(header::CACHE_CONTROL),
            Some("no-cache"),
            "{uri}"
        );
        assert_eq!(&answer.body[..], body, "{uri}");
        let etag = format!("\"{}\"", version(body));
        assert_eq!(answer.header(header::ETAG), Some(etag.as_str()), "{uri}");
        let again = send(&app, Method::GET, &uri, &[("if-none-match", etag.as_str())]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{uri}");
    }
}

#[tokio::test]
async fn branding_changes_are_seen_without_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = branded(dir.path());
    let uri = "/webapp2/custom_configuration/manifest.json";
    assert_eq!(get(&app, uri).await.status, StatusCode::NOT_FOUND);

    std::fs::create_dir(dir.path().join("branding")).expect("mkdir");
    std::fs::write(dir.path().join("branding/manifest.json"), "{}").expect("write");
    assert_eq!(get(&app, uri).await.text(), "{}");

    std::fs::remove_dir_all(dir.path().join("branding")).expect("remove");
    assert_eq!(get(&app, uri).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn missing_branding_is_404() {
    let dir = config_dir();
    for (app, uri) in [
        (branded(dir.path()), "missing.json"),
        (branded(dir.path()), "themes"),
        (branded(dir.path()), "themes/"),
        (branded(dir.path()), "manifest.json/x"),
        (app(), "manifest.json"),
    ] {
        let uri = format!("/webapp2/custom_configuration/{uri}");
        let answer = get(&app, &uri).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.json()["code"], "not_found", "{uri}");
    }
}

#[tokio::test]
async fn branding_paths_cannot_leave_the_folder() {
    let dir = config_dir();
    let app = branded(dir.path());
    for rest in [
        "../plenum.toml",
        "themes/../../plenum.toml",
        "%2e%2e/plenum.toml",
        "%2E%2E/plenum.toml",
        ".%2e/plenum.toml",
        "%2e%2e%2fplenum.toml",
        "themes%2F..%2F..%2Fplenum.toml",
        "..%5Cplenum.toml",
        "themes%5C..%5C..%5Cplenum.toml",
        "%2F..%2Fplenum.toml",
        "/../plenum.toml",
        "%2Fetc%2Fpasswd",
        "/etc/passwd",
        "themes/./styles.css",
        "themes%2Fstyles.css",
        "manifest.json%00",
        "..",
    ] {
        let uri = format!("/webapp2/custom_configuration/{rest}");
        let answer = get(&app, &uri).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(!answer.text().contains("SECRET"), "{uri}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn branding_symlinks_out_of_the_folder_are_refused() {
    let dir = config_dir();
    let branding = dir.path().join("branding");
    std::os::unix::fs::symlink(dir.path().join("plenum.toml"), branding.join("leak.txt"))
        .expect("symlink");
    std::os::unix::fs::symlink(dir.path(), branding.join("up")).expect("symlink");
    std::os::unix::fs::symlink(branding.join("manifest.json"), branding.join("alias.json"))
        .expect("symlink");
    let app = branded(dir.path());
    for rest in ["leak.txt", "up/plenum.toml"] {
        let uri = format!("/webapp2/custom_configuration/{rest}");
        let answer = get(&app, &uri).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(!answer.text().contains("SECRET"), "{uri}");
    }
    let inside = get(&app, "/webapp2/custom_configuration/alias.json").await;
    assert_eq!(inside.status, StatusCode::OK);
    assert_eq!(inside.text(), r#"{"brandingID":"b1"}"#);
}
