//! plenum-media: the media engine's kernels — Opus and VP8 codecs, the audio mixer
//! ("everyone but me" mixes, voice activity, limiter) and the video compositor (layouts,
//! tiles, SIMD scaling). Pure functions over frames with explicit media time; no async,
//! no threads of their own. The WebRTC layer and the media threads come next.
//!
//! Unsafe code is denied everywhere except the two FFI modules that wrap C libraries
//! (`video::vpx` for libvpx, `video::scale` for libyuv); each unsafe block states why
//! it is sound.

#![deny(unsafe_code)]

pub mod audio;
pub mod engine;
pub mod peer;
pub mod video;
