//! Conference core throughput at 1000 participants: joins, leaves, control commands,
//! and the cost of one roster change fanned out as events to 1000 subscribers.
//!
//! Run with `cargo bench --bench core`; figures go to docs/performance.md.

// Benches read the real clock once, for an arbitrary origin; the core itself never does.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use plenum_core::{
    Actor, Command, Conference, Event, JoinRequest, ParticipantId, Pin, Role, ServiceConfig,
    ServiceKind,
};

const N: usize = 1000;

fn service() -> Arc<ServiceConfig> {
    let mut service = ServiceConfig::new("bench", ServiceKind::Vmr, &["bench"]);
    service.host_pin = Some(Pin::parse("1234").expect("valid pin"));
    Arc::new(service)
}

fn id(i: usize) -> ParticipantId {
    ParticipantId(uuid::Uuid::from_u128(i as u128 + 1))
}

fn drain(conference: &mut Conference) -> usize {
    let mut n = 0;
    while let Some(event) = conference.poll_event() {
        black_box(&event);
        n += 1;
    }
    n
}

/// A started conference with one Host (index 0) and N-1 Guests.
fn populated(now: Instant) -> Conference {
    let mut conference = Conference::new(now, service());
    for i in 0..N {
        let role = if i == 0 { Role::Host } else { Role::Guest };
        let mut request = JoinRequest::caller(id(i), &format!("Participant {i}"), role);
        request.via_host_pin = role == Role::Host;
        conference.handle_join(now, request).expect("join");
    }
    drain(&mut conference);
    conference
}

fn benches(c: &mut Criterion) {
    let now = Instant::now();
    let host = Actor::Participant(id(0));

    let mut group = c.benchmark_group("core");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));

    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("join_1000", |b| {
        b.iter(|| black_box(populated(now)));
    });

    group.throughput(Throughput::Elements(2));
    group.bench_function("leave_and_join_at_1000", |b| {
        let mut conference = populated(now);
        let mut next = N;
        b.iter(|| {
            conference.handle_leave(
                now,
                id(next - N + 1),
                plenum_core::DisconnectReason::UserInitiated,
            );
            let request = JoinRequest::caller(id(next), "late", Role::Guest);
            conference.handle_join(now, request).expect("join");
            next += 1;
            drain(&mut conference)
        });
    });

    group.throughput(Throughput::Elements(2));
    group.bench_function("mute_unmute_at_1000", |b| {
        let mut conference = populated(now);
        let target = id(N / 2);
        b.iter(|| {
            conference
                .handle_command(now, host, Command::Mute(target))
                .expect("mute");
            conference
                .handle_command(now, host, Command::Unmute(target))
                .expect("unmute");
            drain(&mut conference)
        });
    });

    group.throughput(Throughput::Elements(2));
    group.bench_function("spotlight_on_off_at_1000", |b| {
        let mut conference = populated(now);
        let target = id(N - 1);
        b.iter(|| {
            conference
                .handle_command(now, host, Command::SpotlightOn(target))
                .expect("on");
            conference
                .handle_command(now, host, Command::SpotlightOff(target))
                .expect("off");
            drain(&mut conference)
        });
    });

    group.throughput(Throughput::Elements(1));
    group.bench_function("mute_all_guests_at_1000", |b| {
        b.iter_batched(
            || populated(now),
            |mut conference| {
                conference
                    .handle_command(now, host, Command::MuteGuests)
                    .expect("mute guests");
                drain(&mut conference)
            },
            BatchSize::LargeInput,
        );
    });

    // One roster change delivered to 1000 subscribers of the conference's broadcast
    // channel, as the driver publishes it (each subscriber receives the shared event).
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("roster_change_fanout_to_1000_subscribers", |b| {
        let mut conference = populated(now);
        let (tx, _) = tokio::sync::broadcast::channel::<Arc<Event>>(64);
        let mut subscribers: Vec<_> = (0..N).map(|_| tx.subscribe()).collect();
        let target = id(7);
        let mut muted = false;
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
            while let Some(event) = conference.poll_event() {
                let _ = tx.send(Arc::new(event));
            }
            let mut received = 0;
            for subscriber in &mut subscribers {
                while let Ok(event) = subscriber.try_recv() {
                    black_box(&event);
                    received += 1;
                }
            }
            received
        });
    });
    group.finish();
}

criterion_group!(core, benches);
criterion_main!(core);
