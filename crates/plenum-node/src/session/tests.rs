//! Token lifecycle tests on a virtual clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use plenum_core::{Entry, ParticipantId, Role, ServiceConfig, ServiceKind};
use tokio::sync::mpsc;

use super::*;
use crate::driver;

fn session(participant: ParticipantId, expires_at: Instant) -> Session {
    let service = Arc::new(ServiceConfig::new("room", ServiceKind::Vmr, &["room"]));
    let (history, _) = mpsc::unbounded_channel();
    let (departures, _) = mpsc::unbounded_channel();
    let media = Arc::new(plenum_media::engine::EngineConfig {
        peer: plenum_media::peer::PeerConfig::new(std::net::Ipv4Addr::LOCALHOST.into()),
        room: plenum_media::engine::RoomConfig::default(),
    });
    let conference = driver::spawn(service, "room".into(), history, departures, media, |_| {});
    Session {
        participant,
        conference,
        service_name: "room".into(),
        joined_alias: "room".into(),
        expires_at,
    }
}

fn id(n: u128) -> ParticipantId {
    ParticipantId(uuid::Uuid::from_u128(n))
}

#[test]
fn tokens_are_long_random_and_url_safe() {
    let a = new_token();
    let b = new_token();
    assert_ne!(a, b);
    assert!(a.expose().len() >= 43, "256 bits in base64url");
    assert!(
        a.expose()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
}

#[tokio::test(start_paused = true)]
async fn a_token_lives_until_its_session_expires() {
    let now = driver::now();
    let mut sessions = Sessions::default();
    let token = new_token();
    sessions.insert(&token, session(id(1), now + TOKEN_LIFETIME));
    assert_eq!(
        sessions.lookup(now, token.expose()).map(|s| s.participant),
        Some(id(1))
    );
    assert!(
        sessions
            .lookup(now + TOKEN_LIFETIME, token.expose())
            .is_none()
    );
    assert!(sessions.lookup(now, "not-a-token").is_none());
    assert_eq!(sessions.take_expired(now + TOKEN_LIFETIME).len(), 1);
    assert!(sessions.is_empty());
}

#[tokio::test(start_paused = true)]
async fn refresh_rotates_with_an_overlap_and_extends_the_session() {
    let now = driver::now();
    let mut sessions = Sessions::default();
    let first = new_token();
    sessions.insert(&first, session(id(1), now + TOKEN_LIFETIME));
    let later = now + Duration::from_secs(40);
    let second = new_token();
    let extended = sessions
        .refresh(later, first.expose(), &second)
        .expect("live token")
        .expires_at;
    assert_eq!(extended, later + TOKEN_LIFETIME);
    // The old token still works for a moment, the new one for the whole lifetime.
    assert!(
        sessions
            .lookup(
                later + ROTATION_OVERLAP - Duration::from_secs(1),
                first.expose()
            )
            .is_some()
    );
    assert!(
        sessions
            .lookup(later + ROTATION_OVERLAP, first.expose())
            .is_none()
    );
    assert!(
        sessions
            .lookup(later + Duration::from_secs(119), second.expose())
            .is_some()
    );
    // A rotated-out token cannot refresh once its overlap is over.
    assert!(
        sessions
            .refresh(later + ROTATION_OVERLAP, first.expose(), &new_token())
            .is_none()
    );
    assert_eq!(sessions.next_expiry(), Some(extended));
}

#[tokio::test(start_paused = true)]
async fn removing_a_session_invalidates_every_token() {
    let now = driver::now();
    let mut sessions = Sessions::default();
    let first = new_token();
    sessions.insert(&first, session(id(1), now + TOKEN_LIFETIME));
    let second = new_token();
    sessions
        .refresh(now, first.expose(), &second)
        .expect("refresh");
    sessions.insert(&new_token(), session(id(2), now + TOKEN_LIFETIME));
    assert!(sessions.remove(id(1)).is_some());
    assert!(sessions.lookup(now, first.expose()).is_none());
    assert!(sessions.lookup(now, second.expose()).is_none());
    assert_eq!(sessions.len(), 1);
}

#[test]
fn tickets_are_one_time_and_lapse() {
    let now = Instant::now();
    let entry = Entry {
        service: Arc::new(ServiceConfig::new("room", ServiceKind::Vmr, &["room"])),
        role: Role::Guest,
        via_host_pin: false,
    };
    let mut tickets = Tickets::default();
    let ticket = tickets.issue(now, entry.clone());
    assert_eq!(tickets.redeem(now, ticket.expose()), Some(entry.clone()));
    assert_eq!(tickets.redeem(now, ticket.expose()), None);
    let late = tickets.issue(now, entry);
    assert_eq!(tickets.redeem(now + TICKET_LIFETIME, late.expose()), None);
}
