//! Starting and stopping a whole node: data dir, store, TLS, listeners, router, signals,
//! reload on SIGHUP, graceful shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use plenum_http::AppState;
use plenum_http::webapp::WebApp;
use plenum_store::Store;
use tokio::net::TcpListener;
use tracing::{error, info, warn};

use crate::admin::NodeAdmin;
use crate::client::NodeClient;
use crate::config::{self, Config};
use crate::node::Node;
use crate::server::{self, RedirectListener};
use crate::tls;

/// How long open connections may take to finish at shutdown.
pub const DRAIN_GRACE: Duration = Duration::from_secs(10);
/// How long conferences may take to end and history to be written at shutdown.
pub const CONFERENCE_GRACE: Duration = Duration::from_secs(5);

/// A node that has bound its ports and is ready to serve.
#[derive(Debug)]
pub struct Running {
    /// Where HTTPS is served.
    pub https_addr: SocketAddr,
    /// Where plain HTTP redirects to HTTPS, if configured.
    pub redirect_addr: Option<SocketAddr>,
    /// SHA-256 fingerprint of the TLS certificate.
    pub fingerprint: String,
    /// The certificate in use (DER), for clients that pin it (tests).
    pub certificate: Vec<u8>,
    /// The live node.
    pub node: Arc<Node>,
    https: TcpListener,
    redirect: Option<RedirectListener>,
    tls: Arc<rustls::ServerConfig>,
    store: Store,
}

/// Opens the store, prepares TLS and binds the listeners of `config`. Nothing is
/// served until [`Running::serve`].
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let data_dir = config.node.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let database = config.database();
    let store = Store::open(&database.url())
        .await
        .with_context(|| format!("cannot open the {} database", database.backend()))?;
    let closed = store
        .close_dangling(SystemTime::now())
        .await
        .context("cannot close history left open")?;
    if closed.conferences > 0 || closed.participants > 0 {
        warn!(
            conferences = closed.conferences,
            participants = closed.participants,
            "the previous run did not end cleanly; its open conferences are recorded as ended now"
        );
    }
    crate::node::registrations::clear_stale(&store).await;
    let (cert, key) = match &config.tls {
        Some(files) => (
            Some(files.certificate.as_path()),
            Some(files.private_key.as_path()),
        ),
        None => (None, None),
    };
    let material = tls::load_or_create(cert, key, &data_dir, &config.node.public_name)?;
    let fingerprint = material.sha256_fingerprint();
    let https = TcpListener::bind(config.node.listen)
        .await
        .with_context(|| format!("cannot listen on {} (node.listen)", config.node.listen))?;
    let https_addr = https.local_addr()?;
    let redirect = match config.node.http_redirect_listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (node.http_redirect_listen)"))?;
            Some(RedirectListener {
                listener,
                public_name: config.node.public_name.clone(),
                https_port: https_addr.port(),
            })
        }
        None => None,
    };
    let redirect_addr = match &redirect {
        Some(r) => Some(r.listener.local_addr()?),
        None => None,
    };
    let node = Node::new(config, store.clone())?;
    node.sso().set_port(https_addr.port());
    Ok(Running {
        https_addr,
        redirect_addr,
        fingerprint,
        certificate: material.leaf_certificate().to_vec(),
        node,
        https,
        redirect,
        tls: material.server_config(),
        store,
    })
}

impl Running {
    /// Serves until `shutdown` resolves, then drains connections, ends conferences,
    /// writes the remaining history and closes the database.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = plenum_http::router(self.app_state());
        info!(address = %self.https_addr, fingerprint = %self.fingerprint, "listening on https://{}", self.https_addr);
        if let Some(addr) = self.redirect_addr {
            info!(address = %addr, "redirecting plain HTTP to HTTPS");
        }
        // On the signal, conferences end first: every event stream gets its `disconnect`
        // and closes, so the connection drain that follows has nothing long-lived left.
        let node = self.node.clone();
        let shutdown = async move {
            shutdown.await;
            node.shutdown(CONFERENCE_GRACE).await;
        };
        let served = server::serve(
            self.https,
            self.redirect,
            self.tls,
            app,
            shutdown,
            DRAIN_GRACE,
        )
        .await;
        // Also when the server stopped on its own (an error): end what still runs and
        // write its history before the database closes. After a signal this is a no-op.
        self.node.shutdown(CONFERENCE_GRACE).await;
        self.store.close().await;
        served.context("the HTTPS server failed")
    }

    /// What the HTTP handlers share: the node behind its admin and client faces, the
    /// CORS origins, and the embedded web app with the config directory's branding.
    fn app_state(&self) -> AppState {
        let config = self.node.config();
        let mut webapp = WebApp::embedded();
        if let Some(dir) = &config.branding_dir {
            webapp = webapp.with_branding_dir(dir.clone());
        }
        AppState::new(
            Arc::new(NodeAdmin(self.node.clone())),
            Arc::new(NodeClient(self.node.clone())),
        )
        .with_cors_origins(config.node.cors_origins.clone())
        .with_webapp(webapp)
    }
}

/// `plenum serve`: loads the configuration (refusing a bad one with exit code 64 before
/// binding anything), runs until SIGINT or SIGTERM, reloads on SIGHUP.
pub async fn serve_command(
    config_dir: PathBuf,
    env: HashMap<String, String>,
) -> Result<(), ServeError> {
    let config =
        config::load(&config_dir, &env).map_err(|errors| ServeError::Config(errors.to_string()))?;
    // Handlers are installed before the node announces itself, so that no signal sent
    // after "listening" can hit the default action (which for SIGHUP ends the process).
    let signals = Signals::install().map_err(|e| ServeError::Startup(e.into()))?;
    let running = start(config).await.map_err(ServeError::Startup)?;
    let node = running.node.clone();
    let Signals { stop, hangup } = signals;
    tokio::spawn(reload_on_hangup(hangup, node, config_dir, env));
    running.serve(stop).await.map_err(ServeError::Startup)?;
    info!("stopped");
    Ok(())
}

/// Why `plenum serve` stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration was refused (exit 64).
    #[error("{0}")]
    Config(String),
    /// Something failed while starting or serving.
    #[error("{0:#}")]
    Startup(anyhow::Error),
}

/// The process signals the node acts on, with their handlers installed.
struct Signals {
    /// Resolves on the first SIGINT or SIGTERM.
    stop: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
    /// Yields on every SIGHUP (never on platforms without it).
    hangup: Hangup,
}

#[cfg(unix)]
type Hangup = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Hangup = ();

impl Signals {
    #[cfg(unix)]
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let hangup = signal(SignalKind::hangup())?;
        let stop = Box::pin(async move {
            tokio::select! {
                _ = interrupt.recv() => info!("SIGINT received, shutting down"),
                _ = terminate.recv() => info!("SIGTERM received, shutting down"),
            }
        });
        Ok(Signals { stop, hangup })
    }

    #[cfg(not(unix))]
    fn install() -> std::io::Result<Signals> {
        let stop = Box::pin(async {
            let _ = tokio::signal::ctrl_c().await;
            info!("interrupt received, shutting down");
        });
        Ok(Signals { stop, hangup: () })
    }
}

/// Reloads the configuration on every SIGHUP; a bad one is refused and logged, and the
/// running one stays.
#[cfg(unix)]
async fn reload_on_hangup(
    mut hangup: Hangup,
    node: Arc<Node>,
    config_dir: PathBuf,
    env: HashMap<String, String>,
) {
    while hangup.recv().await.is_some() {
        info!("SIGHUP received, reloading the configuration");
        reload(&node, &config_dir, &env).await;
    }
}

#[cfg(not(unix))]
async fn reload_on_hangup(_: Hangup, _: Arc<Node>, _: PathBuf, _: HashMap<String, String>) {}

/// Loads the configuration again and applies it, or logs why not. Returns whether it
/// was applied.
pub async fn reload(node: &Node, config_dir: &Path, env: &HashMap<String, String>) -> bool {
    match config::load(config_dir, env) {
        Ok(new) => {
            let old = node.config();
            for line in old.diff_summary(&new) {
                info!("reload: {line}");
            }
            // The STUN servers are read at each request_token, so they need no restart.
            let restart_only = |c: &Config| config::NodeConfig {
                stun: Vec::new(),
                ..c.node.clone()
            };
            if restart_only(&new) != restart_only(&old)
                || new.tls != old.tls
                || new.database != old.database
            {
                warn!(
                    "reload: [node], [tls] and [database] changes take effect at the next restart"
                );
            }
            match node.reload(new).await {
                Ok(()) => true,
                Err(error) => {
                    error!(%error, "reload refused; the running configuration stays");
                    false
                }
            }
        }
        Err(errors) => {
            error!("reload refused; the running configuration stays:\n{errors}");
            false
        }
    }
}
