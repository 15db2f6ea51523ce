//! Pictures of the layouts for `layout_svgs`: each layout's tile geometry on a 16:9
//! canvas, drawn as SVG rectangles (main speakers darker than thumbnails).

use std::fmt::Write as _;

use plenum_core::Layout;

/// Canvas width in SVG units.
const WIDTH: f64 = 1600.0;
/// Canvas height in SVG units (16:9).
const HEIGHT: f64 = 900.0;
/// Space kept around each tile so neighbours stay apart in the drawing.
const INSET: f64 = 6.0;
/// Thumbnails per row in the speaker layouts.
const THUMBS_PER_ROW: usize = 7;

/// One tile: where it sits and whether it shows a main speaker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tile {
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) w: f64,
    pub(crate) h: f64,
    pub(crate) main: bool,
}

fn tile(x: f64, y: f64, w: f64, h: f64, main: bool) -> Tile {
    Tile { x, y, w, h, main }
}

/// `rows` rows of [`THUMBS_PER_ROW`] 16:9 thumbnails along the bottom edge.
fn thumbnail_rows(rows: usize) -> (f64, Vec<Tile>) {
    let w = WIDTH / THUMBS_PER_ROW as f64;
    let h = w * 9.0 / 16.0;
    let top = HEIGHT - h * rows as f64;
    let tiles = (0..rows * THUMBS_PER_ROW)
        .map(|i| {
            let (row, col) = (i / THUMBS_PER_ROW, i % THUMBS_PER_ROW);
            tile(col as f64 * w, top + row as f64 * h, w, h, false)
        })
        .collect();
    (top, tiles)
}

/// `count` 16:9 main tiles side by side, centred in the band `0..band_height`.
fn mains(count: usize, band_height: f64) -> Vec<Tile> {
    let w = (WIDTH / count as f64).min(band_height * 16.0 / 9.0);
    let h = w * 9.0 / 16.0;
    let left = (WIDTH - w * count as f64) / 2.0;
    let top = (band_height - h) / 2.0;
    (0..count)
        .map(|i| tile(left + i as f64 * w, top, w, h, true))
        .collect()
}

/// The tiles of `layout`, main speakers first.
pub(crate) fn tiles(layout: Layout) -> Vec<Tile> {
    match layout {
        Layout::OneMain => vec![tile(0.0, 0.0, WIDTH, HEIGHT, true)],
        Layout::OnePlusSeven | Layout::OnePlusTwentyOne | Layout::TwoPlusTwentyOne => {
            let (main_count, rows) = match layout {
                Layout::OnePlusSeven => (1, 1),
                Layout::OnePlusTwentyOne => (1, 3),
                _ => (2, 3),
            };
            let (top, thumbs) = thumbnail_rows(rows);
            let mut all = mains(main_count, top);
            all.extend(thumbs);
            all
        }
        Layout::Grid2x2 => {
            let (w, h) = (WIDTH / 2.0, HEIGHT / 2.0);
            (0..4)
                .map(|i| tile((i % 2) as f64 * w, (i / 2) as f64 * h, w, h, true))
                .collect()
        }
        Layout::Adaptive => {
            // A typical moment of Adaptive Composition: the speaker large, the next
            // five in a row above.
            let (w, h) = (WIDTH / 5.0, HEIGHT / 5.0);
            let main_h = HEIGHT - h;
            let main_w = main_h * 16.0 / 9.0;
            let mut all = vec![tile((WIDTH - main_w) / 2.0, h, main_w, main_h, true)];
            all.extend((0..5).map(|i| tile(i as f64 * w, 0.0, w, h, false)));
            all
        }
    }
}

/// The SVG drawing of `layout`.
pub(crate) fn svg(layout: Layout) -> String {
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="160" height="90"><title>{}</title><rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#202124"/>"##,
        layout.name()
    );
    for t in tiles(layout) {
        let fill = if t.main { "#5f6b7a" } else { "#9aa5b1" };
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="8" fill="{fill}"/>"#,
            t.x + INSET,
            t.y + INSET,
            (t.w - 2.0 * INSET).max(1.0),
            (t.h - 2.0 * INSET).max(1.0),
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use plenum_core::ALL_LAYOUTS;

    fn overlaps(a: &Tile, b: &Tile) -> bool {
        const EPS: f64 = 1e-6;
        a.x + a.w > b.x + EPS
            && b.x + b.w > a.x + EPS
            && a.y + a.h > b.y + EPS
            && b.y + b.h > a.y + EPS
    }

    fn check(layout: Layout, mains: usize, total: usize) {
        let tiles = tiles(layout);
        assert_eq!(tiles.len(), total, "{layout}");
        assert_eq!(tiles.iter().filter(|t| t.main).count(), mains, "{layout}");
        for (i, a) in tiles.iter().enumerate() {
            assert!(a.x >= -1e-6 && a.y >= -1e-6, "{layout} tile {i} off canvas");
            assert!(
                a.x + a.w <= WIDTH + 1e-6 && a.y + a.h <= HEIGHT + 1e-6,
                "{layout} {i}"
            );
            for b in &tiles[i + 1..] {
                assert!(!overlaps(a, b), "{layout}: {a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn every_layout_has_its_tiles_on_the_canvas_without_overlap() {
        check(Layout::OneMain, 1, 1);
        check(Layout::OnePlusSeven, 1, 8);
        check(Layout::OnePlusTwentyOne, 1, 22);
        check(Layout::TwoPlusTwentyOne, 2, 23);
        check(Layout::Grid2x2, 4, 4);
        check(Layout::Adaptive, 1, 6);
        for layout in ALL_LAYOUTS {
            if layout != Layout::Adaptive {
                assert_eq!(tiles(layout).len(), layout.capacity(), "{layout}");
            }
        }
    }

    #[test]
    fn svgs_draw_one_rect_per_tile_plus_the_background() {
        for layout in ALL_LAYOUTS {
            let svg = svg(layout);
            assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
            assert!(svg.ends_with("</svg>"));
            assert_eq!(svg.matches("<rect ").count(), tiles(layout).len() + 1);
        }
    }
}
