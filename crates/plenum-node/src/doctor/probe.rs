//! The network side of `plenum doctor`: loads the config, looks up DNS, connects, shakes
//! hands, asks `/health`, binds media ports and asks STUN servers, turning each step into
//! a [`Check`]. Every step has a timeout so a dead host costs seconds, not minutes.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use plenum_discovery::{
    AttemptOutcome, DiscoveryError, DnsConfig, Origin, Resolver, Target, TargetAnswer, attempt,
};
use rustls::pki_types::{ServerName, UnixTime};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

use super::cert::{self, RecordingVerifier};
use super::{Check, Kind, Verdict};
use crate::config::{self, Config};

/// How long one network step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// What `plenum doctor` was asked.
#[derive(Debug, Clone)]
pub struct Args {
    /// The configuration directory.
    pub config: PathBuf,
    /// A domain whose `_pexapp._tcp` records to check.
    pub domain: Option<String>,
    /// The node's URL; default `https://<node.listen>`.
    pub url: Option<String>,
    /// One DNS server (ip:port) instead of the system's.
    pub dns: Option<SocketAddr>,
    /// Print JSON instead of text.
    pub json: bool,
}

/// Exit code when a client could not join.
pub const EXIT_CANNOT_JOIN: u8 = 1;

/// Runs every check; returns the exit code (0 only when a client could join) and the
/// report.
pub async fn run(args: &Args, env: &HashMap<String, String>) -> (u8, String) {
    let checks = checks(args, env).await;
    let verdict: Verdict = super::verdict(&checks);
    let output = if args.json {
        super::render_json(&checks, &verdict)
    } else {
        super::render_text(&checks, &verdict)
    };
    let code = if verdict.client_could_join {
        0
    } else {
        EXIT_CANNOT_JOIN
    };
    (code, output)
}

/// A host and port a client would connect to, with the names its certificate must cover.
#[derive(Debug, Clone)]
struct Endpoint {
    host: String,
    addr: SocketAddr,
    origin: Origin,
}

async fn checks(args: &Args, env: &HashMap<String, String>) -> Vec<Check> {
    let mut out = Vec::new();
    let config = match config::load(&args.config, env) {
        Ok(config) => {
            out.push(Check::pass(
                Kind::Config,
                "configuration",
                format!("{} loads", args.config.display()),
            ));
            Some(config)
        }
        Err(errors) => {
            out.push(Check::fail(
                Kind::Config,
                "configuration",
                format!("{} is refused: {errors}", args.config.display()),
                format!(
                    "fix the errors above (`plenum check-config --config {}` lists them)",
                    args.config.display()
                ),
            ));
            None
        }
    };

    let mut endpoints = Vec::new();
    if let Some(domain) = &args.domain {
        endpoints.extend(dns_checks(domain, args.dns, &mut out).await);
    }
    if args.domain.is_none() || args.url.is_some() {
        let url = args.url.clone().or_else(|| {
            config
                .as_ref()
                .map(|c| format!("https://{}", connectable(c.node.listen)))
        });
        match url {
            Some(url) => endpoints.extend(url_endpoints(&url, args.dns, &mut out).await),
            None => out.push(Check::fail(
                Kind::Tcp,
                "node address",
                "no URL given and no configuration to take node.listen from",
                "give the node's URL, e.g. `plenum doctor https://meet.example.com`",
            )),
        }
    }

    let mut per_endpoint = Vec::with_capacity(endpoints.len());
    let mut answers = Vec::with_capacity(endpoints.len());
    for endpoint in &endpoints {
        let mut checks = Vec::new();
        answers.push(endpoint_checks(endpoint, args.domain.as_deref(), &mut checks).await);
        per_endpoint.push(checks);
    }
    out.extend(super::fold_endpoints(per_endpoint));
    if !endpoints.is_empty() {
        out.push(client_attempt(&endpoints, answers).await);
    }

    if let Some(config) = &config {
        out.push(media_ports(config).await);
        out.push(super::public_ip_check(
            config.node.listen.ip(),
            &config.node.public_ips,
            outbound_ip(config.node.listen.ip()).await,
        ));
        out.extend(stun_checks(config).await);
    }
    out
}

/// The address to connect to for a listen address: loopback for "all interfaces".
fn connectable(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), listen.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), listen.port())
        }
        _ => listen,
    }
}

fn resolver(dns: Option<SocketAddr>) -> Result<Resolver, DiscoveryError> {
    Resolver::new(&DnsConfig {
        nameserver: dns,
        timeout: STEP_TIMEOUT,
    })
}

/// The SRV and address checks for `--domain`; returns the endpoints a client would try,
/// in order.
async fn dns_checks(domain: &str, dns: Option<SocketAddr>, out: &mut Vec<Check>) -> Vec<Endpoint> {
    let name = format!("SRV _pexapp._tcp.{domain}");
    let resolver = match resolver(dns) {
        Ok(resolver) => resolver,
        Err(error) => {
            out.push(Check::fail(
                Kind::Srv,
                name,
                error.to_string(),
                "fix /etc/resolv.conf or pass --dns <ip:port>",
            ));
            return Vec::new();
        }
    };
    // The doctor shows one possible order; clients draw their own within a priority.
    let discovery = match resolver.discover(domain, |_| 0).await {
        Ok(discovery) => discovery,
        Err(error) => {
            let fix = match error {
                DiscoveryError::NotOffered(_) => format!(
                    "replace the '.' record by `_pexapp._tcp.{domain}. SRV 10 10 443 <node name>.`"
                ),
                DiscoveryError::NxDomain(_) => {
                    "check the domain's spelling, or create its DNS zone".to_owned()
                }
                DiscoveryError::Timeout { .. } => {
                    "check that the DNS server runs and that this machine can reach it".to_owned()
                }
                _ => "check the DNS configuration".to_owned(),
            };
            out.push(Check::fail(Kind::Srv, name, error.to_string(), fix));
            return Vec::new();
        }
    };
    if discovery.plan.had_srv {
        let order: Vec<String> = discovery
            .plan
            .targets
            .iter()
            .filter_map(|t| match t.origin {
                Origin::Srv { priority, weight } => {
                    Some(format!("{t} (priority {priority}, weight {weight})"))
                }
                Origin::Fallback => None,
            })
            .collect();
        out.push(Check::pass(
            Kind::Srv,
            name,
            format!("clients try {}", order.join(", then ")),
        ));
    } else {
        out.push(Check::warn(
            Kind::Srv,
            name,
            discovery.notes.join("; "),
            format!(
                "desktop and mobile clients find nodes by `_pexapp._tcp.{domain}. SRV 10 10 443 <node name>.` (see README, Finding a node)"
            ),
        ));
    }
    let mut endpoints = Vec::new();
    let fallback_needed = !discovery.plan.had_srv;
    for resolved in &discovery.targets {
        let target = &resolved.target;
        let is_fallback = target.origin == Origin::Fallback;
        let name = format!("A/AAAA {}", target.host);
        match &resolved.addresses {
            Ok(ips) => {
                let list: Vec<String> = ips.iter().map(ToString::to_string).collect();
                out.push(Check::pass(Kind::Address, name, list.join(", ")));
                if !is_fallback || fallback_needed {
                    endpoints.extend(resolved.socket_addrs().into_iter().map(|addr| Endpoint {
                        host: target.host.clone(),
                        addr,
                        origin: target.origin,
                    }));
                }
            }
            // The fallback only matters when there is no SRV record.
            Err(error) if is_fallback && !fallback_needed => out.push(Check::skip(
                Kind::Address,
                name,
                format!("{error} (only used when no SRV target answers)"),
            )),
            Err(error) => out.push(Check::fail(
                Kind::Address,
                name,
                error.to_string(),
                format!(
                    "add an A or AAAA record for {} pointing at the node",
                    target.host
                ),
            )),
        }
    }
    endpoints
}

/// The endpoint(s) of a URL: an IP host is used as it is (no DNS); a name is resolved.
async fn url_endpoints(url: &str, dns: Option<SocketAddr>, out: &mut Vec<Check>) -> Vec<Endpoint> {
    let Some((host, port)) = parse_url(url) else {
        out.push(Check::fail(
            Kind::Tcp,
            "node address",
            format!("{url:?} is not an https:// URL"),
            "give the node's URL as https://host[:port]",
        ));
        return Vec::new();
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return vec![Endpoint {
            host,
            addr: SocketAddr::new(ip, port),
            origin: Origin::Fallback,
        }];
    }
    let name = format!("A/AAAA {host}");
    let addresses = match resolver(dns) {
        Ok(resolver) => resolver.addresses(&host).await,
        Err(error) => Err(error),
    };
    match addresses {
        Ok(ips) => {
            let list: Vec<String> = ips.iter().map(ToString::to_string).collect();
            out.push(Check::pass(Kind::Address, name, list.join(", ")));
            ips.into_iter()
                .map(|ip| Endpoint {
                    host: host.clone(),
                    addr: SocketAddr::new(ip, port),
                    origin: Origin::Fallback,
                })
                .collect()
        }
        Err(error) => {
            out.push(Check::fail(
                Kind::Address,
                name,
                error.to_string(),
                format!("add an A or AAAA record for {host}, or use the node's IP address"),
            ));
            Vec::new()
        }
    }
}

/// `https://host[:port][/path]` → host (without brackets) and port (443 by default).
pub fn parse_url(url: &str) -> Option<(String, u16)> {
    let rest = url.strip_prefix("https://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None if after.is_empty() => 443,
            None => return None,
        };
        (host.to_owned(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), port.parse().ok()?),
            None => (authority.to_owned(), 443),
        }
    };
    (!host.is_empty()).then(|| (host.to_ascii_lowercase(), port))
}

/// Replays the endpoints' answers through the clients' attempt loop: in order, stopping
/// at the first node that answers `request_token` or says it is in maintenance.
async fn client_attempt(endpoints: &[Endpoint], answers: Vec<TargetAnswer<u16>>) -> Check {
    let targets: Vec<Target> = endpoints
        .iter()
        .map(|e| Target {
            host: host_port(&e.addr.ip().to_string(), e.addr.port()),
            port: e.addr.port(),
            origin: e.origin,
        })
        .collect();
    let mut answers = answers.into_iter();
    let outcome = attempt(&targets, |_| {
        let answer = answers
            .next()
            .expect("one answer per endpoint, and the loop asks each at most once");
        std::future::ready(answer)
    })
    .await;
    let name = "a client trying in order";
    match outcome {
        AttemptOutcome::Answered { target, failed, .. } => Check::pass(
            Kind::Attempt,
            name,
            if failed.is_empty() {
                format!("reaches the node at {}", target.host)
            } else {
                format!(
                    "reaches the node at {} after {} address(es) that failed",
                    target.host,
                    failed.len()
                )
            },
        ),
        AttemptOutcome::Maintenance {
            target, message, ..
        } => Check::fail(
            Kind::Attempt,
            name,
            format!(
                "stops at {}: {message} (#pex110); clients try no other node after it",
                target.host
            ),
            "turn [switches] maintenance_mode off and reload (SIGHUP), or take this node out of the SRV records while it is in maintenance",
        ),
        AttemptOutcome::NoneAnswered { failed } => Check::fail(
            Kind::Attempt,
            name,
            format!("no node answered ({} address(es) tried)", failed.len()),
            "fix the failures above",
        ),
    }
}

/// TCP, TLS (certificate), `/health` and `request_token` for one endpoint; returns what
/// a client's attempt loop would make of it.
async fn endpoint_checks(
    endpoint: &Endpoint,
    domain: Option<&str>,
    out: &mut Vec<Check>,
) -> TargetAnswer<u16> {
    let addr = endpoint.addr;
    let tcp_name = format!("TCP {addr}");
    let stream = match timeout(STEP_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => {
            out.push(Check::pass(Kind::Tcp, tcp_name, "connects"));
            stream
        }
        Ok(Err(error)) => {
            out.push(Check::fail(
                Kind::Tcp,
                tcp_name,
                format!("the node is not reachable: {error}"),
                format!(
                    "start the node (`plenum serve`), check node.listen, and open TCP port {} in the firewall",
                    addr.port()
                ),
            ));
            return TargetAnswer::Failed(out.last().map_or_else(String::new, |c| c.detail.clone()));
        }
        Err(_) => {
            out.push(Check::fail(
                Kind::Tcp,
                tcp_name,
                format!("the node is not reachable: no answer within {STEP_TIMEOUT:?}"),
                format!(
                    "check that the node runs and that a firewall lets TCP port {} through",
                    addr.port()
                ),
            ));
            return TargetAnswer::Failed(out.last().map_or_else(String::new, |c| c.detail.clone()));
        }
    };

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(RecordingVerifier::new(provider.clone()));
    let tls_name = format!("TLS {}", endpoint.host);
    let client = match rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
    {
        Ok(builder) => builder
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth(),
        Err(error) => {
            out.push(Check::fail(
                Kind::Tls,
                tls_name,
                format!("cannot set up TLS: {error}"),
                "report this as a bug",
            ));
            return TargetAnswer::Failed(out.last().map_or_else(String::new, |c| c.detail.clone()));
        }
    };
    let server_name = match endpoint.host.parse::<IpAddr>() {
        Ok(ip) => ServerName::IpAddress(ip.into()),
        Err(_) => match ServerName::try_from(endpoint.host.clone()) {
            Ok(name) => name,
            Err(error) => {
                out.push(Check::fail(
                    Kind::Tls,
                    tls_name,
                    format!("{:?} is not a valid server name: {error}", endpoint.host),
                    "use the node's DNS name or IP address",
                ));
                return TargetAnswer::Failed(
                    out.last().map_or_else(String::new, |c| c.detail.clone()),
                );
            }
        },
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let mut tls = match timeout(STEP_TIMEOUT, connector.connect(server_name.clone(), stream)).await
    {
        Ok(Ok(tls)) => tls,
        Ok(Err(error)) => {
            out.push(Check::fail(
                Kind::Tls,
                tls_name,
                format!("the TLS handshake failed: {error}"),
                "check that node.listen serves HTTPS (not plain HTTP) and the [tls] files are a matching certificate and key",
            ));
            return TargetAnswer::Failed(out.last().map_or_else(String::new, |c| c.detail.clone()));
        }
        Err(_) => {
            out.push(Check::fail(
                Kind::Tls,
                tls_name,
                format!("no TLS handshake within {STEP_TIMEOUT:?}"),
                "check that the port is the node's HTTPS port",
            ));
            return TargetAnswer::Failed(out.last().map_or_else(String::new, |c| c.detail.clone()));
        }
    };
    let version = tls
        .get_ref()
        .1
        .protocol_version()
        .map_or_else(|| "TLS".to_owned(), |v| format!("{v:?}"));
    out.push(Check::pass(
        Kind::Tls,
        tls_name,
        format!("handshake ({version})"),
    ));

    let chain = verifier.chain();
    let now = SystemTime::now();
    let now_secs = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    match chain.first().map(|leaf| cert::parse(leaf)) {
        Some(Ok(info)) => {
            let trust = cert::trust(
                &provider,
                &chain,
                &server_name,
                info.self_signed,
                UnixTime::since_unix_epoch(Duration::from_secs(now_secs.max(0).unsigned_abs())),
            );
            out.extend(cert::checks(
                &info,
                &trust,
                &endpoint.host,
                domain,
                now_secs,
            ));
        }
        Some(Err(error)) => out.push(Check::fail(
            Kind::Tls,
            "certificate",
            error,
            "use a valid X.509 certificate",
        )),
        None => out.push(Check::fail(
            Kind::Tls,
            "certificate",
            "the server sent no certificate",
            "configure [tls] certificate",
        )),
    }

    let health_name = format!(
        "GET https://{}/health",
        host_port(&endpoint.host, addr.port())
    );
    let health_result = timeout(STEP_TIMEOUT, health(&mut tls, &endpoint.host, addr.port())).await;
    let healthy = matches!(health_result, Ok(Ok(200)));
    match health_result {
        Ok(Ok(200)) => out.push(Check::pass(Kind::Health, health_name, "200 OK")),
        Ok(Ok(status)) => out.push(Check::fail(
            Kind::Health,
            health_name,
            format!("answered {status}, not 200"),
            "check that this address is a plenum node and not a proxy in front of it that rewrites /health",
        )),
        Ok(Err(error)) => out.push(Check::fail(
            Kind::Health,
            health_name,
            format!("no HTTP answer: {error}"),
            "check the node's log (`PLENUM_LOG=debug plenum serve`)",
        )),
        Err(_) => out.push(Check::fail(
            Kind::Health,
            health_name,
            format!("no answer within {STEP_TIMEOUT:?}"),
            "check the node's log; it may be overloaded",
        )),
    }
    if !healthy {
        return TargetAnswer::Failed(out.last().map_or_else(String::new, |c| c.detail.clone()));
    }

    // What a client does next: ask for a token. An alias nobody configures gets 404 from a
    // node that takes calls, and 503 "System in maintenance mode" from one that does not.
    let token_name = format!(
        "POST https://{}/api/client/v2/conferences/{PROBE_ALIAS}/request_token",
        host_port(&endpoint.host, addr.port())
    );
    let answer = match timeout(
        STEP_TIMEOUT,
        request_token(&connector, server_name, addr, &endpoint.host),
    )
    .await
    {
        Ok(Ok((status, body))) => plenum_discovery::classify_request_token(status, &body),
        Ok(Err(error)) => TargetAnswer::Failed(format!("no HTTP answer: {error}")),
        Err(_) => TargetAnswer::Failed(format!("no answer within {STEP_TIMEOUT:?}")),
    };
    match &answer {
        TargetAnswer::Answered(status) => out.push(Check::pass(
            Kind::Token,
            token_name,
            format!("answers {status} (a client's request for a token reaches the node)"),
        )),
        TargetAnswer::Maintenance(message) => out.push(Check::fail(
            Kind::Token,
            token_name,
            format!("{message} (#pex110): the node takes no calls"),
            "turn [switches] maintenance_mode off in plenum.toml and reload (SIGHUP)",
        )),
        TargetAnswer::Failed(why) => out.push(Check::fail(
            Kind::Token,
            token_name,
            why.clone(),
            "check the node's log (`PLENUM_LOG=debug plenum serve`)",
        )),
    }
    answer
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `GET /health` over HTTP/1.1 on the open TLS stream; the status code.
async fn health(
    tls: &mut tokio_rustls::client::TlsStream<TcpStream>,
    host: &str,
    port: u16,
) -> std::io::Result<u16> {
    let request = format!(
        "GET /health HTTP/1.1\r\nHost: {}\r\nUser-Agent: plenum-doctor\r\nConnection: close\r\n\r\n",
        host_port(host, port)
    );
    tls.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 8192 {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    status_code(&String::from_utf8_lossy(&head))
}

/// The status code of an HTTP/1.1 answer, from its status line.
fn status_code(answer: &str) -> std::io::Result<u16> {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "not an HTTP answer: {:?}",
                    answer.lines().next().unwrap_or_default()
                ),
            )
        })
}

/// The alias the doctor asks a token for: one no admin configures.
const PROBE_ALIAS: &str = "plenum-doctor-probe";

/// `POST …/conferences/<PROBE_ALIAS>/request_token` on a new TLS connection; the status
/// and the start of the body.
async fn request_token(
    connector: &tokio_rustls::TlsConnector,
    server_name: ServerName<'static>,
    addr: SocketAddr,
    host: &str,
) -> std::io::Result<(u16, String)> {
    let stream = TcpStream::connect(addr).await?;
    let mut tls = connector.connect(server_name, stream).await?;
    let body = r#"{"display_name":"plenum doctor"}"#;
    let request = format!(
        "POST /api/client/v2/conferences/{PROBE_ALIAS}/request_token HTTP/1.1\r\nHost: {}\r\nUser-Agent: plenum-doctor\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        host_port(host, addr.port()),
        body.len()
    );
    tls.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while answer.len() < 65_536 {
        match tls.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            // A server closing without close_notify still sent what it meant to.
            Err(error)
                if !answer.is_empty() && error.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                break;
            }
            Err(error) => return Err(error),
        }
    }
    let text = String::from_utf8_lossy(&answer);
    let status = status_code(&text)?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or_else(String::new, |(_, body)| body.to_owned());
    Ok((status, body))
}

/// Binds a few UDP ports of the media range on the listen IP, then lets them go.
async fn media_ports(config: &Config) -> Check {
    let range = config.node.media_ports;
    let ip = config.node.listen.ip();
    let mut results = Vec::new();
    for port in super::sample_ports(range) {
        let result = UdpSocket::bind(SocketAddr::new(ip, port))
            .await
            .map(drop)
            .map_err(|e| e.kind());
        results.push((port, result));
    }
    super::media_ports_check(range, ip, &results)
}

/// The address this machine would use towards the internet (no packet is sent: a UDP
/// "connect" only picks a route). Only asked for a listen address of 0.0.0.0 or ::.
async fn outbound_ip(listen: IpAddr) -> Option<IpAddr> {
    if !listen.is_unspecified() {
        return None;
    }
    let (bind, probe): (SocketAddr, SocketAddr) = match listen {
        IpAddr::V4(_) => (
            (Ipv4Addr::UNSPECIFIED, 0).into(),
            ([198, 51, 100, 1], 9).into(),
        ),
        IpAddr::V6(_) => (
            (Ipv6Addr::UNSPECIFIED, 0).into(),
            ("2001:db8::1".parse::<IpAddr>().ok()?, 9).into(),
        ),
    };
    let socket = UdpSocket::bind(bind).await.ok()?;
    socket.connect(probe).await.ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

/// One check per configured STUN server: a real binding request over UDP.
async fn stun_checks(config: &Config) -> Vec<Check> {
    if config.node.stun.is_empty() {
        return vec![Check::skip(
            Kind::Stun,
            "STUN",
            "no node.stun servers configured (not needed when node.public_ips is right)",
        )];
    }
    let mut out = Vec::new();
    for url in &config.node.stun {
        let name = format!("STUN {url}");
        let Some((host, port)) = super::stun::parse_stun_url(url) else {
            out.push(Check::skip(
                Kind::Stun,
                name,
                "not checked: only stun:host[:port] over UDP is probed",
            ));
            continue;
        };
        match timeout(STEP_TIMEOUT, super::stun::binding(&host, port)).await {
            Ok(Ok(mapped)) => out.push(Check::pass(
                Kind::Stun,
                name,
                format!("answers; this machine is seen as {mapped}"),
            )),
            Ok(Err(error)) => out.push(Check::fail(
                Kind::Stun,
                name,
                error,
                "fix or remove the node.stun entry; browsers behind NAT use it to find their address",
            )),
            Err(_) => out.push(Check::fail(
                Kind::Stun,
                name,
                format!("no answer within {STEP_TIMEOUT:?}"),
                "check the server's address and that outgoing UDP is allowed; or remove the node.stun entry",
            )),
        }
    }
    out
}
