//! Peer adapter tests: offer checks, the answer to a Chrome-style offer, and in-process
//! loopbacks against a plain webrtc-rs "browser" over 127.0.0.1 (presentation both ways,
//! renegotiation, ICE restart, RTCP feedback).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::{Rng, SeedableRng};
use rtc::interceptor::{Attribute, Interceptor, Packet, Slot, StreamInfo, TaggedPacket};
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCOfferOptions;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8,
};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::rtcp::transport_feedbacks::transport_layer_cc::TransportLayerCc;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use tokio::net::UdpSocket as TokioUdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCIceGatheringState, RTCPeerConnectionState, RTCSessionDescription, Registry, configure_nack,
    configure_twcc_sender_only,
};
use webrtc::rtp_transceiver::{
    RTCRtpTransceiverDirection, RTCRtpTransceiverInit, RtpSender, RtpTransceiver,
};

use super::webrtc_rs::RtpClock;
use super::*;
use crate::audio::{FRAME_SAMPLES, Frame, OpusConfig, OpusEncoder};
use crate::video::{Decoder, EncodedFrame, Encoder, EncoderConfig, I420Frame, VideoCodec, Yuv};

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

#[test]
fn rtp_timestamps_advance_by_exact_media_time() {
    // webrtc-rs's own step for a sample: `(duration.as_secs_f64() * rate) as u32`.
    let step = |d: Duration, rate: u32| (d.as_secs_f64() * f64::from(rate)) as u32;
    let check = |rate: u32, frame: Duration, frames: u32, expected_total: u64| {
        let mut clock = RtpClock::new(rate);
        let total: u64 = (0..frames)
            .map(|_| u64::from(step(clock.advance(frame), rate)))
            .sum();
        assert_eq!(total, expected_total, "{rate} Hz, {frame:?} × {frames}");
    };
    // 1/30 s is 33 333 333 ns: plain truncation would lose a tick per frame.
    check(
        90_000,
        Duration::from_nanos(33_333_333),
        30 * 600,
        53_999_999,
    );
    check(90_000, Duration::from_secs(1) / 30, 30, 89_999);
    check(90_000, Duration::from_millis(40), 1000, 3_600_000);
    check(48_000, Duration::from_millis(20), 50 * 3600, 48_000 * 3600);
    // Steps stay whole frames of 20 ms audio.
    let mut clock = RtpClock::new(48_000);
    for _ in 0..100 {
        assert_eq!(step(clock.advance(Duration::from_millis(20)), 48_000), 960);
    }
}

// === Offer checks ===

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

/// [`CHROME_OFFER`] with only the m-lines at `keep` (bundled as such).
fn chrome_offer_with(keep: &[usize]) -> String {
    let header_end = CHROME_OFFER.find("\nm=").expect("offer has m-lines") + 1;
    let mids: Vec<String> = keep.iter().map(usize::to_string).collect();
    let mut out = CHROME_OFFER[..header_end].replace(
        "a=group:BUNDLE 0 1 2",
        &format!("a=group:BUNDLE {}", mids.join(" ")),
    );
    for (i, section) in media_sections(CHROME_OFFER).enumerate() {
        if keep.contains(&i) {
            out.push_str(section);
        }
    }
    out
}

#[test]
fn chrome_offer_lines_get_their_roles() {
    let offer = Offer::parse(CHROME_OFFER, true).expect("chrome offer parses");
    let roles: Vec<_> = offer
        .media
        .iter()
        .map(|m| (m.mid.as_str(), m.role))
        .collect();
    assert_eq!(
        roles,
        [
            ("0", Some(MediaKind::Audio)),
            ("1", Some(MediaKind::Video)),
            ("2", Some(MediaKind::Slides)),
        ]
    );
    assert_eq!(
        offer.answer_direction(MediaKind::Slides),
        MediaDirection::Inactive
    );
    assert_eq!(
        offer.answer_direction(MediaKind::Video),
        MediaDirection::SendRecv
    );
    assert_eq!(
        offer.line(MediaKind::Video).expect("video").ssrcs,
        [2001, 2002]
    );
    let presenting = Offer::parse(&CHROME_OFFER.replace("a=inactive", "a=sendonly"), true)
        .expect("presenting offer");
    assert_eq!(
        presenting.answer_direction(MediaKind::Slides),
        MediaDirection::RecvOnly
    );
    let watching = Offer::parse(&CHROME_OFFER.replace("a=inactive", "a=recvonly"), true)
        .expect("watching offer");
    assert_eq!(
        watching.answer_direction(MediaKind::Slides),
        MediaDirection::SendOnly
    );
    let audio_only = Offer::parse(&chrome_offer_with(&[0]), true).expect("audio-only offer");
    assert_eq!(audio_only.media.len(), 1);
    assert_eq!(
        audio_only.answer_direction(MediaKind::Video),
        MediaDirection::Inactive
    );
}

/// The offer Firefox ESR 153 makes under the Pexip SDK's `max-bundle` policy (with the
/// SDK's `a=content` lines): every line but the first has port 0 and `a=bundle-only`
/// (RFC 8843), VP8 is payload type 120 with `max-fs`/`max-fr`, RTX, VP9, AV1, RED and
/// ULPFEC besides, and no H.264.
const FIREFOX_OFFER: &str = include_str!("firefox_offer.sdp");

#[test]
fn firefox_bundle_only_lines_are_not_rejected() {
    let offer = Offer::parse(FIREFOX_OFFER, true).expect("firefox offer parses");
    let roles: Vec<_> = offer
        .media
        .iter()
        .map(|m| (m.mid.as_str(), m.role, m.rejected))
        .collect();
    assert_eq!(
        roles,
        [
            ("0", Some(MediaKind::Audio), false),
            ("1", Some(MediaKind::Video), false),
            ("2", Some(MediaKind::Slides), false),
        ]
    );
    assert_eq!(
        offer.answer_direction(MediaKind::Video),
        MediaDirection::SendRecv
    );
    assert_eq!(
        offer.answer_direction(MediaKind::Slides),
        MediaDirection::Inactive
    );
    // Port 0 without `a=bundle-only` is still a rejected line.
    let stopped = Offer::parse(&FIREFOX_OFFER.replacen("a=bundle-only\r\n", "", 1), true)
        .expect("offer with a stopped video line parses");
    assert_eq!(stopped.line(MediaKind::Video), None);
    assert!(stopped.media[1].rejected);
}

/// `offer` must be refused with an error whose text contains `expected`.
#[track_caller]
fn check_refused(offer: &str, expected: &str) {
    match Offer::parse(offer, true).and_then(|o| o.check_initial().map(|()| o)) {
        Ok(parsed) => panic!("accepted {offer:?}: {parsed:?}"),
        Err(e) => assert!(
            e.to_string().contains(expected),
            "{e} does not say {expected:?} (offer {offer:?})"
        ),
    }
}

#[test]
fn unusable_offers_are_refused_with_a_reason() {
    check_refused("", "empty");
    check_refused("   \r\n\r\n", "empty");
    check_refused("hello world", "not an sdp");
    check_refused("\u{0}\u{1}\u{2}garbage\u{7f}", "not an sdp");
    check_refused("v=0\r\nthis is not sdp\r\n", "line 2 is not an sdp line");
    check_refused(
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
        "no audio or video",
    );
    // An answer handed in as an offer (Chrome's answer takes the active DTLS role).
    check_refused(
        &CHROME_OFFER.replace("a=setup:actpass", "a=setup:active"),
        "a=setup:active",
    );
    // Truncated before the fingerprint.
    let cut = CHROME_OFFER.find("a=fingerprint").expect("fingerprint");
    check_refused(&CHROME_OFFER[..cut], "fingerprint");
    check_refused(&CHROME_OFFER.replace("a=mid:1\r\n", ""), "no a=mid");
    check_refused(&CHROME_OFFER.replace("a=mid:1\r\n", "a=mid:0\r\n"), "twice");
    check_refused(
        &CHROME_OFFER.replace("m=video 9 UDP/TLS/RTP/SAVPF 102 96", "m=video nine"),
        "malformed m-line",
    );

    // No Opus: the audio line has nothing we can decode.
    let no_opus = CHROME_OFFER.replace("a=rtpmap:111 opus/48000/2", "a=rtpmap:111 PCMU/8000");
    // The audio line is left out (rejected in the answer), the video goes on.
    let offer = Offer::parse(&no_opus, true).expect("video still usable");
    assert_eq!(offer.line(MediaKind::Audio), None);
    assert!(offer.line(MediaKind::Video).is_some());
    assert_eq!(offer.unusable.len(), 1);
    assert_eq!(offer.unusable[0].0, MediaKind::Audio);
    assert!(
        offer.unusable[0].1.contains("pcmu/8000"),
        "{:?}",
        offer.unusable
    );
    // Nothing usable at all: refused, naming what was offered.
    let err = Offer::parse(
        &chrome_offer_with(&[0]).replace("opus/48000/2", "PCMU/8000"),
        true,
    )
    .expect_err("nothing usable");
    assert!(
        matches!(
            err,
            PeerError::NoCommonCodec {
                kind: MediaKind::Audio,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("pcmu/8000"),
        "names the offer: {err}"
    );
    // H.264 only on the main video line: H.264 where allowed; pinned to VP8, the video
    // line is left out and audio goes on.
    let no_vp8 =
        chrome_offer_with(&[0, 1]).replace("a=rtpmap:96 VP8/90000", "a=rtpmap:96 VP9/90000");
    let offer = Offer::parse(&no_vp8, true).expect("h264 only");
    assert_eq!(
        offer.video_codec(MediaKind::Video).map(|c| c.codec),
        Some(VideoCodec::H264)
    );
    let pinned = Offer::parse(&no_vp8, false).expect("audio still usable");
    assert_eq!(pinned.line(MediaKind::Video), None);
    assert_eq!(
        pinned.answer_direction(MediaKind::Video),
        MediaDirection::Inactive
    );
    assert_eq!(pinned.unusable[0].0, MediaKind::Video);
    assert!(
        pinned.unusable[0].1.contains("h264/90000"),
        "{:?}",
        pinned.unusable
    );
    // Neither VP8 nor a usable H.264 (packetization mode 0) on the slides line.
    let slides_mode0 = CHROME_OFFER
        .replace(
            "a=rtpmap:96 VP8/90000\r\na=fmtp:96 max-fs=8160;max-fr=30\r\n",
            "",
        )
        .replace("packetization-mode=1", "packetization-mode=0");
    let offer = Offer::parse(&slides_mode0, true).expect("main lines usable");
    assert_eq!(offer.line(MediaKind::Slides), None);
    assert_eq!(offer.unusable[0].0, MediaKind::Slides);
}

#[test]
fn the_offers_first_usable_video_codec_is_chosen() {
    // Chrome under the Pexip SDK: H.264 first.
    let offer = Offer::parse(CHROME_OFFER, true).expect("chrome offer");
    let chosen = offer.video_codec(MediaKind::Video).expect("a codec");
    assert_eq!((chosen.codec, chosen.payload_type), (VideoCodec::H264, 102));
    assert!(
        chosen.fmtp.contains("profile-level-id=42e01f"),
        "{chosen:?}"
    );
    // Pinned to VP8 by config.
    let pinned = Offer::parse(CHROME_OFFER, false).expect("chrome offer");
    let chosen = pinned.video_codec(MediaKind::Video).expect("a codec");
    assert_eq!((chosen.codec, chosen.payload_type), (VideoCodec::Vp8, 96));
    // Firefox offers no H.264: VP8 on its own payload type.
    let firefox = Offer::parse(FIREFOX_OFFER, true).expect("firefox offer");
    let chosen = firefox.video_codec(MediaKind::Video).expect("a codec");
    assert_eq!((chosen.codec, chosen.payload_type), (VideoCodec::Vp8, 120));
    // VP8 listed first wins over H.264.
    let vp8_first = CHROME_OFFER.replace(
        "m=video 9 UDP/TLS/RTP/SAVPF 102 103 96",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 102 103",
    );
    let offer = Offer::parse(&vp8_first, true).expect("vp8 first");
    assert_eq!(
        offer.video_codec(MediaKind::Video).map(|c| c.codec),
        Some(VideoCodec::Vp8)
    );
    // High profile or packetization mode 0 H.264 is not ours.
    for (from, to) in [
        ("profile-level-id=42e01f", "profile-level-id=640c1f"),
        ("packetization-mode=1", "packetization-mode=0"),
    ] {
        let offer = Offer::parse(&CHROME_OFFER.replace(from, to), true).expect("offer");
        assert_eq!(
            offer.video_codec(MediaKind::Video).map(|c| c.codec),
            Some(VideoCodec::Vp8),
            "{to}"
        );
    }
}

#[test]
fn no_input_makes_the_offer_checks_panic() {
    // Every prefix of a real offer: our checks, and webrtc-rs's parser behind them.
    let mut accepted = 0;
    for (cut, _) in CHROME_OFFER.char_indices() {
        let prefix = &CHROME_OFFER[..cut];
        if Offer::parse(prefix, true).is_ok() {
            accepted += 1;
            let _ = RTCSessionDescription::offer(prefix.to_owned());
        }
    }
    assert!(accepted > 0, "some long prefixes are complete offers");
    // Random bytes, and random lines behind a valid first line.
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let alphabet: Vec<char> = "v=0amoscit:/ \r\n\t1235-_.xyzé\u{0}".chars().collect();
    for round in 0..2_000 {
        let len = rng.gen_range(0..300);
        let mut text: String = (0..len)
            .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
            .collect();
        if round % 2 == 0 {
            text.insert_str(0, "v=0\r\n");
        }
        let _ = Offer::parse(&text, true);
        let bytes: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
        let _ = Offer::parse(&String::from_utf8_lossy(&bytes), true);
    }
}

// === Answering without a browser ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chrome_offer_pinned_to_vp8_is_answered_with_vp8_and_opus() {
    let mut config = PeerConfig::new(LOOPBACK);
    config.port_range = (42_000, 42_999);
    config.h264 = false;
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
    for fb in ["nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"] {
        assert!(
            video.contains(&format!("a=rtcp-fb:96 {fb}\r\n")),
            "{fb}: {sdp}"
        );
    }
    assert!(
        video.contains("transport-wide-cc-extensions-01"),
        "transport-wide sequence numbers accepted: {sdp}"
    );
    for other in ["H264", "VP9", "AV1", "rtx", "red", "ulpfec"] {
        assert!(!video.contains(other), "{other} in answer: {sdp}");
    }
    assert!(video.contains("a=sendrecv"), "{sdp}");
    assert!(video.contains("a=content:main"), "{sdp}");

    let (_, slides) = &secs[2];
    assert!(slides.contains("a=inactive"), "{sdp}");
    assert!(!slides.contains("a=sendrecv"), "{sdp}");
    assert!(slides.contains("a=content:slides"), "{sdp}");
    assert!(slides.contains("a=rtpmap:96 VP8/90000"), "{sdp}");

    let peer = &answered.peer;
    assert_eq!(peer.direction(MediaKind::Audio), MediaDirection::SendRecv);
    assert_eq!(peer.direction(MediaKind::Video), MediaDirection::SendRecv);
    assert_eq!(peer.slides_direction(), MediaDirection::Inactive);
    assert!(matches!(
        peer.send_slides(
            Bytes::from_static(b"\x10\x02\x00"),
            Duration::from_millis(40)
        )
        .await,
        Err(PeerError::NotNegotiated(MediaKind::Slides))
    ));

    // Candidates are in the answer, on the port from the range.
    let port = peer.local_port();
    assert!((42_000..=42_999).contains(&port), "port {port}");
    assert!(
        sdp.contains(&format!("127.0.0.1 {port} typ host")),
        "host candidate on {port}: {sdp}"
    );
    peer.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox_offer_is_answered_with_video_both_ways() {
    let answered = timeout(WAIT, Peer::answer(FIREFOX_OFFER, PeerConfig::new(LOOPBACK)))
        .await
        .expect("answer within the time limit")
        .expect("answer");
    let sdp = &answered.sdp;
    let secs = sections(sdp);
    assert_eq!(secs.len(), 3, "three m-lines answered: {sdp}");
    let (audio_m, audio) = &secs[0];
    assert_eq!(audio_m.trim(), "m=audio 9 UDP/TLS/RTP/SAVPF 109", "{sdp}");
    assert!(audio.contains("a=sendrecv"), "{sdp}");
    let (video_m, video) = &secs[1];
    assert!(
        video_m.starts_with("m=video 9 UDP/TLS/RTP/SAVPF 120"),
        "main video accepted with Firefox's VP8 payload type: {sdp}"
    );
    assert!(video.contains("a=rtpmap:120 VP8/90000"), "{sdp}");
    assert!(video.contains("a=sendrecv"), "{sdp}");
    assert!(video.contains("a=content:main"), "{sdp}");
    for other in ["VP9", "AV1", "rtx", "red", "ulpfec"] {
        assert!(!video.contains(other), "{other} in answer: {sdp}");
    }
    let (_, slides) = &secs[2];
    assert!(slides.contains("a=inactive"), "{sdp}");
    assert!(slides.contains("a=content:slides"), "{sdp}");

    let peer = &answered.peer;
    assert_eq!(peer.direction(MediaKind::Video), MediaDirection::SendRecv);
    assert_eq!(peer.slides_direction(), MediaDirection::Inactive);
    peer.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chrome_offer_is_answered_with_h264_it_prefers_on_both_video_lines() {
    let answered = timeout(WAIT, Peer::answer(CHROME_OFFER, PeerConfig::new(LOOPBACK)))
        .await
        .expect("answer within the time limit")
        .expect("answer");
    let sdp = &answered.sdp;
    let secs = sections(sdp);
    for (i, (m, section)) in secs.iter().enumerate().skip(1) {
        assert_eq!(
            m.trim(),
            "m=video 9 UDP/TLS/RTP/SAVPF 102",
            "line {i}: {sdp}"
        );
        assert!(section.contains("a=rtpmap:102 H264/90000"), "{sdp}");
        assert!(section.contains("packetization-mode=1"), "{sdp}");
        assert!(section.contains("profile-level-id=42e01f"), "{sdp}");
        for fb in ["nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"] {
            assert!(
                section.contains(&format!("a=rtcp-fb:102 {fb}\r\n")),
                "{fb}: {sdp}"
            );
        }
        for other in ["VP8", "VP9", "AV1", "rtx", "red", "ulpfec"] {
            assert!(!section.contains(other), "{other} in answer: {sdp}");
        }
    }
    let peer = &answered.peer;
    assert_eq!(peer.video_codec(MediaKind::Video), Some(VideoCodec::H264));
    assert_eq!(peer.video_codec(MediaKind::Slides), Some(VideoCodec::H264));
    assert_eq!(peer.video_codec(MediaKind::Audio), None);
    assert_eq!(
        crate::engine::sdp::negotiated_streams(sdp).video_codec,
        VideoCodec::H264
    );
    peer.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_line_without_a_codec_we_support_is_rejected_and_audio_goes_on() {
    // VP9 only on both video lines (H.264 turned into H.265).
    let offer = CHROME_OFFER
        .replace("a=rtpmap:96 VP8/90000", "a=rtpmap:96 VP9/90000")
        .replace("a=rtpmap:102 H264/90000", "a=rtpmap:102 H265/90000");
    let answered = timeout(WAIT, Peer::answer(&offer, PeerConfig::new(LOOPBACK)))
        .await
        .expect("answer within the time limit")
        .expect("answer");
    let sdp = &answered.sdp;
    let secs = sections(sdp);
    assert_eq!(secs.len(), 3, "every m-line answered: {sdp}");
    assert!(secs[0].0.starts_with("m=audio 9 "), "{sdp}");
    assert!(secs[0].1.contains("a=sendrecv"), "{sdp}");
    for (m, _) in &secs[1..] {
        assert!(m.starts_with("m=video 0 "), "video rejected: {sdp}");
    }
    let peer = &answered.peer;
    assert_eq!(peer.direction(MediaKind::Audio), MediaDirection::SendRecv);
    assert_eq!(peer.direction(MediaKind::Video), MediaDirection::Inactive);
    assert_eq!(peer.video_codec(MediaKind::Video), None);
    let streams = crate::engine::sdp::negotiated_streams(sdp);
    assert!(streams.audio && !streams.video, "{streams:?}");
    peer.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_only_offer_is_answered_with_audio_only() {
    let answered = timeout(
        WAIT,
        Peer::answer(&chrome_offer_with(&[0]), PeerConfig::new(LOOPBACK)),
    )
    .await
    .expect("answer in time")
    .expect("answer");
    let secs = sections(&answered.sdp);
    assert_eq!(secs.len(), 1, "{}", answered.sdp);
    assert!(secs[0].0.starts_with("m=audio"), "{}", answered.sdp);
    assert!(
        answered.sdp.contains("a=group:BUNDLE 0"),
        "{}",
        answered.sdp
    );
    let peer = answered.peer;
    assert_eq!(peer.direction(MediaKind::Audio), MediaDirection::SendRecv);
    assert_eq!(peer.direction(MediaKind::Video), MediaDirection::Inactive);
    let frame = Bytes::from_static(b"\x10\x02\x00");
    assert!(matches!(
        peer.send_video(frame.clone(), Duration::from_millis(40))
            .await,
        Err(PeerError::NotNegotiated(MediaKind::Video))
    ));
    assert!(matches!(
        peer.send_slides(frame, Duration::from_millis(40)).await,
        Err(PeerError::NotNegotiated(MediaKind::Slides))
    ));
    peer.close().await.expect("close");

    // Audio plus the idle presentation line: the slides track sits on the only video line.
    let answered = timeout(
        WAIT,
        Peer::answer(&chrome_offer_with(&[0, 2]), PeerConfig::new(LOOPBACK)),
    )
    .await
    .expect("answer in time")
    .expect("answer");
    let secs = sections(&answered.sdp);
    assert_eq!(secs.len(), 2, "{}", answered.sdp);
    assert!(secs[1].1.contains("a=mid:2"), "{}", answered.sdp);
    assert!(secs[1].1.contains("a=content:slides"), "{}", answered.sdp);
    assert!(secs[1].1.contains("a=inactive"), "{}", answered.sdp);
    assert_eq!(
        answered.peer.direction(MediaKind::Video),
        MediaDirection::Inactive
    );
    assert_eq!(answered.peer.slides_direction(), MediaDirection::Inactive);
    answered.peer.close().await.expect("close");
}

/// A port nobody holds right now.
fn free_port() -> u16 {
    UdpSocket::bind((LOOPBACK, 0))
        .and_then(|s| s.local_addr())
        .expect("probe socket")
        .port()
}

/// Waits until `port` can be bound again (the peer that held it closed its socket).
async fn port_released(port: u16) {
    let addr = SocketAddr::new(LOOPBACK, port);
    timeout(WAIT, async {
        while UdpSocket::bind(addr).is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("port {port} still bound after a refused offer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_offers_are_errors_and_leave_nothing_behind() {
    let answer_as_offer = CHROME_OFFER.replace("a=setup:actpass", "a=setup:passive");
    let h264_pcmu = CHROME_OFFER
        .replace("a=rtpmap:111 opus/48000/2", "a=rtpmap:111 PCMU/8000")
        .replace("a=rtpmap:96 VP8/90000", "a=rtpmap:96 H264/90000")
        .replace("packetization-mode=1", "packetization-mode=0");
    let cut = CHROME_OFFER.len() / 3;
    let truncated = &CHROME_OFFER[..CHROME_OFFER.find("a=fingerprint").expect("fp").min(cut)];
    // Past our checks, refused by webrtc-rs: after the PeerConnection (and its socket)
    // exists.
    let bad_candidate = CHROME_OFFER.replace(
        "a=mid:0\r\n",
        "a=mid:0\r\na=candidate:1 1 udp notapriority 10.0.0.1 nope typ host\r\n",
    );
    let no_origin = CHROME_OFFER.replace("o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n", "");
    let cases: [(&str, &str); 7] = [
        ("empty", ""),
        ("garbage", "\u{1}\u{2}binary\u{ff}junk"),
        ("answer as offer", &answer_as_offer),
        ("h264 and pcmu only", &h264_pcmu),
        ("truncated", truncated),
        ("bad candidate", &bad_candidate),
        ("no origin line", &no_origin),
    ];
    for (name, offer) in cases {
        let port = free_port();
        let mut config = PeerConfig::new(LOOPBACK);
        config.port_range = (port, port);
        let result = timeout(WAIT, Peer::answer(offer, config))
            .await
            .unwrap_or_else(|_| panic!("{name}: answered in time"));
        match result {
            Ok(answered) => panic!("{name}: answered {}", answered.sdp),
            Err(e) => {
                let expected = match name {
                    "h264 and pcmu only" => matches!(e, PeerError::NoCommonCodec { .. }),
                    "bad candidate" | "no origin line" => matches!(e, PeerError::Webrtc { .. }),
                    _ => matches!(e, PeerError::InvalidOffer(_)),
                };
                assert!(expected, "{name}: unexpected error {e:?}");
            }
        }
        port_released(port).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_candidates_are_errors() {
    let answered = timeout(WAIT, Peer::answer(CHROME_OFFER, PeerConfig::new(LOOPBACK)))
        .await
        .expect("answer in time")
        .expect("answer");
    let peer = answered.peer;
    for candidate in [
        "garbage",
        "candidate:",
        "candidate:1 1 udp",
        "candidate:1 1 UDP 2122260223 999.1.1.1 54321 typ host",
        "candidate:1 1 UDP notanumber 192.0.2.1 54321 typ host",
        "candidate:1 1 UDP 2122260223 192.0.2.1 99999 typ host",
        "candidate:1 1 UDP 2122260223 192.0.2.1 54321 typ nonsense",
        "candidate:1 1 UDP 2122260223 192.0.2.1 54321 typ",
        "candidate:1 x UDP 1 192.0.2.1 1 typ host",
        "candidate:1 1 UDP 1 192.0.2.1 1",
        "candidate:1 1 UDP 1 2001:db8::zz 1 typ host",
    ] {
        let result = peer.add_remote_candidate(candidate, Some("0")).await;
        assert!(result.is_err(), "{candidate:?} accepted");
    }
    peer.add_remote_candidate(
        "candidate:842163049 1 udp 1677729535 192.0.2.7 61665 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag Wm3x network-cost 999",
        Some("0"),
    )
    .await
    .expect("a well-formed candidate");
    peer.add_remote_candidate("", Some("0"))
        .await
        .expect("end of candidates");
    peer.close().await.expect("close");
}

// === Loopback against a webrtc-rs "browser" ===

/// What the browser does with its presentation (`a=content:slides`) line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlidesSetup {
    /// No slides line at all.
    Absent,
    /// The SDK's idle line: inactive, with a track ready for presenting.
    Inactive,
    /// The browser presents.
    SendOnly,
    /// Someone else presents: the browser watches.
    RecvOnly,
}

/// The browser's handler: reports gathering, state, and each RTP packet it receives
/// (by our stream's kind, told from our track ids).
struct BrowserHandler {
    gathered: mpsc::UnboundedSender<()>,
    states: mpsc::UnboundedSender<RTCPeerConnectionState>,
    rtp: mpsc::UnboundedSender<(MediaKind, u16)>,
    tracks: mpsc::UnboundedSender<(MediaKind, Arc<dyn TrackRemote>)>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for BrowserHandler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(());
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.states.send(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let id = track.track_id().await;
        let kind = if id.contains("slides") {
            MediaKind::Slides
        } else if id.contains("video") {
            MediaKind::Video
        } else {
            MediaKind::Audio
        };
        let _ = self.tracks.send((kind, track.clone()));
        let rtp = self.rtp.clone();
        tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(packet) = event
                    && rtp.send((kind, packet.header.sequence_number)).is_err()
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

fn browser_track(
    kind: RtpCodecKind,
    name: &str,
    codec: RTCRtpCodec,
    ssrc: u32,
) -> Arc<TrackLocalStaticSample> {
    Arc::new(
        TrackLocalStaticSample::new(
            Instant::now(),
            MediaStreamTrack::new(
                "browser".to_owned(),
                format!("browser-{name}"),
                format!("browser-{name}"),
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

const B_AUDIO_SSRC: u32 = 0x0A0D_1000;
const B_VIDEO_SSRC: u32 = 0x0B1D_E000;
const B_SLIDES_SSRC: u32 = 0x051D_E500;

/// One of the browser's outgoing tracks.
#[derive(Clone)]
struct BrowserOut {
    track: Arc<TrackLocalStaticSample>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
}

impl BrowserOut {
    async fn payload_type(&self) -> u8 {
        self.sender
            .get_parameters()
            .await
            .expect("sender parameters")
            .rtp_parameters
            .codecs
            .first()
            .expect("a negotiated codec")
            .payload_type
    }

    /// Sends `frames` in a loop, one every `every`, until aborted.
    async fn stream(&self, frames: Vec<Bytes>, every: Duration) -> JoinHandle<()> {
        let (track, ssrc, pt) = (self.track.clone(), self.ssrc, self.payload_type().await);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            for frame in frames.iter().cycle() {
                tick.tick().await;
                let sample = Sample {
                    data: frame.clone(),
                    duration: every,
                    ..Sample::new(Instant::now())
                };
                if let Err(e) = track.sample_writer(ssrc, pt).write_sample(&sample).await {
                    tracing::debug!(error = %e, "browser write");
                }
            }
        })
    }
}

/// A plain webrtc-rs PeerConnection playing the SDK in Chrome: H.264 listed before VP8,
/// non-default payload types, `a=content` on every line.
struct Browser {
    pc: Arc<dyn PeerConnection>,
    gathered: mpsc::UnboundedReceiver<()>,
    states: mpsc::UnboundedReceiver<RTCPeerConnectionState>,
    rtp: mpsc::UnboundedReceiver<(MediaKind, u16)>,
    tracks: mpsc::UnboundedReceiver<(MediaKind, Arc<dyn TrackRemote>)>,
    audio: BrowserOut,
    video: BrowserOut,
    /// The presentation line's transceiver and (unless receive-only) its track.
    slides: Option<(Arc<dyn RtpTransceiver>, Option<BrowserOut>)>,
    offered: bool,
}

impl Browser {
    async fn new(slides: SlidesSetup) -> Browser {
        Browser::build(slides, false, false).await
    }

    /// `nack`: the browser NACKs what it misses and answers our NACKs, as Chrome does.
    /// `twcc`: it numbers its packets transport-wide, as Chrome does, and its tracks'
    /// `poll` yields every RTCP packet we send about them.
    async fn build(slides: SlidesSetup, nack: bool, twcc: bool) -> Browser {
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
        let (gathered_tx, gathered) = mpsc::unbounded_channel();
        let (states_tx, states) = mpsc::unbounded_channel();
        let (rtp_tx, rtp) = mpsc::unbounded_channel();
        let (tracks_tx, tracks) = mpsc::unbounded_channel();
        let mut registry = Registry::new();
        if nack {
            registry = configure_nack(registry, &mut engine);
        }
        if twcc {
            registry = configure_twcc_sender_only(registry, &mut engine)
                .expect("twcc sender")
                .with(Slot::from(14_000), DeliverAllRtcp::default());
        }
        let pc: Arc<dyn PeerConnection> = Arc::new(
            PeerConnectionBuilder::new()
                .with_media_engine(engine)
                .with_interceptor_registry(registry)
                .with_handler(Arc::new(BrowserHandler {
                    gathered: gathered_tx,
                    states: states_tx,
                    rtp: rtp_tx,
                    tracks: tracks_tx,
                }))
                .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
                .build()
                .await
                .expect("browser peer"),
        );
        let out = |kind, name, codec, ssrc| {
            let pc = pc.clone();
            async move {
                let track = browser_track(kind, name, codec, ssrc);
                let sender = pc
                    .add_track(track.clone() as Arc<dyn TrackLocal>)
                    .await
                    .expect("browser track added");
                BrowserOut {
                    track,
                    sender,
                    ssrc,
                }
            }
        };
        let audio = out(
            RtpCodecKind::Audio,
            "audio",
            codec(MIME_TYPE_OPUS, 48_000, 2, ""),
            B_AUDIO_SSRC,
        )
        .await;
        let video = out(
            RtpCodecKind::Video,
            "video",
            codec(MIME_TYPE_VP8, 90_000, 0, ""),
            B_VIDEO_SSRC,
        )
        .await;
        let init = |direction| RTCRtpTransceiverInit {
            direction,
            streams: vec![],
            send_encodings: vec![],
        };
        let slides = match slides {
            SlidesSetup::Absent => None,
            SlidesSetup::RecvOnly => {
                let transceiver = pc
                    .add_transceiver_from_kind(
                        RtpCodecKind::Video,
                        Some(init(RTCRtpTransceiverDirection::Recvonly)),
                    )
                    .await
                    .expect("browser slides transceiver");
                Some((transceiver, None))
            }
            SlidesSetup::Inactive | SlidesSetup::SendOnly => {
                let track = browser_track(
                    RtpCodecKind::Video,
                    "slides",
                    codec(MIME_TYPE_VP8, 90_000, 0, ""),
                    B_SLIDES_SSRC,
                );
                // Created sendrecv and then narrowed, as a webrtc-rs transceiver created
                // without receiving never gets a receiver (Chrome's always has one).
                let transceiver = pc
                    .add_transceiver_from_track(
                        track.clone() as Arc<dyn TrackLocal>,
                        Some(init(RTCRtpTransceiverDirection::Sendrecv)),
                    )
                    .await
                    .expect("browser slides transceiver");
                transceiver
                    .set_direction(if slides == SlidesSetup::Inactive {
                        RTCRtpTransceiverDirection::Inactive
                    } else {
                        RTCRtpTransceiverDirection::Sendonly
                    })
                    .await
                    .expect("slides direction");
                let sender = transceiver
                    .sender()
                    .await
                    .expect("slides sender")
                    .expect("slides has a sender");
                Some((
                    transceiver,
                    Some(BrowserOut {
                        track,
                        sender,
                        ssrc: B_SLIDES_SSRC,
                    }),
                ))
            }
        };
        Browser {
            pc,
            gathered,
            states,
            rtp,
            tracks,
            audio,
            video,
            slides,
            offered: false,
        }
    }

    /// The next offer, munged like the SDK's. Waits for gathering on the first offer and
    /// on an ICE restart (a new generation); later offers carry what was gathered.
    async fn offer(&mut self, ice_restart: bool) -> String {
        while self.gathered.try_recv().is_ok() {}
        let options = ice_restart.then_some(RTCOfferOptions { ice_restart: true });
        let offer = self.pc.create_offer(options).await.expect("offer");
        self.pc
            .set_local_description(offer)
            .await
            .expect("browser sld");
        if !self.offered || ice_restart {
            timeout(WAIT, self.gathered.recv())
                .await
                .expect("browser gathering completes");
        }
        self.offered = true;
        let sdp = self
            .pc
            .local_description()
            .await
            .expect("browser offer")
            .sdp;
        sdk_munge(&sdp)
    }

    async fn accept(&self, answer: &str) {
        self.pc
            .set_remote_description(
                RTCSessionDescription::answer(answer.to_owned()).expect("parse answer"),
            )
            .await
            .expect("browser srd");
    }

    async fn set_slides(&self, direction: RTCRtpTransceiverDirection) {
        let (transceiver, _) = self.slides.as_ref().expect("a slides line");
        transceiver
            .set_direction(direction)
            .await
            .expect("slides direction");
    }

    async fn connected(&mut self) {
        timeout(WAIT, async {
            while let Some(state) = self.states.recv().await {
                if state == RTCPeerConnectionState::Connected {
                    return;
                }
            }
            panic!("browser state channel ended");
        })
        .await
        .expect("browser connects");
    }

    /// Waits for `n` RTP packets of our `kind` stream.
    async fn receives(&mut self, kind: MediaKind, n: usize) {
        let mut got = 0;
        timeout(WAIT, async {
            while got < n {
                if self.rtp.recv().await.expect("browser rtp channel open").0 == kind {
                    got += 1;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("browser got {got} of {n} {kind} rtp packets"));
    }

    /// Our track of `kind` as the browser received it.
    async fn track(&mut self, kind: MediaKind) -> Arc<dyn TrackRemote> {
        timeout(WAIT, async {
            loop {
                let (k, track) = self.tracks.recv().await.expect("browser track channel");
                if k == kind {
                    return track;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("browser got no {kind} track"))
    }
}

/// Munges the offer as the Pexip SDK does: `a=content:main` on the first two lines and
/// `a=content:slides` on the third, and H.264 (pt 102) listed first on video (webrtc-rs
/// only offers its track's codec).
fn sdk_munge(sdp: &str) -> String {
    let mut out = String::new();
    let mut m_lines = 0;
    for line in sdp.lines() {
        if line.starts_with("m=") {
            m_lines += 1;
        }
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
            out.push_str(if m_lines == 3 {
                "a=content:slides\r\n"
            } else {
                "a=content:main\r\n"
            });
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

/// VP8 frames only, keyframes first in each group of 30.
fn vp8_frames(frames: usize) -> Vec<Bytes> {
    encode_media(frames, 0)
        .0
        .into_iter()
        .map(|(f, _)| f)
        .collect()
}

fn opus_packets(packets: usize) -> Vec<Bytes> {
    encode_media(0, packets).1
}

/// Waits for our peer's next event matching `wanted`.
async fn peer_event(
    events: &mut mpsc::UnboundedReceiver<PeerEvent>,
    what: &str,
    wanted: impl Fn(&PeerEvent) -> bool,
) -> PeerEvent {
    timeout(WAIT, async {
        while let Some(event) = events.recv().await {
            if wanted(&event) {
                return event;
            }
        }
        panic!("control channel ended before {what}");
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
}

/// Waits until our peer reported every one of `expected`, in any order.
async fn peer_events_all(
    events: &mut mpsc::UnboundedReceiver<PeerEvent>,
    mut expected: Vec<PeerEvent>,
) {
    timeout(WAIT, async {
        while !expected.is_empty() {
            let event = events.recv().await.expect("control channel open");
            expected.retain(|e| *e != event);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never reported {expected:?}"));
}

/// Waits for `n` media items of `kind` on our peer; returns them.
async fn peer_receives(
    media: &mut mpsc::Receiver<IncomingMedia>,
    kind: MediaKind,
    n: usize,
) -> Vec<IncomingMedia> {
    let mut got = Vec::with_capacity(n);
    timeout(WAIT, async {
        while got.len() < n {
            let item = media.recv().await.expect("media channel open");
            if item.kind == kind {
                got.push(item);
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("received {} of {n} {kind} items", got.len()));
    got
}

/// Sends `frames` of `kind` from our peer in a loop until aborted; the first send must
/// succeed.
async fn peer_stream(
    peer: &Arc<Peer>,
    kind: MediaKind,
    frames: Vec<Bytes>,
    every: Duration,
) -> JoinHandle<()> {
    let send = move |peer: Arc<Peer>, frame: Bytes| async move {
        match kind {
            MediaKind::Audio => peer.send_audio(frame, every).await,
            MediaKind::Video => peer.send_video(frame, every).await,
            MediaKind::Slides => peer.send_slides(frame, every).await,
        }
    };
    send(peer.clone(), frames[0].clone())
        .await
        .unwrap_or_else(|e| panic!("first {kind} send: {e}"));
    let peer = peer.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        for frame in frames.iter().cycle().skip(1) {
            tick.tick().await;
            if let Err(e) = send(peer.clone(), frame.clone()).await {
                tracing::debug!(error = %e, "peer send");
            }
        }
    })
}

/// Our side's config for calls with the in-process browser: pinned to VP8, because that
/// browser sends VP8 while its offer lists H.264 first (`sdk_munge`, as the Pexip SDK's).
fn vp8_config() -> PeerConfig {
    let mut config = PeerConfig::new(LOOPBACK);
    config.h264 = false;
    config
}

/// The browser offers, our peer answers, both connect.
async fn connect(browser: &mut Browser) -> (Arc<Peer>, PeerEvents, String) {
    let offer = browser.offer(false).await;
    let Answered {
        peer,
        sdp,
        mut events,
    } = timeout(WAIT, Peer::answer(&offer, vp8_config()))
        .await
        .expect("answer in time")
        .expect("answer");
    browser.accept(&sdp).await;
    browser.connected().await;
    peer_event(&mut events.control, "connected", |e| {
        *e == PeerEvent::StateChanged(PeerState::Connected)
    })
    .await;
    (Arc::new(peer), events, sdp)
}

/// The answer's section for `mid`.
fn answer_section(sdp: &str, mid: &str) -> String {
    media_sections(sdp)
        .find(|s| attribute(s, "a=mid:") == Some(mid))
        .unwrap_or_else(|| panic!("no mid {mid} in {sdp}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_media_flows_both_ways() {
    let (video_frames, audio_packets) = encode_media(150, 250);
    assert!(video_frames[0].1, "first frame is a keyframe");

    let mut browser = Browser::new(SlidesSetup::Absent).await;
    let offer = browser.offer(false).await;
    let h264_at = offer
        .find("H264/90000")
        .unwrap_or_else(|| panic!("offer lists H.264: {offer}"));
    let vp8_at = offer.find("VP8/90000").expect("offer lists VP8");
    assert!(h264_at < vp8_at, "H.264 before VP8 in the offer: {offer}");

    let Answered {
        peer,
        sdp: answer_sdp,
        mut events,
    } = timeout(WAIT, Peer::answer(&offer, vp8_config()))
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
    browser.accept(&answer_sdp).await;
    browser.connected().await;
    peer_event(&mut events.control, "connected", |e| {
        *e == PeerEvent::StateChanged(PeerState::Connected)
    })
    .await;

    assert_eq!(
        (
            browser.audio.payload_type().await,
            browser.video.payload_type().await
        ),
        (109, 100)
    );
    let frames: Vec<Bytes> = video_frames.iter().map(|(f, _)| f.clone()).collect();
    let streams = [
        browser
            .audio
            .stream(audio_packets.clone(), Duration::from_millis(20))
            .await,
        browser
            .video
            .stream(frames.clone(), Duration::from_millis(40))
            .await,
        peer_stream(
            &peer,
            MediaKind::Audio,
            audio_packets,
            Duration::from_millis(20),
        )
        .await,
        peer_stream(&peer, MediaKind::Video, frames, Duration::from_millis(40)).await,
    ];

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
                MediaKind::Slides => panic!("slides without a slides line"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!("received {audio_rx} audio, {video_rx} video, {keyframes} keyframes")
    });
    peer.request_keyframe(MediaKind::Video).await.expect("pli");
    peer.request_keyframe(MediaKind::Slides)
        .await
        .expect("no slides track: a no-op");

    // The browser receives our RTP.
    browser.receives(MediaKind::Audio, 40).await;
    browser.receives(MediaKind::Video, 20).await;

    for s in streams {
        s.abort();
    }
    peer.close().await.expect("close peer");
    browser.pc.close().await.expect("close browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_presenting_sends_us_slides() {
    let mut browser = Browser::new(SlidesSetup::SendOnly).await;
    let (peer, mut events, answer) = connect(&mut browser).await;
    let slides = answer_section(&answer, "2");
    assert!(slides.contains("a=recvonly"), "{answer}");
    assert!(slides.contains("a=content:slides"), "{answer}");
    assert!(
        answer_section(&answer, "1").contains("a=sendrecv"),
        "{answer}"
    );
    assert_eq!(peer.slides_direction(), MediaDirection::RecvOnly);
    assert!(matches!(
        peer.send_slides(
            Bytes::from_static(b"\x10\x02\x00"),
            Duration::from_millis(100)
        )
        .await,
        Err(PeerError::NotNegotiated(MediaKind::Slides))
    ));

    let frames = vp8_frames(30);
    let (_, out) = browser.slides.as_ref().expect("slides line");
    let sending = out
        .as_ref()
        .expect("slides track")
        .stream(frames, Duration::from_millis(100))
        .await;
    let received = peer_receives(&mut events.media, MediaKind::Slides, 3).await;
    assert!(
        received[0].keyframe,
        "the presentation starts on a keyframe"
    );
    let mut decoder = Decoder::new().expect("vp8 decoder");
    let mut picture = I420Frame::new(2, 2);
    assert!(
        decoder
            .decode(&received[0].payload, &mut picture)
            .expect("decode slides")
    );
    assert_eq!((picture.width(), picture.height()), (320, 240));
    peer.request_keyframe(MediaKind::Slides)
        .await
        .expect("pli for slides");

    sending.abort();
    peer.close().await.expect("close peer");
    browser.pc.close().await.expect("close browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_present_slides_to_a_watching_browser() {
    // The browser joins while someone else presents: its first offer watches.
    let mut browser = Browser::new(SlidesSetup::Inactive).await;
    browser
        .set_slides(RTCRtpTransceiverDirection::Recvonly)
        .await;
    let (peer, mut events, answer) = connect(&mut browser).await;
    let slides = answer_section(&answer, "2");
    assert!(slides.contains("a=sendonly"), "{answer}");
    assert!(slides.contains("a=content:slides"), "{answer}");
    assert!(slides.contains("msid:plenum-presentation"), "{answer}");
    assert_eq!(peer.slides_direction(), MediaDirection::SendOnly);

    let sending = peer_stream(
        &peer,
        MediaKind::Slides,
        vp8_frames(30),
        Duration::from_millis(100),
    )
    .await;
    browser.receives(MediaKind::Slides, 5).await;
    sending.abort();

    // Then it takes the floor itself, on the same line.
    let answer = renegotiate(&mut browser, &peer, RTCRtpTransceiverDirection::Sendonly).await;
    assert!(
        answer_section(&answer, "2").contains("a=recvonly"),
        "{answer}"
    );
    assert_eq!(peer.slides_direction(), MediaDirection::RecvOnly);
    let (_, out) = browser.slides.as_ref().expect("slides line");
    let theirs = out
        .as_ref()
        .expect("slides track")
        .stream(vp8_frames(30), Duration::from_millis(100))
        .await;
    peer_receives(&mut events.media, MediaKind::Slides, 3).await;

    theirs.abort();
    peer.close().await.expect("close peer");
    browser.pc.close().await.expect("close browser");
}

/// The browser re-offers with its presentation line in `direction`; returns our answer
/// after the browser applied it.
async fn renegotiate(
    browser: &mut Browser,
    peer: &Peer,
    direction: RTCRtpTransceiverDirection,
) -> String {
    browser.set_slides(direction).await;
    let offer = browser.offer(false).await;
    let answer = timeout(WAIT, peer.update(&offer))
        .await
        .expect("update in time")
        .expect("update");
    browser.accept(&answer).await;
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presentation_starts_and_stops_by_renegotiation() {
    let mut browser = Browser::new(SlidesSetup::Inactive).await;
    let (peer, mut events, answer) = connect(&mut browser).await;
    assert!(
        answer_section(&answer, "2").contains("a=inactive"),
        "{answer}"
    );
    assert_eq!(peer.slides_direction(), MediaDirection::Inactive);
    let ssrcs = |sdp: &str| -> Vec<String> {
        sdp.lines()
            .filter(|l| l.starts_with("a=ssrc:"))
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect()
    };
    let first_ssrcs = ssrcs(&answer);

    // Audio keeps flowing both ways throughout.
    let browser_audio = browser
        .audio
        .stream(opus_packets(50), Duration::from_millis(20))
        .await;
    let our_audio = peer_stream(
        &peer,
        MediaKind::Audio,
        opus_packets(50),
        Duration::from_millis(20),
    )
    .await;
    let (_, out) = browser.slides.as_ref().expect("slides line");
    let slides_out = out.clone().expect("slides track");
    let slides_frames = vp8_frames(30);

    // Refused re-offers leave the session as it was: garbage, one without VP8, and one
    // only webrtc-rs refuses (after it began applying it, so it is rolled back).
    assert!(matches!(
        peer.update("garbage").await,
        Err(PeerError::InvalidOffer(_))
    ));
    let offer = browser.offer(false).await;
    assert!(matches!(
        peer.update(&offer.replace(" VP8/90000", " VP9/90000"))
            .await,
        Err(PeerError::NoCommonCodec {
            kind: MediaKind::Video,
            ..
        })
    ));
    let bad_candidate = offer.replace(
        "a=mid:0\r\n",
        "a=mid:0\r\na=candidate:1 1 udp notapriority 10.0.0.1 nope typ host\r\n",
    );
    assert!(matches!(
        peer.update(&bad_candidate).await,
        Err(PeerError::Webrtc { .. })
    ));
    assert_eq!(peer.slides_direction(), MediaDirection::Inactive);

    for round in 0..2 {
        // The browser presents.
        let answer = renegotiate(&mut browser, &peer, RTCRtpTransceiverDirection::Sendonly).await;
        let slides = answer_section(&answer, "2");
        assert!(slides.contains("a=recvonly"), "round {round}: {answer}");
        assert!(
            slides.contains("a=content:slides"),
            "round {round}: {answer}"
        );
        assert!(
            answer_section(&answer, "0").contains("a=sendrecv"),
            "{answer}"
        );
        assert!(
            answer_section(&answer, "1").contains("a=sendrecv"),
            "{answer}"
        );
        assert_eq!(ssrcs(&answer), first_ssrcs, "our SSRCs stay: {answer}");
        assert_eq!(peer.slides_direction(), MediaDirection::RecvOnly);
        let sending = slides_out
            .stream(slides_frames.clone(), Duration::from_millis(100))
            .await;
        peer_receives(&mut events.media, MediaKind::Slides, 3).await;
        sending.abort();

        // It stops presenting.
        let answer = renegotiate(&mut browser, &peer, RTCRtpTransceiverDirection::Inactive).await;
        let slides = answer_section(&answer, "2");
        assert!(slides.contains("a=inactive"), "round {round}: {answer}");
        assert!(!slides.contains("m=video 0 "), "not rejected: {answer}");
        assert!(
            slides.contains("a=content:slides"),
            "round {round}: {answer}"
        );
        assert_eq!(peer.slides_direction(), MediaDirection::Inactive);
        assert!(matches!(
            peer.send_slides(slides_frames[0].clone(), Duration::from_millis(100))
                .await,
            Err(PeerError::NotNegotiated(MediaKind::Slides))
        ));
        peer_receives(&mut events.media, MediaKind::Audio, 10).await;
        browser.receives(MediaKind::Audio, 10).await;
    }

    // Someone else presents: the browser watches, we send.
    let answer = renegotiate(&mut browser, &peer, RTCRtpTransceiverDirection::Recvonly).await;
    assert!(
        answer_section(&answer, "2").contains("a=sendonly"),
        "{answer}"
    );
    assert_eq!(peer.slides_direction(), MediaDirection::SendOnly);
    let ours = peer_stream(
        &peer,
        MediaKind::Slides,
        slides_frames,
        Duration::from_millis(100),
    )
    .await;
    browser.receives(MediaKind::Slides, 5).await;

    for task in [browser_audio, our_audio, ours] {
        task.abort();
    }
    peer.close().await.expect("close peer");
    browser.pc.close().await.expect("close browser");
}

/// The `a=ice-ufrag` of an SDP.
fn ice_ufrag(sdp: &str) -> String {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .unwrap_or_else(|| panic!("no ice-ufrag in {sdp}"))
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_restart_reconnects_and_media_flows_again() {
    let mut browser = Browser::new(SlidesSetup::Inactive).await;
    let (peer, mut events, first_answer) = connect(&mut browser).await;
    let browser_audio = browser
        .audio
        .stream(opus_packets(50), Duration::from_millis(20))
        .await;
    let our_audio = peer_stream(
        &peer,
        MediaKind::Audio,
        opus_packets(50),
        Duration::from_millis(20),
    )
    .await;
    peer_receives(&mut events.media, MediaKind::Audio, 5).await;

    let offer = browser.offer(true).await;
    let answer = timeout(WAIT, peer.update(&offer))
        .await
        .expect("update in time")
        .expect("ice restart answered");
    assert_ne!(
        ice_ufrag(&answer),
        ice_ufrag(&first_answer),
        "fresh credentials"
    );
    assert!(
        answer.contains("typ host"),
        "new candidates in the answer: {answer}"
    );
    assert!(
        answer_section(&answer, "2").contains("a=inactive"),
        "{answer}"
    );
    assert!(
        answer_section(&answer, "2").contains("a=content:slides"),
        "{answer}"
    );
    browser.accept(&answer).await;

    let mut states = Vec::new();
    let reconnected = timeout(WAIT, async {
        while let Some(event) = events.control.recv().await {
            if let PeerEvent::StateChanged(state) = event {
                states.push(state);
                if state == PeerState::Connected {
                    return;
                }
            }
        }
    })
    .await;
    // webrtc-rs goes back to connecting with the new credentials, then connects again.
    assert!(
        reconnected.is_ok(),
        "connected again after the restart: {states:?}"
    );
    assert_eq!(states.first(), Some(&PeerState::Connecting), "{states:?}");
    // Media flows after the restart, both ways.
    while events.media.try_recv().is_ok() {}
    peer_receives(&mut events.media, MediaKind::Audio, 25).await;
    while browser.rtp.try_recv().is_ok() {}
    browser.receives(MediaKind::Audio, 25).await;

    browser_audio.abort();
    our_audio.abort();
    peer.close().await.expect("close peer");
    browser.pc.close().await.expect("close browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_rtcp_feedback_becomes_events() {
    let mut browser = Browser::new(SlidesSetup::RecvOnly).await;
    let (peer, mut events, _) = connect(&mut browser).await;
    let video = peer_stream(
        &peer,
        MediaKind::Video,
        vp8_frames(30),
        Duration::from_millis(40),
    )
    .await;
    let slides = peer_stream(
        &peer,
        MediaKind::Slides,
        vp8_frames(30),
        Duration::from_millis(100),
    )
    .await;
    let video_track = browser.track(MediaKind::Video).await;
    let slides_track = browser.track(MediaKind::Slides).await;
    let video_ssrc = *video_track.ssrcs().await.first().expect("video ssrc");
    let slides_ssrc = *slides_track.ssrcs().await.first().expect("slides ssrc");

    // A PLI, a REMB naming both streams and a receiver report, in one compound.
    video_track
        .write_rtcp(vec![
            Box::new(PictureLossIndication {
                sender_ssrc: B_VIDEO_SSRC,
                media_ssrc: video_ssrc,
            }),
            Box::new(ReceiverEstimatedMaximumBitrate {
                sender_ssrc: B_VIDEO_SSRC,
                bitrate: 750_000.0,
                ssrcs: vec![video_ssrc, slides_ssrc],
            }),
            Box::new(ReceiverReport {
                ssrc: B_VIDEO_SSRC,
                reports: vec![ReceptionReport {
                    ssrc: video_ssrc,
                    fraction_lost: 64,
                    ..Default::default()
                }],
                ..Default::default()
            }),
        ])
        .await
        .expect("browser rtcp");
    peer_events_all(
        &mut events.control,
        vec![
            PeerEvent::KeyframeRequested {
                kind: MediaKind::Video,
            },
            PeerEvent::ReceiverEstimate {
                kind: MediaKind::Video,
                bitrate_bps: 750_000,
            },
            PeerEvent::ReceiverEstimate {
                kind: MediaKind::Slides,
                bitrate_bps: 750_000,
            },
            PeerEvent::ReceiverLoss {
                kind: MediaKind::Video,
                fraction_lost: 64,
            },
        ],
    )
    .await;

    // Chrome's compounds lead with a receiver report, often empty; the PLI behind it
    // still counts. This one asks for a presentation keyframe.
    slides_track
        .write_rtcp(vec![
            Box::new(ReceiverReport {
                ssrc: B_VIDEO_SSRC,
                ..Default::default()
            }),
            Box::new(PictureLossIndication {
                sender_ssrc: B_VIDEO_SSRC,
                media_ssrc: slides_ssrc,
            }),
        ])
        .await
        .expect("browser rtcp");
    peer_event(&mut events.control, "slides keyframe request", |e| {
        *e == PeerEvent::KeyframeRequested {
            kind: MediaKind::Slides,
        }
    })
    .await;

    video.abort();
    slides.abort();
    peer.close().await.expect("close peer");
    browser.pc.close().await.expect("close browser");
}

/// Relays UDP between the browser and our peer, dropping every 10th VP8 packet (payload
/// type 100) each way between the 20th and the 120th, as a lossy path would. Returns its
/// port.
async fn lossy_relay(peer_port: u16) -> (u16, JoinHandle<()>) {
    let relay = TokioUdpSocket::bind((LOOPBACK, 0))
        .await
        .expect("relay socket");
    let port = relay.local_addr().expect("relay addr").port();
    let peer = SocketAddr::new(LOOPBACK, peer_port);
    let task = tokio::spawn(async move {
        let mut browser: Option<SocketAddr> = None;
        let mut buf = vec![0u8; 2048];
        let (mut to_browser, mut to_peer) = (0u32, 0u32);
        loop {
            let Ok((len, from)) = relay.recv_from(&mut buf).await else {
                return;
            };
            let packet = &buf[..len];
            // SRTP keeps the RTP header in the clear: version 2, payload type 100.
            let vp8 = len > 12 && packet[0] >> 6 == 2 && packet[1] & 0x7f == 100;
            let (to, count) = if from == peer {
                let Some(browser) = browser else { continue };
                (browser, &mut to_browser)
            } else {
                browser = Some(from);
                (peer, &mut to_peer)
            };
            if vp8 {
                *count += 1;
                if (20..120).contains(count) && *count % 10 == 0 {
                    continue;
                }
            }
            let _ = relay.send_to(packet, to).await;
        }
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nacks_recover_lost_video_both_ways() {
    let nacks_before = crate::stats::MEDIA_STATS.snapshot();
    let mut browser = Browser::build(SlidesSetup::Absent, true, false).await;
    let offer = browser.offer(false).await;
    // Only the relay's address reaches either side: the browser's candidates are dropped
    // (our peer learns it from its checks through the relay), ours point at the relay.
    let offer: String = offer
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("a=candidate:"))
        .collect();
    let Answered {
        peer,
        sdp,
        mut events,
    } = timeout(WAIT, Peer::answer(&offer, vp8_config()))
        .await
        .expect("answer in time")
        .expect("answer");
    let peer = Arc::new(peer);
    let (relay_port, relay) = lossy_relay(peer.local_port()).await;
    let sdp = sdp.replace(
        &format!("127.0.0.1 {} typ host", peer.local_port()),
        &format!("127.0.0.1 {relay_port} typ host"),
    );
    assert!(sdp.contains(&format!(" {relay_port} typ host")), "{sdp}");
    assert!(sdp.contains("a=rtcp-fb:100 nack\r\n"), "{sdp}");
    browser.accept(&sdp).await;
    browser.connected().await;
    peer_event(&mut events.control, "connected", |e| {
        *e == PeerEvent::StateChanged(PeerState::Connected)
    })
    .await;

    let frames = vp8_frames(200);
    let ours = peer_stream(
        &peer,
        MediaKind::Video,
        frames.clone(),
        Duration::from_millis(20),
    )
    .await;
    let theirs = browser
        .video
        .stream(frames, Duration::from_millis(20))
        .await;

    // The browser gets every one of our first 150 packets: the relay dropped 10, our
    // NACK responder resent them.
    let mut seen = std::collections::BTreeSet::new();
    let mut first = None;
    timeout(WAIT, async {
        loop {
            let (kind, seq) = browser.rtp.recv().await.expect("browser rtp channel");
            if kind != MediaKind::Video {
                continue;
            }
            let first = *first.get_or_insert(seq);
            let offset = seq.wrapping_sub(first);
            if offset < 150 {
                seen.insert(offset);
            }
            if seen.len() == 150 {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        let missing: Vec<u16> = (0..150).filter(|o| !seen.contains(o)).collect();
        panic!("browser never got packets {missing:?} (offsets from the first)")
    });

    // We get every one of the browser's first 150 frames: our NACKs got the 10 the relay
    // dropped resent.
    let mut timestamps = std::collections::BTreeSet::new();
    let mut first = None;
    timeout(WAIT, async {
        while timestamps.len() < 150 {
            let item = events.media.recv().await.expect("media channel");
            if item.kind != MediaKind::Video {
                continue;
            }
            let first = *first.get_or_insert(item.rtp_timestamp);
            let frame = item.rtp_timestamp.wrapping_sub(first) / 1800;
            if frame < 150 {
                timestamps.insert(frame);
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        let missing: Vec<u32> = (0..150).filter(|f| !timestamps.contains(f)).collect();
        panic!("we never got frames {missing:?}")
    });
    // Both ways of NACK were counted for /metrics (the counters are process-wide, so only
    // "more than before" holds with other tests running).
    let after = crate::stats::MEDIA_STATS.snapshot();
    assert!(after.nacked_packets_sent > nacks_before.nacked_packets_sent);
    assert!(after.nacked_packets_received > nacks_before.nacked_packets_received);

    ours.abort();
    theirs.abort();
    relay.abort();
    peer.close().await.expect("close peer");
    browser.pc.close().await.expect("close browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_peer_releases_its_port() {
    let port = free_port();
    let mut config = PeerConfig::new(LOOPBACK);
    config.port_range = (port, port);
    let answered = timeout(WAIT, Peer::answer(CHROME_OFFER, config))
        .await
        .expect("answer in time")
        .expect("answer");
    assert_eq!(answered.peer.local_port(), port);
    assert!(
        UdpSocket::bind((LOOPBACK, port)).is_err(),
        "the peer holds its port"
    );
    drop(answered);
    port_released(port).await;
}

/// Hands the browser's application every inbound RTCP packet (webrtc-rs ends inbound RTCP
/// at the end of the chain unless an interceptor marks it).
#[derive(Default)]
struct DeliverAllRtcp {
    read: std::collections::VecDeque<TaggedPacket>,
    write: std::collections::VecDeque<TaggedPacket>,
}

impl rtc::sansio::Protocol<TaggedPacket, TaggedPacket, ()> for DeliverAllRtcp {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = webrtc::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if matches!(msg.message.packet, Packet::Rtcp(_)) {
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for DeliverAllRtcp {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_gets_transport_wide_feedback_for_what_it_sends() {
    let mut browser = Browser::build(SlidesSetup::Absent, false, true).await;
    let (peer, _events, answer) = connect(&mut browser).await;
    assert!(answer.contains("a=rtcp-fb:100 transport-cc"), "{answer}");
    assert!(
        answer.contains("transport-wide-cc-extensions-01"),
        "{answer}"
    );
    let (feedback_tx, mut feedback) = mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for out in [browser.audio.clone(), browser.video.clone()] {
        let feedback_tx = feedback_tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(event) = out.track.poll().await {
                if let TrackLocalEvent::OnRtcpPacket(packets) = event
                    && packets.iter().any(|p| p.as_any().is::<TransportLayerCc>())
                    && feedback_tx.send(()).is_err()
                {
                    return;
                }
            }
        }));
    }
    tasks.push(
        browser
            .audio
            .stream(opus_packets(50), Duration::from_millis(20))
            .await,
    );
    tasks.push(
        browser
            .video
            .stream(vp8_frames(30), Duration::from_millis(40))
            .await,
    );
    timeout(WAIT, feedback.recv())
        .await
        .expect("transport-wide feedback from our peer")
        .expect("feedback channel");
    for task in tasks {
        task.abort();
    }
    peer.close().await.expect("close peer");
    browser.pc.close().await.expect("close browser");
}

#[test]
fn a_peer_is_shared_across_tasks() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<Peer>();
    send_sync::<Arc<Peer>>();
    // The engine drives these from spawned tasks: their futures must be `Send`.
    #[allow(dead_code)]
    fn futures(peer: &Peer) {
        let frame = Bytes::new();
        let d = Duration::from_millis(20);
        send(&peer.send_audio(frame.clone(), d));
        send(&peer.send_video(frame.clone(), d));
        send(&peer.send_slides(frame, d));
        send(&peer.update(""));
        send(&peer.add_remote_candidate("", None));
        send(&peer.request_keyframe(MediaKind::Video));
        send(&peer.close());
        send(&Peer::answer("", PeerConfig::new(LOOPBACK)));
    }
}

#[test]
fn malformed_h264_aggregation_packets_are_dropped_before_the_depacketizer() {
    use super::webrtc_rs::h264_payload_is_sane;
    use rtc::rtp::codec::h264::H264Packet;
    use rtc::rtp::packetizer::Depacketizer;

    // A STAP-A with a dangling byte after its last NAL unit: rtc 0.21.1 panics on it.
    assert!(!h264_payload_is_sane(&[24, 0, 1, 0x09, 0x00]));
    // A size running past the end, and a zero size.
    assert!(!h264_payload_is_sane(&[24, 0, 9, 0x67, 0x42]));
    assert!(!h264_payload_is_sane(&[24, 0, 0]));
    // Whole aggregation packets, single NAL units, FU-A and nothing pass.
    assert!(h264_payload_is_sane(&[24, 0, 2, 0x67, 0x42, 0, 1, 0x68]));
    assert!(h264_payload_is_sane(&[0x65, 0x88, 0x84]));
    assert!(h264_payload_is_sane(&[28, 0x85, 0x88]));
    assert!(h264_payload_is_sane(&[]));

    // Whatever passes the check, the depacketizer takes without panicking.
    let mut rng = rand::rngs::StdRng::seed_from_u64(6184);
    let mut depacketizer = H264Packet::default();
    let mut passed = 0;
    for _ in 0..20_000 {
        let len = rng.gen_range(0..24);
        let mut payload: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
        if let Some(first) = payload.first_mut()
            && rng.gen_bool(0.5)
        {
            *first = (*first & 0xe0) | 24;
        }
        if h264_payload_is_sane(&payload) {
            passed += 1;
            let _ = depacketizer.depacketize(&Bytes::from(payload));
        }
    }
    assert!(passed > 5_000, "the check passed only {passed} payloads");
}

/// Fuzz target `sdp_offer`: any text, mostly Chrome's and Firefox's offers mutated, is
/// either read into an offer or refused with a reason; never a panic. (A short run in
/// every `cargo test`; `scripts/fuzz.sh` runs it for longer.)
#[test]
fn fuzz_sdp_offer_parser() {
    plenum_fuzz::fuzz(
        "sdp_offer",
        (
            plenum_fuzz::text_input(&[CHROME_OFFER, FIREFOX_OFFER]),
            proptest::bool::ANY,
        ),
        |(sdp, h264)| {
            match Offer::parse(&sdp, h264) {
                Ok(offer) => {
                    proptest::prop_assert!(!offer.media.is_empty(), "an offer without media");
                }
                Err(PeerError::InvalidOffer(reason)) => {
                    proptest::prop_assert!(!reason.is_empty(), "a refusal names its reason");
                }
                Err(_) => {}
            }
            Ok(())
        },
    );
}

/// `public_ips` (NAT 1:1): the answer's candidates carry the public address, not only the
/// bound one, so a browser outside the NAT can reach the node.
#[tokio::test]
async fn public_ips_are_the_addresses_the_answer_advertises() {
    let public: IpAddr = "203.0.113.7".parse().expect("ip");
    let mut config = PeerConfig::new(LOOPBACK);
    config.public_ips = vec![public];
    let answered = timeout(WAIT, Peer::answer(CHROME_OFFER, config))
        .await
        .expect("answer in time")
        .expect("answer");
    let candidates: Vec<&str> = answered
        .sdp
        .lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .collect();
    assert!(
        candidates.iter().any(|c| c.contains(" 203.0.113.7 ")),
        "no candidate with the public address: {candidates:#?}"
    );
    answered.peer.close().await.expect("close");
}

#[test]
fn host_candidates_are_advertised_with_each_public_address() {
    let host = "candidate:2693830880 1 udp 2130706431 10.0.0.5 43545 typ host";
    let public: Vec<IpAddr> = vec![
        "203.0.113.7".parse().unwrap(),
        "2001:db8::7".parse().unwrap(),
    ];
    assert_eq!(
        super::webrtc_rs::advertised_candidates(host, &public),
        [
            "candidate:2693830880 1 udp 2130706431 203.0.113.7 43545 typ host",
            "candidate:26938308801 1 udp 2130706431 2001:db8::7 43545 typ host",
        ]
    );
    assert_eq!(super::webrtc_rs::advertised_candidates(host, &[]), [host]);
    let srflx = "candidate:1 1 udp 1 198.51.100.1 5000 typ srflx raddr 10.0.0.5 rport 43545";
    assert_eq!(
        super::webrtc_rs::advertised_candidates(srflx, &public),
        [srflx]
    );
    let sdp = format!("v=0\r\na=mid:0\r\na={host}\r\na=end-of-candidates\r\n");
    let advertised = super::webrtc_rs::advertised_sdp(&sdp, &public[..1]);
    assert_eq!(
        advertised,
        "v=0\r\na=mid:0\r\na=candidate:2693830880 1 udp 2130706431 203.0.113.7 43545 typ host\r\na=end-of-candidates\r\n"
    );
}
