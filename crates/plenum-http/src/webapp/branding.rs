//! The branding package (behavior.md §10): `/webapp2/custom_configuration/<path>` served
//! from the configured branding folder, read from disk at each request. Nothing outside
//! the folder is ever served: a path is refused before touching the disk when it is not
//! plain (see [`relative_path`]), and a file whose real location (symlinks resolved) lies
//! outside the folder is refused after.

use std::io;
use std::path::{Component, Path, PathBuf};

use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use percent_encoding::percent_decode_str;
use tracing::debug;

use super::WebApp;
use super::files::{Asset, CACHE_REVALIDATE};
use crate::ApiError;

/// Where the package is served; the rest of the path names a file in the folder.
pub(super) const URL_PREFIX: &str = "/webapp2/custom_configuration/";

const NOT_FOUND: ApiError = ApiError::NotFound("no such branding file");

/// GET `/webapp2/custom_configuration/{*path}`: the file, revalidated on every use (a
/// package can be replaced at any time), or 404.
pub(super) async fn file(
    State(web): State<WebApp>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let dir = web.branding_dir().ok_or(NOT_FOUND)?;
    let raw = uri.path().strip_prefix(URL_PREFIX).ok_or(NOT_FOUND)?;
    let Some(relative) = relative_path(raw) else {
        debug!(path = uri.path(), "branding path refused");
        return Err(NOT_FOUND);
    };
    let body = read_inside(dir, &relative).await?;
    let name = raw.rsplit('/').next().unwrap_or(raw);
    Ok(Asset::new(name, body).respond(&headers, CACHE_REVALIDATE))
}

/// The relative file path named by `raw` (the still percent-encoded rest of the URL
/// path), or `None` unless every segment decodes (UTF-8) to a plain file name: not
/// empty (`//`, a leading `/`), not starting with `.` (`.`, `..`, dot files, also when
/// encoded as `%2e`), without `/`, `\` or NUL (so no encoded slashes), and a single
/// normal path component on this platform (no `C:`).
pub(crate) fn relative_path(raw: &str) -> Option<PathBuf> {
    let mut path = PathBuf::new();
    for segment in raw.split('/') {
        let name = percent_decode_str(segment).decode_utf8().ok()?;
        if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', '\0']) {
            return None;
        }
        let mut components = Path::new(name.as_ref()).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(normal)), None) => path.push(normal),
            _ => return None,
        }
    }
    Some(path)
}

/// The content of `relative` in `dir`, if it is a regular file whose real path lies
/// inside the folder's real path.
pub(crate) async fn read_inside(dir: &Path, relative: &Path) -> Result<Bytes, ApiError> {
    let root = tokio::fs::canonicalize(dir)
        .await
        .map_err(not_found_or_internal)?;
    let file = tokio::fs::canonicalize(root.join(relative))
        .await
        .map_err(not_found_or_internal)?;
    if !file.starts_with(&root) {
        debug!(file = %file.display(), "branding file outside the branding folder refused");
        return Err(NOT_FOUND);
    }
    let metadata = tokio::fs::metadata(&file)
        .await
        .map_err(not_found_or_internal)?;
    if !metadata.is_file() {
        return Err(NOT_FOUND);
    }
    let content = tokio::fs::read(&file)
        .await
        .map_err(not_found_or_internal)?;
    Ok(Bytes::from(content))
}

/// A file that isn't there is a 404; anything else (permissions, I/O) is the node's
/// fault and logged.
fn not_found_or_internal(error: io::Error) -> ApiError {
    match error.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => NOT_FOUND,
        _ => ApiError::Internal(format!("cannot read the branding folder: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_are_accepted() {
        for (raw, expected) in [
            ("manifest.json", "manifest.json"),
            ("themes/styles.css", "themes/styles.css"),
            ("watermark%20icon.png", "watermark icon.png"),
            ("favicon%2Dsmall.png", "favicon-small.png"),
        ] {
            assert_eq!(relative_path(raw), Some(PathBuf::from(expected)), "{raw}");
        }
    }

    #[test]
    fn paths_that_could_leave_the_folder_are_refused() {
        for raw in [
            "",
            "..",
            "../plenum.toml",
            "themes/../../plenum.toml",
            "%2e%2e/plenum.toml",
            "%2E%2E%2Fplenum.toml",
            "themes%2f..%2f..%2fplenum.toml",
            "themes%5c..%5cplenum.toml",
            "/etc/passwd",
            "themes//styles.css",
            "./manifest.json",
            ".hidden",
            "manifest.json%00.png",
            "%ff.png",
        ] {
            assert_eq!(relative_path(raw), None, "{raw}");
        }
    }
}
