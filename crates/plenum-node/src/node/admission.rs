//! Admission control for media calls: what the node may carry (measured at start with
//! the real media kernels, or `node.capacity_hd_calls`), what its calls cost now, and
//! the answer for one more: admit, downgrade video to audio-only, or refuse with
//! "Out of transcoding resource" (#pex114).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use plenum_core::ParticipantId;
use plenum_media::capacity::{CallClass, CallCosts, Capacity};
use plenum_media::engine::Tier;
use plenum_media::engine::view::offered_bandwidth_kbps;
use uuid::Uuid;

/// Where the capacity figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacitySource {
    /// Measured on this machine at start.
    Measured,
    /// `node.capacity_hd_calls`.
    Configured,
}

/// The admission decision for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// As offered.
    Call(CallClass),
    /// Video does not fit but audio does: answer the video lines inactive.
    AudioOnly,
    /// Nothing fits.
    Refuse,
}

/// The node's media calls and what they cost.
#[derive(Debug, Default)]
pub struct Admission {
    capacity: OnceLock<(Capacity, CapacitySource)>,
    /// Each participant's media call.
    calls: Mutex<HashMap<ParticipantId, Counted>>,
}

/// One media call as admission counts it.
#[derive(Debug, Clone, Copy)]
struct Counted {
    /// `None` while it is being set up.
    call: Option<Uuid>,
    /// What it was given and costs now.
    class: CallClass,
    /// What it costs with video: its tier is fixed by the first offer's bandwidth.
    video_class: CallClass,
}

/// What an offer asks of the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    /// A usable video line.
    pub video: bool,
    /// The class its video is, by the offer's bandwidth: HD or SD.
    pub video_class: CallClass,
    /// An audio line to fall back on.
    pub audio: bool,
}

impl Ask {
    pub fn of(offer: &str) -> Ask {
        let used = |kind: &str| {
            offer.lines().any(|line| {
                line.strip_prefix(kind)
                    .and_then(|rest| rest.split_whitespace().next())
                    .is_some_and(|port| port != "0")
            })
        };
        let video_class = match Tier::for_bandwidth(offered_bandwidth_kbps(offer)) {
            Tier::High => CallClass::Hd,
            Tier::Medium | Tier::Low => CallClass::Sd,
        };
        Ask {
            video: used("m=video "),
            video_class,
            audio: used("m=audio "),
        }
    }

    /// The class of call asked for: audio only without a usable video line, else HD or
    /// SD by the offer's bandwidth.
    pub fn class(self) -> CallClass {
        if self.video {
            self.video_class
        } else {
            CallClass::Audio
        }
    }
}

/// The offer with every video line made inactive: the answer then carries audio only.
pub fn without_video(offer: &str) -> String {
    let mut out = String::with_capacity(offer.len() + 64);
    let mut in_video = false;
    for line in offer.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare.starts_with("m=") {
            in_video = bare.starts_with("m=video");
        }
        if in_video && matches!(bare, "a=sendrecv" | "a=sendonly" | "a=recvonly") {
            out.push_str("a=inactive\r\n");
            continue;
        }
        out.push_str(line);
    }
    out
}

impl Admission {
    /// Sets the capacity (once: at start, measured or configured).
    pub fn set_capacity(&self, capacity: Capacity, source: CapacitySource) {
        let _ = self.capacity.set((capacity, source));
    }

    /// The capacity, once known.
    pub fn capacity(&self) -> Option<(Capacity, CapacitySource)> {
        self.capacity.get().copied()
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, HashMap<ParticipantId, Counted>> {
        self.calls
            .lock()
            .expect("admission lock is never held across a panic")
    }

    /// Forgets calls for which `live(participant, call)` is false (ended by any path:
    /// hang-up, leaving, ICE failure, the conference ending).
    pub fn prune(&self, live: impl Fn(ParticipantId, Uuid) -> bool) {
        self.calls().retain(|p, counted| match counted.call {
            Some(call) => live(*p, call),
            None => true,
        });
    }

    /// What the node's calls cost now.
    pub fn load(&self) -> Duration {
        let Some((capacity, _)) = self.capacity() else {
            return Duration::ZERO;
        };
        Self::load_of(&self.calls(), &capacity)
    }

    /// Calls of each class now.
    pub fn counts(&self) -> HashMap<CallClass, usize> {
        let mut counts = HashMap::new();
        for counted in self.calls().values() {
            *counts.entry(counted.class).or_default() += 1;
        }
        counts
    }

    /// Decides for `participant`'s new call asking for `ask` and reserves what it was
    /// given (a participant has one media call: a new one replaces its old one).
    /// Everything is admitted until the capacity is known.
    pub fn admit(&self, participant: ParticipantId, ask: Ask) -> Admit {
        let mut calls = self.calls();
        calls.remove(&participant);
        let class = ask.class();
        let decision = match self.capacity() {
            None => Admit::Call(class),
            Some((capacity, _)) => {
                let load = Self::load_of(&calls, &capacity);
                if capacity.fits(load, class) {
                    Admit::Call(class)
                } else if class != CallClass::Audio
                    && ask.audio
                    && capacity.fits(load, CallClass::Audio)
                {
                    Admit::AudioOnly
                } else {
                    Admit::Refuse
                }
            }
        };
        let reserved = match decision {
            Admit::Call(class) => Some(class),
            Admit::AudioOnly => Some(CallClass::Audio),
            Admit::Refuse => None,
        };
        if let Some(class) = reserved {
            calls.insert(
                participant,
                Counted {
                    call: None,
                    class,
                    video_class: ask.video_class,
                },
            );
        }
        decision
    }

    /// Decides for a re-offer (`update`) of `participant`'s `call` asking for `ask`. The
    /// room keeps a call's first bandwidth, so only video starting or stopping changes
    /// its cost: video stopping frees its share; video starting (an audio-only call, or
    /// one that was answered audio-only) is given when it fits beside the other calls,
    /// else the answer keeps its video lines inactive ([`Admit::AudioOnly`]). A call in
    /// progress is never refused. A call admission does not count (capacity not known
    /// yet, or not this participant's call) goes as offered.
    pub fn readmit(&self, participant: ParticipantId, call: Uuid, ask: Ask) -> Admit {
        let mut calls = self.calls();
        let Some(counted) = calls
            .get(&participant)
            .copied()
            .filter(|c| c.call == Some(call))
        else {
            return Admit::Call(ask.class());
        };
        let wanted = if ask.video {
            counted.video_class
        } else {
            CallClass::Audio
        };
        if wanted == counted.class {
            return Admit::Call(wanted);
        }
        let fits = match (wanted, self.capacity()) {
            (CallClass::Audio, _) | (_, None) => true,
            (_, Some((capacity, _))) => {
                let others = Self::load_of(&calls, &capacity)
                    .saturating_sub(capacity.costs.of(counted.class));
                capacity.fits(others, wanted)
            }
        };
        if !fits {
            return Admit::AudioOnly;
        }
        if let Some(entry) = calls.get_mut(&participant) {
            entry.class = wanted;
        }
        Admit::Call(wanted)
    }

    /// The class `participant`'s `call` is counted as, if admission counts it.
    pub fn class_of(&self, participant: ParticipantId, call: Uuid) -> Option<CallClass> {
        self.calls()
            .get(&participant)
            .filter(|c| c.call == Some(call))
            .map(|c| c.class)
    }

    /// Counts `participant`'s `call` as `class` again: what [`Admission::readmit`] gave
    /// is taken back when the re-offer then fails.
    pub fn recount(&self, participant: ParticipantId, call: Uuid, class: CallClass) {
        if let Some(entry) = self.calls().get_mut(&participant)
            && entry.call == Some(call)
        {
            entry.class = class;
        }
    }

    fn load_of(calls: &HashMap<ParticipantId, Counted>, capacity: &Capacity) -> Duration {
        calls.values().map(|c| capacity.costs.of(c.class)).sum()
    }

    /// The reserved call was set up as `call`.
    pub fn opened(&self, participant: ParticipantId, call: Uuid) {
        if let Some(entry) = self.calls().get_mut(&participant) {
            entry.call = Some(call);
        }
    }

    /// The reserved call could not be set up.
    pub fn failed(&self, participant: ParticipantId) {
        self.calls().remove(&participant);
    }
}

/// The capacity from `node.capacity_hd_calls` (Pexip's ratios for the other classes),
/// or measured on `cpus` CPUs with the real kernels (blocking, ≈ 0.5 s of CPU the first
/// time in a process).
pub fn capacity_for(
    hd_calls: Option<u32>,
    cpus: usize,
) -> Result<(Capacity, CapacitySource), String> {
    match hd_calls {
        Some(calls) => Ok((
            Capacity::from_hd_calls(calls, CallCosts::pexip_ratios()),
            CapacitySource::Configured,
        )),
        None => Ok((
            Capacity::measured(plenum_media::capacity::measured()?, cpus),
            CapacitySource::Measured,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n\
                         m=video 9 UDP/TLS/RTP/SAVPF 96\r\nb=AS:2048\r\na=sendrecv\r\n\
                         m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n";

    fn pid(n: u128) -> ParticipantId {
        ParticipantId(Uuid::from_u128(n))
    }

    /// An offer asking for `class`, with an audio line or not.
    fn ask(class: CallClass, audio: bool) -> Ask {
        Ask {
            video: class != CallClass::Audio,
            video_class: if class == CallClass::Audio {
                CallClass::Hd
            } else {
                class
            },
            audio,
        }
    }

    #[test]
    fn offers_are_classed_by_video_and_bandwidth() {
        let class = |offer: &str| Ask::of(offer).class();
        assert_eq!(class(OFFER), CallClass::Hd);
        assert_eq!(
            class(&OFFER.replace("b=AS:2048", "b=AS:576")),
            CallClass::Sd
        );
        assert_eq!(class(&OFFER.replace("b=AS:2048\r\n", "")), CallClass::Sd);
        let no_video =
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\n";
        assert_eq!(class(no_video), CallClass::Audio);
        assert!(Ask::of(OFFER).audio);
        assert!(!Ask::of("m=video 9 UDP/TLS/RTP/SAVPF 96\r\n").audio);
    }

    #[test]
    fn without_video_makes_only_video_lines_inactive() {
        let audio_only = without_video(OFFER);
        assert_eq!(audio_only.matches("a=inactive").count(), 2);
        assert!(audio_only.contains("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv"));
    }

    #[test]
    fn calls_are_admitted_downgraded_then_refused() {
        let admission = Admission::default();
        // Unknown capacity: everything goes.
        assert_eq!(
            admission.admit(pid(1), ask(CallClass::Hd, true)),
            Admit::Call(CallClass::Hd)
        );
        admission.failed(pid(1));

        // Two HD calls' worth (Pexip ratios: an audio call is a twelfth).
        admission.set_capacity(
            Capacity::from_hd_calls(2, CallCosts::pexip_ratios()),
            CapacitySource::Configured,
        );
        assert_eq!(
            admission.admit(pid(1), ask(CallClass::Hd, true)),
            Admit::Call(CallClass::Hd)
        );
        admission.opened(pid(1), Uuid::from_u128(101));
        assert_eq!(
            admission.admit(pid(2), ask(CallClass::Sd, true)),
            Admit::Call(CallClass::Sd)
        );
        admission.opened(pid(2), Uuid::from_u128(102));
        // 1.5 HD used: another HD call does not fit, its audio does.
        assert_eq!(
            admission.admit(pid(3), ask(CallClass::Hd, true)),
            Admit::AudioOnly
        );
        // Without an audio line there is nothing to fall back on.
        assert_eq!(
            admission.admit(pid(4), ask(CallClass::Hd, false)),
            Admit::Refuse
        );
        for n in 5..10 {
            assert_eq!(
                admission.admit(pid(n), ask(CallClass::Audio, true)),
                Admit::Call(CallClass::Audio)
            );
        }
        // 1.5 + 6/12 = 2.0 HD: full.
        assert_eq!(
            admission.admit(pid(10), ask(CallClass::Audio, true)),
            Admit::Refuse
        );
        assert_eq!(admission.counts()[&CallClass::Audio], 6);

        // Calls that ended free their share; one being set up keeps it.
        admission.prune(|p, _| p != pid(1));
        assert_eq!(
            admission.admit(pid(10), ask(CallClass::Hd, true)),
            Admit::Call(CallClass::Hd)
        );
        // A participant's new call replaces its old one.
        assert_eq!(
            admission.admit(pid(10), ask(CallClass::Hd, true)),
            Admit::Call(CallClass::Hd)
        );
    }

    #[test]
    fn a_reoffer_starting_video_is_counted_again() {
        let admission = Admission::default();
        admission.set_capacity(
            Capacity::from_hd_calls(2, CallCosts::pexip_ratios()),
            CapacitySource::Configured,
        );
        let (one, two, three) = (
            Uuid::from_u128(101),
            Uuid::from_u128(102),
            Uuid::from_u128(103),
        );
        assert_eq!(
            admission.admit(pid(1), ask(CallClass::Hd, true)),
            Admit::Call(CallClass::Hd)
        );
        admission.opened(pid(1), one);
        // An audio-only call whose offer's bandwidth is HD's.
        assert_eq!(
            admission.admit(pid(2), ask(CallClass::Audio, true)),
            Admit::Call(CallClass::Audio)
        );
        admission.opened(pid(2), two);
        assert_eq!(
            admission.admit(pid(3), ask(CallClass::Sd, true)),
            Admit::Call(CallClass::Sd)
        );
        admission.opened(pid(3), three);
        // 1 + 1/12 + 1/2 of 2 HD: the audio call re-offering video (HD) does not fit and
        // stays audio-only.
        let hd = ask(CallClass::Hd, true);
        assert_eq!(admission.readmit(pid(2), two, hd), Admit::AudioOnly);
        assert_eq!(admission.counts()[&CallClass::Audio], 1);
        // Re-offers that change nothing, or name another call, go as offered.
        assert_eq!(
            admission.readmit(pid(1), one, hd),
            Admit::Call(CallClass::Hd)
        );
        assert_eq!(
            admission.readmit(pid(1), two, hd),
            Admit::Call(CallClass::Hd)
        );
        // The HD call stopping its video frees its share...
        let audio = ask(CallClass::Audio, true);
        assert_eq!(
            admission.readmit(pid(1), one, audio),
            Admit::Call(CallClass::Audio)
        );
        assert_eq!(admission.counts()[&CallClass::Audio], 2);
        // ...which the audio call's video now gets.
        assert_eq!(
            admission.readmit(pid(2), two, hd),
            Admit::Call(CallClass::Hd)
        );
        assert_eq!(admission.counts()[&CallClass::Hd], 1);
        // Video comes at the tier the call's first offer had (here SD: the room keeps a
        // call's first bandwidth), whatever the re-offer says.
        assert_eq!(
            admission.readmit(pid(3), three, audio),
            Admit::Call(CallClass::Audio)
        );
        let sd_first = Ask {
            video_class: CallClass::Sd,
            ..ask(CallClass::Audio, true)
        };
        admission.admit(pid(4), sd_first);
        admission.opened(pid(4), Uuid::from_u128(104));
        assert_eq!(
            admission.readmit(pid(4), Uuid::from_u128(104), hd),
            Admit::Call(CallClass::Sd)
        );
        assert_eq!(admission.counts()[&CallClass::Sd], 1);
        // A re-offer that then failed is counted as before it.
        let before = admission.class_of(pid(4), Uuid::from_u128(104));
        assert_eq!(before, Some(CallClass::Sd));
        admission.readmit(pid(4), Uuid::from_u128(104), audio);
        admission.recount(pid(4), Uuid::from_u128(104), CallClass::Sd);
        assert_eq!(admission.counts()[&CallClass::Sd], 1);
        // Video stopping always fits.
        assert_eq!(
            admission.readmit(pid(4), Uuid::from_u128(104), audio),
            Admit::Call(CallClass::Audio)
        );
    }
}
