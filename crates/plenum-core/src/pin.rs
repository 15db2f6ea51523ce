//! PINs: parsing, constant-time comparison, and the brute-force guard that counts failures.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

/// Shortest PIN a service may configure.
pub const MIN_PIN_DIGITS: usize = 4;
/// Longest PIN a service may configure.
pub const MAX_PIN_DIGITS: usize = 20;

/// A configured PIN: 4–20 ASCII digits. Its `Debug` never shows the digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

/// Why a configured PIN was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("a PIN may contain only the digits 0-9")]
    NotDigits,
    #[error("a PIN must be {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits long, this one has {0}")]
    BadLength(usize),
}

impl Pin {
    /// Parses a configured PIN. A trailing `#` is not accepted here: configuration is exact.
    pub fn parse(digits: &str) -> Result<Pin, PinError> {
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PinError::NotDigits);
        }
        if !(MIN_PIN_DIGITS..=MAX_PIN_DIGITS).contains(&digits.len()) {
            return Err(PinError::BadLength(digits.len()));
        }
        Ok(Pin(digits.to_owned()))
    }

    /// Compares an entered PIN with this one in time that does not depend on where
    /// they differ. The entered value is compared as given (strip `#` before).
    pub fn matches(&self, entered: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), entered.as_bytes())
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// Compares two byte strings of up to [`MAX_PIN_DIGITS`] (longer input is refused early,
/// which leaks nothing about the secret) without an early exit on the first difference.
fn constant_time_eq(secret: &[u8], entered: &[u8]) -> bool {
    const WIDTH: usize = 32;
    if entered.len() > WIDTH || secret.len() > WIDTH {
        return false;
    }
    let mut a = [0u8; WIDTH];
    let mut b = [0u8; WIDTH];
    a[..secret.len()].copy_from_slice(secret);
    b[..entered.len()].copy_from_slice(entered);
    let mut diff =
        (secret.len() ^ entered.len()) as u8 | ((secret.len() ^ entered.len()) >> 8) as u8;
    for i in 0..WIDTH {
        diff |= a[i] ^ b[i];
    }
    std::hint::black_box(diff) == 0
}

/// What a caller sent as PIN, as the client API carries it.
#[derive(Clone, PartialEq, Eq)]
pub enum PinInput {
    /// No `pin` header (or an empty one).
    Absent,
    /// The literal `none`: "join as Guest without a PIN".
    GuestWithoutPin,
    /// Digits (or garbage) the caller typed; a trailing `#` has been removed.
    Entered(String),
}

impl PinInput {
    /// Interprets a raw `pin` header value: empty → absent, `none` → Guest without
    /// PIN, otherwise the value with one optional trailing `#` removed.
    pub fn from_header(raw: Option<&str>) -> PinInput {
        match raw.map(str::trim) {
            None | Some("") => PinInput::Absent,
            Some(v) if v.eq_ignore_ascii_case("none") => PinInput::GuestWithoutPin,
            Some(v) => {
                let v = v.strip_suffix('#').unwrap_or(v);
                if v.is_empty() {
                    PinInput::Absent
                } else {
                    PinInput::Entered(v.to_owned())
                }
            }
        }
    }
}

impl fmt::Debug for PinInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinInput::Absent => f.write_str("Absent"),
            PinInput::GuestWithoutPin => f.write_str("GuestWithoutPin"),
            PinInput::Entered(_) => f.write_str("Entered(<redacted>)"),
        }
    }
}

/// Wrong Host PINs a participant may key into a meeting (DTMF, ended by `#`) before its
/// further entries are ignored for the rest of its session.
pub const KEYED_PIN_ATTEMPTS: u32 = 5;

/// What one keyed entry (the tones up to a `#`) turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyedPin {
    /// The entry was the PIN.
    Correct,
    /// The entry was wrong; `attempts` wrong entries so far, and `locked_out` once they
    /// reached [`KEYED_PIN_ATTEMPTS`] (only on the entry that reached it: later ones are
    /// ignored without a verdict).
    Wrong { attempts: u32, locked_out: bool },
}

/// Tones a participant keys into the meeting, collected until `#` so that a PIN entered
/// by DTMF is recognised whether the tones arrive one per request or all at once.
///
/// Bounded: at most [`MAX_PIN_DIGITS`] tones are kept; a longer entry can't be a PIN
/// and is wrong when its `#` comes. The entry is compared the way the join path compares
/// a `pin` header ([`PinInput::from_header`], then [`Pin::matches`]). `Debug` never
/// shows the tones.
#[derive(Clone, Default)]
pub struct PinKeypad {
    /// Tones since the last `#`, upper case.
    keyed: String,
    /// More tones than a PIN has arrived since the last `#`.
    overflowed: bool,
    /// Wrong entries so far.
    attempts: u32,
}

impl PinKeypad {
    /// An empty keypad with no wrong entries.
    pub fn new() -> PinKeypad {
        PinKeypad::default()
    }

    /// Whether wrong entries used up the tries: tones are ignored from then on.
    pub fn locked_out(&self) -> bool {
        self.attempts >= KEYED_PIN_ATTEMPTS
    }

    /// Takes one tone. `#` ends the entry, which is checked against `pin` and cleared; a
    /// `#` with nothing keyed before it is no entry. Returns the verdict of a completed
    /// entry, `None` otherwise and always once locked out.
    pub fn press(&mut self, tone: char, pin: &Pin) -> Option<KeyedPin> {
        if self.locked_out() {
            self.clear();
            return None;
        }
        if tone != '#' {
            if self.keyed.len() < MAX_PIN_DIGITS {
                self.keyed.push(tone.to_ascii_uppercase());
            } else {
                self.overflowed = true;
            }
            return None;
        }
        let overflowed = self.overflowed;
        let entry = PinInput::from_header(Some(&format!("{}#", self.keyed)));
        self.clear();
        let correct = match &entry {
            // A lone `#` (tones never overflow into an empty entry).
            PinInput::Absent => return None,
            PinInput::Entered(entered) => pin.matches(entered) & !overflowed,
            PinInput::GuestWithoutPin => false,
        };
        if correct {
            return Some(KeyedPin::Correct);
        }
        self.attempts += 1;
        Some(KeyedPin::Wrong {
            attempts: self.attempts,
            locked_out: self.locked_out(),
        })
    }

    /// Forgets the tones keyed since the last `#` (the count of wrong entries stays).
    pub fn clear(&mut self) {
        self.keyed.clear();
        self.overflowed = false;
    }
}

impl fmt::Debug for PinKeypad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinKeypad")
            .field("keyed", &self.keyed.len())
            .field("attempts", &self.attempts)
            .finish()
    }
}

/// Failures a single caller may make at one service before being refused.
pub const CALLER_FAILURE_LIMIT: u32 = 3;
/// Failures from all callers together at one service within [`ROOM_WINDOW`] before the
/// service refuses PIN attempts from everyone until the window has passed.
pub const ROOM_FAILURE_LIMIT: u32 = 30;
/// The window over which a service's failures from all callers are counted.
pub const ROOM_WINDOW: Duration = Duration::from_secs(600);

/// Counts wrong PINs per caller and per service, so that guessing does not pay.
///
/// A caller (the node passes the client address) has [`CALLER_FAILURE_LIMIT`] tries per
/// service; after that every attempt is refused until the service's lockout (its PIN
/// entry timeout) has passed since the last failure. Independently, a service that sees
/// [`ROOM_FAILURE_LIMIT`] failures within [`ROOM_WINDOW`] from anyone refuses all PIN
/// attempts until the window ends, which stops a distributed guesser. A success clears
/// the caller's count.
#[derive(Debug, Default)]
pub struct PinGuard {
    /// (service, caller) → failures, time of the latest one, and how long it counts.
    callers: HashMap<(String, String), CallerFailures>,
    /// service → failures in the current window and the window's start.
    rooms: HashMap<String, (u32, Instant)>,
}

#[derive(Debug)]
struct CallerFailures {
    count: u32,
    last: Instant,
    lockout: Duration,
}

impl PinGuard {
    /// A guard with no failures recorded.
    pub fn new() -> PinGuard {
        PinGuard::default()
    }

    /// Whether this caller may try a PIN at this service now.
    pub fn may_attempt(&mut self, now: Instant, service: &str, caller: &str) -> bool {
        self.expire(now);
        let caller_ok = self
            .callers
            .get(&(service.to_owned(), caller.to_owned()))
            .is_none_or(|f| f.count < CALLER_FAILURE_LIMIT);
        let room_ok = self
            .rooms
            .get(service)
            .is_none_or(|(n, _)| *n < ROOM_FAILURE_LIMIT);
        caller_ok && room_ok
    }

    /// Records a wrong PIN; returns true when this failure used up the caller's tries,
    /// who is then refused for `lockout`.
    pub fn record_failure(
        &mut self,
        now: Instant,
        service: &str,
        caller: &str,
        lockout: Duration,
    ) -> bool {
        self.expire(now);
        let entry = self
            .callers
            .entry((service.to_owned(), caller.to_owned()))
            .or_insert(CallerFailures {
                count: 0,
                last: now,
                lockout,
            });
        entry.count += 1;
        entry.last = now;
        entry.lockout = lockout;
        let exhausted = entry.count >= CALLER_FAILURE_LIMIT;
        let room = self.rooms.entry(service.to_owned()).or_insert((0, now));
        room.0 += 1;
        exhausted
    }

    /// Records a correct PIN: the caller's count at that service starts again.
    pub fn record_success(&mut self, service: &str, caller: &str) {
        self.callers
            .remove(&(service.to_owned(), caller.to_owned()));
    }

    /// Forgets failures old enough not to matter, so memory stays bounded by recent
    /// activity.
    fn expire(&mut self, now: Instant) {
        self.callers
            .retain(|_, f| now.saturating_duration_since(f.last) < f.lockout);
        self.rooms
            .retain(|_, (_, start)| now.saturating_duration_since(*start) < ROOM_WINDOW);
    }
}

#[cfg(test)]
// Tests read the real clock once, for an arbitrary origin; time then moves only by hand.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn pin_must_be_four_to_twenty_digits() {
        assert_eq!(Pin::parse("123"), Err(PinError::BadLength(3)));
        assert!(Pin::parse("1234").is_ok());
        assert!(Pin::parse("12345678901234567890").is_ok());
        assert_eq!(
            Pin::parse("123456789012345678901"),
            Err(PinError::BadLength(21))
        );
        assert_eq!(Pin::parse("12a4"), Err(PinError::NotDigits));
        assert_eq!(Pin::parse("1234#"), Err(PinError::NotDigits));
    }

    #[test]
    fn pin_comparison_is_exact() {
        let pin = Pin::parse("1234").expect("valid");
        assert!(pin.matches("1234"));
        assert!(!pin.matches("12345"));
        assert!(!pin.matches("123"));
        assert!(!pin.matches("1235"));
        assert!(!pin.matches(""));
        assert!(!pin.matches(&"1".repeat(200)));
    }

    #[test]
    fn pin_debug_is_redacted() {
        let pin = Pin::parse("987654").expect("valid");
        assert!(!format!("{pin:?}").contains("987654"));
        let input = PinInput::Entered("987654".into());
        assert!(!format!("{input:?}").contains("987654"));
    }

    #[test]
    fn header_values_map_to_inputs() {
        assert_eq!(PinInput::from_header(None), PinInput::Absent);
        assert_eq!(PinInput::from_header(Some("")), PinInput::Absent);
        assert_eq!(PinInput::from_header(Some("#")), PinInput::Absent);
        assert_eq!(
            PinInput::from_header(Some("none")),
            PinInput::GuestWithoutPin
        );
        assert_eq!(
            PinInput::from_header(Some("1234#")),
            PinInput::Entered("1234".into())
        );
        assert_eq!(
            PinInput::from_header(Some(" 1234 ")),
            PinInput::Entered("1234".into())
        );
    }

    /// Presses each tone of `tones` and returns the verdicts of completed entries.
    fn key(keypad: &mut PinKeypad, tones: &str) -> Vec<KeyedPin> {
        let pin = Pin::parse("1234").expect("valid");
        tones
            .chars()
            .filter_map(|t| keypad.press(t, &pin))
            .collect()
    }

    #[test]
    fn keypad_collects_tones_until_hash() {
        let mut keypad = PinKeypad::new();
        assert_eq!(key(&mut keypad, "12"), []);
        assert_eq!(key(&mut keypad, "34#"), [KeyedPin::Correct]);
        assert_eq!(key(&mut keypad, "#"), [], "a lone # is no entry");
        assert_eq!(
            key(&mut keypad, "1234*#1234#"),
            [
                KeyedPin::Wrong {
                    attempts: 1,
                    locked_out: false
                },
                KeyedPin::Correct
            ]
        );
    }

    #[test]
    fn keypad_keeps_no_more_than_a_pin_and_a_long_entry_is_wrong() {
        let mut keypad = PinKeypad::new();
        let long = format!("{}1234#", "9".repeat(500));
        assert_eq!(
            key(&mut keypad, &long),
            [KeyedPin::Wrong {
                attempts: 1,
                locked_out: false
            }]
        );
        assert!(keypad.keyed.capacity() <= 2 * MAX_PIN_DIGITS);
        assert!(!format!("{keypad:?}").contains('9'));
    }

    #[test]
    fn keypad_ignores_everything_after_five_wrong_entries() {
        let mut keypad = PinKeypad::new();
        let verdicts = key(&mut keypad, "1#2#3#4#5#");
        assert_eq!(
            verdicts.last(),
            Some(&KeyedPin::Wrong {
                attempts: KEYED_PIN_ATTEMPTS,
                locked_out: true
            })
        );
        assert_eq!(key(&mut keypad, "1234#"), []);
        assert!(keypad.locked_out());
    }

    #[test]
    fn third_failure_locks_the_caller_but_not_others() {
        let t0 = Instant::now();
        let mut guard = PinGuard::new();
        let lockout = Duration::from_secs(120);
        assert!(!guard.record_failure(t0, "room", "10.0.0.1", lockout));
        assert!(!guard.record_failure(t0, "room", "10.0.0.1", lockout));
        assert!(guard.record_failure(t0, "room", "10.0.0.1", lockout));
        assert!(!guard.may_attempt(t0, "room", "10.0.0.1"));
        assert!(guard.may_attempt(t0, "room", "10.0.0.2"));
        assert!(guard.may_attempt(t0, "other", "10.0.0.1"));
        // The lockout ends after its duration.
        assert!(guard.may_attempt(t0 + Duration::from_secs(121), "room", "10.0.0.1"));
    }

    #[test]
    fn many_callers_failing_lock_the_room_for_everyone() {
        let t0 = Instant::now();
        let mut guard = PinGuard::new();
        let lockout = Duration::from_secs(120);
        for i in 0..ROOM_FAILURE_LIMIT {
            guard.record_failure(t0, "room", &format!("caller-{i}"), lockout);
        }
        assert!(!guard.may_attempt(t0, "room", "fresh-caller"));
        assert!(guard.may_attempt(t0, "other-room", "fresh-caller"));
        assert!(guard.may_attempt(t0 + ROOM_WINDOW, "room", "fresh-caller"));
    }

    #[test]
    fn success_clears_the_callers_count() {
        let t0 = Instant::now();
        let mut guard = PinGuard::new();
        let lockout = Duration::from_secs(120);
        guard.record_failure(t0, "room", "a", lockout);
        guard.record_failure(t0, "room", "a", lockout);
        guard.record_success("room", "a");
        assert!(!guard.record_failure(t0, "room", "a", lockout));
        assert!(guard.may_attempt(t0, "room", "a"));
    }
}
