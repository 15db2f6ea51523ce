//! The WebRTC peer adapter: one browser's PeerConnection, seen by the rest of the media
//! engine through our own small types ([`PeerConfig`], [`IncomingMedia`], [`PeerEvent`],
//! [`PeerState`], [`MediaDirection`], [`PeerError`]).
//!
//! webrtc-rs (`webrtc`/`rtc` 0.21.1) types never leave this module (STYLE principle 4): the
//! backend lives in `peer::webrtc_rs` and [`Peer`] only delegates to it, so another stack
//! (str0m) can replace it behind the same surface.
//!
//! What the answerer negotiates (client API §4):
//!
//! * **Codecs.** Opus/48000/2 for audio. For each video line, the first codec of the
//!   offer's own order that we support: VP8/90000 or H.264/90000 (Constrained Baseline,
//!   `packetization-mode=1`; off with [`PeerConfig::h264`]), so the Pexip SDK in Chrome,
//!   which lists H.264 first, gets H.264 and Firefox gets VP8. The answer carries exactly
//!   that one codec per line ([`Peer::video_codec`]), fixed for the call. A line whose
//!   codecs we cannot use (audio without Opus, video with neither) is rejected in the
//!   answer (port 0, RFC 3264 §6) with a warning naming what it offered, and the rest of
//!   the call goes on; an offer with no usable line at all, or a re-offer taking the
//!   call's codec away from a line it carries, is refused with
//!   [`PeerError::NoCommonCodec`] naming what it offered. Video carries `nack`,
//!   `nack pli`, `ccm fir`, `goog-remb` and `transport-cc` feedback.
//! * **Streams.** The m-lines are found by kind and `a=content`: the first audio line is
//!   [`MediaKind::Audio`], the first video line without `a=content:slides` is
//!   [`MediaKind::Video`], the video line with `a=content:slides` is [`MediaKind::Slides`]
//!   (the presentation). Further lines are answered `inactive`.
//! * **Directions** follow RFC 3264 §6.1 for every line: an offered `sendonly` is answered
//!   `recvonly`, `recvonly` → `sendonly`, `inactive` → `inactive`, `sendrecv` → `sendrecv`.
//!   So the SDK's presentation line (`sendonly` while it presents, `recvonly` while someone
//!   else does) tells us whether to receive or to send slides; [`Peer::direction`] says which.
//!   Sending a kind the answer does not send is [`PeerError::NotNegotiated`].
//! * **`a=content`** is echoed on every m-line ([`echo_content_attributes`]).
//! * **Renegotiation** ([`Peer::update`]) runs on the same PeerConnection: direction changes
//!   and ICE restarts (fresh `ice-ufrag`/`ice-pwd`), with the same outgoing SSRCs.
//! * **RTCP from the browser** about what we send becomes [`PeerEvent::KeyframeRequested`]
//!   (PLI, FIR), [`PeerEvent::ReceiverEstimate`] (REMB) and [`PeerEvent::ReceiverLoss`]
//!   (receiver report blocks). NACKs are answered inside webrtc-rs from its send buffer; see
//!   `peer::webrtc_rs` for what is active and what is not.
//!
//! Garbage never reaches the WebRTC stack: `Offer::parse` checks an offer's shape first
//! (an SDP, a first offer's `a=setup:actpass`, a fingerprint, ICE credentials, mids,
//! codecs) and names what is wrong in [`PeerError::InvalidOffer`]; refusals are errors,
//! never panics, and a refused first offer leaves no socket or task behind.
//!
//! Ports: webrtc-rs 0.21 has no UDP mux, so every peer binds its own socket. [`Peer::answer`]
//! binds one port from [`PeerConfig::port_range`] on [`PeerConfig::udp_bind`].
//!
//! Sharing: [`Peer`] is `Send + Sync` and meant to sit in an `Arc`. One task per peer sends
//! media while others add candidates or renegotiate; sends never wait for a renegotiation
//! (they read the negotiated state under a short lock that is never held across an await).

mod webrtc_rs;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::video::VideoCodec;

/// How a peer binds and advertises itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// Local address to bind the peer's UDP socket on (`127.0.0.1` in tests). A wildcard
    /// binds one socket per non-loopback interface (webrtc-rs behaviour).
    pub udp_bind: IpAddr,
    /// Inclusive UDP port range; `(0, 0)` lets the OS pick an ephemeral port.
    pub port_range: (u16, u16),
    /// Public addresses advertised instead of the bound one (NAT 1:1), if any.
    pub public_ips: Vec<IpAddr>,
    /// How long [`Peer::answer`] (and [`Peer::update`] after an ICE restart) waits for
    /// candidate gathering before it returns the answer anyway (later candidates then
    /// arrive as [`PeerEvent::LocalCandidate`]). The client API must answer within 5 s.
    pub gather_timeout: Duration,
    /// H.264 may be negotiated (when an offer prefers it); `false` pins every call to VP8.
    pub h264: bool,
}

impl PeerConfig {
    /// Binds `udp_bind` on an OS-chosen port, no public addresses, 2 s gathering budget.
    pub fn new(udp_bind: IpAddr) -> PeerConfig {
        PeerConfig {
            udp_bind,
            port_range: (0, 0),
            public_ips: Vec::new(),
            gather_timeout: Duration::from_secs(2),
            h264: true,
        }
    }
}

/// Which stream of the call: main audio, main video, or the presentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// The `a=content:main` audio line (Opus).
    Audio,
    /// The `a=content:main` video line (VP8 or H.264): cameras in, composites out.
    Video,
    /// The `a=content:slides` video line (VP8 or H.264): the presentation, in one
    /// direction at a time.
    Slides,
}

impl MediaKind {
    /// Every kind, in a fixed order.
    pub const ALL: [MediaKind; 3] = [MediaKind::Audio, MediaKind::Video, MediaKind::Slides];

    /// A dense index for per-kind arrays.
    fn index(self) -> usize {
        match self {
            MediaKind::Audio => 0,
            MediaKind::Video => 1,
            MediaKind::Slides => 2,
        }
    }

    /// The kind as the media counters label it.
    pub fn stream_kind(self) -> crate::stats::StreamKind {
        match self {
            MediaKind::Audio => crate::stats::StreamKind::Audio,
            MediaKind::Video => crate::stats::StreamKind::Video,
            MediaKind::Slides => crate::stats::StreamKind::Presentation,
        }
    }

    /// Whether the kind is video (everything but audio).
    pub fn is_video(self) -> bool {
        self != MediaKind::Audio
    }
}

/// Which way a negotiated stream flows, from our side (the answer's `a=` direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MediaDirection {
    SendRecv,
    SendOnly,
    RecvOnly,
    /// Also what a kind that the offer did not carry at all reports.
    #[default]
    Inactive,
}

impl MediaDirection {
    /// Whether we send on the stream.
    pub fn sends(self) -> bool {
        matches!(self, MediaDirection::SendRecv | MediaDirection::SendOnly)
    }

    /// Whether we receive on the stream.
    pub fn receives(self) -> bool {
        matches!(self, MediaDirection::SendRecv | MediaDirection::RecvOnly)
    }

    /// RFC 3264 §6.1: what an answerer able to send and receive answers to an offered
    /// direction (the offerer's own view).
    fn answering(offered: MediaDirection) -> MediaDirection {
        match offered {
            MediaDirection::SendRecv => MediaDirection::SendRecv,
            MediaDirection::SendOnly => MediaDirection::RecvOnly,
            MediaDirection::RecvOnly => MediaDirection::SendOnly,
            MediaDirection::Inactive => MediaDirection::Inactive,
        }
    }

    /// The SDP attribute name (`sendrecv`, …).
    pub fn as_sdp(self) -> &'static str {
        match self {
            MediaDirection::SendRecv => "sendrecv",
            MediaDirection::SendOnly => "sendonly",
            MediaDirection::RecvOnly => "recvonly",
            MediaDirection::Inactive => "inactive",
        }
    }
}

/// Media received from the remote peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMedia {
    pub kind: MediaKind,
    /// One Opus packet, or one complete video frame in the line's codec (reassembled from
    /// its RTP packets: a VP8 frame, or an H.264 access unit in Annex B).
    pub payload: Bytes,
    /// The RTP timestamp (48 kHz for Opus, 90 kHz for video).
    pub rtp_timestamp: u32,
    /// A VP8 keyframe or an H.264 access unit with an IDR slice (always `false` for
    /// audio).
    pub keyframe: bool,
}

/// The connection's state (the W3C `RTCPeerConnectionState`, our own copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerState {
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

/// Low-rate events of one peer. Media comes on its own channel ([`PeerEvents::media`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEvent {
    /// The connection state changed.
    StateChanged(PeerState),
    /// A local ICE candidate (`candidate:…`) for trickling to the browser. Candidates
    /// gathered before [`Peer::answer`] returned are in the answer too; re-sending them
    /// is harmless. After an ICE restart the new generation's candidates come again.
    LocalCandidate { candidate: String, mid: String },
    /// Local gathering finished (send the empty end-of-candidates marker if trickling).
    LocalCandidatesComplete,
    /// The browser asked for a keyframe (RTCP PLI or FIR) of what we send on `kind`
    /// ([`MediaKind::Video`] or [`MediaKind::Slides`]). Browsers repeat these under loss;
    /// coalesce them before encoding a keyframe.
    KeyframeRequested { kind: MediaKind },
    /// The browser's receive-side bandwidth estimate (RTCP REMB) for what we send. One REMB
    /// covers every stream it lists, so each listed kind reports the same total.
    ReceiverEstimate { kind: MediaKind, bitrate_bps: u64 },
    /// The browser's receiver report about what we send on `kind`: the fraction of packets
    /// lost since its previous report, in 1/256 (RFC 3550 §6.4.1).
    ReceiverLoss { kind: MediaKind, fraction_lost: u8 },
}

/// The receiving ends of a peer's events.
#[derive(Debug)]
pub struct PeerEvents {
    /// Received media; bounded, so a stalled consumer back-pressures the receive tasks.
    pub media: mpsc::Receiver<IncomingMedia>,
    /// State changes, local candidates and RTCP feedback.
    pub control: mpsc::UnboundedReceiver<PeerEvent>,
}

/// What [`Peer::answer`] returns.
#[derive(Debug)]
pub struct Answered {
    pub peer: Peer,
    /// The SDP answer to send to the browser (candidates included if gathered in time).
    pub sdp: String,
    pub events: PeerEvents,
}

/// Why a peer operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The offer is not a usable SDP offer (garbage, an answer, truncated, no mids …).
    #[error("invalid offer: {0}")]
    InvalidOffer(String),
    /// The offer's line for `kind` has no codec we can use (Opus for audio; VP8, or H.264
    /// Constrained Baseline in packetization mode 1 where allowed, for video).
    #[error(
        "the offer has no codec we support for {kind} (opus/48000 for audio; vp8/90000 or \
         h264/90000 baseline with packetization-mode=1 for video); it offered: {offered}"
    )]
    NoCommonCodec { kind: MediaKind, offered: String },
    /// A trickled candidate that is not one (the WebRTC stack's own refusals of malformed
    /// candidates come as [`PeerError::Webrtc`]).
    #[error("invalid candidate: {0}")]
    InvalidCandidate(&'static str),
    /// The WebRTC stack refused an operation (bad SDP, bad candidate, closed, …).
    #[error("webrtc {op} failed")]
    Webrtc {
        op: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No port of the configured range could be bound.
    #[error("no free udp port in {first}..={last} on {ip}")]
    NoPort { ip: IpAddr, first: u16, last: u16 },
    /// The current negotiation does not let us send this kind (no m-line, or a direction
    /// without send).
    #[error("{0:?} was not negotiated")]
    NotNegotiated(MediaKind),
}

// === impl Peer ===

/// One browser's PeerConnection, answering its offers.
#[derive(Debug)]
pub struct Peer {
    backend: webrtc_rs::Backend,
}

impl Peer {
    /// Checks and applies the browser's offer, adds our outgoing tracks (audio, video and
    /// slides, for the lines the offer has), and returns the answer once candidate
    /// gathering completes (or after `config.gather_timeout`). On any error nothing is
    /// left behind: the PeerConnection, its socket and its tasks are closed.
    pub async fn answer(offer_sdp: &str, config: PeerConfig) -> Result<Answered, PeerError> {
        let offer = Offer::parse(offer_sdp, config.h264)?;
        offer.check_initial()?;
        offer.log_unusable();
        let (backend, answer, events) =
            webrtc_rs::Backend::answer(&offer, offer_sdp, &config).await?;
        Ok(Answered {
            peer: Peer { backend },
            sdp: finish_answer(offer_sdp, &answer),
            events,
        })
    }

    /// Applies a new offer from the browser on the same connection (presentation direction
    /// changes, ICE restarts) and returns the answer. After an ICE restart the answer
    /// carries the new credentials and, if gathered within `gather_timeout`, candidates.
    /// A refused offer leaves the current session as it was.
    pub async fn update(&self, offer_sdp: &str) -> Result<String, PeerError> {
        let offer = Offer::parse(offer_sdp, self.backend.h264())?;
        // A line the call already carries cannot lose its codec in a re-offer.
        if let Some((kind, offered)) = offer
            .unusable
            .iter()
            .find(|(kind, _)| self.backend.has_track(*kind))
        {
            return Err(PeerError::NoCommonCodec {
                kind: *kind,
                offered: offered.clone(),
            });
        }
        offer.log_unusable();
        let answer = self.backend.update(&offer, offer_sdp).await?;
        Ok(finish_answer(offer_sdp, &answer))
    }

    /// Adds a trickled remote candidate (`candidate:…`, with or without the prefix). The
    /// empty string is the end-of-candidates marker and is accepted.
    pub async fn add_remote_candidate(
        &self,
        candidate: &str,
        mid: Option<&str>,
    ) -> Result<(), PeerError> {
        if candidate
            .trim()
            .strip_prefix("candidate:")
            .is_some_and(|value| value.trim().is_empty())
        {
            // webrtc-rs would take a bare prefix for the end-of-candidates marker.
            return Err(PeerError::InvalidCandidate("nothing after candidate:"));
        }
        self.backend.add_remote_candidate(candidate, mid).await
    }

    /// Sends one Opus packet lasting `duration` (20 ms usually).
    pub async fn send_audio(&self, packet: Bytes, duration: Duration) -> Result<(), PeerError> {
        self.backend.send(MediaKind::Audio, packet, duration).await
    }

    /// Sends one video frame (in [`Peer::video_codec`]) lasting `duration` (the frame
    /// interval); it is packetized here.
    pub async fn send_video(&self, frame: Bytes, duration: Duration) -> Result<(), PeerError> {
        self.backend.send(MediaKind::Video, frame, duration).await
    }

    /// Sends one presentation frame (in the slides line's codec) lasting `duration`. Only while the slides line is
    /// negotiated for sending ([`Peer::slides_direction`]`.sends()`), else
    /// [`PeerError::NotNegotiated`].
    pub async fn send_slides(&self, frame: Bytes, duration: Duration) -> Result<(), PeerError> {
        self.backend.send(MediaKind::Slides, frame, duration).await
    }

    /// Asks the browser for a keyframe of what it sends on `kind` (RTCP PLI). A no-op for
    /// audio and until that kind's track has arrived.
    pub async fn request_keyframe(&self, kind: MediaKind) -> Result<(), PeerError> {
        self.backend.request_keyframe(kind).await
    }

    /// The video codec `kind`'s line negotiated (both ways), `None` for audio and for
    /// lines the offers did not carry.
    pub fn video_codec(&self, kind: MediaKind) -> Option<VideoCodec> {
        self.backend.video_codec(kind)
    }

    /// The negotiated direction of `kind` from our side; [`MediaDirection::Inactive`] for
    /// a kind the offer did not carry.
    pub fn direction(&self, kind: MediaKind) -> MediaDirection {
        self.backend.direction(kind)
    }

    /// The presentation's direction: `SendOnly` means we send slides, `RecvOnly` that the
    /// browser presents to us.
    pub fn slides_direction(&self) -> MediaDirection {
        self.direction(MediaKind::Slides)
    }

    /// The UDP port the peer bound.
    pub fn local_port(&self) -> u16 {
        self.backend.local_port()
    }

    /// Closes the connection; the event channels end afterwards. Dropping a [`Peer`]
    /// without closing it closes it in the background.
    pub async fn close(&self) -> Result<(), PeerError> {
        self.backend.close().await
    }
}

/// The answer text as the browser gets it: `a=content` echoed, inactive kept inactive.
fn finish_answer(offer: &str, answer: &str) -> String {
    answer_inactive_as_inactive(offer, &echo_content_attributes(offer, answer))
}

// === Offer inspection ===

/// What an offer asks for, read from its text before the WebRTC stack sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Offer {
    /// Every m-line, in order.
    media: Vec<OfferedMedia>,
    /// The first `a=setup` value other than `actpass`, if any.
    setup: Option<String>,
    /// Lines we could use but for their codecs: the kind and what they offered. They get
    /// no role, so the answer rejects them (port 0) and the rest of the call goes on.
    unusable: Vec<(MediaKind, String)>,
}

/// A video codec as one m-line offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OfferedCodec {
    codec: VideoCodec,
    /// Its payload type in the offer.
    payload_type: u8,
    /// Its `a=fmtp` parameters in the offer (empty if none).
    fmtp: String,
}

/// One m-line of an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OfferedMedia {
    /// The `a=mid` value (empty only for lines we ignore, which webrtc-rs then refuses).
    mid: String,
    /// The stream this line carries for us; `None` for lines answered inactive (extra
    /// lines, data channels, rejected lines).
    role: Option<MediaKind>,
    /// The offerer's direction (its own view).
    offered: MediaDirection,
    /// Port 0 without `a=bundle-only`: the offerer rejected or stopped the line.
    rejected: bool,
    /// The offerer's SSRCs on this line (`a=ssrc`), to tell its streams apart on arrival.
    ssrcs: Vec<u32>,
    /// Every video codec of this line we could use, in the offer's order of preference.
    video_codecs: Vec<OfferedCodec>,
    /// `ice-ufrag` and `ice-pwd` in effect for the line (its own, else the session's).
    ice: Option<(String, String)>,
}

impl Offer {
    /// Reads and checks an offer. Refuses anything that is not an SDP offer we can answer
    /// with Opus and VP8 (or H.264, when `h264`); never panics on any input.
    fn parse(sdp: &str, h264: bool) -> Result<Offer, PeerError> {
        let invalid = |reason: String| Err(PeerError::InvalidOffer(reason));
        let mut lines = sdp
            .trim_start_matches('\u{feff}')
            .lines()
            .map(str::trim)
            .enumerate()
            .filter(|(_, l)| !l.is_empty());
        match lines.next() {
            Some((_, "v=0")) => {}
            Some(_) => return invalid("not an sdp (the first line must be v=0)".into()),
            None => return invalid("empty".into()),
        }

        #[derive(Default)]
        struct Section {
            media: String,
            port: u16,
            /// The m-line's payload types, in order.
            formats: Vec<String>,
            /// `a=fmtp` lines: payload type and parameters.
            fmtps: Vec<(String, String)>,
            mid: Option<String>,
            content: Option<String>,
            direction: Option<MediaDirection>,
            /// `a=rtpmap` lines: payload type and `name/rate[/channels]`, lowercase.
            codecs: Vec<(String, String)>,
            ssrcs: Vec<u32>,
            ufrag: Option<String>,
            pwd: Option<String>,
            /// `a=bundle-only` (RFC 8843 §6): port 0 then means "in the BUNDLE transport",
            /// not "rejected". Firefox marks every line but the first so under the SDK's
            /// `max-bundle` policy.
            bundle_only: bool,
        }
        let mut session = Section::default();
        let mut sections: Vec<Section> = Vec::new();
        let mut fingerprint = false;
        let mut setup = None;
        for (n, line) in lines {
            let bytes = line.as_bytes();
            if bytes.len() < 2 || !bytes[0].is_ascii_lowercase() || bytes[1] != b'=' {
                return invalid(format!("line {} is not an sdp line", n + 1));
            }
            let current = sections.last_mut().unwrap_or(&mut session);
            if let Some(m) = line.strip_prefix("m=") {
                let mut fields = m.split_whitespace();
                let media = fields.next().unwrap_or_default().to_ascii_lowercase();
                let port = fields
                    .next()
                    .and_then(|p| p.split('/').next())
                    .and_then(|p| p.parse::<u16>().ok());
                let (Some(port), Some(_proto)) = (port, fields.next()) else {
                    return invalid(format!("line {} is a malformed m-line", n + 1));
                };
                sections.push(Section {
                    media,
                    port,
                    formats: fields.map(str::to_owned).collect(),
                    ..Section::default()
                });
                continue;
            }
            let Some(attribute) = line.strip_prefix("a=") else {
                continue;
            };
            let (key, value) = attribute.split_once(':').unwrap_or((attribute, ""));
            let value = value.trim();
            match key {
                "setup" if value != "actpass" && setup.is_none() => {
                    // Shortened: it ends up in an error message.
                    setup = Some(value.chars().take(16).collect::<String>());
                }
                "fingerprint" => fingerprint = true,
                "ice-ufrag" => current.ufrag = Some(value.to_owned()),
                "ice-pwd" => current.pwd = Some(value.to_owned()),
                "mid" => current.mid = Some(value.to_owned()),
                "bundle-only" => current.bundle_only = true,
                "content" => current.content = Some(value.to_owned()),
                "sendrecv" => current.direction = Some(MediaDirection::SendRecv),
                "sendonly" => current.direction = Some(MediaDirection::SendOnly),
                "recvonly" => current.direction = Some(MediaDirection::RecvOnly),
                "inactive" => current.direction = Some(MediaDirection::Inactive),
                "rtpmap" => {
                    // `a=rtpmap:<pt> <name>/<clock rate>[/<channels>]`
                    if let Some((pt, codec)) = value.split_once(' ') {
                        current
                            .codecs
                            .push((pt.trim().to_owned(), codec.trim().to_ascii_lowercase()));
                    }
                }
                "fmtp" => {
                    if let Some((pt, params)) = value.split_once(' ') {
                        current
                            .fmtps
                            .push((pt.trim().to_owned(), params.trim().to_owned()));
                    }
                }
                "ssrc" => {
                    if let Some(ssrc) = value
                        .split_whitespace()
                        .next()
                        .and_then(|s| s.parse::<u32>().ok())
                        && !current.ssrcs.contains(&ssrc)
                    {
                        current.ssrcs.push(ssrc);
                    }
                }
                _ => {}
            }
        }

        if !sections
            .iter()
            .any(|s| s.port != 0 && matches!(s.media.as_str(), "audio" | "video"))
        {
            return invalid("no audio or video m-line".into());
        }
        if !fingerprint {
            return invalid("no a=fingerprint (DTLS is mandatory)".into());
        }

        let session_ice = session.ufrag.clone().zip(session.pwd.clone());
        let mut mids = HashSet::new();
        let mut taken = HashSet::new();
        let mut media = Vec::with_capacity(sections.len());
        let mut unusable = Vec::new();
        for (i, s) in sections.into_iter().enumerate() {
            let rejected = s.port == 0 && !s.bundle_only;
            let mid = s.mid.unwrap_or_default();
            let av = matches!(s.media.as_str(), "audio" | "video");
            if av && mid.is_empty() {
                return invalid(format!("m-line {} has no a=mid", i + 1));
            }
            if !mid.is_empty() && !mids.insert(mid.clone()) {
                return invalid(format!("a=mid:{mid} appears twice"));
            }
            let ice = s.ufrag.zip(s.pwd).or_else(|| session_ice.clone());
            if av && !rejected && ice.is_none() {
                return invalid(format!("m-line {} has no ice-ufrag/ice-pwd", i + 1));
            }
            let candidate = match (s.media.as_str(), s.content.as_deref()) {
                ("audio", _) => Some(MediaKind::Audio),
                ("video", Some("slides")) => Some(MediaKind::Slides),
                ("video", _) => Some(MediaKind::Video),
                _ => None,
            };
            let mut role = candidate.filter(|kind| !rejected && taken.insert(*kind));
            let video_codecs = if role.is_some_and(MediaKind::is_video) {
                usable_video_codecs(&s.formats, &s.codecs, &s.fmtps, h264)
            } else {
                Vec::new()
            };
            if let Some(kind) = role {
                let usable = if kind == MediaKind::Audio {
                    s.codecs.iter().any(|(_, c)| {
                        let mut parts = c.split('/');
                        parts.next() == Some("opus") && parts.next() == Some("48000")
                    })
                } else {
                    !video_codecs.is_empty()
                };
                if !usable {
                    let mut offered: Vec<&str> = s.codecs.iter().map(|(_, c)| c.as_str()).collect();
                    offered.dedup();
                    let offered = if offered.is_empty() {
                        "nothing".to_owned()
                    } else {
                        offered.join(", ")
                    };
                    unusable.push((kind, offered));
                    role = None;
                }
            }
            media.push(OfferedMedia {
                mid,
                role,
                offered: s
                    .direction
                    .or(session.direction)
                    .unwrap_or(MediaDirection::SendRecv),
                rejected,
                ssrcs: s.ssrcs,
                video_codecs,
                ice,
            });
        }
        if media.iter().all(|m| m.role.is_none())
            && let Some((kind, offered)) = unusable.first()
        {
            return Err(PeerError::NoCommonCodec {
                kind: *kind,
                offered: offered.clone(),
            });
        }
        Ok(Offer {
            media,
            setup,
            unusable,
        })
    }

    /// Says, once per answer, which lines are left out for their codecs: the call goes
    /// on without them, and the admin sees why.
    fn log_unusable(&self) {
        for (kind, offered) in &self.unusable {
            tracing::warn!(
                %kind,
                %offered,
                "the offer's {kind} line has no codec we support (opus/48000 for audio; vp8 or \
                 h264 baseline with packetization-mode=1 for video): that line is rejected"
            );
        }
    }

    /// The video codec the answer gives `kind`'s line: the first usable one in the
    /// offer's order (the offerer's preference), `None` for audio and absent lines.
    fn video_codec(&self, kind: MediaKind) -> Option<&OfferedCodec> {
        self.line(kind).and_then(|m| m.video_codecs.first())
    }

    /// The first offer of a call must leave the DTLS role open (`a=setup:actpass`, RFC
    /// 5763 §5); `active`/`passive` there means an answer was sent as an offer. (Later
    /// offers may keep the established role, as Firefox's do.)
    fn check_initial(&self) -> Result<(), PeerError> {
        match &self.setup {
            Some(role) => Err(PeerError::InvalidOffer(format!(
                "a=setup:{role} is an answerer's role (an offer has a=setup:actpass)"
            ))),
            None => Ok(()),
        }
    }

    /// The m-line carrying `kind`, if any.
    fn line(&self, kind: MediaKind) -> Option<&OfferedMedia> {
        self.media.iter().find(|m| m.role == Some(kind))
    }

    /// Our answer's direction for `kind`: RFC 3264 against the offer, `Inactive` when the
    /// offer has no line for it.
    fn answer_direction(&self, kind: MediaKind) -> MediaDirection {
        self.line(kind).map_or(MediaDirection::Inactive, |m| {
            MediaDirection::answering(m.offered)
        })
    }

    /// The ICE credentials of the first live line (the BUNDLE transport's).
    fn ice_credentials(&self) -> Option<&(String, String)> {
        self.media
            .iter()
            .filter(|m| !m.rejected)
            .find_map(|m| m.ice.as_ref())
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Slides => "slides",
        })
    }
}

/// The video codecs of one m-line we can use, in the m-line's order: VP8, and H.264 in
/// packetization mode 1 with a Baseline-family profile (`profile-level-id` 42xxxx, which
/// Constrained Baseline is) when `h264`. Unknown or malformed entries are skipped.
fn usable_video_codecs(
    formats: &[String],
    rtpmaps: &[(String, String)],
    fmtps: &[(String, String)],
    h264: bool,
) -> Vec<OfferedCodec> {
    let mut usable = Vec::new();
    for pt in formats {
        let Ok(payload_type) = pt.parse::<u8>() else {
            continue;
        };
        let Some((_, name)) = rtpmaps.iter().find(|(p, _)| p == pt) else {
            continue;
        };
        let fmtp = fmtps
            .iter()
            .find(|(p, _)| p == pt)
            .map_or("", |(_, f)| f.as_str());
        let codec = match name.as_str() {
            "vp8/90000" => VideoCodec::Vp8,
            "h264/90000" if h264 && h264_fmtp_usable(fmtp) => VideoCodec::H264,
            _ => continue,
        };
        if !usable.iter().any(|c: &OfferedCodec| c.codec == codec) {
            usable.push(OfferedCodec {
                codec,
                payload_type,
                fmtp: fmtp.to_owned(),
            });
        }
    }
    usable
}

/// An H.264 format we decode and can answer: `packetization-mode=1` and a Baseline
/// `profile-level-id` (profile_idc 0x42; Constrained Baseline sets a constraint flag).
fn h264_fmtp_usable(fmtp: &str) -> bool {
    let mut mode = false;
    let mut baseline = false;
    for param in fmtp.split(';') {
        let Some((key, value)) = param.split_once('=') else {
            continue;
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "packetization-mode" => mode = value.trim() == "1",
            "profile-level-id" => {
                let value = value.trim();
                baseline = value.len() == 6
                    && value.is_ascii()
                    && value[..2].eq_ignore_ascii_case("42")
                    && u32::from_str_radix(value, 16).is_ok();
            }
            _ => {}
        }
    }
    mode && baseline
}

// === SDP text helpers ===

/// Copies each offered m-line's `a=content:` value into the answer's m-line with the same
/// mid, where the answer lacks one. webrtc-rs does not echo the attribute, but the Pexip
/// SDK finds the presentation m-line by it.
pub fn echo_content_attributes(offer: &str, answer: &str) -> String {
    let mut contents: Vec<(String, String)> = Vec::new();
    for section in media_sections(offer) {
        let mid = attribute(section, "a=mid:");
        let content = attribute(section, "a=content:");
        if let (Some(mid), Some(content)) = (mid, content) {
            contents.push((mid.to_owned(), content.to_owned()));
        }
    }
    let mut out = String::with_capacity(answer.len() + 32 * contents.len());
    let mut section: Vec<&str> = Vec::new();
    let flush = |section: &mut Vec<&str>, out: &mut String| {
        let has_content = section.iter().any(|l| l.starts_with("a=content:"));
        for line in section.iter() {
            out.push_str(line);
            out.push_str("\r\n");
            if !has_content
                && let Some(mid) = line.strip_prefix("a=mid:")
                && let Some((_, content)) = contents.iter().find(|(m, _)| m == mid.trim())
            {
                out.push_str("a=content:");
                out.push_str(content);
                out.push_str("\r\n");
            }
        }
        section.clear();
    };
    for line in answer.lines() {
        if line.starts_with("m=") {
            flush(&mut section, &mut out);
        }
        section.push(line);
    }
    flush(&mut section, &mut out);
    out
}

/// Rewrites the answer's direction to `a=inactive` on every m-line the offer made
/// inactive (RFC 3264 §6.1). webrtc-rs 0.21.1 answers an inactive offer (the SDK's idle
/// `slides` line) with `recvonly`.
pub fn answer_inactive_as_inactive(offer: &str, answer: &str) -> String {
    let inactive: Vec<&str> = media_sections(offer)
        .filter(|s| s.lines().any(|l| l.trim() == "a=inactive"))
        .filter_map(|s| attribute(s, "a=mid:"))
        .collect();
    if inactive.is_empty() {
        return answer.to_owned();
    }
    let mut out = String::with_capacity(answer.len());
    for section in split_keep_header(answer) {
        let make_inactive = attribute(section, "a=mid:").is_some_and(|m| inactive.contains(&m));
        for line in section.lines() {
            let l = line.trim();
            if make_inactive && matches!(l, "a=sendrecv" | "a=sendonly" | "a=recvonly") {
                out.push_str("a=inactive");
            } else {
                out.push_str(line);
            }
            out.push_str("\r\n");
        }
    }
    out
}

/// The session header and then each media section, as text.
fn split_keep_header(sdp: &str) -> impl Iterator<Item = &str> {
    let header_end = if sdp.starts_with("m=") {
        0
    } else {
        sdp.find("\nm=").map_or(sdp.len(), |i| i + 1)
    };
    std::iter::once(&sdp[..header_end]).chain(media_sections(sdp))
}

/// The media sections of an SDP (each from its `m=` line to the next), as text.
fn media_sections(sdp: &str) -> impl Iterator<Item = &str> {
    let mut starts: Vec<usize> = sdp.match_indices("m=").map(|(i, _)| i).collect();
    starts.retain(|&i| i == 0 || sdp.as_bytes()[i - 1] == b'\n');
    let ends: Vec<usize> = starts.iter().skip(1).copied().chain([sdp.len()]).collect();
    starts.into_iter().zip(ends).map(move |(s, e)| &sdp[s..e])
}

/// The value of the first line starting with `prefix` in `section`.
fn attribute<'a>(section: &'a str, prefix: &str) -> Option<&'a str> {
    section
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .map(str::trim)
}

/// The first mid of the offer (the bundle tag), used for trickled local candidates.
fn first_mid(sdp: &str) -> String {
    media_sections(sdp)
        .find_map(|s| attribute(s, "a=mid:"))
        .unwrap_or("0")
        .to_owned()
}
