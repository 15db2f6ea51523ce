//! Video kernels: one composite per layout (`1:7` with 8 tiles, `4:0` with 4, `ac`
//! with 12) at 720p and 360p output from 360p and 720p inputs, against a `memcpy` of
//! the same number of bytes (all input planes + the output canvas); one VP8 encode per
//! bitrate tier at cpu-used −12 on a moving synthetic picture (fixed seed); and, beside
//! it, one H.264 encode (libopenh264, Constrained Baseline) at 720p and 360p and one
//! decode of each codec's stream at the same sizes (a 118-frame clip looped: one
//! keyframe per loop).
//!
//! Times are **thread CPU time** (`se.sum_exec_runtime` from `/proc/thread-self/sched`,
//! which advances in scheduler ticks of about 4 ms, so every sample is ~200 ms of
//! work, flat sampling) because the shared 2-core VM is often busy (notes §5.9); where
//! that file is missing the bench falls back to wall time.
//!
//! Run with `cargo bench --bench video` (`-- h264` or `-- vp8` for the codecs only). Budget: a 30 fps composite+encode has 33 ms;
//! notes/media-stack.md §3e/§3a give the reference figures (839 µs for a libyuv `1:7`
//! composite at 720p from 360p; 4.0 ms per 720p frame at −12).

use std::hint::black_box;
use std::time::Duration;

#[path = "support/cpu_time.rs"]
mod cpu_time;

use cpu_time::timed;
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use plenum_core::Layout;
use plenum_media::video::{
    Compositor, CompositorConfig, Decoder, EncodedFrame, Encoder, EncoderConfig, Filter, I420Frame,
    Rect, TileSource, h264, scale_frame_into,
};

/// xorshift64: the benches' only randomness, with a fixed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A "camera" picture: diagonal luma gradient with a texture, a chroma wash, a bright
/// block at a position that moves with `t`, and ±3 luma sensor noise.
fn picture(w: u32, h: u32, t: u32, rng: &mut Rng) -> I420Frame {
    let mut frame = I420Frame::new(w, h);
    let (cw, ch) = (
        frame.chroma_width() as usize,
        frame.chroma_height() as usize,
    );
    let (y, u, v) = frame.planes_mut();
    let (wu, hu) = (w as usize, h as usize);
    for row in 0..hu {
        for col in 0..wu {
            let base = 40 + (row + col) * 140 / (wu + hu) + ((row / 8 + col / 8) % 2) * 12;
            let noise = (rng.next() % 7) as usize;
            y[row * wu + col] = (base + noise).min(235) as u8;
        }
    }
    for row in 0..ch {
        for col in 0..cw {
            u[row * cw + col] = (100 + col * 60 / cw) as u8;
            v[row * cw + col] = (110 + row * 40 / ch) as u8;
        }
    }
    let size = (w / 6) & !1;
    let x = (t * 8 % (w - size)) & !1;
    let yy = (t * 4 % (h - size)) & !1;
    frame.fill_rect(
        Rect::new(x, yy, size, size),
        plenum_media::video::Rgb::new(230, 200, 170).to_yuv(),
    );
    frame
}

fn composite(c: &mut Criterion) {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut group = c.benchmark_group("composite");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (out_w, out_h, out_name) in [(1280, 720, "720p"), (640, 360, "360p")] {
        for (in_w, in_h, in_name) in [(640, 360, "360p"), (1280, 720, "720p")] {
            for (layout, count) in [
                (Layout::OnePlusSeven, 8),
                (Layout::Grid2x2, 4),
                (Layout::Adaptive, 12),
            ] {
                let inputs: Vec<I420Frame> = (0..count)
                    .map(|i| picture(in_w, in_h, i * 7, &mut rng))
                    .collect();
                let sources: Vec<TileSource<'_>> = inputs.iter().map(TileSource::Video).collect();
                let case = format!("{out_name}_from_{count}x{in_name}");
                let mut compositor = Compositor::new(CompositorConfig::new(out_w, out_h));
                compositor.compose(layout, &sources);
                group.throughput(Throughput::Elements(1));
                group.bench_function(BenchmarkId::new(layout.name(), &case), |b| {
                    b.iter_custom(|iters| {
                        timed(iters, || {
                            black_box(compositor.compose(layout, black_box(&sources)));
                        })
                    });
                });

                // Baseline: one memcpy of as many bytes as the composite reads and writes.
                let bytes = inputs.iter().map(I420Frame::byte_len).sum::<usize>()
                    + I420Frame::new(out_w, out_h).byte_len();
                let src = vec![0x5au8; bytes];
                let mut dst = vec![0u8; bytes];
                group.bench_function(
                    BenchmarkId::new(format!("memcpy_{}", layout.name()), &case),
                    |b| {
                        b.iter_custom(|iters| {
                            timed(iters, || {
                                dst.copy_from_slice(black_box(&src));
                                black_box(&dst);
                            })
                        });
                    },
                );
            }
        }
    }
    group.finish();
}

/// One tile's scale per libyuv filter: where the composite time goes, and what the
/// filter choice costs.
fn scale_tile(c: &mut Criterion) {
    let mut rng = Rng(0x5eed_1234_abcd_0003);
    let mut group = c.benchmark_group("scale_tile");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (sw, sh, dw, dh, what) in [
        (640, 360, 1098, 618, "1:7 main @720p"),
        (640, 360, 182, 102, "1:7 thumb @720p"),
        (640, 360, 320, 180, "ac-12 @720p, exact 1/2"),
        (1280, 720, 320, 180, "4:0 @360p, exact 1/4"),
        (1280, 720, 160, 90, "ac-12 @360p, exact 1/8"),
    ] {
        let src = picture(sw, sh, 3, &mut rng);
        let mut canvas = I420Frame::new(1280, 720);
        let rect = Rect::new(0, 0, dw, dh);
        for filter in [Filter::None, Filter::Linear, Filter::Bilinear, Filter::Box] {
            let id = BenchmarkId::new(
                format!("{filter:?}"),
                format!("{sw}x{sh}→{dw}x{dh} ({what})"),
            );
            group.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    timed(iters, || {
                        scale_frame_into(black_box(&src), &mut canvas, rect, filter)
                            .expect("in bounds");
                    })
                });
            });
        }
    }
    group.finish();
}

fn vp8_encode(c: &mut Criterion) {
    let mut rng = Rng(0x5eed_1234_abcd_0002);
    let mut group = c.benchmark_group("vp8_encode");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (w, h, kbps) in [(1280, 720, 1500), (640, 360, 600), (320, 180, 200)] {
        // 60 frames of motion, played ping-pong so the clip never jumps.
        let frames: Vec<I420Frame> = (0..60).map(|t| picture(w, h, t, &mut rng)).collect();
        let mut encoder = Encoder::new(EncoderConfig::new(w, h, kbps)).expect("encoder");
        let mut packet = EncodedFrame::default();
        let mut n: i64 = 0;
        let mut encode_next = |encoder: &mut Encoder, packet: &mut EncodedFrame| {
            let i = (n % 118) as usize;
            let frame = &frames[if i < 60 { i } else { 118 - i }];
            encoder
                .encode(frame, n * 3000, false, packet)
                .expect("encode");
            n += 1;
        };
        // The keyframe is a separate cost (notes §3a); start measuring on delta frames.
        encode_next(&mut encoder, &mut packet);
        group.throughput(Throughput::Elements(1));
        group.bench_function(
            BenchmarkId::new("cpu-12", format!("{w}x{h}@{kbps}kbps")),
            |b| {
                b.iter_custom(|iters| {
                    timed(iters, || {
                        encode_next(&mut encoder, &mut packet);
                        black_box(packet.data.len());
                    })
                });
            },
        );
    }
    group.finish();
}

/// The codec benches' sizes: 720p and 360p at the VP8 tiers' bitrates.
const CODEC_TIERS: [(u32, u32, u32); 2] = [(1280, 720, 1500), (640, 360, 600)];

/// Frames of motion for the codec benches, played ping-pong so a loop never jumps.
fn clip(w: u32, h: u32, rng: &mut Rng) -> Vec<I420Frame> {
    let frames: Vec<I420Frame> = (0..60).map(|t| picture(w, h, t, rng)).collect();
    (0..118)
        .map(|i| frames[if i < 60 { i } else { 118 - i }].clone())
        .collect()
}

fn h264_encode(c: &mut Criterion) {
    let mut rng = Rng(0x5eed_1234_abcd_0002);
    let mut group = c.benchmark_group("h264_encode");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (w, h, kbps) in CODEC_TIERS {
        let frames = clip(w, h, &mut rng);
        let mut encoder =
            h264::Encoder::new(h264::EncoderConfig::new(w, h, kbps)).expect("encoder");
        let mut n: i64 = 0;
        let mut encode_next = |encoder: &mut h264::Encoder| {
            let frame = &frames[(n % 118) as usize];
            let len = encoder
                .encode(frame, n * 3000, false)
                .expect("encode")
                .map_or(0, |f| f.data.len());
            n += 1;
            len
        };
        // As for VP8: the keyframe is a separate cost; measure delta frames.
        encode_next(&mut encoder);
        group.throughput(Throughput::Elements(1));
        group.bench_function(
            BenchmarkId::new("openh264", format!("{w}x{h}@{kbps}kbps")),
            |b| {
                b.iter_custom(|iters| {
                    timed(iters, || {
                        black_box(encode_next(&mut encoder));
                    })
                });
            },
        );
    }
    group.finish();
}

/// Decodes a looped clip; each loop restarts at its keyframe.
fn decode_group<F>(c: &mut Criterion, name: &str, mut encode_clip: F)
where
    F: FnMut(u32, u32, u32, &[I420Frame]) -> (Vec<Vec<u8>>, Box<dyn FnMut(&[u8], &mut I420Frame)>),
{
    let mut rng = Rng(0x5eed_1234_abcd_0004);
    let mut group = c.benchmark_group(name);
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (w, h, kbps) in CODEC_TIERS {
        let frames = clip(w, h, &mut rng);
        let (stream, mut decode) = encode_clip(w, h, kbps, &frames);
        let mut picture = I420Frame::default();
        let mut n = 0usize;
        group.throughput(Throughput::Elements(1));
        group.bench_function(
            BenchmarkId::from_parameter(format!("{w}x{h}@{kbps}kbps")),
            |b| {
                b.iter_custom(|iters| {
                    timed(iters, || {
                        decode(&stream[n % stream.len()], &mut picture);
                        n += 1;
                        black_box(&picture);
                    })
                });
            },
        );
    }
    group.finish();
}

fn vp8_decode(c: &mut Criterion) {
    decode_group(c, "vp8_decode", |w, h, kbps, frames| {
        let mut encoder = Encoder::new(EncoderConfig::new(w, h, kbps)).expect("encoder");
        let mut packet = EncodedFrame::default();
        let stream = (0..frames.len())
            .map(|i| {
                encoder
                    .encode(&frames[i], i as i64 * 3000, i == 0, &mut packet)
                    .expect("encode");
                packet.data.clone()
            })
            .collect();
        let mut decoder = Decoder::new().expect("decoder");
        let decode = move |data: &[u8], out: &mut I420Frame| {
            assert!(decoder.decode(data, out).expect("decode"));
        };
        (stream, Box::new(decode))
    });
}

fn h264_decode(c: &mut Criterion) {
    decode_group(c, "h264_decode", |w, h, kbps, frames| {
        let mut encoder =
            h264::Encoder::new(h264::EncoderConfig::new(w, h, kbps)).expect("encoder");
        let stream = (0..frames.len())
            .map(|i| {
                let frame = encoder
                    .encode(&frames[i], i as i64 * 3000, i == 0)
                    .expect("encode")
                    .expect("not skipped");
                assert_eq!(frame.keyframe, i == 0, "frame {i}");
                frame.data.clone()
            })
            .collect();
        let mut decoder = h264::Decoder::new().expect("decoder");
        let decode = move |data: &[u8], out: &mut I420Frame| {
            assert!(decoder.decode(data, out).expect("decode"));
        };
        (stream, Box::new(decode))
    });
}

criterion_group!(
    benches,
    composite,
    scale_tile,
    vp8_encode,
    h264_encode,
    vp8_decode,
    h264_decode
);
criterion_main!(benches);
