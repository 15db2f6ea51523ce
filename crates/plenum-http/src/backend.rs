//! The trait through which the HTTP layer reaches the node (conferences, history, audit
//! log, device registrations, admin accounts), and its error type. The node implements it;
//! tests fake it.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;
use uuid::Uuid;

use crate::view::{
    AdminActor, AuditRecord, ConferenceRecord, LiveConference, LiveConferenceDetail,
    LiveParticipant, MetricsAccess, NodeLoad, NodeMetrics, Page, PageRequest, ParticipantRecord,
};

/// Why the backend could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The conference or participant does not exist (or no longer does).
    #[error("not found")]
    NotFound,
    /// The backend cannot answer right now (store down, node shutting down). The text is
    /// logged, never sent to the client.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
}

/// A live device registration, as the admin status API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRegistration {
    /// The registration's id.
    pub id: Uuid,
    /// The device alias registered.
    pub alias: String,
    /// The user name the device authenticated with.
    pub username: String,
    /// The address and port the client registered from.
    pub remote_addr: SocketAddr,
    /// The client's `User-Agent`; empty if it sent none.
    pub user_agent: String,
    /// When it registered.
    pub registered_at: SystemTime,
    /// When it lapses unless refreshed.
    pub expires_at: SystemTime,
}

/// What the admin status API needs from the node. Object-safe: the router holds an
/// `Arc<dyn AdminBackend>`.
///
/// The action methods (`lock_conference`, `disconnect_*`) write their own audit entries
/// with the given [`AdminActor`].
pub trait AdminBackend: Send + Sync + 'static {
    /// Whether `username` / `password` are the credentials of a configured admin.
    /// Blocking and CPU-heavy (argon2): the API calls it on the blocking pool.
    fn verify_admin(&self, username: &str, password: &str) -> bool;

    /// Records a failed admin login (the name that was tried, never the password) in the
    /// audit log, and counts it toward the back-off ([`AdminBackend::login_allowed`]).
    fn record_failed_login(&self, username: String, remote_addr: SocketAddr) -> BoxFuture<'_, ()>;

    /// Whether a login as `username` from `remote_addr` is considered now: after repeated
    /// failures from that address or for that user name, `Err` with how long to wait
    /// (answered 429 with `Retry-After`, the password left unchecked).
    fn login_allowed(&self, username: &str, remote_addr: SocketAddr) -> Result<(), Duration> {
        let _ = (username, remote_addr);
        Ok(())
    }

    /// A login succeeded: its address and user name start afresh.
    fn login_succeeded(&self, username: &str, remote_addr: SocketAddr) {
        let _ = (username, remote_addr);
    }

    /// Every live conference.
    fn live_conferences(&self) -> BoxFuture<'_, Result<Vec<LiveConference>, BackendError>>;

    /// One live conference with its participants; `NotFound` if it is not running.
    fn live_conference(
        &self,
        id: Uuid,
    ) -> BoxFuture<'_, Result<LiveConferenceDetail, BackendError>>;

    /// Every participant of every live conference.
    fn live_participants(&self) -> BoxFuture<'_, Result<Vec<LiveParticipant>, BackendError>>;

    /// Who may read `/metrics` now.
    fn metrics_access(&self) -> MetricsAccess {
        MetricsAccess::Off
    }

    /// The node's figures for `/metrics`, read when scraped.
    fn metrics(&self) -> BoxFuture<'_, Result<NodeMetrics, BackendError>> {
        Box::pin(async { Err(BackendError::Unavailable("no metrics".to_owned())) })
    }

    /// The node's capacity and media load (`worker_vm/`).
    fn node_load(&self) -> BoxFuture<'_, Result<NodeLoad, BackendError>> {
        Box::pin(async { Err(BackendError::Unavailable("no node load".to_owned())) })
    }

    /// Every live device registration, ordered by alias, then by registration time.
    fn live_registrations(&self) -> BoxFuture<'_, Result<Vec<LiveRegistration>, BackendError>>;

    /// A page of the conference history, newest first.
    fn conference_history(
        &self,
        page: PageRequest,
    ) -> BoxFuture<'_, Result<Page<ConferenceRecord>, BackendError>>;

    /// The participants of a conference from the history; `NotFound` if no such
    /// conference was recorded.
    fn conference_history_participants(
        &self,
        conference_id: Uuid,
    ) -> BoxFuture<'_, Result<Vec<ParticipantRecord>, BackendError>>;

    /// A page of the audit log, newest first.
    fn audit_log(
        &self,
        page: PageRequest,
    ) -> BoxFuture<'_, Result<Page<AuditRecord>, BackendError>>;

    /// Locks (`locked = true`) or unlocks a live conference.
    fn lock_conference(
        &self,
        id: Uuid,
        locked: bool,
        admin: AdminActor,
    ) -> BoxFuture<'_, Result<(), BackendError>>;

    /// Ends a live conference for everyone in it.
    fn disconnect_conference(
        &self,
        id: Uuid,
        admin: AdminActor,
    ) -> BoxFuture<'_, Result<(), BackendError>>;

    /// Disconnects one participant of a live conference.
    fn disconnect_participant(
        &self,
        id: Uuid,
        admin: AdminActor,
    ) -> BoxFuture<'_, Result<(), BackendError>>;
}
