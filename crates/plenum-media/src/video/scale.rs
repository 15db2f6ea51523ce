//! SIMD scaling of I420 pictures through libyuv's `I420Scale`: a safe wrapper that
//! scales a source rectangle into a sub-rectangle of a destination frame (a tile of
//! the canvas) without touching anything outside it.
//!
//! Filter choice: the compositor uses [`Filter::Bilinear`], and [`Filter::Box`] only for
//! exact quarter-size downscales. Measured per luma+chroma tile (`scale_tile` bench,
//! thread CPU time): bilinear is the cheapest proper filter for upscales (529 µs for
//! 640×360 → 1098×618; point sampling 324 µs but blocky) and non-integer downscales
//! (28 µs for 640×360 → 182×102, box 76 µs); at exactly 1/4 libyuv's box has a
//! dedicated path (25 µs vs bilinear 81 µs for 1280×720 → 320×180). libyuv itself
//! turns box into bilinear when a side shrinks by less than 2×.
//!
//! This is one of the two modules allowed to use `unsafe` (the other is `vpx`): every
//! pointer handed to C is derived from a slice whose length has been checked against
//! the exact extent libyuv will read or write.

#![allow(unsafe_code)]

use std::os::raw::c_int;

use super::frame::I420Frame;
use super::rect::Rect;

// Linked by build.rs (`cargo:rustc-link-lib=yuv`); signature from
// /usr/include/libyuv/scale.h (libyuv 0.0~git20230123).
unsafe extern "C" {
    fn I420Scale(
        src_y: *const u8,
        src_stride_y: c_int,
        src_u: *const u8,
        src_stride_u: c_int,
        src_v: *const u8,
        src_stride_v: c_int,
        src_width: c_int,
        src_height: c_int,
        dst_y: *mut u8,
        dst_stride_y: c_int,
        dst_u: *mut u8,
        dst_stride_u: c_int,
        dst_v: *mut u8,
        dst_stride_v: c_int,
        dst_width: c_int,
        dst_height: c_int,
        filtering: c_int,
    ) -> c_int;
}

/// libyuv's `FilterMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Filter {
    /// Point sampling (`kFilterNone`): fastest, blocky.
    None,
    /// Horizontal-only filtering (`kFilterLinear`).
    Linear,
    /// Bilinear (`kFilterBilinear`): the compositor's default.
    #[default]
    Bilinear,
    /// Box averaging (`kFilterBox`): best for large downscales.
    Box,
}

impl Filter {
    fn mode(self) -> c_int {
        match self {
            Filter::None => 0,
            Filter::Linear => 1,
            Filter::Bilinear => 2,
            Filter::Box => 3,
        }
    }
}

/// Why a scale was refused (nothing was written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScaleError {
    #[error("empty {which} rectangle {rect:?}")]
    Empty { which: &'static str, rect: Rect },
    #[error("{which} rectangle {rect:?} has an odd origin (chroma would be misaligned)")]
    OddOrigin { which: &'static str, rect: Rect },
    #[error("{which} rectangle {rect:?} is outside the {width}x{height} frame")]
    OutOfBounds {
        which: &'static str,
        rect: Rect,
        width: u32,
        height: u32,
    },
    #[error("libyuv I420Scale failed with {0}")]
    Failed(i32),
}

/// One plane's window: byte offset of the first sample, stride, and extent.
struct Window {
    offset: usize,
    stride: usize,
    width: usize,
    height: usize,
}

impl Window {
    /// The number of bytes from the window's first sample to one past its last.
    fn span(&self) -> usize {
        (self.height - 1) * self.stride + self.width
    }

    /// True if the window lies inside a plane of `len` bytes, rows not wrapping.
    fn fits(&self, len: usize) -> bool {
        self.width > 0
            && self.height > 0
            && self.width <= self.stride
            && self
                .offset
                .checked_add(self.span())
                .is_some_and(|end| end <= len)
    }
}

/// The luma and chroma windows of `rect` in `frame`, after validating the rectangle.
fn windows(
    which: &'static str,
    frame: &I420Frame,
    rect: Rect,
) -> Result<(Window, Window), ScaleError> {
    if rect.is_empty() {
        return Err(ScaleError::Empty { which, rect });
    }
    if !rect.x.is_multiple_of(2) || !rect.y.is_multiple_of(2) {
        return Err(ScaleError::OddOrigin { which, rect });
    }
    let out_of_bounds = || ScaleError::OutOfBounds {
        which,
        rect,
        width: frame.width(),
        height: frame.height(),
    };
    if !rect.fits_in(frame.width(), frame.height()) {
        return Err(out_of_bounds());
    }
    let luma = Window {
        offset: rect.y as usize * frame.stride_y() + rect.x as usize,
        stride: frame.stride_y(),
        width: rect.w as usize,
        height: rect.h as usize,
    };
    // libyuv reads/writes ceil(w/2) × ceil(h/2) chroma samples from (x/2, y/2).
    let chroma = Window {
        offset: (rect.y / 2) as usize * frame.stride_uv() + (rect.x / 2) as usize,
        stride: frame.stride_uv(),
        width: rect.w.div_ceil(2) as usize,
        height: rect.h.div_ceil(2) as usize,
    };
    let fits =
        luma.fits(frame.y().len()) && chroma.fits(frame.u().len()) && chroma.fits(frame.v().len());
    if !fits {
        return Err(out_of_bounds());
    }
    Ok((luma, chroma))
}

/// Converts a dimension already bounded by `MAX_DIMENSION` (or a stride of at most
/// that many bytes) to C's `int`.
fn int(n: usize) -> c_int {
    c_int::try_from(n).expect("frame dimensions and strides are at most MAX_DIMENSION")
}

/// Scales the `src_rect` part of `src` into the `dst_rect` part of `dst`. Pixels of
/// `dst` outside `dst_rect` are not touched. Both rectangles need even origins and
/// must lie inside their frames; sizes may differ in any direction (up, down, or
/// equal, which is a copy).
pub fn scale_into(
    src: &I420Frame,
    src_rect: Rect,
    dst: &mut I420Frame,
    dst_rect: Rect,
    filter: Filter,
) -> Result<(), ScaleError> {
    let (sy, sc) = windows("source", src, src_rect)?;
    let (dy, dc) = windows("destination", dst, dst_rect)?;
    let (src_y, src_u, src_v) = (
        &src.y()[sy.offset..],
        &src.u()[sc.offset..],
        &src.v()[sc.offset..],
    );
    let (dst_y, dst_u, dst_v) = dst.planes_mut();
    let (dst_y, dst_u, dst_v) = (
        &mut dst_y[dy.offset..],
        &mut dst_u[dc.offset..],
        &mut dst_v[dc.offset..],
    );
    // SAFETY: `windows` checked that each source window (ceil(w/2)×ceil(h/2) for
    // chroma, which is what I420Scale derives from src_width/src_height) starts at the
    // slice's first byte and spans at most `(h-1)*stride + w` bytes of it, with
    // `w <= stride`; the same holds for the destination windows, so libyuv reads and
    // writes only inside these slices. Source and destination cannot alias: `src` is
    // borrowed shared and `dst` exclusively. The slices outlive the call, and libyuv
    // keeps no pointer after returning. Every int is bounded by MAX_DIMENSION.
    let rc = unsafe {
        I420Scale(
            src_y.as_ptr(),
            int(sy.stride),
            src_u.as_ptr(),
            int(sc.stride),
            src_v.as_ptr(),
            int(sc.stride),
            int(sy.width),
            int(sy.height),
            dst_y.as_mut_ptr(),
            int(dy.stride),
            dst_u.as_mut_ptr(),
            int(dc.stride),
            dst_v.as_mut_ptr(),
            int(dc.stride),
            int(dy.width),
            int(dy.height),
            filter.mode(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(ScaleError::Failed(rc))
    }
}

/// Scales all of `src` into `dst_rect` of `dst` (see [`scale_into`]).
pub fn scale_frame_into(
    src: &I420Frame,
    dst: &mut I420Frame,
    dst_rect: Rect,
    filter: Filter,
) -> Result<(), ScaleError> {
    scale_into(src, src.rect(), dst, dst_rect, filter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::frame::Rgb;

    const RED: Rgb = Rgb::new(255, 0, 0);
    const BLUE: Rgb = Rgb::new(0, 0, 255);

    #[test]
    fn scaling_into_a_sub_rect_leaves_the_rest_of_the_canvas_untouched() {
        let mut canvas = I420Frame::solid_rgb(64, 36, BLUE);
        let before = canvas.clone();
        let tile = Rect::new(10, 8, 20, 12);
        scale_frame_into(
            &I420Frame::solid_rgb(64, 36, RED),
            &mut canvas,
            tile,
            Filter::Bilinear,
        )
        .expect("in bounds");
        for y in 0..36 {
            for x in 0..64 {
                let inside = (10..30).contains(&x) && (8..20).contains(&y);
                let expected = if inside {
                    RED.to_yuv()
                } else {
                    before.pixel(x, y)
                };
                assert_eq!(canvas.pixel(x, y), expected, "pixel ({x}, {y})");
            }
        }
    }

    #[test]
    fn upscale_downscale_and_copy_keep_a_solid_colour() {
        for (sw, sh, dw, dh) in [(32, 18, 96, 54), (96, 54, 16, 10), (20, 12, 20, 12)] {
            for filter in [Filter::None, Filter::Linear, Filter::Bilinear, Filter::Box] {
                let mut dst = I420Frame::new(dw, dh);
                scale_frame_into(
                    &I420Frame::solid_rgb(sw, sh, RED),
                    &mut dst,
                    Rect::new(0, 0, dw, dh),
                    filter,
                )
                .expect("in bounds");
                // libyuv's box filter truncates its fixed-point average on
                // non-integer ratios (96x54→16x10 gives 81/89/239 for 82/90/240);
                // the other filters are exact on a flat colour.
                let tolerance = if filter == Filter::Box { 1 } else { 0 };
                let red = RED.to_yuv();
                for (x, y) in (0..dh).flat_map(|y| (0..dw).map(move |x| (x, y))) {
                    let got = dst.pixel(x, y);
                    let ok = got.y.abs_diff(red.y) <= tolerance
                        && got.u.abs_diff(red.u) <= tolerance
                        && got.v.abs_diff(red.v) <= tolerance;
                    assert!(ok, "{sw}x{sh}→{dw}x{dh} {filter:?} ({x}, {y}): {got:?}");
                }
            }
        }
    }

    #[test]
    fn a_source_crop_selects_that_part_of_the_source() {
        // Left half red, right half blue; crop the right half.
        let mut src = I420Frame::solid_rgb(32, 16, RED);
        src.fill_rect(Rect::new(16, 0, 16, 16), BLUE.to_yuv());
        let mut dst = I420Frame::new(8, 8);
        scale_into(
            &src,
            Rect::new(16, 0, 16, 16),
            &mut dst,
            Rect::new(0, 0, 8, 8),
            Filter::Box,
        )
        .expect("in bounds");
        assert_eq!(dst, I420Frame::solid_rgb(8, 8, BLUE));
    }

    #[test]
    fn odd_sized_sources_scale_without_reading_past_their_planes() {
        let mut dst = I420Frame::new(16, 10);
        scale_frame_into(
            &I420Frame::solid_rgb(7, 5, RED),
            &mut dst,
            Rect::new(0, 0, 16, 10),
            Filter::Bilinear,
        )
        .expect("in bounds");
        assert_eq!(dst.pixel(15, 9), RED.to_yuv());
    }

    #[test]
    fn rectangles_outside_the_frame_or_misaligned_are_refused() {
        let src = I420Frame::new(16, 16);
        let mut dst = I420Frame::new(16, 16);
        let untouched = dst.clone();
        for rect in [
            Rect::new(8, 8, 10, 8),
            Rect::new(0, 0, 16, 18),
            Rect::new(u32::MAX - 1, 0, 4, 4),
        ] {
            assert!(matches!(
                scale_frame_into(&src, &mut dst, rect, Filter::Bilinear),
                Err(ScaleError::OutOfBounds { .. })
            ));
        }
        assert!(matches!(
            scale_frame_into(&src, &mut dst, Rect::new(1, 0, 4, 4), Filter::Bilinear),
            Err(ScaleError::OddOrigin { .. })
        ));
        assert!(matches!(
            scale_frame_into(&src, &mut dst, Rect::new(0, 0, 0, 4), Filter::Bilinear),
            Err(ScaleError::Empty { .. })
        ));
        assert!(matches!(
            scale_frame_into(
                &I420Frame::default(),
                &mut dst,
                Rect::new(0, 0, 4, 4),
                Filter::Bilinear
            ),
            Err(ScaleError::Empty { .. })
        ));
        assert_eq!(dst, untouched);
    }
}
