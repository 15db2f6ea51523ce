//! HTTP Basic authentication of administrators: parses the credentials, backs off after
//! repeated failures (429), verifies them on the blocking pool (argon2 is CPU-heavy),
//! records failures, and hands the handlers an [`AdminActor`].

use std::fmt;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tracing::{debug, warn};

use crate::AppState;
use crate::error::ApiError;
use crate::view::AdminActor;

/// Longest user name considered (bytes); longer ones are refused unverified and
/// unrecorded, so the audit log never holds megabyte-sized names.
const MAX_USERNAME_LEN: usize = 256;
/// Longest password considered (bytes).
const MAX_PASSWORD_LEN: usize = 1024;

/// A password that never shows up in logs.
struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Credentials from an `Authorization: Basic …` header.
#[derive(Debug)]
struct Credentials {
    username: String,
    password: Password,
}

/// Middleware guarding the admin API: lets the request through with an [`AdminActor`]
/// extension, or answers 401 with a Basic challenge.
pub(crate) async fn require_admin(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let actor = authenticate(&state, &request).await?;
    request.extensions_mut().insert(actor);
    Ok(next.run(request).await)
}

/// The admin whose HTTP Basic credentials `request` carries (also for `/metrics`).
pub(crate) fn authenticate(
    state: &AppState,
    request: &Request,
) -> impl Future<Output = Result<AdminActor, ApiError>> + Send + 'static {
    let remote_addr = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let credentials = parse_basic(request.headers());
    let state = state.clone();
    async move {
        let Some(remote_addr) = remote_addr else {
            return Err(ApiError::Internal(
                "no ConnectInfo<SocketAddr> on the request: serve the router with connect info"
                    .to_owned(),
            ));
        };
        check_credentials(&state, credentials, remote_addr).await
    }
}

async fn check_credentials(
    state: &AppState,
    credentials: Result<Credentials, &'static str>,
    remote_addr: SocketAddr,
) -> Result<AdminActor, ApiError> {
    let credentials = match credentials {
        Ok(credentials) => credentials,
        Err(reason) => {
            debug!(%remote_addr, reason, "admin request without usable credentials");
            return Err(ApiError::Unauthorized);
        }
    };
    if let Err(retry_after) = state
        .admin
        .login_allowed(&credentials.username, remote_addr)
    {
        debug!(username = ?credentials.username, %remote_addr, "admin login refused unchecked: backing off after failures");
        return Err(ApiError::TooManyAttempts(retry_after.as_secs().max(1)));
    }
    if !verify(state, &credentials).await? {
        warn!(username = ?credentials.username, %remote_addr, "admin login failed");
        state
            .admin
            .record_failed_login(credentials.username, remote_addr)
            .await;
        return Err(ApiError::LoginFailed);
    }
    state
        .admin
        .login_succeeded(&credentials.username, remote_addr);
    Ok(AdminActor {
        username: credentials.username,
        remote_addr,
    })
}

/// Runs the backend's (slow) verification on the blocking pool, a few at a time so a
/// flood of guesses can't occupy every core.
async fn verify(state: &AppState, credentials: &Credentials) -> Result<bool, ApiError> {
    let _permit = state
        .verify_permits
        .acquire()
        .await
        .map_err(|_| ApiError::Internal("credential check semaphore closed".to_owned()))?;
    let admin = state.admin.clone();
    let username = credentials.username.clone();
    let password = Password(credentials.password.0.clone());
    tokio::task::spawn_blocking(move || admin.verify_admin(&username, &password.0))
        .await
        .map_err(|e| ApiError::Internal(format!("credential check failed: {e}")))
}

/// Extracts user name and password from `Authorization: Basic <base64(user:pass)>`.
fn parse_basic(headers: &HeaderMap) -> Result<Credentials, &'static str> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or("no authorization header")?
        .to_str()
        .map_err(|_| "authorization header is not ascii")?;
    let (scheme, encoded) = value
        .trim()
        .split_once(' ')
        .ok_or("malformed authorization header")?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err("authorization scheme is not basic");
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| "basic credentials are not base64")?;
    let decoded = String::from_utf8(decoded).map_err(|_| "basic credentials are not utf-8")?;
    let (username, password) = decoded
        .split_once(':')
        .ok_or("basic credentials have no colon")?;
    if username.len() > MAX_USERNAME_LEN || password.len() > MAX_PASSWORD_LEN {
        return Err("basic credentials are too long");
    }
    Ok(Credentials {
        username: username.to_owned(),
        password: Password(password.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn parse(value: &str) -> Result<(String, String), &'static str> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("test header is valid"),
        );
        parse_basic(&headers).map(|c| (c.username, c.password.0))
    }

    #[test]
    fn parses_basic_credentials_with_colons_in_the_password() {
        // "admin:pa:ss"
        assert_eq!(
            parse("Basic YWRtaW46cGE6c3M="),
            Ok(("admin".to_owned(), "pa:ss".to_owned()))
        );
        assert_eq!(
            parse("basic YWRtaW46cGE6c3M="),
            Ok(("admin".to_owned(), "pa:ss".to_owned()))
        );
    }

    #[test]
    fn refuses_malformed_authorization_headers() {
        assert!(parse("Bearer abc").is_err());
        assert!(parse("Basic !!!").is_err());
        assert!(parse("Basic YWRtaW4=").is_err()); // "admin", no colon
        assert!(parse("Basic").is_err());
        let long_name = STANDARD.encode(format!("{}:pw", "a".repeat(MAX_USERNAME_LEN + 1)));
        assert!(parse(&format!("Basic {long_name}")).is_err());
    }

    #[test]
    fn password_debug_is_redacted() {
        let c = Credentials {
            username: "admin".to_owned(),
            password: Password("hunter2".to_owned()),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
