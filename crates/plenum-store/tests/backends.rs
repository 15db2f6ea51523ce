//! Behaviour tests run against both backends: every test below exists as `sqlite::<name>` (a
//! fresh file in a temp dir) and `postgres::<name>` (a fresh database on the server at
//! `PLENUM_TEST_POSTGRES_URL`, dropped afterwards; start one with `scripts/test-postgres.sh`).

use std::future::Future;
use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plenum_store::{
    AuditEntry, Backend, CONFERENCE_ENDED, CallType, Dangling, NODE_RESTARTED, NewConference,
    NewParticipant, NewRegistration, Page, RegistrationRecord, Role, ServiceKind, Store,
    StoreError,
};
use sqlx::Connection as _;
use uuid::Uuid;

/// Where a test's database lives; `open` may be called more than once (reopen tests).
struct Db {
    url: String,
    backend: Backend,
}

impl Db {
    async fn open(&self) -> Store {
        let store = Store::open(&self.url)
            .await
            .unwrap_or_else(|e| panic!("open {}: {e:?}", self.url));
        assert_eq!(store.backend(), self.backend);
        store
    }
}

async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("create temp dir");
    let url = format!("sqlite://{}", dir.path().join("plenum.db").display());
    test(Db {
        url,
        backend: Backend::Sqlite,
    })
    .await;
}

const SETUP_HINT: &str = "run `eval \"$(scripts/test-postgres.sh env)\"` from the workspace root \
    (it starts a throwaway PostgreSQL on 127.0.0.1) and re-run, or set PLENUM_SKIP_POSTGRES=1 \
    to skip the PostgreSQL tests explicitly";

/// The server URL from `PLENUM_TEST_POSTGRES_URL`. Unset, the test fails, unless
/// `PLENUM_SKIP_POSTGRES=1` asks to skip: then it says so loudly and returns `None`.
fn postgres_server(test: &str) -> Option<String> {
    if let Ok(url) = std::env::var("PLENUM_TEST_POSTGRES_URL")
        && !url.is_empty()
    {
        return Some(url);
    }
    if std::env::var("PLENUM_SKIP_POSTGRES").as_deref() == Ok("1") {
        // Straight to stderr, not eprintln!: the test harness would swallow that for a pass.
        let _ = writeln!(
            std::io::stderr(),
            "\n!!! SKIPPED postgres::{test}: PLENUM_SKIP_POSTGRES=1, the PostgreSQL backend was NOT tested"
        );
        return None;
    }
    panic!(
        "PLENUM_TEST_POSTGRES_URL is not set, so the PostgreSQL backend cannot be tested: {SETUP_HINT}"
    );
}

/// `url` with its database name replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{database}{query}", &base[..path_start])
}

async fn on_postgres<F, Fut>(name: &str, test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(server) = postgres_server(name) else {
        return;
    };
    let database = format!("plenum_test_{}", Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&server)
        .await
        .unwrap_or_else(|e| panic!("connect to {server} ({e}): {SETUP_HINT}"));
    sqlx::query(&format!("CREATE DATABASE {database}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let db = Db {
        url: with_database(&server, &database),
        backend: Backend::Postgres,
    };
    // Run the test as a task so that a failing assertion still lets us drop the database.
    let outcome = tokio::spawn(test(db)).await;
    sqlx::query(&format!("DROP DATABASE {database} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop test database");
    admin.close().await.expect("close admin connection");
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Declares each test once per backend.
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::on_sqlite(super::$name).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::on_postgres(stringify!($name), super::$name).await;
                }
            )+
        }
    };
}

backend_tests!(
    round_trip,
    durations_are_whole_seconds_and_never_negative,
    conference_paging_newest_first,
    audit_paging_newest_first,
    invalid_pages_are_refused,
    close_dangling_ends_what_a_crash_left_open,
    joining_an_unknown_conference_fails,
    concurrent_joins_are_counted_exactly,
    reopening_keeps_data,
    registration_round_trip,
    live_registrations_are_ordered_by_alias_then_registration_time,
    expired_registrations_are_hidden_then_deleted,
    clearing_registrations_empties_the_table,
    a_registration_id_is_recorded_once,
);

/// A fixed point in time plus `ms` milliseconds (stored times have millisecond precision).
fn t(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + ms)
}

fn conference(started_at: SystemTime) -> NewConference {
    NewConference {
        id: Uuid::new_v4(),
        service_name: "Team meeting".into(),
        service_kind: ServiceKind::Vmr,
        alias: "meet.team@example.com".into(),
        started_at,
    }
}

fn participant(conference_id: Uuid, name: &str, joined_at: SystemTime) -> NewParticipant {
    NewParticipant {
        id: Uuid::new_v4(),
        conference_id,
        display_name: name.into(),
        role: Role::Guest,
        call_type: CallType::Video,
        protocol: "webrtc".into(),
        remote_address: Some("192.0.2.7".into()),
        joined_at,
    }
}

fn audit_entry(at: SystemTime, action: &str) -> AuditEntry {
    AuditEntry {
        at,
        admin_user: "admin".into(),
        action: action.into(),
        target: "meet.team@example.com".into(),
        detail: None,
        remote_address: Some("198.51.100.1".into()),
    }
}

async fn round_trip(db: Db) {
    let store = db.open().await;
    let conf = NewConference {
        service_kind: ServiceKind::Auditorium,
        ..conference(t(0))
    };
    store.conference_started(&conf).await.expect("start");
    let found = store
        .conference(conf.id)
        .await
        .expect("lookup")
        .expect("recorded");
    assert_eq!(
        (found.id, found.service_kind, found.ended_at),
        (conf.id, ServiceKind::Auditorium, None)
    );

    let alice = NewParticipant {
        role: Role::Host,
        protocol: "api".into(),
        ..participant(conf.id, "Alice", t(1_000))
    };
    let bob = NewParticipant {
        call_type: CallType::Audio,
        remote_address: None,
        ..participant(conf.id, "Bob", t(2_000))
    };
    let carol = participant(conf.id, "Carol", t(3_000));
    let dave = NewParticipant {
        role: Role::None,
        call_type: CallType::None,
        ..participant(conf.id, "Dave", t(4_000))
    };
    // Alice and Bob present (2), Alice leaves (1), Carol then Dave join (3 at once).
    store.participant_joined(&alice).await.expect("alice joins");
    store.participant_joined(&bob).await.expect("bob joins");
    let quality = serde_json::json!({"audio": {"rx_packets_lost": 3, "rx_jitter_ms": 4.5}});
    assert!(
        store
            .participant_media_quality(alice.id, &quality)
            .await
            .expect("alice's media quality")
    );
    assert!(
        !store
            .participant_media_quality(Uuid::new_v4(), &quality)
            .await
            .expect("nobody's")
    );
    assert!(
        store
            .participant_left(alice.id, t(91_500), Some("host hung up"), Some(124))
            .await
            .expect("alice leaves")
    );
    assert!(
        !store
            .participant_left(alice.id, t(99_000), Some("again"), None)
            .await
            .expect("alice leaves twice"),
        "a second leave changes nothing"
    );
    assert!(
        !store
            .participant_left(Uuid::new_v4(), t(99_000), None, None)
            .await
            .expect("unknown participant leaves"),
    );
    store.participant_joined(&carol).await.expect("carol joins");
    store.participant_joined(&dave).await.expect("dave joins");
    assert!(
        store
            .participant_left(bob.id, t(5_000), None, None)
            .await
            .expect("bob leaves")
    );

    let live = store
        .conference_history(Page::first(10))
        .await
        .expect("history");
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].ended_at, None, "live until ended");
    assert_eq!(live[0].participant_count, 4);
    assert_eq!(live[0].max_participants, 3);

    assert!(
        store
            .conference_ended(conf.id, t(120_000), Some("last host left"))
            .await
            .expect("end")
    );
    assert!(
        !store
            .conference_ended(conf.id, t(130_000), Some("twice"))
            .await
            .expect("end twice"),
        "a second end changes nothing"
    );
    assert!(
        !store
            .conference_ended(Uuid::new_v4(), t(130_000), None)
            .await
            .expect("end unknown")
    );

    let history = store
        .conference_history(Page::first(10))
        .await
        .expect("history");
    assert_eq!(history.len(), 1);
    let c = &history[0];
    assert_eq!(c.id, conf.id);
    assert_eq!(c.service_name, "Team meeting");
    assert_eq!(c.service_kind, ServiceKind::Auditorium);
    assert_eq!(c.alias, "meet.team@example.com");
    assert_eq!(c.started_at, t(0));
    assert_eq!(c.ended_at, Some(t(120_000)));
    assert_eq!(c.end_reason.as_deref(), Some("last host left"));
    assert_eq!(c.participant_count, 4);
    assert_eq!(c.max_participants, 3);
    assert_eq!(store.count_conferences().await.expect("count"), 1);

    let ps = store.participants_of(conf.id).await.expect("participants");
    let names: Vec<&str> = ps.iter().map(|p| p.display_name.as_str()).collect();
    assert_eq!(names, ["Alice", "Bob", "Carol", "Dave"], "in join order");

    let a = &ps[0];
    assert_eq!(a.id, alice.id);
    assert_eq!(a.conference_id, conf.id);
    assert_eq!(a.role, Role::Host);
    assert_eq!(a.call_type, CallType::Video);
    assert_eq!(a.protocol, "api");
    assert_eq!(a.remote_address.as_deref(), Some("192.0.2.7"));
    assert_eq!(a.joined_at, t(1_000));
    assert_eq!(a.left_at, Some(t(91_500)));
    assert_eq!(a.duration_seconds, Some(90), "90.5 s rounds down");
    assert_eq!(a.disconnect_reason.as_deref(), Some("host hung up"));
    assert_eq!(a.pex_code, Some(124));
    assert_eq!(
        a.media_quality,
        Some(serde_json::json!({"audio": {"rx_packets_lost": 3, "rx_jitter_ms": 4.5}}))
    );

    let b = &ps[1];
    assert_eq!(b.call_type, CallType::Audio);
    assert_eq!(b.remote_address, None);
    assert_eq!(
        (b.duration_seconds, b.disconnect_reason.as_deref()),
        (Some(3), None)
    );

    // Carol and Dave were still present when the conference ended.
    for p in &ps[2..] {
        assert_eq!(p.left_at, Some(t(120_000)), "{}", p.display_name);
        assert_eq!(p.disconnect_reason.as_deref(), Some(CONFERENCE_ENDED));
        assert_eq!(p.pex_code, None);
    }
    assert_eq!(ps[2].duration_seconds, Some(117));
    assert_eq!((ps[3].role, ps[3].call_type), (Role::None, CallType::None));
    assert!(
        store
            .participants_of(Uuid::new_v4())
            .await
            .expect("none")
            .is_empty()
    );

    let lock = AuditEntry {
        detail: Some(serde_json::json!({"conference": conf.id.to_string(), "pin": null})),
        ..audit_entry(t(10_000), "lock")
    };
    let failed = AuditEntry {
        admin_user: "mallory".into(),
        target: String::new(),
        remote_address: None,
        ..audit_entry(t(11_000), "login_failed")
    };
    store.audit(&lock).await.expect("audit lock");
    store.audit(&failed).await.expect("audit login_failed");
    let log = store.audit_log(Page::first(10)).await.expect("audit log");
    assert_eq!(log.len(), 2);
    assert_eq!(store.count_audit_entries().await.expect("count"), 2);
    let (newest, oldest) = (&log[0], &log[1]);
    assert!(newest.id > oldest.id);
    assert_eq!(
        (
            newest.at,
            newest.admin_user.as_str(),
            newest.action.as_str()
        ),
        (t(11_000), "mallory", "login_failed")
    );
    assert_eq!((newest.target.as_str(), newest.detail.as_ref()), ("", None));
    assert_eq!(newest.remote_address, None);
    assert_eq!(
        (
            oldest.at,
            oldest.admin_user.as_str(),
            oldest.action.as_str()
        ),
        (t(10_000), "admin", "lock")
    );
    assert_eq!(oldest.target, "meet.team@example.com");
    assert_eq!(oldest.detail, lock.detail);
    assert_eq!(oldest.remote_address.as_deref(), Some("198.51.100.1"));
    store.close().await;
}

async fn durations_are_whole_seconds_and_never_negative(db: Db) {
    let store = db.open().await;
    let conf = conference(t(0));
    store.conference_started(&conf).await.expect("start");
    let cases = [
        // (joined, left, expected seconds)
        (t(0), t(999), 0),
        (t(0), t(1_000), 1),
        (t(10_000), t(10_000 + 3_600_000 + 1_999), 3601),
        (t(50_000), t(40_000), 0), // clock went backwards
    ];
    for (i, (joined, left, expected)) in cases.into_iter().enumerate() {
        let p = participant(conf.id, &format!("p{i}"), joined);
        store.participant_joined(&p).await.expect("join");
        assert!(
            store
                .participant_left(p.id, left, None, None)
                .await
                .expect("leave")
        );
        let stored = store.participants_of(conf.id).await.expect("participants");
        let stored = stored.iter().find(|s| s.id == p.id).expect("stored");
        assert_eq!(stored.duration_seconds, Some(expected), "case {i}");
        assert_eq!(stored.left_at, Some(left), "case {i}");
    }
    store.close().await;
}

async fn conference_paging_newest_first(db: Db) {
    let store = db.open().await;
    // Seven conferences; two share a start time, so ids break the tie.
    let starts = [5_000, 1_000, 7_000, 3_000, 3_000, 6_000, 2_000];
    let mut confs: Vec<NewConference> = starts.iter().map(|&ms| conference(t(ms))).collect();
    for c in &confs {
        store.conference_started(c).await.expect("start");
    }
    confs.sort_by_key(|c| std::cmp::Reverse((c.started_at, c.id)));
    let expected: Vec<Uuid> = confs.iter().map(|c| c.id).collect();

    let mut seen = Vec::new();
    for (offset, len) in [(0, 3), (3, 3), (6, 1), (9, 0)] {
        let page = store
            .conference_history(Page { limit: 3, offset })
            .await
            .expect("page");
        assert_eq!(page.len(), len, "offset {offset}");
        seen.extend(page.iter().map(|c| c.id));
    }
    assert_eq!(seen, expected, "newest first, no gaps or repeats");
    let all = store
        .conference_history(Page::first(500))
        .await
        .expect("all");
    assert_eq!(all.iter().map(|c| c.id).collect::<Vec<_>>(), expected);
    assert_eq!(all[0].started_at, t(7_000));
    assert_eq!(store.count_conferences().await.expect("count"), 7);
    store.close().await;
}

async fn audit_paging_newest_first(db: Db) {
    let store = db.open().await;
    // Written out of time order, and two at the same instant (the later write comes first).
    let entries = [
        (3_000, "lock"),
        (1_000, "login_failed"),
        (5_000, "unlock"),
        (5_000, "disconnect_participant"),
        (4_000, "disconnect_conference"),
    ];
    for (ms, action) in entries {
        store
            .audit(&audit_entry(t(ms), action))
            .await
            .expect("audit");
    }
    let expected = [
        "disconnect_participant",
        "unlock",
        "disconnect_conference",
        "lock",
        "login_failed",
    ];
    let mut seen = Vec::new();
    for offset in [0, 2, 4] {
        let page = store
            .audit_log(Page { limit: 2, offset })
            .await
            .expect("page");
        seen.extend(page.into_iter().map(|e| e.action));
    }
    assert_eq!(seen, expected);
    assert!(
        store
            .audit_log(Page {
                limit: 2,
                offset: 5
            })
            .await
            .expect("past the end")
            .is_empty()
    );
    assert_eq!(store.count_audit_entries().await.expect("count"), 5);
    store.close().await;
}

async fn invalid_pages_are_refused(db: Db) {
    let store = db.open().await;
    for page in [
        Page {
            limit: 0,
            offset: 0,
        },
        Page {
            limit: 501,
            offset: 0,
        },
        Page {
            limit: 10,
            offset: u64::MAX,
        },
    ] {
        let err = store
            .conference_history(page)
            .await
            .expect_err("conference page");
        assert!(matches!(err, StoreError::InvalidPage { .. }), "{err:?}");
        assert!(err.to_string().starts_with("invalid page"), "{err}");
        let err = store.audit_log(page).await.expect_err("audit page");
        assert!(matches!(err, StoreError::InvalidPage { .. }), "{err:?}");
    }
    store.close().await;
}

async fn close_dangling_ends_what_a_crash_left_open(db: Db) {
    let store = db.open().await;
    let done = conference(t(0));
    let live_a = conference(t(1_000));
    let live_b = conference(t(2_000));
    for c in [&done, &live_a, &live_b] {
        store.conference_started(c).await.expect("start");
    }
    let gone = participant(done.id, "gone", t(100));
    let left = participant(live_a.id, "left", t(1_100));
    let stuck_a = participant(live_a.id, "stuck a", t(1_200));
    let stuck_b = participant(live_b.id, "stuck b", t(2_500));
    for p in [&gone, &left, &stuck_a, &stuck_b] {
        store.participant_joined(p).await.expect("join");
    }
    store
        .participant_left(left.id, t(1_300), Some("bye"), None)
        .await
        .expect("leave");
    store
        .conference_ended(done.id, t(500), Some("done"))
        .await
        .expect("end");
    store.close().await;

    // The node "crashed"; on the next start:
    let store = db.open().await;
    let now = t(60_000);
    let closed = store.close_dangling(now).await.expect("close dangling");
    assert_eq!(
        closed,
        Dangling {
            conferences: 2,
            participants: 2
        }
    );
    assert_eq!(
        store.close_dangling(t(70_000)).await.expect("again"),
        Dangling::default()
    );

    for c in store
        .conference_history(Page::first(10))
        .await
        .expect("history")
    {
        if c.id == done.id {
            assert_eq!(
                (c.ended_at, c.end_reason.as_deref()),
                (Some(t(500)), Some("done"))
            );
        } else {
            assert_eq!(
                (c.ended_at, c.end_reason.as_deref()),
                (Some(now), Some(NODE_RESTARTED))
            );
        }
    }
    let a = store
        .participants_of(live_a.id)
        .await
        .expect("participants");
    assert_eq!(a[0].id, left.id);
    assert_eq!(
        (a[0].left_at, a[0].disconnect_reason.as_deref()),
        (Some(t(1_300)), Some("bye"))
    );
    assert_eq!(a[1].id, stuck_a.id);
    assert_eq!(
        (
            a[1].left_at,
            a[1].disconnect_reason.as_deref(),
            a[1].duration_seconds
        ),
        (Some(now), Some(NODE_RESTARTED), Some(58))
    );
    let b = store
        .participants_of(live_b.id)
        .await
        .expect("participants");
    assert_eq!((b[0].left_at, b[0].duration_seconds), (Some(now), Some(57)));
    let d = store.participants_of(done.id).await.expect("participants");
    assert_eq!(d[0].disconnect_reason.as_deref(), Some(CONFERENCE_ENDED));
    store.close().await;
}

async fn joining_an_unknown_conference_fails(db: Db) {
    let store = db.open().await;
    let nowhere = Uuid::new_v4();
    let err = store
        .participant_joined(&participant(nowhere, "lost", t(0)))
        .await
        .expect_err("join unknown conference");
    assert!(
        matches!(err, StoreError::UnknownConference { id } if id == nowhere),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("unknown conference"), "{err}");
    assert_eq!(store.conference(nowhere).await.expect("lookup"), None);
    assert!(
        store
            .participants_of(nowhere)
            .await
            .expect("participants")
            .is_empty()
    );
    store.close().await;
}

async fn concurrent_joins_are_counted_exactly(db: Db) {
    let store = db.open().await;
    let conf = conference(t(0));
    store.conference_started(&conf).await.expect("start");
    let joins = (0..24).map(|i| {
        let store = store.clone();
        let p = participant(conf.id, &format!("p{i}"), t(1_000 + i));
        tokio::spawn(async move { store.participant_joined(&p).await })
    });
    for join in joins.collect::<Vec<_>>() {
        join.await.expect("task").expect("join");
    }
    let c = &store
        .conference_history(Page::first(1))
        .await
        .expect("history")[0];
    assert_eq!((c.participant_count, c.max_participants), (24, 24));
    store.close().await;
}

async fn reopening_keeps_data(db: Db) {
    let store = db.open().await;
    let conf = conference(t(0));
    store.conference_started(&conf).await.expect("start");
    store
        .audit(&audit_entry(t(1), "lock"))
        .await
        .expect("audit");
    store.close().await;

    // Opening runs the migrations again: they must see they are applied and change nothing.
    for _ in 0..2 {
        let store = db.open().await;
        let history = store
            .conference_history(Page::first(10))
            .await
            .expect("history");
        assert_eq!(history.iter().map(|c| c.id).collect::<Vec<_>>(), [conf.id]);
        assert_eq!(store.count_audit_entries().await.expect("count"), 1);
        store.close().await;
    }
}

fn registration(alias: &str, registered_at: SystemTime, expires_at: SystemTime) -> NewRegistration {
    NewRegistration {
        id: Uuid::new_v4(),
        alias: alias.into(),
        username: "alice".into(),
        remote_address: "192.0.2.7:50123".into(),
        user_agent: "Pexip Infinity Connect/1.10".into(),
        registered_at,
        expires_at,
    }
}

/// The ids of the live registrations at `now`, in listing order.
async fn live_ids(store: &Store, now: SystemTime) -> Vec<Uuid> {
    store
        .live_registrations(now)
        .await
        .expect("live registrations")
        .iter()
        .map(|r| r.id)
        .collect()
}

async fn registration_round_trip(db: Db) {
    let store = db.open().await;
    let ipv6 = NewRegistration {
        remote_address: "[2001:db8::7]:443".into(),
        user_agent: String::new(),
        ..registration("alice@example.com", t(1_000), t(121_000))
    };
    store.registration_started(&ipv6).await.expect("register");
    assert_eq!(
        store.live_registrations(t(2_000)).await.expect("live"),
        [RegistrationRecord {
            id: ipv6.id,
            alias: "alice@example.com".into(),
            username: "alice".into(),
            remote_address: "[2001:db8::7]:443".into(),
            user_agent: String::new(),
            registered_at: t(1_000),
            refreshed_at: t(1_000),
            expires_at: t(121_000),
        }],
        "refreshed_at starts as registered_at"
    );

    assert!(
        store
            .registration_refreshed(ipv6.id, t(60_000), t(180_000))
            .await
            .expect("refresh")
    );
    let live = store.live_registrations(t(150_000)).await.expect("live");
    assert_eq!(live.len(), 1, "the refresh moved the expiry past 150 s");
    assert_eq!(
        (
            live[0].registered_at,
            live[0].refreshed_at,
            live[0].expires_at
        ),
        (t(1_000), t(60_000), t(180_000))
    );
    assert!(
        !store
            .registration_refreshed(Uuid::new_v4(), t(60_000), t(180_000))
            .await
            .expect("refresh unknown"),
        "an unknown registration is not refreshed"
    );

    store.registration_ended(ipv6.id).await.expect("unregister");
    assert!(live_ids(&store, t(2_000)).await.is_empty());
    assert!(
        !store
            .registration_refreshed(ipv6.id, t(70_000), t(190_000))
            .await
            .expect("refresh ended"),
        "an ended registration is gone"
    );
    store
        .registration_ended(ipv6.id)
        .await
        .expect("unregistering twice is not an error");
    store.close().await;
}

async fn live_registrations_are_ordered_by_alias_then_registration_time(db: Db) {
    let store = db.open().await;
    // Aliases compare byte-wise ("Zed" before "alice"); two share alias and time, so ids break
    // the tie.
    let alice_late = registration("alice@example.com", t(3_000), t(600_000));
    let alice_early = registration("alice@example.com", t(1_000), t(600_000));
    let zed = registration("Zed@example.com", t(5_000), t(600_000));
    let bob_a = registration("bob@example.com", t(2_000), t(600_000));
    let bob_b = registration("bob@example.com", t(2_000), t(600_000));
    for r in [&alice_late, &bob_a, &zed, &alice_early, &bob_b] {
        store.registration_started(r).await.expect("register");
    }
    let (bob_first, bob_second) = if bob_a.id < bob_b.id {
        (bob_a.id, bob_b.id)
    } else {
        (bob_b.id, bob_a.id)
    };
    assert_eq!(
        live_ids(&store, t(10_000)).await,
        [zed.id, alice_early.id, alice_late.id, bob_first, bob_second]
    );
    store.close().await;
}

async fn expired_registrations_are_hidden_then_deleted(db: Db) {
    let store = db.open().await;
    let short = registration("a@example.com", t(0), t(60_000));
    let long = registration("b@example.com", t(0), t(120_000));
    for r in [&short, &long] {
        store.registration_started(r).await.expect("register");
    }
    assert_eq!(live_ids(&store, t(59_999)).await, [short.id, long.id]);
    assert_eq!(
        live_ids(&store, t(60_000)).await,
        [long.id],
        "live means expires_at > now"
    );
    assert!(live_ids(&store, t(120_000)).await.is_empty());

    assert_eq!(
        store.expire_registrations(t(59_999)).await.expect("expire"),
        0
    );
    assert_eq!(
        store.expire_registrations(t(60_000)).await.expect("expire"),
        1,
        "expires_at <= now is deleted"
    );
    assert!(
        !store
            .registration_refreshed(short.id, t(61_000), t(200_000))
            .await
            .expect("refresh expired"),
        "an expired and deleted registration cannot come back"
    );
    assert_eq!(live_ids(&store, t(60_000)).await, [long.id]);
    assert_eq!(
        store.expire_registrations(t(60_000)).await.expect("again"),
        0
    );
    assert_eq!(
        store.expire_registrations(t(500_000)).await.expect("all"),
        1
    );
    store.close().await;
}

async fn clearing_registrations_empties_the_table(db: Db) {
    let store = db.open().await;
    for alias in ["a@example.com", "b@example.com", "c@example.com"] {
        store
            .registration_started(&registration(alias, t(0), t(600_000)))
            .await
            .expect("register");
    }
    // A conference in the history is not a registration: clearing leaves it alone.
    let conf = conference(t(0));
    store.conference_started(&conf).await.expect("start");
    store.close().await;

    // The node restarts: the previous run's registrations are void.
    let store = db.open().await;
    assert_eq!(
        live_ids(&store, t(1_000)).await.len(),
        3,
        "rows survive a reopen"
    );
    assert_eq!(store.clear_registrations().await.expect("clear"), 3);
    assert!(live_ids(&store, t(1_000)).await.is_empty());
    assert_eq!(store.clear_registrations().await.expect("clear again"), 0);
    assert_eq!(store.count_conferences().await.expect("count"), 1);
    store.close().await;
}

async fn a_registration_id_is_recorded_once(db: Db) {
    let store = db.open().await;
    let r = registration("a@example.com", t(0), t(60_000));
    store.registration_started(&r).await.expect("register");
    let err = store
        .registration_started(&NewRegistration {
            alias: "other@example.com".into(),
            ..r.clone()
        })
        .await
        .expect_err("the same id twice");
    assert!(matches!(err, StoreError::Database { .. }), "{err:?}");
    let live = store.live_registrations(t(0)).await.expect("live");
    assert_eq!(
        live.iter().map(|r| r.alias.as_str()).collect::<Vec<_>>(),
        ["a@example.com"],
        "the first row is unchanged"
    );
    store.close().await;
}

#[test]
fn test_database_urls() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:55432/postgres", "x"),
        "postgres://postgres@127.0.0.1:55432/x"
    );
    assert_eq!(with_database("postgres://u:p@h", "x"), "postgres://u:p@h/x");
    assert_eq!(
        with_database("postgresql://u@h/db?sslmode=disable", "x"),
        "postgresql://u@h/x?sslmode=disable"
    );
}
