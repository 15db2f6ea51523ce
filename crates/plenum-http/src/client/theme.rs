//! Per-room themes (client-api-v2 §2.1): a room's `theme.json` (the five direct-media
//! screens) and its images, which `GET …/theme/` and `GET …/theme/{path}` serve
//! ([`super::theme_routes`]).
//!
//! A [`Theme`] is checked once, when the node loads its configuration ([`Theme::parse`]
//! does no I/O; the node reads `theme.json` and checks that the images exist). Images
//! are read from disk at each request and never from outside the theme folder: the same
//! path rules as the branding package apply (plain segments only, real path inside the
//! folder).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file in a theme folder that describes the screens.
pub const THEME_FILE: &str = "theme.json";

/// The screen a participant waiting for a Host is shown (SSE `splash_screen`).
pub const WAITING_FOR_HOST: &str = "direct_media_waiting_for_host";

/// Largest `theme.json` the node reads.
pub const MAX_THEME_FILE_BYTES: u64 = 64 * 1024;

/// Image types a theme may use, by extension.
const IMAGE_TYPES: [(&str, &str); 5] = [
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
];

/// A checked theme: its folder and its screens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// The folder holding `theme.json` and the images.
    dir: PathBuf,
    /// The screens, as answered by `theme/`.
    pub(super) screens: Screens,
}

/// `theme.json`: the five screens the SDK knows, all required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Screens {
    direct_media_welcome: Screen,
    direct_media_waiting_for_host: Screen,
    direct_media_other_participants_audio_only: Screen,
    direct_media_escalate: Screen,
    direct_media_deescalate: Screen,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Screen {
    /// Always `direct_media`.
    layout_type: String,
    background: Background,
    elements: Vec<Element>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Background {
    /// An image in the theme folder, relative to it.
    path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Element {
    /// Always `text`.
    #[serde(rename = "type")]
    kind: String,
    /// `0xRRGGBB` as a number.
    color: u32,
    text: String,
}

/// Why a `theme.json` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThemeError {
    #[error("{THEME_FILE} is not a theme: {0}")]
    Json(String),
    #[error("{THEME_FILE}: {screen}: layout_type must be \"direct_media\"")]
    LayoutType { screen: &'static str },
    #[error("{THEME_FILE}: {screen}: element type must be \"text\"")]
    ElementType { screen: &'static str },
    #[error("{THEME_FILE}: {screen}: color {color} is not a colour 0xRRGGBB (0 to 16777215)")]
    Color { screen: &'static str, color: u32 },
    #[error(
        "{THEME_FILE}: {screen}: background path {path:?} must be a file in the theme folder ending in .png, .jpg, .jpeg, .gif or .webp, made of letters, digits, '-', '_', '.' and '/'"
    )]
    BackgroundPath { screen: &'static str, path: String },
}

impl Theme {
    /// Checks the text of `theme.json` from the folder `dir`: the documented shape, no
    /// other keys, plain image paths inside the folder. Does not look at the disk.
    pub fn parse(dir: PathBuf, json: &str) -> Result<Theme, ThemeError> {
        let screens: Screens =
            serde_json::from_str(json).map_err(|e| ThemeError::Json(e.to_string()))?;
        for (name, screen) in screens.each() {
            if screen.layout_type != "direct_media" {
                return Err(ThemeError::LayoutType { screen: name });
            }
            for element in &screen.elements {
                if element.kind != "text" {
                    return Err(ThemeError::ElementType { screen: name });
                }
                if element.color > 0xFF_FFFF {
                    return Err(ThemeError::Color {
                        screen: name,
                        color: element.color,
                    });
                }
            }
            if !is_image_path(&screen.background.path) {
                return Err(ThemeError::BackgroundPath {
                    screen: name,
                    path: screen.background.path.clone(),
                });
            }
        }
        Ok(Theme { dir, screens })
    }

    /// The theme folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the theme has the screen `key` (an SSE `splash_screen` may name it).
    /// Today every checked theme has all five, but the stream asks rather than assumes.
    pub fn has_screen(&self, key: &str) -> bool {
        self.screens.each().iter().any(|(name, _)| *name == key)
    }

    /// The images the screens use, relative to the folder (the node checks they exist).
    pub fn images(&self) -> impl Iterator<Item = &str> {
        self.screens
            .each()
            .into_iter()
            .map(|(_, s)| s.background.path.as_str())
    }
}

impl Screens {
    fn each(&self) -> [(&'static str, &Screen); 5] {
        [
            ("direct_media_welcome", &self.direct_media_welcome),
            (
                "direct_media_waiting_for_host",
                &self.direct_media_waiting_for_host,
            ),
            (
                "direct_media_other_participants_audio_only",
                &self.direct_media_other_participants_audio_only,
            ),
            ("direct_media_escalate", &self.direct_media_escalate),
            ("direct_media_deescalate", &self.direct_media_deescalate),
        ]
    }
}

/// A path the SDK can put in a URL as it is and that stays in the folder: segments of
/// `[A-Za-z0-9_.-]` not starting with `.`, and an image extension.
fn is_image_path(path: &str) -> bool {
    let plain = path.split('/').all(|segment| {
        !segment.is_empty()
            && !segment.starts_with('.')
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    });
    plain && image_type(path).is_some()
}

/// The `Content-Type` of a theme image, by extension (case ignored); `None` for
/// anything that is not an image type themes may use.
pub(super) fn image_type(path: &str) -> Option<&'static str> {
    let (_, extension) = path.rsplit_once('.')?;
    IMAGE_TYPES
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(extension))
        .map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(path: &str) -> serde_json::Value {
        serde_json::json!({
            "layout_type": "direct_media",
            "background": {"path": path},
            "elements": [{"type": "text", "color": 16777215, "text": "Hello"}]
        })
    }

    fn theme_json(edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut json = serde_json::json!({
            "direct_media_welcome": screen("welcome.png"),
            "direct_media_waiting_for_host": screen("images/waiting.jpg"),
            "direct_media_other_participants_audio_only": screen("a.png"),
            "direct_media_escalate": screen("a.png"),
            "direct_media_deescalate": screen("a.png"),
        });
        edit(&mut json);
        json.to_string()
    }

    fn check(edit: impl FnOnce(&mut serde_json::Value)) -> Result<Theme, ThemeError> {
        Theme::parse(PathBuf::from("/themes/t"), &theme_json(edit))
    }

    #[test]
    fn the_documented_shape_is_accepted_and_answered_as_it_is() {
        let theme = check(|_| {}).expect("valid theme");
        let answered = serde_json::to_value(&theme.screens).expect("serialises");
        assert_eq!(
            answered,
            serde_json::from_str::<serde_json::Value>(&theme_json(|_| {})).expect("json")
        );
        assert!(theme.images().any(|p| p == "images/waiting.jpg"));
        assert!(theme.has_screen(WAITING_FOR_HOST));
        assert!(!theme.has_screen("custom"));
    }

    #[test]
    fn wrong_shapes_are_refused_with_the_screen_named() {
        let missing = check(|j| {
            j.as_object_mut()
                .expect("object")
                .remove("direct_media_escalate");
        });
        assert!(
            matches!(&missing, Err(ThemeError::Json(m)) if m.contains("direct_media_escalate")),
            "{missing:?}"
        );
        let extra = check(|j| j["direct_media_welcome"]["extra"] = 1.into());
        assert!(matches!(extra, Err(ThemeError::Json(_))), "{extra:?}");
        assert_eq!(
            check(|j| j["direct_media_welcome"]["layout_type"] = "grid".into()),
            Err(ThemeError::LayoutType {
                screen: "direct_media_welcome"
            })
        );
        assert_eq!(
            check(|j| j["direct_media_escalate"]["elements"][0]["type"] = "image".into()),
            Err(ThemeError::ElementType {
                screen: "direct_media_escalate"
            })
        );
        assert!(matches!(
            check(|j| j["direct_media_escalate"]["elements"][0]["color"] = 16777216.into()),
            Err(ThemeError::Color { .. })
        ));
    }

    #[test]
    fn background_paths_must_be_plain_images_inside_the_folder() {
        for path in [
            "../x.png",
            "/etc/x.png",
            "a/../../x.png",
            ".hidden.png",
            "a//b.png",
            "x.svg",
            "x",
            "a b.png",
            "a%2F..png",
            "",
        ] {
            assert!(
                matches!(
                    check(|j| j["direct_media_welcome"]["background"]["path"] = path.into()),
                    Err(ThemeError::BackgroundPath { .. })
                ),
                "{path}"
            );
        }
    }
}
