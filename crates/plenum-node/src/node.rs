//! The running node: the gate, the registry of live conferences, the history writer,
//! the configuration in force and its reload.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use plenum_core::{
    CallType, DisconnectReason, Entry, EntryRefusal, Gate, JoinError, JoinOutcome, JoinRequest,
    ParticipantId, PinInput, Protocol, Role, Secret, ServiceConfig, ServiceKind, normalize_alias,
};
use plenum_media::engine::{EngineConfig, RoomConfig};
use plenum_media::peer::PeerConfig;
use plenum_store::Store;
use tokio::sync::{Notify, mpsc};
use tracing::{info, warn};
use uuid::Uuid;

use crate::config::{Config, Switches};
use crate::driver::{self, ConferenceHandle, HistoryEvent, WallClock};
use crate::history::{self, MediaQualities};
use crate::registrar::Registrar;
use crate::registrar::guard::CredentialGuard;
use crate::session::{self, Session, Sessions, Tickets};
use crate::sso::Sso;
use crate::sso::store::{SignInFor, SignedIn};

pub mod admission;
pub mod calls;
pub mod registrations;
pub use registrations::RingingCall;

/// A caller asking to join.
#[derive(Debug, Clone)]
pub struct JoinAttempt {
    /// Opaque caller key for PIN counting (the client address).
    pub caller: String,
    /// The alias dialled.
    pub alias: String,
    /// What a Virtual Reception caller typed.
    pub extension: Option<String>,
    /// The PIN as sent.
    pub pin: PinInput,
    /// Name for the roster (already trimmed and capped by the front end).
    pub display_name: String,
    /// What media the participant will exchange.
    pub call_type: CallType,
    /// How the participant reached the node.
    pub protocol: Protocol,
}

/// A participant now in (or waiting at) a conference.
#[derive(Debug, Clone)]
pub struct Joined {
    /// The participant's identity.
    pub participant: ParticipantId,
    /// The conference it is in.
    pub conference: ConferenceHandle,
    /// The gate's verdict: service and role.
    pub entry: Entry,
    /// In the meeting or waiting.
    pub outcome: JoinOutcome,
}

/// Why a join did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinRefusal {
    /// The gate said no or asks for more (PIN, extension).
    Gate(EntryRefusal),
    /// The node refuses for a reason with a #pex code (maintenance, full, disabled).
    Refused(DisconnectReason),
}

/// The node's live state, shared by the front end and the drivers.
#[derive(Debug)]
pub struct Node {
    /// Maps core instants to wall-clock time.
    pub clock: WallClock,
    /// Directory, PINs and the brute-force guard.
    gate: Mutex<Gate>,
    /// Live conferences by registry key (service name; per caller for test calls).
    conferences: Arc<Mutex<HashMap<String, ConferenceHandle>>>,
    /// Woken whenever a conference driver finishes.
    conference_ended: Arc<Notify>,
    /// The configuration in force (replaced whole on reload).
    config: RwLock<Arc<Config>>,
    /// Media settings derived from it, for conferences started from now on.
    media: RwLock<Arc<EngineConfig>>,
    /// Where drivers send history.
    history: mpsc::UnboundedSender<HistoryEvent>,
    /// Where drivers report participants who left (their sessions end).
    departures: mpsc::UnboundedSender<ParticipantId>,
    /// Client API sessions and their tokens.
    sessions: Mutex<Sessions>,
    /// Woken when a session is added or refreshed, so the reaper re-reads deadlines.
    sessions_changed: Arc<Notify>,
    /// One-time join tickets from transfers.
    tickets: Mutex<Tickets>,
    /// Participants on the node now, all conferences together.
    participants: std::sync::atomic::AtomicUsize,
    /// Set once shutdown has begun: new joins are refused.
    shutting_down: std::sync::atomic::AtomicBool,
    /// The database.
    store: Store,
    /// Single sign-on: pending sign-ins, one-time sign-in tokens, discovery cache.
    sso: Sso,
    /// Registered devices and the calls ringing them.
    registrar: Mutex<Registrar<RingingCall>>,
    /// Woken when a registration or ring is added or refreshed, so its reaper re-reads
    /// deadlines.
    registrar_changed: Arc<Notify>,
    /// Failed registration sign-ins per address and per alias.
    credential_guard: Mutex<CredentialGuard>,
    /// Failed admin logins per address and per user name.
    admin_guard: Mutex<CredentialGuard>,
    /// Each participant's last media quality report, until the history writer takes it
    /// when they leave.
    media_quality: MediaQualities,
    /// What the node may carry and what its media calls cost.
    admission: admission::Admission,
}

impl Node {
    /// Builds the node from a validated configuration and an open store, and starts
    /// the history writer.
    pub fn new(config: Config, store: Store) -> Result<Arc<Node>, plenum_core::DirectoryError> {
        let directory = config.directory()?;
        let clock = WallClock::new(driver::now(), SystemTime::now());
        let (history, rx) = mpsc::unbounded_channel();
        let media_quality = MediaQualities::default();
        tokio::spawn(history::write(
            store.clone(),
            clock,
            rx,
            media_quality.clone(),
        ));
        let (departures, departed) = mpsc::unbounded_channel();
        let sso = Sso::new(config.node.listen.port());
        let node = Arc::new(Node {
            clock,
            gate: Mutex::new(Gate::new(directory)),
            conferences: Arc::new(Mutex::new(HashMap::new())),
            conference_ended: Arc::new(Notify::new()),
            media: RwLock::new(engine_config(&config)),
            config: RwLock::new(Arc::new(config)),
            history,
            departures,
            sessions: Mutex::new(Sessions::default()),
            sessions_changed: Arc::new(Notify::new()),
            tickets: Mutex::new(Tickets::default()),
            participants: std::sync::atomic::AtomicUsize::new(0),
            shutting_down: std::sync::atomic::AtomicBool::new(false),
            store,
            sso,
            registrar: Mutex::new(Registrar::default()),
            registrar_changed: Arc::new(Notify::new()),
            credential_guard: Mutex::new(CredentialGuard::default()),
            admin_guard: Mutex::new(CredentialGuard::default()),
            media_quality,
            admission: admission::Admission::default(),
        });
        node.start_capacity();
        tokio::spawn(registrations::reap_registrations(
            Arc::downgrade(&node),
            node.registrar_changed.clone(),
        ));
        tokio::spawn(reap_sessions(
            Arc::downgrade(&node),
            node.sessions_changed.clone(),
            departed,
        ));
        Ok(node)
    }

    /// Sets the node's capacity: `node.capacity_hd_calls` at once, else measured with
    /// the real media kernels on a thread of its own (calls are admitted meanwhile).
    fn start_capacity(self: &Arc<Self>) {
        let configured = self.config().node.capacity_hd_calls;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        if configured.is_some() {
            if let Ok((capacity, source)) = admission::capacity_for(configured, cpus) {
                self.admission.set_capacity(capacity, source);
            }
            return;
        }
        let node = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("capacity".to_owned())
            .spawn(move || match admission::capacity_for(None, cpus) {
                Ok((capacity, source)) => {
                    tracing::info!(
                        cpus,
                        hd_calls = capacity.calls(plenum_media::capacity::CallClass::Hd),
                        sd_calls = capacity.calls(plenum_media::capacity::CallClass::Sd),
                        audio_calls = capacity.calls(plenum_media::capacity::CallClass::Audio),
                        "capacity measured; media calls beyond it are downgraded to audio, then refused (set node.capacity_hd_calls to override)"
                    );
                    if let Some(node) = node.upgrade() {
                        node.admission.set_capacity(capacity, source);
                    }
                }
                Err(error) => tracing::warn!(
                    %error,
                    "cannot measure capacity; media calls are not limited (set node.capacity_hd_calls)"
                ),
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "cannot start the capacity measurement; media calls are not limited");
        }
    }

    /// Admission control for media calls, with the calls that ended (by any path)
    /// already forgotten.
    pub fn admission(&self) -> &admission::Admission {
        self.admission.prune(|participant, call| {
            self.session_of(participant)
                .is_some_and(|s| s.conference.media.has_call(participant, call))
        });
        &self.admission
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .expect("config lock is never poisoned: no code panics while holding it")
            .clone()
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Global switches in force.
    pub fn switches(&self) -> Switches {
        self.config().switches
    }

    /// Lets a caller in: switches, gate, then the conference (started if needed). A
    /// device alias, dialled or keyed as a reception's extension, is a call to the
    /// person registered there.
    pub async fn join(&self, attempt: JoinAttempt) -> Result<Joined, JoinRefusal> {
        self.check_switches()?;
        let config = self.config();
        if let Some(device) = config.device(&attempt.alias) {
            return self.call_person(device.clone(), attempt).await;
        }
        if let Some(extension) = &attempt.extension
            && let Some(device) = config.device(extension)
            && self.is_reception(&attempt.alias)
        {
            return self.call_person(device.clone(), attempt).await;
        }
        let entry = {
            let mut gate = self.gate.lock().expect("gate lock is never poisoned");
            gate.enter(
                driver::now(),
                &attempt.caller,
                &attempt.alias,
                attempt.extension.as_deref(),
                &attempt.pin,
            )
        }
        .map_err(JoinRefusal::Gate)?;
        self.admit(entry, attempt).await
    }

    /// Lets a transferred participant in with its one-time ticket: no PIN, the role the
    /// transfer granted. The ticket must be for the service behind `attempt.alias`. A
    /// device's incoming token (not a transfer's) answers the call it rings for.
    pub async fn join_with_ticket(
        &self,
        ticket: &Secret,
        attempt: JoinAttempt,
    ) -> Result<Joined, JoinRefusal> {
        self.check_switches()?;
        let entry = self
            .tickets
            .lock()
            .expect("tickets lock is never poisoned")
            .redeem(driver::now(), ticket.expose());
        let Some(entry) = entry else {
            return self.answer(ticket, &attempt.alias).await;
        };
        let target = self
            .gate
            .lock()
            .expect("gate lock is never poisoned")
            .directory()
            .lookup(&attempt.alias)
            .cloned();
        match (entry, target) {
            (entry, Some(target)) if target.name == entry.service.name => {
                self.admit(entry, attempt).await
            }
            _ => Err(JoinRefusal::Refused(DisconnectReason::InvalidToken)),
        }
    }

    /// Keeps `participant`'s latest media quality report.
    pub fn record_media_quality(&self, participant: ParticipantId, quality: serde_json::Value) {
        self.media_quality
            .lock()
            .expect("media quality lock is never poisoned")
            .insert(participant, quality);
    }

    /// The participants' latest media quality reports.
    pub fn media_qualities(&self) -> HashMap<ParticipantId, serde_json::Value> {
        self.media_quality
            .lock()
            .expect("media quality lock is never poisoned")
            .clone()
    }

    /// Whether an admin login as `username` from `addr` is considered now (`Err`: how
    /// long to wait after repeated failures from that address or for that user name).
    pub fn admin_login_allowed(&self, username: &str, addr: SocketAddr) -> Result<(), Duration> {
        self.admin_guard
            .lock()
            .expect("admin guard lock is never poisoned")
            .check(driver::now(), &admin_guard_keys(username, addr))
    }

    /// Counts a failed admin login toward the back-off.
    pub fn admin_login_failed(&self, username: &str, addr: SocketAddr) {
        self.admin_guard
            .lock()
            .expect("admin guard lock is never poisoned")
            .fail(driver::now(), &admin_guard_keys(username, addr));
    }

    /// A good admin login: its address and user name start afresh.
    pub fn admin_login_succeeded(&self, username: &str, addr: SocketAddr) {
        self.admin_guard
            .lock()
            .expect("admin guard lock is never poisoned")
            .succeed(&admin_guard_keys(username, addr));
    }

    /// Single sign-on state.
    pub fn sso(&self) -> &Sso {
        &self.sso
    }

    /// Lets a Host in with the one-time `sso_token` of a finished sign-in for the
    /// service behind `attempt.alias`, under the name the sign-in proved. The token is
    /// used up whatever the outcome.
    pub async fn join_signed_in(
        &self,
        token: &Secret,
        mut attempt: JoinAttempt,
    ) -> Result<(Joined, SignedIn), JoinRefusal> {
        self.check_switches().map_err(|refusal| match refusal {
            JoinRefusal::Refused(DisconnectReason::MaintenanceMode) => {
                JoinRefusal::Refused(DisconnectReason::SsoMaintenance)
            }
            other => other,
        })?;
        let service = self
            .gate
            .lock()
            .expect("gate lock is never poisoned")
            .directory()
            .lookup(&attempt.alias)
            .cloned()
            .ok_or(JoinRefusal::Gate(EntryRefusal::AliasNotFound))?;
        let signed_in = self
            .sso
            .redeem(token, &SignInFor::Host(service.name.clone()), driver::now())
            .ok_or(JoinRefusal::Refused(DisconnectReason::SsoFailed))?;
        attempt.display_name = signed_in.display_name.clone();
        let entry = Entry {
            service,
            role: Role::Host,
            // The sign-in proved a Host, as the Host PIN does: a locked room lets them in.
            via_host_pin: true,
        };
        let joined = self.admit(entry, attempt).await?;
        Ok((joined, signed_in))
    }

    /// Whether `alias` reaches a Virtual Reception.
    fn is_reception(&self, alias: &str) -> bool {
        self.gate
            .lock()
            .expect("gate lock is never poisoned")
            .directory()
            .lookup(alias)
            .is_some_and(|s| s.kind == ServiceKind::Reception)
    }

    /// Issues a one-time ticket to join as `entry` says (a transfer).
    pub fn issue_ticket(&self, entry: Entry) -> Secret {
        self.tickets
            .lock()
            .expect("tickets lock is never poisoned")
            .issue(driver::now(), entry)
    }

    /// Checks a transfer destination: alias, role and the PIN the Host gave.
    pub fn check_transfer(
        &self,
        alias: &str,
        role: Role,
        pin: Option<&str>,
    ) -> Result<Entry, EntryRefusal> {
        self.gate
            .lock()
            .expect("gate lock is never poisoned")
            .check_transfer(alias, role, pin)
    }

    fn check_switches(&self) -> Result<(), JoinRefusal> {
        // A node on its way down sends callers elsewhere, as maintenance mode does.
        if self
            .shutting_down
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Err(JoinRefusal::Refused(DisconnectReason::MaintenanceMode));
        }
        let switches = self.switches();
        if switches.maintenance_mode {
            return Err(JoinRefusal::Refused(DisconnectReason::MaintenanceMode));
        }
        if !switches.client_access_enabled {
            return Err(JoinRefusal::Refused(DisconnectReason::ClientAccessDisabled));
        }
        Ok(())
    }

    /// Adds a participant the gate let through to its service's conference.
    async fn admit(&self, entry: Entry, attempt: JoinAttempt) -> Result<Joined, JoinRefusal> {
        // Count the seat before joining, so concurrent joins can't overshoot the cap.
        if !self.take_seat() {
            return Err(JoinRefusal::Refused(DisconnectReason::OutOfResource));
        }
        let admitted = self.join_conference(entry, attempt).await;
        if admitted.is_err() {
            self.free_seat();
        }
        admitted
    }

    /// Participants on the node now, all conferences together.
    pub fn participant_count(&self) -> usize {
        self.participants.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn join_conference(
        &self,
        entry: Entry,
        attempt: JoinAttempt,
    ) -> Result<Joined, JoinRefusal> {
        let participant = ParticipantId(Uuid::new_v4());
        let request = JoinRequest {
            id: participant,
            display_name: attempt.display_name,
            role: entry.role,
            via_host_pin: entry.via_host_pin,
            invited: false,
            call_type: attempt.call_type,
            protocol: attempt.protocol,
            external: false,
            keeps_alive: true,
        };
        // A conference may end between lookup and join; then a new one starts.
        for _ in 0..3 {
            let (conference, started) =
                self.conference_for(&entry.service, &attempt.alias, participant);
            match conference.join(request.clone()).await {
                Ok(Ok(outcome)) => {
                    if started {
                        self.auto_dial(&conference, &entry.service).await;
                    }
                    return Ok(Joined {
                        participant,
                        conference,
                        entry,
                        outcome,
                    });
                }
                Ok(Err(JoinError::Full)) => {
                    return Err(JoinRefusal::Refused(
                        DisconnectReason::ParticipantLimitReached,
                    ));
                }
                Ok(Err(JoinError::Ended | JoinError::DuplicateId | JoinError::NotRinging))
                | Err(driver::Gone) => {
                    self.forget(&conference);
                }
            }
        }
        warn!(alias = %attempt.alias, "could not join a conference after three tries");
        Err(JoinRefusal::Refused(DisconnectReason::OutOfResource))
    }

    /// Starts an API session for a participant who just joined; returns its first token.
    pub fn open_session(&self, joined: &Joined, alias: &str) -> Secret {
        let token = session::new_token();
        let session = Session {
            participant: joined.participant,
            conference: joined.conference.clone(),
            service_name: joined.entry.service.name.clone(),
            joined_alias: normalize_alias(alias),
            expires_at: driver::now() + session::TOKEN_LIFETIME,
        };
        self.sessions
            .lock()
            .expect("sessions lock is never poisoned")
            .insert(&token, session);
        self.sessions_changed.notify_one();
        token
    }

    /// The session a live token acts for, if `alias` reaches its conference (any alias
    /// of its service, or the alias it dialled, e.g. a reception).
    pub fn session(&self, alias: &str, token: &str) -> Option<Session> {
        let session = self
            .sessions
            .lock()
            .expect("sessions lock is never poisoned")
            .lookup(driver::now(), token)?
            .clone();
        let same_service = || {
            let gate = self.gate.lock().expect("gate lock is never poisoned");
            gate.directory()
                .lookup(alias)
                .is_some_and(|s| s.name == session.service_name)
        };
        (normalize_alias(alias) == session.joined_alias || same_service()).then_some(session)
    }

    /// The session of a participant.
    pub fn session_of(&self, participant: ParticipantId) -> Option<Session> {
        self.sessions
            .lock()
            .expect("sessions lock is never poisoned")
            .session(participant)
            .cloned()
    }

    /// Rotates a live token; `None` if it is not live for `alias`.
    pub fn refresh_session(&self, alias: &str, token: &str) -> Option<(Session, Secret)> {
        self.session(alias, token)?;
        let new = session::new_token();
        let session = self
            .sessions
            .lock()
            .expect("sessions lock is never poisoned")
            .refresh(driver::now(), token, &new)?
            .clone();
        self.sessions_changed.notify_one();
        Some((session, new))
    }

    /// Ends a session: its tokens stop working and the participant leaves.
    pub async fn close_session(&self, participant: ParticipantId, reason: DisconnectReason) {
        let session = self
            .sessions
            .lock()
            .expect("sessions lock is never poisoned")
            .remove(participant);
        if let Some(session) = session {
            session.conference.leave(participant, reason).await;
        }
    }

    /// The running conference of a service, started if there is none (then `true`).
    /// Each test call runs alone.
    fn conference_for(
        &self,
        service: &Arc<ServiceConfig>,
        alias: &str,
        participant: ParticipantId,
    ) -> (ConferenceHandle, bool) {
        let key = match service.kind {
            ServiceKind::TestCall => format!("{}#{participant}", service.name),
            _ => service.name.clone(),
        };
        let mut conferences = self
            .conferences
            .lock()
            .expect("registry lock is never poisoned");
        if let Some(handle) = conferences.get(&key).filter(|h| h.is_running()) {
            return (handle.clone(), false);
        }
        let registry = Arc::downgrade(&self.conferences);
        let ended = self.conference_ended.clone();
        let forget_key = key.clone();
        let handle = driver::spawn(
            service.clone(),
            alias.to_owned(),
            self.history.clone(),
            self.departures.clone(),
            self.media
                .read()
                .expect("media config lock is never poisoned")
                .clone(),
            move |id| {
                if let Some(registry) = registry.upgrade() {
                    let mut conferences = registry.lock().expect("registry lock is never poisoned");
                    if conferences.get(&forget_key).is_some_and(|h| h.id == id) {
                        conferences.remove(&forget_key);
                    }
                }
                ended.notify_waiters();
            },
        );
        conferences.insert(key, handle.clone());
        (handle, true)
    }

    fn forget(&self, conference: &ConferenceHandle) {
        self.conferences
            .lock()
            .expect("registry lock is never poisoned")
            .retain(|_, h| h.id != conference.id);
    }

    /// Every live conference.
    pub fn conferences(&self) -> Vec<ConferenceHandle> {
        self.conferences
            .lock()
            .expect("registry lock is never poisoned")
            .values()
            .cloned()
            .collect()
    }

    /// A live conference by instance id.
    pub fn conference(&self, id: Uuid) -> Option<ConferenceHandle> {
        self.conferences().into_iter().find(|h| h.id == id)
    }

    /// Applies a reloaded configuration: new joins and new conferences use it; running
    /// conferences get their service's new settings for joins from now on.
    pub async fn reload(&self, config: Config) -> Result<(), plenum_core::DirectoryError> {
        let directory = config.directory()?;
        let services: HashMap<String, Arc<ServiceConfig>> = directory
            .services()
            .iter()
            .map(|s| (s.name.clone(), s.clone()))
            .collect();
        self.gate
            .lock()
            .expect("gate lock is never poisoned")
            .replace_directory(directory);
        *self
            .media
            .write()
            .expect("media config lock is never poisoned") = engine_config(&config);
        *self.config.write().expect("config lock is never poisoned") = Arc::new(config);
        for conference in self.conferences() {
            if let Some(service) = services.get(&conference.service_name) {
                conference.replace_service(service.clone()).await;
            }
        }
        info!(services = services.len(), "configuration reloaded");
        Ok(())
    }

    /// Waits until every conference has handled the inputs sent to it so far and the
    /// history they caused is written (admin views, tests and shutdown read after it).
    pub async fn settle(&self) {
        for conference in self.conferences() {
            // An ended conference has nothing left to handle.
            let _ = conference.snapshot().await;
        }
        self.flush_history().await;
    }

    /// Waits until the history sent so far is written.
    async fn flush_history(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.history.send(HistoryEvent::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Ends every conference and waits (up to `grace`) for the drivers to finish and
    /// the history to be written.
    pub async fn shutdown(&self, grace: Duration) {
        self.shutting_down
            .store(true, std::sync::atomic::Ordering::Relaxed);
        for conference in self.conferences() {
            conference.end(DisconnectReason::NodeShuttingDown).await;
        }
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let ended = self.conference_ended.notified();
            let running = self.conferences().len();
            if running == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                warn!(
                    running,
                    "conferences still running at the end of the shutdown grace period"
                );
                break;
            }
        }
        if tokio::time::timeout_at(deadline, self.flush_history())
            .await
            .is_err()
        {
            warn!("history not fully written at the end of the shutdown grace period");
        }
        let pending = crate::history::HISTORY_STATS.pending();
        if pending > 0 {
            tracing::error!(
                rows = pending,
                "the node stops while the history database is unavailable: these history rows are lost"
            );
        }
    }
}

/// Ends API sessions whose token was not refreshed in time (the participant leaves with
/// "Timer expired awaiting token refresh"), and forgets the sessions of participants who
/// left for any other reason. Runs until the node is gone.
async fn reap_sessions(
    node: std::sync::Weak<Node>,
    sessions_changed: Arc<Notify>,
    mut departed: mpsc::UnboundedReceiver<ParticipantId>,
) {
    loop {
        let changed = sessions_changed.notified();
        let Some(strong) = node.upgrade() else { return };
        let next = strong
            .sessions
            .lock()
            .expect("sessions lock is never poisoned")
            .next_expiry();
        drop(strong);
        let sleep = async {
            match next {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = sleep => {
                let Some(node) = node.upgrade() else { return };
                let expired = node.sessions.lock().expect("sessions lock is never poisoned").take_expired(driver::now());
                for session in expired {
                    info!(participant = %session.participant, "token not refreshed in time; the participant leaves");
                    session.conference.leave(session.participant, DisconnectReason::TokenExpired).await;
                }
            }
            participant = departed.recv() => {
                let Some(participant) = participant else { return };
                let Some(node) = node.upgrade() else { return };
                node.free_seat();
                node.sessions.lock().expect("sessions lock is never poisoned").remove(participant);
                // A dialled participant that left while ringing: its device stops ringing.
                let cancelled = node.registrar.lock().expect("registrar lock is never poisoned").cancel_where(|call| call.participant == participant);
                if !cancelled.is_empty() {
                    node.registrar_changed.notify_one();
                }
            }
            () = changed => {}
        }
    }
}

/// The media engine settings of a configuration: UDP on the listen address's IP within
/// the media port range, the advertised public IPs, and the name-tile font (read here,
/// once per start or reload; unreadable = colour-only name tiles, logged).
fn engine_config(config: &Config) -> Arc<EngineConfig> {
    let font = config
        .node
        .name_font
        .as_ref()
        .and_then(|path| match std::fs::read(path) {
            Ok(bytes) => Some(Arc::new(bytes)),
            Err(error) => {
                warn!(path = %path.display(), %error, "name font unreadable: name tiles show colour only (set node.name_font)");
                None
            }
        });
    let mut peer = PeerConfig::new(config.node.listen.ip());
    peer.port_range = (config.node.media_ports.first, config.node.media_ports.last);
    peer.public_ips = config.node.public_ips.clone();
    // The client waits 5 s for an answer; candidates found later are trickled.
    peer.gather_timeout = Duration::from_millis(1500);
    peer.h264 = config.switches.h264_enabled;
    Arc::new(EngineConfig {
        peer,
        room: RoomConfig {
            font,
            ..RoomConfig::default()
        },
    })
}

/// The failure-counting keys of an admin login: its address and the user name tried
/// (case ignored, as admin names are).
fn admin_guard_keys(username: &str, addr: SocketAddr) -> Vec<String> {
    vec![
        format!("addr:{}", addr.ip()),
        format!("user:{}", username.to_lowercase()),
    ]
}
