//! A fake node behind the client API: a real plenum-core conference (so refusals and
//! events are the real ones), a token table, canned `request_token`, transfer and media
//! call answers, and a record of every call; plus a request helper and an SSE reader.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt as _, Stream, StreamExt as _};
use plenum_core::{
    Actor, Command, Conference, ConferenceSnapshot, Event, JoinRequest, ParticipantId, Published,
    Refusal, Role, Secret, ServiceConfig, ServiceKind, WallClock,
};
use plenum_http::client::backend::{
    CallAnswer, CallBackend, CallError, CallMedia, CallRequest, CallStatistics, Caller,
    ClientBackend, EventFeed, IceServers, InvalidToken, Refreshed, TokenGrant, TokenRefusal,
    TokenRequest, TransferError,
};
use plenum_http::client::theme::Theme;
use plenum_http::{
    AdminActor, AdminBackend, AppState, AuditRecord, BackendError, ConferenceRecord,
    LiveConference, LiveConferenceDetail, LiveParticipant, LiveRegistration, Page, PageRequest,
    ParticipantRecord, router,
};
use serde_json::Value;
use tokio::sync::broadcast;
use tower::ServiceExt as _;
use uuid::Uuid;

pub const ALIAS: &str = "meet.team";
pub const HOST_TOKEN: &str = "host-token";
pub const GUEST_TOKEN: &str = "guest-token";
pub const HOST: ParticipantId = ParticipantId(Uuid::from_u128(0xa11ce));
pub const GUEST: ParticipantId = ParticipantId(Uuid::from_u128(0xb0b));
pub const CLIENT: &str = "192.0.2.7:50000";
/// The wall-clock second at which the fake conference was created.
pub const EPOCH: u64 = 1_700_000_000;
/// Events a stream may fall behind before it lags.
pub const FEED_CAPACITY: usize = 32;
/// The id of the call the fake answers `calls` with by default.
pub const CALL_ID: Uuid = Uuid::from_u128(0xca11_0000_0000_4000_8000_0000_0000_0001);
/// The fake's default answer to a `calls` offer.
pub const ANSWER_SDP: &str = "v=0\r\no=plenum 1 1 IN IP4 127.0.0.1\r\n";
/// The fake's default answer to an `update` offer.
pub const UPDATE_ANSWER_SDP: &str = "v=0\r\no=plenum 1 2 IN IP4 127.0.0.1\r\n";

/// What the fake node was asked, beyond reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Refresh {
        alias: String,
        token: String,
    },
    Release {
        alias: String,
        token: String,
        reason: Option<String>,
    },
    Command {
        by: ParticipantId,
        command: Command,
    },
    Transfer {
        by: ParticipantId,
        target: ParticipantId,
        alias: String,
        role: Role,
        pin: Option<String>,
    },
    Offer {
        by: ParticipantId,
        participant: ParticipantId,
        sdp: String,
        media: CallMedia,
        present: Option<bool>,
    },
    Update {
        by: ParticipantId,
        participant: ParticipantId,
        call: Uuid,
        sdp: String,
    },
    Candidate {
        by: ParticipantId,
        participant: ParticipantId,
        call: Uuid,
        candidate: String,
        mid: Option<String>,
    },
    Ack {
        by: ParticipantId,
        participant: ParticipantId,
        call: Uuid,
    },
    HangUp {
        by: ParticipantId,
        participant: ParticipantId,
        call: Uuid,
    },
    Dtmf {
        by: ParticipantId,
        participant: ParticipantId,
        call: Uuid,
        digits: String,
    },
    Statistics {
        by: ParticipantId,
        participant: ParticipantId,
        call: Uuid,
        statistics: Box<CallStatistics>,
    },
    Still {
        by: ParticipantId,
        high: bool,
    },
}

impl Call {
    /// Whether this is a media-call request (the call group or a presentation still).
    pub fn is_media(&self) -> bool {
        !matches!(
            self,
            Call::Refresh { .. }
                | Call::Release { .. }
                | Call::Command { .. }
                | Call::Transfer { .. }
        )
    }
}

/// What the fake's media-call methods answer; change it with [`Fake::script_calls`].
#[derive(Debug, Clone)]
pub struct CallScript {
    /// `open_call`.
    pub open: Result<CallAnswer, CallError>,
    /// `update_call`.
    pub update: Result<String, CallError>,
    /// `add_candidate`, `ack_call`, `disconnect_call` and `call_statistics`.
    pub other: Result<(), CallError>,
    /// `call_dtmf`.
    pub dtmf: Result<Result<(), Refusal>, CallError>,
    /// `presentation_jpeg` for a valid token.
    pub presentation: Option<Bytes>,
}

impl Default for CallScript {
    fn default() -> CallScript {
        CallScript {
            open: Ok(CallAnswer {
                call: CALL_ID,
                sdp: ANSWER_SDP.to_owned(),
            }),
            update: Ok(UPDATE_ANSWER_SDP.to_owned()),
            other: Ok(()),
            dtmf: Ok(Ok(())),
            presentation: None,
        }
    }
}

struct State {
    conference: Conference,
    now: Instant,
    tokens: HashMap<String, ParticipantId>,
    next_id: u128,
    token_requests: Vec<TokenRequest>,
    calls: Vec<Call>,
    token_refusal: Option<TokenRefusal>,
    ice: IceServers,
    route_via_registrar: bool,
    transfer_answer: Result<(), TransferError>,
    call_script: CallScript,
    theme: Option<Arc<Theme>>,
}

/// The fake node: one conference at [`ALIAS`] with a Host and a Guest.
pub struct Fake {
    state: Mutex<State>,
    events: broadcast::Sender<Arc<Published>>,
    clock: WallClock,
}

impl Fake {
    /// A service of `kind` (no PINs, so nobody waits) with [`HOST`] and [`GUEST`] in it.
    pub fn new(kind: ServiceKind) -> Fake {
        let service = ServiceConfig::new("Team room", kind, &[ALIAS, "1234"]);
        Fake::with_service(
            service,
            &[(HOST, "Hosta", Role::Host), (GUEST, "Guesto", Role::Guest)],
        )
    }

    /// A VMR with a Host PIN where only [`GUEST`] has arrived, so it waits for a Host;
    /// [`HOST`]'s token works once [`Fake::join`] brings the Host in.
    pub fn waiting_for_host() -> Fake {
        let mut service = ServiceConfig::new("Team room", ServiceKind::Vmr, &[ALIAS, "1234"]);
        service.host_pin = Some(plenum_core::Pin::parse("1234").expect("valid pin"));
        Fake::with_service(service, &[(GUEST, "Guesto", Role::Guest)])
    }

    fn with_service(service: ServiceConfig, present: &[(ParticipantId, &str, Role)]) -> Fake {
        let now = Instant::now();
        let mut conference = Conference::new(now, Arc::new(service));
        for (id, name, role) in present {
            conference
                .handle_join(now, JoinRequest::caller(*id, name, *role))
                .expect("test join");
        }
        while conference.poll_event().is_some() {}
        let tokens = HashMap::from([
            (HOST_TOKEN.to_owned(), HOST),
            (GUEST_TOKEN.to_owned(), GUEST),
        ]);
        Fake {
            state: Mutex::new(State {
                conference,
                now,
                tokens,
                next_id: 1,
                token_requests: Vec::new(),
                calls: Vec::new(),
                token_refusal: None,
                ice: IceServers::default(),
                route_via_registrar: false,
                transfer_answer: Ok(()),
                call_script: CallScript::default(),
                theme: None,
            }),
            events: broadcast::channel(FEED_CAPACITY).0,
            clock: WallClock::new(now, UNIX_EPOCH + Duration::from_secs(EPOCH)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("fake state lock")
    }

    /// Gives the room a theme (`theme/`).
    pub fn set_theme(&self, theme: Theme) {
        self.lock().theme = Some(Arc::new(theme));
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    pub fn commands(&self) -> Vec<(ParticipantId, Command)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Command { by, command } => Some((by, command)),
                _ => None,
            })
            .collect()
    }

    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.lock().token_requests.clone()
    }

    /// Every later `request_token` is refused like this.
    pub fn refuse_tokens(&self, refusal: TokenRefusal) {
        self.lock().token_refusal = Some(refusal);
    }

    /// Every later token grant offers these ICE servers (none by default).
    pub fn offer_ice_servers(&self, ice: IceServers) {
        self.lock().ice = ice;
    }

    /// Every later token grant carries this "route calls via registrar" switch.
    pub fn route_via_registrar(&self, on: bool) {
        self.lock().route_via_registrar = on;
    }

    pub fn answer_transfers(&self, answer: Result<(), TransferError>) {
        self.lock().transfer_answer = answer;
    }

    /// Changes what the media-call methods answer from now on.
    pub fn script_calls(&self, change: impl FnOnce(&mut CallScript)) {
        change(&mut self.lock().call_script);
    }

    /// The media-call requests that reached the fake, in order.
    pub fn media_calls(&self) -> Vec<Call> {
        self.calls().into_iter().filter(Call::is_media).collect()
    }

    /// Records `call` and returns the scripted answer `pick` chooses.
    fn media<T: Send + 'static>(
        &self,
        call: Call,
        pick: impl FnOnce(&CallScript) -> T,
    ) -> BoxFuture<'static, T> {
        let mut state = self.lock();
        state.calls.push(call);
        ready(pick(&state.call_script))
    }

    pub fn snapshot_now(&self) -> ConferenceSnapshot {
        self.lock().conference.snapshot()
    }

    /// Publishes an event to every open stream, as the node's driver would.
    pub fn publish(&self, event: Event) {
        let _ = self.events.send(Arc::new(Published::new(event)));
    }

    /// A caller arrives (as a granted token would) and what it emitted is published.
    pub fn join(&self, id: ParticipantId, name: &str, role: Role) {
        let mut state = self.lock();
        state.now += Duration::from_secs(1);
        let now = state.now;
        state
            .conference
            .handle_join(now, JoinRequest::caller(id, name, role))
            .expect("test join");
        self.flush(&mut state);
    }

    /// Runs a command on the conference directly (as another participant's request
    /// would) and publishes what it emitted.
    pub fn run(&self, by: ParticipantId, command: Command) -> Result<(), Refusal> {
        let mut state = self.lock();
        state.now += Duration::from_secs(1);
        let now = state.now;
        let result = state
            .conference
            .handle_command(now, Actor::Participant(by), command);
        self.flush(&mut state);
        result
    }

    fn flush(&self, state: &mut State) {
        while let Some(event) = state.conference.poll_event() {
            let _ = self.events.send(Arc::new(Published::new(event)));
        }
    }
}

/// The example theme shipped in `config/themes/example`.
pub fn example_theme() -> Theme {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/themes/example");
    let text = std::fs::read_to_string(dir.join("theme.json")).expect("example theme.json");
    Theme::parse(dir, &text).expect("the example theme is valid")
}

fn ready<T: Send + 'static>(value: T) -> BoxFuture<'static, T> {
    async move { value }.boxed()
}

/// Registration is tested against the real node (plenum-node tests/registration.rs).
impl plenum_http::client::backend::RegistrationBackend for Fake {}

impl ClientBackend for Fake {
    fn request_token(
        &self,
        request: TokenRequest,
    ) -> BoxFuture<'_, Result<TokenGrant, TokenRefusal>> {
        let mut state = self.lock();
        state.token_requests.push(request.clone());
        if let Some(refusal) = state.token_refusal.clone() {
            return ready(Err(refusal));
        }
        state.next_id += 1;
        let id = ParticipantId(Uuid::from_u128(0x1000 + state.next_id));
        let now = state.now;
        state
            .conference
            .handle_join(
                now,
                JoinRequest::caller(id, &request.display_name, Role::Host),
            )
            .expect("fake join");
        self.flush(&mut state);
        let token = format!("token-{}", state.next_id);
        state.tokens.insert(token.clone(), id);
        ready(Ok(TokenGrant {
            token: Secret::new(token),
            participant: id,
            role: Role::Host,
            display_name: request.display_name,
            conference: state.conference.snapshot(),
            ice: state.ice.clone(),
            route_via_registrar: state.route_via_registrar,
        }))
    }

    fn refresh_token(
        &self,
        alias: &str,
        token: &str,
    ) -> BoxFuture<'_, Result<Refreshed, InvalidToken>> {
        let mut state = self.lock();
        state.calls.push(Call::Refresh {
            alias: alias.to_owned(),
            token: token.to_owned(),
        });
        let Some(id) = state.tokens.get(token).copied().filter(|_| alias == ALIAS) else {
            return ready(Err(InvalidToken));
        };
        // The old token stops working at once here (the node keeps a short overlap).
        state.tokens.remove(token);
        let new = format!("{token}-r");
        state.tokens.insert(new.clone(), id);
        let role = state
            .conference
            .participant(id)
            .map_or(Role::Guest, |p| p.role);
        ready(Ok(Refreshed {
            token: Secret::new(new),
            role,
        }))
    }

    fn release_token(
        &self,
        alias: &str,
        token: &str,
        reason: Option<String>,
    ) -> BoxFuture<'_, Result<(), InvalidToken>> {
        let mut state = self.lock();
        state.calls.push(Call::Release {
            alias: alias.to_owned(),
            token: token.to_owned(),
            reason,
        });
        let result = match state.tokens.remove(token) {
            Some(_) if alias == ALIAS => Ok(()),
            _ => Err(InvalidToken),
        };
        ready(result)
    }

    fn authenticate(&self, alias: &str, token: &str) -> Result<Caller, InvalidToken> {
        let state = self.lock();
        let id = state.tokens.get(token).copied().ok_or(InvalidToken)?;
        if !alias.eq_ignore_ascii_case(ALIAS) && alias != "1234" {
            return Err(InvalidToken);
        }
        Ok(Caller {
            participant: id,
            conference: Uuid::from_u128(0xc0f),
        })
    }

    fn events(&self, caller: &Caller) -> BoxFuture<'_, Result<EventFeed, InvalidToken>> {
        let state = self.lock();
        let result = if state.conference.participant(caller.participant).is_some() {
            Ok(EventFeed {
                snapshot: state.conference.snapshot(),
                events: self.events.subscribe(),
            })
        } else {
            Err(InvalidToken)
        };
        ready(result)
    }

    fn snapshot(
        &self,
        _caller: &Caller,
    ) -> BoxFuture<'_, Result<ConferenceSnapshot, InvalidToken>> {
        ready(Ok(self.lock().conference.snapshot()))
    }

    fn command(
        &self,
        caller: &Caller,
        command: Command,
    ) -> BoxFuture<'_, Result<Result<(), Refusal>, InvalidToken>> {
        self.lock().calls.push(Call::Command {
            by: caller.participant,
            command: command.clone(),
        });
        ready(Ok(self.run(caller.participant, command)))
    }

    fn transfer(
        &self,
        caller: &Caller,
        target: ParticipantId,
        alias: String,
        role: Role,
        pin: Option<String>,
    ) -> BoxFuture<'_, Result<(), TransferError>> {
        let mut state = self.lock();
        state.calls.push(Call::Transfer {
            by: caller.participant,
            target,
            alias,
            role,
            pin,
        });
        ready(state.transfer_answer.clone())
    }

    fn clock(&self) -> WallClock {
        self.clock
    }

    fn theme(&self, _caller: &Caller) -> Option<Arc<Theme>> {
        self.lock().theme.clone()
    }
}

/// Records every request and answers as scripted; the self-only and ownership checks
/// are left to the HTTP layer, so tests see exactly what reached the node.
impl CallBackend for Fake {
    fn open_call(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        request: CallRequest,
    ) -> BoxFuture<'_, Result<CallAnswer, CallError>> {
        let call = Call::Offer {
            by: caller.participant,
            participant,
            sdp: request.sdp,
            media: request.media,
            present: request.present,
        };
        self.media(call, |s| s.open.clone())
    }

    fn update_call(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: Uuid,
        sdp: String,
    ) -> BoxFuture<'_, Result<String, CallError>> {
        let record = Call::Update {
            by: caller.participant,
            participant,
            call,
            sdp,
        };
        self.media(record, |s| s.update.clone())
    }

    fn add_candidate(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: Uuid,
        candidate: String,
        mid: Option<String>,
    ) -> BoxFuture<'_, Result<(), CallError>> {
        let record = Call::Candidate {
            by: caller.participant,
            participant,
            call,
            candidate,
            mid,
        };
        self.media(record, |s| s.other.clone())
    }

    fn ack_call(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: Uuid,
    ) -> BoxFuture<'_, Result<(), CallError>> {
        let record = Call::Ack {
            by: caller.participant,
            participant,
            call,
        };
        self.media(record, |s| s.other.clone())
    }

    fn disconnect_call(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: Uuid,
    ) -> BoxFuture<'_, Result<(), CallError>> {
        let record = Call::HangUp {
            by: caller.participant,
            participant,
            call,
        };
        self.media(record, |s| s.other.clone())
    }

    fn call_dtmf(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: Uuid,
        digits: String,
    ) -> BoxFuture<'_, Result<Result<(), Refusal>, CallError>> {
        let record = Call::Dtmf {
            by: caller.participant,
            participant,
            call,
            digits,
        };
        self.media(record, |s| s.dtmf.clone())
    }

    fn call_statistics(
        &self,
        caller: &Caller,
        participant: ParticipantId,
        call: Uuid,
        statistics: CallStatistics,
    ) -> BoxFuture<'_, Result<(), CallError>> {
        let record = Call::Statistics {
            by: caller.participant,
            participant,
            call,
            statistics: Box::new(statistics),
        };
        self.media(record, |s| s.other.clone())
    }

    fn presentation_jpeg(
        &self,
        caller: &Caller,
        high: bool,
    ) -> BoxFuture<'_, Result<Option<Bytes>, InvalidToken>> {
        let record = Call::Still {
            by: caller.participant,
            high,
        };
        self.media(record, |s| Ok(s.presentation.clone()))
    }
}

/// The admin side is not under test here.
struct NoAdmin;

impl AdminBackend for NoAdmin {
    fn verify_admin(&self, _: &str, _: &str) -> bool {
        false
    }
    fn record_failed_login(&self, _: String, _: SocketAddr) -> BoxFuture<'_, ()> {
        ready(())
    }
    fn live_conferences(&self) -> BoxFuture<'_, Result<Vec<LiveConference>, BackendError>> {
        ready(Err(BackendError::NotFound))
    }
    fn live_conference(
        &self,
        _: Uuid,
    ) -> BoxFuture<'_, Result<LiveConferenceDetail, BackendError>> {
        ready(Err(BackendError::NotFound))
    }
    fn live_participants(&self) -> BoxFuture<'_, Result<Vec<LiveParticipant>, BackendError>> {
        ready(Err(BackendError::NotFound))
    }
    fn live_registrations(&self) -> BoxFuture<'_, Result<Vec<LiveRegistration>, BackendError>> {
        ready(Err(BackendError::NotFound))
    }
    fn conference_history(
        &self,
        _: PageRequest,
    ) -> BoxFuture<'_, Result<Page<ConferenceRecord>, BackendError>> {
        ready(Err(BackendError::NotFound))
    }
    fn conference_history_participants(
        &self,
        _: Uuid,
    ) -> BoxFuture<'_, Result<Vec<ParticipantRecord>, BackendError>> {
        ready(Err(BackendError::NotFound))
    }
    fn audit_log(&self, _: PageRequest) -> BoxFuture<'_, Result<Page<AuditRecord>, BackendError>> {
        ready(Err(BackendError::NotFound))
    }
    fn lock_conference(
        &self,
        _: Uuid,
        _: bool,
        _: AdminActor,
    ) -> BoxFuture<'_, Result<(), BackendError>> {
        ready(Err(BackendError::NotFound))
    }
    fn disconnect_conference(
        &self,
        _: Uuid,
        _: AdminActor,
    ) -> BoxFuture<'_, Result<(), BackendError>> {
        ready(Err(BackendError::NotFound))
    }
    fn disconnect_participant(
        &self,
        _: Uuid,
        _: AdminActor,
    ) -> BoxFuture<'_, Result<(), BackendError>> {
        ready(Err(BackendError::NotFound))
    }
}

/// An answer, with its body read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON, after checking the Content-Type is exactly `application/json`.
    pub fn json(&self) -> Value {
        assert_eq!(
            self.headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "content type of {:?}",
            self.body
        );
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    /// Asserts `{"status":"failed","result": reason}` with `status`.
    pub fn assert_failed(&self, status: StatusCode, reason: &str) {
        assert_eq!(self.status, status, "{:?}", self.body);
        assert_eq!(
            self.json(),
            serde_json::json!({"status": "failed", "result": reason})
        );
    }

    /// Asserts 200 `{"status":"success","result": result}`.
    pub fn assert_success(&self, result: Value) {
        assert_eq!(self.status, StatusCode::OK, "{:?}", self.body);
        assert_eq!(
            self.json(),
            serde_json::json!({"status": "success", "result": result})
        );
    }
}

/// The router over a [`Fake`].
pub struct Api {
    pub fake: Arc<Fake>,
    pub app: Router,
}

impl Api {
    pub fn new() -> Api {
        Api::with(Fake::new(ServiceKind::Vmr), Vec::new())
    }

    pub fn with(fake: Fake, cors_origins: Vec<String>) -> Api {
        let fake = Arc::new(fake);
        let state = AppState::new(Arc::new(NoAdmin), fake.clone()).with_cors_origins(cors_origins);
        Api {
            fake,
            app: router(state),
        }
    }

    /// The full path of `suffix` under the conference.
    pub fn path(suffix: &str) -> String {
        format!("/api/client/v2/conferences/{ALIAS}/{suffix}")
    }

    pub fn request(
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Request<Body> {
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_owned()));
        let mut request = builder.body(body).expect("valid test request");
        request
            .extensions_mut()
            .insert(ConnectInfo(CLIENT.parse::<SocketAddr>().expect("address")));
        request
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
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
        Reply {
            status,
            headers,
            body,
        }
    }

    /// GET `suffix` with `token` in the header.
    pub async fn get(&self, suffix: &str, token: &str) -> Reply {
        self.send(Api::request(
            Method::GET,
            &Api::path(suffix),
            &[("token", token)],
            None,
        ))
        .await
    }

    /// POST `suffix` with `token` in the header and an optional JSON body.
    pub async fn post(&self, suffix: &str, token: &str, body: Option<&str>) -> Reply {
        let mut headers = vec![("token", token)];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        self.send(Api::request(
            Method::POST,
            &Api::path(suffix),
            &headers,
            body,
        ))
        .await
    }

    /// POST `request_token` with `body` and optional headers.
    pub async fn request_token(&self, body: &str, headers: &[(&str, &str)]) -> Reply {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.send(Api::request(
            Method::POST,
            &Api::path("request_token"),
            &all,
            Some(body),
        ))
        .await
    }

    /// Opens `events?token=` and returns a reader over the stream.
    pub async fn events(&self, token: &str) -> Result<SseReader, Reply> {
        let uri = Api::path(&format!("events?token={token}"));
        let response = self
            .app
            .clone()
            .oneshot(Api::request(Method::GET, &uri, &[], None))
            .await
            .expect("router is infallible");
        if response.status() != StatusCode::OK {
            let status = response.status();
            let headers = response.headers().clone();
            let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .expect("body is readable");
            return Err(Reply {
                status,
                headers,
                body,
            });
        }
        Ok(SseReader {
            headers: response.headers().clone(),
            stream: Box::pin(response.into_body().into_data_stream()),
            buffer: String::new(),
            parsed: VecDeque::new(),
        })
    }
}

type DataStream = Pin<Box<dyn Stream<Item = Result<Bytes, axum::Error>> + Send>>;

/// Reads `event:`/`data:` frames from an event stream, skipping comments.
pub struct SseReader {
    pub headers: HeaderMap,
    stream: DataStream,
    buffer: String,
    parsed: VecDeque<(String, Value)>,
}

impl SseReader {
    /// The next event, or `None` once the stream has ended.
    pub async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(event) = self.parsed.pop_front() {
                return Some(event);
            }
            let chunk = match self.stream.next().await {
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => panic!("stream failed: {e}"),
                None => return None,
            };
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("utf-8 stream"));
            while let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let mut name = None;
                let mut data = String::new();
                for line in frame.lines() {
                    if let Some(n) = line.strip_prefix("event: ") {
                        name = Some(n.to_owned());
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data.push_str(d);
                    }
                }
                if let Some(name) = name {
                    assert!(!data.is_empty(), "event {name} has no data");
                    let value = serde_json::from_str(&data)
                        .unwrap_or_else(|e| panic!("event {name} data is not JSON ({e}): {data}"));
                    self.parsed.push_back((name, value));
                }
            }
        }
    }

    /// The names of the next `n` events.
    pub async fn names(&mut self, n: usize) -> Vec<String> {
        let mut names = Vec::with_capacity(n);
        for _ in 0..n {
            let (name, _) = self.next().await.expect("stream goes on");
            names.push(name);
        }
        names
    }

    /// Skips to the next event called `name`, returning its data.
    pub async fn until(&mut self, name: &str) -> Value {
        loop {
            let (n, data) = self.next().await.expect("stream goes on");
            if n == name {
                return data;
            }
        }
    }
}
