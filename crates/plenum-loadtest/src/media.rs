//! The synthetic participants' media, encoded once and shared by all of them: a moving
//! test pattern in VP8 (real libvpx, a keyframe every two seconds) and a 440 Hz tone in
//! Opus (real libopus), looped. Sending then costs each participant only packetisation
//! and SRTP, so the generator stays cheaper than the node it measures.

use bytes::Bytes;
use plenum_media::audio::{FRAME_SAMPLES, Frame, OpusConfig, OpusEncoder};
use plenum_media::video::{EncodedFrame, Encoder, EncoderConfig, I420Frame, Rect, Yuv};

/// Video frames per second the participants send.
pub const VIDEO_FPS: u32 = 25;
/// Seconds of video in the loop (the pattern repeats after it).
const LOOP_SECONDS: u32 = 4;

/// One resolution's looped VP8 frames and the looped Opus packets.
#[derive(Debug, Clone)]
pub struct TestMedia {
    pub width: u32,
    pub height: u32,
    /// One frame per 1/[`VIDEO_FPS`] s; a keyframe every two seconds.
    pub video: Vec<Bytes>,
    /// A 440 Hz tone (the meeting's speaker), one 20 ms packet each.
    pub audio: Vec<Bytes>,
    /// Quiet room noise (everyone else), one 20 ms packet each.
    pub quiet: Vec<Bytes>,
}

impl TestMedia {
    /// Encodes the loop at `width`×`height` and `kbps`.
    pub fn encode(width: u32, height: u32, kbps: u32) -> anyhow::Result<TestMedia> {
        let frames = VIDEO_FPS * LOOP_SECONDS;
        let mut config = EncoderConfig::new(width, height, kbps);
        config.fps = VIDEO_FPS;
        let mut encoder = Encoder::new(config)?;
        let mut picture = I420Frame::new(width, height);
        let mut out = EncodedFrame::default();
        let mut video = Vec::with_capacity(frames as usize);
        let box_size = (height / 4).max(2);
        for i in 0..frames {
            // Vertical bars that drift, and a box crossing the picture: content that
            // changes everywhere every frame, like a camera, not a still.
            picture.fill(Yuv {
                y: 60,
                u: 110,
                v: 140,
            });
            let bars = 8;
            let bar_width = (width / bars).max(1);
            for b in 0..bars {
                let x = (b * bar_width + i * 4) % width;
                let w = bar_width.min(width - x) / 2;
                if w > 0 {
                    picture.fill_rect(
                        Rect::new(x, 0, w, height),
                        Yuv {
                            y: (40 + b * 25) as u8,
                            u: (60 + b * 18) as u8,
                            v: (200 - b * 15) as u8,
                        },
                    );
                }
            }
            let travel = width.saturating_sub(box_size).max(1);
            picture.fill_rect(
                Rect::new(
                    (i * width / frames) % travel,
                    (height - box_size) / 2,
                    box_size,
                    box_size,
                ),
                Yuv {
                    y: 235,
                    u: 128,
                    v: 128,
                },
            );
            let keyframe = i % (VIDEO_FPS * 2) == 0;
            let pts = i64::from(i) * i64::from(90_000 / VIDEO_FPS);
            if !encoder.encode(&picture, pts, keyframe, &mut out)? {
                anyhow::bail!("the VP8 encoder dropped test frame {i}");
            }
            video.push(Bytes::copy_from_slice(&out.data));
        }

        let mut opus = OpusEncoder::new(OpusConfig::default())?;
        let packets = 50 * LOOP_SECONDS as usize;
        let mut audio = Vec::with_capacity(packets);
        let mut quiet = Vec::with_capacity(packets);
        let mut buf = [0u8; 1500];
        let mut noise: u32 = 1;
        for p in 0..packets {
            let mut tone: Frame = [0; FRAME_SAMPLES];
            let mut hiss: Frame = [0; FRAME_SAMPLES];
            for (n, (s, q)) in tone.iter_mut().zip(hiss.iter_mut()).enumerate() {
                let t = (p * FRAME_SAMPLES + n) as f32 / 48_000.0;
                *s = (6000.0 * (t * 440.0 * std::f32::consts::TAU).sin()) as i16;
                noise = noise.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                *q = ((noise >> 16) % 64) as i16 - 32;
            }
            let len = opus.encode(&tone, &mut buf)?;
            audio.push(Bytes::copy_from_slice(&buf[..len]));
            let len = opus.encode(&hiss, &mut buf)?;
            quiet.push(Bytes::copy_from_slice(&buf[..len]));
        }
        Ok(TestMedia {
            width,
            height,
            video,
            audio,
            quiet,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plenum_media::video::Decoder;

    #[test]
    fn the_loop_decodes_and_moves() {
        let media = TestMedia::encode(320, 180, 300).expect("encode");
        assert_eq!(media.video.len(), (VIDEO_FPS * LOOP_SECONDS) as usize);
        assert_eq!(media.audio.len(), 200);
        let mut decoder = Decoder::new().expect("decoder");
        let mut first = None;
        let mut changed = false;
        let mut picture = I420Frame::default();
        for frame in &media.video[..10] {
            assert!(
                decoder.decode(frame, &mut picture).expect("decode"),
                "a picture"
            );
            assert_eq!((picture.width(), picture.height()), (320, 180));
            let y = picture.y().to_vec();
            match &first {
                None => first = Some(y),
                Some(f) => changed |= *f != y,
            }
        }
        assert!(changed, "the pattern moves");
    }
}
