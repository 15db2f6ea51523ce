//! The node's command-line tasks besides running it: checking the configuration and
//! measuring capacity (hashing a password is [`crate::password`]). Each returns its
//! output; `main` prints it and sets the exit code.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::Path;

use crate::config;

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code for a configuration that was refused.
pub const EXIT_CONFIG: u8 = 64;

/// Loads the config directory with the environment overrides in `env` and describes it.
/// Returns [`EXIT_OK`] and a summary, or [`EXIT_CONFIG`] and every error, one per line.
pub fn check_config(dir: &Path, env: &HashMap<String, String>) -> (u8, String) {
    match config::load(dir, env) {
        Ok(config) => (EXIT_OK, config::summary(&config)),
        Err(errors) => (EXIT_CONFIG, format!("{errors}\n")),
    }
}

/// The environment as a map for [`check_config`] and [`config::load`], from
/// `std::env::vars_os()`; variables whose name or value is not UTF-8 are left out
/// (`std::env::vars()` would panic on them).
pub fn env_map(vars: impl IntoIterator<Item = (OsString, OsString)>) -> HashMap<String, String> {
    vars.into_iter()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// `plenum capacity`: measures this machine with the real media kernels, as `serve` does
/// at start, and describes what fits (a table, or JSON with `json`).
pub fn capacity_report(json: bool) -> Result<String, String> {
    use plenum_media::capacity::{CPU_SHARE, CallClass};
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (capacity, _) = crate::node::admission::capacity_for(None, cpus)?;
    let classes = [
        (CallClass::Hd, "HD (720p)"),
        (CallClass::Sd, "SD (360p)"),
        (CallClass::Audio, "audio-only"),
    ];
    let ms = |c: CallClass| capacity.costs.of(c).as_secs_f64() * 1000.0;
    let per_core = |c: CallClass| 1000.0 / ms(c).max(f64::MIN_POSITIVE);
    if json {
        let mut calls = serde_json::Map::new();
        for (class, _) in classes {
            calls.insert(
                class.name().to_owned(),
                serde_json::json!({
                    "cpu_ms_per_second": (ms(class) * 10.0).round() / 10.0,
                    "per_core": (per_core(class) * 10.0).round() / 10.0,
                    "max_calls": capacity.calls(class),
                }),
            );
        }
        let value = serde_json::json!({
            "cpus": cpus,
            "cpu_share": CPU_SHARE,
            "calls": calls,
        });
        return Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "capacity of this machine, measured with the real media kernels ({cpus} CPUs, {:.0} % of them for calls)",
        CPU_SHARE * 100.0
    );
    let _ = writeln!(
        out,
        "  {:<12} {:>18} {:>10} {:>10}",
        "call", "CPU ms per second", "per core", "max calls"
    );
    for (class, name) in classes {
        let _ = writeln!(
            out,
            "  {name:<12} {:>18.1} {:>10.1} {:>10}",
            ms(class),
            per_core(class),
            capacity.calls(class)
        );
    }
    let _ = writeln!(
        out,
        "media thread work only (mix, composite, codecs); `plenum loadtest` measures calls end to end, packet path included.\n\
         To use another figure, set node.capacity_hd_calls in plenum.toml."
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_map_keeps_utf8_variables() {
        let vars = [
            (
                OsString::from("PLENUM_LISTEN"),
                OsString::from("127.0.0.1:1"),
            ),
            (OsString::from("OTHER"), OsString::from("x")),
        ];
        let env = env_map(vars);
        assert_eq!(
            env.get("PLENUM_LISTEN").map(String::as_str),
            Some("127.0.0.1:1")
        );
        assert_eq!(env.len(), 2);
    }

    fn shipped_config_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
    }

    #[test]
    fn check_config_describes_the_shipped_config_without_secrets() {
        let (code, output) = check_config(&shipped_config_dir(), &HashMap::new());
        assert_eq!(code, EXIT_OK, "{output}");
        for expected in [
            "meet.open (vmr)",
            "no PIN, everyone joins as Host",
            "meet.twopins (vmr)",
            "Host PIN and Guest PIN, the PIN decides the role",
            "Host PIN only, no Guests",
            "limit: 2",
            "auditorium (auditorium)",
            "reception (reception)",
            "test (test_call)",
            "alice@example.com",
            "  admin\n",
            "database:      sqlite",
            "stun:          none",
            "turn servers (0)",
        ] {
            assert!(
                output.contains(expected),
                "missing {expected:?} in:\n{output}"
            );
        }
        assert!(!output.contains("1234"), "a PIN leaked:\n{output}");
        assert!(!output.contains("5678"), "a PIN leaked:\n{output}");
        assert!(!output.contains("$argon2"), "a hash leaked:\n{output}");
    }

    #[test]
    fn check_config_reports_every_error_and_exits_64() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("plenum.toml"),
            "[node]\nlisten = \"nope\"\n",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("services.toml"),
            "[[service]]\nname = \"a\"\naliases = [\"a\"]\nhost_pin = \"987\"\n",
        )
        .expect("write");
        let (code, output) = check_config(dir.path(), &HashMap::new());
        assert_eq!(code, EXIT_CONFIG);
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines.len(), 2, "{output}");
        assert!(lines[0].ends_with("plenum.toml:2:10: node.listen: \"nope\" is not an address with a port, like 127.0.0.1:8443 or [::]:8443"), "{output}");
        assert!(
            lines[1].contains("services.toml:4:12: service \"a\": the host_pin is refused"),
            "{output}"
        );
        assert!(!output.contains("987"));
    }

    #[test]
    fn check_config_refuses_a_missing_directory() {
        let (code, output) = check_config(Path::new("/nonexistent/plenum-config"), &HashMap::new());
        assert_eq!(code, EXIT_CONFIG);
        assert!(output.contains("plenum.toml: cannot read"), "{output}");
    }
}
