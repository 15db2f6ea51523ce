//! The webrtc-rs 0.21.1 backend of [`super::Peer`]. Every webrtc-rs/rtc type stays in here.
//!
//! # The RTP/RTCP path (interceptor chain, wire-most first)
//!
//! * **NACK responder** (`configure_nack`): keeps what we sent and retransmits what the
//!   browser NACKs. Only for streams whose codec negotiated `nack`, i.e. video and slides;
//!   retransmissions go out on the main SSRC (no RTX, see the media-stack notes).
//! * **NACK generator** (`configure_nack`): NACKs gaps in the browser's video streams.
//! * **TWCC receiver** (`configure_twcc_receiver_only`): answers `transport-cc` and the
//!   transport-wide sequence extension, then reports arrival times to the browser, whose
//!   send-side estimator (GCC) adapts the bitrate it sends us.
//! * **Receiver and sender reports** (`configure_rtcp_reports`).
//! * **[`RtcpToApplication`]** (ours, application-most): copies the PLI, FIR, REMB and
//!   report blocks the browser sends about our streams past the end of the chain, so they
//!   become [`PeerEvent`]s.
//!
//! Not active: no REMB of our own (webrtc-rs 0.21 has no receive-side estimator), no
//! send-side estimation or pacing of our streams (we add no transport-wide sequence numbers,
//! so for what we send the browser falls back to REMB and receiver reports, which we report
//! as events), no RTX, no FEC.
//!
//! # webrtc-rs behaviour worked around here
//!
//! * Each video line's answer is narrowed to the call's one codec with
//!   `set_codec_preferences` (with the offer's fmtp, so H.264 profiles match exactly);
//!   left alone, webrtc-rs answers every codec both sides know, in the offer's order.
//! * rtc 0.21.1's H.264 depacketizer indexes past the end of a STAP-A with a dangling
//!   byte (a panic in the receive task): such packets are dropped first
//!   ([`h264_payload_is_sane`]) and count as lost.
//! * rtc-media 0.21.1's `SampleBuilder` counts the packets it drops in a `u16` that
//!   overflows when a sender's sequence numbers jump far (it drops each missing one): it
//!   wraps in release builds; the workspace's `Cargo.toml` turns its overflow checks off
//!   in debug builds too, where it would panic the receive task.
//! * The answer's direction is the transceiver's preferred direction, not the RFC 3264
//!   intersection with the offer, so each negotiation sets every transceiver's direction
//!   from the offer before `create_answer`.
//! * Re-offering an m-line as `a=inactive` *stops* its transceiver for good (the SDK's
//!   presentation line goes inactive after every presentation), and a transceiver created
//!   from a `recvonly` line never gets a receiver (so the browser could never present on
//!   it later). The offer webrtc-rs sees has those directions rewritten
//!   ([`mask_directions`]); the direction we set makes the answer right all the same.
//! * A re-offer webrtc-rs refuses half-way leaves it in `have-remote-offer`; it is rolled
//!   back so the session stays usable.
//! * `add_track` takes the first free transceiver of the kind, so tracks are added in
//!   m-line order and the mid they landed on is checked.
//! * A remote track does not say which m-line it came from; its first event names its
//!   receiver, which maps to a transceiver and so to a mid.
//! * An answerer's ICE restart happens inside `set_remote_description` when the offer's
//!   credentials change; gathering then runs again for the new generation.
//! * webrtc-rs 0.21.1 stores `with_nat_1to1_ips` but never uses it: public addresses
//!   (`PeerConfig::public_ips`) are written into the candidates we hand out, in the answer
//!   and trickled ([`advertised_candidates`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::interceptor::{
    Attribute, AttributedPacket, Interceptor, Packet, Slot, StreamInfo, TaggedPacket,
};
use rtc::media::Sample;
use rtc::media::io::sample_builder::SampleBuilder;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8,
};
use rtc::rtcp;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::packetizer::Depacketizer;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::sansio;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::AbortHandle;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCIceCandidateInit, RTCIceGatheringState, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
    RTCSessionDescription, Registry, SettingEngineBuilder, configure_nack, configure_rtcp_reports,
    configure_twcc_receiver_only,
};
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RtpSender};

use super::{
    IncomingMedia, MediaDirection, MediaKind, Offer, OfferedCodec, PeerConfig, PeerError,
    PeerEvent, PeerEvents, PeerState,
};
use crate::stats::{MEDIA_STATS, StreamKind};
use crate::video::VideoCodec;

/// Payload types we register; the answer uses the offer's numbers for the same codecs.
const OPUS_PT: u8 = 111;
const VP8_PT: u8 = 96;
/// H.264 packetization mode 1 in the two Baseline flavours browsers offer: Constrained
/// Baseline (`42e01f`, what we send) and Baseline (`42001f`).
const H264_PTS: [(u8, &str); 2] = [(102, "42e01f"), (127, "42001f")];
/// Received media buffered before the receive tasks wait for the consumer.
const MEDIA_QUEUE: usize = 256;
/// How far (in packets) a video sample builder waits for a late packet.
const VIDEO_MAX_LATE_PACKETS: u16 = 256;
/// Where [`RtcpToApplication`] sits: after every built-in interceptor (the highest named
/// slot is the jitter buffer at 13 000), so all of them have seen the RTCP first.
const RTCP_TO_APPLICATION_SLOT: usize = 14_000;
/// Where [`NackCounter`] sits: between the pacer (3 000) and the NACK responder (4 000), so
/// it sees the NACKs the generator (7 000) sends and those arriving before the responder
/// takes them.
const NACK_COUNTER_SLOT: usize = 3_500;

fn webrtc_err(op: &'static str) -> impl FnOnce(webrtc::error::Error) -> PeerError {
    move |e| PeerError::Webrtc {
        op,
        source: Box::new(e),
    }
}

fn internal(op: &'static str, message: &str) -> PeerError {
    PeerError::Webrtc {
        op,
        source: message.to_owned().into(),
    }
}

// === Backend ===

pub(super) struct Backend {
    pc: Arc<dyn PeerConnection>,
    shared: Arc<Shared>,
    /// Serialises offer/answer rounds. Sends never take it.
    signaling: tokio::sync::Mutex<Signaling>,
    /// Becomes `true` when the current gathering generation completes.
    gathered: watch::Receiver<bool>,
    gather_timeout: Duration,
    /// H.264 may be negotiated ([`PeerConfig::h264`]).
    h264: bool,
    closed: AtomicBool,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let streams = self.shared.streams();
        let mut d = f.debug_struct("webrtc_rs::Backend");
        for kind in MediaKind::ALL {
            let out = &streams.outgoing[kind.index()];
            d.field(
                match kind {
                    MediaKind::Audio => "audio",
                    MediaKind::Video => "video",
                    MediaKind::Slides => "slides",
                },
                &(
                    out.as_ref().map(|o| o.ssrc),
                    out.as_ref().and_then(|o| o.payload_type),
                    streams.directions[kind.index()],
                ),
            );
        }
        d.field(
            "local_port",
            &self.shared.local_port.load(Ordering::Relaxed),
        )
        .finish_non_exhaustive()
    }
}

impl Backend {
    pub(super) async fn answer(
        offer: &Offer,
        offer_sdp: &str,
        config: &PeerConfig,
    ) -> Result<(Backend, String, PeerEvents), PeerError> {
        let (media_tx, media_rx) = mpsc::channel(MEDIA_QUEUE);
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (gathered_tx, gathered_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            control: control_tx,
            media: media_tx,
            gathered: gathered_tx,
            mid: super::first_mid(offer_sdp),
            public_ips: config.public_ips.clone(),
            local_port: AtomicU16::new(0),
            streams: Mutex::new(Streams::default()),
        });

        let pc = build_peer_connection(config, &shared).await?;
        let backend = Backend {
            pc,
            shared,
            signaling: tokio::sync::Mutex::new(Signaling::default()),
            gathered: gathered_rx,
            gather_timeout: config.gather_timeout,
            h264: config.h264,
            closed: AtomicBool::new(false),
        };
        let answered = {
            let mut signaling = backend.signaling.lock().await;
            backend.negotiate(&mut signaling, offer, offer_sdp).await
        };
        match answered {
            Ok(sdp) => {
                tracing::debug!(?backend, "answered offer");
                Ok((
                    backend,
                    sdp,
                    PeerEvents {
                        media: media_rx,
                        control: control_rx,
                    },
                ))
            }
            Err(e) => {
                // Nothing may outlive a failed answer: closing ends the driver (and with it
                // the socket) and every task's event stream.
                if let Err(close) = backend.close().await {
                    tracing::debug!(error = %close, "closing a peer whose answer failed");
                }
                Err(e)
            }
        }
    }

    pub(super) async fn update(&self, offer: &Offer, offer_sdp: &str) -> Result<String, PeerError> {
        let mut signaling = self.signaling.lock().await;
        if self.closed.load(Ordering::Acquire) {
            return Err(internal("update", "the peer is closed"));
        }
        let answer = self.negotiate(&mut signaling, offer, offer_sdp).await?;
        tracing::debug!(backend = ?self, "answered renegotiation");
        Ok(answer)
    }

    /// One offer/answer round: applies `offer`, attaches tracks to new lines, sets every
    /// direction, answers. On failure, rolls the offer back.
    async fn negotiate(
        &self,
        signaling: &mut Signaling,
        offer: &Offer,
        offer_sdp: &str,
    ) -> Result<String, PeerError> {
        let first = signaling.remote_ice.is_none();
        let restart = match (signaling.remote_ice.as_ref(), offer.ice_credentials()) {
            (Some(current), Some(new)) => current != new,
            _ => false,
        };

        let masked = mask_directions(offer_sdp, &signaling.mids);
        let description =
            RTCSessionDescription::offer(masked).map_err(webrtc_err("parse offer"))?;
        let answered = match self.pc.set_remote_description(description).await {
            Ok(()) => self.answer_applied_offer(offer, first || restart).await,
            // webrtc-rs may fail half-way, with the offer's state already taken.
            Err(e) => Err(webrtc_err("set remote description")(e)),
        };
        match answered {
            Ok(sdp) => {
                signaling.remote_ice = offer.ice_credentials().cloned();
                signaling
                    .mids
                    .extend(offer.media.iter().map(|m| m.mid.clone()));
                Ok(sdp)
            }
            Err(e) => {
                if !first {
                    // Leave the session as it was before this offer (a no-op error when
                    // webrtc-rs did not take the offer's state).
                    match RTCSessionDescription::rollback(None) {
                        Ok(rollback) => {
                            if let Err(error) = self.pc.set_remote_description(rollback).await {
                                tracing::debug!(%error, "rolling back a refused offer");
                            }
                        }
                        Err(error) => tracing::debug!(%error, "rollback description"),
                    }
                }
                Err(e)
            }
        }
    }

    /// The part of [`Backend::negotiate`] after `set_remote_description`.
    async fn answer_applied_offer(
        &self,
        offer: &Offer,
        wait_for_gathering: bool,
    ) -> Result<String, PeerError> {
        // Tracks for lines that have none yet, in m-line order (`add_track` takes the first
        // free transceiver of the kind).
        for line in &offer.media {
            let Some(kind) = line.role else { continue };
            if self.shared.streams().outgoing[kind.index()].is_some() {
                continue;
            }
            let codec = offer.video_codec(kind).map(|c| c.codec);
            let outgoing = add_track(&self.pc, kind, codec).await?;
            let landed = mid_of_sender(&self.pc, &outgoing.sender).await;
            if landed.as_deref() != Some(line.mid.as_str()) {
                return Err(internal(
                    "attach track",
                    &format!("{kind} track landed on mid {landed:?}, not {}", line.mid),
                ));
            }
            tokio::spawn(forward_rtcp(outgoing.track.clone(), self.shared.clone()));
            self.shared.streams().outgoing[kind.index()] = Some(Arc::new(outgoing));
        }

        // Every transceiver's direction from the offer (RFC 3264), and which transceiver
        // carries which kind (so an arriving remote track can be told apart).
        let mut transceiver_kinds = HashMap::new();
        for transceiver in self.pc.get_transceivers().await {
            let Ok(Some(mid)) = transceiver.mid().await else {
                continue;
            };
            let line = offer.media.iter().find(|m| m.mid == mid);
            let role = line.and_then(|m| m.role);
            let direction = role.map_or(MediaDirection::Inactive, |k| offer.answer_direction(k));
            if let Some(kind) = role {
                transceiver_kinds.insert(transceiver.id(), kind);
                // Exactly the call's codec on a video line: the first usable one of the
                // first offer, fixed for the call (our track is in it).
                let call_codec = self.shared.streams().outgoing[kind.index()]
                    .as_ref()
                    .and_then(|o| o.codec);
                if let Some(codec) = call_codec {
                    let offered = line
                        .and_then(|m| m.video_codecs.iter().find(|c| c.codec == codec))
                        .ok_or_else(|| {
                            PeerError::InvalidOffer(format!(
                                "the {kind} line no longer offers {codec}, the call's codec"
                            ))
                        })?;
                    transceiver
                        .set_codec_preferences(vec![codec_parameters(offered)])
                        .await
                        .map_err(webrtc_err("set codec preferences"))?;
                }
            }
            transceiver
                .set_direction(to_webrtc(direction))
                .await
                .map_err(webrtc_err("set direction"))?;
        }
        {
            let mut streams = self.shared.streams();
            streams.transceiver_kinds = transceiver_kinds;
            for line in &offer.media {
                if let Some(kind) = line.role {
                    for ssrc in &line.ssrcs {
                        streams.remote_ssrcs.insert(*ssrc, kind);
                    }
                }
            }
        }

        let answer = self
            .pc
            .create_answer(None)
            .await
            .map_err(webrtc_err("create answer"))?;
        if wait_for_gathering {
            self.shared.gathered.send_replace(false);
        }
        self.pc
            .set_local_description(answer)
            .await
            .map_err(webrtc_err("set local description"))?;

        if wait_for_gathering {
            // Bounded wait so the answer carries our candidates; later ones are trickled.
            let mut gathered = self.gathered.clone();
            let _ =
                tokio::time::timeout(self.gather_timeout, gathered.wait_for(|done| *done)).await;
        }

        let sdp = self
            .pc
            .local_description()
            .await
            .map(|d| advertised_sdp(&d.sdp, &self.shared.public_ips))
            .ok_or_else(|| internal("local description", "none after set_local_description"))?;

        // What we may send now: the negotiated payload type of each track, and the
        // directions of this answer.
        let outgoing: Vec<(MediaKind, Arc<Outgoing>)> = {
            let streams = self.shared.streams();
            MediaKind::ALL
                .into_iter()
                .filter_map(|k| streams.outgoing[k.index()].clone().map(|o| (k, o)))
                .collect()
        };
        let mut payload_types = [None; 3];
        for (kind, out) in &outgoing {
            payload_types[kind.index()] = negotiated_payload_type(&out.sender).await;
        }
        let mut streams = self.shared.streams();
        for kind in MediaKind::ALL {
            streams.directions[kind.index()] = offer.answer_direction(kind);
            if let Some(out) = streams.outgoing[kind.index()].as_mut() {
                // `Outgoing` is shared with sends in flight; its payload type is replaced
                // through a fresh `Arc` rather than mutated under them.
                if out.payload_type != payload_types[kind.index()] {
                    let mut updated = Outgoing::clone(out);
                    updated.payload_type = payload_types[kind.index()];
                    *out = Arc::new(updated);
                }
            }
        }
        Ok(sdp)
    }

    pub(super) async fn add_remote_candidate(
        &self,
        candidate: &str,
        mid: Option<&str>,
    ) -> Result<(), PeerError> {
        let init = RTCIceCandidateInit {
            candidate: candidate.to_owned(),
            sdp_mid: mid.map(str::to_owned),
            ..Default::default()
        };
        self.pc
            .add_ice_candidate(init)
            .await
            .map_err(webrtc_err("add remote candidate"))
    }

    pub(super) async fn send(
        &self,
        kind: MediaKind,
        data: Bytes,
        duration: Duration,
    ) -> Result<(), PeerError> {
        let out = {
            let streams = self.shared.streams();
            if !streams.directions[kind.index()].sends() {
                return Err(PeerError::NotNegotiated(kind));
            }
            streams.outgoing[kind.index()].clone()
        };
        let Some((out, pt)) = out.and_then(|o| o.payload_type.map(|pt| (o, pt))) else {
            return Err(PeerError::NotNegotiated(kind));
        };
        let duration = out
            .clock
            .lock()
            .expect("rtp clock lock is never held across a panic")
            .advance(duration);
        // webrtc-rs advances the RTP timestamp by `duration` only (see `RtpClock`). The
        // sample's instant feeds nothing but the abs-send-time header extension, which we do
        // not negotiate; it is "now" because the frame is sent as soon as it is made.
        let sample = Sample {
            data,
            duration,
            ..Sample::new(Instant::now())
        };
        out.track
            .sample_writer(out.ssrc, pt)
            .write_sample(&sample)
            .await
            .map_err(webrtc_err("write sample"))?;
        MEDIA_STATS.frame_sent(kind.stream_kind());
        Ok(())
    }

    pub(super) async fn request_keyframe(&self, kind: MediaKind) -> Result<(), PeerError> {
        if !kind.is_video() {
            return Ok(());
        }
        let (remote, sender_ssrc) = {
            let streams = self.shared.streams();
            let remote = streams.remote[kind.index()]
                .as_ref()
                .map(|r| (r.track.clone(), r.ssrc));
            // RFC 4585 names the PLI's sender by its SSRC; ours for that kind if we send one.
            let sender_ssrc = streams.outgoing[kind.index()]
                .as_ref()
                .or(streams.outgoing[MediaKind::Audio.index()].as_ref())
                .map_or(0, |o| o.ssrc);
            (remote, sender_ssrc)
        };
        let Some((track, media_ssrc)) = remote else {
            return Ok(());
        };
        MEDIA_STATS.keyframe_request_sent();
        track
            .write_rtcp(vec![Box::new(PictureLossIndication {
                sender_ssrc,
                media_ssrc,
            })])
            .await
            .map_err(webrtc_err("send pli"))
    }

    pub(super) fn direction(&self, kind: MediaKind) -> MediaDirection {
        self.shared.streams().directions[kind.index()]
    }

    pub(super) fn video_codec(&self, kind: MediaKind) -> Option<VideoCodec> {
        self.shared.streams().outgoing[kind.index()]
            .as_ref()
            .and_then(|o| o.codec)
    }

    pub(super) fn h264(&self) -> bool {
        self.h264
    }

    /// Whether we have a track on `kind`'s line (an earlier offer carried it).
    pub(super) fn has_track(&self, kind: MediaKind) -> bool {
        self.shared.streams().outgoing[kind.index()].is_some()
    }

    pub(super) fn local_port(&self) -> u16 {
        self.shared.local_port.load(Ordering::Relaxed)
    }

    pub(super) async fn close(&self) -> Result<(), PeerError> {
        self.closed.store(true, Ordering::Release);
        let result = self.pc.close().await.map_err(webrtc_err("close"));
        // The receive tasks end with the track streams; abort them in case a consumer
        // never drains the media channel they may be waiting on.
        for task in self.shared.streams().receivers.drain(..) {
            task.abort();
        }
        result
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        // A PeerConnection dropped without `close()` keeps its driver task and socket
        // (webrtc-rs detaches it onto the runtime), so close it in the background.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let pc = self.pc.clone();
            runtime.spawn(async move {
                if let Err(error) = pc.close().await {
                    tracing::debug!(%error, "closing a dropped peer");
                }
            });
        }
        for task in self.shared.streams().receivers.drain(..) {
            task.abort();
        }
    }
}

/// What the offer/answer rounds so far established.
#[derive(Debug, Default)]
struct Signaling {
    /// The ICE credentials of the offer last applied (a change is an ICE restart); `None`
    /// before the first answer.
    remote_ice: Option<(String, String)>,
    /// The mids webrtc-rs has transceivers for.
    mids: HashSet<String>,
}

fn to_webrtc(direction: MediaDirection) -> RTCRtpTransceiverDirection {
    match direction {
        MediaDirection::SendRecv => RTCRtpTransceiverDirection::Sendrecv,
        MediaDirection::SendOnly => RTCRtpTransceiverDirection::Sendonly,
        MediaDirection::RecvOnly => RTCRtpTransceiverDirection::Recvonly,
        MediaDirection::Inactive => RTCRtpTransceiverDirection::Inactive,
    }
}

/// The offer as webrtc-rs gets it, with the direction of lines that send nothing
/// rewritten so webrtc-rs keeps every transceiver able to send and receive later:
///
/// * on a line it already has (`known` mids), `a=inactive` becomes `a=recvonly`: applying
///   an inactive line to an existing transceiver stops it for good in webrtc-rs 0.21.1,
///   and the SDK's presentation line returns from inactive after every presentation;
/// * on a new line, `a=recvonly` becomes `a=inactive`: a transceiver created from a
///   recvonly line has no receiver, so it could never receive the browser's presentation.
///
/// Both mean "the offerer sends nothing"; the answer's real direction comes from the
/// direction we set on the transceiver.
fn mask_directions(offer_sdp: &str, known: &HashSet<String>) -> String {
    let mut out = String::with_capacity(offer_sdp.len());
    for section in super::split_keep_header(offer_sdp) {
        let (from, to) = match super::attribute(section, "a=mid:") {
            Some(mid) if known.contains(mid) => ("a=inactive", "a=recvonly"),
            Some(_) => ("a=recvonly", "a=inactive"),
            None => ("", ""),
        };
        for line in section.split_inclusive('\n') {
            let content = line.trim_end();
            if !from.is_empty() && content == from {
                out.push_str(to);
                out.push_str(&line[content.len()..]);
            } else {
                out.push_str(line);
            }
        }
    }
    out
}

// === Candidates ===

/// A local candidate as the browser should see it: a host candidate once per public
/// address (NAT 1:1: the NAT forwards what reaches the public address to the bound one),
/// else as it is. Takes and gives the `candidate:…` attribute value (an `a=` prefix is
/// kept). The first public address keeps the foundation; others get a digit appended, as
/// candidates of different addresses must not share one.
pub(super) fn advertised_candidates(candidate: &str, public_ips: &[IpAddr]) -> Vec<String> {
    let fields: Vec<&str> = candidate.split(' ').collect();
    let is_host = fields.windows(2).any(|w| w[0] == "typ" && w[1] == "host");
    if public_ips.is_empty() || !is_host || fields.len() < 8 {
        return vec![candidate.to_owned()];
    }
    public_ips
        .iter()
        .enumerate()
        .map(|(i, ip)| {
            let mut fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
            if i > 0 {
                fields[0].push_str(&i.to_string());
            }
            fields[4] = ip.to_string();
            fields.join(" ")
        })
        .collect()
}

/// `sdp` with each host candidate advertised with the public addresses
/// ([`advertised_candidates`]); unchanged without any.
pub(super) fn advertised_sdp(sdp: &str, public_ips: &[IpAddr]) -> String {
    if public_ips.is_empty() {
        return sdp.to_owned();
    }
    let mut out = String::with_capacity(sdp.len() + 256);
    for line in sdp.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\r', '\n']);
        if bare.starts_with("a=candidate:") {
            let ending = &line[bare.len()..];
            for candidate in advertised_candidates(bare, public_ips) {
                out.push_str(&candidate);
                out.push_str(ending);
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

// === Shared state ===

/// State shared by the backend, its event handler and its tasks.
struct Shared {
    control: mpsc::UnboundedSender<PeerEvent>,
    media: mpsc::Sender<IncomingMedia>,
    /// Set when the current gathering generation completes.
    gathered: watch::Sender<bool>,
    /// The bundle tag, reported with trickled candidates.
    mid: String,
    /// Addresses our host candidates are advertised with (NAT 1:1); empty = as bound.
    public_ips: Vec<IpAddr>,
    local_port: AtomicU16,
    streams: Mutex<Streams>,
}

/// The negotiated streams. Locked briefly, never across an await.
#[derive(Default)]
struct Streams {
    /// Our outgoing tracks by [`MediaKind::index`], created for the lines the offers had.
    outgoing: [Option<Arc<Outgoing>>; 3],
    /// The current answer's direction of each kind.
    directions: [MediaDirection; 3],
    /// The browser's newest track of each kind, for PLI.
    remote: [Option<RemoteTrack>; 3],
    /// The tasks reading the browser's tracks, aborted on close.
    receivers: Vec<AbortHandle>,
    /// Which kind each transceiver carries (by transceiver id = receiver id).
    transceiver_kinds: HashMap<usize, MediaKind>,
    /// The browser's SSRCs from its offers' `a=ssrc` lines (a fallback for telling tracks
    /// apart).
    remote_ssrcs: HashMap<u32, MediaKind>,
}

impl Shared {
    fn streams(&self) -> MutexGuard<'_, Streams> {
        self.streams
            .lock()
            .expect("streams lock is never held across a panic")
    }

    /// Which of our streams an SSRC is.
    fn local_kind(&self, ssrc: u32) -> Option<MediaKind> {
        let streams = self.streams();
        MediaKind::ALL.into_iter().find(|k| {
            streams.outgoing[k.index()]
                .as_ref()
                .is_some_and(|o| o.ssrc == ssrc)
        })
    }

    /// Turns the RTCP feedback [`RtcpToApplication`] passed on into events.
    fn rtcp_events(&self, packets: &[Box<dyn rtcp::Packet>]) {
        feedback_events(
            packets,
            |ssrc| self.local_kind(ssrc),
            |event| {
                let _ = self.control.send(event);
            },
        );
    }
}

/// The events the browser's feedback about our streams means: PLI and FIR ask for a
/// keyframe, REMB is its estimate, a report block its loss. `local_kind` names our stream
/// an SSRC is (feedback about anything else is dropped).
fn feedback_events(
    packets: &[Box<dyn rtcp::Packet>],
    local_kind: impl Fn(u32) -> Option<MediaKind>,
    mut emit: impl FnMut(PeerEvent),
) {
    for packet in packets {
        let any = packet.as_any();
        let mut about = |ssrc: u32, event: &dyn Fn(MediaKind) -> PeerEvent| {
            if let Some(kind) = local_kind(ssrc) {
                emit(event(kind));
            }
        };
        if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
            MEDIA_STATS.keyframe_request_received();
            about(pli.media_ssrc, &|kind| PeerEvent::KeyframeRequested {
                kind,
            });
        } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
            for entry in &fir.fir {
                MEDIA_STATS.keyframe_request_received();
                about(entry.ssrc, &|kind| PeerEvent::KeyframeRequested { kind });
            }
        } else if let Some(remb) = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
            let bitrate_bps = remb.bitrate.max(0.0) as u64;
            for ssrc in &remb.ssrcs {
                about(*ssrc, &|kind| PeerEvent::ReceiverEstimate {
                    kind,
                    bitrate_bps,
                });
            }
        } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
            for report in &rr.reports {
                let fraction_lost = report.fraction_lost;
                MEDIA_STATS.receiver_report(fraction_lost);
                about(report.ssrc, &|kind| PeerEvent::ReceiverLoss {
                    kind,
                    fraction_lost,
                });
            }
        }
    }
}

/// One outgoing track and what the negotiation gave it.
#[derive(Clone)]
struct Outgoing {
    track: Arc<TrackLocalStaticSample>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
    /// The video codec of the line, both ways (`None` for audio).
    codec: Option<VideoCodec>,
    /// The negotiated payload type, `None` until a negotiation gave one.
    payload_type: Option<u8>,
    /// Shared between the clones made when the payload type changes, so the RTP
    /// timestamp keeps counting.
    clock: Arc<Mutex<RtpClock>>,
}

/// One of the browser's tracks, as it arrived.
struct RemoteTrack {
    track: Arc<dyn TrackRemote>,
    /// The SSRC its packets carry (for PLI).
    ssrc: u32,
}

// === RTP clock ===

/// Turns frame durations into RTP timestamp steps that add up exactly to the media time
/// sent, whatever the rounding of each frame's duration (1/30 s is not a whole number of
/// nanoseconds, nor 90 kHz ticks of any `Duration`).
///
/// webrtc-rs advances a stream's RTP timestamp by `(duration.as_secs_f64() * clock_rate)
/// as u32` per sample and by nothing else, so [`RtpClock::advance`] returns a duration a
/// hair (1–2 ns) above the exact step, which that truncation turns back into the step.
#[derive(Debug)]
pub(super) struct RtpClock {
    rate: u64,
    elapsed_ns: u128,
    ticks: u64,
}

impl RtpClock {
    pub(super) fn new(rate: u32) -> RtpClock {
        RtpClock {
            rate: u64::from(rate),
            elapsed_ns: 0,
            ticks: 0,
        }
    }

    /// The duration to hand webrtc-rs for a frame lasting `duration`.
    pub(super) fn advance(&mut self, duration: Duration) -> Duration {
        const NS: u128 = 1_000_000_000;
        self.elapsed_ns += duration.as_nanos();
        let target = u64::try_from(self.elapsed_ns * u128::from(self.rate) / NS)
            .expect("an rtp clock does not run for 2^64 ticks");
        let step = target - self.ticks;
        self.ticks = target;
        let ns = (u128::from(step) * NS).div_ceil(u128::from(self.rate)) + 1;
        Duration::from_nanos(u64::try_from(ns).expect("one frame lasts less than 584 years"))
    }
}

// === Building ===

/// The media engine: Opus/48000/2, VP8/90000 and H.264/90000 (packetization mode 1,
/// Baseline profiles); each video line's answer is narrowed to one of them
/// (`set_codec_preferences`).
fn media_engine() -> Result<MediaEngine, PeerError> {
    let mut engine = MediaEngine::default();
    engine
        .register_codec(
            RTCRtpCodecParameters {
                rtp_codec: opus_codec(),
                payload_type: OPUS_PT,
            },
            RtpCodecKind::Audio,
        )
        .map_err(webrtc_err("register opus"))?;
    let mut vp8 = vp8_codec();
    vp8.rtcp_feedback = video_feedback();
    engine
        .register_codec(
            RTCRtpCodecParameters {
                rtp_codec: vp8,
                payload_type: VP8_PT,
            },
            RtpCodecKind::Video,
        )
        .map_err(webrtc_err("register vp8"))?;
    for (payload_type, profile) in H264_PTS {
        let mut h264 = h264_codec(&format!(
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id={profile}"
        ));
        h264.rtcp_feedback = video_feedback();
        engine
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: h264,
                    payload_type,
                },
                RtpCodecKind::Video,
            )
            .map_err(webrtc_err("register h264"))?;
    }
    Ok(engine)
}

/// The RTCP feedback of our video codecs (`transport-cc` comes from the TWCC interceptor).
fn video_feedback() -> Vec<RTCPFeedback> {
    let fb = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
    vec![
        fb("goog-remb", ""),
        fb("ccm", "fir"),
        fb("nack", ""),
        fb("nack", "pli"),
    ]
}

fn h264_codec(fmtp: &str) -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: fmtp.to_owned(),
        rtcp_feedback: vec![],
    }
}

/// Our codec for a video line, as the offer put it (its fmtp, so it matches exactly).
fn codec_parameters(offered: &OfferedCodec) -> RTCRtpCodecParameters {
    let mut rtp_codec = match offered.codec {
        VideoCodec::Vp8 => vp8_codec(),
        VideoCodec::H264 => h264_codec(&offered.fmtp),
    };
    rtp_codec.rtcp_feedback = video_feedback();
    RTCRtpCodecParameters {
        rtp_codec,
        payload_type: offered.payload_type,
    }
}

fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

fn vp8_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_VP8.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    }
}

/// The interceptor chain (see the module docs) around `engine`.
fn interceptors(engine: &mut MediaEngine) -> Result<Registry, PeerError> {
    let registry = configure_nack(Registry::new(), engine);
    let registry = configure_rtcp_reports(registry);
    let registry =
        configure_twcc_receiver_only(registry, engine).map_err(webrtc_err("configure twcc"))?;
    Ok(registry
        .with(
            Slot::from(RTCP_TO_APPLICATION_SLOT),
            RtcpToApplication::default(),
        )
        .with(Slot::from(NACK_COUNTER_SLOT), NackCounter::default()))
}

/// Builds the PeerConnection on the first bindable port of the range.
async fn build_peer_connection(
    config: &PeerConfig,
    shared: &Arc<Shared>,
) -> Result<Arc<dyn PeerConnection>, PeerError> {
    let (first, last) = config.port_range;
    let ports: Vec<u16> = if first == 0 && last == 0 {
        vec![0]
    } else {
        // Start at a random offset so concurrent peers don't race for the same port.
        let span = u32::from(last.saturating_sub(first)) + 1;
        let offset = rand::random::<u32>() % span;
        (0..span)
            .map(|i| {
                let p = u32::from(first) + (offset + i) % span;
                u16::try_from(p).expect("port stays within first..=last")
            })
            .collect()
    };
    let mut last_err = None;
    for port in ports {
        let addr = SocketAddr::new(config.udp_bind, port);
        // A cheap probe first: building a PeerConnection costs a certificate.
        if port != 0 && UdpSocket::bind(addr).is_err() {
            continue;
        }
        let mut engine = media_engine()?;
        let registry = interceptors(&mut engine)?;
        // Public addresses (NAT 1:1) are written into the candidates we hand out
        // ([`advertised_candidates`]): webrtc-rs 0.21.1 ignores `with_nat_1to1_ips`.
        let settings = SettingEngineBuilder::new()
            .with_include_loopback_candidate(config.udp_bind.is_loopback());
        let built = PeerConnectionBuilder::new()
            .with_media_engine(engine)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings.build())
            .with_handler(Arc::new(Handler {
                shared: shared.clone(),
            }))
            .with_udp_addrs(vec![addr])
            .build()
            .await;
        match built {
            Ok(pc) => {
                if port != 0 {
                    shared.local_port.store(port, Ordering::Relaxed);
                }
                return Ok(Arc::new(pc));
            }
            Err(e) => {
                tracing::debug!(%addr, error = %e, "peer bind failed, trying next port");
                last_err = Some(e);
            }
        }
    }
    match last_err {
        Some(e) if first == 0 && last == 0 => Err(webrtc_err("build peer connection")(e)),
        _ => Err(PeerError::NoPort {
            ip: config.udp_bind,
            first,
            last,
        }),
    }
}

/// Adds our track for `kind`'s line, in `video_codec` for a video line.
async fn add_track(
    pc: &Arc<dyn PeerConnection>,
    kind: MediaKind,
    video_codec: Option<VideoCodec>,
) -> Result<Outgoing, PeerError> {
    let ssrc = rand::random::<u32>();
    let video = match video_codec.unwrap_or_default() {
        VideoCodec::Vp8 => vp8_codec(),
        // The fmtp does not travel with the track: the line's codec preference sets it.
        VideoCodec::H264 => h264_codec(&format!(
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id={}",
            H264_PTS[0].1
        )),
    };
    let (codec_kind, codec, stream) = match kind {
        MediaKind::Audio => (RtpCodecKind::Audio, opus_codec(), "plenum"),
        MediaKind::Video => (RtpCodecKind::Video, video, "plenum"),
        // Its own stream, so the browser does not fold the presentation into the main one.
        MediaKind::Slides => (RtpCodecKind::Video, video, "plenum-presentation"),
    };
    let clock_rate = codec.clock_rate;
    // Track ids share one namespace with the browser's in webrtc-rs's RTCP routing, hence
    // the SSRC in ours.
    let track_id = format!("plenum-{kind}-{ssrc:08x}");
    let track = Arc::new(
        TrackLocalStaticSample::new(
            Instant::now(),
            MediaStreamTrack::new(
                stream.to_owned(),
                track_id.clone(),
                track_id,
                codec_kind,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec,
                    ..Default::default()
                }],
            ),
        )
        .map_err(webrtc_err("create local track"))?,
    );
    let sender = pc
        .add_track(track.clone() as Arc<dyn TrackLocal>)
        .await
        .map_err(webrtc_err("add track"))?;
    Ok(Outgoing {
        track,
        sender,
        ssrc,
        codec: kind.is_video().then(|| video_codec.unwrap_or_default()),
        payload_type: None,
        clock: Arc::new(Mutex::new(RtpClock::new(clock_rate))),
    })
}

/// The mid of the transceiver `sender` belongs to.
async fn mid_of_sender(
    pc: &Arc<dyn PeerConnection>,
    sender: &Arc<dyn RtpSender>,
) -> Option<String> {
    let id = usize::from(sender.id());
    for transceiver in pc.get_transceivers().await {
        if transceiver.id() == id {
            return transceiver.mid().await.ok().flatten();
        }
    }
    None
}

/// The payload type the negotiation gave `sender`, if any.
async fn negotiated_payload_type(sender: &Arc<dyn RtpSender>) -> Option<u8> {
    let params = sender.get_parameters().await.ok()?;
    params.rtp_parameters.codecs.first().map(|c| c.payload_type)
}

// === impl Handler ===

struct Handler {
    shared: Arc<Shared>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let shared = &self.shared;
        if shared.local_port.load(Ordering::Relaxed) == 0 {
            shared
                .local_port
                .store(event.candidate.port, Ordering::Relaxed);
        }
        match event.candidate.to_json() {
            Ok(init) => {
                for candidate in advertised_candidates(&init.candidate, &shared.public_ips) {
                    let _ = shared.control.send(PeerEvent::LocalCandidate {
                        candidate,
                        mid: shared.mid.clone(),
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "unencodable local candidate"),
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.shared.gathered.send_replace(true);
            let _ = self.shared.control.send(PeerEvent::LocalCandidatesComplete);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let state = match state {
            RTCPeerConnectionState::Connecting => PeerState::Connecting,
            RTCPeerConnectionState::Connected => PeerState::Connected,
            RTCPeerConnectionState::Disconnected => PeerState::Disconnected,
            RTCPeerConnectionState::Failed => PeerState::Failed,
            RTCPeerConnectionState::Closed => PeerState::Closed,
            _ => PeerState::New,
        };
        tracing::debug!(?state, "peer connection state");
        let _ = self.shared.control.send(PeerEvent::StateChanged(state));
    }

    /// Runs on webrtc-rs's driver task: only spawns.
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let codec_kind = track.kind().await;
        if !matches!(codec_kind, RtpCodecKind::Audio | RtpCodecKind::Video) {
            tracing::debug!(kind = %codec_kind, "ignoring remote track");
            return;
        }
        let ssrc = track.ssrcs().await.first().copied().unwrap_or_default();
        let (me_tx, me_rx) = oneshot::channel();
        let task = tokio::spawn(receive(track, codec_kind, ssrc, self.shared.clone(), me_rx));
        let _ = me_tx.send(task.abort_handle());
    }
}

#[cfg(test)]
mod fuzz_rtp;

// === Receiving ===

/// Reads one remote track: tells which stream it is from its first event (`OnOpen` names
/// the receiver, hence the transceiver and its m-line), registers it for PLI, then
/// delivers its media until it ends. `me` is this task's own abort handle.
async fn receive(
    track: Arc<dyn TrackRemote>,
    codec_kind: RtpCodecKind,
    mut ssrc: u32,
    shared: Arc<Shared>,
    me: oneshot::Receiver<AbortHandle>,
) {
    let Ok(me) = me.await else { return };
    let mut pending = None;
    let kind = match track.poll().await {
        Some(TrackRemoteEvent::OnOpen(init)) => {
            if init.ssrc != 0 {
                ssrc = init.ssrc;
            }
            remote_kind(
                &shared,
                codec_kind,
                Some(usize::from(init.receiver_id)),
                ssrc,
            )
        }
        Some(other) => {
            pending = Some(other);
            remote_kind(&shared, codec_kind, None, ssrc)
        }
        None => return,
    };
    tracing::debug!(%kind, ssrc, "remote track");
    {
        // The newest track of a kind is the one PLIs go to; an older one (the browser
        // replaced its track) keeps being read until it ends.
        let mut streams = shared.streams();
        streams.remote[kind.index()] = Some(RemoteTrack {
            track: track.clone(),
            ssrc,
        });
        streams.receivers.retain(|t| !t.is_finished());
        streams.receivers.push(me);
    }

    let codec = shared.streams().outgoing[kind.index()]
        .as_ref()
        .and_then(|o| o.codec);
    let mut video = kind
        .is_video()
        .then(|| Reassembly::new(codec.unwrap_or_default()));
    // Frames one packet completed, sent on before the next packet is read.
    let mut frames = Vec::new();
    let mut next = pending;
    loop {
        let event = match next.take() {
            Some(event) => event,
            None => match track.poll().await {
                Some(event) => event,
                None => return,
            },
        };
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                MEDIA_STATS.rtp_packet_received(kind.stream_kind());
                if packet.header.ssrc != ssrc {
                    // The browser restarted the stream on a new SSRC: aim PLIs at it.
                    ssrc = packet.header.ssrc;
                    let mut streams = shared.streams();
                    if let Some(remote) = streams.remote[kind.index()].as_mut()
                        && Arc::ptr_eq(&remote.track, &track)
                    {
                        remote.ssrc = ssrc;
                    }
                }
                match video.as_mut() {
                    None => frames.extend(audio_frame(packet)),
                    Some(reassembly) => reassembly.push(kind, Instant::now(), packet, &mut frames),
                }
                for incoming in frames.drain(..) {
                    if shared.media.send(incoming).await.is_err() {
                        return;
                    }
                }
            }
            TrackRemoteEvent::OnRtcpPacket(packets) => shared.rtcp_events(&packets),
            TrackRemoteEvent::OnEnded => return,
            _ => {}
        }
    }
}

/// The Opus frame one RTP packet carries (none for an empty payload).
fn audio_frame(packet: rtc::rtp::Packet) -> Option<IncomingMedia> {
    if packet.payload.is_empty() {
        return None;
    }
    MEDIA_STATS.frame_received(StreamKind::Audio);
    Some(IncomingMedia {
        kind: MediaKind::Audio,
        payload: packet.payload,
        rtp_timestamp: packet.header.timestamp,
        keyframe: false,
    })
}

/// Reassembles one video stream's frames from RTP.
enum Reassembly {
    Vp8(SampleBuilder<Vp8Packet>),
    /// RFC 6184 (single NAL unit, STAP-A, FU-A) into Annex B access units.
    H264(SampleBuilder<H264Packet>),
}

impl Reassembly {
    fn new(codec: VideoCodec) -> Reassembly {
        match codec {
            VideoCodec::Vp8 => Reassembly::Vp8(SampleBuilder::new(
                VIDEO_MAX_LATE_PACKETS,
                Vp8Packet::default(),
                90_000,
            )),
            VideoCodec::H264 => Reassembly::H264(SampleBuilder::new(
                VIDEO_MAX_LATE_PACKETS,
                H264Packet::default(),
                90_000,
            )),
        }
    }

    /// Takes one RTP packet of a `kind` stream; the frames it completes are appended to
    /// `frames`.
    fn push(
        &mut self,
        kind: MediaKind,
        now: Instant,
        packet: rtc::rtp::Packet,
        frames: &mut Vec<IncomingMedia>,
    ) {
        match self {
            Reassembly::Vp8(builder) => {
                complete_frames(builder, kind, VideoCodec::Vp8, now, packet, frames);
            }
            Reassembly::H264(builder) => {
                if !h264_payload_is_sane(&packet.payload) {
                    // A malformed aggregation packet would panic rtc's depacketizer:
                    // treat it as lost (the decoder then asks for a keyframe).
                    return;
                }
                complete_frames(builder, kind, VideoCodec::H264, now, packet, frames);
            }
        }
    }
}

/// Whether rtc's H.264 depacketizer can take `payload` without panicking: a STAP-A
/// (type 24) must consist of whole (16-bit size, NAL unit) pairs; rtc 0.21.1 indexes past
/// the end on a dangling byte. Everything else it checks itself.
pub(super) fn h264_payload_is_sane(payload: &[u8]) -> bool {
    let Some(&header) = payload.first() else {
        return true;
    };
    if header & 0x1f != 24 {
        return true;
    }
    let mut rest = &payload[1..];
    while !rest.is_empty() {
        let [hi, lo, tail @ ..] = rest else {
            return false;
        };
        let size = usize::from(u16::from_be_bytes([*hi, *lo]));
        if size == 0 || size > tail.len() {
            return false;
        }
        rest = &tail[size..];
    }
    true
}

/// Pushes `packet` into `builder` and appends the frames (in `codec`) it completes.
fn complete_frames<D: Depacketizer>(
    builder: &mut SampleBuilder<D>,
    kind: MediaKind,
    codec: VideoCodec,
    now: Instant,
    packet: rtc::rtp::Packet,
    frames: &mut Vec<IncomingMedia>,
) {
    builder.push(now, packet);
    while let Some((sample, rtp_timestamp)) = builder.pop_with_timestamp(now) {
        if sample.data.is_empty() {
            continue;
        }
        let keyframe = codec.is_keyframe(&sample.data);
        MEDIA_STATS.frame_received(kind.stream_kind());
        frames.push(IncomingMedia {
            kind,
            payload: sample.data,
            rtp_timestamp,
            keyframe,
        });
    }
}

/// Which stream a remote track is: by its transceiver, else by the SSRC the offer
/// declared, else audio or main video by codec kind.
fn remote_kind(
    shared: &Shared,
    codec_kind: RtpCodecKind,
    transceiver: Option<usize>,
    ssrc: u32,
) -> MediaKind {
    let streams = shared.streams();
    transceiver
        .and_then(|t| streams.transceiver_kinds.get(&t).copied())
        .or_else(|| streams.remote_ssrcs.get(&ssrc).copied())
        .unwrap_or(if codec_kind == RtpCodecKind::Audio {
            MediaKind::Audio
        } else {
            MediaKind::Video
        })
}

// === RTCP to the application ===

/// Reads the RTCP feedback webrtc-rs routes to one of our tracks and turns it into events.
async fn forward_rtcp(track: Arc<TrackLocalStaticSample>, shared: Arc<Shared>) {
    // Ends when the connection closes (webrtc-rs ends the track's event stream).
    while let Some(event) = track.poll().await {
        if let TrackLocalEvent::OnRtcpPacket(packets) = event {
            shared.rtcp_events(&packets);
        }
    }
}

/// The last interceptor of the chain: passes the browser's keyframe requests, REMBs and
/// report blocks on to the application (webrtc-rs ends inbound RTCP at the end of the
/// chain unless a packet is marked [`Attribute::DeliverToApplication`]).
///
/// Each packet of interest goes on alone, and each report block as a receiver report of
/// its own: webrtc-rs routes an RTCP compound to a track by the first SSRC it names and
/// drops it when that is nobody's (an empty RR leading Chrome's compounds, or a report
/// block about an SSRC that is not ours), so splitting keeps every item on the track it is
/// about. The original compound continues unmarked and stops at the end of the chain as
/// before, so the other interceptors see exactly what they saw without this one.
#[derive(Default)]
struct RtcpToApplication {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl RtcpToApplication {
    /// The application's share of one inbound RTCP packet.
    fn for_application(packet: &dyn rtcp::Packet, out: &mut Vec<Box<dyn rtcp::Packet>>) {
        let any = packet.as_any();
        let blocks =
            |ssrc: u32, reports: &[ReceptionReport], out: &mut Vec<Box<dyn rtcp::Packet>>| {
                for report in reports {
                    out.push(Box::new(ReceiverReport {
                        ssrc,
                        reports: vec![report.clone()],
                        profile_extensions: Bytes::new(),
                    }));
                }
            };
        if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
            out.push(Box::new(pli.clone()));
        } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
            out.push(Box::new(fir.clone()));
        } else if let Some(remb) = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
            if !remb.ssrcs.is_empty() {
                out.push(Box::new(remb.clone()));
            }
        } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
            blocks(rr.ssrc, &rr.reports, out);
        } else if let Some(sr) = any.downcast_ref::<SenderReport>() {
            blocks(sr.ssrc, &sr.reports, out);
        }
    }
}

impl sansio::Protocol<TaggedPacket, TaggedPacket, ()> for RtcpToApplication {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = webrtc::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        let mut wanted = Vec::new();
        if let Packet::Rtcp(packets) = &msg.message.packet {
            for packet in packets {
                Self::for_application(packet.as_ref(), &mut wanted);
            }
        }
        let (now, transport) = (msg.now, msg.transport);
        self.read.push_back(msg);
        for packet in wanted {
            self.read.push_back(TaggedPacket {
                now,
                transport,
                message: AttributedPacket::new(Packet::Rtcp(vec![packet]))
                    .with(Attribute::DeliverToApplication),
            });
        }
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for RtcpToApplication {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

/// Counts the packets generic NACKs ask for, both ways, into [`MEDIA_STATS`]; passes
/// everything on unchanged.
#[derive(Default)]
struct NackCounter {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl NackCounter {
    /// Packets the NACKs in `msg` ask for.
    fn nacked(msg: &TaggedPacket) -> u64 {
        let Packet::Rtcp(packets) = &msg.message.packet else {
            return 0;
        };
        packets
            .iter()
            .filter_map(|p| p.as_any().downcast_ref::<TransportLayerNack>())
            .flat_map(|nack| &nack.nacks)
            .map(|pair| 1 + u64::from(pair.lost_packets.count_ones()))
            .sum()
    }
}

impl sansio::Protocol<TaggedPacket, TaggedPacket, ()> for NackCounter {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = webrtc::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        let nacked = Self::nacked(&msg);
        if nacked > 0 {
            MEDIA_STATS.nack_received(nacked);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        let nacked = Self::nacked(&msg);
        if nacked > 0 {
            MEDIA_STATS.nack_sent(nacked);
        }
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for NackCounter {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}
