//! The state of single sign-on, without I/O: sign-ins waiting for the identity
//! provider to send the browser back (keyed by `state`), the one-time `sso_token`s a
//! finished sign-in hands to the client, and the check of the client's redirect target.
//! Time is an input (`now`).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use openidconnect::url::Url;
use plenum_core::Secret;
use plenum_http::client::backend::SSO_TOKEN_PLACEHOLDER;

use crate::session::new_token;

/// Most sign-ins waiting at once; the oldest is dropped to make room.
pub const MAX_PENDING: usize = 1000;
/// How long a sign-in may take at the identity provider.
pub const PENDING_LIFETIME: Duration = Duration::from_secs(600);
/// Most unused `sso_token`s at once; the oldest is dropped to make room.
pub const MAX_SIGNED_IN: usize = 1000;
/// How long a finished sign-in's `sso_token` may wait to be used.
pub const SSO_TOKEN_LIFETIME: Duration = Duration::from_secs(120);

/// What a sign-in is for; a finished sign-in's token is good for that only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInFor {
    /// A Host of this service (room), by its name.
    Host(String),
    /// The registration of this `[[device]]` alias (normalised).
    Device(String),
}

/// A sign-in sent to an identity provider, waiting for its return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    /// The identity provider's configured name.
    pub idp: String,
    /// What the sign-in is for.
    pub purpose: SignInFor,
    /// The PKCE code verifier.
    pub pkce_verifier: Secret,
    /// The nonce the ID token must carry.
    pub nonce: Secret,
    /// Where the browser goes afterwards (still with the placeholder).
    pub redirect_target: String,
    /// The `redirect_uri` sent to the provider (the code exchange repeats it).
    pub redirect_uri: String,
}

/// Sign-ins waiting for their return, bounded in number and age.
#[derive(Debug, Default)]
pub struct PendingLogins {
    logins: HashMap<String, (Instant, PendingLogin)>,
    /// Insertion order (state, started), oldest first.
    order: VecDeque<(String, Instant)>,
}

impl PendingLogins {
    /// Remembers a sign-in under its `state`; forgets lapsed ones, and the oldest when
    /// [`MAX_PENDING`] are waiting.
    pub fn insert(&mut self, now: Instant, state: &Secret, login: PendingLogin) {
        self.prune(now);
        while self.logins.len() >= MAX_PENDING {
            let Some((oldest, started)) = self.order.front().cloned() else {
                break;
            };
            self.forget_if_current(oldest, started);
        }
        let key = state.expose().to_owned();
        self.order.push_back((key.clone(), now));
        self.logins.insert(key, (now, login));
    }

    /// Takes the sign-in waiting under `state`: `None` if unknown, taken before, or
    /// older than [`PENDING_LIFETIME`].
    pub fn take(&mut self, now: Instant, state: &str) -> Option<PendingLogin> {
        let (started, login) = self.logins.remove(state)?;
        (now < started + PENDING_LIFETIME).then_some(login)
    }

    /// How many sign-ins wait.
    pub fn len(&self) -> usize {
        self.logins.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.logins.is_empty()
    }

    fn prune(&mut self, now: Instant) {
        while let Some((state, started)) = self.order.front() {
            if now < *started + PENDING_LIFETIME {
                break;
            }
            self.forget_if_current(state.clone(), *started);
        }
        if self.order.len() > 2 * MAX_PENDING {
            let logins = &self.logins;
            self.order
                .retain(|(k, at)| logins.get(k).is_some_and(|(a, _)| a == at));
        }
    }

    /// Pops the oldest order entry, forgetting its sign-in if it is still that one.
    fn forget_if_current(&mut self, state: String, started: Instant) {
        if self
            .logins
            .get(&state)
            .is_some_and(|(at, _)| *at == started)
        {
            self.logins.remove(&state);
        }
        self.order.pop_front();
    }
}

/// Who a finished sign-in proved, for the room it was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// What the sign-in is good for.
    pub purpose: SignInFor,
    /// The identity provider's configured name.
    pub idp: String,
    /// The display name from the configured claim.
    pub display_name: String,
    /// The user's alias from the configured claim, if the token had it.
    pub alias: Option<String>,
}

/// Unused one-time `sso_token`s.
#[derive(Debug, Default)]
pub struct SignedInTokens {
    tokens: HashMap<String, (Instant, SignedIn)>,
}

impl SignedInTokens {
    /// Issues a one-time token for `signed_in`, good for [`SSO_TOKEN_LIFETIME`].
    pub fn issue(&mut self, now: Instant, signed_in: SignedIn) -> Secret {
        self.tokens
            .retain(|_, (at, _)| now < *at + SSO_TOKEN_LIFETIME);
        while self.tokens.len() >= MAX_SIGNED_IN {
            let oldest = self
                .tokens
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(key) => self.tokens.remove(&key),
                None => break,
            };
        }
        let token = new_token();
        self.tokens
            .insert(token.expose().to_owned(), (now, signed_in));
        token
    }

    /// Uses up a token for `purpose`: `None` if unknown, used, lapsed, or made for
    /// another room or device (it is used up all the same).
    pub fn redeem(&mut self, now: Instant, token: &str, purpose: &SignInFor) -> Option<SignedIn> {
        let (issued, signed_in) = self.tokens.remove(token)?;
        (now < issued + SSO_TOKEN_LIFETIME && signed_in.purpose == *purpose).then_some(signed_in)
    }
}

/// Why a redirect target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not an absolute http(s) URL.
    #[error("the redirect target is not an absolute https URL")]
    NotAUrl,
    /// The token placeholder is missing.
    #[error("the redirect target has no {SSO_TOKEN_PLACEHOLDER} placeholder")]
    NoPlaceholder,
    /// The target is on an origin the node neither is nor allows (`node.cors_origins`).
    #[error("the redirect target's origin {0} is neither the node's nor in node.cors_origins")]
    ForeignOrigin(String),
}

/// Checks a client's `sso_redirect_target`: an absolute URL on the node's own origin or
/// one of `allowed` (`node.cors_origins`), with the token placeholder in it. Answers it
/// normalised (percent-encoded, fit for a `Location` header).
pub fn check_redirect_target(
    target: &str,
    own_origin: &str,
    allowed: &[String],
) -> Result<String, TargetError> {
    let url = Url::parse(target).map_err(|_| TargetError::NotAUrl)?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(TargetError::NotAUrl);
    }
    let origin = url.origin().ascii_serialization();
    let same = |candidate: &str| {
        Url::parse(candidate.trim())
            .map(|c| c.origin().ascii_serialization() == origin)
            .unwrap_or(false)
    };
    if !same(own_origin) && !allowed.iter().any(|a| same(a)) {
        return Err(TargetError::ForeignOrigin(origin));
    }
    let normalised = url.to_string();
    if !normalised.contains(SSO_TOKEN_PLACEHOLDER) {
        return Err(TargetError::NoPlaceholder);
    }
    Ok(normalised)
}

/// The redirect target with its placeholder replaced by `token` (base64url: safe in
/// any URL part).
pub fn fill_target(target: &str, token: &Secret) -> String {
    target.replace(SSO_TOKEN_PLACEHOLDER, token.expose())
}
