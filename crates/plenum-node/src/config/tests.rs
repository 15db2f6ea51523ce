//! Tests of the config loader: the shipped config, and every refusal with its location.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use plenum_core::{Layout, Secret, ServiceConfig, ServiceKind};

use super::*;

/// A valid argon2id hash (of "alice-password"), for tests that need one.
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$7UPOb6YAjNP1+NG/hHkY0g$f/AWiT5rHdWTdavd1TS89/3vvZKiQ+reJzCgVCIpwoM";

fn shipped_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

fn load_services(text: &str) -> Result<Config, ConfigErrors> {
    load_from_sources(&[("plenum.toml", ""), ("services.toml", text)])
}

/// Loads `text` as services.toml and returns the error lines.
fn errors_of(text: &str) -> Vec<String> {
    match load_services(text) {
        Ok(_) => panic!("config was accepted:\n{text}"),
        Err(errors) => errors.errors().iter().map(ToString::to_string).collect(),
    }
}

/// Asserts exactly one error, starting with `prefix` (file:line:col) and containing all
/// of `parts`; returns it.
fn check_one_error(text: &str, prefix: &str, parts: &[&str]) -> String {
    let errors = errors_of(text);
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    let error = errors[0].clone();
    assert!(
        error.starts_with(prefix),
        "{error:?} does not start with {prefix:?}"
    );
    for part in parts {
        assert!(error.contains(part), "{error:?} does not contain {part:?}");
    }
    error
}

fn service<'a>(services: &'a [ServiceConfig], name: &str) -> &'a ServiceConfig {
    services
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no service {name}"))
}

// === shipped config ===

#[test]
fn shipped_config_loads_with_the_example_rooms() {
    let config =
        load_dir(&shipped_dir()).unwrap_or_else(|e| panic!("shipped config refused:\n{e}"));
    let services = config.services();
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "meet.open",
            "meet.pin",
            "meet.twopins",
            "meet.hostonly",
            "meet.limit2",
            "auditorium",
            "reception",
            "test"
        ]
    );

    let open = service(&services, "meet.open");
    assert_eq!(open.kind, ServiceKind::Vmr);
    assert_eq!(open.aliases, ["meet.open", "1001"]);
    assert!(open.host_pin.is_none() && open.guest_pin.is_none());

    let pin = service(&services, "meet.pin");
    assert!(pin.host_pin.as_ref().is_some_and(|p| p.matches("1234")));
    assert!(pin.guest_pin.is_none() && pin.allow_guests);
    assert!(pin.aliases.iter().any(|a| a == "1002"));

    let two = service(&services, "meet.twopins");
    assert!(two.host_pin.as_ref().is_some_and(|p| p.matches("1234")));
    assert!(two.guest_pin.as_ref().is_some_and(|p| p.matches("5678")));
    assert!(two.aliases.iter().any(|a| a == "1003"));

    let host_only = service(&services, "meet.hostonly");
    assert!(
        host_only
            .host_pin
            .as_ref()
            .is_some_and(|p| p.matches("1234"))
    );
    assert!(!host_only.allow_guests);
    assert!(host_only.aliases.iter().any(|a| a == "1004"));

    let limit = service(&services, "meet.limit2");
    assert_eq!(limit.participant_limit, Some(2));
    assert!(limit.aliases.iter().any(|a| a == "1005"));

    let auditorium = service(&services, "auditorium");
    assert_eq!(auditorium.kind, ServiceKind::Auditorium);
    assert!(
        auditorium
            .host_pin
            .as_ref()
            .is_some_and(|p| p.matches("1234"))
    );
    assert!(auditorium.aliases.iter().any(|a| a == "1006"));

    assert_eq!(service(&services, "reception").kind, ServiceKind::Reception);
    let test = service(&services, "test");
    assert_eq!(test.kind, ServiceKind::TestCall);
    assert_eq!(test.timeouts.test_call, Duration::from_secs(30));

    // The directory finds rooms by numeric alias, as the reception needs.
    let directory = config.directory().expect("directory");
    assert_eq!(
        directory.lookup("1001").map(|s| s.name.as_str()),
        Some("meet.open")
    );
    assert_eq!(
        directory
            .lookup("MEET.PIN@example.com")
            .map(|s| s.name.as_str()),
        Some("meet.pin")
    );

    let admin = config.admin("admin").expect("default admin");
    assert!(admin.password_hash.verify("plenum-admin"));
    assert!(!admin.password_hash.verify("admin"));
    let alice = config.device("alice@example.com").expect("example device");
    assert_eq!(alice.username, "alice");
    assert!(
        matches!(&alice.sign_in, DeviceSignIn::Password(hash) if hash.verify("alice-password"))
    );
    assert!(!alice.is_sso());

    // Defaults, and data_dir relative to the config dir's parent.
    assert_eq!(config.node.listen, DEFAULT_LISTEN);
    assert_eq!(config.node.public_name, "localhost");
    assert_eq!(
        config.node.media_ports,
        PortRange {
            first: 40000,
            last: 49999
        }
    );
    let root = std::path::absolute(shipped_dir()).expect("absolute");
    assert_eq!(
        config.node.data_dir,
        root.parent().expect("parent").join("data")
    );
    assert_eq!(config.database().backend(), "sqlite");
    assert!(config.tls.is_none());
    assert_eq!(config.switches, Switches::default());
}

#[test]
fn empty_sources_give_the_defaults() {
    let config = load_from_sources(&[("plenum.toml", "")]).expect("valid");
    assert_eq!(config, Config::default());
    assert_eq!(config.database().url(), "sqlite://data/plenum.sqlite");
}

#[test]
fn every_node_setting_is_read() {
    let text = r#"
[node]
listen = "0.0.0.0:443"
http_redirect_listen = "0.0.0.0:80"
public_name = "conf.example.com"
data_dir = "/var/lib/plenum"
media_port_range = [50000, 50100]
public_ips = ["203.0.113.7", "2001:db8::7"]

[tls]
certificate = "tls/cert.pem"
private_key = "tls/key.pem"

[database]
url = "postgres://plenum:secret@db/plenum"

[switches]
maintenance_mode = true
route_calls_via_registrar = true
"#;
    let config = load_from_sources(&[("plenum.toml", text)]).expect("valid");
    assert_eq!(config.node.listen.to_string(), "0.0.0.0:443");
    assert_eq!(
        config
            .node
            .http_redirect_listen
            .map(|a| a.to_string())
            .as_deref(),
        Some("0.0.0.0:80")
    );
    assert_eq!(config.node.public_name, "conf.example.com");
    assert_eq!(config.node.data_dir, PathBuf::from("/var/lib/plenum"));
    assert_eq!(
        config.node.media_ports,
        PortRange {
            first: 50000,
            last: 50100
        }
    );
    let ips: Vec<IpAddr> = ["203.0.113.7", "2001:db8::7"]
        .iter()
        .map(|s| s.parse().expect("ip"))
        .collect();
    assert_eq!(config.node.public_ips, ips);
    assert_eq!(
        config.tls,
        Some(TlsFiles {
            certificate: "tls/cert.pem".into(),
            private_key: "tls/key.pem".into()
        })
    );
    let database = config.database();
    assert_eq!(database.backend(), "postgres");
    assert!(!format!("{database:?}").contains("secret"));
    assert!(config.switches.maintenance_mode && config.switches.route_calls_via_registrar);
    assert!(config.switches.chat_enabled);
}

#[test]
fn relative_paths_resolve_against_the_config_dirs_parent() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("config");
    std::fs::create_dir(&dir).expect("mkdir");
    let text = "[node]\ndata_dir = \"state\"\n[tls]\ncertificate = \"c.pem\"\nprivate_key = \"/abs/k.pem\"\n[database]\nurl = \"sqlite://db/x.sqlite?mode=rwc\"\n";
    std::fs::write(dir.join(MAIN_FILE), text).expect("write");
    let config = load_dir(&dir).expect("valid");
    let base = std::path::absolute(root.path()).expect("absolute");
    assert_eq!(config.node.data_dir, base.join("state"));
    let tls = config.tls.clone().expect("tls");
    assert_eq!(tls.certificate, base.join("c.pem"));
    assert_eq!(tls.private_key, PathBuf::from("/abs/k.pem"));
    assert_eq!(
        config.database().url(),
        format!("sqlite://{}?mode=rwc", base.join("db/x.sqlite").display())
    );
}

#[test]
fn services_toml_is_optional() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(MAIN_FILE), "").expect("write");
    let config = load_dir(dir.path()).expect("valid");
    assert!(config.services.is_empty());
}

// === syntax and unknown keys ===

#[test]
fn malformed_toml_names_file_line_and_column() {
    let text = "[[service]]\nname = \"a\"\naliases = [\"a\"\nhost_pin = \"1234\"\n";
    let errors = load_from_sources(&[("config/services.toml", text)]).expect_err("refused");
    let lines: Vec<String> = errors.errors().iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("config/services.toml:4:1: "),
        "{lines:?}"
    );
    // toml's own Display quotes the source line; ours must not.
    assert!(!lines[0].contains("1234"), "{lines:?}");
}

#[test]
fn unknown_key_names_file_and_line() {
    check_one_error(
        "[[service]]\nname = \"a\"\naliases = [\"a\"]\nallow_guest = false\n",
        "services.toml:4:1: ",
        &["unknown field `allow_guest`"],
    );
    let errors = load_from_sources(&[(
        "plenum.toml",
        "[node]\nlisten = \"127.0.0.1:1\"\nlistne = 1\n",
    )])
    .expect_err("refused");
    assert!(
        errors
            .to_string()
            .starts_with("plenum.toml:3:1: unknown field `listne`"),
        "{errors}"
    );
}

#[test]
fn a_syntax_error_in_one_file_does_not_hide_errors_in_another() {
    let errors = load_from_sources(&[
        ("plenum.toml", "[node\n"),
        (
            "services.toml",
            "[[service]]\nname = \"a\"\naliases = [\"a\"]\nhost_pin = \"12\"\n",
        ),
    ])
    .expect_err("refused");
    let lines: Vec<String> = errors.errors().iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("plenum.toml:1:"), "{lines:?}");
    assert!(
        lines[1].starts_with("services.toml:4:12: service \"a\""),
        "{lines:?}"
    );
}

#[test]
fn a_section_may_appear_in_one_file_only() {
    let errors = load_from_sources(&[
        ("plenum.toml", "[switches]\n"),
        ("services.toml", "\n[switches]\nchat_enabled = false\n"),
    ])
    .expect_err("refused");
    let text = errors.to_string();
    assert!(
        text.starts_with("services.toml:2:1: [switches] is already given at plenum.toml:1:1"),
        "{text}"
    );
}

// === aliases and names ===

#[test]
fn duplicate_alias_across_services_names_both_and_points_at_the_second() {
    let text = r#"
[[service]]
name = "first"
aliases = ["meet.same", "1001"]

[[service]]
name = "second"
aliases = ["other", "MEET.Same"]
"#;
    check_one_error(
        text,
        "services.toml:8:21: ",
        &[
            "service \"second\"",
            "\"MEET.Same\"",
            "already used by service \"first\" at services.toml:4:12",
        ],
    );
}

#[test]
fn duplicate_alias_between_service_and_device_names_both() {
    let text = format!(
        "[[service]]\nname = \"room\"\naliases = [\"Alice@Example.com\"]\n\n[[device]]\nalias = \"alice@example.com\"\nusername = \"alice\"\npassword_hash = \"{HASH}\"\n"
    );
    check_one_error(
        &text,
        "services.toml:6:9: ",
        &[
            "device \"alice@example.com\"",
            "already used by service \"room\" at services.toml:3:12",
        ],
    );
    // The device first, the service after: the service is the second occurrence.
    let text = format!(
        "[[device]]\nalias = \"ALICE@example.com\"\nusername = \"alice\"\npassword_hash = \"{HASH}\"\n\n[[service]]\nname = \"room\"\naliases = [\"alice@example.com\"]\n"
    );
    check_one_error(
        &text,
        "services.toml:8:12: ",
        &[
            "service \"room\"",
            "already used by device \"ALICE@example.com\"",
        ],
    );
}

#[test]
fn duplicate_alias_across_files_points_at_the_later_file() {
    let errors = load_from_sources(&[
        (
            "plenum.toml",
            "[[service]]\nname = \"a\"\naliases = [\"x\"]\n",
        ),
        (
            "services.toml",
            "[[service]]\nname = \"b\"\naliases = [\"X\"]\n",
        ),
    ])
    .expect_err("refused");
    assert_eq!(errors.errors().len(), 1);
    assert!(errors.to_string().starts_with("services.toml:3:12: service \"b\": alias \"X\" is already used by service \"a\" at plenum.toml:3:12"), "{errors}");
}

#[test]
fn duplicate_service_name_is_refused() {
    check_one_error(
        "[[service]]\nname = \"room\"\naliases = [\"a\"]\n[[service]]\nname = \"Room\"\naliases = [\"b\"]\n",
        "services.toml:5:8: ",
        &["service name \"Room\" is already used at services.toml:2:8"],
    );
}

#[test]
fn service_needs_an_alias_and_usable_aliases() {
    check_one_error(
        "[[service]]\nname = \"room\"\n",
        "services.toml:2:8: ",
        &["at least one alias"],
    );
    check_one_error(
        "[[service]]\nname = \"room\"\naliases = [\"a b\"]\n",
        "services.toml:3:12: ",
        &["not usable"],
    );
}

// === PINs ===

#[test]
fn bad_pins_name_the_service_and_never_show_the_digits() {
    let check = |pin_line: &str, secret: &str, column: usize, reason: &str| {
        let text =
            format!("[[service]]\nname = \"meet.pin\"\naliases = [\"meet.pin\"]\n{pin_line}\n");
        let error = check_one_error(
            &text,
            &format!("services.toml:4:{column}: service \"meet.pin\": "),
            &[reason],
        );
        assert!(!error.contains(secret), "{error:?} shows the PIN");
    };
    check(
        "host_pin = \"987\"",
        "987",
        12,
        "a PIN must be 4 to 20 digits long, this one has 3",
    );
    check("host_pin = \"98a76\"", "98a76", 12, "only the digits 0-9");
    check("host_pin = 98765", "98765", 12, "must be a quoted string");
    check("host_pin = 987.65", "987", 12, "must be a quoted string");
    check(
        "host_pin = \"987654321098765432109\"",
        "987654321",
        12,
        "this one has 21",
    );
}

#[test]
fn integer_pin_gets_a_hint_to_quote_it() {
    let error = check_one_error(
        "[[service]]\nname = \"r\"\naliases = [\"r\"]\nhost_pin = \"4321\"\nguest_pin = 1234\n",
        "services.toml:5:13: ",
        &[
            "the guest_pin must be a quoted string",
            "leading zeros would be lost",
        ],
    );
    assert!(!error.contains("1234") && !error.contains("4321"));
}

#[test]
fn host_and_guest_pin_must_differ() {
    let error = check_one_error(
        "[[service]]\nname = \"r\"\naliases = [\"r\"]\nhost_pin = \"24680\"\nguest_pin = \"24680\"\n",
        "services.toml:5:13: service \"r\": ",
        &["must differ"],
    );
    assert!(!error.contains("24680"));
}

#[test]
fn guest_pin_needs_a_host_pin_and_guests() {
    check_one_error(
        "[[service]]\nname = \"r\"\naliases = [\"r\"]\nguest_pin = \"13579\"\n",
        "services.toml:4:13: service \"r\": ",
        &["a Guest PIN needs a Host PIN"],
    );
    check_one_error(
        "[[service]]\nname = \"r\"\naliases = [\"r\"]\nhost_pin = \"2468\"\nguest_pin = \"13579\"\nallow_guests = false\n",
        "services.toml:5:13: service \"r\": ",
        &["Guests are not allowed"],
    );
}

#[test]
fn pins_keep_leading_zeros() {
    let config =
        load_services("[[service]]\nname = \"r\"\naliases = [\"r\"]\nhost_pin = \"0012\"\n")
            .expect("valid");
    let services = config.services();
    assert!(
        services[0]
            .host_pin
            .as_ref()
            .is_some_and(|p| p.matches("0012") && !p.matches("12"))
    );
}

// === other service settings ===

#[test]
fn invalid_layout_is_refused() {
    check_one_error(
        "[[service]]\nname = \"r\"\naliases = [\"r\"]\ndefault_layout = \"3:3\"\n",
        "services.toml:4:18: service \"r\": default_layout: unknown layout \"3:3\"",
        &["available: ac"],
    );
}

#[test]
fn service_settings_are_range_checked() {
    let check = |line: &str, column: usize, reason: &str| {
        let text = format!("[[service]]\nname = \"r\"\naliases = [\"r\"]\n{line}\n");
        check_one_error(
            &text,
            &format!("services.toml:4:{column}: service \"r\": "),
            &[reason],
        );
    };
    check(
        "participant_limit = 0",
        21,
        "participant_limit 0 is out of range: use 1 to 10000",
    );
    check("participant_limit = 10001", 21, "out of range");
    check("participant_limit = -3", 21, "out of range");
    check(
        "waiting_for_host_timeout = 0",
        28,
        "waiting_for_host_timeout must be 1 to 604800 seconds",
    );
    check("hosts_left_timeout = -1", 22, "hosts_left_timeout must be");
    check("alone_timeout = 0", 17, "alone_timeout must be");
    check(
        "test_call_duration = 99999999999",
        22,
        "test_call_duration must be",
    );
    check("type = \"gateway\"", 8, "unknown type \"gateway\"");
}

#[test]
fn service_settings_are_read() {
    let text = r#"
[[service]]
name = "r"
type = "auditorium"
aliases = ["r", "42"]
host_pin = "1111"
guest_pin = "2222"
participant_limit = 50
default_layout = "2:21"
waiting_for_host_timeout = 10
admission_timeout = 11
hosts_left_timeout = 12
alone_timeout = 13
pin_entry_timeout = 14
test_call_duration = 15
"#;
    let config = load_services(text).expect("valid");
    let s = &config.services()[0];
    assert_eq!(s.kind, ServiceKind::Auditorium);
    assert_eq!(s.participant_limit, Some(50));
    assert_eq!(s.default_layout, Layout::TwoPlusTwentyOne);
    let t = &s.timeouts;
    assert_eq!(
        [
            t.waiting_for_host,
            t.admission,
            t.hosts_left_grace,
            t.pin_entry,
            t.test_call
        ],
        [10, 11, 12, 14, 15].map(Duration::from_secs)
    );
    assert_eq!(t.alone, Some(Duration::from_secs(13)));
    // Without alone_timeout the alone timer is off.
    let config = load_services("[[service]]\nname = \"q\"\naliases = [\"q\"]\n").expect("valid");
    assert_eq!(config.services()[0].timeouts.alone, None);
}

#[test]
fn effective_chat_and_presenting_combine_switch_and_service() {
    let services = r#"
[[service]]
name = "plain"
aliases = ["plain"]

[[service]]
name = "chatty"
aliases = ["chatty"]
chat = true

[[service]]
name = "quiet"
aliases = ["quiet"]
chat = false
guests_can_present = false
"#;
    let check = |switches: &str, expected: [(&str, bool, bool); 3]| {
        let config = load_from_sources(&[("plenum.toml", switches), ("services.toml", services)])
            .expect("valid");
        let effective = config.services();
        for (name, chat, present) in expected {
            let s = service(&effective, name);
            assert_eq!(
                (s.chat_enabled, s.guests_can_present),
                (chat, present),
                "{name} under {switches:?}"
            );
        }
    };
    check(
        "",
        [
            ("plain", true, true),
            ("chatty", true, true),
            ("quiet", false, false),
        ],
    );
    check(
        "[switches]\nchat_enabled = false\nguests_can_present = false\n",
        [
            ("plain", false, false),
            ("chatty", true, false),
            ("quiet", false, false),
        ],
    );
}

// === node, tls, database ===

#[test]
fn node_settings_are_checked() {
    let check = |line: &str, column: usize, reason: &str| {
        let text = format!("[node]\n{line}\n");
        let errors = load_from_sources(&[("plenum.toml", &text)]).expect_err("refused");
        let error = errors.to_string();
        assert!(
            error.starts_with(&format!("plenum.toml:2:{column}: ")),
            "{error}"
        );
        assert!(error.contains(reason), "{error}");
        assert_eq!(errors.errors().len(), 1, "{error}");
    };
    check(
        "listen = \"localhost\"",
        10,
        "node.listen: \"localhost\" is not an address with a port",
    );
    check(
        "http_redirect_listen = \"127.0.0.1:8443\"",
        24,
        "clashes with node.listen",
    );
    check(
        "media_port_range = [50000, 40000]",
        20,
        "must be below the last",
    );
    check(
        "media_port_range = [80, 40000]",
        20,
        "between 1024 and 65535",
    );
    check(
        "media_port_range = [40000, 70000]",
        20,
        "between 1024 and 65535",
    );
    check("media_port_range = [40000]", 20, "give two ports");
    check(
        "public_ips = [\"203.0.113.7\", \"not-an-ip\"]",
        30,
        "\"not-an-ip\" is not an IP address",
    );
    check("public_ips = [\"0.0.0.0\"]", 15, "cannot be advertised");
    check("public_name = \"two words\"", 15, "host name");
    check("data_dir = \"\"", 12, "must not be empty");
}

#[test]
fn tls_needs_both_files_or_neither() {
    let errors = load_from_sources(&[("plenum.toml", "[tls]\ncertificate = \"c.pem\"\n")])
        .expect_err("refused");
    assert!(
        errors
            .to_string()
            .starts_with("plenum.toml:2:15: tls: certificate and private_key go together"),
        "{errors}"
    );
}

#[test]
fn database_url_must_be_sqlite_or_postgres() {
    let errors = load_from_sources(&[(
        "plenum.toml",
        "[database]\nurl = \"mysql://root:hunter2@db/x\"\n",
    )])
    .expect_err("refused");
    let text = errors.to_string();
    assert!(
        text.starts_with("plenum.toml:2:7: database.url must start with sqlite://, postgres://"),
        "{text}"
    );
    assert!(!text.contains("hunter2"));
    let config = load_from_sources(&[(
        "plenum.toml",
        "[database]\nurl = \"postgresql://db/plenum\"\n",
    )])
    .expect("valid");
    assert_eq!(config.database().url(), "postgresql://db/plenum");
    let config = load_from_sources(&[("plenum.toml", "[database]\nurl = \"sqlite::memory:\"\n")])
        .expect("valid");
    assert_eq!(config.database().url(), "sqlite://:memory:");
}

// === admins and devices ===

#[test]
fn invalid_password_hash_is_refused_without_showing_it() {
    let text =
        "[[admin]]\nusername = \"root\"\npassword_hash = \"$2b$12$abcdefghijklmnopqrstuv\"\n";
    let errors = load_from_sources(&[("plenum.toml", text)]).expect_err("refused");
    let error = errors.to_string();
    assert!(
        error.starts_with("plenum.toml:3:17: admin \"root\": the password_hash is refused"),
        "{error}"
    );
    assert!(error.contains("plenum hash-password"), "{error}");
    assert!(!error.contains("abcdefghijklmnopqrstuv"), "{error}");

    let text = "[[admin]]\nusername = \"root\"\npassword_hash = \"plain-password\"\n";
    let error = load_from_sources(&[("plenum.toml", text)])
        .expect_err("refused")
        .to_string();
    assert!(!error.contains("plain-password"), "{error}");

    // argon2i is a PHC hash, but not the argon2id the node makes.
    let argon2i = HASH.replace("$argon2id$", "$argon2i$");
    let text =
        format!("[[device]]\nalias = \"d\"\nusername = \"d\"\npassword_hash = \"{argon2i}\"\n");
    let error = check_one_error(
        &text,
        "services.toml:4:17: device \"d\": ",
        &["not argon2id"],
    );
    assert!(!error.contains("$argon2"), "{error}");
}

#[test]
fn admin_usernames_are_unique_and_not_empty() {
    let text = format!(
        "[[admin]]\nusername = \"admin\"\npassword_hash = \"{HASH}\"\n[[admin]]\nusername = \"Admin\"\npassword_hash = \"{HASH}\"\n[[admin]]\nusername = \" \"\npassword_hash = \"{HASH}\"\n"
    );
    let errors = load_from_sources(&[("plenum.toml", &text)]).expect_err("refused");
    let lines: Vec<String> = errors.errors().iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with(
            "plenum.toml:5:12: admin \"Admin\": this username is already used at plenum.toml:2:12"
        ),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("plenum.toml:8:12: admin: the username must not be empty"),
        "{lines:?}"
    );
}

#[test]
fn device_settings_are_read() {
    let text = format!(
        "[[device]]\nalias = \"bob@example.com\"\nusername = \"bob\"\npassword_hash = \"{HASH}\"\n"
    );
    let config = load_services(&text).expect("valid");
    assert_eq!(config.device_aliases(), ["bob@example.com"]);
    let bob = config.device("sip:BOB@example.com").expect("device");
    assert!(!bob.is_sso());
    assert!(!format!("{bob:?}").contains("argon2"));
    assert!(config.device_identity_providers().is_empty());
}

#[test]
fn single_sign_on_devices_name_their_identity_provider() {
    let two = format!(
        "{IDP}\n[[identity_provider]]\nname = \"Local\"\nissuer = \"http://127.0.0.1:9000\"\nclient_id = \"c\"\n"
    );
    let text = format!(
        "{two}\n[[device]]\nalias = \"carol.desk\"\nusername = \"carol@example.com\"\nsso = true\nidentity_provider = \"local\"\n"
    );
    let config = load_services(&text).expect("valid");
    let carol = config.device("carol.desk").expect("device");
    assert_eq!(
        carol.sign_in,
        DeviceSignIn::Sso {
            identity_provider: "Local".into()
        }
    );
    let offered: Vec<&str> = config
        .device_identity_providers()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        offered,
        ["Local"],
        "only the providers devices sign in with"
    );

    // With one provider, it need not be named.
    let text = format!("{IDP}\n[[device]]\nalias = \"d\"\nusername = \"d@x\"\nsso = true\n");
    let config = load_services(&text).expect("valid");
    assert!(config.device("d").expect("device").is_sso());

    let errors = errors_of(&format!(
        "{two}\n[[device]]\nalias = \"a\"\nusername = \"a\"\nsso = true\n\n[[device]]\nalias = \"b\"\nusername = \"b\"\nsso = true\nidentity_provider = \"nope\"\n\n[[device]]\nalias = \"c\"\nusername = \"c\"\nsso = true\npassword_hash = \"{HASH}\"\n\n[[device]]\nalias = \"d\"\nusername = \"d\"\n\n[[device]]\nalias = \"e\"\nusername = \"e\"\npassword_hash = \"{HASH}\"\nidentity_provider = \"Local\"\n"
    ));
    assert_eq!(errors.len(), 5, "{errors:#?}");
    assert!(errors[0].contains("device \"a\": sso = true with several identity providers: name one with identity_provider = (configured: \"Staff\", \"Local\")"), "{}", errors[0]);
    assert!(errors[1].contains("device \"b\": identity_provider \"nope\" is no [[identity_provider]]; configured: \"Staff\", \"Local\""), "{}", errors[1]);
    assert!(errors[2].contains("device \"c\": a device with sso = true signs in at its identity provider and has no password; remove password_hash"), "{}", errors[2]);
    assert!(
        errors[3].contains(
            "device \"d\": give password_hash (make one with `plenum hash-password`), or sso = true"
        ),
        "{}",
        errors[3]
    );
    assert!(
        errors[4].contains("device \"e\": identity_provider is only used with sso = true"),
        "{}",
        errors[4]
    );
    let none = errors_of("[[device]]\nalias = \"f\"\nusername = \"f\"\nsso = true\n");
    assert!(
        none[0].contains("sso = true needs an [[identity_provider]] to sign in at; add one"),
        "{none:?}"
    );
}

// === many errors at once ===

#[test]
fn all_errors_are_reported_in_file_order() {
    let text = r#"
[[service]]
name = "a"
aliases = ["a"]
host_pin = "12"

[[service]]
name = "b"
aliases = ["A"]
default_layout = "big"
participant_limit = 0

[[service]]
name = "c"
aliases = ["c"]
guest_pin = "5555"
"#;
    let errors = load_from_sources(&[
        ("plenum.toml", "[node]\nlisten = \"x\"\n"),
        ("services.toml", text),
    ])
    .expect_err("refused");
    let lines: Vec<String> = errors.errors().iter().map(ToString::to_string).collect();
    let prefixes = [
        "plenum.toml:2:10: node.listen",
        "services.toml:5:12: service \"a\": the host_pin",
        "services.toml:9:12: service \"b\": alias \"A\" is already used by service \"a\"",
        "services.toml:10:18: service \"b\": default_layout",
        "services.toml:11:21: service \"b\": participant_limit",
        "services.toml:16:13: service \"c\": a Guest PIN needs a Host PIN",
    ];
    assert_eq!(lines.len(), prefixes.len(), "{lines:#?}");
    for (line, prefix) in lines.iter().zip(prefixes) {
        assert!(
            line.starts_with(prefix),
            "{line:?} should start with {prefix:?}"
        );
    }
    // Display is one error per line.
    assert_eq!(errors.to_string().lines().count(), prefixes.len());
}

// === environment ===

#[test]
fn env_overrides_listen_and_data_dir() {
    let mut config = load_from_sources(&[("plenum.toml", "[node]\nlisten = \"127.0.0.1:8443\"\n")])
        .expect("valid");
    let env: HashMap<String, String> = [
        (ENV_LISTEN.to_owned(), "0.0.0.0:9443".to_owned()),
        (ENV_DATA_DIR.to_owned(), "/srv/plenum".to_owned()),
        ("PLENUM_UNRELATED".to_owned(), "x".to_owned()),
    ]
    .into();
    config.apply_env(&env).expect("valid env");
    assert_eq!(config.node.listen.to_string(), "0.0.0.0:9443");
    assert_eq!(config.node.data_dir, PathBuf::from("/srv/plenum"));
    // The default database follows the data dir.
    assert_eq!(
        config.database().url(),
        "sqlite:///srv/plenum/plenum.sqlite"
    );
}

#[test]
fn empty_env_values_are_ignored_and_bad_ones_refused() {
    let mut config = Config::default();
    let env: HashMap<String, String> = [(ENV_LISTEN.to_owned(), String::new())].into();
    config.apply_env(&env).expect("ignored");
    assert_eq!(config, Config::default());

    let env: HashMap<String, String> = [
        (ENV_LISTEN.to_owned(), "nowhere".to_owned()),
        (ENV_DATA_DIR.to_owned(), "/srv/plenum".to_owned()),
    ]
    .into();
    let errors = config.apply_env(&env).expect_err("refused");
    assert_eq!(
        errors.to_string(),
        "environment variable PLENUM_LISTEN: \"nowhere\" is not an address like 127.0.0.1:8443"
    );
    // A refused environment changes nothing.
    assert_eq!(config, Config::default());
}

#[test]
fn load_applies_the_environment() {
    let env: HashMap<String, String> =
        [(ENV_LISTEN.to_owned(), "127.0.0.1:1443".to_owned())].into();
    let config = load(&shipped_dir(), &env).expect("valid");
    assert_eq!(config.node.listen.port(), 1443);
}

#[test]
fn locations_count_lines_and_characters() {
    let text = "ab\nçd = 1\n";
    assert_eq!(Location::of_offset("f", text, 0).to_string(), "f:1:1");
    assert_eq!(Location::of_offset("f", text, 3).to_string(), "f:2:1");
    // 'ç' is two bytes but one column; an offset inside it counts as its start.
    assert_eq!(Location::of_offset("f", text, 5).to_string(), "f:2:2");
    assert_eq!(Location::of_offset("f", text, 4).to_string(), "f:2:1");
    assert_eq!(Location::of_offset("f", text, 999).to_string(), "f:3:1");
}

// === reload ===

#[test]
fn diff_summary_names_what_changed_without_secrets() {
    let old = load_services(
        "[[service]]\nname = \"keep\"\naliases = [\"keep\"]\n[[service]]\nname = \"Edit\"\naliases = [\"edit\"]\nhost_pin = \"1357\"\n[[service]]\nname = \"gone\"\naliases = [\"gone\"]\n",
    )
    .expect("valid");
    let new = load_from_sources(&[
        ("plenum.toml", "[switches]\nmaintenance_mode = true\n"),
        (
            "services.toml",
            "[[service]]\nname = \"keep\"\naliases = [\"keep\"]\n[[service]]\nname = \"Edit\"\naliases = [\"edit\"]\nhost_pin = \"2468\"\n[[service]]\nname = \"new\"\naliases = [\"new\"]\n",
        ),
    ])
    .expect("valid");
    assert_eq!(
        old.diff_summary(&new),
        [
            "[switches] changed",
            "service \"edit\" changed",
            "service \"gone\" removed",
            "service \"new\" added"
        ]
    );
    assert!(old.diff_summary(&old).is_empty());
}

#[test]
fn cors_origins_are_read_and_checked() {
    let text = "[node]\ncors_origins = [\"https://app.example.com\", \"http://localhost:5173/\"]\n";
    let config = load_from_sources(&[("plenum.toml", text)]).expect("valid");
    assert_eq!(
        config.node.cors_origins,
        vec!["https://app.example.com", "http://localhost:5173"]
    );
    let text = "[node]\ncors_origins = [\"app.example.com\", \"https://x.example.com/path\"]\n";
    let errors = load_from_sources(&[("plenum.toml", text)])
        .expect_err("refused")
        .to_string();
    assert!(
        errors.contains("plenum.toml:2:17: node.cors_origins"),
        "{errors}"
    );
    assert_eq!(errors.lines().count(), 2, "{errors}");
}

// === ICE servers ===

/// Loads `text` as plenum.toml and returns the error lines.
fn main_errors_of(text: &str) -> Vec<String> {
    match load_from_sources(&[("plenum.toml", text)]) {
        Ok(_) => panic!("config was accepted:\n{text}"),
        Err(errors) => errors.errors().iter().map(ToString::to_string).collect(),
    }
}

/// Asserts that plenum.toml `text` gets exactly one error, at `location`, containing
/// `part`.
fn check_main_error(text: &str, location: &str, part: &str) {
    let errors = main_errors_of(text);
    assert_eq!(errors.len(), 1, "{text}\n{errors:#?}");
    let prefix = format!("plenum.toml:{location}: ");
    assert!(
        errors[0].starts_with(&prefix) && errors[0].contains(part),
        "{:?} should start with {prefix:?} and contain {part:?}",
        errors[0]
    );
}

#[test]
fn ice_servers_are_read_and_turn_lists_join_across_files() {
    let main = r#"
[node]
stun = ["stun:stun.example.com:3478", " stuns:stun.example.com ", "stun:[2001:db8::3]:3478", "stun:198.51.100.7"]

[[turn]]
urls = ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:443?transport=tcp"]
username = " plenum "
credential = "tUrN-s3cret"
"#;
    let services =
        "[[turn]]\nurls = [\"turn:[2001:db8::9]\"]\nusername = \"other\"\ncredential = \"pw\"\n";
    let config =
        load_from_sources(&[("plenum.toml", main), ("services.toml", services)]).expect("valid");
    assert_eq!(
        config.node.stun,
        [
            "stun:stun.example.com:3478",
            "stuns:stun.example.com",
            "stun:[2001:db8::3]:3478",
            "stun:198.51.100.7"
        ]
    );
    assert_eq!(
        config.turn,
        [
            TurnServer {
                urls: vec![
                    "turn:turn.example.com:3478?transport=udp".to_owned(),
                    "turns:turn.example.com:443?transport=tcp".to_owned()
                ],
                username: "plenum".to_owned(),
                credential: Secret::new("tUrN-s3cret"),
            },
            TurnServer {
                urls: vec!["turn:[2001:db8::9]".to_owned()],
                username: "other".to_owned(),
                credential: Secret::new("pw"),
            },
        ]
    );
}

#[test]
fn no_ice_servers_by_default() {
    let config = load_from_sources(&[("plenum.toml", "[node]\nstun = []\n")]).expect("valid");
    assert!(config.node.stun.is_empty() && config.turn.is_empty());
    assert_eq!(config, Config::default());
    let shipped = load_dir(&shipped_dir()).expect("shipped config");
    assert!(shipped.node.stun.is_empty() && shipped.turn.is_empty());
}

#[test]
fn stun_urls_need_the_stun_scheme_and_a_host() {
    for bad in [
        "stun.example.com",
        "http://stun.example.com",
        "turn:stun.example.com:3478",
        "STUN:stun.example.com",
        "stun:",
        "stun::3478",
        "stun://stun.example.com",
        "stun:stun.example.com:0",
        "stun:stun.example.com:65536",
        "stun:stun.example.com:port",
        "stun:stun.example.com:3478?transport=udp",
        "stun:stun example.com",
        "stun:[2001:db8::3",
        "stun:[not-an-ip]:3478",
        "",
    ] {
        // The bad URL is second, after 8 + 21 + 2 characters.
        let text = format!("[node]\nstun = [\"stun:ok.example.com\", {bad:?}]\n");
        check_main_error(
            &text,
            "2:32",
            &format!(
                "node.stun: {bad:?} is not a STUN URL like stun:stun.example.com:3478 (stun: or stuns:, a host, an optional port)"
            ),
        );
    }
}

#[test]
fn turn_urls_need_the_turn_scheme_and_a_host() {
    for bad in [
        "stun:turn.example.com",
        "turn.example.com:3478",
        "turn:",
        "turns:?transport=tcp",
        "turn://turn.example.com",
        "turn:turn.example.com:70000",
        "turn:turn.example.com?transport=sctp",
        "turn:turn.example.com?foo=bar",
    ] {
        let text = format!("[[turn]]\nurls = [{bad:?}]\nusername = \"u\"\ncredential = \"c\"\n");
        check_main_error(
            &text,
            "2:9",
            &format!(
                "turn.urls: {bad:?} is not a TURN URL like turn:turn.example.com:3478?transport=udp"
            ),
        );
    }
    check_main_error(
        "[[turn]]\nurls = []\nusername = \"u\"\ncredential = \"c\"\n",
        "2:8",
        "turn.urls: give at least one turn: or turns: URL",
    );
    check_main_error(
        "[[turn]]\nusername = \"u\"\ncredential = \"c\"\n",
        "1:1",
        "turn server: urls is missing",
    );
    check_main_error(
        "[[turn]]\nurls = \"turn:turn.example.com\"\nusername = \"u\"\ncredential = \"c\"\n",
        "2:8",
        "invalid type",
    );
}

#[test]
fn a_turn_server_needs_a_username_and_a_credential() {
    let needed = "browsers refuse a TURN server without a username and a credential";
    let text = "[node]\nlisten = \"127.0.0.1:8443\"\n\n[[turn]]\nurls = [\"turn:t.example.com\"]\ncredential = \"hidden-1\"\n";
    check_main_error(
        text,
        "4:1",
        &format!("turn server: the username is missing; {needed}"),
    );
    let text = "[[turn]]\nurls = [\"turn:t.example.com\"]\nusername = \"u\"\n";
    check_main_error(
        text,
        "1:1",
        &format!("turn server: the credential is missing; {needed}"),
    );
    let text =
        "[[turn]]\nurls = [\"turn:t.example.com\"]\nusername = \"  \"\ncredential = \"hidden-2\"\n";
    check_main_error(text, "3:12", "turn.username must not be empty");
    let text = "[[turn]]\nurls = [\"turn:t.example.com\"]\nusername = \"u\"\ncredential = \"\"\n";
    check_main_error(text, "4:14", "turn.credential must not be empty");
    let text = "[[turn]]\nurls = [\"turn:t.example.com\"]\nusername = \"u\"\ncredential = 987654\n";
    check_main_error(text, "4:14", "turn.credential must be a quoted string");
    assert!(!main_errors_of(text).concat().contains("987654"));

    // Both missing, and a bad URL: every problem of the table is reported.
    let errors = main_errors_of("[[turn]]\nurls = [\"turn:\"]\n");
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors[0].starts_with("plenum.toml:1:1: turn server: the username is missing"));
    assert!(errors[1].starts_with("plenum.toml:1:1: turn server: the credential is missing"));
    assert!(errors[2].starts_with("plenum.toml:2:9: turn.urls:"));

    check_main_error(
        "[[turn]]\nurls = [\"turn:t.example.com\"]\nusername = \"u\"\npassword = \"p\"\n",
        "4:1",
        "unknown field `password`",
    );
}

#[test]
fn the_turn_credential_never_shows_in_summary_debug_or_diff() {
    let text = "[node]\nstun = [\"stun:stun.example.com\"]\n[[turn]]\nurls = [\"turns:turn.example.com:443?transport=tcp\"]\nusername = \"plenum\"\ncredential = \"tUrN-s3cret\"\n";
    let config = load_from_sources(&[("plenum.toml", text)]).expect("valid");
    let summary = super::summary(&config);
    assert!(
        summary.contains("  stun:          stun:stun.example.com\n"),
        "{summary}"
    );
    assert!(
        summary.contains(
            "turn servers (1)\n  turns:turn.example.com:443?transport=tcp (user plenum)\n"
        ),
        "{summary}"
    );
    let debug = format!("{config:?} {:?}", config.turn[0]);
    for shown in [&summary, &debug] {
        assert!(
            !shown.contains("tUrN-s3cret"),
            "the credential leaked:\n{shown}"
        );
    }
    assert_eq!(config.turn[0].credential.expose(), "tUrN-s3cret");

    let changed = text.replace("tUrN-s3cret", "n3w-s3cret");
    let new = load_from_sources(&[("plenum.toml", &changed)]).expect("valid");
    let diff = config.diff_summary(&new);
    assert_eq!(diff, ["[[turn]] changed"]);
    assert!(!diff.concat().contains("s3cret"));
    // An error elsewhere in a TURN table does not quote the credential either.
    let bad = text.replace("turns:turn", "turns:/turn");
    assert!(!main_errors_of(&bad).concat().contains("tUrN-s3cret"));
}

// === themes ===

/// A config dir in a temp folder with `services` as services.toml and the shipped
/// example theme copied to `themes/example`.
fn config_dir_with_example_theme(services: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("temp dir");
    let theme = root.path().join("themes/example");
    std::fs::create_dir_all(&theme).expect("mkdir");
    for file in ["theme.json", "background.png"] {
        std::fs::copy(
            shipped_dir().join("themes/example").join(file),
            theme.join(file),
        )
        .expect("copy");
    }
    std::fs::write(root.path().join(MAIN_FILE), "").expect("write");
    std::fs::write(root.path().join(SERVICES_FILE), services).expect("write");
    root
}

const THEMED_ROOM: &str =
    "[[service]]\nname = \"themed\"\naliases = [\"themed\"]\ntheme = \"themes/example\"\n";

#[test]
fn a_theme_folder_resolves_against_the_config_dir_and_the_shipped_example_is_valid() {
    let root = config_dir_with_example_theme(THEMED_ROOM);
    let config = load_dir(root.path()).expect("valid");
    let theme = config.services[0].theme.as_ref().expect("theme loaded");
    assert_eq!(
        theme.dir(),
        std::fs::canonicalize(root.path().join("themes/example")).expect("real path")
    );
    assert!(theme.images().all(|i| i == "background.png"));
}

#[test]
fn a_bad_theme_is_refused_with_file_line_and_reason() {
    let root =
        config_dir_with_example_theme(&THEMED_ROOM.replace("themes/example", "themes/missing"));
    let errors = load_dir(root.path()).expect_err("refused").to_string();
    assert!(
        errors.contains("services.toml:4:9")
            && errors.contains("theme \"themes/missing\": cannot open folder"),
        "{errors}"
    );

    let root = config_dir_with_example_theme(THEMED_ROOM);
    let json = root.path().join("themes/example/theme.json");
    let text = std::fs::read_to_string(&json).expect("read");
    std::fs::write(&json, text.replacen("background.png", "../plenum.toml", 1)).expect("write");
    let errors = load_dir(root.path()).expect_err("refused").to_string();
    assert!(
        errors.contains("services.toml:4:9")
            && errors.contains("direct_media_welcome: background path \"../plenum.toml\""),
        "{errors}"
    );

    std::fs::write(&json, text.replacen("background.png", "gone.png", 1)).expect("write");
    let errors = load_dir(root.path()).expect_err("refused").to_string();
    assert!(
        errors.contains("names image \"gone.png\", which is not a file"),
        "{errors}"
    );

    std::fs::write(
        &json,
        text.replacen("\"direct_media_escalate\"", "\"direct_media_escalated\"", 1),
    )
    .expect("write");
    let errors = load_dir(root.path()).expect_err("refused").to_string();
    assert!(
        errors.contains("theme.json is not a theme: unknown field `direct_media_escalated`"),
        "{errors}"
    );
}

// === single sign-on ===

const IDP: &str = r#"
[[identity_provider]]
name = "Staff"
issuer = "https://login.example.com/realms/staff/"
client_id = "plenum"
client_secret = "s3cr3t-value"
"#;

#[test]
fn identity_providers_load_with_defaults_and_a_stable_uuid() {
    let text = format!(
        "{IDP}\n[[identity_provider]]\nname = \"Local\"\nissuer = \"http://127.0.0.1:9000\"\nclient_id = \"c\"\nscopes = [\"openid\", \"profile\", \"groups\"]\ndisplay_name_claim = \"preferred_username\"\nalias_claim = \"sub\"\n\n[[service]]\nname = \"board\"\naliases = [\"board\"]\nhost_sso = [\"staff\", \"Local\"]\nguest_pin = \"5678\"\n"
    );
    let config = load_services(&text).unwrap_or_else(|e| panic!("refused:\n{e}"));
    let staff = config
        .identity_provider("STAFF")
        .expect("found regardless of case");
    assert_eq!(staff.issuer, "https://login.example.com/realms/staff");
    assert_eq!(staff.scopes, vec!["profile", "email"]);
    assert_eq!(staff.display_name_claim, "name");
    assert_eq!(staff.alias_claim, "email");
    assert_eq!(staff.uuid, idp_uuid("staff"));
    assert_ne!(staff.uuid, idp_uuid("local"));
    assert!(
        !format!("{staff:?}").contains("s3cr3t-value"),
        "Debug hides the secret"
    );
    let local = config.identity_provider("local").expect("second provider");
    assert_eq!(
        local.scopes,
        vec!["profile", "groups"],
        "openid is always asked for"
    );
    assert!(local.client_secret.is_none());
    assert_eq!(local.display_name_claim, "preferred_username");
    let board = service(&config.services(), "board").clone();
    assert_eq!(board.host_sso, vec!["Staff", "Local"]);
    assert!(board.has_guest_role());
    let summary = super::summary(&config);
    assert!(summary.contains("identity providers (2)"), "{summary}");
    assert!(summary.contains("host sign-in: Staff, Local"), "{summary}");
    assert!(!summary.contains("s3cr3t-value"), "{summary}");
}

#[test]
fn host_sso_must_name_a_configured_provider_and_exclude_a_host_pin() {
    check_one_error(
        "[[service]]\nname = \"a\"\naliases = [\"a\"]\nhost_sso = [\"corp\"]\n",
        "services.toml:4:13:",
        &["\"corp\"", "no [[identity_provider]] is configured"],
    );
    let unknown =
        format!("{IDP}\n[[service]]\nname = \"a\"\naliases = [\"a\"]\nhost_sso = [\"corp\"]\n");
    check_one_error(
        &unknown,
        "services.toml:11:13:",
        &["\"corp\"", "configured: Staff"],
    );
    let both = format!(
        "{IDP}\n[[service]]\nname = \"a\"\naliases = [\"a\"]\nhost_pin = \"1234\"\nhost_sso = [\"Staff\"]\n"
    );
    check_one_error(
        &both,
        "services.toml:11:12:",
        &["host_pin and host_sso exclude each other"],
    );
}

#[test]
fn identity_provider_mistakes_are_named() {
    check_one_error(
        "[[identity_provider]]\nname = \"x\"\nissuer = \"http://login.example.com\"\nclient_id = \"c\"\n",
        "services.toml:3:10:",
        &["must use https", "only for a provider on this machine"],
    );
    check_one_error(
        "[[identity_provider]]\nname = \"x\"\nissuer = \"https://login.example.com\"\n",
        "services.toml:2:8:",
        &["client_id is missing"],
    );
    let secret = check_one_error(
        "[[identity_provider]]\nname = \"x\"\nissuer = \"https://l.example.com\"\nclient_id = \"c\"\nclient_secret = 12345\n",
        "services.toml:5:17:",
        &["client_secret must be a quoted string"],
    );
    assert!(!secret.contains("12345"));
    check_one_error(
        &format!("{IDP}{}", IDP.replace("Staff", "STAFF")),
        "services.toml:9:8:",
        &["already used at services.toml:3:8"],
    );
}

// === dial-out: auto_dial and ring timeouts ===

fn with_device(service_lines: &str) -> String {
    format!(
        "[[device]]\nalias = \"alice.desk\"\nusername = \"alice\"\npassword_hash = \"{HASH}\"\n\n[[service]]\nname = \"room\"\naliases = [\"room\"]\n{service_lines}"
    )
}

#[test]
fn auto_dial_names_devices_with_a_role_and_keep_alive() {
    let config = load_services(&with_device(
        "auto_dial = [{ alias = \"ALICE.desk\", role = \"host\", keep_alive = true }]\nring_timeout = 12\n",
    ))
    .expect("valid");
    let room = service(&config.services(), "room").clone();
    assert_eq!(
        room.auto_dial,
        vec![plenum_core::AutoDial {
            alias: "alice.desk".into(),
            role: plenum_core::Role::Host,
            keeps_alive: true,
        }]
    );
    assert_eq!(room.timeouts.ring, Duration::from_secs(12));
    let config =
        load_services(&with_device("auto_dial = [{ alias = \"alice.desk\" }]\n")).expect("valid");
    let room = service(&config.services(), "room").clone();
    assert_eq!(room.auto_dial[0].role, plenum_core::Role::Guest);
    assert!(
        !room.auto_dial[0].keeps_alive,
        "by default a dialled device keeps nothing alive"
    );
    assert_eq!(room.timeouts.ring, Duration::from_secs(30));
}

#[test]
fn auto_dial_refuses_unknown_devices_bad_roles_and_repeats() {
    check_one_error(
        &with_device("auto_dial = [{ alias = \"bob.desk\" }]\n"),
        "services.toml:",
        &["auto_dial alias \"bob.desk\" is no [[device]]"],
    );
    check_one_error(
        &with_device("auto_dial = [{ alias = \"alice.desk\", role = \"chair\" }]\n"),
        "services.toml:",
        &["auto_dial role \"chair\"; use host or guest"],
    );
    check_one_error(
        &with_device("auto_dial = [{ alias = \"alice.desk\" }, { alias = \"Alice.Desk\" }]\n"),
        "services.toml:",
        &["auto_dial names \"Alice.Desk\" twice"],
    );
    check_one_error(
        &with_device("ring_timeout = 0\n"),
        "services.toml:",
        &["ring_timeout must be 1 to 300 seconds, not 0"],
    );
    check_one_error(
        &with_device("ring_timeout = 301\n"),
        "services.toml:",
        &["ring_timeout must be 1 to 300 seconds, not 301"],
    );
}

#[test]
fn node_ring_timeout_is_checked() {
    let config =
        load_from_sources(&[("plenum.toml", "[node]\nring_timeout = 8\n")]).expect("valid");
    assert_eq!(config.node.ring_timeout, Duration::from_secs(8));
    let errors =
        load_from_sources(&[("plenum.toml", "[node]\nring_timeout = 900\n")]).expect_err("refused");
    assert!(
        errors
            .to_string()
            .contains("node.ring_timeout: 900 is out of range"),
        "{errors}"
    );
}

// === fuzzing ===

/// Fuzz target `config`: the shipped plenum.toml and services.toml, mutated (or any
/// text), are loaded or refused with located errors; never a panic, never an empty error
/// list for a refusal.
#[test]
fn fuzz_config_files() {
    let main = std::fs::read_to_string(shipped_dir().join("plenum.toml")).expect("plenum.toml");
    let services =
        std::fs::read_to_string(shipped_dir().join("services.toml")).expect("services.toml");
    let seeds = [main.as_str(), services.as_str()];
    // As a config directory: relative paths (themes, the font) resolve as for the node.
    let dir = std::path::absolute(shipped_dir()).expect("absolute");
    let base = dir.parent().expect("a parent").to_path_buf();
    let load = |main: &str, services: &str| {
        super::source::build(
            &[("plenum.toml", main), ("services.toml", services)],
            &base,
            &dir,
        )
    };
    assert!(load(&main, &services).is_ok(), "the seeds themselves load");
    plenum_fuzz::fuzz(
        "config",
        (
            plenum_fuzz::text_input(&seeds),
            plenum_fuzz::text_input(&seeds),
        ),
        |(main, services)| {
            match load(&main, &services) {
                Ok(_) => {}
                Err(errors) => {
                    proptest::prop_assert!(!errors.errors().is_empty(), "a refusal says why");
                    for error in errors.errors() {
                        proptest::prop_assert!(!error.to_string().trim().is_empty());
                    }
                }
            }
            Ok(())
        },
    );
}

#[test]
fn a_phc_hash_verifies_the_password_it_was_made_from() {
    let phc = crate::password::hash_password_str("s3cret pass").expect("hashes");
    assert!(PhcHash::parse(&phc).is_ok_and(|h| h.verify("s3cret pass")));
    assert!(PhcHash::parse(&phc).is_ok_and(|h| !h.verify("wrong")));
}
