//! Fuzz target `client_api`: the client API's JSON bodies, mutated from what the SDK
//! sends (or any text), posted through the whole router to a real node (the shipped
//! config, SQLite in memory) as a joined Host: every answer is a 4xx or 2xx — never a
//! 5xx, never a panic — and in the client API's JSON envelope, except the `calls`
//! statuses the SDK reads as text. Each request comes from its own address, so the
//! per-address rate limit of `request_token` never stands in for the endpoint.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use plenum_http::AppState;
use plenum_node::admin::NodeAdmin;
use plenum_node::client::NodeClient;
use plenum_node::config;
use plenum_node::node::Node;
use proptest::prelude::*;
use tower::ServiceExt as _;

/// An endpoint and the bodies the SDK sends it.
struct Target {
    path: String,
    seeds: Vec<String>,
    /// Its 400 is text, as the SDK reads it.
    text_400: bool,
    /// Sent with the Host's token (request_token is not: a `token` there is a ticket).
    with_token: bool,
}

/// Requests so far: each comes from its own address, so request_token's rate limit per
/// address never answers in the place of the endpoint.
static SENT: AtomicU32 = AtomicU32::new(0);

async fn send(
    router: &Router,
    path: &str,
    token: &str,
    body: String,
) -> (StatusCode, String, String) {
    let n = SENT.fetch_add(1, Ordering::Relaxed);
    let [_, b, c, d] = n.to_be_bytes();
    let from = SocketAddr::from(([10, b, c, d], 40000));
    let mut request = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if !token.is_empty() {
        request = request.header("token", token);
    }
    let mut request = request.body(Body::from(body)).expect("request");
    request.extensions_mut().insert(ConnectInfo(from));
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        content_type,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

#[test]
fn fuzz_client_api_bodies() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let config_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let (router, token, me) = rt.block_on(async {
        let config = config::load_dir(&config_dir).expect("the shipped config loads");
        let store = plenum_store::Store::open("sqlite::memory:")
            .await
            .expect("store");
        let node: Arc<Node> = Node::new(config, store).expect("node");
        let router = plenum_http::router(AppState::new(
            Arc::new(NodeAdmin(node.clone())),
            Arc::new(NodeClient(node)),
        ));
        let (status, _, body) = send(
            &router,
            "/api/client/v2/conferences/meet.open/request_token",
            "",
            r#"{"display_name":"Fuzzer"}"#.to_owned(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let result: serde_json::Value = serde_json::from_str(&body).expect("json");
        let token = result["result"]["token"]
            .as_str()
            .expect("token")
            .to_owned();
        let me = result["result"]["participant_uuid"]
            .as_str()
            .expect("uuid")
            .to_owned();
        (router, token, me)
    });

    let conf = "/api/client/v2/conferences/meet.open";
    let part = format!("{conf}/participants/{me}");
    let call = format!("{part}/calls/00000000-0000-4000-8000-000000000000");
    let target = |path: String, seeds: &[&str]| Target {
        path,
        seeds: seeds.iter().map(|s| (*s).to_owned()).collect(),
        text_400: false,
        with_token: true,
    };
    let targets = vec![
        Target {
            with_token: false,
            ..target(
                format!("{conf}/request_token"),
                &[
                    r#"{"display_name":"Fuzz","conference_extension":"none","chosen_idp":"none","sso_token":"none","call_tag":"tag","direct_media":false,"node":"localhost"}"#,
                ],
            )
        },
        Target {
            with_token: false,
            ..target(
                "/api/client/v2/registrations/alice@example.com/request_token".to_owned(),
                &[
                    r#"{"chosen_idp":"00000000-0000-5000-8000-000000000000","sso_redirect_target":"https://localhost/webapp/home?sso_token=__pexip-sso-token__"}"#,
                ],
            )
        },
        Target {
            text_400: true,
            ..target(
                format!("{part}/calls"),
                &[
                    r#"{"call_type":"WEBRTC","sdp":"v=0\r\n","media_type":"video","fecc_supported":false,"present":"receive"}"#,
                ],
            )
        },
        target(
            format!("{call}/new_candidate"),
            &[
                r#"{"candidate":"candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host","mid":"0","ufrag":"abcd","pwd":"efgh"}"#,
            ],
        ),
        target(
            format!("{call}/update"),
            &[r#"{"sdp":"v=0\r\n","fecc_supported":false}"#],
        ),
        target(format!("{call}/dtmf"), &[r#"{"digits":"1234#"}"#]),
        target(
            format!("{conf}/message"),
            &[
                r#"{"type":"text/plain","payload":"hello"}"#,
                r#"{"type":"application/json","payload":"{\"a\":1}"}"#,
            ],
        ),
        target(
            format!("{part}/message"),
            &[r#"{"type":"text/plain","payload":"psst"}"#],
        ),
        target(format!("{part}/dtmf"), &[r#"{"digits":"5"}"#]),
        target(format!("{part}/overlaytext"), &[r#"{"text":"Fuzzer"}"#]),
        target(
            format!("{part}/preferred_aspect_ratio"),
            &[r#"{"aspect_ratio":1.777}"#],
        ),
        target(
            format!("{part}/dial"),
            &[r#"{"role":"GUEST","destination":"alice@example.com","protocol":"auto"}"#],
        ),
        target(
            format!("{conf}/dial"),
            &[
                r#"{"role":"HOST","destination":"alice@example.com","protocol":"sip","source_display_name":"x"}"#,
            ],
        ),
        target(
            format!("{conf}/transform_layout"),
            &[
                r#"{"transforms":{"layout":"1:7","enable_overlay_text":true,"free_form_overlay_text":["a"]}}"#,
            ],
        ),
        target(
            format!("{conf}/set_guests_can_unmute"),
            &[r#"{"setting":true}"#],
        ),
        target(format!("{part}/role"), &[r#"{"role":"chair"}"#]),
    ];
    let seeds: Vec<(usize, Vec<u8>)> = targets
        .iter()
        .enumerate()
        .flat_map(|(i, t)| t.seeds.iter().map(move |s| (i, s.clone().into_bytes())))
        .collect();
    let strategy = (0..seeds.len()).prop_flat_map(move |pick| {
        let (index, seed) = seeds[pick].clone();
        prop_oneof![
            8 => plenum_fuzz::mutated_bytes(vec![seed]),
            1 => prop::collection::vec(any::<u8>(), 0..256),
        ]
        .prop_map(move |body| (index, String::from_utf8_lossy(&body).into_owned()))
    });
    plenum_fuzz::fuzz("client_api", strategy, |(index, body)| {
        let t = &targets[index];
        let token = if t.with_token { token.as_str() } else { "" };
        let (status, content_type, text) = rt.block_on(send(&router, &t.path, token, body));
        prop_assert!(
            !status.is_server_error(),
            "{} answered {status}: {text}",
            t.path
        );
        if t.text_400 && status == StatusCode::BAD_REQUEST {
            prop_assert!(content_type.starts_with("text/plain"), "{content_type}");
            prop_assert!(!text.is_empty());
        } else {
            prop_assert!(
                content_type.starts_with("application/json"),
                "{} {status}: {content_type}",
                t.path
            );
            let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                TestCaseError::fail(format!("{} {status}: not JSON ({e}): {text}", t.path))
            })?;
            prop_assert!(
                json.get("status").is_some(),
                "{} {status}: no envelope: {text}",
                t.path
            );
        }
        Ok(())
    });
}
