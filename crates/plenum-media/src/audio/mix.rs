//! The audio mixer kernel: picks the K loudest speakers, sums them once, derives every
//! distinct "everyone but me" mix from that total, and limits each output to `i16`.
//!
//! Receivers who hear the same thing share one buffer: everyone who is not among the mixed
//! speakers hears the full mix, so one tick produces at most K+1 distinct frames (the full
//! mix plus one minus-self mix per mixed speaker), and the cost grows with K, not with the
//! number of participants. Only ranking the inputs is O(N).
//!
//! Participants are identified by their *slot*, the index into the `inputs` slice; keep a
//! participant on the same slot across ticks so its limiter state and selection follow it.

use super::{FRAME_SAMPLES, Frame, SILENCE};

/// Limiter tuning. See [`Limiter`] for the curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimiterConfig {
    /// Level below which the limiter is bit-transparent, as a sample value (default
    /// 23197 ≈ -3 dBFS). Clamped to 1..=32000.
    pub threshold: i16,
    /// Release time constant, ms: how fast the gain recovers towards 1 after a peak.
    pub release_ms: f32,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        Self {
            threshold: 23197,
            release_ms: 80.0,
        }
    }
}

/// Mixer tuning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixerConfig {
    /// K: at most this many speakers are mixed per tick, the loudest by `level_dbfs`.
    pub max_speakers: usize,
    /// Ranking bonus for speakers that were mixed in the previous tick, dB, so that two
    /// speakers of similar loudness do not swap in and out of the mix every 20 ms.
    pub incumbent_bonus_db: f32,
    /// Limiter applied to every output.
    pub limiter: LimiterConfig,
}

impl Default for MixerConfig {
    fn default() -> Self {
        Self {
            max_speakers: 4,
            incumbent_bonus_db: 3.0,
            limiter: LimiterConfig::default(),
        }
    }
}

/// One participant's contribution to a tick.
#[derive(Debug, Clone, Copy)]
pub struct MixInput<'a> {
    /// The decoded (or concealed) frame, or `None` when nothing arrived / the participant is
    /// silent.
    pub frame: Option<&'a Frame>,
    /// Whether this participant may be heard (unmuted, allowed to speak). Only speakers with
    /// a frame are candidates for the mix.
    pub speaker: bool,
    /// Loudness used to rank speakers, dBFS; normally [`VadUpdate::level_dbfs`](super::VadUpdate).
    pub level_dbfs: f32,
}

impl<'a> MixInput<'a> {
    /// A participant who contributes nothing this tick (a listener, or no audio).
    pub const ABSENT: MixInput<'static> = MixInput {
        frame: None,
        speaker: false,
        level_dbfs: f32::NEG_INFINITY,
    };

    /// A speaker's frame at the given ranking level.
    pub fn speaker(frame: &'a Frame, level_dbfs: f32) -> Self {
        Self {
            frame: Some(frame),
            speaker: true,
            level_dbfs,
        }
    }
}

/// The distinct mixes of one tick. Buffers are allocated once (for K) and reused.
#[derive(Debug, Clone)]
pub struct MixOutput {
    /// What every receiver outside `mixed` hears: the K loudest speakers, limited.
    full: Box<Frame>,
    /// Slots of the mixed speakers this tick, loudest first; at most K.
    mixed: Vec<usize>,
    /// `minus_self[j]` is what `mixed[j]` hears: the full mix without itself. Always K
    /// frames long so ticks never allocate; only the first `mixed.len()` are valid.
    minus_self: Vec<Frame>,
}

impl MixOutput {
    /// Output buffers for at most `max_speakers` mixed speakers.
    pub fn new(max_speakers: usize) -> Self {
        Self {
            full: Box::new(SILENCE),
            mixed: Vec::with_capacity(max_speakers),
            minus_self: vec![SILENCE; max_speakers],
        }
    }

    /// The full mix, heard by every receiver that is not a mixed speaker.
    pub fn full(&self) -> &Frame {
        &self.full
    }

    /// Slots of the speakers mixed this tick, loudest first.
    pub fn mixed(&self) -> &[usize] {
        &self.mixed
    }

    /// Each mixed speaker's slot with the mix it hears (everyone mixed but itself).
    pub fn speaker_mixes(&self) -> impl Iterator<Item = (usize, &Frame)> {
        self.mixed.iter().copied().zip(self.minus_self.iter())
    }

    /// Which distinct output `slot` hears: `Some(j)` for the j-th minus-self mix (the j-th
    /// entry of [`mixed`](Self::mixed)), `None` for the full mix. Use it to pick the shared
    /// encoder.
    pub fn output_of(&self, slot: usize) -> Option<usize> {
        self.mixed.iter().position(|&s| s == slot)
    }

    /// The frame receiver `slot` hears.
    pub fn for_receiver(&self, slot: usize) -> &Frame {
        match self.output_of(slot) {
            Some(j) => &self.minus_self[j],
            None => &self.full,
        }
    }
}

/// Per-slot state kept across ticks.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// Limiter of this slot's minus-self mix (meaningful while `mixed`).
    limiter: Limiter,
    /// Whether the slot was among the mixed speakers in the previous tick.
    mixed: bool,
}

/// The mixer for one room. Holds limiter state per output and reusable scratch buffers.
#[derive(Debug, Clone)]
pub struct Mixer {
    config: MixerConfig,
    /// Sum of the mixed speakers' frames this tick.
    total: Box<[i32; FRAME_SAMPLES]>,
    /// Scratch for `total - own`.
    work: Box<[i32; FRAME_SAMPLES]>,
    /// Limiter of the full mix.
    full_limiter: Limiter,
    /// One entry per slot seen so far; grows with the room, never per tick.
    slots: Vec<Slot>,
    /// The current top-K candidates as (score, slot), best first; capacity K.
    ranked: Vec<(f32, usize)>,
}

impl Mixer {
    /// A mixer with room for `participants` slots before it needs to grow.
    pub fn new(config: MixerConfig, participants: usize) -> Self {
        Self {
            config,
            total: Box::new([0; FRAME_SAMPLES]),
            work: Box::new([0; FRAME_SAMPLES]),
            full_limiter: Limiter::default(),
            slots: vec![Slot::default(); participants],
            ranked: Vec::with_capacity(config.max_speakers),
        }
    }

    /// Output buffers sized for this mixer's K.
    pub fn new_output(&self) -> MixOutput {
        MixOutput::new(self.config.max_speakers)
    }

    /// Mixes one 20 ms tick. `inputs[slot]` is participant `slot`'s contribution.
    ///
    /// Allocates only when the room grew past the slots seen so far or `out` was built for a
    /// smaller K; otherwise it reuses every buffer.
    pub fn mix(&mut self, inputs: &[MixInput<'_>], out: &mut MixOutput) {
        let k = self.config.max_speakers;
        if self.slots.len() < inputs.len() {
            self.slots.resize(inputs.len(), Slot::default());
        }
        if out.minus_self.len() < k {
            out.minus_self.resize(k, SILENCE);
        }

        self.rank(inputs);

        // The total of the mixed speakers, once.
        self.total.fill(0);
        for &(_, slot) in &self.ranked {
            if let Some(frame) = inputs[slot].frame {
                for (t, &x) in self.total.iter_mut().zip(frame.iter()) {
                    *t += i32::from(x);
                }
            }
        }

        // One minus-self mix per mixed speaker. A speaker entering the mix was hearing the
        // full mix until now, so its limiter continues from the full mix's state.
        out.mixed.clear();
        for (j, &(_, slot)) in self.ranked.iter().enumerate() {
            let own = inputs[slot].frame.unwrap_or(&SILENCE);
            for ((w, &t), &x) in self.work.iter_mut().zip(self.total.iter()).zip(own.iter()) {
                *w = t - i32::from(x);
            }
            let state = &mut self.slots[slot];
            if !state.mixed {
                state.limiter = self.full_limiter;
            }
            state
                .limiter
                .process(&self.config.limiter, &self.work, &mut out.minus_self[j]);
            out.mixed.push(slot);
        }
        self.full_limiter
            .process(&self.config.limiter, &self.total, &mut out.full);

        for slot in self.slots.iter_mut() {
            slot.mixed = false;
        }
        for &(_, slot) in &self.ranked {
            self.slots[slot].mixed = true;
        }
    }

    /// Fills `ranked` with the K best speakers by level (plus the incumbent bonus), best
    /// first; ties go to the lower slot.
    fn rank(&mut self, inputs: &[MixInput<'_>]) {
        let k = self.config.max_speakers;
        self.ranked.clear();
        if k == 0 {
            return;
        }
        for (slot, input) in inputs.iter().enumerate() {
            if !input.speaker || input.frame.is_none() {
                continue;
            }
            let bonus = if self.slots[slot].mixed {
                self.config.incumbent_bonus_db
            } else {
                0.0
            };
            let score = input.level_dbfs + bonus;
            // NaN levels never beat anyone; they only fill empty places.
            let at = self
                .ranked
                .iter()
                .position(|&(s, _)| score > s)
                .unwrap_or(self.ranked.len());
            if at < k {
                if self.ranked.len() == k {
                    self.ranked.pop();
                }
                self.ranked.insert(at, (score, slot));
            }
        }
    }
}

// === impl Limiter ===

/// Block size of the limiter's gain computation: 48 samples = 1 ms.
const LIMITER_BLOCK: usize = 48;

/// A cheap look-ahead-free peak limiter from an `i32` mix to `i16`, with state per output.
///
/// Curve, with threshold `T` and full scale `F = 32767`:
/// 1. **Gain stage**, per 1 ms block with peak `p`: target gain `g* = 1` if `p ≤ T`, else
///    `T / p` (an infinite-ratio limiter at `T`). A lower target is reached within the block
///    by a linear ramp (attack 1 ms, no step, so no click); otherwise the gain recovers
///    towards 1 exponentially with time constant `release_ms`, never above the target.
/// 2. **Soft knee** per sample on `y = g·x`: `|y| ≤ T` passes unchanged; above it
///    `T + d / (1 + d / (F − T))` with `d = |y| − T`: slope 1 at `T`, approaching but never
///    reaching `F`. It only shapes what the ramped attack lets through, so a burst never
///    wraps or hard-clips.
///
/// While the gain is 1 and the block's peak is at most `T`, output equals input exactly.
#[derive(Debug, Clone, Copy)]
pub struct Limiter {
    /// Current gain, 0 < gain ≤ 1; exactly 1.0 when not limiting.
    gain: f32,
}

impl Default for Limiter {
    fn default() -> Self {
        Self { gain: 1.0 }
    }
}

impl Limiter {
    /// Current gain (1.0 when transparent).
    pub fn gain(&self) -> f32 {
        self.gain
    }

    /// Limits one frame of mixed samples into `out`.
    pub fn process(
        &mut self,
        config: &LimiterConfig,
        input: &[i32; FRAME_SAMPLES],
        out: &mut Frame,
    ) {
        let threshold = config.threshold.clamp(1, 32000);
        let t = f32::from(threshold);
        let peak_max = threshold.unsigned_abs() as u32;
        let inv_knee = 1.0 / (f32::from(i16::MAX) - t);
        let release = 1.0 - (-1.0 / config.release_ms.max(1.0)).exp();

        for (x, y) in input
            .chunks_exact(LIMITER_BLOCK)
            .zip(out.chunks_exact_mut(LIMITER_BLOCK))
        {
            let peak = x.iter().fold(0u32, |m, v| m.max(v.unsigned_abs()));
            let target = if peak <= peak_max {
                1.0
            } else {
                t / peak as f32
            };
            let mut next = if target < self.gain {
                target
            } else {
                (self.gain + (1.0 - self.gain) * release).min(target)
            };
            if next > 0.9999 {
                next = 1.0;
            }

            if self.gain == 1.0 && next == 1.0 {
                // Transparent: every |x| ≤ T < i16::MAX, so the cast is exact.
                for (o, &v) in y.iter_mut().zip(x) {
                    *o = v as i16;
                }
            } else {
                // Branch-free so it vectorises: below T, d = 0 and the knee adds nothing.
                let step = (next - self.gain) / LIMITER_BLOCK as f32;
                let gain = self.gain;
                for (i, (o, &v)) in y.iter_mut().zip(x).enumerate() {
                    let s = v as f32 * (gain + step * (i + 1) as f32);
                    let a = s.abs();
                    let d = (a - t).max(0.0);
                    let limited = (a.min(t) + d / (1.0 + d * inv_knee)).copysign(s);
                    // Float-to-int `as` saturates; the knee keeps |limited| < 32767 anyway.
                    *o = limited as i16;
                }
            }
            self.gain = next;
        }
    }
}

#[cfg(test)]
mod tests;
