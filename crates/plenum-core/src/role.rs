//! Roles, call types and signalling protocols of participants.

use std::fmt;

/// What a participant may do in a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Controls the meeting ("chair" on the wire).
    Host,
    /// Takes part; Host-only actions are refused.
    Guest,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Host => "host",
            Role::Guest => "guest",
        })
    }
}

/// What media a participant exchanges with the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallType {
    /// Sends and receives audio and video (the default).
    Video,
    /// Audio only: shown in layouts as a name tile.
    AudioOnly,
    /// Presentation and control only: roster, chat, control and presentation, no
    /// audio or video.
    ControlOnly,
}

impl CallType {
    /// Whether this call carries audio or video (a Host joining this way starts the
    /// meeting).
    pub fn has_audio_or_video(self) -> bool {
        !matches!(self, CallType::ControlOnly)
    }
}

impl fmt::Display for CallType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CallType::Video => "video",
            CallType::AudioOnly => "audio",
            CallType::ControlOnly => "none",
        })
    }
}

/// How a participant reached the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Client REST API without a media call.
    Api,
    /// Client REST API with a WebRTC call.
    WebRtc,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Api => "api",
            Protocol::WebRtc => "webrtc",
        })
    }
}
