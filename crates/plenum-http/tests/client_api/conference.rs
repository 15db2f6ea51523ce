//! The conference group: status, roster, Host controls and their refusals for Guests,
//! chat, layouts, theme and dial.

use std::path::Path;

use axum::http::{Method, StatusCode, header};
use plenum_core::{Command, Layout, MessageKind};
use plenum_http::client::theme::Theme;
use serde_json::json;

use super::support::{Api, GUEST, GUEST_TOKEN, HOST, HOST_TOKEN};

#[tokio::test]
async fn conference_status_has_the_flags_with_bool_types() {
    let api = Api::new();
    api.get("conference_status", GUEST_TOKEN)
        .await
        .assert_success(json!({
            "locked": false,
            "guests_muted": false,
            "started": true,
            "guests_can_unmute": true,
            "guests_can_present": true,
            "presentation_allowed": true,
            "direct_media": false,
            "breakout_rooms": false,
            "live_captions_available": false,
        }));
}

#[tokio::test]
async fn participants_lists_everyone_with_complete_objects() {
    let api = Api::new();
    let reply = api.get("participants", GUEST_TOKEN).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["status"], "success");
    let list = body["result"].as_array().expect("an array");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["uuid"], HOST.to_string());
    assert_eq!(list[0]["display_name"], "Hosta");
    assert_eq!(list[0]["role"], "chair");
    assert_eq!(list[1]["uuid"], GUEST.to_string());
    assert_eq!(list[1]["role"], "guest");
    for p in list {
        for key in [
            "is_muted",
            "is_presenting",
            "is_audio_only_call",
            "is_video_call",
            "disconnect_supported",
            "mute_supported",
            "transfer_supported",
            "fecc_supported",
        ] {
            assert!(matches!(p[key].as_str(), Some("YES" | "NO")), "{key}");
        }
        for key in ["spotlight", "buzz_time", "start_time"] {
            assert!(p[key].is_number(), "{key}");
        }
        assert_eq!(p["start_time"], json!(1_700_000_000.0));
        assert_eq!(
            p["receive_from_video_mix"],
            json!({"mix_name": "main", "timestamp": 0})
        );
        assert_eq!(p["local_alias"], "meet.team");
    }
}

#[tokio::test]
async fn host_controls_answer_true_and_reach_the_conference() {
    let api = Api::new();
    let actions = [
        ("lock", Command::Lock),
        ("unlock", Command::Unlock),
        ("start_conference", Command::StartConference),
        ("muteguests", Command::MuteGuests),
        ("unmuteguests", Command::UnmuteGuests),
        ("clearallbuzz", Command::LowerAllHands),
    ];
    for (path, _) in &actions {
        api.post(path, HOST_TOKEN, None)
            .await
            .assert_success(json!(true));
    }
    let expected: Vec<_> = actions.into_iter().map(|(_, c)| (HOST, c)).collect();
    assert_eq!(api.fake.commands(), expected);
}

#[tokio::test]
async fn guests_calling_host_actions_get_403_with_the_refusal() {
    let api = Api::new();
    for path in [
        "lock",
        "unlock",
        "muteguests",
        "disconnect",
        "clearallbuzz",
        "start_conference",
    ] {
        api.post(path, GUEST_TOKEN, None)
            .await
            .assert_failed(StatusCode::FORBIDDEN, "only a Host can do this");
    }
    assert!(!api.fake.snapshot_now().status.locked);
}

#[tokio::test]
async fn disconnect_all_ends_the_conference() {
    let api = Api::new();
    api.post("disconnect", HOST_TOKEN, None)
        .await
        .assert_success(json!(true));
    assert!(api.fake.snapshot_now().participants.is_empty());
}

#[tokio::test]
async fn set_guests_can_unmute_takes_a_bool_setting() {
    let api = Api::new();
    api.post(
        "set_guests_can_unmute",
        HOST_TOKEN,
        Some(r#"{"setting": false}"#),
    )
    .await
    .assert_success(json!(true));
    assert!(!api.fake.snapshot_now().status.guests_can_unmute);

    for bad in [r#"{"setting": "no"}"#, "{}", "nope"] {
        let reply = api
            .post("set_guests_can_unmute", HOST_TOKEN, Some(bad))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(reply.json()["status"], "failed");
    }
}

#[tokio::test]
async fn chat_to_everyone_accepts_text_and_json_with_parameters() {
    let api = Api::new();
    api.post(
        "message",
        GUEST_TOKEN,
        Some(r#"{"type":"text/plain; charset=utf-8","payload":"hi"}"#),
    )
    .await
    .assert_success(json!(true));
    api.post(
        "message",
        GUEST_TOKEN,
        Some(r#"{"type":"application/json","payload":"{\"x\":1}"}"#),
    )
    .await
    .assert_success(json!(true));
    assert_eq!(
        api.fake.commands(),
        [
            (
                GUEST,
                Command::SendMessage {
                    to: None,
                    kind: MessageKind::Text,
                    payload: "hi".to_owned(),
                }
            ),
            (
                GUEST,
                Command::SendMessage {
                    to: None,
                    kind: MessageKind::Json,
                    payload: r#"{"x":1}"#.to_owned(),
                }
            ),
        ]
    );
    let reply = api
        .post(
            "message",
            GUEST_TOKEN,
            Some(r#"{"type":"image/png","payload":"x"}"#),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    // An empty payload is the core's refusal.
    api.post(
        "message",
        GUEST_TOKEN,
        Some(r#"{"type":"text/plain","payload":""}"#),
    )
    .await
    .assert_failed(
        StatusCode::FORBIDDEN,
        "message is empty or longer than 16384 bytes",
    );
}

#[tokio::test]
async fn transform_layout_maps_names_resets_and_rejects_unknown_layouts() {
    let api = Api::new();
    api.post(
        "transform_layout",
        HOST_TOKEN,
        Some(r#"{"transforms":{"layout":"1:7","enable_overlay_text":true,"streaming_indicator":true}}"#),
    )
    .await
    .assert_success(json!(true));
    api.post("transform_layout", HOST_TOKEN, Some(r#"{"transforms":{}}"#))
        .await
        .assert_success(json!(true));
    api.post(
        "transform_layout",
        HOST_TOKEN,
        Some(r#"{"transforms":{"layout":"9:9"}}"#),
    )
    .await
    .assert_success(json!(false));
    assert_eq!(
        api.fake.commands(),
        [
            (
                HOST,
                Command::TransformLayout {
                    layout: Some(Layout::OnePlusSeven),
                    host_layout: None,
                    guest_layout: None,
                    overlay_text: Some(true),
                    reset: false,
                }
            ),
            (
                HOST,
                Command::TransformLayout {
                    layout: None,
                    host_layout: None,
                    guest_layout: None,
                    overlay_text: None,
                    reset: true,
                }
            ),
        ]
    );
    api.post(
        "transform_layout",
        GUEST_TOKEN,
        Some(r#"{"transforms":{"layout":"1:0"}}"#),
    )
    .await
    .assert_failed(StatusCode::FORBIDDEN, "only a Host can do this");
    let reply = api
        .post("transform_layout", HOST_TOKEN, Some(r#"{"layout":"1:0"}"#))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn available_layouts_lists_names_or_annotated_entries() {
    let api = Api::new();
    api.get("available_layouts", GUEST_TOKEN)
        .await
        .assert_success(json!(["ac", "1:0", "1:7", "1:21", "2:21", "4:0"]));
    let reply = api
        .get("available_layouts?annotate=true", GUEST_TOKEN)
        .await;
    let result = &reply.json()["result"];
    assert_eq!(result[0]["name"], "ac");
    assert!(result[0]["tags"].is_array());
    assert_eq!(result.as_array().map(Vec::len), Some(6));
}

#[tokio::test]
async fn layout_svgs_draws_every_layout() {
    let api = Api::new();
    let reply = api.get("layout_svgs", GUEST_TOKEN).await;
    let result = reply.json()["result"].clone();
    for name in ["ac", "1:0", "1:7", "1:21", "2:21", "4:0"] {
        let svg = result[name].as_str().expect("svg text");
        assert!(svg.starts_with("<svg"), "{name}");
        assert!(svg.contains("<rect"), "{name}");
    }
}

#[tokio::test]
async fn theme_is_204_with_an_empty_body() {
    let api = Api::new();
    let reply = api.get("theme/", GUEST_TOKEN).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(reply.body.is_empty());
    let reply = api
        .send(Api::request(
            Method::GET,
            &Api::path(&format!("theme/?token={GUEST_TOKEN}")),
            &[],
            None,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
}

/// An API whose room has the shipped example theme, copied into a temp folder that also
/// holds a file beside the theme folder (which must never be served).
fn themed_api() -> (Api, tempfile::TempDir) {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("theme");
    std::fs::create_dir(&dir).expect("mkdir");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/themes/example");
    for file in ["theme.json", "background.png"] {
        std::fs::copy(example.join(file), dir.join(file)).expect("copy");
    }
    std::fs::write(root.path().join("secret.png"), "not for clients").expect("write");
    let text = std::fs::read_to_string(dir.join("theme.json")).expect("read");
    let api = Api::new();
    api.fake
        .set_theme(Theme::parse(dir, &text).expect("the example theme is valid"));
    (api, root)
}

#[tokio::test]
async fn a_themed_room_answers_its_five_screens() {
    let (api, root) = themed_api();
    let reply = api.get("theme/", GUEST_TOKEN).await;
    let file = std::fs::read(root.path().join("theme/theme.json")).expect("read");
    reply.assert_success(serde_json::from_slice(&file).expect("json"));
    let result = reply.json()["result"].clone();
    assert_eq!(result.as_object().expect("object").len(), 5);
    let screen = &result["direct_media_waiting_for_host"];
    assert_eq!(screen["layout_type"], "direct_media");
    assert_eq!(screen["background"]["path"], "background.png");
    assert!(screen["elements"][0]["color"].is_u64());
}

#[tokio::test]
async fn theme_images_are_served_with_the_token_in_the_query() {
    let (api, root) = themed_api();
    let get = |uri: String| Api::request(Method::GET, &uri, &[], None);
    let reply = api
        .send(get(Api::path(&format!(
            "theme/background.png?token={GUEST_TOKEN}"
        ))))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(reply.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let png = std::fs::read(root.path().join("theme/background.png")).expect("read");
    assert_eq!(reply.body.as_ref(), png.as_slice());

    for uri in [
        Api::path("theme/background.png"),
        Api::path("theme/background.png?token=not-a-token"),
    ] {
        api.send(get(uri))
            .await
            .assert_failed(StatusCode::FORBIDDEN, "Invalid token");
    }
}

#[tokio::test]
async fn theme_paths_never_leave_the_theme_folder() {
    let (api, _root) = themed_api();
    for path in [
        "theme/../secret.png",
        "theme/..%2Fsecret.png",
        "theme/%2e%2e/secret.png",
        "theme/%2E%2E%2Fsecret.png",
        "theme/.%2e/secret.png",
        "theme/theme.json",
        "theme/missing.png",
        "theme//etc/passwd.png",
        "theme/background.png%00.png",
    ] {
        let uri = Api::path(&format!("{path}?token={GUEST_TOKEN}"));
        api.send(Api::request(Method::GET, &uri, &[], None))
            .await
            .assert_failed(StatusCode::NOT_FOUND, "404 Not Found");
    }
}

#[tokio::test]
async fn dial_out_without_a_device_or_over_a_gateway_protocol_is_refused_honestly() {
    // The Host check and the ringing of registered devices are the node's
    // (crates/plenum-node/tests/calls.rs); this backend rings nobody.
    let api = Api::new();
    let body = r#"{"role":"GUEST","destination":"x@example.com","protocol":"auto"}"#;
    api.post("dial", HOST_TOKEN, Some(body))
        .await
        .assert_failed(StatusCode::FORBIDDEN, "Gateway dial out failed");
    let sip = r#"{"role":"HOST","destination":"sip:x@example.com","protocol":"sip"}"#;
    api.post("dial", HOST_TOKEN, Some(sip))
        .await
        .assert_failed(StatusCode::FORBIDDEN, "Gateway dial out failed");
    api.post(
        "dial",
        HOST_TOKEN,
        Some(r#"{"role":"chair","destination":"x"}"#),
    )
    .await
    .assert_failed(StatusCode::BAD_REQUEST, "role must be HOST or GUEST");
}
