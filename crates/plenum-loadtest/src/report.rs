//! The loadtest's figures: per scenario what was held, what it cost the node and the
//! generator, what arrived both ways, glitches, join-to-first-frame time and memory,
//! with a verdict against the requirements (everyone held, ≥ 99 % delivered, no media
//! thread so far behind that it skipped ticks); as a readable table or as JSON. Ticks
//! over their 20 ms budget are shown but not failed: a tick that encodes several
//! composites may run long and the next one catches up.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

/// Share of frames and packets that must arrive, each way.
pub const REQUIRED_DELIVERY: f64 = 0.99;

/// p50 / p95 / max of some durations, milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub samples: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    pub fn of(values: &[Duration]) -> Percentiles {
        if values.is_empty() {
            return Percentiles::default();
        }
        let mut ms: Vec<f64> = values.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        // Nearest rank.
        let rank = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
        Percentiles {
            samples: ms.len(),
            p50_ms: rank(0.50),
            p95_ms: rank(0.95),
            max_ms: ms[ms.len() - 1],
        }
    }
}

/// One stream kind's frames and packets, both ways, over the whole scenario.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StreamFigures {
    pub stream: &'static str,
    /// Frames the participants sent / the node received whole.
    pub up_frames_sent: u64,
    pub up_frames_received: u64,
    /// Frames the node sent / the participants received whole.
    pub down_frames_sent: u64,
    pub down_frames_received: u64,
    /// RTP packets the node's sequence numbers say it sent / that arrived.
    pub down_packets_expected: u64,
    pub down_packets_received: u64,
    /// Arrival gaps one would hear or see, during the measured window.
    pub glitches: u64,
}

impl StreamFigures {
    pub fn empty(stream: &'static str) -> StreamFigures {
        StreamFigures {
            stream,
            up_frames_sent: 0,
            up_frames_received: 0,
            down_frames_sent: 0,
            down_frames_received: 0,
            down_packets_expected: 0,
            down_packets_received: 0,
            glitches: 0,
        }
    }
}

/// What `run_scenario` measured.
#[derive(Debug, Clone)]
pub struct Measured {
    pub name: &'static str,
    pub what: String,
    pub participants: usize,
    pub joined: usize,
    pub held: usize,
    pub failures: Vec<String>,
    pub leave_failures: usize,
    pub window: Duration,
    pub node_cores: Option<f64>,
    /// The node's CPU over the window in cores: (its media threads, everything else).
    pub node_split: Option<(f64, f64)>,
    pub generator_cores: Option<f64>,
    pub streams: Vec<StreamFigures>,
    pub join_to_first_frame: Percentiles,
    pub node_memory_before: Option<u64>,
    pub node_memory: Option<(u64, u64)>,
    pub memory_samples: Vec<(u64, u64)>,
    pub ticks_over_budget: u64,
    pub clock_restarts: u64,
    pub keyframe_requests: u64,
    pub nacked_packets: u64,
    pub send: (u32, u32, u32),
}

/// Delivered share, 1.0 when nothing was due.
fn share(received: u64, sent: u64) -> f64 {
    if sent == 0 {
        1.0
    } else {
        received as f64 / sent as f64
    }
}

/// One scenario's figures.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub scenario: &'static str,
    pub description: String,
    /// Resolution and VP8 kbps the participants sent.
    pub sending: String,
    pub participants: usize,
    pub joined: usize,
    /// Connected before the window and still receiving after it.
    pub held: usize,
    pub window_seconds: f64,
    /// Node CPU over the window, in cores (1.0 = one core busy).
    pub node_cpu_cores: Option<f64>,
    /// Node CPU per participant, percent of one core.
    pub node_cpu_per_participant_percent: Option<f64>,
    /// Participants one core carries at this cost (participants / node cores).
    pub participants_per_core: Option<f64>,
    /// Of the node's CPU, its media threads (decode, mix, composite, encode), cores.
    pub node_media_thread_cores: Option<f64>,
    /// Of the node's CPU, everything else (the packet path: SRTP, packetisation, the
    /// WebRTC stack's and the per-call tasks; the API), cores.
    pub node_other_cores: Option<f64>,
    /// The generator's own CPU over the window, cores.
    pub generator_cpu_cores: Option<f64>,
    /// Frames received / sent, each way, all streams together.
    pub uplink_frame_delivery: f64,
    pub downlink_frame_delivery: f64,
    /// RTP packets received / expected at the participants.
    pub downlink_packet_delivery: f64,
    pub audio_glitches: u64,
    pub video_glitches: u64,
    pub join_to_first_frame: Percentiles,
    pub node_memory_bytes: Option<u64>,
    pub node_peak_memory_bytes: Option<u64>,
    /// Node memory growth from before the joins to the end of the window, per participant.
    pub node_memory_per_participant_bytes: Option<i64>,
    /// (seconds into the window, node RSS bytes), every 10 s.
    pub memory_samples: Vec<(u64, u64)>,
    pub ticks_over_budget: u64,
    pub clock_restarts: u64,
    pub keyframe_requests: u64,
    pub nacked_packets: u64,
    pub streams: Vec<StreamFigures>,
    /// Join errors (the first few).
    pub errors: Vec<String>,
    pub leave_failures: usize,
    /// "ok", or what missed the requirements.
    pub verdict: String,
}

impl ScenarioReport {
    pub fn new(m: Measured) -> ScenarioReport {
        let sum = |f: fn(&StreamFigures) -> u64| m.streams.iter().map(f).sum::<u64>();
        let uplink = share(sum(|s| s.up_frames_received), sum(|s| s.up_frames_sent));
        let downlink = share(sum(|s| s.down_frames_received), sum(|s| s.down_frames_sent));
        let packets = share(
            sum(|s| s.down_packets_received),
            sum(|s| s.down_packets_expected),
        );
        let glitches = |name: &str| {
            m.streams
                .iter()
                .filter(|s| (s.stream == "audio") == (name == "audio"))
                .map(|s| s.glitches)
                .sum()
        };
        let mut misses = Vec::new();
        if m.held < m.participants {
            misses.push(format!("held {} of {}", m.held, m.participants));
        }
        for (what, value) in [
            ("uplink frames", uplink),
            ("downlink frames", downlink),
            ("downlink packets", packets),
        ] {
            if value < REQUIRED_DELIVERY {
                misses.push(format!("{what} {:.1} % < 99 %", value * 100.0));
            }
        }
        if m.clock_restarts > 0 {
            misses.push(format!(
                "media threads fell behind and skipped ticks {} times",
                m.clock_restarts
            ));
        }
        let verdict = if misses.is_empty() {
            "ok".to_owned()
        } else {
            misses.join("; ")
        };
        let (w, h, kbps) = m.send;
        ScenarioReport {
            scenario: m.name,
            description: m.what,
            sending: format!("{w}x{h} VP8 {kbps} kbps + Opus"),
            participants: m.participants,
            joined: m.joined,
            held: m.held,
            window_seconds: m.window.as_secs_f64(),
            node_cpu_cores: m.node_cores,
            node_cpu_per_participant_percent: m
                .node_cores
                .filter(|_| m.held > 0)
                .map(|c| c * 100.0 / m.held as f64),
            participants_per_core: m.node_cores.filter(|c| *c > 0.0).map(|c| m.held as f64 / c),
            node_media_thread_cores: m.node_split.map(|s| s.0),
            node_other_cores: m.node_split.map(|s| s.1),
            generator_cpu_cores: m.generator_cores,
            uplink_frame_delivery: uplink,
            downlink_frame_delivery: downlink,
            downlink_packet_delivery: packets,
            audio_glitches: glitches("audio"),
            video_glitches: glitches("video"),
            join_to_first_frame: m.join_to_first_frame,
            node_memory_bytes: m.node_memory.map(|m| m.0),
            node_peak_memory_bytes: m.node_memory.map(|m| m.1),
            node_memory_per_participant_bytes: match (m.node_memory_before, m.node_memory) {
                (Some(before), Some((now, _))) if m.participants > 0 => {
                    Some((now as i64 - before as i64) / m.participants as i64)
                }
                _ => None,
            },
            memory_samples: m.memory_samples,
            ticks_over_budget: m.ticks_over_budget,
            clock_restarts: m.clock_restarts,
            keyframe_requests: m.keyframe_requests,
            nacked_packets: m.nacked_packets,
            streams: m.streams,
            errors: m.failures.into_iter().take(5).collect(),
            leave_failures: m.leave_failures,
            verdict,
        }
    }

    pub fn ok(&self) -> bool {
        self.verdict == "ok"
    }
}

/// Every scenario's figures and where they were measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    /// The CPU the node was pinned to, if it was.
    pub node_cpus: Option<String>,
    /// The CPUs the generator was pinned to, if it was.
    pub generator_cpus: Option<String>,
    pub scenarios: Vec<ScenarioReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
}

impl Machine {
    fn this() -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        // Every CPU of the machine, not only those this process is pinned to.
        let cpus = std::fs::read_to_string("/proc/cpuinfo")
            .map(|info| info.lines().filter(|l| l.starts_with("processor")).count())
            .unwrap_or(1)
            .max(1);
        Machine { cpus, cpu_model }
    }
}

fn opt(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

/// Node memory over a long window (a soak), from samples every 10 s: a sample about every
/// tenth of the window, then the lowest and highest. `None` for windows under a minute.
fn memory_over_time(samples: &[(u64, u64)]) -> Option<String> {
    let last = samples.last()?.0;
    if last < 60 {
        return None;
    }
    let step = (last / 10).max(10);
    let mut shown = Vec::new();
    let mut next = 0;
    for &(at, rss) in samples {
        if at >= next || at == last {
            let when = if at >= 120 {
                format!("{} min", at / 60)
            } else {
                format!("{at} s")
            };
            shown.push(format!("{when} {} MiB", mib(Some(rss))));
            next = at - at % step + step;
        }
    }
    let low = samples.iter().map(|s| s.1).min()?;
    let high = samples.iter().map(|s| s.1).max()?;
    Some(format!(
        "node memory over time: {}; lowest {} MiB, highest {} MiB ({} samples)",
        shown.join(", "),
        mib(Some(low)),
        mib(Some(high)),
        samples.len()
    ))
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "-".to_owned(), |b| format!("{}", b / (1024 * 1024)))
}

impl Report {
    pub fn new(
        scenarios: Vec<ScenarioReport>,
        node_cpus: Option<String>,
        generator_cpus: Option<String>,
    ) -> Report {
        Report {
            machine: Machine::this(),
            node_cpus,
            generator_cpus,
            scenarios,
        }
    }

    /// Whether every scenario met its requirements.
    pub fn ok(&self) -> bool {
        self.scenarios.iter().all(ScenarioReport::ok)
    }

    /// The readable table and, under it, each scenario's description and verdict.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "plenum loadtest on {} CPU(s) ({}); node on CPU {}, generator on CPU {}",
            self.machine.cpus,
            self.machine.cpu_model,
            self.node_cpus.as_deref().unwrap_or("any"),
            self.generator_cpus.as_deref().unwrap_or("any"),
        );
        let header = [
            "scenario",
            "held",
            "node cores",
            "media/other",
            "% core/part.",
            "part./core",
            "gen. cores",
            "up frames",
            "down frames",
            "down pkts",
            "glitches a/v",
            "first frame p50/p95 ms",
            "node RSS MiB",
            "ticks over/skips",
        ];
        let rows: Vec<[String; 14]> = self
            .scenarios
            .iter()
            .map(|s| {
                [
                    s.scenario.to_owned(),
                    format!("{}/{}", s.held, s.participants),
                    opt(s.node_cpu_cores, 2),
                    match (s.node_media_thread_cores, s.node_other_cores) {
                        (Some(m), Some(o)) => format!("{m:.2}/{o:.2}"),
                        _ => "-".to_owned(),
                    },
                    opt(s.node_cpu_per_participant_percent, 1),
                    opt(s.participants_per_core, 1),
                    opt(s.generator_cpu_cores, 2),
                    format!("{:.2} %", s.uplink_frame_delivery * 100.0),
                    format!("{:.2} %", s.downlink_frame_delivery * 100.0),
                    format!("{:.2} %", s.downlink_packet_delivery * 100.0),
                    format!("{}/{}", s.audio_glitches, s.video_glitches),
                    format!(
                        "{:.0}/{:.0}",
                        s.join_to_first_frame.p50_ms, s.join_to_first_frame.p95_ms
                    ),
                    mib(s.node_memory_bytes),
                    format!("{}/{}", s.ticks_over_budget, s.clock_restarts),
                ]
            })
            .collect();
        let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>, out: &mut String| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            let _ = writeln!(out, "{}", padded.join("  ").trim_end());
        };
        line(header.to_vec(), &mut out);
        for row in &rows {
            line(row.iter().map(String::as_str).collect(), &mut out);
        }
        let _ = writeln!(out);
        for s in &self.scenarios {
            let _ = writeln!(
                out,
                "{}: {} ({}, {:.0} s measured): {}",
                s.scenario, s.description, s.sending, s.window_seconds, s.verdict
            );
            for error in &s.errors {
                let _ = writeln!(out, "  error: {error}");
            }
            if let Some(line) = memory_over_time(&s.memory_samples) {
                let _ = writeln!(out, "  {line}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured() -> Measured {
        Measured {
            name: "shared-hd",
            what: "test".to_owned(),
            participants: 10,
            joined: 10,
            held: 10,
            failures: vec![],
            leave_failures: 0,
            window: Duration::from_secs(10),
            node_cores: Some(0.5),
            node_split: Some((0.3, 0.2)),
            generator_cores: Some(0.2),
            streams: vec![StreamFigures {
                stream: "video",
                up_frames_sent: 1000,
                up_frames_received: 1000,
                down_frames_sent: 1000,
                down_frames_received: 995,
                down_packets_expected: 3000,
                down_packets_received: 2990,
                glitches: 0,
            }],
            join_to_first_frame: Percentiles::of(&[Duration::from_millis(300)]),
            node_memory_before: Some(100 << 20),
            node_memory: Some((110 << 20, 120 << 20)),
            memory_samples: vec![],
            ticks_over_budget: 0,
            clock_restarts: 0,
            keyframe_requests: 0,
            nacked_packets: 0,
            send: (1280, 720, 1500),
        }
    }

    #[test]
    fn per_core_figures_and_verdicts() {
        let ok = ScenarioReport::new(measured());
        assert_eq!(ok.verdict, "ok");
        assert_eq!(ok.participants_per_core, Some(20.0));
        assert_eq!(ok.node_cpu_per_participant_percent, Some(5.0));
        assert_eq!(ok.node_memory_per_participant_bytes, Some(1 << 20));

        let mut lossy = measured();
        lossy.streams[0].down_frames_received = 900;
        lossy.held = 9;
        lossy.ticks_over_budget = 3;
        lossy.clock_restarts = 1;
        let report = ScenarioReport::new(lossy);
        assert_eq!(
            report.verdict,
            "held 9 of 10; downlink frames 90.0 % < 99 %; media threads fell behind and skipped ticks 1 times"
        );
        let table = Report::new(vec![report], Some("0".into()), Some("1".into())).table();
        assert!(table.contains("9/10"), "{table}");
        assert!(table.contains("90.00 %"), "{table}");
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let p = Percentiles::of(&values);
        assert_eq!((p.p50_ms, p.p95_ms, p.max_ms), (50.0, 95.0, 100.0));
        assert_eq!(Percentiles::of(&[]).samples, 0);
    }

    #[test]
    fn a_soak_shows_memory_over_time() {
        let samples: Vec<(u64, u64)> = (1..=360).map(|i| (i * 10, (700 + i % 7) << 20)).collect();
        let line = memory_over_time(&samples).expect("an hour of samples");
        assert!(
            line.starts_with("node memory over time: 10 s 701"),
            "{line}"
        );
        assert!(line.contains("6 min "), "{line}");
        assert!(line.contains("60 min "), "{line}");
        assert!(line.contains("lowest 700"), "{line}");
        assert!(line.contains("highest 706"), "{line}");
        assert!(line.contains("(360 samples)"), "{line}");
        assert_eq!(memory_over_time(&samples[..3]), None, "20 s is no soak");
    }
}
