//! The registration half of the client API backed by the node: device sign-in,
//! token refresh and release, the notice stream and the directory.

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use plenum_core::Secret;
use plenum_http::client::backend::{
    DirectoryEntry, DirectoryError, InvalidToken, RegisterRefusal, RegisterRequest,
    RegistrationBackend, RegistrationFeed, RegistrationGrant,
};

use super::NodeClient;

impl RegistrationBackend for NodeClient {
    fn register(
        &self,
        request: RegisterRequest,
    ) -> BoxFuture<'_, Result<RegistrationGrant, RegisterRefusal>> {
        async move {
            let (registration, token) = self.0.register(request).await?;
            let switches = self.0.switches();
            Ok(RegistrationGrant {
                token,
                registration: registration.id,
                directory_enabled: switches.directory_enabled,
                route_via_registrar: switches.route_calls_via_registrar,
            })
        }
        .boxed()
    }

    fn refresh_registration(
        &self,
        alias: &str,
        token: &str,
    ) -> BoxFuture<'_, Result<Secret, InvalidToken>> {
        let (alias, token) = (alias.to_owned(), token.to_owned());
        async move { self.0.refresh_registration(&alias, &token).await }.boxed()
    }

    fn release_registration(
        &self,
        alias: &str,
        token: &str,
    ) -> BoxFuture<'_, Result<(), InvalidToken>> {
        let (alias, token) = (alias.to_owned(), token.to_owned());
        async move { self.0.release_registration(&alias, &token).await }.boxed()
    }

    fn registration_feed(
        &self,
        alias: &str,
        token: &str,
    ) -> Result<RegistrationFeed, InvalidToken> {
        self.0.registration_feed(alias, token)
    }

    fn directory(&self, token: &str, query: &str) -> Result<Vec<DirectoryEntry>, DirectoryError> {
        self.0.directory(token, query)
    }
}
