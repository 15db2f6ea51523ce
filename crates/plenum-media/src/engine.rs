//! The media engine of one conference: its WebRTC calls (answered, renegotiated, closed
//! on tokio) and its media thread, which owns the [`room::MediaRoom`] and runs it every
//! 20 ms — decode, mix, composite, encode — outside any async runtime.
//!
//! ```text
//!  browser ─RTP─► Peer (webrtc-rs tasks) ─IncomingMedia (bounded mpsc)─┐
//!                                                                     ▼
//!  ConferenceMedia ──Control (std mpsc)──► media thread: MediaRoom::tick every 20 ms
//!        ▲                                                             │
//!        └── MediaNotice (speaking, call up/down) ◄───────────────────┤
//!  browser ◄─RTP─ Peer::send_* ◄─ pump task ◄─ Outbound (bounded mpsc, try_send)
//! ```
//!
//! One media thread per conference, paced by its own monotonic clock; nothing is
//! shared between conferences. A full outbound queue drops media for that receiver
//! only; a slow or broken peer never stalls the room.

pub mod jitter;
pub mod room;
pub mod sdp;
pub mod view;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plenum_core::ParticipantId;
use tokio::sync::mpsc;

use crate::peer::{MediaKind, Peer, PeerConfig, PeerError, PeerEvent, PeerState};
use crate::stats::MEDIA_STATS;
pub use room::{
    CallId, MediaRoom, MemberSetup, Outbound, RoomConfig, RoomNotice, Still, StillUpdate, Streams,
    TICK_MS,
};
pub use view::{RoomView, Tier, ViewParticipant};

/// How long `open_call`/`update_call` may take before the client is told to retry (the
/// SDK gives up on a request after 5 s).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(4);
/// Encoded media queued toward one browser before the room drops (≈ 1 s of audio).
const OUTBOUND_QUEUE: usize = 64;
/// Falling further behind than this makes the media thread skip ticks instead of
/// catching up in a burst.
const MAX_LAG: Duration = Duration::from_millis(200);

/// Node-wide media settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How peers bind and advertise their UDP ports.
    pub peer: PeerConfig,
    /// Per-room tuning (frame rates, font).
    pub room: RoomConfig,
}

/// What the media engine tells the conference owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaNotice {
    /// A call's media connection is up (`has_media`).
    CallConnected {
        participant: ParticipantId,
        call: CallId,
        streams: Streams,
    },
    /// A call's media connection dropped; the browser may restart ICE.
    CallInterrupted {
        participant: ParticipantId,
        call: CallId,
    },
    /// A call ended (closed by the browser, by the client API, or failed for good).
    CallEnded {
        participant: ParticipantId,
        call: CallId,
    },
    /// Voice activity from real audio.
    Speaking {
        participant: ParticipantId,
        speaking: bool,
    },
    /// Video from the participant started or stopped arriving.
    VideoFlowing {
        participant: ParticipantId,
        flowing: bool,
    },
    /// A new presentation still is available ([`ConferenceMedia::presentation_still`]).
    PresentationStill { seq: u64 },
}

/// The latest presentation still, shared between the media thread and the API.
type StillSlot = Arc<Mutex<Option<Still>>>;

/// Why a call operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The offer (or candidate) can't be used.
    #[error("{0}")]
    BadOffer(String),
    /// No such call for this participant.
    #[error("call not found")]
    UnknownCall,
    /// The engine could not do it (ports exhausted, WebRTC failure); details logged.
    #[error("{0}")]
    Failed(String),
    /// Took longer than the client waits.
    #[error("timed out")]
    Timeout,
}

/// What the async side asks the media thread.
#[derive(Debug)]
enum Control {
    Add(Box<MemberSetup>),
    Remove(CallId),
    Connected(CallId, bool),
    Streams(CallId, Streams),
    KeyframeRequested(CallId, MediaKind),
    Estimate(CallId, u64),
    Loss(CallId, u8),
    View(Arc<RoomView>),
    Stop,
}

/// One open call.
struct Call {
    participant: ParticipantId,
    /// What the last answer negotiated.
    streams: Streams,
    peer: Arc<Peer>,
    pump: tokio::task::JoinHandle<()>,
}

/// The media thread, started with the first call.
struct Thread {
    control: std::sync::mpsc::Sender<Control>,
    handle: std::thread::JoinHandle<()>,
}

/// One conference's media: its calls and its media thread.
pub struct ConferenceMedia {
    config: Arc<EngineConfig>,
    label: String,
    notices: mpsc::UnboundedSender<MediaNotice>,
    calls: Mutex<HashMap<CallId, Call>>,
    thread: Mutex<Option<Thread>>,
    /// The latest view, for a thread started later.
    view: Mutex<Arc<RoomView>>,
    /// The latest presentation still.
    still: StillSlot,
}

impl std::fmt::Debug for ConferenceMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConferenceMedia")
            .field("label", &self.label)
            .field("calls", &self.lock_calls().len())
            .finish_non_exhaustive()
    }
}

impl ConferenceMedia {
    /// A conference's media engine (no thread until the first call) and the receiving
    /// end of its notices.
    pub fn new(
        config: Arc<EngineConfig>,
        label: impl Into<String>,
    ) -> (Arc<ConferenceMedia>, mpsc::UnboundedReceiver<MediaNotice>) {
        let (notices, rx) = mpsc::unbounded_channel();
        let media = ConferenceMedia {
            config,
            label: label.into(),
            notices,
            calls: Mutex::new(HashMap::new()),
            thread: Mutex::new(None),
            view: Mutex::new(Arc::new(RoomView::default())),
            still: Arc::new(Mutex::new(None)),
        };
        (Arc::new(media), rx)
    }

    fn lock_calls(&self) -> std::sync::MutexGuard<'_, HashMap<CallId, Call>> {
        self.calls
            .lock()
            .expect("calls lock is never held across a panic")
    }

    /// Sends to the media thread, starting it if needed.
    fn control(&self, control: Control) {
        let mut thread = self
            .thread
            .lock()
            .expect("thread lock is never held across a panic");
        if thread.is_none() {
            if matches!(control, Control::Stop) {
                return;
            }
            let (tx, rx) = std::sync::mpsc::channel();
            let mut room = MediaRoom::new(self.config.room.clone());
            room.set_view(self.view.lock().expect("view lock").clone());
            let notices = self.notices.clone();
            let still = self.still.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("media {}", self.label))
                .spawn(move || run_media_thread(room, rx, notices, still));
            match spawned {
                Ok(handle) => {
                    *thread = Some(Thread {
                        control: tx,
                        handle,
                    });
                }
                Err(error) => {
                    tracing::error!(%error, "cannot start a media thread");
                    return;
                }
            }
        }
        if let Some(t) = thread.as_ref() {
            let _ = t.control.send(control);
        }
    }

    /// The meeting changed (layout, stage, mutes, waiting room, presenter).
    pub fn set_view(&self, view: RoomView) {
        let view = Arc::new(view);
        *self.view.lock().expect("view lock") = view.clone();
        let running = self
            .thread
            .lock()
            .expect("thread lock is never held across a panic")
            .is_some();
        if running {
            self.control(Control::View(view));
        }
    }

    /// Answers a browser's offer and starts the call. An earlier call of the same
    /// participant is closed first (the SDK's `restartCall`).
    pub async fn open_call(
        self: &Arc<Self>,
        participant: ParticipantId,
        offer: &str,
    ) -> Result<(CallId, String), CallError> {
        if !offer.trim_start().starts_with("v=0") {
            return Err(CallError::BadOffer(
                "the sdp is not an SDP offer (it must start with v=0)".into(),
            ));
        }
        let answered = tokio::time::timeout(
            ANSWER_TIMEOUT,
            Peer::answer(offer, self.config.peer.clone()),
        )
        .await
        .map_err(|_| CallError::Timeout)?
        .map_err(peer_error)?;
        let streams = sdp::negotiated_streams(&answered.sdp);
        if !streams.audio && !streams.video {
            let _ = answered.peer.close().await;
            return Err(CallError::BadOffer(
                "the offer has neither Opus audio nor VP8 or H.264 video".into(),
            ));
        }
        for old in self.calls_of(participant) {
            self.close_call(participant, old).await.ok();
        }
        let call = CallId::new_v4();
        let peer = Arc::new(answered.peer);
        let (outbound_tx, outbound_rx) = mpsc::channel(OUTBOUND_QUEUE);
        let pump = tokio::spawn(pump(
            Arc::downgrade(self),
            participant,
            call,
            peer.clone(),
            outbound_rx,
            answered.events.control,
        ));
        self.lock_calls().insert(
            call,
            Call {
                participant,
                streams,
                peer,
                pump,
            },
        );
        self.control(Control::Add(Box::new(MemberSetup {
            participant,
            call,
            inbound: answered.events.media,
            outbound: outbound_tx,
            streams,
            bandwidth_kbps: view::offered_bandwidth_kbps(offer),
        })));
        tracing::debug!(%participant, %call, ?streams, "call answered");
        Ok((call, answered.sdp))
    }

    fn peer_of(&self, participant: ParticipantId, call: CallId) -> Result<Arc<Peer>, CallError> {
        self.lock_calls()
            .get(&call)
            .filter(|c| c.participant == participant)
            .map(|c| c.peer.clone())
            .ok_or(CallError::UnknownCall)
    }

    fn calls_of(&self, participant: ParticipantId) -> Vec<CallId> {
        self.lock_calls()
            .iter()
            .filter(|(_, c)| c.participant == participant)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Whether the participant has any open call.
    pub fn has_calls(&self, participant: ParticipantId) -> bool {
        self.lock_calls()
            .values()
            .any(|c| c.participant == participant)
    }

    /// Whether the participant has this call.
    pub fn has_call(&self, participant: ParticipantId, call: CallId) -> bool {
        self.peer_of(participant, call).is_ok()
    }

    /// A renegotiation: applies the new offer and returns the answer.
    pub async fn update_call(
        &self,
        participant: ParticipantId,
        call: CallId,
        offer: &str,
    ) -> Result<String, CallError> {
        let peer = self.peer_of(participant, call)?;
        if !offer.trim_start().starts_with("v=0") {
            return Err(CallError::BadOffer(
                "the sdp is not an SDP offer (it must start with v=0)".into(),
            ));
        }
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, peer.update(offer))
            .await
            .map_err(|_| CallError::Timeout)?
            .map_err(peer_error)?;
        let streams = sdp::negotiated_streams(&answer);
        if let Some(c) = self.lock_calls().get_mut(&call) {
            c.streams = streams;
        }
        self.control(Control::Streams(call, streams));
        tracing::debug!(%participant, %call, ?streams, "call renegotiated");
        Ok(answer)
    }

    /// A trickled remote candidate; `""` ends the candidates.
    pub async fn add_candidate(
        &self,
        participant: ParticipantId,
        call: CallId,
        candidate: &str,
        mid: Option<&str>,
    ) -> Result<(), CallError> {
        let peer = self.peer_of(participant, call)?;
        if candidate.trim().is_empty() {
            return Ok(());
        }
        peer.add_remote_candidate(candidate, mid)
            .await
            .map_err(|e| CallError::BadOffer(format!("unusable candidate: {e}")))
    }

    /// Ends one call (the participant stays in the conference).
    pub async fn close_call(
        &self,
        participant: ParticipantId,
        call: CallId,
    ) -> Result<(), CallError> {
        let removed = {
            let mut calls = self.lock_calls();
            match calls.get(&call) {
                Some(c) if c.participant == participant => calls.remove(&call),
                _ => None,
            }
        };
        let Some(c) = removed else {
            return Err(CallError::UnknownCall);
        };
        self.control(Control::Remove(call));
        c.pump.abort();
        if let Err(error) = c.peer.close().await {
            tracing::debug!(%error, %call, "closing peer");
        }
        let _ = self
            .notices
            .send(MediaNotice::CallEnded { participant, call });
        Ok(())
    }

    /// Ends every call of a participant (it left the conference).
    pub async fn close_participant(&self, participant: ParticipantId) {
        for call in self.calls_of(participant) {
            self.close_call(participant, call).await.ok();
        }
    }

    /// Ends every call and stops the media thread.
    pub async fn stop(&self) {
        let calls: Vec<(CallId, ParticipantId)> = self
            .lock_calls()
            .iter()
            .map(|(id, c)| (*id, c.participant))
            .collect();
        for (call, participant) in calls {
            self.close_call(participant, call).await.ok();
        }
        let thread = self
            .thread
            .lock()
            .expect("thread lock is never held across a panic")
            .take();
        if let Some(t) = thread {
            let _ = t.control.send(Control::Stop);
            let _ = tokio::task::spawn_blocking(move || t.handle.join()).await;
        }
    }

    /// The latest presentation still as JPEG (`high`: 1280×720, else 640×360), if a
    /// presentation is being received.
    pub fn presentation_still(&self, high: bool) -> Option<bytes::Bytes> {
        let still = self
            .still
            .lock()
            .expect("still lock is never held across a panic");
        still
            .as_ref()
            .map(|s| if high { s.high.clone() } else { s.low.clone() })
    }

    /// Number of open calls.
    pub fn call_count(&self) -> usize {
        self.lock_calls().len()
    }
}

impl Drop for ConferenceMedia {
    fn drop(&mut self) {
        if let Ok(mut calls) = self.calls.lock() {
            for (_, c) in calls.drain() {
                c.pump.abort();
            }
        }
        if let Ok(mut thread) = self.thread.lock()
            && let Some(t) = thread.take()
        {
            let _ = t.control.send(Control::Stop);
        }
    }
}

fn peer_error(error: PeerError) -> CallError {
    match error {
        PeerError::NoPort { .. } => {
            tracing::error!(%error, "no media port available");
            CallError::Failed("no media port available".into())
        }
        other => {
            let message = std::error::Error::source(&other)
                .map_or_else(|| other.to_string(), |s| format!("{other}: {s}"));
            CallError::BadOffer(message)
        }
    }
}

/// Moves one call's media between the room and its peer, and its peer events to the
/// room and the conference.
async fn pump(
    media: std::sync::Weak<ConferenceMedia>,
    participant: ParticipantId,
    call: CallId,
    peer: Arc<Peer>,
    mut outbound: mpsc::Receiver<Outbound>,
    mut events: mpsc::UnboundedReceiver<PeerEvent>,
) {
    const AUDIO_FRAME: Duration = Duration::from_millis(TICK_MS);
    let mut events_open = true;
    loop {
        tokio::select! {
            out = outbound.recv() => {
                let Some(out) = out else { return };
                let result = match out {
                    Outbound::Audio(packet) => peer.send_audio(packet, AUDIO_FRAME).await,
                    Outbound::Video(frame) => peer.send_video(frame, AUDIO_FRAME * 2).await,
                    Outbound::Slides(frame) => peer.send_slides(frame, AUDIO_FRAME * 2).await,
                    Outbound::RequestKeyframe(kind) => peer.request_keyframe(kind).await,
                };
                if let Err(error) = result {
                    tracing::trace!(%error, %call, "send failed");
                }
            }
            event = events.recv(), if events_open => {
                let Some(event) = event else { events_open = false; continue };
                let Some(media) = media.upgrade() else { return };
                match event {
                    PeerEvent::StateChanged(PeerState::Connected) => {
                        media.control(Control::Connected(call, true));
                        let streams = media.lock_calls().get(&call).map(|c| c.streams).unwrap_or_default();
                        let _ = media.notices.send(MediaNotice::CallConnected { participant, call, streams });
                    }
                    PeerEvent::StateChanged(PeerState::Disconnected | PeerState::Failed) => {
                        media.control(Control::Connected(call, false));
                        let _ = media.notices.send(MediaNotice::CallInterrupted { participant, call });
                    }
                    PeerEvent::StateChanged(PeerState::Closed) => {
                        media.control(Control::Connected(call, false));
                    }
                    PeerEvent::KeyframeRequested { kind } => {
                        media.control(Control::KeyframeRequested(call, kind));
                    }
                    PeerEvent::ReceiverEstimate { kind: MediaKind::Video, bitrate_bps } => {
                        media.control(Control::Estimate(call, bitrate_bps));
                    }
                    PeerEvent::ReceiverLoss { kind: MediaKind::Video, fraction_lost } => {
                        media.control(Control::Loss(call, fraction_lost));
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The media thread: applies control messages as they come and ticks the room every
/// 20 ms on its own monotonic clock.
fn run_media_thread(
    mut room: MediaRoom,
    control: std::sync::mpsc::Receiver<Control>,
    notices: mpsc::UnboundedSender<MediaNotice>,
    still: StillSlot,
) {
    use std::sync::mpsc::RecvTimeoutError;
    let mut start = Instant::now();
    // `start` is when tick `base` was due.
    let mut base: u64 = 0;
    let mut tick: u64 = 0;
    let mut out = Vec::with_capacity(16);
    let mut skipped: u64 = 0;
    let due = |start: Instant, base: u64, tick: u64| {
        start + Duration::from_millis((tick - base) * TICK_MS)
    };
    loop {
        let deadline = due(start, base, tick);
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let message = if wait.is_zero() {
                match control.try_recv() {
                    Ok(m) => Ok(m),
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
                }
            } else {
                control.recv_timeout(wait)
            };
            match message {
                Ok(Control::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(message) => apply(&mut room, message),
                Err(RecvTimeoutError::Timeout) => break,
            }
        }
        let tick_started = Instant::now();
        room.tick(tick, &mut out);
        for notice in out.drain(..) {
            let notice = match notice {
                RoomNotice::Speaking {
                    participant,
                    speaking,
                } => MediaNotice::Speaking {
                    participant,
                    speaking,
                },
                RoomNotice::VideoFlowing {
                    participant,
                    flowing,
                } => MediaNotice::VideoFlowing {
                    participant,
                    flowing,
                },
            };
            let _ = notices.send(notice);
        }
        if let Some(update) = room.take_still() {
            let mut slot = still
                .lock()
                .expect("still lock is never held across a panic");
            match update {
                StillUpdate::New(new) => {
                    let seq = new.seq;
                    *slot = Some(new);
                    let _ = notices.send(MediaNotice::PresentationStill { seq });
                }
                StillUpdate::Cleared => *slot = None,
            }
        }
        tick += 1;
        let now = Instant::now();
        MEDIA_STATS.tick(
            now.saturating_duration_since(tick_started),
            Duration::from_millis(TICK_MS),
        );
        let behind = now.saturating_duration_since(due(start, base, tick));
        if behind > MAX_LAG {
            // Overloaded: restart the clock rather than burst to catch up.
            MEDIA_STATS.clock_restarted();
            skipped += 1;
            if skipped.is_power_of_two() {
                tracing::warn!(
                    behind_ms = u64::try_from(behind.as_millis()).unwrap_or(u64::MAX),
                    times = skipped,
                    "media thread overloaded, skipping ticks"
                );
            }
            start = now;
            base = tick;
        }
    }
}

fn apply(room: &mut MediaRoom, control: Control) {
    match control {
        Control::Add(setup) => room.add(*setup),
        Control::Remove(call) => room.remove(call),
        Control::Connected(call, up) => room.set_connected(call, up),
        Control::Streams(call, streams) => room.set_streams(call, streams),
        Control::KeyframeRequested(call, kind) => room.keyframe_requested(call, kind),
        Control::Estimate(call, bps) => room.receiver_estimate(call, bps),
        Control::Loss(call, fraction) => room.receiver_loss(call, fraction),
        Control::View(view) => room.set_view(view),
        Control::Stop => {}
    }
}
