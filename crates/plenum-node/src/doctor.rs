//! `plenum doctor`: tells an admin what a desktop, mobile or browser client would see when
//! it tries this node — DNS SRV records and addresses, TCP, the TLS certificate, `/health`,
//! the media ports, the public addresses and STUN. This module owns the checks as values,
//! the verdict and the two renderings (text and JSON); [`probe`] does the network I/O and
//! [`cert`] reads certificates.

pub mod cert;
pub mod probe;
pub mod stun;

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;

use crate::config::PortRange;

/// The state of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fine.
    Pass,
    /// Works, but clients may complain or only some can join.
    Warn,
    /// A client cannot join until this is fixed.
    Fail,
    /// Not applicable here, or not checked (the detail says which).
    Skip,
}

impl Status {
    /// The mark shown in front of the check.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Pass => "✓",
            Status::Warn => "!",
            Status::Fail => "✗",
            Status::Skip => "–",
        }
    }
}

/// What a check is about; the verdict needs to know which check saw `/health` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The configuration directory loads.
    Config,
    /// `_pexapp._tcp` SRV records.
    Srv,
    /// A/AAAA of a host.
    Address,
    /// TCP connect.
    Tcp,
    /// TLS handshake and certificate.
    Tls,
    /// `GET /health`.
    Health,
    /// `POST …/request_token`: the node takes calls (or is in maintenance).
    Token,
    /// The clients' attempt loop over every address in order.
    Attempt,
    /// The media UDP port range.
    MediaPorts,
    /// The addresses clients are given for media.
    PublicIp,
    /// A STUN server.
    Stun,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked.
    pub kind: Kind,
    /// A short title, e.g. "TCP 127.0.0.1:8443".
    pub name: String,
    /// The state.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do, for a failure or a warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    /// A passed check.
    pub fn pass(kind: Kind, name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            kind,
            name: name.into(),
            status: Status::Pass,
            detail: detail.into(),
            fix: None,
        }
    }

    /// A failed check and its fix.
    pub fn fail(
        kind: Kind,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            kind,
            name: name.into(),
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// A warning and what to do about it.
    pub fn warn(
        kind: Kind,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            kind,
            name: name.into(),
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// A check that does not apply or was not made.
    pub fn skip(kind: Kind, name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            kind,
            name: name.into(),
            status: Status::Skip,
            detail: detail.into(),
            fix: None,
        }
    }
}

/// Whether a client could join, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// True when no check failed and some node answered `/health`.
    pub client_could_join: bool,
    /// One sentence for the last line.
    pub summary: String,
}

/// The verdict from the checks: a client could join only when nothing failed and at
/// least one endpoint answered `/health`.
pub fn verdict(checks: &[Check]) -> Verdict {
    let failures: Vec<&Check> = checks.iter().filter(|c| c.status == Status::Fail).collect();
    let healthy = checks
        .iter()
        .any(|c| c.kind == Kind::Health && c.status == Status::Pass);
    let warnings = checks.iter().filter(|c| c.status == Status::Warn).count();
    if let Some(first) = failures.first() {
        Verdict {
            client_could_join: false,
            summary: format!(
                "a client could not join: {} check(s) failed, first: {} — {}",
                failures.len(),
                first.name,
                first.detail
            ),
        }
    } else if !healthy {
        Verdict {
            client_could_join: false,
            summary: "a client could not join: no node answered /health".to_owned(),
        }
    } else if warnings > 0 {
        Verdict {
            client_could_join: true,
            summary: format!("a client could join ({warnings} warning(s) above)"),
        }
    } else {
        Verdict {
            client_could_join: true,
            summary: "a client could join".to_owned(),
        }
    }
}

/// Joins the checks of every endpoint a client would try (each address of each target,
/// in order). A client moves on to the next address or target when one fails, so when
/// some endpoint passed every check and answered `/health`, the failures of the others
/// become warnings ("clients fall back"); otherwise they stay failures.
pub fn fold_endpoints(endpoints: Vec<Vec<Check>>) -> Vec<Check> {
    let works = |checks: &[Check]| {
        checks.iter().all(|c| c.status != Status::Fail)
            && checks
                .iter()
                .any(|c| c.kind == Kind::Health && c.status == Status::Pass)
    };
    let any_works = endpoints.iter().any(|checks| works(checks));
    endpoints
        .into_iter()
        .flat_map(|checks| {
            let downgrade = any_works && !works(&checks);
            checks.into_iter().map(move |mut check| {
                if downgrade && check.status == Status::Fail {
                    check.status = Status::Warn;
                    check
                        .detail
                        .push_str(" (clients that try this first fall back to one that works)");
                }
                check
            })
        })
        .collect()
}

/// The report for a person: one line per check, the fix indented under it, the verdict
/// last.
pub fn render_text(checks: &[Check], verdict: &Verdict) -> String {
    let mut out = String::new();
    for check in checks {
        let _ = writeln!(
            out,
            "{} {}: {}",
            check.status.mark(),
            check.name,
            check.detail
        );
        if let Some(fix) = &check.fix {
            let _ = writeln!(out, "    fix: {fix}");
        }
    }
    let _ = writeln!(
        out,
        "{} {}",
        if verdict.client_could_join {
            "✓"
        } else {
            "✗"
        },
        verdict.summary
    );
    out
}

/// The report as JSON: `{"client_could_join", "summary", "checks": [...]}`.
pub fn render_json(checks: &[Check], verdict: &Verdict) -> String {
    #[derive(Serialize)]
    struct Report<'a> {
        client_could_join: bool,
        summary: &'a str,
        checks: &'a [Check],
    }
    let mut json = serde_json::to_string_pretty(&Report {
        client_could_join: verdict.client_could_join,
        summary: &verdict.summary,
        checks,
    })
    .expect("the report holds only strings, booleans and enums");
    json.push('\n');
    json
}

/// The media ports to try binding: the first, the middle and the last of the range.
pub fn sample_ports(range: PortRange) -> Vec<u16> {
    let middle = range.first + (range.last - range.first) / 2;
    let mut ports = vec![range.first, middle, range.last];
    ports.dedup();
    ports
}

/// The media port check from what binding the sampled ports gave. A port in use may be
/// held by this very node's calls, so it is a warning; any other failure (permission, the
/// address is not on this machine) is a failure.
pub fn media_ports_check(
    range: PortRange,
    ip: IpAddr,
    results: &[(u16, Result<(), std::io::ErrorKind>)],
) -> Check {
    let name = format!("media ports {range}/udp on {ip}");
    let in_use: Vec<u16> = results
        .iter()
        .filter(|(_, r)| *r == Err(std::io::ErrorKind::AddrInUse))
        .map(|(p, _)| *p)
        .collect();
    if let Some((port, Err(kind))) = results
        .iter()
        .find(|(_, r)| r.is_err() && *r != Err(std::io::ErrorKind::AddrInUse))
    {
        return Check::fail(
            Kind::MediaPorts,
            name,
            format!("binding UDP port {port} failed: {kind}"),
            "set node.media_ports to a range of ports (1024 or above) this user may bind on the listen address, or node.listen to an address of this machine",
        );
    }
    let tried: Vec<String> = results.iter().map(|(p, _)| p.to_string()).collect();
    if in_use.len() == results.len() {
        Check::fail(
            Kind::MediaPorts,
            name,
            format!("every sampled port ({}) is in use", tried.join(", ")),
            "stop what holds those ports or move node.media_ports to a free range",
        )
    } else if !in_use.is_empty() {
        Check::warn(
            Kind::MediaPorts,
            name,
            format!(
                "ports {} bind, {} in use (perhaps by this node's calls)",
                tried.join(", "),
                in_use
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "if no call is running, find what holds the port (`ss -lunp`) and stop it",
        )
    } else {
        Check::pass(
            Kind::MediaPorts,
            name,
            format!("ports {} bind", tried.join(", ")),
        )
    }
}

/// Whether clients elsewhere on the internet could reach `ip` (not loopback, private,
/// link-local, shared CGNAT, documentation or unique-local).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_documentation()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0xdb8)
        }
    }
}

/// The public address check: which address clients are given for media. `outbound` is
/// the address this machine uses towards the internet (for a listen address of
/// 0.0.0.0 or ::), when known.
pub fn public_ip_check(listen: IpAddr, public_ips: &[IpAddr], outbound: Option<IpAddr>) -> Check {
    let name = "public address for media";
    let list = |ips: &[IpAddr]| {
        ips.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !public_ips.is_empty() {
        return Check::pass(
            Kind::PublicIp,
            name,
            format!("clients are given {} (node.public_ips)", list(public_ips)),
        );
    }
    if listen.is_loopback() {
        return Check::warn(
            Kind::PublicIp,
            name,
            format!("node.listen is {listen} (loopback): only clients on this machine can join"),
            "to let other machines in, set node.listen to an address they reach (and node.public_ips behind NAT)",
        );
    }
    let given = if listen.is_unspecified() {
        match outbound {
            Some(ip) => ip,
            None => {
                return Check::fail(
                    Kind::PublicIp,
                    name,
                    format!(
                        "node.listen is {listen} (all interfaces) and this machine has no route to the internet to tell its address"
                    ),
                    "set node.public_ips to the address clients reach this node at",
                );
            }
        }
    } else {
        listen
    };
    let all = if listen.is_unspecified() {
        format!(" (node.listen is {listen}, all interfaces; this machine's outbound address)")
    } else {
        String::new()
    };
    if is_public(given) {
        Check::pass(
            Kind::PublicIp,
            name,
            format!("clients are given {given}{all}"),
        )
    } else {
        Check::fail(
            Kind::PublicIp,
            name,
            format!(
                "clients are given {given}{all}, a private address: clients outside this network cannot send media"
            ),
            "set node.public_ips to the public address of the NAT in front of this node (e.g. public_ips = [\"203.0.113.7\"])",
        )
    }
}

#[cfg(test)]
mod tests;
