//! The media half of the client API on the node: an API participant's WebRTC calls,
//! routed to its conference's media engine, with the call type reported to the core.

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use plenum_core::{Actor, CallType, Command, MediaReport, ParticipantId, Refusal};
use plenum_http::client::backend::{
    CallAnswer, CallBackend, CallError, CallRequest, CallStatistics, Caller, InvalidToken,
};
use plenum_media::engine::{self, sdp::negotiated_streams};
use tracing::{debug, info, warn};
use uuid::Uuid;

use super::NodeClient;
use crate::driver;
use crate::node::admission::{Admit, Ask, without_video};

/// The refusal of a media call the node cannot carry (#pex114 in Pexip's SDK).
const OUT_OF_RESOURCE: &str = "Out of transcoding resource";
use crate::session::Session;

impl NodeClient {
    /// The session of a caller acting on its own calls.
    fn call_session(
        &self,
        caller: &Caller,
        participant: ParticipantId,
    ) -> Result<Session, CallError> {
        let session = self
            .0
            .session_of(caller.participant)
            .ok_or(CallError::InvalidToken)?;
        if caller.participant != participant {
            return Err(CallError::NotYours);
        }
        Ok(session)
    }
}

fn call_error(error: engine::CallError) -> CallError {
    match error {
        engine::CallError::BadOffer(message) => CallError::BadRequest(message),
        engine::CallError::UnknownCall => CallError::UnknownCall,
        engine::CallError::Failed(message) => CallError::Failed(message),
        engine::CallError::Timeout => CallError::Timeout,
    }
}

impl CallBackend for NodeClient {
    fn open_call(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        request: CallRequest,
    ) -> BoxFuture<'_, Result<CallAnswer, CallError>> {
        let session = self.call_session(caller, participant);
        async move {
            let session = session?;
            if !self.0.switches().webrtc_enabled {
                return Err(CallError::Refused(
                    "WebRTC calls are disabled on this node".into(),
                ));
            }
            if request.present.is_some() {
                return Err(CallError::BadRequest(
                    "separate presentation calls (present: send|receive) are not supported; \
                     present on the slides m-line of the main call"
                        .into(),
                ));
            }
            let admission = self.0.admission();
            let ask = Ask::of(&request.sdp);
            let class = ask.class();
            let offer = match admission.admit(participant, ask) {
                Admit::Call(_) => std::borrow::Cow::Borrowed(request.sdp.as_str()),
                Admit::AudioOnly => {
                    info!(%participant, class = class.name(), "node at capacity: video call answered audio-only");
                    std::borrow::Cow::Owned(without_video(&request.sdp))
                }
                Admit::Refuse => {
                    warn!(%participant, class = class.name(), "node at capacity: media call refused (Out of transcoding resource)");
                    return Err(CallError::Refused(OUT_OF_RESOURCE.into()));
                }
            };
            let opened = session
                .conference
                .media
                .open_call(participant, &offer)
                .await;
            let (call, sdp) = match opened {
                Ok(opened) => {
                    admission.opened(participant, opened.0);
                    opened
                }
                Err(error) => {
                    admission.failed(participant);
                    return Err(call_error(error));
                }
            };
            let streams = negotiated_streams(&sdp);
            let call_type = if streams.video {
                CallType::Video
            } else {
                CallType::AudioOnly
            };
            session
                .conference
                .media(participant, MediaReport::CallType(call_type))
                .await;
            info!(%participant, %call, %call_type, "media call started");
            Ok(CallAnswer { call, sdp })
        }
        .boxed()
    }

    fn update_call(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: Uuid,
        sdp: String,
    ) -> BoxFuture<'_, Result<String, CallError>> {
        let session = self.call_session(caller, participant);
        async move {
            let session = session?;
            if sdp.trim().is_empty() {
                return if session.conference.media.has_call(participant, call) {
                    Ok(String::new())
                } else {
                    Err(CallError::UnknownCall)
                };
            }
            let admission = self.0.admission();
            let counted = admission.class_of(participant, call);
            let offer = match admission.readmit(participant, call, Ask::of(&sdp)) {
                Admit::AudioOnly => {
                    info!(%participant, %call, "node at capacity: video asked for in a re-offer answered inactive");
                    std::borrow::Cow::Owned(without_video(&sdp))
                }
                Admit::Call(_) | Admit::Refuse => std::borrow::Cow::Borrowed(sdp.as_str()),
            };
            let answered = session
                .conference
                .media
                .update_call(participant, call, &offer)
                .await;
            if let (Err(_), Some(class)) = (&answered, counted) {
                // Nothing changed: the call costs what it did.
                admission.recount(participant, call, class);
            }
            answered.map_err(call_error)
        }
        .boxed()
    }

    fn add_candidate(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: Uuid,
        candidate: String,
        mid: Option<String>,
    ) -> BoxFuture<'_, Result<(), CallError>> {
        let session = self.call_session(caller, participant);
        async move {
            session?
                .conference
                .media
                .add_candidate(participant, call, &candidate, mid.as_deref())
                .await
                .map_err(call_error)
        }
        .boxed()
    }

    fn ack_call(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: Uuid,
    ) -> BoxFuture<'_, Result<(), CallError>> {
        let session = self.call_session(caller, participant);
        async move {
            // Media flows once ICE connects; the ack only confirms the call exists.
            if session?.conference.media.has_call(participant, call) {
                Ok(())
            } else {
                Err(CallError::UnknownCall)
            }
        }
        .boxed()
    }

    fn disconnect_call(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: Uuid,
    ) -> BoxFuture<'_, Result<(), CallError>> {
        let session = self.call_session(caller, participant);
        async move {
            session?
                .conference
                .media
                .close_call(participant, call)
                .await
                .map_err(call_error)?;
            info!(%participant, %call, "media call ended by the client");
            Ok(())
        }
        .boxed()
    }

    fn call_dtmf(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: Uuid,
        digits: String,
    ) -> BoxFuture<'_, Result<Result<(), Refusal>, CallError>> {
        let session = self.call_session(caller, participant);
        async move {
            let session = session?;
            if !session.conference.media.has_call(participant, call) {
                return Err(CallError::UnknownCall);
            }
            session
                .conference
                .command(
                    Actor::Participant(participant),
                    Command::SendDtmf {
                        target: participant,
                        digits,
                    },
                )
                .await
                .map_err(|_| CallError::InvalidToken)
        }
        .boxed()
    }

    fn call_statistics(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: Uuid,
        statistics: CallStatistics,
    ) -> BoxFuture<'_, Result<(), CallError>> {
        let session = self.call_session(caller, participant);
        async move {
            if !session?.conference.media.has_call(participant, call) {
                return Err(CallError::UnknownCall);
            }
            // Kept for the admin status API, and for the history when they leave.
            let reported_at = self.0.clock.to_system(driver::now());
            self.0
                .record_media_quality(participant, statistics.quality_json(reported_at));
            let video = statistics.video.as_ref();
            let audio = statistics.audio.as_ref();
            debug!(
                %participant,
                %call,
                rx_video_kbps = video.and_then(|v| v.rx_bitrate_kbps),
                rx_video_lost = video.and_then(|v| v.rx_packets_lost),
                rx_resolution = video.and_then(|v| v.rx_resolution.as_deref()),
                rx_audio_lost = audio.and_then(|a| a.rx_packets_lost),
                "client call statistics"
            );
            Ok(())
        }
        .boxed()
    }

    fn presentation_jpeg(
        &self,
        caller: &Caller,
        high: bool,
    ) -> BoxFuture<'_, Result<Option<axum::body::Bytes>, InvalidToken>> {
        let session = self.caller_session(caller);
        async move { Ok(session?.conference.media.presentation_still(high)) }.boxed()
    }
}
