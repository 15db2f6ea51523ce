//! Services (rooms) and their settings, the alias directory, and who gets in as what.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::layout::Layout;
use crate::pin::{Pin, PinGuard, PinInput};
use crate::role::Role;

/// The kind of service an alias leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKind {
    /// Virtual Meeting Room: a standing room; layout changes affect everyone.
    Vmr,
    /// Virtual Auditorium: layout changes affect what Hosts see; Guests raise hands.
    Auditorium,
    /// Virtual Reception: a lobby that moves the caller to a room by extension.
    Reception,
    /// Test Call: a loopback room per caller that ends after a set time.
    TestCall,
    /// A call to a person: a private meeting the node makes for a caller and the
    /// registered device it dials; it ends when one of two parties is left.
    PersonCall,
}

impl ServiceKind {
    /// The configuration spelling (`vmr`, `auditorium`, `reception`, `test_call`;
    /// `person_call` is made by the node, never configured).
    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Vmr => "vmr",
            ServiceKind::Auditorium => "auditorium",
            ServiceKind::Reception => "reception",
            ServiceKind::TestCall => "test_call",
            ServiceKind::PersonCall => "person_call",
        }
    }
}

/// Per-service timers. All are deadlines the conference reports through `poll_timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// How long a Guest may wait for a Host before #pex126.
    pub waiting_for_host: Duration,
    /// How long a participant may wait to be admitted to a locked meeting before #pex126.
    pub admission: Duration,
    /// Grace period after the last Host left before the Guests are disconnected (#pex141).
    pub hosts_left_grace: Duration,
    /// How long the last remaining participant may stay alone (#pex142); `None` = forever.
    pub alone: Option<Duration>,
    /// How long a caller who used up their PIN tries stays refused.
    pub pin_entry: Duration,
    /// Length of a test call (#pex143).
    pub test_call: Duration,
    /// How long a dialled participant may ring before the call is given up (#pex150).
    pub ring: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            waiting_for_host: Duration::from_secs(900),
            admission: Duration::from_secs(900),
            hosts_left_grace: Duration::from_secs(60),
            alone: None,
            pin_entry: Duration::from_secs(120),
            test_call: Duration::from_secs(30),
            ring: Duration::from_secs(30),
        }
    }
}

/// Longest timer a service may configure (a week): deadlines stay far from overflow.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Largest participant limit a service may configure.
pub const MAX_PARTICIPANT_LIMIT: u32 = 10_000;

/// One configured service, with effective settings (global switches already applied by
/// the node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    /// Unique name, shown to admins and in history.
    pub name: String,
    /// What the service is.
    pub kind: ServiceKind,
    /// Addresses that reach it; matched case-insensitively.
    pub aliases: Vec<String>,
    /// PIN that makes a caller Host; `None` = everyone is Host.
    pub host_pin: Option<Pin>,
    /// PIN that makes a caller Guest; requires a Host PIN (or Host sign-in) and Guests
    /// allowed.
    pub guest_pin: Option<Pin>,
    /// Identity providers (by configured name) a Host must sign in with (`host_sso`);
    /// empty = no single sign-on. Excludes a Host PIN: the sign-in proves the Host.
    pub host_sso: Vec<String>,
    /// Whether Guests may join at all (only meaningful with a Host PIN).
    pub allow_guests: bool,
    /// Most participants at once (waiting ones included); `None` = no limit.
    pub participant_limit: Option<u32>,
    /// Layout at the start of each conference.
    pub default_layout: Layout,
    /// Whether Guests may take the presentation floor.
    pub guests_can_present: bool,
    /// Whether chat is on (global switch and service override already combined).
    pub chat_enabled: bool,
    /// The service's timers.
    pub timeouts: Timeouts,
    /// Registered devices the node rings when the conference starts (`auto_dial`).
    pub auto_dial: Vec<AutoDial>,
}

/// A device a room rings automatically when its conference starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoDial {
    /// The device alias.
    pub alias: String,
    /// The role it joins with.
    pub role: Role,
    /// Whether it keeps the meeting alive on its own (behaviour §3: by default not).
    pub keeps_alive: bool,
}

impl ServiceConfig {
    /// A service of `kind` with the given name and aliases and default settings: no PINs,
    /// Guests allowed, no limit, layout `ac`, Guests may present, chat on.
    pub fn new(name: &str, kind: ServiceKind, aliases: &[&str]) -> ServiceConfig {
        ServiceConfig {
            name: name.to_owned(),
            kind,
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
            host_pin: None,
            guest_pin: None,
            host_sso: Vec::new(),
            allow_guests: true,
            participant_limit: None,
            default_layout: Layout::Adaptive,
            guests_can_present: true,
            chat_enabled: true,
            timeouts: Timeouts::default(),
            auto_dial: Vec::new(),
        }
    }

    /// Whether Hosts prove themselves by signing in with an identity provider.
    pub fn requires_host_sso(&self) -> bool {
        !self.host_sso.is_empty()
    }

    /// Whether Hosts must prove themselves (a Host PIN or a sign-in), so callers can be
    /// Guests.
    pub fn has_host_check(&self) -> bool {
        self.host_pin.is_some() || self.requires_host_sso()
    }

    /// Whether this service has two roles, so Guests can wait for a Host.
    pub fn has_guest_role(&self) -> bool {
        self.has_host_check() && self.allow_guests
    }

    /// Checks the rules that make a service usable; names the first broken one.
    pub fn validate(&self) -> Result<(), ServiceError> {
        if self.name.trim().is_empty() {
            return Err(ServiceError::EmptyName);
        }
        if self.aliases.is_empty() {
            return Err(ServiceError::NoAliases);
        }
        for alias in &self.aliases {
            validate_alias(alias)?;
        }
        if self.requires_host_sso() && self.host_pin.is_some() {
            return Err(ServiceError::HostPinWithSso);
        }
        match (&self.host_pin, &self.guest_pin) {
            (None, Some(_)) if !self.requires_host_sso() => {
                return Err(ServiceError::GuestPinWithoutHostPin);
            }
            (_, Some(_)) if !self.allow_guests => {
                return Err(ServiceError::GuestPinButNoGuests);
            }
            (Some(h), Some(g)) if h == g => return Err(ServiceError::SamePins),
            (Some(_), Some(_)) if !self.allow_guests => {
                return Err(ServiceError::GuestPinButNoGuests);
            }
            _ => {}
        }
        if let Some(limit) = self.participant_limit
            && (limit == 0 || limit > MAX_PARTICIPANT_LIMIT)
        {
            return Err(ServiceError::BadLimit(limit));
        }
        if self.timeouts.test_call.is_zero()
            || self.timeouts.waiting_for_host.is_zero()
            || self.timeouts.admission.is_zero()
            || self.timeouts.pin_entry.is_zero()
            || self.timeouts.ring.is_zero()
            || self.timeouts.alone.is_some_and(|d| d.is_zero())
        {
            return Err(ServiceError::ZeroTimeout);
        }
        let t = &self.timeouts;
        let longest = [
            t.waiting_for_host,
            t.admission,
            t.hosts_left_grace,
            t.pin_entry,
            t.test_call,
            t.ring,
        ]
        .into_iter()
        .chain(t.alone)
        .max()
        .unwrap_or_default();
        if longest > MAX_TIMEOUT {
            return Err(ServiceError::TimeoutTooLong);
        }
        Ok(())
    }
}

/// Checks one alias: non-empty, no white space or control characters, at most 250 bytes.
pub fn validate_alias(alias: &str) -> Result<(), ServiceError> {
    if alias.is_empty()
        || alias.len() > 250
        || alias
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        return Err(ServiceError::BadAlias(alias.to_owned()));
    }
    Ok(())
}

/// A service setting that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("a service needs a name")]
    EmptyName,
    #[error("a service needs at least one alias")]
    NoAliases,
    #[error(
        "alias {0:?} is not usable: it must be 1-250 characters without spaces, slashes or control characters"
    )]
    BadAlias(String),
    #[error("a Guest PIN needs a Host PIN: without a Host PIN everyone joins as Host")]
    GuestPinWithoutHostPin,
    #[error(
        "host_pin and host_sso exclude each other: Hosts of this room sign in with an identity provider, so remove the host_pin"
    )]
    HostPinWithSso,
    #[error("the Host PIN and the Guest PIN must differ, or the PIN could not decide the role")]
    SamePins,
    #[error("a Guest PIN is set but Guests are not allowed (allow_guests = false)")]
    GuestPinButNoGuests,
    #[error(
        "participant limit {0} is out of range: use 1 to {MAX_PARTICIPANT_LIMIT}, or leave it out for no limit"
    )]
    BadLimit(u32),
    #[error("timeouts must be longer than zero (leave alone_timeout out to switch it off)")]
    ZeroTimeout,
    #[error("timeouts may be at most a week (604800 seconds)")]
    TimeoutTooLong,
}

/// A configuration-wide problem with the set of services.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("service {service:?}: {source}")]
    Service {
        service: String,
        #[source]
        source: ServiceError,
    },
    #[error(
        "alias {alias:?} is used twice (by {first:?} and {second:?}); aliases are unique regardless of case"
    )]
    DuplicateAlias {
        alias: String,
        first: String,
        second: String,
    },
    #[error("service name {0:?} is used twice")]
    DuplicateName(String),
}

/// Normalises a dialled or configured alias for lookup: trimmed, lower case, without a
/// `sip:`/`pexip:` scheme.
pub fn normalize_alias(alias: &str) -> String {
    let a = alias.trim();
    let a = ["sip:", "pexip:", "h323:"]
        .iter()
        .find_map(|scheme| {
            a.get(..scheme.len())
                .filter(|p| p.eq_ignore_ascii_case(scheme))
                .map(|_| &a[scheme.len()..])
        })
        .unwrap_or(a);
    a.to_lowercase()
}

/// All services, found by alias.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    services: Vec<Arc<ServiceConfig>>,
    /// normalised alias → index into `services`.
    by_alias: HashMap<String, usize>,
}

impl Directory {
    /// Builds the directory; refuses invalid services and aliases used twice, also
    /// against `reserved` aliases (device aliases), case-insensitively.
    pub fn new(
        services: Vec<ServiceConfig>,
        reserved: &[String],
    ) -> Result<Directory, DirectoryError> {
        let mut by_alias: HashMap<String, usize> = HashMap::new();
        let mut owner_of: HashMap<String, String> = HashMap::new();
        for r in reserved {
            owner_of.insert(normalize_alias(r), format!("device alias {r}"));
        }
        let mut names = std::collections::HashSet::new();
        for (i, service) in services.iter().enumerate() {
            service
                .validate()
                .map_err(|source| DirectoryError::Service {
                    service: service.name.clone(),
                    source,
                })?;
            if !names.insert(service.name.to_lowercase()) {
                return Err(DirectoryError::DuplicateName(service.name.clone()));
            }
            for alias in &service.aliases {
                let key = normalize_alias(alias);
                if let Some(first) = owner_of.get(&key) {
                    return Err(DirectoryError::DuplicateAlias {
                        alias: alias.clone(),
                        first: first.clone(),
                        second: service.name.clone(),
                    });
                }
                owner_of.insert(key.clone(), service.name.clone());
                by_alias.insert(key, i);
            }
        }
        Ok(Directory {
            services: services.into_iter().map(Arc::new).collect(),
            by_alias,
        })
    }

    /// Every service, in configuration order.
    pub fn services(&self) -> &[Arc<ServiceConfig>] {
        &self.services
    }

    /// Finds the service a dialled alias reaches. Case is ignored, and so is the domain
    /// the caller used: `meet.alice@any.domain` reaches `meet.alice` when no alias with
    /// that exact domain exists.
    pub fn lookup(&self, dialled: &str) -> Option<&Arc<ServiceConfig>> {
        let key = normalize_alias(dialled);
        if let Some(&i) = self.by_alias.get(&key) {
            return Some(&self.services[i]);
        }
        let local = key.split_once('@').map(|(local, _)| local)?;
        self.by_alias.get(local).map(|&i| &self.services[i])
    }
}

/// Permission to join a service, as a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The service reached (for a reception: the room its extension leads to).
    pub service: Arc<ServiceConfig>,
    /// The role the PIN (or its absence) gave.
    pub role: Role,
    /// The caller proved the Host PIN, so a locked meeting lets them in at once.
    pub via_host_pin: bool,
}

/// Why a caller may not (yet) enter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryRefusal {
    /// No service answers to the alias (#pex154).
    AliasNotFound,
    /// The caller must send a PIN; `guest_pin` says whether Guests have one too.
    PinRequired { guest_pin: bool },
    /// A Virtual Reception: the caller must send the room's extension.
    ExtensionRequired,
    /// The extension leads nowhere.
    ExtensionNotFound,
    /// Wrong PIN (#pex101).
    InvalidPin,
    /// Too many wrong PINs (#pex192).
    TooManyPinAttempts,
    /// Hosts of this service sign in with one of these identity providers (configured
    /// names); a caller who is not a Guest must do so.
    SsoRequired {
        /// The service reached (for a reception: the room behind the extension).
        service: Arc<ServiceConfig>,
    },
}

/// What a PIN (or its absence) means at one service, before any counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinVerdict {
    /// In, with this role; `true` when the Host PIN was proven.
    Granted(Role, bool),
    /// A PIN is needed; `guest_pin` says whether Guests have one too.
    Prompt { guest_pin: bool },
    /// The PIN is wrong.
    Wrong,
    /// Hosts sign in with an identity provider; no PIN (or `pin: none`) made the caller
    /// a Guest, so the caller must sign in.
    SsoRequired,
}

/// The PIN table of behaviour §2 and the client API §1.2, with no side effects.
pub fn judge_pin(service: &ServiceConfig, input: &PinInput) -> PinVerdict {
    if service.requires_host_sso() {
        return judge_guest_pin(service, input);
    }
    let Some(host_pin) = &service.host_pin else {
        return PinVerdict::Granted(Role::Host, false);
    };
    match input {
        PinInput::Absent => PinVerdict::Prompt {
            guest_pin: service.guest_pin.is_some(),
        },
        PinInput::GuestWithoutPin if service.allow_guests && service.guest_pin.is_none() => {
            PinVerdict::Granted(Role::Guest, false)
        }
        PinInput::GuestWithoutPin => PinVerdict::Wrong,
        PinInput::Entered(entered) => {
            // Both comparisons always run, so timing does not tell which PIN was close.
            let is_host = host_pin.matches(entered);
            let is_guest = service
                .guest_pin
                .as_ref()
                .is_some_and(|g| g.matches(entered));
            if is_host {
                PinVerdict::Granted(Role::Host, true)
            } else if is_guest {
                PinVerdict::Granted(Role::Guest, false)
            } else {
                PinVerdict::Wrong
            }
        }
    }
}

/// A room whose Hosts sign in: only the Guest rules apply to PINs (`pin: none` makes a
/// Guest where Guests need no PIN; the Guest PIN makes a Guest); a caller with no PIN
/// at all is asked to sign in.
fn judge_guest_pin(service: &ServiceConfig, input: &PinInput) -> PinVerdict {
    match input {
        PinInput::Absent => PinVerdict::SsoRequired,
        PinInput::GuestWithoutPin if service.allow_guests && service.guest_pin.is_none() => {
            PinVerdict::Granted(Role::Guest, false)
        }
        PinInput::GuestWithoutPin => PinVerdict::Wrong,
        PinInput::Entered(entered) => match &service.guest_pin {
            Some(guest) if service.allow_guests && guest.matches(entered) => {
                PinVerdict::Granted(Role::Guest, false)
            }
            _ => PinVerdict::Wrong,
        },
    }
}

/// The gate at the door: directory lookup, reception extensions, PINs and the
/// brute-force guard. The node keeps one for all conferences.
#[derive(Debug)]
pub struct Gate {
    directory: Directory,
    guard: PinGuard,
}

impl Gate {
    /// A gate over `directory`. A caller who used up their PIN tries at a service is
    /// refused for that service's PIN entry timeout.
    pub fn new(directory: Directory) -> Gate {
        Gate {
            directory,
            guard: PinGuard::new(),
        }
    }

    /// The directory in force.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// Swaps in a reloaded directory; PIN failure counts are kept.
    pub fn replace_directory(&mut self, directory: Directory) {
        self.directory = directory;
    }

    /// Decides whether `caller` (an opaque key such as the client address) may enter
    /// the service behind `alias`, and as what. `extension` is what a caller typed at a
    /// Virtual Reception.
    pub fn enter(
        &mut self,
        now: Instant,
        caller: &str,
        alias: &str,
        extension: Option<&str>,
        pin: &PinInput,
    ) -> Result<Entry, EntryRefusal> {
        let mut service = self
            .directory
            .lookup(alias)
            .ok_or(EntryRefusal::AliasNotFound)?
            .clone();
        if service.kind == ServiceKind::Reception {
            let extension = extension.map(str::trim).filter(|e| !e.is_empty());
            let extension = extension.ok_or(EntryRefusal::ExtensionRequired)?;
            service = self
                .directory
                .lookup(extension)
                .filter(|s| s.kind != ServiceKind::Reception)
                .ok_or(EntryRefusal::ExtensionNotFound)?
                .clone();
        }
        let counted = matches!(pin, PinInput::Entered(_) | PinInput::GuestWithoutPin)
            && service.has_host_check();
        if counted && !self.guard.may_attempt(now, &service.name, caller) {
            return Err(EntryRefusal::TooManyPinAttempts);
        }
        match judge_pin(&service, pin) {
            PinVerdict::Granted(role, via_host_pin) => {
                if counted {
                    self.guard.record_success(&service.name, caller);
                }
                Ok(Entry {
                    service,
                    role,
                    via_host_pin,
                })
            }
            PinVerdict::Prompt { guest_pin } => Err(EntryRefusal::PinRequired { guest_pin }),
            PinVerdict::SsoRequired => Err(EntryRefusal::SsoRequired { service }),
            PinVerdict::Wrong => {
                if self
                    .guard
                    .record_failure(now, &service.name, caller, service.timeouts.pin_entry)
                {
                    Err(EntryRefusal::TooManyPinAttempts)
                } else {
                    Err(EntryRefusal::InvalidPin)
                }
            }
        }
    }

    /// Checks a Host's transfer of someone to `alias` as `role`, with the PIN the Host
    /// supplied for that role. A Host PIN is needed to transfer as Host into a room that
    /// has one; a Guest needs the Guest PIN where one exists, and Guests must be allowed.
    pub fn check_transfer(
        &self,
        alias: &str,
        role: Role,
        pin: Option<&str>,
    ) -> Result<Entry, EntryRefusal> {
        let service = self
            .directory
            .lookup(alias)
            .ok_or(EntryRefusal::AliasNotFound)?
            .clone();
        if matches!(service.kind, ServiceKind::Reception) {
            return Err(EntryRefusal::AliasNotFound);
        }
        let pin = pin
            .map(|p| p.trim().trim_end_matches('#'))
            .filter(|p| !p.is_empty());
        if service.requires_host_sso() && role == Role::Host {
            // Only the sign-in proves a Host of such a room; no PIN can.
            return Err(EntryRefusal::InvalidPin);
        }
        if !service.has_host_check() {
            return Ok(Entry {
                service,
                role: Role::Host,
                via_host_pin: false,
            });
        }
        match role {
            Role::Host => match (&service.host_pin, pin) {
                (Some(host_pin), Some(p)) if host_pin.matches(p) => Ok(Entry {
                    service,
                    role,
                    via_host_pin: true,
                }),
                _ => Err(EntryRefusal::InvalidPin),
            },
            Role::Guest if !service.allow_guests => Err(EntryRefusal::InvalidPin),
            Role::Guest => match (&service.guest_pin, pin) {
                (None, _) => Ok(Entry {
                    service,
                    role,
                    via_host_pin: false,
                }),
                (Some(g), Some(p)) if g.matches(p) => Ok(Entry {
                    service,
                    role,
                    via_host_pin: false,
                }),
                _ => Err(EntryRefusal::InvalidPin),
            },
        }
    }
}

#[cfg(test)]
mod tests;
