//! The video codecs a call can negotiate (VP8, H.264) behind one encoder and one decoder
//! type, so the engine holds either without caring which.

use std::fmt;

use super::frame::I420Frame;
use super::{EncodedFrame, H264Error, VpxError};
use super::{h264, vpx};
use crate::stats::MEDIA_STATS;

/// A video codec of a call (what one m-line negotiated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum VideoCodec {
    /// VP8 (RFC 7741).
    #[default]
    Vp8,
    /// H.264 Constrained Baseline, packetization mode 1 (RFC 6184).
    H264,
}

impl VideoCodec {
    /// Both codecs, in the order the node prefers when the offer has no preference.
    pub const ALL: [VideoCodec; 2] = [VideoCodec::Vp8, VideoCodec::H264];

    /// The SDP encoding name (`a=rtpmap:<pt> <name>/90000`).
    pub fn sdp_name(self) -> &'static str {
        match self {
            VideoCodec::Vp8 => "VP8",
            VideoCodec::H264 => "H264",
        }
    }

    /// A dense index for per-codec arrays.
    pub fn index(self) -> usize {
        match self {
            VideoCodec::Vp8 => 0,
            VideoCodec::H264 => 1,
        }
    }

    /// Whether `frame` (one whole frame in this codec's format) starts a picture that
    /// needs nothing before it: a VP8 keyframe, or an H.264 access unit with an IDR slice.
    pub fn is_keyframe(self, frame: &[u8]) -> bool {
        match self {
            // VP8 frame tag (RFC 6386 §9.1): bit 0 of the first byte is 0 on a keyframe.
            VideoCodec::Vp8 => frame.first().is_some_and(|b| b & 0x01 == 0),
            VideoCodec::H264 => annexb_nal_types(frame).any(|t| t == 5),
        }
    }
}

impl fmt::Display for VideoCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sdp_name())
    }
}

/// The NAL unit types of an Annex B byte stream (after each `00 00 01` start code).
fn annexb_nal_types(stream: &[u8]) -> impl Iterator<Item = u8> + '_ {
    stream
        .windows(4)
        .filter(|w| w[0] == 0 && w[1] == 0 && w[2] == 1)
        .map(|w| w[3] & 0x1f)
}

/// A codec failure of either codec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VideoError {
    #[error("vp8: {0}")]
    Vp8(#[from] VpxError),
    #[error("h264: {0}")]
    H264(#[from] H264Error),
}

/// What the engine asks of an encoder, whichever the codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoEncoderConfig {
    pub codec: VideoCodec,
    pub width: u32,
    pub height: u32,
    /// Nominal frame rate.
    pub fps: u32,
    pub target_kbps: u32,
    /// Frames between periodic keyframes (VP8; H.264 makes them on demand only).
    pub keyframe_interval: u32,
}

/// An encoder of either codec; `pts` is in 90 kHz units.
#[derive(Debug)]
pub enum VideoEncoder {
    Vp8 {
        /// Boxed: libvpx's context is far larger than the H.264 variant.
        encoder: Box<vpx::Encoder>,
        out: EncodedFrame,
    },
    H264(h264::Encoder),
}

impl Drop for VideoEncoder {
    fn drop(&mut self) {
        MEDIA_STATS.encoder_stopped();
    }
}

impl VideoEncoder {
    pub fn new(config: VideoEncoderConfig) -> Result<VideoEncoder, VideoError> {
        let encoder = VideoEncoder::open(config)?;
        MEDIA_STATS.encoder_started();
        Ok(encoder)
    }

    fn open(config: VideoEncoderConfig) -> Result<VideoEncoder, VideoError> {
        Ok(match config.codec {
            VideoCodec::Vp8 => {
                let mut c =
                    vpx::EncoderConfig::new(config.width, config.height, config.target_kbps);
                c.fps = config.fps;
                c.keyframe_max_distance = config.keyframe_interval;
                VideoEncoder::Vp8 {
                    encoder: Box::new(vpx::Encoder::new(c)?),
                    out: EncodedFrame::default(),
                }
            }
            VideoCodec::H264 => {
                let mut c =
                    h264::EncoderConfig::new(config.width, config.height, config.target_kbps);
                c.fps = config.fps;
                VideoEncoder::H264(h264::Encoder::new(c)?)
            }
        })
    }

    pub fn codec(&self) -> VideoCodec {
        match self {
            VideoEncoder::Vp8 { .. } => VideoCodec::Vp8,
            VideoEncoder::H264(_) => VideoCodec::H264,
        }
    }

    /// The bitrate the encoder aims at now, kbps.
    pub fn target_kbps(&self) -> u32 {
        match self {
            VideoEncoder::Vp8 { encoder, .. } => encoder.config().target_kbps,
            VideoEncoder::H264(encoder) => encoder.config().target_kbps,
        }
    }

    pub fn set_bitrate_kbps(&mut self, kbps: u32) -> Result<(), VideoError> {
        match self {
            VideoEncoder::Vp8 { encoder, .. } => encoder.set_bitrate_kbps(kbps)?,
            VideoEncoder::H264(encoder) => encoder.set_bitrate_kbps(kbps)?,
        }
        Ok(())
    }

    /// Encodes one frame; the result borrows a buffer the encoder reuses next time.
    /// `None` when the encoder produced nothing for this frame.
    pub fn encode(
        &mut self,
        frame: &I420Frame,
        pts: i64,
        force_keyframe: bool,
    ) -> Result<Option<&EncodedFrame>, VideoError> {
        match self {
            VideoEncoder::Vp8 { encoder, out } => {
                let produced = encoder.encode(frame, pts, force_keyframe, out)?;
                Ok(produced.then_some(&*out))
            }
            VideoEncoder::H264(encoder) => Ok(encoder.encode(frame, pts, force_keyframe)?),
        }
    }
}

/// A decoder of either codec.
#[derive(Debug)]
pub enum VideoDecoder {
    Vp8(vpx::Decoder),
    H264(h264::Decoder),
}

impl VideoDecoder {
    pub fn new(codec: VideoCodec) -> Result<VideoDecoder, VideoError> {
        Ok(match codec {
            VideoCodec::Vp8 => VideoDecoder::Vp8(vpx::Decoder::new()?),
            VideoCodec::H264 => VideoDecoder::H264(h264::Decoder::new()?),
        })
    }

    pub fn codec(&self) -> VideoCodec {
        match self {
            VideoDecoder::Vp8(_) => VideoCodec::Vp8,
            VideoDecoder::H264(_) => VideoCodec::H264,
        }
    }

    /// Decodes one whole frame into `out` (resized to the stream); `true` when a picture
    /// came out.
    pub fn decode(&mut self, data: &[u8], out: &mut I420Frame) -> Result<bool, VideoError> {
        Ok(match self {
            VideoDecoder::Vp8(decoder) => decoder.decode(data, out)?,
            VideoDecoder::H264(decoder) => decoder.decode(data, out)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::Rgb;

    #[test]
    fn either_codec_round_trips_a_picture_and_marks_its_keyframes() {
        let red = I420Frame::solid_rgb(320, 180, Rgb::new(220, 20, 20));
        for codec in VideoCodec::ALL {
            let mut encoder = VideoEncoder::new(VideoEncoderConfig {
                codec,
                width: 320,
                height: 180,
                fps: 25,
                target_kbps: 300,
                keyframe_interval: 250,
            })
            .expect("encoder");
            assert_eq!(encoder.codec(), codec);
            let mut decoder = VideoDecoder::new(codec).expect("decoder");
            let mut picture = I420Frame::default();
            for i in 0..5 {
                let frame = encoder
                    .encode(&red, i * 3600, i == 0)
                    .expect("encode")
                    .expect("a frame")
                    .clone();
                assert_eq!(frame.keyframe, i == 0, "{codec} frame {i}");
                assert_eq!(codec.is_keyframe(&frame.data), i == 0, "{codec} frame {i}");
                assert!(decoder.decode(&frame.data, &mut picture).expect("decode"));
            }
            assert_eq!((picture.width(), picture.height()), (320, 180));
            let p = picture.pixel(160, 90);
            let want = Rgb::new(220, 20, 20).to_yuv();
            assert!(
                p.y.abs_diff(want.y) < 8 && p.v.abs_diff(want.v) < 8,
                "{codec}: {p:?}"
            );
            encoder.set_bitrate_kbps(200).expect("bitrate");
            assert_eq!(encoder.target_kbps(), 200);
        }
    }

    #[test]
    fn a_frame_of_one_codec_is_an_error_for_the_other() {
        let blue = I420Frame::solid_rgb(160, 96, Rgb::new(20, 20, 220));
        for (from, to) in [
            (VideoCodec::Vp8, VideoCodec::H264),
            (VideoCodec::H264, VideoCodec::Vp8),
        ] {
            let mut encoder = VideoEncoder::new(VideoEncoderConfig {
                codec: from,
                width: 160,
                height: 96,
                fps: 25,
                target_kbps: 200,
                keyframe_interval: 250,
            })
            .expect("encoder");
            let frame = encoder.encode(&blue, 0, true).unwrap().unwrap().clone();
            let mut decoder = VideoDecoder::new(to).expect("decoder");
            let mut picture = I420Frame::default();
            assert!(
                !matches!(decoder.decode(&frame.data, &mut picture), Ok(true)),
                "{from} frame decoded as {to}"
            );
        }
    }
}
