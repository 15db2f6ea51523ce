//! The admin status API on a live node: auth, live conferences and participants,
//! actions carried out and audited, history.

use plenum_core::{DisconnectReason, JoinOutcome, Waiting};

use crate::support::TestNode;

#[tokio::test]
async fn health_answers_over_https_without_credentials() {
    let node = TestNode::start().await;
    let response = node
        .client
        .get(node.url("/health"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().expect("ascii"),
        "application/json"
    );
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    node.stop().await;
}

#[tokio::test]
async fn wrong_admin_credentials_get_401_and_are_audited_without_the_password() {
    let node = TestNode::start().await;
    let response = node
        .client
        .get(node.url("/api/admin/status/v1/conference/"))
        .basic_auth("admin", Some("not-the-password"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    let response = node
        .client
        .get(node.url("/api/admin/status/v1/conference/"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);

    let (status, audit) = node.admin_get("audit/").await;
    assert_eq!(status, 200);
    let entries = audit["objects"].as_array().expect("objects");
    let failed: Vec<_> = entries
        .iter()
        .filter(|e| e["action"] == "login_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{audit}");
    assert_eq!(failed[0]["admin_user"], "admin");
    assert!(!audit.to_string().contains("not-the-password"));
    node.stop().await;
}

#[tokio::test]
async fn status_lists_live_conferences_and_participants() {
    let node = TestNode::start().await;
    let host = node.join("meet.pin", "Alice", Some("1234")).await;
    let guest = node.join("MEET.PIN", "Bob", Some("none")).await;
    assert_eq!(host.outcome, JoinOutcome::Joined);
    assert_eq!(guest.outcome, JoinOutcome::Joined);
    let waiting = node.join("meet.twopins", "Carol", Some("5678#")).await;
    assert_eq!(waiting.outcome, JoinOutcome::Waiting(Waiting::ForHost));

    let (status, conferences) = node.admin_get("conference/").await;
    assert_eq!(status, 200);
    let list = conferences["objects"].as_array().expect("objects");
    assert_eq!(list.len(), 2, "{conferences}");
    let pin_room = list
        .iter()
        .find(|c| c["service_name"] == "meet.pin")
        .expect("meet.pin is live");
    assert_eq!(pin_room["participant_count"], 2);
    assert_eq!(pin_room["locked"], false);
    assert_eq!(pin_room["started"], true);

    let (_, participants) = node.admin_get("participant/").await;
    let people = participants["objects"].as_array().expect("objects");
    let by_name = |name: &str| {
        people
            .iter()
            .find(|p| p["display_name"] == name)
            .expect("listed")
            .clone()
    };
    assert_eq!(by_name("Alice")["role"], "host");
    assert_eq!(by_name("Bob")["role"], "guest");
    assert_eq!(by_name("Carol")["waiting"], "for_host");

    let id = host.conference.id;
    let (status, detail) = node.admin_get(&format!("conference/{id}/")).await;
    assert_eq!(status, 200);
    assert_eq!(
        detail["participants"]
            .as_array()
            .expect("participants")
            .len(),
        2
    );
    node.stop().await;
}

#[tokio::test]
async fn admin_lock_is_applied_and_audited() {
    let node = TestNode::start().await;
    let host = node.join("meet.open", "Alice", None).await;
    let id = host.conference.id;
    let (status, _) = node.admin_post(&format!("conference/{id}/lock")).await;
    assert_eq!(status, 200);
    assert!(
        host.conference
            .snapshot()
            .await
            .expect("live")
            .state
            .status
            .locked
    );
    let late = node.join("meet.open", "Late", None).await;
    assert_eq!(late.outcome, JoinOutcome::Waiting(Waiting::ForAdmission));

    let (status, _) = node.admin_post(&format!("conference/{id}/unlock")).await;
    assert_eq!(status, 200);
    let snapshot = host.conference.snapshot().await.expect("live");
    assert!(!snapshot.state.status.locked);
    assert!(
        snapshot
            .state
            .participants
            .iter()
            .all(|p| p.waiting.is_none())
    );

    let (_, audit) = node.admin_get("audit/").await;
    let actions: Vec<_> = audit["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(actions, vec!["unlock", "lock"], "newest first");
    node.stop().await;
}

#[tokio::test]
async fn admin_disconnects_are_recorded_in_history_with_pex_codes() {
    let node = TestNode::start().await;
    let alice = node.join("meet.open", "Alice", None).await;
    let bob = node.join("meet.open", "Bob", None).await;
    let id = alice.conference.id;

    let (status, _) = node
        .admin_post(&format!("participant/{}/disconnect", bob.participant))
        .await;
    assert_eq!(status, 200);
    let (status, _) = node
        .admin_post(&format!("participant/{}/disconnect", bob.participant))
        .await;
    assert_eq!(status, 404, "already gone");
    let (status, _) = node
        .admin_post(&format!("conference/{id}/disconnect"))
        .await;
    assert_eq!(status, 200);
    node.node.settle().await;

    let (_, history) = node.admin_get("history/conference/").await;
    let first = &history["objects"][0];
    assert_eq!(first["id"], id.to_string());
    assert_eq!(
        first["end_reason"],
        DisconnectReason::ConferenceEndedByAdmin.text()
    );
    let (status, people) = node
        .admin_get(&format!("history/conference/{id}/participant/"))
        .await;
    assert_eq!(status, 200);
    let people = people["objects"].as_array().expect("objects").clone();
    let code_of = |name: &str| {
        people
            .iter()
            .find(|p| p["display_name"] == name)
            .expect("recorded")["pex_code"]
            .clone()
    };
    assert_eq!(code_of("Bob"), 123);
    assert_eq!(code_of("Alice"), 122);

    let (_, conferences) = node.admin_get("conference/").await;
    assert_eq!(conferences["objects"].as_array().expect("objects").len(), 0);
    let (status, _) = node.admin_post(&format!("conference/{id}/lock")).await;
    assert_eq!(status, 404);
    node.stop().await;
}

#[tokio::test]
async fn history_pages_newest_first() {
    let node = TestNode::start().await;
    for name in ["one", "two", "three"] {
        let joined = node.join("meet.open", name, None).await;
        joined
            .conference
            .leave(joined.participant, DisconnectReason::UserInitiated)
            .await;
        node.node.settle().await;
    }
    let (status, page) = node.admin_get("history/conference/?limit=2").await;
    assert_eq!(status, 200);
    assert_eq!(page["meta"]["total_count"], 3);
    assert_eq!(page["objects"].as_array().expect("objects").len(), 2);
    let (_, rest) = node.admin_get("history/conference/?limit=2&offset=2").await;
    assert_eq!(rest["objects"].as_array().expect("objects").len(), 1);
    let (status, _) = node.admin_get("history/conference/?limit=0").await;
    assert_eq!(status, 400);
    node.stop().await;
}
