//! Wall-clock time for clients and history, derived from the monotonic instants the core
//! runs on through one fixed anchor.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Maps monotonic instants to wall-clock time. The anchor is fixed once (at node start),
/// so the mapping never jumps when the system clock is adjusted.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    instant: Instant,
    system: SystemTime,
}

impl WallClock {
    /// A mapping in which `instant` happened at `system`.
    pub fn new(instant: Instant, system: SystemTime) -> WallClock {
        WallClock { instant, system }
    }

    /// The wall-clock time of `at`.
    pub fn to_system(&self, at: Instant) -> SystemTime {
        match at.checked_duration_since(self.instant) {
            Some(after) => self.system + after,
            None => self.system - self.instant.duration_since(at),
        }
    }

    /// `at` as seconds since the Unix epoch, with fractions (the client API's unit).
    pub fn epoch_seconds(&self, at: Instant) -> f64 {
        self.to_system(at)
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }
}

#[cfg(test)]
// Tests read the real clock once, for an arbitrary origin.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn instants_map_to_the_anchor_plus_their_distance() {
        let origin = Instant::now();
        let epoch_1000 = UNIX_EPOCH + Duration::from_secs(1000);
        let clock = WallClock::new(origin + Duration::from_secs(10), epoch_1000);
        assert_eq!(
            clock.to_system(origin + Duration::from_secs(12)),
            epoch_1000 + Duration::from_secs(2)
        );
        assert_eq!(
            clock.to_system(origin),
            epoch_1000 - Duration::from_secs(10)
        );
        assert_eq!(
            clock.epoch_seconds(origin + Duration::from_millis(10_500)),
            1000.5
        );
    }
}
