//! DNS I/O: `_pexapp._tcp` SRV and A/AAAA lookups through hickory, against the system's
//! resolver configuration or one given name server (ip:port over UDP and TCP, for tests
//! and `plenum doctor --dns`), with a timeout; errors name the step that failed.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig,
};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

use crate::plan::{FALLBACK_PORT, Plan, Target};
use crate::srv::SrvRecord;

/// How to reach DNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfig {
    /// One name server to ask (UDP, then TCP for truncated answers); `None` reads the
    /// system configuration (`/etc/resolv.conf`).
    pub nameserver: Option<SocketAddr>,
    /// How long one query may take before the server counts as not answering.
    pub timeout: Duration,
}

impl Default for DnsConfig {
    fn default() -> DnsConfig {
        DnsConfig {
            nameserver: None,
            timeout: Duration::from_secs(5),
        }
    }
}

/// A discovery step that failed, worded for the person who has to fix it.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The resolver configuration could not be read.
    #[error("cannot read the system DNS configuration (/etc/resolv.conf): {0}")]
    SystemConfig(#[source] NetError),
    /// The domain does not exist at all.
    #[error("domain {0} does not exist (NXDOMAIN): check the spelling, or create its DNS zone")]
    NxDomain(String),
    /// The DNS server did not answer in time.
    #[error(
        "the DNS server at {server} did not answer within {timeout:?} while looking up {name}: check that it runs and is reachable"
    )]
    Timeout {
        /// The server(s) asked.
        server: String,
        /// The timeout that passed.
        timeout: Duration,
        /// The name being looked up.
        name: String,
    },
    /// A single SRV record with target `.`.
    #[error(
        "service not offered (target '.'): _pexapp._tcp.{0} says no node serves this domain; remove that record or point it at a node"
    )]
    NotOffered(String),
    /// A host has neither A nor AAAA records.
    #[error("{0} has no A or AAAA record: add one pointing at the node")]
    NoAddress(String),
    /// A name that is not a valid DNS name.
    #[error("{name:?} is not a valid DNS name: {source}")]
    InvalidName {
        /// The name given.
        name: String,
        /// Why it is invalid.
        #[source]
        source: NetError,
    },
    /// Any other DNS failure.
    #[error("looking up {name} failed: {source}")]
    Lookup {
        /// The name being looked up.
        name: String,
        /// The resolver's error.
        #[source]
        source: NetError,
    },
}

/// The SRV lookup's result: records, or none (NXDOMAIN or no data for the SRV name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SrvLookup {
    /// The records as answered.
    Records(Vec<SrvRecord>),
    /// There is no `_pexapp._tcp` record.
    NoRecords,
}

/// A planned target with its addresses, or why it has none.
#[derive(Debug)]
pub struct ResolvedTarget {
    /// The target.
    pub target: Target,
    /// Its A/AAAA addresses (IPv4 first), or the failure.
    pub addresses: Result<Vec<IpAddr>, DiscoveryError>,
}

impl ResolvedTarget {
    /// The socket addresses to connect to, empty when resolution failed.
    pub fn socket_addrs(&self) -> Vec<SocketAddr> {
        self.addresses
            .as_ref()
            .map(|ips| {
                ips.iter()
                    .map(|ip| SocketAddr::new(*ip, self.target.port))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// What discovery found for a domain.
#[derive(Debug)]
pub struct Discovery {
    /// The plan (SRV targets in order, then the fallback).
    pub plan: Plan,
    /// Each planned target with its addresses, in plan order.
    pub targets: Vec<ResolvedTarget>,
    /// Remarks for the person reading, e.g. that there was no SRV record.
    pub notes: Vec<String>,
}

/// A DNS resolver for discovery.
#[derive(Debug, Clone)]
pub struct Resolver {
    inner: TokioResolver,
    /// The name servers asked, for error messages.
    servers: String,
    timeout: Duration,
}

impl Resolver {
    /// A resolver as `config` says. Must be called inside a tokio runtime.
    pub fn new(config: &DnsConfig) -> Result<Resolver, DiscoveryError> {
        let (resolver_config, mut options) = match config.nameserver {
            Some(server) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = server.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = server.port();
                let name_server = NameServerConfig::new(server.ip(), true, vec![udp, tcp]);
                let mut options = hickory_resolver::config::ResolverOpts::default();
                // A given server is the whole truth: no /etc/hosts.
                options.use_hosts_file = ResolveHosts::Never;
                (
                    ResolverConfig::from_parts(None, vec![], vec![name_server]),
                    options,
                )
            }
            None => hickory_resolver::system_conf::read_system_conf()
                .map_err(DiscoveryError::SystemConfig)?,
        };
        let servers = describe_servers(&resolver_config);
        options.timeout = config.timeout;
        options.attempts = 1;
        options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        // Every query is a fresh look, as an admin checking a change expects.
        options.cache_size = 0;
        let inner =
            TokioResolver::builder_with_config(resolver_config, TokioRuntimeProvider::default())
                .with_options(options)
                .build()
                .map_err(|source| DiscoveryError::Lookup {
                    name: "(resolver set-up)".to_owned(),
                    source,
                })?;
        Ok(Resolver {
            inner,
            servers,
            timeout: config.timeout,
        })
    }

    /// The SRV records of `_pexapp._tcp.<domain>`.
    pub async fn srv(&self, domain: &str) -> Result<SrvLookup, DiscoveryError> {
        let name = format!("_pexapp._tcp.{}.", domain.trim_end_matches('.'));
        match self
            .bounded(&name, self.inner.srv_lookup(name.as_str()))
            .await
        {
            Ok(lookup) => Ok(SrvLookup::Records(
                lookup
                    .answers()
                    .iter()
                    .filter_map(|record| match &record.data {
                        RData::SRV(srv) => Some(SrvRecord::new(
                            srv.priority,
                            srv.weight,
                            srv.port,
                            &srv.target.to_ascii(),
                        )),
                        _ => None,
                    })
                    .collect(),
            )),
            // NXDOMAIN for the SRV name only says there is no such record; whether the
            // domain exists is for its own A/AAAA lookup to tell.
            Err(error) if error.is_no_records_found() => Ok(SrvLookup::NoRecords),
            Err(error) => Err(self.classify(&name, error)),
        }
    }

    /// The A and AAAA addresses of `host`, IPv4 first.
    pub async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, DiscoveryError> {
        let host = host.trim_end_matches('.');
        let name = format!("{host}.");
        match self
            .bounded(&name, self.inner.lookup_ip(name.as_str()))
            .await
        {
            Ok(lookup) => {
                let mut ips: Vec<IpAddr> = lookup.iter().collect();
                ips.sort_by_key(IpAddr::is_ipv6);
                ips.dedup();
                if ips.is_empty() {
                    Err(DiscoveryError::NoAddress(host.to_owned()))
                } else {
                    Ok(ips)
                }
            }
            Err(error) if error.is_nx_domain() => Err(DiscoveryError::NxDomain(host.to_owned())),
            Err(error) if error.is_no_records_found() => {
                Err(DiscoveryError::NoAddress(host.to_owned()))
            }
            Err(error) => Err(self.classify(&name, error)),
        }
    }

    /// Looks up `domain` as a client would: its SRV records in RFC 2782 order (with `draw`
    /// as the random draws, see [`crate::srv::order`]), then each target's addresses.
    /// Fails when the service is not offered (target `.`), when there is no SRV record
    /// and the domain does not exist, and when DNS does not answer.
    pub async fn discover(
        &self,
        domain: &str,
        draw: impl FnMut(u32) -> u32,
    ) -> Result<Discovery, DiscoveryError> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let records = match self.srv(&domain).await? {
            SrvLookup::Records(records) => records,
            SrvLookup::NoRecords => Vec::new(),
        };
        let plan = Plan::new(&domain, records, draw)
            .map_err(|_| DiscoveryError::NotOffered(domain.clone()))?;
        let mut notes = Vec::new();
        if !plan.had_srv {
            notes.push(format!(
                "no _pexapp._tcp record for {domain}; falling back to {domain}:{FALLBACK_PORT}"
            ));
        }
        let mut targets = Vec::with_capacity(plan.targets.len());
        for target in &plan.targets {
            let addresses = self.addresses(&target.host).await;
            if let Err(DiscoveryError::Timeout { .. }) = addresses {
                return Err(addresses.expect_err("matched as an error"));
            }
            targets.push(ResolvedTarget {
                target: target.clone(),
                addresses,
            });
        }
        if !plan.had_srv
            && let Some(ResolvedTarget {
                addresses: Err(DiscoveryError::NxDomain(_)),
                ..
            }) = targets.first()
        {
            return Err(DiscoveryError::NxDomain(domain));
        }
        Ok(Discovery {
            plan,
            targets,
            notes,
        })
    }

    /// Runs a lookup with the timeout as an outer bound too (UDP then TCP may each take
    /// the resolver's own timeout).
    async fn bounded<T>(
        &self,
        name: &str,
        lookup: impl Future<Output = Result<T, NetError>>,
    ) -> Result<T, NetError> {
        match tokio::time::timeout(self.timeout * 2, lookup).await {
            Ok(result) => result,
            Err(_) => {
                tracing::debug!(%name, "DNS lookup hit the outer timeout");
                Err(NetError::Timeout)
            }
        }
    }

    fn classify(&self, name: &str, error: NetError) -> DiscoveryError {
        let timed_out = matches!(error, NetError::Timeout)
            || matches!(&error, NetError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
            || error.to_string().contains("timed out");
        if timed_out {
            DiscoveryError::Timeout {
                server: self.servers.clone(),
                timeout: self.timeout,
                name: name.trim_end_matches('.').to_owned(),
            }
        } else if error.is_nx_domain() {
            DiscoveryError::NxDomain(name.trim_end_matches('.').to_owned())
        } else {
            DiscoveryError::Lookup {
                name: name.trim_end_matches('.').to_owned(),
                source: error,
            }
        }
    }
}

/// "127.0.0.1:5353" or "10.0.0.1:53, 10.0.0.2:53".
fn describe_servers(config: &ResolverConfig) -> String {
    let servers: Vec<String> = config
        .name_servers()
        .iter()
        .map(|ns| {
            let port = ns.connections.first().map_or(53, |c| c.port);
            SocketAddr::new(ns.ip, port).to_string()
        })
        .collect();
    if servers.is_empty() {
        "(none configured)".to_owned()
    } else {
        servers.join(", ")
    }
}
