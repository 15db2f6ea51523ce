//! `Rect`: a pixel rectangle, the geometry frames, layouts, scaling and the compositor
//! share.

/// A pixel rectangle on the canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    pub const fn new(x: u32, y: u32, w: u32, h: u32) -> Rect {
        Rect { x, y, w, h }
    }

    pub const fn right(&self) -> u32 {
        self.x + self.w
    }

    pub const fn bottom(&self) -> u32 {
        self.y + self.h
    }

    pub const fn is_empty(&self) -> bool {
        self.w == 0 || self.h == 0
    }

    /// The centre pixel.
    pub const fn centre(&self) -> (u32, u32) {
        (self.x + self.w / 2, self.y + self.h / 2)
    }

    /// True if the two rectangles share at least one pixel.
    pub const fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.right()
            && other.x < self.right()
            && self.y < other.bottom()
            && other.y < self.bottom()
    }

    /// True if every coordinate and size is even (safe to use for I420 chroma).
    pub const fn is_even(&self) -> bool {
        (self.x | self.y | self.w | self.h).is_multiple_of(2)
    }

    /// True if the rectangle lies inside a `width×height` frame.
    pub const fn fits_in(&self, width: u32, height: u32) -> bool {
        self.x as u64 + self.w as u64 <= width as u64
            && self.y as u64 + self.h as u64 <= height as u64
    }

    /// The part inside a `width×height` frame, or `None` if nothing is left.
    pub fn clip(&self, width: u32, height: u32) -> Option<Rect> {
        let right = self.x.saturating_add(self.w).min(width);
        let bottom = self.y.saturating_add(self.h).min(height);
        (self.x < right && self.y < bottom)
            .then(|| Rect::new(self.x, self.y, right - self.x, bottom - self.y))
    }
}
