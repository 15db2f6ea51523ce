//! Links the system libyuv (Debian `libyuv-dev`), used for SIMD scaling of video tiles.

fn main() {
    println!("cargo:rustc-link-lib=yuv");
    println!("cargo:rerun-if-changed=build.rs");
}
