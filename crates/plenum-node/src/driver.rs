//! Conference driver tasks: one tokio task owns each running `Conference`, feeds it
//! inputs and deadlines, and fans its events out (subscribers, history).

use std::sync::Arc;
use std::time::{Duration, Instant};

use plenum_core::{
    Actor, CallType, Command, Conference, ConferenceSnapshot, DisconnectReason, Event, JoinError,
    JoinOutcome, JoinRequest, KEYED_PIN_ATTEMPTS, KeyedPin, MediaReport, ParticipantId,
    ParticipantState, Protocol, Published, Refusal, ServiceConfig, ServiceKind, Waiting,
};
use plenum_media::engine::{ConferenceMedia, EngineConfig, MediaNotice, RoomView, ViewParticipant};
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::{Instrument, info, info_span, warn};
use uuid::Uuid;

/// How many events a slow subscriber may fall behind before it is dropped (it
/// re-syncs when it reconnects).
pub const EVENT_BUFFER: usize = 1024;
/// How many inputs may queue for one conference before senders wait.
const INPUT_BUFFER: usize = 256;

pub use plenum_core::WallClock;

/// The node's current instant, from tokio's clock so that tests can pause it.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// What a conference driver is asked to do.
#[derive(Debug)]
pub enum Input {
    /// Add a participant.
    Join {
        request: JoinRequest,
        reply: oneshot::Sender<Result<JoinOutcome, JoinError>>,
    },
    /// A dialled participant answered.
    Answer {
        id: ParticipantId,
        reply: oneshot::Sender<Result<JoinOutcome, JoinError>>,
    },
    /// Remove a participant.
    Leave {
        id: ParticipantId,
        reason: DisconnectReason,
    },
    /// A control command.
    Command {
        actor: Actor,
        command: Command,
        reply: oneshot::Sender<Result<(), Refusal>>,
    },
    /// A media engine report.
    Media {
        id: ParticipantId,
        report: MediaReport,
    },
    /// A copy of the whole state.
    Snapshot { reply: oneshot::Sender<Snapshot> },
    /// A copy of the whole state and a subscription starting right after it.
    Subscribe { reply: oneshot::Sender<Feed> },
    /// End the conference for everyone.
    End { reason: DisconnectReason },
    /// Reloaded settings for this service.
    ReplaceService(Arc<ServiceConfig>),
}

/// The whole state of a conference at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Conference instance id.
    pub id: Uuid,
    /// The alias the first participant dialled.
    pub alias: String,
    /// What clients show.
    pub state: ConferenceSnapshot,
}

/// A subscription to a conference's events, with the state they start from: no event
/// is missed between the snapshot and the first received event.
#[derive(Debug)]
pub struct Feed {
    /// The state when the subscription started.
    pub snapshot: Snapshot,
    /// Every event after it.
    pub events: broadcast::Receiver<Arc<Published>>,
}

/// What the driver reports for history, in order.
#[derive(Debug)]
pub enum HistoryEvent {
    /// A conference instance began.
    ConferenceStarted {
        id: Uuid,
        service: Arc<ServiceConfig>,
        alias: String,
        at: Instant,
    },
    /// A participant arrived.
    ParticipantJoined {
        conference: Uuid,
        participant: ParticipantState,
    },
    /// A participant left.
    ParticipantLeft {
        participant: ParticipantState,
        reason: DisconnectReason,
        at: Instant,
    },
    /// The conference ended.
    ConferenceEnded {
        id: Uuid,
        reason: DisconnectReason,
        at: Instant,
    },
    /// Answer once everything sent before has been written (used at shutdown).
    Flush(oneshot::Sender<()>),
}

/// A cheap handle to a running conference.
#[derive(Debug, Clone)]
pub struct ConferenceHandle {
    /// Conference instance id.
    pub id: Uuid,
    /// Name of the service it runs.
    pub service_name: String,
    /// Its media engine (calls, media thread).
    pub media: Arc<ConferenceMedia>,
    inputs: mpsc::Sender<Input>,
    events: broadcast::Sender<Arc<Published>>,
}

/// The conference is over (or its task is gone); start a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the conference has ended")]
pub struct Gone;

impl ConferenceHandle {
    /// Adds a participant.
    pub async fn join(&self, request: JoinRequest) -> Result<Result<JoinOutcome, JoinError>, Gone> {
        let (reply, rx) = oneshot::channel();
        self.send(Input::Join { request, reply }).await?;
        rx.await.map_err(|_| Gone)
    }

    /// A dialled participant answered: it joins (control only until its media call).
    pub async fn answer(&self, id: ParticipantId) -> Result<Result<JoinOutcome, JoinError>, Gone> {
        let (reply, rx) = oneshot::channel();
        self.send(Input::Answer { id, reply }).await?;
        rx.await.map_err(|_| Gone)
    }

    /// Removes a participant (no-op if already gone).
    pub async fn leave(&self, id: ParticipantId, reason: DisconnectReason) {
        let _ = self.send(Input::Leave { id, reason }).await;
    }

    /// Runs a control command.
    pub async fn command(
        &self,
        actor: Actor,
        command: Command,
    ) -> Result<Result<(), Refusal>, Gone> {
        let (reply, rx) = oneshot::channel();
        self.send(Input::Command {
            actor,
            command,
            reply,
        })
        .await?;
        rx.await.map_err(|_| Gone)
    }

    /// Passes on a media report.
    pub async fn media(&self, id: ParticipantId, report: MediaReport) {
        let _ = self.send(Input::Media { id, report }).await;
    }

    /// Copies the whole state.
    pub async fn snapshot(&self) -> Result<Snapshot, Gone> {
        let (reply, rx) = oneshot::channel();
        self.send(Input::Snapshot { reply }).await?;
        rx.await.map_err(|_| Gone)
    }

    /// Subscribes to the conference's events, starting from a snapshot.
    pub async fn feed(&self) -> Result<Feed, Gone> {
        let (reply, rx) = oneshot::channel();
        self.send(Input::Subscribe { reply }).await?;
        rx.await.map_err(|_| Gone)
    }

    /// Ends the conference for everyone.
    pub async fn end(&self, reason: DisconnectReason) {
        let _ = self.send(Input::End { reason }).await;
    }

    /// Applies reloaded settings to new joins.
    pub async fn replace_service(&self, service: Arc<ServiceConfig>) {
        let _ = self.send(Input::ReplaceService(service)).await;
    }

    /// Subscribes to the conference's events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.events.subscribe()
    }

    /// Whether the driver task is still running.
    pub fn is_running(&self) -> bool {
        !self.inputs.is_closed()
    }

    async fn send(&self, input: Input) -> Result<(), Gone> {
        self.inputs.send(input).await.map_err(|_| Gone)
    }
}

/// Starts the driver task of a new conference. `on_end` runs when it is over (the
/// registry forgets it there).
pub fn spawn(
    service: Arc<ServiceConfig>,
    alias: String,
    history: mpsc::UnboundedSender<HistoryEvent>,
    departures: mpsc::UnboundedSender<ParticipantId>,
    media: Arc<EngineConfig>,
    on_end: impl FnOnce(Uuid) + Send + 'static,
) -> ConferenceHandle {
    let id = Uuid::new_v4();
    let (inputs, rx) = mpsc::channel(INPUT_BUFFER);
    let (events, _) = broadcast::channel(EVENT_BUFFER);
    let (media, notices) =
        ConferenceMedia::new(media, format!("{alias} {}", &id.simple().to_string()[..8]));
    let handle = ConferenceHandle {
        id,
        service_name: service.name.clone(),
        media: media.clone(),
        inputs,
        events: events.clone(),
    };
    let span = info_span!("conference", alias = %alias, id = %id);
    let driver = Driver {
        id,
        alias,
        conference: Conference::new(now(), service),
        events,
        history,
        departures,
        media,
        view_changed: false,
    };
    tokio::spawn(
        async move {
            driver.run(rx, notices).await;
            on_end(id);
        }
        .instrument(span),
    );
    handle
}

/// The task that owns one conference.
struct Driver {
    id: Uuid,
    alias: String,
    conference: Conference,
    events: broadcast::Sender<Arc<Published>>,
    history: mpsc::UnboundedSender<HistoryEvent>,
    /// Told about every participant who leaves (their API session ends).
    departures: mpsc::UnboundedSender<ParticipantId>,
    /// The conference's media engine, told about every change of the meeting.
    media: Arc<ConferenceMedia>,
    /// Something the media engine shows changed since the last view was sent.
    view_changed: bool,
}

impl Driver {
    async fn run(
        mut self,
        mut inputs: mpsc::Receiver<Input>,
        mut notices: mpsc::UnboundedReceiver<MediaNotice>,
    ) {
        info!(service = %self.conference.service().name, "conference started");
        let _ = self.history.send(HistoryEvent::ConferenceStarted {
            id: self.id,
            service: self.conference.service().clone(),
            alias: self.alias.clone(),
            at: self.conference.created_at(),
        });
        loop {
            let deadline = self.conference.poll_timeout();
            let input = tokio::select! {
                input = inputs.recv() => input,
                Some(notice) = notices.recv() => {
                    self.on_media(notice);
                    self.publish();
                    if self.conference.ended().is_some() { break } else { continue }
                }
                () = sleep_until(deadline) => {
                    self.conference.handle_timeout(now());
                    self.publish();
                    if self.conference.ended().is_some() { break } else { continue }
                }
            };
            let Some(input) = input else {
                // Every handle is gone: the node is shutting down.
                self.conference
                    .handle_end(now(), DisconnectReason::NodeShuttingDown);
                self.publish();
                break;
            };
            self.handle(input);
            self.publish();
            if self.conference.ended().is_some() {
                break;
            }
        }
        self.media.stop().await;
        // Late inputs get a "gone" answer when their reply channels drop with `inputs`.
        inputs.close();
        while let Ok(input) = inputs.try_recv() {
            if let Input::Join { request, .. } = &input {
                warn!(participant = %request.id, "join raced with the conference ending; the caller retries");
            }
        }
    }

    fn handle(&mut self, input: Input) {
        let now = now();
        match input {
            Input::Answer { id, reply } => {
                let result =
                    self.conference
                        .handle_answer(now, id, CallType::ControlOnly, Protocol::Api);
                if let Err(error) = &result {
                    info!(participant = %id, %error, "answer refused");
                }
                let _ = reply.send(result);
            }
            Input::Join { request, reply } => {
                let id = request.id;
                let result = self.conference.handle_join(now, request);
                if let Err(error) = &result {
                    warn!(participant = %id, %error, "join refused");
                }
                let _ = reply.send(result);
            }
            Input::Leave { id, reason } => self.conference.handle_leave(now, id, reason),
            Input::Command {
                actor,
                command,
                reply,
            } => {
                let _ = reply.send(self.conference.handle_command(now, actor, command));
            }
            Input::Media { id, report } => self.conference.handle_media(now, id, report),
            Input::Snapshot { reply } => {
                let _ = reply.send(self.snapshot());
            }
            Input::Subscribe { reply } => {
                let _ = reply.send(Feed {
                    snapshot: self.snapshot(),
                    events: self.events.subscribe(),
                });
            }
            Input::End { reason } => self.conference.handle_end(now, reason),
            Input::ReplaceService(service) => self.conference.replace_service(service),
        }
    }

    /// A media engine notice becomes a media report for the core.
    fn on_media(&mut self, notice: MediaNotice) {
        let now = now();
        let (id, reports): (ParticipantId, &[MediaReport]) = match notice {
            MediaNotice::CallConnected { participant, .. } => {
                (participant, &[MediaReport::Media(true)])
            }
            MediaNotice::CallInterrupted { participant, .. } => {
                (participant, &[MediaReport::Media(false)])
            }
            MediaNotice::CallEnded { participant, .. } => {
                if self.media.has_calls(participant) {
                    return;
                }
                (
                    participant,
                    &[
                        MediaReport::Media(false),
                        MediaReport::Speaking(false),
                        MediaReport::CallType(CallType::ControlOnly),
                    ],
                )
            }
            MediaNotice::Speaking {
                participant,
                speaking,
            } => (participant, &[MediaReport::Speaking(speaking)][..]),
            MediaNotice::VideoFlowing {
                participant,
                flowing,
            } => (participant, &[MediaReport::VideoFlowing(flowing)][..]),
            MediaNotice::PresentationStill { seq } => {
                self.conference.handle_presentation_frame(seq);
                return;
            }
        };
        for report in reports {
            self.conference.handle_media(now, id, *report);
        }
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            id: self.id,
            alias: self.alias.clone(),
            state: self.conference.snapshot(),
        }
    }

    /// Drains the core's events to subscribers and history, and tells the media engine
    /// when what it shows changed.
    fn publish(&mut self) {
        let now = now();
        while let Some(event) = self.conference.poll_event() {
            self.view_changed |= !matches!(
                event,
                Event::MessageSent { .. }
                    | Event::DtmfSent { .. }
                    | Event::HostPinKeyed { .. }
                    | Event::ConferenceUpdated(_)
                    | Event::PresentationFrame { .. }
            );
            match &event {
                Event::ParticipantJoined(p) => {
                    info!(participant = %p.id, role = %p.role, call_type = %p.call_type, waiting = ?p.waiting, "participant joined");
                    let _ = self.history.send(HistoryEvent::ParticipantJoined {
                        conference: self.id,
                        participant: p.clone(),
                    });
                }
                Event::ParticipantLeft {
                    participant,
                    reason,
                } => {
                    let _ = self.departures.send(participant.id);
                    let media = self.media.clone();
                    let id = participant.id;
                    tokio::spawn(async move { media.close_participant(id).await });
                    info!(participant = %participant.id, %reason, "participant left");
                    let _ = self.history.send(HistoryEvent::ParticipantLeft {
                        participant: participant.clone(),
                        reason: *reason,
                        at: now,
                    });
                }
                Event::DtmfSent { target, digits, .. } => {
                    // Digits may carry an IVR or bridge PIN: only their count is logged.
                    // Every leg is a WebRTC client that takes no tones (no gateway calls).
                    info!(participant = %target, digits = digits.len(), "DTMF for participant");
                }
                // Neither the tones nor the PIN are logged, only who and how often.
                Event::HostPinKeyed { id, verdict } => match *verdict {
                    KeyedPin::Correct => {
                        info!(participant = %id, "participant {id} became Host by entering the Host PIN");
                    }
                    KeyedPin::Wrong {
                        attempts,
                        locked_out: false,
                    } => {
                        warn!(participant = %id, attempts, "participant {id} keyed a wrong Host PIN (attempt {attempts} of {KEYED_PIN_ATTEMPTS})");
                    }
                    KeyedPin::Wrong {
                        attempts,
                        locked_out: true,
                    } => {
                        warn!(participant = %id, attempts, "participant {id} keyed a wrong Host PIN {attempts} times: its further entries are ignored for the rest of its session");
                    }
                },
                Event::ConferenceEnded { reason } => {
                    info!(%reason, "conference ended");
                    let _ = self.history.send(HistoryEvent::ConferenceEnded {
                        id: self.id,
                        reason: *reason,
                        at: now,
                    });
                }
                _ => {}
            }
            // No subscribers is fine: nobody is listening yet.
            let _ = self.events.send(Arc::new(Published::new(event)));
        }
        if std::mem::take(&mut self.view_changed) && self.conference.ended().is_none() {
            self.media.set_view(room_view(&self.conference.snapshot()));
        }
    }
}

/// What the media engine needs to know about the meeting.
pub fn room_view(s: &ConferenceSnapshot) -> RoomView {
    RoomView {
        host_layout: s.layout.host_layout,
        guest_layout: s.layout.guest_layout,
        stage: s.stage.iter().map(|e| e.id).collect(),
        participants: s
            .participants
            .iter()
            .map(|p| ViewParticipant {
                id: p.id,
                name: p.display_name.clone(),
                label: if p.overlay_text.trim().is_empty() {
                    p.display_name.clone()
                } else {
                    p.overlay_text.clone()
                },
                host: p.is_host(),
                admitted: p.is_admitted(),
                waiting_for_host: p.waiting == Some(Waiting::ForHost),
                audio_muted: p.is_muted || p.is_client_muted,
                video_muted: p.is_video_muted,
                receives_presentation: p.receives_presentation,
            })
            .collect(),
        presenter: s.presenter,
        overlay_names: s.layout.overlay_text_enabled,
        loopback: s.service.kind == ServiceKind::TestCall,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// How long to wait for conference drivers to finish at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
