//! Provisioning links (behavior.md §9): the `data` format — base64 of `&`-separated
//! `name=value` pairs with percent-encoded values — parsed and checked ([`Settings::decode`])
//! and made ([`Settings::encode`]), and the optional base64 `message`. Pure: no I/O; the
//! page that shows a link lives in [`page`].
//!
//! Base64 is encoding, not secrecy: a link holds the registration password, so callers
//! must keep it out of logs, and the page never shows it.

pub mod page;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Most bytes the decoded `data` (or `message`) may hold.
pub const MAX_DECODED: usize = 4096;

/// Base64 in the standard alphabet, padding optional (URL-safe input is mapped to it first).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What is percent-encoded in a value: all but RFC 3986's unreserved characters, so `&`,
/// `=`, `+`, `%` and spaces in a name or password survive the trip.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What is percent-encoded when base64 goes into a URL query: `+`, `/` and `=`.
const BASE64_IN_QUERY: &AsciiSet = &percent_encoding::CONTROLS.add(b'+').add(b'/').add(b'=');

/// The four AD FS keys, which come all together or not at all.
const ADFS_KEYS: [Key; 4] = [
    Key::AdfsFederationServiceName,
    Key::AdfsResource,
    Key::AdfsClientId,
    Key::AdfsRedirectUri,
];

/// A setting a provisioning link may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    Name,
    RegistrationHost,
    RegistrationAlias,
    RegistrationUsername,
    RegistrationPassword,
    BrandingUrl,
    AdfsFederationServiceName,
    AdfsResource,
    AdfsClientId,
    AdfsRedirectUri,
}

impl Key {
    /// Every key, in the order a page lists them.
    pub const ALL: [Key; 10] = [
        Key::Name,
        Key::RegistrationHost,
        Key::RegistrationAlias,
        Key::RegistrationUsername,
        Key::RegistrationPassword,
        Key::BrandingUrl,
        Key::AdfsFederationServiceName,
        Key::AdfsResource,
        Key::AdfsClientId,
        Key::AdfsRedirectUri,
    ];

    /// The name in the `data` pairs.
    pub fn name(self) -> &'static str {
        match self {
            Key::Name => "name",
            Key::RegistrationHost => "registrationHost",
            Key::RegistrationAlias => "registrationAlias",
            Key::RegistrationUsername => "registrationUsername",
            Key::RegistrationPassword => "registrationPassword",
            Key::BrandingUrl => "brandingURL",
            Key::AdfsFederationServiceName => "adfsFederationServiceName",
            Key::AdfsResource => "adfsResource",
            Key::AdfsClientId => "adfsClientID",
            Key::AdfsRedirectUri => "adfsRedirectURI",
        }
    }

    /// The label a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Key::Name => "Display name",
            Key::RegistrationHost => "Registration server",
            Key::RegistrationAlias => "Registration alias",
            Key::RegistrationUsername => "User name",
            Key::RegistrationPassword => "Password",
            Key::BrandingUrl => "Branding",
            Key::AdfsFederationServiceName => "AD FS federation service",
            Key::AdfsResource => "AD FS resource",
            Key::AdfsClientId => "AD FS client ID",
            Key::AdfsRedirectUri => "AD FS redirect URI",
        }
    }

    /// Whether the value is secret (shown only as "set (hidden)").
    pub fn is_secret(self) -> bool {
        self == Key::RegistrationPassword
    }

    fn from_name(name: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Why a link's `data` or `message` can't be used. Messages never contain a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvisionError {
    #[error(
        "the link has no `data` parameter: open the whole link you were sent (this page removes it from the address bar once shown)"
    )]
    MissingData,
    #[error(
        "the link's `{0}` parameter is not valid base64: it was probably cut or changed, ask for the link again"
    )]
    NotBase64(&'static str),
    #[error("the link's `{0}` parameter is not UTF-8 text once decoded")]
    NotUtf8(&'static str),
    #[error("the link's `{param}` parameter is too large: {size} bytes decoded, at most {limit}")]
    TooLarge {
        param: &'static str,
        size: usize,
        limit: usize,
    },
    #[error("the link holds no settings")]
    Empty,
    #[error("the setting {0:?} has no `=` and no value")]
    NoValue(String),
    #[error("the setting `{0}` is empty")]
    EmptyValue(&'static str),
    #[error("the value of `{0}` is not percent-encoded UTF-8")]
    BadValue(&'static str),
    #[error("unknown settings: {}; known are {}", .0.join(", "), known_names())]
    UnknownKeys(Vec<String>),
    #[error("the setting `{0}` appears more than once")]
    Duplicate(&'static str),
    #[error("AD FS needs all four settings together; missing: {}", .0.join(", "))]
    PartialAdfs(Vec<&'static str>),
    #[error("registrationHost is not a host name or address with an optional port: {0}")]
    BadHost(String),
    #[error(
        "brandingURL must be an https:// address (http:// only on this machine's loopback): {0}"
    )]
    BadBrandingUrl(String),
}

fn known_names() -> String {
    Key::ALL.map(Key::name).join(", ")
}

/// The settings of a link, each key at most once, in [`Key::ALL`] order.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Settings {
    values: Vec<(Key, String)>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, value) in &self.values {
            if key.is_secret() {
                map.entry(&key.name(), &"<hidden>");
            } else {
                map.entry(&key.name(), value);
            }
        }
        map.finish()
    }
}

impl Settings {
    /// No settings.
    pub fn new() -> Settings {
        Settings::default()
    }

    /// Sets `key` to `value` (replacing an earlier value), keeping [`Key::ALL`] order.
    pub fn set(&mut self, key: Key, value: impl Into<String>) -> &mut Settings {
        let value = value.into();
        match self.values.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => self.values[i].1 = value,
            Err(i) => self.values.insert(i, (key, value)),
        }
        self
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: Key) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every set key with its value, in [`Key::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Key, &str)> {
        self.values.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// The `data` text: standard base64 (with padding) of `key=value` pairs joined by
    /// `&`, values percent-encoded.
    pub fn encode(&self) -> String {
        let pairs: Vec<String> = self
            .values
            .iter()
            .map(|(k, v)| format!("{}={}", k.name(), utf8_percent_encode(v, VALUE)))
            .collect();
        base64::engine::general_purpose::STANDARD.encode(pairs.join("&"))
    }

    /// [`Settings::encode`], made safe to put in a URL query (`+`, `/`, `=` escaped).
    pub fn encode_for_query(&self) -> String {
        percent_encoding::utf8_percent_encode(&self.encode(), BASE64_IN_QUERY).to_string()
    }

    /// Parses and checks a link's `data` value (already taken out of the query, percent-
    /// decoded or not: `%2B`, `%2F`, `%3D` are understood). Accepts the standard and
    /// URL-safe base64 alphabets, with or without padding, and a `+` that form decoding
    /// turned into a space.
    pub fn decode(data: &str) -> Result<Settings, ProvisionError> {
        let text = decode_base64("data", data)?;
        if text.trim().is_empty() {
            return Err(ProvisionError::Empty);
        }
        let mut settings = Settings::new();
        let mut unknown = Vec::new();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let Some((name, value)) = pair.split_once('=') else {
                return Err(ProvisionError::NoValue(pair.to_owned()));
            };
            let Some(key) = Key::from_name(name) else {
                if !unknown.iter().any(|u| u == name) {
                    unknown.push(name.to_owned());
                }
                continue;
            };
            let value = percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| ProvisionError::BadValue(key.name()))?;
            if value.trim().is_empty() {
                return Err(ProvisionError::EmptyValue(key.name()));
            }
            if settings.get(key).is_some() {
                return Err(ProvisionError::Duplicate(key.name()));
            }
            settings.set(key, value.into_owned());
        }
        if !unknown.is_empty() {
            return Err(ProvisionError::UnknownKeys(unknown));
        }
        settings.check()?;
        Ok(settings)
    }

    /// The rules between and within values: AD FS all or nothing, a host[:port]
    /// registration host, an https branding URL.
    pub fn check(&self) -> Result<(), ProvisionError> {
        if self.values.is_empty() {
            return Err(ProvisionError::Empty);
        }
        let missing: Vec<&'static str> = ADFS_KEYS
            .iter()
            .filter(|k| self.get(**k).is_none())
            .map(|k| k.name())
            .collect();
        if !missing.is_empty() && missing.len() < ADFS_KEYS.len() {
            return Err(ProvisionError::PartialAdfs(missing));
        }
        if let Some(host) = self.get(Key::RegistrationHost)
            && !is_host_port(host)
        {
            return Err(ProvisionError::BadHost(host.to_owned()));
        }
        if let Some(url) = self.get(Key::BrandingUrl)
            && !is_branding_url(url)
        {
            return Err(ProvisionError::BadBrandingUrl(url.to_owned()));
        }
        Ok(())
    }
}

/// Decodes a link's base64 `message` into text.
pub fn decode_message(message: &str) -> Result<String, ProvisionError> {
    decode_base64("message", message)
}

/// Lenient base64 → UTF-8 text of at most [`MAX_DECODED`] bytes.
fn decode_base64(param: &'static str, raw: &str) -> Result<String, ProvisionError> {
    let unescaped = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| ProvisionError::NotBase64(param))?;
    let normalized: String = unescaped
        .trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    // Base64 grows data by 4/3: refuse what can't fit before decoding it.
    if normalized.len() > MAX_DECODED.div_ceil(3) * 4 {
        return Err(ProvisionError::TooLarge {
            param,
            size: normalized.trim_end_matches('=').len() * 3 / 4,
            limit: MAX_DECODED,
        });
    }
    let bytes = LENIENT
        .decode(normalized.as_bytes())
        .map_err(|_| ProvisionError::NotBase64(param))?;
    if bytes.len() > MAX_DECODED {
        return Err(ProvisionError::TooLarge {
            param,
            size: bytes.len(),
            limit: MAX_DECODED,
        });
    }
    String::from_utf8(bytes).map_err(|_| ProvisionError::NotUtf8(param))
}

/// `host[:port]`: a DNS name, an IPv4 address or a bracketed IPv6 address, with a port
/// 1–65535.
fn is_host_port(text: &str) -> bool {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.parse::<Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => return true,
            after => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return false,
            },
        }
    } else {
        match text.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(text), None),
        }
    };
    if let Some(port) = port
        && !matches!(port.parse::<u16>(), Ok(p) if p > 0 && port.chars().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    host.is_none_or(is_dns_name)
}

/// A DNS name (also a dotted IPv4 address): labels of letters, digits and inner hyphens,
/// 1–63 bytes each, 253 at most, an optional final dot.
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// An absolute `https://` URL, or `http://` to a loopback host.
fn is_branding_url(text: &str) -> bool {
    let Ok(url) = url::Url::parse(text) else {
        return false;
    };
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => return false,
    };
    match url.scheme() {
        "https" => true,
        "http" => loopback,
        _ => false,
    }
}
