//! `plenum provision`: provisioning links in bulk (behavior.md §9), one per device alias,
//! from the configured `[[device]]` entries and/or a CSV of users, written to
//! `links.csv` with an optional email text per user from a template.
//!
//! The pure part ([`read_csv`], [`Template`], [`plan`]) takes text and config values and
//! returns rows, links and notes; [`run`] reads and writes the files. Device passwords
//! are stored hashed in the config, so passwords come only from the CSV; a CSV password
//! is checked against the device's hash. Nothing here prints or logs a password, but the
//! links themselves carry them (base64 is not encryption): the files are written
//! readable by their owner only.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use plenum_core::Secret;
use plenum_http::provision::{Key, Settings};

use crate::config::{self, Config, DeviceAlias, DeviceSignIn, NodeConfig};

/// The columns a users CSV may have (`alias` is required).
pub const CSV_COLUMNS: [&str; 5] = ["alias", "username", "password", "name", "email"];

/// The placeholders an email template may use.
pub const PLACEHOLDERS: [&str; 3] = ["name", "link", "alias"];

/// The path of the provisioning page under a node's base URL.
const PAGE_PATH: &str = "/api/client/v2/provision";

/// One user from the CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// The line the row starts on (1 = the header).
    pub line: u64,
    pub alias: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// A bad CSV or template, with where and why. Never contains a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("{file}: line {line}: {reason}")]
    At {
        file: String,
        line: u64,
        reason: String,
    },
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
}

/// Everything that stops `plenum provision`.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("the configuration is refused:\n{0}")]
    Config(config::ConfigErrors),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Input(Vec<InputError>),
    #[error(
        "--base-url {0:?} is not an https:// URL without query or fragment (e.g. https://video.example.com)"
    )]
    BaseUrl(String),
    #[error("nothing to provision: the config has no [[device]] entries and no --csv was given")]
    Nothing,
    #[error("{path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

// === CSV ===

/// Reads a users CSV (RFC 4180, a header row naming [`CSV_COLUMNS`], `alias` required).
/// Every bad row is reported with its line number; fields are trimmed (not the password)
/// and empty ones count as absent.
pub fn read_csv(file: &str, text: &str) -> Result<Vec<UserRow>, Vec<InputError>> {
    let at = |line: u64, reason: String| InputError::At {
        file: file.to_owned(),
        line,
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::Headers)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![at(1, csv_reason(&e))]),
    };
    let mut columns: HashMap<&str, usize> = HashMap::new();
    let mut errors = Vec::new();
    for (i, name) in headers.iter().enumerate() {
        let known = CSV_COLUMNS.iter().find(|c| c.eq_ignore_ascii_case(name));
        match known {
            Some(c) if columns.contains_key(c) => {
                errors.push(at(1, format!("the column {c:?} appears twice")));
            }
            Some(c) => {
                columns.insert(c, i);
            }
            None => errors.push(at(
                1,
                format!(
                    "unknown column {name:?}; the columns are {}",
                    CSV_COLUMNS.join(", ")
                ),
            )),
        }
    }
    if !columns.contains_key("alias") {
        errors.push(at(1, "the header row has no \"alias\" column".to_owned()));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut rows: Vec<UserRow> = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                errors.push(at(line, csv_reason(&e)));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        // Fields are trimmed, except the password: its spaces may be part of it.
        let field = |c: &str| {
            columns
                .get(c)
                .and_then(|i| record.get(*i))
                .map(|v| if c == "password" { v } else { v.trim() })
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let Some(alias) = field("alias") else {
            errors.push(at(line, "the alias is empty".to_owned()));
            continue;
        };
        if let Some(first) = seen.insert(alias.to_lowercase(), line) {
            errors.push(at(
                line,
                format!("the alias {alias:?} is already on line {first}"),
            ));
            continue;
        }
        let email = field("email");
        if let Some(email) = &email
            && !email.contains('@')
        {
            errors.push(at(line, format!("{email:?} is not an email address")));
            continue;
        }
        rows.push(UserRow {
            line,
            alias,
            username: field("username"),
            password: field("password").map(Secret::new),
            name: field("name"),
            email,
        });
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// The csv crate's error, without the record's content (it may hold a password).
fn csv_reason(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_owned(),
        csv::ErrorKind::Io(e) => format!("cannot read: {e}"),
        _ => "not valid CSV".to_owned(),
    }
}

// === Template ===

/// An email template: text with `{name}`, `{link}` and `{alias}`. Other `{word}`s are
/// refused (a typo would otherwise reach every user); braces around anything that is
/// not a word stay as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Name,
    Link,
    Alias,
}

/// The values of one user's email.
#[derive(Debug, Clone, Copy)]
pub struct Fill<'a> {
    pub name: &'a str,
    pub link: &'a str,
    pub alias: &'a str,
}

impl Template {
    /// Parses `text`, naming the line of every unknown placeholder.
    pub fn parse(file: &str, text: &str) -> Result<Template, Vec<InputError>> {
        let mut parts = Vec::new();
        let mut errors = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let word_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if word_len == 0 || !after[word_len..].starts_with('}') {
                literal.push_str(&rest[..=open]);
                rest = after;
                continue;
            }
            literal.push_str(&rest[..open]);
            let word = &after[..word_len];
            let part = match word {
                "name" => Some(Part::Name),
                "link" => Some(Part::Link),
                "alias" => Some(Part::Alias),
                _ => None,
            };
            match part {
                Some(part) => {
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(part);
                }
                None => {
                    let consumed = text.len() - rest.len() + open;
                    let line = text[..consumed].matches('\n').count() as u64 + 1;
                    errors.push(InputError::At {
                        file: file.to_owned(),
                        line,
                        reason: format!(
                            "unknown placeholder {{{word}}}; the placeholders are {}",
                            PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                        ),
                    });
                }
            }
            rest = &after[word_len + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        if errors.is_empty() {
            Ok(Template { parts })
        } else {
            Err(errors)
        }
    }

    /// The text for one user.
    pub fn render(&self, fill: Fill<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            out.push_str(match part {
                Part::Text(t) => t,
                Part::Name => fill.name,
                Part::Link => fill.link,
                Part::Alias => fill.alias,
            });
        }
        out
    }
}

// === Plan ===

/// Where links point: an https base URL and the registration host derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// `https://host[:port][/prefix]`, without a trailing slash.
    url: String,
    /// `host[:port]` for `registrationHost`.
    host: String,
}

impl BaseUrl {
    /// Checks `--base-url`: https, a host, no query or fragment.
    pub fn parse(text: &str) -> Result<BaseUrl, ProvisionError> {
        let bad = || ProvisionError::BaseUrl(text.to_owned());
        let url = url::Url::parse(text).map_err(|_| bad())?;
        if url.scheme() != "https" || url.query().is_some() || url.fragment().is_some() {
            return Err(bad());
        }
        let host = url.host_str().ok_or_else(bad)?;
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Ok(BaseUrl {
            url: url.as_str().trim_end_matches('/').to_owned(),
            host,
        })
    }

    /// The default: `https://<public_name>`, with the listen port unless it is 443.
    pub fn from_node(node: &NodeConfig) -> Result<BaseUrl, ProvisionError> {
        let text = match node.listen.port() {
            443 => format!("https://{}", node.public_name),
            port => format!("https://{}:{port}", node.public_name),
        };
        BaseUrl::parse(&text)
    }

    /// The URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.url
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// One user's provisioning link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub alias: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// The link (it carries the password, if any).
    pub url: String,
    /// Whether the link sets a password.
    pub has_password: bool,
}

/// The links to write and what the admin should know about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub links: Vec<Link>,
    pub notes: Vec<String>,
}

/// One link per user: the CSV's rows in file order, then the configured devices the CSV
/// does not name. A CSV row may give the username (else the device's), the password
/// (checked against the device's hash by `verify`), the display name and the email.
pub fn plan(
    devices: &[DeviceAlias],
    rows: &[UserRow],
    base: &BaseUrl,
    verify: impl Fn(&DeviceAlias, &Secret) -> bool,
) -> Plan {
    let mut links = Vec::new();
    let mut notes = Vec::new();
    let device = |alias: &str| devices.iter().find(|d| d.alias.eq_ignore_ascii_case(alias));
    for row in rows {
        let configured = device(&row.alias);
        match configured {
            None if !devices.is_empty() => notes.push(format!(
                "CSV line {}: {} is not a [[device]] in the config; its registration is refused until it is added",
                row.line, row.alias
            )),
            Some(d) => {
                if let Some(password) = &row.password
                    && !verify(d, password)
                {
                    notes.push(format!(
                        "CSV line {}: the password for {} does not match its [[device]] password_hash; its registration would be refused",
                        row.line, row.alias
                    ));
                }
            }
            None => {}
        }
        let username = row
            .username
            .clone()
            .or_else(|| configured.map(|d| d.username.clone()));
        let alias = configured.map_or(row.alias.as_str(), |d| d.alias.as_str());
        let sso = configured.is_some_and(DeviceAlias::is_sso);
        if row.password.is_none() && !sso {
            notes.push(format!(
                "{alias}: no password in the CSV, so the link sets none: the app will ask for it"
            ));
        }
        links.push(link(
            base,
            alias,
            username.as_deref(),
            row.password.as_ref(),
            row.name.as_deref(),
            row.email.as_deref(),
        ));
    }
    for d in devices {
        if rows.iter().any(|r| r.alias.eq_ignore_ascii_case(&d.alias)) {
            continue;
        }
        if !d.is_sso() {
            notes.push(format!(
                "{}: passwords are stored hashed, so the link sets none (give it in a --csv row): the app will ask for it",
                d.alias
            ));
        }
        links.push(link(base, &d.alias, Some(&d.username), None, None, None));
    }
    Plan { links, notes }
}

fn link(
    base: &BaseUrl,
    alias: &str,
    username: Option<&str>,
    password: Option<&Secret>,
    name: Option<&str>,
    email: Option<&str>,
) -> Link {
    let mut settings = Settings::new();
    settings
        .set(Key::RegistrationHost, base.host.clone())
        .set(Key::RegistrationAlias, alias);
    if let Some(name) = name {
        settings.set(Key::Name, name);
    }
    if let Some(username) = username {
        settings.set(Key::RegistrationUsername, username);
    }
    if let Some(password) = password {
        settings.set(Key::RegistrationPassword, password.expose());
    }
    Link {
        alias: alias.to_owned(),
        name: name.map(str::to_owned),
        email: email.map(str::to_owned),
        url: format!(
            "{}{PAGE_PATH}?data={}",
            base.as_str(),
            settings.encode_for_query()
        ),
        has_password: password.is_some(),
    }
}

/// The file name of a user's email text: the alias with anything but letters, digits,
/// `@`, `.`, `-`, `_` and `+` replaced by `_` (never a path, never hidden).
pub fn email_file_name(alias: &str) -> String {
    let safe: String = alias
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@.-_+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    format!("{}.txt", if safe.is_empty() { "_" } else { safe })
}

// === Command ===

/// The options of `plenum provision`.
#[derive(Debug, Clone)]
pub struct Options {
    pub config: PathBuf,
    pub csv: Option<PathBuf>,
    pub base_url: Option<String>,
    pub email_template: Option<PathBuf>,
    pub out: PathBuf,
}

/// What `run` did, for the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub base_url: String,
    pub links_file: PathBuf,
    pub links: usize,
    pub with_password: usize,
    pub emails: usize,
    pub notes: Vec<String>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "wrote {} provisioning link(s) for {} to {} ({} set a password)",
            self.links,
            self.base_url,
            self.links_file.display(),
            self.with_password
        )?;
        if self.emails > 0 {
            writeln!(f, "wrote {} email text(s) beside it", self.emails)?;
        }
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        if self.with_password > 0 {
            writeln!(
                f,
                "The links carry the passwords (base64 is encoding, not encryption): send each \
                 only to its user and delete the files when done."
            )?;
        }
        Ok(())
    }
}

/// Loads the config (with the environment overrides in `env`), reads the CSV and the
/// template, and writes `links.csv` and the email texts into `options.out`.
pub fn run(options: &Options, env: &HashMap<String, String>) -> Result<Summary, ProvisionError> {
    let config: Config = config::load(&options.config, env).map_err(ProvisionError::Config)?;
    let mut input_errors = Vec::new();
    let rows = match &options.csv {
        Some(path) => match read_file(path).and_then(|t| read_csv(&path.display().to_string(), &t))
        {
            Ok(rows) => rows,
            Err(errors) => {
                input_errors.extend(errors);
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    let template = match &options.email_template {
        Some(path) => {
            match read_file(path).and_then(|t| Template::parse(&path.display().to_string(), &t)) {
                Ok(t) => Some(t),
                Err(errors) => {
                    input_errors.extend(errors);
                    None
                }
            }
        }
        None => None,
    };
    if !input_errors.is_empty() {
        return Err(ProvisionError::Input(input_errors));
    }
    if rows.is_empty() && config.devices.is_empty() {
        return Err(ProvisionError::Nothing);
    }
    let base = match &options.base_url {
        Some(text) => BaseUrl::parse(text)?,
        None => BaseUrl::from_node(&config.node)?,
    };
    let plan = plan(
        &config.devices,
        &rows,
        &base,
        |device, password| match &device.sign_in {
            DeviceSignIn::Password(hash) => hash.verify(password.expose()),
            DeviceSignIn::Sso { .. } => false,
        },
    );

    create_private_dir(&options.out)?;
    let links_file = options.out.join("links.csv");
    let mut writer = csv::Writer::from_writer(Vec::new());
    let write_error = |e: csv::Error| ProvisionError::Write {
        path: links_file.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    };
    writer
        .write_record(["alias", "name", "email", "link"])
        .map_err(write_error)?;
    for link in &plan.links {
        writer
            .write_record([
                link.alias.as_str(),
                link.name.as_deref().unwrap_or(""),
                link.email.as_deref().unwrap_or(""),
                link.url.as_str(),
            ])
            .map_err(write_error)?;
    }
    let csv_bytes = writer.into_inner().map_err(|e| ProvisionError::Write {
        path: links_file.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    })?;
    write_private(&links_file, &csv_bytes)?;

    let mut emails = 0;
    if let Some(template) = &template {
        let mut used: HashMap<String, &str> = HashMap::new();
        for link in &plan.links {
            let file = email_file_name(&link.alias);
            if let Some(other) = used.insert(file.clone(), &link.alias) {
                return Err(ProvisionError::Input(vec![InputError::File {
                    file: options.out.join(&file).display().to_string(),
                    reason: format!(
                        "the aliases {other:?} and {:?} need the same file name",
                        link.alias
                    ),
                }]));
            }
            let text = template.render(Fill {
                name: link.name.as_deref().unwrap_or(&link.alias),
                link: &link.url,
                alias: &link.alias,
            });
            write_private(&options.out.join(file), text.as_bytes())?;
            emails += 1;
        }
    }
    Ok(Summary {
        base_url: base.to_string(),
        links_file,
        links: plan.links.len(),
        with_password: plan.links.iter().filter(|l| l.has_password).count(),
        emails,
        notes: plan.notes,
    })
}

fn read_file(path: &Path) -> Result<String, Vec<InputError>> {
    std::fs::read_to_string(path).map_err(|e| {
        vec![InputError::File {
            file: path.display().to_string(),
            reason: format!("cannot read: {e}"),
        }]
    })
}

fn create_private_dir(dir: &Path) -> Result<(), ProvisionError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| ProvisionError::Write {
        path: dir.display().to_string(),
        source,
    })
}

/// Writes `bytes` to `path`, readable and writable by the owner only (the links hold
/// passwords).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ProvisionError> {
    use std::io::Write as _;
    let error = |source| ProvisionError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(error)?;
    file.write_all(bytes).map_err(error)
}

#[cfg(test)]
mod tests;
