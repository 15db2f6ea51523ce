//! plenum-media: the media engine — its kernels (Opus, VP8 and H.264 codecs, the audio
//! mixer with "everyone but me" mixes, voice activity and limiter, the video compositor
//! with layouts, tiles and SIMD scaling: pure functions over frames with explicit media
//! time), the WebRTC peer adapter (`peer`) and the per-conference media threads
//! (`engine`).
//!
//! Unsafe code is denied everywhere except the three FFI modules that wrap C libraries
//! (`video::vpx` for libvpx, `video::h264` for libopenh264, `video::scale` for libyuv);
//! each unsafe block states why it is sound.

#![deny(unsafe_code)]

pub mod audio;
pub mod capacity;
pub mod engine;
pub mod peer;
pub mod stats;
pub mod video;
