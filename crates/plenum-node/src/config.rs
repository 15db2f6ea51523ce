//! Node configuration: TOML files in the config directory, validated with file:line:column errors.
//!
//! # Files
//!
//! [`load_dir`] reads two files from the config directory:
//!
//! - `plenum.toml` (required): `[node]`, `[tls]`, `[database]`, `[switches]`, `[[turn]]`,
//!   `[[admin]]`;
//! - `services.toml` (optional): `[[service]]` and `[[device]]`;
//! - `[[identity_provider]]` (single sign-on for Hosts) may live in either.
//!
//! Both files share one format, so any section may live in either file; a single-valued
//! section (`[node]`, `[tls]`, `[database]`, `[switches]`) may appear in one file only,
//! and the lists (`[[turn]]`, `[[admin]]`, `[[service]]`, `[[device]]`) are concatenated
//! in file order. Other files in the directory are ignored, except the `branding/` folder
//! (the web app's branding package, served as it is). The shipped `config/` documents every
//! key.
//!
//! # Relative paths
//!
//! A service's `theme` folder resolves against the config directory itself, as the
//! `branding/` folder does. Other relative paths in the files (`node.data_dir`, `tls.*`,
//! a `sqlite://` database file) resolve against the **parent of the config directory**: run with `config/`, they are
//! relative to the project root, so the default `data_dir = "data"` is `<root>/data`.
//! Paths from the environment (`PLENUM_DATA_DIR`) are taken as given, i.e. relative to
//! the working directory. [`load_from_sources`] has no directory, so its relative paths
//! stay relative.
//!
//! # Environment
//!
//! [`Config::apply_env`] applies `PLENUM_LISTEN` (overrides `node.listen`) and
//! `PLENUM_DATA_DIR` (overrides `node.data_dir`); an empty value counts as unset. It takes
//! the environment as a map: nothing here reads the process environment.
//!
//! # Errors
//!
//! Every problem is reported, not just the first, as `file:line:column: reason`. A TOML
//! syntax error (or a value of the wrong type) stops the checking of that file; the other
//! files are still checked. Error messages never contain a PIN, a password hash, a
//! TURN credential or a database URL.

mod source;
mod summary;
#[cfg(test)]
mod tests;

pub use summary::{pin_policy, summary};

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use plenum_core::{
    Directory, DirectoryError, Layout, Pin, Secret, ServiceConfig, ServiceKind, Timeouts,
    normalize_alias,
};
use plenum_http::client::theme::Theme;

/// The required main file of the config directory.
pub const MAIN_FILE: &str = "plenum.toml";
/// The optional file of the config directory holding services and device aliases.
pub const SERVICES_FILE: &str = "services.toml";
/// The folder of the config directory that holds the active branding package, if any.
pub const BRANDING_DIR: &str = "branding";
/// Environment variable that overrides `node.listen`.
pub const ENV_LISTEN: &str = "PLENUM_LISTEN";
/// Environment variable that overrides `node.data_dir`.
pub const ENV_DATA_DIR: &str = "PLENUM_DATA_DIR";
/// The HTTPS listen address when `node.listen` is absent.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8443);
/// The SQLite file name inside the data dir when `database.url` is absent.
pub const DEFAULT_SQLITE_FILE: &str = "plenum.sqlite";
/// The longest any service timeout may be, in seconds (7 days), so deadlines stay sane.
pub const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 3600;

/// The whole node configuration, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// Addresses, names, data dir, media ports (`[node]`).
    pub node: NodeConfig,
    /// PEM files for HTTPS (`[tls]`); `None` = the node uses a self-signed certificate.
    pub tls: Option<TlsFiles>,
    /// The database as configured (`[database]`); `None` = the default SQLite file. Use
    /// [`Config::database`] for the effective one.
    pub database: Option<Database>,
    /// The global switches (`[switches]`).
    pub switches: Switches,
    /// TURN servers offered to clients (`[[turn]]`), in file order; empty = none.
    pub turn: Vec<TurnServer>,
    /// Admin users (`[[admin]]`), in file order.
    pub admins: Vec<AdminUser>,
    /// Services as written (`[[service]]`), in file order; [`Config::services`] gives the
    /// effective settings.
    pub services: Vec<Service>,
    /// Device aliases (`[[device]]`), in file order.
    pub devices: Vec<DeviceAlias>,
    /// OpenID Connect identity providers Hosts sign in with (`[[identity_provider]]`),
    /// in file order; services name them in `host_sso`.
    pub identity_providers: Vec<IdentityProvider>,
    /// The branding package folder, [`BRANDING_DIR`] in the config directory, served at
    /// `/webapp2/custom_configuration/` (read at each request, so it may appear later);
    /// `None` = no branding (a config not loaded from a directory).
    pub branding_dir: Option<PathBuf>,
}

/// `[node]`: where the node listens and what it tells others about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    /// HTTPS listen address (`listen`, default `127.0.0.1:8443`).
    pub listen: SocketAddr,
    /// Plain-HTTP address that only redirects to HTTPS (`http_redirect_listen`); `None` = off.
    pub http_redirect_listen: Option<SocketAddr>,
    /// The name clients use to reach the node (`public_name`, default `localhost`).
    pub public_name: String,
    /// Where the node keeps its database, self-signed certificate and other state
    /// (`data_dir`, default `data` beside the config dir).
    pub data_dir: PathBuf,
    /// UDP ports for media (`media_port_range`, default 40000–49999).
    pub media_ports: PortRange,
    /// Addresses advertised to clients for media (`public_ips`); empty = local addresses.
    pub public_ips: Vec<IpAddr>,
    /// Web origins allowed to call the client API from a browser (`cors_origins`);
    /// empty = no cross-origin access.
    pub cors_origins: Vec<String>,
    /// Most participants on the node at once, all conferences together
    /// (`max_participants`); one more gets "Out of resource" (#pex114). `None` = no limit.
    pub max_participants: Option<u32>,
    /// What the node carries, in HD (720p) calls (`capacity_hd_calls`), instead of the
    /// figure it measures at start; SD calls count half and audio-only calls a twelfth.
    /// Media calls beyond it are downgraded to audio-only, then refused (#pex114).
    pub capacity_hd_calls: Option<u32>,
    /// TrueType font for names on name tiles in the composite (`name_font`, default
    /// Debian's DejaVu Sans; `""` = no text). A missing file is logged and tiles show
    /// colour only.
    pub name_font: Option<PathBuf>,
    /// STUN URLs offered to clients in the token result (`stun`, `stun:`/`stuns:`
    /// host and optional port); empty = none, and the result leaves `stun` out.
    pub stun: Vec<String>,
    /// How long a call to a person rings before it is given up (`ring_timeout`
    /// seconds, default 30; #pex150).
    pub ring_timeout: Duration,
    /// Who may read `/metrics` when `switches.metrics_enabled` is on.
    pub metrics_auth: MetricsAuth,
}

/// `node.metrics_auth`: who may read `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricsAuth {
    /// `"admin"` (default): an `[[admin]]`'s user name and password (HTTP Basic).
    #[default]
    Admins,
    /// `"none"`: anyone who reaches the node (put it behind a firewall).
    None,
}

impl Default for NodeConfig {
    fn default() -> NodeConfig {
        NodeConfig {
            listen: DEFAULT_LISTEN,
            http_redirect_listen: None,
            public_name: "localhost".to_owned(),
            data_dir: PathBuf::from("data"),
            media_ports: PortRange::default(),
            public_ips: Vec::new(),
            cors_origins: Vec::new(),
            max_participants: None,
            capacity_hd_calls: None,
            name_font: Some(PathBuf::from(plenum_media::video::DEFAULT_FONT_PATH)),
            stun: Vec::new(),
            ring_timeout: Duration::from_secs(30),
            metrics_auth: MetricsAuth::Admins,
        }
    }
}

/// An inclusive range of ports, `first < last`, both at least 1024.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// Lowest port of the range.
    pub first: u16,
    /// Highest port of the range (included).
    pub last: u16,
}

impl PortRange {
    /// How many ports the range holds.
    pub fn len(&self) -> usize {
        usize::from(self.last) - usize::from(self.first) + 1
    }

    /// Always false: a checked range holds at least two ports.
    pub fn is_empty(&self) -> bool {
        self.last < self.first
    }

    /// Whether `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

impl Default for PortRange {
    fn default() -> PortRange {
        PortRange {
            first: 40000,
            last: 49999,
        }
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// `[tls]`: a certificate chain and its private key, both PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first.
    pub certificate: PathBuf,
    /// PEM private key of the leaf certificate.
    pub private_key: PathBuf,
}

/// `[database]`: where history and device registrations are kept.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file; `options` is what followed `?` in the URL, if anything.
    Sqlite {
        path: PathBuf,
        options: Option<String>,
    },
    /// A PostgreSQL server; the URL may hold a password, so `Debug` hides it.
    Postgres { url: String },
}

impl Database {
    /// The URL to hand to the database driver.
    pub fn url(&self) -> String {
        match self {
            Database::Sqlite {
                path,
                options: None,
            } => format!("sqlite://{}", path.display()),
            Database::Sqlite {
                path,
                options: Some(options),
            } => {
                format!("sqlite://{}?{options}", path.display())
            }
            Database::Postgres { url } => url.clone(),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Database::Sqlite { .. } => "sqlite",
            Database::Postgres { .. } => "postgres",
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite { path, options } => f
                .debug_struct("Sqlite")
                .field("path", path)
                .field("options", options)
                .finish(),
            Database::Postgres { .. } => f.write_str("Postgres { url: <redacted> }"),
        }
    }
}

/// `[switches]`: global on/off settings (behaviour §9–10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switches {
    /// Client API and web app callers are accepted; off → #pex127.
    pub client_access_enabled: bool,
    /// WebRTC media is offered.
    pub webrtc_enabled: bool,
    /// Calls whose offer prefers H.264 get H.264; off pins every call to VP8.
    pub h264_enabled: bool,
    /// Chat is on unless a service says otherwise.
    pub chat_enabled: bool,
    /// Guests may present, where the service allows it too.
    pub guests_can_present: bool,
    /// New calls are refused with #pex110.
    pub maintenance_mode: bool,
    /// Registered clients are told to place every call through this node.
    pub route_calls_via_registrar: bool,
    /// Registered clients may search the directory of rooms and devices.
    pub directory_enabled: bool,
    /// `GET /metrics` answers (Prometheus text format); who may read it is
    /// `node.metrics_auth`.
    pub metrics_enabled: bool,
}

impl Default for Switches {
    fn default() -> Switches {
        Switches {
            client_access_enabled: true,
            webrtc_enabled: true,
            h264_enabled: true,
            chat_enabled: true,
            guests_can_present: true,
            maintenance_mode: false,
            route_calls_via_registrar: false,
            directory_enabled: true,
            metrics_enabled: false,
        }
    }
}

/// `[[turn]]`: a TURN server offered to clients in the token result. `Debug` hides the
/// credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnServer {
    /// `turn:`/`turns:` URLs of this server (host, optional port, optional
    /// `?transport=udp|tcp`), at least one.
    pub urls: Vec<String>,
    /// The TURN user name; browsers refuse TURN without one.
    pub username: String,
    /// The TURN password, sent to clients in the token result and nowhere else.
    pub credential: Secret,
}

/// `[[identity_provider]]`: an OpenID Connect provider Hosts sign in with. `Debug`
/// hides the client secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProvider {
    /// Unique name (regardless of case), shown on the sign-in button and named by
    /// services' `host_sso`.
    pub name: String,
    /// A stable id derived from the name ([`idp_uuid`]): clients send it as `chosen_idp`.
    pub uuid: uuid::Uuid,
    /// The issuer URL; its discovery document is `<issuer>/.well-known/openid-configuration`.
    /// https, or http only on a loopback host.
    pub issuer: String,
    /// The node's client id at the provider.
    pub client_id: String,
    /// The node's client secret at the provider; `None` = a public client (PKCE only).
    pub client_secret: Option<Secret>,
    /// Scopes asked for besides `openid` (default `profile`, `email`).
    pub scopes: Vec<String>,
    /// The ID token claim that becomes the display name (default `name`).
    pub display_name_claim: String,
    /// The ID token claim that identifies the user, e.g. in logs (default `email`).
    pub alias_claim: String,
}

/// The stable id of an identity provider: a UUID v5 of its name (case ignored), so it
/// survives restarts and reloads.
pub fn idp_uuid(name: &str) -> uuid::Uuid {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("plenum:identity_provider:{}", name.to_lowercase()).as_bytes(),
    )
}

/// `[[admin]]`: a user of the admin interface and status API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUser {
    /// Login name, unique regardless of case.
    pub username: String,
    /// Argon2id hash of the password.
    pub password_hash: PhcHash,
}

/// `[[service]]` as written, before the global switches are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Unique name.
    pub name: String,
    /// `type`: vmr, auditorium, reception or test_call.
    pub kind: ServiceKind,
    /// Addresses that reach the service.
    pub aliases: Vec<String>,
    /// PIN that makes a caller Host.
    pub host_pin: Option<Pin>,
    /// PIN that makes a caller Guest.
    pub guest_pin: Option<Pin>,
    /// Whether Guests may join (with a Host PIN).
    pub allow_guests: bool,
    /// Most participants at once.
    pub participant_limit: Option<u32>,
    /// Layout at the start of each conference.
    pub default_layout: Layout,
    /// The service's own "Guests may present" (the global switch must allow it too).
    pub guests_can_present: bool,
    /// `chat`: overrides the global chat switch when set.
    pub chat: Option<bool>,
    /// The service's timers.
    pub timeouts: Timeouts,
    /// `host_sso`: names of the identity providers Hosts sign in with; empty = none.
    pub host_sso: Vec<String>,
    /// `theme`: the room's theme (a folder relative to the config directory with a
    /// checked `theme.json` and its images), answered by the client API's `theme/`.
    pub theme: Option<Arc<Theme>>,
    /// `auto_dial`: configured devices rung when the room's conference starts.
    pub auto_dial: Vec<plenum_core::AutoDial>,
}

impl Service {
    /// The effective settings under `switches`: chat is the service's override if set,
    /// else the global switch; Guests may present only if both the switch and the
    /// service allow it.
    pub fn effective(&self, switches: &Switches) -> ServiceConfig {
        ServiceConfig {
            name: self.name.clone(),
            kind: self.kind,
            aliases: self.aliases.clone(),
            host_pin: self.host_pin.clone(),
            guest_pin: self.guest_pin.clone(),
            host_sso: self.host_sso.clone(),
            allow_guests: self.allow_guests,
            participant_limit: self.participant_limit,
            default_layout: self.default_layout,
            guests_can_present: switches.guests_can_present && self.guests_can_present,
            chat_enabled: self.chat.unwrap_or(switches.chat_enabled),
            timeouts: self.timeouts.clone(),
            auto_dial: self.auto_dial.clone(),
        }
    }
}

/// `[[device]]`: an alias a desktop client registers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAlias {
    /// The alias; unique among services and devices regardless of case.
    pub alias: String,
    /// The user name the client authenticates with; for a single sign-on device, the
    /// identity the provider must vouch for (its `alias_claim`, e.g. the e-mail address,
    /// compared regardless of case).
    pub username: String,
    /// How the device proves it is this one.
    pub sign_in: DeviceSignIn,
    /// The name people see in the directory (may be empty: the alias is shown).
    pub description: String,
}

impl DeviceAlias {
    /// Whether the device signs in at an identity provider.
    pub fn is_sso(&self) -> bool {
        matches!(self.sign_in, DeviceSignIn::Sso { .. })
    }
}

/// How a `[[device]]` proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceSignIn {
    /// `password_hash`: the user name and password (argon2id).
    Password(PhcHash),
    /// `sso = true`: a sign-in at this `[[identity_provider]]` (its configured name).
    Sso {
        /// The identity provider's configured name.
        identity_provider: String,
    },
}

/// A checked argon2id password hash in PHC string form. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PhcHash(String);

/// Why a password hash was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhcError {
    #[error("not a PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash): {0}")]
    NotPhc(#[source] argon2::password_hash::Error),
    #[error("the hash is not argon2id")]
    NotArgon2id,
    #[error("the argon2 parameters are not usable: {0}")]
    BadParams(#[source] argon2::password_hash::Error),
}

impl PhcHash {
    /// Checks that `phc` is an argon2id PHC string with usable parameters.
    pub fn parse(phc: &str) -> Result<PhcHash, PhcError> {
        let parsed = argon2::PasswordHash::new(phc).map_err(PhcError::NotPhc)?;
        if parsed.algorithm != argon2::ARGON2ID_IDENT {
            return Err(PhcError::NotArgon2id);
        }
        argon2::Params::try_from(&parsed).map_err(PhcError::BadParams)?;
        if parsed.salt.is_none() || parsed.hash.is_none() {
            return Err(PhcError::NotPhc(
                argon2::password_hash::Error::PhcStringField,
            ));
        }
        Ok(PhcHash(phc.to_owned()))
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `password` matches, compared in constant time.
    pub fn verify(&self, password: &str) -> bool {
        crate::password::verify_password(&self.0, password)
    }

    /// Spends the time of one [`PhcHash::verify`] on a hash nobody's password matches:
    /// checked for unknown user names and aliases, so that the time taken does not tell
    /// which exist. Always false.
    pub fn verify_decoy(password: &str) -> bool {
        if let Some(decoy) = DECOY_HASH.as_ref() {
            let _ = decoy.verify(password);
        }
        false
    }
}

/// A well-formed hash of a password nobody has (see [`PhcHash::verify_decoy`]).
static DECOY_HASH: std::sync::LazyLock<Option<PhcHash>> = std::sync::LazyLock::new(|| {
    PhcHash::parse("$argon2id$v=19$m=19456,t=2,p=1$cGxlbnVtZGVjb3lzYWx0$0nO2yFa/Wf5W2VZ7fPxmxd3SBqaZyR0uQcxBsW5AEpY")
        .ok()
});

impl fmt::Debug for PhcHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhcHash(<redacted>)")
    }
}

// === impl Config ===

impl Config {
    /// Every service with effective settings (global switches applied), in file order.
    pub fn services(&self) -> Vec<ServiceConfig> {
        self.services
            .iter()
            .map(|s| s.effective(&self.switches))
            .collect()
    }

    /// The device aliases, which no service may use.
    pub fn device_aliases(&self) -> Vec<String> {
        self.devices.iter().map(|d| d.alias.clone()).collect()
    }

    /// The alias directory of the effective services. A loaded config always builds one.
    pub fn directory(&self) -> Result<Directory, DirectoryError> {
        Directory::new(self.services(), &self.device_aliases())
    }

    /// The effective database: as configured, else `plenum.sqlite` in the data dir.
    pub fn database(&self) -> Database {
        match &self.database {
            Some(database) => database.clone(),
            None => Database::Sqlite {
                path: self.node.data_dir.join(DEFAULT_SQLITE_FILE),
                options: None,
            },
        }
    }

    /// The admin user with this name (case ignored).
    pub fn admin(&self, username: &str) -> Option<&AdminUser> {
        self.admins
            .iter()
            .find(|a| a.username.eq_ignore_ascii_case(username))
    }

    /// The identity provider with this name (case ignored).
    pub fn identity_provider(&self, name: &str) -> Option<&IdentityProvider> {
        self.identity_providers
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The identity providers single sign-on devices sign in with, each once, in the
    /// order of `[[identity_provider]]`: what a registration without credentials is
    /// offered, whatever its alias.
    pub fn device_identity_providers(&self) -> Vec<&IdentityProvider> {
        self.identity_providers
            .iter()
            .filter(|p| {
                self.devices.iter().any(|d| {
                    matches!(&d.sign_in, DeviceSignIn::Sso { identity_provider } if identity_provider.eq_ignore_ascii_case(&p.name))
                })
            })
            .collect()
    }

    /// The device alias matching a dialled or registered alias (case ignored).
    pub fn device(&self, alias: &str) -> Option<&DeviceAlias> {
        let key = normalize_alias(alias);
        self.devices
            .iter()
            .find(|d| normalize_alias(&d.alias) == key)
    }

    /// Applies `PLENUM_LISTEN` and `PLENUM_DATA_DIR` from `env`; empty values are
    /// ignored. On error nothing is changed.
    pub fn apply_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigErrors> {
        let mut errors = Vec::new();
        let mut listen = self.node.listen;
        if let Some(value) = env.get(ENV_LISTEN).filter(|v| !v.trim().is_empty()) {
            match value.trim().parse::<SocketAddr>() {
                Ok(addr) => listen = addr,
                Err(_) => errors.push(ConfigError::nowhere(format!(
                    "environment variable {ENV_LISTEN}: {value:?} is not an address like 127.0.0.1:8443"
                ))),
            }
        }
        if let Some(redirect) = self.node.http_redirect_listen
            && errors.is_empty()
            && ports_clash(listen, redirect)
        {
            errors.push(ConfigError::nowhere(format!(
                "environment variable {ENV_LISTEN}: {listen} clashes with node.http_redirect_listen {redirect}"
            )));
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        self.node.listen = listen;
        if let Some(value) = env.get(ENV_DATA_DIR).filter(|v| !v.trim().is_empty()) {
            self.node.data_dir = PathBuf::from(value);
        }
        Ok(())
    }
}

impl Config {
    /// What changed from `self` to `new`, one line per difference, for the reload log.
    /// Names services, devices and admins, never PINs or hashes.
    pub fn diff_summary(&self, new: &Config) -> Vec<String> {
        let mut lines = Vec::new();
        for (section, changed) in [
            ("[node]", self.node != new.node),
            ("[tls]", self.tls != new.tls),
            ("[database]", self.database != new.database),
            ("[switches]", self.switches != new.switches),
            ("[[turn]]", self.turn != new.turn),
        ] {
            if changed {
                lines.push(format!("{section} changed"));
            }
        }
        diff_named(&mut lines, "service", &self.services, &new.services, |s| {
            s.name.to_lowercase()
        });
        diff_named(&mut lines, "device", &self.devices, &new.devices, |d| {
            normalize_alias(&d.alias)
        });
        diff_named(&mut lines, "admin", &self.admins, &new.admins, |a| {
            a.username.to_lowercase()
        });
        diff_named(
            &mut lines,
            "identity provider",
            &self.identity_providers,
            &new.identity_providers,
            |p| p.name.to_lowercase(),
        );
        lines
    }
}

/// Adds "kind "name" added/removed/changed" lines, matching items by `key`.
fn diff_named<T: PartialEq>(
    lines: &mut Vec<String>,
    kind: &str,
    old: &[T],
    new: &[T],
    key: impl Fn(&T) -> String,
) {
    for o in old {
        match new.iter().find(|n| key(n) == key(o)) {
            None => lines.push(format!("{kind} {:?} removed", key(o))),
            Some(n) if n != o => lines.push(format!("{kind} {:?} changed", key(o))),
            Some(_) => {}
        }
    }
    for n in new {
        if !old.iter().any(|o| key(o) == key(n)) {
            lines.push(format!("{kind} {:?} added", key(n)));
        }
    }
}

/// Whether two listen addresses would fight over one port.
fn ports_clash(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

// === loading ===

/// Loads the config directory (`plenum.toml`, optional `services.toml`) and applies the
/// environment overrides: what startup and reload call.
pub fn load(dir: &Path, env: &HashMap<String, String>) -> Result<Config, ConfigErrors> {
    let mut config = load_dir(dir)?;
    config.apply_env(env)?;
    Ok(config)
}

/// Loads and checks the config directory, without environment overrides. Relative paths
/// resolve against the directory's parent.
pub fn load_dir(dir: &Path) -> Result<Config, ConfigErrors> {
    let mut texts = Vec::new();
    let mut errors = Vec::new();
    for (name, required) in [(MAIN_FILE, true), (SERVICES_FILE, false)] {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => texts.push((path.display().to_string(), text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {}
            Err(e) => errors.push(ConfigError::nowhere(format!(
                "{}: cannot read: {e}",
                path.display()
            ))),
        }
    }
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    let sources: Vec<(&str, &str)> = texts
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut config = source::build(&sources, &base_dir(&dir), &dir)?;
    config.branding_dir = Some(dir.join(BRANDING_DIR));
    Ok(config)
}

/// Checks configuration texts given as `(file name, text)`, in order, as if they were the
/// files of a config directory. Relative paths stay relative (a service's `theme` folder
/// is read relative to the working directory). The file names appear in the errors.
pub fn load_from_sources(sources: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    source::build(sources, Path::new(""), Path::new(""))
}

/// The directory relative paths resolve against: the config dir's parent.
fn base_dir(dir: &Path) -> PathBuf {
    match std::path::absolute(dir) {
        Ok(abs) => abs.parent().map_or_else(|| abs.clone(), Path::to_path_buf),
        Err(_) => dir.parent().unwrap_or(dir).to_path_buf(),
    }
}

// === errors ===

/// Where in which file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file name as given to the loader (e.g. `config/services.toml`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` of `text`.
    pub fn of_offset(file: &str, text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            file: file.to_owned(),
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One problem in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where it is; `None` for problems outside the files (environment, unreadable file).
    pub location: Option<Location>,
    /// What is wrong, naming the section or service; lowercase, no final period.
    pub message: String,
}

impl ConfigError {
    fn nowhere(message: String) -> ConfigError {
        ConfigError {
            location: None,
            message,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found, in file and line order; displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    /// The problems, at least one.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
