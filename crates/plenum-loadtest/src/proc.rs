//! What the kernel says about a process: CPU time used (user + system), per thread with
//! its name, and resident memory, read from `/proc/<pid>/stat`, `/proc/<pid>/task/*/stat`
//! and `/proc/<pid>/status`.

use std::collections::HashMap;
use std::time::Duration;

/// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`, 100 on every Linux
/// architecture plenum runs on).
const TICKS_PER_SECOND: u64 = 100;

/// CPU time `pid` has used so far, user and system together (all its threads).
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    cpu_time_of(&stat).ok_or_else(|| anyhow::anyhow!("cannot read /proc/{pid}/stat"))
}

/// Each thread of `pid` by thread id: its name and CPU time so far.
pub fn thread_times(pid: u32) -> HashMap<u32, (String, Duration)> {
    let mut threads = HashMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return threads;
    };
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let name = match (stat.find('('), stat.rfind(')')) {
            (Some(open), Some(close)) if open < close => stat[open + 1..close].to_owned(),
            _ => String::new(),
        };
        if let Some(cpu) = cpu_time_of(&stat) {
            threads.insert(tid, (name, cpu));
        }
    }
    threads
}

/// CPU used between two [`thread_times`] readings, split by `is_media(name)`:
/// (media threads, the rest). Threads new at `end` count from zero.
pub fn split_cpu(
    start: &HashMap<u32, (String, Duration)>,
    end: &HashMap<u32, (String, Duration)>,
    is_media: impl Fn(&str) -> bool,
) -> (Duration, Duration) {
    let mut media = Duration::ZERO;
    let mut other = Duration::ZERO;
    for (tid, (name, cpu)) in end {
        let before = start.get(tid).map_or(Duration::ZERO, |(_, c)| *c);
        let used = cpu.saturating_sub(before);
        if is_media(name) {
            media += used;
        } else {
            other += used;
        }
    }
    (media, other)
}

/// utime + stime from one `/proc/<pid>/stat` line. The command name (field 2) may hold
/// spaces and parentheses, so fields are counted after its last `)`.
fn cpu_time_of(stat: &str) -> Option<Duration> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
    // cmajflt utime(14) stime(15).
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis(
        (utime + stime) * 1000 / TICKS_PER_SECOND,
    ))
}

/// Resident memory now and at its peak, bytes (`VmRSS`, `VmHWM`).
pub fn memory(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024)
    };
    match (field("VmRSS:"), field("VmHWM:")) {
        (Some(rss), Some(peak)) => Ok((rss, peak)),
        _ => anyhow::bail!("cannot read memory from /proc/{pid}/status"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_user_plus_system_after_the_name() {
        let stat = "4242 (my (odd) name) S 1 2 3 4 5 6 7 8 9 10 150 25 0 0 20 0 9 0 100";
        assert_eq!(cpu_time_of(stat), Some(Duration::from_millis(1750)));
        assert_eq!(cpu_time_of("garbage"), None);
    }

    #[test]
    fn thread_cpu_is_split_by_name() {
        let ms = Duration::from_millis;
        let start = HashMap::from([
            (1, ("media meet".to_owned(), ms(100))),
            (2, ("tokio-w".to_owned(), ms(50))),
        ]);
        let end = HashMap::from([
            (1, ("media meet".to_owned(), ms(300))),
            (2, ("tokio-w".to_owned(), ms(80))),
            (3, ("media new".to_owned(), ms(10))),
        ]);
        assert_eq!(
            split_cpu(&start, &end, |n| n.starts_with("media ")),
            (ms(210), ms(30))
        );
        assert!(!thread_times(std::process::id()).is_empty());
    }

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let pid = std::process::id();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(cpu_time(pid).is_ok());
        let (rss, peak) = memory(pid).expect("memory");
        assert!(rss > 0 && peak >= rss);
    }
}
