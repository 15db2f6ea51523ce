//! Client API costs on a whole node (in-memory database, no HTTP): request_token and
//! release throughput.
//!
//! Run with `cargo bench --bench api`; figures go to docs/performance.md.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plenum_core::PinInput;
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
}

criterion_group!(api, benches);
criterion_main!(api);
