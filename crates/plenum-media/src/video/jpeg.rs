//! Presentation stills: an I420 picture as a baseline JPEG (BT.601 limited range to
//! sRGB, then 4:2:0 JPEG). Runs once a second per presenting conference, off the
//! per-frame path; the RGB buffer is reused.

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

use super::frame::I420Frame;

/// The picture could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum JpegError {
    #[error("picture too large or empty for JPEG: {0}x{1}")]
    Size(u32, u32),
    #[error("jpeg encoding failed: {0}")]
    Encode(#[from] jpeg_encoder::EncodingError),
}

/// Encodes `frame` at `quality` (1–100); `rgb` is scratch space, reused across calls.
pub fn encode_jpeg(
    frame: &I420Frame,
    quality: u8,
    rgb: &mut Vec<u8>,
) -> Result<Vec<u8>, JpegError> {
    let (w, h) = (frame.width(), frame.height());
    let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
        return Err(JpegError::Size(w, h));
    };
    if w == 0 || h == 0 {
        return Err(JpegError::Size(w, h));
    }
    to_rgb(frame, rgb);
    let mut out = Vec::with_capacity(rgb.len() / 10);
    let mut encoder = Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    encoder.encode(rgb, w16, h16, ColorType::Rgb)?;
    Ok(out)
}

/// BT.601 limited-range YUV to 8-bit RGB (the libyuv/WebRTC matrix, fixed point).
fn to_rgb(frame: &I420Frame, rgb: &mut Vec<u8>) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (sy, suv) = (frame.stride_y(), frame.stride_uv());
    let (yp, up, vp) = (frame.y(), frame.u(), frame.v());
    rgb.clear();
    rgb.reserve(w * h * 3);
    for row in 0..h {
        let yrow = &yp[row * sy..row * sy + w];
        let crow = (row / 2) * suv;
        for (col, &y) in yrow.iter().enumerate() {
            let c = i32::from(y) - 16;
            let d = i32::from(up[crow + col / 2]) - 128;
            let e = i32::from(vp[crow + col / 2]) - 128;
            let clamp = |x: i32| ((x + 128) >> 8).clamp(0, 255) as u8;
            rgb.push(clamp(298 * c + 409 * e));
            rgb.push(clamp(298 * c - 100 * d - 208 * e));
            rgb.push(clamp(298 * c + 516 * d));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::Rgb;

    #[test]
    fn a_green_picture_becomes_a_green_jpeg() {
        let frame = I420Frame::solid_rgb(64, 48, Rgb::new(20, 200, 20));
        let mut rgb = Vec::new();
        let jpeg = encode_jpeg(&frame, 80, &mut rgb).unwrap();
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "SOI marker");
        assert_eq!(&jpeg[jpeg.len() - 2..], &[0xFF, 0xD9], "EOI marker");
        // The conversion itself: back to (about) the colour we started from.
        let (r, g, b) = (rgb[0], rgb[1], rgb[2]);
        assert!(r < 40 && g > 180 && b < 40, "{r},{g},{b}");
    }

    #[test]
    fn an_empty_picture_is_an_error() {
        let mut rgb = Vec::new();
        assert!(encode_jpeg(&I420Frame::default(), 80, &mut rgb).is_err());
    }
}
