//! The node's side of the client REST API v2: tokens and sessions, event feeds, commands
//! and transfers, on top of the gate and the conference drivers.

use std::sync::Arc;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use plenum_core::{
    Actor, CallType, Command, ConferenceSnapshot, DisconnectReason, EntryRefusal, ParticipantId,
    Protocol, Refusal, Role, ServiceConfig, WallClock,
};
use plenum_http::client::backend::{
    Caller, ClientBackend, EventFeed, IceServers, InvalidToken, Refreshed, SsoError, SsoRequest,
    SsoReturn, TokenGrant, TokenRefusal, TokenRequest, TransferError, TurnServer,
};
use plenum_http::client::theme::Theme;
use tracing::{debug, info, warn};

mod calls;
mod registration;

use crate::config::Config;
use crate::driver;
use crate::node::{JoinAttempt, JoinRefusal, Node};
use crate::session::Session;
use crate::sso::SsoPrompt;
use crate::sso::store::SignInFor;

/// The client API backed by a running node.
#[derive(Debug, Clone)]
pub struct NodeClient(pub Arc<Node>);

impl NodeClient {
    fn caller_session(&self, caller: &Caller) -> Result<Session, InvalidToken> {
        self.0.session_of(caller.participant).ok_or(InvalidToken)
    }
}

fn refusal(refusal: JoinRefusal) -> TokenRefusal {
    match refusal {
        JoinRefusal::Gate(EntryRefusal::PinRequired { guest_pin }) => {
            TokenRefusal::PinRequired { guest_pin }
        }
        JoinRefusal::Gate(EntryRefusal::ExtensionRequired) => TokenRefusal::ExtensionRequired,
        JoinRefusal::Gate(EntryRefusal::AliasNotFound) => {
            TokenRefusal::Refused(DisconnectReason::AliasNotFound)
        }
        JoinRefusal::Gate(EntryRefusal::ExtensionNotFound) => {
            TokenRefusal::Refused(DisconnectReason::ExtensionNotFound)
        }
        JoinRefusal::Gate(EntryRefusal::InvalidPin) => {
            TokenRefusal::Refused(DisconnectReason::InvalidPin)
        }
        JoinRefusal::Gate(EntryRefusal::TooManyPinAttempts) => {
            TokenRefusal::Refused(DisconnectReason::TooManyPinAttempts)
        }
        JoinRefusal::Gate(EntryRefusal::SsoRequired { .. }) => {
            TokenRefusal::Refused(DisconnectReason::SsoFailed)
        }
        JoinRefusal::Refused(reason) => TokenRefusal::Refused(reason),
    }
}

impl NodeClient {
    /// The answer to a caller who must sign in to `service`: the identity provider
    /// list, or (with `chosen_idp` and a good redirect target) the provider's
    /// authorization URL.
    async fn sso_prompt(&self, service: &ServiceConfig, sso: &SsoRequest) -> TokenRefusal {
        let config = self.0.config();
        let idps: Vec<&crate::config::IdentityProvider> = service
            .host_sso
            .iter()
            .filter_map(|name| config.identity_provider(name))
            .collect();
        if idps.is_empty() {
            warn!(service = %service.name, "the room wants single sign-on but none of its host_sso identity providers is configured");
            return TokenRefusal::Refused(DisconnectReason::SsoNotConfigured);
        }
        let purpose = SignInFor::Host(service.name.clone());
        match self.0.sso().prompt(&config, &idps, purpose, sso).await {
            SsoPrompt::Choose(idps) => TokenRefusal::IdpRequired(idps),
            SsoPrompt::Redirect { url, idp } => TokenRefusal::SsoRedirect { url, idp },
            SsoPrompt::Refused(reason) => TokenRefusal::Refused(reason),
        }
    }
}

/// The STUN and TURN servers of `config`, as the token result offers them.
fn ice_servers(config: &Config) -> IceServers {
    IceServers {
        stun: config.node.stun.clone(),
        turn: config
            .turn
            .iter()
            .map(|t| TurnServer {
                urls: t.urls.clone(),
                username: t.username.clone(),
                credential: t.credential.clone(),
            })
            .collect(),
    }
}

/// The reason a client gave when releasing its token, as the node records it.
fn release_reason(reason: Option<&str>) -> DisconnectReason {
    match reason {
        Some("Transfer") | Some("DirectMediaTransfer") => DisconnectReason::Transferred,
        _ => DisconnectReason::UserInitiated,
    }
}

impl ClientBackend for NodeClient {
    fn request_token(
        &self,
        request: TokenRequest,
    ) -> BoxFuture<'_, Result<TokenGrant, TokenRefusal>> {
        async move {
            let attempt = JoinAttempt {
                caller: request.client_addr.to_string(),
                alias: request.alias.clone(),
                extension: request.conference_extension.clone(),
                pin: request.pin.clone(),
                display_name: request.display_name.clone(),
                call_type: CallType::ControlOnly,
                protocol: Protocol::Api,
            };
            let mut display_name = request.display_name.clone();
            let joined = match (&request.join_ticket, &request.sso.sso_token) {
                (Some(ticket), _) => self.0.join_with_ticket(ticket, attempt).await,
                (None, Some(sso_token)) => {
                    self.0.join_signed_in(sso_token, attempt).await.map(|(joined, signed_in)| {
                        info!(idp = %signed_in.idp, user = ?signed_in.alias, alias = %request.alias, "signed-in Host admitted");
                        display_name = signed_in.display_name;
                        joined
                    })
                }
                (None, None) => self.0.join(attempt).await,
            };
            let joined = match joined {
                Ok(joined) => joined,
                Err(JoinRefusal::Gate(EntryRefusal::SsoRequired { service })) => {
                    return Err(self.sso_prompt(&service, &request.sso).await);
                }
                Err(JoinRefusal::Refused(DisconnectReason::MaintenanceMode))
                    if request.sso.chosen_idp.is_some() =>
                {
                    return Err(TokenRefusal::Refused(DisconnectReason::SsoMaintenance));
                }
                Err(r) => {
                    debug!(alias = %request.alias, client = %request.client_addr, refusal = ?r, "token refused");
                    return Err(refusal(r));
                }
            };
            let token = self.0.open_session(&joined, &request.alias);
            let conference = match joined.conference.snapshot().await {
                Ok(snapshot) => snapshot.state,
                // The conference ended in the instant after the join: the caller is out.
                Err(_) => {
                    self.0.close_session(joined.participant, DisconnectReason::UserInitiated).await;
                    return Err(TokenRefusal::Refused(DisconnectReason::OutOfResource));
                }
            };
            info!(
                participant = %joined.participant,
                alias = %request.alias,
                role = %joined.entry.role,
                client = %request.client_addr,
                "token issued"
            );
            let config = self.0.config();
            Ok(TokenGrant {
                token,
                participant: joined.participant,
                role: joined.entry.role,
                display_name,
                conference,
                ice: ice_servers(&config),
                route_via_registrar: config.switches.route_calls_via_registrar,
            })
        }
        .boxed()
    }

    fn refresh_token(
        &self,
        alias: &str,
        token: &str,
    ) -> BoxFuture<'_, Result<Refreshed, InvalidToken>> {
        let refreshed = self.0.refresh_session(alias, token);
        async move {
            let (session, token) = refreshed.ok_or(InvalidToken)?;
            let snapshot = session
                .conference
                .snapshot()
                .await
                .map_err(|_| InvalidToken)?;
            let role = snapshot
                .state
                .participants
                .iter()
                .find(|p| p.id == session.participant)
                .map(|p| p.role)
                .ok_or(InvalidToken)?;
            Ok(Refreshed { token, role })
        }
        .boxed()
    }

    fn release_token(
        &self,
        alias: &str,
        token: &str,
        reason: Option<String>,
    ) -> BoxFuture<'_, Result<(), InvalidToken>> {
        let session = self.0.session(alias, token);
        let (alias, token) = (alias.to_owned(), token.to_owned());
        async move {
            let Some(session) = session else {
                // A device's incoming token: releasing it declines the call.
                return if self.0.decline(&alias, &token).await {
                    Ok(())
                } else {
                    Err(InvalidToken)
                };
            };
            self.0
                .close_session(session.participant, release_reason(reason.as_deref()))
                .await;
            Ok(())
        }
        .boxed()
    }

    fn authenticate(&self, alias: &str, token: &str) -> Result<Caller, InvalidToken> {
        let session = self.0.session(alias, token).ok_or(InvalidToken)?;
        Ok(Caller {
            participant: session.participant,
            conference: session.conference.id,
        })
    }

    fn events(&self, caller: &Caller) -> BoxFuture<'_, Result<EventFeed, InvalidToken>> {
        let session = self.caller_session(caller);
        async move {
            let feed = session?.conference.feed().await.map_err(|_| InvalidToken)?;
            Ok(EventFeed {
                snapshot: feed.snapshot.state,
                events: feed.events,
            })
        }
        .boxed()
    }

    fn snapshot(&self, caller: &Caller) -> BoxFuture<'_, Result<ConferenceSnapshot, InvalidToken>> {
        let session = self.caller_session(caller);
        async move {
            let snapshot = session?
                .conference
                .snapshot()
                .await
                .map_err(|_| InvalidToken)?;
            Ok(snapshot.state)
        }
        .boxed()
    }

    fn command(
        &self,
        caller: &Caller,
        command: Command,
    ) -> BoxFuture<'_, Result<Result<(), Refusal>, InvalidToken>> {
        let session = self.caller_session(caller);
        let actor = Actor::Participant(caller.participant);
        async move {
            session?
                .conference
                .command(actor, command)
                .await
                .map_err(|_| InvalidToken)
        }
        .boxed()
    }

    fn transfer(
        &self,
        caller: &Caller,
        target: ParticipantId,
        alias: String,
        role: Role,
        pin: Option<String>,
    ) -> BoxFuture<'_, Result<(), TransferError>> {
        let session = self.caller_session(caller);
        let actor = Actor::Participant(caller.participant);
        async move {
            let session =
                session.map_err(|_| TransferError::Refused(Refusal::UnknownParticipant))?;
            let entry = self
                .0
                .check_transfer(&alias, role, pin.as_deref())
                .map_err(|_| TransferError::Failed)?;
            let granted_role = entry.role;
            let ticket = self.0.issue_ticket(entry);
            let command = Command::Transfer {
                target,
                alias,
                role: granted_role,
                ticket,
            };
            match session.conference.command(actor, command).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(refusal)) => Err(TransferError::Refused(refusal)),
                Err(_) => Err(TransferError::Refused(Refusal::Ended)),
            }
        }
        .boxed()
    }

    fn clock(&self) -> WallClock {
        self.0.clock
    }

    fn complete_sso(&self, sign_in: SsoReturn) -> BoxFuture<'_, Result<String, SsoError>> {
        async move {
            let now = driver::now();
            let login = self
                .0
                .sso()
                .take_pending(&sign_in.state, now)
                .ok_or(SsoError::UnknownState)?;
            let config = self.0.config();
            // A reload may have removed the provider since the sign-in started.
            let idp = config
                .identity_provider(&login.idp)
                .ok_or(SsoError::NotConfigured)?;
            self.0.sso().complete(idp, login, sign_in, now).await
        }
        .boxed()
    }

    fn theme(&self, caller: &Caller) -> Option<Arc<Theme>> {
        let session = self.0.session_of(caller.participant)?;
        self.0
            .config()
            .services
            .iter()
            .find(|s| s.name == session.service_name)?
            .theme
            .clone()
    }
}
