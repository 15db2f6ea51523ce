//! The participant group: controls on one participant, self-only actions, bodies,
//! transfer, the floor, avatars and unknown targets.

use axum::http::StatusCode;
use plenum_core::{Command, MessageKind, ParticipantId, Role};
use plenum_http::client::backend::TransferError;
use serde_json::json;

use super::support::{Api, Call, GUEST, GUEST_TOKEN, HOST, HOST_TOKEN};

type MakeCommand = fn(ParticipantId) -> Command;

fn on(target: ParticipantId, action: &str) -> String {
    format!("participants/{target}/{action}")
}

#[tokio::test]
async fn host_controls_on_a_participant_answer_true() {
    let api = Api::new();
    let actions: [(&str, MakeCommand); 10] = [
        ("mute", Command::Mute),
        ("unmute", Command::Unmute),
        ("video_muted", Command::VideoMute),
        ("video_unmuted", Command::VideoUnmute),
        ("denyrxpresentation", Command::DenyPresentation),
        ("allowrxpresentation", Command::AllowPresentation),
        ("spotlighton", Command::SpotlightOn),
        ("spotlightoff", Command::SpotlightOff),
        ("clearbuzz", Command::LowerHand),
        ("disconnect", Command::Disconnect),
    ];
    for (action, _) in &actions {
        api.post(&on(GUEST, action), HOST_TOKEN, None)
            .await
            .assert_success(json!(true));
    }
    let expected: Vec<_> = actions
        .iter()
        .map(|(_, make)| (HOST, make(GUEST)))
        .collect();
    assert_eq!(api.fake.commands(), expected);
}

#[tokio::test]
async fn self_actions_answer_true() {
    let api = Api::new();
    for action in ["client_mute", "client_unmute", "buzz", "clearbuzz", "mute"] {
        api.post(&on(GUEST, action), GUEST_TOKEN, None)
            .await
            .assert_success(json!(true));
    }
    let state = api.fake.snapshot_now();
    let guest = state
        .participants
        .iter()
        .find(|p| p.id == GUEST)
        .expect("guest");
    assert!(guest.is_muted && !guest.is_client_muted && guest.hand_raised_at.is_none());
}

#[tokio::test]
async fn a_raised_hand_shows_as_buzz_time_in_the_roster() {
    let api = Api::new();
    api.post(&on(GUEST, "buzz"), GUEST_TOKEN, None).await;
    let roster = api.get("participants", HOST_TOKEN).await.json();
    assert_eq!(roster["result"][1]["buzz_time"], json!(1_700_000_001.0));
}

#[tokio::test]
async fn guests_acting_on_others_get_403_with_the_refusal() {
    let api = Api::new();
    api.post(&on(HOST, "mute"), GUEST_TOKEN, None)
        .await
        .assert_failed(StatusCode::FORBIDDEN, "only a Host can do this");
    api.post(&on(HOST, "spotlighton"), GUEST_TOKEN, None)
        .await
        .assert_failed(StatusCode::FORBIDDEN, "only a Host can do this");
    api.post(&on(HOST, "buzz"), GUEST_TOKEN, None)
        .await
        .assert_failed(
            StatusCode::FORBIDDEN,
            "a participant can only do this for themself",
        );
}

#[tokio::test]
async fn unknown_and_malformed_participant_ids_are_not_found() {
    let api = Api::new();
    let stranger = ParticipantId(uuid::Uuid::from_u128(0xdead));
    api.post(&on(stranger, "mute"), HOST_TOKEN, None)
        .await
        .assert_failed(StatusCode::FORBIDDEN, "participant not found");
    api.post("participants/not-a-uuid/mute", HOST_TOKEN, None)
        .await
        .assert_failed(StatusCode::FORBIDDEN, "participant not found");
    // The token is checked before the target.
    api.post("participants/not-a-uuid/mute", "nope", None)
        .await
        .assert_failed(StatusCode::FORBIDDEN, "Invalid token");
}

#[tokio::test]
async fn role_changes_take_chair_or_guest() {
    let api = Api::new();
    api.post(&on(GUEST, "role"), HOST_TOKEN, Some(r#"{"role":"chair"}"#))
        .await
        .assert_success(json!(true));
    api.post(&on(GUEST, "role"), HOST_TOKEN, Some(r#"{"role":"guest"}"#))
        .await
        .assert_success(json!(true));
    api.post(&on(HOST, "role"), HOST_TOKEN, Some(r#"{"role":"guest"}"#))
        .await
        .assert_failed(StatusCode::FORBIDDEN, "a Host cannot make themself a Guest");
    let reply = api
        .post(&on(GUEST, "role"), HOST_TOKEN, Some(r#"{"role":"boss"}"#))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        api.fake.commands()[..2],
        [
            (HOST, Command::SetRole(GUEST, Role::Host)),
            (HOST, Command::SetRole(GUEST, Role::Guest)),
        ]
    );
}

#[tokio::test]
async fn dtmf_overlay_text_and_private_messages_carry_their_bodies() {
    let api = Api::new();
    api.post(&on(GUEST, "dtmf"), HOST_TOKEN, Some(r#"{"digits":"12#"}"#))
        .await
        .assert_success(json!(true));
    api.post(
        &on(GUEST, "overlaytext"),
        HOST_TOKEN,
        Some(r#"{"text":"Speaker"}"#),
    )
    .await
    .assert_success(json!(true));
    api.post(
        &on(GUEST, "message"),
        HOST_TOKEN,
        Some(r#"{"type":"text/plain","payload":"psst"}"#),
    )
    .await
    .assert_success(json!(true));
    assert_eq!(
        api.fake.commands(),
        [
            (
                HOST,
                Command::SendDtmf {
                    target: GUEST,
                    digits: "12#".to_owned(),
                }
            ),
            (HOST, Command::SetOverlayText(GUEST, "Speaker".to_owned())),
            (
                HOST,
                Command::SendMessage {
                    to: Some(GUEST),
                    kind: MessageKind::Text,
                    payload: "psst".to_owned(),
                }
            ),
        ]
    );
    api.post(&on(GUEST, "dtmf"), HOST_TOKEN, Some(r#"{"digits":"xyz"}"#))
        .await
        .assert_failed(
            StatusCode::FORBIDDEN,
            "DTMF digits must be 1-64 of 0-9, *, #, A-D",
        );
    let reply = api
        .post(&on(GUEST, "dtmf"), HOST_TOKEN, Some(r#"{"digits":12}"#))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn transfer_reaches_the_node_and_failures_say_transfer_failed() {
    let api = Api::new();
    api.post(
        &on(GUEST, "transfer"),
        HOST_TOKEN,
        Some(r#"{"role":"guest","conference_alias":"meet.other","pin":"1234"}"#),
    )
    .await
    .assert_success(json!(true));
    assert_eq!(
        api.fake.calls(),
        [Call::Transfer {
            by: HOST,
            target: GUEST,
            alias: "meet.other".to_owned(),
            role: Role::Guest,
            pin: Some("1234".to_owned()),
        }]
    );

    api.fake.answer_transfers(Err(TransferError::Failed));
    api.post(
        &on(GUEST, "transfer"),
        HOST_TOKEN,
        Some(r#"{"role":"host","conference_alias":"meet.other"}"#),
    )
    .await
    .assert_failed(StatusCode::FORBIDDEN, "transfer failed");

    api.fake
        .answer_transfers(Err(TransferError::Refused(plenum_core::Refusal::HostOnly)));
    api.post(
        &on(HOST, "transfer"),
        GUEST_TOKEN,
        Some(r#"{"role":"guest","conference_alias":"meet.other"}"#),
    )
    .await
    .assert_failed(StatusCode::FORBIDDEN, "only a Host can do this");
}

#[tokio::test]
async fn take_and_release_floor_answer_null() {
    let api = Api::new();
    api.post(&on(GUEST, "take_floor"), GUEST_TOKEN, None)
        .await
        .assert_success(json!(null));
    assert_eq!(api.fake.snapshot_now().presenter, Some(GUEST));
    api.post(&on(GUEST, "release_floor"), GUEST_TOKEN, None)
        .await
        .assert_success(json!(null));
    assert_eq!(api.fake.snapshot_now().presenter, None);
    api.post(&on(HOST, "take_floor"), GUEST_TOKEN, None)
        .await
        .assert_failed(
            StatusCode::FORBIDDEN,
            "a participant can only do this for themself",
        );
}

#[tokio::test]
async fn client_hints_are_accepted_for_oneself() {
    let api = Api::new();
    api.post(
        &on(GUEST, "preferred_aspect_ratio"),
        GUEST_TOKEN,
        Some(r#"{"aspect_ratio":1.777}"#),
    )
    .await
    .assert_success(json!(true));
    api.post(
        &on(GUEST, "preferred_aspect_ratio"),
        GUEST_TOKEN,
        Some("{}"),
    )
    .await
    .assert_success(json!(true));
    api.post(&on(GUEST, "notify_not_afk"), GUEST_TOKEN, None)
        .await
        .assert_success(json!(true));
    api.post(&on(HOST, "notify_not_afk"), GUEST_TOKEN, None)
        .await
        .assert_failed(
            StatusCode::FORBIDDEN,
            "a participant can only do this for themself",
        );
}

#[tokio::test]
async fn live_captions_are_not_available() {
    let api = Api::new();
    api.post(&on(GUEST, "show_live_captions"), GUEST_TOKEN, None)
        .await
        .assert_failed(StatusCode::FORBIDDEN, "live captions are not available");
}

#[tokio::test]
async fn avatars_are_404_no_image_available() {
    let api = Api::new();
    api.get(&on(GUEST, "avatar.jpg"), HOST_TOKEN)
        .await
        .assert_failed(StatusCode::NOT_FOUND, "No image available");
}

#[tokio::test]
async fn admitting_a_participant_who_is_not_waiting_is_refused() {
    let api = Api::new();
    api.post(&on(GUEST, "unlock"), HOST_TOKEN, None)
        .await
        .assert_failed(StatusCode::FORBIDDEN, "participant is not waiting");
    assert_eq!(api.fake.commands(), [(HOST, Command::Admit(GUEST))]);
}
