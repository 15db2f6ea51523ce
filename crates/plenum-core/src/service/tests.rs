//! Tests of the directory and the gate: the PIN × role table, brute-force counting,
//! receptions, alias matching, transfer checks.

// Tests read the real clock once, for an arbitrary origin; time then moves only by hand.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use super::*;

fn pin(digits: &str) -> Option<Pin> {
    Some(Pin::parse(digits).expect("valid test pin"))
}

fn room(host: Option<&str>, guest: Option<&str>, allow_guests: bool) -> ServiceConfig {
    let mut s = ServiceConfig::new("room", ServiceKind::Vmr, &["room"]);
    s.host_pin = host.and_then(pin);
    s.guest_pin = guest.and_then(pin);
    s.allow_guests = allow_guests;
    s
}

fn check(service: &ServiceConfig, input: PinInput, expected: PinVerdict) {
    assert_eq!(
        judge_pin(service, &input),
        expected,
        "{input:?} at host={:?} guest={:?} allow_guests={}",
        service.host_pin.is_some(),
        service.guest_pin.is_some(),
        service.allow_guests
    );
}

#[test]
fn pin_table_matches_the_spec() {
    use PinVerdict::*;
    let entered = |s: &str| PinInput::Entered(s.to_owned());
    let host = Granted(Role::Host, true);
    let open_host = Granted(Role::Host, false);
    let guest = Granted(Role::Guest, false);

    // No PINs: everyone is Host, whatever they send.
    let open = room(None, None, true);
    check(&open, PinInput::Absent, open_host);
    check(&open, PinInput::GuestWithoutPin, open_host);
    check(&open, entered("1234"), open_host);

    // Host PIN, Guests allowed without PIN.
    let hosted = room(Some("1234"), None, true);
    check(&hosted, PinInput::Absent, Prompt { guest_pin: false });
    check(&hosted, entered("1234"), host);
    check(&hosted, PinInput::GuestWithoutPin, guest);
    check(&hosted, entered("9999"), Wrong);

    // Host PIN and Guest PIN.
    let two = room(Some("1234"), Some("5678"), true);
    check(&two, PinInput::Absent, Prompt { guest_pin: true });
    check(&two, entered("1234"), host);
    check(&two, entered("5678"), guest);
    check(&two, PinInput::GuestWithoutPin, Wrong);
    check(&two, entered("0000"), Wrong);

    // Host PIN, no Guests.
    let host_only = room(Some("1234"), None, false);
    check(&host_only, PinInput::Absent, Prompt { guest_pin: false });
    check(&host_only, entered("1234"), host);
    check(&host_only, PinInput::GuestWithoutPin, Wrong);
    check(&host_only, entered("5678"), Wrong);
}

#[test]
fn trailing_hash_on_a_pin_is_optional() {
    let two = room(Some("1234"), Some("5678"), true);
    assert_eq!(
        judge_pin(&two, &PinInput::from_header(Some("1234#"))),
        PinVerdict::Granted(Role::Host, true)
    );
    assert_eq!(
        judge_pin(&two, &PinInput::from_header(Some("5678#"))),
        PinVerdict::Granted(Role::Guest, false)
    );
}

fn gate(services: Vec<ServiceConfig>) -> Gate {
    Gate::new(Directory::new(services, &[]).expect("valid directory"))
}

#[test]
fn third_wrong_pin_ends_with_pex192() {
    let mut gate = gate(vec![room(Some("1234"), None, true)]);
    let now = Instant::now();
    let wrong = PinInput::Entered("0000".into());
    assert_eq!(
        gate.enter(now, "1.2.3.4", "room", None, &wrong),
        Err(EntryRefusal::InvalidPin)
    );
    assert_eq!(
        gate.enter(now, "1.2.3.4", "room", None, &wrong),
        Err(EntryRefusal::InvalidPin)
    );
    assert_eq!(
        gate.enter(now, "1.2.3.4", "room", None, &wrong),
        Err(EntryRefusal::TooManyPinAttempts)
    );
    // Even the right PIN is refused while locked out...
    let right = PinInput::Entered("1234".into());
    assert_eq!(
        gate.enter(now, "1.2.3.4", "room", None, &right),
        Err(EntryRefusal::TooManyPinAttempts)
    );
    // ...but another caller is not affected...
    assert!(gate.enter(now, "5.6.7.8", "room", None, &right).is_ok());
    // ...and the lockout ends after the service's PIN entry timeout.
    let later = now + Duration::from_secs(120);
    assert!(gate.enter(later, "1.2.3.4", "room", None, &right).is_ok());
    // ...and the lockout ends after the service's PIN entry timeout.
    let later = now + Duration::from_secs(120);
    assert!(gate.enter(later, "1.2.3.4", "room", None, &right).is_ok());
    assert_eq!(
        crate::DisconnectReason::TooManyPinAttempts.pex_code(),
        Some(192)
    );
}

#[test]
fn pin_failures_from_many_callers_lock_the_room() {
    let mut gate = gate(vec![room(Some("1234"), None, true)]);
    let now = Instant::now();
    let wrong = PinInput::Entered("0000".into());
    for i in 0..crate::pin::ROOM_FAILURE_LIMIT {
        let _ = gate.enter(now, &format!("10.0.0.{i}"), "room", None, &wrong);
    }
    let right = PinInput::Entered("1234".into());
    assert_eq!(
        gate.enter(now, "192.0.2.1", "room", None, &right),
        Err(EntryRefusal::TooManyPinAttempts)
    );
}

#[test]
fn prompts_do_not_count_as_failures() {
    let mut gate = gate(vec![room(Some("1234"), None, true)]);
    let now = Instant::now();
    for _ in 0..10 {
        assert_eq!(
            gate.enter(now, "a", "room", None, &PinInput::Absent),
            Err(EntryRefusal::PinRequired { guest_pin: false })
        );
    }
    assert!(
        gate.enter(now, "a", "room", None, &PinInput::Entered("1234".into()))
            .is_ok()
    );
}

#[test]
fn unknown_alias_is_not_found() {
    let mut gate = gate(vec![room(None, None, true)]);
    assert_eq!(
        gate.enter(Instant::now(), "a", "nope", None, &PinInput::Absent),
        Err(EntryRefusal::AliasNotFound)
    );
}

#[test]
fn alias_lookup_ignores_case_scheme_and_domain() {
    let mut s = ServiceConfig::new("alice", ServiceKind::Vmr, &["meet.Alice", "1234"]);
    s.aliases.push("meet.bob@example.com".into());
    let dir = Directory::new(vec![s], &[]).expect("valid");
    for dialled in [
        "meet.alice",
        "MEET.ALICE",
        "sip:meet.alice",
        "meet.alice@node.example.org",
        " 1234 ",
        "meet.bob@example.com",
    ] {
        assert!(dir.lookup(dialled).is_some(), "{dialled}");
    }
    assert!(dir.lookup("meet.bob").is_none());
    assert!(dir.lookup("meet").is_none());
}

#[test]
fn duplicate_aliases_are_refused_regardless_of_case() {
    let a = ServiceConfig::new("a", ServiceKind::Vmr, &["meet.x"]);
    let b = ServiceConfig::new("b", ServiceKind::Vmr, &["MEET.X"]);
    assert!(matches!(
        Directory::new(vec![a.clone(), b], &[]),
        Err(DirectoryError::DuplicateAlias { .. })
    ));
    assert!(matches!(
        Directory::new(vec![a], &["Meet.X".to_owned()]),
        Err(DirectoryError::DuplicateAlias { .. })
    ));
}

#[test]
fn invalid_services_are_refused() {
    let mut s = room(None, Some("1234"), true);
    assert_eq!(s.validate(), Err(ServiceError::GuestPinWithoutHostPin));
    s = room(Some("1234"), Some("1234"), true);
    assert_eq!(s.validate(), Err(ServiceError::SamePins));
    s = room(Some("1234"), Some("5678"), false);
    assert_eq!(s.validate(), Err(ServiceError::GuestPinButNoGuests));
    s = room(None, None, true);
    s.participant_limit = Some(0);
    assert_eq!(s.validate(), Err(ServiceError::BadLimit(0)));
    s = room(None, None, true);
    s.timeouts.alone = Some(Duration::from_secs(u64::MAX));
    assert_eq!(s.validate(), Err(ServiceError::TimeoutTooLong));
    s = ServiceConfig::new("x", ServiceKind::Vmr, &["has space"]);
    assert!(matches!(s.validate(), Err(ServiceError::BadAlias(_))));
}

fn with_reception() -> Gate {
    let mut open = ServiceConfig::new("open", ServiceKind::Vmr, &["meet.open", "1001"]);
    open.participant_limit = None;
    let hosted = {
        let mut s = room(Some("1234"), None, true);
        s.name = "hosted".into();
        s.aliases = vec!["meet.pin".into(), "1002".into()];
        s
    };
    let reception = ServiceConfig::new("reception", ServiceKind::Reception, &["reception"]);
    gate(vec![open, hosted, reception])
}

#[test]
fn reception_asks_for_an_extension() {
    let mut gate = with_reception();
    assert_eq!(
        gate.enter(Instant::now(), "a", "reception", None, &PinInput::Absent),
        Err(EntryRefusal::ExtensionRequired)
    );
    assert_eq!(
        gate.enter(
            Instant::now(),
            "a",
            "reception",
            Some(" "),
            &PinInput::Absent
        ),
        Err(EntryRefusal::ExtensionRequired)
    );
}

#[test]
fn reception_extension_leads_to_the_room_with_its_pin_rules() {
    let mut gate = with_reception();
    let now = Instant::now();
    let entry = gate
        .enter(now, "a", "reception", Some("1001"), &PinInput::Absent)
        .expect("open room");
    assert_eq!(entry.service.name, "open");
    assert_eq!(
        gate.enter(now, "a", "reception", Some("1002"), &PinInput::Absent),
        Err(EntryRefusal::PinRequired { guest_pin: false })
    );
    let entry = gate
        .enter(
            now,
            "a",
            "reception",
            Some("1002"),
            &PinInput::Entered("1234".into()),
        )
        .expect("host");
    assert_eq!(
        (entry.service.name.as_str(), entry.role),
        ("hosted", Role::Host)
    );
}

#[test]
fn unknown_or_looping_extensions_are_refused() {
    let mut gate = with_reception();
    let now = Instant::now();
    assert_eq!(
        gate.enter(now, "a", "reception", Some("9999"), &PinInput::Absent),
        Err(EntryRefusal::ExtensionNotFound)
    );
    assert_eq!(
        gate.enter(now, "a", "reception", Some("reception"), &PinInput::Absent),
        Err(EntryRefusal::ExtensionNotFound)
    );
}

#[test]
fn transfer_needs_the_pin_of_the_role() {
    let mut two = room(Some("1234"), Some("5678"), true);
    two.name = "two".into();
    two.aliases = vec!["two".into()];
    let mut host_only = room(Some("1234"), None, false);
    host_only.name = "hostonly".into();
    host_only.aliases = vec!["hostonly".into()];
    let open = ServiceConfig::new("open", ServiceKind::Vmr, &["open"]);
    let gate = gate(vec![two, host_only, open]);
    assert!(gate.check_transfer("two", Role::Host, Some("1234")).is_ok());
    assert_eq!(
        gate.check_transfer("two", Role::Host, None),
        Err(EntryRefusal::InvalidPin)
    );
    assert!(
        gate.check_transfer("two", Role::Guest, Some("5678#"))
            .is_ok()
    );
    assert_eq!(
        gate.check_transfer("two", Role::Guest, Some("1111")),
        Err(EntryRefusal::InvalidPin)
    );
    assert_eq!(
        gate.check_transfer("hostonly", Role::Guest, None),
        Err(EntryRefusal::InvalidPin)
    );
    assert_eq!(
        gate.check_transfer("open", Role::Guest, None)
            .map(|e| e.role),
        Ok(Role::Host)
    );
    assert_eq!(
        gate.check_transfer("missing", Role::Guest, None),
        Err(EntryRefusal::AliasNotFound)
    );
}

fn sso_room(guest: Option<&str>, allow_guests: bool) -> ServiceConfig {
    let mut s = room(None, guest, allow_guests);
    s.host_sso = vec!["corp".to_owned()];
    s
}

#[test]
fn sso_rooms_ask_non_guests_to_sign_in() {
    use PinVerdict::*;
    let entered = |s: &str| PinInput::Entered(s.to_owned());
    let guest = Granted(Role::Guest, false);

    // Guests allowed without a PIN: `pin: none` is a Guest, no PIN means "sign in".
    let open = sso_room(None, true);
    check(&open, PinInput::Absent, SsoRequired);
    check(&open, PinInput::GuestWithoutPin, guest);
    check(&open, entered("1234"), Wrong);

    // A Guest PIN: only it makes a Guest.
    let guarded = sso_room(Some("5678"), true);
    check(&guarded, PinInput::Absent, SsoRequired);
    check(&guarded, entered("5678"), guest);
    check(&guarded, PinInput::GuestWithoutPin, Wrong);
    check(&guarded, entered("0000"), Wrong);

    // No Guests: everyone must sign in.
    let hosts_only = sso_room(None, false);
    check(&hosts_only, PinInput::Absent, SsoRequired);
    check(&hosts_only, PinInput::GuestWithoutPin, Wrong);

    assert!(open.has_guest_role());
    assert!(!hosts_only.has_guest_role());
}

#[test]
fn sso_rooms_refuse_a_host_pin_but_take_a_guest_pin() {
    let mut both = sso_room(None, true);
    both.host_pin = pin("1234");
    assert_eq!(both.validate(), Err(ServiceError::HostPinWithSso));
    assert_eq!(sso_room(Some("5678"), true).validate(), Ok(()));
    assert_eq!(
        sso_room(Some("5678"), false).validate(),
        Err(ServiceError::GuestPinButNoGuests)
    );
}

#[test]
fn the_gate_names_the_sso_room_and_counts_wrong_guest_pins() {
    let mut gate = gate(vec![sso_room(Some("5678"), true)]);
    let now = Instant::now();
    match gate.enter(now, "a", "room", None, &PinInput::Absent) {
        Err(EntryRefusal::SsoRequired { service }) => {
            assert_eq!(service.name, "room");
            assert_eq!(service.host_sso, vec!["corp".to_owned()]);
        }
        other => panic!("expected the sign-in prompt, got {other:?}"),
    }
    let wrong = PinInput::Entered("0000".into());
    assert_eq!(
        gate.enter(now, "a", "room", None, &wrong),
        Err(EntryRefusal::InvalidPin)
    );
    assert_eq!(
        gate.enter(now, "a", "room", None, &wrong),
        Err(EntryRefusal::InvalidPin)
    );
    assert_eq!(
        gate.enter(now, "a", "room", None, &wrong),
        Err(EntryRefusal::TooManyPinAttempts)
    );
    // A transfer can't make a Host of an SSO room; a Guest follows the Guest rules.
    assert_eq!(
        gate.check_transfer("room", Role::Host, Some("5678")),
        Err(EntryRefusal::InvalidPin)
    );
    assert_eq!(
        gate.check_transfer("room", Role::Guest, Some("5678"))
            .map(|e| e.role),
        Ok(Role::Guest)
    );
    assert_eq!(
        gate.check_transfer("room", Role::Guest, None),
        Err(EntryRefusal::InvalidPin)
    );
}
