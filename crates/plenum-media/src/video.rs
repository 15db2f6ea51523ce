//! Video: I420 frames, layouts and tile geometry, SIMD scaling, the compositor and the VP8
//! and H.264 codecs.
//!
//! * [`frame`]: `I420Frame`, colours, buffer reuse.
//! * [`rect`]: `Rect`, the pixel rectangle everything here shares.
//! * [`layout`]: tile rectangles per `plenum_core::Layout` (worked numbers in its docs).
//! * [`scale`]: libyuv `I420Scale` into a canvas sub-rectangle (FFI, safe API).
//! * [`compose`]: the `Compositor` (video and name tiles) and the per-viewer tile order.
//! * [`vpx`]: VP8 encoder and decoder over libvpx (FFI, safe API).
//! * [`codec`]: [`VideoCodec`] and the encoder and decoder of either codec, as the
//!   engine holds them.
//! * [`h264`]: H.264 (Constrained Baseline, Annex B) encoder and decoder over libopenh264
//!   (FFI, safe API); its types are used as `h264::Encoder` etc. beside the VP8 ones.

pub mod codec;
pub mod compose;
pub mod frame;
pub mod h264;
pub mod jpeg;
pub mod layout;
pub mod rect;
pub mod scale;
pub mod vpx;

pub use codec::{VideoCodec, VideoDecoder, VideoEncoder, VideoEncoderConfig, VideoError};
pub use compose::{
    Compositor, CompositorConfig, DEFAULT_FONT_PATH, FontError, NAME_TILE_PALETTE, NameFont,
    TileSource, name_tile_color, tile_order, tile_order_into,
};
pub use frame::{I420Frame, MAX_DIMENSION, Rgb, Yuv};
pub use h264::H264Error;
pub use layout::{tiles, tiles_into};
pub use rect::Rect;
pub use scale::{Filter, ScaleError, scale_frame_into, scale_into};
pub use vpx::{Decoder, EncodedFrame, Encoder, EncoderConfig, RTP_TIMEBASE, VpxError};
