//! The whole per-conference media loop: one second of a meeting (50 ticks of
//! `MediaRoom::tick`: jitter buffers, Opus decode, VAD, the mix and its encoders, VP8
//! decode of every sender, every distinct composite and its VP8 encode, at 25 fps), with
//! every participant sending real 720p VP8 (moving picture) and Opus.
//!
//! - `personal`: `ac` layout, 4 participants at 720p (1920 kbps): everyone sees the
//!   other three, so 4 distinct views, 4 composites and 4 encodes per frame.
//! - `shared`: `1:0` layout, 16 participants at 720p: 15 viewers see the main speaker
//!   (one shared view) and the speaker sees the next; 16 decodes, 2 composites+encodes.
//! - `shared_360p`: as `shared` with 32 participants at 576 kbps (640×360 output and
//!   360p senders), the default bandwidth.
//! - `*_mixed`: the same meetings with every second participant on H.264 (sending and
//!   receiving) and the others on VP8: a view seen in both codecs is composited once per
//!   codec and encoded in each.
//!
//! Times are thread CPU time (see benches/video.rs). CPU per participant-second is the
//! figure divided by the participant count; docs/performance.md derives capacity.
//!
//! Run with `cargo bench --bench room`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

#[path = "support/cpu_time.rs"]
mod cpu_time;

use bytes::Bytes;
use cpu_time::timed;
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use plenum_core::{Layout, ParticipantId};
use plenum_media::audio::{FRAME_SAMPLES, Frame, OpusConfig, OpusEncoder, SILENCE};
use plenum_media::engine::{
    MediaRoom, MemberSetup, Outbound, RoomConfig, RoomView, Streams, ViewParticipant,
};
use plenum_media::peer::{IncomingMedia, MediaKind};
use plenum_media::video::{I420Frame, Rect, Rgb, VideoCodec, VideoEncoder, VideoEncoderConfig};
use tokio::sync::mpsc;
use uuid::Uuid;

/// A moving "camera" picture: gradient background with a bright block that moves.
fn picture(w: u32, h: u32, t: u32, seed: u32) -> I420Frame {
    let mut frame = I420Frame::solid_rgb(w, h, Rgb::new((seed * 40 % 200) as u8 + 30, 90, 120));
    let (y, _, _) = frame.planes_mut();
    for (i, px) in y.iter_mut().enumerate() {
        let (row, col) = (i / w as usize, i % w as usize);
        *px = px.wrapping_add(((row + col) / 16 % 16) as u8);
    }
    let size = (w / 6) & !1;
    let x = (t * 8 % (w - size)) & !1;
    let yy = (t * 4 % (h - size)) & !1;
    frame.fill_rect(
        Rect::new(x, yy, size, size),
        Rgb::new(230, 200, 170).to_yuv(),
    );
    frame
}

/// What one participant sends during one second: 25 video frames and 50 Opus packets.
struct Clip {
    video: Vec<(Bytes, bool)>,
    audio: Vec<Bytes>,
}

fn clip(w: u32, h: u32, seed: u32, codec: VideoCodec) -> Clip {
    let mut encoder = VideoEncoder::new(VideoEncoderConfig {
        codec,
        width: w,
        height: h,
        fps: 25,
        target_kbps: if w >= 1280 { 1500 } else { 500 },
        keyframe_interval: 3000,
    })
    .expect("encoder");
    let video = (0..25)
        .map(|t| {
            let out = encoder
                .encode(&picture(w, h, t, seed), i64::from(t) * 3600, t == 0)
                .expect("encode")
                .expect("a frame");
            (Bytes::copy_from_slice(&out.data), out.keyframe)
        })
        .collect();
    let mut opus = OpusEncoder::new(OpusConfig::default()).expect("opus");
    let mut packet = [0u8; 1275];
    let audio = (0..50)
        .map(|n| {
            let mut frame: Frame = SILENCE;
            for (i, s) in frame.iter_mut().enumerate() {
                let t = (n * FRAME_SAMPLES + i) as f32 / 48_000.0;
                *s = (3000.0
                    * (2.0 * std::f32::consts::PI * (200.0 + 50.0 * seed as f32) * t).sin())
                    as i16;
            }
            let len = opus.encode(&frame, &mut packet).expect("encode");
            Bytes::copy_from_slice(&packet[..len])
        })
        .collect();
    Clip { video, audio }
}

struct Meeting {
    room: MediaRoom,
    senders: Vec<(mpsc::Sender<IncomingMedia>, Arc<Clip>)>,
    receivers: Vec<mpsc::Receiver<Outbound>>,
    tick: u64,
}

fn meeting(n: usize, layout: Layout, w: u32, h: u32, bandwidth_kbps: u32, mixed: bool) -> Meeting {
    let mut room = MediaRoom::new(RoomConfig::default());
    // Participant i's codec: every second one on H.264 in a mixed meeting.
    let codec_of = |i: usize| {
        if mixed && i % 2 == 1 {
            VideoCodec::H264
        } else {
            VideoCodec::Vp8
        }
    };
    let clips: Vec<[Arc<Clip>; 2]> = (0..4)
        .map(|s| VideoCodec::ALL.map(|codec| Arc::new(clip(w, h, s, codec))))
        .collect();
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    let mut people = Vec::new();
    for i in 0..n {
        let id = ParticipantId(Uuid::from_u128(i as u128 + 1));
        let call = Uuid::from_u128(1000 + i as u128);
        let (tx, inbound) = mpsc::channel(256);
        let (outbound, rx) = mpsc::channel(1024);
        room.add(MemberSetup {
            participant: id,
            call,
            inbound,
            outbound,
            streams: Streams {
                audio: true,
                video: true,
                slides_in: true,
                slides_out: true,
                video_codec: codec_of(i),
                slides_codec: codec_of(i),
            },
            bandwidth_kbps,
        });
        room.set_connected(call, true);
        senders.push((tx, clips[i % clips.len()][codec_of(i).index()].clone()));
        receivers.push(rx);
        people.push(ViewParticipant::host(id, &format!("Participant {i}")));
    }
    room.set_view(Arc::new(RoomView {
        host_layout: layout,
        guest_layout: layout,
        stage: people.iter().map(|p| p.id).collect(),
        participants: people,
        presenter: None,
        overlay_names: false,
        loopback: false,
    }));
    let mut m = Meeting {
        room,
        senders,
        receivers,
        tick: 0,
    };
    m.second(); // warm up: decoders, pipelines, encoders
    m
}

impl Meeting {
    /// One second of media: 50 ticks.
    fn second(&mut self) {
        let mut notices = Vec::new();
        for _ in 0..50 {
            let t = self.tick;
            for (tx, clip) in &self.senders {
                let a = (t % 50) as usize;
                let _ = tx.try_send(IncomingMedia {
                    kind: MediaKind::Audio,
                    payload: clip.audio[a].clone(),
                    rtp_timestamp: (t as u32).wrapping_mul(960),
                    keyframe: false,
                });
                if t.is_multiple_of(2) {
                    let (frame, keyframe) = &clip.video[((t / 2) % 25) as usize];
                    let _ = tx.try_send(IncomingMedia {
                        kind: MediaKind::Video,
                        payload: frame.clone(),
                        rtp_timestamp: (t as u32).wrapping_mul(1800),
                        keyframe: *keyframe,
                    });
                }
            }
            self.room.tick(t, &mut notices);
            notices.clear();
            for rx in &mut self.receivers {
                while let Ok(out) = rx.try_recv() {
                    black_box(out);
                }
            }
            self.tick += 1;
        }
    }
}

fn room(c: &mut Criterion) {
    let mut group = c.benchmark_group("room_second");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    for (name, n, layout, w, h, kbps, mixed) in [
        ("personal_720p", 4, Layout::Adaptive, 1280, 720, 1920, false),
        ("shared_720p", 16, Layout::OneMain, 1280, 720, 1920, false),
        ("shared_360p", 32, Layout::OneMain, 640, 360, 576, false),
        (
            "personal_720p_mixed",
            4,
            Layout::Adaptive,
            1280,
            720,
            1920,
            true,
        ),
        (
            "shared_720p_mixed",
            16,
            Layout::OneMain,
            1280,
            720,
            1920,
            true,
        ),
    ] {
        let mut m = meeting(n, layout, w, h, kbps, mixed);
        group.bench_function(BenchmarkId::new(name, format!("{n}x{w}x{h}")), |b| {
            b.iter_custom(|iters| timed(iters, || m.second()));
        });
    }
    group.finish();
}

criterion_group!(benches, room);
criterion_main!(benches);
