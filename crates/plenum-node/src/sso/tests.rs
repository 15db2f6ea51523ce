//! Tests of the single sign-on state: pending sign-ins (bound, expiry by the given
//! clock), one-time room-bound `sso_token`s, redirect targets, claims.

// Tests read the real clock once, for an arbitrary origin; time then moves only by hand.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use plenum_core::Secret;

use super::store::*;
use super::{claim_text, payload_claims};

fn host(service: &str) -> SignInFor {
    SignInFor::Host(service.into())
}

fn login(service: &str) -> PendingLogin {
    PendingLogin {
        idp: "corp".into(),
        purpose: host(service),
        pkce_verifier: Secret::new("verifier"),
        nonce: Secret::new("nonce"),
        redirect_target: "https://node.example.com/webapp/?sso_token=__pexip-sso-token__".into(),
        redirect_uri: "https://node.example.com/api/client/v2/oauth2_redirect".into(),
    }
}

#[test]
fn a_pending_sign_in_is_taken_once_and_lapses_after_ten_minutes() {
    let t0 = Instant::now();
    let mut pending = PendingLogins::default();
    pending.insert(t0, &Secret::new("s1"), login("room"));
    pending.insert(t0, &Secret::new("s2"), login("room"));
    assert_eq!(pending.take(t0, "nope"), None);
    assert_eq!(
        pending.take(t0 + Duration::from_secs(599), "s1"),
        Some(login("room"))
    );
    assert_eq!(
        pending.take(t0 + Duration::from_secs(599), "s1"),
        None,
        "used"
    );
    assert_eq!(pending.take(t0 + PENDING_LIFETIME, "s2"), None, "too old");
    // Lapsed ones are forgotten when new ones come.
    pending.insert(t0, &Secret::new("s3"), login("room"));
    pending.insert(t0 + PENDING_LIFETIME, &Secret::new("s4"), login("room"));
    assert_eq!(pending.len(), 1);
}

#[test]
fn pending_sign_ins_are_bounded_and_the_oldest_goes_first() {
    let t0 = Instant::now();
    let mut pending = PendingLogins::default();
    for i in 0..MAX_PENDING + 5 {
        let at = t0 + Duration::from_millis(i as u64);
        pending.insert(at, &Secret::new(format!("s{i}")), login("room"));
    }
    assert_eq!(pending.len(), MAX_PENDING);
    let now = t0 + Duration::from_secs(1);
    for i in 0..5 {
        assert_eq!(
            pending.take(now, &format!("s{i}")),
            None,
            "s{i} was dropped"
        );
    }
    assert!(pending.take(now, "s5").is_some());
    assert!(
        pending
            .take(now, &format!("s{}", MAX_PENDING + 4))
            .is_some()
    );
}

fn signed_in(service: &str) -> SignedIn {
    SignedIn {
        purpose: host(service),
        idp: "corp".into(),
        display_name: "Alice Example".into(),
        alias: Some("alice@example.com".into()),
    }
}

#[test]
fn an_sso_token_works_once_for_its_room_within_two_minutes() {
    let t0 = Instant::now();
    let mut tokens = SignedInTokens::default();
    let a = tokens.issue(t0, signed_in("room"));
    let b = tokens.issue(t0, signed_in("room"));
    let c = tokens.issue(t0, signed_in("room"));
    assert_ne!(a, b);
    assert_eq!(
        tokens.redeem(t0, a.expose(), &host("room")),
        Some(signed_in("room"))
    );
    assert_eq!(
        tokens.redeem(t0, a.expose(), &host("room")),
        None,
        "replayed"
    );
    assert_eq!(
        tokens.redeem(t0, b.expose(), &host("other")),
        None,
        "another room"
    );
    assert_eq!(
        tokens.redeem(t0, b.expose(), &host("room")),
        None,
        "used up by the wrong room"
    );
    assert_eq!(
        tokens.redeem(t0 + SSO_TOKEN_LIFETIME, c.expose(), &host("room")),
        None,
        "lapsed"
    );
    assert_eq!(tokens.redeem(t0, "made-up", &host("room")), None);
}

#[test]
fn a_hosts_sso_token_does_not_register_a_device_of_the_same_name() {
    let t0 = Instant::now();
    let mut tokens = SignedInTokens::default();
    let token = tokens.issue(t0, signed_in("desk"));
    assert_eq!(
        tokens.redeem(t0, token.expose(), &SignInFor::Device("desk".into())),
        None
    );
    let device = SignedIn {
        purpose: SignInFor::Device("desk".into()),
        ..signed_in("desk")
    };
    let token = tokens.issue(t0, device.clone());
    assert_eq!(tokens.redeem(t0, token.expose(), &host("desk")), None);
    let token = tokens.issue(t0, device.clone());
    assert_eq!(
        tokens.redeem(t0, token.expose(), &SignInFor::Device("desk".into())),
        Some(device)
    );
}

#[test]
fn redirect_targets_must_be_ours_or_allowed_and_hold_the_placeholder() {
    let own = "https://node.example.com:8443";
    let allowed = vec!["https://app.example.com/".to_owned()];
    let ok = |t: &str| check_redirect_target(t, own, &allowed);
    assert_eq!(
        ok("https://node.example.com:8443/webapp/m/room?sso_token=__pexip-sso-token__"),
        Ok("https://node.example.com:8443/webapp/m/room?sso_token=__pexip-sso-token__".into())
    );
    assert_eq!(
        ok("https://APP.example.com/join#n=Zoë&t=__pexip-sso-token__"),
        Ok("https://app.example.com/join#n=Zo%C3%AB&t=__pexip-sso-token__".into()),
        "normalised: fit for a Location header"
    );
    assert_eq!(
        ok("https://evil.example.net/?t=__pexip-sso-token__"),
        Err(TargetError::ForeignOrigin(
            "https://evil.example.net".into()
        ))
    );
    // Same host, other port or scheme: another origin.
    assert!(matches!(
        ok("https://node.example.com/?t=__pexip-sso-token__"),
        Err(TargetError::ForeignOrigin(_))
    ));
    assert!(matches!(
        ok("http://node.example.com:8443/?t=__pexip-sso-token__"),
        Err(TargetError::ForeignOrigin(_))
    ));
    // A user-info trick does not change the origin.
    assert!(matches!(
        ok("https://node.example.com:8443@evil.example.net/?t=__pexip-sso-token__"),
        Err(TargetError::ForeignOrigin(_))
    ));
    assert_eq!(
        ok("https://node.example.com:8443/webapp/"),
        Err(TargetError::NoPlaceholder)
    );
    assert_eq!(
        ok("/webapp/?t=__pexip-sso-token__"),
        Err(TargetError::NotAUrl)
    );
    assert_eq!(
        ok("javascript:alert(1)//__pexip-sso-token__"),
        Err(TargetError::NotAUrl)
    );
    let token = Secret::new("abc_-123");
    assert_eq!(
        fill_target("https://n/?sso_token=__pexip-sso-token__&x=1", &token),
        "https://n/?sso_token=abc_-123&x=1"
    );
}

#[test]
fn claims_are_read_from_the_token_payload() {
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(r#"{"sub":"42","name":"  Zoë Ö ","email":"","age":7}"#);
    let claims = payload_claims(&format!("e30.{payload}.sig")).expect("an object");
    assert_eq!(claim_text(&claims, "name").as_deref(), Some("Zoë Ö"));
    assert_eq!(claim_text(&claims, "age").as_deref(), Some("7"));
    assert_eq!(claim_text(&claims, "email"), None, "empty is missing");
    assert_eq!(claim_text(&claims, "groups"), None);
    assert!(payload_claims("not-a-jwt").is_none());
}

#[test]
fn the_node_origin_follows_the_public_name_and_the_bound_port() {
    let sso = super::Sso::new(0);
    assert_eq!(sso.origin("meet.example.com"), "https://meet.example.com");
    sso.set_port(443);
    assert_eq!(sso.origin("meet.example.com"), "https://meet.example.com");
    sso.set_port(8443);
    assert_eq!(sso.origin("localhost"), "https://localhost:8443");
    assert_eq!(sso.origin("::1"), "https://[::1]:8443");
}
