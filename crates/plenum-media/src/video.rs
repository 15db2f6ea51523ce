//! Video: I420 frames, layouts and tile geometry, SIMD scaling, the compositor and the VP8 codec.
