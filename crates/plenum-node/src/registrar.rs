//! Registered devices: registration tokens (issue, rotate with overlap, expire,
//! release), each registration's notice channel, and the calls ringing them with their
//! one-time incoming tokens. Plain state taking `now`; the node drives its deadlines and
//! writes registrations to the database.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use plenum_core::{Secret, normalize_alias};
use plenum_http::client::backend::{RegistrationFeed, RegistrationNotice};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::session::{self, ROTATION_OVERLAP, TOKEN_LIFETIME};

pub mod guard;
#[cfg(test)]
mod tests;

/// How many notices a registration's stream may fall behind before it is closed.
const NOTICE_BACKLOG: usize = 32;
/// Longest a call may ring before its incoming token is void, whatever the meeting
/// says (the meeting's own ring timeout, at most [`MAX_RING_SECS`], is shorter).
pub const RING_LIFETIME: Duration = Duration::from_secs(MAX_RING_SECS + 30);
/// Longest ring timeout a node or room may configure, in seconds.
pub const MAX_RING_SECS: u64 = 300;

/// Who registers: what the credential check proved and where the client is.
#[derive(Debug, Clone)]
pub struct Registrant {
    /// The device alias as configured.
    pub alias: String,
    /// The user name it signed in with.
    pub username: String,
    /// The client's address.
    pub client: SocketAddr,
    /// Its `User-Agent`.
    pub user_agent: String,
}

/// One live registration.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The registration's id (`registration_uuid`).
    pub id: Uuid,
    /// Who registered.
    pub registrant: Registrant,
    /// When it registered.
    pub registered_at: Instant,
    /// Unrefreshed, the registration ends at this time.
    pub expires_at: Instant,
    /// Its stream's notices.
    notices: broadcast::Sender<RegistrationNotice>,
}

impl Registration {
    /// The normalised device alias (the key calls use).
    fn key(&self) -> String {
        normalize_alias(&self.registrant.alias)
    }
}

/// A call ringing a device: what the incoming token answers.
#[derive(Debug, Clone)]
pub struct Ring<T> {
    /// The normalised device alias rung.
    pub device: String,
    /// The alias the device joins to answer.
    pub conference_alias: String,
    /// Who calls.
    pub remote_display_name: String,
    /// The incoming token is void after this.
    pub expires_at: Instant,
    /// The node's handle on the call (conference, dialled participant, role).
    pub call: T,
}

#[derive(Debug)]
struct TokenSlot {
    registration: Uuid,
    /// When a newer token replaced this one.
    rotated_at: Option<Instant>,
}

/// Every live registration and ringing call. `T` is what a ringing call carries.
#[derive(Debug)]
pub struct Registrar<T> {
    tokens: HashMap<String, TokenSlot>,
    registrations: HashMap<Uuid, Registration>,
    rings: HashMap<String, Ring<T>>,
}

impl<T> Default for Registrar<T> {
    fn default() -> Registrar<T> {
        Registrar {
            tokens: HashMap::new(),
            registrations: HashMap::new(),
            rings: HashMap::new(),
        }
    }
}

impl<T: Clone> Registrar<T> {
    /// Starts a registration; returns it and its first token.
    pub fn register(&mut self, now: Instant, registrant: Registrant) -> (Registration, Secret) {
        let token = session::new_token();
        let (notices, _) = broadcast::channel(NOTICE_BACKLOG);
        let registration = Registration {
            id: Uuid::new_v4(),
            registrant,
            registered_at: now,
            expires_at: now + TOKEN_LIFETIME,
            notices,
        };
        self.tokens.insert(
            token.expose().to_owned(),
            TokenSlot {
                registration: registration.id,
                rotated_at: None,
            },
        );
        self.registrations
            .insert(registration.id, registration.clone());
        (registration, token)
    }

    /// The registration a live token acts for, whatever its alias (the directory).
    pub fn lookup_any(&self, now: Instant, token: &str) -> Option<&Registration> {
        let slot = self.tokens.get(token)?;
        if slot
            .rotated_at
            .is_some_and(|at| now >= at + ROTATION_OVERLAP)
        {
            return None;
        }
        self.registrations
            .get(&slot.registration)
            .filter(|r| r.expires_at > now)
    }

    /// The registration a live token acts for, if it is `alias`'s (case and scheme
    /// ignored).
    pub fn lookup(&self, now: Instant, alias: &str, token: &str) -> Option<&Registration> {
        self.lookup_any(now, token)
            .filter(|r| r.key() == normalize_alias(alias))
    }

    /// Rotates a live token of `alias`: the new one lives a full lifetime; the old one
    /// keeps working for [`ROTATION_OVERLAP`].
    pub fn refresh(
        &mut self,
        now: Instant,
        alias: &str,
        token: &str,
    ) -> Option<(Registration, Secret)> {
        let id = self.lookup(now, alias, token)?.id;
        self.prune_rotated(now);
        if let Some(slot) = self.tokens.get_mut(token) {
            slot.rotated_at.get_or_insert(now);
        }
        let new = session::new_token();
        self.tokens.insert(
            new.expose().to_owned(),
            TokenSlot {
                registration: id,
                rotated_at: None,
            },
        );
        let registration = self.registrations.get_mut(&id)?;
        registration.expires_at = now + TOKEN_LIFETIME;
        Some((registration.clone(), new))
    }

    /// Ends the registration behind a live token of `alias`; its stream closes.
    pub fn release(&mut self, now: Instant, alias: &str, token: &str) -> Option<Registration> {
        let id = self.lookup(now, alias, token)?.id;
        self.remove(id)
    }

    /// Ends every registration not refreshed in time; their streams close.
    pub fn take_expired(&mut self, now: Instant) -> Vec<Registration> {
        let expired: Vec<Uuid> = self
            .registrations
            .values()
            .filter(|r| r.expires_at <= now)
            .map(|r| r.id)
            .collect();
        expired
            .into_iter()
            .filter_map(|id| self.remove(id))
            .collect()
    }

    /// Rings whose incoming token outlived [`RING_LIFETIME`], removed (their devices are
    /// told it stopped ringing).
    pub fn take_expired_rings(&mut self, now: Instant) -> Vec<Ring<T>> {
        let expired: Vec<String> = self
            .rings
            .iter()
            .filter(|(_, r)| r.expires_at <= now)
            .map(|(t, _)| t.clone())
            .collect();
        expired
            .into_iter()
            .filter_map(|token| self.cancel(&token))
            .collect()
    }

    /// The earliest registration expiry or ring lifetime end.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.registrations
            .values()
            .map(|r| r.expires_at)
            .chain(self.rings.values().map(|r| r.expires_at))
            .min()
    }

    /// Opens a stream for the registration behind a live token of `alias`: the calls
    /// ringing it now, then every notice.
    pub fn feed(&self, now: Instant, alias: &str, token: &str) -> Option<RegistrationFeed> {
        let registration = self.lookup(now, alias, token)?;
        let key = registration.key();
        let ringing = self
            .rings
            .iter()
            .filter(|(_, r)| r.device == key)
            .map(|(token, r)| RegistrationNotice::Incoming {
                conference_alias: r.conference_alias.clone(),
                remote_display_name: r.remote_display_name.clone(),
                token: Secret::new(token.clone()),
            })
            .collect();
        Some(RegistrationFeed {
            ringing,
            notices: registration.notices.subscribe(),
        })
    }

    /// Whether `alias` has a live registration.
    pub fn is_registered(&self, now: Instant, alias: &str) -> bool {
        let key = normalize_alias(alias);
        self.registrations
            .values()
            .any(|r| r.expires_at > now && r.key() == key)
    }

    /// Every live registration.
    pub fn registrations(&self) -> impl Iterator<Item = &Registration> {
        self.registrations.values()
    }

    /// Rings every registration of `device`: each gets `incoming` with the same
    /// one-time token. `None` if the device has no live registration.
    pub fn ring(
        &mut self,
        now: Instant,
        device: &str,
        conference_alias: &str,
        remote_display_name: &str,
        call: T,
    ) -> Option<Secret> {
        if !self.is_registered(now, device) {
            return None;
        }
        let token = session::new_token();
        let ring = Ring {
            device: normalize_alias(device),
            conference_alias: conference_alias.to_owned(),
            remote_display_name: remote_display_name.to_owned(),
            expires_at: now + RING_LIFETIME,
            call,
        };
        self.notify(
            &ring.device,
            &RegistrationNotice::Incoming {
                conference_alias: ring.conference_alias.clone(),
                remote_display_name: ring.remote_display_name.clone(),
                token: token.clone(),
            },
        );
        self.rings.insert(token.expose().to_owned(), ring);
        Some(token)
    }

    /// Takes the call behind an incoming token (answer or decline): the token is used
    /// up, and every registration of the device is told it stopped ringing.
    pub fn take_ring(&mut self, now: Instant, token: &str) -> Option<Ring<T>> {
        let ring = self.cancel(token)?;
        (ring.expires_at > now).then_some(ring)
    }

    /// [`Registrar::take_ring`], only if the token rings into `conference_alias` (case
    /// and scheme ignored): a token shown at another alias is refused and left ringing.
    pub fn take_ring_at(
        &mut self,
        now: Instant,
        conference_alias: &str,
        token: &str,
    ) -> Option<Ring<T>> {
        let ring = self.rings.get(token)?;
        if normalize_alias(&ring.conference_alias) != normalize_alias(conference_alias) {
            return None;
        }
        self.take_ring(now, token)
    }

    /// Stops the rings whose call matches (cancelled by the caller or a Host, or not
    /// answered in time); their devices get `incoming_cancelled`.
    pub fn cancel_where(&mut self, matches: impl Fn(&T) -> bool) -> Vec<Ring<T>> {
        let tokens: Vec<String> = self
            .rings
            .iter()
            .filter(|(_, r)| matches(&r.call))
            .map(|(t, _)| t.clone())
            .collect();
        tokens
            .into_iter()
            .filter_map(|token| self.cancel(&token))
            .collect()
    }

    fn cancel(&mut self, token: &str) -> Option<Ring<T>> {
        let ring = self.rings.remove(token)?;
        self.notify(
            &ring.device,
            &RegistrationNotice::IncomingCancelled {
                token: Secret::new(token.to_owned()),
            },
        );
        Some(ring)
    }

    fn notify(&self, device: &str, notice: &RegistrationNotice) {
        for registration in self.registrations.values().filter(|r| r.key() == device) {
            // No stream open right now: the client sees ringing calls when it opens one.
            let _ = registration.notices.send(notice.clone());
        }
    }

    fn remove(&mut self, id: Uuid) -> Option<Registration> {
        let registration = self.registrations.remove(&id)?;
        self.tokens.retain(|_, slot| slot.registration != id);
        let _ = registration.notices.send(RegistrationNotice::Ended);
        Some(registration)
    }

    fn prune_rotated(&mut self, now: Instant) {
        self.tokens
            .retain(|_, slot| slot.rotated_at.is_none_or(|at| now < at + ROTATION_OVERLAP));
    }
}
