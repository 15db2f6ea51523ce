//! The node's command-line tasks besides running it: checking the configuration and
//! hashing passwords. Each returns its output; `main` prints it and sets the exit code.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::Path;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};

use crate::config::{self, Config, Service};

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code for a configuration that was refused.
pub const EXIT_CONFIG: u8 = 64;

/// Loads the config directory with the environment overrides in `env` and describes it.
/// Returns [`EXIT_OK`] and a summary, or [`EXIT_CONFIG`] and every error, one per line.
pub fn check_config(dir: &Path, env: &HashMap<String, String>) -> (u8, String) {
    match config::load(dir, env) {
        Ok(config) => (EXIT_OK, summary(&config)),
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

/// A human-readable description of a loaded config. It names PIN policies but never
/// shows a PIN, a password hash, a TURN credential or a database URL.
pub fn summary(config: &Config) -> String {
    let mut out = String::new();
    let node = &config.node;
    let database = config.database();
    let _ = writeln!(out, "configuration is valid");
    let _ = writeln!(out, "node");
    let _ = writeln!(out, "  listen:        https://{}", node.listen);
    match node.http_redirect_listen {
        Some(addr) => {
            let _ = writeln!(out, "  http redirect: http://{addr}");
        }
        None => {
            let _ = writeln!(out, "  http redirect: off");
        }
    }
    let _ = writeln!(out, "  public name:   {}", node.public_name);
    let _ = writeln!(out, "  data dir:      {}", node.data_dir.display());
    match &database {
        config::Database::Sqlite { path, .. } => {
            let _ = writeln!(out, "  database:      sqlite ({})", path.display());
        }
        config::Database::Postgres { .. } => {
            let _ = writeln!(out, "  database:      postgres");
        }
    }
    let _ = writeln!(out, "  media ports:   {}/udp", node.media_ports);
    match node.capacity_hd_calls {
        Some(calls) => {
            let _ = writeln!(out, "  capacity:      {calls} HD calls (configured)");
        }
        None => {
            let _ = writeln!(out, "  capacity:      measured at start");
        }
    }
    if node.public_ips.is_empty() {
        let _ = writeln!(out, "  public ips:    (local addresses)");
    } else {
        let ips: Vec<String> = node.public_ips.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "  public ips:    {}", ips.join(", "));
    }
    if node.stun.is_empty() {
        let _ = writeln!(out, "  stun:          none");
    } else {
        let _ = writeln!(out, "  stun:          {}", node.stun.join(", "));
    }
    match &config.tls {
        Some(tls) => {
            let _ = writeln!(
                out,
                "  tls:           {} (key {})",
                tls.certificate.display(),
                tls.private_key.display()
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  tls:           self-signed certificate in the data dir"
            );
        }
    }

    let s = &config.switches;
    let _ = writeln!(out, "switches");
    for (name, on) in [
        ("client_access_enabled", s.client_access_enabled),
        ("webrtc_enabled", s.webrtc_enabled),
        ("h264_enabled", s.h264_enabled),
        ("chat_enabled", s.chat_enabled),
        ("guests_can_present", s.guests_can_present),
        ("maintenance_mode", s.maintenance_mode),
        ("route_calls_via_registrar", s.route_calls_via_registrar),
    ] {
        let _ = writeln!(out, "  {name}: {on}");
    }

    let _ = writeln!(out, "turn servers ({})", config.turn.len());
    for turn in &config.turn {
        let _ = writeln!(out, "  {} (user {})", turn.urls.join(", "), turn.username);
    }

    let _ = writeln!(out, "services ({})", config.services.len());
    for service in &config.services {
        let effective = service.effective(&config.switches);
        let limit = effective
            .participant_limit
            .map_or_else(|| "none".to_owned(), |l| l.to_string());
        let _ = writeln!(out, "  {} ({})", service.name, service.kind.name());
        let _ = writeln!(out, "    aliases: {}", service.aliases.join(", "));
        let _ = writeln!(out, "    pins:    {}", pin_policy(service));
        if !service.host_sso.is_empty() {
            let _ = writeln!(out, "    host sign-in: {}", service.host_sso.join(", "));
        }
        let _ = writeln!(
            out,
            "    limit: {limit}, layout: {}, chat: {}, guests can present: {}",
            effective.default_layout,
            on_off(effective.chat_enabled),
            on_off(effective.guests_can_present)
        );
    }

    let _ = writeln!(
        out,
        "identity providers ({})",
        config.identity_providers.len()
    );
    for idp in &config.identity_providers {
        let secret = if idp.client_secret.is_some() {
            "client secret set"
        } else {
            "public client"
        };
        let _ = writeln!(
            out,
            "  {} ({}, client {}, {secret}, display name from {:?})",
            idp.name, idp.issuer, idp.client_id, idp.display_name_claim
        );
    }

    let _ = writeln!(out, "device aliases ({})", config.devices.len());
    for device in &config.devices {
        let sso = match &device.sign_in {
            crate::config::DeviceSignIn::Sso { identity_provider } => {
                format!(", single sign-on at {identity_provider}")
            }
            crate::config::DeviceSignIn::Password(_) => String::new(),
        };
        let _ = writeln!(out, "  {} (user {}{sso})", device.alias, device.username);
    }

    let _ = writeln!(out, "admin users ({})", config.admins.len());
    for admin in &config.admins {
        let _ = writeln!(out, "  {}", admin.username);
    }
    out
}

/// Describes who gets in as what (behaviour §2), without the PINs themselves.
pub fn pin_policy(service: &Service) -> &'static str {
    if !service.host_sso.is_empty() {
        return match (&service.guest_pin, service.allow_guests) {
            (_, false) => "Hosts sign in (single sign-on), no Guests",
            (Some(_), true) => "Hosts sign in (single sign-on), Guests with the Guest PIN",
            (None, true) => "Hosts sign in (single sign-on), Guests join without a PIN",
        };
    }
    match (&service.host_pin, &service.guest_pin, service.allow_guests) {
        (None, _, _) => "no PIN, everyone joins as Host",
        (Some(_), Some(_), _) => "Host PIN and Guest PIN, the PIN decides the role",
        (Some(_), None, true) => "Host PIN, Guests join without a PIN",
        (Some(_), None, false) => "Host PIN only, no Guests",
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("cannot read the password: {0}")]
    Read(#[source] std::io::Error),
    #[error("the password is empty")]
    Empty,
    #[error("cannot hash the password: {0}")]
    Hash(#[source] argon2::password_hash::Error),
}

/// Reads one line (the trailing newline is not part of the password) and returns its
/// argon2id PHC string, with default parameters and a random salt.
pub fn hash_password(input: &mut impl BufRead) -> Result<String, PasswordError> {
    let mut line = String::new();
    input.read_line(&mut line).map_err(PasswordError::Read)?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    hash_password_str(password)
}

/// Returns the argon2id PHC string of `password`, with default parameters and a random
/// salt. An empty password is refused.
pub fn hash_password_str(password: &str) -> Result<String, PasswordError> {
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(PasswordError::Hash)?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `phc`; false for a malformed `phc`.
pub fn verify_password(phc: &str, password: &str) -> bool {
    match argon2::PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
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
    fn hashed_password_verifies_and_a_wrong_one_does_not() {
        let phc = hash_password(&mut "s3cret pass\n".as_bytes()).expect("hashes");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password(&phc, "s3cret pass"));
        assert!(!verify_password(&phc, "s3cret pass\n"));
        assert!(!verify_password(&phc, "wrong"));
        assert!(config::PhcHash::parse(&phc).is_ok_and(|h| h.verify("s3cret pass")));
    }

    #[test]
    fn hash_password_strips_crlf_and_refuses_empty_input() {
        let phc = hash_password(&mut "pw\r\n".as_bytes()).expect("hashes");
        assert!(verify_password(&phc, "pw"));
        assert!(matches!(
            hash_password(&mut "\n".as_bytes()),
            Err(PasswordError::Empty)
        ));
        assert!(matches!(
            hash_password(&mut "".as_bytes()),
            Err(PasswordError::Empty)
        ));
    }

    #[test]
    fn each_hash_gets_its_own_salt() {
        let a = hash_password_str("same").expect("hashes");
        let b = hash_password_str("same").expect("hashes");
        assert_ne!(a, b);
    }

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

    #[test]
    fn verify_refuses_malformed_hashes() {
        assert!(!verify_password("not a hash", "x"));
        assert!(!verify_password("", ""));
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
