//! A whole node on 127.0.0.1:0 with the shipped config, a temp data dir, and a client
//! that trusts only the node's own certificate.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::Duration;

use plenum_core::{CallType, PinInput, Protocol};
use plenum_node::config;
use plenum_node::node::{JoinAttempt, Joined, Node};
use plenum_node::run;
use tokio::sync::oneshot;

/// The shipped configuration directory.
pub fn shipped_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// A running node and a client for it; stops on `stop` (or when dropped, abruptly).
pub struct TestNode {
    pub node: Arc<Node>,
    pub base: String,
    pub redirect_base: Option<String>,
    pub client: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<anyhow::Result<()>>,
}

fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl TestNode {
    /// Starts a node on the shipped config with its data in a fresh temp dir.
    pub async fn start() -> TestNode {
        TestNode::start_with(|_| {}).await
    }

    /// Starts a node, letting `adjust` change the loaded config first.
    pub async fn start_with(adjust: impl FnOnce(&mut config::Config)) -> TestNode {
        let data_dir = tempfile::tempdir().expect("temp dir");
        TestNode::start_in(data_dir, adjust).await
    }

    /// Starts a node whose data lives in `data_dir` (to test restarts).
    pub async fn start_in(
        data_dir: tempfile::TempDir,
        adjust: impl FnOnce(&mut config::Config),
    ) -> TestNode {
        install_crypto_provider();
        let env = test_env(data_dir.path());
        let mut config = config::load(&shipped_config(), &env).expect("shipped config loads");
        adjust(&mut config);
        let running = run::start(config).await.expect("node starts");
        let cert = reqwest::Certificate::from_der(&running.certificate).expect("certificate");
        let client = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(cert)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let base = format!("https://127.0.0.1:{}", running.https_addr.port());
        let redirect_base = running
            .redirect_addr
            .map(|a| format!("http://127.0.0.1:{}", a.port()));
        let node = running.node.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(running.serve(async move {
            let _ = stopped.await;
        }));
        TestNode {
            node,
            base,
            redirect_base,
            client,
            data_dir,
            stop: Some(stop),
            served,
        }
    }

    /// Shuts the node down gracefully and hands back its data dir.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.served)
            .await
            .expect("serve task")
            .expect("serve ends cleanly");
        self.data_dir
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GET on the admin status API as the shipped admin user.
    pub async fn admin_get(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self
            .client
            .get(self.url(&format!("/api/admin/status/v1/{path}")))
            .basic_auth("admin", Some("plenum-admin"))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// POST on the admin status API as the shipped admin user.
    pub async fn admin_post(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self
            .client
            .post(self.url(&format!("/api/admin/status/v1/{path}")))
            .basic_auth("admin", Some("plenum-admin"))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// Joins a participant through the node's gate.
    pub async fn join(&self, alias: &str, name: &str, pin: Option<&str>) -> Joined {
        self.try_join(alias, name, pin)
            .await
            .expect("join succeeds")
    }

    pub async fn try_join(
        &self,
        alias: &str,
        name: &str,
        pin: Option<&str>,
    ) -> Result<Joined, plenum_node::node::JoinRefusal> {
        self.node
            .join(JoinAttempt {
                caller: "127.0.0.1".into(),
                alias: alias.into(),
                extension: None,
                pin: PinInput::from_header(pin),
                display_name: name.into(),
                call_type: CallType::Video,
                protocol: Protocol::Api,
            })
            .await
    }
}

pub fn test_env(data_dir: &Path) -> HashMap<String, String> {
    HashMap::from([
        ("PLENUM_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("PLENUM_DATA_DIR".to_owned(), data_dir.display().to_string()),
    ])
}

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub name: String,
    pub data: serde_json::Value,
}

/// Reads server-sent events from a streaming response.
pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> SseReader {
        SseReader {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (comments skipped); `None` when the stream ends.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() && name == "message" {
                    continue; // a keep-alive comment
                }
                let data = serde_json::from_str(&data)
                    .unwrap_or_else(|e| panic!("event {name} has non-JSON data {data:?}: {e}"));
                return Some(SseEvent { name, data });
            }
            let chunk = tokio::time::timeout(Duration::from_secs(30), self.response.chunk())
                .await
                .expect("an event within 30 s")
                .expect("stream readable")?;
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }

    /// Skips events until one named `name` arrives.
    pub async fn until(&mut self, name: &str) -> SseEvent {
        loop {
            let event = self
                .next()
                .await
                .unwrap_or_else(|| panic!("stream ended before {name}"));
            if event.name == name {
                return event;
            }
        }
    }
}

impl TestNode {
    /// POSTs to the client API (`/api/client/v2/conferences/{alias}/{path}`).
    pub async fn client_post(
        &self,
        alias: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .client
            .post(self.url(&format!("/api/client/v2/conferences/{alias}/{path}")));
        if let Some(token) = token {
            request = request.header("token", token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// GETs from the client API.
    pub async fn client_get(
        &self,
        alias: &str,
        path: &str,
        token: &str,
    ) -> (u16, serde_json::Value) {
        let response = self
            .client
            .get(self.url(&format!("/api/client/v2/conferences/{alias}/{path}")))
            .header("token", token)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// `request_token` with an optional PIN header; returns status and body.
    pub async fn request_token(
        &self,
        alias: &str,
        name: &str,
        pin: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .client
            .post(self.url(&format!("/api/client/v2/conferences/{alias}/request_token")))
            .json(&serde_json::json!({ "display_name": name }));
        if let Some(pin) = pin {
            request = request.header("pin", pin);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// Joins and returns (token, participant uuid).
    pub async fn token(&self, alias: &str, name: &str, pin: Option<&str>) -> (String, String) {
        let (status, body) = self.request_token(alias, name, pin).await;
        assert_eq!(status, 200, "{body}");
        let result = &body["result"];
        (
            result["token"].as_str().expect("token").to_owned(),
            result["participant_uuid"]
                .as_str()
                .expect("uuid")
                .to_owned(),
        )
    }

    /// Opens the event stream with the token in the query, as the SDK does.
    pub async fn events(&self, alias: &str, token: &str) -> SseReader {
        let response = self
            .client
            .get(self.url(&format!(
                "/api/client/v2/conferences/{alias}/events?token={token}"
            )))
            .timeout(Duration::from_secs(3600))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().expect("ascii"),
            "text/event-stream"
        );
        SseReader::new(response)
    }
}
