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
