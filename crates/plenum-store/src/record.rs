//! The records the store writes and reads: plain structs and enums owned by this crate, plus the
//! conversions between them and their stored form (millisecond timestamps, text enums).

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use uuid::Uuid;

use crate::StoreError;

/// Declares a closed set of values stored as lowercase text, with `as_str`, `Display` and
/// `FromStr`.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stored (and wire) spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue { kind: stringify!($name), value: s.to_owned() }),
                }
            }
        }
    };
}

text_enum! {
    /// What kind of service a conference ran.
    ServiceKind {
        /// A virtual meeting room.
        Vmr = "vmr",
        /// A virtual auditorium (hosts present, guests watch).
        Auditorium = "auditorium",
        /// A virtual reception (IVR that forwards into a room).
        Reception = "reception",
        /// A test call service.
        TestCall = "test_call",
        /// A call to a person (a private meeting the node made for it).
        PersonCall = "person_call",
    }
}

text_enum! {
    /// A participant's role.
    Role {
        /// Host (chair).
        Host = "host",
        /// Guest.
        Guest = "guest",
        /// Not yet decided (e.g. still at a PIN prompt).
        None = "none",
    }
}

text_enum! {
    /// What media a participant's call carries.
    CallType {
        /// Audio and video.
        Video = "video",
        /// Audio only.
        Audio = "audio",
        /// No media (control or presentation only).
        None = "none",
    }
}

/// A string that is not one of an enum's stored spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownValue {
    /// The enum's name, e.g. `ServiceKind`.
    pub kind: &'static str,
    /// The string that did not match.
    pub value: String,
}

/// A conference that has just started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConference {
    /// The conference's id.
    pub id: Uuid,
    /// The name of the service (VMR, auditorium, …) it runs.
    pub service_name: String,
    /// The service's kind.
    pub service_kind: ServiceKind,
    /// The alias the first participant dialled.
    pub alias: String,
    /// When it started. Stored with millisecond precision.
    pub started_at: SystemTime,
}

/// A participant that has just joined a conference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewParticipant {
    /// The participant's id.
    pub id: Uuid,
    /// The conference joined; it must have been recorded with `conference_started`.
    pub conference_id: Uuid,
    /// The name shown to others.
    pub display_name: String,
    /// The role on joining.
    pub role: Role,
    /// The media of the call.
    pub call_type: CallType,
    /// The signalling protocol, e.g. `api` or `webrtc`.
    pub protocol: String,
    /// The remote address (IP or IP:port), if known.
    pub remote_address: Option<String>,
    /// When they joined. Stored with millisecond precision.
    pub joined_at: SystemTime,
}

/// An administrator action to record in the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When it happened. Stored with millisecond precision.
    pub at: SystemTime,
    /// The administrator's user name (for `login_failed`, the name that was tried).
    pub admin_user: String,
    /// What was done, e.g. `lock`, `unlock`, `disconnect_participant`, `disconnect_conference`,
    /// `login_failed`.
    pub action: String,
    /// What it was done to (a conference or participant id, a user name); empty if nothing.
    pub target: String,
    /// Any further detail, stored as JSON text.
    pub detail: Option<serde_json::Value>,
    /// The administrator's remote address, if known.
    pub remote_address: Option<String>,
}

/// A device registration that has just been accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRegistration {
    /// The registration's id.
    pub id: Uuid,
    /// The device alias registered (a `[[device]]` of the config).
    pub alias: String,
    /// The user name the device authenticated with.
    pub username: String,
    /// The client's address as `ip:port` (`[ip]:port` for IPv6).
    pub remote_address: String,
    /// The client's `User-Agent`; empty if it sent none.
    pub user_agent: String,
    /// When it registered; also its first `refreshed_at`. Stored with millisecond precision.
    pub registered_at: SystemTime,
    /// When it lapses unless refreshed. Stored with millisecond precision.
    pub expires_at: SystemTime,
}

/// A conference as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConferenceRecord {
    /// The conference's id.
    pub id: Uuid,
    /// The service's name.
    pub service_name: String,
    /// The service's kind.
    pub service_kind: ServiceKind,
    /// The alias dialled first.
    pub alias: String,
    /// When it started.
    pub started_at: SystemTime,
    /// When it ended; `None` while live.
    pub ended_at: Option<SystemTime>,
    /// Why it ended, if recorded.
    pub end_reason: Option<String>,
    /// The most participants present at the same time.
    pub max_participants: u64,
    /// How many participants joined over its lifetime.
    pub participant_count: u64,
}

/// A participant as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantRecord {
    /// The participant's id.
    pub id: Uuid,
    /// The conference.
    pub conference_id: Uuid,
    /// The name shown to others.
    pub display_name: String,
    /// The role on joining.
    pub role: Role,
    /// The media of the call.
    pub call_type: CallType,
    /// The signalling protocol.
    pub protocol: String,
    /// The remote address, if known.
    pub remote_address: Option<String>,
    /// When they joined.
    pub joined_at: SystemTime,
    /// When they left; `None` while present.
    pub left_at: Option<SystemTime>,
    /// Whole seconds between joining and leaving; `None` while present.
    pub duration_seconds: Option<u64>,
    /// Why they left, if recorded.
    pub disconnect_reason: Option<String>,
    /// The PEX disconnect code, if any (e.g. 124).
    pub pex_code: Option<u16>,
    /// The last media quality report of the participant's call (JSON: `reported_at` and
    /// per stream kind the client's figures), if its client sent one.
    pub media_quality: Option<serde_json::Value>,
}

/// An audit log entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the log; increases with every entry.
    pub id: i64,
    /// When it happened.
    pub at: SystemTime,
    /// The administrator's user name.
    pub admin_user: String,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// Any further detail.
    pub detail: Option<serde_json::Value>,
    /// The administrator's remote address, if known.
    pub remote_address: Option<String>,
}

/// A live device registration as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRecord {
    /// The registration's id.
    pub id: Uuid,
    /// The device alias registered.
    pub alias: String,
    /// The user name the device authenticated with.
    pub username: String,
    /// The client's address as `ip:port` (`[ip]:port` for IPv6).
    pub remote_address: String,
    /// The client's `User-Agent`; empty if it sent none.
    pub user_agent: String,
    /// When it registered.
    pub registered_at: SystemTime,
    /// When it last refreshed (its registration time until the first refresh).
    pub refreshed_at: SystemTime,
    /// When it lapses unless refreshed again.
    pub expires_at: SystemTime,
}

/// One page of a newest-first listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// How many rows at most, `1..=`[`Page::MAX_LIMIT`].
    pub limit: u32,
    /// How many rows to skip.
    pub offset: u64,
}

impl Page {
    /// The largest allowed `limit`.
    pub const MAX_LIMIT: u32 = 500;

    /// The first `limit` rows.
    pub fn first(limit: u32) -> Page {
        Page { limit, offset: 0 }
    }

    /// `(limit, offset)` as the signed integers both databases bind, or `InvalidPage`.
    pub(crate) fn to_sql(self) -> Result<(i64, i64), StoreError> {
        let invalid = StoreError::InvalidPage {
            limit: self.limit,
            offset: self.offset,
        };
        if !(1..=Page::MAX_LIMIT).contains(&self.limit) {
            return Err(invalid);
        }
        let offset = i64::try_from(self.offset).map_err(|_| invalid)?;
        Ok((i64::from(self.limit), offset))
    }
}

/// What [`Store::close_dangling`](crate::Store::close_dangling) closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dangling {
    /// Conferences that had no end and now end at the given time.
    pub conferences: u64,
    /// Participants that had not left and now leave at the given time.
    pub participants: u64,
}

/// `t` as milliseconds since the Unix epoch (the stored form of every timestamp).
pub(crate) fn to_millis(t: SystemTime, what: &'static str) -> Result<i64, StoreError> {
    t.duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .ok_or(StoreError::InvalidTimestamp { what })
}

/// The inverse of [`to_millis`].
pub(crate) fn from_millis(ms: i64, what: &'static str) -> Result<SystemTime, StoreError> {
    u64::try_from(ms)
        .ok()
        .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
        .ok_or_else(|| invalid(what, ms))
}

pub(crate) fn from_millis_opt(
    ms: Option<i64>,
    what: &'static str,
) -> Result<Option<SystemTime>, StoreError> {
    ms.map(|ms| from_millis(ms, what)).transpose()
}

pub(crate) fn parse_uuid(s: &str, what: &'static str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|_| invalid(what, s))
}

pub(crate) fn parse_enum<T: FromStr>(s: &str, what: &'static str) -> Result<T, StoreError> {
    s.parse().map_err(|_| invalid(what, s))
}

pub(crate) fn parse_json(
    s: Option<String>,
    what: &'static str,
) -> Result<Option<serde_json::Value>, StoreError> {
    s.map(|s| serde_json::from_str(&s).map_err(|_| invalid(what, &s)))
        .transpose()
}

/// A stored count or duration, which the store only ever writes as a non-negative number.
pub(crate) fn to_u64(n: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| invalid(what, n))
}

pub(crate) fn invalid(what: &'static str, value: impl fmt::Display) -> StoreError {
    StoreError::InvalidData {
        what,
        value: value.to_string(),
    }
}
