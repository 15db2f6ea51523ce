//! Reading an SDP answer for what a call carries: audio, main video, which way the
//! presentation (`a=content:slides`) flows, and each video line's codec.

use super::room::Streams;
use crate::video::VideoCodec;

/// The direction of one m-line from our side (the answer's `a=` direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

/// What our answer negotiated. A rejected m-line (port 0) or an inactive one carries
/// nothing; the slides m-line is `sendonly` when we send the presentation and
/// `recvonly` when the browser presents.
pub fn negotiated_streams(answer: &str) -> Streams {
    let mut streams = Streams::default();
    for section in sections(answer) {
        let mut lines = section.lines().map(str::trim);
        let Some(m) = lines.next().and_then(|l| l.strip_prefix("m=")) else {
            continue;
        };
        let mut fields = m.split_whitespace();
        let kind = fields.next().unwrap_or("");
        let rejected =
            fields.next() == Some("0") && !section.lines().any(|l| l.trim() == "a=bundle-only");
        // The first payload type of the m-line is the one sent; its rtpmap names it.
        let first_pt = fields.nth(1).unwrap_or("");
        let codec = codec_of(section, first_pt);
        let mut direction = Direction::SendRecv;
        let mut slides = false;
        for line in section.lines().map(str::trim) {
            match line {
                "a=sendrecv" => direction = Direction::SendRecv,
                "a=sendonly" => direction = Direction::SendOnly,
                "a=recvonly" => direction = Direction::RecvOnly,
                "a=inactive" => direction = Direction::Inactive,
                "a=content:slides" => slides = true,
                _ => {}
            }
        }
        if rejected || direction == Direction::Inactive {
            continue;
        }
        match (kind, slides) {
            ("audio", _) => streams.audio = true,
            ("video", false) => {
                streams.video = true;
                streams.video_codec = codec;
            }
            ("video", true) => {
                streams.slides_codec = codec;
                streams.slides_out |=
                    matches!(direction, Direction::SendOnly | Direction::SendRecv);
                streams.slides_in |= matches!(direction, Direction::RecvOnly | Direction::SendRecv);
            }
            _ => {}
        }
    }
    streams
}

/// The video codec payload type `pt` names in `section` (VP8 unless it is H.264).
fn codec_of(section: &str, pt: &str) -> VideoCodec {
    let prefix = format!("a=rtpmap:{pt} ");
    let name = section
        .lines()
        .find_map(|l| l.trim().strip_prefix(prefix.as_str()))
        .and_then(|codec| codec.split('/').next())
        .unwrap_or("");
    if name.eq_ignore_ascii_case("h264") {
        VideoCodec::H264
    } else {
        VideoCodec::Vp8
    }
}

/// Each media section's text, from its `m=` line to the next.
fn sections(sdp: &str) -> impl Iterator<Item = &str> {
    let mut starts: Vec<usize> = sdp.match_indices("m=").map(|(i, _)| i).collect();
    starts.retain(|&i| i == 0 || sdp.as_bytes()[i - 1] == b'\n');
    let ends: Vec<usize> = starts.iter().skip(1).copied().chain([sdp.len()]).collect();
    starts.into_iter().zip(ends).map(move |(s, e)| &sdp[s..e])
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
        a=group:BUNDLE 0 1 2\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendrecv\r\na=content:main\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=sendrecv\r\na=content:main\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=inactive\r\na=content:slides\r\n";

    #[test]
    fn a_video_call_with_idle_slides() {
        let s = negotiated_streams(ANSWER);
        assert_eq!(
            s,
            Streams {
                audio: true,
                video: true,
                slides_in: false,
                slides_out: false,
                video_codec: VideoCodec::Vp8,
                slides_codec: VideoCodec::Vp8,
            }
        );
    }

    #[test]
    fn slides_direction_is_ours() {
        let sending = ANSWER.replace("a=inactive", "a=sendonly");
        let s = negotiated_streams(&sending);
        assert!(s.slides_out && !s.slides_in);
        let receiving = ANSWER.replace("a=inactive", "a=recvonly");
        let s = negotiated_streams(&receiving);
        assert!(s.slides_in && !s.slides_out);
    }

    #[test]
    fn audio_only_and_rejected_lines() {
        let audio_only = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n";
        let s = negotiated_streams(audio_only);
        assert!(s.audio && !s.video);
        let rejected = "v=0\r\nm=audio 9 x 111\r\na=sendrecv\r\nm=video 0 x 96\r\na=inactive\r\n";
        assert!(!negotiated_streams(rejected).video);
        assert_eq!(negotiated_streams("garbage"), Streams::default());
    }

    #[test]
    fn each_video_line_reports_its_codec() {
        let h264 = ANSWER
            .replace(
                "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1",
                "m=video 9 UDP/TLS/RTP/SAVPF 108\r\na=rtpmap:108 H264/90000\r\na=mid:1",
            )
            .replace(
                "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=inactive",
                "m=video 9 UDP/TLS/RTP/SAVPF 120\r\na=rtpmap:120 VP8/90000\r\na=mid:2\r\na=sendonly",
            );
        let s = negotiated_streams(&h264);
        assert_eq!(s.video_codec, VideoCodec::H264);
        assert_eq!(s.slides_codec, VideoCodec::Vp8);
        assert!(s.slides_out);
    }
}
