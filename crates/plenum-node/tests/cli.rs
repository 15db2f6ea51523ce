//! The `plenum` binary as an admin uses it: check-config, hash-password, --version, and
//! serve (refusing bad config before binding, serving /health, stopping on SIGTERM).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn plenum() -> Command {
    Command::new(env!("CARGO_BIN_EXE_plenum"))
}

fn shipped_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

/// A copy of the shipped config in a temp dir, with `services.toml` replaced if given.
fn config_copy(services: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for file in ["plenum.toml", "services.toml"] {
        std::fs::copy(shipped_config().join(file), dir.path().join(file)).expect("copy");
    }
    // the room theme the shipped services.toml names (meet.pin)
    let themes = dir.path().join("themes/example");
    std::fs::create_dir_all(&themes).expect("mkdir");
    for entry in std::fs::read_dir(shipped_config().join("themes/example")).expect("themes") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), themes.join(entry.file_name())).expect("copy theme");
    }
    if let Some(services) = services {
        std::fs::write(dir.path().join("services.toml"), services).expect("write");
    }
    dir
}

#[test]
fn version_prints_the_crate_version() {
    let out = plenum().arg("--version").output().expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn check_config_accepts_the_shipped_config() {
    let out = plenum()
        .args(["check-config", "--config"])
        .arg(shipped_config())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("meet.open"), "{stdout}");
    assert!(
        !stdout.contains("1234"),
        "a PIN leaked into the summary:\n{stdout}"
    );
}

#[test]
fn check_config_rejects_a_broken_config_with_file_line_and_exit_64() {
    let dir = config_copy(Some(
        "[[service]]\nname = \"a\"\ntype = \"vmr\"\naliases = [\"x\"]\nhost_pin = \"12\"\n",
    ));
    let out = plenum()
        .args(["check-config", "--config"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("services.toml:5:"), "{stderr}");
    assert!(!stderr.contains("\"12\""), "the PIN leaked:\n{stderr}");
}

#[test]
fn serve_refuses_a_broken_config_before_binding_anything() {
    let dir = config_copy(Some("[[service]\nname = \n"));
    let data = tempfile::tempdir().expect("temp dir");
    let out = plenum()
        .args(["serve", "--config"])
        .arg(dir.path())
        .env("PLENUM_LISTEN", "127.0.0.1:0")
        .env("PLENUM_DATA_DIR", data.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("services.toml:1:"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(data.path()).expect("read").count(),
        0,
        "nothing may be created"
    );
}

#[test]
fn hash_password_prints_an_argon2id_hash_that_verifies() {
    let mut child = plenum()
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"s3cret\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let phc = String::from_utf8(out.stdout).expect("utf-8");
    assert!(phc.starts_with("$argon2id$"), "{phc}");
    assert!(plenum_node::password::verify_password(phc.trim(), "s3cret"));
    assert!(!plenum_node::password::verify_password(phc.trim(), "wrong"));
}

/// A `plenum serve` child process and its log.
struct Served {
    child: std::process::Child,
    lines: std::io::Lines<BufReader<std::process::ChildStderr>>,
    log: String,
    address: String,
}

impl Served {
    fn start(config: &Path, data: &Path) -> Served {
        let mut child = plenum()
            .args(["serve", "--config"])
            .arg(config)
            .env("PLENUM_LISTEN", "127.0.0.1:0")
            .env("PLENUM_DATA_DIR", data)
            .env("PLENUM_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .expect("run");
        let lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut served = Served {
            child,
            lines,
            log: String::new(),
            address: String::new(),
        };
        let line = served.read_until("listening on https://");
        served.address = line
            .split("listening on https://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("address")
            .to_owned();
        served
    }

    /// Reads log lines until one contains `needle`, and returns it.
    fn read_until(&mut self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .next()
                .unwrap_or_else(|| {
                    panic!("the node ended before logging {needle:?}:\n{}", self.log)
                })
                .expect("read");
            self.log.push_str(&line);
            self.log.push('\n');
            if line.contains(needle) {
                return line;
            }
        }
    }

    fn health(&self) -> u16 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let client = reqwest::Client::builder()
                .danger_accept_invalid_certs(true)
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client");
            let url = format!("https://{}/health", self.address);
            client
                .get(url)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        })
    }

    fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args([name, &pid])
                .status()
                .expect("kill")
                .success()
        );
    }

    /// Sends SIGTERM and returns whether the node exited successfully, with its log.
    fn terminate(mut self) -> (bool, String) {
        self.signal("-TERM");
        let exit = self.child.wait().expect("wait");
        for line in self.lines.map_while(Result::ok) {
            self.log.push_str(&line);
            self.log.push('\n');
        }
        (exit.success(), self.log)
    }
}

#[test]
fn serve_answers_health_and_stops_cleanly_on_sigterm() {
    let data = tempfile::tempdir().expect("temp dir");
    let served = Served::start(&shipped_config(), data.path());
    assert!(served.log.contains("fingerprint"), "{}", served.log);
    assert!(
        data.path().join("tls").exists(),
        "self-signed certificate is kept in the data dir"
    );
    assert_eq!(served.health(), 200);
    let (success, log) = served.terminate();
    assert!(success, "{log}");
    assert!(log.contains("SIGTERM received"), "{log}");
}

#[test]
fn sighup_reloads_a_valid_config_and_refuses_a_broken_one() {
    let config = config_copy(None);
    let data = tempfile::tempdir().expect("temp dir");
    let mut served = Served::start(config.path(), data.path());
    let services = config.path().join("services.toml");
    let original = std::fs::read_to_string(&services).expect("read");

    std::fs::write(
        &services,
        format!("{original}\n[[service]]\nname = \"broken\"\n"),
    )
    .expect("write");
    served.signal("-HUP");
    let refused = served.read_until("reload refused");
    assert!(refused.contains("running configuration stays"), "{refused}");
    assert_eq!(
        served.health(),
        200,
        "the node keeps running on the old configuration"
    );

    let added = format!(
        "{original}\n[[service]]\nname = \"meet.new\"\ntype = \"vmr\"\naliases = [\"meet.new\"]\n"
    );
    std::fs::write(&services, added).expect("write");
    served.signal("-HUP");
    served.read_until("meet.new\" added");
    served.read_until("configuration reloaded");
    let (success, log) = served.terminate();
    assert!(success, "{log}");
}
