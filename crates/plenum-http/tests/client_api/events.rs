//! The event stream over HTTP: headers, the sync burst, live events per viewer, the
//! end of a stream, token rotation and lag.

use axum::http::{StatusCode, header};
use plenum_core::{Command, Event, MessageKind, ServiceKind};
use serde_json::json;

use super::support::{
    Api, FEED_CAPACITY, Fake, GUEST, GUEST_TOKEN, HOST, HOST_TOKEN, SseReader, example_theme,
};

const SYNC: [&str; 7] = [
    "participant_sync_begin",
    "participant_create",
    "participant_create",
    "participant_sync_end",
    "conference_update",
    "layout",
    "stage",
];

#[tokio::test(start_paused = true)]
async fn a_stream_opens_with_the_sync_burst_in_order() {
    let api = Api::new();
    let mut stream = api.events(GUEST_TOKEN).await.expect("stream opens");
    assert_eq!(
        stream
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    assert_eq!(stream.names(SYNC.len()).await, SYNC);
}

#[tokio::test(start_paused = true)]
async fn opening_a_stream_needs_a_valid_token() {
    let api = Api::new();
    let reply = api.events("nope").await.err().expect("refused");
    reply.assert_failed(StatusCode::FORBIDDEN, "Invalid token");
}

#[tokio::test(start_paused = true)]
async fn the_sync_tells_viewers_but_not_the_presenter_about_a_presentation() {
    let api = Api::new();
    api.fake
        .run(HOST, Command::TakeFloor)
        .expect("host presents");
    let mut guest = api.events(GUEST_TOKEN).await.expect("stream opens");
    let names = guest.names(8).await;
    assert_eq!(names[6], "presentation_start");
    assert_eq!(names[7], "stage");

    let mut host = api.events(HOST_TOKEN).await.expect("stream opens");
    assert_eq!(host.names(SYNC.len()).await, SYNC);
}

#[tokio::test(start_paused = true)]
async fn chat_reaches_others_and_private_chat_only_its_target() {
    let api = Api::with(Fake::new(ServiceKind::Vmr), Vec::new());
    let mut host = api.events(HOST_TOKEN).await.expect("stream opens");
    let mut guest = api.events(GUEST_TOKEN).await.expect("stream opens");
    host.names(SYNC.len()).await;
    guest.names(SYNC.len()).await;

    api.post(
        "message",
        GUEST_TOKEN,
        Some(r#"{"type":"text/plain","payload":"hello all"}"#),
    )
    .await
    .assert_success(json!(true));
    api.post(
        &format!("participants/{GUEST}/message"),
        HOST_TOKEN,
        Some(r#"{"type":"text/plain","payload":"just you"}"#),
    )
    .await
    .assert_success(json!(true));

    assert_eq!(
        host.until("message_received").await,
        json!({"origin": "Guesto", "uuid": GUEST.to_string(), "type": "text/plain",
               "payload": "hello all", "direct": false})
    );
    // The guest did not get its own broadcast; the first message it sees is private.
    assert_eq!(
        guest.until("message_received").await,
        json!({"origin": "Hosta", "uuid": HOST.to_string(), "type": "text/plain",
               "payload": "just you", "direct": true})
    );
    // End both streams and check the host saw nothing else addressed to the guest.
    api.fake.publish(Event::ConferenceEnded {
        reason: plenum_core::DisconnectReason::ConferenceEndedByHost,
    });
    while let Some((name, data)) = host.next().await {
        assert_ne!(data["payload"], "just you", "{name}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_disconnected_participant_gets_disconnect_and_its_stream_ends() {
    let api = Api::new();
    let mut host = api.events(HOST_TOKEN).await.expect("stream opens");
    let mut guest = api.events(GUEST_TOKEN).await.expect("stream opens");
    host.names(SYNC.len()).await;
    guest.names(SYNC.len()).await;

    api.post(
        &format!("participants/{GUEST}/disconnect"),
        HOST_TOKEN,
        None,
    )
    .await
    .assert_success(json!(true));

    assert_eq!(
        guest.until("disconnect").await,
        json!({"reason": "Disconnected by another participant"})
    );
    assert_eq!(guest.next().await, None, "the stream ends after disconnect");
    assert_eq!(
        host.until("participant_delete").await,
        json!({"uuid": GUEST.to_string()})
    );
}

#[tokio::test(start_paused = true)]
async fn several_streams_per_participant_each_get_every_event() {
    let api = Api::new();
    let mut first = api.events(GUEST_TOKEN).await.expect("stream opens");
    let mut second = api.events(GUEST_TOKEN).await.expect("stream opens");
    first.names(SYNC.len()).await;
    second.names(SYNC.len()).await;
    api.fake.run(HOST, Command::Lock).expect("lock");
    assert_eq!(first.until("conference_update").await["locked"], true);
    assert_eq!(second.until("conference_update").await["locked"], true);
}

#[tokio::test(start_paused = true)]
async fn a_stream_outlives_the_token_it_was_opened_with() {
    let api = Api::new();
    let mut guest = api.events(GUEST_TOKEN).await.expect("stream opens");
    guest.names(SYNC.len()).await;
    api.post("refresh_token", GUEST_TOKEN, None)
        .await
        .assert_success(json!({"token": "guest-token-r", "expires": "120", "role": "GUEST"}));
    api.fake.run(HOST, Command::Mute(GUEST)).expect("mute");
    let update = guest.until("participant_update").await;
    assert_eq!(update["uuid"], GUEST.to_string());
    assert_eq!(update["is_muted"], "YES");
    // A reconnect uses the new token.
    assert!(api.events("guest-token-r").await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_refer_goes_only_to_the_transferred_participant() {
    let api = Api::new();
    let mut host = api.events(HOST_TOKEN).await.expect("stream opens");
    let mut guest = api.events(GUEST_TOKEN).await.expect("stream opens");
    host.names(SYNC.len()).await;
    guest.names(SYNC.len()).await;
    api.fake
        .run(
            HOST,
            Command::Transfer {
                target: GUEST,
                alias: "meet.other".to_owned(),
                role: plenum_core::Role::Guest,
                ticket: plenum_core::Secret::new("ticket-1"),
            },
        )
        .expect("transfer");
    assert_eq!(
        guest.next().await,
        Some((
            "refer".to_owned(),
            json!({"alias": "meet.other", "token": "ticket-1"})
        ))
    );
    api.fake.publish(Event::ConferenceEnded {
        reason: plenum_core::DisconnectReason::ConferenceEndedByHost,
    });
    assert_eq!(host.next().await, None, "the host saw no refer");
}

#[tokio::test(start_paused = true)]
async fn auditorium_streams_show_each_role_its_layout() {
    let api = Api::with(Fake::new(ServiceKind::Auditorium), Vec::new());
    let mut host = api.events(HOST_TOKEN).await.expect("stream opens");
    let mut guest = api.events(GUEST_TOKEN).await.expect("stream opens");
    host.names(SYNC.len()).await;
    guest.names(SYNC.len()).await;
    api.post(
        "transform_layout",
        HOST_TOKEN,
        Some(r#"{"transforms":{"host_layout":"2:21","guest_layout":"1:0"}}"#),
    )
    .await
    .assert_success(json!(true));
    assert_eq!(host.until("layout").await["view"], "2:21");
    let guest_layout = guest.until("layout").await;
    assert_eq!(guest_layout["view"], "1:0");
    assert_eq!(
        guest_layout["requested_layout"],
        json!({"primary_screen": {"chair_layout": "2:21", "guest_layout": "1:0"}})
    );
}

#[tokio::test(start_paused = true)]
async fn a_lagging_stream_ends_so_the_client_resyncs() {
    let api = Api::new();
    let mut guest = api.events(GUEST_TOKEN).await.expect("stream opens");
    guest.names(SYNC.len()).await;
    for _ in 0..FEED_CAPACITY + 5 {
        api.fake.publish(Event::MessageSent {
            from: HOST,
            from_name: "Hosta".to_owned(),
            to: None,
            kind: MessageKind::Text,
            payload: "spam".to_owned(),
        });
    }
    assert_eq!(guest.next().await, None);
}

// === splash screens ===

/// The sync burst of a room where only the viewer is (waiting for a Host).
const SYNC_ALONE: [&str; 6] = [
    "participant_sync_begin",
    "participant_create",
    "participant_sync_end",
    "conference_update",
    "layout",
    "stage",
];

/// Ends the conference and returns every event `stream` got until it ended.
async fn rest(api: &Api, stream: &mut SseReader) -> Vec<(String, serde_json::Value)> {
    api.fake.publish(Event::ConferenceEnded {
        reason: plenum_core::DisconnectReason::ConferenceEndedByHost,
    });
    let mut out = Vec::new();
    while let Some(event) = stream.next().await {
        out.push(event);
    }
    out
}

fn splash_screens(events: &[(String, serde_json::Value)]) -> Vec<&serde_json::Value> {
    events
        .iter()
        .filter(|(name, _)| name == "splash_screen")
        .map(|(_, data)| data)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_guest_waiting_for_the_host_in_a_themed_room_sees_the_splash_until_the_host_comes() {
    let api = Api::with(Fake::waiting_for_host(), Vec::new());
    api.fake.set_theme(example_theme());
    let waiting = json!({"screen_key": "direct_media_waiting_for_host", "display_duration": 0});

    let mut guest = api.events(GUEST_TOKEN).await.expect("stream opens");
    assert_eq!(guest.names(SYNC_ALONE.len()).await, SYNC_ALONE);
    assert_eq!(
        guest.next().await,
        Some(("splash_screen".to_owned(), waiting.clone()))
    );
    // A reconnect while still waiting shows it again.
    let mut again = api.events(GUEST_TOKEN).await.expect("stream opens");
    assert_eq!(again.names(SYNC_ALONE.len()).await, SYNC_ALONE);
    assert_eq!(
        again.next().await,
        Some(("splash_screen".to_owned(), waiting))
    );

    api.fake.join(HOST, "Hosta", plenum_core::Role::Host);
    let update = guest.until("participant_update").await;
    assert_eq!(update["uuid"], GUEST.to_string());
    assert_eq!(update["service_type"], "conference");
    assert_eq!(
        guest.next().await,
        Some(("splash_screen".to_owned(), serde_json::Value::Null))
    );
    // The Host sees no one's splash screen, and the admitted guest no more of them.
    let mut host = api.events(HOST_TOKEN).await.expect("stream opens");
    assert_eq!(host.names(SYNC.len()).await, SYNC);
    let mut reconnected = api.events(GUEST_TOKEN).await.expect("stream opens");
    assert_eq!(reconnected.names(SYNC.len()).await, SYNC);
    assert_eq!(
        splash_screens(&rest(&api, &mut host).await),
        Vec::<&serde_json::Value>::new()
    );
    assert_eq!(
        splash_screens(&rest(&api, &mut reconnected).await),
        Vec::<&serde_json::Value>::new()
    );
    assert_eq!(
        splash_screens(&rest(&api, &mut guest).await),
        Vec::<&serde_json::Value>::new()
    );
}

#[tokio::test(start_paused = true)]
async fn a_room_without_a_theme_sends_no_splash_screen_to_a_waiting_guest() {
    let api = Api::with(Fake::waiting_for_host(), Vec::new());
    let mut guest = api.events(GUEST_TOKEN).await.expect("stream opens");
    assert_eq!(guest.names(SYNC_ALONE.len()).await, SYNC_ALONE);
    api.fake.join(HOST, "Hosta", plenum_core::Role::Host);
    let seen = rest(&api, &mut guest).await;
    assert!(
        seen.iter()
            .any(|(name, data)| name == "participant_update" && data["uuid"] == GUEST.to_string()),
        "{seen:?}"
    );
    assert_eq!(splash_screens(&seen), Vec::<&serde_json::Value>::new());
}
