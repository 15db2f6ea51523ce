//! Calls to registered devices through the node's client backend, on a paused clock:
//! a call to a person rings the device (`incoming`), the one-time token answers or
//! declines it, an unanswered call ends with #pex150 after the ring timeout, the other
//! party's hang-up ends a two-party call with #pex151; a Host's dial (Add participant)
//! rings a device into a running meeting with the role asked, and a room's auto_dial
//! rings its devices when the meeting starts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use plenum_core::{DisconnectReason, Event, ParticipantId, PinInput, Refusal, Role, Secret};
use plenum_http::client::backend::{
    Caller, ClientBackend, DeviceCredentials, DialError, DialOrder, EventFeed, RegisterRequest,
    RegistrationBackend, RegistrationFeed, RegistrationNotice, SsoRequest, TokenGrant,
    TokenRefusal, TokenRequest,
};
use plenum_node::client::NodeClient;
use plenum_node::config;
use plenum_node::node::Node;

/// The hash of "alice-password" (as in config/services.toml).
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$7UPOb6YAjNP1+NG/hHkY0g$f/AWiT5rHdWTdavd1TS89/3vvZKiQ+reJzCgVCIpwoM";

fn services() -> String {
    format!(
        r#"
[[service]]
name = "Team room"
aliases = ["meet.team"]

[[service]]
name = "Hosted"
aliases = ["meet.hosted"]
host_pin = "1234"

[[service]]
name = "Lobby"
type = "reception"
aliases = ["lobby"]

[[service]]
name = "Standup"
aliases = ["meet.standup"]
auto_dial = [{{ alias = "bob.desk", role = "host" }}]

[[device]]
alias = "alice.desk"
username = "alice"
password_hash = "{HASH}"
description = "Alice Smith"

[[device]]
alias = "bob.desk"
username = "bob"
password_hash = "{HASH}"

[[device]]
alias = "carol.desk"
username = "carol"
password_hash = "{HASH}"
"#
    )
}

/// A node with the services above. Callers register their devices, then pause the
/// clock (the password check runs on a blocking thread, which a paused clock would
/// race).
async fn node() -> (Arc<Node>, NodeClient) {
    let services = services();
    let config = config::load_from_sources(&[("plenum.toml", ""), ("services.toml", &services)])
        .expect("valid config");
    let store = plenum_store::Store::open("sqlite::memory:")
        .await
        .expect("store");
    let node = Node::new(config, store).expect("node");
    (node.clone(), NodeClient(node))
}

/// Registers `alias` and opens its event stream.
async fn register(client: &NodeClient, alias: &str, user: &str) -> RegistrationFeed {
    let grant = client
        .register(RegisterRequest {
            alias: alias.to_owned(),
            credentials: DeviceCredentials::Password {
                username: user.to_owned(),
                password: Secret::new("alice-password".to_owned()),
            },
            client_addr: "192.0.2.20:40000".parse::<SocketAddr>().expect("addr"),
            user_agent: "calls-test".to_owned(),
        })
        .await
        .expect("registered");
    client
        .registration_feed(alias, grant.token.expose())
        .expect("feed")
}

fn request(alias: &str, name: &str, ticket: Option<&Secret>) -> TokenRequest {
    TokenRequest {
        alias: alias.into(),
        pin: PinInput::from_header(None),
        display_name: name.into(),
        conference_extension: None,
        join_ticket: ticket.cloned(),
        call_tag: None,
        client_addr: "192.0.2.30".parse().expect("ip"),
        sso: SsoRequest::default(),
    }
}

/// The next `incoming`: (conference alias, caller name, token).
async fn incoming(feed: &mut RegistrationFeed) -> (String, String, Secret) {
    if let Some(RegistrationNotice::Incoming {
        conference_alias,
        remote_display_name,
        token,
    }) = feed.ringing.pop()
    {
        return (conference_alias, remote_display_name, token);
    }
    loop {
        match feed.notices.recv().await.expect("notice") {
            RegistrationNotice::Incoming {
                conference_alias,
                remote_display_name,
                token,
            } => return (conference_alias, remote_display_name, token),
            _ => continue,
        }
    }
}

async fn cancelled(feed: &mut RegistrationFeed) -> Secret {
    loop {
        if let RegistrationNotice::IncomingCancelled { token } =
            feed.notices.recv().await.expect("notice")
        {
            return token;
        }
    }
}

fn caller_of(grant: &TokenGrant, client: &NodeClient, alias: &str) -> Caller {
    client
        .authenticate(alias, grant.token.expose())
        .expect("live token")
}

/// The event stream of the participant behind `grant`, reached at `alias`.
async fn feed_of(client: &NodeClient, grant: &TokenGrant, alias: &str) -> EventFeed {
    client
        .events(&caller_of(grant, client, alias))
        .await
        .expect("feed")
}

/// Dave calls the person at alice.desk: his grant and his event stream.
async fn dave_calls_alice(client: &NodeClient) -> (TokenGrant, EventFeed) {
    let dave = client
        .request_token(request("alice.desk", "Dave", None))
        .await
        .expect("the call is placed");
    let feed = feed_of(client, &dave, "alice.desk").await;
    (dave, feed)
}

/// Waits for `id` to leave; its reason.
async fn left(feed: &mut EventFeed, id: ParticipantId) -> DisconnectReason {
    loop {
        if let Event::ParticipantLeft {
            participant,
            reason,
        } = &feed.events.recv().await.expect("event").event
            && participant.id == id
        {
            return *reason;
        }
    }
}

#[tokio::test]
async fn a_call_to_a_person_rings_the_device_and_the_answer_joins_both() {
    let (node, client) = node().await;
    let mut alice = register(&client, "alice.desk", "alice").await;
    tokio::time::pause();
    let dave = client
        .request_token(request("alice.desk", "Dave", None))
        .await
        .expect("the call is placed");
    assert_eq!(dave.role, Role::Host);
    let ringing = dave
        .conference
        .participants
        .iter()
        .find(|p| p.id != dave.participant)
        .expect("Alice is in the roster")
        .clone();
    assert!(ringing.connecting && ringing.dialled && !ringing.is_admitted());
    assert_eq!(ringing.display_name, "Alice Smith");

    let (conference_alias, from, token) = incoming(&mut alice).await;
    assert_eq!(from, "Dave");
    assert!(conference_alias.starts_with("call."), "{conference_alias}");
    // The token answers only at the alias it rings for, and a registration token is
    // no answer.
    assert!(
        client
            .request_token(request("meet.team", "Alice", Some(&token)))
            .await
            .is_err()
    );
    let answered = client
        .request_token(request(&conference_alias, "Alice", Some(&token)))
        .await
        .expect("answered");
    assert_eq!(answered.participant, ringing.id);
    assert_eq!(answered.role, Role::Host);
    let me = answered
        .conference
        .participants
        .iter()
        .find(|p| p.id == ringing.id)
        .expect("in");
    assert!(me.is_admitted() && !me.connecting);
    assert_eq!(
        client
            .request_token(request(&conference_alias, "Alice", Some(&token)))
            .await
            .map(|g| g.participant),
        Err(TokenRefusal::Refused(DisconnectReason::InvalidToken)),
        "an incoming token is one-time"
    );
    // Alice hangs up: Dave's call is over with "Call disconnected" (#pex151).
    let mut dave_feed = feed_of(&client, &dave, "alice.desk").await;
    client
        .release_token(&conference_alias, answered.token.expose(), None)
        .await
        .expect("released");
    assert_eq!(
        left(&mut dave_feed, dave.participant).await,
        DisconnectReason::CallDisconnected
    );
    node.settle().await;
}

#[tokio::test]
async fn a_declined_call_ends_for_the_caller_with_call_rejected() {
    let (_node, client) = node().await;
    let mut alice = register(&client, "alice.desk", "alice").await;
    tokio::time::pause();
    let (dave, mut feed) = dave_calls_alice(&client).await;
    let (conference_alias, _, token) = incoming(&mut alice).await;
    assert!(
        client
            .release_token("meet.team", token.expose(), None)
            .await
            .is_err(),
        "declining works only at the call's alias"
    );
    client
        .release_token(&conference_alias, token.expose(), None)
        .await
        .expect("declined");
    let reason = left(&mut feed, dave.participant).await;
    assert_eq!(reason, DisconnectReason::CallDeclined);
    assert_eq!(reason.text(), "Call rejected");
    assert_eq!(cancelled(&mut alice).await.expose(), token.expose());
}

#[tokio::test]
async fn an_unanswered_call_ends_after_30_seconds_and_stops_ringing() {
    let (_node, client) = node().await;
    let mut alice = register(&client, "alice.desk", "alice").await;
    tokio::time::pause();
    let (dave, mut feed) = dave_calls_alice(&client).await;
    let (conference_alias, _, token) = incoming(&mut alice).await;
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(
        left(&mut feed, dave.participant).await,
        DisconnectReason::CallNotAnswered
    );
    assert_eq!(cancelled(&mut alice).await.expose(), token.expose());
    assert!(
        client
            .request_token(request(&conference_alias, "Alice", Some(&token)))
            .await
            .is_err(),
        "too late to answer"
    );
}

#[tokio::test]
async fn calling_a_device_nobody_is_registered_at_is_refused_clearly() {
    let (_node, client) = node().await;
    assert_eq!(
        client
            .request_token(request("bob.desk", "Dave", None))
            .await
            .map(|g| g.participant),
        Err(TokenRefusal::Refused(DisconnectReason::DeviceNotRegistered))
    );
}

#[tokio::test]
async fn a_host_adds_a_registered_device_as_guest_and_cancels_another() {
    let (_node, client) = node().await;
    let mut alice = register(&client, "alice.desk", "alice").await;
    let mut carol = register(&client, "carol.desk", "carol").await;
    tokio::time::pause();
    let mut host_request = request("meet.hosted", "Hester", None);
    host_request.pin = PinInput::from_header(Some("1234"));
    let host = client.request_token(host_request).await.expect("host");
    client
        .command(
            &caller_of(&host, &client, "meet.hosted"),
            plenum_core::Command::StartConference,
        )
        .await
        .expect("live")
        .expect("started");
    let mut guest_request = request("meet.hosted", "Gus", None);
    guest_request.pin = PinInput::from_header(Some("none"));
    let guest = client.request_token(guest_request).await.expect("guest");
    let host_caller = caller_of(&host, &client, "meet.hosted");
    let guest_caller = caller_of(&guest, &client, "meet.hosted");
    let order = |to: &str, role| DialOrder {
        destination: to.to_owned(),
        role,
        display_name: None,
        caller_name: None,
        keeps_alive: true,
    };
    assert_eq!(
        client
            .dial(&guest_caller, order("alice.desk", Role::Guest))
            .await,
        Err(DialError::Refused(Refusal::HostOnly))
    );
    assert_eq!(
        client
            .dial(&host_caller, order("bob.desk", Role::Guest))
            .await,
        Err(DialError::NotRegistered)
    );
    assert_eq!(
        client
            .dial(&host_caller, order("someone@elsewhere", Role::Guest))
            .await,
        Err(DialError::NoGateway)
    );
    let devices = client
        .dialable_devices(&host_caller, "smith")
        .await
        .expect("host directory");
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].alias, "alice.desk");
    assert!(devices[0].registered);
    assert_eq!(
        client
            .dialable_devices(&guest_caller, "")
            .await
            .map(|d| d.len()),
        Err(DialError::Refused(Refusal::HostOnly))
    );

    let dialled = client
        .dial(&host_caller, order("alice.desk", Role::Guest))
        .await
        .expect("rings");
    let (conference_alias, from, token) = incoming(&mut alice).await;
    assert_eq!(from, "Hester");
    assert_eq!(conference_alias, "meet.hosted");
    let answered = client
        .request_token(request(&conference_alias, "Alice", Some(&token)))
        .await
        .expect("answered");
    assert_eq!(answered.participant, dialled);
    assert_eq!(answered.role, Role::Guest);

    // Carol rings, and the Host cancels it by disconnecting the ringing participant.
    let mut feed = client.events(&host_caller).await.expect("feed");
    let ringing = client
        .dial(&host_caller, order("carol.desk", Role::Host))
        .await
        .expect("rings");
    let (_, _, carol_token) = incoming(&mut carol).await;
    client
        .command(&host_caller, plenum_core::Command::Disconnect(ringing))
        .await
        .expect("live")
        .expect("cancelled");
    assert_eq!(
        left(&mut feed, ringing).await,
        DisconnectReason::DisconnectedByHost
    );
    assert_eq!(cancelled(&mut carol).await.expose(), carol_token.expose());
}

#[tokio::test]
async fn a_rooms_auto_dial_rings_its_devices_when_the_meeting_starts() {
    let (_node, client) = node().await;
    let mut bob = register(&client, "bob.desk", "bob").await;
    tokio::time::pause();
    let first = client
        .request_token(request("meet.standup", "Erin", None))
        .await
        .expect("in");
    let (conference_alias, from, token) = incoming(&mut bob).await;
    assert_eq!(conference_alias, "meet.standup");
    assert_eq!(from, "Standup");
    let answered = client
        .request_token(request(&conference_alias, "Bob", Some(&token)))
        .await
        .expect("answered");
    assert_eq!(answered.role, Role::Host);
    // Not set to keep the meeting alive: when Erin leaves, Bob goes too (#pex140).
    let mut feed = feed_of(&client, &answered, "meet.standup").await;
    client
        .release_token("meet.standup", first.token.expose(), None)
        .await
        .expect("released");
    assert_eq!(
        left(&mut feed, answered.participant).await,
        DisconnectReason::NoParticipantsCanKeepAlive
    );
}

#[tokio::test]
async fn a_device_alias_keyed_at_a_reception_calls_the_person() {
    let (_node, client) = node().await;
    let mut alice = register(&client, "alice.desk", "alice").await;
    tokio::time::pause();
    let mut keyed = request("lobby", "Dave", None);
    keyed.conference_extension = Some("alice.desk".into());
    let dave = client.request_token(keyed).await.expect("placed");
    assert_eq!(dave.role, Role::Host);
    let (conference_alias, from, token) = incoming(&mut alice).await;
    assert_eq!(from, "Dave");
    let answered = client
        .request_token(request(&conference_alias, "Alice", Some(&token)))
        .await
        .expect("answered");
    assert!(
        answered
            .conference
            .participants
            .iter()
            .any(|p| p.id == dave.participant),
        "both in one call"
    );
    assert!(client.authenticate("lobby", dave.token.expose()).is_ok());
}
