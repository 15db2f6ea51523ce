//! Device registration through the node's client backend: the credential check (one
//! answer for unknown alias and wrong password, back-off per address and per alias),
//! tokens kept apart from conference tokens, refresh, release, expiry, the rows admins
//! see, and the directory.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use plenum_core::{DisconnectReason, PinInput, Secret};
use plenum_http::client::backend::{
    ClientBackend, DeviceCredentials, DirectoryError, IdpChoice, RegisterRefusal, RegisterRequest,
    RegistrationBackend, RegistrationNotice, SsoRequest, TokenRequest,
};
use plenum_node::client::NodeClient;
use plenum_node::config::{self, idp_uuid};
use plenum_node::node::Node;

/// The hash of "alice-password" (as in config/services.toml).
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$7UPOb6YAjNP1+NG/hHkY0g$f/AWiT5rHdWTdavd1TS89/3vvZKiQ+reJzCgVCIpwoM";

fn services() -> String {
    format!(
        r#"
[[service]]
name = "Team room"
aliases = ["meet.team", "1234"]

[[service]]
name = "Echo test"
type = "test_call"
aliases = ["test.call"]

[[device]]
alias = "alice.desk"
username = "alice"
password_hash = "{HASH}"
description = "Alice Smith"

[[device]]
alias = "bob.desk"
username = "bob"
password_hash = "{HASH}"

[[identity_provider]]
name = "Corp"
issuer = "http://127.0.0.1:9"
client_id = "plenum"

[[device]]
alias = "carol.sso"
username = "carol@example.com"
sso = true
"#
    )
}

async fn node_with(switches: &str) -> Arc<Node> {
    let main = format!("[switches]\n{switches}\n");
    let services = services();
    let config = config::load_from_sources(&[("plenum.toml", &main), ("services.toml", &services)])
        .expect("valid config");
    let store = plenum_store::Store::open("sqlite::memory:")
        .await
        .expect("store");
    Node::new(config, store).expect("node")
}

fn from(addr: &str, alias: &str, username: &str, password: &str) -> RegisterRequest {
    RegisterRequest {
        alias: alias.to_owned(),
        credentials: DeviceCredentials::Password {
            username: username.to_owned(),
            password: Secret::new(password.to_owned()),
        },
        client_addr: addr.parse::<SocketAddr>().expect("addr"),
        user_agent: "registration-test".to_owned(),
    }
}

fn attempt(alias: &str, username: &str, password: &str) -> RegisterRequest {
    from("192.0.2.10:40000", alias, username, password)
}

#[tokio::test]
async fn good_credentials_register_and_every_bad_one_gets_the_same_answer() {
    let node = node_with("").await;
    let client = NodeClient(node.clone());
    let grant = client
        .register(attempt("ALICE.desk", "alice", "alice-password"))
        .await
        .expect("registered");
    assert!(grant.directory_enabled);
    assert!(!grant.route_via_registrar);
    assert!(node.is_registered("sip:alice.desk"));
    let rows = node
        .store()
        .live_registrations(SystemTime::now())
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, grant.registration);
    assert_eq!(rows[0].alias, "alice.desk");
    assert_eq!(rows[0].username, "alice");
    assert_eq!(rows[0].remote_address, "192.0.2.10:40000");
    assert_eq!(rows[0].user_agent, "registration-test");
    // What the admin status API (`/registration/`) lists.
    use plenum_http::AdminBackend as _;
    let listed = plenum_node::admin::NodeAdmin(node.clone())
        .live_registrations()
        .await
        .expect("listing");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, grant.registration);
    assert_eq!(listed[0].alias, "alice.desk");
    assert_eq!(listed[0].remote_addr.to_string(), "192.0.2.10:40000");

    for bad in [
        attempt("alice.desk", "alice", "wrong"),
        attempt("alice.desk", "bob", "alice-password"),
        attempt("nobody.desk", "alice", "alice-password"),
        attempt("meet.team", "alice", "alice-password"),
        // A single sign-on device has no password to check.
        attempt("carol.sso", "carol@example.com", "alice-password"),
    ] {
        let alias = bad.alias.clone();
        assert_eq!(
            client.register(bad).await.map(|g| g.registration),
            Err(RegisterRefusal::BadCredentials),
            "{alias}"
        );
    }
}

fn signing_in(alias: &str, sso: SsoRequest) -> RegisterRequest {
    RegisterRequest {
        credentials: DeviceCredentials::SingleSignOn(sso),
        ..from("192.0.2.20:40000", alias, "", "")
    }
}

#[tokio::test]
async fn without_credentials_every_alias_is_offered_the_devices_identity_providers() {
    let node = node_with("").await;
    let client = NodeClient(node.clone());
    // The same list for a single sign-on device, a password device, a room and an
    // unknown alias: nobody learns which aliases exist.
    for alias in ["carol.sso", "alice.desk", "meet.team", "nobody.desk"] {
        assert_eq!(
            client
                .register(signing_in(alias, SsoRequest::default()))
                .await
                .map(|g| g.registration),
            Err(RegisterRefusal::IdpRequired(vec![IdpChoice {
                name: "Corp".into(),
                uuid: idp_uuid("corp"),
            }])),
            "{alias}"
        );
    }
    let chose = |idp: String, target: &str| SsoRequest {
        chosen_idp: Some(idp),
        sso_token: None,
        redirect_target: Some(target.to_owned()),
    };
    let corp = idp_uuid("corp").to_string();
    let origin = node.sso().origin(&node.config().node.public_name);
    let back = format!("{origin}/webapp/home?sso_token=__pexip-sso-token__");
    let refused = |reason| Err(RegisterRefusal::Refused(reason));
    let cases = [
        (
            chose(uuid_of_nothing(), &back),
            refused(DisconnectReason::SsoFailed),
        ),
        (
            chose(
                corp.clone(),
                "https://evil.example.net/?t=__pexip-sso-token__",
            ),
            refused(DisconnectReason::SsoForeignDomain),
        ),
        (
            chose(corp.clone(), &format!("{origin}/webapp/home")),
            refused(DisconnectReason::SsoFailed),
        ),
        // A good choice, but the provider's discovery document is unreachable here.
        (chose(corp, &back), refused(DisconnectReason::SsoFailed)),
    ];
    for (sso, expected) in cases {
        assert_eq!(
            client
                .register(signing_in("carol.sso", sso))
                .await
                .map(|g| g.registration),
            expected
        );
    }
    // A made-up one-time token is refused like a wrong password (and counted).
    let made_up = SsoRequest {
        sso_token: Some(Secret::new("x".repeat(43))),
        ..SsoRequest::default()
    };
    assert_eq!(
        client
            .register(signing_in("carol.sso", made_up))
            .await
            .map(|g| g.registration),
        Err(RegisterRefusal::BadCredentials)
    );
    assert!(!node.is_registered("carol.sso"));
}

fn uuid_of_nothing() -> String {
    "00000000-0000-5000-8000-000000000000".to_owned()
}

#[tokio::test]
async fn without_single_sign_on_devices_no_credentials_is_a_bad_credential() {
    let services = format!(
        "[[device]]\nalias = \"alice.desk\"\nusername = \"alice\"\npassword_hash = \"{HASH}\"\n"
    );
    let config = config::load_from_sources(&[("plenum.toml", ""), ("services.toml", &services)])
        .expect("valid config");
    let store = plenum_store::Store::open("sqlite::memory:")
        .await
        .expect("store");
    let client = NodeClient(Node::new(config, store).expect("node"));
    assert_eq!(
        client
            .register(signing_in("alice.desk", SsoRequest::default()))
            .await
            .map(|g| g.registration),
        Err(RegisterRefusal::BadCredentials)
    );
}

#[tokio::test]
async fn failures_back_off_per_address_and_per_alias() {
    let node = node_with("").await;
    let client = NodeClient(node);
    for i in 0..5 {
        let r = client
            .register(from(
                &format!("192.0.2.{i}:1"),
                "alice.desk",
                "alice",
                "nope",
            ))
            .await;
        assert_eq!(
            r.map(|g| g.registration),
            Err(RegisterRefusal::BadCredentials)
        );
    }
    // The sixth failure for the alias (each from a fresh address) holds the alias back.
    let r = client
        .register(from("192.0.2.100:1", "alice.desk", "alice", "nope"))
        .await;
    assert_eq!(
        r.map(|g| g.registration),
        Err(RegisterRefusal::BadCredentials)
    );
    let held = client
        .register(from(
            "198.51.100.1:1",
            "alice.desk",
            "alice",
            "alice-password",
        ))
        .await
        .map(|g| g.registration);
    assert!(
        matches!(held, Err(RegisterRefusal::TooManyFailures { retry_after }) if retry_after > Duration::ZERO),
        "{held:?}"
    );
    // Another alias from a fresh address is not held back.
    client
        .register(from("198.51.100.2:1", "bob.desk", "bob", "alice-password"))
        .await
        .expect("bob registers");
    // One address guessing many aliases is held back for all of them.
    for i in 0..6 {
        let _ = client
            .register(from("203.0.113.7:1", &format!("guess{i}.desk"), "x", "y"))
            .await;
    }
    let held = client
        .register(from("203.0.113.7:2", "bob.desk", "bob", "alice-password"))
        .await
        .map(|g| g.registration);
    assert!(
        matches!(held, Err(RegisterRefusal::TooManyFailures { .. })),
        "{held:?}"
    );
}

/// Dave joins the team room, with a join ticket if given.
fn join_team(join_ticket: Option<Secret>) -> TokenRequest {
    TokenRequest {
        alias: "meet.team".into(),
        pin: PinInput::from_header(None),
        display_name: "Dave".into(),
        conference_extension: None,
        join_ticket,
        call_tag: None,
        client_addr: "192.0.2.10".parse().expect("ip"),
        sso: SsoRequest::default(),
    }
}

#[tokio::test]
async fn registration_and_conference_tokens_are_never_interchangeable() {
    let node = node_with("").await;
    let client = NodeClient(node.clone());
    let grant = client
        .register(attempt("alice.desk", "alice", "alice-password"))
        .await
        .expect("registered");
    let token = grant.token.expose().to_owned();
    assert!(client.authenticate("alice.desk", &token).is_err());
    assert!(client.authenticate("meet.team", &token).is_err());
    assert!(client.refresh_token("meet.team", &token).await.is_err());
    let joined = client
        // A registration token is no join ticket either.
        .request_token(join_team(Some(grant.token.clone())))
        .await;
    assert!(joined.is_err(), "a registration token is not a join ticket");
    let conference = client
        .request_token(join_team(None))
        .await
        .expect("joined the room");
    let conference_token = conference.token.expose().to_owned();
    assert!(
        client
            .refresh_registration("alice.desk", &conference_token)
            .await
            .is_err()
    );
    assert!(
        client
            .registration_feed("alice.desk", &conference_token)
            .is_err()
    );
    assert_eq!(
        client.directory(&conference_token, "").map(|e| e.len()),
        Err(DirectoryError::InvalidToken)
    );
    assert!(
        client
            .release_registration("alice.desk", &conference_token)
            .await
            .is_err()
    );
    // And a token of one device does not act for another.
    assert!(client.registration_feed("bob.desk", &token).is_err());
}

#[tokio::test]
async fn refresh_rotates_and_release_ends_the_stream_and_the_row() {
    let node = node_with("").await;
    let client = NodeClient(node.clone());
    let grant = client
        .register(attempt("alice.desk", "alice", "alice-password"))
        .await
        .expect("registered");
    let mut feed = client
        .registration_feed("alice.desk", grant.token.expose())
        .expect("feed");
    assert!(feed.ringing.is_empty());
    let new = client
        .refresh_registration("alice.desk", grant.token.expose())
        .await
        .expect("refreshed");
    assert_ne!(new.expose(), grant.token.expose());
    client
        .release_registration("alice.desk", new.expose())
        .await
        .expect("released");
    assert_eq!(
        feed.notices.recv().await.ok(),
        Some(RegistrationNotice::Ended)
    );
    assert!(!node.is_registered("alice.desk"));
    assert!(
        node.store()
            .live_registrations(SystemTime::now())
            .await
            .expect("rows")
            .is_empty()
    );
    assert!(
        client
            .refresh_registration("alice.desk", new.expose())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn an_unrefreshed_registration_expires() {
    let node = node_with("").await;
    let client = NodeClient(node.clone());
    let grant = client
        .register(attempt("alice.desk", "alice", "alice-password"))
        .await
        .expect("registered");
    let mut feed = client
        .registration_feed("alice.desk", grant.token.expose())
        .expect("feed");
    // From here on the clock is virtual: jump past the token lifetime.
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(121)).await;
    assert_eq!(
        feed.notices.recv().await.ok(),
        Some(RegistrationNotice::Ended)
    );
    assert!(!node.is_registered("alice.desk"));
    assert!(
        client
            .refresh_registration("alice.desk", grant.token.expose())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_directory_lists_rooms_and_devices_and_can_be_turned_off() {
    let node = node_with("").await;
    let client = NodeClient(node);
    let grant = client
        .register(attempt("bob.desk", "bob", "alice-password"))
        .await
        .expect("registered");
    let token = grant.token.expose();
    let all = client.directory(token, "").expect("directory");
    let listed: Vec<(&str, &str)> = all
        .iter()
        .map(|e| (e.alias.as_str(), e.description.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("alice.desk", "Alice Smith"),
            ("bob.desk", "bob.desk"),
            ("carol.sso", "carol.sso"),
            ("meet.team", "Team room"),
        ],
        "rooms by their first alias and name, devices by alias and description; no test call"
    );
    let found = client.directory(token, "SMITH").expect("directory");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].alias, "alice.desk");
    assert!(
        client
            .directory(token, "no such thing")
            .expect("directory")
            .is_empty()
    );
    assert_eq!(
        client.directory("made-up", "").map(|e| e.len()),
        Err(DirectoryError::InvalidToken)
    );

    let off = NodeClient(node_with("directory_enabled = false").await);
    let grant = off
        .register(attempt("bob.desk", "bob", "alice-password"))
        .await
        .expect("registered");
    assert!(!grant.directory_enabled);
    assert_eq!(
        off.directory(grant.token.expose(), "").map(|e| e.len()),
        Err(DirectoryError::Disabled)
    );
}

#[tokio::test]
async fn maintenance_and_disabled_client_access_refuse_registration() {
    let node = node_with("maintenance_mode = true").await;
    let refusal = NodeClient(node)
        .register(attempt("alice.desk", "alice", "alice-password"))
        .await
        .map(|g| g.registration);
    assert_eq!(
        refusal,
        Err(RegisterRefusal::Refused(
            plenum_core::DisconnectReason::MaintenanceMode
        ))
    );
    let node = node_with("client_access_enabled = false").await;
    let refusal = NodeClient(node)
        .register(attempt("alice.desk", "alice", "alice-password"))
        .await
        .map(|g| g.registration);
    assert_eq!(
        refusal,
        Err(RegisterRefusal::Refused(
            plenum_core::DisconnectReason::ClientAccessDisabled
        ))
    );
}

#[tokio::test]
async fn a_restarted_node_clears_the_previous_runs_registrations() {
    let store = plenum_store::Store::open("sqlite::memory:")
        .await
        .expect("store");
    store
        .registration_started(&plenum_store::NewRegistration {
            id: uuid::Uuid::new_v4(),
            alias: "alice.desk".into(),
            username: "alice".into(),
            remote_address: "192.0.2.1:1".into(),
            user_agent: String::new(),
            registered_at: SystemTime::now(),
            expires_at: SystemTime::now() + Duration::from_secs(120),
        })
        .await
        .expect("row");
    plenum_node::node::registrations::clear_stale(&store).await;
    assert!(
        store
            .live_registrations(SystemTime::now())
            .await
            .expect("rows")
            .is_empty()
    );
}
