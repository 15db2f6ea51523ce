//! The readable description of a loaded config (`plenum check-config`, the log at start):
//! PIN policies named, never a PIN, a password hash, a TURN credential or a database URL.

use std::fmt::Write as _;

use super::{Config, Database, Service};

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
        Database::Sqlite { path, .. } => {
            let _ = writeln!(out, "  database:      sqlite ({})", path.display());
        }
        Database::Postgres { .. } => {
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
