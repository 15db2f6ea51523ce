//! Fuzz target `rtp_rtcp`: what a browser's packets go through on their way into the media
//! room, after SRTP — RTP parsing, reassembly into frames (VP8 and H.264 depacketizers,
//! [`h264_payload_is_sane`]), RTCP parsing, our interceptors ([`NackCounter`],
//! [`RtcpToApplication`]) and feedback events, then the room's jitter buffers, decoders,
//! mixer and compositor over several ticks. Inputs are real streams (Opus, VP8 and H.264
//! frames from our encoders, packetized by rtc's payloaders, and Chrome-like RTCP
//! compounds) mutated packet by packet, dropped, repeated, reordered, with random packets
//! slipped in. The property: nothing panics, and the other participant keeps getting the
//! room's audio.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use plenum_core::{Layout, ParticipantId};
use rtc::interceptor::{Attribute, AttributedPacket, Packet, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FirEntry;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::NackPair;
use rtc::rtp::codec::h264::H264Payloader;
use rtc::rtp::codec::opus::OpusPayloader;
use rtc::rtp::codec::vp8::Vp8Payloader;
use rtc::rtp::packetizer::Payloader;
use rtc::sansio::Protocol;
use rtc::shared::TransportContext;
use rtc::shared::marshal::{Marshal, Unmarshal};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::*;
use crate::audio::{FRAME_SAMPLES, Frame, OpusConfig, OpusEncoder};
use crate::engine::Streams as RoomStreams;
use crate::engine::{
    CallId, MediaRoom, MemberSetup, Outbound, RoomConfig, RoomView, ViewParticipant,
};
use crate::video::{I420Frame, Rect, VideoEncoder, VideoEncoderConfig, Yuv};

/// The sender's SSRCs and payload types (Chrome's numbers).
const AUDIO_SSRC: u32 = 0x0a0a_0a0a;
const VIDEO_SSRC: u32 = 0x0b0b_0b0b;
const SLIDES_SSRC: u32 = 0x0c0c_0c0c;
const VP8_PT: u8 = 96;
const H264_PT: u8 = 102;
/// Our streams toward the sender, which its feedback is about.
const OUR_SSRCS: [(u32, MediaKind); 3] = [
    (0x1111_1111, MediaKind::Audio),
    (0x2222_2222, MediaKind::Video),
    (0x3333_3333, MediaKind::Slides),
];
/// Packets per 20 ms tick of the room.
const PACKETS_PER_TICK: usize = 6;

/// One RTP packet, marshalled.
fn rtp(
    payload_type: u8,
    ssrc: u32,
    seq: u16,
    timestamp: u32,
    marker: bool,
    payload: Bytes,
) -> Vec<u8> {
    let packet = rtc::rtp::Packet {
        header: rtc::rtp::Header {
            version: 2,
            marker,
            payload_type,
            sequence_number: seq,
            timestamp,
            ssrc,
            ..Default::default()
        },
        payload,
    };
    packet
        .marshal()
        .expect("a packet we built marshals")
        .to_vec()
}

/// A frame's RTP packets through rtc's payloader (as a browser splits them).
fn packetize(
    payloader: &mut dyn Payloader,
    payload_type: u8,
    ssrc: u32,
    seq: &mut u16,
    timestamp: u32,
    frame: &[u8],
) -> Vec<Vec<u8>> {
    let payloads = payloader
        .payload(160, &Bytes::copy_from_slice(frame))
        .expect("our encoder's frame packetizes");
    let last = payloads.len().saturating_sub(1);
    payloads
        .into_iter()
        .enumerate()
        .map(|(i, payload)| {
            *seq = seq.wrapping_add(1);
            rtp(payload_type, ssrc, *seq, timestamp, i == last, payload)
        })
        .collect()
}

/// Frames of a moving picture from our encoder (a keyframe first).
fn video_frames(codec: VideoCodec, count: u32) -> Vec<Vec<u8>> {
    let (w, h) = (160, 96);
    let mut encoder = VideoEncoder::new(VideoEncoderConfig {
        codec,
        width: w,
        height: h,
        fps: 25,
        target_kbps: 200,
        keyframe_interval: 3000,
    })
    .expect("encoder");
    let mut picture = I420Frame::new(w, h);
    (0..count)
        .map(|t| {
            // A moving checkerboard of colours: detailed enough for frames of several
            // packets.
            for by in 0..h / 8 {
                for bx in 0..w / 8 {
                    let v = (bx * 37 + by * 71 + t * 13) % 200;
                    picture.fill_rect(
                        Rect::new(bx * 8, by * 8, 8, 8),
                        Yuv {
                            y: (30 + v) as u8,
                            u: (60 + (v * 3) % 120) as u8,
                            v: (200 - v / 2) as u8,
                        },
                    );
                }
            }
            encoder
                .encode(&picture, i64::from(t) * 3600, t == 0)
                .expect("encode")
                .expect("a frame")
                .data
                .to_vec()
        })
        .collect()
}

/// Opus packets of a tone.
fn audio_frames(count: usize) -> Vec<Vec<u8>> {
    let mut opus = OpusEncoder::new(OpusConfig::default()).expect("opus");
    let mut packet = [0u8; 1275];
    (0..count)
        .map(|n| {
            let mut tone: Frame = [0; FRAME_SAMPLES];
            for (i, s) in tone.iter_mut().enumerate() {
                let t = (n * FRAME_SAMPLES + i) as f32 / 48_000.0;
                *s = (3000.0 * (t * 300.0 * std::f32::consts::TAU).sin()) as i16;
            }
            let len = opus.encode(&tone, &mut packet).expect("encode");
            packet[..len].to_vec()
        })
        .collect()
}

/// Chrome-like RTCP about our streams: receiver reports, REMB, PLI, FIR, NACK, a sender
/// report.
fn rtcp_seeds() -> Vec<Vec<u8>> {
    let sender = AUDIO_SSRC;
    let report = |ssrc: u32, fraction_lost: u8| ReceptionReport {
        ssrc,
        fraction_lost,
        total_lost: 3,
        last_sequence_number: 1234,
        jitter: 20,
        ..Default::default()
    };
    let compounds: Vec<Vec<Box<dyn rtcp::Packet>>> = vec![
        vec![
            Box::new(ReceiverReport {
                ssrc: sender,
                reports: OUR_SSRCS.iter().map(|(s, _)| report(*s, 12)).collect(),
                profile_extensions: Bytes::new(),
            }),
            Box::new(ReceiverEstimatedMaximumBitrate {
                sender_ssrc: sender,
                bitrate: 850_000.0,
                ssrcs: vec![OUR_SSRCS[1].0, OUR_SSRCS[2].0],
            }),
        ],
        vec![
            Box::new(ReceiverReport {
                ssrc: sender,
                reports: vec![],
                profile_extensions: Bytes::new(),
            }),
            Box::new(PictureLossIndication {
                sender_ssrc: sender,
                media_ssrc: OUR_SSRCS[1].0,
            }),
        ],
        vec![Box::new(FullIntraRequest {
            sender_ssrc: sender,
            media_ssrc: 0,
            fir: vec![FirEntry {
                ssrc: OUR_SSRCS[2].0,
                sequence_number: 7,
            }],
        })],
        vec![Box::new(TransportLayerNack {
            sender_ssrc: sender,
            media_ssrc: OUR_SSRCS[1].0,
            nacks: vec![NackPair {
                packet_id: 100,
                lost_packets: 0b101,
            }],
        })],
        vec![Box::new(SenderReport {
            ssrc: VIDEO_SSRC,
            ntp_time: 0xe000_0000_1234_5678,
            rtp_time: 90_000,
            packet_count: 10,
            octet_count: 10_000,
            reports: vec![report(OUR_SSRCS[0].0, 0)],
            profile_extensions: Bytes::new(),
        })],
    ];
    compounds
        .iter()
        .map(|c| {
            rtcp::packet::marshal(c)
                .expect("our RTCP marshals")
                .to_vec()
        })
        .collect()
}

/// A second and a bit of a browser's sending: audio every 20 ms, camera video (VP8) and a
/// presentation (H.264) at 25 fps, RTCP now and then, in wire order.
fn seed_stream() -> Vec<Vec<u8>> {
    let audio = audio_frames(16);
    let video = video_frames(VideoCodec::Vp8, 8);
    let slides = video_frames(VideoCodec::H264, 4);
    let rtcp = rtcp_seeds();
    let (mut opus, mut vp8, mut h264) = (
        OpusPayloader,
        {
            let mut vp8 = Vp8Payloader::default();
            vp8.enable_picture_id = true;
            vp8
        },
        H264Payloader::default(),
    );
    let (mut a_seq, mut v_seq, mut s_seq) = (100u16, 65_530u16, 7u16);
    let mut stream = Vec::new();
    for (i, frame) in audio.iter().enumerate() {
        let ts = 960 * i as u32;
        stream.extend(packetize(
            &mut opus, OPUS_PT, AUDIO_SSRC, &mut a_seq, ts, frame,
        ));
        if i % 2 == 0
            && let Some(frame) = video.get(i / 2)
        {
            let ts = 3600 * (i / 2) as u32;
            stream.extend(packetize(
                &mut vp8, VP8_PT, VIDEO_SSRC, &mut v_seq, ts, frame,
            ));
        }
        if i % 4 == 1
            && let Some(frame) = slides.get(i / 4)
        {
            let ts = 7200 * (i / 4) as u32;
            stream.extend(packetize(
                &mut h264,
                H264_PT,
                SLIDES_SSRC,
                &mut s_seq,
                ts,
                frame,
            ));
        }
        if i % 3 == 2 {
            stream.push(rtcp[(i / 3) % rtcp.len()].clone());
        }
    }
    stream
}

/// The sending participant's packet path: reassembly per stream, interceptors for RTCP.
struct Receiver {
    /// The sending member's inbound queue in the room (every kind).
    inbound: mpsc::Sender<IncomingMedia>,
    video: Reassembly,
    slides: Reassembly,
    nacks: NackCounter,
    to_application: RtcpToApplication,
    frames: Vec<IncomingMedia>,
    /// Frames reassembled, by [`MediaKind::index`].
    delivered: [usize; 3],
}

impl Receiver {
    /// One packet off the wire (after SRTP): RTCP by its packet type (RFC 5761), else RTP
    /// routed by SSRC, else by payload type, as webrtc-rs routes new streams.
    fn packet(&mut self, bytes: &[u8], room: &mut MediaRoom, call: CallId) {
        let now = Instant::now();
        if bytes.len() >= 2 && (192..=223).contains(&bytes[1]) {
            let Ok(packets) = rtcp::packet::unmarshal(&mut Bytes::copy_from_slice(bytes)) else {
                return;
            };
            self.rtcp(now, packets, room, call);
            return;
        }
        let Ok(packet) = rtc::rtp::Packet::unmarshal(&mut Bytes::copy_from_slice(bytes)) else {
            return;
        };
        let kind = match (packet.header.ssrc, packet.header.payload_type) {
            (AUDIO_SSRC, _) => MediaKind::Audio,
            (VIDEO_SSRC, _) => MediaKind::Video,
            (SLIDES_SSRC, _) => MediaKind::Slides,
            (_, OPUS_PT) => MediaKind::Audio,
            (_, VP8_PT) => MediaKind::Video,
            (_, H264_PT) => MediaKind::Slides,
            _ => return,
        };
        match kind {
            MediaKind::Audio => self.frames.extend(audio_frame(packet)),
            MediaKind::Video => self.video.push(kind, now, packet, &mut self.frames),
            MediaKind::Slides => self.slides.push(kind, now, packet, &mut self.frames),
        }
        for frame in self.frames.drain(..) {
            self.delivered[frame.kind.index()] += 1;
            // A full queue drops, as the engine's bounded channel would hold the sender.
            let _ = self.inbound.try_send(frame);
        }
    }

    /// RTCP through our interceptors; what reaches the application becomes room input,
    /// as the engine applies it.
    fn rtcp(
        &mut self,
        now: Instant,
        packets: Vec<Box<dyn rtcp::Packet>>,
        room: &mut MediaRoom,
        call: CallId,
    ) {
        let tagged = TaggedPacket {
            now,
            transport: TransportContext::default(),
            message: AttributedPacket::new(Packet::Rtcp(packets)),
        };
        self.nacks
            .handle_read(tagged)
            .expect("counting never fails");
        while let Some(passed) = self.nacks.poll_read() {
            self.to_application
                .handle_read(passed)
                .expect("copying never fails");
        }
        while let Some(out) = self.to_application.poll_read() {
            let Packet::Rtcp(packets) = &out.message.packet else {
                continue;
            };
            if !out.message.has(&Attribute::DeliverToApplication) {
                continue;
            }
            let ours = |ssrc| OUR_SSRCS.iter().find(|(s, _)| *s == ssrc).map(|(_, k)| *k);
            feedback_events(packets, ours, |event| match event {
                PeerEvent::KeyframeRequested { kind } => room.keyframe_requested(call, kind),
                PeerEvent::ReceiverEstimate {
                    kind: MediaKind::Video,
                    bitrate_bps,
                } => room.receiver_estimate(call, bitrate_bps),
                PeerEvent::ReceiverLoss {
                    kind: MediaKind::Video,
                    fraction_lost,
                } => room.receiver_loss(call, fraction_lost),
                _ => {}
            });
        }
    }
}

fn person(n: u128) -> ViewParticipant {
    ViewParticipant::host(ParticipantId(Uuid::from_u128(n)), &format!("Fuzz {n}"))
}

/// What one run did.
struct Ran {
    /// Audio packets participant 2 got.
    heard: usize,
    /// Frames of participant 1 reassembled, by [`MediaKind::index`].
    delivered: [usize; 3],
}

/// Runs one mutated stream from participant 1 into a room with participant 2.
fn run(stream: &[Vec<u8>], h264_video: bool, presenting: bool) -> Ran {
    let (codec, slides_codec) = if h264_video {
        (VideoCodec::H264, VideoCodec::Vp8)
    } else {
        (VideoCodec::Vp8, VideoCodec::H264)
    };
    let mut room = MediaRoom::new(RoomConfig::default());
    let people = [person(1), person(2)];
    let calls = [Uuid::from_u128(101), Uuid::from_u128(102)];
    let mut inbound = Vec::new();
    let mut outbound = Vec::new();
    for (p, call) in people.iter().zip(calls) {
        let (tx, rx) = mpsc::channel(64);
        let (out_tx, out_rx) = mpsc::channel(256);
        room.add(MemberSetup {
            participant: p.id,
            call,
            inbound: rx,
            outbound: out_tx,
            streams: RoomStreams {
                audio: true,
                video: true,
                slides_in: true,
                slides_out: true,
                video_codec: codec,
                slides_codec,
            },
            bandwidth_kbps: 128,
        });
        room.set_connected(call, true);
        inbound.push(tx);
        outbound.push(out_rx);
    }
    room.set_view(Arc::new(RoomView {
        host_layout: Layout::Adaptive,
        guest_layout: Layout::Adaptive,
        stage: people.iter().map(|p| p.id).collect(),
        participants: people.to_vec(),
        presenter: presenting.then_some(people[0].id),
        overlay_names: false,
        loopback: false,
    }));
    let mut receiver = Receiver {
        inbound: inbound.swap_remove(0),
        video: Reassembly::new(codec),
        slides: Reassembly::new(slides_codec),
        nacks: NackCounter::default(),
        to_application: RtcpToApplication::default(),
        frames: Vec::new(),
        delivered: [0; 3],
    };
    let mut notices = Vec::new();
    let mut heard = 0;
    let mut tick = 0u64;
    let mut step = |room: &mut MediaRoom, tick: &mut u64| {
        room.tick(*tick, &mut notices);
        notices.clear();
        *tick += 1;
        while let Ok(out) = outbound[1].try_recv() {
            heard += usize::from(matches!(out, Outbound::Audio(_)));
        }
        while outbound[0].try_recv().is_ok() {}
    };
    for chunk in stream.chunks(PACKETS_PER_TICK) {
        for packet in chunk {
            receiver.packet(packet, &mut room, calls[0]);
        }
        step(&mut room, &mut tick);
    }
    // The stream stops; the room carries on.
    for _ in 0..3 {
        step(&mut room, &mut tick);
    }
    Ran {
        heard,
        delivered: receiver.delivered,
    }
}

/// The seed stream as it is reaches the room: frames of every kind complete and decode.
#[test]
fn the_seed_stream_reaches_the_room_whole() {
    let stream = seed_stream();
    assert!(stream.len() > 50, "{} packets", stream.len());
    let ran = run(&stream, false, true);
    let ticks = stream.len().div_ceil(PACKETS_PER_TICK) + 3;
    assert_eq!(ran.heard, ticks, "participant 2 hears the room every tick");
    // A video frame is complete when the next one starts: all but the last.
    assert_eq!(ran.delivered, [16, 7, 3], "audio, video, slides frames");
}

/// Found by `rtp_rtcp`: sequence numbers that jump far make rtc-media's sample builder
/// drop tens of thousands of missing packets at once, overflowing its u16 count (a panic
/// of the receive task in debug builds until its overflow checks were turned off there).
#[test]
fn sequence_numbers_jumping_far_are_survived() {
    for codec in [VideoCodec::Vp8, VideoCodec::H264] {
        let mut reassembly = Reassembly::new(codec);
        let mut frames = Vec::new();
        let now = Instant::now();
        for (i, seq) in [0u16, 30_000, 60_000, 24_464, 54_464, 18_928]
            .into_iter()
            .enumerate()
        {
            let packet = rtc::rtp::Packet {
                header: rtc::rtp::Header {
                    version: 2,
                    payload_type: VP8_PT,
                    sequence_number: seq,
                    timestamp: 3600 * i as u32,
                    ssrc: VIDEO_SSRC,
                    ..Default::default()
                },
                // A partition start that never completes (no marker, no next frame).
                payload: Bytes::from_static(&[0x10, 0x00, 0x9d, 0x01, 0x2a]),
            };
            reassembly.push(MediaKind::Video, now, packet, &mut frames);
        }
        assert!(frames.len() <= 6, "{codec:?}: {} frames", frames.len());
    }
}

/// Fuzz target `rtp_rtcp` (a short run in every `cargo test`; `scripts/fuzz.sh` runs it
/// for longer).
#[test]
fn fuzz_rtp_rtcp_into_the_media_room() {
    let seeds = seed_stream();
    let ticks_for = |stream: &[Vec<u8>]| stream.len().div_ceil(PACKETS_PER_TICK) + 3;
    plenum_fuzz::fuzz(
        "rtp_rtcp",
        (
            plenum_fuzz::mutated_stream(seeds),
            proptest::bool::ANY,
            proptest::bool::ANY,
        ),
        |(stream, h264_video, presenting)| {
            let ran = run(&stream, h264_video, presenting);
            proptest::prop_assert_eq!(ran.heard, ticks_for(&stream), "the other side kept hearing");
            Ok(())
        },
    );
}
