//! The HTTPS server on loopback: TLS with the self-signed material, the plain-HTTP
//! redirect, robustness against broken handshakes, and graceful shutdown with a drain
//! grace.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use plenum_node::server::{RedirectListener, serve};
use plenum_node::tls::{TlsMaterial, load_or_create};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// Upper bound for anything that should happen promptly; only hit when a test fails.
const PROMPTLY: Duration = Duration::from_secs(10);

struct TestServer {
    https_addr: SocketAddr,
    redirect_addr: SocketAddr,
    client: reqwest::Client,
    /// The client's TLS config (trusting the server's certificate).
    tls_client: Arc<rustls::ClientConfig>,
    shutdown: Option<oneshot::Sender<()>>,
    /// Resolves once `serve` has seen its shutdown future resolve.
    shutdown_seen: Option<oneshot::Receiver<()>>,
    server: JoinHandle<std::io::Result<()>>,
    _data_dir: tempfile::TempDir,
}

impl TestServer {
    async fn start(app: Router, drain_grace: Duration) -> TestServer {
        let data_dir = tempfile::tempdir().expect("tempdir");
        let material =
            load_or_create(None, None, data_dir.path(), "plenum.test").expect("tls material");
        let https = TcpListener::bind("127.0.0.1:0").await.expect("bind https");
        let redirect = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let https_addr = https.local_addr().expect("https addr");
        let redirect_addr = redirect.local_addr().expect("http addr");
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let (seen_tx, seen_rx) = oneshot::channel::<()>();
        let tls_client = Arc::new(tls_client_trusting(&material));
        let server = tokio::spawn(serve(
            https,
            Some(RedirectListener {
                listener: redirect,
                public_name: "plenum.test".to_owned(),
                https_port: https_addr.port(),
            }),
            material.server_config(),
            app,
            async move {
                let _ = shutdown_rx.await;
                let _ = seen_tx.send(());
            },
            drain_grace,
        ));
        TestServer {
            https_addr,
            redirect_addr,
            client: client_trusting(&tls_client, https_addr),
            tls_client,
            shutdown: Some(shutdown_tx),
            shutdown_seen: Some(seen_rx),
            server,
            _data_dir: data_dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://plenum.test:{}{path}", self.https_addr.port())
    }

    /// Resolves the shutdown future and waits until `serve` has seen it.
    async fn shut_down(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(seen) = self.shutdown_seen.take() {
            timeout(PROMPTLY, seen)
                .await
                .expect("serve polls its shutdown future")
                .expect("shutdown future ran to completion");
        }
    }

    async fn stopped(self) {
        let result = timeout(PROMPTLY, self.server)
            .await
            .expect("serve returns after shutdown")
            .expect("serve task did not panic");
        result.expect("serve returns Ok");
    }
}

/// TLS client config trusting exactly the server's certificate.
fn tls_client_trusting(material: &TlsMaterial) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(material.leaf_certificate().clone())
        .expect("certificate is a usable root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    tls
}

/// An HTTP client using `tls` that resolves the server's name to the loopback listener.
fn client_trusting(tls: &rustls::ClientConfig, https_addr: SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls.clone())
        .resolve("plenum.test", https_addr)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client builds")
}

fn echo_peer_app() -> Router {
    Router::new().route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
    )
}

#[tokio::test]
async fn serves_https_with_the_peer_address_and_stops_on_shutdown() {
    let mut server = TestServer::start(echo_peer_app(), Duration::from_secs(5)).await;
    let response = server
        .client
        .get(server.url("/peer"))
        .send()
        .await
        .expect("https request");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(response.text().await.expect("body"), "127.0.0.1");

    let https_addr = server.https_addr;
    server.shut_down().await;
    server.stopped().await;
    assert!(
        TcpStream::connect(https_addr).await.is_err(),
        "listener is closed after shutdown"
    );
}

#[tokio::test]
async fn offers_h2_and_http1_via_alpn() {
    let mut server = TestServer::start(echo_peer_app(), Duration::from_secs(5)).await;
    for (offered, expected) in [
        (vec![b"h2".to_vec(), b"http/1.1".to_vec()], b"h2".as_slice()),
        (vec![b"http/1.1".to_vec()], b"http/1.1".as_slice()),
    ] {
        let mut tls = (*server.tls_client).clone();
        tls.alpn_protocols = offered;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
        let tcp = TcpStream::connect(server.https_addr)
            .await
            .expect("connect");
        let name = rustls::pki_types::ServerName::try_from("plenum.test").expect("valid name");
        let stream = timeout(PROMPTLY, connector.connect(name, tcp))
            .await
            .expect("handshake completes")
            .expect("handshake succeeds");
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(expected));
    }
    server.shut_down().await;
    server.stopped().await;
}

#[tokio::test]
async fn plain_http_is_redirected_to_https() {
    let mut server = TestServer::start(echo_peer_app(), Duration::from_secs(5)).await;
    let http = format!("http://{}", server.redirect_addr);
    let response = server
        .client
        .get(format!("{http}/webapp/?conference=room%201"))
        .header(reqwest::header::HOST, "meet.example.org:80")
        .send()
        .await
        .expect("http request");
    assert_eq!(response.status(), reqwest::StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok()),
        Some(
            format!(
                "https://meet.example.org:{}/webapp/?conference=room%201",
                server.https_addr.port()
            )
            .as_str()
        )
    );
    server.shut_down().await;
    server.stopped().await;
}

#[tokio::test]
async fn failed_handshakes_do_not_stop_the_server() {
    let mut server = TestServer::start(echo_peer_app(), Duration::from_secs(5)).await;
    // Plain HTTP on the TLS port: the handshake fails and the server closes the socket.
    let mut raw = TcpStream::connect(server.https_addr)
        .await
        .expect("connect");
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let _ = timeout(PROMPTLY, raw.read_to_end(&mut buf))
        .await
        .expect("server closes the connection");
    // A client that hangs up mid-handshake.
    drop(
        TcpStream::connect(server.https_addr)
            .await
            .expect("connect"),
    );

    let response = server
        .client
        .get(server.url("/peer"))
        .send()
        .await
        .expect("https request after failed handshakes");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    server.shut_down().await;
    server.stopped().await;
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let (started_tx, mut started_rx) = mpsc::channel::<oneshot::Sender<&'static str>>(1);
    let app = Router::new().route(
        "/slow",
        get(move || {
            let started = started_tx.clone();
            async move {
                let (reply_tx, reply_rx) = oneshot::channel();
                let _ = started.send(reply_tx).await;
                reply_rx.await.unwrap_or("dropped")
            }
        }),
    );
    let mut server = TestServer::start(app, Duration::from_secs(30)).await;
    let request = tokio::spawn(server.client.get(server.url("/slow")).send());
    let reply = timeout(PROMPTLY, started_rx.recv())
        .await
        .expect("handler starts")
        .expect("handler sends its reply channel");

    // The server has stopped accepting; the request is still in flight.
    server.shut_down().await;
    assert!(
        TcpStream::connect(server.https_addr).await.is_err(),
        "listener is closed while draining"
    );
    let _ = reply.send("finished");
    let response = timeout(PROMPTLY, request)
        .await
        .expect("request completes")
        .expect("request task")
        .expect("in-flight request succeeds during drain");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(response.text().await.expect("body"), "finished");
    server.stopped().await;
}

#[tokio::test]
async fn connections_still_busy_after_the_grace_are_closed() {
    let (started_tx, mut started_rx) = mpsc::channel::<()>(1);
    let app = Router::new().route(
        "/hang",
        get(move || {
            let started = started_tx.clone();
            async move {
                let _ = started.send(()).await;
                std::future::pending::<&'static str>().await
            }
        }),
    );
    let mut server = TestServer::start(app, Duration::from_millis(200)).await;
    let request = tokio::spawn(server.client.get(server.url("/hang")).send());
    timeout(PROMPTLY, started_rx.recv())
        .await
        .expect("handler starts")
        .expect("handler reports");

    server.shut_down().await;
    server.stopped().await;
    let outcome = timeout(PROMPTLY, request)
        .await
        .expect("client notices the closed connection")
        .expect("request task");
    assert!(outcome.is_err(), "the hanging request is cut off");
}
