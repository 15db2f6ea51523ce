//! `GET /metrics` in the Prometheus text format (0.0.4), behind the `metrics_enabled`
//! switch and, unless `node.metrics_auth = "none"`, the admins' HTTP Basic auth: the
//! node's figures read when scraped (conferences, participants by call type and state,
//! registrations, the media engine's counters), plus what this front end counts itself
//! (requests by API and status, sign-in failures by kind). Encoded with the
//! `prometheus-client` crate.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;

use plenum_core::{CallType, ServiceKind};

use crate::AppState;
use crate::error::{ApiError, AuthFailure};
use crate::view::{MediaFigures, MetricsAccess, NodeMetrics, StreamFigures};

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    api: &'static str,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FailureLabels {
    kind: &'static str,
}

/// What the front end counts between scrapes (shared by every request; a scrape reads
/// them).
#[derive(Debug, Clone, Default)]
pub(crate) struct HttpCounters {
    requests: Family<RequestLabels, Counter>,
    auth_failures: Family<FailureLabels, Counter>,
}

/// Which API a path belongs to (a label with few values).
fn api_of(path: &str) -> &'static str {
    if path.starts_with("/api/client/") {
        "client"
    } else if path.starts_with("/api/admin/") {
        "admin"
    } else if path == "/metrics" {
        "metrics"
    } else if path == "/" || path.starts_with("/webapp") {
        "webapp"
    } else {
        "other"
    }
}

/// Middleware: counts every answer by API and status, and the sign-in failures the
/// handlers marked.
pub(crate) async fn count_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let api = api_of(request.uri().path());
    let response = next.run(request).await;
    state
        .http_counters
        .requests
        .get_or_create(&RequestLabels {
            api,
            status: response.status().as_u16(),
        })
        .inc();
    if let Some(failure) = response.extensions().get::<AuthFailure>() {
        state
            .http_counters
            .auth_failures
            .get_or_create(&FailureLabels {
                kind: failure.label(),
            })
            .inc();
    }
    response
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<AppState>, request: Request) -> Response {
    match state.admin.metrics_access() {
        MetricsAccess::Off => {
            return ApiError::NotFound("metrics are switched off (switches.metrics_enabled)")
                .into_response();
        }
        MetricsAccess::Admins => {
            if let Err(error) = crate::auth::authenticate(&state, &request).await {
                return error.into_response();
            }
        }
        MetricsAccess::Open => {}
    }
    let node = match state.admin.metrics().await {
        Ok(node) => node,
        Err(error) => return ApiError::from_backend(error, "metrics").into_response(),
    };
    let text = match render(&node, &state.http_counters) {
        Ok(text) => text,
        Err(_) => return ApiError::Internal("metrics could not be encoded".into()).into_response(),
    };
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabels {
    service_type: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StreamLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ParticipantLabels {
    call_type: String,
    state: &'static str,
}

const ALL_KINDS: [ServiceKind; 5] = [
    ServiceKind::Vmr,
    ServiceKind::Auditorium,
    ServiceKind::Reception,
    ServiceKind::TestCall,
    ServiceKind::PersonCall,
];

/// The participant states `/metrics` tells apart (see [`crate::ParticipantCount`]).
const PARTICIPANT_STATES: [&str; 3] = ["in", "waiting", "ringing"];

/// The exposition of `node` and `http`, every family named `plenum_…`.
fn render(node: &NodeMetrics, http: &HttpCounters) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::with_prefix("plenum");

    // Every kind, call type and state is shown, at 0 when there are none.
    let conferences = Family::<KindLabels, Gauge>::default();
    for kind in ALL_KINDS {
        let count = node
            .conferences
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n);
        conferences
            .get_or_create(&KindLabels {
                service_type: kind.name(),
            })
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
    registry.register(
        "conferences",
        "Live conferences by service type",
        conferences,
    );

    let participants = Family::<ParticipantLabels, Gauge>::default();
    for call_type in [CallType::Video, CallType::AudioOnly, CallType::ControlOnly] {
        for state in PARTICIPANT_STATES {
            let count: u64 = node
                .participants
                .iter()
                .filter(|g| g.call_type == call_type && g.state == state)
                .map(|g| g.count)
                .sum();
            participants
                .get_or_create(&ParticipantLabels {
                    call_type: call_type.to_string(),
                    state,
                })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }
    registry.register(
        "participants",
        "Participants by call type (video, audio, none) and state (in, waiting, ringing)",
        participants,
    );
    registry.register(
        "registrations",
        "Live device registrations",
        ConstGauge::new(i64::try_from(node.registrations).unwrap_or(i64::MAX)),
    );

    register_media(&mut registry, &node.media);
    registry.register(
        "history_pending_rows",
        "History rows waiting in memory for the database (it is unavailable)",
        ConstGauge::new(i64::try_from(node.history_pending).unwrap_or(i64::MAX)),
    );
    registry.register(
        "history_lost_rows",
        "History rows lost: refused by the database, or more than the node keeps while it is unavailable",
        ConstCounter::new(node.history_lost),
    );

    registry.register(
        "http_requests",
        "HTTP requests answered, by API and status",
        http.requests.clone(),
    );
    registry.register(
        "auth_failures",
        "Failed sign-ins by kind: invalid_token, pin, device_credentials, admin_login",
        http.auth_failures.clone(),
    );

    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)?;
    Ok(text)
}

fn register_media(registry: &mut Registry, media: &MediaFigures) {
    let media_registry = registry.sub_registry_with_prefix("media");
    media_registry.register(
        "tick_seconds",
        "How long each 20 ms media thread tick took (mixing, compositing, encoding)",
        TickHistogram(media.clone()),
    );
    media_registry.register(
        "ticks_over_budget",
        "Media thread ticks that took longer than their 20 ms budget",
        ConstCounter::new(media.ticks_over_budget),
    );
    media_registry.register(
        "clock_restarts",
        "Times a media thread fell so far behind that it skipped ticks",
        ConstCounter::new(media.clock_restarts),
    );
    media_registry.register(
        "video_encoders",
        "Video encoders running",
        ConstGauge::new(media.encoders),
    );
    media_registry.register(
        "keyframe_requests_received",
        "Keyframe requests (PLI, FIR) received from clients",
        ConstCounter::new(media.keyframe_requests_received),
    );
    media_registry.register(
        "keyframe_requests_sent",
        "Keyframe requests (PLI) sent to clients",
        ConstCounter::new(media.keyframe_requests_sent),
    );
    media_registry.register(
        "receiver_reports",
        "RTCP receiver report blocks received about the media the node sends",
        ConstCounter::new(media.receiver_reports),
    );
    media_registry.register(
        "receiver_loss_fraction",
        "Sum of the loss fractions (0-1) those reports carried; divide by receiver_reports for the mean loss",
        ConstCounter::new(media.receiver_loss_fraction_sum),
    );
    media_registry.register(
        "nacked_packets_received",
        "Packets clients asked the node to resend (generic NACKs)",
        ConstCounter::new(media.nacked_packets_received),
    );
    media_registry.register(
        "nacked_packets_sent",
        "Packets the node asked clients to resend (generic NACKs)",
        ConstCounter::new(media.nacked_packets_sent),
    );
    let per_stream = |value: fn(&StreamFigures) -> u64| {
        let family = Family::<StreamLabels, Counter>::default();
        for stream in &media.streams {
            family
                .get_or_create(&StreamLabels { kind: stream.kind })
                .inc_by(value(stream));
        }
        family
    };
    media_registry.register(
        "rtp_packets_received",
        "RTP packets received from clients, by stream (audio, video, presentation)",
        per_stream(|s| s.rtp_packets_received),
    );
    media_registry.register(
        "frames_received",
        "Frames received from clients (audio packets, whole video frames), by stream",
        per_stream(|s| s.frames_received),
    );
    media_registry.register(
        "frames_sent",
        "Frames sent to clients (before packetisation), by stream",
        per_stream(|s| s.frames_sent),
    );
}

/// The tick-duration histogram as the media engine counted it (a histogram read, not
/// observed here).
#[derive(Debug)]
struct TickHistogram(MediaFigures);

impl EncodeMetric for TickHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_histogram::<NoLabelSet>(
            self.0.tick_seconds_total,
            self.0.ticks,
            &self.0.tick_buckets,
            None,
        )
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}
