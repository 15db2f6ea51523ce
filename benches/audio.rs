//! Audio kernels per 20 ms frame: all mixes + VAD + limiter for a room of N participants
//! against the baseline of summing N frames once, and Opus encode/decode of one frame.
//!
//! Run with `cargo bench --bench audio`; the real-time budget is 20 ms per frame.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use plenum_media::audio::{
    FRAME_SAMPLES, Frame, Limiter, LimiterConfig, MixInput, Mixer, MixerConfig, OpusConfig,
    OpusDecoder, OpusEncoder, SAMPLE_RATE, Vad, opus::MAX_PACKET_BYTES,
};

/// Tiny xorshift so the input is the same on every run.
struct XorShift(u32);

impl XorShift {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }

    /// Uniform noise in ±`amplitude`.
    fn noise(&mut self, amplitude: i32) -> i32 {
        (self.next() % (2 * amplitude as u32 + 1)) as i32 - amplitude
    }
}

/// Participant `p`'s frame number `n`: a sine with its own pitch and loudness plus noise.
fn synthetic_frame(p: usize, n: usize, rng: &mut XorShift) -> Frame {
    let freq = 110.0 + 37.0 * p as f32;
    let amplitude = 1500.0 + (p % 13) as f32 * 500.0;
    std::array::from_fn(|i| {
        let t = (n * FRAME_SAMPLES + i) as f32 / SAMPLE_RATE as f32;
        let tone = amplitude * (2.0 * std::f32::consts::PI * freq * t).sin();
        (tone as i32 + rng.noise(300)) as i16
    })
}

fn room(n: usize) -> Vec<Frame> {
    let mut rng = XorShift(0x9e37_79b9);
    (0..n).map(|p| synthetic_frame(p, 0, &mut rng)).collect()
}

fn mixing(c: &mut Criterion) {
    let mut group = c.benchmark_group("audio_frame");
    for (n, k) in [(8, 4), (50, 4), (200, 4), (200, 8)] {
        let frames = room(n);
        let config = MixerConfig {
            max_speakers: k,
            ..MixerConfig::default()
        };
        let mut mixer = Mixer::new(config, n);
        let mut out = mixer.new_output();
        let mut vads = vec![Vad::default(); n];
        let mut inputs: Vec<MixInput<'_>> = Vec::with_capacity(n);
        group.bench_function(BenchmarkId::new(format!("mix_vad_limit_k{k}"), n), |b| {
            b.iter(|| {
                inputs.clear();
                for (frame, vad) in frames.iter().zip(vads.iter_mut()) {
                    let update = vad.process(Some(frame));
                    inputs.push(MixInput::speaker(frame, update.level_dbfs));
                }
                mixer.mix(black_box(&inputs), &mut out);
                black_box(&out);
            })
        });
        if k == 4 {
            let mut total = [0i32; FRAME_SAMPLES];
            group.bench_function(BenchmarkId::new("sum_once", n), |b| {
                b.iter(|| {
                    total.fill(0);
                    for frame in black_box(&frames) {
                        for (t, &x) in total.iter_mut().zip(frame.iter()) {
                            *t += i32::from(x);
                        }
                    }
                    black_box(&total);
                })
            });
        }
    }
    group.finish();
}

/// The parts of one output: VAD of one frame, and the limiter transparent and limiting.
fn parts(c: &mut Criterion) {
    let frames = room(8);
    let mut group = c.benchmark_group("audio_part");
    let mut vad = Vad::default();
    group.bench_function("vad_one_frame", |b| {
        b.iter(|| black_box(vad.process(Some(black_box(&frames[5])))))
    });
    let limiter_config = LimiterConfig::default();
    let quiet: [i32; FRAME_SAMPLES] = frames[1].map(i32::from);
    let mut loud = [0i32; FRAME_SAMPLES];
    for frame in &frames {
        for (t, &x) in loud.iter_mut().zip(frame.iter()) {
            *t += 4 * i32::from(x);
        }
    }
    let mut out = [0i16; FRAME_SAMPLES];
    for (name, input) in [("limiter_transparent", &quiet), ("limiter_limiting", &loud)] {
        let mut limiter = Limiter::default();
        group.bench_function(name, |b| {
            b.iter(|| limiter.process(&limiter_config, black_box(input), &mut out))
        });
    }
    group.finish();
}

fn opus(c: &mut Criterion) {
    // One second of one participant, looped.
    let mut rng = XorShift(0x1234_5678);
    let frames: Vec<Frame> = (0..50).map(|n| synthetic_frame(3, n, &mut rng)).collect();
    let mut encoder = OpusEncoder::new(OpusConfig::default()).expect("default opus config");
    let mut packet = [0u8; MAX_PACKET_BYTES];
    let packets: Vec<Vec<u8>> = frames
        .iter()
        .map(|f| {
            let len = encoder.encode(f, &mut packet).expect("encode");
            packet[..len].to_vec()
        })
        .collect();

    let mut group = c.benchmark_group("opus_frame");
    let mut i = 0;
    group.bench_function("encode_32k_fec", |b| {
        b.iter(|| {
            i = (i + 1) % frames.len();
            black_box(encoder.encode(black_box(&frames[i]), &mut packet)).ok();
        })
    });
    let mut decoder = OpusDecoder::new().expect("decoder");
    let mut out = [0i16; FRAME_SAMPLES];
    let mut j = 0;
    group.bench_function("decode", |b| {
        b.iter(|| {
            j = (j + 1) % packets.len();
            black_box(decoder.decode(black_box(&packets[j]), &mut out)).ok();
        })
    });
    group.finish();
}

criterion_group!(benches, mixing, parts, opus);
criterion_main!(benches);
