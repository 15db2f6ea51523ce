//! plenum-loadtest: `plenum loadtest` — synthetic participants that are real WebRTC
//! clients (webrtc-rs, Opus and VP8 from libopus and libvpx) joining through the client
//! REST API v2, against a node it starts on loopback (or one at a URL), scenario by
//! scenario, with what the node costs per participant and what arrived.
//!
//! * [`scenario`]: the scenarios (personal and shared HD views, audio only, small
//!   meetings, a join storm, a presentation).
//! * [`participant`]: one synthetic client and its counts.
//! * [`api`]: its client-API requests.
//! * [`media`]: the test pattern and tone, encoded once.
//! * [`node`]: the node under test, its /proc figures and /metrics.
//! * [`relay`]: a UDP relay a fault test can cut (connection drops, vanishing clients).
//! * [`report`]: the figures per scenario, as a table or JSON.

pub mod api;
pub mod media;
pub mod node;
pub mod participant;
pub mod proc;
pub mod relay;
pub mod report;
pub mod scenario;

use std::collections::HashMap;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::media::TestMedia;
use crate::node::Node;
use crate::participant::{Participant, Received, Stream};
use crate::report::{Percentiles, Report, ScenarioReport, StreamFigures};
use crate::scenario::Scenario;

/// Which node to measure.
#[derive(Debug, Clone)]
pub enum Target {
    /// Start `binary serve` on loopback, pinned to `cpu` when given; `admission` keeps
    /// the node's measured capacity in force (else it is set out of reach).
    Start {
        binary: PathBuf,
        cpu: Option<usize>,
        admission: bool,
    },
    /// A node already running at `url`; `pid` when it runs on this machine.
    Attach { url: String, pid: Option<u32> },
}

/// What `plenum loadtest` was asked.
#[derive(Debug, Clone)]
pub struct Options {
    /// Scenario names ([`scenario::NAMES`]), run in order.
    pub scenarios: Vec<String>,
    /// Participants per scenario, instead of each one's default.
    pub participants: Option<usize>,
    /// How long each scenario is measured once everyone has joined.
    pub duration: Duration,
    /// What the participants send instead of the scenario's resolution (w, h, kbps).
    pub send: Option<(u32, u32, u32)>,
    pub target: Target,
    /// Draw progress on standard error.
    pub progress: bool,
    /// The CPUs the generator (this process) was pinned to, for the report.
    pub generator_cpus: Option<String>,
}

/// Pins this process (call it before any thread is started, so every later thread
/// inherits it) to every CPU but the first, and returns the first for the node; `None`
/// on a single-CPU machine or when `taskset` is missing.
pub fn pin_generator() -> Option<(usize, String)> {
    let cpus = std::thread::available_parallelism().ok()?.get();
    if cpus < 2 {
        return None;
    }
    let mine = format!("1-{}", cpus - 1);
    let status = std::process::Command::new("taskset")
        .arg("-pc")
        .arg(&mine)
        .arg(std::process::id().to_string())
        .stdout(std::process::Stdio::null())
        .status()
        .ok()?;
    status.success().then_some((0, mine))
}

/// Runs the scenarios; a scenario that cannot run at all is an error, one that runs but
/// misses a requirement is reported with its verdict.
pub async fn run(options: &Options) -> anyhow::Result<Report> {
    let mut scenarios = Vec::new();
    for name in &options.scenarios {
        match scenario::scenario(name, options.participants) {
            Some(mut s) => {
                if let Some(send) = options.send {
                    s.send = send;
                }
                scenarios.push(s);
            }
            None => anyhow::bail!(
                "unknown scenario {name:?}: choose from {}",
                scenario::NAMES.join(", ")
            ),
        }
    }
    let (node, node_cpu) = match &options.target {
        Target::Start {
            binary,
            cpu,
            admission,
        } => (Node::start(binary, *cpu, *admission).await?, *cpu),
        Target::Attach { url, pid } => (Node::attach(url.clone(), *pid)?, None),
    };
    let progress = Progress(options.progress);
    let mut media_cache: HashMap<(u32, u32, u32), Arc<TestMedia>> = HashMap::new();
    let mut reports = Vec::new();
    let mut next_address = 0usize;
    for scenario in &scenarios {
        let media = match media_cache.get(&scenario.send) {
            Some(m) => m.clone(),
            None => {
                let (w, h, kbps) = scenario.send;
                progress.line(&format!("encoding the {w}x{h} test pattern"));
                let m = Arc::new(
                    tokio::task::spawn_blocking(move || TestMedia::encode(w, h, kbps)).await??,
                );
                media_cache.insert(scenario.send, m.clone());
                m
            }
        };
        let report = run_scenario(
            &node,
            scenario,
            media,
            options,
            &progress,
            &mut next_address,
        )
        .await?;
        reports.push(report);
        // Let the node end the meetings before the next scenario.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    node.stop().await;
    Ok(Report::new(
        reports,
        node_cpu.map(|c| c.to_string()),
        options.generator_cpus.clone(),
    ))
}

/// Progress lines on standard error, when asked for.
struct Progress(bool);

impl Progress {
    fn line(&self, text: &str) {
        if self.0 {
            let _ = write!(std::io::stderr(), "\r\x1b[2K{text}");
            let _ = std::io::stderr().flush();
        }
    }

    fn bar(&self, name: &str, what: &str, done: usize, total: usize) {
        if self.0 {
            let width = 30;
            let filled = (done * width).checked_div(total).unwrap_or(width);
            self.line(&format!(
                "{name:<15} {what:<10} [{}{}] {done}/{total}",
                "#".repeat(filled),
                ".".repeat(width - filled)
            ));
        }
    }

    fn done(&self) {
        if self.0 {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

/// A loopback source address per participant (127.0.0.2 …), so that each signs in from
/// its own address like a separate machine; `None` for a remote node.
fn source_address(target: &Target, n: usize) -> Option<IpAddr> {
    match target {
        Target::Start { .. } => {
            let n = n % (250 * 250);
            Some(IpAddr::V4(Ipv4Addr::new(
                127,
                0,
                (n / 250) as u8,
                (n % 250) as u8 + 2,
            )))
        }
        Target::Attach { url, .. } => (url.contains("://127.") || url.contains("://localhost"))
            .then(|| {
                let n = n % 250;
                IpAddr::V4(Ipv4Addr::new(127, 0, 1, n as u8 + 2))
            }),
    }
}

/// Counts of every participant at one moment, per stream.
fn received_totals(participants: &[Participant]) -> [Received; 3] {
    let mut totals: [Received; 3] = Default::default();
    for p in participants {
        for stream in Stream::ALL {
            let r = p.counts.received(stream);
            let t = &mut totals[stream as usize];
            t.packets += r.packets;
            t.frames += r.frames;
            t.expected += r.expected_packets();
            t.glitches += r.glitches;
        }
    }
    totals
}

fn frames_sent_totals(participants: &[Participant]) -> [u64; 3] {
    let mut totals = [0; 3];
    for p in participants {
        for stream in Stream::ALL {
            totals[stream as usize] += p.counts.frames_sent(stream);
        }
    }
    totals
}

fn metric_of(kind: Stream, family: &str) -> String {
    format!("plenum_media_{family}_total{{kind=\"{}\"}}", kind.name())
}

async fn run_scenario(
    node: &Node,
    scenario: &Scenario,
    media: Arc<TestMedia>,
    options: &Options,
    progress: &Progress,
    next_address: &mut usize,
) -> anyhow::Result<ScenarioReport> {
    let total = scenario.participants();
    let me = std::process::id();
    let before = node.metrics().await?;
    let memory_before = node.memory();

    // Joins, paced at the scenario's rate, all meetings interleaved.
    let mut setups = Vec::with_capacity(total);
    let longest = scenario
        .meetings
        .iter()
        .map(|m| m.participants.len())
        .max()
        .unwrap_or(0);
    for i in 0..longest {
        for meeting in &scenario.meetings {
            if let Some(setup) = meeting.participants.get(i) {
                setups.push((meeting.alias.clone(), *setup));
            }
        }
    }
    let mut joins = tokio::task::JoinSet::new();
    let gap = Duration::from_secs(1) / scenario.joins_per_second.max(1);
    let started = Instant::now();
    for (index, (alias, setup)) in setups.into_iter().enumerate() {
        let at = started + gap * index as u32;
        let source = source_address(&options.target, *next_address);
        *next_address += 1;
        let base = node.base.clone();
        let media = media.clone();
        joins.spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            let joined_at = Instant::now();
            let result = async {
                let http = api::http_client(source)?;
                let session = api::Session::request_token(
                    http,
                    &base,
                    &alias,
                    &format!("load {index}"),
                    None,
                )
                .await?;
                Participant::join(index, session, setup, media, joined_at).await
            }
            .await;
            (index, result)
        });
    }
    let mut participants = Vec::with_capacity(total);
    let mut failures = Vec::new();
    while let Some(joined) = joins.join_next().await {
        match joined {
            Ok((_, Ok(p))) => participants.push(p),
            Ok((index, Err(error))) => failures.push(format!("participant {index}: {error:#}")),
            Err(error) => failures.push(format!("a join task failed: {error}")),
        }
        progress.bar(
            scenario.name,
            "joining",
            participants.len() + failures.len(),
            total,
        );
    }
    participants.sort_by_key(|p| p.index);

    // Everyone's first frame (video, else audio), or 15 s.
    let first_stream = |p: &Participant| {
        if scenario.video() && p.counts.frames_sent(Stream::Video) > 0 {
            Stream::Video
        } else {
            Stream::Audio
        }
    };
    let wait_until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < wait_until
        && participants
            .iter()
            .any(|p| p.counts.received(first_stream(p)).first_frame_at.is_none())
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first_frames: Vec<Duration> = participants
        .iter()
        .filter_map(|p| {
            p.counts
                .received(first_stream(p))
                .first_frame_at
                .map(|at| at.duration_since(p.joined_at))
        })
        .collect();
    let join_to_first_frame = Percentiles::of(&first_frames);

    // The measured window.
    let window_start = Instant::now();
    let node_cpu_start = node.cpu_time();
    let threads_start = node.threads();
    let generator_cpu_start = proc::cpu_time(me).ok();
    let metrics_start = node.metrics().await?;
    let counts_start = received_totals(&participants);
    let mut memory_samples = Vec::new();
    let seconds = options.duration.as_secs().max(1);
    for s in 0..seconds {
        progress.bar(scenario.name, "measuring", s as usize, seconds as usize);
        tokio::time::sleep_until((window_start + Duration::from_secs(s + 1)).into()).await;
        if (s + 1) % 10 == 0
            && let Some((rss, _)) = node.memory()
        {
            memory_samples.push((s + 1, rss));
        }
    }
    let window = window_start.elapsed();
    let node_cpu_end = node.cpu_time();
    let threads_end = node.threads();
    let generator_cpu_end = proc::cpu_time(me).ok();
    let metrics_window_end = node.metrics().await?;
    let counts_end = received_totals(&participants);
    let memory_end = node.memory();
    let held = participants
        .iter()
        .filter(|p| {
            let s = first_stream(p);
            p.counts.received(s).frames > 0 && p.connected_at <= window_start
        })
        .count();
    let held_receiving = {
        // Still receiving at the end of the window: something arrived in its last second.
        let mut n = 0;
        let before: Vec<u64> = participants
            .iter()
            .map(|p| p.counts.received(first_stream(p)).frames)
            .collect();
        tokio::time::sleep(Duration::from_secs(1)).await;
        for (p, b) in participants.iter().zip(before) {
            if p.counts.received(first_stream(p)).frames > b {
                n += 1;
            }
        }
        n.min(held)
    };

    // Stop sending, let what is in flight land, then count both ends.
    progress.line(&format!("{:<15} finishing", scenario.name));
    for p in &mut participants {
        p.stop_sending();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    // What arrived is read before the node's counters, so that anything the node sends
    // in between counts as sent and not yet received, never the other way round.
    let received = received_totals(&participants);
    let sent = frames_sent_totals(&participants);
    let after = node.metrics().await?;
    let mut streams = Vec::new();
    for stream in Stream::ALL {
        let i = stream as usize;
        let figures = StreamFigures {
            stream: stream.name(),
            up_frames_sent: sent[i],
            up_frames_received: after.delta(&before, &metric_of(stream, "frames_received")) as u64,
            down_frames_sent: after.delta(&before, &metric_of(stream, "frames_sent")) as u64,
            down_frames_received: received[i].frames,
            down_packets_expected: received[i].expected,
            down_packets_received: received[i].packets,
            glitches: counts_end[i].glitches - counts_start[i].glitches,
        };
        if figures != StreamFigures::empty(stream.name()) {
            streams.push(figures);
        }
    }

    // Leave as the SDK does.
    let mut leaves = tokio::task::JoinSet::new();
    for p in participants {
        leaves.spawn(p.leave());
    }
    let mut leave_failures = 0;
    while let Some(left) = leaves.join_next().await {
        if !matches!(left, Ok(Ok(()))) {
            leave_failures += 1;
        }
    }
    progress.done();

    let cores = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
        (Some(a), Some(b)) => Some((b.saturating_sub(a)).as_secs_f64() / window.as_secs_f64()),
        _ => None,
    };
    // The node's media threads are named "media <conference>" (plenum-media engine).
    let (media_cpu, other_cpu) = proc::split_cpu(&threads_start, &threads_end, |name| {
        name.starts_with("media ")
    });
    let split = (!threads_end.is_empty()).then(|| {
        (
            media_cpu.as_secs_f64() / window.as_secs_f64(),
            other_cpu.as_secs_f64() / window.as_secs_f64(),
        )
    });
    Ok(ScenarioReport::new(report::Measured {
        name: scenario.name,
        what: scenario.what.clone(),
        participants: total,
        joined: total - failures.len(),
        held: held_receiving,
        failures,
        leave_failures,
        window,
        node_cores: cores(node_cpu_start, node_cpu_end),
        node_split: split,
        generator_cores: cores(generator_cpu_start, generator_cpu_end),
        streams,
        join_to_first_frame,
        node_memory_before: memory_before.map(|m| m.0),
        node_memory: memory_end,
        memory_samples,
        ticks_over_budget: metrics_window_end
            .delta(&metrics_start, "plenum_media_ticks_over_budget_total")
            as u64,
        clock_restarts: metrics_window_end
            .delta(&metrics_start, "plenum_media_clock_restarts_total")
            as u64,
        keyframe_requests: after.delta(&before, "plenum_media_keyframe_requests_received_total")
            as u64
            + after.delta(&before, "plenum_media_keyframe_requests_sent_total") as u64,
        nacked_packets: after.delta(&before, "plenum_media_nacked_packets_received_total") as u64
            + after.delta(&before, "plenum_media_nacked_packets_sent_total") as u64,
        send: scenario.send,
    }))
}
