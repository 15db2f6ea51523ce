//! Back-off for failed sign-ins: failures are counted per key (a client address, a
//! device alias); after a few free tries each further failure doubles the wait before
//! the next attempt is even checked. Plain state taking `now`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Failures allowed within [`WINDOW`] before attempts are held back.
pub const FREE_FAILURES: u32 = 5;
/// Failures older than this are forgotten.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// The first hold-back; each further failure doubles it.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// The longest hold-back.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);
/// Most keys remembered; beyond it, forgotten entries are pruned first, then the oldest.
const MAX_KEYS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last_at: Instant,
    blocked_until: Option<Instant>,
}

/// Failed sign-ins per key.
#[derive(Debug, Default)]
pub struct CredentialGuard {
    keys: HashMap<String, Failures>,
}

impl CredentialGuard {
    /// `Err(wait)` if any of `keys` is held back at `now`.
    pub fn check(&self, now: Instant, keys: &[String]) -> Result<(), Duration> {
        let wait = keys
            .iter()
            .filter_map(|k| self.keys.get(k))
            .filter(|f| now.saturating_duration_since(f.last_at) < WINDOW)
            .filter_map(|f| f.blocked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        match wait {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Counts a failure against every key.
    pub fn fail(&mut self, now: Instant, keys: &[String]) {
        if self.keys.len() + keys.len() > MAX_KEYS {
            self.prune(now);
        }
        for key in keys {
            let entry = self.keys.entry(key.clone()).or_insert(Failures {
                count: 0,
                last_at: now,
                blocked_until: None,
            });
            if now.saturating_duration_since(entry.last_at) >= WINDOW {
                entry.count = 0;
                entry.blocked_until = None;
            }
            entry.count += 1;
            entry.last_at = now;
            if entry.count > FREE_FAILURES {
                let doublings = (entry.count - FREE_FAILURES - 1).min(16);
                let backoff = FIRST_BACKOFF
                    .saturating_mul(1u32 << doublings)
                    .min(MAX_BACKOFF);
                entry.blocked_until = Some(now + backoff);
            }
        }
    }

    /// A success clears the keys' counts.
    pub fn succeed(&mut self, keys: &[String]) {
        for key in keys {
            self.keys.remove(key);
        }
    }

    fn prune(&mut self, now: Instant) {
        self.keys
            .retain(|_, f| now.saturating_duration_since(f.last_at) < WINDOW);
        if self.keys.len() >= MAX_KEYS {
            let mut by_age: Vec<(String, Instant)> = self
                .keys
                .iter()
                .map(|(k, f)| (k.clone(), f.last_at))
                .collect();
            by_age.sort_by_key(|(_, at)| *at);
            for (key, _) in by_age.into_iter().take(MAX_KEYS / 2) {
                self.keys.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        vec!["addr:192.0.2.1".to_owned(), "alias:alice".to_owned()]
    }

    #[test]
    fn free_failures_then_doubling_backoff() {
        let t0 = Instant::now();
        let mut guard = CredentialGuard::default();
        for _ in 0..FREE_FAILURES {
            assert_eq!(guard.check(t0, &keys()), Ok(()));
            guard.fail(t0, &keys());
        }
        assert_eq!(guard.check(t0, &keys()), Ok(()), "five failures are free");
        guard.fail(t0, &keys());
        assert_eq!(guard.check(t0, &keys()), Err(FIRST_BACKOFF));
        let t1 = t0 + FIRST_BACKOFF;
        assert_eq!(guard.check(t1, &keys()), Ok(()));
        guard.fail(t1, &keys());
        assert_eq!(guard.check(t1, &keys()), Err(FIRST_BACKOFF * 2));
        // Many more: capped.
        let mut t = t1;
        for _ in 0..30 {
            guard.fail(t, &keys());
            t += Duration::from_secs(1);
        }
        let wait = guard.check(t, &keys()).expect_err("held back");
        assert!(wait <= MAX_BACKOFF, "{wait:?}");
    }

    #[test]
    fn any_key_holds_back_and_other_keys_are_free() {
        let t0 = Instant::now();
        let mut guard = CredentialGuard::default();
        for i in 0..=FREE_FAILURES {
            // Each attempt from another address, all at the same alias.
            guard.fail(t0, &[format!("addr:192.0.2.{i}"), "alias:alice".to_owned()]);
        }
        assert!(
            guard
                .check(
                    t0,
                    &["addr:198.51.100.9".to_owned(), "alias:alice".to_owned()]
                )
                .is_err(),
            "the alias is held back from a fresh address too"
        );
        assert_eq!(
            guard.check(
                t0,
                &["addr:198.51.100.9".to_owned(), "alias:bob".to_owned()]
            ),
            Ok(())
        );
    }

    #[test]
    fn success_clears_and_old_failures_are_forgotten() {
        let t0 = Instant::now();
        let mut guard = CredentialGuard::default();
        for _ in 0..=FREE_FAILURES {
            guard.fail(t0, &keys());
        }
        guard.succeed(&keys());
        assert_eq!(guard.check(t0, &keys()), Ok(()));
        for _ in 0..=FREE_FAILURES {
            guard.fail(t0, &keys());
        }
        let later = t0 + WINDOW;
        assert_eq!(guard.check(later, &keys()), Ok(()));
        guard.fail(later, &keys());
        assert_eq!(
            guard.check(later, &keys()),
            Ok(()),
            "the count started again"
        );
    }
}
