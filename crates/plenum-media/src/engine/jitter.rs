//! The audio jitter buffer: orders one sender's Opus packets by RTP timestamp and hands
//! the mixer exactly one 20 ms decision per tick — a packet, an FEC recovery, a
//! concealment, or nothing (the sender is idle).

use std::collections::VecDeque;

use bytes::Bytes;

/// RTP timestamp step of one 20 ms Opus frame at 48 kHz.
pub const FRAME_TICKS: u32 = 960;
/// Packets buffered before playout starts (40 ms of latency against arrival jitter).
const START_DEPTH: usize = 2;
/// Above this depth the sender runs ahead of our clock (or arrived in a burst): drop
/// the oldest packets down to `START_DEPTH` so latency stays bounded.
const MAX_DEPTH: usize = 10;
/// Consecutive missing frames after which the sender counts as idle (stops PLC).
const MAX_CONCEALED: u32 = 10;

/// What to play for one tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// Decode this packet.
    Packet(Bytes),
    /// This frame was lost but the next packet is here: recover it from that packet's
    /// inband FEC.
    Fec(Bytes),
    /// This frame was lost: conceal it.
    Lost,
    /// Nothing to play: the sender has not started or stopped sending.
    Idle,
}

/// One sender's jitter buffer. Capacity is reserved once; pushing and popping never
/// allocate.
#[derive(Debug)]
pub struct Jitter {
    queue: VecDeque<(u32, Bytes)>,
    /// Timestamp of the frame to play next, once playing.
    next: Option<u32>,
    concealed: u32,
}

impl Default for Jitter {
    fn default() -> Self {
        Jitter {
            queue: VecDeque::with_capacity(MAX_DEPTH + 2),
            next: None,
            concealed: 0,
        }
    }
}

/// `a` comes before `b` in RTP timestamp order (with wrap-around).
fn before(a: u32, b: u32) -> bool {
    a != b && b.wrapping_sub(a) < u32::MAX / 2
}

impl Jitter {
    /// Adds a received packet. Late (already played) and duplicate packets are dropped.
    pub fn push(&mut self, timestamp: u32, payload: Bytes) {
        if self.next.is_some_and(|next| before(timestamp, next)) {
            return;
        }
        // Insert in order; arrivals are almost always at the back.
        let mut at = self.queue.len();
        while at > 0 {
            let ts = self.queue[at - 1].0;
            if ts == timestamp {
                return;
            }
            if before(ts, timestamp) {
                break;
            }
            at -= 1;
        }
        self.queue.insert(at, (timestamp, payload));
        if self.queue.len() > MAX_DEPTH {
            while self.queue.len() > START_DEPTH {
                self.queue.pop_front();
            }
            self.next = self.queue.front().map(|(ts, _)| *ts);
        }
    }

    /// The decision for the next 20 ms tick.
    pub fn pop(&mut self) -> Playout {
        let Some(next) = self.next else {
            if self.queue.len() < START_DEPTH {
                return Playout::Idle;
            }
            let (ts, payload) = self.queue.pop_front().expect("depth checked above");
            self.next = Some(ts.wrapping_add(FRAME_TICKS));
            self.concealed = 0;
            return Playout::Packet(payload);
        };
        self.next = Some(next.wrapping_add(FRAME_TICKS));
        match self.queue.front() {
            Some((ts, _)) if *ts == next => {
                self.concealed = 0;
                let (_, payload) = self.queue.pop_front().expect("front exists");
                Playout::Packet(payload)
            }
            Some((_, payload)) if self.concealed == 0 => {
                // A gap: the packet after it carries this frame's FEC.
                self.concealed += 1;
                Playout::Fec(payload.clone())
            }
            _ => {
                self.concealed += 1;
                if self.concealed > MAX_CONCEALED && self.queue.is_empty() {
                    self.next = None;
                    return Playout::Idle;
                }
                Playout::Lost
            }
        }
    }

    /// Packets waiting.
    pub fn depth(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(n: u8) -> Bytes {
        Bytes::from(vec![n])
    }

    fn ts(n: u32) -> u32 {
        1000u32.wrapping_add(n * FRAME_TICKS)
    }

    #[test]
    fn waits_for_two_packets_then_plays_in_order() {
        let mut j = Jitter::default();
        assert_eq!(j.pop(), Playout::Idle);
        j.push(ts(1), packet(1));
        assert_eq!(j.pop(), Playout::Idle);
        j.push(ts(0), packet(0));
        assert_eq!(j.pop(), Playout::Packet(packet(0)));
        assert_eq!(j.pop(), Playout::Packet(packet(1)));
    }

    #[test]
    fn a_gap_is_recovered_from_fec_then_concealed() {
        let mut j = Jitter::default();
        j.push(ts(0), packet(0));
        j.push(ts(1), packet(1));
        j.push(ts(4), packet(4));
        assert_eq!(j.pop(), Playout::Packet(packet(0)));
        assert_eq!(j.pop(), Playout::Packet(packet(1)));
        assert_eq!(
            j.pop(),
            Playout::Fec(packet(4)),
            "frame 2 from 4's FEC (best effort)"
        );
        assert_eq!(j.pop(), Playout::Lost, "frame 3 concealed");
        assert_eq!(j.pop(), Playout::Packet(packet(4)));
    }

    #[test]
    fn duplicates_and_late_packets_are_dropped() {
        let mut j = Jitter::default();
        j.push(ts(0), packet(0));
        j.push(ts(0), packet(9));
        j.push(ts(1), packet(1));
        assert_eq!(j.depth(), 2);
        assert_eq!(j.pop(), Playout::Packet(packet(0)));
        j.push(ts(0), packet(0));
        assert_eq!(j.depth(), 1, "already played");
    }

    #[test]
    fn silence_after_loss_becomes_idle() {
        let mut j = Jitter::default();
        j.push(ts(0), packet(0));
        j.push(ts(1), packet(1));
        j.pop();
        j.pop();
        for _ in 0..MAX_CONCEALED {
            assert_eq!(j.pop(), Playout::Lost);
        }
        assert_eq!(j.pop(), Playout::Idle);
        // A new talk spurt starts cleanly.
        j.push(ts(50), packet(50));
        j.push(ts(51), packet(51));
        assert_eq!(j.pop(), Playout::Packet(packet(50)));
    }

    #[test]
    fn a_burst_is_cut_back_to_bounded_latency() {
        let mut j = Jitter::default();
        for n in 0..=MAX_DEPTH as u32 {
            j.push(ts(n), packet(n as u8));
        }
        assert_eq!(j.depth(), START_DEPTH);
        let first = MAX_DEPTH as u32 + 1 - START_DEPTH as u32;
        assert_eq!(j.pop(), Playout::Packet(packet(first as u8)));
    }

    #[test]
    fn timestamps_wrap() {
        let mut j = Jitter::default();
        let a = u32::MAX - 100;
        j.push(a, packet(0));
        j.push(a.wrapping_add(FRAME_TICKS), packet(1));
        assert_eq!(j.pop(), Playout::Packet(packet(0)));
        assert_eq!(j.pop(), Playout::Packet(packet(1)));
    }
}
