//! The node under test: one the loadtest starts itself (this same `plenum` binary,
//! `serve` on loopback with a throwaway config and data dir, optionally pinned to its
//! own CPU) or one already running at a URL. Reads its CPU time and memory from /proc
//! and its counters from `/metrics`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// Rooms `load.small.1` … of the node the loadtest starts, for many small meetings.
pub const SMALL_ROOMS: usize = 64;

/// The rooms of the node the loadtest starts: one per big-meeting scenario and
/// [`SMALL_ROOMS`] small ones.
pub fn services() -> String {
    let mut services = BIG_ROOMS.to_owned();
    for n in 1..=SMALL_ROOMS {
        services.push_str(&format!(
            "\n[[service]]\nname = \"load.small.{n}\"\ntype = \"vmr\"\naliases = [\"load.small.{n}\"]\ndefault_layout = \"ac\"\n"
        ));
    }
    services
}

const BIG_ROOMS: &str = r#"
[[service]]
name = "load.personal"
type = "vmr"
aliases = ["load.personal"]
default_layout = "ac"

[[service]]
name = "load.shared"
type = "vmr"
aliases = ["load.shared"]
default_layout = "1:0"

[[service]]
name = "load.present"
type = "vmr"
aliases = ["load.present"]
default_layout = "1:0"

[[service]]
name = "load.audio"
type = "vmr"
aliases = ["load.audio"]
default_layout = "1:0"
"#;

/// A node being measured.
#[derive(Debug)]
pub struct Node {
    /// `https://host:port`.
    pub base: String,
    /// Its process, when this machine runs it (for CPU and memory).
    pub pid: Option<u32>,
    child: Option<Child>,
    /// Keeps the throwaway config and data dir alive.
    _dir: Option<tempfile::TempDir>,
    http: reqwest::Client,
}

fn free_tcp_port() -> anyhow::Result<u16> {
    Ok(
        TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port(),
    )
}

impl Node {
    /// Starts `binary serve` on a free loopback port with [`SERVICES`], metrics on
    /// without auth, and SQLite in a temporary dir; `cpu` pins it to that CPU (with
    /// `taskset`). Waits for `/health`.
    ///
    /// Unless `admission`, the node's capacity is set out of reach
    /// (`capacity_hd_calls = 100000`) so that the loadtest measures how far it really
    /// goes instead of where its admission control stops it.
    pub async fn start(binary: &Path, cpu: Option<usize>, admission: bool) -> anyhow::Result<Node> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("config");
        std::fs::create_dir_all(&config)?;
        let port = free_tcp_port()?;
        let media_base = 20_000 + (port % 20) * 1000;
        std::fs::write(
            config.join("plenum.toml"),
            format!(
                "[node]\nlisten = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\n\
                 media_port_range = [{media_base}, {}]\nmetrics_auth = \"none\"\n{}\n\
                 [switches]\nmetrics_enabled = true\nh264_enabled = false\n",
                dir.path().join("data").display(),
                media_base + 999,
                if admission {
                    ""
                } else {
                    "capacity_hd_calls = 100000\n"
                },
            ),
        )?;
        std::fs::write(config.join("services.toml"), services())?;
        let log = std::fs::File::create(dir.path().join("node.log"))?;
        let mut command = match cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu.to_string()).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        command
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("PLENUM_LOG", "warn,rtc=error,webrtc=error")
            .env_remove("PLENUM_LISTEN")
            .env_remove("PLENUM_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let pid = child.id();
        let http = crate::api::http_client(None)?;
        let mut node = Node {
            base: format!("https://127.0.0.1:{port}"),
            pid: Some(pid),
            child: Some(child),
            _dir: Some(dir),
            http,
        };
        node.wait_healthy().await?;
        // `taskset` execs the node, so the pid is the node's.
        Ok(node)
    }

    /// A node already running at `base`; `pid` when it runs on this machine.
    pub fn attach(base: String, pid: Option<u32>) -> anyhow::Result<Node> {
        Ok(Node {
            base: base.trim_end_matches('/').to_owned(),
            pid,
            child: None,
            _dir: None,
            http: crate::api::http_client(None)?,
        })
    }

    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                let log = self
                    ._dir
                    .as_ref()
                    .map(|d| std::fs::read_to_string(d.path().join("node.log")).unwrap_or_default())
                    .unwrap_or_default();
                bail!("the node exited ({status}) before it was ready:\n{log}");
            }
            if let Ok(response) = self.http.get(format!("{}/health", self.base)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the node at {} was not healthy within 60 s", self.base);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The node's CPU time so far, when it runs here.
    pub fn cpu_time(&self) -> Option<Duration> {
        self.pid.and_then(|pid| crate::proc::cpu_time(pid).ok())
    }

    /// The node's threads and their CPU time so far (empty when it runs elsewhere).
    pub fn threads(&self) -> std::collections::HashMap<u32, (String, Duration)> {
        self.pid.map(crate::proc::thread_times).unwrap_or_default()
    }

    /// The node's resident memory now and at its peak, bytes, when it runs here.
    pub fn memory(&self) -> Option<(u64, u64)> {
        self.pid.and_then(|pid| crate::proc::memory(pid).ok())
    }

    /// The node's `/metrics`, each sample by its name with labels
    /// (`plenum_media_frames_sent_total{kind="video"}`).
    pub async fn metrics(&self) -> anyhow::Result<Metrics> {
        let response = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!(
                "GET /metrics answered {} (switch metrics_enabled on, metrics_auth = \"none\")",
                response.status()
            );
        }
        Ok(Metrics::parse(&response.text().await?))
    }

    /// Stops the node it started (SIGTERM via `kill`, then waits).
    pub async fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Samples of one `/metrics` scrape.
#[derive(Debug, Clone, Default)]
pub struct Metrics(HashMap<String, f64>);

impl Metrics {
    /// Reads the Prometheus text format: `name{labels} value` lines; comments skipped.
    pub fn parse(text: &str) -> Metrics {
        let mut samples = HashMap::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if let Some((name, value)) = line.rsplit_once(' ')
                && let Ok(value) = value.parse::<f64>()
            {
                samples.insert(name.to_owned(), value);
            }
        }
        Metrics(samples)
    }

    /// One sample, 0 when absent.
    pub fn get(&self, name: &str) -> f64 {
        self.0.get(name).copied().unwrap_or(0.0)
    }

    /// `self - earlier` for one sample.
    pub fn delta(&self, earlier: &Metrics, name: &str) -> f64 {
        self.get(name) - earlier.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_lines_are_read_by_name_and_labels() {
        let m = Metrics::parse(
            "# HELP x y\n# TYPE plenum_media_frames_sent counter\n\
             plenum_media_frames_sent_total{kind=\"video\"} 1234\n\
             plenum_media_ticks_over_budget_total 5\n\nbad line\n",
        );
        assert_eq!(
            m.get("plenum_media_frames_sent_total{kind=\"video\"}"),
            1234.0
        );
        assert_eq!(m.get("plenum_media_ticks_over_budget_total"), 5.0);
        assert_eq!(m.get("absent"), 0.0);
    }
}
