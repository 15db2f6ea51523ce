//! Mixer and limiter behaviour, checked sample by sample.

use super::*;

fn constant(value: i16) -> Frame {
    [value; FRAME_SAMPLES]
}

/// Deterministic pseudo-random frame with samples in ±`amplitude`.
fn noise(amplitude: i32, seed: &mut u32) -> Frame {
    let mut frame = SILENCE;
    for s in frame.iter_mut() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 17;
        *seed ^= *seed << 5;
        *s = ((*seed % (2 * amplitude as u32 + 1)) as i32 - amplitude) as i16;
    }
    frame
}

fn config(max_speakers: usize) -> MixerConfig {
    MixerConfig {
        max_speakers,
        incumbent_bonus_db: 0.0,
        ..MixerConfig::default()
    }
}

#[test]
fn total_minus_self_equals_naive_mix_when_nothing_limits() {
    let mut seed = 1;
    let frames: Vec<Frame> = (0..6).map(|_| noise(3000, &mut seed)).collect();
    // Slots 0..6 speak, slot 6 only listens.
    let mut inputs: Vec<MixInput<'_>> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| MixInput::speaker(f, -20.0 - i as f32))
        .collect();
    inputs.push(MixInput::ABSENT);
    let mut mixer = Mixer::new(config(8), inputs.len());
    let mut out = mixer.new_output();
    for _ in 0..3 {
        mixer.mix(&inputs, &mut out);
        for receiver in 0..inputs.len() {
            let mut naive = [0i32; FRAME_SAMPLES];
            for (sender, frame) in frames.iter().enumerate() {
                if sender != receiver {
                    for (n, &x) in naive.iter_mut().zip(frame) {
                        *n += i32::from(x);
                    }
                }
            }
            let expected: Vec<i16> = naive.iter().map(|&v| v as i16).collect();
            assert_eq!(
                &out.for_receiver(receiver)[..],
                &expected[..],
                "receiver {receiver}"
            );
        }
    }
}

#[test]
fn receiver_never_hears_its_own_signal() {
    let a = constant(1000);
    let b = constant(2000);
    let listener = constant(5000);
    let inputs = [
        MixInput::speaker(&a, -30.0),
        MixInput::speaker(&b, -24.0),
        // Sends audio but is not a speaker (muted): never mixed.
        MixInput {
            frame: Some(&listener),
            speaker: false,
            level_dbfs: -16.0,
        },
    ];
    let mut mixer = Mixer::new(MixerConfig::default(), 3);
    let mut out = mixer.new_output();
    mixer.mix(&inputs, &mut out);
    assert_eq!(out.for_receiver(0), &constant(2000), "A hears only B");
    assert_eq!(out.for_receiver(1), &constant(1000), "B hears only A");
    assert_eq!(
        out.for_receiver(2),
        &constant(3000),
        "the listener hears A + B"
    );
    assert_eq!(out.mixed(), &[1, 0], "loudest first");
}

#[test]
fn lone_speaker_hears_silence() {
    let a = constant(1234);
    let inputs = [MixInput::speaker(&a, -20.0), MixInput::ABSENT];
    let mut mixer = Mixer::new(MixerConfig::default(), 2);
    let mut out = mixer.new_output();
    mixer.mix(&inputs, &mut out);
    assert_eq!(out.for_receiver(0), &SILENCE);
    assert_eq!(out.for_receiver(1), &a);
}

#[test]
fn non_speakers_share_the_full_mix() {
    let mut seed = 9;
    let frames: Vec<Frame> = (0..3).map(|_| noise(2000, &mut seed)).collect();
    let mut inputs: Vec<MixInput<'_>> =
        frames.iter().map(|f| MixInput::speaker(f, -20.0)).collect();
    inputs.extend([MixInput::ABSENT; 7]);
    let mut mixer = Mixer::new(MixerConfig::default(), inputs.len());
    let mut out = mixer.new_output();
    mixer.mix(&inputs, &mut out);
    for listener in 3..10 {
        assert!(std::ptr::eq(out.for_receiver(listener), out.full()));
        assert_eq!(out.output_of(listener), None);
    }
    // Three speakers → four distinct outputs for ten receivers.
    assert_eq!(out.speaker_mixes().count() + 1, 4);
    let mut full = [0i32; FRAME_SAMPLES];
    for f in &frames {
        for (t, &x) in full.iter_mut().zip(f) {
            *t += i32::from(x);
        }
    }
    assert!(
        out.full()
            .iter()
            .zip(&full)
            .all(|(&o, &t)| i32::from(o) == t)
    );
}

#[test]
fn only_the_k_loudest_speakers_are_mixed() {
    // Six speakers with distinct constant signals (powers of two, so sums identify them).
    let frames: Vec<Frame> = (0..6).map(|i| constant(1 << (i + 4))).collect();
    let levels = [-30.0, -10.0, -40.0, -20.0, -15.0, -50.0];
    let inputs: Vec<MixInput<'_>> = frames
        .iter()
        .zip(levels)
        .map(|(f, l)| MixInput::speaker(f, l))
        .collect();
    let mut mixer = Mixer::new(config(3), inputs.len());
    let mut out = mixer.new_output();
    mixer.mix(&inputs, &mut out);
    assert_eq!(out.mixed(), &[1, 4, 3]);
    let (s1, s3, s4) = (1 << 5, 1 << 7, 1 << 8);
    assert_eq!(out.full(), &constant(s1 + s3 + s4));
    assert_eq!(out.for_receiver(1), &constant(s3 + s4));
    assert_eq!(out.for_receiver(4), &constant(s1 + s3));
    assert_eq!(out.for_receiver(3), &constant(s1 + s4));
    // Speakers left out hear the full mix, which does not contain them.
    for quiet in [0, 2, 5] {
        assert!(std::ptr::eq(out.for_receiver(quiet), out.full()));
    }
}

#[test]
fn mixed_speaker_keeps_its_place_against_a_marginally_louder_newcomer() {
    let a = constant(100);
    let b = constant(200);
    let mut mixer = Mixer::new(
        MixerConfig {
            max_speakers: 1,
            incumbent_bonus_db: 3.0,
            ..MixerConfig::default()
        },
        2,
    );
    let mut out = mixer.new_output();
    mixer.mix(&[MixInput::speaker(&a, -20.0), MixInput::ABSENT], &mut out);
    assert_eq!(out.mixed(), &[0]);
    let inputs = [MixInput::speaker(&a, -20.0), MixInput::speaker(&b, -18.0)];
    mixer.mix(&inputs, &mut out);
    assert_eq!(out.mixed(), &[0], "2 dB louder is within the 3 dB bonus");
    let inputs = [MixInput::speaker(&a, -20.0), MixInput::speaker(&b, -16.0)];
    mixer.mix(&inputs, &mut out);
    assert_eq!(out.mixed(), &[1], "4 dB louder takes over");
}

#[test]
fn absent_frames_and_nan_levels_are_harmless() {
    let a = constant(700);
    let inputs = [
        MixInput {
            frame: None,
            speaker: true,
            level_dbfs: 0.0,
        },
        MixInput::speaker(&a, f32::NAN),
    ];
    let mut mixer = Mixer::new(MixerConfig::default(), 0);
    let mut out = mixer.new_output();
    mixer.mix(&inputs, &mut out);
    assert_eq!(out.mixed(), &[1]);
    assert_eq!(out.for_receiver(0), &a);
    mixer.mix(&[], &mut out);
    assert!(out.mixed().is_empty());
    assert_eq!(out.full(), &SILENCE);
}

#[test]
fn buffers_are_reused_after_warm_up() {
    let mut seed = 3;
    let frames: Vec<Frame> = (0..50).map(|_| noise(8000, &mut seed)).collect();
    let mut inputs: Vec<MixInput<'_>> = Vec::with_capacity(frames.len());
    let mut mixer = Mixer::new(MixerConfig::default(), 0);
    let mut out = mixer.new_output();
    // Warm-up: the room reaches its size.
    for f in &frames {
        inputs.push(MixInput::speaker(f, -20.0));
    }
    mixer.mix(&inputs, &mut out);
    let slots = (mixer.slots.as_ptr(), mixer.slots.capacity());
    let ranked = (mixer.ranked.as_ptr(), mixer.ranked.capacity());
    let mixed = (out.mixed.as_ptr(), out.mixed.capacity());
    let minus_self = (out.minus_self.as_ptr(), out.minus_self.capacity());
    let full = out.full() as *const Frame;
    for tick in 0..200u32 {
        inputs.clear();
        for (i, f) in frames.iter().enumerate() {
            // The loudest set changes every tick.
            let level = -(((i as u32 * 7 + tick * 13) % 60) as f32);
            inputs.push(MixInput {
                frame: Some(f),
                speaker: i % 5 != 0,
                level_dbfs: level,
            });
        }
        mixer.mix(&inputs, &mut out);
        assert_eq!(out.mixed().len(), MixerConfig::default().max_speakers);
    }
    assert_eq!((mixer.slots.as_ptr(), mixer.slots.capacity()), slots);
    assert_eq!((mixer.ranked.as_ptr(), mixer.ranked.capacity()), ranked);
    assert_eq!((out.mixed.as_ptr(), out.mixed.capacity()), mixed);
    assert_eq!(
        (out.minus_self.as_ptr(), out.minus_self.capacity()),
        minus_self
    );
    assert!(std::ptr::eq(out.full(), full));
}

// === limiter ===

#[test]
fn limiter_is_transparent_below_its_threshold() {
    let config = LimiterConfig::default();
    let mut limiter = Limiter::default();
    let mut seed = 5;
    let mut out = SILENCE;
    for _ in 0..50 {
        let frame = noise(i32::from(config.threshold), &mut seed);
        let input: [i32; FRAME_SAMPLES] = frame.map(i32::from);
        limiter.process(&config, &input, &mut out);
        assert_eq!(out, frame);
        assert_eq!(limiter.gain(), 1.0);
    }
}

#[test]
fn limiter_never_leaves_i16_range_or_flips_sign_on_huge_sums() {
    let config = LimiterConfig::default();
    let mut limiter = Limiter::default();
    let mut out = SILENCE;
    let mut seed = 11;
    // Eight full-scale speakers summed, plus extreme i32 values.
    for tick in 0..20 {
        let mut input = [0i32; FRAME_SAMPLES];
        for _ in 0..8 {
            let f = noise(32767, &mut seed);
            for (t, &x) in input.iter_mut().zip(&f) {
                *t += i32::from(x);
            }
        }
        if tick == 5 {
            input[100] = i32::MAX;
            input[101] = i32::MIN;
        }
        limiter.process(&config, &input, &mut out);
        for (&i, &o) in input.iter().zip(&out) {
            assert!(o > i16::MIN && o < i16::MAX, "no hard clip: {i} → {o}");
            assert!(
                i32::from(o).signum() * i.signum() >= 0,
                "sign kept: {i} → {o}"
            );
        }
    }
}

#[test]
fn limiter_holds_a_steady_overload_at_its_threshold_without_clipping() {
    let config = LimiterConfig::default();
    let mut limiter = Limiter::default();
    let mut out = SILENCE;
    // A 1 kHz square wave at 3× full scale (three loud speakers in phase).
    let input: [i32; FRAME_SAMPLES] =
        std::array::from_fn(|i| if (i / 24) % 2 == 0 { 98_000 } else { -98_000 });
    limiter.process(&config, &input, &mut out);
    let first_peak = out.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    assert!(
        first_peak < 32767,
        "attack overshoot stays soft: {first_peak}"
    );
    limiter.process(&config, &input, &mut out);
    let steady_peak = out.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    let t = config.threshold.unsigned_abs();
    assert!(steady_peak <= t && steady_peak >= t - 2, "{steady_peak}");
}

#[test]
fn limiter_releases_back_to_transparency_after_a_burst() {
    let config = LimiterConfig::default();
    let mut limiter = Limiter::default();
    let mut out = SILENCE;
    limiter.process(&config, &[200_000; FRAME_SAMPLES], &mut out);
    assert!(limiter.gain() < 0.2);
    let quiet = [1000i32; FRAME_SAMPLES];
    let mut frames = 0;
    while limiter.gain() < 1.0 {
        limiter.process(&config, &quiet, &mut out);
        frames += 1;
        assert!(frames < 100, "released within 2 s");
        assert!(
            out.iter().all(|&o| o > 0 && o <= 1000),
            "release is monotonic, no overshoot"
        );
    }
    assert!(
        frames > 10,
        "release is gradual, not a jump ({frames} frames)"
    );
    limiter.process(&config, &quiet, &mut out);
    assert_eq!(out, constant(1000));
}

#[test]
fn speaker_entering_the_mix_continues_from_the_full_mix_gain() {
    let loud = constant(20_000);
    let mut mixer = Mixer::new(config(4), 3);
    let mut out = mixer.new_output();
    // Two loud speakers drive the full mix into limiting; slot 2 listens.
    let inputs = [
        MixInput::speaker(&loud, -5.0),
        MixInput::speaker(&loud, -5.0),
        MixInput::ABSENT,
    ];
    mixer.mix(&inputs, &mut out);
    let full_gain = mixer.full_limiter.gain();
    assert!(full_gain < 1.0);
    // Slot 2 starts speaking; its own mix starts from the gain it was hearing.
    let inputs = [
        MixInput::speaker(&loud, -5.0),
        MixInput::speaker(&loud, -5.0),
        MixInput::speaker(&loud, -5.0),
    ];
    let before = mixer.full_limiter;
    mixer.mix(&inputs, &mut out);
    assert_eq!(out.for_receiver(2)[0], {
        let mut l = before;
        let mut o = SILENCE;
        l.process(&mixer.config.limiter, &[40_000; FRAME_SAMPLES], &mut o);
        o[0]
    });
}
