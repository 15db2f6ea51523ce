//! `request_token`, `refresh_token`, `release_token`: results, prompts, refusals,
//! token carriage, the rate limit.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use plenum_core::{DisconnectReason, PinInput, Secret, ServiceKind};
use plenum_http::client::backend::{IceServers, TokenRefusal, TurnServer};
use serde_json::json;

use super::support::{ALIAS, Api, Call, Fake, GUEST_TOKEN, HOST_TOKEN};

#[tokio::test]
async fn request_token_grants_a_session_with_every_required_field() {
    let api = Api::new();
    let reply = api
        .request_token(
            r#"{"display_name":"Alice","node":"plenum.example","direct_media":true,
                "supports_direct_chat":false,"chosen_idp":"none","sso_token":"none",
                "call_tag":"tag-1","unknown_key":[1,2]}"#,
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["status"], "success");
    let r = &body["result"];
    assert_eq!(r["token"], "token-2");
    assert_eq!(r["expires"], "120");
    assert_eq!(
        r["participant_uuid"],
        "00000000-0000-0000-0000-000000001002"
    );
    assert_eq!(r["display_name"], "Alice");
    assert_eq!(r["role"], "HOST");
    assert!(r["version"]["version_id"].is_string());
    assert!(r["version"]["pseudo_version"].is_string());
    assert_eq!(r["current_service_type"], "conference");
    assert_eq!(r["service_type"], "conference");
    assert_eq!(r["call_type"], "video");
    assert_eq!(r["chat_enabled"], true);
    assert_eq!(r["direct_media"], false);
    assert_eq!(r["guests_can_present"], true);
    assert_eq!(r["conference_name"], "Team room");
    assert_eq!(r["service_name"], "Team room");
    assert_eq!(r["call_tag"], "tag-1");
    for off in [
        "allow_1080p",
        "vp9_enabled",
        "breakout_rooms",
        "analytics_enabled",
        "fecc_enabled",
        "rtmp_enabled",
        "rtsp_enabled",
        "route_via_registrar",
        "use_relay_candidates_only",
    ] {
        assert_eq!(r[off], false, "{off}");
    }
    assert_eq!(r["trickle_ice_enabled"], true);
    assert_eq!(r["bandwidth_in"], 1264);
    assert_eq!(r["bandwidth_out"], 1264);
    // Empty ICE server lists break browsers: none are sent at all.
    assert!(r.get("stun").is_none() && r.get("turn").is_none());

    let requests = api.fake.token_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].alias, ALIAS);
    assert_eq!(requests[0].pin, PinInput::Absent);
    assert_eq!(requests[0].call_tag.as_deref(), Some("tag-1"));
    assert!(requests[0].join_ticket.is_none());
    assert_eq!(requests[0].client_addr.to_string(), "192.0.2.7");
}

#[tokio::test]
async fn request_token_offers_the_configured_ice_servers() {
    let api = Api::new();
    api.fake.offer_ice_servers(IceServers {
        stun: vec![
            "stun:stun.example.com:3478".to_owned(),
            "stun:[2001:db8::3]".to_owned(),
        ],
        turn: vec![
            TurnServer {
                urls: vec![
                    "turn:turn.example.com:3478?transport=udp".to_owned(),
                    "turns:turn.example.com:443?transport=tcp".to_owned(),
                ],
                username: "plenum".to_owned(),
                credential: Secret::new("s3cret"),
            },
            TurnServer {
                urls: vec!["turn:198.51.100.9".to_owned()],
                username: "other".to_owned(),
                credential: Secret::new("pass"),
            },
        ],
    });
    let reply = api.request_token(r#"{"display_name":"A"}"#, &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    let r = &reply.json()["result"];
    assert_eq!(
        r["stun"],
        json!([{"url": "stun:stun.example.com:3478"}, {"url": "stun:[2001:db8::3]"}])
    );
    assert_eq!(
        r["turn"],
        json!([
            {
                "urls": [
                    "turn:turn.example.com:3478?transport=udp",
                    "turns:turn.example.com:443?transport=tcp"
                ],
                "username": "plenum",
                "credential": "s3cret"
            },
            {"urls": ["turn:198.51.100.9"], "username": "other", "credential": "pass"}
        ])
    );
}

#[tokio::test]
async fn request_token_leaves_out_whichever_ice_list_is_empty() {
    let api = Api::new();
    api.fake.offer_ice_servers(IceServers {
        stun: vec!["stuns:stun.example.com".to_owned()],
        turn: Vec::new(),
    });
    let r = &api
        .request_token(r#"{"display_name":"A"}"#, &[])
        .await
        .json()["result"];
    assert_eq!(r["stun"], json!([{"url": "stuns:stun.example.com"}]));
    assert!(r.get("turn").is_none(), "{r}");

    api.fake.offer_ice_servers(IceServers {
        stun: Vec::new(),
        turn: vec![TurnServer {
            urls: vec!["turns:turn.example.com:443".to_owned()],
            username: "u".to_owned(),
            credential: Secret::new("c"),
        }],
    });
    let r = &api
        .request_token(r#"{"display_name":"B"}"#, &[])
        .await
        .json()["result"];
    assert!(r.get("stun").is_none(), "{r}");
    assert_eq!(r["turn"][0]["urls"], json!(["turns:turn.example.com:443"]));
}

#[test]
fn a_turn_servers_debug_hides_its_credential() {
    let server = TurnServer {
        urls: vec!["turn:turn.example.com".to_owned()],
        username: "plenum".to_owned(),
        credential: Secret::new("s3cret"),
    };
    let shown = format!("{server:?}");
    assert!(
        shown.contains("plenum") && !shown.contains("s3cret"),
        "{shown}"
    );
}

#[tokio::test]
async fn request_token_carries_the_route_via_registrar_switch() {
    let api = Api::new();
    api.fake.route_via_registrar(true);
    let reply = api.request_token(r#"{"display_name":"Alice"}"#, &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["result"]["route_via_registrar"], true);
}

#[tokio::test]
async fn request_token_in_an_auditorium_names_the_lecture_service() {
    let api = Api::with(Fake::new(ServiceKind::Auditorium), Vec::new());
    let reply = api.request_token(r#"{"display_name":"A"}"#, &[]).await;
    let r = &reply.json()["result"];
    assert_eq!(r["service_type"], "lecture");
    assert_eq!(r["current_service_type"], "lecture");
}

#[tokio::test]
async fn request_token_passes_pin_extension_and_join_ticket_to_the_node() {
    let api = Api::new();
    api.request_token(
        r#"{"display_name":"A","conference_extension":" 1234 ","token":"ticket-9"}"#,
        &[("pin", "4321#")],
    )
    .await;
    api.request_token(r#"{"display_name":"B"}"#, &[("pin", "none")])
        .await;
    let requests = api.fake.token_requests();
    assert_eq!(requests[0].pin, PinInput::Entered("4321".to_owned()));
    assert_eq!(requests[0].conference_extension.as_deref(), Some("1234"));
    assert_eq!(
        requests[0].join_ticket.as_ref().map(|t| t.expose()),
        Some("ticket-9")
    );
    assert_eq!(requests[1].pin, PinInput::GuestWithoutPin);
}

#[tokio::test]
async fn display_names_are_cleaned_before_the_node_sees_them() {
    let api = Api::new();
    let long = "ü".repeat(130);
    for name in ["  Alice\u{7}  ", "\u{202e}\u{200b}", long.as_str()] {
        let body = json!({ "display_name": name }).to_string();
        assert_eq!(api.request_token(&body, &[]).await.status, StatusCode::OK);
    }
    let names: Vec<String> = api
        .fake
        .token_requests()
        .into_iter()
        .map(|r| r.display_name)
        .collect();
    assert_eq!(names[0], "Alice");
    assert_eq!(names[1], "Guest");
    assert_eq!(names[2], "ü".repeat(100));
}

#[tokio::test]
async fn pin_prompt_is_a_403_success_with_version() {
    let api = Api::new();
    api.fake
        .refuse_tokens(TokenRefusal::PinRequired { guest_pin: false });
    let reply = api.request_token(r#"{"display_name":"A"}"#, &[]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let body = reply.json();
    assert_eq!(body["status"], "success");
    assert_eq!(body["result"]["pin"], "required");
    assert_eq!(body["result"]["guest_pin"], "none");
    assert!(body["result"]["version"].is_object());

    api.fake
        .refuse_tokens(TokenRefusal::PinRequired { guest_pin: true });
    let reply = api.request_token(r#"{"display_name":"A"}"#, &[]).await;
    assert_eq!(reply.json()["result"]["guest_pin"], "required");
}

#[tokio::test]
async fn virtual_reception_prompt_asks_for_the_extension() {
    let api = Api::new();
    api.fake.refuse_tokens(TokenRefusal::ExtensionRequired);
    let reply = api.request_token(r#"{"display_name":"A"}"#, &[]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.json(),
        json!({"status": "success", "result": {
            "conference_extension": "required",
            "conference_extension_type": "standard",
        }})
    );
}

#[tokio::test]
async fn refusals_answer_the_reason_text_with_the_status_for_the_reason() {
    let cases = [
        (DisconnectReason::InvalidPin, StatusCode::FORBIDDEN),
        (DisconnectReason::TooManyPinAttempts, StatusCode::FORBIDDEN),
        (
            DisconnectReason::ParticipantLimitReached,
            StatusCode::FORBIDDEN,
        ),
        (
            DisconnectReason::ClientAccessDisabled,
            StatusCode::FORBIDDEN,
        ),
        (DisconnectReason::AliasNotFound, StatusCode::NOT_FOUND),
        (DisconnectReason::ExtensionNotFound, StatusCode::NOT_FOUND),
        (
            DisconnectReason::MaintenanceMode,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            DisconnectReason::OutOfResource,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    ];
    for (reason, status) in cases {
        let api = Api::new();
        api.fake.refuse_tokens(TokenRefusal::Refused(reason));
        api.request_token(r#"{"display_name":"A"}"#, &[])
            .await
            .assert_failed(status, reason.text());
    }
}

#[tokio::test]
async fn request_token_without_json_is_415() {
    let api = Api::new();
    let plain = Api::request(
        Method::POST,
        &Api::path("request_token"),
        &[("content-type", "text/plain")],
        Some(r#"{"display_name":"A"}"#),
    );
    let reply = api.send(plain).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.json()["status"], "failed");

    for body in ["not json", r#"{"display_name": 5}"#, "{}", ""] {
        let reply = api.request_token(body, &[]).await;
        assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
        assert_eq!(reply.json()["status"], "failed");
    }
    assert!(api.fake.token_requests().is_empty());
}

#[tokio::test(start_paused = true)]
async fn request_token_is_rate_limited_per_client_address() {
    let api = Api::new();
    for _ in 0..20 {
        let reply = api.request_token(r#"{"display_name":"A"}"#, &[]).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    api.request_token(r#"{"display_name":"A"}"#, &[])
        .await
        .assert_failed(StatusCode::SERVICE_UNAVAILABLE, "Resource unavailable");
    assert_eq!(api.fake.token_requests().len(), 20);

    tokio::time::advance(Duration::from_secs(10)).await;
    let reply = api.request_token(r#"{"display_name":"A"}"#, &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn refresh_token_issues_a_new_token_with_role() {
    let api = Api::new();
    api.post("refresh_token", GUEST_TOKEN, None)
        .await
        .assert_success(json!({"token": "guest-token-r", "expires": "120", "role": "GUEST"}));
    // The old token is gone in the fake; the new one works.
    api.post("refresh_token", GUEST_TOKEN, None)
        .await
        .assert_failed(StatusCode::FORBIDDEN, "Invalid token");
    api.post("refresh_token", "guest-token-r", None)
        .await
        .assert_success(json!({"token": "guest-token-r-r", "expires": "120", "role": "GUEST"}));
}

#[tokio::test]
async fn refresh_token_accepts_the_token_from_the_query() {
    let api = Api::new();
    let reply = api
        .send(Api::request(
            Method::POST,
            &Api::path(&format!("refresh_token?token={HOST_TOKEN}")),
            &[],
            None,
        ))
        .await;
    assert_eq!(reply.json()["result"]["role"], "HOST");
}

#[tokio::test]
async fn release_token_takes_an_optional_reason() {
    let api = Api::new();
    api.post(
        "release_token",
        HOST_TOKEN,
        Some(r#"{"reason":"User initiated disconnect"}"#),
    )
    .await
    .assert_success(json!(true));
    api.post("release_token", GUEST_TOKEN, Some("{}"))
        .await
        .assert_success(json!(true));
    assert_eq!(
        api.fake.calls(),
        [
            Call::Release {
                alias: ALIAS.to_owned(),
                token: HOST_TOKEN.to_owned(),
                reason: Some("User initiated disconnect".to_owned()),
            },
            Call::Release {
                alias: ALIAS.to_owned(),
                token: GUEST_TOKEN.to_owned(),
                reason: None,
            },
        ]
    );
    // Released tokens are gone.
    api.get("conference_status", HOST_TOKEN)
        .await
        .assert_failed(StatusCode::FORBIDDEN, "Invalid token");
}

#[tokio::test]
async fn release_token_works_as_a_beacon_with_the_query_token_and_any_content_type() {
    let api = Api::new();
    let beacon = Api::request(
        Method::POST,
        &Api::path(&format!("release_token?token={HOST_TOKEN}")),
        &[("content-type", "text/plain;charset=UTF-8")],
        Some(r#"{"reason":"Browser closed"}"#),
    );
    api.send(beacon).await.assert_success(json!(true));
    assert_eq!(
        api.fake.calls(),
        [Call::Release {
            alias: ALIAS.to_owned(),
            token: HOST_TOKEN.to_owned(),
            reason: Some("Browser closed".to_owned()),
        }]
    );
}

#[tokio::test]
async fn unknown_or_missing_tokens_are_403_invalid_token_never_401() {
    let api = Api::new();
    for reply in [
        api.post("refresh_token", "nope", None).await,
        api.post("release_token", "nope", None).await,
        api.get("conference_status", "nope").await,
        api.post("lock", "", None).await,
        api.get("participants", "").await,
    ] {
        reply.assert_failed(StatusCode::FORBIDDEN, "Invalid token");
    }
}

#[tokio::test]
async fn a_token_for_another_conference_is_invalid_here() {
    let api = Api::new();
    let reply = api
        .send(Api::request(
            Method::GET,
            "/api/client/v2/conferences/other.room/conference_status",
            &[("token", HOST_TOKEN)],
            None,
        ))
        .await;
    reply.assert_failed(StatusCode::FORBIDDEN, "Invalid token");
}

#[tokio::test]
async fn percent_encoded_aliases_are_decoded() {
    let api = Api::new();
    let reply = api
        .send(Api::request(
            Method::GET,
            "/api/client/v2/conferences/meet%2Eteam/conference_status",
            &[("token", HOST_TOKEN)],
            None,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn a_caller_held_in_the_waiting_room_is_told_so() {
    let api = Api::new();
    api.fake
        .run(super::support::HOST, plenum_core::Command::Lock)
        .expect("lock");
    let reply = api.request_token(r#"{"display_name":"Late"}"#, &[]).await;
    let result = &reply.json()["result"];
    assert_eq!(result["current_service_type"], "waiting_room");
    assert_eq!(result["service_type"], "conference");
    let roster = api.get("participants", HOST_TOKEN).await.json();
    let late = &roster["result"][2];
    assert_eq!(late["display_name"], "Late");
    assert_eq!(late["service_type"], "waiting_room");
    assert_eq!(late["role"], "guest");
}
