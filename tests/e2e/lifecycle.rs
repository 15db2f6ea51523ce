//! The node's own lifecycle: redirect, reload, shutdown, restart, join refusals.

use std::path::Path;
use std::time::Duration;

use plenum_core::{DisconnectReason, EntryRefusal};
use plenum_node::node::JoinRefusal;

use crate::support::{TestNode, shipped_config, test_env};

#[tokio::test]
async fn plain_http_redirects_to_https() {
    let node = TestNode::start_with(|c| {
        c.node.http_redirect_listen = Some("127.0.0.1:0".parse().expect("addr"))
    })
    .await;
    let base = node.redirect_base.clone().expect("redirect listener");
    let response = node
        .client
        .get(format!("{base}/webapp/home?x=1"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 308);
    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(location, format!("{}/webapp/home?x=1", node.base));
    node.stop().await;
}

#[tokio::test]
async fn the_gate_applies_pins_switches_and_limits() {
    let node = TestNode::start().await;
    assert_eq!(
        node.try_join("meet.pin", "x", None).await.err(),
        Some(JoinRefusal::Gate(EntryRefusal::PinRequired {
            guest_pin: false
        }))
    );
    assert_eq!(
        node.try_join("nowhere", "x", None).await.err(),
        Some(JoinRefusal::Gate(EntryRefusal::AliasNotFound))
    );
    node.join("meet.limit2", "a", None).await;
    node.join("meet.limit2", "b", None).await;
    assert_eq!(
        node.try_join("meet.limit2", "c", None).await.err(),
        Some(JoinRefusal::Refused(
            DisconnectReason::ParticipantLimitReached
        ))
    );
    node.stop().await;

    let node = TestNode::start_with(|c| c.switches.maintenance_mode = true).await;
    assert_eq!(
        node.try_join("meet.open", "x", None).await.err(),
        Some(JoinRefusal::Refused(DisconnectReason::MaintenanceMode))
    );
    node.stop().await;
}

#[tokio::test]
async fn test_calls_run_one_conference_per_caller() {
    let node = TestNode::start().await;
    let a = node.join("test", "a", None).await;
    let b = node.join("test", "b", None).await;
    assert_ne!(a.conference.id, b.conference.id);
    node.stop().await;
}

#[tokio::test]
async fn a_valid_reload_applies_to_new_joins_and_a_bad_one_is_refused() {
    let node = TestNode::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    for file in ["plenum.toml", "services.toml"] {
        std::fs::copy(shipped_config().join(file), dir.path().join(file)).expect("copy config");
    }
    // meet.pin names a theme folder, which a reload checks too.
    let theme = Path::new("themes/example");
    std::fs::create_dir_all(dir.path().join(theme)).expect("theme dir");
    for entry in std::fs::read_dir(shipped_config().join(theme)).expect("shipped theme") {
        let entry = entry.expect("theme file");
        std::fs::copy(entry.path(), dir.path().join(theme).join(entry.file_name()))
            .expect("copy theme");
    }
    let env = test_env(node.data_dir.path());
    let services = dir.path().join("services.toml");
    let original = std::fs::read_to_string(&services).expect("read");

    // A broken file is refused and the running configuration stays.
    std::fs::write(
        &services,
        format!("{original}\n[[service]]\nname = \"broken\"\n"),
    )
    .expect("write");
    assert!(!plenum_node::run::reload(&node.node, dir.path(), &env).await);
    assert!(node.try_join("meet.open", "x", None).await.is_ok());

    // A valid one adds a room for new joins.
    std::fs::write(
        &services,
        format!("{original}\n[[service]]\nname = \"meet.new\"\ntype = \"vmr\"\naliases = [\"meet.new\"]\n"),
    )
    .expect("write");
    assert!(plenum_node::run::reload(&node.node, dir.path(), &env).await);
    assert!(node.try_join("meet.new", "x", None).await.is_ok());
    node.stop().await;
}

#[tokio::test]
async fn shutdown_ends_conferences_and_a_restart_keeps_the_history() {
    let node = TestNode::start().await;
    let joined = node.join("meet.open", "Alice", None).await;
    let id = joined.conference.id;
    let data_dir = node.stop().await;

    let node = TestNode::start_in(data_dir, |_| {}).await;
    let (_, history) = node.admin_get("history/conference/").await;
    assert_eq!(history["objects"][0]["id"], id.to_string());
    assert!(history["objects"][0]["end_time"].is_number(), "{history}");
    let (_, people) = node
        .admin_get(&format!("history/conference/{id}/participant/"))
        .await;
    assert_eq!(people["objects"][0]["pex_code"], 129, "{people}");
    node.stop().await;
}

#[tokio::test]
async fn a_corrupt_database_is_reported_and_left_alone() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let db = data_dir.path().join("plenum.sqlite");
    std::fs::write(&db, b"this is not a database, and it must survive").expect("write");
    let env = test_env(data_dir.path());
    let config = plenum_node::config::load(&shipped_config(), &env).expect("config");
    let error = plenum_node::run::start(config).await.expect_err("refused");
    let message = format!("{error:#}");
    assert!(message.contains("plenum.sqlite"), "{message}");
    assert_eq!(
        std::fs::read(&db).expect("read"),
        b"this is not a database, and it must survive"
    );
}

#[tokio::test]
async fn a_full_node_answers_out_of_resource() {
    let node = TestNode::start_with(|c| c.node.max_participants = Some(2)).await;
    node.join("meet.open", "a", None).await;
    node.join("meet.pin", "b", Some("1234")).await;
    assert_eq!(
        node.try_join("meet.twopins", "c", Some("1234")).await.err(),
        Some(JoinRefusal::Refused(DisconnectReason::OutOfResource))
    );
    let (status, body) = node.request_token("meet.open", "d", None).await;
    assert_eq!(
        (status, body["result"].as_str()),
        (503, Some("Out of resource"))
    );
    node.stop().await;
}

/// `psql` against the test server (the PostgreSQL client is installed with the server).
fn psql(server: &str, sql: &str) {
    let out = std::process::Command::new("psql")
        .args([server, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `url` with its database name replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_at(url.find('?').unwrap_or(url.len()));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    format!("{}/{database}{query}", &base[..path])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_waits_for_an_unavailable_database_and_catches_up() {
    let server = match std::env::var("PLENUM_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ if std::env::var("PLENUM_SKIP_POSTGRES").as_deref() == Ok("1") => return,
        _ => panic!(
            "PLENUM_TEST_POSTGRES_URL is not set: run `eval \"$(scripts/test-postgres.sh env)\"` first"
        ),
    };
    let database = format!("plenum_e2e_{}", uuid::Uuid::new_v4().simple());
    psql(&server, &format!("CREATE DATABASE {database}"));
    let url = with_database(&server, &database);
    let node = TestNode::start_with(|c| {
        c.database = Some(plenum_node::config::Database::Postgres { url: url.clone() })
    })
    .await;
    let alice = node.join("meet.open", "Alice", None).await;
    let bob = node.join("meet.open", "Bob", None).await;
    let id = alice.conference.id;
    node.node.settle().await;

    // The database goes away: no new connections, the node's cut.
    psql(
        &server,
        &format!("ALTER DATABASE {database} ALLOW_CONNECTIONS false"),
    );
    psql(
        &server,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
        ),
    );

    // The meeting goes on: Bob leaves, Carol joins, everyone sees it at once.
    let pending_before = plenum_node::history::HISTORY_STATS.pending();
    bob.conference
        .leave(bob.participant, DisconnectReason::UserInitiated)
        .await;
    let carol = node.join("meet.open", "Carol", None).await;
    assert_eq!(carol.conference.id, id, "the same meeting");
    let snapshot = alice.conference.snapshot().await.expect("the meeting runs");
    let names: Vec<&str> = snapshot
        .state
        .participants
        .iter()
        .map(|p| p.display_name.as_str())
        .collect();
    assert_eq!(names, ["Alice", "Carol"]);

    // The rows wait in memory (counted for /metrics), not lost.
    let lost_before = plenum_node::history::HISTORY_STATS.lost();
    let mut waited = 0;
    while plenum_node::history::HISTORY_STATS.pending() < pending_before + 2 {
        assert!(
            waited < 300,
            "the history writer never noticed the database was gone"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }

    // The database is back: the history catches up, in order, with the real times.
    psql(
        &server,
        &format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true"),
    );
    let mut people = serde_json::Value::Null;
    for _ in 0..600 {
        let (status, body) = node
            .admin_get(&format!("history/conference/{id}/participant/"))
            .await;
        if status == 200
            && body["objects"].as_array().is_some_and(|o| {
                o.len() == 3
                    && o.iter()
                        .any(|p| p["display_name"] == "Bob" && p["disconnect_reason"].is_string())
            })
        {
            people = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let objects = people["objects"].as_array().expect("the history caught up");
    let bob_row = objects
        .iter()
        .find(|p| p["display_name"] == "Bob")
        .expect("Bob");
    assert_eq!(
        bob_row["disconnect_reason"],
        DisconnectReason::UserInitiated.text(),
        "{bob_row}"
    );
    assert!(objects.iter().any(|p| p["display_name"] == "Carol"));
    assert_eq!(
        plenum_node::history::HISTORY_STATS.lost(),
        lost_before,
        "nothing was lost"
    );
    node.stop().await;
    psql(&server, &format!("DROP DATABASE {database} WITH (FORCE)"));
}
