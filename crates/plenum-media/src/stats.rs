//! Process-wide media counters for the node's `/metrics`: media thread ticks (how long
//! each took, as a histogram; ticks over their 20 ms budget; clock restarts when a
//! thread fell too far behind), video encoders running, keyframe requests both ways,
//! NACKed packets both ways, receiver reports, and per stream kind the RTP packets and
//! frames received and the frames sent (what `plenum loadtest` compares with what its
//! clients sent and received). Relaxed atomics, written at most once per tick or per RTCP packet
//! and read only when scraped: no locks, nothing allocated.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds of the tick-duration histogram buckets, in microseconds (the last,
/// unbounded bucket is implied). The budget of a tick is 20 ms.
pub const TICK_BUCKETS_US: [u64; 10] = [
    250, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 20_000, 40_000, 100_000,
];

/// The counters; one static instance, [`MEDIA_STATS`].
#[derive(Debug)]
pub struct MediaStats {
    ticks: AtomicU64,
    tick_micros_total: AtomicU64,
    /// Per bucket (not cumulative); the last is "over the last bound".
    tick_buckets: [AtomicU64; TICK_BUCKETS_US.len() + 1],
    over_budget: AtomicU64,
    clock_restarts: AtomicU64,
    encoders: AtomicI64,
    keyframe_requests_received: AtomicU64,
    keyframe_requests_sent: AtomicU64,
    receiver_reports: AtomicU64,
    /// Sum of the loss fractions (×256, as RTCP carries them) of those reports.
    receiver_loss_sum: AtomicU64,
    nacked_packets_received: AtomicU64,
    nacked_packets_sent: AtomicU64,
    /// Per [`StreamKind`] index.
    rtp_packets_received: [AtomicU64; 3],
    frames_received: [AtomicU64; 3],
    frames_sent: [AtomicU64; 3],
}

/// The stream of a call a per-stream counter is about, as `/metrics` labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Audio,
    Video,
    Presentation,
}

impl StreamKind {
    /// Every kind, in index order.
    pub const ALL: [StreamKind; 3] = [
        StreamKind::Audio,
        StreamKind::Video,
        StreamKind::Presentation,
    ];

    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            StreamKind::Audio => "audio",
            StreamKind::Video => "video",
            StreamKind::Presentation => "presentation",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One stream kind's counters in a [`MediaStatsSnapshot`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamCounts {
    /// RTP packets received from clients.
    pub rtp_packets_received: u64,
    /// Frames received from clients: audio packets, and video frames reassembled whole.
    pub frames_received: u64,
    /// Frames handed to the WebRTC stack for clients (each packetised into one or more
    /// RTP packets).
    pub frames_sent: u64,
}

/// The node's media counters.
pub static MEDIA_STATS: MediaStats = MediaStats::new();

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaStatsSnapshot {
    /// Media thread ticks run.
    pub ticks: u64,
    /// Their total duration, microseconds.
    pub tick_micros_total: u64,
    /// Ticks per bucket of [`TICK_BUCKETS_US`] (not cumulative), the last over them all.
    pub tick_buckets: [u64; TICK_BUCKETS_US.len() + 1],
    /// Ticks that took longer than their 20 ms budget.
    pub over_budget: u64,
    /// Times a media thread fell so far behind that it restarted its clock (skipped ticks).
    pub clock_restarts: u64,
    /// Video encoders alive now.
    pub encoders: i64,
    /// Keyframe requests (PLI, FIR) received from browsers.
    pub keyframe_requests_received: u64,
    /// Keyframe requests (PLI) sent to browsers.
    pub keyframe_requests_sent: u64,
    /// RTCP receiver report blocks received about what the node sends.
    pub receiver_reports: u64,
    /// Sum of their fraction-lost fields (each 0–255, 256 = everything lost).
    pub receiver_loss_sum: u64,
    /// Packets clients asked the node to resend (generic NACKs received).
    pub nacked_packets_received: u64,
    /// Packets the node asked clients to resend (generic NACKs sent).
    pub nacked_packets_sent: u64,
    /// Per stream kind, in [`StreamKind::ALL`] order.
    pub streams: [StreamCounts; 3],
}

impl MediaStats {
    const fn new() -> MediaStats {
        MediaStats {
            ticks: AtomicU64::new(0),
            tick_micros_total: AtomicU64::new(0),
            tick_buckets: [const { AtomicU64::new(0) }; TICK_BUCKETS_US.len() + 1],
            over_budget: AtomicU64::new(0),
            clock_restarts: AtomicU64::new(0),
            encoders: AtomicI64::new(0),
            keyframe_requests_received: AtomicU64::new(0),
            keyframe_requests_sent: AtomicU64::new(0),
            receiver_reports: AtomicU64::new(0),
            receiver_loss_sum: AtomicU64::new(0),
            nacked_packets_received: AtomicU64::new(0),
            nacked_packets_sent: AtomicU64::new(0),
            rtp_packets_received: [const { AtomicU64::new(0) }; 3],
            frames_received: [const { AtomicU64::new(0) }; 3],
            frames_sent: [const { AtomicU64::new(0) }; 3],
        }
    }

    /// An RTP packet of `kind` arrived from a client.
    pub fn rtp_packet_received(&self, kind: StreamKind) {
        self.rtp_packets_received[kind.index()].fetch_add(1, Relaxed);
    }

    /// A whole frame of `kind` arrived from a client.
    pub fn frame_received(&self, kind: StreamKind) {
        self.frames_received[kind.index()].fetch_add(1, Relaxed);
    }

    /// A frame of `kind` was handed to the WebRTC stack for a client.
    pub fn frame_sent(&self, kind: StreamKind) {
        self.frames_sent[kind.index()].fetch_add(1, Relaxed);
    }

    /// A client asked for `packets` packets again (a generic NACK).
    pub fn nack_received(&self, packets: u64) {
        self.nacked_packets_received.fetch_add(packets, Relaxed);
    }

    /// The node asked a client for `packets` packets again.
    pub fn nack_sent(&self, packets: u64) {
        self.nacked_packets_sent.fetch_add(packets, Relaxed);
    }

    /// A media thread ran one tick in `took`, against a budget of `budget`.
    pub fn tick(&self, took: Duration, budget: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.ticks.fetch_add(1, Relaxed);
        self.tick_micros_total.fetch_add(micros, Relaxed);
        let bucket = TICK_BUCKETS_US
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(TICK_BUCKETS_US.len());
        self.tick_buckets[bucket].fetch_add(1, Relaxed);
        if took > budget {
            self.over_budget.fetch_add(1, Relaxed);
        }
    }

    /// A media thread restarted its clock after falling behind.
    pub fn clock_restarted(&self) {
        self.clock_restarts.fetch_add(1, Relaxed);
    }

    /// A video encoder was made.
    pub fn encoder_started(&self) {
        self.encoders.fetch_add(1, Relaxed);
    }

    /// A video encoder was dropped.
    pub fn encoder_stopped(&self) {
        self.encoders.fetch_sub(1, Relaxed);
    }

    /// A browser asked for a keyframe.
    pub fn keyframe_request_received(&self) {
        self.keyframe_requests_received.fetch_add(1, Relaxed);
    }

    /// The node asked a browser for a keyframe.
    pub fn keyframe_request_sent(&self) {
        self.keyframe_requests_sent.fetch_add(1, Relaxed);
    }

    /// A receiver report block arrived with `fraction_lost` (0–255).
    pub fn receiver_report(&self, fraction_lost: u8) {
        self.receiver_reports.fetch_add(1, Relaxed);
        self.receiver_loss_sum
            .fetch_add(u64::from(fraction_lost), Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> MediaStatsSnapshot {
        let mut tick_buckets = [0; TICK_BUCKETS_US.len() + 1];
        for (out, bucket) in tick_buckets.iter_mut().zip(&self.tick_buckets) {
            *out = bucket.load(Relaxed);
        }
        MediaStatsSnapshot {
            ticks: self.ticks.load(Relaxed),
            tick_micros_total: self.tick_micros_total.load(Relaxed),
            tick_buckets,
            over_budget: self.over_budget.load(Relaxed),
            clock_restarts: self.clock_restarts.load(Relaxed),
            encoders: self.encoders.load(Relaxed),
            keyframe_requests_received: self.keyframe_requests_received.load(Relaxed),
            keyframe_requests_sent: self.keyframe_requests_sent.load(Relaxed),
            receiver_reports: self.receiver_reports.load(Relaxed),
            receiver_loss_sum: self.receiver_loss_sum.load(Relaxed),
            nacked_packets_received: self.nacked_packets_received.load(Relaxed),
            nacked_packets_sent: self.nacked_packets_sent.load(Relaxed),
            streams: StreamKind::ALL.map(|kind| StreamCounts {
                rtp_packets_received: self.rtp_packets_received[kind.index()].load(Relaxed),
                frames_received: self.frames_received[kind.index()].load(Relaxed),
                frames_sent: self.frames_sent[kind.index()].load(Relaxed),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_land_in_their_buckets_and_over_budget_is_counted() {
        let stats = MediaStats::new();
        let budget = Duration::from_millis(20);
        stats.tick(Duration::from_micros(100), budget);
        stats.tick(Duration::from_micros(250), budget);
        stats.tick(Duration::from_millis(3), budget);
        stats.tick(Duration::from_millis(25), budget);
        stats.tick(Duration::from_secs(1), budget);
        let s = stats.snapshot();
        assert_eq!(s.ticks, 5);
        assert_eq!(s.tick_micros_total, 100 + 250 + 3_000 + 25_000 + 1_000_000);
        assert_eq!(s.tick_buckets, [2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1]);
        assert_eq!(s.over_budget, 2);
    }

    #[test]
    fn encoders_and_feedback_are_counted() {
        let stats = MediaStats::new();
        stats.encoder_started();
        stats.encoder_started();
        stats.encoder_stopped();
        stats.keyframe_request_received();
        stats.keyframe_request_sent();
        stats.keyframe_request_sent();
        stats.receiver_report(0);
        stats.receiver_report(64);
        stats.clock_restarted();
        let s = stats.snapshot();
        assert_eq!(s.encoders, 1);
        assert_eq!(s.keyframe_requests_received, 1);
        assert_eq!(s.keyframe_requests_sent, 2);
        assert_eq!((s.receiver_reports, s.receiver_loss_sum), (2, 64));
        assert_eq!(s.clock_restarts, 1);
    }

    #[test]
    fn streams_and_nacks_are_counted_apart() {
        let stats = MediaStats::new();
        stats.rtp_packet_received(StreamKind::Video);
        stats.rtp_packet_received(StreamKind::Video);
        stats.frame_received(StreamKind::Video);
        stats.frame_received(StreamKind::Audio);
        stats.frame_sent(StreamKind::Presentation);
        stats.nack_received(3);
        stats.nack_sent(2);
        let s = stats.snapshot();
        let counts = |rtp, received, sent| StreamCounts {
            rtp_packets_received: rtp,
            frames_received: received,
            frames_sent: sent,
        };
        assert_eq!(
            s.streams,
            [counts(0, 1, 0), counts(2, 1, 0), counts(0, 0, 1)]
        );
        assert_eq!((s.nacked_packets_received, s.nacked_packets_sent), (3, 2));
    }
}
