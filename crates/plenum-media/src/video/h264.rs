//! A small safe H.264 encoder and decoder over the system libopenh264 2.3.1 (Debian
//! `libopenh264-dev`), configured like libwebrtc's OpenH264 use: real-time camera
//! usage, Constrained Baseline (CAVLC, one spatial and one temporal layer, one slice),
//! bitrate rate control with no frame skipping, one thread, keyframes only on demand.
//!
//! The API mirrors [`super::vpx`] (`EncoderConfig`, `Encoder::encode`, `Decoder::decode`,
//! the same [`EncodedFrame`]) so the engine can hold either codec. The bitstream is Annex B
//! (`00 00 00 01` + NAL unit, SPS and PPS before every IDR), which is what RFC 6184
//! packetization (FU-A, STAP-A) starts from.
//!
//! The FFI is declared by hand (no bindgen) for just what is used, from
//! `/usr/include/wels/codec_api.h`, `codec_app_def.h` and `codec_def.h`. Struct layouts
//! are pinned by compile-time size and offset asserts whose numbers come from a C probe
//! compiled against those headers (x86-64 / LP64).
//!
//! This is one of the three modules allowed to use `unsafe` (with `vpx` and `scale`).
//! Soundness rests on: a codec object lives exactly as long as its owner (`Drop`
//! uninitialises and destroys it); every call takes `&mut self`, so libopenh264 never
//! sees concurrent use of an object; pointers into libopenh264-owned memory (encoded
//! layers, decoded planes) are only read before the next call into the same object.

#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_long, c_uint, c_void};
use std::ptr;

use super::frame::{I420Frame, MAX_DIMENSION};
pub use super::vpx::{EncodedFrame, RTP_TIMEBASE};

/// Encoder settings. Defaults follow libwebrtc's `H264EncoderImpl` (real-time camera,
/// Constrained Baseline, bitrate RC without frame skipping, keyframes on demand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Even, so 4:2:0 chroma covers the picture exactly (H.264 crops in 2-pixel units).
    pub width: u32,
    pub height: u32,
    /// Seconds per `pts` unit, as `(num, den)`; default 1/90000.
    pub timebase: (i32, i32),
    /// Nominal frame rate (libopenh264's `fMaxFrameRate`), the rate control's frame budget.
    pub fps: u32,
    pub target_kbps: u32,
}

impl EncoderConfig {
    pub fn new(width: u32, height: u32, target_kbps: u32) -> EncoderConfig {
        EncoderConfig {
            width,
            height,
            timebase: RTP_TIMEBASE,
            fps: 30,
            target_kbps,
        }
    }
}

/// A libopenh264 failure or a refused input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum H264Error {
    /// An encoder or decoder call returned a failure status (`CM_RETURN` or similar).
    #[error("{op} failed with status {status}")]
    Codec { op: &'static str, status: i64 },
    /// The decoder refused the input: `DECODING_STATE` bits (see `codec_app_def.h`).
    #[error("undecodable h.264 ({}; state {state:#x})", describe_state(.state))]
    Decode { state: u32 },
    #[error("invalid encoder config: {0}")]
    InvalidConfig(&'static str),
    #[error("frame is {got:?}, encoder is configured for {expected:?}")]
    FrameSize {
        got: (u32, u32),
        expected: (u32, u32),
    },
    #[error("empty input")]
    EmptyInput,
    #[error("input of {0} bytes is too large")]
    InputTooLarge(usize),
    /// The input held coded slices but no picture came out: a truncated slice, or
    /// missing slices of the picture (libopenh264 reports no error for these).
    #[error("h.264 access unit has slices but decoded to no picture (truncated or incomplete)")]
    IncompletePicture,
    #[error("decoder produced an unsupported image ({0})")]
    UnsupportedImage(&'static str),
    #[error("encoder produced a malformed bitstream ({0})")]
    MalformedOutput(&'static str),
}

/// Names the set bits of a `DECODING_STATE`.
fn describe_state(state: &u32) -> String {
    const NAMES: [(u32, &str); 11] = [
        (ffi::DS_FRAME_PENDING, "frame pending"),
        (ffi::DS_REF_LOST, "reference lost"),
        (ffi::DS_BITSTREAM_ERROR, "bitstream error"),
        (ffi::DS_DEP_LAYER_LOST, "dependent layer lost"),
        (ffi::DS_NO_PARAM_SETS, "no parameter sets"),
        (ffi::DS_DATA_ERROR_CONCEALED, "error concealed"),
        (ffi::DS_REF_LIST_NULL_PTRS, "null references"),
        (ffi::DS_INVALID_ARGUMENT, "invalid argument"),
        (ffi::DS_INITIAL_OPT_EXPECTED, "not initialised"),
        (ffi::DS_OUT_OF_MEMORY, "out of memory"),
        (ffi::DS_DST_BUF_NEED_EXPAN, "output buffer too small"),
    ];
    let names: Vec<&str> = NAMES
        .iter()
        .filter(|(bit, _)| state & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    if names.is_empty() {
        "unknown".to_owned()
    } else {
        names.join(", ")
    }
}

/// Hand-written declarations for the part of libopenh264's C API this module uses.
///
/// C enums are declared as `c_int` (never Rust enums), and C `bool` struct fields as
/// `u8`, so no value libopenh264 writes can be an invalid Rust value.
#[allow(non_snake_case, non_camel_case_types, dead_code)]
mod ffi {
    use std::mem::{offset_of, size_of};
    use std::os::raw::{c_char, c_int, c_long, c_uint, c_void};

    // codec_app_def.h constants.
    pub const MAX_SPATIAL_LAYER_NUM: usize = 4;
    pub const MAX_LAYER_NUM_OF_FRAME: usize = 128;
    /// `(MAX_NAL_UNITS_IN_LAYER - SAVED_NALUNIT_NUM_TMP) / 3` = (128 − 21) / 3.
    pub const MAX_SLICES_NUM_TMP: usize = 35;

    // EUsageType, RC_MODES, EProfileIdc, SliceModeEnum, EParameterSetStrategy.
    pub const CAMERA_VIDEO_REAL_TIME: c_int = 0;
    pub const RC_BITRATE_MODE: c_int = 1;
    pub const PRO_BASELINE: c_int = 66;
    pub const SM_SINGLE_SLICE: c_uint = 0;
    pub const CONSTANT_ID: c_int = 0;
    // ENCODER_OPTION / DECODER_OPTION.
    pub const ENCODER_OPTION_BITRATE: c_int = 5;
    pub const ENCODER_OPTION_TRACE_LEVEL: c_int = 25;
    pub const ENCODER_OPTION_TRACE_CALLBACK: c_int = 26;
    pub const DECODER_OPTION_TRACE_LEVEL: c_int = 9;
    pub const DECODER_OPTION_TRACE_CALLBACK: c_int = 10;
    // LAYER_NUM, ERROR_CON_IDC, VIDEO_BITSTREAM_TYPE.
    pub const SPATIAL_LAYER_0: c_int = 0;
    pub const SPATIAL_LAYER_ALL: c_int = 4;
    pub const ERROR_CON_DISABLE: c_int = 0;
    pub const VIDEO_BITSTREAM_AVC: c_int = 0;
    // WELS_LOG_*.
    pub const WELS_LOG_ERROR: c_int = 1;
    pub const WELS_LOG_WARNING: c_int = 2;
    // codec_def.h: EVideoFormatType, EVideoFrameType, CM_RETURN.
    pub const VIDEO_FORMAT_I420: c_int = 23;
    pub const VIDEO_FRAME_TYPE_IDR: c_int = 1;
    pub const VIDEO_FRAME_TYPE_SKIP: c_int = 4;
    pub const CM_RESULT_SUCCESS: c_int = 0;
    // DECODING_STATE bits.
    pub const DS_FRAME_PENDING: u32 = 0x01;
    pub const DS_REF_LOST: u32 = 0x02;
    pub const DS_BITSTREAM_ERROR: u32 = 0x04;
    pub const DS_DEP_LAYER_LOST: u32 = 0x08;
    pub const DS_NO_PARAM_SETS: u32 = 0x10;
    pub const DS_DATA_ERROR_CONCEALED: u32 = 0x20;
    pub const DS_REF_LIST_NULL_PTRS: u32 = 0x40;
    pub const DS_INVALID_ARGUMENT: u32 = 0x1000;
    pub const DS_INITIAL_OPT_EXPECTED: u32 = 0x2000;
    pub const DS_OUT_OF_MEMORY: u32 = 0x4000;
    pub const DS_DST_BUF_NEED_EXPAN: u32 = 0x8000;

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct SSliceArgument {
        pub uiSliceMode: c_uint,
        pub uiSliceNum: c_uint,
        pub uiSliceMbNum: [c_uint; MAX_SLICES_NUM_TMP],
        pub uiSliceSizeConstraint: c_uint,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct SSpatialLayerConfig {
        pub iVideoWidth: c_int,
        pub iVideoHeight: c_int,
        pub fFrameRate: f32,
        pub iSpatialBitrate: c_int,
        pub iMaxSpatialBitrate: c_int,
        pub uiProfileIdc: c_int,
        pub uiLevelIdc: c_int,
        pub iDLayerQp: c_int,
        pub sSliceArgument: SSliceArgument,
        pub bVideoSignalTypePresent: u8,
        pub uiVideoFormat: u8,
        pub bFullRange: u8,
        pub bColorDescriptionPresent: u8,
        pub uiColorPrimaries: u8,
        pub uiTransferCharacteristics: u8,
        pub uiColorMatrix: u8,
        pub bAspectRatioPresent: u8,
        pub eAspectRatio: c_int,
        pub sAspectRatioExtWidth: u16,
        pub sAspectRatioExtHeight: u16,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct SEncParamExt {
        pub iUsageType: c_int,
        pub iPicWidth: c_int,
        pub iPicHeight: c_int,
        pub iTargetBitrate: c_int,
        pub iRCMode: c_int,
        pub fMaxFrameRate: f32,
        pub iTemporalLayerNum: c_int,
        pub iSpatialLayerNum: c_int,
        pub sSpatialLayers: [SSpatialLayerConfig; MAX_SPATIAL_LAYER_NUM],
        pub iComplexityMode: c_int,
        pub uiIntraPeriod: c_uint,
        pub iNumRefFrame: c_int,
        pub eSpsPpsIdStrategy: c_int,
        pub bPrefixNalAddingCtrl: u8,
        pub bEnableSSEI: u8,
        pub bSimulcastAVC: u8,
        pub iPaddingFlag: c_int,
        pub iEntropyCodingModeFlag: c_int,
        pub bEnableFrameSkip: u8,
        pub iMaxBitrate: c_int,
        pub iMaxQp: c_int,
        pub iMinQp: c_int,
        pub uiMaxNalSize: c_uint,
        pub bEnableLongTermReference: u8,
        pub iLTRRefNum: c_int,
        pub iLtrMarkPeriod: c_uint,
        pub iMultipleThreadIdc: u16,
        pub bUseLoadBalancing: u8,
        pub iLoopFilterDisableIdc: c_int,
        pub iLoopFilterAlphaC0Offset: c_int,
        pub iLoopFilterBetaOffset: c_int,
        pub bEnableDenoise: u8,
        pub bEnableBackgroundDetection: u8,
        pub bEnableAdaptiveQuant: u8,
        pub bEnableFrameCroppingFlag: u8,
        pub bEnableSceneChangeDetect: u8,
        pub bIsLosslessLink: u8,
        pub bFixRCOverShoot: u8,
        pub iIdrBitrateRatio: c_int,
    }

    #[repr(C)]
    pub struct SSourcePicture {
        pub iColorFormat: c_int,
        pub iStride: [c_int; 4],
        pub pData: [*mut u8; 4],
        pub iPicWidth: c_int,
        pub iPicHeight: c_int,
        pub uiTimeStamp: i64,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct SLayerBSInfo {
        pub uiTemporalId: u8,
        pub uiSpatialId: u8,
        pub uiQualityId: u8,
        pub eFrameType: c_int,
        pub uiLayerType: u8,
        pub iSubSeqId: c_int,
        pub iNalCount: c_int,
        pub pNalLengthInByte: *mut c_int,
        pub pBsBuf: *mut u8,
    }

    #[repr(C)]
    pub struct SFrameBSInfo {
        pub iLayerNum: c_int,
        pub sLayerInfo: [SLayerBSInfo; MAX_LAYER_NUM_OF_FRAME],
        pub eFrameType: c_int,
        pub iFrameSizeInBytes: c_int,
        pub uiTimeStamp: i64,
    }

    #[repr(C)]
    pub struct SVideoProperty {
        pub size: c_uint,
        pub eVideoBsType: c_int,
    }

    #[repr(C)]
    pub struct SDecodingParam {
        pub pFileNameRestructed: *mut c_char,
        pub uiCpuLoad: c_uint,
        pub uiTargetDqLayer: u8,
        pub eEcActiveIdc: c_int,
        pub bParseOnly: u8,
        pub sVideoProperty: SVideoProperty,
    }

    /// `SSysMEMBuffer`, the only member of `SBufferInfo::UsrData` (a one-member union).
    #[repr(C)]
    pub struct SSysMEMBuffer {
        pub iWidth: c_int,
        pub iHeight: c_int,
        pub iFormat: c_int,
        pub iStride: [c_int; 2],
    }

    #[repr(C)]
    pub struct SBufferInfo {
        pub iBufferStatus: c_int,
        pub uiInBsTimeStamp: u64,
        pub uiOutYuvTimeStamp: u64,
        pub UsrData: SSysMEMBuffer,
        pub pDst: [*mut u8; 3],
    }

    #[repr(C)]
    pub struct SBitrateInfo {
        pub iLayer: c_int,
        pub iBitrate: c_int,
    }

    /// `void (*)(void* ctx, int level, const char* message)`.
    pub type WelsTraceCallback = unsafe extern "C" fn(*mut c_void, c_int, *const c_char);

    /// The encoder handle: a pointer to the (C++) vtable pointer, `ISVCEncoder*` in C.
    pub type ISVCEncoder = *const ISVCEncoderVtbl;

    /// `ISVCEncoderVtbl` from codec_api.h (the C view of the C++ class's vtable).
    #[repr(C)]
    pub struct ISVCEncoderVtbl {
        pub Initialize: unsafe extern "C" fn(*mut ISVCEncoder, *const c_void) -> c_int,
        pub InitializeExt: unsafe extern "C" fn(*mut ISVCEncoder, *const SEncParamExt) -> c_int,
        pub GetDefaultParams: unsafe extern "C" fn(*mut ISVCEncoder, *mut SEncParamExt) -> c_int,
        pub Uninitialize: unsafe extern "C" fn(*mut ISVCEncoder) -> c_int,
        pub EncodeFrame: unsafe extern "C" fn(
            *mut ISVCEncoder,
            *const SSourcePicture,
            *mut SFrameBSInfo,
        ) -> c_int,
        pub EncodeParameterSets: unsafe extern "C" fn(*mut ISVCEncoder, *mut SFrameBSInfo) -> c_int,
        /// The C header of 2.3.1 omits the C++ method's second parameter
        /// (`int iLayerId = -1`); the implementation reads it, so it is declared and
        /// passed here (fixed upstream in later codec_api.h versions).
        pub ForceIntraFrame: unsafe extern "C" fn(*mut ISVCEncoder, bool, c_int) -> c_int,
        pub SetOption: unsafe extern "C" fn(*mut ISVCEncoder, c_int, *mut c_void) -> c_int,
        pub GetOption: unsafe extern "C" fn(*mut ISVCEncoder, c_int, *mut c_void) -> c_int,
    }

    /// The decoder handle, `ISVCDecoder*` in C.
    pub type ISVCDecoder = *const ISVCDecoderVtbl;

    /// `ISVCDecoderVtbl` from codec_api.h. `DECODING_STATE` returns are read as `c_int`.
    #[repr(C)]
    pub struct ISVCDecoderVtbl {
        pub Initialize: unsafe extern "C" fn(*mut ISVCDecoder, *const SDecodingParam) -> c_long,
        pub Uninitialize: unsafe extern "C" fn(*mut ISVCDecoder) -> c_long,
        pub DecodeFrame: unsafe extern "C" fn(
            *mut ISVCDecoder,
            *const u8,
            c_int,
            *mut *mut u8,
            *mut c_int,
            *mut c_int,
            *mut c_int,
        ) -> c_int,
        pub DecodeFrameNoDelay: unsafe extern "C" fn(
            *mut ISVCDecoder,
            *const u8,
            c_int,
            *mut *mut u8,
            *mut SBufferInfo,
        ) -> c_int,
        pub DecodeFrame2: unsafe extern "C" fn(
            *mut ISVCDecoder,
            *const u8,
            c_int,
            *mut *mut u8,
            *mut SBufferInfo,
        ) -> c_int,
        pub FlushFrame:
            unsafe extern "C" fn(*mut ISVCDecoder, *mut *mut u8, *mut SBufferInfo) -> c_int,
        pub DecodeParser:
            unsafe extern "C" fn(*mut ISVCDecoder, *const u8, c_int, *mut c_void) -> c_int,
        pub DecodeFrameEx: unsafe extern "C" fn(
            *mut ISVCDecoder,
            *const u8,
            c_int,
            *mut u8,
            c_int,
            *mut c_int,
            *mut c_int,
            *mut c_int,
            *mut c_int,
        ) -> c_int,
        pub SetOption: unsafe extern "C" fn(*mut ISVCDecoder, c_int, *mut c_void) -> c_long,
        pub GetOption: unsafe extern "C" fn(*mut ISVCDecoder, c_int, *mut c_void) -> c_long,
    }

    // Linked by build.rs (`cargo:rustc-link-lib=openh264`).
    unsafe extern "C" {
        pub fn WelsCreateSVCEncoder(encoder: *mut *mut ISVCEncoder) -> c_int;
        pub fn WelsDestroySVCEncoder(encoder: *mut ISVCEncoder);
        pub fn WelsCreateDecoder(decoder: *mut *mut ISVCDecoder) -> c_long;
        pub fn WelsDestroyDecoder(decoder: *mut ISVCDecoder);
    }

    // Layouts checked against the headers: sizes and offsets printed by a C probe
    // (`sizeof`/`offsetof`, gcc 12, x86-64) including codec_api.h of libopenh264 2.3.1:
    // SEncParamExt 920, SSpatialLayerConfig 200, SSliceArgument 152, SSourcePicture 72,
    // SFrameBSInfo 5144, SLayerBSInfo 40, SBufferInfo 72, SDecodingParam 32,
    // ISVCEncoderVtbl 72, ISVCDecoderVtbl 80.
    const _: () = {
        assert!(size_of::<SEncParamExt>() == 920);
        assert!(size_of::<SSpatialLayerConfig>() == 200);
        assert!(size_of::<SSliceArgument>() == 152);
        assert!(size_of::<SSourcePicture>() == 72);
        assert!(size_of::<SFrameBSInfo>() == 5144);
        assert!(size_of::<SLayerBSInfo>() == 40);
        assert!(size_of::<SBufferInfo>() == 72);
        assert!(size_of::<SDecodingParam>() == 32);
        assert!(size_of::<ISVCEncoderVtbl>() == 72);
        assert!(size_of::<ISVCDecoderVtbl>() == 80);
        assert!(offset_of!(SSpatialLayerConfig, sSliceArgument) == 32);
        assert!(offset_of!(SSpatialLayerConfig, bVideoSignalTypePresent) == 184);
        assert!(offset_of!(SSpatialLayerConfig, eAspectRatio) == 192);
        assert!(offset_of!(SSpatialLayerConfig, sAspectRatioExtWidth) == 196);
        assert!(offset_of!(SEncParamExt, sSpatialLayers) == 32);
        assert!(offset_of!(SEncParamExt, iComplexityMode) == 832);
        assert!(offset_of!(SEncParamExt, uiIntraPeriod) == 836);
        assert!(offset_of!(SEncParamExt, eSpsPpsIdStrategy) == 844);
        assert!(offset_of!(SEncParamExt, iPaddingFlag) == 852);
        assert!(offset_of!(SEncParamExt, iEntropyCodingModeFlag) == 856);
        assert!(offset_of!(SEncParamExt, bEnableFrameSkip) == 860);
        assert!(offset_of!(SEncParamExt, iMaxBitrate) == 864);
        assert!(offset_of!(SEncParamExt, uiMaxNalSize) == 876);
        assert!(offset_of!(SEncParamExt, iLtrMarkPeriod) == 888);
        assert!(offset_of!(SEncParamExt, iMultipleThreadIdc) == 892);
        assert!(offset_of!(SEncParamExt, bUseLoadBalancing) == 894);
        assert!(offset_of!(SEncParamExt, iLoopFilterDisableIdc) == 896);
        assert!(offset_of!(SEncParamExt, bEnableDenoise) == 908);
        assert!(offset_of!(SEncParamExt, bFixRCOverShoot) == 914);
        assert!(offset_of!(SEncParamExt, iIdrBitrateRatio) == 916);
        assert!(offset_of!(SLayerBSInfo, eFrameType) == 4);
        assert!(offset_of!(SLayerBSInfo, iNalCount) == 16);
        assert!(offset_of!(SLayerBSInfo, pNalLengthInByte) == 24);
        assert!(offset_of!(SLayerBSInfo, pBsBuf) == 32);
        assert!(offset_of!(SFrameBSInfo, sLayerInfo) == 8);
        assert!(offset_of!(SFrameBSInfo, eFrameType) == 5128);
        assert!(offset_of!(SFrameBSInfo, uiTimeStamp) == 5136);
        assert!(offset_of!(SSourcePicture, pData) == 24);
        assert!(offset_of!(SSourcePicture, iPicWidth) == 56);
        assert!(offset_of!(SSourcePicture, uiTimeStamp) == 64);
        assert!(offset_of!(SBufferInfo, uiInBsTimeStamp) == 8);
        assert!(offset_of!(SBufferInfo, UsrData) == 24);
        assert!(offset_of!(SBufferInfo, pDst) == 48);
        assert!(offset_of!(SDecodingParam, uiCpuLoad) == 8);
        assert!(offset_of!(SDecodingParam, uiTargetDqLayer) == 12);
        assert!(offset_of!(SDecodingParam, eEcActiveIdc) == 16);
        assert!(offset_of!(SDecodingParam, bParseOnly) == 20);
        assert!(offset_of!(SDecodingParam, sVideoProperty) == 24);
    };
}

/// libopenh264's log sink: warnings and errors (bad input, mostly) become `debug!`
/// events on this module's target instead of lines on stderr.
///
/// # Safety
///
/// Called by libopenh264 with a NUL-terminated message (or NULL).
unsafe extern "C" fn trace_to_tracing(_ctx: *mut c_void, level: c_int, message: *const c_char) {
    if message.is_null() {
        return;
    }
    // SAFETY: libopenh264 passes a NUL-terminated string it owns for the call's duration.
    let message = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    // Lines read "[OpenH264] this = 0x…, Warning:…": keep what follows the address.
    let message = message.trim_end();
    let message = match message.strip_prefix("[OpenH264] this = ") {
        Some(rest) => rest.split_once(", ").map_or(rest, |(_, text)| text),
        None => message,
    };
    if level <= ffi::WELS_LOG_ERROR {
        tracing::debug!(level = "error", "openh264: {message}");
    } else {
        tracing::trace!(level, "openh264: {message}");
    }
}

/// The trace callback as libopenh264's `SetOption` wants it: a pointer to a variable
/// holding the function pointer (it copies the function pointer out).
static TRACE_CALLBACK: ffi::WelsTraceCallback = trace_to_tracing;

/// `pts` in `timebase` units → milliseconds (libopenh264's `uiTimeStamp` unit).
fn pts_to_ms(pts: i64, (num, den): (i32, i32)) -> i64 {
    let ms = i128::from(pts) * i128::from(num) * 1000 / i128::from(den);
    ms.clamp(0, i128::from(i64::MAX)) as i64
}

// === impl Encoder ===

/// An H.264 encoder. `Send` (libopenh264 objects have no thread affinity and every
/// method takes `&mut self`), not `Sync`.
pub struct Encoder {
    raw: *mut ffi::ISVCEncoder,
    config: EncoderConfig,
    /// libopenh264 writes layer descriptors here (5 KiB, so boxed once, not per frame).
    info: Box<ffi::SFrameBSInfo>,
    /// The last encoded frame; its buffer is reused from frame to frame.
    out: EncodedFrame,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

// SAFETY: the encoder object is plain heap state owned by this value, used from one
// thread at a time (`&mut self`, no `Sync`); with `iMultipleThreadIdc = 1` libopenh264
// starts no threads of its own for it, and it keeps no thread-local state.
unsafe impl Send for Encoder {}

/// Bitrate in bits per second for libopenh264's `int` fields.
fn kbps_to_bps(kbps: u32) -> Result<c_int, H264Error> {
    kbps.checked_mul(1000)
        .and_then(|bps| c_int::try_from(bps).ok())
        .filter(|&bps| bps > 0)
        .ok_or(H264Error::InvalidConfig("bitrate must be 1..=2147483 kbps"))
}

impl Encoder {
    pub fn new(config: EncoderConfig) -> Result<Encoder, H264Error> {
        let valid_size = |n: u32| n > 0 && n <= MAX_DIMENSION && n.is_multiple_of(2);
        if !valid_size(config.width) || !valid_size(config.height) {
            return Err(H264Error::InvalidConfig(
                "width and height must be even and in 2..=16382",
            ));
        }
        let (num, den) = config.timebase;
        if num <= 0 || den <= 0 || config.fps == 0 || config.fps > 240 {
            return Err(H264Error::InvalidConfig(
                "timebase must be positive and fps in 1..=240",
            ));
        }
        let bps = kbps_to_bps(config.target_kbps)?;

        let mut raw: *mut ffi::ISVCEncoder = ptr::null_mut();
        // SAFETY: WelsCreateSVCEncoder writes a new encoder object's address (or leaves
        // NULL) into `raw`, a valid out-pointer.
        let status = unsafe { ffi::WelsCreateSVCEncoder(&mut raw) };
        if status != 0 || raw.is_null() {
            return Err(H264Error::Codec {
                op: "WelsCreateSVCEncoder",
                status: i64::from(status),
            });
        }
        // From here on `encoder`'s Drop destroys the object, on every error path too.
        let mut encoder = Encoder {
            raw,
            config,
            info: Box::new(zeroed_frame_info()),
            out: EncodedFrame::default(),
        };
        encoder.set_trace()?;

        let mut params = std::mem::MaybeUninit::<ffi::SEncParamExt>::zeroed();
        // SAFETY: `raw` is a live encoder; GetDefaultParams fills the whole struct
        // (it is zeroed first anyway, and every field is an integer, float or u8, for
        // which all-zero bytes are valid), so assume_init is sound either way.
        let mut params = unsafe {
            let status = ((**encoder.raw).GetDefaultParams)(encoder.raw, params.as_mut_ptr());
            check("GetDefaultParams", status)?;
            params.assume_init()
        };
        let fps = encoder.config.fps as f32;
        let (w, h) = (
            encoder.config.width as c_int,
            encoder.config.height as c_int,
        );
        params.iUsageType = ffi::CAMERA_VIDEO_REAL_TIME;
        params.iPicWidth = w;
        params.iPicHeight = h;
        params.iTargetBitrate = bps;
        // libwebrtc leaves OpenH264's maximum unspecified (it is not WebRTC's max).
        params.iMaxBitrate = 0;
        params.iRCMode = ffi::RC_BITRATE_MODE;
        params.fMaxFrameRate = fps;
        params.bEnableFrameSkip = 0;
        params.uiIntraPeriod = 0;
        params.uiMaxNalSize = 0;
        params.iMultipleThreadIdc = 1;
        params.eSpsPpsIdStrategy = ffi::CONSTANT_ID;
        params.iEntropyCodingModeFlag = 0;
        params.iTemporalLayerNum = 1;
        params.iSpatialLayerNum = 1;
        params.bPrefixNalAddingCtrl = 0;
        params.bEnableSSEI = 0;
        params.bSimulcastAVC = 0;
        params.iPaddingFlag = 0;
        params.bEnableLongTermReference = 0;
        let layer = &mut params.sSpatialLayers[0];
        layer.iVideoWidth = w;
        layer.iVideoHeight = h;
        layer.fFrameRate = fps;
        layer.iSpatialBitrate = bps;
        layer.iMaxSpatialBitrate = 0;
        layer.uiProfileIdc = ffi::PRO_BASELINE;
        layer.sSliceArgument.uiSliceMode = ffi::SM_SINGLE_SLICE;
        layer.sSliceArgument.uiSliceNum = 1;
        // SAFETY: `raw` is a live, not yet initialised encoder; `params` is a complete
        // SEncParamExt that libopenh264 copies during the call.
        let status = unsafe { ((**encoder.raw).InitializeExt)(encoder.raw, &params) };
        check("InitializeExt", status)?;
        Ok(encoder)
    }

    /// Routes libopenh264's log lines (warnings and errors only) to `tracing`.
    fn set_trace(&mut self) -> Result<(), H264Error> {
        let mut level = ffi::WELS_LOG_WARNING;
        // SAFETY: `raw` is a live encoder; TRACE_LEVEL reads an `int` through the
        // pointer, TRACE_CALLBACK a `WelsTraceCallback` (a static: it outlives the
        // encoder); both are read during the call only.
        unsafe {
            let set = (**self.raw).SetOption;
            let status = set(
                self.raw,
                ffi::ENCODER_OPTION_TRACE_CALLBACK,
                ptr::addr_of!(TRACE_CALLBACK).cast_mut().cast(),
            );
            check("SetOption(TRACE_CALLBACK)", status)?;
            let status = set(
                self.raw,
                ffi::ENCODER_OPTION_TRACE_LEVEL,
                ptr::addr_of_mut!(level).cast(),
            );
            check("SetOption(TRACE_LEVEL)", status)
        }
    }

    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// Changes the rate control's target at runtime (takes effect from the next frame).
    pub fn set_bitrate_kbps(&mut self, kbps: u32) -> Result<(), H264Error> {
        let mut info = ffi::SBitrateInfo {
            iLayer: ffi::SPATIAL_LAYER_ALL,
            iBitrate: kbps_to_bps(kbps)?,
        };
        // SAFETY: the encoder is initialised; ENCODER_OPTION_BITRATE reads an
        // SBitrateInfo through the pointer during the call only.
        let status = unsafe {
            ((**self.raw).SetOption)(
                self.raw,
                ffi::ENCODER_OPTION_BITRATE,
                ptr::addr_of_mut!(info).cast(),
            )
        };
        check("SetOption(BITRATE)", status)?;
        self.config.target_kbps = kbps;
        Ok(())
    }

    /// The first spatial layer's target as libopenh264 holds it, in bits per second.
    #[cfg(test)]
    fn layer_bitrate_bps(&mut self) -> Result<i32, H264Error> {
        let mut info = ffi::SBitrateInfo {
            iLayer: ffi::SPATIAL_LAYER_0,
            iBitrate: 0,
        };
        // SAFETY: the encoder is initialised; GetOption(BITRATE) writes `iBitrate` of
        // the SBitrateInfo it is given.
        let status = unsafe {
            ((**self.raw).GetOption)(
                self.raw,
                ffi::ENCODER_OPTION_BITRATE,
                ptr::addr_of_mut!(info).cast(),
            )
        };
        check("GetOption(BITRATE)", status)?;
        Ok(info.iBitrate)
    }

    /// Encodes one frame (its size must match the config) into the Annex B byte
    /// stream. Returns the encoded frame, whose buffer the encoder reuses on the next
    /// call, or `None` if the rate control skipped the frame (not expected: frame
    /// skipping is off). `force_keyframe` makes this frame an IDR (with SPS and PPS).
    pub fn encode(
        &mut self,
        frame: &I420Frame,
        pts: i64,
        force_keyframe: bool,
    ) -> Result<Option<&EncodedFrame>, H264Error> {
        let expected = (self.config.width, self.config.height);
        if (frame.width(), frame.height()) != expected {
            return Err(H264Error::FrameSize {
                got: (frame.width(), frame.height()),
                expected,
            });
        }
        if force_keyframe {
            // SAFETY: the encoder is initialised; iLayerId −1 means every layer.
            let status = unsafe { ((**self.raw).ForceIntraFrame)(self.raw, true, -1) };
            check("ForceIntraFrame", status)?;
        }
        // libopenh264 takes `*mut` planes but only reads a source picture.
        let picture = ffi::SSourcePicture {
            iColorFormat: ffi::VIDEO_FORMAT_I420,
            iStride: [
                frame.stride_y() as c_int,
                frame.stride_uv() as c_int,
                frame.stride_uv() as c_int,
                0,
            ],
            pData: [
                frame.y().as_ptr().cast_mut(),
                frame.u().as_ptr().cast_mut(),
                frame.v().as_ptr().cast_mut(),
                ptr::null_mut(),
            ],
            iPicWidth: frame.width() as c_int,
            iPicHeight: frame.height() as c_int,
            uiTimeStamp: pts_to_ms(pts, self.config.timebase),
        };
        self.info.iLayerNum = 0;
        self.info.eFrameType = 0;
        // SAFETY: `picture` describes the frame's three planes exactly (I420Frame keeps
        // `plane.len() == stride * rows` with even dimensions, equal to the configured
        // size as checked above); libopenh264 reads them during this call only (it
        // copies into its own reference buffers) and never writes. `info` is a valid,
        // exclusively borrowed SFrameBSInfo it fills in.
        let status = unsafe { ((**self.raw).EncodeFrame)(self.raw, &picture, &mut *self.info) };
        check("EncodeFrame", status)?;

        let out = &mut self.out;
        out.data.clear();
        out.pts = pts;
        out.keyframe = self.info.eFrameType == ffi::VIDEO_FRAME_TYPE_IDR;
        if self.info.eFrameType == ffi::VIDEO_FRAME_TYPE_SKIP {
            return Ok(None);
        }
        let layers = usize::try_from(self.info.iLayerNum)
            .ok()
            .filter(|&n| n <= ffi::MAX_LAYER_NUM_OF_FRAME)
            .ok_or(H264Error::MalformedOutput("layer count"))?;
        for layer in &self.info.sLayerInfo[..layers] {
            let nals = usize::try_from(layer.iNalCount)
                .map_err(|_| H264Error::MalformedOutput("negative NAL count"))?;
            if nals == 0 {
                continue;
            }
            if layer.pNalLengthInByte.is_null() || layer.pBsBuf.is_null() {
                return Err(H264Error::MalformedOutput("missing layer buffer"));
            }
            // SAFETY: for a layer libopenh264 reported, `pNalLengthInByte` points at
            // `iNalCount` ints, valid until the next EncodeFrame (which needs
            // `&mut self`).
            let lengths = unsafe { std::slice::from_raw_parts(layer.pNalLengthInByte, nals) };
            let mut size = 0usize;
            for &len in lengths {
                let len = usize::try_from(len)
                    .map_err(|_| H264Error::MalformedOutput("negative NAL length"))?;
                size = size
                    .checked_add(len)
                    .ok_or(H264Error::MalformedOutput("layer size"))?;
            }
            // SAFETY: the layer's NAL units (each with its start code) lie back to back
            // in `pBsBuf`, `size` bytes in total, in libopenh264's output buffer that
            // stays valid until the next EncodeFrame; we copy out of it now.
            let bytes = unsafe { std::slice::from_raw_parts(layer.pBsBuf, size) };
            out.data.extend_from_slice(bytes);
        }
        if out.data.is_empty() {
            return Ok(None);
        }
        Ok(Some(&self.out))
    }
}

/// An all-zero SFrameBSInfo (null pointers, zero counts).
fn zeroed_frame_info() -> ffi::SFrameBSInfo {
    // SAFETY: every field is an integer or a raw pointer, for which all-zero bytes
    // are a valid value.
    unsafe { std::mem::MaybeUninit::<ffi::SFrameBSInfo>::zeroed().assume_init() }
}

/// Turns a libopenh264 `CM_RETURN`-style status into a result.
fn check(op: &'static str, status: c_int) -> Result<(), H264Error> {
    if status == ffi::CM_RESULT_SUCCESS {
        Ok(())
    } else {
        Err(H264Error::Codec {
            op,
            status: i64::from(status),
        })
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: `raw` came from WelsCreateSVCEncoder and is destroyed exactly once,
        // here. Uninitialize is a no-op on an encoder whose InitializeExt failed or
        // never ran, so it is called unconditionally, as libwebrtc does.
        unsafe {
            ((**self.raw).Uninitialize)(self.raw);
            ffi::WelsDestroySVCEncoder(self.raw);
        }
    }
}

// === impl Decoder ===

/// An H.264 decoder (single-threaded, error concealment off: a damaged frame is an
/// error, not a smeared picture, so the caller asks for a keyframe). `Send`, not
/// `Sync`, for the same reasons as [`Encoder`].
pub struct Decoder {
    raw: *mut ffi::ISVCDecoder,
    /// False only if a re-initialisation failed; `decode` then refuses to run.
    initialized: bool,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").finish_non_exhaustive()
    }
}

// SAFETY: as for Encoder: owned heap state, no thread affinity, `&mut self` access only;
// the decoder runs in the calling thread (DECODER_OPTION_NUM_OF_THREADS stays 0).
unsafe impl Send for Decoder {}

impl Decoder {
    pub fn new() -> Result<Decoder, H264Error> {
        let mut raw: *mut ffi::ISVCDecoder = ptr::null_mut();
        // SAFETY: WelsCreateDecoder writes a new decoder object's address (or leaves
        // NULL) into `raw`, a valid out-pointer.
        let status = unsafe { ffi::WelsCreateDecoder(&mut raw) };
        if status != 0 || raw.is_null() {
            return Err(H264Error::Codec {
                op: "WelsCreateDecoder",
                status: status as i64,
            });
        }
        // From here on `decoder`'s Drop destroys the object.
        let mut decoder = Decoder {
            raw,
            initialized: false,
        };
        let mut level = ffi::WELS_LOG_WARNING;
        // SAFETY: as for the encoder's trace options: the decoder is live, the options
        // read an `int` and a `WelsTraceCallback` (a static) during the call only; both
        // are accepted before Initialize.
        unsafe {
            let set = (**decoder.raw).SetOption;
            let status = set(
                decoder.raw,
                ffi::DECODER_OPTION_TRACE_CALLBACK,
                ptr::addr_of!(TRACE_CALLBACK).cast_mut().cast(),
            );
            check_long("SetOption(TRACE_CALLBACK)", status)?;
            let status = set(
                decoder.raw,
                ffi::DECODER_OPTION_TRACE_LEVEL,
                ptr::addr_of_mut!(level).cast(),
            );
            check_long("SetOption(TRACE_LEVEL)", status)?;
        }
        decoder.initialize()?;
        Ok(decoder)
    }

    /// (Re-)initialises the decoder: all stream state (parameter sets, references, a
    /// half-decoded picture) is dropped.
    fn initialize(&mut self) -> Result<(), H264Error> {
        let params = ffi::SDecodingParam {
            pFileNameRestructed: ptr::null_mut(),
            uiCpuLoad: 0,
            uiTargetDqLayer: u8::MAX,
            eEcActiveIdc: ffi::ERROR_CON_DISABLE,
            bParseOnly: 0,
            sVideoProperty: ffi::SVideoProperty {
                size: std::mem::size_of::<ffi::SVideoProperty>() as c_uint,
                eVideoBsType: ffi::VIDEO_BITSTREAM_AVC,
            },
        };
        // SAFETY: the decoder is live; Uninitialize releases its stream state (a no-op
        // if it was never initialised); `params` is a complete SDecodingParam (no file
        // name) that libopenh264 copies during Initialize.
        let status = unsafe {
            if self.initialized {
                self.initialized = false;
                ((**self.raw).Uninitialize)(self.raw);
            }
            ((**self.raw).Initialize)(self.raw, &params)
        };
        check_long("Initialize", status)?;
        self.initialized = true;
        Ok(())
    }

    /// Decodes one access unit of Annex B byte stream (all of one frame's NAL units, as
    /// RTP depacketization yields them) into `out`, resized as needed with its
    /// allocation reused. Returns `Ok(true)` if a picture was produced, `Ok(false)` if
    /// the input held no coded slice (e.g. parameter sets only), and an error for
    /// corrupt, truncated or undecodable input, including frames whose references are
    /// missing (`out` is then unspecified but valid). The decoder stays usable after an
    /// error; the next IDR (with its SPS and PPS) resynchronises it.
    pub fn decode(&mut self, annexb: &[u8], out: &mut I420Frame) -> Result<bool, H264Error> {
        if annexb.is_empty() {
            return Err(H264Error::EmptyInput);
        }
        if !self.initialized {
            self.initialize()?;
        }
        let len =
            c_int::try_from(annexb.len()).map_err(|_| H264Error::InputTooLarge(annexb.len()))?;
        let mut planes: [*mut u8; 3] = [ptr::null_mut(); 3];
        // SAFETY: all-zero bytes are a valid SBufferInfo (integers and null pointers).
        let mut info: ffi::SBufferInfo = unsafe { std::mem::MaybeUninit::zeroed().assume_init() };
        // SAFETY: the decoder is initialised; `annexb` is a valid slice of `len` bytes
        // that libopenh264 only reads (it copies NAL units into its own buffer);
        // `planes` and `info` are valid out-parameters. The returned state is a bit set
        // read as a plain int.
        let state = unsafe {
            ((**self.raw).DecodeFrameNoDelay)(
                self.raw,
                annexb.as_ptr(),
                len,
                planes.as_mut_ptr(),
                &mut info,
            )
        };
        if state != 0 {
            return Err(H264Error::Decode {
                state: state as u32,
            });
        }
        if info.iBufferStatus != 1 {
            if !has_slice(annexb) {
                return Ok(false);
            }
            // Measured: a P slice cut short at a macroblock boundary decodes "cleanly"
            // to nothing (the rest of the picture could be in slices yet to come), and
            // that half picture then fails the next access unit, even an IDR. A
            // re-initialised decoder takes the next IDR (which repeats SPS and PPS).
            self.initialize()?;
            return Err(H264Error::IncompletePicture);
        }
        let buffer = &info.UsrData;
        if buffer.iFormat != ffi::VIDEO_FORMAT_I420 {
            return Err(H264Error::UnsupportedImage("not I420"));
        }
        let size = |n: c_int| {
            u32::try_from(n)
                .ok()
                .filter(|&n| n > 0 && n <= MAX_DIMENSION)
        };
        let (Some(w), Some(h)) = (size(buffer.iWidth), size(buffer.iHeight)) else {
            return Err(H264Error::UnsupportedImage("size out of range"));
        };
        let (cw, ch) = (w.div_ceil(2) as usize, h.div_ceil(2) as usize);
        let strides = [buffer.iStride[0], buffer.iStride[1], buffer.iStride[1]];
        let plane = |i: usize, width: usize, rows: usize| -> Result<(&[u8], usize), H264Error> {
            let stride = usize::try_from(strides[i])
                .ok()
                .filter(|&s| s >= width)
                .ok_or(H264Error::UnsupportedImage("negative or short stride"))?;
            if planes[i].is_null() {
                return Err(H264Error::UnsupportedImage("missing plane"));
            }
            // SAFETY: libopenh264's decoded I420 picture has `rows` rows of at least
            // `width` samples at `stride` bytes apart from planes[i] (checked stride >=
            // width, non-null); it stays valid until the next decode call, which
            // `&mut self` rules out while the slice lives. The slice ends at the last
            // sample of the last row.
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

/// Whether an Annex B stream holds a coded slice (NAL unit types 1–5).
fn has_slice(annexb: &[u8]) -> bool {
    annexb
        .windows(4)
        .any(|w| w[..3] == [0, 0, 1] && (1..=5).contains(&(w[3] & 0x1f)))
}

/// [`check`] for the decoder's `long` statuses.
#[allow(clippy::unnecessary_cast)] // `c_long` is `i64` only on LP64 targets.
fn check_long(op: &'static str, status: c_long) -> Result<(), H264Error> {
    if status == 0 {
        Ok(())
    } else {
        Err(H264Error::Codec {
            op,
            status: status as i64,
        })
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: `raw` came from WelsCreateDecoder and is destroyed exactly once, here,
        // after releasing its stream state if it holds any.
        unsafe {
            if self.initialized {
                ((**self.raw).Uninitialize)(self.raw);
            }
            ffi::WelsDestroyDecoder(self.raw);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::frame::{Rgb, Yuv};
    use crate::video::rect::Rect;

    /// xorshift64 with a fixed seed: the tests' only randomness.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    const QUADRANTS: [Rgb; 4] = [
        Rgb::new(220, 30, 30),
        Rgb::new(30, 200, 40),
        Rgb::new(40, 60, 220),
        Rgb::new(230, 230, 210),
    ];

    /// Four coloured quadrants (red, green / blue, white) and a small grey block that
    /// moves with `t`, so delta frames carry something.
    fn pattern(w: u32, h: u32, t: u32) -> I420Frame {
        let mut frame = I420Frame::default();
        frame.resize_to(w, h);
        let (hw, hh) = (w / 2, h / 2);
        for (i, color) in QUADRANTS.iter().enumerate() {
            let (x, y) = ((i as u32 % 2) * hw, (i as u32 / 2) * hh);
            frame.fill_rect(Rect::new(x, y, hw, hh), color.to_yuv());
        }
        let size = (w / 16) & !1;
        frame.fill_rect(
            Rect::new(
                ((t * 4) % (w - size)) & !1,
                ((h - size) / 2) & !1,
                size,
                size,
            ),
            Rgb::new(128, 128, 128).to_yuv(),
        );
        frame
    }

    /// A picture of sensor noise over a gradient: expensive to code at any bitrate.
    fn noise(w: u32, h: u32, rng: &mut Rng) -> I420Frame {
        let mut frame = I420Frame::new(w, h);
        let (y, u, v) = frame.planes_mut();
        for (i, s) in y.iter_mut().enumerate() {
            *s = 40 + (i % w as usize * 100 / w as usize) as u8 + (rng.next() % 60) as u8;
        }
        for s in u.iter_mut().chain(v.iter_mut()) {
            *s = 100 + (rng.next() % 40) as u8;
        }
        frame
    }

    /// The mean colour of a rectangle.
    fn mean(frame: &I420Frame, r: Rect) -> Yuv {
        let (mut y, mut u, mut v, mut n) = (0u64, 0u64, 0u64, 0u64);
        for row in r.y..r.y + r.h {
            for col in r.x..r.x + r.w {
                let p = frame.pixel(col, row);
                (y, u, v, n) = (
                    y + u64::from(p.y),
                    u + u64::from(p.u),
                    v + u64::from(p.v),
                    n + 1,
                );
            }
        }
        Yuv {
            y: (y / n) as u8,
            u: (u / n) as u8,
            v: (v / n) as u8,
        }
    }

    fn close(a: Yuv, b: Yuv, tolerance: u8) -> bool {
        a.y.abs_diff(b.y) <= tolerance
            && a.u.abs_diff(b.u) <= tolerance
            && a.v.abs_diff(b.v) <= tolerance
    }

    /// NAL unit types of an Annex B stream, in order; `None` if it does not start with
    /// a start code.
    fn nal_types(stream: &[u8]) -> Option<Vec<u8>> {
        if !stream.starts_with(&[0, 0, 1]) && !stream.starts_with(&[0, 0, 0, 1]) {
            return None;
        }
        let mut types = Vec::new();
        let mut i = 0;
        while i + 3 < stream.len() {
            if stream[i..i + 3] == [0, 0, 1] {
                types.push(stream[i + 3] & 0x1f);
                i += 3;
            } else {
                i += 1;
            }
        }
        Some(types)
    }

    /// The NAL units of an Annex B stream without their start codes.
    fn nal_units(stream: &[u8]) -> Vec<&[u8]> {
        let mut starts = Vec::new();
        let mut i = 0;
        while i + 3 <= stream.len() {
            if stream[i..i + 3] == [0, 0, 1] {
                starts.push(i + 3);
                i += 3;
            } else {
                i += 1;
            }
        }
        starts
            .iter()
            .enumerate()
            .map(|(k, &s)| {
                let mut end = starts.get(k + 1).map_or(stream.len(), |&n| n - 3);
                while end > s && stream[end - 1] == 0 {
                    end -= 1;
                }
                &stream[s..end]
            })
            .collect()
    }

    /// Encodes `count` frames of the pattern, forcing keyframes at `forced`.
    fn encode_clip(w: u32, h: u32, kbps: u32, count: u32, forced: &[u32]) -> Vec<EncodedFrame> {
        let mut encoder = Encoder::new(EncoderConfig::new(w, h, kbps)).expect("encoder");
        (0..count)
            .map(|t| {
                encoder
                    .encode(&pattern(w, h, t), i64::from(t) * 3000, forced.contains(&t))
                    .expect("encode")
                    .expect("not skipped")
                    .clone()
            })
            .collect()
    }

    /// Measured: every quadrant's mean decodes within 1 of the source, keyframe and
    /// delta frames alike.
    fn round_trip(w: u32, h: u32, kbps: u32) {
        let clip = encode_clip(w, h, kbps, 10, &[]);
        let mut decoder = Decoder::new().expect("decoder");
        let mut decoded = I420Frame::default();
        for (i, packet) in clip.iter().enumerate() {
            assert_eq!(packet.pts, i as i64 * 3000);
            assert!(
                decoder.decode(&packet.data, &mut decoded).expect("decode"),
                "frame {i} decodes to a picture"
            );
            assert_eq!((decoded.width(), decoded.height()), (w, h));
            // Quadrant interiors, away from the edges and from the moving block.
            let (hw, hh) = (w / 2, h / 2);
            for (q, color) in QUADRANTS.iter().enumerate() {
                let (x, y) = ((q as u32 % 2) * hw, (q as u32 / 2) * hh);
                let inner = if q < 2 {
                    Rect::new(x + hw / 8, y + hh / 8, hw * 3 / 4, hh / 2)
                } else {
                    Rect::new(x + hw / 8, y + hh * 3 / 8, hw * 3 / 4, hh / 2)
                };
                let got = mean(&decoded, inner);
                let want = color.to_yuv();
                assert!(
                    close(got, want, 4),
                    "{w}x{h} frame {i} quadrant {q}: {got:?} vs {want:?}"
                );
            }
        }
    }

    #[test]
    fn h264_pattern_round_trips_at_320x180() {
        round_trip(320, 180, 300);
    }

    #[test]
    fn h264_pattern_round_trips_at_640x360() {
        round_trip(640, 360, 600);
    }

    #[test]
    fn h264_keyframes_come_first_and_on_demand_with_sps_pps_idr() {
        let clip = encode_clip(160, 90, 200, 6, &[4]);
        let keyframes: Vec<bool> = clip.iter().map(|f| f.keyframe).collect();
        assert_eq!(keyframes, [true, false, false, false, true, false]);
        for (i, frame) in clip.iter().enumerate() {
            let types = nal_types(&frame.data).expect("Annex B start code");
            assert!(frame.data.starts_with(&[0, 0, 0, 1]), "frame {i}");
            if frame.keyframe {
                assert_eq!(types, [7, 8, 5], "frame {i}");
                // Constrained Baseline: profile_idc 66, constraint_set1_flag set.
                let sps = nal_units(&frame.data)[0];
                assert_eq!(sps[1], 66, "profile_idc");
                assert_ne!(sps[2] & 0x40, 0, "constraint_set1_flag");
            } else {
                assert_eq!(types, [1], "frame {i}");
            }
        }
    }

    /// Measured on this noise: 20 frames take 8364 bytes at 100 kbps (418 per frame,
    /// the target's 417) and 76870 after the change to 1000 kbps.
    #[test]
    fn h264_bitrate_changes_at_runtime() {
        let mut encoder = Encoder::new(EncoderConfig::new(320, 180, 100)).expect("encoder");
        assert_eq!(encoder.layer_bitrate_bps(), Ok(100_000));
        let mut rng = Rng(0x5eed_0000_0000_0264);
        let mut bytes = |encoder: &mut Encoder, from: i64| -> usize {
            (from..from + 30)
                .map(|t| {
                    let frame = noise(320, 180, &mut rng);
                    let out = encoder.encode(&frame, t * 3000, false).expect("encode");
                    out.map_or(0, |f| f.data.len())
                })
                .skip(10)
                .sum()
        };
        let low = bytes(&mut encoder, 0);
        encoder.set_bitrate_kbps(1000).expect("bitrate");
        assert_eq!(encoder.config().target_kbps, 1000);
        assert_eq!(encoder.layer_bitrate_bps(), Ok(1_000_000));
        let high = bytes(&mut encoder, 30);
        assert!(
            high > 3 * low,
            "20 frames: {low} bytes at 100 kbps, {high} at 1000"
        );
        assert!(matches!(
            encoder.set_bitrate_kbps(0),
            Err(H264Error::InvalidConfig(_))
        ));
        assert_eq!(encoder.config().target_kbps, 1000);
    }

    #[test]
    fn h264_wrong_sizes_and_configs_are_errors() {
        let mut encoder = Encoder::new(EncoderConfig::new(64, 36, 100)).expect("encoder");
        assert!(matches!(
            encoder.encode(&I420Frame::new(32, 18), 0, false),
            Err(H264Error::FrameSize { .. })
        ));
        assert!(encoder.encode(&I420Frame::new(64, 36), 0, false).is_ok());
        for config in [
            EncoderConfig::new(0, 36, 100),
            EncoderConfig::new(63, 36, 100),
            EncoderConfig::new(64, 36, 0),
            EncoderConfig {
                fps: 0,
                ..EncoderConfig::new(64, 36, 100)
            },
        ] {
            assert!(
                matches!(
                    Encoder::new(config.clone()),
                    Err(H264Error::InvalidConfig(_))
                ),
                "{config:?}"
            );
        }
    }

    /// A decoder that has seen garbage still decodes a real keyframe.
    fn still_decodes(decoder: &mut Decoder, keyframe: &EncodedFrame, w: u32, h: u32) {
        let mut out = I420Frame::default();
        assert_eq!(decoder.decode(&keyframe.data, &mut out), Ok(true));
        assert_eq!((out.width(), out.height()), (w, h));
    }

    #[test]
    fn h264_random_bytes_are_errors() {
        let keyframe = &encode_clip(64, 36, 100, 1, &[])[0];
        let mut decoder = Decoder::new().expect("decoder");
        let mut out = I420Frame::default();
        assert_eq!(decoder.decode(&[], &mut out), Err(H264Error::EmptyInput));
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let garbage = rng.bytes(4000);
        for len in [1, 3, 10, 100, 4000] {
            assert!(
                matches!(
                    decoder.decode(&garbage[..len], &mut out),
                    Err(H264Error::Decode { .. })
                ),
                "{len} bytes of garbage"
            );
        }
        // Random NAL units behind start codes reach the NAL parsers; none may yield a
        // picture.
        for round in 0..200 {
            let mut stream = Vec::new();
            for _ in 0..1 + rng.next() % 4 {
                stream.extend_from_slice(&[0, 0, 0, 1]);
                let len = 1 + (rng.next() % 300) as usize;
                stream.extend(rng.bytes(len));
            }
            let result = decoder.decode(&stream, &mut out);
            assert!(
                matches!(
                    result,
                    Err(H264Error::Decode { .. } | H264Error::IncompletePicture) | Ok(false)
                ),
                "round {round}: {result:?}"
            );
        }
        still_decodes(&mut decoder, keyframe, 64, 36);
    }

    /// Every frame of a clip (an IDR, then P frames) cut short, after its intact
    /// predecessors, is an error. Measured: most cuts are bitstream errors (a cut SPS
    /// leaves "no parameter sets"); a P slice cut at a macroblock boundary is an
    /// incomplete picture. (A bare NAL header with nothing after it is ignored.)
    #[test]
    fn h264_truncated_frames_are_errors() {
        let clip = encode_clip(160, 90, 200, 8, &[]);
        let mut out = I420Frame::default();
        for (i, frame) in clip.iter().enumerate() {
            let len = frame.data.len();
            for cut in [9, len / 3, len / 2, len - 1] {
                let mut decoder = Decoder::new().expect("decoder");
                for earlier in &clip[..i] {
                    assert_eq!(decoder.decode(&earlier.data, &mut out), Ok(true));
                }
                let result = decoder.decode(&frame.data[..cut], &mut out);
                assert!(
                    matches!(
                        result,
                        Err(H264Error::Decode { .. } | H264Error::IncompletePicture)
                    ),
                    "frame {i} cut at {cut} of {len}: {result:?}"
                );
                still_decodes(&mut decoder, &clip[0], 160, 90);
            }
        }
    }

    /// Writes an SPS NAL unit (Baseline, level 3.1) for a `mbs_w`×`mbs_h` picture,
    /// with emulation prevention.
    fn sps(mbs_w: u32, mbs_h: u32) -> Vec<u8> {
        fn put(bits: &mut Vec<bool>, value: u32, n: u32) {
            bits.extend((0..n).rev().map(|i| value >> i & 1 == 1));
        }
        fn ue(bits: &mut Vec<bool>, value: u32) {
            let v = value + 1;
            let n = 32 - v.leading_zeros();
            bits.extend(std::iter::repeat_n(false, n as usize - 1));
            put(bits, v, n);
        }
        let mut bits: Vec<bool> = Vec::new();
        put(&mut bits, 66, 8); // profile_idc
        put(&mut bits, 0xc0, 8); // constraint flags
        put(&mut bits, 31, 8); // level_idc
        ue(&mut bits, 0); // seq_parameter_set_id
        ue(&mut bits, 0); // log2_max_frame_num_minus4
        ue(&mut bits, 2); // pic_order_cnt_type
        ue(&mut bits, 1); // max_num_ref_frames
        put(&mut bits, 0, 1); // gaps_in_frame_num_value_allowed_flag
        ue(&mut bits, mbs_w - 1);
        ue(&mut bits, mbs_h - 1);
        put(&mut bits, 1, 1); // frame_mbs_only_flag
        put(&mut bits, 1, 1); // direct_8x8_inference_flag
        put(&mut bits, 0, 1); // frame_cropping_flag
        put(&mut bits, 0, 1); // vui_parameters_present_flag
        put(&mut bits, 1, 1); // rbsp_stop_one_bit
        while !bits.len().is_multiple_of(8) {
            bits.push(false);
        }
        let mut nal = vec![0, 0, 0, 1, 0x67];
        let mut zeros = 0;
        for byte in bits.chunks(8) {
            let b = byte.iter().fold(0u8, |acc, &bit| acc << 1 | u8::from(bit));
            if zeros >= 2 && b <= 3 {
                nal.push(3);
                zeros = 0;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            nal.push(b);
        }
        nal
    }

    #[test]
    fn h264_sps_with_absurd_size_is_an_error() {
        let keyframe = &encode_clip(64, 36, 100, 1, &[])[0];
        // The keyframe's own PPS and IDR slice, behind a replaced SPS.
        let units = nal_units(&keyframe.data);
        assert_eq!(units.len(), 3);
        let mut decoder = Decoder::new().expect("decoder");
        let mut out = I420Frame::default();
        for (w, h) in [(1000, 1000), (5000, 2), (2, 5000), (200_000, 200_000)] {
            let mut stream = sps(w, h);
            for unit in &units[1..] {
                stream.extend_from_slice(&[0, 0, 0, 1]);
                stream.extend_from_slice(unit);
            }
            let result = decoder.decode(&stream, &mut out);
            assert!(
                matches!(result, Err(H264Error::Decode { .. })),
                "{w}x{h} macroblocks: {result:?}"
            );
        }
        still_decodes(&mut decoder, keyframe, 64, 36);
    }

    #[test]
    fn h264_resolution_changing_every_frame_resizes_the_output() {
        let sizes = [
            (320, 180),
            (64, 36),
            (640, 360),
            (176, 144),
            (320, 180),
            (96, 96),
        ];
        let mut decoder = Decoder::new().expect("decoder");
        let mut out = I420Frame::default();
        for (i, &(w, h)) in sizes.iter().cycle().take(12).enumerate() {
            let frame = &encode_clip(w, h, 200, 1, &[])[0];
            assert!(frame.keyframe);
            assert_eq!(decoder.decode(&frame.data, &mut out), Ok(true), "frame {i}");
            assert_eq!((out.width(), out.height()), (w, h), "frame {i}");
            let got = mean(&out, Rect::new(w / 8, h / 8, w / 4, h / 4));
            assert!(close(got, QUADRANTS[0].to_yuv(), 6), "frame {i}: {got:?}");
        }
    }

    #[test]
    fn h264_delta_frame_without_its_keyframe_is_an_error() {
        let clip = encode_clip(160, 90, 200, 3, &[]);
        let mut decoder = Decoder::new().expect("decoder");
        let mut out = I420Frame::default();
        assert!(matches!(
            decoder.decode(&clip[2].data, &mut out),
            Err(H264Error::Decode { .. })
        ));
        still_decodes(&mut decoder, &clip[0], 160, 90);
    }

    #[test]
    fn h264_codecs_are_send() {
        fn send<T: Send>() {}
        send::<Encoder>();
        send::<Decoder>();
    }
}
