//! Links the system libyuv (Debian `libyuv-dev`), used for SIMD scaling of video tiles, and
//! libopenh264 (Debian `libopenh264-dev`), the H.264 codec behind `video::h264`.

fn main() {
    println!("cargo:rustc-link-lib=yuv");
    println!("cargo:rustc-link-lib=openh264");
    println!("cargo:rerun-if-changed=build.rs");
}
