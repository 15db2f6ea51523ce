//! Unknown endpoints, wrong methods, and CORS.

use axum::http::{Method, StatusCode};
use plenum_core::ServiceKind;

use super::support::{Api, Fake, HOST_TOKEN};

#[tokio::test]
async fn unknown_endpoints_under_the_api_are_json_404() {
    let api = Api::new();
    for uri in [
        "/api/client/v2/conferences/meet.team/nonsense",
        "/api/client/v2/conferences/meet.team/participants/x/y/z",
        "/api/client/v2/whatever",
        "/api/client/v2/conferences/meet.team/theme/logo.png",
    ] {
        api.send(Api::request(
            Method::GET,
            uri,
            &[("token", HOST_TOKEN)],
            None,
        ))
        .await
        .assert_failed(StatusCode::NOT_FOUND, "404 Not Found");
    }
}

#[tokio::test]
async fn wrong_methods_are_json_405() {
    let api = Api::new();
    let reply = api
        .send(Api::request(
            Method::GET,
            &Api::path("lock"),
            &[("token", HOST_TOKEN)],
            None,
        ))
        .await;
    reply.assert_failed(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
}

#[tokio::test]
async fn without_cors_origins_no_cors_headers_are_sent() {
    let api = Api::new();
    let reply = api
        .send(Api::request(
            Method::GET,
            &Api::path("conference_status"),
            &[("token", HOST_TOKEN), ("origin", "https://app.example.com")],
            None,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn cors_preflights_from_allowed_origins_allow_the_token_and_pin_headers() {
    let api = Api::with(
        Fake::new(ServiceKind::Vmr),
        vec!["https://app.example.com".to_owned()],
    );
    let preflight = Api::request(
        Method::OPTIONS,
        &Api::path("request_token"),
        &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "pin,content-type"),
        ],
        None,
    );
    let reply = api.send(preflight).await;
    assert!(reply.status.is_success(), "{:?}", reply.status);
    assert_eq!(
        reply
            .headers
            .get("access-control-allow-origin")
            .map(|v| v.to_str().ok()),
        Some(Some("https://app.example.com"))
    );
    let allowed = reply
        .headers
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    for name in ["token", "pin", "content-type"] {
        assert!(allowed.contains(name), "{allowed}");
    }

    let foreign = Api::request(
        Method::GET,
        &Api::path("conference_status"),
        &[("token", HOST_TOKEN), ("origin", "https://evil.example")],
        None,
    );
    let reply = api.send(foreign).await;
    assert!(reply.headers.get("access-control-allow-origin").is_none());
}
