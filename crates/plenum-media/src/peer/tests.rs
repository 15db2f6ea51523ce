//! Peer adapter tests: the answer to a Chrome-style offer, and an in-process loopback
//! against a plain webrtc-rs "browser" over 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8,
};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use tokio::sync::mpsc;
use tokio::time::timeout;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCIceGatheringState, RTCPeerConnectionState, RTCSessionDescription,
};

use super::*;
use crate::audio::{FRAME_SAMPLES, Frame, OpusConfig, OpusEncoder};
use crate::video::{Decoder, EncodedFrame, Encoder, EncoderConfig, I420Frame, Yuv};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Generous: two shared cores may be busy compiling or running other tests.
const WAIT: Duration = Duration::from_secs(20);

// === SDP text helpers ===

#[test]
fn content_attributes_are_copied_by_mid() {
    let offer = "v=0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=content:main\r\n\
                 m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=content:main\r\na=mid:1\r\n\
                 m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=content:slides\r\n";
    let answer = "v=0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n\
                  m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n\
                  m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=content:slides\r\n";
    let out = echo_content_attributes(offer, answer);
    assert_eq!(
        out,
        "v=0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=content:main\r\n\
         m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=content:main\r\n\
         m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=content:slides\r\n"
    );
    assert_eq!(first_mid(offer), "0");
    // No content attributes in the offer: the answer is unchanged.
    assert_eq!(echo_content_attributes("v=0\r\n", answer), answer);
}

#[test]
fn inactive_offer_lines_are_answered_inactive() {
    let offer = "v=0\r\nm=audio 9 X 111\r\na=mid:0\r\na=sendrecv\r\n\
                 m=video 9 X 96\r\na=mid:2\r\na=inactive\r\n";
    let answer = "v=0\r\ns=-\r\nm=audio 9 X 111\r\na=mid:0\r\na=sendrecv\r\n\
                  m=video 9 X 96\r\na=mid:2\r\na=recvonly\r\n";
    assert_eq!(
        answer_inactive_as_inactive(offer, answer),
        "v=0\r\ns=-\r\nm=audio 9 X 111\r\na=mid:0\r\na=sendrecv\r\n\
         m=video 9 X 96\r\na=mid:2\r\na=inactive\r\n"
    );
}

// === Chrome-style offer ===

/// A Chrome-120-style offer after the Pexip SDK's munging: H.264 first, then VP8, VP9,
/// AV1, RTX/RED/ULPFEC; Opus with RED; `a=content:main`/`slides`; slides inactive.
const CHROME_OFFER: &str = "v=0\r
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0 1 2\r
a=extmap-allow-mixed\r
a=msid-semantic: WMS stream\r
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r
c=IN IP4 0.0.0.0\r
a=rtcp:9 IN IP4 0.0.0.0\r
a=ice-ufrag:Wm3x\r
a=ice-pwd:Tl2SD0vq3XoMrnwI4KbAJ8sQ\r
a=ice-options:trickle\r
a=fingerprint:sha-256 1C:71:86:1A:8E:46:F1:CD:5B:B3:1B:6D:73:E2:8A:D3:87:2B:F3:43:3A:71:25:34:8E:E7:EA:58:26:44:B0:2F\r
a=setup:actpass\r
a=mid:0\r
a=content:main\r
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=sendrecv\r
a=msid:stream audio0\r
a=rtcp-mux\r
a=rtpmap:111 opus/48000/2\r
a=rtcp-fb:111 transport-cc\r
a=fmtp:111 minptime=10;useinbandfec=1\r
a=rtpmap:63 red/48000/2\r
a=fmtp:63 111/111\r
a=rtpmap:9 G722/8000\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:13 CN/8000\r
a=rtpmap:110 telephone-event/48000\r
a=rtpmap:126 telephone-event/8000\r
a=ssrc:1001 cname:chromecname\r
a=ssrc:1001 msid:stream audio0\r
m=video 9 UDP/TLS/RTP/SAVPF 102 103 96 97 98 99 45 46 116 117 118\r
c=IN IP4 0.0.0.0\r
a=rtcp:9 IN IP4 0.0.0.0\r
b=AS:1920\r
a=ice-ufrag:Wm3x\r
a=ice-pwd:Tl2SD0vq3XoMrnwI4KbAJ8sQ\r
a=ice-options:trickle\r
a=fingerprint:sha-256 1C:71:86:1A:8E:46:F1:CD:5B:B3:1B:6D:73:E2:8A:D3:87:2B:F3:43:3A:71:25:34:8E:E7:EA:58:26:44:B0:2F\r
a=setup:actpass\r
a=mid:1\r
a=content:main\r
a=extmap:14 urn:ietf:params:rtp-hdrext:toffset\r
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r
a=extmap:13 urn:3gpp:video-orientation\r
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r
a=sendrecv\r
a=msid:stream video0\r
a=rtcp-mux\r
a=rtcp-rsize\r
a=rtpmap:102 H264/90000\r
a=rtcp-fb:102 goog-remb\r
a=rtcp-fb:102 transport-cc\r
a=rtcp-fb:102 ccm fir\r
a=rtcp-fb:102 nack\r
a=rtcp-fb:102 nack pli\r
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f;max-br=3732;max-mbps=245760;max-fs=8192;max-smbps=245760;max-fps=3000\r
a=rtpmap:103 rtx/90000\r
a=fmtp:103 apt=102\r
a=rtpmap:96 VP8/90000\r
a=rtcp-fb:96 goog-remb\r
a=rtcp-fb:96 transport-cc\r
a=rtcp-fb:96 ccm fir\r
a=rtcp-fb:96 nack\r
a=rtcp-fb:96 nack pli\r
a=fmtp:96 max-fs=8160;max-fr=30\r
a=rtpmap:97 rtx/90000\r
a=fmtp:97 apt=96\r
a=rtpmap:98 VP9/90000\r
a=rtcp-fb:98 nack pli\r
a=fmtp:98 profile-id=0;max-fs=8160;max-fr=30\r
a=rtpmap:99 rtx/90000\r
a=fmtp:99 apt=98\r
a=rtpmap:45 AV1/90000\r
a=rtcp-fb:45 nack pli\r
a=fmtp:45 level-idx=5;profile=0;tier=0\r
a=rtpmap:46 rtx/90000\r
a=fmtp:46 apt=45\r
a=rtpmap:116 red/90000\r
a=rtpmap:117 rtx/90000\r
a=fmtp:117 apt=116\r
a=rtpmap:118 ulpfec/90000\r
a=ssrc-group:FID 2001 2002\r
a=ssrc:2001 cname:chromecname\r
a=ssrc:2001 msid:stream video0\r
a=ssrc:2002 cname:chromecname\r
a=ssrc:2002 msid:stream video0\r
m=video 9 UDP/TLS/RTP/SAVPF 102 96\r
c=IN IP4 0.0.0.0\r
a=rtcp:9 IN IP4 0.0.0.0\r
a=ice-ufrag:Wm3x\r
a=ice-pwd:Tl2SD0vq3XoMrnwI4KbAJ8sQ\r
a=ice-options:trickle\r
a=fingerprint:sha-256 1C:71:86:1A:8E:46:F1:CD:5B:B3:1B:6D:73:E2:8A:D3:87:2B:F3:43:3A:71:25:34:8E:E7:EA:58:26:44:B0:2F\r
a=setup:actpass\r
a=mid:2\r
a=content:slides\r
a=inactive\r
a=rtcp-mux\r
a=rtcp-rsize\r
a=rtpmap:102 H264/90000\r
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r
a=rtpmap:96 VP8/90000\r
a=fmtp:96 max-fs=8160;max-fr=30\r
";

/// The media sections of `sdp`, each as (first line, whole section).
fn sections(sdp: &str) -> Vec<(String, String)> {
    media_sections(sdp)
        .map(|s| (s.lines().next().unwrap_or("").to_owned(), s.to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chrome_offer_is_answered_with_vp8_and_opus() {
    let mut config = PeerConfig::new(LOOPBACK);
    config.port_range = (42_000, 42_999);
    let answered = timeout(WAIT, Peer::answer(CHROME_OFFER, config))
        .await
        .expect("answer within the time limit")
        .expect("answer");
    let sdp = &answered.sdp;
    let secs = sections(sdp);
    assert_eq!(secs.len(), 3, "three m-lines answered: {sdp}");

    let (audio_m, audio) = &secs[0];
    assert_eq!(audio_m.trim(), "m=audio 9 UDP/TLS/RTP/SAVPF 111", "{sdp}");
    assert!(audio.contains("a=rtpmap:111 opus/48000/2"), "{sdp}");
    assert!(audio.contains("a=sendrecv"), "{sdp}");
    assert!(audio.contains("a=content:main"), "{sdp}");

    let (video_m, video) = &secs[1];
    assert_eq!(video_m.trim(), "m=video 9 UDP/TLS/RTP/SAVPF 96", "{sdp}");
    assert!(video.contains("a=rtpmap:96 VP8/90000"), "{sdp}");
    for fb in ["nack", "nack pli", "ccm fir", "goog-remb"] {
        assert!(
            video.contains(&format!("a=rtcp-fb:96 {fb}\r\n")),
            "{fb}: {sdp}"
        );
    }
    for other in ["H264", "VP9", "AV1", "rtx", "red", "ulpfec"] {
        assert!(!video.contains(other), "{other} in answer: {sdp}");
    }
    assert!(video.contains("a=sendrecv"), "{sdp}");
    assert!(video.contains("a=content:main"), "{sdp}");

    let (_, slides) = &secs[2];
    assert!(slides.contains("a=inactive"), "{sdp}");
    assert!(slides.contains("a=content:slides"), "{sdp}");

    // Candidates are in the answer, on the port from the range.
    let port = answered.peer.local_port();
    assert!((42_000..=42_999).contains(&port), "port {port}");
    assert!(
        sdp.contains(&format!("127.0.0.1 {port} typ host")),
        "host candidate on {port}: {sdp}"
    );
    answered.peer.close().await.expect("close");
}

// === Loopback ===

/// The "browser": a plain webrtc-rs PeerConnection offering H.264 before VP8.
struct BrowserHandler {
    gathered: mpsc::UnboundedSender<()>,
    connected: mpsc::UnboundedSender<()>,
    rtp: mpsc::UnboundedSender<RtpCodecKind>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for BrowserHandler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(());
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if state == RTCPeerConnectionState::Connected {
            let _ = self.connected.send(());
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let rtp = self.rtp.clone();
        tokio::spawn(async move {
            let kind = track.kind().await;
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(_) = event
                    && rtp.send(kind).is_err()
                {
                    return;
                }
            }
        });
    }
}

fn codec(mime: &str, clock_rate: u32, channels: u16, fmtp: &str) -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: mime.to_owned(),
        clock_rate,
        channels,
        sdp_fmtp_line: fmtp.to_owned(),
        rtcp_feedback: vec![],
    }
}

fn browser_track(kind: RtpCodecKind, codec: RTCRtpCodec, ssrc: u32) -> Arc<TrackLocalStaticSample> {
    Arc::new(
        TrackLocalStaticSample::new(
            Instant::now(),
            MediaStreamTrack::new(
                "browser".to_owned(),
                format!("browser-{kind}"),
                format!("browser-{kind}"),
                kind,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec,
                    ..Default::default()
                }],
            ),
        )
        .expect("browser track"),
    )
}

/// Munges the offer as the Pexip SDK does: `a=content:main` after every `a=mid:`, and
/// H.264 (pt 102) listed first on video (webrtc-rs only offers its track's codec).
fn sdk_munge(sdp: &str) -> String {
    let mut out = String::new();
    for line in sdp.lines() {
        if let Some(rest) = line.strip_prefix("m=video 9 UDP/TLS/RTP/SAVPF ") {
            out.push_str("m=video 9 UDP/TLS/RTP/SAVPF 102 ");
            out.push_str(rest);
            out.push_str("\r\n");
            continue;
        }
        if line.starts_with("a=rtpmap:") && line.ends_with(" VP8/90000") {
            out.push_str("a=rtpmap:102 H264/90000\r\n");
            out.push_str("a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n");
        }
        out.push_str(line);
        out.push_str("\r\n");
        if line.starts_with("a=mid:") {
            out.push_str("a=content:main\r\n");
        }
    }
    out
}

/// Real VP8 frames (keyframe every 30) and Opus packets from the crate's own encoders.
fn encode_media(frames: usize, packets: usize) -> (Vec<(Bytes, bool)>, Vec<Bytes>) {
    let mut encoder = Encoder::new(EncoderConfig::new(320, 240, 300)).expect("vp8 encoder");
    let mut picture = I420Frame::new(320, 240);
    let mut out = EncodedFrame::default();
    let mut video = Vec::with_capacity(frames);
    for i in 0..frames {
        picture.fill(Yuv {
            y: (40 + i * 5 % 180) as u8,
            u: 90,
            v: 160,
        });
        let produced = encoder
            .encode(&picture, i as i64 * 3000, i % 30 == 0, &mut out)
            .expect("encode vp8");
        assert!(produced, "frame {i} encoded");
        video.push((Bytes::copy_from_slice(&out.data), out.keyframe));
    }
    let mut opus = OpusEncoder::new(OpusConfig::default()).expect("opus encoder");
    let mut audio = Vec::with_capacity(packets);
    let mut buf = [0u8; 1500];
    for p in 0..packets {
        let mut frame: Frame = [0; FRAME_SAMPLES];
        for (n, s) in frame.iter_mut().enumerate() {
            let t = (p * FRAME_SAMPLES + n) as f32 / 48_000.0;
            *s = (8000.0 * (t * 440.0 * std::f32::consts::TAU).sin()) as i16;
        }
        let len = opus.encode(&frame, &mut buf).expect("encode opus");
        audio.push(Bytes::copy_from_slice(&buf[..len]));
    }
    (video, audio)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_media_flows_both_ways() {
    let (video_frames, audio_packets) = encode_media(150, 250);
    assert!(video_frames[0].1, "first frame is a keyframe");

    // --- the browser: H.264 registered before VP8, non-default payload types ---
    let mut engine = MediaEngine::default();
    let h264 = codec(
        MIME_TYPE_H264,
        90_000,
        0,
        "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    );
    for (c, pt, kind) in [
        (h264, 102, RtpCodecKind::Video),
        (
            codec(MIME_TYPE_VP8, 90_000, 0, ""),
            100,
            RtpCodecKind::Video,
        ),
        (
            codec(MIME_TYPE_OPUS, 48_000, 2, "minptime=10;useinbandfec=1"),
            109,
            RtpCodecKind::Audio,
        ),
    ] {
        engine
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: c,
                    payload_type: pt,
                },
                kind,
            )
            .expect("register codec");
    }
    let (gathered_tx, mut gathered_rx) = mpsc::unbounded_channel();
    let (connected_tx, mut connected_rx) = mpsc::unbounded_channel();
    let (rtp_tx, mut rtp_rx) = mpsc::unbounded_channel();
    let browser = PeerConnectionBuilder::new()
        .with_media_engine(engine)
        .with_handler(Arc::new(BrowserHandler {
            gathered: gathered_tx,
            connected: connected_tx,
            rtp: rtp_tx,
        }))
        .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
        .build()
        .await
        .expect("browser peer");
    let b_audio = browser_track(
        RtpCodecKind::Audio,
        codec(MIME_TYPE_OPUS, 48_000, 2, ""),
        0x0A0D_1000,
    );
    let b_video = browser_track(
        RtpCodecKind::Video,
        codec(MIME_TYPE_VP8, 90_000, 0, ""),
        0x0B1D_E000,
    );
    let b_audio_sender = browser
        .add_track(b_audio.clone() as Arc<dyn TrackLocal>)
        .await
        .expect("browser audio track");
    let b_video_sender = browser
        .add_track(b_video.clone() as Arc<dyn TrackLocal>)
        .await
        .expect("browser video track");
    let offer = browser.create_offer(None).await.expect("offer");
    browser
        .set_local_description(offer)
        .await
        .expect("browser sld");
    timeout(WAIT, gathered_rx.recv())
        .await
        .expect("browser gathering completes");
    let offer_sdp = sdk_munge(
        &browser
            .local_description()
            .await
            .expect("browser offer")
            .sdp,
    );
    let h264_at = offer_sdp
        .find("H264/90000")
        .unwrap_or_else(|| panic!("offer lists H.264: {offer_sdp}"));
    let vp8_at = offer_sdp.find("VP8/90000").expect("offer lists VP8");
    assert!(
        h264_at < vp8_at,
        "H.264 before VP8 in the offer: {offer_sdp}"
    );

    // --- our peer answers ---
    let Answered {
        peer,
        sdp: answer_sdp,
        mut events,
    } = timeout(WAIT, Peer::answer(&offer_sdp, PeerConfig::new(LOOPBACK)))
        .await
        .expect("answer in time")
        .expect("answer");
    assert!(
        answer_sdp.contains("a=rtpmap:100 VP8/90000"),
        "{answer_sdp}"
    );
    assert!(
        answer_sdp.contains("a=rtpmap:109 opus/48000/2"),
        "{answer_sdp}"
    );
    assert!(!answer_sdp.contains("H264"), "{answer_sdp}");
    assert!(answer_sdp.contains("a=content:main"), "{answer_sdp}");
    let peer = Arc::new(peer);

    // webrtc-rs's SDP parser would reject the content attribute? Give it the real answer.
    browser
        .set_remote_description(
            RTCSessionDescription::answer(answer_sdp.clone()).expect("parse answer"),
        )
        .await
        .expect("browser srd");

    timeout(WAIT, connected_rx.recv())
        .await
        .expect("browser connects");
    timeout(WAIT, async {
        while let Some(event) = events.control.recv().await {
            if event == PeerEvent::StateChanged(PeerState::Connected) {
                return;
            }
        }
        panic!("control channel ended before connected");
    })
    .await
    .expect("our peer connects");

    // --- media both ways, paced in real time ---
    let b_audio_pt = b_audio_sender
        .get_parameters()
        .await
        .expect("params")
        .rtp_parameters
        .codecs[0]
        .payload_type;
    let b_video_pt = b_video_sender
        .get_parameters()
        .await
        .expect("params")
        .rtp_parameters
        .codecs[0]
        .payload_type;
    assert_eq!((b_audio_pt, b_video_pt), (109, 100));
    let browser_send = {
        let (video_frames, audio_packets) = (video_frames.clone(), audio_packets.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            for i in 0..audio_packets.len() {
                tick.tick().await;
                let sample = Sample {
                    data: audio_packets[i].clone(),
                    duration: Duration::from_millis(20),
                    ..Sample::new(Instant::now())
                };
                b_audio
                    .sample_writer(0x0A0D_1000, b_audio_pt)
                    .write_sample(&sample)
                    .await
                    .expect("browser audio write");
                // Video at 25 fps: every second audio tick.
                if i % 2 == 0 && i / 2 < video_frames.len() {
                    let sample = Sample {
                        data: video_frames[i / 2].0.clone(),
                        duration: Duration::from_millis(40),
                        ..Sample::new(Instant::now())
                    };
                    b_video
                        .sample_writer(0x0B1D_E000, b_video_pt)
                        .write_sample(&sample)
                        .await
                        .expect("browser video write");
                }
            }
        })
    };
    let peer_send = {
        let peer = peer.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            for i in 0..audio_packets.len() {
                tick.tick().await;
                peer.send_audio(audio_packets[i].clone(), Duration::from_millis(20))
                    .await
                    .expect("peer audio send");
                if i % 2 == 0 && i / 2 < video_frames.len() {
                    peer.send_video(video_frames[i / 2].0.clone(), Duration::from_millis(40))
                        .await
                        .expect("peer video send");
                }
            }
        })
    };

    // Our peer receives Opus packets and at least one decodable VP8 keyframe.
    let mut decoder = Decoder::new().expect("vp8 decoder");
    let mut picture = I420Frame::new(2, 2);
    let (mut audio_rx, mut keyframes, mut video_rx) = (0usize, 0usize, 0usize);
    timeout(WAIT, async {
        while audio_rx < 40 || keyframes < 1 {
            let media = events.media.recv().await.expect("media channel open");
            match media.kind {
                MediaKind::Audio => {
                    assert!(!media.payload.is_empty());
                    audio_rx += 1;
                }
                MediaKind::Video => {
                    video_rx += 1;
                    if media.keyframe {
                        let decoded = decoder
                            .decode(&media.payload, &mut picture)
                            .expect("decode keyframe");
                        assert!(decoded, "keyframe decodes to a picture");
                        assert_eq!((picture.width(), picture.height()), (320, 240));
                        keyframes += 1;
                    }
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!("received {audio_rx} audio, {video_rx} video, {keyframes} keyframes")
    });
    peer.request_keyframe().await.expect("pli");

    // The browser receives our RTP.
    let (mut b_audio_rtp, mut b_video_rtp) = (0usize, 0usize);
    timeout(WAIT, async {
        while b_audio_rtp < 40 || b_video_rtp < 20 {
            match rtp_rx.recv().await.expect("browser rtp channel open") {
                RtpCodecKind::Audio => b_audio_rtp += 1,
                RtpCodecKind::Video => b_video_rtp += 1,
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("browser got {b_audio_rtp} audio, {b_video_rtp} video rtp"));

    browser_send.abort();
    peer_send.abort();
    peer.close().await.expect("close peer");
    browser.close().await.expect("close browser");
}
