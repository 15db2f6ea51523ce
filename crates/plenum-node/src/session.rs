//! Client API sessions: tokens (issue, rotate with overlap, expire, release), which
//! participant and conference each token acts for, and one-time join tickets for
//! transfers. Plain state taking `now`; the node drives its deadlines.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use plenum_core::{Entry, ParticipantId, Secret};
use rand::RngCore as _;

use crate::driver::ConferenceHandle;

/// How long a token lives without refresh (the client API's `expires`, "120").
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(120);
/// How long a rotated-out token keeps working, for requests already on their way.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(30);
/// How long a transfer's one-time join ticket may wait to be used.
pub const TICKET_LIFETIME: Duration = Duration::from_secs(60);

/// A new random token: 256 bits from the operating system's CSPRNG, base64url without
/// padding (only `A-Z a-z 0-9 - _`, safe unencoded in URLs).
pub fn new_token() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Secret::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// One participant's API session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The participant the session acts as.
    pub participant: ParticipantId,
    /// Its conference.
    pub conference: ConferenceHandle,
    /// The service it joined (aliases of this service reach the session).
    pub service_name: String,
    /// The alias it dialled, normalised (a reception alias stays valid for it).
    pub joined_alias: String,
    /// Unrefreshed, the session ends at this time.
    pub expires_at: Instant,
}

#[derive(Debug)]
struct TokenSlot {
    participant: ParticipantId,
    /// When a newer token replaced this one.
    rotated_at: Option<Instant>,
}

/// Every live token and session.
#[derive(Debug, Default)]
pub struct Sessions {
    tokens: HashMap<String, TokenSlot>,
    sessions: HashMap<ParticipantId, Session>,
}

impl Sessions {
    /// Starts a session with its first token.
    pub fn insert(&mut self, token: &Secret, session: Session) {
        self.tokens.insert(
            token.expose().to_owned(),
            TokenSlot {
                participant: session.participant,
                rotated_at: None,
            },
        );
        self.sessions.insert(session.participant, session);
    }

    /// The session a token acts for, if the token is live at `now`.
    pub fn lookup(&self, now: Instant, token: &str) -> Option<&Session> {
        let slot = self.tokens.get(token)?;
        let session = self.sessions.get(&slot.participant)?;
        let live = now < session.expires_at
            && slot.rotated_at.is_none_or(|at| now < at + ROTATION_OVERLAP);
        live.then_some(session)
    }

    /// A session by participant.
    pub fn session(&self, participant: ParticipantId) -> Option<&Session> {
        self.sessions.get(&participant)
    }

    /// Replaces a live token with `new` and extends the session; the old token keeps
    /// working for [`ROTATION_OVERLAP`]. `None` if `old` is not live.
    pub fn refresh(&mut self, now: Instant, old: &str, new: &Secret) -> Option<&Session> {
        let participant = self.lookup(now, old)?.participant;
        self.prune_rotated(now);
        for slot in self
            .tokens
            .values_mut()
            .filter(|s| s.participant == participant && s.rotated_at.is_none())
        {
            slot.rotated_at = Some(now);
        }
        self.tokens.insert(
            new.expose().to_owned(),
            TokenSlot {
                participant,
                rotated_at: None,
            },
        );
        let session = self.sessions.get_mut(&participant)?;
        session.expires_at = now + TOKEN_LIFETIME;
        Some(session)
    }

    /// Ends a session and forgets all its tokens.
    pub fn remove(&mut self, participant: ParticipantId) -> Option<Session> {
        self.tokens
            .retain(|_, slot| slot.participant != participant);
        self.sessions.remove(&participant)
    }

    /// The sessions whose time ran out at `now`, removed.
    pub fn take_expired(&mut self, now: Instant) -> Vec<Session> {
        let expired: Vec<ParticipantId> = self
            .sessions
            .values()
            .filter(|s| s.expires_at <= now)
            .map(|s| s.participant)
            .collect();
        expired.into_iter().filter_map(|p| self.remove(p)).collect()
    }

    /// When the next session runs out.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.sessions.values().map(|s| s.expires_at).min()
    }

    /// How many sessions are live.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    fn prune_rotated(&mut self, now: Instant) {
        self.tokens
            .retain(|_, slot| slot.rotated_at.is_none_or(|at| now < at + ROTATION_OVERLAP));
    }
}

/// A one-time permission to join a room, issued on transfer.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// The room and role the transfer grants.
    pub entry: Entry,
    /// Unused, it lapses at this time.
    pub expires_at: Instant,
}

/// Outstanding one-time join tickets.
#[derive(Debug, Default)]
pub struct Tickets {
    tickets: HashMap<String, Ticket>,
}

impl Tickets {
    /// Issues a ticket for `entry`.
    pub fn issue(&mut self, now: Instant, entry: Entry) -> Secret {
        self.tickets.retain(|_, t| now < t.expires_at);
        let secret = new_token();
        self.tickets.insert(
            secret.expose().to_owned(),
            Ticket {
                entry,
                expires_at: now + TICKET_LIFETIME,
            },
        );
        secret
    }

    /// Uses up a ticket; `None` if unknown, used or lapsed.
    pub fn redeem(&mut self, now: Instant, ticket: &str) -> Option<Entry> {
        let ticket = self.tickets.remove(ticket)?;
        (now < ticket.expires_at).then_some(ticket.entry)
    }
}

#[cfg(test)]
mod tests;
