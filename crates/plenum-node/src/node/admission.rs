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
    /// Each participant's media call (`None` while it is being set up) and its class.
    calls: Mutex<HashMap<ParticipantId, (Option<Uuid>, CallClass)>>,
}

/// The class of call an offer asks for: audio only without a usable video line, else
/// HD or SD by its bandwidth.
pub fn offered_class(offer: &str) -> CallClass {
    let video = offer.lines().any(|line| {
        line.strip_prefix("m=video ")
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|port| port != "0")
    });
    if !video {
        return CallClass::Audio;
    }
    match Tier::for_bandwidth(offered_bandwidth_kbps(offer)) {
        Tier::High => CallClass::Hd,
        Tier::Medium | Tier::Low => CallClass::Sd,
    }
}

/// Whether the offer has an audio line to fall back on.
pub fn offers_audio(offer: &str) -> bool {
    offer.lines().any(|line| {
        line.strip_prefix("m=audio ")
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|port| port != "0")
    })
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

    fn calls(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<ParticipantId, (Option<Uuid>, CallClass)>> {
        self.calls
            .lock()
            .expect("admission lock is never held across a panic")
    }

    /// Forgets calls for which `live(participant, call)` is false (ended by any path:
    /// hang-up, leaving, ICE failure, the conference ending).
    pub fn prune(&self, live: impl Fn(ParticipantId, Uuid) -> bool) {
        self.calls().retain(|p, (call, _)| match call {
            Some(call) => live(*p, *call),
            None => true,
        });
    }

    /// What the node's calls cost now.
    pub fn load(&self) -> Duration {
        let Some((capacity, _)) = self.capacity() else {
            return Duration::ZERO;
        };
        self.calls()
            .values()
            .map(|(_, class)| capacity.costs.of(*class))
            .sum()
    }

    /// Calls of each class now.
    pub fn counts(&self) -> HashMap<CallClass, usize> {
        let mut counts = HashMap::new();
        for (_, class) in self.calls().values() {
            *counts.entry(*class).or_default() += 1;
        }
        counts
    }

    /// Decides for `participant`'s new call of `class` and reserves what it was given
    /// (a participant has one media call: a new one replaces its old one). Everything
    /// is admitted until the capacity is known.
    pub fn admit(&self, participant: ParticipantId, class: CallClass, audio: bool) -> Admit {
        let mut calls = self.calls();
        calls.remove(&participant);
        let decision = match self.capacity() {
            None => Admit::Call(class),
            Some((capacity, _)) => {
                let load: Duration = calls.values().map(|(_, c)| capacity.costs.of(*c)).sum();
                if capacity.fits(load, class) {
                    Admit::Call(class)
                } else if class != CallClass::Audio
                    && audio
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
            calls.insert(participant, (None, class));
        }
        decision
    }

    /// The reserved call was set up as `call`.
    pub fn opened(&self, participant: ParticipantId, call: Uuid) {
        if let Some(entry) = self.calls().get_mut(&participant) {
            entry.0 = Some(call);
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

    #[test]
    fn offers_are_classed_by_video_and_bandwidth() {
        assert_eq!(offered_class(OFFER), CallClass::Hd);
        assert_eq!(
            offered_class(&OFFER.replace("b=AS:2048", "b=AS:576")),
            CallClass::Sd
        );
        assert_eq!(
            offered_class(&OFFER.replace("b=AS:2048\r\n", "")),
            CallClass::Sd
        );
        assert_eq!(
            offered_class(
                "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\n"
            ),
            CallClass::Audio
        );
        assert!(offers_audio(OFFER));
        assert!(!offers_audio("m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"));
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
            admission.admit(pid(1), CallClass::Hd, true),
            Admit::Call(CallClass::Hd)
        );
        admission.failed(pid(1));

        // Two HD calls' worth (Pexip ratios: an audio call is a twelfth).
        admission.set_capacity(
            Capacity::from_hd_calls(2, CallCosts::pexip_ratios()),
            CapacitySource::Configured,
        );
        assert_eq!(
            admission.admit(pid(1), CallClass::Hd, true),
            Admit::Call(CallClass::Hd)
        );
        admission.opened(pid(1), Uuid::from_u128(101));
        assert_eq!(
            admission.admit(pid(2), CallClass::Sd, true),
            Admit::Call(CallClass::Sd)
        );
        admission.opened(pid(2), Uuid::from_u128(102));
        // 1.5 HD used: another HD call does not fit, its audio does.
        assert_eq!(
            admission.admit(pid(3), CallClass::Hd, true),
            Admit::AudioOnly
        );
        // Without an audio line there is nothing to fall back on.
        assert_eq!(admission.admit(pid(4), CallClass::Hd, false), Admit::Refuse);
        for n in 5..10 {
            assert_eq!(
                admission.admit(pid(n), CallClass::Audio, true),
                Admit::Call(CallClass::Audio)
            );
        }
        // 1.5 + 6/12 = 2.0 HD: full.
        assert_eq!(
            admission.admit(pid(10), CallClass::Audio, true),
            Admit::Refuse
        );
        assert_eq!(admission.counts()[&CallClass::Audio], 6);

        // Calls that ended free their share; one being set up keeps it.
        admission.prune(|p, _| p != pid(1));
        assert_eq!(
            admission.admit(pid(10), CallClass::Hd, true),
            Admit::Call(CallClass::Hd)
        );
        // A participant's new call replaces its old one.
        assert_eq!(
            admission.admit(pid(10), CallClass::Hd, true),
            Admit::Call(CallClass::Hd)
        );
    }
}
