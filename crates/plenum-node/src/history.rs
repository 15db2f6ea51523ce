//! The history writer: one task that turns conference events into database rows, in order
//! (with a leaving participant's last media quality report). While the database is
//! unavailable the rows wait in memory, in order, and are written when it is back; calls
//! never wait for it. What cannot be kept is counted and logged as lost, never dropped
//! silently.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use plenum_core::{CallType, DisconnectReason, ParticipantId, ParticipantState, Role, ServiceKind};
use plenum_store::{self as store, NewConference, NewParticipant, Store, StoreError};
use tokio::sync::mpsc;
use tracing::{error, info, warn};
use uuid::Uuid;

use crate::driver::{HistoryEvent, WallClock};

/// Participants' last media quality reports (the client API's `statistics`, as
/// `CallStatistics::quality_json` shows them), shared by the node and its history
/// writer; never touched on the media path.
pub type MediaQualities = Arc<Mutex<HashMap<ParticipantId, serde_json::Value>>>;

/// Rows kept in memory while the database is unavailable; beyond it new rows are lost
/// (and counted).
pub const BACKLOG_LIMIT: usize = 100_000;
/// The first retry after a failed write, doubling up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// The writer's counters for `/metrics` and shutdown.
#[derive(Debug)]
pub struct HistoryStats {
    pending: AtomicU64,
    lost: AtomicU64,
}

/// The history writer's counters.
pub static HISTORY_STATS: HistoryStats = HistoryStats {
    pending: AtomicU64::new(0),
    lost: AtomicU64::new(0),
};

impl HistoryStats {
    /// Rows waiting for the database now.
    pub fn pending(&self) -> u64 {
        self.pending.load(Relaxed)
    }

    /// Rows lost since start: the database refused them for good, or the backlog was
    /// full.
    pub fn lost(&self) -> u64 {
        self.lost.load(Relaxed)
    }
}

/// One history write, with everything it needs (times already on the wall clock, the
/// media quality taken), so that it can be tried again as it is.
#[derive(Debug)]
enum Row {
    ConferenceStarted(NewConference),
    ParticipantJoined(NewParticipant),
    ParticipantLeft {
        id: Uuid,
        at: SystemTime,
        reason: DisconnectReason,
        quality: Option<serde_json::Value>,
    },
    ConferenceEnded {
        id: Uuid,
        at: SystemTime,
        reason: DisconnectReason,
    },
}

impl Row {
    fn what(&self) -> &'static str {
        match self {
            Row::ConferenceStarted(_) => "conference start",
            Row::ParticipantJoined(_) => "participant join",
            Row::ParticipantLeft { .. } => "participant leave",
            Row::ConferenceEnded { .. } => "conference end",
        }
    }

    async fn write(&self, store: &Store) -> Result<(), StoreError> {
        match self {
            Row::ConferenceStarted(c) => store.conference_started(c).await,
            Row::ParticipantJoined(p) => store.participant_joined(p).await,
            Row::ParticipantLeft {
                id,
                at,
                reason,
                quality,
            } => {
                if let Some(quality) = quality {
                    store.participant_media_quality(*id, quality).await?;
                }
                store
                    .participant_left(*id, *at, Some(reason.text()), reason.pex_code())
                    .await
                    .map(drop)
            }
            Row::ConferenceEnded { id, at, reason } => store
                .conference_ended(*id, *at, Some(reason.text()))
                .await
                .map(drop),
        }
    }
}

fn row(event: HistoryEvent, clock: WallClock, media_quality: &MediaQualities) -> Option<Row> {
    Some(match event {
        HistoryEvent::ConferenceStarted {
            id,
            service,
            alias,
            at,
        } => Row::ConferenceStarted(NewConference {
            id,
            service_name: service.name.clone(),
            service_kind: service_kind(service.kind),
            alias,
            started_at: clock.to_system(at),
        }),
        HistoryEvent::ParticipantJoined {
            conference,
            participant,
        } => Row::ParticipantJoined(new_participant(conference, &participant, clock)),
        HistoryEvent::ParticipantLeft {
            participant,
            reason,
            at,
        } => Row::ParticipantLeft {
            id: participant.id.0,
            at: clock.to_system(at),
            reason,
            quality: media_quality
                .lock()
                .expect("media quality lock is never poisoned")
                .remove(&participant.id),
        },
        HistoryEvent::ConferenceEnded { id, reason, at } => Row::ConferenceEnded {
            id,
            at: clock.to_system(at),
            reason,
        },
        HistoryEvent::Flush(_) => return None,
    })
}

/// The rows waiting for the database, in order.
#[derive(Debug, Default)]
struct Backlog {
    rows: VecDeque<Row>,
    retry: Duration,
}

impl Backlog {
    fn push(&mut self, row: Row) {
        if self.rows.len() >= BACKLOG_LIMIT {
            let lost = HISTORY_STATS.lost.fetch_add(1, Relaxed) + 1;
            if lost == 1 || lost.is_multiple_of(1000) {
                error!(
                    lost,
                    limit = BACKLOG_LIMIT,
                    "the history database has been unavailable for too long: history rows are being lost (a {} now)",
                    row.what()
                );
            }
            return;
        }
        if self.rows.is_empty() {
            self.retry = RETRY_FIRST;
        }
        self.rows.push_back(row);
        // Added and taken away, not stored: every node of the process (tests run several)
        // counts into the same figure.
        HISTORY_STATS.pending.fetch_add(1, Relaxed);
    }

    /// Writes what it can, in order; stops at the first write the database cannot take.
    async fn drain(&mut self, store: &Store) {
        let before = self.rows.len();
        while let Some(row) = self.rows.front() {
            match row.write(store).await {
                Ok(()) => {
                    self.rows.pop_front();
                    HISTORY_STATS.pending.fetch_sub(1, Relaxed);
                }
                Err(error) if error.is_unavailable() => {
                    self.retry = (self.retry * 2).min(RETRY_MAX);
                    break;
                }
                Err(error) => {
                    HISTORY_STATS.lost.fetch_add(1, Relaxed);
                    error!(%error, "could not record a {} in the history database; the row is lost", row.what());
                    self.rows.pop_front();
                    HISTORY_STATS.pending.fetch_sub(1, Relaxed);
                }
            }
        }
        if self.rows.is_empty() && before > 0 {
            info!(
                rows = before,
                "the history database is back: every waiting history row is written"
            );
        }
    }
}

/// Writes every history event to the store until all senders are gone. A write the
/// database cannot take now (unavailable) waits in memory with every later one, retried
/// from 0.5 s doubling to 30 s; a write it refuses for good is logged as lost. A flush
/// answers once everything before it is written — or at once while the database is
/// unavailable, so that nobody waits for it.
pub async fn write(
    store: Store,
    clock: WallClock,
    mut events: mpsc::UnboundedReceiver<HistoryEvent>,
    media_quality: MediaQualities,
) {
    let mut backlog = Backlog::default();
    loop {
        let event = if backlog.rows.is_empty() {
            match events.recv().await {
                Some(event) => event,
                None => return,
            }
        } else {
            tokio::select! {
                received = events.recv() => match received {
                    Some(event) => event,
                    None => {
                        backlog.drain(&store).await;
                        let pending = backlog.rows.len() as u64;
                        if pending > 0 {
                            HISTORY_STATS.pending.fetch_sub(pending, Relaxed);
                            HISTORY_STATS.lost.fetch_add(pending, Relaxed);
                            error!(rows = pending, "the node is stopping while the history database is unavailable: these history rows are lost");
                        }
                        return;
                    }
                },
                () = tokio::time::sleep(backlog.retry) => {
                    backlog.drain(&store).await;
                    continue;
                }
            }
        };
        if let HistoryEvent::Flush(done) = event {
            let _ = done.send(());
            continue;
        }
        let Some(row) = row(event, clock, &media_quality) else {
            continue;
        };
        if !backlog.rows.is_empty() {
            backlog.push(row);
            continue;
        }
        match row.write(&store).await {
            Ok(()) => {}
            Err(error) if error.is_unavailable() => {
                warn!(%error, "the history database is unavailable: history rows wait in memory and are written when it is back; calls are not affected");
                backlog.push(row);
            }
            Err(error) => {
                HISTORY_STATS.lost.fetch_add(1, Relaxed);
                error!(%error, "could not record a {} in the history database; the row is lost, the node carries on", row.what());
            }
        }
    }
}

fn new_participant(
    conference: uuid::Uuid,
    p: &ParticipantState,
    clock: WallClock,
) -> NewParticipant {
    NewParticipant {
        id: p.id.0,
        conference_id: conference,
        display_name: p.display_name.clone(),
        // The role the gate granted, also for participants who start in a waiting room.
        role: match p.role {
            Role::Host => store::Role::Host,
            Role::Guest => store::Role::Guest,
        },
        call_type: match p.call_type {
            CallType::Video => store::CallType::Video,
            CallType::AudioOnly => store::CallType::Audio,
            CallType::ControlOnly => store::CallType::None,
        },
        protocol: p.protocol.to_string(),
        remote_address: None,
        joined_at: clock.to_system(p.joined_at),
    }
}

fn service_kind(kind: ServiceKind) -> store::ServiceKind {
    match kind {
        ServiceKind::Vmr => store::ServiceKind::Vmr,
        ServiceKind::Auditorium => store::ServiceKind::Auditorium,
        ServiceKind::Reception => store::ServiceKind::Reception,
        ServiceKind::TestCall => store::ServiceKind::TestCall,
        ServiceKind::PersonCall => store::ServiceKind::PersonCall,
    }
}
