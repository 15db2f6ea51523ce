//! Voice activity per participant: frame energy in dBFS, an adaptive noise floor, an on/off
//! hysteresis state machine with hang-over, and a smoothed level for ranking loudest speakers.
//!
//! Pure and frame-driven: one call per 20 ms frame, no clocks. The `speaking` transitions
//! feed the core's `MediaReport::Speaking(bool)`; [`VadUpdate::level_dbfs`] feeds
//! [`MixInput::level_dbfs`](super::MixInput::level_dbfs).
//!
//! Decision, per frame with energy level `L` (RMS in dBFS) and noise floor `F`:
//! * on threshold  = max(`on_dbfs`,  `F + on_margin_db`),
//! * off threshold = max(`off_dbfs`, `F + off_margin_db`) (lower than the on threshold),
//! * silent → speaking after `on_frames` consecutive frames with `L ≥ on`,
//! * speaking → silent after `hangover_frames` consecutive frames with `L < off`; any frame at
//!   or above `off` restarts the hang-over count.

use super::{FRAME_SAMPLES, Frame};

/// Level reported for digital silence or an absent frame, in dBFS.
pub const MIN_DBFS: f32 = -100.0;

/// Tuning of [`Vad`]. Frame counts are 20 ms frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadConfig {
    /// Absolute minimum level to turn speaking on, dBFS.
    pub on_dbfs: f32,
    /// Absolute minimum level to stay speaking, dBFS (below `on_dbfs`).
    pub off_dbfs: f32,
    /// How far above the noise floor a frame must be to count towards turning on, dB.
    pub on_margin_db: f32,
    /// How far above the noise floor a frame must be to hold speaking, dB.
    pub off_margin_db: f32,
    /// Consecutive loud frames needed to turn on (2 = 40 ms).
    pub on_frames: u16,
    /// Consecutive quiet frames needed to turn off (15 = 300 ms).
    pub hangover_frames: u16,
    /// Noise floor at start, dBFS.
    pub initial_floor_dbfs: f32,
    /// Noise floor rise per frame while the level is above it, dB (0.02 = 1 dB/s), so
    /// steady noise is learned within tens of seconds but a sentence barely moves it (the
    /// pauses between words pull it back down).
    pub floor_rise_db: f32,
    /// Fraction of the gap closed per frame when the level is below the noise floor.
    pub floor_fall: f32,
    /// Decay of the ranking level per frame, dB (peak-hold with linear decay).
    pub level_decay_db: f32,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            on_dbfs: -45.0,
            off_dbfs: -52.0,
            on_margin_db: 12.0,
            off_margin_db: 6.0,
            on_frames: 2,
            hangover_frames: 15,
            initial_floor_dbfs: -60.0,
            floor_rise_db: 0.02,
            floor_fall: 0.2,
            level_decay_db: 1.0,
        }
    }
}

/// What one frame told the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadUpdate {
    /// This frame's RMS level, dBFS (≥ [`MIN_DBFS`]).
    pub frame_dbfs: f32,
    /// Smoothed level for ranking speakers: follows rises at once, decays by
    /// `level_decay_db` per frame.
    pub level_dbfs: f32,
    /// Whether the participant is speaking after this frame.
    pub speaking: bool,
    /// `Some(speaking)` when this frame changed the state, else `None`.
    pub transition: Option<bool>,
}

/// Voice activity detector for one participant.
#[derive(Debug, Clone)]
pub struct Vad {
    config: VadConfig,
    /// Whether the participant currently counts as speaking.
    speaking: bool,
    /// Consecutive frames at or above the on threshold (while silent) or below the off
    /// threshold (while speaking).
    run: u16,
    /// Adaptive noise floor, dBFS.
    noise_floor: f32,
    /// Smoothed level for ranking, dBFS.
    level: f32,
}

impl Default for Vad {
    fn default() -> Self {
        Self::new(VadConfig::default())
    }
}

impl Vad {
    /// A silent detector whose noise floor starts at `config.initial_floor_dbfs`.
    pub fn new(config: VadConfig) -> Self {
        Self {
            config,
            speaking: false,
            run: 0,
            noise_floor: config.initial_floor_dbfs,
            level: MIN_DBFS,
        }
    }

    /// Whether the participant is currently speaking.
    pub fn speaking(&self) -> bool {
        self.speaking
    }

    /// The adaptive noise floor, dBFS.
    pub fn noise_floor_dbfs(&self) -> f32 {
        self.noise_floor
    }

    /// Feeds one frame; `None` means no audio arrived this tick (muted, lost, absent), which
    /// counts as silence but does not teach the noise floor.
    pub fn process(&mut self, frame: Option<&Frame>) -> VadUpdate {
        let frame_dbfs = frame.map_or(MIN_DBFS, frame_dbfs);
        if frame.is_some() {
            self.learn_floor(frame_dbfs);
        }
        self.level = frame_dbfs.max(self.level - self.config.level_decay_db);

        let c = &self.config;
        let was = self.speaking;
        if self.speaking {
            let off = c.off_dbfs.max(self.noise_floor + c.off_margin_db);
            if frame_dbfs < off {
                self.run = self.run.saturating_add(1);
                if self.run >= c.hangover_frames {
                    self.speaking = false;
                    self.run = 0;
                }
            } else {
                self.run = 0;
            }
        } else {
            let on = c.on_dbfs.max(self.noise_floor + c.on_margin_db);
            if frame_dbfs >= on {
                self.run = self.run.saturating_add(1);
                if self.run >= c.on_frames {
                    self.speaking = true;
                    self.run = 0;
                }
            } else {
                self.run = 0;
            }
        }
        VadUpdate {
            frame_dbfs,
            level_dbfs: self.level,
            speaking: self.speaking,
            transition: (was != self.speaking).then_some(self.speaking),
        }
    }

    fn learn_floor(&mut self, frame_dbfs: f32) {
        if frame_dbfs < self.noise_floor {
            self.noise_floor += (frame_dbfs - self.noise_floor) * self.config.floor_fall;
        } else {
            self.noise_floor = (self.noise_floor + self.config.floor_rise_db).min(frame_dbfs);
        }
    }
}

/// Mean energy of a frame (sum of squares / 960), exact in integer arithmetic.
pub fn frame_energy(frame: &Frame) -> u64 {
    // Eight independent lanes let the compiler vectorise; each square is < 2^30 and a lane
    // sums 120 of them, so u64 cannot overflow.
    let mut lanes = [0u64; 8];
    for chunk in frame.chunks_exact(8) {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            let x = i32::from(x);
            *lane += (x * x) as u64;
        }
    }
    lanes.iter().sum::<u64>() / FRAME_SAMPLES as u64
}

/// RMS level of a frame in dBFS (0 dBFS = full-scale square wave), at least [`MIN_DBFS`].
pub fn frame_dbfs(frame: &Frame) -> f32 {
    let energy = frame_energy(frame);
    if energy == 0 {
        return MIN_DBFS;
    }
    const FULL_SCALE_ENERGY: f32 = 32768.0 * 32768.0;
    (10.0 * (energy as f32 / FULL_SCALE_ENERGY).log10()).max(MIN_DBFS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(amplitude: f32) -> Frame {
        let mut frame = [0i16; FRAME_SAMPLES];
        for (i, s) in frame.iter_mut().enumerate() {
            let phase = 2.0 * std::f32::consts::PI * 300.0 * i as f32 / 48_000.0;
            *s = (amplitude * phase.sin()) as i16;
        }
        frame
    }

    /// Low-level noise from a xorshift, amplitude ±`amplitude`.
    fn noise(amplitude: i32, seed: &mut u32) -> Frame {
        let mut frame = [0i16; FRAME_SAMPLES];
        for s in frame.iter_mut() {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 17;
            *seed ^= *seed << 5;
            *s = ((*seed % (2 * amplitude as u32 + 1)) as i32 - amplitude) as i16;
        }
        frame
    }

    #[test]
    fn level_of_full_scale_square_is_zero_dbfs_and_silence_is_minimum() {
        assert_eq!(frame_dbfs(&[i16::MIN; FRAME_SAMPLES]), 0.0);
        assert_eq!(frame_dbfs(&[0; FRAME_SAMPLES]), MIN_DBFS);
        // A sine at amplitude A has RMS A/√2: 16384 → -6.02 - 3.01 = -9.03 dBFS.
        let db = frame_dbfs(&tone(16384.0));
        assert!((db + 9.03).abs() < 0.05, "{db}");
    }

    #[test]
    fn tone_turns_speaking_on_after_on_frames_holds_through_gaps_and_turns_off_after_hangover() {
        let config = VadConfig::default();
        let mut vad = Vad::new(config);
        let speech = tone(8000.0); // ≈ -15 dBFS
        let silence = [0i16; FRAME_SAMPLES];
        for _ in 0..10 {
            assert_eq!(vad.process(Some(&silence)).transition, None);
        }
        // On after exactly `on_frames` loud frames.
        for i in 1..config.on_frames {
            let u = vad.process(Some(&speech));
            assert!(!u.speaking, "still off after {i} frame(s)");
        }
        let u = vad.process(Some(&speech));
        assert_eq!(u.transition, Some(true));
        // Gaps one frame shorter than the hang-over do not flicker.
        for _ in 0..5 {
            for _ in 0..(config.hangover_frames - 1) {
                let u = vad.process(Some(&silence));
                assert!(u.speaking && u.transition.is_none());
            }
            let u = vad.process(Some(&speech));
            assert!(u.speaking && u.transition.is_none());
        }
        // Off after exactly `hangover_frames` quiet frames.
        for _ in 1..config.hangover_frames {
            assert_eq!(vad.process(None).transition, None);
        }
        let u = vad.process(None);
        assert_eq!(u.transition, Some(false));
        assert!(!vad.speaking());
    }

    #[test]
    fn single_loud_frame_does_not_turn_speaking_on() {
        let mut vad = Vad::default();
        let click = tone(20000.0);
        let silence = [0i16; FRAME_SAMPLES];
        for _ in 0..20 {
            assert!(!vad.process(Some(&click)).speaking);
            assert!(!vad.process(Some(&silence)).speaking);
        }
    }

    #[test]
    fn level_between_off_and_on_threshold_neither_starts_nor_ends_speech() {
        let mut vad = Vad::default();
        let mid = tone(180.0); // ≈ -48 dBFS: below on (-45), above off (-52)
        let db = frame_dbfs(&mid);
        assert!((-52.0..-45.0).contains(&db), "{db}");
        for _ in 0..50 {
            assert!(!vad.process(Some(&mid)).speaking);
        }
        let mut vad = Vad::default();
        vad.process(Some(&tone(8000.0)));
        assert!(vad.process(Some(&tone(8000.0))).speaking);
        for _ in 0..50 {
            assert!(vad.process(Some(&mid)).speaking);
        }
    }

    #[test]
    fn noise_floor_adapts_so_steady_noise_is_not_speech_but_speech_over_it_is() {
        let mut vad = Vad::default();
        let mut seed = 7;
        // Noise at ≈ -40 dBFS would trip the absolute -45 dBFS threshold at first.
        let mut turned_off = false;
        for _ in 0..1500 {
            let u = vad.process(Some(&noise(570, &mut seed)));
            turned_off |= u.transition == Some(false);
        }
        let floor = vad.noise_floor_dbfs();
        assert!((-45.0..-39.0).contains(&floor), "floor {floor}");
        assert!(
            !vad.speaking(),
            "learned noise is silence (turned off: {turned_off})"
        );
        vad.process(Some(&tone(8000.0)));
        assert!(vad.process(Some(&tone(8000.0))).speaking);
    }

    #[test]
    fn ranking_level_follows_rises_at_once_and_decays_slowly() {
        let mut vad = Vad::default();
        let loud = vad.process(Some(&tone(16384.0))).level_dbfs;
        assert!((loud + 9.03).abs() < 0.05);
        let next = vad.process(None).level_dbfs;
        assert!((next - (loud - 1.0)).abs() < 1e-4, "{next}");
    }
}
