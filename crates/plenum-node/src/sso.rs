//! Single sign-on for Hosts and registering devices: the OpenID Connect authorization-code flow with PKCE
//! against the configured identity providers (discovery documents cached), the pending
//! sign-ins and one-time `sso_token`s ([`store`]), the prompt a caller who must sign in
//! is answered ([`SsoPrompt`]), and the node's origin that sign-ins return to
//! (`/api/client/v2/oauth2_redirect`).

pub mod store;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse as _,
};
use plenum_core::{DisconnectReason, Secret};
use plenum_http::client::backend::{IdpChoice, SsoError, SsoRequest, SsoReturn};
use tracing::{debug, warn};

use crate::config::{Config, IdentityProvider};
use store::{
    PendingLogin, PendingLogins, SignInFor, SignedIn, SignedInTokens, TargetError,
    check_redirect_target,
};

/// The path sign-ins return to.
pub const REDIRECT_PATH: &str = "/api/client/v2/oauth2_redirect";
/// How long a fetched discovery document (with its signing keys) is used.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// How long one request to an identity provider may take.
const IDP_TIMEOUT: Duration = Duration::from_secs(10);

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The node's single sign-on state.
#[derive(Debug)]
pub struct Sso {
    /// The HTTPS port clients reach (the bound port; 0 until known).
    port: AtomicU16,
    http: reqwest::Client,
    discovery: Mutex<HashMap<String, (Instant, CoreProviderMetadata)>>,
    pending: Mutex<PendingLogins>,
    signed_in: Mutex<SignedInTokens>,
}

impl Sso {
    /// Single sign-on for a node serving HTTPS on `port` (0 until bound).
    pub fn new(port: u16) -> Sso {
        // reqwest is built without a default TLS provider; the node uses ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            // Following redirects would let a provider send the node elsewhere (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(IDP_TIMEOUT)
            .build()
            .expect("a reqwest client with a TLS provider installed builds");
        Sso {
            port: AtomicU16::new(port),
            http,
            discovery: Mutex::new(HashMap::new()),
            pending: Mutex::new(PendingLogins::default()),
            signed_in: Mutex::new(SignedInTokens::default()),
        }
    }

    /// Records the port HTTPS is served on (known once bound).
    pub fn set_port(&self, port: u16) {
        self.port.store(port, Ordering::Relaxed);
    }

    /// The node's own web origin under `public_name` (`node.public_name`, read from the
    /// configuration in force), e.g. `https://meet.example.com` or
    /// `https://localhost:8443`.
    pub fn origin(&self, public_name: &str) -> String {
        let host = if public_name.contains(':') && !public_name.starts_with('[') {
            format!("[{public_name}]")
        } else {
            public_name.to_owned()
        };
        match self.port.load(Ordering::Relaxed) {
            443 | 0 => format!("https://{host}"),
            port => format!("https://{host}:{port}"),
        }
    }

    /// The provider's discovery document, from the cache or fetched.
    async fn metadata(&self, idp: &IdentityProvider) -> Result<CoreProviderMetadata, SsoError> {
        let now = crate::driver::now();
        if let Some((at, metadata)) = self
            .discovery
            .lock()
            .expect("discovery cache lock is never poisoned")
            .get(&idp.issuer)
            && now < *at + DISCOVERY_TTL
        {
            return Ok(metadata.clone());
        }
        let issuer = IssuerUrl::new(idp.issuer.clone())
            .map_err(|e| SsoError::Discovery(format!("issuer {}: {e}", idp.issuer)))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| {
                SsoError::Discovery(format!(
                    "{} ({}): {}",
                    idp.issuer,
                    idp.name,
                    error_chain(&e)
                ))
            })?;
        self.discovery
            .lock()
            .expect("discovery cache lock is never poisoned")
            .insert(idp.issuer.clone(), (now, metadata.clone()));
        Ok(metadata)
    }

    fn client(
        &self,
        idp: &IdentityProvider,
        metadata: CoreProviderMetadata,
        redirect_uri: &str,
    ) -> Result<Client, SsoError> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| {
            SsoError::Discovery(format!("the node's redirect URI is not a URL: {e}"))
        })?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(idp.client_id.clone()),
            idp.client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose().to_owned())),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a sign-in for `purpose` at `idp`: the authorization URL to send the
    /// browser to (PKCE S256, `state`, `nonce`), remembered until it returns. The
    /// provider sends the browser back to `origin`'s `oauth2_redirect`.
    pub async fn begin(
        &self,
        idp: &IdentityProvider,
        purpose: SignInFor,
        redirect_target: &str,
        origin: &str,
        now: Instant,
    ) -> Result<String, SsoError> {
        let redirect_uri = format!("{origin}{REDIRECT_PATH}");
        let client = self.client(idp, self.metadata(idp).await?, &redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in &idp.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        self.pending
            .lock()
            .expect("pending sign-ins lock is never poisoned")
            .insert(
                now,
                &Secret::new(state.secret().clone()),
                PendingLogin {
                    idp: idp.name.clone(),
                    purpose: purpose.clone(),
                    pkce_verifier: Secret::new(verifier.secret().clone()),
                    nonce: Secret::new(nonce.secret().clone()),
                    redirect_target: redirect_target.to_owned(),
                    redirect_uri,
                },
            );
        debug!(idp = %idp.name, ?purpose, "sign-in started");
        Ok(url.to_string())
    }

    /// The sign-in waiting under `state`, taken (so a second return with it fails).
    pub fn take_pending(&self, state: &str, now: Instant) -> Option<PendingLogin> {
        self.pending
            .lock()
            .expect("pending sign-ins lock is never poisoned")
            .take(now, state)
    }

    /// Completes a sign-in that returned with a code: exchanges it (with the PKCE
    /// verifier), verifies the ID token (issuer, audience, nonce, signature, expiry),
    /// reads the claims and issues a one-time `sso_token`. Answers where the browser
    /// goes next.
    pub async fn complete(
        &self,
        idp: &IdentityProvider,
        login: PendingLogin,
        sign_in: SsoReturn,
        now: Instant,
    ) -> Result<String, SsoError> {
        let client = self.client(idp, self.metadata(idp).await?, &login.redirect_uri)?;
        let response = client
            .exchange_code(AuthorizationCode::new(sign_in.code.expose().to_owned()))
            .map_err(|e| SsoError::TokenExchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(
                login.pkce_verifier.expose().to_owned(),
            ))
            .request_async(&self.http)
            .await
            .map_err(|e| SsoError::TokenExchange(error_chain(&e)))?;
        let _ = response.access_token();
        let id_token = response.id_token().ok_or_else(|| {
            SsoError::TokenExchange(
                "the answer has no ID token (is the openid scope allowed?)".to_owned(),
            )
        })?;
        let verifier = client.id_token_verifier();
        id_token
            .claims(&verifier, &Nonce::new(login.nonce.expose().to_owned()))
            .map_err(|e| SsoError::IdToken(e.to_string()))?;
        // Verified above; read the payload again for claims of any name.
        let claims = payload_claims(&id_token.to_string())
            .ok_or_else(|| SsoError::IdToken("its payload is not a JSON object".to_owned()))?;
        // A Host needs a name for the roster; a device needs the account it is compared
        // with (its username).
        let for_device = matches!(login.purpose, SignInFor::Device(_));
        let display_name = match claim_text(&claims, &idp.display_name_claim) {
            Some(name) => name,
            None if for_device => String::new(),
            None => return Err(SsoError::ClaimMissing(idp.display_name_claim.clone())),
        };
        let alias = claim_text(&claims, &idp.alias_claim);
        if for_device && alias.is_none() {
            return Err(SsoError::ClaimMissing(idp.alias_claim.clone()));
        }
        let target = login.redirect_target.clone();
        let token = self
            .signed_in
            .lock()
            .expect("sso tokens lock is never poisoned")
            .issue(
                now,
                SignedIn {
                    purpose: login.purpose,
                    idp: idp.name.clone(),
                    display_name,
                    alias,
                },
            );
        Ok(store::fill_target(&target, &token))
    }

    /// Uses up a one-time `sso_token` for `purpose`.
    pub fn redeem(&self, token: &Secret, purpose: &SignInFor, now: Instant) -> Option<SignedIn> {
        self.signed_in
            .lock()
            .expect("sso tokens lock is never poisoned")
            .redeem(now, token.expose(), purpose)
    }
}

/// What a caller who must sign in is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoPrompt {
    /// Pick one of these identity providers (403 `idp` list).
    Choose(Vec<IdpChoice>),
    /// Sign in at `url` (403 `redirect_url`).
    Redirect {
        /// The provider's authorization URL.
        url: String,
        /// The provider.
        idp: IdpChoice,
    },
    /// The sign-in cannot start (#pex200 and its kin).
    Refused(DisconnectReason),
}

impl Sso {
    /// The answer to a caller who must sign in for `purpose` at one of `idps` (not
    /// empty): the list without `chosen_idp`; with it (one of `idps`) and a redirect
    /// target on the node's origin or an allowed one, the provider's authorization URL.
    pub async fn prompt(
        &self,
        config: &Config,
        idps: &[&IdentityProvider],
        purpose: SignInFor,
        request: &SsoRequest,
    ) -> SsoPrompt {
        let choice = |p: &IdentityProvider| IdpChoice {
            name: p.name.clone(),
            uuid: p.uuid,
        };
        let Some(chosen) = &request.chosen_idp else {
            return SsoPrompt::Choose(idps.iter().map(|p| choice(p)).collect());
        };
        let Some(idp) = idps
            .iter()
            .find(|p| p.uuid.to_string().eq_ignore_ascii_case(chosen.trim()))
        else {
            debug!(
                ?purpose,
                "chosen_idp is not one of the identity providers offered"
            );
            return SsoPrompt::Refused(DisconnectReason::SsoFailed);
        };
        let Some(target) = &request.redirect_target else {
            debug!(?purpose, "chosen_idp without sso_redirect_target");
            return SsoPrompt::Refused(DisconnectReason::SsoFailed);
        };
        let origin = self.origin(&config.node.public_name);
        let target = match check_redirect_target(target, &origin, &config.node.cors_origins) {
            Ok(target) => target,
            Err(error) => {
                debug!(?purpose, %error, "sso_redirect_target refused");
                return SsoPrompt::Refused(match error {
                    TargetError::ForeignOrigin(_) => DisconnectReason::SsoForeignDomain,
                    TargetError::NotAUrl | TargetError::NoPlaceholder => {
                        DisconnectReason::SsoFailed
                    }
                });
            }
        };
        match self
            .begin(idp, purpose, &target, &origin, crate::driver::now())
            .await
        {
            Ok(url) => SsoPrompt::Redirect {
                url,
                idp: choice(idp),
            },
            Err(error) => {
                warn!(idp = %idp.name, %error, "single sign-on could not start");
                SsoPrompt::Refused(DisconnectReason::SsoFailed)
            }
        }
    }
}

/// An error and its causes, joined (reqwest's own message alone hides the reason).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The claims of a JWT's payload (the middle part), as a JSON object.
pub fn payload_claims(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A claim as text: a non-empty string (trimmed), or a number; `None` otherwise.
pub fn claim_text(
    claims: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Option<String> {
    match claims.get(name)? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
