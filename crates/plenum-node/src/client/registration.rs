//! The registration half of the client API backed by the node: device sign-in,
//! token refresh and release, the notice stream and the directory; a Host's dial and
//! device directory (Add participant).

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use plenum_core::{Actor, ConferenceSnapshot, ParticipantId, Refusal, Secret};
use plenum_http::client::backend::{
    Caller, DialError, DialOrder, DialableDevice, DirectoryEntry, DirectoryError, InvalidToken,
    RegisterRefusal, RegisterRequest, RegistrationBackend, RegistrationFeed, RegistrationGrant,
};

/// The caller's state in `snapshot`, if it is an admitted Host.
fn require_host(snapshot: &ConferenceSnapshot, caller: &Caller) -> Result<String, DialError> {
    let me = snapshot
        .participants
        .iter()
        .find(|p| p.id == caller.participant)
        .ok_or(DialError::InvalidToken)?;
    if !me.is_admitted() {
        return Err(DialError::Refused(Refusal::StillWaiting));
    }
    if !me.is_host() {
        return Err(DialError::Refused(Refusal::HostOnly));
    }
    Ok(me.display_name.clone())
}

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

    fn dial(
        &self,
        caller: &Caller,
        mut order: DialOrder,
    ) -> BoxFuture<'_, Result<ParticipantId, DialError>> {
        let session = self.caller_session(caller);
        let caller = caller.clone();
        async move {
            let session = session?;
            let snapshot = session
                .conference
                .snapshot()
                .await
                .map_err(|_| DialError::InvalidToken)?
                .state;
            let host_name = require_host(&snapshot, &caller)?;
            order.caller_name.get_or_insert(host_name);
            self.0
                .dial(
                    &session.conference,
                    &snapshot.service,
                    Actor::Participant(caller.participant),
                    order,
                )
                .await
        }
        .boxed()
    }

    fn dialable_devices(
        &self,
        caller: &Caller,
        query: &str,
    ) -> BoxFuture<'_, Result<Vec<DialableDevice>, DialError>> {
        let session = self.caller_session(caller);
        let (caller, query) = (caller.clone(), query.to_owned());
        async move {
            let snapshot = session?
                .conference
                .snapshot()
                .await
                .map_err(|_| DialError::InvalidToken)?
                .state;
            require_host(&snapshot, &caller)?;
            Ok(self.0.dialable_devices(&query))
        }
        .boxed()
    }
}
