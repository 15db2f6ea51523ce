//! The loadtest's scenarios: who joins which meeting, sending what, at which pace.

use crate::participant::{Presentation, Setup};

/// The call bandwidth HD participants ask for (720p composites from the node).
pub const HD_KBPS: u32 = 2048;
/// The call bandwidth SD participants ask for (360p, the SDK's default 576).
pub const SD_KBPS: u32 = 576;

/// One scenario as run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub name: &'static str,
    pub what: String,
    /// Meetings and participants in each.
    pub meetings: Vec<Meeting>,
    /// Joins per second (all meetings together).
    pub joins_per_second: u32,
    /// The resolution participants send, and its VP8 bitrate.
    pub send: (u32, u32, u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    pub alias: String,
    pub participants: Vec<Setup>,
}

impl Scenario {
    pub fn participants(&self) -> usize {
        self.meetings.iter().map(|m| m.participants.len()).sum()
    }

    /// Whether the participants send and receive video.
    pub fn video(&self) -> bool {
        self.meetings
            .iter()
            .flat_map(|m| &m.participants)
            .any(|p| p.video)
    }
}

/// The scenario names, in the order `plenum loadtest` runs them by default.
pub const NAMES: [&str; 6] = [
    "personal-hd",
    "shared-hd",
    "audio-only",
    "small-meetings",
    "join-storm",
    "presentation",
];

fn video(bandwidth_kbps: u32) -> Setup {
    Setup {
        video: true,
        presentation: None,
        bandwidth_kbps,
        speaker: false,
        through_relay: false,
    }
}

/// A meeting of `setups` whose first participant talks.
fn meeting(alias: String, mut participants: Vec<Setup>) -> Meeting {
    if let Some(first) = participants.first_mut() {
        first.speaker = true;
    }
    Meeting {
        alias,
        participants,
    }
}

/// The scenario `name` with `participants` (its default when `None`).
pub fn scenario(name: &str, participants: Option<usize>) -> Option<Scenario> {
    let hd = (1280, 720, 1500);
    let sd = (640, 360, 500);
    let one = |alias: &str, n: usize, setup: Setup| vec![meeting(alias.to_owned(), vec![setup; n])];
    Some(match name {
        "personal-hd" => {
            let n = participants.unwrap_or(4);
            Scenario {
                name: "personal-hd",
                what: format!(
                    "{n} HD video participants in one meeting, each with a personal view \
                     (layout ac: the others, not themself), 720p in and out"
                ),
                meetings: one("load.personal", n, video(HD_KBPS)),
                joins_per_second: 10,
                send: hd,
            }
        }
        "shared-hd" => {
            let n = participants.unwrap_or(16);
            Scenario {
                name: "shared-hd",
                what: format!(
                    "{n} HD video participants in one meeting sharing a view (layout 1:0), \
                     720p in and out"
                ),
                meetings: one("load.shared", n, video(HD_KBPS)),
                joins_per_second: 10,
                send: hd,
            }
        }
        "audio-only" => {
            let n = participants.unwrap_or(50);
            Scenario {
                name: "audio-only",
                what: format!("{n} audio-only participants in one meeting"),
                meetings: one(
                    "load.audio",
                    n,
                    Setup {
                        video: false,
                        presentation: None,
                        bandwidth_kbps: SD_KBPS,
                        speaker: false,
                        through_relay: false,
                    },
                ),
                joins_per_second: 20,
                send: sd,
            }
        }
        "small-meetings" => {
            let n = participants.unwrap_or(12).max(3);
            let count = (n / 3).min(crate::node::SMALL_ROOMS);
            Scenario {
                name: "small-meetings",
                what: format!(
                    "{count} meeting{} of 3 SD video participants (personal views, 360p)",
                    if count == 1 { "" } else { "s" }
                ),
                meetings: (1..=count)
                    .map(|m| meeting(format!("load.small.{m}"), vec![video(SD_KBPS); 3]))
                    .collect(),
                joins_per_second: 10,
                send: sd,
            }
        }
        "join-storm" => {
            let n = participants.unwrap_or(24);
            Scenario {
                name: "join-storm",
                what: format!("{n} SD video participants joining one shared meeting at 25 joins/s"),
                meetings: one("load.shared", n, video(SD_KBPS)),
                joins_per_second: 25,
                send: sd,
            }
        }
        "presentation" => {
            let n = participants.unwrap_or(16).max(2);
            let mut setups = vec![Setup {
                video: true,
                presentation: Some(Presentation::Send),
                bandwidth_kbps: HD_KBPS,
                speaker: false,
                through_relay: false,
            }];
            setups.extend(vec![
                Setup {
                    video: true,
                    presentation: Some(Presentation::Receive),
                    bandwidth_kbps: HD_KBPS,
                    speaker: false,
                    through_relay: false,
                };
                n - 1
            ]);
            Scenario {
                name: "presentation",
                what: format!(
                    "one participant presents 720p slides to {} others in a shared \
                     meeting (1:0), all with HD video",
                    n - 1
                ),
                meetings: vec![meeting("load.present".to_owned(), setups)],
                joins_per_second: 10,
                send: hd,
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_a_scenario_with_its_participants() {
        for name in NAMES {
            let s = scenario(name, None).expect(name);
            assert_eq!(s.name, name);
            assert!(s.participants() >= 4, "{name}");
        }
        assert_eq!(
            scenario("shared-hd", Some(30)).expect("s").participants(),
            30
        );
        assert_eq!(
            scenario("small-meetings", Some(30))
                .expect("s")
                .meetings
                .len(),
            10
        );
        assert!(!scenario("audio-only", None).expect("s").video());
        assert!(scenario("nonsense", None).is_none());
        // One talks in each meeting.
        let small = scenario("small-meetings", Some(9)).expect("s");
        for m in &small.meetings {
            let speakers: Vec<bool> = m.participants.iter().map(|p| p.speaker).collect();
            assert_eq!(speakers, [true, false, false]);
        }
    }
}
