//! Structured fuzzing on stable Rust (no nightly for cargo-fuzz here): inputs made by
//! mutating real seeds (a browser's offer, the shipped config, a provisioning link, the
//! SDK's JSON bodies) or from scratch, run through a target by proptest, which shrinks
//! any failure to a small input. [`fuzz`] runs a target for `PLENUM_FUZZ_SECONDS` when
//! set (the test command's one-minute runs, the documented 30-minute runs), else for
//! `PLENUM_FUZZ_CASES` cases (default [`DEFAULT_CASES`], every `cargo test`).

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

/// Cases per target in a plain `cargo test`.
pub const DEFAULT_CASES: u32 = 256;
/// Cases per batch of a time-bounded run (each batch starts from a fresh random seed).
const BATCH: u32 = 512;

/// Tokens that make parsers take unusual branches, spliced into mutated inputs.
const TOKENS: &[&str] = &[
    "\r\n",
    "\n",
    "\0",
    "=",
    ":",
    ";",
    " ",
    "/",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "\\",
    ",",
    "-1",
    "0",
    "4294967296",
    "18446744073709551616",
    "1e999",
    "NaN",
    "null",
    "true",
    "[[",
    "]]",
    "m=video 9 UDP/TLS/RTP/SAVPF 96",
    "a=rtpmap:96 VP8/90000",
    "a=mid:",
    "a=group:BUNDLE ",
    "a=ssrc:",
    "a=fmtp:",
    "\u{feff}",
    "\u{202e}",
    "é",
    "🎥",
    "%",
    "%zz",
    "+",
    "&",
    "?",
];

/// One edit of a mutation.
#[derive(Debug, Clone)]
enum Edit {
    /// Flip bits of the byte at (position ‰ of the length).
    Flip(u16, u8),
    /// Insert a token at a position.
    Token(u16, usize),
    /// Insert arbitrary bytes at a position.
    Bytes(u16, Vec<u8>),
    /// Delete a range (start ‰, length).
    Delete(u16, u16),
    /// Copy a range (start ‰, length) to another position ‰.
    Duplicate(u16, u16, u16),
    /// Keep only the first ‰ of the input.
    Truncate(u16),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0..1000u16, any::<u8>()).prop_map(|(at, bits)| Edit::Flip(at, bits)),
        (0..1000u16, 0..TOKENS.len()).prop_map(|(at, t)| Edit::Token(at, t)),
        (0..1000u16, prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, b)| Edit::Bytes(at, b)),
        (0..1000u16, 1..200u16).prop_map(|(at, n)| Edit::Delete(at, n)),
        (0..1000u16, 1..400u16, 0..1000u16).prop_map(|(a, n, to)| Edit::Duplicate(a, n, to)),
        (0..1000u16).prop_map(Edit::Truncate),
    ]
}

fn at(len: usize, permille: u16) -> usize {
    len * usize::from(permille) / 1000
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len();
        match e {
            Edit::Flip(p, bits) if len > 0 => {
                let i = at(len - 1, *p);
                bytes[i] ^= (*bits).max(1);
            }
            Edit::Flip(..) => {}
            Edit::Token(p, t) => {
                let i = at(len, *p);
                bytes.splice(i..i, TOKENS[*t].bytes());
            }
            Edit::Bytes(p, b) => {
                let i = at(len, *p);
                bytes.splice(i..i, b.iter().copied());
            }
            Edit::Delete(p, n) => {
                let i = at(len, *p);
                let end = (i + usize::from(*n)).min(len);
                bytes.drain(i..end);
            }
            Edit::Duplicate(p, n, to) => {
                let i = at(len, *p);
                let end = (i + usize::from(*n)).min(len);
                let copy = bytes[i..end].to_vec();
                let to = at(len, *to);
                bytes.splice(to..to, copy);
            }
            Edit::Truncate(p) => bytes.truncate(at(len, *p)),
        }
    }
    bytes
}

/// Bytes made from one of `seeds` by 1 to 8 random edits (bit flips, tokens that matter
/// to parsers, random bytes, deleted, duplicated and cut ranges).
pub fn mutated_bytes(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    assert!(!seeds.is_empty(), "at least one seed");
    (0..seeds.len(), prop::collection::vec(edit(), 1..8))
        .prop_map(move |(seed, edits)| apply(seeds[seed].clone(), &edits))
}

/// Text made like [`mutated_bytes`], invalid UTF-8 replaced (for parsers taking `&str`).
pub fn mutated_text(seeds: &[&str]) -> impl Strategy<Value = String> + use<> {
    mutated_bytes(seeds.iter().map(|s| s.as_bytes().to_vec()).collect())
        .prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Mutated seeds most of the time, random text from scratch sometimes.
pub fn text_input(seeds: &[&str]) -> impl Strategy<Value = String> + use<> {
    prop_oneof![
        8 => mutated_text(seeds),
        1 => any::<String>(),
        1 => prop::collection::vec(prop::sample::select(TOKENS.to_vec()), 0..64)
            .prop_map(|t| t.concat()),
    ]
}

/// What happens to one packet of a seed stream in [`mutated_stream`].
#[derive(Debug, Clone)]
enum Fate {
    Keep,
    Mutate(Vec<Edit>),
    Drop,
    /// Sent twice.
    Repeat,
    /// Sent after the next one.
    Late,
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        12 => Just(Fate::Keep),
        4 => prop::collection::vec(edit(), 1..4).prop_map(Fate::Mutate),
        1 => Just(Fate::Drop),
        1 => Just(Fate::Repeat),
        1 => Just(Fate::Late),
    ]
}

/// A stream of packets made from a real one (`seeds`, in order): most packets kept,
/// some mutated like [`mutated_bytes`], dropped, repeated or sent late, and a few random
/// packets slipped in — what a network and a hostile sender do to a media stream.
pub fn mutated_stream(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<Vec<u8>>> {
    let n = seeds.len();
    (
        prop::collection::vec(fate(), n),
        prop::collection::vec((0..=n, prop::collection::vec(any::<u8>(), 0..48)), 0..3),
    )
        .prop_map(move |(fates, extra)| {
            let mut out: Vec<Vec<u8>> = Vec::with_capacity(n + extra.len() + 4);
            let mut late: Option<Vec<u8>> = None;
            for (seed, fate) in seeds.iter().zip(&fates) {
                let packet = match fate {
                    Fate::Keep | Fate::Repeat | Fate::Late => seed.clone(),
                    Fate::Mutate(edits) => apply(seed.clone(), edits),
                    Fate::Drop => continue,
                };
                if matches!(fate, Fate::Repeat) {
                    out.push(packet.clone());
                }
                if matches!(fate, Fate::Late) {
                    out.extend(late.replace(packet));
                    continue;
                }
                out.push(packet);
                out.extend(late.take());
            }
            out.extend(late);
            for (at, bytes) in extra.into_iter().rev() {
                let at = at.min(out.len());
                out.insert(at, bytes);
            }
            out
        })
}

/// How long or how much to run, from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Budget {
    Cases(u32),
    Time(Duration),
}

fn budget() -> Budget {
    let env = |k: &str| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    match (env("PLENUM_FUZZ_SECONDS"), env("PLENUM_FUZZ_CASES")) {
        (Some(secs), _) if secs > 0 => Budget::Time(Duration::from_secs(secs)),
        (_, Some(cases)) if cases > 0 => Budget::Cases(u32::try_from(cases).unwrap_or(u32::MAX)),
        _ => Budget::Cases(DEFAULT_CASES),
    }
}

/// Runs `target` on inputs from `strategy` within the budget; panics with the shrunk
/// input on the first failure (a panic in the target is a failure too). Answers how
/// many cases ran.
pub fn fuzz<S>(
    name: &str,
    strategy: S,
    target: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> u64
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let budget = budget();
    let started = Instant::now();
    let mut ran: u64 = 0;
    loop {
        let cases = match budget {
            Budget::Cases(n) => n,
            Budget::Time(_) => BATCH,
        };
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 4096,
            ..Config::default()
        });
        match runner.run(&strategy, &target) {
            Ok(()) => ran += u64::from(cases),
            Err(TestError::Fail(why, input)) => {
                panic!(
                    "fuzz target {name} failed after {ran} cases: {why}\nminimal input: {input:?}"
                )
            }
            Err(TestError::Abort(why)) => panic!("fuzz target {name} aborted: {why}"),
        }
        match budget {
            Budget::Cases(_) => break,
            Budget::Time(limit) if started.elapsed() >= limit => break,
            Budget::Time(_) => {}
        }
    }
    // What a run covered, for the log of a long run (tests capture it otherwise).
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "fuzz {name}: {ran} cases in {:.1} s, no failure",
            started.elapsed().as_secs_f64()
        );
    }
    ran
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_stay_in_bounds_on_any_input() {
        let count = fuzz(
            "mutator",
            (
                prop::collection::vec(any::<u8>(), 0..64),
                prop::collection::vec(edit(), 0..16),
            ),
            |(seed, edits)| {
                let out = apply(seed, &edits);
                prop_assert!(out.len() < 64 + 16 * 400 * 2 + 16 * 64);
                Ok(())
            },
        );
        assert!(count >= u64::from(DEFAULT_CASES.min(1)));
    }

    #[test]
    fn a_mutated_stream_keeps_most_of_its_packets_in_order() {
        let seeds: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 4]).collect();
        let untouched_in_order = std::cell::Cell::new(0usize);
        let total = std::cell::Cell::new(0usize);
        fuzz("stream", mutated_stream(seeds), |stream| {
            prop_assert!(stream.len() <= 2 * 40 + 2, "{} packets", stream.len());
            let kept: Vec<u8> = stream
                .iter()
                .filter(|p| p.len() == 4 && p.iter().all(|b| *b == p[0]) && p[0] < 40)
                .map(|p| p[0])
                .collect();
            untouched_in_order
                .set(untouched_in_order.get() + kept.windows(2).filter(|w| w[0] < w[1]).count());
            total.set(total.get() + 40);
            Ok(())
        });
        // Mostly the real stream, so frames still complete and reach decoders.
        let (in_order, total) = (untouched_in_order.get(), total.get());
        assert!(in_order * 2 > total, "{in_order} of {total}");
    }

    #[test]
    fn a_failing_target_is_reported_with_a_small_input() {
        let result = std::panic::catch_unwind(|| {
            fuzz("finds-long", text_input(&["abcdef"]), |s| {
                prop_assert!(s.len() < 3);
                Ok(())
            })
        });
        let message = result.expect_err("an x is found");
        let text = message
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(text.contains("fuzz target finds-long failed"), "{text}");
    }
}

#[cfg(test)]
mod count_check {
    #[test]
    fn every_case_runs_the_target() {
        let calls = std::sync::atomic::AtomicU64::new(0);
        let ran = super::fuzz("count", super::text_input(&["seed"]), |_| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        });
        assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), ran);
    }
}
