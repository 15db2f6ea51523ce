//! Plain Rust views of live conferences, history and the audit log that the node hands to
//! the HTTP layer; their JSON form is defined in [`crate::admin`], not here.

use std::net::SocketAddr;
use std::time::SystemTime;

use plenum_core::{CallType, Protocol, Role, ServiceKind, Waiting};
use uuid::Uuid;

/// A conference running right now.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveConference {
    /// The conference's id (the one history records use).
    pub id: Uuid,
    /// The name of the service it runs.
    pub service_name: String,
    /// The kind of that service.
    pub service_type: ServiceKind,
    /// The alias the first participant dialled.
    pub alias: String,
    /// When the conference came into being (its first participant arrived).
    pub started_at: SystemTime,
    /// Locked: new Guests wait for admission.
    pub locked: bool,
    /// Guests are muted by a Host.
    pub guests_muted: bool,
    /// The meeting has started (a Host is or was present); before that Guests wait.
    pub started: bool,
    /// Participants present, waiting ones included.
    pub participant_count: u32,
}

/// A live conference together with everyone in it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveConferenceDetail {
    /// The conference.
    pub conference: LiveConference,
    /// Its participants, waiting ones included.
    pub participants: Vec<LiveParticipant>,
}

/// A participant of a live conference.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveParticipant {
    /// The participant's id.
    pub id: Uuid,
    /// The conference it is in.
    pub conference_id: Uuid,
    /// The name shown to others.
    pub display_name: String,
    /// Its role (the one it will hold once admitted, while waiting).
    pub role: Role,
    /// What media it exchanges.
    pub call_type: CallType,
    /// How it reached the node.
    pub protocol: Protocol,
    /// `Some` while in a waiting room.
    pub waiting: Option<Waiting>,
    /// Dialled by the meeting and still ringing (not in the meeting yet).
    pub connecting: bool,
    /// Dialled by the meeting rather than calling in.
    pub dialled: bool,
    /// When it arrived.
    pub joined_at: SystemTime,
    /// Audio muted by the node.
    pub is_muted: bool,
    /// Holds the presentation floor.
    pub is_presenting: bool,
    /// The last media quality its client reported (`statistics`), as
    /// `client::backend::CallStatistics::quality_json` makes it.
    pub media_quality: Option<serde_json::Value>,
}

/// A conference from the history (ended, or still running if it has no end yet).
///
/// Categorical fields are the store's text spellings (`vmr`, `host`, `video`, …): the
/// history outlives the enums of any one version, so they pass through unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct ConferenceRecord {
    /// The conference's id.
    pub id: Uuid,
    /// The service's name.
    pub service_name: String,
    /// The service's kind, e.g. `vmr`.
    pub service_type: String,
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

/// A participant of a conference from the history.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantRecord {
    /// The participant's id.
    pub id: Uuid,
    /// The conference.
    pub conference_id: Uuid,
    /// The name shown to others.
    pub display_name: String,
    /// The role on joining, e.g. `host`, `guest` or `none`.
    pub role: String,
    /// The media of the call, e.g. `video`.
    pub call_type: String,
    /// The signalling protocol, e.g. `webrtc`.
    pub protocol: String,
    /// The remote address, if known.
    pub remote_address: Option<String>,
    /// When it joined.
    pub joined_at: SystemTime,
    /// When it left; `None` while present.
    pub left_at: Option<SystemTime>,
    /// Whole seconds between joining and leaving; `None` while present.
    pub duration_seconds: Option<u64>,
    /// Why it left, if recorded.
    pub disconnect_reason: Option<String>,
    /// The #pex code of the disconnect, if any (e.g. 124).
    pub pex_code: Option<u16>,
    /// The last media quality its client reported, if any.
    pub media_quality: Option<serde_json::Value>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Position in the log; increases with every entry.
    pub id: i64,
    /// When it happened.
    pub at: SystemTime,
    /// The administrator's user name (for a failed login, the name that was tried).
    pub admin_user: String,
    /// What was done, e.g. `lock` or `login_failed`.
    pub action: String,
    /// What it was done to (an id, a user name); empty if nothing.
    pub target: String,
    /// Further detail, if any.
    pub detail: Option<serde_json::Value>,
    /// The administrator's remote address, if known.
    pub remote_address: Option<String>,
}

/// Which slice of a newest-first listing to return; validated by the API
/// (`limit` in `1..=`[`PageRequest::MAX_LIMIT`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// How many entries at most.
    pub limit: u32,
    /// How many entries to skip.
    pub offset: u64,
}

impl PageRequest {
    /// The largest `limit` the API accepts.
    pub const MAX_LIMIT: u32 = 500;
    /// The `limit` when the request gives none.
    pub const DEFAULT_LIMIT: u32 = 50;
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The entries of this page, newest first.
    pub items: Vec<T>,
    /// How many entries the whole listing has.
    pub total_count: u64,
}

/// The authenticated administrator behind an action, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminActor {
    /// The user name that authenticated.
    pub username: String,
    /// Where the request came from.
    pub remote_addr: SocketAddr,
}

/// Who may read `GET /metrics` (the `metrics_enabled` switch and `node.metrics_auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Switched off: 404.
    Off,
    /// Anyone who reaches the node.
    Open,
    /// Admins, with HTTP Basic auth as the status API.
    Admins,
}

/// The node's figures for `/metrics`, read when scraped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeMetrics {
    /// Live conferences per service kind.
    pub conferences: Vec<(ServiceKind, u64)>,
    /// Participants per call type and state.
    pub participants: Vec<ParticipantCount>,
    /// Live device registrations.
    pub registrations: u64,
    /// The media engine's counters.
    pub media: MediaFigures,
    /// History rows waiting for the database (it is unavailable) and rows lost since
    /// start.
    pub history_pending: u64,
    pub history_lost: u64,
}

/// How many participants have one call type and state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParticipantCount {
    /// What media they exchange.
    pub call_type: CallType,
    /// `in` (admitted), `waiting` (a waiting room) or `ringing` (dialled, not answered).
    pub state: &'static str,
    /// How many.
    pub count: u64,
}

/// The media engine's counters since the node started (see plenum-media `stats`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaFigures {
    /// Media thread ticks run.
    pub ticks: u64,
    /// Their total duration, seconds.
    pub tick_seconds_total: f64,
    /// Ticks per bucket: (upper bound in seconds, ticks in that bucket alone); the last
    /// bucket's bound is infinity.
    pub tick_buckets: Vec<(f64, u64)>,
    /// Ticks over their 20 ms budget.
    pub ticks_over_budget: u64,
    /// Times a media thread fell too far behind and skipped ticks.
    pub clock_restarts: u64,
    /// Video encoders alive now.
    pub encoders: i64,
    /// Keyframe requests received from clients.
    pub keyframe_requests_received: u64,
    /// Keyframe requests sent to clients.
    pub keyframe_requests_sent: u64,
    /// RTCP receiver report blocks about what the node sends.
    pub receiver_reports: u64,
    /// The sum of their loss fractions (each 0.0–1.0).
    pub receiver_loss_fraction_sum: f64,
    /// Packets clients asked the node to resend (generic NACKs received).
    pub nacked_packets_received: u64,
    /// Packets the node asked clients to resend (generic NACKs sent).
    pub nacked_packets_sent: u64,
    /// Per stream kind ("audio", "video", "presentation"): RTP packets and whole frames
    /// received from clients, frames sent to them.
    pub streams: Vec<StreamFigures>,
}

/// One stream kind's media counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamFigures {
    /// "audio", "video" or "presentation".
    pub kind: &'static str,
    pub rtp_packets_received: u64,
    pub frames_received: u64,
    pub frames_sent: u64,
}

/// The node's capacity and what its media calls use of it (the status API's
/// `worker_vm/`, after Pexip's resource of that name).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeLoad {
    /// The node's public name.
    pub name: String,
    pub maintenance_mode: bool,
    /// `None` while the node is still measuring.
    pub capacity: Option<NodeCapacity>,
    /// Media calls now: HD, SD, audio-only.
    pub calls: [u64; 3],
}

/// What the node may carry.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeCapacity {
    /// "measured" (at start, with the real media kernels) or "configured"
    /// (`node.capacity_hd_calls`).
    pub source: &'static str,
    /// Calls of one class alone that fit: HD, SD, audio-only.
    pub max_calls: [u64; 3],
    /// CPU milliseconds one call of each class costs per second: HD, SD, audio-only.
    pub cost_ms: [f64; 3],
    /// The share of the capacity the calls use now, percent.
    pub media_load_percent: f64,
}
