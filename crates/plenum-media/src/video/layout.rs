//! Tile geometry: where each participant's tile sits on the canvas for every
//! [`Layout`], with 16:9 tiles and even coordinates (I420 chroma is 2×2 subsampled).
//!
//! Rules, for a canvas `W×H` (all results rounded *down* to even numbers):
//!
//! * A tile is the largest 16:9 rectangle that fits its **cell**, centred in it
//!   ("letterboxed"; the gap shows the background). If the cell is exactly 16:9 the
//!   tile is the cell.
//! * `1:0`: one cell, the whole canvas.
//! * `1:7`: a row of 7 thumbnail cells along the bottom, each `even(W/7)` wide and
//!   exactly as tall as a 16:9 thumbnail of that width; the main cell is everything
//!   above. The filled thumbnails are centred as a group in their row.
//! * `1:21`: as `1:7` with three thumbnail rows of 7 (filled top row first).
//! * `2:21`: as `1:21`, with the main area split into two side-by-side cells.
//! * `4:0`: a 2×2 grid; tiles keep their grid positions (reading order).
//! * `ac` (adaptive): the grid depends on the count — 1 → 1×1, 2 → 2×1, 3–4 → 2×2,
//!   5–6 → 3×2, 7–9 → 3×3, 10–12 → 4×3. Cells are `even(W/cols) × even(H/rows)`, the
//!   grid is centred, and a partly filled last row is centred too.
//!
//! Only filled tiles are returned (fewer participants → fewer rects); a count beyond
//! the layout's capacity is clamped. Tile order is stage order: main tile(s) first.
//!
//! Worked numbers at **1280×720**:
//!
//! | layout | tile | x, y, w×h |
//! |---|---|---|
//! | `1:0` | main | 0, 0, 1280×720 |
//! | `1:7` | main | 90, 0, 1098×618 |
//! | `1:7` | thumbs 1–7 (7 filled) | 2 + 182·i, 618, 182×102 |
//! | `1:7` | thumb 1 (2 participants) | 548, 618, 182×102 |
//! | `1:21` | main | 272, 0, 736×414 |
//! | `1:21` | thumbs (row r, col i) | 2 + 182·i, 414 + 102·r, 182×102 |
//! | `2:21` | mains | 0, 26, 640×360 and 640, 26, 640×360 |
//! | `2:21` | thumbs | as `1:21` |
//! | `4:0` | 4 tiles | (0,0) (640,0) (0,360) (640,360), each 640×360 |
//! | `ac` 1 | | 0, 0, 1280×720 |
//! | `ac` 2 | | 0, 180 and 640, 180, each 640×360 |
//! | `ac` 3 | | (0,0) (640,0), then centred (320,360), each 640×360 |
//! | `ac` 5–6 | 3×2, cell 426×360 | x 0/426/852, y 60/420, each 426×238 |
//! | `ac` 7–9 | 3×3, cell 426×240 | x 0/426/852, y 0/240/480, each 426×238 |
//! | `ac` 10–12 | 4×3, cell 320×240 | x 0/320/640/960, y 30/270/510, each 320×180 |
//!
//! At **640×360**: `1:7` main 44, 0, 550×310 and thumbs 4 + 90·i, 310, 90×50; `4:0`
//! tiles 320×180; `ac` 12 tiles 160×90 at y 14, 134, 254 (see the tests for the
//! full tables).
//!
//! Tiles that are not exactly 16:9 (182×102 is 16:8.97) are filled by cropping the
//! source a little (see `compose`), never by stretching it.

use plenum_core::Layout;

use super::frame::MAX_DIMENSION;
use super::rect::Rect;

/// Thumbnails per row in `1:7`, `1:21` and `2:21`.
const THUMBS_PER_ROW: u32 = 7;

const fn even(n: u32) -> u32 {
    n & !1
}

/// The tiles for `count` participants, in stage order. Allocates; the compositor uses
/// [`tiles_into`] with a reused vector.
pub fn tiles(layout: Layout, count: usize, canvas_w: u32, canvas_h: u32) -> Vec<Rect> {
    let mut out = Vec::with_capacity(count.min(layout.capacity()));
    tiles_into(layout, count, canvas_w, canvas_h, &mut out);
    out
}

/// As [`tiles`], replacing the contents of `out` (no allocation once it has capacity).
/// Odd canvas sizes are treated as the next even size down; sizes beyond
/// [`MAX_DIMENSION`] are clamped.
pub fn tiles_into(layout: Layout, count: usize, canvas_w: u32, canvas_h: u32, out: &mut Vec<Rect>) {
    out.clear();
    let n = count.min(layout.capacity()) as u32;
    // Clamping to the frame limit keeps every product below in u32 range.
    let (w, h) = (
        even(canvas_w.min(MAX_DIMENSION)),
        even(canvas_h.min(MAX_DIMENSION)),
    );
    if n == 0 || w == 0 || h == 0 {
        return;
    }
    match layout {
        Layout::OneMain => out.push(fit_16_9(Rect::new(0, 0, w, h))),
        Layout::OnePlusSeven => main_and_thumbs(1, 1, n, w, h, out),
        Layout::OnePlusTwentyOne => main_and_thumbs(1, 3, n, w, h, out),
        Layout::TwoPlusTwentyOne => main_and_thumbs(2, 3, n, w, h, out),
        Layout::Grid2x2 => grid(2, 2, n, false, w, h, out),
        Layout::Adaptive => {
            let (cols, rows) = match n {
                1 => (1, 1),
                2 => (2, 1),
                3..=4 => (2, 2),
                5..=6 => (3, 2),
                7..=9 => (3, 3),
                _ => (4, 3),
            };
            grid(cols, rows, n, true, w, h, out);
        }
    }
}

/// `mains` main cells side by side above `thumb_rows` rows of 7 thumbnails.
fn main_and_thumbs(mains: u32, thumb_rows: u32, n: u32, w: u32, h: u32, out: &mut Vec<Rect>) {
    let thumb_w = even(w / THUMBS_PER_ROW);
    let thumb_h = even(thumb_w * 9 / 16);
    let main_h = h.saturating_sub(thumb_rows * thumb_h);
    let main_cell_w = even(w / mains);
    let grid_x = even((w - mains * main_cell_w) / 2);
    for i in 0..n.min(mains) {
        out.push(fit_16_9(Rect::new(
            grid_x + i * main_cell_w,
            0,
            main_cell_w,
            main_h,
        )));
    }
    let mut thumbs = n.saturating_sub(mains);
    let mut y = main_h;
    while thumbs > 0 && y + thumb_h <= h {
        let in_row = thumbs.min(THUMBS_PER_ROW);
        let x0 = even((w - in_row * thumb_w) / 2);
        for i in 0..in_row {
            out.push(Rect::new(x0 + i * thumb_w, y, thumb_w, thumb_h));
        }
        thumbs -= in_row;
        y += thumb_h;
    }
}

/// A `cols×rows` grid of equal cells, centred on the canvas, filled in reading order.
fn grid(cols: u32, rows: u32, n: u32, centre_last_row: bool, w: u32, h: u32, out: &mut Vec<Rect>) {
    let (cell_w, cell_h) = (even(w / cols), even(h / rows));
    let (grid_x, grid_y) = (even((w - cols * cell_w) / 2), even((h - rows * cell_h) / 2));
    for i in 0..n.min(cols * rows) {
        let (row, col) = (i / cols, i % cols);
        let in_row = (n - row * cols).min(cols);
        let shift = if centre_last_row {
            even((cols - in_row) * cell_w / 2)
        } else {
            0
        };
        let cell = Rect::new(
            grid_x + shift + col * cell_w,
            grid_y + row * cell_h,
            cell_w,
            cell_h,
        );
        out.push(fit_16_9(cell));
    }
}

/// The largest even 16:9 rectangle inside `cell` (even origin and size), centred.
fn fit_16_9(cell: Rect) -> Rect {
    let (tw, th) = if u64::from(cell.w) * 9 >= u64::from(cell.h) * 16 {
        // Wider than 16:9: full height, pillarboxed.
        (even(cell.h * 16 / 9).min(cell.w), cell.h)
    } else {
        // Taller than 16:9: full width, letterboxed.
        (cell.w, even(cell.w * 9 / 16).min(cell.h))
    };
    Rect::new(
        cell.x + even((cell.w - tw) / 2),
        cell.y + even((cell.h - th) / 2),
        tw,
        th,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use plenum_core::ALL_LAYOUTS;

    fn r(x: u32, y: u32, w: u32, h: u32) -> Rect {
        Rect::new(x, y, w, h)
    }

    fn check(layout: Layout, count: usize, (w, h): (u32, u32), expected: &[Rect]) {
        let got = tiles(layout, count, w, h);
        assert_eq!(got, expected, "{layout} with {count} at {w}x{h}");
    }

    fn row(x0: u32, y: u32, w: u32, h: u32, n: u32) -> Vec<Rect> {
        (0..n).map(|i| r(x0 + i * w, y, w, h)).collect()
    }

    const HD: (u32, u32) = (1280, 720);
    const SD: (u32, u32) = (640, 360);

    #[test]
    fn one_main_is_the_whole_canvas() {
        check(Layout::OneMain, 1, HD, &[r(0, 0, 1280, 720)]);
        check(Layout::OneMain, 5, SD, &[r(0, 0, 640, 360)]);
        check(Layout::OneMain, 0, HD, &[]);
    }

    #[test]
    fn one_plus_seven_has_a_main_tile_over_a_thumbnail_row() {
        let mut full = vec![r(90, 0, 1098, 618)];
        full.extend(row(2, 618, 182, 102, 7));
        check(Layout::OnePlusSeven, 8, HD, &full);
        check(Layout::OnePlusSeven, 30, HD, &full);
        check(Layout::OnePlusSeven, 1, HD, &[r(90, 0, 1098, 618)]);
        // Two participants: the single thumbnail is centred under the main tile.
        check(
            Layout::OnePlusSeven,
            2,
            HD,
            &[r(90, 0, 1098, 618), r(548, 618, 182, 102)],
        );

        let mut full = vec![r(44, 0, 550, 310)];
        full.extend(row(4, 310, 90, 50, 7));
        check(Layout::OnePlusSeven, 8, SD, &full);
    }

    #[test]
    fn one_plus_twenty_one_has_three_thumbnail_rows() {
        let mut full = vec![r(272, 0, 736, 414)];
        for y in [414, 516, 618] {
            full.extend(row(2, y, 182, 102, 7));
        }
        check(Layout::OnePlusTwentyOne, 22, HD, &full);
        // Ten participants: a full first row, then two centred in the second.
        let mut ten = vec![r(272, 0, 736, 414)];
        ten.extend(row(2, 414, 182, 102, 7));
        ten.extend(row(458, 516, 182, 102, 2));
        check(Layout::OnePlusTwentyOne, 10, HD, &ten);

        // 640x360: thumbnails 90x50, main area 640x210 → 372x210 centred at x 134.
        let mut full = vec![r(134, 0, 372, 210)];
        for y in [210, 260, 310] {
            full.extend(row(4, y, 90, 50, 7));
        }
        check(Layout::OnePlusTwentyOne, 22, SD, &full);
    }

    #[test]
    fn two_plus_twenty_one_has_two_mains_side_by_side() {
        let mut full = vec![r(0, 26, 640, 360), r(640, 26, 640, 360)];
        for y in [414, 516, 618] {
            full.extend(row(2, y, 182, 102, 7));
        }
        check(Layout::TwoPlusTwentyOne, 23, HD, &full);
        check(Layout::TwoPlusTwentyOne, 1, HD, &[r(0, 26, 640, 360)]);

        let mut full = vec![r(0, 14, 320, 180), r(320, 14, 320, 180)];
        for y in [210, 260, 310] {
            full.extend(row(4, y, 90, 50, 7));
        }
        check(Layout::TwoPlusTwentyOne, 23, SD, &full);
    }

    #[test]
    fn grid_2x2_keeps_positions_in_reading_order() {
        let quads = [
            r(0, 0, 640, 360),
            r(640, 0, 640, 360),
            r(0, 360, 640, 360),
            r(640, 360, 640, 360),
        ];
        check(Layout::Grid2x2, 4, HD, &quads);
        check(Layout::Grid2x2, 3, HD, &quads[..3]);
        check(Layout::Grid2x2, 9, HD, &quads);
        check(
            Layout::Grid2x2,
            4,
            SD,
            &[
                r(0, 0, 320, 180),
                r(320, 0, 320, 180),
                r(0, 180, 320, 180),
                r(320, 180, 320, 180),
            ],
        );
    }

    #[test]
    fn adaptive_grid_grows_with_the_count() {
        check(Layout::Adaptive, 1, HD, &[r(0, 0, 1280, 720)]);
        check(
            Layout::Adaptive,
            2,
            HD,
            &[r(0, 180, 640, 360), r(640, 180, 640, 360)],
        );
        check(
            Layout::Adaptive,
            3,
            HD,
            &[
                r(0, 0, 640, 360),
                r(640, 0, 640, 360),
                r(320, 360, 640, 360),
            ],
        );
        let six: Vec<Rect> = [60, 420]
            .into_iter()
            .flat_map(|y| [0, 426, 852].map(|x| r(x, y, 426, 238)))
            .collect();
        check(Layout::Adaptive, 6, HD, &six);
        // Five: the second row's two tiles are centred (shift 426/2 → 212).
        let mut five = six[..3].to_vec();
        five.extend([r(212, 420, 426, 238), r(638, 420, 426, 238)]);
        check(Layout::Adaptive, 5, HD, &five);
        let nine: Vec<Rect> = [0, 240, 480]
            .into_iter()
            .flat_map(|y| [0, 426, 852].map(|x| r(x, y, 426, 238)))
            .collect();
        check(Layout::Adaptive, 9, HD, &nine);
        let twelve: Vec<Rect> = [30, 270, 510]
            .into_iter()
            .flat_map(|y| [0, 320, 640, 960].map(|x| r(x, y, 320, 180)))
            .collect();
        check(Layout::Adaptive, 12, HD, &twelve);
        check(Layout::Adaptive, 40, HD, &twelve);

        let twelve: Vec<Rect> = [14, 134, 254]
            .into_iter()
            .flat_map(|y| [0, 160, 320, 480].map(|x| r(x, y, 160, 90)))
            .collect();
        check(Layout::Adaptive, 12, SD, &twelve);
        check(
            Layout::Adaptive,
            2,
            SD,
            &[r(0, 90, 320, 180), r(320, 90, 320, 180)],
        );
    }

    #[test]
    fn every_tile_is_even_inside_the_canvas_and_disjoint() {
        for (w, h) in [HD, SD, (320, 180), (1920, 1080), (854, 480)] {
            for layout in ALL_LAYOUTS {
                for count in 0..=layout.capacity() + 2 {
                    let rects = tiles(layout, count, w, h);
                    assert_eq!(
                        rects.len(),
                        count.min(layout.capacity()),
                        "{layout} {count}"
                    );
                    for (i, a) in rects.iter().enumerate() {
                        assert!(a.is_even(), "{layout} {count} {w}x{h}: {a:?} not even");
                        assert!(a.fits_in(w, h), "{layout} {count} {w}x{h}: {a:?} outside");
                        assert!(!a.is_empty(), "{layout} {count} {w}x{h}: {a:?} empty");
                        for b in &rects[i + 1..] {
                            assert!(!a.overlaps(b), "{layout} {count} {w}x{h}: {a:?} ∩ {b:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn tiny_or_empty_canvas_gives_no_tiles_instead_of_panicking() {
        for layout in ALL_LAYOUTS {
            assert!(tiles(layout, 4, 0, 0).is_empty());
            assert!(tiles(layout, 4, 1, 1).is_empty());
            for rect in tiles(layout, 23, 8, 4) {
                assert!(rect.fits_in(8, 4));
            }
        }
    }
}
