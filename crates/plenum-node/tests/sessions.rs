//! API sessions on a paused clock: tokens expire unrefreshed and the participant leaves
//! with "Timer expired awaiting token refresh"; refreshing keeps them in; release and
//! disconnects end sessions; transfer tickets are one-time.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use plenum_core::{Command, DisconnectReason, Event, PinInput, Role};
use plenum_http::client::backend::{
    ClientBackend, TokenGrant, TokenRefusal, TokenRequest, TransferError,
};
use plenum_node::client::NodeClient;
use plenum_node::config;
use plenum_node::node::Node;

/// A node on the shipped config with an in-memory database, after which the clock is
/// paused. (History writes may then time out in the database pool: these tests don't
/// look at history, and the writer logs and carries on.)
async fn node() -> Arc<Node> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let config = config::load_dir(&dir).expect("shipped config");
    let store = plenum_store::Store::open("sqlite::memory:")
        .await
        .expect("store");
    tokio::time::pause();
    Node::new(config, store).expect("node")
}

fn request(alias: &str, name: &str, pin: Option<&str>) -> TokenRequest {
    TokenRequest {
        alias: alias.into(),
        pin: PinInput::from_header(pin),
        display_name: name.into(),
        conference_extension: None,
        join_ticket: None,
        call_tag: None,
        client_addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
        sso: Default::default(),
    }
}

async fn join(client: &NodeClient, alias: &str, name: &str, pin: Option<&str>) -> TokenGrant {
    client
        .request_token(request(alias, name, pin))
        .await
        .expect("token granted")
}

#[tokio::test]
async fn an_unrefreshed_token_expires_and_its_participant_leaves() {
    let client = NodeClient(node().await);
    let alice = join(&client, "meet.open", "Alice", None).await;
    let bob = join(&client, "meet.open", "Bob", None).await;
    let caller = client
        .authenticate("meet.open", alice.token.expose())
        .expect("live");
    let mut feed = client.events(&caller).await.expect("feed");

    // Alice refreshes in time, Bob does not.
    let mut token = alice.token.clone();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_secs(40)).await;
        token = client
            .refresh_token("meet.open", token.expose())
            .await
            .expect("refresh")
            .token;
    }
    let left = loop {
        match &feed.events.recv().await.expect("event").event {
            Event::ParticipantLeft {
                participant,
                reason,
            } => break (participant.id, *reason),
            _ => continue,
        }
    };
    assert_eq!(left, (bob.participant, DisconnectReason::TokenExpired));
    assert!(
        client
            .authenticate("meet.open", bob.token.expose())
            .is_err()
    );
    assert!(client.authenticate("meet.open", token.expose()).is_ok());
}

#[tokio::test]
async fn release_ends_the_session_and_tokens_work_only_for_their_conference() {
    let client = NodeClient(node().await);
    let alice = join(&client, "meet.open", "Alice", None).await;
    let _bob = join(&client, "meet.open", "Bob", None).await;
    assert!(
        client.authenticate("1001", alice.token.expose()).is_ok(),
        "any alias of the room"
    );
    assert!(
        client
            .authenticate("meet.pin", alice.token.expose())
            .is_err(),
        "not another room"
    );
    client
        .release_token("meet.open", alice.token.expose(), None)
        .await
        .expect("release");
    assert!(
        client
            .authenticate("meet.open", alice.token.expose())
            .is_err()
    );
    assert!(
        client
            .release_token("meet.open", alice.token.expose(), None)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_disconnected_participants_token_stops_working() {
    let client = NodeClient(node().await);
    let host = join(&client, "meet.pin", "Host", Some("1234")).await;
    let guest = join(&client, "meet.pin", "Guest", Some("none")).await;
    let caller = client
        .authenticate("meet.pin", host.token.expose())
        .expect("live");
    let outcome = client
        .command(&caller, Command::Disconnect(guest.participant))
        .await
        .expect("live");
    assert_eq!(outcome, Ok(()));
    // The node learns of the departure asynchronously; give its tasks a turn.
    for _ in 0..100 {
        if client
            .authenticate("meet.pin", guest.token.expose())
            .is_err()
        {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the disconnected guest's token still works");
}

#[tokio::test]
async fn pin_prompts_and_refusals_reach_the_client() {
    let client = NodeClient(node().await);
    let refused = |alias: &'static str, pin: Option<&'static str>| {
        let client = client.clone();
        async move { client.request_token(request(alias, "x", pin)).await.err() }
    };
    assert_eq!(
        refused("meet.pin", None).await,
        Some(TokenRefusal::PinRequired { guest_pin: false })
    );
    assert_eq!(
        refused("meet.twopins", None).await,
        Some(TokenRefusal::PinRequired { guest_pin: true })
    );
    assert_eq!(
        refused("reception", None).await,
        Some(TokenRefusal::ExtensionRequired)
    );
    assert_eq!(
        refused("nowhere", None).await,
        Some(TokenRefusal::Refused(DisconnectReason::AliasNotFound))
    );
    assert_eq!(
        refused("meet.pin", Some("9999")).await,
        Some(TokenRefusal::Refused(DisconnectReason::InvalidPin))
    );
    let grant = join(&client, "meet.twopins", "g", Some("5678#")).await;
    assert_eq!(grant.role, Role::Guest);
    let mut via_reception = request("reception", "r", None);
    via_reception.conference_extension = Some("1001".into());
    let grant = client
        .request_token(via_reception)
        .await
        .expect("extension leads to meet.open");
    assert!(
        client
            .authenticate("reception", grant.token.expose())
            .is_ok(),
        "the dialled alias keeps working"
    );
}

#[tokio::test]
async fn transfer_refers_the_target_with_a_one_time_ticket() {
    let client = NodeClient(node().await);
    let host = join(&client, "meet.open", "Host", None).await;
    let guest = join(&client, "meet.open", "Guest", None).await;
    let host_caller = client
        .authenticate("meet.open", host.token.expose())
        .expect("live");
    let mut feed = client.events(&host_caller).await.expect("feed");

    let wrong_pin = client
        .transfer(
            &host_caller,
            guest.participant,
            "meet.twopins".into(),
            Role::Host,
            Some("0000".into()),
        )
        .await;
    assert_eq!(wrong_pin, Err(TransferError::Failed));
    client
        .transfer(
            &host_caller,
            guest.participant,
            "meet.twopins".into(),
            Role::Host,
            Some("1234".into()),
        )
        .await
        .expect("transfer");
    let ticket = loop {
        if let Event::ParticipantReferred {
            id, alias, ticket, ..
        } = &feed.events.recv().await.expect("event").event
        {
            assert_eq!((*id, alias.as_str()), (guest.participant, "meet.twopins"));
            break ticket.clone();
        }
    };
    let mut rejoin = request("meet.twopins", "Guest", None);
    rejoin.join_ticket = Some(ticket.clone());
    let grant = client
        .request_token(rejoin.clone())
        .await
        .expect("ticket admits without PIN");
    assert_eq!(grant.role, Role::Host);
    assert_eq!(
        client.request_token(rejoin).await.err(),
        Some(TokenRefusal::Refused(DisconnectReason::InvalidToken)),
        "a ticket works once"
    );
}
