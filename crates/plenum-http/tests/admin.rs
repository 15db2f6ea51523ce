//! The health check and the admin status API v1, driven through `router(..).oneshot(..)`
//! with a fake backend; and that the web app sits beside them.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use plenum_core::{
    CallType, Command, ConferenceSnapshot, ParticipantId, Protocol, Refusal, Role, ServiceKind,
    Waiting, WallClock,
};
use plenum_http::client::backend::{
    CallAnswer, CallBackend, CallError, CallRequest, CallStatistics, Caller, ClientBackend,
    EventFeed, InvalidToken, Refreshed, TokenGrant, TokenRefusal, TokenRequest, TransferError,
};
use plenum_http::webapp::WebApp;
use plenum_http::{
    AdminActor, AdminBackend, AppState, AuditRecord, BackendError, ConferenceRecord,
    LiveConference, LiveConferenceDetail, LiveParticipant, LiveRegistration, Page, PageRequest,
    ParticipantRecord, router,
};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use uuid::Uuid;

const CONFERENCE: Uuid = Uuid::from_u128(0x1111_1111_1111_4111_8111_1111_1111_1111);
const PARTICIPANT: Uuid = Uuid::from_u128(0x2222_2222_2222_4222_8222_2222_2222_2222);
const ENDED: Uuid = Uuid::from_u128(0x3333_3333_3333_4333_8333_3333_3333_3333);
const REGISTRATION: Uuid = Uuid::from_u128(0x4444_4444_4444_4444_8444_4444_4444_4444);
const REGISTRATION_V6: Uuid = Uuid::from_u128(0x5555_5555_5555_4555_8555_5555_5555_5555);
const CLIENT: &str = "192.0.2.7:50000";
// base64("admin:secret"), base64("admin:wrong").
const GOOD_AUTH: &str = "Basic YWRtaW46c2VjcmV0";
const BAD_AUTH: &str = "Basic YWRtaW46d3Jvbmc=";

/// What the fake backend was asked to do.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    FailedLogin(String, SocketAddr),
    Lock(Uuid, bool, AdminActor),
    DisconnectConference(Uuid, AdminActor),
    DisconnectParticipant(Uuid, AdminActor),
    History(PageRequest),
    Audit(PageRequest),
    Registrations,
}

#[derive(Default)]
struct FakeBackend {
    calls: Mutex<Vec<Call>>,
    unavailable: bool,
    /// What `live_registrations` answers; none by default.
    registrations: Vec<LiveRegistration>,
}

impl FakeBackend {
    fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("calls lock").clone()
    }

    fn record(&self, call: Call) {
        self.calls.lock().expect("calls lock").push(call);
    }

    fn answer<T: Send + 'static>(&self, value: T) -> BoxFuture<'_, Result<T, BackendError>> {
        let result = if self.unavailable {
            Err(BackendError::Unavailable("database is down".to_owned()))
        } else {
            Ok(value)
        };
        async move { result }.boxed()
    }

    fn act(&self, id: Uuid, known: Uuid, call: Call) -> BoxFuture<'_, Result<(), BackendError>> {
        self.record(call);
        let result = if id == known {
            Ok(())
        } else {
            Err(BackendError::NotFound)
        };
        async move { result }.boxed()
    }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn conference() -> LiveConference {
    LiveConference {
        id: CONFERENCE,
        service_name: "Team room".to_owned(),
        service_type: ServiceKind::Vmr,
        alias: "meet.team".to_owned(),
        started_at: at(1_700_000_000),
        locked: true,
        guests_muted: false,
        started: true,
        participant_count: 1,
    }
}

fn participant() -> LiveParticipant {
    LiveParticipant {
        id: PARTICIPANT,
        conference_id: CONFERENCE,
        display_name: "Alice".to_owned(),
        role: Role::Host,
        call_type: CallType::Video,
        protocol: Protocol::WebRtc,
        waiting: Some(Waiting::ForAdmission),
        joined_at: at(1_700_000_060),
        is_muted: true,
        is_presenting: false,
        connecting: false,
        dialled: false,
        media_quality: Some(
            json!({"reported_at": "2023-11-14T22:15:00.000Z", "audio": {"rx_packets_lost": 2}}),
        ),
    }
}

fn registrations() -> Vec<LiveRegistration> {
    vec![
        LiveRegistration {
            id: REGISTRATION,
            alias: "alice@example.com".to_owned(),
            username: "alice".to_owned(),
            remote_addr: "198.51.100.4:50123".parse().expect("test address"),
            user_agent: "Pexip Infinity Connect/1.10".to_owned(),
            registered_at: at(1_700_000_000),
            expires_at: at(1_700_000_120),
        },
        LiveRegistration {
            id: REGISTRATION_V6,
            alias: "bob@example.com".to_owned(),
            username: "bob".to_owned(),
            remote_addr: "[2001:db8::7]:443".parse().expect("test address"),
            user_agent: String::new(),
            registered_at: at(1_700_000_030),
            expires_at: at(1_700_000_150),
        },
    ]
}

impl AdminBackend for FakeBackend {
    fn verify_admin(&self, username: &str, password: &str) -> bool {
        username == "admin" && password == "secret"
    }

    fn record_failed_login(&self, username: String, remote_addr: SocketAddr) -> BoxFuture<'_, ()> {
        self.record(Call::FailedLogin(username, remote_addr));
        async {}.boxed()
    }

    fn live_conferences(&self) -> BoxFuture<'_, Result<Vec<LiveConference>, BackendError>> {
        self.answer(vec![conference()])
    }

    fn live_conference(
        &self,
        id: Uuid,
    ) -> BoxFuture<'_, Result<LiveConferenceDetail, BackendError>> {
        if id != CONFERENCE {
            return async { Err(BackendError::NotFound) }.boxed();
        }
        self.answer(LiveConferenceDetail {
            conference: conference(),
            participants: vec![participant()],
        })
    }

    fn live_participants(&self) -> BoxFuture<'_, Result<Vec<LiveParticipant>, BackendError>> {
        self.answer(vec![participant()])
    }

    fn live_registrations(&self) -> BoxFuture<'_, Result<Vec<LiveRegistration>, BackendError>> {
        self.record(Call::Registrations);
        self.answer(self.registrations.clone())
    }

    fn conference_history(
        &self,
        page: PageRequest,
    ) -> BoxFuture<'_, Result<Page<ConferenceRecord>, BackendError>> {
        self.record(Call::History(page));
        self.answer(Page {
            items: vec![ConferenceRecord {
                id: ENDED,
                service_name: "Team room".to_owned(),
                service_type: "vmr".to_owned(),
                alias: "meet.team".to_owned(),
                started_at: at(1_600_000_000),
                ended_at: Some(at(1_600_000_090)),
                end_reason: Some("all hosts left".to_owned()),
                max_participants: 3,
                participant_count: 4,
            }],
            total_count: 120,
        })
    }

    fn conference_history_participants(
        &self,
        conference_id: Uuid,
    ) -> BoxFuture<'_, Result<Vec<ParticipantRecord>, BackendError>> {
        if conference_id != ENDED {
            return async { Err(BackendError::NotFound) }.boxed();
        }
        self.answer(vec![ParticipantRecord {
            id: PARTICIPANT,
            conference_id: ENDED,
            display_name: "Bob".to_owned(),
            role: "guest".to_owned(),
            call_type: "audio".to_owned(),
            protocol: "webrtc".to_owned(),
            remote_address: Some("198.51.100.4".to_owned()),
            joined_at: at(1_600_000_010),
            left_at: Some(at(1_600_000_070)),
            duration_seconds: Some(60),
            disconnect_reason: Some("Conference terminated by another participant".to_owned()),
            pex_code: Some(125),
            media_quality: None,
        }])
    }

    fn audit_log(
        &self,
        page: PageRequest,
    ) -> BoxFuture<'_, Result<Page<AuditRecord>, BackendError>> {
        self.record(Call::Audit(page));
        self.answer(Page {
            items: vec![AuditRecord {
                id: 7,
                at: at(1_700_000_100),
                admin_user: "admin".to_owned(),
                action: "lock".to_owned(),
                target: CONFERENCE.to_string(),
                detail: Some(json!({"locked": true})),
                remote_address: Some("192.0.2.7".to_owned()),
            }],
            total_count: 1,
        })
    }

    fn lock_conference(
        &self,
        id: Uuid,
        locked: bool,
        admin: AdminActor,
    ) -> BoxFuture<'_, Result<(), BackendError>> {
        self.act(id, CONFERENCE, Call::Lock(id, locked, admin))
    }

    fn disconnect_conference(
        &self,
        id: Uuid,
        admin: AdminActor,
    ) -> BoxFuture<'_, Result<(), BackendError>> {
        self.act(id, CONFERENCE, Call::DisconnectConference(id, admin))
    }

    fn disconnect_participant(
        &self,
        id: Uuid,
        admin: AdminActor,
    ) -> BoxFuture<'_, Result<(), BackendError>> {
        self.act(id, PARTICIPANT, Call::DisconnectParticipant(id, admin))
    }
}

/// A client API backend that knows no tokens: these tests exercise the admin API only.
struct NoClients;

impl ClientBackend for NoClients {
    fn request_token(
        &self,
        _request: TokenRequest,
    ) -> BoxFuture<'_, Result<TokenGrant, TokenRefusal>> {
        async {
            Err(TokenRefusal::Refused(
                plenum_core::DisconnectReason::AliasNotFound,
            ))
        }
        .boxed()
    }

    fn refresh_token(&self, _: &str, _: &str) -> BoxFuture<'_, Result<Refreshed, InvalidToken>> {
        async { Err(InvalidToken) }.boxed()
    }

    fn release_token(
        &self,
        _: &str,
        _: &str,
        _: Option<String>,
    ) -> BoxFuture<'_, Result<(), InvalidToken>> {
        async { Err(InvalidToken) }.boxed()
    }

    fn authenticate(&self, _: &str, _: &str) -> Result<Caller, InvalidToken> {
        Err(InvalidToken)
    }

    fn events(&self, _: &Caller) -> BoxFuture<'_, Result<EventFeed, InvalidToken>> {
        async { Err(InvalidToken) }.boxed()
    }

    fn snapshot(&self, _: &Caller) -> BoxFuture<'_, Result<ConferenceSnapshot, InvalidToken>> {
        async { Err(InvalidToken) }.boxed()
    }

    fn command(
        &self,
        _: &Caller,
        _: Command,
    ) -> BoxFuture<'_, Result<Result<(), Refusal>, InvalidToken>> {
        async { Err(InvalidToken) }.boxed()
    }

    fn transfer(
        &self,
        _: &Caller,
        _: ParticipantId,
        _: String,
        _: Role,
        _: Option<String>,
    ) -> BoxFuture<'_, Result<(), TransferError>> {
        async { Err(TransferError::Failed) }.boxed()
    }

    fn clock(&self) -> WallClock {
        WallClock::new(std::time::Instant::now(), SystemTime::now())
    }
}

impl plenum_http::client::backend::RegistrationBackend for NoClients {}

impl CallBackend for NoClients {
    fn open_call(
        &self,
        _: &Caller,
        _: ParticipantId,
        _: CallRequest,
    ) -> BoxFuture<'_, Result<CallAnswer, CallError>> {
        async { Err(CallError::InvalidToken) }.boxed()
    }

    fn update_call(
        &self,
        _: &Caller,
        _: ParticipantId,
        _: Uuid,
        _: String,
    ) -> BoxFuture<'_, Result<String, CallError>> {
        async { Err(CallError::InvalidToken) }.boxed()
    }

    fn add_candidate(
        &self,
        _: &Caller,
        _: ParticipantId,
        _: Uuid,
        _: String,
        _: Option<String>,
    ) -> BoxFuture<'_, Result<(), CallError>> {
        async { Err(CallError::InvalidToken) }.boxed()
    }

    fn ack_call(
        &self,
        _: &Caller,
        _: ParticipantId,
        _: Uuid,
    ) -> BoxFuture<'_, Result<(), CallError>> {
        async { Err(CallError::InvalidToken) }.boxed()
    }

    fn disconnect_call(
        &self,
        _: &Caller,
        _: ParticipantId,
        _: Uuid,
    ) -> BoxFuture<'_, Result<(), CallError>> {
        async { Err(CallError::InvalidToken) }.boxed()
    }

    fn call_dtmf(
        &self,
        _: &Caller,
        _: ParticipantId,
        _: Uuid,
        _: String,
    ) -> BoxFuture<'_, Result<Result<(), Refusal>, CallError>> {
        async { Err(CallError::InvalidToken) }.boxed()
    }

    fn call_statistics(
        &self,
        _: &Caller,
        _: ParticipantId,
        _: Uuid,
        _: CallStatistics,
    ) -> BoxFuture<'_, Result<(), CallError>> {
        async { Err(CallError::InvalidToken) }.boxed()
    }

    fn presentation_jpeg(
        &self,
        _: &Caller,
        _: bool,
    ) -> BoxFuture<'_, Result<Option<bytes::Bytes>, InvalidToken>> {
        async { Err(InvalidToken) }.boxed()
    }
}

fn client() -> SocketAddr {
    CLIENT.parse().expect("test address")
}

fn admin() -> AdminActor {
    AdminActor {
        username: "admin".to_owned(),
        remote_addr: client(),
    }
}

struct Harness {
    backend: Arc<FakeBackend>,
    app: Router,
}

impl Harness {
    fn new() -> Harness {
        Harness::with(FakeBackend::default())
    }

    fn with(backend: FakeBackend) -> Harness {
        let backend = Arc::new(backend);
        let app = router(AppState::new(backend.clone(), Arc::new(NoClients)));
        Harness { backend, app }
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        auth: Option<&str>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(auth) = auth {
            request = request.header(header::AUTHORIZATION, auth);
        }
        let mut request = request.body(Body::empty()).expect("valid test request");
        request.extensions_mut().insert(ConnectInfo(client()));
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body is readable");
        let json = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!("{uri}: body is not JSON ({e}): {body:?}");
        });
        (status, headers, json)
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let (status, headers, json) = self.send(Method::GET, uri, Some(GOOD_AUTH)).await;
        assert_json(&headers);
        (status, json)
    }

    async fn post(&self, uri: &str) -> (StatusCode, Value) {
        let (status, headers, json) = self.send(Method::POST, uri, Some(GOOD_AUTH)).await;
        assert_json(&headers);
        (status, json)
    }
}

fn assert_json(headers: &HeaderMap) {
    assert_eq!(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
}

const API: &str = "/api/admin/status/v1";

#[tokio::test]
async fn health_answers_without_auth() {
    let h = Harness::new();
    let (status, headers, json) = h.send(Method::GET, "/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_json(&headers);
    assert_eq!(
        json,
        json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})
    );
}

#[tokio::test]
async fn admin_api_without_credentials_is_challenged_and_not_counted() {
    let h = Harness::new();
    let (status, headers, json) = h
        .send(Method::GET, &format!("{API}/conference/"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        headers
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok()),
        Some("Basic realm=\"plenum admin\", charset=\"UTF-8\"")
    );
    assert_eq!(json["status"], "error");
    assert_eq!(json["code"], "unauthorized");
    assert_eq!(h.backend.calls(), vec![]);
}

#[tokio::test]
async fn wrong_password_is_refused_and_recorded_with_the_client_address() {
    let h = Harness::new();
    let (status, headers, json) = h
        .send(
            Method::POST,
            &format!("{API}/conference/{CONFERENCE}/lock"),
            Some(BAD_AUTH),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(json["code"], "unauthorized");
    assert_eq!(
        h.backend.calls(),
        vec![Call::FailedLogin("admin".to_owned(), client())]
    );
}

#[tokio::test]
async fn garbage_authorization_header_is_refused() {
    let h = Harness::new();
    for auth in ["Basic !!!notbase64", "Bearer abc", "Basic YWRtaW4="] {
        let (status, _, _) = h
            .send(Method::GET, &format!("{API}/participant/"), Some(auth))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth}");
    }
}

#[tokio::test]
async fn lists_live_conferences() {
    let h = Harness::new();
    let (status, json) = h.get(&format!("{API}/conference/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json,
        json!({
            "objects": [{
                "id": CONFERENCE.to_string(),
                "service_name": "Team room",
                "service_type": "vmr",
                "alias": "meet.team",
                "start_time": 1_700_000_000.0,
                "start_time_iso": "2023-11-14T22:13:20.000Z",
                "locked": true,
                "guests_muted": false,
                "started": true,
                "participant_count": 1,
            }],
            "meta": {"total_count": 1},
        })
    );
}

#[tokio::test]
async fn shows_one_conference_with_its_participants() {
    let h = Harness::new();
    let (status, json) = h.get(&format!("{API}/conference/{CONFERENCE}/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["id"], CONFERENCE.to_string());
    assert_eq!(json["alias"], "meet.team");
    assert_eq!(json["participants"][0]["display_name"], "Alice");
    assert_eq!(json["participants"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn lists_live_participants() {
    let h = Harness::new();
    let (status, json) = h.get(&format!("{API}/participant/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json,
        json!({
            "objects": [{
                "id": PARTICIPANT.to_string(),
                "conference_id": CONFERENCE.to_string(),
                "display_name": "Alice",
                "role": "host",
                "call_type": "video",
                "protocol": "webrtc",
                "waiting": "for_admission",
                "connecting": false,
                "call_direction": "in",
                "joined_at": 1_700_000_060.0,
                "joined_at_iso": "2023-11-14T22:14:20.000Z",
                "is_muted": true,
                "is_presenting": false,
                "media_quality": {"reported_at": "2023-11-14T22:15:00.000Z", "audio": {"rx_packets_lost": 2}},
            }],
            "meta": {"total_count": 1},
        })
    );
}

#[tokio::test]
async fn lists_live_registrations() {
    let h = Harness::with(FakeBackend {
        registrations: registrations(),
        ..FakeBackend::default()
    });
    let (status, json) = h.get(&format!("{API}/registration/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json,
        json!({
            "objects": [
                {
                    "id": REGISTRATION.to_string(),
                    "alias": "alice@example.com",
                    "username": "alice",
                    "remote_address": "198.51.100.4",
                    "remote_port": 50123,
                    "protocol": "WebRTC",
                    "start_time": 1_700_000_000.0,
                    "start_time_iso": "2023-11-14T22:13:20.000Z",
                    "expires_at": 1_700_000_120.0,
                    "expires_at_iso": "2023-11-14T22:15:20.000Z",
                    "user_agent": "Pexip Infinity Connect/1.10",
                },
                {
                    "id": REGISTRATION_V6.to_string(),
                    "alias": "bob@example.com",
                    "username": "bob",
                    "remote_address": "2001:db8::7",
                    "remote_port": 443,
                    "protocol": "WebRTC",
                    "start_time": 1_700_000_030.0,
                    "start_time_iso": "2023-11-14T22:13:50.000Z",
                    "expires_at": 1_700_000_150.0,
                    "expires_at_iso": "2023-11-14T22:15:50.000Z",
                    "user_agent": "",
                },
            ],
            "meta": {"total_count": 2},
        })
    );
    assert_eq!(h.backend.calls(), vec![Call::Registrations]);
}

#[tokio::test]
async fn no_registrations_is_an_empty_list() {
    let h = Harness::new();
    let (status, json) = h.get(&format!("{API}/registration/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json, json!({"objects": [], "meta": {"total_count": 0}}));
}

#[tokio::test]
async fn registrations_need_credentials() {
    let h = Harness::with(FakeBackend {
        registrations: registrations(),
        ..FakeBackend::default()
    });
    let uri = format!("{API}/registration/");
    let (status, headers, json) = h.send(Method::GET, &uri, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(json["code"], "unauthorized");
    assert!(json.get("objects").is_none(), "{json}");
    let (status, _, json) = h.send(Method::GET, &uri, Some(BAD_AUTH)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(json.get("objects").is_none(), "{json}");
    assert_eq!(
        h.backend.calls(),
        vec![Call::FailedLogin("admin".to_owned(), client())],
        "the backend was never asked for registrations"
    );
}

#[tokio::test]
async fn conference_history_is_paged() {
    let h = Harness::new();
    let (status, json) = h
        .get(&format!("{API}/history/conference/?limit=10&offset=20"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json,
        json!({
            "objects": [{
                "id": ENDED.to_string(),
                "service_name": "Team room",
                "service_type": "vmr",
                "alias": "meet.team",
                "start_time": 1_600_000_000.0,
                "start_time_iso": "2020-09-13T12:26:40.000Z",
                "end_time": 1_600_000_090.0,
                "end_time_iso": "2020-09-13T12:28:10.000Z",
                "duration_seconds": 90,
                "end_reason": "all hosts left",
                "max_participants": 3,
                "participant_count": 4,
            }],
            "meta": {"limit": 10, "offset": 20, "total_count": 120},
        })
    );
    let (status, json) = h.get(&format!("{API}/history/conference/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["meta"]["limit"], 50);
    assert_eq!(json["meta"]["offset"], 0);
    assert_eq!(
        h.backend.calls(),
        vec![
            Call::History(PageRequest {
                limit: 10,
                offset: 20
            }),
            Call::History(PageRequest {
                limit: 50,
                offset: 0
            }),
        ]
    );
}

#[tokio::test]
async fn bad_paging_parameters_are_rejected_with_a_clear_message() {
    let h = Harness::new();
    let check = |query: &'static str, message: &'static str| {
        let h = &h;
        async move {
            for endpoint in ["history/conference/", "audit/"] {
                let (status, json) = h.get(&format!("{API}/{endpoint}?{query}")).await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{endpoint}?{query}");
                assert_eq!(json["code"], "invalid_parameter", "{endpoint}?{query}");
                assert_eq!(json["message"], message, "{endpoint}?{query}");
            }
        }
    };
    let limit = "limit must be an integer from 1 to 500";
    check("limit=0", limit).await;
    check("limit=501", limit).await;
    check("limit=ten", limit).await;
    check("limit=-1", limit).await;
    check("limit=", limit).await;
    check("offset=-5", "offset must be a non-negative integer").await;
    check(
        "offset=99999999999999999999",
        "offset must be a non-negative integer",
    )
    .await;
    check("limit=1&limit=2", "malformed query string").await;
    assert_eq!(h.backend.calls(), vec![]);
}

#[tokio::test]
async fn lists_participants_of_an_ended_conference() {
    let h = Harness::new();
    let (status, json) = h
        .get(&format!("{API}/history/conference/{ENDED}/participant/"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json,
        json!({
            "objects": [{
                "id": PARTICIPANT.to_string(),
                "conference_id": ENDED.to_string(),
                "display_name": "Bob",
                "role": "guest",
                "call_type": "audio",
                "protocol": "webrtc",
                "remote_address": "198.51.100.4",
                "joined_at": 1_600_000_010.0,
                "joined_at_iso": "2020-09-13T12:26:50.000Z",
                "left_at": 1_600_000_070.0,
                "left_at_iso": "2020-09-13T12:27:50.000Z",
                "duration_seconds": 60,
                "disconnect_reason": "Conference terminated by another participant",
                "pex_code": 125,
                "media_quality": null,
            }],
            "meta": {"total_count": 1},
        })
    );
}

#[tokio::test]
async fn lists_the_audit_log() {
    let h = Harness::new();
    let (status, json) = h.get(&format!("{API}/audit/?limit=5")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json,
        json!({
            "objects": [{
                "id": 7,
                "time": 1_700_000_100.0,
                "time_iso": "2023-11-14T22:15:00.000Z",
                "admin_user": "admin",
                "action": "lock",
                "target": CONFERENCE.to_string(),
                "detail": {"locked": true},
                "remote_address": "192.0.2.7",
            }],
            "meta": {"limit": 5, "offset": 0, "total_count": 1},
        })
    );
}

#[tokio::test]
async fn actions_call_the_backend_with_the_admin() {
    let h = Harness::new();
    for action in ["lock", "unlock", "disconnect"] {
        let (status, json) = h
            .post(&format!("{API}/conference/{CONFERENCE}/{action}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{action}");
        assert_eq!(json, json!({"status": "success"}));
    }
    let (status, json) = h
        .post(&format!("{API}/participant/{PARTICIPANT}/disconnect"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json, json!({"status": "success"}));
    assert_eq!(
        h.backend.calls(),
        vec![
            Call::Lock(CONFERENCE, true, admin()),
            Call::Lock(CONFERENCE, false, admin()),
            Call::DisconnectConference(CONFERENCE, admin()),
            Call::DisconnectParticipant(PARTICIPANT, admin()),
        ]
    );
}

#[tokio::test]
async fn unknown_ids_answer_json_404() {
    let h = Harness::new();
    let unknown = Uuid::from_u128(42);
    let cases = [
        (
            Method::GET,
            format!("{API}/conference/{unknown}/"),
            "conference not found",
        ),
        (
            Method::GET,
            format!("{API}/conference/not-a-uuid/"),
            "conference not found",
        ),
        (
            Method::POST,
            format!("{API}/conference/{unknown}/lock"),
            "conference not found",
        ),
        (
            Method::POST,
            format!("{API}/conference/%FF/unlock"),
            "conference not found",
        ),
        (
            Method::POST,
            format!("{API}/participant/{unknown}/disconnect"),
            "participant not found",
        ),
        (
            Method::GET,
            format!("{API}/history/conference/{unknown}/participant/"),
            "conference not found",
        ),
    ];
    for (method, uri, message) in cases {
        let (status, headers, json) = h.send(method, &uri, Some(GOOD_AUTH)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_json(&headers);
        assert_eq!(json["code"], "not_found", "{uri}");
        assert_eq!(json["message"], message, "{uri}");
    }
}

#[tokio::test]
async fn unknown_paths_answer_json_404() {
    let h = Harness::new();
    for uri in [
        format!("{API}/nothing/"),
        format!("{API}/conference"),
        format!("{API}/"),
        "/no/such/thing".to_owned(),
        "/webappx".to_owned(),
        "/webapp2/custom_configuration/manifest.json".to_owned(),
    ] {
        let (status, json) = h.get(&uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(json["code"], "not_found", "{uri}");
    }
}

#[tokio::test]
async fn the_web_app_is_served_beside_the_api() {
    let webapp = WebApp::from_files([("index.html", "<p>app</p>")]);
    let app = router(
        AppState::new(Arc::new(FakeBackend::default()), Arc::new(NoClients)).with_webapp(webapp),
    );
    for (uri, status, location, body) in [
        ("/", StatusCode::FOUND, Some("/webapp/home"), ""),
        ("/webapp/home", StatusCode::OK, None, "<p>app</p>"),
        ("/health", StatusCode::OK, None, "{\"status\":\"ok\""),
    ] {
        let mut request = Request::get(uri)
            .body(Body::empty())
            .expect("valid test request");
        request.extensions_mut().insert(ConnectInfo(client()));
        let response = app.clone().oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), status, "{uri}");
        assert_eq!(
            response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok()),
            location,
            "{uri}"
        );
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body is readable");
        assert!(
            String::from_utf8_lossy(&bytes).starts_with(body),
            "{uri}: {bytes:?}"
        );
    }
}

#[tokio::test]
async fn backend_outage_gives_a_generic_503() {
    let h = Harness::with(FakeBackend {
        unavailable: true,
        ..FakeBackend::default()
    });
    for endpoint in ["conference/", "registration/"] {
        let (status, json) = h.get(&format!("{API}/{endpoint}")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{endpoint}");
        assert_eq!(
            json,
            json!({
                "status": "error",
                "code": "unavailable",
                "message": "service temporarily unavailable",
            }),
            "{endpoint}"
        );
    }
}

#[tokio::test]
async fn unknown_api_paths_need_credentials_too() {
    let h = Harness::new();
    let (status, headers, _) = h.send(Method::GET, &format!("{API}/nothing/"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
}
