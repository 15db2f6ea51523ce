//! The client REST API v2 over HTTPS on a whole node: tokens, the event stream, chat,
//! lock and admission, role checks, disconnects.

use plenum_core::Secret;
use plenum_node::config;
use serde_json::json;

use crate::support::TestNode;

#[tokio::test]
async fn a_pin_room_prompts_then_admits_host_and_guest() {
    let node = TestNode::start().await;
    let (status, body) = node.request_token("meet.pin", "Alice", None).await;
    assert_eq!(status, 403);
    assert_eq!(body["result"]["pin"], "required");
    assert_eq!(body["result"]["guest_pin"], "none");
    assert!(body["result"]["version"].is_object());

    let (status, body) = node.request_token("meet.pin", "Alice", Some("1234#")).await;
    assert_eq!(status, 200, "{body}");
    let result = &body["result"];
    assert_eq!(result["role"], "HOST");
    assert_eq!(result["expires"], "120", "expires is a string");
    assert_eq!(result["current_service_type"], "conference");
    assert!(
        result.get("stun").is_none() && result.get("turn").is_none(),
        "no ICE servers are configured, and empty lists are never sent: {result}"
    );

    let (status, body) = node.request_token("meet.pin", "Bob", Some("none")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["role"], "GUEST");

    let (status, body) = node.request_token("meet.pin", "Eve", Some("9999")).await;
    assert_eq!(
        (status, body["result"].as_str()),
        (403, Some("Invalid PIN"))
    );
    let (status, body) = node.request_token("nowhere", "Eve", None).await;
    assert_eq!(
        (status, body["result"].as_str()),
        (404, Some("Neither conference nor gateway found"))
    );
    node.stop().await;
}

#[tokio::test]
async fn the_token_offers_the_configured_ice_servers_and_follows_a_reload() {
    let node = TestNode::start_with(|c| {
        c.node.stun = vec!["stun:stun.example.com:3478".to_owned()];
        c.turn = vec![config::TurnServer {
            urls: vec![
                "turn:turn.example.com:3478?transport=udp".to_owned(),
                "turns:turn.example.com:443?transport=tcp".to_owned(),
            ],
            username: "plenum".to_owned(),
            credential: Secret::new("tUrN-s3cret"),
        }];
    })
    .await;
    let (status, body) = node.request_token("meet.open", "Alice", None).await;
    assert_eq!(status, 200, "{body}");
    let result = &body["result"];
    assert_eq!(
        result["stun"],
        json!([{"url": "stun:stun.example.com:3478"}])
    );
    assert_eq!(
        result["turn"],
        json!([{
            "urls": [
                "turn:turn.example.com:3478?transport=udp",
                "turns:turn.example.com:443?transport=tcp"
            ],
            "username": "plenum",
            "credential": "tUrN-s3cret"
        }])
    );

    // The configuration in force decides: after a reload without ICE servers, the next
    // token offers none.
    let mut plain = (*node.node.config()).clone();
    plain.node.stun.clear();
    plain.turn.clear();
    node.node.reload(plain).await.expect("reload");
    let (status, body) = node.request_token("meet.open", "Bob", None).await;
    assert_eq!(status, 200, "{body}");
    let result = &body["result"];
    assert!(
        result.get("stun").is_none() && result.get("turn").is_none(),
        "{result}"
    );
    node.stop().await;
}

#[tokio::test]
async fn the_token_carries_the_route_via_registrar_switch_in_force() {
    let node = TestNode::start().await;
    let (status, body) = node.request_token("meet.open", "Alice", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["route_via_registrar"], false);

    let mut routed = (*node.node.config()).clone();
    routed.switches.route_calls_via_registrar = true;
    node.node.reload(routed).await.expect("reload");
    let (status, body) = node.request_token("meet.open", "Bob", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["route_via_registrar"], true);
    node.stop().await;
}

#[tokio::test]
async fn the_event_stream_syncs_then_follows_the_meeting() {
    let node = TestNode::start().await;
    let (alice, alice_id) = node.token("meet.open", "Alice", None).await;
    let mut events = node.events("meet.open", &alice).await;
    let names: Vec<String> = {
        let mut names = Vec::new();
        for _ in 0..6 {
            names.push(events.next().await.expect("sync event").name);
        }
        names
    };
    assert_eq!(
        names,
        [
            "participant_sync_begin",
            "participant_create",
            "participant_sync_end",
            "conference_update",
            "layout",
            "stage"
        ]
    );

    let (bob, bob_id) = node.token("meet.open", "Bob", None).await;
    let created = events.until("participant_create").await;
    assert_eq!(created.data["uuid"], bob_id.as_str());
    assert_eq!(created.data["display_name"], "Bob");
    assert_eq!(created.data["role"], "chair");
    assert_eq!(created.data["is_muted"], "NO");

    let (status, body) = node
        .client_post(
            "meet.open",
            "message",
            Some(&bob),
            Some(json!({"type": "text/plain", "payload": "hello"})),
        )
        .await;
    assert_eq!((status, &body["result"]), (200, &json!(true)));
    let message = events.until("message_received").await;
    assert_eq!(message.data["payload"], "hello");
    assert_eq!(message.data["uuid"], bob_id.as_str());
    assert_eq!(message.data["direct"], false);

    let (status, _) = node
        .client_post("meet.open", "release_token", Some(&bob), Some(json!({})))
        .await;
    assert_eq!(status, 200);
    let deleted = events.until("participant_delete").await;
    assert_eq!(deleted.data["uuid"], bob_id.as_str());

    // Alice's stream ends with a disconnect when the admin ends the meeting.
    let (status, conferences) = node.admin_get("conference/").await;
    assert_eq!(status, 200);
    let id = conferences["objects"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    node.admin_post(&format!("conference/{id}/disconnect"))
        .await;
    let disconnect = events.until("disconnect").await;
    assert_eq!(
        disconnect.data["reason"],
        "Conference terminated by an administrator"
    );
    assert!(events.next().await.is_none(), "the stream ends");
    let _ = alice_id;
    node.stop().await;
}

#[tokio::test]
async fn lock_makes_newcomers_wait_until_a_host_admits_them() {
    let node = TestNode::start().await;
    let (host, _) = node.token("meet.pin", "Host", Some("1234")).await;
    let mut events = node.events("meet.pin", &host).await;
    events.until("stage").await;
    // A control-only Host starts the meeting explicitly, so Guests need not wait for one.
    let (status, _) = node
        .client_post("meet.pin", "start_conference", Some(&host), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        events.until("conference_update").await.data["started"],
        true
    );
    let (status, body) = node
        .client_post("meet.pin", "lock", Some(&host), None)
        .await;
    assert_eq!((status, &body["result"]), (200, &json!(true)));
    let update = events.until("conference_update").await;
    assert_eq!(update.data["locked"], true, "{update:?}");

    let (status, body) = node.request_token("meet.pin", "Late", Some("none")).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["current_service_type"], "waiting_room");
    let late = body["result"]["participant_uuid"]
        .as_str()
        .expect("uuid")
        .to_owned();
    let late_token = body["result"]["token"].as_str().expect("token").to_owned();
    let waiting = events.until("participant_create").await;
    assert_eq!(waiting.data["service_type"], "waiting_room");

    // The waiting Guest can't act; the Host admits.
    let (status, _) = node
        .client_post("meet.pin", "unlock", Some(&late_token), None)
        .await;
    assert_eq!(status, 403);
    let (status, body) = node
        .client_post(
            "meet.pin",
            &format!("participants/{late}/unlock"),
            Some(&host),
            None,
        )
        .await;
    assert_eq!((status, &body["result"]), (200, &json!(true)));
    let admitted = events.until("participant_update").await;
    assert_eq!(admitted.data["uuid"], late.as_str());
    assert_eq!(admitted.data["service_type"], "conference");
    node.stop().await;
}

#[tokio::test]
async fn guests_get_403_for_host_actions_and_bad_tokens_are_refused() {
    let node = TestNode::start().await;
    let (host, _) = node.token("meet.pin", "Host", Some("1234")).await;
    let (guest, _) = node.token("meet.pin", "Guest", Some("none")).await;
    for action in ["lock", "muteguests", "disconnect"] {
        let (status, body) = node
            .client_post("meet.pin", action, Some(&guest), None)
            .await;
        assert_eq!(status, 403, "{action}: {body}");
        assert_eq!(body["status"], "failed");
    }
    let (status, body) = node
        .client_post("meet.pin", "lock", Some("not-a-token"), None)
        .await;
    assert_eq!(
        (status, body["result"].as_str()),
        (403, Some("Invalid token"))
    );
    let (status, body) = node
        .client_post("meet.open", "lock", Some(&host), None)
        .await;
    assert_eq!(
        (status, body["result"].as_str()),
        (403, Some("Invalid token")),
        "a token works only for its room"
    );
    let (status, body) = node
        .client_get("meet.pin", "conference_status", &host)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["locked"], false);
    let (status, body) = node
        .client_post("meet.pin", "no_such_thing", Some(&host), None)
        .await;
    assert_eq!(
        (status, body["result"].as_str()),
        (404, Some("404 Not Found"))
    );
    node.stop().await;
}

#[tokio::test]
async fn a_guest_keying_the_host_pin_as_dtmf_becomes_host() {
    let node = TestNode::start().await;
    let (host, _) = node.token("meet.pin", "Host", Some("1234")).await;
    let (guest, guest_id) = node.token("meet.pin", "Guest", Some("none")).await;
    // A control-only Host does not start the meeting by joining: it starts it by hand,
    // which lets the waiting Guest in.
    let (status, body) = node
        .client_post("meet.pin", "start_conference", Some(&host), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let mut events = node.events("meet.pin", &guest).await;
    events.until("participant_sync_end").await;
    let (status, body) = node
        .client_post("meet.pin", "lock", Some(&guest), None)
        .await;
    assert_eq!(
        (status, body["result"].as_str()),
        (403, Some("only a Host can do this"))
    );

    let dtmf = format!("participants/{guest_id}/dtmf");
    let (status, body) = node
        .client_post(
            "meet.pin",
            &dtmf,
            Some(&guest),
            Some(json!({"digits": "9999#"})),
        )
        .await;
    assert_eq!((status, &body["result"]), (200, &json!(true)));
    let (status, _) = node
        .client_post("meet.pin", "lock", Some(&guest), None)
        .await;
    assert_eq!(status, 403, "a wrong PIN changes nothing");

    let (status, body) = node
        .client_post(
            "meet.pin",
            &dtmf,
            Some(&guest),
            Some(json!({"digits": "1234#"})),
        )
        .await;
    assert_eq!((status, &body["result"]), (200, &json!(true)));
    let update = events.until("participant_update").await;
    assert_eq!(update.data["uuid"], guest_id.as_str());
    assert_eq!(update.data["role"], "chair");
    let (status, body) = node
        .client_post("meet.pin", "lock", Some(&guest), None)
        .await;
    assert_eq!(status, 200, "the new Host may lock: {body}");
    let (status, body) = node
        .client_post("meet.pin", "refresh_token", Some(&guest), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["role"], "HOST");
    node.stop().await;
}

#[tokio::test]
async fn refreshed_tokens_keep_the_stream_and_the_old_token_works_briefly() {
    let node = TestNode::start().await;
    let (first, _) = node.token("meet.open", "Alice", None).await;
    let mut events = node.events("meet.open", &first).await;
    events.until("stage").await;
    let (status, body) = node
        .client_post("meet.open", "refresh_token", Some(&first), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["expires"], "120");
    let second = body["result"]["token"].as_str().expect("token").to_owned();
    assert_ne!(second, first);
    let (status, _) = node.client_get("meet.open", "participants", &first).await;
    assert_eq!(status, 200, "the old token overlaps");
    let (status, participants) = node.client_get("meet.open", "participants", &second).await;
    assert_eq!(status, 200);
    assert_eq!(participants["result"].as_array().expect("list").len(), 1);
    let (_bob, bob_id) = node.token("meet.open", "Bob", None).await;
    assert_eq!(
        events.until("participant_create").await.data["uuid"],
        bob_id.as_str()
    );
    node.stop().await;
}

#[tokio::test]
async fn a_guest_waiting_for_the_host_in_a_themed_room_sees_its_splash_screen() {
    // The shipped meet.pin has the example theme.
    let node = TestNode::start().await;
    let (guest, guest_id) = node.token("meet.pin", "Guest", Some("none")).await;
    let mut events = node.events("meet.pin", &guest).await;
    events.until("stage").await;
    let splash = events
        .next()
        .await
        .expect("the splash screen follows the sync");
    assert_eq!(
        (splash.name.as_str(), &splash.data),
        (
            "splash_screen",
            &json!({"screen_key": "direct_media_waiting_for_host", "display_duration": 0})
        )
    );

    // A control-only Host starts the meeting by hand, which lets the Guest in.
    let (host, _) = node.token("meet.pin", "Host", Some("1234")).await;
    let (status, body) = node
        .client_post("meet.pin", "start_conference", Some(&host), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let admitted = events.until("participant_update").await;
    assert_eq!(admitted.data["uuid"], guest_id.as_str());
    assert_eq!(admitted.data["service_type"], "conference");
    let cleared = events.next().await.expect("the splash screen is cleared");
    assert_eq!(
        (cleared.name.as_str(), &cleared.data),
        ("splash_screen", &serde_json::Value::Null)
    );
    node.stop().await;
}
