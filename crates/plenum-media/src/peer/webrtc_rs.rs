//! The webrtc-rs 0.21.1 backend of [`super::Peer`]. Every webrtc-rs/rtc type stays in here.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::media::Sample;
use rtc::media::io::sample_builder::SampleBuilder;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCIceCandidateInit, RTCIceCandidateType, RTCIceGatheringState, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSessionDescription, Registry, SettingEngineBuilder, configure_nack,
    configure_rtcp_reports,
};
use webrtc::rtp_transceiver::RtpSender;

use super::{IncomingMedia, MediaKind, PeerConfig, PeerError, PeerEvent, PeerEvents, PeerState};

/// Payload types we register; the answer uses the offer's numbers for the same codecs.
const OPUS_PT: u8 = 111;
const VP8_PT: u8 = 96;
/// Received media buffered before the receive tasks wait for the consumer.
const MEDIA_QUEUE: usize = 256;
/// How far (in packets) the VP8 sample builder waits for a late packet.
const VP8_MAX_LATE_PACKETS: u16 = 256;

fn webrtc_err(op: &'static str) -> impl FnOnce(webrtc::error::Error) -> PeerError {
    move |e| PeerError::Webrtc {
        op,
        source: Box::new(e),
    }
}

/// One outgoing track and what the negotiation gave it.
struct Outgoing {
    track: Arc<TrackLocalStaticSample>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
    /// The negotiated payload type, `None` if the kind was not negotiated.
    payload_type: Option<u8>,
}

/// The remote video track (for PLI) once it has arrived.
type RemoteVideo = Arc<Mutex<Option<(Arc<dyn TrackRemote>, u32)>>>;

pub(super) struct Backend {
    pc: Arc<dyn PeerConnection>,
    audio: Outgoing,
    video: Outgoing,
    remote_video: RemoteVideo,
    local_port: Arc<AtomicU16>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("webrtc_rs::Backend")
            .field("audio_ssrc", &self.audio.ssrc)
            .field("audio_pt", &self.audio.payload_type)
            .field("video_ssrc", &self.video.ssrc)
            .field("video_pt", &self.video.payload_type)
            .field("local_port", &self.local_port.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Backend {
    pub(super) async fn answer(
        offer_sdp: &str,
        config: &PeerConfig,
    ) -> Result<(Backend, String, PeerEvents), PeerError> {
        let (media_tx, media_rx) = mpsc::channel(MEDIA_QUEUE);
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (gathered_tx, mut gathered_rx) = watch::channel(false);
        let remote_video: RemoteVideo = Arc::new(Mutex::new(None));
        let local_port = Arc::new(AtomicU16::new(0));
        let handler = Arc::new(Handler {
            control: control_tx,
            media: media_tx,
            gathered: gathered_tx,
            remote_video: remote_video.clone(),
            mid: super::first_mid(offer_sdp),
            local_port: local_port.clone(),
        });

        let pc = build_peer_connection(config, handler).await?;

        let offer = RTCSessionDescription::offer(offer_sdp.to_owned())
            .map_err(webrtc_err("parse offer"))?;
        pc.set_remote_description(offer)
            .await
            .map_err(webrtc_err("set remote description"))?;

        // Tracks are added after the offer is applied: 0.21 reuses the offered
        // transceivers, so the answer is sendrecv (0.17 answered recvonly here).
        let audio = add_track(&pc, MediaKind::Audio).await?;
        let video = add_track(&pc, MediaKind::Video).await?;

        let answer = pc
            .create_answer(None)
            .await
            .map_err(webrtc_err("create answer"))?;
        pc.set_local_description(answer)
            .await
            .map_err(webrtc_err("set local description"))?;

        // Bounded wait for gathering so the answer carries our candidates.
        let _ =
            tokio::time::timeout(config.gather_timeout, gathered_rx.wait_for(|done| *done)).await;

        let sdp = pc
            .local_description()
            .await
            .map(|d| d.sdp)
            .ok_or_else(|| PeerError::Webrtc {
                op: "local description",
                source: "no local description after set_local_description".into(),
            })?;

        let mut backend = Backend {
            pc,
            audio,
            video,
            remote_video,
            local_port,
        };
        backend.audio.payload_type = negotiated_payload_type(&backend.audio.sender).await;
        backend.video.payload_type = negotiated_payload_type(&backend.video.sender).await;
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
        let out = match kind {
            MediaKind::Audio => &self.audio,
            MediaKind::Video => &self.video,
        };
        let pt = out.payload_type.ok_or(PeerError::NotNegotiated(kind))?;
        let sample = Sample {
            data,
            duration,
            ..Sample::new(Instant::now())
        };
        out.track
            .sample_writer(out.ssrc, pt)
            .write_sample(&sample)
            .await
            .map_err(webrtc_err("write sample"))
    }

    pub(super) async fn request_keyframe(&self) -> Result<(), PeerError> {
        let remote = self
            .remote_video
            .lock()
            .expect("remote video lock is never held across a panic")
            .clone();
        let Some((track, media_ssrc)) = remote else {
            return Ok(());
        };
        track
            .write_rtcp(vec![Box::new(PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            })])
            .await
            .map_err(webrtc_err("send pli"))
    }

    pub(super) fn local_port(&self) -> u16 {
        self.local_port.load(Ordering::Relaxed)
    }

    pub(super) async fn close(&self) -> Result<(), PeerError> {
        self.pc.close().await.map_err(webrtc_err("close"))
    }
}

/// The media engine: only Opus/48000/2 and VP8/90000, so the answer picks these two.
fn media_engine() -> Result<MediaEngine, PeerError> {
    let fb = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
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
    vp8.rtcp_feedback = vec![
        fb("goog-remb", ""),
        fb("ccm", "fir"),
        fb("nack", ""),
        fb("nack", "pli"),
    ];
    engine
        .register_codec(
            RTCRtpCodecParameters {
                rtp_codec: vp8,
                payload_type: VP8_PT,
            },
            RtpCodecKind::Video,
        )
        .map_err(webrtc_err("register vp8"))?;
    Ok(engine)
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

/// Builds the PeerConnection on the first bindable port of the range.
async fn build_peer_connection(
    config: &PeerConfig,
    handler: Arc<Handler>,
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
        let mut registry = Registry::new();
        let mut engine = media_engine()?;
        registry = configure_nack(registry, &mut engine);
        registry = configure_rtcp_reports(registry);
        let mut settings = SettingEngineBuilder::new()
            .with_include_loopback_candidate(config.udp_bind.is_loopback());
        if !config.public_ips.is_empty() {
            settings = settings.with_nat_1to1_ips(
                config.public_ips.iter().map(IpAddr::to_string).collect(),
                RTCIceCandidateType::Host,
            );
        }
        let built = PeerConnectionBuilder::new()
            .with_media_engine(engine)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings.build())
            .with_handler(handler.clone())
            .with_udp_addrs(vec![addr])
            .build()
            .await;
        match built {
            Ok(pc) => {
                if port != 0 {
                    handler.local_port.store(port, Ordering::Relaxed);
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

async fn add_track(pc: &Arc<dyn PeerConnection>, kind: MediaKind) -> Result<Outgoing, PeerError> {
    let ssrc = rand::random::<u32>();
    let (codec_kind, codec, name) = match kind {
        MediaKind::Audio => (RtpCodecKind::Audio, opus_codec(), "audio"),
        MediaKind::Video => (RtpCodecKind::Video, vp8_codec(), "video"),
    };
    let track = Arc::new(
        TrackLocalStaticSample::new(
            Instant::now(),
            MediaStreamTrack::new(
                "plenum".to_owned(),
                format!("plenum-{name}"),
                format!("plenum-{name}"),
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
        payload_type: None,
    })
}

/// The payload type the negotiation gave `sender`, if any.
async fn negotiated_payload_type(sender: &Arc<dyn RtpSender>) -> Option<u8> {
    let params = sender.get_parameters().await.ok()?;
    params.rtp_parameters.codecs.first().map(|c| c.payload_type)
}

// === impl Handler ===

struct Handler {
    control: mpsc::UnboundedSender<PeerEvent>,
    media: mpsc::Sender<IncomingMedia>,
    gathered: watch::Sender<bool>,
    remote_video: RemoteVideo,
    /// The bundle tag, reported with trickled candidates.
    mid: String,
    local_port: Arc<AtomicU16>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if self.local_port.load(Ordering::Relaxed) == 0 {
            self.local_port
                .store(event.candidate.port, Ordering::Relaxed);
        }
        match event.candidate.to_json() {
            Ok(init) => {
                let _ = self.control.send(PeerEvent::LocalCandidate {
                    candidate: init.candidate,
                    mid: self.mid.clone(),
                });
            }
            Err(e) => tracing::warn!(error = %e, "unencodable local candidate"),
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.send_replace(true);
            let _ = self.control.send(PeerEvent::LocalCandidatesComplete);
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
        let _ = self.control.send(PeerEvent::StateChanged(state));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let Some(ssrc) = track.ssrcs().await.first().copied() else {
            tracing::warn!("remote track without ssrc");
            return;
        };
        let media = self.media.clone();
        match track.kind().await {
            RtpCodecKind::Audio => {
                tokio::spawn(receive_audio(track, media));
            }
            RtpCodecKind::Video => {
                *self
                    .remote_video
                    .lock()
                    .expect("remote video lock is never held across a panic") =
                    Some((track.clone(), ssrc));
                tokio::spawn(receive_video(track, media));
            }
            other => tracing::debug!(kind = %other, "ignoring remote track"),
        }
    }
}

async fn receive_audio(track: Arc<dyn TrackRemote>, media: mpsc::Sender<IncomingMedia>) {
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                if packet.payload.is_empty() {
                    continue;
                }
                let incoming = IncomingMedia {
                    kind: MediaKind::Audio,
                    payload: packet.payload,
                    rtp_timestamp: packet.header.timestamp,
                    keyframe: false,
                };
                if media.send(incoming).await.is_err() {
                    return;
                }
            }
            TrackRemoteEvent::OnEnded => return,
            _ => {}
        }
    }
}

async fn receive_video(track: Arc<dyn TrackRemote>, media: mpsc::Sender<IncomingMedia>) {
    let mut builder = SampleBuilder::new(VP8_MAX_LATE_PACKETS, Vp8Packet::default(), 90_000);
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                let now = Instant::now();
                builder.push(now, packet);
                while let Some((sample, rtp_timestamp)) = builder.pop_with_timestamp(now) {
                    if sample.data.is_empty() {
                        continue;
                    }
                    // VP8 frame tag (RFC 6386 §9.1): bit 0 of the first byte is 0 on a keyframe.
                    let keyframe = sample.data[0] & 0x01 == 0;
                    let incoming = IncomingMedia {
                        kind: MediaKind::Video,
                        payload: sample.data,
                        rtp_timestamp,
                        keyframe,
                    };
                    if media.send(incoming).await.is_err() {
                        return;
                    }
                }
            }
            TrackRemoteEvent::OnEnded => return,
            _ => {}
        }
    }
}
