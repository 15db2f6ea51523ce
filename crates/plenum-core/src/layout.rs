//! Video layouts a Host can choose, and which one each role sees.

use std::fmt;
use std::str::FromStr;

/// A composite layout. `M:N` = M main speakers and up to N thumbnails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// `1:0`: the main speaker only.
    OneMain,
    /// `1:7`: one main speaker and up to 7 thumbnails.
    OnePlusSeven,
    /// `1:21`: one main speaker and up to 21 thumbnails.
    OnePlusTwentyOne,
    /// `2:21`: two main speakers and up to 21 thumbnails.
    TwoPlusTwentyOne,
    /// `4:0`: a 2×2 grid.
    Grid2x2,
    /// `ac`: Adaptive Composition, up to 12 tiles sized by count.
    Adaptive,
}

/// Every layout, in the order clients should list them.
pub const ALL_LAYOUTS: [Layout; 6] = [
    Layout::Adaptive,
    Layout::OneMain,
    Layout::OnePlusSeven,
    Layout::OnePlusTwentyOne,
    Layout::TwoPlusTwentyOne,
    Layout::Grid2x2,
];

impl Layout {
    /// The wire name (`1:7`, `ac`, …).
    pub fn name(self) -> &'static str {
        match self {
            Layout::OneMain => "1:0",
            Layout::OnePlusSeven => "1:7",
            Layout::OnePlusTwentyOne => "1:21",
            Layout::TwoPlusTwentyOne => "2:21",
            Layout::Grid2x2 => "4:0",
            Layout::Adaptive => "ac",
        }
    }

    /// How many participants the layout shows at most.
    pub fn capacity(self) -> usize {
        match self {
            Layout::OneMain => 1,
            Layout::OnePlusSeven => 8,
            Layout::OnePlusTwentyOne => 22,
            Layout::TwoPlusTwentyOne => 23,
            Layout::Grid2x2 => 4,
            Layout::Adaptive => 12,
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A layout name that plenum does not offer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown layout {0:?}; available: ac, 1:0, 1:7, 1:21, 2:21, 4:0")]
pub struct UnknownLayout(pub String);

impl FromStr for Layout {
    type Err = UnknownLayout;

    /// Accepts the wire names and, for Adaptive Composition, the web app's spelling
    /// `AdaptiveComposition`.
    fn from_str(s: &str) -> Result<Layout, UnknownLayout> {
        let s = s.trim();
        ALL_LAYOUTS
            .into_iter()
            .find(|l| l.name() == s)
            .or_else(|| {
                s.eq_ignore_ascii_case("AdaptiveComposition")
                    .then_some(Layout::Adaptive)
            })
            .ok_or_else(|| UnknownLayout(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for layout in ALL_LAYOUTS {
            assert_eq!(layout.name().parse::<Layout>(), Ok(layout));
        }
        assert_eq!(
            "AdaptiveComposition".parse::<Layout>(),
            Ok(Layout::Adaptive)
        );
        assert!("3:3".parse::<Layout>().is_err());
        assert!("".parse::<Layout>().is_err());
    }
}
