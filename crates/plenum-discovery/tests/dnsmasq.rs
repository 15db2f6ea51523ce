//! Discovery against a real DNS server on loopback: a `dnsmasq` the test starts on a free
//! port with the zone given as `--srv-host`/`--host-record` options, plus a UDP/TCP
//! socket that never answers for the timeout case.

use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use plenum_discovery::{DiscoveryError, DnsConfig, Origin, Resolver, SrvLookup, SrvRecord};

const DNSMASQ: &str = "/usr/sbin/dnsmasq";

/// A running dnsmasq, killed on drop.
struct Dnsmasq {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether dnsmasq can be used; without it the test fails under CI and is skipped loudly
/// elsewhere.
fn dnsmasq_available() -> bool {
    if Path::new(DNSMASQ).exists() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{DNSMASQ} is missing: install dnsmasq-base (scripts/setup.sh lists it in PLENUM_TEST_PACKAGES)"
    );
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "SKIPPED: {DNSMASQ} is missing, the DNS discovery tests did not run; install dnsmasq-base"
        );
    }
    false
}

/// A port free for both UDP and TCP on 127.0.0.1 (at the time of asking).
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = udp.local_addr().expect("addr").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A loopback port bound for UDP and TCP at once, both sockets kept (and never served).
fn silent_port() -> (UdpSocket, TcpListener, u16) {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = udp.local_addr().expect("addr").port();
        if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)) {
            return (udp, tcp, port);
        }
    }
}

/// The zone every test uses.
const ZONE: &[&str] = &[
    // several targets: priority 10 (weights 10, 30) and priority 20 (weight 0)
    "--srv-host=_pexapp._tcp.multi.test,a.multi.test,443,10,10",
    "--srv-host=_pexapp._tcp.multi.test,b.multi.test,8443,10,30",
    "--srv-host=_pexapp._tcp.multi.test,backup.multi.test,443,20,0",
    "--host-record=a.multi.test,192.0.2.1",
    "--host-record=b.multi.test,192.0.2.2,2001:db8::2",
    "--host-record=backup.multi.test,192.0.2.3",
    "--host-record=multi.test,192.0.2.10",
    // the service is decidedly not offered: a single SRV record with target '.'
    "--srv-host=_pexapp._tcp.dot.test",
    "--host-record=dot.test,192.0.2.20",
    // no SRV record, only the domain's own address
    "--host-record=nosrv.test,192.0.2.30,2001:db8::30",
    // an IPv6-only target
    "--srv-host=_pexapp._tcp.v6.test,node.v6.test,443,0,0",
    "--host-record=node.v6.test,2001:db8::6",
    // everything else under .test is answered locally: unknown names are NXDOMAIN
    "--local=/test/",
];

fn start_dnsmasq() -> Option<Dnsmasq> {
    if !dnsmasq_available() {
        return None;
    }
    // The port is free when picked but not held: if a test beside this one takes it
    // first, dnsmasq exits at once and is started again on another port.
    for _ in 0..5 {
        let port = free_port();
        let child = Command::new(DNSMASQ)
            .args([
                "--no-daemon",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
                "--conf-file=/dev/null",
                "--pid-file",
                "--log-facility=-",
            ])
            .arg(format!("--port={port}"))
            .args(ZONE)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dnsmasq");
        let mut dns = Dnsmasq {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        if wait_until_answering(&mut dns) {
            return Some(dns);
        }
    }
    panic!("dnsmasq exited at start five times (each on a fresh free port)");
}

/// Polls with a raw DNS query until dnsmasq answers (it binds a moment after starting).
/// False when dnsmasq exited instead (its port was taken).
fn wait_until_answering(dns: &mut Dnsmasq) -> bool {
    let addr = dns.addr;
    // A query for multi.test A, id 0x1234, recursion desired.
    let mut query = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ["multi", "test"] {
        query.push(u8::try_from(label.len()).expect("short label"));
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, 1, 0, 1]);
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        if matches!(dns.child.try_wait(), Ok(Some(_))) {
            return false;
        }
        let _ = socket.send_to(&query, addr);
        if let Ok((n, _)) = socket.recv_from(&mut buf)
            && n >= 2
            && buf[..2] == [0x12, 0x34]
        {
            return true;
        }
    }
    panic!("dnsmasq did not answer on {addr} within 10 s");
}

fn resolver(addr: SocketAddr, timeout: Duration) -> Resolver {
    Resolver::new(&DnsConfig {
        nameserver: Some(addr),
        timeout,
    })
    .expect("resolver")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

#[tokio::test]
async fn several_targets_come_in_rfc_2782_order_for_given_draws() {
    let Some(dns) = start_dnsmasq() else { return };
    let resolver = resolver(dns.addr, Duration::from_secs(5));

    let SrvLookup::Records(mut records) = resolver.srv("multi.test").await.expect("srv") else {
        panic!("multi.test has SRV records");
    };
    records.sort_by(|a, b| a.target.cmp(&b.target));
    assert_eq!(
        records,
        [
            SrvRecord::new(10, 10, 443, "a.multi.test"),
            SrvRecord::new(10, 30, 8443, "b.multi.test"),
            SrvRecord::new(20, 0, 443, "backup.multi.test"),
        ]
    );

    // Priority 10 holds a (10) and b (30): running sums 10, 40. A draw of 10 picks a,
    // a draw of 11 picks b.
    for (draw, expected) in [
        (10, ["a.multi.test:443", "b.multi.test:8443"]),
        (11, ["b.multi.test:8443", "a.multi.test:443"]),
    ] {
        let mut sums = Vec::new();
        let discovery = resolver
            .discover("multi.test", |sum| {
                sums.push(sum);
                draw
            })
            .await
            .expect("discover");
        let order: Vec<String> = discovery
            .targets
            .iter()
            .map(|t| t.target.to_string())
            .collect();
        assert_eq!(
            order,
            [
                expected[0],
                expected[1],
                "backup.multi.test:443",
                "multi.test:443"
            ],
            "draw {draw}"
        );
        assert_eq!(sums, [40], "one draw for the two records of priority 10");
        assert!(discovery.notes.is_empty(), "{:?}", discovery.notes);
        assert_eq!(discovery.targets[3].target.origin, Origin::Fallback);
        let addresses = |host: &str| {
            discovery
                .targets
                .iter()
                .find(|t| t.target.host == host)
                .and_then(|t| t.addresses.as_ref().ok().cloned())
                .expect("resolved")
        };
        assert_eq!(addresses("a.multi.test"), [ip("192.0.2.1")]);
        assert_eq!(
            addresses("b.multi.test"),
            [ip("192.0.2.2"), ip("2001:db8::2")]
        );
        assert_eq!(addresses("backup.multi.test"), [ip("192.0.2.3")]);
        assert_eq!(addresses("multi.test"), [ip("192.0.2.10")]);
    }
}

#[tokio::test]
async fn a_dot_target_says_the_service_is_not_offered() {
    let Some(dns) = start_dnsmasq() else { return };
    let resolver = resolver(dns.addr, Duration::from_secs(5));
    let error = resolver
        .discover("dot.test", |_| 0)
        .await
        .expect_err("not offered");
    assert!(
        matches!(error, DiscoveryError::NotOffered(ref d) if d == "dot.test"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("service not offered (target '.')"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unknown_domain_is_nxdomain() {
    let Some(dns) = start_dnsmasq() else { return };
    let resolver = resolver(dns.addr, Duration::from_secs(5));
    assert_eq!(
        resolver.srv("nx.test").await.expect("srv"),
        SrvLookup::NoRecords
    );
    let error = resolver
        .discover("nx.test", |_| 0)
        .await
        .expect_err("nxdomain");
    assert!(
        matches!(error, DiscoveryError::NxDomain(ref d) if d == "nx.test"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("domain nx.test does not exist"),
        "{error}"
    );
}

#[tokio::test]
async fn no_srv_record_falls_back_to_the_domain_on_443() {
    let Some(dns) = start_dnsmasq() else { return };
    let resolver = resolver(dns.addr, Duration::from_secs(5));
    let discovery = resolver
        .discover("nosrv.test", |_| unreachable!("nothing to draw"))
        .await
        .expect("discover");
    assert!(!discovery.plan.had_srv);
    assert_eq!(
        discovery.notes,
        ["no _pexapp._tcp record for nosrv.test; falling back to nosrv.test:443"]
    );
    assert_eq!(discovery.targets.len(), 1);
    assert_eq!(
        discovery.targets[0].socket_addrs(),
        [
            SocketAddr::new(ip("192.0.2.30"), 443),
            SocketAddr::new(ip("2001:db8::30"), 443)
        ]
    );
}

#[tokio::test]
async fn an_ipv6_only_target_resolves_to_its_aaaa() {
    let Some(dns) = start_dnsmasq() else { return };
    let resolver = resolver(dns.addr, Duration::from_secs(5));
    let discovery = resolver.discover("v6.test", |_| 0).await.expect("discover");
    let node = &discovery.targets[0];
    assert_eq!(node.target.to_string(), "node.v6.test:443");
    assert_eq!(
        node.socket_addrs(),
        [SocketAddr::new(ip("2001:db8::6"), 443)]
    );
    // the fallback v6.test itself has no address record at all
    assert_eq!(discovery.targets[1].target.origin, Origin::Fallback);
    assert!(
        discovery.targets[1].addresses.is_err(),
        "{:?}",
        discovery.targets[1]
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_with_its_address() {
    // Bound but never read: queries go nowhere (UDP), connections are never served (TCP).
    // Both sockets are held from the moment the port is picked, so a test running beside
    // this one cannot take the port in between.
    let (_udp, _tcp, port) = silent_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let resolver = resolver(addr, Duration::from_millis(300));
    let error = resolver
        .discover("multi.test", |_| 0)
        .await
        .expect_err("timeout");
    assert!(matches!(error, DiscoveryError::Timeout { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "the DNS server at {addr} did not answer within 300ms while looking up \
             _pexapp._tcp.multi.test: check that it runs and is reachable"
        )
    );
}
