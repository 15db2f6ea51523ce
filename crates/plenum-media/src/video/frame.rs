//! I420 frames: the planar 4:2:0 picture every video kernel reads and writes, its
//! colours (BT.601 limited range, as WebRTC's VP8 uses), and buffer reuse.
//!
//! A frame owns three tightly packed planes (`stride == width` for luma,
//! `stride == (width + 1) / 2` for chroma). The invariant `plane.len() == stride * rows`
//! always holds and is what the FFI modules rely on (they still re-check sizes).
//! Canvases are even-sized; decoded frames may be odd-sized, in which case chroma is
//! rounded up, as in libvpx and libyuv.
//!
//! Reuse: [`I420Frame::resize_to`] changes the dimensions but keeps the allocations,
//! so a compositor or decoder that writes into the same frame every tick allocates
//! nothing once the largest size has been seen.

use super::rect::Rect;

/// Largest width or height a frame may have: VP8's 14-bit limit. Keeps every plane
/// offset comfortably inside `i32` for the C libraries.
pub const MAX_DIMENSION: u32 = 16_383;

/// One pixel's colour in limited-range BT.601 YUV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Yuv {
    pub y: u8,
    pub u: u8,
    pub v: u8,
}

/// An sRGB colour, converted to YUV with [`Rgb::to_yuv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Rgb {
    pub const fn new(r: u8, g: u8, b: u8) -> Rgb {
        Rgb { r, g, b }
    }

    /// BT.601 limited range, 8-bit fixed point (the libyuv/WebRTC matrix):
    /// red → (82, 90, 240), blue → (41, 240, 110), black → (16, 128, 128).
    pub const fn to_yuv(self) -> Yuv {
        let (r, g, b) = (self.r as i32, self.g as i32, self.b as i32);
        let y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
        let u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
        let v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
        Yuv {
            y: y as u8,
            u: u as u8,
            v: v as u8,
        }
    }
}

impl From<Rgb> for Yuv {
    fn from(rgb: Rgb) -> Yuv {
        rgb.to_yuv()
    }
}

/// A planar YUV 4:2:0 picture with 8-bit samples.
#[derive(Clone, PartialEq, Eq)]
pub struct I420Frame {
    width: u32,
    height: u32,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

impl std::fmt::Debug for I420Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("I420Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

impl Default for I420Frame {
    /// An empty 0×0 frame: allocates nothing; grow it with [`I420Frame::resize_to`].
    fn default() -> I420Frame {
        I420Frame {
            width: 0,
            height: 0,
            y: Vec::new(),
            u: Vec::new(),
            v: Vec::new(),
        }
    }
}

/// Chroma size for a luma size: rounded up (an odd edge still gets a chroma sample).
const fn chroma(n: u32) -> u32 {
    n.div_ceil(2)
}

impl I420Frame {
    /// A black frame (Y 16, U/V 128).
    ///
    /// Panics if a dimension exceeds [`MAX_DIMENSION`]: sizes come from the layout
    /// or from a decoder (whose bitstream cannot express more), so a larger one is a bug.
    pub fn new(width: u32, height: u32) -> I420Frame {
        I420Frame::solid(width, height, Rgb::new(0, 0, 0).to_yuv())
    }

    /// A frame filled with one YUV colour.
    pub fn solid(width: u32, height: u32, color: Yuv) -> I420Frame {
        let mut frame = I420Frame::default();
        frame.resize_to(width, height);
        frame.fill(color);
        frame
    }

    /// A frame filled with one RGB colour.
    pub fn solid_rgb(width: u32, height: u32, color: Rgb) -> I420Frame {
        I420Frame::solid(width, height, color.to_yuv())
    }

    /// Becomes a `width`×`height` copy of a decoder's picture given as three strided
    /// planes (`(samples, stride)` each, Y then U then V; chroma rounded up): how the
    /// codec wrappers hand out what libvpx and libopenh264 decoded.
    pub fn copy_from_planes(&mut self, width: u32, height: u32, planes: [(&[u8], usize); 3]) {
        let (cw, ch) = (width.div_ceil(2) as usize, height.div_ceil(2) as usize);
        self.resize_to(width, height);
        let (ys, cs) = (self.stride_y(), self.stride_uv());
        let (oy, ou, ov) = self.planes_mut();
        let [(y, y_stride), (u, u_stride), (v, v_stride)] = planes;
        copy_rows(y, y_stride, oy, ys, width as usize, height as usize);
        copy_rows(u, u_stride, ou, cs, cw, ch);
        copy_rows(v, v_stride, ov, cs, cw, ch);
    }

    /// Changes the dimensions, keeping the allocations (planes only grow). Pixel
    /// contents afterwards are unspecified (whatever the buffers held); callers
    /// overwrite or [`fill`](I420Frame::fill) them.
    pub fn resize_to(&mut self, width: u32, height: u32) {
        assert!(
            width <= MAX_DIMENSION && height <= MAX_DIMENSION,
            "frame dimensions are at most {MAX_DIMENSION} (got {width}x{height})"
        );
        self.width = width;
        self.height = height;
        let luma = width as usize * height as usize;
        let chroma = chroma(width) as usize * chroma(height) as usize;
        self.y.resize(luma, 0);
        self.u.resize(chroma, 0);
        self.v.resize(chroma, 0);
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// True for a 0-pixel frame (nothing to draw).
    pub fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }

    /// The whole frame as a rectangle at the origin.
    pub fn rect(&self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }

    /// Width of the chroma planes.
    pub fn chroma_width(&self) -> u32 {
        chroma(self.width)
    }

    /// Height of the chroma planes.
    pub fn chroma_height(&self) -> u32 {
        chroma(self.height)
    }

    /// Bytes per luma row.
    pub fn stride_y(&self) -> usize {
        self.width as usize
    }

    /// Bytes per chroma row (U and V).
    pub fn stride_uv(&self) -> usize {
        chroma(self.width) as usize
    }

    pub fn y(&self) -> &[u8] {
        &self.y
    }

    pub fn u(&self) -> &[u8] {
        &self.u
    }

    pub fn v(&self) -> &[u8] {
        &self.v
    }

    /// All three planes, mutably, at once (for writers that fill them together).
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        (&mut self.y, &mut self.u, &mut self.v)
    }

    /// Total bytes of pixel data (`w*h + 2 * ceil(w/2)*ceil(h/2)`).
    pub fn byte_len(&self) -> usize {
        self.y.len() + self.u.len() + self.v.len()
    }

    /// Fills the whole frame with one colour (three `memset`s).
    pub fn fill(&mut self, color: Yuv) {
        self.y.fill(color.y);
        self.u.fill(color.u);
        self.v.fill(color.v);
    }

    /// Fills a rectangle with one colour, row by row (`memset` per row). The rectangle
    /// is clipped to the frame; an odd origin is rounded down for chroma.
    pub fn fill_rect(&mut self, rect: Rect, color: Yuv) {
        let Some(r) = rect.clip(self.width, self.height) else {
            return;
        };
        fill_plane(
            &mut self.y,
            self.width as usize,
            r.x,
            r.y,
            r.w,
            r.h,
            color.y,
        );
        let (cx, cy) = (r.x / 2, r.y / 2);
        let cw = chroma(r.x + r.w) - cx;
        let ch = chroma(r.y + r.h) - cy;
        let stride = self.stride_uv();
        fill_plane(&mut self.u, stride, cx, cy, cw, ch, color.u);
        fill_plane(&mut self.v, stride, cx, cy, cw, ch, color.v);
    }

    /// Copies the pixels of `src` into this frame at `(x, y)` (even), clipped to this
    /// frame: one `memcpy` per row, no scaling.
    pub fn copy_from(&mut self, src: &I420Frame, x: u32, y: u32) {
        debug_assert!(
            x.is_multiple_of(2) && y.is_multiple_of(2),
            "copy origin must be even"
        );
        let (x, y) = (x & !1, y & !1);
        if x >= self.width || y >= self.height {
            return;
        }
        let w = src.width.min(self.width - x) as usize;
        let h = src.height.min(self.height - y) as usize;
        copy_plane(
            &src.y,
            src.stride_y(),
            &mut self.y,
            self.width as usize,
            x,
            y,
            w,
            h,
        );
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let (ss, ds) = (src.stride_uv(), self.stride_uv());
        copy_plane(&src.u, ss, &mut self.u, ds, x / 2, y / 2, cw, ch);
        copy_plane(&src.v, ss, &mut self.v, ds, x / 2, y / 2, cw, ch);
    }

    /// The colour at luma position `(x, y)` (chroma from the co-sited 2×2 block).
    /// Panics outside the frame; meant for tests and diagnostics.
    pub fn pixel(&self, x: u32, y: u32) -> Yuv {
        assert!(
            x < self.width && y < self.height,
            "pixel ({x}, {y}) outside frame"
        );
        let c = (y / 2) as usize * self.stride_uv() + (x / 2) as usize;
        Yuv {
            y: self.y[y as usize * self.stride_y() + x as usize],
            u: self.u[c],
            v: self.v[c],
        }
    }

    /// Mean luma of a rectangle (clipped); for tests and diagnostics.
    pub fn mean_y(&self, rect: Rect) -> f64 {
        let Some(r) = rect.clip(self.width, self.height) else {
            return 0.0;
        };
        let mut sum = 0u64;
        for row in r.y..r.y + r.h {
            let start = row as usize * self.stride_y() + r.x as usize;
            sum += self.y[start..start + r.w as usize]
                .iter()
                .map(|&p| u64::from(p))
                .sum::<u64>();
        }
        sum as f64 / (u64::from(r.w) * u64::from(r.h)) as f64
    }
}

fn fill_plane(plane: &mut [u8], stride: usize, x: u32, y: u32, w: u32, h: u32, value: u8) {
    let (x, w) = (x as usize, w as usize);
    for row in y as usize..(y + h) as usize {
        let start = row * stride + x;
        plane[start..start + w].fill(value);
    }
}

#[allow(clippy::too_many_arguments)]
fn copy_plane(
    src: &[u8],
    src_stride: usize,
    dst: &mut [u8],
    dst_stride: usize,
    x: u32,
    y: u32,
    w: usize,
    h: usize,
) {
    let (x, y) = (x as usize, y as usize);
    for row in 0..h {
        let s = row * src_stride;
        let d = (y + row) * dst_stride + x;
        dst[d..d + w].copy_from_slice(&src[s..s + w]);
    }
}

/// Copies `h` rows of `w` samples between strided planes.
fn copy_rows(src: &[u8], src_stride: usize, dst: &mut [u8], dst_stride: usize, w: usize, h: usize) {
    for row in 0..h {
        dst[row * dst_stride..row * dst_stride + w]
            .copy_from_slice(&src[row * src_stride..row * src_stride + w]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_primaries_convert_to_bt601_limited_range() {
        assert_eq!(
            Rgb::new(255, 0, 0).to_yuv(),
            Yuv {
                y: 82,
                u: 90,
                v: 240
            }
        );
        assert_eq!(
            Rgb::new(0, 0, 255).to_yuv(),
            Yuv {
                y: 41,
                u: 240,
                v: 110
            }
        );
        assert_eq!(
            Rgb::new(0, 0, 0).to_yuv(),
            Yuv {
                y: 16,
                u: 128,
                v: 128
            }
        );
        assert_eq!(
            Rgb::new(255, 255, 255).to_yuv(),
            Yuv {
                y: 235,
                u: 128,
                v: 128
            }
        );
    }

    #[test]
    fn solid_frame_has_the_colour_everywhere_and_packed_planes() {
        let red = Rgb::new(255, 0, 0).to_yuv();
        let frame = I420Frame::solid(6, 4, red);
        assert_eq!(
            (frame.y().len(), frame.u().len(), frame.v().len()),
            (24, 6, 6)
        );
        assert_eq!(frame.pixel(0, 0), red);
        assert_eq!(frame.pixel(5, 3), red);
    }

    #[test]
    fn odd_sized_frames_round_chroma_up() {
        let frame = I420Frame::new(5, 3);
        assert_eq!((frame.chroma_width(), frame.chroma_height()), (3, 2));
        assert_eq!(frame.byte_len(), 15 + 2 * 6);
    }

    #[test]
    fn resize_to_keeps_the_allocation() {
        let mut frame = I420Frame::new(64, 36);
        let ptr = frame.y().as_ptr();
        frame.resize_to(32, 18);
        frame.resize_to(64, 36);
        assert_eq!(frame.y().as_ptr(), ptr);
        assert_eq!((frame.width(), frame.height()), (64, 36));
    }

    #[test]
    fn fill_rect_touches_only_the_rectangle() {
        let black = Rgb::new(0, 0, 0).to_yuv();
        let blue = Rgb::new(0, 0, 255).to_yuv();
        let mut frame = I420Frame::solid(16, 8, black);
        frame.fill_rect(Rect::new(4, 2, 4, 4), blue);
        assert_eq!(frame.pixel(4, 2), blue);
        assert_eq!(frame.pixel(7, 5), blue);
        assert_eq!(frame.pixel(3, 2), black);
        assert_eq!(frame.pixel(8, 5), black);
        assert_eq!(frame.pixel(4, 6), black);
    }

    #[test]
    fn copy_from_places_the_source_at_the_offset() {
        let red = Rgb::new(255, 0, 0).to_yuv();
        let black = Rgb::new(0, 0, 0).to_yuv();
        let mut canvas = I420Frame::solid(16, 8, black);
        canvas.copy_from(&I420Frame::solid(4, 4, red), 10, 6);
        assert_eq!(canvas.pixel(10, 6), red);
        assert_eq!(canvas.pixel(13, 7), red);
        assert_eq!(canvas.pixel(9, 6), black);
    }
}
