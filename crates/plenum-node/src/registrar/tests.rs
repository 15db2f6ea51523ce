//! Registrar state on a virtual clock: tokens, expiry, release, rings.

use std::time::{Duration, Instant};

use plenum_http::client::backend::RegistrationNotice;

use super::*;

fn registrant(alias: &str) -> Registrant {
    Registrant {
        alias: alias.to_owned(),
        username: "user".to_owned(),
        client: "192.0.2.1:50000".parse().expect("addr"),
        user_agent: "test".to_owned(),
    }
}

fn next(rx: &mut broadcast::Receiver<RegistrationNotice>) -> Option<RegistrationNotice> {
    rx.try_recv().ok()
}

#[test]
fn a_token_acts_for_its_alias_only_until_it_expires() {
    let t0 = Instant::now();
    let mut registrar = Registrar::<u32>::default();
    let (reg, token) = registrar.register(t0, registrant("Alice.Desk"));
    assert_eq!(
        registrar
            .lookup(t0, "sip:alice.desk", token.expose())
            .map(|r| r.id),
        Some(reg.id)
    );
    assert!(registrar.lookup(t0, "bob.desk", token.expose()).is_none());
    assert!(registrar.lookup(t0, "alice.desk", "made-up").is_none());
    assert!(registrar.is_registered(t0, "ALICE.desk"));
    let end = t0 + TOKEN_LIFETIME;
    assert!(
        registrar
            .lookup(end, "alice.desk", token.expose())
            .is_none()
    );
    let expired = registrar.take_expired(end);
    assert_eq!(expired.len(), 1);
    assert!(!registrar.is_registered(end, "alice.desk"));
    assert_eq!(registrar.next_deadline(), None);
}

#[test]
fn refresh_rotates_with_overlap_and_extends() {
    let t0 = Instant::now();
    let mut registrar = Registrar::<u32>::default();
    let (_, first) = registrar.register(t0, registrant("alice"));
    let t1 = t0 + Duration::from_secs(60);
    let (reg, second) = registrar
        .refresh(t1, "alice", first.expose())
        .expect("live token refreshes");
    assert_eq!(reg.expires_at, t1 + TOKEN_LIFETIME);
    assert_ne!(first.expose(), second.expose());
    assert!(registrar.lookup(t1, "alice", first.expose()).is_some());
    let t2 = t1 + ROTATION_OVERLAP;
    assert!(registrar.lookup(t2, "alice", first.expose()).is_none());
    assert!(registrar.lookup(t2, "alice", second.expose()).is_some());
    // Past the first lifetime, alive thanks to the refresh.
    assert!(registrar.take_expired(t0 + TOKEN_LIFETIME).is_empty());
    assert!(registrar.refresh(t2, "bob", second.expose()).is_none());
}

#[test]
fn release_ends_the_registration_and_its_stream() {
    let t0 = Instant::now();
    let mut registrar = Registrar::<u32>::default();
    let (_, token) = registrar.register(t0, registrant("alice"));
    let mut feed = registrar.feed(t0, "alice", token.expose()).expect("feed");
    assert!(registrar.release(t0, "bob", token.expose()).is_none());
    assert!(registrar.release(t0, "alice", token.expose()).is_some());
    assert_eq!(next(&mut feed.notices), Some(RegistrationNotice::Ended));
    assert!(registrar.lookup(t0, "alice", token.expose()).is_none());
    assert!(registrar.release(t0, "alice", token.expose()).is_none());
}

#[test]
fn a_ring_reaches_every_registration_of_the_device_and_its_token_is_one_time() {
    let t0 = Instant::now();
    let mut registrar = Registrar::<u32>::default();
    let (_, laptop) = registrar.register(t0, registrant("alice"));
    let (_, phone) = registrar.register(t0, registrant("Alice"));
    let (_, other) = registrar.register(t0, registrant("bob"));
    let mut laptop_feed = registrar.feed(t0, "alice", laptop.expose()).expect("feed");
    let mut other_feed = registrar.feed(t0, "bob", other.expose()).expect("feed");
    assert!(
        registrar.ring(t0, "carol", "meet", "Dave", 1).is_none(),
        "not registered"
    );
    let token = registrar
        .ring(t0, "alice", "meet", "Dave", 7)
        .expect("rings");
    assert_eq!(
        next(&mut laptop_feed.notices),
        Some(RegistrationNotice::Incoming {
            conference_alias: "meet".to_owned(),
            remote_display_name: "Dave".to_owned(),
            token: token.clone(),
        })
    );
    assert_eq!(next(&mut other_feed.notices), None);
    // A stream opened while it rings replays it.
    let phone_feed = registrar.feed(t0, "alice", phone.expose()).expect("feed");
    assert_eq!(phone_feed.ringing.len(), 1);
    // Answer: one-time, and the other devices stop ringing.
    let ring = registrar.take_ring(t0, token.expose()).expect("answers");
    assert_eq!(ring.call, 7);
    assert!(registrar.take_ring(t0, token.expose()).is_none());
    assert_eq!(
        next(&mut laptop_feed.notices),
        Some(RegistrationNotice::IncomingCancelled {
            token: token.clone()
        })
    );
    // A registration token is not an incoming token and the other way round.
    assert!(registrar.take_ring(t0, laptop.expose()).is_none());
    assert!(registrar.lookup_any(t0, token.expose()).is_none());
}

#[test]
fn rings_are_cancelled_by_their_call_or_when_too_old() {
    let t0 = Instant::now();
    let mut registrar = Registrar::<u32>::default();
    let (_, token) = registrar.register(t0, registrant("alice"));
    let mut feed = registrar.feed(t0, "alice", token.expose()).expect("feed");
    let first = registrar
        .ring(t0, "alice", "meet", "Dave", 1)
        .expect("rings");
    let second = registrar
        .ring(t0, "alice", "meet", "Erin", 2)
        .expect("rings");
    let _ = next(&mut feed.notices);
    let _ = next(&mut feed.notices);
    let cancelled = registrar.cancel_where(|call| *call == 1);
    assert_eq!(cancelled.len(), 1);
    assert_eq!(
        next(&mut feed.notices),
        Some(RegistrationNotice::IncomingCancelled { token: first })
    );
    assert_eq!(registrar.next_deadline(), Some(t0 + TOKEN_LIFETIME));
    let late = t0 + RING_LIFETIME;
    assert!(
        registrar.take_ring(late, second.expose()).is_none(),
        "too old to answer"
    );
}

#[test]
fn an_incoming_token_answers_only_at_its_conference_alias() {
    let t0 = Instant::now();
    let mut registrar = Registrar::<u32>::default();
    registrar.register(t0, registrant("alice"));
    let token = registrar
        .ring(t0, "alice", "call.1", "Bob", 7)
        .expect("registered devices ring");
    assert!(
        registrar
            .take_ring_at(t0, "meet.other", token.expose())
            .is_none(),
        "another alias is refused"
    );
    let ring = registrar
        .take_ring_at(t0, "CALL.1", token.expose())
        .expect("still ringing after the refused attempt");
    assert_eq!(ring.call, 7);
    assert!(
        registrar
            .take_ring_at(t0, "call.1", token.expose())
            .is_none(),
        "one-time"
    );
}
