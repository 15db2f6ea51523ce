//! Opus codec for 20 ms 48 kHz mono frames: a thin, panic-free wrapper over libopus
//! (`opus` 0.3, system libopus 1.3.1) with VoIP tuning, inband FEC, PLC and FEC recovery.

use ::opus::{Application, Bitrate, Channels, Decoder, Encoder, ErrorCode};

use super::{FRAME_SAMPLES, Frame, SAMPLE_RATE};

/// Largest Opus packet we ever produce or accept (RFC 6716 §3.4: 1275 bytes per frame).
pub const MAX_PACKET_BYTES: usize = 1275;

/// Why an encode or decode failed. The frame buffer's contents are unspecified on error.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// libopus refused a call (bad packet, buffer too small, bad setting, ...).
    #[error("{op} failed")]
    Opus {
        /// The wrapper operation that failed.
        op: &'static str,
        /// libopus's error.
        #[source]
        source: ::opus::Error,
    },
    /// An empty packet was given to [`OpusDecoder::decode`]; use
    /// [`OpusDecoder::decode_lost`] for a missing packet.
    #[error("empty opus packet")]
    EmptyPacket,
    /// The packet does not hold exactly one 20 ms frame (960 samples at 48 kHz).
    #[error("opus packet holds {samples} samples, expected {FRAME_SAMPLES}")]
    FrameDuration {
        /// Samples per channel the packet would decode to.
        samples: usize,
    },
}

impl CodecError {
    fn opus(op: &'static str) -> impl FnOnce(::opus::Error) -> Self {
        move |source| CodecError::Opus { op, source }
    }

    /// True when the cause was a malformed packet (as opposed to a local misconfiguration).
    pub fn is_invalid_packet(&self) -> bool {
        match self {
            CodecError::Opus { source, .. } => source.code() == ErrorCode::InvalidPacket,
            CodecError::EmptyPacket | CodecError::FrameDuration { .. } => true,
        }
    }
}

/// Encoder settings. The defaults suit speech from a conferencing MCU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusConfig {
    /// Target bitrate in bits per second (libopus clamps to 500..=512_000).
    pub bitrate_bps: i32,
    /// Expected packet loss in percent (0..=100); drives how much inband FEC the encoder spends.
    pub expected_loss_percent: u8,
    /// Encoder complexity 0..=10. libopus's default is 9; notes §3c found 5 no cheaper.
    pub complexity: u8,
}

impl Default for OpusConfig {
    fn default() -> Self {
        Self {
            bitrate_bps: 32_000,
            expected_loss_percent: 10,
            complexity: 9,
        }
    }
}

// === impl OpusEncoder ===

/// Opus encoder for one outgoing stream: VoIP application, inband FEC on, DTX off.
pub struct OpusEncoder {
    inner: Encoder,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder").finish_non_exhaustive()
    }
}

impl OpusEncoder {
    /// Creates an encoder with `config` applied.
    pub fn new(config: OpusConfig) -> Result<Self, CodecError> {
        let mut inner = Encoder::new(SAMPLE_RATE, Channels::Mono, Application::Voip)
            .map_err(CodecError::opus("create encoder"))?;
        inner
            .set_bitrate(Bitrate::Bits(config.bitrate_bps))
            .map_err(CodecError::opus("set bitrate"))?;
        inner
            .set_complexity(i32::from(config.complexity))
            .map_err(CodecError::opus("set complexity"))?;
        inner
            .set_inband_fec(true)
            .map_err(CodecError::opus("set inband fec"))?;
        inner
            .set_packet_loss_perc(i32::from(config.expected_loss_percent))
            .map_err(CodecError::opus("set packet loss"))?;
        inner.set_dtx(false).map_err(CodecError::opus("set dtx"))?;
        Ok(Self { inner })
    }

    /// Changes the target bitrate (bits per second) from the next frame on.
    pub fn set_bitrate(&mut self, bitrate_bps: i32) -> Result<(), CodecError> {
        self.inner
            .set_bitrate(Bitrate::Bits(bitrate_bps))
            .map_err(CodecError::opus("set bitrate"))
    }

    /// Changes the expected loss (percent) from the next frame on, e.g. from RTCP reports.
    pub fn set_expected_loss(&mut self, percent: u8) -> Result<(), CodecError> {
        self.inner
            .set_packet_loss_perc(i32::from(percent.min(100)))
            .map_err(CodecError::opus("set packet loss"))
    }

    /// Encodes one frame into `packet` and returns the packet length in bytes.
    /// [`MAX_PACKET_BYTES`] of room is always enough.
    pub fn encode(&mut self, frame: &Frame, packet: &mut [u8]) -> Result<usize, CodecError> {
        self.inner
            .encode(frame, packet)
            .map_err(CodecError::opus("encode"))
    }
}

// === impl OpusDecoder ===

/// Opus decoder for one incoming stream, producing exactly one 20 ms frame per call.
pub struct OpusDecoder {
    inner: Decoder,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder").finish_non_exhaustive()
    }
}

impl OpusDecoder {
    /// Creates a 48 kHz mono decoder.
    pub fn new() -> Result<Self, CodecError> {
        let inner = Decoder::new(SAMPLE_RATE, Channels::Mono)
            .map_err(CodecError::opus("create decoder"))?;
        Ok(Self { inner })
    }

    /// Decodes one received packet. Packets that are empty, malformed or not exactly 20 ms
    /// long are errors, checked before the decoder state is touched where libopus allows.
    pub fn decode(&mut self, packet: &[u8], out: &mut Frame) -> Result<(), CodecError> {
        check_packet(packet)?;
        let n = self
            .inner
            .decode(packet, out, false)
            .map_err(CodecError::opus("decode"))?;
        expect_full_frame(n)
    }

    /// Conceals one lost frame (packet loss concealment: libopus decode of no data).
    pub fn decode_lost(&mut self, out: &mut Frame) -> Result<(), CodecError> {
        let n = self
            .inner
            .decode(&[], out, false)
            .map_err(CodecError::opus("conceal"))?;
        expect_full_frame(n)
    }

    /// Recovers the *lost* frame that precedes `next_packet` from the inband FEC data in
    /// `next_packet`. libopus falls back to concealment when the packet carries no FEC.
    /// Decode `next_packet` itself afterwards with [`decode`](Self::decode).
    pub fn decode_fec(&mut self, next_packet: &[u8], out: &mut Frame) -> Result<(), CodecError> {
        check_packet(next_packet)?;
        let n = self
            .inner
            .decode(next_packet, out, true)
            .map_err(CodecError::opus("decode fec"))?;
        expect_full_frame(n)
    }
}

/// Rejects empty packets, packets libopus cannot parse and packets that are not 20 ms.
fn check_packet(packet: &[u8]) -> Result<(), CodecError> {
    if packet.is_empty() {
        return Err(CodecError::EmptyPacket);
    }
    let samples = ::opus::packet::get_nb_samples(packet, SAMPLE_RATE)
        .map_err(CodecError::opus("parse packet"))?;
    if samples != FRAME_SAMPLES {
        return Err(CodecError::FrameDuration { samples });
    }
    Ok(())
}

fn expect_full_frame(samples: usize) -> Result<(), CodecError> {
    if samples == FRAME_SAMPLES {
        Ok(())
    } else {
        Err(CodecError::FrameDuration { samples })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::SILENCE;

    fn tone(freq_hz: f32, amplitude: f32, frame_index: usize) -> Frame {
        let mut frame = [0i16; FRAME_SAMPLES];
        for (i, s) in frame.iter_mut().enumerate() {
            let t = (frame_index * FRAME_SAMPLES + i) as f32 / SAMPLE_RATE as f32;
            *s = (amplitude * (2.0 * std::f32::consts::PI * freq_hz * t).sin()) as i16;
        }
        frame
    }

    /// Fraction of the signal's energy at `freq_hz` (Goertzel; ≈1.0 for a pure tone whose
    /// period divides the window).
    fn energy_fraction_at(samples: &[i16], freq_hz: f32) -> f64 {
        let n = samples.len() as f64;
        let w = 2.0 * std::f64::consts::PI * f64::from(freq_hz) / f64::from(SAMPLE_RATE);
        let coeff = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &x in samples {
            let s0 = f64::from(x) + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
        let energy: f64 = samples.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        2.0 * power / (n * energy)
    }

    fn rms(frame: &Frame) -> f64 {
        let e: f64 = frame.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        (e / FRAME_SAMPLES as f64).sqrt()
    }

    fn encoded_tone(frames: usize) -> Vec<Vec<u8>> {
        let mut encoder = OpusEncoder::new(OpusConfig {
            expected_loss_percent: 20,
            ..OpusConfig::default()
        })
        .expect("encoder");
        let mut buf = [0u8; MAX_PACKET_BYTES];
        (0..frames)
            .map(|i| {
                let n = encoder
                    .encode(&tone(440.0, 8000.0, i), &mut buf)
                    .expect("encode");
                buf[..n].to_vec()
            })
            .collect()
    }

    #[test]
    fn round_trip_of_440_hz_tone_keeps_energy_at_440_hz() {
        let packets = encoded_tone(15);
        let mut decoder = OpusDecoder::new().expect("decoder");
        let mut decoded = Vec::new();
        let mut frame = SILENCE;
        for packet in &packets {
            assert!(
                packet.len() > 10 && packet.len() < 200,
                "{} bytes",
                packet.len()
            );
            decoder.decode(packet, &mut frame).expect("decode");
            decoded.extend_from_slice(&frame);
        }
        // Skip the codec's start-up; 5 frames = 4800 samples = exactly 44 periods of 440 Hz.
        let window = &decoded[5 * FRAME_SAMPLES..10 * FRAME_SAMPLES];
        let at_440 = energy_fraction_at(window, 440.0);
        let at_880 = energy_fraction_at(window, 880.0);
        let at_1000 = energy_fraction_at(window, 1000.0);
        assert!(at_440 > 0.8, "440 Hz holds {at_440:.3} of the energy");
        assert!(at_880 < 0.05 && at_1000 < 0.05, "{at_880:.3} {at_1000:.3}");
        let level: f64 = window.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / 4800.0;
        let rms = level.sqrt();
        assert!((4000.0..8000.0).contains(&rms), "rms {rms}");
    }

    #[test]
    fn lost_packet_is_concealed_with_a_frame() {
        let packets = encoded_tone(8);
        let mut decoder = OpusDecoder::new().expect("decoder");
        let mut frame = SILENCE;
        for packet in &packets[..6] {
            decoder.decode(packet, &mut frame).expect("decode");
        }
        decoder.decode_lost(&mut frame).expect("plc");
        assert!(rms(&frame) > 500.0, "concealment continues the tone");
        decoder
            .decode(&packets[7], &mut frame)
            .expect("decode after loss");
    }

    #[test]
    fn lost_packet_is_recovered_from_next_packets_fec() {
        let packets = encoded_tone(10);
        let mut decoder = OpusDecoder::new().expect("decoder");
        let mut frame = SILENCE;
        for packet in &packets[..6] {
            decoder.decode(packet, &mut frame).expect("decode");
        }
        // Packet 6 is lost; packet 7 carries its FEC copy.
        decoder.decode_fec(&packets[7], &mut frame).expect("fec");
        assert!(rms(&frame) > 1000.0, "recovered frame has the tone");
        assert!(energy_fraction_at(&frame, 440.0) > 0.5);
        decoder
            .decode(&packets[7], &mut frame)
            .expect("decode after fec");
        assert!(rms(&frame) > 1000.0);
    }

    #[test]
    fn malformed_packets_are_errors() {
        let mut decoder = OpusDecoder::new().expect("decoder");
        let mut frame = SILENCE;
        let empty = decoder.decode(&[], &mut frame);
        assert!(matches!(empty, Err(CodecError::EmptyPacket)));
        // TOC code 3 without its frame-count byte.
        let truncated = decoder.decode(&[0x03], &mut frame).expect_err("truncated");
        assert!(truncated.is_invalid_packet(), "{truncated}");
        // TOC config 0 = SILK NB 10 ms: a valid but wrong-length frame.
        let short = decoder.decode(&[0x00, 0x00], &mut frame);
        assert!(matches!(
            short,
            Err(CodecError::FrameDuration { samples: 480 })
        ));
        let fec = decoder.decode_fec(&[0x03], &mut frame);
        assert!(fec.is_err());
    }

    #[test]
    fn random_bytes_never_panic_and_decoder_keeps_working() {
        let mut decoder = OpusDecoder::new().expect("decoder");
        let mut frame = SILENCE;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut errors = 0;
        let mut buf = [0u8; 400];
        for _ in 0..5000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 400) as usize;
            for b in buf[..len].iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = state as u8;
            }
            if decoder.decode(&buf[..len], &mut frame).is_err() {
                errors += 1;
            }
            let _ = decoder.decode_fec(&buf[..len], &mut frame);
        }
        assert!(errors > 1000, "most garbage is rejected ({errors} errors)");
        let packets = encoded_tone(2);
        decoder
            .decode(&packets[0], &mut frame)
            .expect("valid packet after garbage");
    }

    #[test]
    fn too_small_output_buffer_is_an_error() {
        let mut encoder = OpusEncoder::new(OpusConfig::default()).expect("encoder");
        let mut empty: [u8; 0] = [];
        assert!(encoder.encode(&tone(440.0, 8000.0, 0), &mut empty).is_err());
    }
}
