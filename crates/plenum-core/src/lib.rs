//! plenum-core: the conference logic of the plenum node, Sans-IO.
//!
//! Nothing here performs I/O, reads a clock or spawns a task. Time enters as `now:
//! Instant` arguments, identities (participant uuids) are chosen by the caller, and
//! every timer of the spec is a deadline reported by [`Conference::poll_timeout`].
//! The node drives one [`Conference`] per running meeting from one task.

#![forbid(unsafe_code)]

pub mod conference;
pub mod disconnect;
pub mod layout;
pub mod participant;
pub mod pin;
pub mod publish;
pub mod role;
pub mod secret;
pub mod service;
pub mod time;

pub use conference::{
    Actor, Command, Conference, ConferenceSnapshot, ConferenceStatus, DialRequest, Event,
    JoinError, JoinOutcome, JoinRequest, LayoutState, MediaReport, MessageKind, Refusal,
    StageEntry,
};
pub use disconnect::DisconnectReason;
pub use layout::{ALL_LAYOUTS, Layout, UnknownLayout};
pub use participant::{ParticipantId, ParticipantState, Waiting};
pub use pin::{KEYED_PIN_ATTEMPTS, KeyedPin, Pin, PinError, PinGuard, PinInput, PinKeypad};
pub use publish::Published;
pub use role::{CallType, Protocol, Role};
pub use secret::Secret;
pub use service::{
    AutoDial, Directory, DirectoryError, Entry, EntryRefusal, Gate, PinVerdict, ServiceConfig,
    ServiceError, ServiceKind, Timeouts, judge_pin, normalize_alias,
};
pub use time::WallClock;
