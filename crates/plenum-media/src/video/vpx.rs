//! A small safe VP8 encoder and decoder over the system libvpx 1.12 (`env-libvpx-sys`),
//! configured for an MCU: realtime deadline, pinned speed (cpu-used −12), one thread,
//! CBR with a bitrate settable at runtime, error resilient, no lag, keyframes on demand.
//!
//! The API mirrors `vpx-rs` (`EncoderConfig`, `Encoder::encode`, `Decoder::decode`) so
//! a later switch is mechanical; unlike it, output goes into caller-owned buffers
//! ([`EncodedFrame`], [`I420Frame`]) that are reused frame after frame.
//!
//! This is one of the two modules allowed to use `unsafe` (the other is `scale`).
//! Soundness rests on: contexts are boxed (stable address) and live exactly as long as
//! their owner (`Drop` destroys them); every call takes `&mut self`, so libvpx never
//! sees concurrent use of a context; pointers into libvpx-owned memory (packets,
//! decoded images) are only read before the next call into the same context.

#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::raw::{c_int, c_long, c_uint, c_ulong};
use std::ptr;

use vpx_sys as ffi;

use super::frame::{I420Frame, MAX_DIMENSION};

/// RTP's 90 kHz video clock: the default timebase for `pts`.
pub const RTP_TIMEBASE: (i32, i32) = (1, 90_000);

/// Encoder settings (libwebrtc's VP8 defaults, with the MCU's speed and CBR choices;
/// see notes/media-stack.md §3a).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncoderConfig {
    pub width: u32,
    pub height: u32,
    /// Seconds per `pts` unit, as `(num, den)`; default 1/90000.
    pub timebase: (i32, i32),
    /// Nominal frame rate; sets each frame's duration for rate control.
    pub fps: u32,
    pub target_kbps: u32,
    /// VP8 speed. Negative pins it (−12 measured 1.2–1.6× faster than −6 at ≤0.7 dB);
    /// positive values make libvpx adapt speed to the deadline, which is slower.
    pub cpu_used: i32,
    pub min_quantizer: u32,
    pub max_quantizer: u32,
    /// Frames between forced keyframes (in addition to on-demand ones).
    pub keyframe_max_distance: u32,
    pub error_resilient: bool,
}

impl EncoderConfig {
    pub fn new(width: u32, height: u32, target_kbps: u32) -> EncoderConfig {
        EncoderConfig {
            width,
            height,
            timebase: RTP_TIMEBASE,
            fps: 30,
            target_kbps,
            cpu_used: -12,
            min_quantizer: 2,
            max_quantizer: 56,
            keyframe_max_distance: 3000,
            error_resilient: true,
        }
    }
}

/// An encoded frame, reused across calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedFrame {
    pub data: Vec<u8>,
    pub keyframe: bool,
    pub pts: i64,
}

/// A libvpx failure, with libvpx's own message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VpxError {
    #[error("{op} failed: {message}")]
    Codec { op: &'static str, message: String },
    #[error("invalid encoder config: {0}")]
    InvalidConfig(&'static str),
    #[error("frame is {got:?}, encoder is configured for {expected:?}")]
    FrameSize {
        got: (u32, u32),
        expected: (u32, u32),
    },
    #[error("empty input")]
    EmptyInput,
    #[error("decoder produced an unsupported image ({0})")]
    UnsupportedImage(&'static str),
}

/// A zeroed context for `vpx_codec_*_init_ver` to fill in.
fn empty_ctx() -> Box<ffi::vpx_codec_ctx_t> {
    Box::new(ffi::vpx_codec_ctx_t {
        name: ptr::null(),
        iface: ptr::null_mut(),
        err: ffi::vpx_codec_err_t::VPX_CODEC_OK,
        err_detail: ptr::null(),
        init_flags: 0,
        config: ffi::vpx_codec_ctx__bindgen_ty_1 { dec: ptr::null() },
        priv_: ptr::null_mut(),
    })
}

/// Turns a libvpx status into a result, with the context's error detail if any.
fn check(
    op: &'static str,
    ctx: Option<&mut ffi::vpx_codec_ctx_t>,
    err: ffi::vpx_codec_err_t,
) -> Result<(), VpxError> {
    if err == ffi::vpx_codec_err_t::VPX_CODEC_OK {
        return Ok(());
    }
    // SAFETY: vpx_codec_err_to_string returns a static NUL-terminated string for any
    // code; vpx_codec_error_detail returns NULL or a NUL-terminated string owned by
    // the (initialised, exclusively borrowed) context, copied before we return.
    let message = unsafe {
        let mut message = CStr::from_ptr(ffi::vpx_codec_err_to_string(err))
            .to_string_lossy()
            .into_owned();
        if let Some(ctx) = ctx {
            let detail = ffi::vpx_codec_error_detail(ctx);
            if !detail.is_null() {
                message.push_str(": ");
                message.push_str(&CStr::from_ptr(detail).to_string_lossy());
            }
        }
        message
    };
    Err(VpxError::Codec { op, message })
}

// === impl Encoder ===

/// A VP8 encoder. `Send` (libvpx contexts have no thread affinity and every method
/// takes `&mut self`), not `Sync`.
pub struct Encoder {
    ctx: Box<ffi::vpx_codec_ctx_t>,
    cfg: ffi::vpx_codec_enc_cfg_t,
    config: EncoderConfig,
    duration: c_ulong,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

// SAFETY: the encoder context is plain heap state owned by this value; libvpx keeps no
// thread-local state for it and we never share it (no `Sync`, all access `&mut self`).
unsafe impl Send for Encoder {}

impl Encoder {
    pub fn new(config: EncoderConfig) -> Result<Encoder, VpxError> {
        let valid_size = |n: u32| n > 0 && n <= MAX_DIMENSION;
        if !valid_size(config.width) || !valid_size(config.height) {
            return Err(VpxError::InvalidConfig(
                "width and height must be 1..=16383",
            ));
        }
        let (num, den) = config.timebase;
        if num <= 0 || den <= 0 || config.fps == 0 {
            return Err(VpxError::InvalidConfig("timebase and fps must be positive"));
        }
        if !(-16..=16).contains(&config.cpu_used) {
            return Err(VpxError::InvalidConfig("cpu_used must be in -16..=16"));
        }
        if config.min_quantizer > config.max_quantizer || config.max_quantizer > 63 {
            return Err(VpxError::InvalidConfig(
                "quantizers must satisfy min <= max <= 63",
            ));
        }
        let mut cfg = std::mem::MaybeUninit::<ffi::vpx_codec_enc_cfg_t>::uninit();
        // SAFETY: vpx_codec_enc_config_default fully initialises `cfg` when it returns
        // OK (checked before assume_init); the iface pointer is libvpx's static VP8 one.
        let mut cfg = unsafe {
            let err =
                ffi::vpx_codec_enc_config_default(ffi::vpx_codec_vp8_cx(), cfg.as_mut_ptr(), 0);
            check("vpx_codec_enc_config_default", None, err)?;
            cfg.assume_init()
        };
        cfg.g_w = config.width;
        cfg.g_h = config.height;
        cfg.g_timebase = ffi::vpx_rational { num, den };
        cfg.g_threads = 1;
        cfg.g_lag_in_frames = 0;
        cfg.g_error_resilient = if config.error_resilient {
            ffi::VPX_ERROR_RESILIENT_DEFAULT
        } else {
            0
        };
        cfg.g_pass = ffi::vpx_enc_pass::VPX_RC_ONE_PASS;
        cfg.rc_end_usage = ffi::vpx_rc_mode::VPX_CBR;
        cfg.rc_target_bitrate = config.target_kbps;
        cfg.rc_min_quantizer = config.min_quantizer;
        cfg.rc_max_quantizer = config.max_quantizer;
        cfg.rc_undershoot_pct = 100;
        cfg.rc_overshoot_pct = 15;
        cfg.rc_buf_initial_sz = 500;
        cfg.rc_buf_optimal_sz = 600;
        cfg.rc_buf_sz = 1000;
        cfg.rc_dropframe_thresh = 0;
        cfg.rc_resize_allowed = 0;
        cfg.kf_mode = ffi::vpx_kf_mode::VPX_KF_AUTO;
        cfg.kf_min_dist = 0;
        cfg.kf_max_dist = config.keyframe_max_distance;

        let mut ctx = empty_ctx();
        // SAFETY: `ctx` is a zeroed, boxed context (stable address for its whole life);
        // `cfg` is a valid config that libvpx copies during init; the ABI version is
        // the one the bindings were generated for (libvpx 1.12, matching the system lib).
        let err = unsafe {
            ffi::vpx_codec_enc_init_ver(
                &mut *ctx,
                ffi::vpx_codec_vp8_cx(),
                &cfg,
                0,
                ffi::VPX_ENCODER_ABI_VERSION as c_int,
            )
        };
        // On failure libvpx has released whatever it allocated; nothing to destroy.
        check("vpx_codec_enc_init_ver", None, err)?;
        let duration =
            (i64::from(den) / (i64::from(num) * i64::from(config.fps))).max(1) as c_ulong;
        let mut encoder = Encoder {
            ctx,
            cfg,
            config,
            duration,
        };
        encoder.control(
            ffi::vp8e_enc_control_id::VP8E_SET_CPUUSED,
            encoder.config.cpu_used,
        )?;
        encoder.control(ffi::vp8e_enc_control_id::VP8E_SET_STATIC_THRESHOLD, 1)?;
        encoder.control(ffi::vp8e_enc_control_id::VP8E_SET_NOISE_SENSITIVITY, 0)?;
        encoder.control(ffi::vp8e_enc_control_id::VP8E_SET_TOKEN_PARTITIONS, 0)?;
        encoder.control(
            ffi::vp8e_enc_control_id::VP8E_SET_MAX_INTRA_BITRATE_PCT,
            900,
        )?;
        Ok(encoder)
    }

    /// Sets an integer-valued VP8 encoder control.
    fn control(&mut self, id: ffi::vp8e_enc_control_id, value: c_int) -> Result<(), VpxError> {
        // SAFETY: the context is initialised; each control used here takes an `int`
        // (or unsigned int with the same promotion) as its variadic argument.
        let err = unsafe { ffi::vpx_codec_control_(&mut *self.ctx, id as c_int, value) };
        check("vpx_codec_control_", Some(&mut *self.ctx), err)
    }

    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// Changes the CBR target at runtime (takes effect from the next frame).
    pub fn set_bitrate_kbps(&mut self, kbps: u32) -> Result<(), VpxError> {
        self.cfg.rc_target_bitrate = kbps;
        // SAFETY: the context is initialised; `cfg` is the config it was created with,
        // changed only in the bitrate, and libvpx copies it.
        let err = unsafe { ffi::vpx_codec_enc_config_set(&mut *self.ctx, &self.cfg) };
        check("vpx_codec_enc_config_set", Some(&mut *self.ctx), err)?;
        self.config.target_kbps = kbps;
        Ok(())
    }

    /// Encodes one frame (its size must match the config). Writes the bitstream into
    /// `out` (cleared first, capacity reused) and returns `true` if a frame came out;
    /// with `rc_dropframe_thresh = 0` and no lag that is every call.
    pub fn encode(
        &mut self,
        frame: &I420Frame,
        pts: i64,
        force_keyframe: bool,
        out: &mut EncodedFrame,
    ) -> Result<bool, VpxError> {
        let expected = (self.config.width, self.config.height);
        if (frame.width(), frame.height()) != expected {
            return Err(VpxError::FrameSize {
                got: (frame.width(), frame.height()),
                expected,
            });
        }
        // libvpx takes `*mut` planes in vpx_image_t but only reads an input image.
        let img = ffi::vpx_image_t {
            fmt: ffi::vpx_img_fmt::VPX_IMG_FMT_I420,
            cs: ffi::vpx_color_space::VPX_CS_BT_601,
            range: ffi::vpx_color_range::VPX_CR_STUDIO_RANGE,
            w: frame.width(),
            h: frame.height(),
            bit_depth: 8,
            d_w: frame.width(),
            d_h: frame.height(),
            r_w: frame.width(),
            r_h: frame.height(),
            x_chroma_shift: 1,
            y_chroma_shift: 1,
            planes: [
                frame.y().as_ptr().cast_mut(),
                frame.u().as_ptr().cast_mut(),
                frame.v().as_ptr().cast_mut(),
                ptr::null_mut(),
            ],
            stride: [
                frame.stride_y() as c_int,
                frame.stride_uv() as c_int,
                frame.stride_uv() as c_int,
                0,
            ],
            bps: 12,
            user_priv: ptr::null_mut(),
            img_data: ptr::null_mut(),
            img_data_owner: 0,
            self_allocd: 0,
            fb_priv: ptr::null_mut(),
        };
        let flags = if force_keyframe {
            ffi::VPX_EFLAG_FORCE_KF as c_long
        } else {
            0
        };
        // SAFETY: `img` describes the frame's three planes exactly (I420Frame keeps
        // `plane.len() == stride * rows`, chroma rows/cols = ceil(luma/2), and the size
        // equals the configured g_w×g_h, checked above); libvpx reads them during this
        // call only (lag 0: it copies into its own lookahead buffer) and never writes.
        let err = unsafe {
            ffi::vpx_codec_encode(
                &mut *self.ctx,
                &img,
                pts,
                self.duration,
                flags,
                ffi::VPX_DL_REALTIME as c_ulong,
            )
        };
        check("vpx_codec_encode", Some(&mut *self.ctx), err)?;

        out.data.clear();
        out.keyframe = false;
        out.pts = pts;
        let mut produced = false;
        let mut iter: ffi::vpx_codec_iter_t = ptr::null();
        loop {
            // SAFETY: the context is initialised and `iter` starts NULL as the API
            // requires; the returned packet (if any) stays valid until the next
            // encode/get_cx_data call on this context, and we copy out of it before.
            let pkt = unsafe { ffi::vpx_codec_get_cx_data(&mut *self.ctx, &mut iter) };
            if pkt.is_null() {
                break;
            }
            // SAFETY: `pkt` is non-null and points at a libvpx packet. The kind is read
            // as a raw u32 (not the Rust enum) so an unknown value cannot be UB; the
            // `frame` union member is valid for CX_FRAME_PKT, whose buf/sz describe a
            // libvpx-owned buffer of `sz` bytes.
            unsafe {
                let kind = ptr::addr_of!((*pkt).kind).cast::<u32>().read();
                if kind != ffi::vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT as u32 {
                    continue;
                }
                let f = (*pkt).data.frame;
                if !f.buf.is_null() && f.sz > 0 {
                    let bytes = std::slice::from_raw_parts(f.buf.cast::<u8>(), f.sz as usize);
                    out.data.extend_from_slice(bytes);
                }
                out.keyframe |= f.flags & ffi::VPX_FRAME_IS_KEY != 0;
                out.pts = f.pts;
                produced = true;
            }
        }
        Ok(produced)
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: the context was successfully initialised in `new` (an Encoder does
        // not exist otherwise) and is destroyed exactly once, here.
        unsafe {
            ffi::vpx_codec_destroy(&mut *self.ctx);
        }
    }
}

// === impl Decoder ===

/// A VP8 decoder (single-threaded). `Send`, not `Sync`, for the same reasons as
/// [`Encoder`].
pub struct Decoder {
    ctx: Box<ffi::vpx_codec_ctx_t>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").finish_non_exhaustive()
    }
}

// SAFETY: as for Encoder: owned heap state, no thread affinity, `&mut self` access only.
unsafe impl Send for Decoder {}

impl Decoder {
    pub fn new() -> Result<Decoder, VpxError> {
        let cfg = ffi::vpx_codec_dec_cfg_t {
            threads: 1,
            w: 0,
            h: 0,
        };
        let mut ctx = empty_ctx();
        // SAFETY: `ctx` is a zeroed boxed context; libvpx's VP8 init copies `cfg` into
        // its private state (ctx->config.dec is repointed at the copy), so the stack
        // `cfg` may go away after the call. ABI version matches the bindings (1.12).
        let err = unsafe {
            ffi::vpx_codec_dec_init_ver(
                &mut *ctx,
                ffi::vpx_codec_vp8_dx(),
                &cfg,
                0,
                ffi::VPX_DECODER_ABI_VERSION as c_int,
            )
        };
        check("vpx_codec_dec_init_ver", None, err)?;
        Ok(Decoder { ctx })
    }

    /// Decodes one VP8 frame into `out` (resized as needed, allocation reused).
    /// Returns `Ok(true)` if a picture was produced, `Ok(false)` if the data decoded
    /// to no picture, and an error for corrupt, truncated or unsupported input
    /// (`out` is then unspecified but valid).
    pub fn decode(&mut self, data: &[u8], out: &mut I420Frame) -> Result<bool, VpxError> {
        if data.is_empty() {
            return Err(VpxError::EmptyInput);
        }
        let len = c_uint::try_from(data.len()).map_err(|_| VpxError::EmptyInput)?;
        // SAFETY: the context is initialised; `data` is a valid slice of `len` bytes
        // that libvpx reads during the call only.
        let err = unsafe {
            ffi::vpx_codec_decode(&mut *self.ctx, data.as_ptr(), len, ptr::null_mut(), 0)
        };
        check("vpx_codec_decode", Some(&mut *self.ctx), err)?;

        let mut iter: ffi::vpx_codec_iter_t = ptr::null();
        // SAFETY: context initialised, `iter` starts NULL. The image (if any) is owned
        // by the decoder and valid until the next decode call, and `&mut self` keeps
        // that from happening while we read it.
        let img = unsafe { ffi::vpx_codec_get_frame(&mut *self.ctx, &mut iter) };
        if img.is_null() {
            return Ok(false);
        }
        // Fields are read through the raw pointer, never via a `&vpx_image`, and the
        // format as a raw integer, so an unexpected enum value cannot be materialised.
        // SAFETY: `img` is non-null and points at a libvpx-owned image that stays valid
        // as argued above; every field read here is a plain integer, pointer or array.
        let (fmt, bit_depth, d_w, d_h, planes, strides) = unsafe {
            (
                ptr::addr_of!((*img).fmt).cast::<u32>().read(),
                (*img).bit_depth,
                (*img).d_w,
                (*img).d_h,
                (*img).planes,
                (*img).stride,
            )
        };
        if fmt != ffi::vpx_img_fmt::VPX_IMG_FMT_I420 as u32 || bit_depth != 8 {
            return Err(VpxError::UnsupportedImage("not 8-bit I420"));
        }
        let (w, h) = (d_w, d_h);
        if w == 0 || h == 0 || w > MAX_DIMENSION || h > MAX_DIMENSION {
            return Err(VpxError::UnsupportedImage("size out of range"));
        }
        let (cw, ch) = (w.div_ceil(2) as usize, h.div_ceil(2) as usize);
        let plane = |i: usize, width: usize, rows: usize| -> Result<(&[u8], usize), VpxError> {
            let stride = usize::try_from(strides[i])
                .ok()
                .filter(|&s| s >= width)
                .ok_or(VpxError::UnsupportedImage("negative or short stride"))?;
            if planes[i].is_null() {
                return Err(VpxError::UnsupportedImage("missing plane"));
            }
            // SAFETY: libvpx's decoded I420 image has `rows` rows of at least `width`
            // samples at `stride` bytes apart from planes[i] (checked stride >= width,
            // non-null); the slice ends at the last sample of the last row.
            let bytes =
                unsafe { std::slice::from_raw_parts(planes[i], (rows - 1) * stride + width) };
            Ok((bytes, stride))
        };
        let (y, ys) = plane(0, w as usize, h as usize)?;
        let (u, us) = plane(1, cw, ch)?;
        let (v, vs) = plane(2, cw, ch)?;
        out.copy_from_planes(w, h, [(y, ys), (u, us), (v, vs)]);
        Ok(true)
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`, destroyed exactly once, here.
        unsafe {
            ffi::vpx_codec_destroy(&mut *self.ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::frame::{Rgb, Yuv};

    fn close(a: Yuv, b: Yuv, tolerance: u8) -> bool {
        a.y.abs_diff(b.y) <= tolerance
            && a.u.abs_diff(b.u) <= tolerance
            && a.v.abs_diff(b.v) <= tolerance
    }

    /// Measured: the keyframe decodes within 1 of the source, the CBR delta frames
    /// that follow wander by up to 5 in chroma (e.g. V 235 for 240).
    #[test]
    fn solid_colour_round_trips_through_vp8() {
        let red = Rgb::new(255, 0, 0).to_yuv();
        let frame = I420Frame::solid(320, 180, red);
        let mut encoder = Encoder::new(EncoderConfig::new(320, 180, 300)).expect("encoder");
        let mut decoder = Decoder::new().expect("decoder");
        let mut packet = EncodedFrame::default();
        let mut decoded = I420Frame::default();
        for i in 0..5 {
            assert!(
                encoder
                    .encode(&frame, i * 3000, false, &mut packet)
                    .expect("encode")
            );
            assert!(!packet.data.is_empty());
            assert_eq!(packet.pts, i * 3000);
            assert!(decoder.decode(&packet.data, &mut decoded).expect("decode"));
            assert_eq!((decoded.width(), decoded.height()), (320, 180));
            for (x, y) in [(0, 0), (160, 90), (319, 179)] {
                let got = decoded.pixel(x, y);
                assert!(
                    close(got, red, 6),
                    "frame {i} ({x}, {y}): {got:?} vs {red:?}"
                );
            }
        }
    }

    #[test]
    fn first_frame_and_forced_frames_are_keyframes_others_are_not() {
        let mut encoder = Encoder::new(EncoderConfig::new(160, 90, 200)).expect("encoder");
        let mut packet = EncodedFrame::default();
        let mut keyframes = Vec::new();
        for i in 0..6 {
            // A moving bar so delta frames carry something.
            let mut frame = I420Frame::solid_rgb(160, 90, Rgb::new(20, 120, 20));
            frame.fill_rect(
                crate::video::rect::Rect::new(i * 16, 0, 16, 90),
                Rgb::new(250, 250, 250).to_yuv(),
            );
            encoder
                .encode(&frame, i64::from(i) * 3000, i == 4, &mut packet)
                .expect("encode");
            keyframes.push(packet.keyframe);
        }
        assert_eq!(keyframes, [true, false, false, false, true, false]);
    }

    #[test]
    fn bitrate_changes_at_runtime_and_wrong_sizes_are_errors() {
        let mut encoder = Encoder::new(EncoderConfig::new(64, 36, 100)).expect("encoder");
        encoder.set_bitrate_kbps(50).expect("bitrate");
        assert_eq!(encoder.config().target_kbps, 50);
        let mut packet = EncodedFrame::default();
        assert!(matches!(
            encoder.encode(&I420Frame::new(32, 18), 0, false, &mut packet),
            Err(VpxError::FrameSize { .. })
        ));
        assert!(
            encoder
                .encode(&I420Frame::new(64, 36), 0, false, &mut packet)
                .expect("encode")
        );
        assert!(matches!(
            Encoder::new(EncoderConfig::new(0, 36, 100)),
            Err(VpxError::InvalidConfig(_))
        ));
    }

    #[test]
    fn garbage_input_to_the_decoder_is_an_error() {
        let mut decoder = Decoder::new().expect("decoder");
        let mut out = I420Frame::default();
        assert_eq!(decoder.decode(&[], &mut out), Err(VpxError::EmptyInput));
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let garbage: Vec<u8> = (0..4000)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        for len in [1, 3, 10, 100, 4000] {
            assert!(
                matches!(
                    decoder.decode(&garbage[..len], &mut out),
                    Err(VpxError::Codec { .. })
                ),
                "{len} bytes of garbage"
            );
        }
        // A truncated real keyframe is refused too, and the decoder still works after.
        let mut encoder = Encoder::new(EncoderConfig::new(64, 36, 100)).expect("encoder");
        let mut packet = EncodedFrame::default();
        encoder
            .encode(&I420Frame::new(64, 36), 0, false, &mut packet)
            .expect("encode");
        assert!(decoder.decode(&packet.data[..5], &mut out).is_err());
        assert!(decoder.decode(&packet.data, &mut out).expect("decode"));
    }

    #[test]
    fn codecs_are_send() {
        fn send<T: Send>() {}
        send::<Encoder>();
        send::<Decoder>();
    }
}
