//! The WebRTC peer adapter: one browser's PeerConnection, seen by the rest of the media
//! engine through our own small types ([`PeerConfig`], [`IncomingMedia`], [`PeerEvent`],
//! [`PeerState`], [`PeerError`]).
//!
//! webrtc-rs (`webrtc`/`rtc` 0.21.1) types never leave this module (STYLE principle 4): the
//! backend lives in `peer::webrtc_rs` and [`Peer`] only delegates to it, so another stack
//! (str0m) can replace it behind the same surface.
//!
//! What the answerer negotiates: only Opus/48000/2 and VP8/90000 are registered, so the
//! answer picks them whatever the offer's order (the Pexip SDK lists H.264 first); VP8
//! carries `nack`, `nack pli`, `ccm fir` and `goog-remb` feedback. webrtc-rs drops the
//! offer's `a=content:` attributes, so [`echo_content_attributes`] copies them back into
//! the answer text by mid.
//!
//! Ports: webrtc-rs 0.21 has no UDP mux, so every peer binds its own socket. [`Peer::answer`]
//! binds one port from [`PeerConfig::port_range`] on [`PeerConfig::udp_bind`].

mod webrtc_rs;

#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

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
    /// How long [`Peer::answer`] waits for candidate gathering before it returns the
    /// answer anyway (later candidates then arrive as [`PeerEvent::LocalCandidate`]).
    /// The client API must answer within 5 s.
    pub gather_timeout: Duration,
}

impl PeerConfig {
    /// Binds `udp_bind` on an OS-chosen port, no public addresses, 2 s gathering budget.
    pub fn new(udp_bind: IpAddr) -> PeerConfig {
        PeerConfig {
            udp_bind,
            port_range: (0, 0),
            public_ips: Vec::new(),
            gather_timeout: Duration::from_secs(2),
        }
    }
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Audio,
    Video,
}

/// Media received from the remote peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMedia {
    pub kind: MediaKind,
    /// One Opus packet, or one complete VP8 frame (reassembled from its RTP packets).
    pub payload: Bytes,
    /// The RTP timestamp (48 kHz for Opus, 90 kHz for VP8).
    pub rtp_timestamp: u32,
    /// A VP8 keyframe (always `false` for audio).
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
    /// is harmless.
    LocalCandidate { candidate: String, mid: String },
    /// Local gathering finished (send the empty end-of-candidates marker if trickling).
    LocalCandidatesComplete,
}

/// The receiving ends of a peer's events.
#[derive(Debug)]
pub struct PeerEvents {
    /// Received media; bounded, so a stalled consumer back-pressures the receive tasks.
    pub media: mpsc::Receiver<IncomingMedia>,
    /// State changes and local candidates.
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
    /// The offer did not negotiate this kind (no m-line, or no common codec).
    #[error("{0:?} was not negotiated")]
    NotNegotiated(MediaKind),
}

// === impl Peer ===

/// One browser's PeerConnection, answering its offer.
#[derive(Debug)]
pub struct Peer {
    backend: webrtc_rs::Backend,
}

impl Peer {
    /// Applies the browser's offer, adds our sendrecv audio and video tracks, and returns
    /// the answer once candidate gathering completes (or after `config.gather_timeout`).
    pub async fn answer(offer_sdp: &str, config: PeerConfig) -> Result<Answered, PeerError> {
        let (backend, answer, events) = webrtc_rs::Backend::answer(offer_sdp, &config).await?;
        let sdp =
            answer_inactive_as_inactive(offer_sdp, &echo_content_attributes(offer_sdp, &answer));
        Ok(Answered {
            peer: Peer { backend },
            sdp,
            events,
        })
    }

    /// Adds a trickled remote candidate (`candidate:…`, with or without the prefix). The
    /// empty string is the end-of-candidates marker and is accepted.
    pub async fn add_remote_candidate(
        &self,
        candidate: &str,
        mid: Option<&str>,
    ) -> Result<(), PeerError> {
        self.backend.add_remote_candidate(candidate, mid).await
    }

    /// Sends one Opus packet lasting `duration` (20 ms usually).
    pub async fn send_audio(&self, packet: Bytes, duration: Duration) -> Result<(), PeerError> {
        self.backend.send(MediaKind::Audio, packet, duration).await
    }

    /// Sends one VP8 frame lasting `duration` (the frame interval); it is packetized here.
    pub async fn send_video(&self, frame: Bytes, duration: Duration) -> Result<(), PeerError> {
        self.backend.send(MediaKind::Video, frame, duration).await
    }

    /// Asks the remote video sender for a keyframe (RTCP PLI). A no-op until its video
    /// track has arrived.
    pub async fn request_keyframe(&self) -> Result<(), PeerError> {
        self.backend.request_keyframe().await
    }

    /// The UDP port the peer bound.
    pub fn local_port(&self) -> u16 {
        self.backend.local_port()
    }

    /// Closes the connection; the event channels end afterwards.
    pub async fn close(&self) -> Result<(), PeerError> {
        self.backend.close().await
    }
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
