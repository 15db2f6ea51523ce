//! The compositor: turns a layout and an ordered list of tile sources (decoded video,
//! or a name tile for audio-only / video-muted participants) into one I420 canvas,
//! reusing its buffers so a steady-state composite allocates nothing.
//!
//! Per frame: tile rects are recomputed into a reused vector; the background is
//! repainted only when the set of rects changes (tiles overwrite their whole rect each
//! frame, so the gaps keep their colour); each video tile is one libyuv `I420Scale`
//! from a centred crop of the source with the tile's aspect (cropped, never
//! stretched) straight into the canvas; each name tile is a row-by-row copy of a
//! pre-rendered tile cached by (name, colour, size). Text is rasterised only when a
//! name tile is first seen at a size, from a glyph cache, so there is no per-frame
//! font work.
//!
//! "Nobody sees themself" is the caller's rule; [`tile_order`] builds the ordered list
//! for one viewer from the stage order.

use std::collections::HashMap;

use plenum_core::Layout;

use super::frame::{I420Frame, Rgb, Yuv};
use super::layout::tiles_into;
use super::rect::Rect;
use super::scale::{Filter, scale_into};

/// Where DejaVu Sans lives on Debian (`fonts-dejavu-core`); the node reads the file
/// (libraries do no I/O) and hands the bytes to [`NameFont::from_bytes`].
pub const DEFAULT_FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// Name tile colours: muted, distinguishable, all readable under white text.
pub const NAME_TILE_PALETTE: [Rgb; 8] = [
    Rgb::new(0x1f, 0x4e, 0x79), // blue
    Rgb::new(0x7b, 0x2d, 0x26), // brick
    Rgb::new(0x2e, 0x6b, 0x3a), // green
    Rgb::new(0x6a, 0x3d, 0x7d), // purple
    Rgb::new(0x8a, 0x5a, 0x00), // ochre
    Rgb::new(0x1f, 0x6f, 0x6f), // teal
    Rgb::new(0x80, 0x2a, 0x5c), // plum
    Rgb::new(0x4a, 0x4a, 0x4a), // grey
];

/// A stable palette colour for a participant (e.g. from a hash of their id).
pub fn name_tile_color(seed: u64) -> Rgb {
    NAME_TILE_PALETTE[(seed % NAME_TILE_PALETTE.len() as u64) as usize]
}

/// What one tile shows.
#[derive(Debug, Clone, Copy)]
pub enum TileSource<'a> {
    /// A decoded picture (any size; empty frames show the background).
    Video(&'a I420Frame),
    /// An audio-only or video-muted participant: a solid colour block with the name.
    Name { name: &'a str, color: Rgb },
    /// A decoded picture with a name label along its bottom edge (name overlay on).
    LabelledVideo { frame: &'a I420Frame, name: &'a str },
}

/// Background of name labels on video tiles.
pub const LABEL_COLOR: Rgb = Rgb::new(0x20, 0x20, 0x20);

/// The ordered participants one viewer sees: the stage order (main speaker first)
/// without the viewer, cut to the layout's capacity.
pub fn tile_order<T: PartialEq + Clone>(stage: &[T], viewer: Option<&T>, layout: Layout) -> Vec<T> {
    let mut out = Vec::with_capacity(layout.capacity());
    tile_order_into(stage, viewer, layout, &mut out);
    out
}

/// As [`tile_order`], into a reused vector.
pub fn tile_order_into<T: PartialEq + Clone>(
    stage: &[T],
    viewer: Option<&T>,
    layout: Layout,
    out: &mut Vec<T>,
) {
    out.clear();
    out.extend(
        stage
            .iter()
            .filter(|id| Some(*id) != viewer)
            .take(layout.capacity())
            .cloned(),
    );
}

// === impl NameFont ===

/// A font for name tiles plus a cache of rasterised glyphs (by character and pixel
/// size), so each glyph is rasterised once.
pub struct NameFont {
    font: fontdue::Font,
    glyphs: HashMap<(char, u32), (fontdue::Metrics, Vec<u8>)>,
}

impl std::fmt::Debug for NameFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NameFont")
            .field("cached_glyphs", &self.glyphs.len())
            .finish_non_exhaustive()
    }
}

/// The font bytes could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable font: {0}")]
pub struct FontError(&'static str);

impl NameFont {
    /// Parses a TrueType/OpenType font (e.g. the bytes of [`DEFAULT_FONT_PATH`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<NameFont, FontError> {
        let font = fontdue::Font::from_bytes(bytes, fontdue::FontSettings::default())
            .map_err(FontError)?;
        Ok(NameFont {
            font,
            glyphs: HashMap::new(),
        })
    }

    fn glyph(&mut self, c: char, px: u32) -> &(fontdue::Metrics, Vec<u8>) {
        let font = &self.font;
        self.glyphs
            .entry((c, px))
            .or_insert_with(|| font.rasterize(c, px as f32))
    }

    /// Width in pixels of `text` at `px`.
    fn measure(&mut self, text: &str, px: u32) -> f32 {
        text.chars()
            .map(|c| self.glyph(c, px).0.advance_width)
            .sum()
    }

    /// Draws `text` centred into an alpha mask of `w×h` (coverage 0–255).
    fn draw_centred(&mut self, text: &str, w: u32, h: u32, mask: &mut [u8]) {
        // A sixth of the tile height (most of a short label bar's height), shrunk to
        // fit 90 % of the width.
        let mut px = if h < 64 { h * 6 / 10 } else { h / 6 }.clamp(6, 72);
        let width = self.measure(text, px);
        let room = w as f32 * 0.9;
        if width > room {
            px = ((px as f32 * room / width) as u32).max(6);
        }
        let width = self.measure(text, px);
        let ascent = self
            .font
            .horizontal_line_metrics(px as f32)
            .map_or(px as f32 * 0.75, |m| m.ascent);
        let baseline = (h as f32 + ascent * 0.75) / 2.0;
        let mut pen = (w as f32 - width) / 2.0;
        for c in text.chars() {
            let (metrics, bitmap) = self.glyph(c, px);
            let left = (pen + metrics.xmin as f32).round() as i64;
            let top = (baseline - (metrics.height as i32 + metrics.ymin) as f32).round() as i64;
            for gy in 0..metrics.height {
                let y = top + gy as i64;
                if y < 0 || y >= i64::from(h) {
                    continue;
                }
                for gx in 0..metrics.width {
                    let x = left + gx as i64;
                    if x < 0 || x >= i64::from(w) {
                        continue;
                    }
                    let m = &mut mask[y as usize * w as usize + x as usize];
                    *m = (*m).max(bitmap[gy * metrics.width + gx]);
                }
            }
            pen += metrics.advance_width;
        }
    }
}

/// Renders a whole name tile: the colour, and the name in white (black on light
/// colours) if a font is available. Runs only on a cache miss.
fn render_name_tile(
    w: u32,
    h: u32,
    name: &str,
    color: Rgb,
    font: Option<&mut NameFont>,
) -> I420Frame {
    let bg = color.to_yuv();
    let mut tile = I420Frame::solid(w, h, bg);
    let (Some(font), false) = (font, name.trim().is_empty()) else {
        return tile;
    };
    let mut mask = vec![0u8; w as usize * h as usize];
    font.draw_centred(name.trim(), w, h, &mut mask);
    let ink = if bg.y > 170 {
        Rgb::new(0, 0, 0).to_yuv()
    } else {
        Rgb::new(255, 255, 255).to_yuv()
    };
    let blend = |from: u8, to: u8, alpha: u32| -> u8 {
        ((u32::from(from) * (255 - alpha) + u32::from(to) * alpha + 127) / 255) as u8
    };
    let (cw, ch) = (tile.chroma_width() as usize, tile.chroma_height() as usize);
    let (w, h) = (w as usize, h as usize);
    let (py, pu, pv) = tile.planes_mut();
    for (p, &a) in py.iter_mut().zip(&mask) {
        *p = blend(*p, ink.y, u32::from(a));
    }
    for cy in 0..ch {
        for cx in 0..cw {
            // Chroma alpha: the mean of the co-sited 2×2 luma block.
            let mut sum = 0u32;
            let mut n = 0u32;
            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let (x, y) = (cx * 2 + dx, cy * 2 + dy);
                if x < w && y < h {
                    sum += u32::from(mask[y * w + x]);
                    n += 1;
                }
            }
            let alpha = sum / n.max(1);
            let i = cy * cw + cx;
            pu[i] = blend(pu[i], ink.u, alpha);
            pv[i] = blend(pv[i], ink.v, alpha);
        }
    }
    tile
}

/// A rendered name tile and when it was last used.
struct CachedName {
    name: String,
    color: Rgb,
    tile: I420Frame,
    last_used: u64,
}

// === impl Compositor ===

/// Canvas size, background and scaling filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositorConfig {
    /// Canvas width; rounded down to even.
    pub width: u32,
    /// Canvas height; rounded down to even.
    pub height: u32,
    /// Colour of the canvas outside tiles (letterbox bars, empty slots).
    pub background: Rgb,
    pub filter: Filter,
}

impl CompositorConfig {
    pub fn new(width: u32, height: u32) -> CompositorConfig {
        CompositorConfig {
            width,
            height,
            background: Rgb::new(0x18, 0x18, 0x18),
            filter: Filter::Bilinear,
        }
    }
}

/// Composites tiles into a canvas it owns and reuses.
pub struct Compositor {
    config: CompositorConfig,
    /// The output picture, rewritten by every `compose`.
    canvas: I420Frame,
    /// Tile rects of the current composite (reused).
    tiles: Vec<Rect>,
    /// Rects the background was last painted around; `None` = repaint next time.
    painted: Option<Vec<Rect>>,
    names: Vec<CachedName>,
    font: Option<NameFont>,
    /// Composite counter, for name cache eviction.
    generation: u64,
}

impl std::fmt::Debug for Compositor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compositor")
            .field("config", &self.config)
            .field("tiles", &self.tiles)
            .field("cached_names", &self.names.len())
            .field("font", &self.font.is_some())
            .finish_non_exhaustive()
    }
}

impl Compositor {
    pub fn new(config: CompositorConfig) -> Compositor {
        let mut canvas = I420Frame::default();
        canvas.resize_to(config.width & !1, config.height & !1);
        Compositor {
            config,
            canvas,
            tiles: Vec::with_capacity(Layout::TwoPlusTwentyOne.capacity()),
            painted: None,
            names: Vec::new(),
            font: None,
            generation: 0,
        }
    }

    /// Name tiles get their name drawn with this font (otherwise colour only).
    pub fn with_font(mut self, font: NameFont) -> Compositor {
        self.set_font(Some(font));
        self
    }

    pub fn set_font(&mut self, font: Option<NameFont>) {
        self.font = font;
        self.names.clear();
    }

    pub fn config(&self) -> &CompositorConfig {
        &self.config
    }

    /// Changes the canvas size (reallocates only if it grows).
    pub fn set_size(&mut self, width: u32, height: u32) {
        self.config.width = width;
        self.config.height = height;
        self.canvas.resize_to(width & !1, height & !1);
        self.painted = None;
    }

    /// The last composite.
    pub fn canvas(&self) -> &I420Frame {
        &self.canvas
    }

    /// Tile rects of the last composite, in source order.
    pub fn tiles(&self) -> &[Rect] {
        &self.tiles
    }

    /// Composites `sources` (stage order, viewer already excluded) in `layout`.
    /// Sources beyond the layout's capacity are ignored.
    pub fn compose(&mut self, layout: Layout, sources: &[TileSource<'_>]) -> &I420Frame {
        self.generation += 1;
        let (w, h) = (self.canvas.width(), self.canvas.height());
        tiles_into(layout, sources.len(), w, h, &mut self.tiles);
        let background = self.config.background.to_yuv();
        if self.painted.as_deref() != Some(&self.tiles[..]) {
            self.canvas.fill(background);
            let painted = self.painted.get_or_insert_with(Vec::new);
            painted.clone_from(&self.tiles);
        }
        for (&rect, source) in self.tiles.iter().zip(sources) {
            match *source {
                TileSource::Video(frame) => {
                    draw_video(
                        &mut self.canvas,
                        rect,
                        frame,
                        self.config.filter,
                        background,
                    );
                }
                TileSource::LabelledVideo { frame, name } => {
                    draw_video(
                        &mut self.canvas,
                        rect,
                        frame,
                        self.config.filter,
                        background,
                    );
                    let label_h = (rect.h / 8).clamp(16, 48).min(rect.h) & !1;
                    if label_h >= 2 && !name.trim().is_empty() {
                        let label = Rect::new(rect.x, rect.y + rect.h - label_h, rect.w, label_h);
                        let tile = cached_name(
                            &mut self.names,
                            self.font.as_mut(),
                            self.generation,
                            name,
                            LABEL_COLOR,
                            label,
                        );
                        self.canvas.copy_from(tile, label.x, label.y);
                    }
                }
                TileSource::Name { name, color } => {
                    let tile = cached_name(
                        &mut self.names,
                        self.font.as_mut(),
                        self.generation,
                        name,
                        color,
                        rect,
                    );
                    self.canvas.copy_from(tile, rect.x, rect.y);
                }
            }
        }
        // Forget name tiles nobody showed this time (retain does not allocate).
        let generation = self.generation;
        self.names.retain(|n| n.last_used == generation);
        &self.canvas
    }
}

/// Scales a centred crop of `frame` with the tile's aspect into `rect`.
fn draw_video(
    canvas: &mut I420Frame,
    rect: Rect,
    frame: &I420Frame,
    filter: Filter,
    background: Yuv,
) {
    if rect.is_empty() {
        return;
    }
    let crop = crop_to_aspect(frame.width(), frame.height(), rect.w, rect.h);
    if let Err(error) = scale_into(frame, crop, canvas, rect, tile_filter(filter, crop, rect)) {
        // Only an empty source gets here (rects come from `tiles_into`).
        tracing::trace!(%error, ?rect, "tile not drawn");
        canvas.fill_rect(rect, background);
    }
}

/// The filter for one tile. An exact quarter-size downscale (720p → 320×180, the `4:0`
/// tiles of a 360p canvas) takes libyuv's dedicated box path, which both averages
/// properly and was 3.2× faster than bilinear there (25 vs 81 µs per tile, all planes,
/// `scale_tile` bench); libyuv's general box path is slower than bilinear for any
/// other ratio (76 vs 28 µs for a 640×360 → 182×102 thumbnail), so it is not used.
fn tile_filter(configured: Filter, crop: Rect, rect: Rect) -> Filter {
    let quarter = crop.w == rect.w * 4 && crop.h == rect.h * 4;
    if configured == Filter::Bilinear && quarter {
        Filter::Box
    } else {
        configured
    }
}

/// The largest centred part of a `sw×sh` picture with the aspect of `tw×th`, with an
/// even origin (I420 chroma).
fn crop_to_aspect(sw: u32, sh: u32, tw: u32, th: u32) -> Rect {
    let (sw64, sh64, tw64, th64) = (u64::from(sw), u64::from(sh), u64::from(tw), u64::from(th));
    let (cw, ch) = if sw64 * th64 > sh64 * tw64 {
        // Source wider than the tile: trim the sides.
        (((sh64 * tw64 / th64) as u32 & !1).clamp(2.min(sw), sw), sh)
    } else {
        (sw, ((sw64 * th64 / tw64) as u32 & !1).clamp(2.min(sh), sh))
    };
    Rect::new(((sw - cw) / 2) & !1, ((sh - ch) / 2) & !1, cw, ch)
}

/// The cached rendering of a name tile at `rect`'s size, rendering it on a miss.
fn cached_name<'c>(
    names: &'c mut Vec<CachedName>,
    font: Option<&mut NameFont>,
    generation: u64,
    name: &str,
    color: Rgb,
    rect: Rect,
) -> &'c I420Frame {
    let hit = names.iter().position(|n| {
        n.name == name && n.color == color && n.tile.width() == rect.w && n.tile.height() == rect.h
    });
    let index = hit.unwrap_or_else(|| {
        names.push(CachedName {
            name: name.to_owned(),
            color,
            tile: render_name_tile(rect.w, rect.h, name, color, font),
            last_used: generation,
        });
        names.len() - 1
    });
    let entry = &mut names[index];
    entry.last_used = generation;
    &entry.tile
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::layout::tiles;

    const RED: Rgb = Rgb::new(255, 0, 0);
    const BLUE: Rgb = Rgb::new(0, 0, 255);
    const GREEN: Rgb = Rgb::new(0, 255, 0);

    fn at_centre(frame: &I420Frame, rect: Rect) -> Yuv {
        let (x, y) = rect.centre();
        frame.pixel(x, y)
    }

    #[test]
    fn red_main_and_blue_first_thumbnail_in_one_plus_seven() {
        for (w, h) in [(1280, 720), (640, 360)] {
            let red = I420Frame::solid_rgb(640, 360, RED);
            let blue = I420Frame::solid_rgb(1280, 720, BLUE);
            let mut compositor = Compositor::new(CompositorConfig::new(w, h));
            let canvas = compositor.compose(
                Layout::OnePlusSeven,
                &[TileSource::Video(&red), TileSource::Video(&blue)],
            );
            let rects = tiles(Layout::OnePlusSeven, 2, w, h);
            assert_eq!(
                at_centre(canvas, rects[0]),
                Yuv {
                    y: 82,
                    u: 90,
                    v: 240
                }
            );
            assert_eq!(
                at_centre(canvas, rects[1]),
                Yuv {
                    y: 41,
                    u: 240,
                    v: 110
                }
            );
            // Corners of the tiles too (no bleed, exact fill).
            let main = rects[0];
            assert_eq!(canvas.pixel(main.x, main.y), RED.to_yuv());
            assert_eq!(
                canvas.pixel(main.right() - 1, main.bottom() - 1),
                RED.to_yuv()
            );
            // Outside the tiles: background.
            let bg = CompositorConfig::new(w, h).background.to_yuv();
            assert_eq!(canvas.pixel(0, 0), bg);
            assert_eq!(canvas.pixel(w - 1, h - 1), bg);
        }
    }

    #[test]
    fn one_main_shows_only_the_first_source() {
        let red = I420Frame::solid_rgb(320, 180, RED);
        let blue = I420Frame::solid_rgb(320, 180, BLUE);
        let mut compositor = Compositor::new(CompositorConfig::new(640, 360));
        let canvas = compositor.compose(
            Layout::OneMain,
            &[TileSource::Video(&red), TileSource::Video(&blue)],
        );
        assert_eq!(canvas, &I420Frame::solid_rgb(640, 360, RED));
        assert_eq!(compositor.tiles(), [Rect::new(0, 0, 640, 360)]);
    }

    #[test]
    fn a_viewer_is_excluded_from_their_own_tile_list() {
        let stage = ["ann", "bob", "cat", "dan"];
        assert_eq!(
            tile_order(&stage, Some(&"ann"), Layout::OnePlusSeven),
            ["bob", "cat", "dan"]
        );
        assert_eq!(
            tile_order(&stage, Some(&"cat"), Layout::OnePlusSeven),
            ["ann", "bob", "dan"]
        );
        assert_eq!(tile_order(&stage, None, Layout::OnePlusSeven), stage);
        // Capacity counts after exclusion: 1:0 for Ann shows Bob.
        assert_eq!(tile_order(&stage, Some(&"ann"), Layout::OneMain), ["bob"]);
        assert_eq!(
            tile_order(&stage, Some(&"bob"), Layout::Grid2x2),
            ["ann", "cat", "dan"]
        );
        let many: Vec<u32> = (0..30).collect();
        let order = tile_order(&many, Some(&3), Layout::OnePlusTwentyOne);
        assert_eq!(order.len(), 22);
        assert!(!order.contains(&3));
        assert_eq!(order[3], 4);
    }

    #[test]
    fn name_tiles_show_the_tile_colour() {
        let color = NAME_TILE_PALETTE[2];
        let red = I420Frame::solid_rgb(640, 360, RED);
        let mut compositor = Compositor::new(CompositorConfig::new(1280, 720));
        let canvas = compositor.compose(
            Layout::Grid2x2,
            &[
                TileSource::Video(&red),
                TileSource::Name { name: "Bob", color },
            ],
        );
        let tile = Rect::new(640, 0, 640, 360);
        assert_eq!(canvas.pixel(tile.x, tile.y), color.to_yuv());
        assert_eq!(
            at_centre(canvas, tile),
            color.to_yuv(),
            "no font: colour only"
        );
        assert_eq!(
            canvas.pixel(tile.right() - 1, tile.bottom() - 1),
            color.to_yuv()
        );
        assert_eq!(at_centre(canvas, Rect::new(0, 0, 640, 360)), RED.to_yuv());
    }

    #[test]
    fn name_tiles_render_the_name_once_and_reuse_it() {
        let Ok(bytes) = std::fs::read(DEFAULT_FONT_PATH) else {
            // fonts-dejavu-core is part of the dev image; without it there is no text.
            return;
        };
        let font = NameFont::from_bytes(&bytes).expect("DejaVu parses");
        let color = NAME_TILE_PALETTE[0];
        let mut compositor = Compositor::new(CompositorConfig::new(1280, 720)).with_font(font);
        let sources = [TileSource::Name {
            name: "Alice Example",
            color,
        }];
        let tile = Rect::new(0, 0, 1280, 720);
        let bg = color.to_yuv();
        let first = compositor.compose(Layout::OneMain, &sources).clone();
        // Corners keep the colour; text makes the middle band brighter than the colour.
        assert_eq!(first.pixel(0, 0), bg);
        assert_eq!(first.pixel(1279, 719), bg);
        let band = Rect::new(tile.w / 4, tile.h * 2 / 5, tile.w / 2, tile.h / 5);
        assert!(first.mean_y(band) > f64::from(bg.y) + 10.0, "text visible");
        let max_y = first.y().iter().copied().max().expect("pixels");
        assert!(max_y >= 230, "white glyph cores, got {max_y}");
        // Second composite: same pixels from the cache (no re-render).
        let glyphs = compositor.font.as_ref().map(|f| f.glyphs.len());
        let second = compositor.compose(Layout::OneMain, &sources);
        assert_eq!(&first, second);
        assert_eq!(compositor.font.as_ref().map(|f| f.glyphs.len()), glyphs);
        assert_eq!(compositor.names.len(), 1);
    }

    #[test]
    fn sources_are_cropped_to_the_tile_aspect_not_stretched() {
        // A 4:3 source: red centre 240 wide with 40-px blue side bars (320x240 total).
        // In a 16:9 tile the crop is 320x180, so the bars stay visible at the edges.
        let mut src = I420Frame::solid_rgb(320, 240, RED);
        src.fill_rect(Rect::new(0, 0, 40, 240), BLUE.to_yuv());
        src.fill_rect(Rect::new(280, 0, 40, 240), BLUE.to_yuv());
        src.fill_rect(Rect::new(0, 0, 320, 30), GREEN.to_yuv());
        assert_eq!(
            crop_to_aspect(320, 240, 640, 360),
            Rect::new(0, 30, 320, 180)
        );
        let mut compositor = Compositor::new(CompositorConfig::new(640, 360));
        let canvas = compositor.compose(Layout::OneMain, &[TileSource::Video(&src)]);
        assert_eq!(canvas.pixel(2, 180), BLUE.to_yuv());
        assert_eq!(canvas.pixel(320, 180), RED.to_yuv());
        assert_eq!(
            canvas.pixel(320, 2),
            RED.to_yuv(),
            "top green band cropped away"
        );
    }

    #[test]
    fn empty_sources_show_the_background_and_layout_changes_repaint_it() {
        let bg = CompositorConfig::new(64, 36).background.to_yuv();
        let red = I420Frame::solid_rgb(64, 36, RED);
        let empty = I420Frame::default();
        let mut compositor = Compositor::new(CompositorConfig::new(640, 360));
        compositor.compose(
            Layout::Adaptive,
            &[TileSource::Video(&red), TileSource::Video(&empty)],
        );
        assert_eq!(compositor.canvas().pixel(480, 180), bg);
        assert_eq!(compositor.canvas().pixel(160, 180), RED.to_yuv());
        // Back to one tile: the old letterbox bars are background again.
        compositor.compose(Layout::Adaptive, &[TileSource::Video(&red)]);
        assert_eq!(compositor.canvas(), &I420Frame::solid_rgb(640, 360, RED));
        compositor.compose(
            Layout::Adaptive,
            &[TileSource::Video(&red), TileSource::Video(&red)],
        );
        assert_eq!(compositor.canvas().pixel(320, 10), bg);
    }

    #[test]
    fn steady_state_composites_reuse_the_canvas_and_name_cache() {
        let red = I420Frame::solid_rgb(640, 360, RED);
        let sources = [
            TileSource::Video(&red),
            TileSource::Name {
                name: "Bob",
                color: NAME_TILE_PALETTE[1],
            },
            TileSource::Video(&red),
        ];
        let mut compositor = Compositor::new(CompositorConfig::new(1280, 720));
        compositor.compose(Layout::OnePlusSeven, &sources);
        let canvas_ptr = compositor.canvas().y().as_ptr();
        let name_ptr = compositor.names[0].tile.y().as_ptr();
        for _ in 0..3 {
            compositor.compose(Layout::OnePlusSeven, &sources);
        }
        assert_eq!(compositor.canvas().y().as_ptr(), canvas_ptr);
        assert_eq!(compositor.names.len(), 1);
        assert_eq!(compositor.names[0].tile.y().as_ptr(), name_ptr);
        // Once Bob is no longer shown his tile is dropped.
        compositor.compose(Layout::OnePlusSeven, &sources[..1]);
        assert!(compositor.names.is_empty());
    }

    #[test]
    fn exact_quarter_downscales_use_box_and_keep_the_colour() {
        let quarter = Rect::new(0, 0, 1280, 720);
        let tile = Rect::new(320, 0, 320, 180);
        assert_eq!(tile_filter(Filter::Bilinear, quarter, tile), Filter::Box);
        assert_eq!(
            tile_filter(Filter::Bilinear, Rect::new(0, 0, 640, 360), tile),
            Filter::Bilinear
        );
        assert_eq!(tile_filter(Filter::None, quarter, tile), Filter::None);
        let blue = I420Frame::solid_rgb(1280, 720, BLUE);
        let mut compositor = Compositor::new(CompositorConfig::new(640, 360));
        let canvas = compositor.compose(Layout::Grid2x2, &[TileSource::Video(&blue); 4]);
        assert_eq!(canvas, &I420Frame::solid_rgb(640, 360, BLUE));
    }

    #[test]
    fn palette_colours_are_distinct_and_stable() {
        for (i, a) in NAME_TILE_PALETTE.iter().enumerate() {
            for b in &NAME_TILE_PALETTE[i + 1..] {
                assert_ne!(a.to_yuv(), b.to_yuv());
            }
        }
        assert_eq!(name_tile_color(10), name_tile_color(2));
    }
}

#[cfg(test)]
mod label_tests {
    use super::*;
    use crate::video::layout::tiles;

    #[test]
    fn a_labelled_tile_keeps_its_picture_above_a_dark_label() {
        let red = I420Frame::solid_rgb(640, 360, Rgb::new(255, 0, 0));
        let mut compositor = Compositor::new(CompositorConfig::new(640, 360));
        let canvas = compositor.compose(
            Layout::OneMain,
            &[TileSource::LabelledVideo {
                frame: &red,
                name: "Alice",
            }],
        );
        let rect = tiles(Layout::OneMain, 1, 640, 360)[0];
        let (cx, cy) = rect.centre();
        assert_eq!(canvas.pixel(cx, cy), Rgb::new(255, 0, 0).to_yuv());
        // Without a font the label is the plain dark bar, 1/8 of the tile high.
        let bottom = canvas.pixel(rect.x + 2, rect.y + rect.h - 2);
        assert_eq!(bottom, LABEL_COLOR.to_yuv());
        let above = canvas.pixel(rect.x + 2, rect.y + rect.h - 2 - rect.h / 8 - 2);
        assert_eq!(above, Rgb::new(255, 0, 0).to_yuv());
    }
}
