//! Client API costs: request_token and release throughput on a whole node (in-memory
//! database, no HTTP), and the fan-out of one roster change to 500 open event streams
//! (each stream maps the event for its viewer and renders the SSE text).
//!
//! Run with `cargo bench --bench api`; figures go to docs/performance.md.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plenum_core::{
    Actor, Command, Conference, JoinRequest, ParticipantId, PinInput, Published, Role,
    ServiceConfig, ServiceKind, WallClock,
};
use plenum_http::client::StreamRenderer;
use plenum_http::client::backend::{ClientBackend, TokenRequest};
use plenum_node::client::NodeClient;
use plenum_node::node::Node;

fn request(alias: &str, pin: Option<&str>, n: u32) -> TokenRequest {
    TokenRequest {
        alias: alias.into(),
        pin: PinInput::from_header(pin),
        display_name: format!("Participant {n}"),
        conference_extension: None,
        join_ticket: None,
        call_tag: None,
        // Spread callers over addresses, as real clients are.
        client_addr: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)),
        sso: Default::default(),
    }
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = runtime.block_on(async {
        let config_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let config = plenum_node::config::load_dir(&config_dir).expect("shipped config");
        let store = plenum_store::Store::open("sqlite::memory:")
            .await
            .expect("store");
        NodeClient(Node::new(config, store).expect("node"))
    });
    // Keep the room alive between iterations so joins go to a running conference.
    let keeper = runtime
        .block_on(client.request_token(request("meet.pin", Some("1234"), 0)))
        .expect("host");

    let mut group = c.benchmark_group("api");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(1));
    let mut n = 1;
    group.bench_function("request_token_and_release_guest_pin_room", |b| {
        b.iter(|| {
            n += 1;
            runtime.block_on(async {
                let grant = client
                    .request_token(request("meet.pin", Some("none"), n))
                    .await
                    .expect("guest");
                client
                    .release_token("meet.pin", grant.token.expose(), None)
                    .await
                    .expect("release");
                black_box(grant.participant)
            })
        });
    });
    group.bench_function("request_token_and_release_host_pin", |b| {
        b.iter(|| {
            n += 1;
            runtime.block_on(async {
                let grant = client
                    .request_token(request("meet.pin", Some("1234"), n))
                    .await
                    .expect("host");
                client
                    .release_token("meet.pin", grant.token.expose(), None)
                    .await
                    .expect("release");
                black_box(grant.participant)
            })
        });
    });
    group.finish();
    drop(keeper);

    fanout(c);
}

/// One roster change in a 500-participant conference, rendered for all 500 streams.
fn fanout(c: &mut Criterion) {
    const N: usize = 500;
    let now = Instant::now();
    let clock = WallClock::new(now, SystemTime::now());
    let service = Arc::new(ServiceConfig::new("bench", ServiceKind::Vmr, &["bench"]));
    let mut conference = Conference::new(now, service);
    let ids: Vec<ParticipantId> = (0..N)
        .map(|i| ParticipantId(uuid::Uuid::from_u128(i as u128 + 1)))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let request = JoinRequest::caller(*id, &format!("Participant {i}"), Role::Host);
        conference.handle_join(now, request).expect("join");
    }
    while conference.poll_event().is_some() {}
    let snapshot = conference.snapshot();
    let mut streams: Vec<StreamRenderer> = ids
        .iter()
        .map(|id| StreamRenderer::new(*id, &snapshot, None, clock).expect("viewer"))
        .collect();
    let host = Actor::Participant(ids[0]);
    let target = ids[N / 2];
    let mut muted = false;
    let mut out = String::with_capacity(1 << 20);

    let mut group = c.benchmark_group("api");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("roster_change_to_500_event_streams", |b| {
        b.iter(|| {
            muted = !muted;
            let command = if muted {
                Command::Mute(target)
            } else {
                Command::Unmute(target)
            };
            conference
                .handle_command(now, host, command)
                .expect("command");
            let mut bytes = 0;
            while let Some(event) = conference.poll_event() {
                // As the conference driver publishes it: one shared envelope per event.
                let event = Published::new(event);
                for stream in &mut streams {
                    out.clear();
                    stream.render(&event, &mut out);
                    bytes += out.len();
                }
            }
            black_box(bytes)
        });
    });
    group.finish();
}

criterion_group!(api, benches);
criterion_main!(api);
