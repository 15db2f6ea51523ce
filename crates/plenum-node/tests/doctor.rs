//! `plenum doctor` as an admin runs it, against a real `plenum serve` on loopback: every
//! check printed and exit 0 while the node runs; exit 1 saying the node is not reachable
//! once it is stopped; `--json`; `--domain` against a real dnsmasq serving the node's
//! `_pexapp._tcp` record; and `node.stun` against a real STUN server (coturn).

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn plenum() -> Command {
    Command::new(env!("CARGO_BIN_EXE_plenum"))
}

fn shipped_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

/// A `plenum serve` child on 127.0.0.1:<free port>, stopped on drop.
struct Served {
    child: Child,
    address: String,
}

impl Served {
    fn start(data: &Path) -> Served {
        Served::start_with(&shipped_config(), data)
    }

    fn start_with(config: &Path, data: &Path) -> Served {
        let mut child = plenum()
            .args(["serve", "--config"])
            .arg(config)
            .env("PLENUM_LISTEN", "127.0.0.1:0")
            .env("PLENUM_DATA_DIR", data)
            .env("PLENUM_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .expect("run plenum serve");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut log = String::new();
        let address = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("the node ended before listening:\n{log}"))
                .expect("read");
            log.push_str(&line);
            log.push('\n');
            if let Some(rest) = line.split("listening on https://").nth(1) {
                break rest.split_whitespace().next().expect("address").to_owned();
            }
        };
        // Keep draining the log so the node never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        Served { child, address }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop();
    }
}

fn doctor(data: &Path, listen: &str, args: &[&str]) -> (Output, String) {
    doctor_with(&shipped_config(), data, listen, args)
}

fn doctor_with(config: &Path, data: &Path, listen: &str, args: &[&str]) -> (Output, String) {
    let output = plenum()
        .arg("doctor")
        .arg("--config")
        .arg(config)
        .args(args)
        .env("PLENUM_LISTEN", listen)
        .env("PLENUM_DATA_DIR", data)
        .output()
        .expect("run plenum doctor");
    let stdout = String::from_utf8(output.stdout.clone()).expect("utf-8");
    (output, stdout)
}

#[test]
fn doctor_against_the_running_node_prints_every_check_and_exits_0() {
    let data = tempfile::tempdir().expect("tempdir");
    let served = Served::start(data.path());
    let url = format!("https://{}", served.address);

    for args in [vec![url.as_str()], vec![]] {
        // with the URL, and with the default taken from node.listen
        let (output, stdout) = doctor(data.path(), &served.address, &args);
        assert!(output.status.success(), "args {args:?}:\n{stdout}");
        for line in [
            "✓ configuration: ".to_owned(),
            format!("✓ TCP {}: connects", served.address),
            "✓ TLS 127.0.0.1: handshake".to_owned(),
            "✓ certificate names for 127.0.0.1: cover 127.0.0.1".to_owned(),
            "✓ certificate expiry: ".to_owned(),
            "! certificate chain: self-signed — browsers and clients will warn; use a certificate from a CA".to_owned(),
            format!("✓ GET https://{}/health: 200 OK", served.address),
            format!(
                "✓ POST https://{}/api/client/v2/conferences/plenum-doctor-probe/request_token: answers 404",
                served.address
            ),
            format!("✓ a client trying in order: reaches the node at {}", served.address),
            "media ports 40000-49999/udp on 127.0.0.1: ".to_owned(),
            "! public address for media: node.listen is 127.0.0.1 (loopback)".to_owned(),
            "– STUN: no node.stun servers configured".to_owned(),
            "✓ a client could join".to_owned(),
        ] {
            assert!(stdout.contains(&line), "missing {line:?} in:\n{stdout}");
        }
        assert!(!stdout.contains('✗'), "{stdout}");
    }

    let (output, stdout) = doctor(data.path(), &served.address, &["--json", &url]);
    assert!(output.status.success(), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("--json prints JSON");
    assert_eq!(json["client_could_join"], true, "{json}");
    let checks = json["checks"].as_array().expect("checks");
    let health = checks
        .iter()
        .find(|c| c["kind"] == "health")
        .expect("a health check");
    assert_eq!(health["status"], "pass");
    assert!(checks.iter().all(|c| c["status"] != "fail"), "{json}");
}

#[test]
fn doctor_against_a_stopped_node_says_it_is_not_reachable_and_exits_1() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut served = Served::start(data.path());
    let address = served.address.clone();
    served.stop();

    let (output, stdout) = doctor(data.path(), &address, &[&format!("https://{address}")]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("✗ TCP {address}: the node is not reachable")),
        "{stdout}"
    );
    assert!(
        stdout.contains("    fix: start the node (`plenum serve`)"),
        "{stdout}"
    );
    assert!(stdout.contains("✗ a client could not join"), "{stdout}");

    let (output, stdout) = doctor(data.path(), &address, &["--json"]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(json["client_could_join"], false);
}

// === --domain against a real DNS server ===

const DNSMASQ: &str = "/usr/sbin/dnsmasq";

/// A dnsmasq on 127.0.0.1:<free port>, killed on drop.
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

fn start_dnsmasq(zone: &[String]) -> Option<Dnsmasq> {
    if !Path::new(DNSMASQ).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{DNSMASQ} is missing: install dnsmasq-base"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "SKIPPED: {DNSMASQ} is missing, `plenum doctor --domain` was not tested; install dnsmasq-base"
            );
        }
        return None;
    }
    let port = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = udp.local_addr().expect("addr").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            break port;
        }
    };
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
            "--local=/test/",
        ])
        .arg(format!("--port={port}"))
        .args(zone)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dnsmasq");
    let dns = Dnsmasq {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
    };
    // Wait until it answers a query (for "test." SOA; any answer will do).
    let query = [
        0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 4, b't', b'e', b's', b't', 0, 0, 6, 0, 1,
    ];
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        let _ = socket.send_to(&query, dns.addr);
        if socket.recv_from(&mut buf).is_ok() {
            return Some(dns);
        }
    }
    panic!("dnsmasq did not answer on {} within 10 s", dns.addr);
}

#[test]
fn doctor_follows_the_domain_srv_record_to_the_node() {
    let data = tempfile::tempdir().expect("tempdir");
    let served = Served::start(data.path());
    let port = served.address.rsplit_once(':').expect("port").1.to_owned();
    // The target is "localhost", a name the node's self-signed certificate covers.
    let Some(dns) = start_dnsmasq(&[
        format!("--srv-host=_pexapp._tcp.doctor.test,localhost,{port},10,10"),
        // ::1 too, where the node does not listen: clients fall back to 127.0.0.1
        "--host-record=localhost,127.0.0.1,::1".to_owned(),
        "--srv-host=_pexapp._tcp.off.test".to_owned(),
    ]) else {
        return;
    };
    let dns_arg = dns.addr.to_string();

    let (output, stdout) = doctor(
        data.path(),
        &served.address,
        &["--dns", &dns_arg, "--domain", "doctor.test"],
    );
    assert!(output.status.success(), "{stdout}");
    for line in [
        format!(
            "✓ SRV _pexapp._tcp.doctor.test: clients try localhost:{port} (priority 10, weight 10)"
        ),
        "✓ A/AAAA localhost: 127.0.0.1, ::1".to_owned(),
        format!("! TCP [::1]:{port}: the node is not reachable"),
        format!("✓ TCP 127.0.0.1:{port}: connects"),
        "✓ certificate names for localhost: cover localhost".to_owned(),
        "! certificate names for doctor.test: do not cover doctor.test".to_owned(),
        format!("✓ GET https://localhost:{port}/health: 200 OK"),
        // the domain's own address is only the fallback, and there is none
        "– A/AAAA doctor.test: ".to_owned(),
    ] {
        assert!(stdout.contains(&line), "missing {line:?} in:\n{stdout}");
    }

    let (output, stdout) = doctor(
        data.path(),
        &served.address,
        &["--dns", &dns_arg, "--domain", "off.test"],
    );
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("✗ SRV _pexapp._tcp.off.test: service not offered (target '.')"),
        "{stdout}"
    );

    let (output, stdout) = doctor(
        data.path(),
        &served.address,
        &["--dns", &dns_arg, "--domain", "missing.test"],
    );
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("✗ SRV _pexapp._tcp.missing.test: domain missing.test does not exist"),
        "{stdout}"
    );
}

// === node.stun against a real STUN server ===

const TURNSERVER: &str = "/usr/bin/turnserver";

/// A coturn `turnserver` answering STUN only on 127.0.0.1:<port>, killed on drop.
struct Stun {
    child: Child,
    port: u16,
}

impl Drop for Stun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn start_stun() -> Option<Stun> {
    if !Path::new(TURNSERVER).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{TURNSERVER} is missing: install coturn"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "SKIPPED: {TURNSERVER} is missing, the STUN check was not tested; install coturn"
            );
        }
        return None;
    }
    let port = free_udp_port();
    let child = Command::new(TURNSERVER)
        .args([
            "-n",
            "--stun-only",
            "--no-auth",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--listening-ip=127.0.0.1",
            "--log-file=stdout",
        ])
        .arg(format!("--listening-port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start turnserver");
    let stun = Stun { child, port };
    // Wait until it answers a binding request.
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut request = vec![0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42];
    request.extend_from_slice(&[9; 12]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        let _ = socket.send_to(&request, ("127.0.0.1", port));
        if socket.recv_from(&mut buf).is_ok() {
            return Some(stun);
        }
    }
    panic!("turnserver did not answer STUN on 127.0.0.1:{port} within 10 s");
}

/// A copy of the shipped config with `plenum.toml` edited: each `(from, to)` replaced.
fn config_edited(edits: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let shipped = shipped_config();
    let mut toml = std::fs::read_to_string(shipped.join("plenum.toml")).expect("read");
    for (from, to) in edits {
        assert!(
            toml.contains(from),
            "the shipped plenum.toml has no {from:?}"
        );
        toml = toml.replace(from, to);
    }
    std::fs::write(dir.path().join("plenum.toml"), toml).expect("write");
    std::fs::copy(
        shipped.join("services.toml"),
        dir.path().join("services.toml"),
    )
    .expect("copy");
    let themes = dir.path().join("themes/example");
    std::fs::create_dir_all(&themes).expect("mkdir");
    for entry in std::fs::read_dir(shipped.join("themes/example")).expect("themes") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), themes.join(entry.file_name())).expect("copy theme");
    }
    dir
}

/// A copy of the shipped config with `node.stun` set.
fn config_with_stun(stun: &[String]) -> tempfile::TempDir {
    let list: Vec<String> = stun.iter().map(|s| format!("{s:?}")).collect();
    config_edited(&[(
        "# stun = [\"stun:stun.example.com:3478\"]",
        &format!("stun = [{}]", list.join(", ")),
    )])
}

#[test]
fn doctor_sends_a_real_stun_binding_request_to_each_stun_server() {
    let Some(stun) = start_stun() else { return };
    let data = tempfile::tempdir().expect("tempdir");
    let served = Served::start(data.path());
    let url = format!("https://{}", served.address);

    let working = format!("stun:127.0.0.1:{}", stun.port);
    let config = config_with_stun(std::slice::from_ref(&working));
    let (output, stdout) = doctor_with(config.path(), data.path(), &served.address, &[&url]);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "✓ STUN {working}: answers; this machine is seen as 127.0.0.1:"
        )),
        "{stdout}"
    );

    // a port where nothing answers
    let silent = format!("stun:127.0.0.1:{}", free_udp_port());
    let config = config_with_stun(&[working.clone(), silent.clone()]);
    let (output, stdout) = doctor_with(config.path(), data.path(), &served.address, &[&url]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("✗ STUN {silent}: 127.0.0.1:")),
        "{stdout}"
    );
    assert!(
        stdout.contains("did not answer a STUN binding request"),
        "{stdout}"
    );
    assert!(
        stdout.contains("    fix: fix or remove the node.stun entry"),
        "{stdout}"
    );
}

#[test]
fn doctor_says_a_node_in_maintenance_stops_clients() {
    let config = config_edited(&[("maintenance_mode = false", "maintenance_mode = true")]);
    let data = tempfile::tempdir().expect("tempdir");
    let served = Served::start_with(config.path(), data.path());
    let url = format!("https://{}", served.address);
    let (output, stdout) = doctor_with(config.path(), data.path(), &served.address, &[&url]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "✗ POST https://{}/api/client/v2/conferences/plenum-doctor-probe/request_token: System in maintenance mode (#pex110)",
            served.address
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "✗ a client trying in order: stops at {}: System in maintenance mode (#pex110); clients try no other node after it",
            served.address
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("    fix: turn [switches] maintenance_mode off"),
        "{stdout}"
    );
}
