//! The end of a single sign-on, `GET /api/client/v2/oauth2_redirect` (behaviour §9):
//! with `code` and `state` the node completes the sign-in and sends the browser back
//! to the client with a one-time `sso_token`; with `error` it shows the identity
//! provider's refusal; with only `message` (or nothing) it shows the "signed in, you
//! can close this window" page. Pages are small HTML, every text escaped, never
//! cached, and never show a token, code or secret.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use plenum_core::Secret;
use serde::Deserialize;
use tracing::warn;

use super::backend::{SsoError, SsoReturn};
use crate::AppState;
use crate::html::escape;

/// The message of the signed-in page when the link carries none.
pub(crate) const DEFAULT_SIGNED_IN: &str =
    "You are signed in. You can close this window and return to the meeting.";
/// Longest `message` shown, in characters.
const MAX_MESSAGE_CHARS: usize = 1000;
/// Longest identity provider error text shown, in characters.
const MAX_IDP_ERROR_CHARS: usize = 300;

/// The query of `oauth2_redirect`; anything else is ignored.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RedirectQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    message: Option<String>,
}

/// `GET /api/client/v2/oauth2_redirect`.
pub(crate) async fn oauth2_redirect(
    State(state): State<AppState>,
    query: Result<Query<RedirectQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return page(
            StatusCode::BAD_REQUEST,
            "Sign-in link not understood",
            "The address of this page is malformed. Start the sign-in again from the meeting.",
        );
    };
    if let Some(error) = query.error.as_deref() {
        let description = query.error_description.as_deref().unwrap_or("");
        let shown: String = format!("{error}: {description}")
            .trim_end_matches([':', ' '])
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_IDP_ERROR_CHARS)
            .collect();
        return page(
            StatusCode::BAD_REQUEST,
            "Sign-in refused",
            &format!(
                "The identity provider did not sign you in ({shown}). Start the sign-in again from the meeting, or ask your administrator."
            ),
        );
    }
    match (query.code, query.state) {
        (Some(code), Some(sso_state)) if !code.is_empty() && !sso_state.is_empty() => {
            let sign_in = SsoReturn {
                code: Secret::new(code),
                state: sso_state,
            };
            match state.client.complete_sso(sign_in).await {
                Ok(target) => match HeaderValue::from_str(&target) {
                    Ok(location) => {
                        let mut response = StatusCode::SEE_OTHER.into_response();
                        response.headers_mut().insert(header::LOCATION, location);
                        protect(&mut response);
                        response
                    }
                    Err(_) => page(
                        StatusCode::BAD_REQUEST,
                        "Sign-in failed",
                        "The address to return to is not usable. Start again from the meeting.",
                    ),
                },
                Err(error) => failure(&error),
            }
        }
        (Some(_), _) | (_, Some(_)) => page(
            StatusCode::BAD_REQUEST,
            "Sign-in link incomplete",
            "This sign-in link lacks its code or state. Start the sign-in again from the meeting.",
        ),
        (None, None) => signed_in_page(query.message.as_deref()),
    }
}

/// The page for a sign-in that could not be completed; names the failed step.
fn failure(error: &SsoError) -> Response {
    let status = match error {
        SsoError::UnknownState | SsoError::IdToken(_) | SsoError::ClaimMissing(_) => {
            StatusCode::BAD_REQUEST
        }
        SsoError::Discovery(_) | SsoError::TokenExchange(_) => StatusCode::BAD_GATEWAY,
        SsoError::NotConfigured => StatusCode::NOT_FOUND,
    };
    if !matches!(error, SsoError::UnknownState) {
        // The error never holds a code, token or secret (see `SsoError`).
        warn!(%error, "single sign-on failed");
    }
    let (title, advice) = match error {
        SsoError::UnknownState => (
            "Sign-in link used or too old",
            "Start the sign-in again from the meeting.",
        ),
        SsoError::ClaimMissing(_) => (
            "Sign-in incomplete",
            "Ask your administrator to release that claim to this node, or to configure another claim in its place (display_name_claim, alias_claim).",
        ),
        _ => (
            "Sign-in failed",
            "Try again in a moment; if it keeps failing, tell your administrator what this page says.",
        ),
    };
    let mut text = error.to_string();
    if let Some(first) = text.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    page(status, title, &format!("{text}. {advice}"))
}

/// The signed-in page of behaviour §9: the link's base64 `message`, or a default.
fn signed_in_page(message: Option<&str>) -> Response {
    let Some(raw) = message.map(str::trim).filter(|m| !m.is_empty()) else {
        return page(StatusCode::OK, "Signed in", DEFAULT_SIGNED_IN);
    };
    match decode_message(raw) {
        Some(text) => page(StatusCode::OK, "Signed in", &text),
        None => page(
            StatusCode::BAD_REQUEST,
            "Signed in",
            &format!(
                "{DEFAULT_SIGNED_IN} (The message in this link is not valid base64 text, so it is not shown.)"
            ),
        ),
    }
}

/// A base64 (standard or URL-safe, padded or not) UTF-8 message, control characters
/// dropped, at most [`MAX_MESSAGE_CHARS`].
pub(crate) fn decode_message(raw: &str) -> Option<String> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let trimmed = raw.trim_end_matches('=');
    let bytes = STANDARD_NO_PAD
        .decode(trimmed)
        .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE_CHARS)
        .collect();
    Some(clean.trim().to_owned()).filter(|t| !t.is_empty())
}

/// A small HTML page with a title and one paragraph, both escaped.
fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\n<body>\n<main>\n<h1>{title}</h1>\n<p id=\"message\">{text}</p>\n</main>\n</body>\n</html>\n",
        title = escape(title),
        text = escape(text),
    );
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    protect(&mut response);
    response
}

/// No caching, no referrer (the URL held a code), nothing active on the page.
fn protect(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_decode_in_every_base64_flavour_and_are_cleaned() {
        // "Hi <b>&" in standard and URL-safe base64, with and without padding.
        assert_eq!(decode_message("SGkgPGI+Jg==").as_deref(), Some("Hi <b>&"));
        assert_eq!(decode_message("SGkgPGI-Jg").as_deref(), Some("Hi <b>&"));
        assert_eq!(
            decode_message("bGluZQpicmVhaw").as_deref(),
            Some("line break")
        );
        assert_eq!(decode_message("not base64!"), None);
        assert_eq!(decode_message("//79"), None, "not UTF-8");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }
}
