//! Audio: Opus codec, the per-participant "everyone but me" mixer, voice activity and limiter.
//!
//! Everything works on 20 ms frames of 48 kHz mono `i16` PCM ([`Frame`], 960 samples). The
//! kernels are pure and frame-driven: no clocks, no threads, and no allocation per frame once
//! the buffers have grown to the room's size.
//!
//! * [`opus`]: [`OpusEncoder`] / [`OpusDecoder`] over libopus (VoIP, inband FEC, PLC).
//! * [`vad`]: [`Vad`], per-participant voice activity with hysteresis and a level for ranking.
//! * [`mix`]: [`Mixer`], the K-loudest total-minus-self mixer with a per-output [`Limiter`].

pub mod mix;
pub mod opus;
pub mod vad;

pub use self::mix::{Limiter, LimiterConfig, MixInput, MixOutput, Mixer, MixerConfig};
pub use self::opus::{CodecError, OpusConfig, OpusDecoder, OpusEncoder};
pub use self::vad::{Vad, VadConfig, VadUpdate};

/// Sample rate of every audio frame, in Hz.
pub const SAMPLE_RATE: u32 = 48_000;

/// Samples in one 20 ms mono frame at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = 960;

/// One 20 ms frame of 48 kHz mono PCM.
pub type Frame = [i16; FRAME_SAMPLES];

/// The all-zero frame.
pub const SILENCE: Frame = [0; FRAME_SAMPLES];
