//! The provisioning page, `GET /api/client/v2/provision?data=…&message=…`, with its
//! script and stylesheet: shows what a link will set (never the password) and, through
//! the script, hands the link's own `data` to the installed app as
//! `pexip-provision://settings/?data=…`. Bad links get a 400 page that says why.
//!
//! The `data` blob never appears in the HTML the server sends (it holds the password):
//! the script reads it from the address bar and then removes the query from it. Every
//! answer is `no-store`, sends no referrer and carries a strict CSP (scripts and styles
//! from this origin only, no inline code). The request span names only the route, so the
//! query is never logged.

use axum::extract::RawQuery;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;

use super::{Key, ProvisionError, Settings, decode_message};
use crate::html::escape;

/// Where the page's script is served, relative to the node's root.
pub(crate) const SCRIPT_PATH: &str = "/api/client/v2/provision.js";
/// Where the page's stylesheet is served.
pub(crate) const STYLE_PATH: &str = "/api/client/v2/provision.css";

/// The message shown when a link carries none.
pub const DEFAULT_MESSAGE: &str = "Your meeting app will be set up with these settings.";

/// What the page tells someone whose app did not open.
pub const FALLBACK: &str = "Nothing happened? Install the Pexip app (or another client that \
    speaks pexip-provision://) and open this link again.";

const SCRIPT: &str = include_str!("provision.js");
const STYLE: &str = include_str!("provision.css");

/// The policy of the page: its own script and stylesheet, nothing else.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// GET `/provision`: the page for a link, or a 400 page naming what is wrong with it.
pub(crate) async fn page(RawQuery(query): RawQuery) -> Response {
    match render(query.as_deref().unwrap_or("")) {
        Ok(html) => html_response(StatusCode::OK, html),
        Err(error) => html_response(StatusCode::BAD_REQUEST, error_page(&error)),
    }
}

/// GET `/provision.js`.
pub(crate) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// GET `/provision.css`.
pub(crate) async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// The page's HTML for a raw query string, or why the link can't be used.
pub fn render(query: &str) -> Result<String, ProvisionError> {
    let data = param(query, "data").ok_or(ProvisionError::MissingData)?;
    let settings = Settings::decode(data)?;
    let message = match param(query, "message").filter(|m| !m.is_empty()) {
        Some(raw) => decode_message(raw)?,
        None => DEFAULT_MESSAGE.to_owned(),
    };
    Ok(ok_page(&settings, &message))
}

/// The first value of `name` in a raw query, as it came (not percent-decoded: the
/// decoder understands escapes, and a `+` must stay a `+`).
fn param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode_str(key).decode_utf8().ok()?;
        (key == name).then_some(value)
    })
}

fn ok_page(settings: &Settings, message: &str) -> String {
    let mut items = String::new();
    for (key, value) in settings.iter() {
        let shown = if key.is_secret() {
            "set (hidden)".to_owned()
        } else {
            escape(value)
        };
        items.push_str(&format!(
            "<li data-key=\"{}\"><span class=\"label\">{}:</span> <span class=\"value\">{}</span></li>\n",
            key.name(),
            key.label(),
            shown
        ));
    }
    // Keys absent from the link are left as they are in the app; say so only when it matters.
    let untouched = if settings.get(Key::RegistrationPassword).is_none()
        && settings.get(Key::RegistrationAlias).is_some()
    {
        "<p class=\"hint\">This link sets no password: the app will ask for it.</p>\n"
    } else {
        ""
    };
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>Set up your meeting app</title>\n\
         <link rel=\"stylesheet\" href=\"{STYLE_PATH}\">\n\
         <script src=\"{SCRIPT_PATH}\" defer></script>\n</head>\n<body>\n<main>\n\
         <h1>Set up your meeting app</h1>\n\
         <p id=\"message\">{message}</p>\n\
         <ul class=\"settings\" id=\"settings\">\n{items}</ul>\n{untouched}\
         <p><a id=\"open\" class=\"open\" hidden>Open in the app</a></p>\n\
         <noscript><p>This page needs JavaScript to hand the settings to your app.</p></noscript>\n\
         <p class=\"hint\" id=\"fallback\">{fallback}</p>\n\
         </main>\n</body>\n</html>\n",
        message = escape(message),
        fallback = escape(FALLBACK),
    )
}

fn error_page(error: &ProvisionError) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>This setup link can't be used</title>\n\
         <link rel=\"stylesheet\" href=\"{STYLE_PATH}\">\n</head>\n<body>\n<main class=\"error\">\n\
         <h1>This setup link can't be used</h1>\n\
         <p id=\"error\">{reason}.</p>\n\
         <p class=\"hint\">Ask whoever sent you the link for a new one.</p>\n\
         </main>\n</body>\n</html>\n",
        reason = escape(&capitalize(&error.to_string())),
    )
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
