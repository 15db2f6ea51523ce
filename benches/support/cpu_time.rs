//! Thread CPU time for benches on a shared machine: `timed` runs a closure and returns the
//! CPU time this thread spent (`se.sum_exec_runtime` from `/proc/thread-self/sched`), or
//! wall time where that file is missing. Included by `benches/video.rs` and
//! `benches/room.rs`.

use std::time::{Duration, Instant};

/// This thread's CPU time so far, if the kernel exposes it.
pub fn thread_cpu_time() -> Option<Duration> {
    let sched = std::fs::read_to_string("/proc/thread-self/sched").ok()?;
    let line = sched
        .lines()
        .find(|l| l.starts_with("se.sum_exec_runtime"))?;
    let ms: f64 = line.split(':').nth(1)?.trim().parse().ok()?;
    Some(Duration::from_secs_f64(ms / 1000.0))
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
