//! The TOML format of the config files (serde DTOs) and its checked conversion into
//! [`Config`], collecting every problem with its file, line and column.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use plenum_core::service::{MAX_PARTICIPANT_LIMIT, validate_alias};
use plenum_core::{
    Directory, Layout, Pin, Role, Secret, ServiceError, ServiceKind, Timeouts, normalize_alias,
};
use plenum_http::client::theme::{MAX_THEME_FILE_BYTES, THEME_FILE, Theme};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use crate::registrar::MAX_RING_SECS;

use super::{
    AdminUser, Config, ConfigError, ConfigErrors, Database, DeviceAlias, DeviceSignIn,
    IdentityProvider, Location, MAX_TIMEOUT_SECS, MetricsAuth, NodeConfig, PhcHash, PortRange,
    Service, Switches, TlsFiles, TurnServer, ports_clash,
};

// === DTOs ===

/// One config file. Every section is optional; see the module docs of `config`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    node: Option<Spanned<NodeToml>>,
    tls: Option<Spanned<TlsToml>>,
    database: Option<Spanned<DatabaseToml>>,
    switches: Option<Spanned<SwitchesToml>>,
    #[serde(default)]
    turn: Vec<Spanned<TurnToml>>,
    #[serde(default)]
    admin: Vec<AdminToml>,
    #[serde(default)]
    service: Vec<ServiceToml>,
    #[serde(default)]
    device: Vec<DeviceToml>,
    #[serde(default)]
    identity_provider: Vec<IdentityProviderToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityProviderToml {
    name: Spanned<String>,
    issuer: Option<Spanned<String>>,
    client_id: Option<Spanned<String>>,
    client_secret: Option<Spanned<SecretValue>>,
    scopes: Option<Vec<Spanned<String>>>,
    display_name_claim: Option<Spanned<String>>,
    alias_claim: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeToml {
    listen: Option<Spanned<String>>,
    http_redirect_listen: Option<Spanned<String>>,
    public_name: Option<Spanned<String>>,
    data_dir: Option<Spanned<String>>,
    media_port_range: Option<Spanned<Vec<i64>>>,
    public_ips: Option<Vec<Spanned<String>>>,
    cors_origins: Option<Vec<Spanned<String>>>,
    max_participants: Option<Spanned<i64>>,
    capacity_hd_calls: Option<Spanned<i64>>,
    name_font: Option<Spanned<String>>,
    stun: Option<Vec<Spanned<String>>>,
    ring_timeout: Option<Spanned<i64>>,
    metrics_auth: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsToml {
    certificate: Option<Spanned<String>>,
    private_key: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseToml {
    url: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SwitchesToml {
    client_access_enabled: Option<bool>,
    webrtc_enabled: Option<bool>,
    h264_enabled: Option<bool>,
    chat_enabled: Option<bool>,
    guests_can_present: Option<bool>,
    maintenance_mode: Option<bool>,
    route_calls_via_registrar: Option<bool>,
    directory_enabled: Option<bool>,
    metrics_enabled: Option<bool>,
}

/// A `[[turn]]` table. Every key is optional here so that the checker can say what is
/// missing in its own words.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TurnToml {
    urls: Option<Spanned<Vec<Spanned<String>>>>,
    username: Option<Spanned<String>>,
    credential: Option<Spanned<SecretValue>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminToml {
    username: Spanned<String>,
    password_hash: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceToml {
    name: Spanned<String>,
    #[serde(rename = "type")]
    kind: Option<Spanned<String>>,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
    host_pin: Option<Spanned<SecretValue>>,
    guest_pin: Option<Spanned<SecretValue>>,
    allow_guests: Option<bool>,
    participant_limit: Option<Spanned<i64>>,
    default_layout: Option<Spanned<String>>,
    guests_can_present: Option<bool>,
    chat: Option<bool>,
    waiting_for_host_timeout: Option<Spanned<i64>>,
    admission_timeout: Option<Spanned<i64>>,
    hosts_left_timeout: Option<Spanned<i64>>,
    alone_timeout: Option<Spanned<i64>>,
    pin_entry_timeout: Option<Spanned<i64>>,
    test_call_duration: Option<Spanned<i64>>,
    ring_timeout: Option<Spanned<i64>>,
    theme: Option<Spanned<String>>,
    host_sso: Option<Spanned<Vec<Spanned<String>>>>,
    auto_dial: Option<Vec<Spanned<AutoDialToml>>>,
}

/// One entry of a service's `auto_dial`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AutoDialToml {
    alias: Spanned<String>,
    role: Option<Spanned<String>>,
    keep_alive: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceToml {
    alias: Spanned<String>,
    username: Spanned<String>,
    password_hash: Option<Spanned<String>>,
    sso: Option<Spanned<bool>>,
    identity_provider: Option<Spanned<String>>,
    description: Option<Spanned<String>>,
}

/// A PIN or a TURN credential as written. Integers and other non-strings are accepted
/// here so that the checker can refuse them with a hint, and so that no serde message
/// ever echoes the value.
enum SecretValue {
    Text(String),
    Integer,
    Other,
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretValue::Text(_) => f.write_str("Text(<redacted>)"),
            SecretValue::Integer => f.write_str("Integer"),
            SecretValue::Other => f.write_str("Other"),
        }
    }
}

impl<'de> Deserialize<'de> for SecretValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SecretValue, D::Error> {
        struct SecretVisitor;

        impl Visitor<'_> for SecretVisitor {
            type Value = SecretValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quoted string")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretValue, E> {
                Ok(SecretValue::Text(v.to_owned()))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<SecretValue, E> {
                Ok(SecretValue::Integer)
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<SecretValue, E> {
                Ok(SecretValue::Integer)
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<SecretValue, E> {
                Ok(SecretValue::Other)
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<SecretValue, E> {
                Ok(SecretValue::Other)
            }
        }

        deserializer.deserialize_any(SecretVisitor)
    }
}

// === checking ===

/// Collects problems, each tied to a byte span of one source.
struct Checker<'a> {
    sources: &'a [(&'a str, &'a str)],
    /// (file index, byte offset, error): sorted by the first two at the end.
    errors: Vec<(usize, usize, ConfigError)>,
}

impl Checker<'_> {
    fn at(&mut self, file: usize, span: Range<usize>, message: String) {
        let (name, text) = self.sources[file];
        let location = Location::of_offset(name, text, span.start);
        self.errors.push((
            file,
            span.start,
            ConfigError {
                location: Some(location),
                message,
            },
        ));
    }

    fn nowhere(&mut self, message: String) {
        self.errors
            .push((usize::MAX, 0, ConfigError::nowhere(message)));
    }

    fn location(&self, file: usize, span: &Range<usize>) -> Location {
        let (name, text) = self.sources[file];
        Location::of_offset(name, text, span.start)
    }

    fn toml_error(&mut self, file: usize, error: &toml::de::Error) {
        // Only the message: toml's Display quotes the source line, which may hold a PIN.
        let message = error.message().trim().replace('\n', "; ");
        self.at(file, error.span().unwrap_or(0..0), message);
    }
}

/// A section that may appear once across all files, with where it was seen.
struct Once<T> {
    value: Option<(usize, Spanned<T>)>,
}

impl<T> Once<T> {
    fn take(&mut self, cx: &mut Checker<'_>, name: &str, file: usize, section: Option<Spanned<T>>) {
        let Some(section) = section else { return };
        if let Some((first_file, first)) = &self.value {
            let first = cx.location(*first_file, &first.span());
            cx.at(
                file,
                section.span(),
                format!(
                    "[{name}] is already given at {first}; each section may appear in one file only"
                ),
            );
            return;
        }
        self.value = Some((file, section));
    }
}

/// Checks all sources and builds the config; relative paths resolve against `base`,
/// services' theme folders against `config_dir`.
pub(super) fn build(
    sources: &[(&str, &str)],
    base: &Path,
    config_dir: &Path,
) -> Result<Config, ConfigErrors> {
    let mut cx = Checker {
        sources,
        errors: Vec::new(),
    };
    let mut node = Once { value: None };
    let mut tls = Once { value: None };
    let mut database = Once { value: None };
    let mut switches = Once { value: None };
    let mut turns = Vec::new();
    let mut admins = Vec::new();
    let mut services = Vec::new();
    let mut devices = Vec::new();
    let mut idps = Vec::new();
    for (file, (_, text)) in sources.iter().enumerate() {
        match toml::from_str::<FileToml>(text) {
            Ok(parsed) => {
                node.take(&mut cx, "node", file, parsed.node);
                tls.take(&mut cx, "tls", file, parsed.tls);
                database.take(&mut cx, "database", file, parsed.database);
                switches.take(&mut cx, "switches", file, parsed.switches);
                turns.extend(parsed.turn.into_iter().map(|t| (file, t)));
                admins.extend(parsed.admin.into_iter().map(|a| (file, a)));
                services.extend(parsed.service.into_iter().map(|s| (file, s)));
                devices.extend(parsed.device.into_iter().map(|d| (file, d)));
                idps.extend(parsed.identity_provider.into_iter().map(|p| (file, p)));
            }
            Err(error) => cx.toml_error(file, &error),
        }
    }

    let mut config = Config::default();
    config.node.data_dir = base.join("data");
    if let Some((file, section)) = node.value {
        check_node(&mut cx, file, section.get_ref(), base, &mut config.node);
    }
    if let Some((file, section)) = tls.value {
        config.tls = check_tls(&mut cx, file, &section, base);
    }
    if let Some((file, section)) = database.value {
        config.database = check_database(&mut cx, file, section.get_ref(), base);
    }
    if let Some((_, section)) = switches.value {
        config.switches = merge_switches(section.get_ref());
    }
    config.turn = turns
        .iter()
        .filter_map(|(file, t)| check_turn(&mut cx, *file, t))
        .collect();
    config.admins = check_admins(&mut cx, &admins);
    config.identity_providers = check_identity_providers(&mut cx, &idps);
    config.devices = devices
        .iter()
        .filter_map(|(file, d)| check_device(&mut cx, *file, d, &config.identity_providers))
        .collect();
    config.services = services
        .iter()
        .filter_map(|(file, s)| {
            check_service(
                &mut cx,
                *file,
                s,
                &config.switches,
                config_dir,
                &config.identity_providers,
                &config.devices,
            )
        })
        .collect();
    check_service_names(&mut cx, &services);
    check_alias_uniqueness(&mut cx, &services, &devices);

    if cx.errors.is_empty() {
        // The core's own rules, as a last safety net: the checks above should have
        // reported anything this refuses, with a better location.
        if let Err(e) = Directory::new(config.services(), &config.device_aliases()) {
            cx.nowhere(format!("the services were refused: {e}"));
        }
    }
    if cx.errors.is_empty() {
        return Ok(config);
    }
    let mut errors = cx.errors;
    errors.sort_by_key(|(file, offset, _)| (*file, *offset));
    Err(ConfigErrors(
        errors.into_iter().map(|(_, _, e)| e).collect(),
    ))
}

fn check_node(cx: &mut Checker<'_>, file: usize, n: &NodeToml, base: &Path, out: &mut NodeConfig) {
    if let Some(listen) = &n.listen
        && let Some(addr) = socket_addr(cx, file, listen, "node.listen")
    {
        out.listen = addr;
    }
    if let Some(redirect) = &n.http_redirect_listen
        && let Some(addr) = socket_addr(cx, file, redirect, "node.http_redirect_listen")
    {
        if ports_clash(out.listen, addr) {
            let message = format!(
                "node.http_redirect_listen: {addr} clashes with node.listen {}; use another port",
                out.listen
            );
            cx.at(file, redirect.span(), message);
        }
        out.http_redirect_listen = Some(addr);
    }
    if let Some(name) = &n.public_name {
        let value = name.get_ref().trim();
        if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c == '/') {
            let message =
                "node.public_name must be a host name such as conference.example.com".to_owned();
            cx.at(file, name.span(), message);
        } else {
            out.public_name = value.to_owned();
        }
    }
    if let Some(dir) = &n.data_dir {
        if dir.get_ref().trim().is_empty() {
            cx.at(
                file,
                dir.span(),
                "node.data_dir must not be empty".to_owned(),
            );
        } else {
            out.data_dir = base.join(dir.get_ref());
        }
    }
    if let Some(font) = &n.name_font {
        let value = font.get_ref().trim();
        if value.is_empty() {
            out.name_font = None;
        } else {
            out.name_font = Some(base.join(value));
        }
    }
    if let Some(range) = &n.media_port_range {
        match port_range(range.get_ref()) {
            Ok(ports) => out.media_ports = ports,
            Err(reason) => cx.at(
                file,
                range.span(),
                format!("node.media_port_range: {reason}"),
            ),
        }
    }
    if let Some(ips) = &n.public_ips {
        out.public_ips.clear();
        for ip in ips {
            match ip.get_ref().trim().parse::<IpAddr>() {
                Ok(addr) if addr.is_unspecified() || addr.is_multicast() => {
                    let message = format!(
                        "node.public_ips: {addr} cannot be advertised; give the address clients reach"
                    );
                    cx.at(file, ip.span(), message);
                }
                Ok(addr) => out.public_ips.push(addr),
                Err(_) => {
                    let message = format!(
                        "node.public_ips: {:?} is not an IP address like 203.0.113.7 or 2001:db8::7",
                        ip.get_ref()
                    );
                    cx.at(file, ip.span(), message);
                }
            }
        }
    }
    if let Some(auth) = &n.metrics_auth {
        match auth.get_ref().trim() {
            "admin" => out.metrics_auth = MetricsAuth::Admins,
            "none" => out.metrics_auth = MetricsAuth::None,
            other => cx.at(
                file,
                auth.span(),
                format!(
                    "node.metrics_auth: {other:?} is not known; use \"admin\" (the admins' user name and password, the default) or \"none\" (anyone who reaches the node)"
                ),
            ),
        }
    }
    if let Some(ring) = &n.ring_timeout {
        match u64::try_from(*ring.get_ref()) {
            Ok(secs) if (1..=MAX_RING_SECS).contains(&secs) => {
                out.ring_timeout = Duration::from_secs(secs)
            }
            _ => cx.at(
                file,
                ring.span(),
                format!(
                    "node.ring_timeout: {} is out of range; use 1 to {MAX_RING_SECS} seconds",
                    ring.get_ref()
                ),
            ),
        }
    }
    if let Some(max) = &n.max_participants {
        match u32::try_from(*max.get_ref()) {
            Ok(n) if (1..=100_000).contains(&n) => out.max_participants = Some(n),
            _ => cx.at(
                file,
                max.span(),
                format!(
                    "node.max_participants: {} is out of range; use 1 to 100000, or leave it out for no limit",
                    max.get_ref()
                ),
            ),
        }
    }
    if let Some(calls) = &n.capacity_hd_calls {
        match u32::try_from(*calls.get_ref()) {
            Ok(n) if (1..=100_000).contains(&n) => out.capacity_hd_calls = Some(n),
            _ => cx.at(
                file,
                calls.span(),
                format!(
                    "node.capacity_hd_calls: {} is out of range; use 1 to 100000 HD calls, or leave it out to measure this machine",
                    calls.get_ref()
                ),
            ),
        }
    }
    if let Some(urls) = &n.stun {
        out.stun.clear();
        for url in urls {
            let value = url.get_ref().trim();
            if ice_url(value, ["stun", "stuns"], false) {
                out.stun.push(value.to_owned());
            } else {
                let message = format!(
                    "node.stun: {:?} is not a STUN URL like stun:stun.example.com:3478 (stun: or stuns:, a host, an optional port)",
                    url.get_ref()
                );
                cx.at(file, url.span(), message);
            }
        }
    }
    if let Some(origins) = &n.cors_origins {
        out.cors_origins.clear();
        for origin in origins {
            let value = origin.get_ref().trim().trim_end_matches('/');
            let scheme_ok = value.starts_with("https://") || value.starts_with("http://");
            let host = value.split_once("://").map_or("", |(_, rest)| rest);
            if scheme_ok && !host.is_empty() && !host.contains(['/', ' ', '?', '#']) {
                out.cors_origins.push(value.to_owned());
            } else {
                let message = format!(
                    "node.cors_origins: {:?} is not an origin like https://app.example.com (scheme, host and optional port, no path)",
                    origin.get_ref()
                );
                cx.at(file, origin.span(), message);
            }
        }
    }
}

/// Whether `url` is an ICE server URL as browsers take it (RFC 7064, RFC 7065): one of
/// `schemes`, a colon, a host name or IP address (IPv6 in brackets), an optional port,
/// and, if `transport` allows it, an optional `?transport=udp` or `?transport=tcp`.
fn ice_url(url: &str, schemes: [&str; 2], transport: bool) -> bool {
    let Some((scheme, rest)) = url.split_once(':') else {
        return false;
    };
    if !schemes.contains(&scheme) {
        return false;
    }
    let (authority, query) = match rest.split_once('?') {
        Some((authority, query)) => (authority, Some(query)),
        None => (rest, None),
    };
    match query {
        None => {}
        Some("transport=udp" | "transport=tcp") if transport => {}
        Some(_) => return false,
    }
    let (host_ok, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let Some((ip, after)) = bracketed.split_once(']') else {
                return false;
            };
            let port = match after {
                "" => None,
                after => match after.strip_prefix(':') {
                    Some(port) => Some(port),
                    None => return false,
                },
            };
            (ip.parse::<Ipv6Addr>().is_ok(), port)
        }
        None => {
            let (host, port) = match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            };
            let host_ok = !host.is_empty()
                && !host.starts_with(['.', '-'])
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            (host_ok, port)
        }
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    host_ok && port_ok
}

fn check_turn(cx: &mut Checker<'_>, file: usize, turn: &Spanned<TurnToml>) -> Option<TurnServer> {
    let t = turn.get_ref();
    let errors_before = cx.errors.len();
    const NEEDED: &str = "browsers refuse a TURN server without a username and a credential";
    let mut urls = Vec::new();
    match &t.urls {
        None => cx.at(
            file,
            turn.span(),
            "turn server: urls is missing; give its turn: or turns: URLs, like urls = [\"turn:turn.example.com:3478?transport=udp\"]".to_owned(),
        ),
        Some(list) if list.get_ref().is_empty() => cx.at(
            file,
            list.span(),
            "turn.urls: give at least one turn: or turns: URL".to_owned(),
        ),
        Some(list) => {
            for url in list.get_ref() {
                let value = url.get_ref().trim();
                if ice_url(value, ["turn", "turns"], true) {
                    urls.push(value.to_owned());
                } else {
                    let message = format!(
                        "turn.urls: {:?} is not a TURN URL like turn:turn.example.com:3478?transport=udp (turn: or turns:, a host, an optional port, an optional ?transport=udp or tcp)",
                        url.get_ref()
                    );
                    cx.at(file, url.span(), message);
                }
            }
        }
    }
    let username = match &t.username {
        None => {
            let message = format!("turn server: the username is missing; {NEEDED}");
            cx.at(file, turn.span(), message);
            None
        }
        Some(name) if name.get_ref().trim().is_empty() => {
            let message = format!("turn.username must not be empty; {NEEDED}");
            cx.at(file, name.span(), message);
            None
        }
        Some(name) => Some(name.get_ref().trim().to_owned()),
    };
    // Messages never quote the credential.
    let credential = match &t.credential {
        None => {
            let message = format!("turn server: the credential is missing; {NEEDED}");
            cx.at(file, turn.span(), message);
            None
        }
        Some(value) => match value.get_ref() {
            SecretValue::Text(text) if !text.trim().is_empty() => Some(Secret::new(text.clone())),
            SecretValue::Text(_) => {
                let message = format!("turn.credential must not be empty; {NEEDED}");
                cx.at(file, value.span(), message);
                None
            }
            SecretValue::Integer | SecretValue::Other => {
                let message = "turn.credential must be a quoted string".to_owned();
                cx.at(file, value.span(), message);
                None
            }
        },
    };
    if cx.errors.len() != errors_before {
        return None;
    }
    Some(TurnServer {
        urls,
        username: username?,
        credential: credential?,
    })
}

fn socket_addr(
    cx: &mut Checker<'_>,
    file: usize,
    value: &Spanned<String>,
    key: &str,
) -> Option<SocketAddr> {
    match value.get_ref().trim().parse::<SocketAddr>() {
        Ok(addr) => Some(addr),
        Err(_) => {
            let message = format!(
                "{key}: {:?} is not an address with a port, like 127.0.0.1:8443 or [::]:8443",
                value.get_ref()
            );
            cx.at(file, value.span(), message);
            None
        }
    }
}

fn port_range(values: &[i64]) -> Result<PortRange, String> {
    let [first, last] = values else {
        return Err("give two ports, the first and the last, like [40000, 49999]".to_owned());
    };
    let port = |p: i64| u16::try_from(p).ok().filter(|p| *p >= 1024);
    match (port(*first), port(*last)) {
        (Some(first), Some(last)) if first < last => Ok(PortRange { first, last }),
        (Some(_), Some(_)) => Err(format!(
            "the first port ({first}) must be below the last ({last})"
        )),
        _ => Err("ports must be between 1024 and 65535".to_owned()),
    }
}

fn check_tls(
    cx: &mut Checker<'_>,
    file: usize,
    section: &Spanned<TlsToml>,
    base: &Path,
) -> Option<TlsFiles> {
    let t = section.get_ref();
    let mut path = |value: &Option<Spanned<String>>, key: &str| -> Option<PathBuf> {
        let value = value.as_ref()?;
        if value.get_ref().trim().is_empty() {
            cx.at(file, value.span(), format!("tls.{key} must not be empty"));
            return None;
        }
        Some(base.join(value.get_ref()))
    };
    let certificate = path(&t.certificate, "certificate");
    let private_key = path(&t.private_key, "private_key");
    match (certificate, private_key, &t.certificate, &t.private_key) {
        (Some(certificate), Some(private_key), _, _) => Some(TlsFiles {
            certificate,
            private_key,
        }),
        (_, _, Some(given), None) | (_, _, None, Some(given)) => {
            let message = "tls: certificate and private_key go together: give both, or neither to let the node use a self-signed certificate".to_owned();
            cx.at(file, given.span(), message);
            None
        }
        _ => None,
    }
}

fn check_database(
    cx: &mut Checker<'_>,
    file: usize,
    d: &DatabaseToml,
    base: &Path,
) -> Option<Database> {
    let url = d.url.as_ref()?;
    let text = url.get_ref().trim();
    // The URL may hold a password: messages never quote it.
    if let Some(rest) = text
        .strip_prefix("sqlite://")
        .or_else(|| text.strip_prefix("sqlite:"))
    {
        let (file_part, options) = match rest.split_once('?') {
            Some((f, o)) => (f, Some(o.to_owned())),
            None => (rest, None),
        };
        if file_part.is_empty() {
            cx.at(
                file,
                url.span(),
                "database.url: a sqlite:// URL needs a file name".to_owned(),
            );
            return None;
        }
        let path = if file_part == ":memory:" {
            PathBuf::from(file_part)
        } else {
            base.join(file_part)
        };
        return Some(Database::Sqlite { path, options });
    }
    let is_postgres = ["postgres://", "postgresql://"]
        .iter()
        .any(|scheme| text.len() > scheme.len() && text.starts_with(scheme));
    if is_postgres {
        return Some(Database::Postgres {
            url: text.to_owned(),
        });
    }
    let message = "database.url must start with sqlite://, postgres:// or postgresql:// (leave it out for a SQLite file in the data dir)".to_owned();
    cx.at(file, url.span(), message);
    None
}

fn merge_switches(s: &SwitchesToml) -> Switches {
    let d = Switches::default();
    Switches {
        client_access_enabled: s.client_access_enabled.unwrap_or(d.client_access_enabled),
        webrtc_enabled: s.webrtc_enabled.unwrap_or(d.webrtc_enabled),
        h264_enabled: s.h264_enabled.unwrap_or(d.h264_enabled),
        chat_enabled: s.chat_enabled.unwrap_or(d.chat_enabled),
        guests_can_present: s.guests_can_present.unwrap_or(d.guests_can_present),
        maintenance_mode: s.maintenance_mode.unwrap_or(d.maintenance_mode),
        route_calls_via_registrar: s
            .route_calls_via_registrar
            .unwrap_or(d.route_calls_via_registrar),
        directory_enabled: s.directory_enabled.unwrap_or(d.directory_enabled),
        metrics_enabled: s.metrics_enabled.unwrap_or(d.metrics_enabled),
    }
}

fn check_admins(cx: &mut Checker<'_>, admins: &[(usize, AdminToml)]) -> Vec<AdminUser> {
    let mut seen: HashMap<String, Location> = HashMap::new();
    let mut out = Vec::new();
    for (file, a) in admins {
        let username = a.username.get_ref().trim();
        if username.is_empty() {
            cx.at(
                *file,
                a.username.span(),
                "admin: the username must not be empty".to_owned(),
            );
            continue;
        }
        let subject = format!("admin {username:?}");
        if let Some(first) = seen.get(&username.to_lowercase()) {
            let message = format!("{subject}: this username is already used at {first}");
            cx.at(*file, a.username.span(), message);
            continue;
        }
        seen.insert(
            username.to_lowercase(),
            cx.location(*file, &a.username.span()),
        );
        if let Some(password_hash) = phc(cx, *file, &a.password_hash, &subject) {
            out.push(AdminUser {
                username: username.to_owned(),
                password_hash,
            });
        }
    }
    out
}

fn phc(
    cx: &mut Checker<'_>,
    file: usize,
    value: &Spanned<String>,
    subject: &str,
) -> Option<PhcHash> {
    match PhcHash::parse(value.get_ref().trim()) {
        Ok(hash) => Some(hash),
        Err(e) => {
            let message = format!(
                "{subject}: the password_hash is refused: {e}; make one with `plenum hash-password`"
            );
            cx.at(file, value.span(), message);
            None
        }
    }
}

/// Longest device description (the name people see in the directory).
const MAX_DEVICE_DESCRIPTION_CHARS: usize = 100;

fn check_device(
    cx: &mut Checker<'_>,
    file: usize,
    d: &DeviceToml,
    idps: &[IdentityProvider],
) -> Option<DeviceAlias> {
    let alias = d.alias.get_ref().trim();
    let subject = format!("device {alias:?}");
    let mut ok = true;
    if let Err(e) = validate_alias(alias) {
        cx.at(file, d.alias.span(), format!("{subject}: {e}"));
        ok = false;
    }
    let username = d.username.get_ref().trim();
    if username.is_empty() {
        cx.at(
            file,
            d.username.span(),
            format!("{subject}: the username must not be empty"),
        );
        ok = false;
    }
    let description = d
        .description
        .as_ref()
        .map(|s| s.get_ref().trim().to_owned())
        .unwrap_or_default();
    if let Some(raw) = &d.description
        && (description.chars().count() > MAX_DEVICE_DESCRIPTION_CHARS
            || description.chars().any(char::is_control))
    {
        cx.at(
            file,
            raw.span(),
            format!(
                "{subject}: the description must be at most {MAX_DEVICE_DESCRIPTION_CHARS} characters without control characters"
            ),
        );
        ok = false;
    }
    let sign_in = device_sign_in(cx, file, d, &subject, idps);
    let sign_in = sign_in.filter(|_| ok)?;
    Some(DeviceAlias {
        alias: alias.to_owned(),
        username: username.to_owned(),
        sign_in,
        description,
    })
}

/// A device's sign-in: `password_hash`, or `sso = true` with its `identity_provider`
/// (which may be left out when exactly one is configured).
fn device_sign_in(
    cx: &mut Checker<'_>,
    file: usize,
    d: &DeviceToml,
    subject: &str,
    idps: &[IdentityProvider],
) -> Option<DeviceSignIn> {
    let sso = d.sso.as_ref().is_some_and(|s| *s.get_ref());
    if !sso {
        if let Some(idp) = &d.identity_provider {
            cx.at(
                file,
                idp.span(),
                format!("{subject}: identity_provider is only used with sso = true; add sso = true or remove it"),
            );
            return None;
        }
        let Some(hash) = &d.password_hash else {
            cx.at(
                file,
                d.alias.span(),
                format!("{subject}: give password_hash (make one with `plenum hash-password`), or sso = true to sign in at an identity provider"),
            );
            return None;
        };
        return phc(cx, file, hash, subject).map(DeviceSignIn::Password);
    }
    if let Some(hash) = &d.password_hash {
        cx.at(
            file,
            hash.span(),
            format!("{subject}: a device with sso = true signs in at its identity provider and has no password; remove password_hash"),
        );
        return None;
    }
    let sso_span = d.sso.as_ref().map_or(d.alias.span(), Spanned::span);
    let configured = || {
        idps.iter()
            .map(|p| format!("{:?}", p.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &d.identity_provider {
        Some(name) => match idps
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name.get_ref().trim()))
        {
            Some(idp) => Some(DeviceSignIn::Sso {
                identity_provider: idp.name.clone(),
            }),
            None => {
                let hint = if idps.is_empty() {
                    "add an [[identity_provider]] with that name".to_owned()
                } else {
                    format!("configured: {}", configured())
                };
                cx.at(
                    file,
                    name.span(),
                    format!(
                        "{subject}: identity_provider {:?} is no [[identity_provider]]; {hint}",
                        name.get_ref()
                    ),
                );
                None
            }
        },
        None => match idps {
            [only] => Some(DeviceSignIn::Sso {
                identity_provider: only.name.clone(),
            }),
            [] => {
                cx.at(
                    file,
                    sso_span,
                    format!("{subject}: sso = true needs an [[identity_provider]] to sign in at; add one"),
                );
                None
            }
            _ => {
                cx.at(
                    file,
                    sso_span,
                    format!("{subject}: sso = true with several identity providers: name one with identity_provider = (configured: {})", configured()),
                );
                None
            }
        },
    }
}

fn check_service(
    cx: &mut Checker<'_>,
    file: usize,
    s: &ServiceToml,
    switches: &Switches,
    config_dir: &Path,
    idps: &[IdentityProvider],
    devices: &[DeviceAlias],
) -> Option<Service> {
    let errors_before = cx.errors.len();
    let name = s.name.get_ref().trim();
    if name.is_empty() {
        cx.at(
            file,
            s.name.span(),
            format!("service: {}", ServiceError::EmptyName),
        );
    }
    let subject = format!("service {name:?}");

    let kind = match s.kind.as_ref() {
        None => ServiceKind::Vmr,
        Some(kind) => match kind.get_ref().trim() {
            "vmr" => ServiceKind::Vmr,
            "auditorium" => ServiceKind::Auditorium,
            "reception" => ServiceKind::Reception,
            "test_call" => ServiceKind::TestCall,
            other => {
                let message = format!(
                    "{subject}: unknown type {other:?}; use vmr, auditorium, reception or test_call"
                );
                cx.at(file, kind.span(), message);
                ServiceKind::Vmr
            }
        },
    };

    if s.aliases.is_empty() {
        cx.at(
            file,
            s.name.span(),
            format!("{subject}: {}", ServiceError::NoAliases),
        );
    }
    let mut aliases = Vec::new();
    for alias in &s.aliases {
        let value = alias.get_ref().trim();
        match validate_alias(value) {
            Ok(()) => aliases.push(value.to_owned()),
            Err(e) => cx.at(file, alias.span(), format!("{subject}: {e}")),
        }
    }

    let host_pin = pin(cx, file, s.host_pin.as_ref(), &subject, "host_pin");
    let guest_pin = pin(cx, file, s.guest_pin.as_ref(), &subject, "guest_pin");
    let allow_guests = s.allow_guests.unwrap_or(true);
    let host_sso = check_host_sso(cx, file, s, &subject, idps);
    if let Some(guest) = &s.guest_pin {
        if s.host_pin.is_none() && host_sso.is_empty() {
            cx.at(
                file,
                guest.span(),
                format!("{subject}: {}", ServiceError::GuestPinWithoutHostPin),
            );
        } else if !allow_guests {
            cx.at(
                file,
                guest.span(),
                format!("{subject}: {}", ServiceError::GuestPinButNoGuests),
            );
        } else if host_pin.is_some() && host_pin == guest_pin {
            cx.at(
                file,
                guest.span(),
                format!("{subject}: {}", ServiceError::SamePins),
            );
        }
    }

    let participant_limit = s.participant_limit.as_ref().and_then(|limit| {
        let value = *limit.get_ref();
        let checked = u32::try_from(value).ok().filter(|v| (1..=MAX_PARTICIPANT_LIMIT).contains(v));
        if checked.is_none() {
            let message = format!(
                "{subject}: participant_limit {value} is out of range: use 1 to {MAX_PARTICIPANT_LIMIT}, or leave it out for no limit"
            );
            cx.at(file, limit.span(), message);
        }
        checked
    });

    let default_layout = match &s.default_layout {
        None => Layout::Adaptive,
        Some(layout) => match layout.get_ref().parse::<Layout>() {
            Ok(l) => l,
            Err(e) => {
                cx.at(
                    file,
                    layout.span(),
                    format!("{subject}: default_layout: {e}"),
                );
                Layout::Adaptive
            }
        },
    };

    let d = Timeouts::default();
    let mut secs = |value: &Option<Spanned<i64>>, key: &str, default: Duration| -> Duration {
        let Some(value) = value else { return default };
        let n = *value.get_ref();
        match u64::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_TIMEOUT_SECS).contains(n))
        {
            Some(n) => Duration::from_secs(n),
            None => {
                let message = format!(
                    "{subject}: {key} must be 1 to {MAX_TIMEOUT_SECS} seconds, not {n} (leave alone_timeout out to switch it off)"
                );
                cx.at(file, value.span(), message);
                default
            }
        }
    };
    let timeouts = Timeouts {
        waiting_for_host: secs(
            &s.waiting_for_host_timeout,
            "waiting_for_host_timeout",
            d.waiting_for_host,
        ),
        admission: secs(&s.admission_timeout, "admission_timeout", d.admission),
        hosts_left_grace: secs(
            &s.hosts_left_timeout,
            "hosts_left_timeout",
            d.hosts_left_grace,
        ),
        alone: s
            .alone_timeout
            .as_ref()
            .map(|_| secs(&s.alone_timeout, "alone_timeout", Duration::ZERO)),
        pin_entry: secs(&s.pin_entry_timeout, "pin_entry_timeout", d.pin_entry),
        test_call: secs(&s.test_call_duration, "test_call_duration", d.test_call),
        ring: match &s.ring_timeout {
            Some(ring) if !(1..=MAX_RING_SECS as i64).contains(ring.get_ref()) => {
                cx.at(
                    file,
                    ring.span(),
                    format!(
                        "{subject}: ring_timeout must be 1 to {MAX_RING_SECS} seconds, not {}",
                        ring.get_ref()
                    ),
                );
                d.ring
            }
            _ => secs(&s.ring_timeout, "ring_timeout", d.ring),
        },
    };
    let auto_dial = check_auto_dial(cx, file, s, &subject, devices);

    let theme = s.theme.as_ref().and_then(|theme| {
        let value = theme.get_ref();
        match load_theme(config_dir, value) {
            Ok(loaded) => Some(Arc::new(loaded)),
            Err(reason) => {
                cx.at(
                    file,
                    theme.span(),
                    format!("{subject}: theme {value:?}: {reason}"),
                );
                None
            }
        }
    });

    if cx.errors.len() != errors_before {
        return None;
    }
    let service = Service {
        name: name.to_owned(),
        kind,
        aliases,
        host_pin,
        guest_pin,
        allow_guests,
        participant_limit,
        default_layout,
        guests_can_present: s.guests_can_present.unwrap_or(true),
        chat: s.chat,
        timeouts,
        host_sso,
        theme,
        auto_dial,
    };
    // The core's rules for one service; everything it checks was checked above.
    if let Err(e) = service.effective(switches).validate() {
        cx.at(file, s.name.span(), format!("{subject}: {e}"));
        return None;
    }
    Some(service)
}

/// A service's `auto_dial`: each a configured `[[device]]` alias (once), with role
/// `host` or `guest` (default guest); not in a reception or a test call.
fn check_auto_dial(
    cx: &mut Checker<'_>,
    file: usize,
    s: &ServiceToml,
    subject: &str,
    devices: &[DeviceAlias],
) -> Vec<plenum_core::AutoDial> {
    let Some(entries) = &s.auto_dial else {
        return Vec::new();
    };
    let kind = s.kind.as_ref().map(|k| k.get_ref().trim());
    if matches!(kind, Some("reception" | "test_call")) {
        if let Some(first) = entries.first() {
            cx.at(
                file,
                first.span(),
                format!("{subject}: auto_dial is for meeting rooms; a reception or test call does not dial out"),
            );
        }
        return Vec::new();
    }
    let mut out: Vec<plenum_core::AutoDial> = Vec::new();
    for entry in entries {
        let e = entry.get_ref();
        let alias = e.alias.get_ref().trim();
        let Some(device) = devices
            .iter()
            .find(|d| normalize_alias(&d.alias) == normalize_alias(alias))
        else {
            cx.at(
                file,
                e.alias.span(),
                format!("{subject}: auto_dial alias {alias:?} is no [[device]]; only registered devices can be dialled"),
            );
            continue;
        };
        if out.iter().any(|a| a.alias == device.alias) {
            cx.at(
                file,
                e.alias.span(),
                format!("{subject}: auto_dial names {alias:?} twice"),
            );
            continue;
        }
        let role = match e
            .role
            .as_ref()
            .map(|r| r.get_ref().trim().to_ascii_lowercase())
        {
            None => Role::Guest,
            Some(r) if r == "guest" => Role::Guest,
            Some(r) if r == "host" => Role::Host,
            Some(r) => {
                let span = e.role.as_ref().map_or(entry.span(), |x| x.span());
                cx.at(
                    file,
                    span,
                    format!("{subject}: auto_dial role {r:?}; use host or guest"),
                );
                continue;
            }
        };
        out.push(plenum_core::AutoDial {
            alias: device.alias.clone(),
            role,
            keeps_alive: e.keep_alive.unwrap_or(false),
        });
    }
    out
}

/// A service's `host_sso`: every name a configured identity provider (as configured,
/// case ignored), no Host PIN beside it.
fn check_host_sso(
    cx: &mut Checker<'_>,
    file: usize,
    s: &ServiceToml,
    subject: &str,
    idps: &[IdentityProvider],
) -> Vec<String> {
    let Some(list) = &s.host_sso else {
        return Vec::new();
    };
    if list.get_ref().is_empty() {
        let message = format!(
            "{subject}: host_sso is empty; name the identity providers Hosts sign in with, or leave host_sso out"
        );
        cx.at(file, list.span(), message);
        return Vec::new();
    }
    let mut names = Vec::new();
    for name in list.get_ref() {
        let value = name.get_ref().trim();
        match idps.iter().find(|p| p.name.eq_ignore_ascii_case(value)) {
            Some(idp) if !names.contains(&idp.name) => names.push(idp.name.clone()),
            Some(_) => {}
            None => {
                let known: Vec<&str> = idps.iter().map(|p| p.name.as_str()).collect();
                let message = if known.is_empty() {
                    format!(
                        "{subject}: host_sso names {value:?}, but no [[identity_provider]] is configured; add one with that name"
                    )
                } else {
                    format!(
                        "{subject}: host_sso names {value:?}, which is no [[identity_provider]]; configured: {}",
                        known.join(", ")
                    )
                };
                cx.at(file, name.span(), message);
            }
        }
    }
    if let Some(pin) = &s.host_pin {
        cx.at(
            file,
            pin.span(),
            format!("{subject}: {}", ServiceError::HostPinWithSso),
        );
    }
    names
}

/// Default scopes asked for besides `openid`.
const DEFAULT_SCOPES: [&str; 2] = ["profile", "email"];

/// The `[[identity_provider]]` tables: names unique regardless of case, issuer an
/// https URL (http only on a loopback host), a client id, claims named.
fn check_identity_providers(
    cx: &mut Checker<'_>,
    idps: &[(usize, IdentityProviderToml)],
) -> Vec<IdentityProvider> {
    let mut out: Vec<IdentityProvider> = Vec::new();
    let mut seen: HashMap<String, Location> = HashMap::new();
    for (file, p) in idps {
        let file = *file;
        let errors_before = cx.errors.len();
        let name = p.name.get_ref().trim();
        let subject = format!("identity_provider {name:?}");
        if name.is_empty() {
            cx.at(
                file,
                p.name.span(),
                "identity_provider: the name must not be empty".to_owned(),
            );
        } else if let Some(first) = seen.get(&name.to_lowercase()) {
            let message = format!(
                "identity_provider name {name:?} is already used at {first}; names are unique regardless of case"
            );
            cx.at(file, p.name.span(), message);
        } else {
            seen.insert(name.to_lowercase(), cx.location(file, &p.name.span()));
        }
        let issuer = match &p.issuer {
            None => {
                let message = format!(
                    "{subject}: issuer is missing; give the provider's issuer URL, like issuer = \"https://login.example.com/realms/staff\""
                );
                cx.at(file, p.name.span(), message);
                String::new()
            }
            Some(issuer) => match check_issuer(issuer.get_ref().trim()) {
                Ok(url) => url,
                Err(reason) => {
                    cx.at(file, issuer.span(), format!("{subject}: issuer {reason}"));
                    String::new()
                }
            },
        };
        let client_id = match &p.client_id {
            Some(id) if !id.get_ref().trim().is_empty() => id.get_ref().trim().to_owned(),
            Some(id) => {
                let message = format!("{subject}: client_id must not be empty");
                cx.at(file, id.span(), message);
                String::new()
            }
            None => {
                let message = format!(
                    "{subject}: client_id is missing; give the client id the provider issued for this node"
                );
                cx.at(file, p.name.span(), message);
                String::new()
            }
        };
        // Messages never quote the secret.
        let client_secret = match &p.client_secret {
            None => None,
            Some(value) => match value.get_ref() {
                SecretValue::Text(text) if !text.trim().is_empty() => {
                    Some(Secret::new(text.trim().to_owned()))
                }
                SecretValue::Text(_) => {
                    let message = format!(
                        "{subject}: client_secret must not be empty; leave it out for a public client"
                    );
                    cx.at(file, value.span(), message);
                    None
                }
                SecretValue::Integer | SecretValue::Other => {
                    let message = format!("{subject}: client_secret must be a quoted string");
                    cx.at(file, value.span(), message);
                    None
                }
            },
        };
        let scopes = match &p.scopes {
            None => DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            Some(list) => {
                let mut scopes = Vec::new();
                for scope in list {
                    let value = scope.get_ref().trim();
                    if value.is_empty()
                        || value
                            .chars()
                            .any(|c| c.is_whitespace() || c == '"' || c == '\\')
                    {
                        let message = format!(
                            "{subject}: scope {value:?} is not a scope name like profile or email"
                        );
                        cx.at(file, scope.span(), message);
                    } else if value != "openid" && !scopes.iter().any(|s| s == value) {
                        scopes.push(value.to_owned());
                    }
                }
                scopes
            }
        };
        let mut claim = |value: &Option<Spanned<String>>, key: &str, default: &str| match value {
            None => default.to_owned(),
            Some(v) if v.get_ref().trim().is_empty() => {
                let message =
                    format!("{subject}: {key} must name an ID token claim, like {default:?}");
                cx.at(file, v.span(), message);
                String::new()
            }
            Some(v) => v.get_ref().trim().to_owned(),
        };
        let display_name_claim = claim(&p.display_name_claim, "display_name_claim", "name");
        let alias_claim = claim(&p.alias_claim, "alias_claim", "email");
        if cx.errors.len() != errors_before {
            continue;
        }
        out.push(IdentityProvider {
            name: name.to_owned(),
            uuid: super::idp_uuid(name),
            issuer,
            client_id,
            client_secret,
            scopes,
            display_name_claim,
            alias_claim,
        });
    }
    out
}

/// An issuer URL: https, or http on a loopback host (a provider on the same machine);
/// no query or fragment. Answers it without a trailing slash, as discovery wants it.
fn check_issuer(value: &str) -> Result<String, String> {
    let url = openidconnect::url::Url::parse(value).map_err(|e| {
        format!("{value:?} is not a URL ({e}); give it like https://login.example.com")
    })?;
    let loopback = match url.host() {
        Some(openidconnect::url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(openidconnect::url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(openidconnect::url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(format!("{value:?} has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "{value:?} must use https (plain http is allowed only for a provider on this machine: localhost, 127.0.0.1, ::1)"
            ));
        }
        other => return Err(format!("{value:?} must be an https URL, not {other}:")),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{value:?} must not have a query or fragment"));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// Reads and checks a theme folder (`value`, relative to `config_dir`): its
/// `theme.json` in the documented shape, and every image it names present as a file
/// inside the folder. The reason names what is wrong.
fn load_theme(config_dir: &Path, value: &str) -> Result<Theme, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("name a folder holding theme.json".to_owned());
    }
    let dir = config_dir.join(value);
    let root = std::fs::canonicalize(&dir)
        .map_err(|e| format!("cannot open folder {}: {e}", dir.display()))?;
    if !root.is_dir() {
        return Err(format!("{} is not a folder", dir.display()));
    }
    let file = root.join(THEME_FILE);
    let size = std::fs::metadata(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?
        .len();
    if size > MAX_THEME_FILE_BYTES {
        return Err(format!(
            "{} is {size} bytes, more than {MAX_THEME_FILE_BYTES}",
            file.display()
        ));
    }
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let theme = Theme::parse(root.clone(), &text).map_err(|e| e.to_string())?;
    for image in theme.images() {
        let inside = std::fs::canonicalize(root.join(image))
            .is_ok_and(|real| real.starts_with(&root) && real.is_file());
        if !inside {
            return Err(format!(
                "{THEME_FILE} names image {image:?}, which is not a file in {}",
                root.display()
            ));
        }
    }
    Ok(theme)
}

/// Checks one PIN field. Messages name the field, never its digits.
fn pin(
    cx: &mut Checker<'_>,
    file: usize,
    value: Option<&Spanned<SecretValue>>,
    subject: &str,
    key: &str,
) -> Option<Pin> {
    let value = value?;
    let message = match value.get_ref() {
        SecretValue::Text(text) => match Pin::parse(text) {
            Ok(pin) => return Some(pin),
            Err(e) => format!("{subject}: the {key} is refused: {e}"),
        },
        SecretValue::Integer => format!(
            "{subject}: the {key} must be a quoted string, like {key} = \"0123\"; as a TOML integer its leading zeros would be lost"
        ),
        SecretValue::Other => {
            format!("{subject}: the {key} must be a quoted string of 4 to 20 digits")
        }
    };
    cx.at(file, value.span(), message);
    None
}

fn check_service_names(cx: &mut Checker<'_>, services: &[(usize, ServiceToml)]) {
    let mut seen: HashMap<String, Location> = HashMap::new();
    for (file, s) in services {
        let name = s.name.get_ref().trim();
        if name.is_empty() {
            continue;
        }
        let key = name.to_lowercase();
        if let Some(first) = seen.get(&key) {
            let message = format!(
                "service name {name:?} is already used at {first}; service names are unique regardless of case"
            );
            cx.at(*file, s.name.span(), message);
        } else {
            seen.insert(key, cx.location(*file, &s.name.span()));
        }
    }
}

/// Aliases are unique across services and devices, regardless of case. The later
/// occurrence (by file, then position) is reported, naming the earlier one.
fn check_alias_uniqueness(
    cx: &mut Checker<'_>,
    services: &[(usize, ServiceToml)],
    devices: &[(usize, DeviceToml)],
) {
    struct Use<'a> {
        file: usize,
        span: Range<usize>,
        alias: &'a str,
        owner: String,
    }
    let mut uses = Vec::new();
    for (file, s) in services {
        for alias in &s.aliases {
            let owner = format!("service {:?}", s.name.get_ref().trim());
            uses.push(Use {
                file: *file,
                span: alias.span(),
                alias: alias.get_ref().trim(),
                owner,
            });
        }
    }
    for (file, d) in devices {
        let alias = d.alias.get_ref().trim();
        uses.push(Use {
            file: *file,
            span: d.alias.span(),
            alias,
            owner: format!("device {alias:?}"),
        });
    }
    uses.sort_by_key(|u| (u.file, u.span.start));
    let mut first_use: HashMap<String, usize> = HashMap::new();
    for (i, u) in uses.iter().enumerate() {
        if u.alias.is_empty() {
            continue;
        }
        let key = normalize_alias(u.alias);
        match first_use.get(&key) {
            Some(&first) => {
                let first = &uses[first];
                let message = format!(
                    "{}: alias {:?} is already used by {} at {}; aliases are unique regardless of case",
                    u.owner,
                    u.alias,
                    first.owner,
                    cx.location(first.file, &first.span)
                );
                cx.at(u.file, u.span.clone(), message);
            }
            None => {
                first_use.insert(key, i);
            }
        }
    }
}
