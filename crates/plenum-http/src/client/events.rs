//! The server-sent event stream (`GET …/events`, §3): the sync burst on every open, then
//! the conference's events mapped per viewer by the pure [`sse_events`] (who sees what:
//! private chat, presenter exclusion, disconnect to self, refer to its target, and a
//! themed room's "waiting for the host" splash screen to the one who waits).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{self, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use plenum_core::{
    ConferenceSnapshot, Event, LayoutState, MessageKind, ParticipantId, ParticipantState,
    Published, Role, ServiceConfig, Waiting, WallClock,
};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tracing::debug;

use super::dto::{ConferenceStatusDto, LayoutDto, ParticipantDto, stage};
use super::error::ClientError;
use super::session::Session;
use super::theme::{self, Theme};
use crate::AppState;

/// `display_duration` of a splash screen shown until it is cleared with `null`. The spec
/// (§3.2) and the SDK give no meaning to any value: the SDK passes `display_duration ×
/// 1000` to the app as `displayDuration`, and our web app reads 0 as "no timer".
const UNTIL_CLEARED: u32 = 0;

/// Interval of `: ping` comments that keep proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One event as sent: `event: <name>` and JSON `data` (`{}` when there is nothing to
/// say: the SDK ignores empty data).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SseEvent {
    pub(crate) name: &'static str,
    pub(crate) data: Value,
    /// The SSE `id:` field (only `presentation_frame` sets one).
    pub(crate) id: Option<String>,
}

impl SseEvent {
    fn new(name: &'static str, data: impl Serialize) -> SseEvent {
        // Every DTO here is a struct of strings, numbers and bools: serialising to a
        // `Value` cannot fail.
        let data = serde_json::to_value(data).expect("event data is plain JSON");
        SseEvent {
            name,
            data,
            id: None,
        }
    }

    fn empty(name: &'static str) -> SseEvent {
        SseEvent {
            name,
            data: json!({}),
            id: None,
        }
    }

    fn into_sse(self) -> sse::Event {
        // Compact JSON has no line breaks (strings escape them), so it is one data line.
        let event = sse::Event::default()
            .event(self.name)
            .data(self.data.to_string());
        match self.id {
            Some(id) => event.id(id),
            None => event,
        }
    }
}

/// Who a stream is for, and what the mapping needs to know about them.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    /// The participant reading the stream.
    pub(crate) id: ParticipantId,
    /// Its role now (tracked from its own updates: the auditorium view depends on it).
    pub(crate) role: Role,
    /// The service (kind for views and service types, alias for `local_alias`).
    pub(crate) service: Arc<ServiceConfig>,
    /// The layout last published, to re-send the view when the role changes.
    pub(crate) layout: LayoutState,
    /// The room's theme has the "waiting for the host" screen, so the viewer is sent
    /// `splash_screen` while it waits for a Host.
    pub(crate) waiting_screen: bool,
    /// The viewer waits for a Host now (tracked from its own updates).
    pub(crate) waiting_for_host: bool,
}

impl Viewer {
    /// The viewer `id` of the conference in `snapshot`, if it is there, in a room with
    /// `theme`.
    pub(crate) fn from_snapshot(
        id: ParticipantId,
        snapshot: &ConferenceSnapshot,
        theme: Option<&Theme>,
    ) -> Option<Viewer> {
        let me = snapshot.participants.iter().find(|p| p.id == id)?;
        Some(Viewer {
            id,
            role: me.role,
            service: snapshot.service.clone(),
            layout: snapshot.layout.clone(),
            waiting_screen: theme.is_some_and(|t| t.has_screen(theme::WAITING_FOR_HOST)),
            waiting_for_host: waits_for_host(me),
        })
    }

    /// Tracks what the viewer's later events depend on; hands `emit` what its own
    /// changes add, in this order: the `layout` event when a role change changes what
    /// this viewer sees, then `splash_screen` when it starts or stops waiting for a
    /// Host. (A callback, not a returned list: this runs for every stream on every
    /// event, and nearly always adds nothing.)
    pub(crate) fn observe(&mut self, event: &Event, mut emit: impl FnMut(SseEvent)) {
        match event {
            Event::ParticipantUpdated(p) if p.id == self.id => {
                if p.role != self.role {
                    let before = self.view();
                    self.role = p.role;
                    if self.view() != before {
                        emit(self.layout_event(&self.layout));
                    }
                }
                let waiting = waits_for_host(p);
                if waiting != self.waiting_for_host {
                    self.waiting_for_host = waiting;
                    if let Some(splash) = self.splash_screen() {
                        emit(splash);
                    }
                }
            }
            Event::LayoutChanged(layout) => self.layout = layout.clone(),
            _ => {}
        }
    }

    /// The `splash_screen` that puts this viewer's screen in its current state: the
    /// theme's "waiting for the host" screen while it waits for a Host, else `null`
    /// (clear). `None` in a room whose theme has no such screen.
    fn splash_screen(&self) -> Option<SseEvent> {
        if !self.waiting_screen {
            return None;
        }
        Some(if self.waiting_for_host {
            SseEvent::new(
                "splash_screen",
                json!({
                    "screen_key": theme::WAITING_FOR_HOST,
                    "display_duration": UNTIL_CLEARED,
                }),
            )
        } else {
            SseEvent::new("splash_screen", Value::Null)
        })
    }

    fn view(&self) -> plenum_core::Layout {
        super::dto::viewed_layout(self.service.kind, self.role, &self.layout)
    }

    fn participant(&self, p: &plenum_core::ParticipantState, clock: &WallClock) -> ParticipantDto {
        ParticipantDto::new(p, &self.service, clock)
    }

    fn layout_event(&self, layout: &LayoutState) -> SseEvent {
        SseEvent::new(
            "layout",
            LayoutDto::new(self.service.kind, self.role, layout),
        )
    }
}

/// Whether `p` waits for a Host (not for admission through the lock: that waiting room
/// has no theme screen).
fn waits_for_host(p: &ParticipantState) -> bool {
    p.waiting == Some(Waiting::ForHost)
}

/// The burst sent on every open: the roster between `participant_sync_begin` and
/// `participant_sync_end` (self included), then `conference_update`, `layout`,
/// `presentation_start` when someone other than the viewer presents, `stage`, and the
/// "waiting for the host" `splash_screen` when the viewer waits for a Host in a themed
/// room (so a reconnecting client shows it again).
pub(crate) fn sync_events(
    viewer: &Viewer,
    snapshot: &ConferenceSnapshot,
    clock: &WallClock,
) -> Vec<SseEvent> {
    let mut out = Vec::with_capacity(snapshot.participants.len() + 6);
    out.push(SseEvent::empty("participant_sync_begin"));
    for p in &snapshot.participants {
        out.push(SseEvent::new(
            "participant_create",
            viewer.participant(p, clock),
        ));
    }
    out.push(SseEvent::empty("participant_sync_end"));
    out.push(SseEvent::new(
        "conference_update",
        ConferenceStatusDto::from(&snapshot.status),
    ));
    out.push(viewer.layout_event(&snapshot.layout));
    // A presenter told about its own presentation would release the floor (§9).
    if let Some(presenter) = snapshot.presenter.filter(|p| *p != viewer.id) {
        let name = snapshot
            .participants
            .iter()
            .find(|p| p.id == presenter)
            .map(|p| p.display_name.as_str())
            .unwrap_or_default();
        out.push(presentation_start(presenter, name));
    }
    out.push(SseEvent::new("stage", stage(&snapshot.stage)));
    if viewer.waiting_for_host {
        out.extend(viewer.splash_screen());
    }
    out
}

/// What `viewer` is sent for `event`.
pub(crate) fn sse_events(viewer: &Viewer, event: &Event, clock: &WallClock) -> Vec<SseEvent> {
    let one = |e| vec![e];
    match event {
        Event::ParticipantJoined(p) => one(SseEvent::new(
            "participant_create",
            viewer.participant(p, clock),
        )),
        Event::ParticipantUpdated(p) => one(SseEvent::new(
            "participant_update",
            viewer.participant(p, clock),
        )),
        Event::ParticipantLeft {
            participant,
            reason,
        } if participant.id == viewer.id => one(SseEvent::new(
            "disconnect",
            json!({ "reason": reason.text() }),
        )),
        Event::ParticipantLeft { participant, .. } => one(SseEvent::new(
            "participant_delete",
            json!({ "uuid": participant.id.to_string() }),
        )),
        Event::ConferenceUpdated(status) => one(SseEvent::new(
            "conference_update",
            ConferenceStatusDto::from(status),
        )),
        Event::MessageSent {
            from,
            from_name,
            to,
            kind,
            payload,
        } => {
            let addressed = match to {
                None => *from != viewer.id,
                Some(to) => *to == viewer.id,
            };
            if !addressed {
                return Vec::new();
            }
            one(SseEvent::new(
                "message_received",
                json!({
                    "origin": from_name,
                    "uuid": from.to_string(),
                    "type": match kind {
                        MessageKind::Text => "text/plain",
                        MessageKind::Json => "application/json",
                    },
                    "payload": payload,
                    "direct": to.is_some(),
                }),
            ))
        }
        Event::PresentationStarted {
            presenter,
            presenter_name,
            ..
        } if *presenter != viewer.id => one(presentation_start(*presenter, presenter_name)),
        Event::PresentationStopped { presenter } if *presenter != viewer.id => {
            one(SseEvent::empty("presentation_stop"))
        }
        Event::PresentationFrame { presenter, id } if *presenter != viewer.id => {
            let mut frame = SseEvent::empty("presentation_frame");
            frame.id = Some(id.to_string());
            one(frame)
        }
        Event::LayoutChanged(layout) => one(viewer.layout_event(layout)),
        Event::StageChanged(entries) => one(SseEvent::new("stage", stage(entries))),
        Event::ParticipantReferred {
            id, alias, ticket, ..
        } if *id == viewer.id => one(SseEvent::new(
            "refer",
            json!({ "alias": alias, "token": ticket.expose() }),
        )),
        Event::PresentationStarted { .. }
        | Event::PresentationStopped { .. }
        | Event::PresentationFrame { .. }
        | Event::ParticipantReferred { .. }
        | Event::DtmfSent { .. }
        | Event::HostPinKeyed { .. }
        | Event::ConferenceEnded { .. } => Vec::new(),
    }
}

/// Whether the stream ends after `event`: the viewer left (it was sent `disconnect`),
/// or the conference is over.
pub(crate) fn ends_stream(viewer: &Viewer, event: &Event) -> bool {
    match event {
        Event::ParticipantLeft { participant, .. } => participant.id == viewer.id,
        Event::ConferenceEnded { .. } => true,
        _ => false,
    }
}

fn presentation_start(presenter: ParticipantId, name: &str) -> SseEvent {
    SseEvent::new(
        "presentation_start",
        json!({
            "presenter_name": name,
            "presenter_uri": "",
            "presenter_uuid": presenter.to_string(),
        }),
    )
}

// === the stream ===

/// `GET …/events?token=`.
pub(crate) async fn events(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, ClientError> {
    let feed = state.client.events(&session.caller).await?;
    let clock = state.client.clock();
    let theme = state.client.theme(&session.caller);
    let viewer =
        Viewer::from_snapshot(session.caller.participant, &feed.snapshot, theme.as_deref())
            .ok_or(ClientError::InvalidToken)?;
    let sync = sync_events(&viewer, &feed.snapshot, &clock);
    let stream = live(Live {
        viewer,
        clock,
        pending: sync.into_iter().map(SseEvent::into_sse).collect(),
        events: feed.events,
        finished: false,
    });
    Ok(sse_response(stream))
}

/// A server-sent event stream answer: keep-alive comments, and no buffering by proxies.
pub(super) fn sse_response(
    stream: impl Stream<Item = Result<sse::Event, Infallible>> + Send + 'static,
) -> Response {
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("ping"))
        .into_response();
    // Tells nginx-style proxies not to buffer the stream.
    response.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    response
}

/// What one open stream does with each conference event: map it for its viewer and
/// render the SSE wire text. Public so that the fan-out cost can be benchmarked; the
/// stream handler uses the same steps.
#[derive(Debug, Clone)]
pub struct StreamRenderer {
    viewer: Viewer,
    clock: WallClock,
}

impl StreamRenderer {
    /// The renderer for `viewer`'s stream in a room with `theme`, if the viewer is in
    /// the conference.
    pub fn new(
        viewer: ParticipantId,
        snapshot: &ConferenceSnapshot,
        theme: Option<&Theme>,
        clock: WallClock,
    ) -> Option<StreamRenderer> {
        Some(StreamRenderer {
            viewer: Viewer::from_snapshot(viewer, snapshot, theme)?,
            clock,
        })
    }

    /// Appends the wire text this stream sends for `event` to `out`.
    pub fn render(&mut self, event: &Published, out: &mut String) {
        use std::fmt::Write as _;
        let mut rendered = Vec::new();
        render_for_stream(&mut self.viewer, event, &self.clock, &mut rendered);
        for r in rendered {
            let _ = match r {
                Rendered::Shared(name, text) => write!(out, "event: {name}\ndata: {text}\n\n"),
                Rendered::Own(e) => match &e.id {
                    Some(id) => write!(out, "event: {}\nid: {id}\ndata: {}\n\n", e.name, e.data),
                    None => write!(out, "event: {}\ndata: {}\n\n", e.name, e.data),
                },
            };
        }
    }
}

/// One event as a stream sends it: either the viewer-independent text every stream
/// shares, or an event mapped for this viewer.
enum Rendered<'a> {
    Shared(&'static str, &'a str),
    Own(SseEvent),
}

/// What one stream sends for a published event, in order. Participant objects are the
/// same for every viewer of a conference, so they are serialised once per event (by
/// whichever stream gets there first) and shared; everything else goes through the
/// per-viewer mapping [`sse_events`]. Also lets the viewer track its role and layout.
fn render_for_stream<'a>(
    viewer: &mut Viewer,
    published: &'a Published,
    clock: &WallClock,
    out: &mut Vec<Rendered<'a>>,
) {
    let event = &published.event;
    match event {
        Event::ParticipantJoined(p) | Event::ParticipantUpdated(p) => {
            let name = if matches!(event, Event::ParticipantJoined(_)) {
                "participant_create"
            } else {
                "participant_update"
            };
            let text = published.shared_text(|_| {
                // A struct of strings, numbers and bools always serialises.
                serde_json::to_string(&viewer.participant(p, clock))
                    .expect("participant object is plain JSON")
            });
            out.push(Rendered::Shared(name, text));
        }
        _ => out.extend(
            sse_events(viewer, event, clock)
                .into_iter()
                .map(Rendered::Own),
        ),
    }
    viewer.observe(event, |e| out.push(Rendered::Own(e)));
}

/// The state of one open stream.
struct Live {
    viewer: Viewer,
    clock: WallClock,
    /// Rendered events not yet sent.
    pending: VecDeque<sse::Event>,
    events: broadcast::Receiver<Arc<Published>>,
    /// Send what is pending, then end.
    finished: bool,
}

fn live(state: Live) -> impl Stream<Item = Result<sse::Event, Infallible>> + Send + 'static {
    futures_util::stream::unfold(state, |mut s| async move {
        loop {
            if let Some(event) = s.pending.pop_front() {
                return Some((Ok(event), s));
            }
            if s.finished {
                return None;
            }
            match s.events.recv().await {
                Ok(event) => {
                    s.finished = ends_stream(&s.viewer, &event.event);
                    let mut rendered = Vec::new();
                    render_for_stream(&mut s.viewer, &event, &s.clock, &mut rendered);
                    s.pending.extend(rendered.into_iter().map(|r| match r {
                        Rendered::Shared(name, text) => {
                            sse::Event::default().event(name).data(text)
                        }
                        Rendered::Own(e) => e.into_sse(),
                    }));
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // The client reconnects and gets a fresh sync.
                    debug!(participant = %s.viewer.id, missed, "event stream lagged; closing");
                    return None;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

#[cfg(test)]
mod tests;
