//! One synthetic participant: a real WebRTC client (a webrtc-rs PeerConnection with Opus
//! and VP8, the SDK's `a=content` lines and `b=AS` bandwidth) that joins through the
//! client API, sends the shared test media at real-time pace and counts what the node
//! sends back: packets, frames, loss from the RTP sequence numbers, and glitches
//! (arrival gaps long enough to hear or see).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use tokio::sync::{Mutex as AsyncMutex, mpsc};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCIceGatheringState, RTCPeerConnectionState, RTCSessionDescription, Registry, configure_nack,
    configure_rtcp_reports,
};
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit, RtpSender};

use crate::api::Session;
use crate::media::{TestMedia, VIDEO_FPS};
use crate::relay::{self, Relay};

/// Longest wait for ICE gathering and for the connection.
const CONNECT_WAIT: Duration = Duration::from_secs(30);
/// An audio arrival gap longer than this is a glitch (a dropout one hears).
const AUDIO_GLITCH: Duration = Duration::from_millis(120);
/// A video frame gap longer than this is a glitch (a freeze one sees).
const VIDEO_GLITCH: Duration = Duration::from_millis(400);

/// The streams of a call, as the participant counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Audio = 0,
    Video = 1,
    Presentation = 2,
}

impl Stream {
    pub const ALL: [Stream; 3] = [Stream::Audio, Stream::Video, Stream::Presentation];

    pub fn name(self) -> &'static str {
        match self {
            Stream::Audio => "audio",
            Stream::Video => "video",
            Stream::Presentation => "presentation",
        }
    }
}

/// What a participant sends and receives: audio and video, audio only, and a
/// presentation line that sends (the presenter) or receives (the audience).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    pub video: bool,
    pub presentation: Option<Presentation>,
    /// The call bandwidth asked for on the video lines (`b=AS`, kbps); it picks the
    /// resolution the node sends (720p from 1264, 360p from 512).
    pub bandwidth_kbps: u32,
    /// Talks (a tone); the others send quiet room noise, as in a meeting.
    pub speaker: bool,
    /// All media through a [`Relay`] that fault tests cut and restore.
    pub through_relay: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presentation {
    Send,
    Receive,
}

/// One received stream's counts.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub packets: u64,
    /// Audio packets, or video frames (packets with the marker bit).
    pub frames: u64,
    /// Packets the sequence numbers say were sent (received + lost).
    pub expected: u64,
    pub glitches: u64,
    pub first_frame_at: Option<Instant>,
    last_frame_at: Option<Instant>,
    /// (ssrc, first extended sequence number, highest extended sequence number).
    sequence: Option<(u32, u64, u64)>,
}

impl Received {
    fn packet(&mut self, stream: Stream, ssrc: u32, seq: u16, marker: bool, now: Instant) {
        self.packets += 1;
        match &mut self.sequence {
            Some((current, _, highest)) if *current == ssrc => {
                let delta = i64::from(seq.wrapping_sub(*highest as u16) as i16);
                if delta > 0 {
                    *highest += delta as u64;
                }
            }
            other => {
                if let Some((_, first, highest)) = other.take() {
                    self.expected += highest - first + 1;
                }
                // Start high enough that reordering before the first packet stays positive.
                let start = (1 << 20) + u64::from(seq);
                *other = Some((ssrc, start, start));
            }
        }
        let frame_done = stream == Stream::Audio || marker;
        if frame_done {
            self.frames += 1;
            let limit = if stream == Stream::Audio {
                AUDIO_GLITCH
            } else {
                VIDEO_GLITCH
            };
            if let Some(last) = self.last_frame_at
                && now.duration_since(last) > limit
            {
                self.glitches += 1;
            }
            self.last_frame_at = Some(now);
            self.first_frame_at.get_or_insert(now);
        }
    }

    /// Received + lost packets so far.
    pub fn expected_packets(&self) -> u64 {
        self.expected
            + self
                .sequence
                .map_or(0, |(_, first, highest)| highest - first + 1)
    }
}

/// Counts shared between the participant and its tasks.
#[derive(Debug, Default)]
pub struct Counts {
    pub received: [Mutex<Received>; 3],
    pub frames_sent: [AtomicU64; 3],
}

impl Counts {
    pub fn received(&self, stream: Stream) -> Received {
        self.received[stream as usize]
            .lock()
            .expect("counts lock is never held across a panic")
            .clone()
    }

    pub fn frames_sent(&self, stream: Stream) -> u64 {
        self.frames_sent[stream as usize].load(Relaxed)
    }
}

struct Handler {
    gathered: mpsc::UnboundedSender<()>,
    states: mpsc::UnboundedSender<RTCPeerConnectionState>,
    counts: Arc<Counts>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(());
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.states.send(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        // The node names its tracks by what they carry.
        let id = track.track_id().await;
        let stream = if id.contains("slides") {
            Stream::Presentation
        } else if id.contains("video") {
            Stream::Video
        } else {
            Stream::Audio
        };
        let counts = self.counts.clone();
        tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(packet) = event {
                    counts.received[stream as usize]
                        .lock()
                        .expect("counts lock is never held across a panic")
                        .packet(
                            stream,
                            packet.header.ssrc,
                            packet.header.sequence_number,
                            packet.header.marker,
                            Instant::now(),
                        );
                }
            }
        });
    }
}

fn codec(mime: &str, clock_rate: u32, channels: u16) -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: mime.to_owned(),
        clock_rate,
        channels,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    }
}

/// One outgoing track.
struct Out {
    track: Arc<TrackLocalStaticSample>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
    stream: Stream,
}

fn local_track(stream: Stream, index: usize) -> (Arc<TrackLocalStaticSample>, u32) {
    let (kind, codec) = match stream {
        Stream::Audio => (RtpCodecKind::Audio, codec(MIME_TYPE_OPUS, 48_000, 2)),
        _ => (RtpCodecKind::Video, codec(MIME_TYPE_VP8, 90_000, 0)),
    };
    let ssrc = 0x1000_0000 + (index as u32) * 4 + stream as u32;
    let name = format!("load-{index}-{}", stream.name());
    let track = TrackLocalStaticSample::new(
        Instant::now(),
        MediaStreamTrack::new(
            format!("load-{index}"),
            name.clone(),
            name,
            kind,
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
    .expect("a local track from valid parameters");
    (Arc::new(track), ssrc)
}

/// A joined participant.
pub struct Participant {
    pub index: usize,
    pub joined_at: Instant,
    pub connected_at: Instant,
    pub counts: Arc<Counts>,
    pc: Arc<dyn PeerConnection>,
    session: Arc<AsyncMutex<Session>>,
    call: String,
    outs: Vec<Out>,
    relay: Option<Relay>,
    senders: Vec<JoinHandle<()>>,
    refresher: JoinHandle<()>,
}

impl std::fmt::Debug for Participant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Participant")
            .field("index", &self.index)
            .field("call", &self.call)
            .finish_non_exhaustive()
    }
}

/// Munges a webrtc-rs offer as the Pexip SDK's: `a=content:main` on the camera lines and
/// `a=content:slides` on the presentation line (the third), and the call bandwidth as
/// `b=AS` on every video line.
fn sdk_offer(sdp: &str, bandwidth_kbps: u32) -> String {
    let mut out = String::with_capacity(sdp.len() + 128);
    let mut m_lines = 0;
    let mut video = false;
    for line in sdp.lines() {
        if let Some(m) = line.strip_prefix("m=") {
            m_lines += 1;
            video = m.starts_with("video");
        }
        out.push_str(line);
        out.push_str("\r\n");
        if video && line.starts_with("c=") {
            out.push_str(&format!("b=AS:{bandwidth_kbps}\r\n"));
        }
        if line.starts_with("a=mid:") {
            out.push_str(if m_lines == 3 {
                "a=content:slides\r\n"
            } else {
                "a=content:main\r\n"
            });
        }
    }
    out
}

/// Per m-line of the node's answer, in order: whether the node receives on it
/// (`sendrecv` or `recvonly`, and not rejected with port 0).
fn node_receives(answer: &str) -> Vec<bool> {
    answer
        .split("\nm=")
        .skip(1)
        .map(|section| {
            let port_zero = section.split_whitespace().nth(1) == Some("0");
            let direction = section
                .lines()
                .map(str::trim_end)
                .find(|l| {
                    matches!(
                        *l,
                        "a=sendrecv" | "a=sendonly" | "a=recvonly" | "a=inactive"
                    )
                })
                .unwrap_or("a=sendrecv");
            !port_zero && matches!(direction, "a=sendrecv" | "a=recvonly")
        })
        .collect()
}

impl Participant {
    /// Joins through `session` (already holding a token) with `setup`: offers, answers,
    /// acks, waits for the connection, and starts sending `media` (offset by `index`, so
    /// the participants' keyframes do not all fall on one tick).
    pub async fn join(
        index: usize,
        session: Session,
        setup: Setup,
        media: Arc<TestMedia>,
        joined_at: Instant,
    ) -> anyhow::Result<Participant> {
        let mut engine = MediaEngine::default();
        for (c, pt, kind) in [
            (codec(MIME_TYPE_VP8, 90_000, 0), 96, RtpCodecKind::Video),
            (codec(MIME_TYPE_OPUS, 48_000, 2), 111, RtpCodecKind::Audio),
        ] {
            engine.register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: c,
                    payload_type: pt,
                },
                kind,
            )?;
        }
        let registry = configure_rtcp_reports(configure_nack(Registry::new(), &mut engine));
        let (gathered_tx, mut gathered) = mpsc::unbounded_channel();
        let (states_tx, mut states) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        let pc: Arc<dyn PeerConnection> = Arc::new(
            PeerConnectionBuilder::new()
                .with_media_engine(engine)
                .with_interceptor_registry(registry)
                .with_handler(Arc::new(Handler {
                    gathered: gathered_tx,
                    states: states_tx,
                    counts: counts.clone(),
                }))
                .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
                .build()
                .await?,
        );
        let result = Self::negotiate(index, &pc, &session, setup, &mut gathered, &mut states).await;
        let (call, outs, relay) = match result {
            Ok(done) => done,
            Err(error) => {
                let _ = pc.close().await;
                let _ = session.leave(None).await;
                return Err(error);
            }
        };
        let connected_at = Instant::now();
        let mut senders = Vec::with_capacity(outs.len());
        for out in &outs {
            senders.push(spawn_sender(out, &media, index, setup.speaker, counts.clone()).await?);
        }
        let expires = session.expires;
        let session = Arc::new(AsyncMutex::new(session));
        let refresher = {
            let session = session.clone();
            tokio::spawn(async move {
                let every = Duration::from_secs((expires / 3).max(1));
                loop {
                    tokio::time::sleep(every).await;
                    if let Err(error) = session.lock().await.refresh().await {
                        tracing::warn!(participant = index, %error, "token refresh failed");
                    }
                }
            })
        };
        Ok(Participant {
            index,
            joined_at,
            connected_at,
            counts,
            pc,
            session,
            call,
            outs,
            relay,
            senders,
            refresher,
        })
    }

    async fn negotiate(
        index: usize,
        pc: &Arc<dyn PeerConnection>,
        session: &Session,
        setup: Setup,
        gathered: &mut mpsc::UnboundedReceiver<()>,
        states: &mut mpsc::UnboundedReceiver<RTCPeerConnectionState>,
    ) -> anyhow::Result<(String, Vec<Out>, Option<Relay>)> {
        let mut outs = Vec::new();
        let mut streams = vec![Stream::Audio];
        if setup.video {
            streams.push(Stream::Video);
        }
        for stream in streams {
            let (track, ssrc) = local_track(stream, index);
            let sender = pc.add_track(track.clone() as Arc<dyn TrackLocal>).await?;
            outs.push(Out {
                track,
                sender,
                ssrc,
                stream,
            });
        }
        let init = |direction| RTCRtpTransceiverInit {
            direction,
            streams: vec![],
            send_encodings: vec![],
        };
        match setup.presentation {
            None => {}
            Some(Presentation::Receive) => {
                pc.add_transceiver_from_kind(
                    RtpCodecKind::Video,
                    Some(init(RTCRtpTransceiverDirection::Recvonly)),
                )
                .await?;
            }
            Some(Presentation::Send) => {
                session.take_floor().await?;
                let (track, ssrc) = local_track(Stream::Presentation, index);
                // Made sendrecv and narrowed, as webrtc-rs gives a transceiver made
                // without receiving no receiver.
                let transceiver = pc
                    .add_transceiver_from_track(
                        track.clone() as Arc<dyn TrackLocal>,
                        Some(init(RTCRtpTransceiverDirection::Sendrecv)),
                    )
                    .await?;
                transceiver
                    .set_direction(RTCRtpTransceiverDirection::Sendonly)
                    .await?;
                let sender = transceiver.sender().await?.context("presentation sender")?;
                outs.push(Out {
                    track,
                    sender,
                    ssrc,
                    stream: Stream::Presentation,
                });
            }
        }
        let offer = pc.create_offer(None).await?;
        pc.set_local_description(offer).await?;
        timeout(CONNECT_WAIT, gathered.recv())
            .await
            .context("ICE gathering did not complete")?;
        let local = pc
            .local_description()
            .await
            .context("no local description")?;
        let mut offer = sdk_offer(&local.sdp, setup.bandwidth_kbps);
        if setup.through_relay {
            offer = relay::without_candidates(&offer);
        }
        let (call, mut answer) = session.call(&offer, !setup.video).await?;
        let relay = if setup.through_relay {
            let node =
                relay::node_candidate(&answer).context("the answer has no host candidate")?;
            let relay = Relay::start(node).await?;
            answer = relay::through(&answer, node, relay.addr);
            Some(relay)
        } else {
            None
        };
        // Only lines the node receives on are sent on (it may answer video inactive,
        // e.g. when it downgrades a call to audio-only at capacity).
        let receiving = node_receives(&answer);
        outs.retain(|out| receiving.get(out.stream as usize).copied().unwrap_or(false));
        pc.set_remote_description(RTCSessionDescription::answer(answer)?)
            .await?;
        session.ack(&call).await?;
        timeout(CONNECT_WAIT, async {
            while let Some(state) = states.recv().await {
                match state {
                    RTCPeerConnectionState::Connected => return Ok(()),
                    RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                        bail!("the WebRTC connection {state}")
                    }
                    _ => {}
                }
            }
            bail!("the peer connection went away")
        })
        .await
        .context("the WebRTC connection did not come up")??;
        Ok((call, outs, relay))
    }

    /// Stops sending (the counts of what was sent are final after this).
    pub fn stop_sending(&mut self) {
        for sender in self.senders.drain(..) {
            sender.abort();
        }
        self.refresher.abort();
    }

    /// Hangs up and leaves as the SDK does, then closes the connection.
    pub async fn leave(mut self) -> anyhow::Result<()> {
        self.stop_sending();
        let result = {
            let session = self.session.lock().await;
            session.leave(Some(&self.call)).await
        };
        let _ = self.pc.close().await;
        self.outs.clear();
        result
    }

    /// Cuts the network path (with [`Setup::through_relay`]): nothing passes either way.
    pub fn cut(&self) {
        if let Some(relay) = &self.relay {
            relay.cut();
        }
    }

    /// Restores the network path after [`Participant::cut`].
    pub fn restore(&self) {
        if let Some(relay) = &self.relay {
            relay.restore();
        }
    }

    /// Vanishes like a client whose machine died: no more media, no token refresh, no
    /// call disconnect, no release_token, and (with [`Setup::through_relay`]) not a
    /// packet more on the network, not even ICE or a DTLS close. The connection object
    /// stays open on this side until the participant is dropped.
    pub fn vanish(&mut self) {
        self.stop_sending();
        self.cut();
    }

    /// The display names the client API lists in this participant's conference.
    pub async fn roster(&self) -> anyhow::Result<Vec<String>> {
        let participants = self.session.lock().await.participants().await?;
        Ok(participants
            .iter()
            .filter_map(|p| p["display_name"].as_str().map(str::to_owned))
            .collect())
    }
}

async fn spawn_sender(
    out: &Out,
    media: &Arc<TestMedia>,
    index: usize,
    speaker: bool,
    counts: Arc<Counts>,
) -> anyhow::Result<JoinHandle<()>> {
    let pt = out
        .sender
        .get_parameters()
        .await?
        .rtp_parameters
        .codecs
        .first()
        .context("no codec was negotiated")?
        .payload_type;
    let (frames, every): (Vec<Bytes>, Duration) = match out.stream {
        Stream::Audio if speaker => (media.audio.clone(), Duration::from_millis(20)),
        Stream::Audio => (media.quiet.clone(), Duration::from_millis(20)),
        _ => (media.video.clone(), Duration::from_secs(1) / VIDEO_FPS),
    };
    let (track, ssrc, stream) = (out.track.clone(), out.ssrc, out.stream);
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        // Start inside the loop's first keyframe interval so the first frame a node sees
        // is soon followed by a keyframe, at a different point for each participant.
        let offset = if stream == Stream::Audio {
            index % frames.len()
        } else {
            0
        };
        for frame in frames.iter().cycle().skip(offset) {
            tick.tick().await;
            let sample = Sample {
                data: frame.clone(),
                duration: every,
                ..Sample::new(Instant::now())
            };
            if track
                .sample_writer(ssrc, pt)
                .write_sample(&sample)
                .await
                .is_ok()
            {
                counts.frames_sent[stream as usize].fetch_add(1, Relaxed);
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offer_gets_content_and_bandwidth_lines() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\n";
        let offer = sdk_offer(sdp, 2048);
        assert_eq!(offer.matches("b=AS:2048").count(), 2);
        assert_eq!(offer.matches("a=content:main").count(), 2);
        assert_eq!(offer.matches("a=content:slides").count(), 1);
        assert!(offer.contains("a=mid:2\r\na=content:slides"));
        assert!(!offer.contains("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\nb=AS"));
    }

    #[test]
    fn only_lines_the_node_receives_on_are_sent_on() {
        let answer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n\
                      m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=inactive\r\n\
                      m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n\
                      m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n";
        assert_eq!(node_receives(answer), [true, false, true, false]);
    }

    #[test]
    fn sequence_numbers_give_loss_and_wrap() {
        let now = Instant::now();
        let mut r = Received::default();
        for seq in [65_533u16, 65_534, 65_535, 1, 2] {
            r.packet(Stream::Audio, 7, seq, false, now);
        }
        // 0 was lost across the wrap.
        assert_eq!((r.packets, r.expected_packets()), (5, 6));
        // A late packet does not move the count; a new SSRC starts again.
        r.packet(Stream::Audio, 7, 0, false, now);
        r.packet(Stream::Audio, 8, 100, false, now);
        r.packet(Stream::Audio, 8, 101, false, now);
        assert_eq!((r.packets, r.expected_packets()), (8, 8));
    }

    #[test]
    fn video_frames_end_at_the_marker_and_long_gaps_are_glitches() {
        let t = Instant::now();
        let mut r = Received::default();
        r.packet(Stream::Video, 1, 1, false, t);
        r.packet(Stream::Video, 1, 2, true, t);
        r.packet(Stream::Video, 1, 3, true, t + Duration::from_millis(40));
        r.packet(Stream::Video, 1, 4, true, t + Duration::from_millis(1000));
        assert_eq!((r.frames, r.glitches), (3, 1));
        assert_eq!(r.first_frame_at, Some(t));
    }
}
