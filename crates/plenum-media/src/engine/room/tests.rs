//! The room on synthetic media: real Opus packets and VP8 frames in, the outbound
//! queues decoded and checked by pitch and colour.

use super::*;
use crate::audio::FRAME_SAMPLES;
use crate::engine::view::ViewParticipant;
use crate::video::Yuv;

const RED: Rgb = Rgb::new(220, 20, 20);
const BLUE: Rgb = Rgb::new(20, 20, 220);
const GREEN: Rgb = Rgb::new(20, 200, 20);

fn pid(n: u128) -> ParticipantId {
    ParticipantId(Uuid::from_u128(n))
}

fn tone(freq_hz: f32, frame_index: usize) -> Frame {
    let mut frame = SILENCE;
    for (i, s) in frame.iter_mut().enumerate() {
        let t = (frame_index * FRAME_SAMPLES + i) as f32 / 48_000.0;
        *s = (8000.0 * (2.0 * std::f32::consts::PI * freq_hz * t).sin()) as i16;
    }
    frame
}

/// Energy of `freq_hz` in `samples` (Goertzel), normalised by length.
fn goertzel(samples: &[i16], freq_hz: f32) -> f64 {
    let k = 2.0 * (2.0 * std::f64::consts::PI * f64::from(freq_hz) / 48_000.0).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - k * s1 * s2) / samples.len() as f64
}

/// One simulated browser: what it sends and what it received.
struct Browser {
    call: CallId,
    inbound: mpsc::Sender<IncomingMedia>,
    outbound: mpsc::Receiver<Outbound>,
    opus: OpusEncoder,
    /// The codec it sends and receives video in.
    codec: VideoCodec,
    encoder: Option<VideoEncoder>,
    /// The size `encoder` was made for.
    size: (u32, u32),
    sent_audio: usize,
    sent_video: usize,
    received_audio: Vec<i16>,
    audio_decoder: OpusDecoder,
    video_decoder: VideoDecoder,
    picture: I420Frame,
    pictures: usize,
    slides_decoder: VideoDecoder,
    slides_picture: I420Frame,
    slides: usize,
    keyframe_requests: usize,
    /// The room asked for a keyframe: the next picture is one.
    key_wanted: bool,
}

impl Browser {
    fn join(room: &mut MediaRoom, n: u128, streams: Streams, bandwidth_kbps: u32) -> Browser {
        let (inbound, inbound_rx) = mpsc::channel(256);
        let (outbound_tx, outbound) = mpsc::channel(4096);
        let call = Uuid::from_u128(1000 + n);
        room.add(MemberSetup {
            participant: pid(n),
            call,
            inbound: inbound_rx,
            outbound: outbound_tx,
            streams,
            bandwidth_kbps,
        });
        room.set_connected(call, true);
        Browser {
            call,
            inbound,
            outbound,
            opus: OpusEncoder::new(OpusConfig::default()).unwrap(),
            codec: streams.video_codec,
            encoder: None,
            size: (0, 0),
            sent_audio: 0,
            sent_video: 0,
            received_audio: Vec::new(),
            audio_decoder: OpusDecoder::new().unwrap(),
            video_decoder: VideoDecoder::new(streams.video_codec).unwrap(),
            picture: I420Frame::default(),
            pictures: 0,
            slides_decoder: VideoDecoder::new(streams.slides_codec).unwrap(),
            slides_picture: I420Frame::default(),
            slides: 0,
            keyframe_requests: 0,
            key_wanted: false,
        }
    }

    fn send_tone(&mut self, freq_hz: f32) {
        let frame = tone(freq_hz, self.sent_audio);
        let mut packet = [0u8; MAX_PACKET_BYTES];
        let n = self.opus.encode(&frame, &mut packet).unwrap();
        self.inbound
            .try_send(IncomingMedia {
                kind: MediaKind::Audio,
                payload: Bytes::copy_from_slice(&packet[..n]),
                rtp_timestamp: (self.sent_audio as u32).wrapping_mul(960),
                keyframe: false,
            })
            .unwrap();
        self.sent_audio += 1;
    }

    fn send_picture(&mut self, kind: MediaKind, color: Rgb, w: u32, h: u32) {
        let picture = I420Frame::solid_rgb(w, h, color);
        let codec = self.codec;
        let encoder = match &mut self.encoder {
            Some(e) if self.size == (w, h) => e,
            slot => {
                self.size = (w, h);
                slot.insert(
                    VideoEncoder::new(VideoEncoderConfig {
                        codec,
                        width: w,
                        height: h,
                        fps: 25,
                        target_kbps: 500,
                        keyframe_interval: 3000,
                    })
                    .unwrap(),
                )
            }
        };
        let keyframe = self.sent_video == 0 || std::mem::take(&mut self.key_wanted);
        let out = encoder
            .encode(&picture, self.sent_video as i64 * 3600, keyframe)
            .unwrap()
            .expect("a frame");
        self.inbound
            .try_send(IncomingMedia {
                kind,
                payload: Bytes::from(out.data.clone()),
                rtp_timestamp: self.sent_video as u32 * 3600,
                keyframe: out.keyframe,
            })
            .unwrap();
        self.sent_video += 1;
    }

    /// Decodes everything the room sent since the last call.
    fn collect(&mut self) {
        while let Ok(out) = self.outbound.try_recv() {
            match out {
                Outbound::Audio(packet) => {
                    let mut frame = SILENCE;
                    self.audio_decoder.decode(&packet, &mut frame).unwrap();
                    self.received_audio.extend_from_slice(&frame);
                }
                Outbound::Video(frame) => {
                    if self
                        .video_decoder
                        .decode(&frame, &mut self.picture)
                        .unwrap()
                    {
                        self.pictures += 1;
                    }
                }
                Outbound::Slides(frame) => {
                    if self
                        .slides_decoder
                        .decode(&frame, &mut self.slides_picture)
                        .unwrap()
                    {
                        self.slides += 1;
                    }
                }
                Outbound::RequestKeyframe(_) => {
                    self.keyframe_requests += 1;
                    self.key_wanted = true;
                }
            }
        }
    }

    /// Fraction of the received picture close to `color` (sampled every 4th pixel).
    fn share_of(&self, color: Rgb) -> f64 {
        share_of(&self.picture, color)
    }

    /// Energy of `freq` in the last `frames` received frames.
    fn heard(&self, freq_hz: f32, frames: usize) -> f64 {
        let n = self.received_audio.len();
        let from = n.saturating_sub(frames * FRAME_SAMPLES);
        goertzel(&self.received_audio[from..], freq_hz)
    }
}

fn share_of(picture: &I420Frame, color: Rgb) -> f64 {
    let want = color.to_yuv();
    let close = |p: Yuv| {
        p.y.abs_diff(want.y) < 30 && p.u.abs_diff(want.u) < 30 && p.v.abs_diff(want.v) < 30
    };
    let (mut hits, mut total) = (0u32, 0u32);
    for y in (0..picture.height()).step_by(4) {
        for x in (0..picture.width()).step_by(4) {
            total += 1;
            if close(picture.pixel(x, y)) {
                hits += 1;
            }
        }
    }
    f64::from(hits) / f64::from(total.max(1))
}

const AV: Streams = Streams {
    audio: true,
    video: true,
    slides_in: true,
    slides_out: true,
    video_codec: VideoCodec::Vp8,
    slides_codec: VideoCodec::Vp8,
};

/// [`AV`] in H.264 both ways.
const AV_H264: Streams = Streams {
    video_codec: VideoCodec::H264,
    slides_codec: VideoCodec::H264,
    ..AV
};

fn participant(n: u128, name: &str) -> ViewParticipant {
    ViewParticipant::host(pid(n), name)
}

fn view(layout: Layout, people: &[ViewParticipant]) -> Arc<RoomView> {
    Arc::new(RoomView {
        host_layout: layout,
        guest_layout: layout,
        stage: people.iter().filter(|p| p.admitted).map(|p| p.id).collect(),
        participants: people.to_vec(),
        presenter: None,
        overlay_names: false,
        loopback: false,
    })
}

fn room() -> MediaRoom {
    MediaRoom::new(RoomConfig::default())
}

/// Runs `ticks` ticks from `*tick`, each browser sending a tone (and a picture every
/// video tick) first.
fn run(
    room: &mut MediaRoom,
    browsers: &mut [(&mut Browser, Option<f32>, Option<Rgb>)],
    tick: &mut u64,
    ticks: u64,
) -> Vec<RoomNotice> {
    let mut notices = Vec::new();
    for _ in 0..ticks {
        for (b, freq, color) in browsers.iter_mut() {
            if let Some(f) = freq {
                b.send_tone(*f);
            }
            if let Some(c) = color
                && tick.is_multiple_of(2)
            {
                b.send_picture(MediaKind::Video, *c, 320, 180);
            }
        }
        room.tick(*tick, &mut notices);
        *tick += 1;
        for (b, _, _) in browsers.iter_mut() {
            b.collect();
        }
    }
    notices
}

#[test]
fn each_hears_the_other_but_not_themself_and_sees_the_other() {
    let mut room = room();
    let mut a = Browser::join(&mut room, 1, AV, 576);
    let mut b = Browser::join(&mut room, 2, AV, 576);
    room.set_view(view(
        Layout::Adaptive,
        &[participant(1, "A"), participant(2, "B")],
    ));
    let mut tick = 0;
    let notices = run(
        &mut room,
        &mut [
            (&mut a, Some(440.0), Some(RED)),
            (&mut b, Some(880.0), Some(BLUE)),
        ],
        &mut tick,
        100,
    );

    // Audio: A hears 880 Hz and (almost) no 440 Hz; B the reverse.
    assert!(a.received_audio.len() >= 80 * FRAME_SAMPLES);
    let (a440, a880) = (a.heard(440.0, 40), a.heard(880.0, 40));
    let (b440, b880) = (b.heard(440.0, 40), b.heard(880.0, 40));
    assert!(a880 > 100.0 * a440, "A: 880 {a880:.0} vs 440 {a440:.0}");
    assert!(b440 > 100.0 * b880, "B: 440 {b440:.0} vs 880 {b880:.0}");

    // Video: one tile of the other, nothing of oneself.
    assert!(a.pictures >= 40, "A got {} pictures", a.pictures);
    assert_eq!(
        (a.picture.width(), a.picture.height()),
        (640, 360),
        "576 kbps → 360p"
    );
    assert!(a.share_of(BLUE) > 0.5, "A sees blue: {}", a.share_of(BLUE));
    assert!(a.share_of(RED) < 0.01, "A sees no red: {}", a.share_of(RED));
    assert!(b.share_of(RED) > 0.5);
    assert!(b.share_of(BLUE) < 0.01);

    // Both tones are voice activity.
    for p in [pid(1), pid(2)] {
        assert!(notices.contains(&RoomNotice::Speaking {
            participant: p,
            speaking: true
        }));
        assert!(notices.contains(&RoomNotice::VideoFlowing {
            participant: p,
            flowing: true
        }));
    }
}

#[test]
fn a_third_participant_in_one_plus_seven_sees_both_and_an_audio_only_one_is_a_name_tile() {
    let mut room = room();
    let mut a = Browser::join(&mut room, 1, AV, 576);
    let mut b = Browser::join(&mut room, 2, AV, 576);
    let mut c = Browser::join(&mut room, 3, AV, 576);
    let audio_only = Streams {
        audio: true,
        ..Streams::default()
    };
    let mut d = Browser::join(&mut room, 4, audio_only, 576);
    let people = [
        participant(1, "A"),
        participant(2, "B"),
        participant(3, "C"),
        participant(4, "Dora Audio"),
    ];
    room.set_view(view(Layout::OnePlusSeven, &people));
    let mut tick = 0;
    run(
        &mut room,
        &mut [
            (&mut a, None, Some(RED)),
            (&mut b, None, Some(BLUE)),
            (&mut c, None, Some(GREEN)),
            (&mut d, None, None),
        ],
        &mut tick,
        60,
    );
    assert!(c.share_of(RED) > 0.05, "C sees red: {}", c.share_of(RED));
    assert!(c.share_of(BLUE) > 0.01, "C sees blue: {}", c.share_of(BLUE));
    assert!(c.share_of(GREEN) < 0.01, "C never sees itself");
    // D's tile shows its palette colour.
    let d_color = name_tile_color(pid(4).0.as_u64_pair().0);
    assert!(
        c.share_of(d_color) > 0.005,
        "C sees D's name tile: {}",
        c.share_of(d_color)
    );
    // D sends no video and receives none (audio-only call).
    assert_eq!(d.pictures, 0);
}

#[test]
fn listeners_share_one_mix_and_identical_views_share_one_encoder() {
    let mut room = room();
    let mut speaker = Browser::join(&mut room, 1, AV, 576);
    let mut listeners: Vec<Browser> = (2..=5)
        .map(|n| Browser::join(&mut room, n, AV, 576))
        .collect();
    let mut people = vec![participant(1, "S")];
    people.extend((2..=5).map(|n| participant(n, "L")));
    room.set_view(view(Layout::OneMain, &people));
    let mut notices = Vec::new();
    for tick in 0..60u64 {
        speaker.send_tone(440.0);
        if tick.is_multiple_of(2) {
            speaker.send_picture(MediaKind::Video, RED, 320, 180);
        }
        room.tick(tick, &mut notices);
    }
    // Only the speaker has a minus-self encoder; the four listeners share the full mix.
    assert_eq!(room.speaker_encoders.len(), 1);
    // In 1:0 the four listeners see the speaker (one view); the speaker sees listener 2.
    assert_eq!(
        room.pipelines.len(),
        2,
        "{:?}",
        room.pipelines
            .iter()
            .map(|p| p.tiles.clone())
            .collect::<Vec<_>>()
    );
    let mut first: Option<Vec<Outbound>> = None;
    for l in &mut listeners {
        let mut got = Vec::new();
        while let Ok(o) = l.outbound.try_recv() {
            got.push(o);
        }
        match &first {
            None => first = Some(got),
            Some(f) => assert_eq!(f, &got, "listeners receive the same bytes"),
        }
    }
    speaker.collect();
    assert!(speaker.pictures > 0);
}

#[test]
fn alone_or_waiting_still_receives_a_low_rate_picture_and_no_meeting() {
    let mut room = room();
    let mut a = Browser::join(&mut room, 1, AV, 576);
    let mut w = Browser::join(&mut room, 2, AV, 576);
    let mut waiting = participant(2, "W");
    waiting.admitted = false;
    waiting.host = false;
    room.set_view(view(Layout::Adaptive, &[participant(1, "A"), waiting]));
    let mut tick = 0;
    run(
        &mut room,
        &mut [
            (&mut a, Some(440.0), Some(RED)),
            (&mut w, Some(880.0), Some(BLUE)),
        ],
        &mut tick,
        200,
    );
    // 4 s at 25 fps would be 100; idle views run at 2.5 fps.
    assert!(
        (5..=20).contains(&a.pictures),
        "alone: {} pictures",
        a.pictures
    );
    assert!(
        (5..=20).contains(&w.pictures),
        "waiting: {} pictures",
        w.pictures
    );
    assert!(
        a.share_of(BLUE) < 0.01,
        "A does not see the waiting participant"
    );
    assert!(
        w.share_of(RED) < 0.01,
        "the waiting participant does not see the meeting"
    );
    assert!(
        w.received_audio.is_empty(),
        "the waiting room hears nothing"
    );
    // A alone hears nothing of W (not admitted): silence.
    let a880 = a.heard(880.0, 50);
    assert!(a880 < 1.0, "A hears the waiting room: {a880}");
}

#[test]
fn a_muted_participant_is_not_heard() {
    let mut room = room();
    let mut a = Browser::join(&mut room, 1, AV, 576);
    let mut b = Browser::join(&mut room, 2, AV, 576);
    let mut muted = participant(2, "B");
    muted.audio_muted = true;
    room.set_view(view(Layout::Adaptive, &[participant(1, "A"), muted]));
    let mut tick = 0;
    let notices = run(
        &mut room,
        &mut [(&mut a, Some(440.0), None), (&mut b, Some(880.0), None)],
        &mut tick,
        60,
    );
    assert!(a.heard(880.0, 40) < 1.0);
    assert!(b.heard(440.0, 40) > 1000.0);
    assert!(!notices.contains(&RoomNotice::Speaking {
        participant: pid(2),
        speaking: true
    }));
}

#[test]
fn garbage_media_and_resolution_changes_never_panic_and_ask_for_keyframes() {
    let mut room = room();
    let mut a = Browser::join(&mut room, 1, AV, 576);
    let mut b = Browser::join(&mut room, 2, AV, 576);
    room.set_view(view(
        Layout::Adaptive,
        &[participant(1, "A"), participant(2, "B")],
    ));
    let mut notices = Vec::new();
    let mut seed = 0x1234_5678u32;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for tick in 0..200u64 {
        let len = (rand() % 300) as usize;
        let junk: Vec<u8> = (0..len).map(|_| rand() as u8).collect();
        for kind in [MediaKind::Audio, MediaKind::Video, MediaKind::Slides] {
            let _ = a.inbound.try_send(IncomingMedia {
                kind,
                payload: Bytes::from(junk.clone()),
                rtp_timestamp: rand(),
                keyframe: rand() % 2 == 0,
            });
        }
        // B changes resolution every frame.
        let (w, h) = [(320, 180), (640, 360), (176, 144), (2, 2), (321, 241)][tick as usize % 5];
        b.send_picture(MediaKind::Video, BLUE, w, h);
        room.tick(tick, &mut notices);
        a.collect();
        b.collect();
    }
    assert!(a.keyframe_requests > 0, "corrupt video asks for a keyframe");
    assert!(
        a.keyframe_requests <= 10,
        "but rate-limited: {}",
        a.keyframe_requests
    );
    assert!(a.pictures > 50, "A still receives the composite");
    assert!(
        a.share_of(BLUE) > 0.3,
        "B's changing pictures are shown: {}",
        a.share_of(BLUE)
    );
}

#[test]
fn the_presentation_goes_to_everyone_but_the_presenter() {
    let mut room = room();
    let mut a = Browser::join(&mut room, 1, AV, 576);
    let mut b = Browser::join(&mut room, 2, AV, 576);
    let mut c = Browser::join(&mut room, 3, AV, 576);
    let mut denied = participant(3, "C");
    denied.receives_presentation = false;
    let mut v = (*view(
        Layout::Adaptive,
        &[participant(1, "A"), participant(2, "B"), denied],
    ))
    .clone();
    v.presenter = Some(pid(1));
    room.set_view(Arc::new(v));
    let mut notices = Vec::new();
    for tick in 0..60u64 {
        if tick % 2 == 0 {
            a.send_picture(MediaKind::Slides, GREEN, 1280, 720);
        }
        room.tick(tick, &mut notices);
        a.collect();
        b.collect();
        c.collect();
    }
    assert!(b.slides >= 20, "B receives the presentation: {}", b.slides);
    assert!(share_of(&b.slides_picture, GREEN) > 0.8);
    assert_eq!(a.slides, 0, "the presenter gets none back");
    assert_eq!(c.slides, 0, "denied");
    assert!(room.presentation_frame().is_some());
    match room.take_still() {
        Some(StillUpdate::New(still)) => {
            assert_eq!(&still.low[..2], &[0xFF, 0xD8], "a JPEG");
            assert!(still.high.len() > still.low.len() / 2);
        }
        other => panic!("expected a still, got {other:?}"),
    }

    // Presentation over: nothing more.
    room.set_view(view(
        Layout::Adaptive,
        &[participant(1, "A"), participant(2, "B")],
    ));
    let before = b.slides;
    for tick in 60..100u64 {
        room.tick(tick, &mut notices);
        b.collect();
    }
    assert_eq!(b.slides, before);
    assert_eq!(room.take_still(), Some(StillUpdate::Cleared));
}

#[test]
fn a_keyframe_request_forces_one_keyframe_for_the_shared_view() {
    let mut room = room();
    let mut a = Browser::join(&mut room, 1, AV, 576);
    let mut b = Browser::join(&mut room, 2, AV, 576);
    room.set_view(view(
        Layout::Adaptive,
        &[participant(1, "A"), participant(2, "B")],
    ));
    let mut notices = Vec::new();
    let keyframes = |b: &mut Browser| {
        let mut n = 0;
        while let Ok(o) = b.outbound.try_recv() {
            if let Outbound::Video(f) = o
                && f[0] & 1 == 0
            {
                n += 1;
            }
        }
        n
    };
    for tick in 0..40u64 {
        b.send_picture(MediaKind::Video, BLUE, 320, 180);
        room.tick(tick, &mut notices);
    }
    assert_eq!(keyframes(&mut a), 1, "one keyframe at the start");
    room.keyframe_requested(a.call, MediaKind::Video);
    room.keyframe_requested(a.call, MediaKind::Video);
    for tick in 40..80u64 {
        room.tick(tick, &mut notices);
    }
    assert_eq!(
        keyframes(&mut a),
        1,
        "two requests coalesce into one keyframe"
    );
}

#[test]
fn receiver_reports_adapt_the_bitrate_within_the_call_and_tier() {
    let mut room = room();
    let mut a = Browser::join(&mut room, 1, AV, 1000);
    let mut b = Browser::join(&mut room, 2, AV, 1000);
    room.set_view(view(
        Layout::Adaptive,
        &[participant(1, "A"), participant(2, "B")],
    ));
    let mut notices = Vec::new();
    let target_seen_by = |room: &MediaRoom, viewer: ParticipantId| {
        room.pipelines
            .iter()
            .find(|p| !p.tiles.contains(&viewer))
            .map(|p| p.encoder.target_kbps())
            .expect("a pipeline")
    };
    let mut tick = 0u64;
    let mut advance = |room: &mut MediaRoom, ticks: u64| {
        for _ in 0..ticks {
            if tick.is_multiple_of(2) {
                a.send_picture(MediaKind::Video, RED, 320, 180);
                b.send_picture(MediaKind::Video, BLUE, 320, 180);
            }
            room.tick(tick, &mut notices);
            tick += 1;
        }
    };
    advance(&mut room, 120);
    // 1000 kbps call: the budget minus audio, within the 360p tier's range.
    assert_eq!(target_seen_by(&room, pid(1)), 936);
    room.receiver_estimate(Uuid::from_u128(1001), 300_000);
    advance(&mut room, 60);
    assert_eq!(target_seen_by(&room, pid(1)), 300, "REMB caps A's view");
    assert_eq!(
        target_seen_by(&room, pid(2)),
        936,
        "B's view is not affected"
    );
    room.receiver_estimate(Uuid::from_u128(1001), 50_000);
    advance(&mut room, 60);
    assert_eq!(
        target_seen_by(&room, pid(1)),
        192,
        "never below the tier's floor"
    );
    // Heavy loss reported by B backs B's view off.
    for _ in 0..4 {
        room.receiver_loss(Uuid::from_u128(1002), 80);
    }
    advance(&mut room, 60);
    let backed_off = target_seen_by(&room, pid(2));
    assert!((400..=600).contains(&backed_off), "{backed_off}");
}

#[test]
fn senders_nobody_sees_are_not_decoded_until_they_are_seen_again() {
    let mut room = room();
    let mut a = Browser::join(&mut room, 1, AV, 576);
    let mut b = Browser::join(&mut room, 2, AV, 576);
    let mut c = Browser::join(&mut room, 3, AV, 576);
    let people = [
        participant(1, "A"),
        participant(2, "B"),
        participant(3, "C"),
    ];
    // 1:0: A sees B, B and C see A; nobody sees C.
    room.set_view(view(Layout::OneMain, &people));
    let mut tick = 0;
    let notices = run(
        &mut room,
        &mut [
            (&mut a, None, Some(RED)),
            (&mut b, None, Some(BLUE)),
            (&mut c, None, Some(GREEN)),
        ],
        &mut tick,
        60,
    );
    let decoding = |room: &MediaRoom, n: u128| {
        room.members
            .iter()
            .flatten()
            .find(|m| m.participant == pid(n))
            .is_some_and(|m| m.video.decoder.is_some())
    };
    assert!(decoding(&room, 1) && decoding(&room, 2));
    assert!(!decoding(&room, 3), "C is on nobody's screen");
    assert!(
        notices.contains(&RoomNotice::VideoFlowing {
            participant: pid(3),
            flowing: true
        }),
        "C's video still counts as arriving"
    );
    assert!(!notices.contains(&RoomNotice::VideoFlowing {
        participant: pid(3),
        flowing: false
    }));

    // C becomes the main speaker: a keyframe is requested and C is shown.
    let mut v = (*view(Layout::OneMain, &people)).clone();
    v.stage = vec![pid(3), pid(1), pid(2)];
    room.set_view(Arc::new(v));
    let before = c.keyframe_requests;
    run(
        &mut room,
        &mut [
            (&mut a, None, Some(RED)),
            (&mut b, None, Some(BLUE)),
            (&mut c, None, Some(GREEN)),
        ],
        &mut tick,
        60,
    );
    assert!(c.keyframe_requests > before, "C was asked for a keyframe");
    assert!(decoding(&room, 3));
    assert!(
        a.share_of(GREEN) > 0.5,
        "A now sees C: {}",
        a.share_of(GREEN)
    );
}

#[test]
fn the_name_overlay_labels_video_tiles_when_switched_on() {
    let mut room = room();
    let mut a = Browser::join(&mut room, 1, AV, 576);
    let mut b = Browser::join(&mut room, 2, AV, 576);
    let people = [participant(1, "A"), participant(2, "B")];
    let mut tick = 0;
    room.set_view(view(Layout::OneMain, &people));
    run(
        &mut room,
        &mut [(&mut a, None, Some(RED)), (&mut b, None, Some(GREEN))],
        &mut tick,
        30,
    );
    let bottom_row_label = |a: &Browser| {
        let (w, h) = (a.picture.width(), a.picture.height());
        let label = crate::video::compose::LABEL_COLOR.to_yuv();
        (0..w)
            .step_by(8)
            .filter(|&x| a.picture.pixel(x, h - 4).y.abs_diff(label.y) < 12)
            .count()
    };
    assert_eq!(bottom_row_label(&a), 0, "no overlay by default");
    let mut v = (*view(Layout::OneMain, &people)).clone();
    v.overlay_names = true;
    room.set_view(Arc::new(v));
    run(
        &mut room,
        &mut [(&mut a, None, Some(RED)), (&mut b, None, Some(GREEN))],
        &mut tick,
        30,
    );
    assert!(
        bottom_row_label(&a) > 20,
        "a label bar along the bottom of B's tile"
    );
    assert!(a.share_of(GREEN) > 0.5, "B's picture is still there");
}

#[test]
fn a_test_call_plays_back_the_callers_own_voice_and_picture_a_second_late() {
    let mut room = room();
    let mut a = Browser::join(&mut room, 1, AV, 576);
    let mut view = Arc::unwrap_or_clone(view(Layout::Adaptive, &[participant(1, "A")]));
    view.loopback = true;
    room.set_view(Arc::new(view));
    let mut tick = 0;

    // The first second: A talks and shows red; nothing of it is back yet.
    run(
        &mut room,
        &mut [(&mut a, Some(440.0), Some(RED))],
        &mut tick,
        LOOPBACK_DELAY_TICKS - 1,
    );
    assert!(
        a.received_audio.is_empty(),
        "audio before the delay: {} samples",
        a.received_audio.len()
    );
    assert_eq!(a.pictures, 0, "a picture before the delay");

    // After it: A hears 440 Hz and sees its own red picture, full screen.
    run(
        &mut room,
        &mut [(&mut a, Some(440.0), Some(RED))],
        &mut tick,
        100,
    );
    assert!(
        a.received_audio.len() >= 90 * FRAME_SAMPLES,
        "{} samples",
        a.received_audio.len()
    );
    let (own, other) = (a.heard(440.0, 40), a.heard(880.0, 40));
    assert!(
        own > 100.0 * other,
        "A hears itself: 440 {own:.0} vs 880 {other:.0}"
    );
    assert!(a.pictures >= 40, "A got {} pictures", a.pictures);
    assert!(a.share_of(RED) > 0.9, "A sees itself: {}", a.share_of(RED));

    // A stops talking: a second later the playback goes quiet too (it was a second
    // behind, not live).
    run(
        &mut room,
        &mut [(&mut a, None, Some(RED))],
        &mut tick,
        LOOPBACK_DELAY_TICKS - 5,
    );
    assert!(
        a.heard(440.0, 10) > 100.0 * a.heard(880.0, 10),
        "still the delayed voice"
    );
    run(&mut room, &mut [(&mut a, None, Some(RED))], &mut tick, 30);
    assert!(
        a.heard(440.0, 10) < own / 100.0,
        "silence a second after the voice stopped: {:.0} vs {own:.0}",
        a.heard(440.0, 10)
    );
}

#[test]
fn vp8_and_h264_callers_see_and_hear_each_other_and_get_the_presentation_in_their_codec() {
    let mut room = room();
    let mut a = Browser::join(&mut room, 1, AV, 576);
    let mut b = Browser::join(&mut room, 2, AV_H264, 576);
    let mut c = Browser::join(&mut room, 3, AV_H264, 576);
    room.set_view(view(
        Layout::Adaptive,
        &[
            participant(1, "A"),
            participant(2, "B"),
            participant(3, "C"),
        ],
    ));
    let mut tick = 0;
    run(
        &mut room,
        &mut [
            (&mut a, Some(440.0), Some(RED)),
            (&mut b, Some(880.0), Some(BLUE)),
            (&mut c, None, Some(GREEN)),
        ],
        &mut tick,
        100,
    );
    // A (VP8) decodes its composite of the two H.264 senders; B and C (H.264) decode
    // theirs, with A's VP8 picture in it.
    assert!(
        a.pictures >= 40 && b.pictures >= 40,
        "{} {}",
        a.pictures,
        b.pictures
    );
    assert!(
        a.share_of(BLUE) > 0.2 && a.share_of(GREEN) > 0.2,
        "A sees B and C"
    );
    assert!(a.share_of(RED) < 0.01, "A does not see itself");
    assert!(
        b.share_of(RED) > 0.2 && b.share_of(GREEN) > 0.2,
        "B sees A and C"
    );
    assert!(b.share_of(BLUE) < 0.01, "B does not see itself");
    assert!(
        c.share_of(RED) > 0.2 && c.share_of(BLUE) > 0.2,
        "C sees A and B"
    );
    let (a440, a880) = (a.heard(440.0, 40), a.heard(880.0, 40));
    let (b440, b880) = (b.heard(440.0, 40), b.heard(880.0, 40));
    assert!(
        a880 > 100.0 * a440,
        "A hears B: 880 {a880:.0} vs 440 {a440:.0}"
    );
    assert!(
        b440 > 100.0 * b880,
        "B hears A: 440 {b440:.0} vs 880 {b880:.0}"
    );

    // B presents in H.264: A receives it in VP8, C in H.264.
    let mut v = (*view(
        Layout::Adaptive,
        &[
            participant(1, "A"),
            participant(2, "B"),
            participant(3, "C"),
        ],
    ))
    .clone();
    v.presenter = Some(pid(2));
    room.set_view(Arc::new(v));
    let mut notices = Vec::new();
    for _ in 0..60 {
        if tick % 2 == 0 {
            b.send_picture(MediaKind::Slides, GREEN, 640, 360);
        }
        room.tick(tick, &mut notices);
        tick += 1;
        a.collect();
        b.collect();
        c.collect();
    }
    assert!(
        a.slides >= 20 && c.slides >= 20,
        "{} {}",
        a.slides,
        c.slides
    );
    assert!(
        share_of(&a.slides_picture, GREEN) > 0.8,
        "A's VP8 presentation"
    );
    assert!(
        share_of(&c.slides_picture, GREEN) > 0.8,
        "C's H.264 presentation"
    );
    assert_eq!(b.slides, 0, "the presenter gets none back");
}
