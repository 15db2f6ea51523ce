//! The links of Pexip's older web apps and of the node's root, driven through
//! `router(web).oneshot(request)` over a two-file fixture app. (The rest of the web app's
//! routes are tested in `tests/webapp.rs`.)

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt as _;

use super::{WebApp, router};

const INDEX: &str = "<!doctype html><title>app</title>\
    <script type=\"module\" src=\"/webapp/assets/app.js\"></script>";

fn app() -> Router {
    router(WebApp::from_files([
        ("index.html", INDEX.as_bytes()),
        ("assets/app.js", b"export {};".as_slice()),
    ]))
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

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

async fn send(app: &Router, method: Method, uri: &str) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .expect("valid test request");
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

/// `uri` answers 302 to `location`, for GET and HEAD.
async fn check_redirect(app: &Router, uri: &str, location: &str) {
    for method in [Method::GET, Method::HEAD] {
        let answer = send(app, method.clone(), uri).await;
        assert_eq!(answer.status, StatusCode::FOUND, "{method} {uri}");
        assert_eq!(
            answer.header(header::LOCATION),
            Some(location),
            "{method} {uri}"
        );
    }
}

#[tokio::test]
async fn root_links_keep_their_query_on_the_way_into_the_app() {
    let app = app();
    for (uri, location) in [
        ("/", "/webapp/home"),
        ("/?", "/webapp/home"),
        (
            "/?conference=meet.open&name=Ann",
            "/webapp/?conference=meet.open&name=Ann",
        ),
        (
            "/?conference=meet.open&name=Ann%20Lee&pin=1234&join=1",
            "/webapp/?conference=meet.open&name=Ann%20Lee&pin=1234&join=1",
        ),
        (
            "/?conference=alice%40example.com&bw=256&audioonly=1",
            "/webapp/?conference=alice%40example.com&bw=256&audioonly=1",
        ),
        (
            "/?conference=caf%C3%A9&name=Jos%C3%A9",
            "/webapp/?conference=caf%C3%A9&name=Jos%C3%A9",
        ),
    ] {
        check_redirect(&app, uri, location).await;
    }
}

#[tokio::test]
async fn older_web_app_entry_pages_answer_the_app() {
    let app = app();
    for uri in [
        "/webapp1/",
        "/webapp1/?conference=meet.open&name=Ann",
        "/webapp2/",
        "/webapp2/?conference=meet.open",
        "/webapp2/?conference=meet.open&name=Ann&pin=1234&join=1",
    ] {
        for method in [Method::GET, Method::HEAD] {
            let answer = send(&app, method.clone(), uri).await;
            assert_eq!(answer.status, StatusCode::OK, "{method} {uri}");
            assert_eq!(
                answer.header(header::CONTENT_TYPE),
                Some("text/html; charset=utf-8"),
                "{uri}"
            );
            assert_eq!(answer.header(header::CACHE_CONTROL), Some("no-cache"));
            assert!(
                answer
                    .header(header::CONTENT_SECURITY_POLICY)
                    .is_some_and(|csp| csp.contains("script-src 'self'")),
                "{uri}"
            );
            if method == Method::GET {
                assert!(answer.body.starts_with(b"<!doctype html>"), "{uri}");
            }
        }
    }
}

#[tokio::test]
async fn older_web_app_conference_links_redirect_to_the_join_route() {
    let app = app();
    for (uri, location) in [
        (
            "/webapp2/conference/meet.open",
            "/webapp/#/?conference=meet.open",
        ),
        (
            "/webapp2/conference/meet.open?name=Ann&pin=1234&role=guest",
            "/webapp/#/?conference=meet.open&name=Ann&pin=1234&role=guest",
        ),
        (
            "/webapp1/conference/alice%40example.com?name=Ann%20Lee",
            "/webapp/#/?conference=alice%40example.com&name=Ann%20Lee",
        ),
        (
            "/webapp2/conference/a&b=c%23d%2Fe",
            "/webapp/#/?conference=a%26b%3Dc%23d%2Fe",
        ),
    ] {
        check_redirect(&app, uri, location).await;
    }
    let broken = send(&app, Method::GET, "/webapp2/conference/%FF").await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    assert_eq!(broken.json()["code"], "invalid_parameter");
}

#[tokio::test]
async fn the_branding_package_stays_beside_the_older_web_app_links() {
    let branding = tempfile::tempdir().expect("temp dir");
    std::fs::write(branding.path().join("manifest.json"), "{\"brand\":1}").expect("write");
    let app = router(
        WebApp::from_files([("index.html", INDEX.as_bytes())]).with_branding_dir(branding.path()),
    );
    let manifest = send(
        &app,
        Method::GET,
        "/webapp2/custom_configuration/manifest.json",
    )
    .await;
    assert_eq!(manifest.status, StatusCode::OK);
    assert_eq!(manifest.body, Bytes::from_static(b"{\"brand\":1}"));
    for uri in [
        "/webapp2/custom_configuration/missing.json",
        "/webapp2/custom_configuration/",
        "/webapp2/custom_configuration",
        "/webapp1",
        "/webapp2",
        "/webapp1/home",
        "/webapp2/other/manifest.json",
        "/webapp2/conference/",
        "/webapp3/",
    ] {
        let answer = send(&app, Method::GET, uri).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.json()["code"], "not_found", "{uri}");
    }
}
