//! The web app (issue #5): its static files under `/webapp/…`, embedded in the binary at
//! build time, with client-side routes answered by `index.html`; the links into
//! meetings of behavior.md §7, including those of Pexip's older web apps (`/webapp1/`,
//! `/webapp2/`) and of the node's root; and the branding package under
//! `/webapp2/custom_configuration/…` (§10).
//!
//! | GET / HEAD | answer |
//! |---|---|
//! | `/` | 302 to `/webapp/home` |
//! | `/?q` | 302 to `/webapp/?q` (the oldest link style, read by `routes.js`) |
//! | `/webapp`, `/webapp/`, `/webapp/home` | `index.html` |
//! | `/webapp1/`, `/webapp2/` | `index.html` (`routes.js` reads `?q` and `#/?q` there too) |
//! | `/webapp/conference/{alias}?q` | 302 to `/webapp/#/?conference={alias}&q` |
//! | `/webapp1/conference/{alias}?q`, `/webapp2/conference/{alias}?q` | the same 302 |
//! | `/webapp/{file}` | the file |
//! | `/webapp/assets/{missing}`, `/webapp/vendor/{missing}` | 404 |
//! | `/webapp/{other}` | `index.html` (a client-side route) |
//! | `/webapp2/custom_configuration/{file}` | the file from the branding folder, or 404 |
//!
//! Anything else under `/webapp1/` and `/webapp2/` (also the bare `/webapp1`, `/webapp2`)
//! stays the API's JSON 404: only the entry pages of the older apps are links people
//! still have.
//!
//! Caching: `index.html` is revalidated on every load (`no-cache`) and names its assets
//! with `?v=<content hash>`; a file asked for with its current `v` is cached for a year
//! as immutable. Everything else (e.g. modules imported by other modules, which can't
//! carry a version) is `no-cache` with an ETag, so a reload costs a 304 per file.
//!
//! Every answer carries a strict Content-Security-Policy (no inline scripts or styles,
//! nothing from other origins), `nosniff`, no referrer, and a Permissions-Policy that
//! grants camera, microphone, screen capture, full screen and picture-in-picture to the
//! app's own origin only.

pub(crate) mod branding;
mod files;
#[cfg(test)]
mod tests;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, LOCATION, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, percent_encode, utf8_percent_encode};

pub use files::WebApp;
use files::{CACHE_IMMUTABLE, CACHE_REVALIDATE, INDEX};

use crate::ApiError;

/// The home screen, where `/` leads.
const HOME: &str = "/webapp/home";

/// The policy of every web-app response: only this origin, no inline code, media from
/// the app's own streams.
const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; \
    connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
    frame-ancestors 'none'; form-action 'self'";

/// The devices and browser features the app may use, all for its own origin only.
const PERMISSIONS_POLICY_VALUE: &str = "camera=(self), microphone=(self), \
    display-capture=(self), fullscreen=(self), picture-in-picture=(self)";

/// What is percent-encoded in a value put into a query: all but RFC 3986's unreserved
/// characters, so that a `+`, `&`, `=`, `#` or `/` in an alias stays part of it.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What is percent-encoded in a query passed on as it came: only what may not appear in
/// a header (controls, space; non-ASCII bytes are always encoded).
const QUERY_AS_IS: &AsciiSet = &CONTROLS.add(b' ');

/// The web app's routes, for [`crate::router`] to merge.
pub(crate) fn routes<S>(web: WebApp) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/", get(root))
        .route("/webapp", get(index))
        .route("/webapp/", get(index))
        .route("/webapp/home", get(index))
        .route("/webapp/conference/{alias}", get(conference))
        .route("/webapp/{*path}", get(file))
        .route("/webapp1/", get(index))
        .route("/webapp1/conference/{alias}", get(conference))
        .route("/webapp2/", get(index))
        .route("/webapp2/conference/{alias}", get(conference))
        .route("/webapp2/custom_configuration/{*path}", get(branding::file))
        .layer(map_response(security_headers))
        .with_state(web)
}

/// The web app alone, with the API's JSON 404 for every other path: the part of
/// [`crate::router`] that needs no node, for testing the web app on its own.
pub fn router(web: WebApp) -> Router {
    routes(web).fallback(crate::not_found)
}

/// GET `/`: the home screen; with a query (`/?conference=…&name=…`, an old link to the
/// node itself) the app's oldest link style, `/webapp/?…`, keeping the query as it came.
async fn root(RawQuery(query): RawQuery) -> Response {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return redirect(HeaderValue::from_static(HOME));
    };
    let mut location = String::from("/webapp/?");
    location.extend(percent_encode(query.as_bytes(), QUERY_AS_IS));
    let location = HeaderValue::try_from(location)
        .expect("a percent-encoded location is visible ASCII, a valid header value");
    redirect(location)
}

/// GET `/webapp`, `/webapp/`, `/webapp/home`, and the entry pages of the older web apps
/// `/webapp1/`, `/webapp2/`: the app. These are not redirected: a link's `#/?…` never
/// reaches the server, and `routes.js` reads it (and the query) wherever the app is.
async fn index(State(web): State<WebApp>, headers: HeaderMap) -> Response {
    index_response(&web, &headers)
}

/// GET `/webapp/conference/{alias}?…` (the older link style; also under `/webapp1/` and
/// `/webapp2/`): on to the app's join route, `/webapp/#/?conference={alias}&…`, keeping
/// the rest of the query.
async fn conference(
    alias: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let Path(alias) =
        alias.map_err(|_| ApiError::InvalidParameter("the alias is not valid UTF-8".into()))?;
    let mut location = format!(
        "/webapp/#/?conference={}",
        utf8_percent_encode(&alias, QUERY_VALUE)
    );
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        location.push('&');
        location.extend(percent_encode(query.as_bytes(), QUERY_AS_IS));
    }
    let location = HeaderValue::try_from(location)
        .expect("a percent-encoded location is visible ASCII, a valid header value");
    Ok(redirect(location))
}

/// GET `/webapp/{*path}`: the file at `path`; else 404 under `assets/` and `vendor/`, and
/// the app for any other path (a client-side route).
async fn file(
    State(web): State<WebApp>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let path = path.map(|Path(p)| p).unwrap_or_default();
    if path == INDEX {
        return index_response(&web, &headers);
    }
    if let Some(asset) = web.file(&path) {
        let versioned = query.as_deref().is_some_and(|q| {
            q.split('&')
                .any(|pair| pair.strip_prefix("v=") == Some(asset.version.as_str()))
        });
        let cache = if versioned {
            CACHE_IMMUTABLE
        } else {
            CACHE_REVALIDATE
        };
        return asset.respond(&headers, cache);
    }
    if matches!(path.split('/').next(), Some("assets" | "vendor")) {
        return ApiError::NotFound("no such file").into_response();
    }
    index_response(&web, &headers)
}

/// `index.html`, revalidated on every load so that new asset versions are seen at once.
fn index_response(web: &WebApp, headers: &HeaderMap) -> Response {
    match web.file(INDEX) {
        Some(index) => index.respond(headers, CACHE_REVALIDATE),
        None => ApiError::NotFound("the web app is not installed").into_response(),
    }
}

/// 302 Found to `location`.
fn redirect(location: HeaderValue) -> Response {
    (StatusCode::FOUND, [(LOCATION, location)]).into_response()
}

/// Adds the security headers to every web-app response.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static(PERMISSIONS_POLICY_VALUE),
    );
    response
}
