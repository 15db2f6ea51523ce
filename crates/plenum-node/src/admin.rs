//! The node's side of the admin status API: live state from the conference drivers,
//! history, audit and device registrations from the store, admin actions carried out and
//! audited, the admins' login back-off, and the figures `/metrics` shows.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use plenum_core::{Actor, Command, ParticipantId, ServiceKind};
use plenum_http::{
    AdminActor, AdminBackend, AuditRecord, BackendError, ConferenceRecord, LiveConference,
    LiveConferenceDetail, LiveParticipant, LiveRegistration, MediaFigures, MetricsAccess,
    NodeCapacity, NodeLoad, NodeMetrics, Page, PageRequest, ParticipantCount, ParticipantRecord,
    StreamFigures,
};
use plenum_media::stats::{MEDIA_STATS, MediaStatsSnapshot, StreamKind, TICK_BUCKETS_US};
use plenum_store::{AuditEntry, RegistrationRecord, StoreError};
use tracing::{error, warn};
use uuid::Uuid;

use crate::config::{MetricsAuth, PhcHash};
use crate::driver::{ConferenceHandle, Snapshot, WallClock};
use crate::history::HISTORY_STATS;
use crate::node::Node;
use crate::node::admission::CapacitySource;

/// The admin API backed by a running node.
#[derive(Debug, Clone)]
pub struct NodeAdmin(pub Arc<Node>);

impl NodeAdmin {
    async fn snapshots(&self) -> Vec<Snapshot> {
        let mut snapshots = Vec::new();
        for conference in self.0.conferences() {
            // A conference that ended meanwhile is simply not listed.
            if let Ok(snapshot) = conference.snapshot().await {
                snapshots.push(snapshot);
            }
        }
        snapshots.sort_by_key(|s| s.state.created_at);
        snapshots
    }

    fn conference(&self, id: Uuid) -> Result<ConferenceHandle, BackendError> {
        self.0.conference(id).ok_or(BackendError::NotFound)
    }

    async fn audit(&self, admin: &AdminActor, action: &str, target: String) {
        let entry = AuditEntry {
            at: SystemTime::now(),
            admin_user: admin.username.clone(),
            action: action.to_owned(),
            target,
            detail: None,
            remote_address: Some(admin.remote_addr.ip().to_string()),
        };
        if let Err(error) = self.0.store().audit(&entry).await {
            error!(%error, action, admin = %admin.username, "could not write the audit log entry");
        }
    }

    /// Runs a command as admin on a conference, mapping "ended meanwhile" to not found.
    async fn admin_command(
        &self,
        conference: &ConferenceHandle,
        command: Command,
    ) -> Result<(), BackendError> {
        match conference.command(Actor::Admin, command).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(plenum_core::Refusal::UnknownParticipant | plenum_core::Refusal::Ended))
            | Err(_) => Err(BackendError::NotFound),
            Ok(Err(refusal)) => {
                warn!(%refusal, "admin command refused");
                Err(BackendError::NotFound)
            }
        }
    }
}

fn unavailable(error: StoreError) -> BackendError {
    BackendError::Unavailable(error.to_string())
}

fn store_page(page: PageRequest) -> plenum_store::Page {
    plenum_store::Page {
        limit: page.limit,
        offset: page.offset,
    }
}

/// A stored registration for the API. Its address was written from a `SocketAddr`; one that
/// no longer parses is invalid stored data, reported like the store's own `InvalidData`.
fn live_registration(r: RegistrationRecord) -> Result<LiveRegistration, BackendError> {
    let remote_addr = r.remote_address.parse().map_err(|_| {
        BackendError::Unavailable(format!(
            "stored remote_address of registration {} is invalid: {:?}",
            r.id, r.remote_address
        ))
    })?;
    Ok(LiveRegistration {
        id: r.id,
        alias: r.alias,
        username: r.username,
        remote_addr,
        user_agent: r.user_agent,
        registered_at: r.registered_at,
        expires_at: r.expires_at,
    })
}

/// The media engine's counters as `/metrics` shows them (seconds, fractions).
fn media_figures(s: &MediaStatsSnapshot) -> MediaFigures {
    let mut tick_buckets: Vec<(f64, u64)> = TICK_BUCKETS_US
        .iter()
        .zip(&s.tick_buckets)
        .map(|(bound, count)| (*bound as f64 / 1e6, *count))
        .collect();
    tick_buckets.push((f64::INFINITY, s.tick_buckets[TICK_BUCKETS_US.len()]));
    MediaFigures {
        ticks: s.ticks,
        tick_seconds_total: s.tick_micros_total as f64 / 1e6,
        tick_buckets,
        ticks_over_budget: s.over_budget,
        clock_restarts: s.clock_restarts,
        encoders: s.encoders,
        keyframe_requests_received: s.keyframe_requests_received,
        keyframe_requests_sent: s.keyframe_requests_sent,
        receiver_reports: s.receiver_reports,
        receiver_loss_fraction_sum: s.receiver_loss_sum as f64 / 256.0,
        nacked_packets_received: s.nacked_packets_received,
        nacked_packets_sent: s.nacked_packets_sent,
        streams: StreamKind::ALL
            .into_iter()
            .zip(s.streams)
            .map(|(kind, counts)| StreamFigures {
                kind: kind.name(),
                rtp_packets_received: counts.rtp_packets_received,
                frames_received: counts.frames_received,
                frames_sent: counts.frames_sent,
            })
            .collect(),
    }
}

fn live_conference(s: &Snapshot, clock: &WallClock) -> LiveConference {
    LiveConference {
        id: s.id,
        service_name: s.state.service.name.clone(),
        service_type: s.state.service.kind,
        alias: s.alias.clone(),
        started_at: clock.to_system(s.state.created_at),
        locked: s.state.status.locked,
        guests_muted: s.state.status.guests_muted,
        started: s.state.status.started,
        participant_count: u32::try_from(s.state.participants.len()).unwrap_or(u32::MAX),
    }
}

fn live_participants(
    s: &Snapshot,
    clock: &WallClock,
    qualities: &HashMap<ParticipantId, serde_json::Value>,
) -> Vec<LiveParticipant> {
    s.state
        .participants
        .iter()
        .map(|p| LiveParticipant {
            id: p.id.0,
            conference_id: s.id,
            display_name: p.display_name.clone(),
            role: p.role,
            call_type: p.call_type,
            protocol: p.protocol,
            waiting: p.waiting,
            connecting: p.connecting,
            dialled: p.dialled,
            joined_at: clock.to_system(p.joined_at),
            is_muted: p.is_muted,
            is_presenting: p.is_presenting,
            media_quality: qualities.get(&p.id).cloned(),
        })
        .collect()
}

impl AdminBackend for NodeAdmin {
    fn verify_admin(&self, username: &str, password: &str) -> bool {
        let config = self.0.config();
        match config.admin(username) {
            Some(admin) => admin.password_hash.verify(password),
            None => PhcHash::verify_decoy(password),
        }
    }

    fn record_failed_login(&self, username: String, remote_addr: SocketAddr) -> BoxFuture<'_, ()> {
        self.0.admin_login_failed(&username, remote_addr);
        async move {
            let actor = AdminActor {
                username: username.clone(),
                remote_addr,
            };
            self.audit(&actor, "login_failed", username).await;
        }
        .boxed()
    }

    fn login_allowed(&self, username: &str, remote_addr: SocketAddr) -> Result<(), Duration> {
        self.0.admin_login_allowed(username, remote_addr)
    }

    fn login_succeeded(&self, username: &str, remote_addr: SocketAddr) {
        self.0.admin_login_succeeded(username, remote_addr);
    }

    fn live_conferences(&self) -> BoxFuture<'_, Result<Vec<LiveConference>, BackendError>> {
        async move {
            let clock = self.0.clock;
            Ok(self
                .snapshots()
                .await
                .iter()
                .map(|s| live_conference(s, &clock))
                .collect())
        }
        .boxed()
    }

    fn live_conference(
        &self,
        id: Uuid,
    ) -> BoxFuture<'_, Result<LiveConferenceDetail, BackendError>> {
        async move {
            let snapshot = self
                .conference(id)?
                .snapshot()
                .await
                .map_err(|_| BackendError::NotFound)?;
            let clock = self.0.clock;
            Ok(LiveConferenceDetail {
                conference: live_conference(&snapshot, &clock),
                participants: live_participants(&snapshot, &clock, &self.0.media_qualities()),
            })
        }
        .boxed()
    }

    fn live_participants(&self) -> BoxFuture<'_, Result<Vec<LiveParticipant>, BackendError>> {
        async move {
            let clock = self.0.clock;
            let qualities = self.0.media_qualities();
            Ok(self
                .snapshots()
                .await
                .iter()
                .flat_map(|s| live_participants(s, &clock, &qualities))
                .collect())
        }
        .boxed()
    }

    fn metrics_access(&self) -> MetricsAccess {
        let config = self.0.config();
        match (config.switches.metrics_enabled, config.node.metrics_auth) {
            (false, _) => MetricsAccess::Off,
            (true, MetricsAuth::Admins) => MetricsAccess::Admins,
            (true, MetricsAuth::None) => MetricsAccess::Open,
        }
    }

    fn metrics(&self) -> BoxFuture<'_, Result<NodeMetrics, BackendError>> {
        async move {
            let snapshots = self.snapshots().await;
            let mut conferences: Vec<(ServiceKind, u64)> = Vec::new();
            let mut participants: Vec<ParticipantCount> = Vec::new();
            for s in &snapshots {
                let kind = s.state.service.kind;
                match conferences.iter_mut().find(|(k, _)| *k == kind) {
                    Some((_, n)) => *n += 1,
                    None => conferences.push((kind, 1)),
                }
                for p in &s.state.participants {
                    let state = if p.connecting {
                        "ringing"
                    } else if p.waiting.is_some() {
                        "waiting"
                    } else {
                        "in"
                    };
                    match participants
                        .iter_mut()
                        .find(|g| g.call_type == p.call_type && g.state == state)
                    {
                        Some(group) => group.count += 1,
                        None => participants.push(ParticipantCount {
                            call_type: p.call_type,
                            state,
                            count: 1,
                        }),
                    }
                }
            }
            Ok(NodeMetrics {
                conferences,
                participants,
                registrations: self.0.live_registration_count() as u64,
                media: media_figures(&MEDIA_STATS.snapshot()),
                history_pending: HISTORY_STATS.pending(),
                history_lost: HISTORY_STATS.lost(),
            })
        }
        .boxed()
    }

    fn node_load(&self) -> BoxFuture<'_, Result<NodeLoad, BackendError>> {
        use plenum_media::capacity::CallClass;
        const CLASSES: [CallClass; 3] = [CallClass::Hd, CallClass::Sd, CallClass::Audio];
        async move {
            let node = &self.0;
            let admission = node.admission();
            let counts = admission.counts();
            let config = node.config();
            let capacity = admission.capacity().map(|(capacity, source)| NodeCapacity {
                source: match source {
                    CapacitySource::Measured => "measured",
                    CapacitySource::Configured => "configured",
                },
                max_calls: CLASSES.map(|c| capacity.calls(c)),
                cost_ms: CLASSES
                    .map(|c| (capacity.costs.of(c).as_secs_f64() * 10_000.0).round() / 10.0),
                media_load_percent: capacity.usage(admission.load()) * 100.0,
            });
            Ok(NodeLoad {
                name: config.node.public_name.clone(),
                maintenance_mode: config.switches.maintenance_mode,
                capacity,
                calls: CLASSES.map(|c| counts.get(&c).copied().unwrap_or(0) as u64),
            })
        }
        .boxed()
    }

    fn live_registrations(&self) -> BoxFuture<'_, Result<Vec<LiveRegistration>, BackendError>> {
        async move {
            self.0
                .store()
                .live_registrations(SystemTime::now())
                .await
                .map_err(unavailable)?
                .into_iter()
                .map(live_registration)
                .collect()
        }
        .boxed()
    }

    fn conference_history(
        &self,
        page: PageRequest,
    ) -> BoxFuture<'_, Result<Page<ConferenceRecord>, BackendError>> {
        async move {
            let store = self.0.store();
            let rows = store
                .conference_history(store_page(page))
                .await
                .map_err(unavailable)?;
            let total_count = store.count_conferences().await.map_err(unavailable)?;
            let items = rows
                .into_iter()
                .map(|r| ConferenceRecord {
                    id: r.id,
                    service_name: r.service_name,
                    service_type: r.service_kind.as_str().to_owned(),
                    alias: r.alias,
                    started_at: r.started_at,
                    ended_at: r.ended_at,
                    end_reason: r.end_reason,
                    max_participants: r.max_participants,
                    participant_count: r.participant_count,
                })
                .collect();
            Ok(Page { items, total_count })
        }
        .boxed()
    }

    fn conference_history_participants(
        &self,
        conference_id: Uuid,
    ) -> BoxFuture<'_, Result<Vec<ParticipantRecord>, BackendError>> {
        async move {
            let rows = self
                .0
                .store()
                .participants_of(conference_id)
                .await
                .map_err(unavailable)?;
            if rows.is_empty()
                && self
                    .0
                    .store()
                    .conference(conference_id)
                    .await
                    .map_err(unavailable)?
                    .is_none()
            {
                return Err(BackendError::NotFound);
            }
            Ok(rows
                .into_iter()
                .map(|r| ParticipantRecord {
                    id: r.id,
                    conference_id: r.conference_id,
                    display_name: r.display_name,
                    role: r.role.as_str().to_owned(),
                    call_type: r.call_type.as_str().to_owned(),
                    protocol: r.protocol,
                    remote_address: r.remote_address,
                    joined_at: r.joined_at,
                    left_at: r.left_at,
                    duration_seconds: r.duration_seconds,
                    disconnect_reason: r.disconnect_reason,
                    pex_code: r.pex_code,
                    media_quality: r.media_quality,
                })
                .collect())
        }
        .boxed()
    }

    fn audit_log(
        &self,
        page: PageRequest,
    ) -> BoxFuture<'_, Result<Page<AuditRecord>, BackendError>> {
        async move {
            let store = self.0.store();
            let rows = store
                .audit_log(store_page(page))
                .await
                .map_err(unavailable)?;
            let total_count = store.count_audit_entries().await.map_err(unavailable)?;
            let items = rows
                .into_iter()
                .map(|r| AuditRecord {
                    id: r.id,
                    at: r.at,
                    admin_user: r.admin_user,
                    action: r.action,
                    target: r.target,
                    detail: r.detail,
                    remote_address: r.remote_address,
                })
                .collect();
            Ok(Page { items, total_count })
        }
        .boxed()
    }

    fn lock_conference(
        &self,
        id: Uuid,
        locked: bool,
        admin: AdminActor,
    ) -> BoxFuture<'_, Result<(), BackendError>> {
        async move {
            let conference = self.conference(id)?;
            self.admin_command(
                &conference,
                if locked {
                    Command::Lock
                } else {
                    Command::Unlock
                },
            )
            .await?;
            self.audit(
                &admin,
                if locked { "lock" } else { "unlock" },
                id.to_string(),
            )
            .await;
            Ok(())
        }
        .boxed()
    }

    fn disconnect_conference(
        &self,
        id: Uuid,
        admin: AdminActor,
    ) -> BoxFuture<'_, Result<(), BackendError>> {
        async move {
            let conference = self.conference(id)?;
            self.admin_command(&conference, Command::DisconnectAll)
                .await?;
            self.audit(&admin, "disconnect_conference", id.to_string())
                .await;
            Ok(())
        }
        .boxed()
    }

    fn disconnect_participant(
        &self,
        id: Uuid,
        admin: AdminActor,
    ) -> BoxFuture<'_, Result<(), BackendError>> {
        async move {
            let participant = ParticipantId(id);
            for conference in self.0.conferences() {
                let Ok(snapshot) = conference.snapshot().await else {
                    continue;
                };
                if snapshot
                    .state
                    .participants
                    .iter()
                    .any(|p| p.id == participant)
                {
                    self.admin_command(&conference, Command::Disconnect(participant))
                        .await?;
                    self.audit(&admin, "disconnect_participant", id.to_string())
                        .await;
                    return Ok(());
                }
            }
            Err(BackendError::NotFound)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(remote_address: &str) -> RegistrationRecord {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        RegistrationRecord {
            id: Uuid::from_u128(7),
            alias: "alice@example.com".to_owned(),
            username: "alice".to_owned(),
            remote_address: remote_address.to_owned(),
            user_agent: String::new(),
            registered_at: at,
            refreshed_at: at,
            expires_at: at + std::time::Duration::from_secs(120),
        }
    }

    #[test]
    fn stored_registrations_keep_their_address_and_port() {
        for address in ["198.51.100.4:50123", "[2001:db8::7]:443"] {
            let live = live_registration(record(address)).expect(address);
            assert_eq!(live.remote_addr.to_string(), address);
            assert_eq!(live.registered_at, record(address).registered_at);
            assert_eq!(live.expires_at, record(address).expires_at);
        }
    }

    #[test]
    fn a_stored_address_without_a_port_is_reported_not_guessed() {
        for address in ["198.51.100.4", "", "example.com:443"] {
            let err = live_registration(record(address)).expect_err(address);
            assert!(
                matches!(&err, BackendError::Unavailable(text) if text.contains("remote_address")),
                "{address}: {err:?}"
            );
        }
    }

    #[test]
    fn the_decoy_hash_is_well_formed_and_matches_nothing_obvious() {
        assert!(!PhcHash::verify_decoy(""));
        assert!(!PhcHash::verify_decoy("plenum-admin"));
    }
}
