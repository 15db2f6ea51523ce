//! The provisioning page's request is logged with its route only: neither the `data`
//! (which holds the registration password) nor the message appear in the log. A test
//! binary of its own, so its log subscriber sees every event of the process.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use plenum_http::provision::{Key, Settings};

// The client API tests' fake node and request helper; this binary uses only a part.
#[allow(dead_code)]
#[path = "client_api/support.rs"]
mod support;

use support::Api;

const PASSWORD: &str = "s3cret&pw=+/";

fn settings() -> Settings {
    let mut settings = Settings::new();
    settings
        .set(Key::Name, "Alice")
        .set(Key::RegistrationHost, "video.example.com")
        .set(Key::RegistrationAlias, "alice@example.com")
        .set(Key::RegistrationPassword, PASSWORD);
    settings
}

async fn get(api: &Api, query: &str) -> StatusCode {
    api.send(Api::request(
        Method::GET,
        &format!("/api/client/v2/provision{query}"),
        &[],
        None,
    ))
    .await
    .status
}

/// A log sink for one test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log sink").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_request_log_names_the_route_but_not_the_query() {
    let sink = Captured::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let api = Api::new();
    let settings = settings();
    let data = settings.encode_for_query();
    let reply = get(&api, &format!("?data={data}&message=aGk%3D")).await;
    assert_eq!(reply, StatusCode::OK);
    let bad = get(&api, &format!("?data={data}&data2=x&message=%%%")).await;
    assert_eq!(bad, StatusCode::BAD_REQUEST);
    let log = String::from_utf8(sink.0.lock().expect("log sink").clone()).expect("UTF-8 log");
    assert!(
        log.contains("matched_path=\"/api/client/v2/provision\""),
        "the request span is logged: {log}"
    );
    for secret in [data.as_str(), &settings.encode(), PASSWORD, "data=", "aGk"] {
        assert!(!log.contains(secret), "{secret:?} is in the log:\n{log}");
    }
}
