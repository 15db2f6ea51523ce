//! What the conference tells the media engine about the meeting (who is on stage, in
//! which layout, muted, waiting, presenting) and the output tiers a receiver's bandwidth
//! buys.

use plenum_core::{Layout, ParticipantId};

/// The meeting as the media engine needs it, sent by the conference owner whenever it
/// changes. Replaces the previous view as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomView {
    /// Layout Hosts see.
    pub host_layout: Layout,
    /// Layout Guests see.
    pub guest_layout: Layout,
    /// Speaker order (spotlight first, then recent speakers): who may appear in tiles.
    pub stage: Vec<ParticipantId>,
    /// Everyone in the conference, waiting ones included.
    pub participants: Vec<ViewParticipant>,
    /// Who holds the presentation floor.
    pub presenter: Option<ParticipantId>,
    /// Names are burnt into video tiles (the Host's name overlay switch).
    pub overlay_names: bool,
    /// A Test Call: every participant sees and hears only themself, about a second late,
    /// to check their camera and microphone.
    pub loopback: bool,
}

impl Default for RoomView {
    fn default() -> Self {
        RoomView {
            host_layout: Layout::Adaptive,
            guest_layout: Layout::Adaptive,
            stage: Vec::new(),
            participants: Vec::new(),
            presenter: None,
            overlay_names: false,
            loopback: false,
        }
    }
}

impl RoomView {
    /// One participant's entry.
    pub fn participant(&self, id: ParticipantId) -> Option<&ViewParticipant> {
        self.participants.iter().find(|p| p.id == id)
    }
}

/// One participant as the media engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewParticipant {
    pub id: ParticipantId,
    /// Shown on name tiles.
    pub name: String,
    /// Shown on the name overlay of video tiles (the overlay text a Host set, else the
    /// name).
    pub label: String,
    /// Sees the Host layout (else the Guest layout).
    pub host: bool,
    /// In the meeting (not in a waiting room).
    pub admitted: bool,
    /// Waiting for a Host to start the meeting (else, if not admitted, for admission).
    pub waiting_for_host: bool,
    /// Muted by a Host, by themself or by the client: not heard.
    pub audio_muted: bool,
    /// Camera off: shown as a name tile.
    pub video_muted: bool,
    /// Receives the presentation (a Host can deny it).
    pub receives_presentation: bool,
}

impl ViewParticipant {
    /// A Host in the meeting named `name`, heard and seen, receiving the presentation.
    pub fn host(id: ParticipantId, name: &str) -> ViewParticipant {
        ViewParticipant {
            id,
            name: name.to_owned(),
            label: name.to_owned(),
            host: true,
            admitted: true,
            waiting_for_host: false,
            audio_muted: false,
            video_muted: false,
            receives_presentation: true,
        }
    }
}

/// An output resolution, chosen by the receiver's bandwidth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// 320×180.
    Low,
    /// 640×360.
    Medium,
    /// 1280×720.
    High,
}

/// Bandwidth kbps a call may use at least, at most, and by default (client-api-v2).
pub const MIN_BANDWIDTH_KBPS: u32 = 256;
pub const MAX_BANDWIDTH_KBPS: u32 = 2464;
pub const DEFAULT_BANDWIDTH_KBPS: u32 = 576;
/// What the audio stream is budgeted within a call's bandwidth.
pub const AUDIO_KBPS: u32 = 64;

impl Tier {
    /// The tier a call of `kbps` gets: 720p from 1264 kbps, 360p from 512, else 180p.
    pub fn for_bandwidth(kbps: u32) -> Tier {
        match kbps {
            1264.. => Tier::High,
            512.. => Tier::Medium,
            _ => Tier::Low,
        }
    }

    /// Width and height of the composite.
    pub fn size(self) -> (u32, u32) {
        match self {
            Tier::Low => (320, 180),
            Tier::Medium => (640, 360),
            Tier::High => (1280, 720),
        }
    }

    /// The video bitrate range (kbps) an encoder at this tier is kept within.
    pub fn bitrate_range(self) -> (u32, u32) {
        match self {
            Tier::Low => (96, 448),
            Tier::Medium => (192, 1200),
            Tier::High => (600, MAX_BANDWIDTH_KBPS - AUDIO_KBPS),
        }
    }
}

/// The call bandwidth an SDP offer asks for: the first `b=AS:` of a video section (the
/// Pexip SDK puts the chosen bandwidth there), clamped to the allowed range; the default
/// when absent.
pub fn offered_bandwidth_kbps(offer: &str) -> u32 {
    let mut in_video = false;
    for line in offer.lines() {
        let line = line.trim();
        if let Some(m) = line.strip_prefix("m=") {
            in_video = m.starts_with("video");
        } else if in_video
            && let Some(value) = line.strip_prefix("b=AS:")
            && let Ok(kbps) = value.trim().parse::<u32>()
        {
            return kbps.clamp(MIN_BANDWIDTH_KBPS, MAX_BANDWIDTH_KBPS);
        } else if in_video
            && let Some(value) = line.strip_prefix("b=TIAS:")
            && let Ok(bps) = value.trim().parse::<u32>()
        {
            return (bps / 1000).clamp(MIN_BANDWIDTH_KBPS, MAX_BANDWIDTH_KBPS);
        }
    }
    DEFAULT_BANDWIDTH_KBPS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_follow_bandwidth() {
        assert_eq!(Tier::for_bandwidth(256), Tier::Low);
        assert_eq!(Tier::for_bandwidth(576), Tier::Medium);
        assert_eq!(Tier::for_bandwidth(1263), Tier::Medium);
        assert_eq!(Tier::for_bandwidth(1264), Tier::High);
        assert_eq!(Tier::for_bandwidth(2464), Tier::High);
    }

    #[test]
    fn bandwidth_comes_from_the_video_section() {
        let offer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nb=AS:64\r\n\
                     m=video 9 UDP/TLS/RTP/SAVPF 96\r\nb=AS:1264\r\n";
        assert_eq!(offered_bandwidth_kbps(offer), 1264);
        assert_eq!(
            offered_bandwidth_kbps("m=video 9 x 96\r\nb=AS:99999\r\n"),
            2464
        );
        assert_eq!(offered_bandwidth_kbps("m=video 9 x 96\r\nb=AS:10\r\n"), 256);
        assert_eq!(
            offered_bandwidth_kbps("m=video 9 x 96\r\nb=TIAS:1000000\r\n"),
            1000
        );
        assert_eq!(
            offered_bandwidth_kbps("m=audio 9 x 111\r\nb=AS:1264\r\n"),
            576
        );
        assert_eq!(offered_bandwidth_kbps("garbage"), 576);
    }
}
