//! A token-bucket limiter keyed by client address, for `request_token` (PIN guessing and
//! join floods). Time is an argument, so tests drive it without sleeping.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Requests a client may make at once.
pub(crate) const BURST: u32 = 20;
/// Time in which a drained bucket fills up again.
pub(crate) const REFILL: Duration = Duration::from_secs(10);
/// Most addresses tracked at once. Past it (after forgetting idle ones), new addresses
/// are refused: that many callers within one refill period is a flood.
const MAX_TRACKED: usize = 65_536;

/// One client's bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Requests left, fractional while refilling.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    updated: Instant,
}

/// Per-address token buckets.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// Bucket size.
    burst: f64,
    /// Tokens added per second.
    per_second: f64,
    /// Buckets by address key (IPv6 by /64: one host usually owns a whole /64).
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// `burst` requests at once, refilled completely over `refill`.
    pub(crate) fn new(burst: u32, refill: Duration) -> RateLimiter {
        RateLimiter {
            burst: f64::from(burst),
            per_second: f64::from(burst) / refill.as_secs_f64().max(f64::EPSILON),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `addr` may make a request at `now`; takes one token if so.
    pub(crate) fn allow(&self, addr: IpAddr, now: Instant) -> bool {
        let key = key_of(addr);
        // A poisoned lock only means another request panicked mid-update; the map is
        // still a valid set of buckets.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !buckets.contains_key(&key) && buckets.len() >= MAX_TRACKED {
            buckets.retain(|_, b| self.refilled(*b, now) < self.burst);
            if buckets.len() >= MAX_TRACKED {
                return false;
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        bucket.tokens = self.refilled(*bucket, now);
        bucket.updated = now.max(bucket.updated);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.burst)
    }
}

/// IPv4 addresses as they are; IPv6 addresses by their /64 prefix (IPv4-mapped ones as
/// IPv4).
fn key_of(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
    }
}

#[cfg(test)]
// The tests take one real instant as an arbitrary origin.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn addr(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn a_burst_passes_then_the_bucket_refills_over_time() {
        let limiter = RateLimiter::new(BURST, REFILL);
        let t0 = Instant::now();
        for _ in 0..BURST {
            assert!(limiter.allow(addr("192.0.2.1"), t0));
        }
        assert!(!limiter.allow(addr("192.0.2.1"), t0));
        // Another client is not affected.
        assert!(limiter.allow(addr("192.0.2.2"), t0));
        // One token comes back every REFILL / BURST.
        let one_token = REFILL / BURST;
        assert!(limiter.allow(addr("192.0.2.1"), t0 + one_token));
        assert!(!limiter.allow(addr("192.0.2.1"), t0 + one_token));
        for _ in 0..BURST {
            assert!(limiter.allow(addr("192.0.2.1"), t0 + one_token + REFILL));
        }
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64_prefix() {
        let limiter = RateLimiter::new(2, REFILL);
        let t0 = Instant::now();
        assert!(limiter.allow(addr("2001:db8::1"), t0));
        assert!(limiter.allow(addr("2001:db8::2"), t0));
        assert!(!limiter.allow(addr("2001:db8::ffff:3"), t0));
        assert!(limiter.allow(addr("2001:db8:0:1::1"), t0));
        assert_eq!(key_of(addr("::ffff:192.0.2.9")), addr("192.0.2.9"));
    }
}
