//! Thread CPU time for benches on a shared machine: `timed` runs a closure and returns the
//! CPU time this thread spent (`se.sum_exec_runtime` from `/proc/thread-self/sched`), or
//! wall time where that file is missing. Included by `benches/video.rs` and
//! `benches/room.rs`.

use std::time::{Duration, Instant};

/// This thread's CPU time so far (plenum-media's reading, which the node's capacity
/// measurement uses too).
pub fn thread_cpu_time() -> Option<Duration> {
    plenum_media::capacity::thread_cpu_time()
}

/// Runs `f` `iters` times and returns the thread CPU time (or wall time) it took.
pub fn timed(iters: u64, mut f: impl FnMut()) -> Duration {
    let (cpu0, wall0) = (thread_cpu_time(), Instant::now());
    for _ in 0..iters {
        f();
    }
    match (cpu0, thread_cpu_time()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => wall0.elapsed(),
    }
}
