//! The history writer: one task that turns conference events into database rows, in order
//! (with a leaving participant's last media quality report).

use plenum_core::{CallType, ParticipantState, Role, ServiceKind};
use plenum_store::{self as store, NewConference, NewParticipant, Store};
use tokio::sync::mpsc;
use tracing::error;

use crate::driver::{HistoryEvent, WallClock};
use crate::node::MediaQualities;

/// Writes every history event to the store until all senders are gone. A failed write
/// is logged with what was lost and the writer carries on with the next event.
pub async fn write(
    store: Store,
    clock: WallClock,
    mut events: mpsc::UnboundedReceiver<HistoryEvent>,
    media_quality: MediaQualities,
) {
    while let Some(event) = events.recv().await {
        let (what, result) = match event {
            HistoryEvent::ConferenceStarted {
                id,
                service,
                alias,
                at,
            } => (
                "conference start",
                store
                    .conference_started(&NewConference {
                        id,
                        service_name: service.name.clone(),
                        service_kind: service_kind(service.kind),
                        alias,
                        started_at: clock.to_system(at),
                    })
                    .await,
            ),
            HistoryEvent::ParticipantJoined {
                conference,
                participant,
            } => (
                "participant join",
                store
                    .participant_joined(&new_participant(conference, &participant, clock))
                    .await,
            ),
            HistoryEvent::ParticipantLeft {
                participant,
                reason,
                at,
            } => {
                let quality = media_quality
                    .lock()
                    .expect("media quality lock is never poisoned")
                    .remove(&participant.id);
                if let Some(quality) = quality
                    && let Err(error) = store
                        .participant_media_quality(participant.id.0, &quality)
                        .await
                {
                    error!(%error, "could not record a participant's media quality in the history database; it is lost, the node carries on");
                }
                (
                    "participant leave",
                    store
                        .participant_left(
                            participant.id.0,
                            clock.to_system(at),
                            Some(reason.text()),
                            reason.pex_code(),
                        )
                        .await
                        .map(drop),
                )
            }
            HistoryEvent::ConferenceEnded { id, reason, at } => (
                "conference end",
                store
                    .conference_ended(id, clock.to_system(at), Some(reason.text()))
                    .await
                    .map(drop),
            ),
            HistoryEvent::Flush(done) => {
                let _ = done.send(());
                continue;
            }
        };
        if let Err(error) = result {
            error!(%error, "could not record a {what} in the history database; the row is lost, the node carries on");
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
