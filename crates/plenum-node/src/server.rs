//! HTTPS (and optional plain-HTTP redirect) listeners serving the axum router, with graceful shutdown.
//!
//! One accept loop owns both listeners. Each connection runs in its own task: TLS handshake
//! (bounded by [`HANDSHAKE_TIMEOUT`]), then HTTP/1.1 or h2 through hyper-util's `auto`
//! builder. Every request carries `ConnectInfo<SocketAddr>` of the peer. On shutdown the
//! listeners close, connections finish their in-flight requests, and whatever is still
//! open after the drain grace is dropped.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;
use tracing::{debug, warn};

/// Longest a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest an HTTP/1 client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after an accept error that is not about one connection (e.g. out of file
/// descriptors), so the loop doesn't spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The plain-HTTP listener that redirects every request to HTTPS.
#[derive(Debug)]
pub struct RedirectListener {
    /// The bound plain-HTTP socket.
    pub listener: TcpListener,
    /// Host used when a request has no usable `Host` header.
    pub public_name: String,
    /// The port clients reach HTTPS on (omitted from redirects when 443).
    pub https_port: u16,
}

/// Where redirects point, shared by the redirect connections.
#[derive(Debug)]
struct RedirectTarget {
    public_name: String,
    https_port: u16,
}

/// Serves `app` over TLS on `https` (and redirects on `redirect`) until `shutdown`
/// resolves, then drains connections for at most `drain_grace`.
///
/// Errors of single connections (handshakes, resets) are logged at debug and never end
/// the loop; the function returns once every connection is closed.
pub async fn serve(
    https: TcpListener,
    redirect: Option<RedirectListener>,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain_grace: Duration,
) -> io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let builder = Arc::new(http_builder());
    let (redirect_listener, redirect_target) = match redirect {
        Some(r) => (
            Some(r.listener),
            Arc::new(RedirectTarget {
                public_name: r.public_name,
                https_port: r.https_port,
            }),
        ),
        None => (
            None,
            Arc::new(RedirectTarget {
                public_name: String::new(),
                https_port: 443,
            }),
        ),
    };
    debug!(
        https = %https.local_addr()?,
        redirect = ?redirect_listener.as_ref().map(TcpListener::local_addr).transpose()?,
        "serving",
    );

    let graceful = GracefulShutdown::new();
    // Tells connections still in their TLS handshake to give up; connections past it are
    // told through `graceful`.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = https.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_https(
                        stream,
                        peer,
                        acceptor.clone(),
                        builder.clone(),
                        app.clone(),
                        graceful.watcher(),
                        stop_rx.clone(),
                    ));
                }
                Err(error) => accept_failed(error).await,
            },
            accepted = accept_optional(redirect_listener.as_ref()) => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_redirect(
                        stream,
                        peer,
                        builder.clone(),
                        redirect_target.clone(),
                        graceful.watcher(),
                    ));
                }
                Err(error) => accept_failed(error).await,
            },
            Some(joined) = connections.join_next(), if !connections.is_empty() => {
                log_join(joined);
            }
        }
    }

    // Stop accepting: new connection attempts are refused from here on.
    drop(https);
    drop(redirect_listener);
    let _ = stop_tx.send(true);
    debug!(connections = connections.len(), "draining connections");
    let drain = async {
        graceful.shutdown().await;
        while let Some(joined) = connections.join_next().await {
            log_join(joined);
        }
    };
    if tokio::time::timeout(drain_grace, drain).await.is_err() {
        warn!(
            connections = connections.len(),
            grace = ?drain_grace,
            "drain grace elapsed; closing remaining connections",
        );
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
    debug!("server stopped");
    Ok(())
}

/// HTTP/1.1 + h2 with timers, so slow clients can't hold a connection open unnoticed.
fn http_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    builder
}

/// Accepts on `listener`, or never resolves when there is none.
async fn accept_optional(listener: Option<&TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

async fn accept_failed(error: io::Error) {
    match error.kind() {
        // The client gave up before we accepted: nothing wrong with the listener.
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset => {
            debug!(%error, "accept failed");
        }
        _ => {
            warn!(%error, "accept failed; backing off");
            tokio::time::sleep(ACCEPT_BACKOFF).await;
        }
    }
}

fn log_join(joined: Result<(), tokio::task::JoinError>) {
    if let Err(error) = joined
        && error.is_panic()
    {
        warn!(%error, "connection task panicked");
    }
}

/// One HTTPS connection: handshake, then HTTP until the client or the shutdown ends it.
async fn serve_https(
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    builder: Arc<auto::Builder<TokioExecutor>>,
    app: Router,
    watcher: Watcher,
    mut stop: watch::Receiver<bool>,
) {
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
    let tls = tokio::select! {
        result = handshake => match result {
            Ok(Ok(tls)) => tls,
            Ok(Err(error)) => {
                debug!(%peer, %error, "tls handshake failed");
                return;
            }
            Err(_) => {
                debug!(%peer, "tls handshake timed out");
                return;
            }
        },
        _ = stop.wait_for(|stopped| *stopped) => return,
    };
    let service = service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request)
    });
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
    if let Err(error) = watcher.watch(connection).await {
        debug!(%peer, %error, "https connection ended with an error");
    }
}

/// One plain-HTTP connection: every request is redirected to HTTPS.
async fn serve_redirect(
    stream: TcpStream,
    peer: SocketAddr,
    builder: Arc<auto::Builder<TokioExecutor>>,
    target: Arc<RedirectTarget>,
    watcher: Watcher,
) {
    let service = service_fn(move |request: Request<Incoming>| {
        let response = redirect_response(&target, &request);
        async move { Ok::<_, Infallible>(response) }
    });
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    if let Err(error) = watcher.watch(connection).await {
        debug!(%peer, %error, "redirect connection ended with an error");
    }
}

/// `308` to the same path and query on HTTPS, at the host the client asked for.
fn redirect_response<B>(target: &RedirectTarget, request: &Request<B>) -> Response<Body> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .and_then(host_without_port)
        .unwrap_or(&target.public_name);
    let port = match target.https_port {
        443 => String::new(),
        port => format!(":{port}"),
    };
    let path = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let path = if path.starts_with('/') { path } else { "/" };
    let location = HeaderValue::from_str(&format!("https://{host}{port}{path}"));
    let mut response = Response::new(Body::empty());
    match location {
        Ok(location) => {
            *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
            response.headers_mut().insert(header::LOCATION, location);
        }
        Err(_) => *response.status_mut() = StatusCode::BAD_REQUEST,
    }
    response
}

/// The host part of a `Host` header (`name`, `name:port`, `[v6]`, `[v6]:port`), if it
/// is a plausible host name or address; anything else is ignored.
fn host_without_port(value: &str) -> Option<&str> {
    let value = value.trim();
    let host = if value.starts_with('[') {
        let end = value.find(']')?;
        let (host, rest) = value.split_at(end + 1);
        if !(rest.is_empty() || is_port(rest.strip_prefix(':')?)) {
            return None;
        }
        let inner = &host[1..host.len() - 1];
        if inner.is_empty()
            || !inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return None;
        }
        host
    } else {
        let host = match value.split_once(':') {
            Some((host, port)) if is_port(port) => host,
            Some(_) => return None,
            None => value,
        };
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return None;
        }
        host
    };
    (host.len() <= 255).then_some(host)
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(host: Option<&str>, uri: &str, https_port: u16) -> Option<String> {
        let target = RedirectTarget {
            public_name: "plenum.example.com".to_owned(),
            https_port,
        };
        let mut request = Request::builder().uri(uri);
        if let Some(host) = host {
            request = request.header(header::HOST, host);
        }
        let request = request.body(()).expect("valid test request");
        let response = redirect_response(&target, &request);
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        response
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned)
    }

    fn check(host: Option<&str>, uri: &str, https_port: u16, expected: &str) {
        assert_eq!(
            location(host, uri, https_port).as_deref(),
            Some(expected),
            "host {host:?}, uri {uri}"
        );
    }

    #[test]
    fn redirects_keep_host_path_and_query_and_use_the_https_port() {
        check(
            Some("meet.example.org:8080"),
            "/webapp/?conference=a&x=1",
            8443,
            "https://meet.example.org:8443/webapp/?conference=a&x=1",
        );
        check(
            Some("meet.example.org"),
            "/",
            443,
            "https://meet.example.org/",
        );
        check(Some("[::1]:80"), "/a", 8443, "https://[::1]:8443/a");
        check(Some("127.0.0.1"), "/a", 443, "https://127.0.0.1/a");
    }

    #[test]
    fn redirects_without_a_usable_host_go_to_the_public_name() {
        check(None, "/x?y", 443, "https://plenum.example.com/x?y");
        for bad in [
            "",
            "evil.com/path",
            "a b",
            "[::1",
            "[zz]",
            "host:port",
            "h:1:2",
        ] {
            check(Some(bad), "/", 8443, "https://plenum.example.com:8443/");
        }
    }

    #[test]
    fn absolute_form_requests_redirect_to_their_path() {
        check(
            None,
            "http://other.example.net:81/p?q=1",
            443,
            "https://other.example.net/p?q=1",
        );
    }
}
