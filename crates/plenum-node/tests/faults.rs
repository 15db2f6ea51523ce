//! Faults with real clients: synthetic WebRTC participants (plenum-loadtest) against the
//! `plenum` binary, their media through a UDP relay the test cuts. A connection that
//! drops and comes back keeps its participant and its media; a client that vanishes
//! (no media, no ICE, no refresh, no release) is removed when its token runs out, as the
//! client API says (`expires` "120", then #pex113), and not before.

use std::sync::Arc;
use std::time::{Duration, Instant};

use plenum_loadtest::api::{Session, http_client};
use plenum_loadtest::media::TestMedia;
use plenum_loadtest::node::Node;
use plenum_loadtest::participant::{Participant, Setup, Stream};

const ALIAS: &str = "load.shared";

fn setup(through_relay: bool) -> Setup {
    Setup {
        video: true,
        presentation: None,
        bandwidth_kbps: 576,
        speaker: !through_relay,
        through_relay,
    }
}

async fn join(
    node: &Node,
    index: usize,
    name: &str,
    setup: Setup,
    media: &Arc<TestMedia>,
) -> Participant {
    let source = format!("127.0.2.{}", index + 2).parse().expect("address");
    let http = http_client(Some(source)).expect("http client");
    let session = Session::request_token(http, &node.base, ALIAS, name, None)
        .await
        .expect("request_token");
    Participant::join(index, session, setup, media.clone(), Instant::now())
        .await
        .unwrap_or_else(|e| panic!("{name} joins: {e:#}"))
}

/// Waits until `what` holds, checking every 100 ms, for at most `limit`.
async fn until(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn received(p: &Participant, stream: Stream) -> u64 {
    p.counts.received(stream).frames
}

async fn start() -> (Node, Arc<TestMedia>) {
    let node = Node::start(env!("CARGO_BIN_EXE_plenum").as_ref(), None, false)
        .await
        .expect("node starts");
    let media = Arc::new(TestMedia::encode(320, 180, 200).expect("test media"));
    (node, media)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_drops_and_comes_back_keeps_its_participant_and_media() {
    let (node, media) = start().await;
    let alice = join(&node, 0, "Alice", setup(false), &media).await;
    let bob = join(&node, 1, "Bob", setup(true), &media).await;
    until(
        "Bob receives video and audio",
        Duration::from_secs(30),
        async || received(&bob, Stream::Video) > 10 && received(&bob, Stream::Audio) > 50,
    )
    .await;

    // The network drops for 4 s: nothing reaches Bob.
    bob.cut();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during = (received(&bob, Stream::Video), received(&bob, Stream::Audio));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        (received(&bob, Stream::Video), received(&bob, Stream::Audio)),
        during,
        "nothing passes the cut"
    );

    // It comes back: the same call carries media again, Bob is still in the meeting.
    bob.restore();
    until(
        "Bob's media flows again",
        Duration::from_secs(30),
        async || {
            received(&bob, Stream::Video) > during.0 + 10
                && received(&bob, Stream::Audio) > during.1 + 50
        },
    )
    .await;
    let roster = alice.roster().await.expect("roster");
    assert!(roster.contains(&"Bob".to_owned()), "{roster:?}");
    bob.leave().await.expect("Bob leaves");
    alice.leave().await.expect("Alice leaves");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_vanishes_is_removed_when_its_token_runs_out() {
    let (node, media) = start().await;
    let alice = join(&node, 2, "Alice", setup(false), &media).await;
    let mut bob = join(&node, 3, "Bob", setup(true), &media).await;
    until("Bob receives video", Duration::from_secs(30), async || {
        received(&bob, Stream::Video) > 10
    })
    .await;

    // Bob's machine dies: not a packet more, no refresh, no release. His token was
    // issued (or last refreshed) at most `expires` / 3 = 40 s ago.
    let vanished = Instant::now();
    bob.vanish();
    // Still listed a while: the node waits for the token, as a client may come back.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let roster = alice.roster().await.expect("roster");
    assert!(
        roster.contains(&"Bob".to_owned()),
        "removed too early: {roster:?}"
    );
    // Gone once the token has run out: 120 s after the last refresh (+ a few seconds
    // for the reaper), so at most 125 s after vanishing.
    until("Bob is removed", Duration::from_secs(75), async || {
        !alice
            .roster()
            .await
            .expect("roster")
            .contains(&"Bob".to_owned())
    })
    .await;
    assert!(
        vanished.elapsed() <= Duration::from_secs(135),
        "{:?}",
        vanished.elapsed()
    );
    // Alice's meeting carries on.
    let before = received(&alice, Stream::Audio);
    until(
        "Alice still receives audio",
        Duration::from_secs(10),
        async || received(&alice, Stream::Audio) > before + 25,
    )
    .await;
    drop(bob);
    alice.leave().await.expect("Alice leaves");
    node.stop().await;
}
