//! The node's registered devices: the credential check with its back-off, the
//! registrar's tokens and notices, their rows in the database, the directory, and the
//! task that ends registrations not refreshed in time.

use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use plenum_core::{ParticipantId, Role, Secret, ServiceKind, normalize_alias};
use plenum_http::client::backend::{
    DIRECTORY_LIMIT, DeviceCredentials, DirectoryEntry, DirectoryError, InvalidToken,
    RegisterRefusal, RegisterRequest, RegistrationFeed, SsoRequest,
};
use plenum_store::NewRegistration;
use tokio::sync::Notify;
use tracing::{debug, info, warn};

use super::{JoinRefusal, Node};
use crate::config::{DeviceAlias, DeviceSignIn, PhcHash};
use crate::driver::{self, ConferenceHandle};
use crate::registrar::{Registrant, Registration};
use crate::sso::SsoPrompt;
use crate::sso::store::SignInFor;

/// A call ringing a registered device: what answering or declining acts on.
#[derive(Debug, Clone)]
pub struct RingingCall {
    /// The meeting the device is dialled into.
    pub conference: ConferenceHandle,
    /// The dialled participant (connecting until answered).
    pub participant: ParticipantId,
    /// The role it joins with.
    pub role: Role,
    /// The meeting's service (what the device joins).
    pub service: Arc<plenum_core::ServiceConfig>,
}

/// The failure-counting keys of an attempt: its address and the alias tried.
fn guard_keys(client: &SocketAddr, alias: &str) -> Vec<String> {
    vec![
        format!("addr:{}", client.ip()),
        format!("alias:{}", normalize_alias(alias)),
    ]
}

impl Node {
    /// Checks a device's credentials (password, or single sign-on) and starts its
    /// registration.
    pub async fn register(
        &self,
        request: RegisterRequest,
    ) -> Result<(Registration, Secret), RegisterRefusal> {
        if let Err(JoinRefusal::Refused(reason)) = self.check_switches() {
            return Err(RegisterRefusal::Refused(reason));
        }
        let keys = guard_keys(&request.client_addr, &request.alias);
        self.credential_guard
            .lock()
            .expect("credential guard lock is never poisoned")
            .check(driver::now(), &keys)
            .map_err(|retry_after| RegisterRefusal::TooManyFailures { retry_after })?;
        let verified = match &request.credentials {
            DeviceCredentials::Password { username, password } => {
                self.check_password(&request.alias, request.client_addr, username, password)
                    .await
            }
            DeviceCredentials::SingleSignOn(sso) => match &sso.sso_token {
                // Asking how to sign in proves nothing and guesses nothing: not counted.
                None => return Err(self.sign_in_prompt(&request.alias, sso).await),
                Some(token) => self.redeem_sign_in(&request, token),
            },
        };
        let Some(device) = verified else {
            self.credential_guard
                .lock()
                .expect("credential guard lock is never poisoned")
                .fail(driver::now(), &keys);
            return Err(RegisterRefusal::BadCredentials);
        };
        self.credential_guard
            .lock()
            .expect("credential guard lock is never poisoned")
            .succeed(&keys);
        Ok(self.start_registration(&device, &request).await)
    }

    /// The device whose user name and password these are; `None` (logged) if the alias
    /// is unknown, signs in with single sign-on, or the name or password is wrong.
    async fn check_password(
        &self,
        alias: &str,
        client: SocketAddr,
        username: &str,
        password: &Secret,
    ) -> Option<DeviceAlias> {
        let config = self.config();
        let device = config.device(alias).cloned();
        let (username, password) = (username.to_owned(), password.clone());
        let verified = tokio::task::spawn_blocking(move || match &device {
            Some(
                d @ DeviceAlias {
                    sign_in: DeviceSignIn::Password(hash),
                    ..
                },
            ) => {
                // The hash is always checked, so a wrong user name takes as long.
                let password_ok = hash.verify(password.expose());
                (password_ok && d.username == username).then(|| d.clone())
            }
            // Unknown aliases and single sign-on devices take as long as a wrong password.
            _ => {
                PhcHash::verify_decoy(password.expose());
                None
            }
        })
        .await
        .unwrap_or_else(|e| {
            warn!(error = %e, "registration credential check failed to run");
            None
        });
        if verified.is_none() {
            if config.device(alias).is_some_and(DeviceAlias::is_sso) {
                info!(%alias, %client, "registration refused: this device signs in with single sign-on, not a password");
            } else {
                warn!(%alias, %client, "registration refused: unknown alias or wrong user name or password");
            }
        }
        verified
    }

    /// A registration without credentials or `sso_token`: the identity providers
    /// devices sign in with (the same list for every alias, so nobody learns which
    /// aliases exist), or with `chosen_idp` the sign-in's start. Without single sign-on
    /// devices, the answer to missing credentials.
    async fn sign_in_prompt(&self, alias: &str, sso: &SsoRequest) -> RegisterRefusal {
        let config = self.config();
        let idps = config.device_identity_providers();
        if idps.is_empty() {
            debug!(%alias, "registration without credentials, and no device signs in with single sign-on");
            return RegisterRefusal::BadCredentials;
        }
        let purpose = SignInFor::Device(normalize_alias(alias));
        match self.sso().prompt(&config, &idps, purpose, sso).await {
            SsoPrompt::Choose(idps) => RegisterRefusal::IdpRequired(idps),
            SsoPrompt::Redirect { url, idp } => RegisterRefusal::SsoRedirect { url, idp },
            SsoPrompt::Refused(reason) => RegisterRefusal::Refused(reason),
        }
    }

    /// A sign-in's one-time `sso_token` redeemed for `request.alias`: the device if it
    /// signs in at that provider and the provider vouched for its user name (`None`,
    /// logged, if not).
    fn redeem_sign_in(&self, request: &RegisterRequest, token: &Secret) -> Option<DeviceAlias> {
        let config = self.config();
        let purpose = SignInFor::Device(normalize_alias(&request.alias));
        let Some(signed_in) = self.sso().redeem(token, &purpose, driver::now()) else {
            warn!(alias = %request.alias, client = %request.client_addr, "registration refused: the sso_token is unknown, used, too old or made for something else");
            return None;
        };
        let device = config.device(&request.alias).filter(|d| {
            matches!(&d.sign_in, DeviceSignIn::Sso { identity_provider } if identity_provider.eq_ignore_ascii_case(&signed_in.idp))
        });
        let Some(device) = device else {
            warn!(alias = %request.alias, idp = %signed_in.idp, "registration refused: no device with this alias signs in at this identity provider");
            return None;
        };
        let vouched = signed_in
            .alias
            .as_deref()
            .is_some_and(|who| who.trim().eq_ignore_ascii_case(device.username.trim()));
        if !vouched {
            let claim = config
                .identity_provider(&signed_in.idp)
                .map_or("alias_claim", |p| p.alias_claim.as_str());
            warn!(alias = %device.alias, idp = %signed_in.idp, %claim, signed_in = ?signed_in.alias, "registration refused: the identity provider signed in someone other than the device's username (compared with the claim alias_claim names)");
            return None;
        }
        Some(device.clone())
    }

    /// Starts the registration of a device that proved who it is.
    async fn start_registration(
        &self,
        device: &DeviceAlias,
        request: &RegisterRequest,
    ) -> (Registration, Secret) {
        let now = driver::now();
        let (registration, token) = self
            .registrar
            .lock()
            .expect("registrar lock is never poisoned")
            .register(
                now,
                Registrant {
                    alias: device.alias.clone(),
                    username: device.username.clone(),
                    client: request.client_addr,
                    user_agent: request.user_agent.clone(),
                },
            );
        self.registrar_changed.notify_one();
        let row = NewRegistration {
            id: registration.id,
            alias: registration.registrant.alias.clone(),
            username: registration.registrant.username.clone(),
            remote_address: registration.registrant.client.to_string(),
            user_agent: registration.registrant.user_agent.clone(),
            registered_at: self.clock.to_system(registration.registered_at),
            expires_at: self.clock.to_system(registration.expires_at),
        };
        if let Err(error) = self.store.registration_started(&row).await {
            warn!(%error, alias = %row.alias, "registration not written to the database; admins will not see it in the status API");
        }
        let how = if device.is_sso() {
            "single sign-on"
        } else {
            "password"
        };
        info!(alias = %device.alias, registration = %registration.id, client = %request.client_addr, signed_in_with = how, "device registered");
        (registration, token)
    }

    /// Rotates a live registration token of `alias`.
    pub async fn refresh_registration(
        &self,
        alias: &str,
        token: &str,
    ) -> Result<Secret, InvalidToken> {
        let now = driver::now();
        let (registration, token) = self
            .registrar
            .lock()
            .expect("registrar lock is never poisoned")
            .refresh(now, alias, token)
            .ok_or(InvalidToken)?;
        self.registrar_changed.notify_one();
        let written = self
            .store
            .registration_refreshed(
                registration.id,
                self.clock.to_system(now),
                self.clock.to_system(registration.expires_at),
            )
            .await;
        if let Err(error) = written {
            warn!(%error, registration = %registration.id, "registration refresh not written to the database");
        }
        Ok(token)
    }

    /// Ends the registration behind a live token of `alias`.
    pub async fn release_registration(&self, alias: &str, token: &str) -> Result<(), InvalidToken> {
        let registration = self
            .registrar
            .lock()
            .expect("registrar lock is never poisoned")
            .release(driver::now(), alias, token)
            .ok_or(InvalidToken)?;
        info!(alias = %registration.registrant.alias, registration = %registration.id, "device unregistered");
        self.forget_registration(&registration).await;
        Ok(())
    }

    /// The notice stream of the registration behind a live token of `alias`.
    pub fn registration_feed(
        &self,
        alias: &str,
        token: &str,
    ) -> Result<RegistrationFeed, InvalidToken> {
        self.registrar
            .lock()
            .expect("registrar lock is never poisoned")
            .feed(driver::now(), alias, token)
            .ok_or(InvalidToken)
    }

    /// Rooms and devices matching `query` (alias or name contains it, case ignored),
    /// for the holder of a live registration token.
    pub fn directory(
        &self,
        token: &str,
        query: &str,
    ) -> Result<Vec<DirectoryEntry>, DirectoryError> {
        self.registrar
            .lock()
            .expect("registrar lock is never poisoned")
            .lookup_any(driver::now(), token)
            .ok_or(DirectoryError::InvalidToken)?;
        let config = self.config();
        if !config.switches.directory_enabled {
            return Err(DirectoryError::Disabled);
        }
        let query = query.to_lowercase();
        let rooms = config
            .services()
            .into_iter()
            .filter(|s| s.kind != ServiceKind::TestCall)
            .filter_map(|s| {
                s.aliases.first().map(|alias| DirectoryEntry {
                    alias: alias.clone(),
                    description: s.name.clone(),
                })
            });
        let devices = config.devices.iter().map(|d| DirectoryEntry {
            alias: d.alias.clone(),
            description: device_name(d),
        });
        let mut entries: Vec<DirectoryEntry> = rooms
            .chain(devices)
            .filter(|e| matches_search(&query, &e.alias, &e.description))
            .collect();
        entries.sort_by_key(|e| (e.description.to_lowercase(), e.alias.to_lowercase()));
        entries.truncate(DIRECTORY_LIMIT);
        Ok(entries)
    }

    /// Whether a device alias has a live registration.
    pub fn is_registered(&self, alias: &str) -> bool {
        self.registrar
            .lock()
            .expect("registrar lock is never poisoned")
            .is_registered(driver::now(), alias)
    }

    /// How many registrations are live now (for `/metrics`).
    pub fn live_registration_count(&self) -> usize {
        let now = driver::now();
        self.registrar
            .lock()
            .expect("registrar lock is never poisoned")
            .registrations()
            .filter(|r| r.expires_at > now)
            .count()
    }

    async fn forget_registration(&self, registration: &Registration) {
        if let Err(error) = self.store.registration_ended(registration.id).await {
            warn!(%error, registration = %registration.id, "registration end not written to the database; it stays listed until it expires there");
        }
    }
}

/// The name a device goes by in rosters and the directory.
pub(crate) fn device_name(device: &DeviceAlias) -> String {
    if device.description.is_empty() {
        device.alias.clone()
    } else {
        device.description.clone()
    }
}

/// Whether a directory entry matches a lower-cased search text: empty matches all, else
/// its alias or its name contains it (case ignored).
pub(super) fn matches_search(query: &str, alias: &str, description: &str) -> bool {
    query.is_empty()
        || alias.to_lowercase().contains(query)
        || description.to_lowercase().contains(query)
}

/// Ends registrations not refreshed in time and voids rings too old to answer. Runs
/// until the node is gone.
pub(super) async fn reap_registrations(node: Weak<Node>, changed: Arc<Notify>) {
    loop {
        let woken = changed.notified();
        let Some(strong) = node.upgrade() else { return };
        let next = strong
            .registrar
            .lock()
            .expect("registrar lock is never poisoned")
            .next_deadline();
        drop(strong);
        let sleep = async {
            match next {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = sleep => {
                let Some(node) = node.upgrade() else { return };
                let now = driver::now();
                let (expired, rings) = {
                    let mut registrar = node.registrar.lock().expect("registrar lock is never poisoned");
                    (registrar.take_expired(now), registrar.take_expired_rings(now))
                };
                // A safety net: the meeting's own ring timeout normally ends these first.
                for ring in rings {
                    ring.call.conference.leave(ring.call.participant, plenum_core::DisconnectReason::CallNotAnswered).await;
                }
                for registration in expired {
                    info!(alias = %registration.registrant.alias, registration = %registration.id, "registration not refreshed in time; it ends");
                    node.forget_registration(&registration).await;
                }
            }
            () = woken => {}
        }
    }
}

/// Removes what a previous run left in the registration table: its tokens lived in
/// memory, so those registrations are void.
pub async fn clear_stale(store: &plenum_store::Store) {
    match store.clear_registrations().await {
        Ok(0) => {}
        Ok(n) => info!(
            registrations = n,
            "registrations of the previous run removed; their clients register again"
        ),
        Err(error) => warn!(%error, "could not clear the previous run's registrations"),
    }
}
