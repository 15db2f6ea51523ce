//! The pure parts of `plenum doctor`: verdict, renderings, certificate names and expiry,
//! media port and public address judgements, URL parsing.

use std::io::ErrorKind;
use std::net::IpAddr;

use super::cert::{self, CertInfo, Trust};
use super::probe::parse_url;
use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

fn health_ok() -> Check {
    Check::pass(Kind::Health, "GET https://127.0.0.1:8443/health", "200 OK")
}

#[test]
fn a_client_could_join_only_without_failures_and_with_a_healthy_node() {
    let warn = Check::warn(Kind::Tls, "certificate chain", "self-signed", "use a CA");
    let fail = Check::fail(Kind::Tcp, "TCP 127.0.0.1:8443", "refused", "start it");
    let skip = Check::skip(Kind::Stun, "STUN", "none configured");

    let v = verdict(&[health_ok(), skip.clone()]);
    assert!(v.client_could_join);
    assert_eq!(v.summary, "a client could join");

    let v = verdict(&[health_ok(), warn.clone()]);
    assert!(v.client_could_join, "a warning does not stop a client");
    assert_eq!(v.summary, "a client could join (1 warning(s) above)");

    let v = verdict(&[health_ok(), fail.clone(), warn]);
    assert!(!v.client_could_join);
    assert_eq!(
        v.summary,
        "a client could not join: 1 check(s) failed, first: TCP 127.0.0.1:8443 — refused"
    );

    let v = verdict(&[skip]);
    assert!(!v.client_could_join, "nothing answered /health");
    assert_eq!(
        v.summary,
        "a client could not join: no node answered /health"
    );
}

#[test]
fn text_shows_a_mark_per_check_and_the_fix_under_failures() {
    let checks = [
        health_ok(),
        Check::fail(Kind::Tcp, "TCP 10.0.0.1:443", "refused", "start the node"),
        Check::skip(Kind::Stun, "STUN", "none configured"),
    ];
    let text = render_text(&checks, &verdict(&checks));
    assert_eq!(
        text,
        "✓ GET https://127.0.0.1:8443/health: 200 OK\n\
         ✗ TCP 10.0.0.1:443: refused\n    fix: start the node\n\
         – STUN: none configured\n\
         ✗ a client could not join: 1 check(s) failed, first: TCP 10.0.0.1:443 — refused\n"
    );
}

#[test]
fn json_carries_the_verdict_and_every_check() {
    let checks = [health_ok(), Check::skip(Kind::Stun, "STUN", "none")];
    let json: serde_json::Value =
        serde_json::from_str(&render_json(&checks, &verdict(&checks))).expect("json");
    assert_eq!(json["client_could_join"], true);
    assert_eq!(json["checks"][0]["kind"], "health");
    assert_eq!(json["checks"][0]["status"], "pass");
    assert_eq!(json["checks"][1]["status"], "skip");
    assert!(json["checks"][0].get("fix").is_none());
}

#[test]
fn certificate_names_cover_exact_names_ips_and_one_label_wildcards() {
    let names: Vec<String> = [
        "meet.example.com",
        "*.nodes.example.com",
        "127.0.0.1",
        "::1",
    ]
    .map(String::from)
    .to_vec();
    for (host, covered) in [
        ("meet.example.com", true),
        ("MEET.example.com.", true),
        ("a.nodes.example.com", true),
        ("a.b.nodes.example.com", false),
        ("nodes.example.com", false),
        ("example.com", false),
        ("127.0.0.1", true),
        ("[::1]", true),
        ("0:0:0:0:0:0:0:1", true),
        ("127.0.0.2", false),
    ] {
        assert_eq!(cert::covers(&names, host), covered, "{host}");
    }
}

#[test]
fn certificate_checks_judge_names_expiry_and_trust() {
    const DAY: i64 = 86_400;
    let now = 1_000 * DAY;
    let info = |days_left: i64, self_signed: bool| CertInfo {
        names: vec!["meet.example.com".into(), "127.0.0.1".into()],
        not_after: now + days_left * DAY,
        self_signed,
    };
    let statuses = |checks: Vec<Check>| -> Vec<(Status, String)> {
        checks.into_iter().map(|c| (c.status, c.detail)).collect()
    };

    // the first-run node: self-signed on loopback is a warning
    let got = statuses(cert::checks(
        &info(365, true),
        &Trust::SelfSigned,
        "127.0.0.1",
        None,
        now,
    ));
    assert_eq!(got[0].0, Status::Pass);
    assert_eq!(got[1], (Status::Pass, "365 days left".into()));
    assert_eq!(got[2].0, Status::Warn);
    assert!(
        got[2].1.starts_with(
            "self-signed — browsers and clients will warn; use a certificate from a CA"
        )
    );

    // the same certificate for a public name fails; the domain is not covered: a warning
    let got = statuses(cert::checks(
        &info(10, true),
        &Trust::SelfSigned,
        "meet.example.com",
        Some("example.com"),
        now,
    ));
    assert_eq!(
        got.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [Status::Pass, Status::Warn, Status::Warn, Status::Fail]
    );
    assert_eq!(got[2].1, "expires in 10 day(s)");

    // expired, not covering the host, untrusted
    let got = statuses(cert::checks(
        &info(-3, false),
        &Trust::Untrusted("unknown issuer".into()),
        "other.example.com",
        None,
        now,
    ));
    assert_eq!(got[0].0, Status::Fail);
    assert_eq!(got[1], (Status::Fail, "expired 3 day(s) ago".into()));
    assert_eq!(got[2], (Status::Fail, "not trusted: unknown issuer".into()));

    let got = statuses(cert::checks(
        &info(90, false),
        &Trust::Trusted,
        "meet.example.com",
        None,
        now,
    ));
    assert!(got.iter().all(|(s, _)| *s == Status::Pass), "{got:?}");
}

#[test]
fn media_ports_bind_in_use_or_fail() {
    let range = crate::config::PortRange {
        first: 40000,
        last: 49999,
    };
    assert_eq!(sample_ports(range), [40000, 44999, 49999]);
    assert_eq!(
        sample_ports(crate::config::PortRange {
            first: 5000,
            last: 5001
        }),
        [5000, 5001]
    );
    let listen = ip("127.0.0.1");
    let check =
        |results: &[(u16, Result<(), ErrorKind>)]| media_ports_check(range, listen, results).status;
    assert_eq!(
        check(&[(40000, Ok(())), (44999, Ok(())), (49999, Ok(()))]),
        Status::Pass
    );
    assert_eq!(
        check(&[
            (40000, Err(ErrorKind::AddrInUse)),
            (44999, Ok(())),
            (49999, Ok(()))
        ]),
        Status::Warn
    );
    assert_eq!(
        check(&[
            (40000, Err(ErrorKind::AddrInUse)),
            (44999, Err(ErrorKind::AddrInUse)),
            (49999, Err(ErrorKind::AddrInUse))
        ]),
        Status::Fail
    );
    assert_eq!(
        check(&[
            (40000, Ok(())),
            (44999, Err(ErrorKind::PermissionDenied)),
            (49999, Ok(()))
        ]),
        Status::Fail
    );
    assert_eq!(
        check(&[(40000, Err(ErrorKind::AddrNotAvailable))]),
        Status::Fail
    );
}

#[test]
fn public_addresses_are_needed_behind_a_private_listen_address() {
    let check = |listen: &str, public: &[&str], outbound: Option<&str>| {
        let public: Vec<IpAddr> = public.iter().map(|s| ip(s)).collect();
        let c = public_ip_check(ip(listen), &public, outbound.map(ip));
        (c.status, c.detail)
    };
    assert_eq!(check("127.0.0.1", &[], None).0, Status::Warn);
    assert_eq!(
        check("203.0.113.7", &[], None).0,
        Status::Fail,
        "documentation range is not public"
    );
    assert_eq!(
        check("8.8.8.8", &[], None),
        (Status::Pass, "clients are given 8.8.8.8".into())
    );
    assert_eq!(check("192.168.1.5", &[], None).0, Status::Fail);
    assert_eq!(
        check("192.168.1.5", &["198.51.100.9"], None),
        (
            Status::Pass,
            "clients are given 198.51.100.9 (node.public_ips)".into()
        )
    );
    let (status, detail) = check("0.0.0.0", &[], Some("10.1.2.3"));
    assert_eq!(status, Status::Fail);
    assert!(
        detail.starts_with("clients are given 10.1.2.3 (node.listen is 0.0.0.0, all interfaces"),
        "{detail}"
    );
    assert_eq!(check("0.0.0.0", &[], Some("9.9.9.9")).0, Status::Pass);
    assert_eq!(check("::", &[], None).0, Status::Fail);
    assert_eq!(
        check("100.64.0.1", &[], None).0,
        Status::Fail,
        "shared CGNAT space"
    );
    assert_eq!(check("fd00::1", &[], None).0, Status::Fail);
    assert_eq!(check("2a00:1450::1", &[], None).0, Status::Pass);
}

#[test]
fn urls_give_host_and_port() {
    assert_eq!(
        parse_url("https://127.0.0.1:8443"),
        Some(("127.0.0.1".into(), 8443))
    );
    assert_eq!(
        parse_url("https://Meet.Example.com/webapp"),
        Some(("meet.example.com".into(), 443))
    );
    assert_eq!(
        parse_url("https://[::1]:8443/x"),
        Some(("::1".into(), 8443))
    );
    assert_eq!(parse_url("https://[::1]"), Some(("::1".into(), 443)));
    assert_eq!(parse_url("http://127.0.0.1"), None);
    assert_eq!(parse_url("https://"), None);
    assert_eq!(parse_url("https://h:notaport"), None);
}

#[test]
fn a_dead_address_is_a_warning_when_another_endpoint_works() {
    let dead = || {
        vec![Check::fail(
            Kind::Tcp,
            "TCP [::1]:8443",
            "the node is not reachable",
            "start it",
        )]
    };
    let good = || {
        vec![
            Check::pass(Kind::Tcp, "TCP 127.0.0.1:8443", "connects"),
            health_ok(),
        ]
    };
    let folded = fold_endpoints(vec![good(), dead()]);
    assert_eq!(folded.len(), 3);
    assert_eq!(folded[2].status, Status::Warn);
    assert_eq!(
        folded[2].detail,
        "the node is not reachable (clients that try this first fall back to one that works)"
    );
    assert!(verdict(&folded).client_could_join);

    // nothing works: the failures stay
    let folded = fold_endpoints(vec![dead(), dead()]);
    assert!(folded.iter().all(|c| c.status == Status::Fail));
    assert!(!verdict(&folded).client_could_join);

    // an endpoint whose certificate fails does not count as working
    let mut bad_cert = good();
    bad_cert.push(Check::fail(
        Kind::Tls,
        "certificate names",
        "do not cover",
        "fix",
    ));
    let folded = fold_endpoints(vec![bad_cert, dead()]);
    assert_eq!(
        folded.iter().filter(|c| c.status == Status::Fail).count(),
        2
    );
}
