//! Opening a [`Store`]: URL parsing, SQLite file checks, connection pools and migrations.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::MigrateError;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::{Backend, Pool, Store, StoreError};

/// How long a SQLite writer waits for another writer before failing with "database is locked".
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections per pool. SQLite has a single writer anyway; PostgreSQL gets a few more.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
const POSTGRES_MAX_CONNECTIONS: u32 = 8;
/// How long to wait for a pooled connection (and for PostgreSQL to answer on open).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Where [`Store::open`] was pointed.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    SqliteFile(PathBuf),
    SqliteMemory,
    Postgres(String),
}

impl Store {
    /// Opens (and migrates) the store at `url`:
    ///
    /// * `postgres://…` or `postgresql://…`: a PostgreSQL database, which must exist;
    /// * `sqlite://<path>`, `sqlite:<path>` or a plain `<path>`: an SQLite file, created if
    ///   missing (its directory must exist), in WAL mode with foreign keys on;
    /// * `:memory:` or `sqlite::memory:`: a private in-memory SQLite database (for tests).
    ///
    /// An existing SQLite file that is not an SQLite database gives [`StoreError::Corrupt`]
    /// and one that cannot be opened for writing gives [`StoreError::Unwritable`]; in both
    /// cases the file is left exactly as it was. Nothing here ever deletes or recreates a file.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let store = match parse_url(url)? {
            Target::SqliteFile(path) => open_sqlite_file(&path).await?,
            Target::SqliteMemory => open_sqlite_memory().await?,
            Target::Postgres(url) => open_postgres(&url).await?,
        };
        tracing::info!(backend = %store.backend(), url = %redact(url), "history store open");
        Ok(store)
    }
}

fn parse_url(url: &str) -> Result<Target, StoreError> {
    let scheme_is = |scheme: &str| {
        url.get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
    };
    if scheme_is("postgres://") || scheme_is("postgresql://") {
        return Ok(Target::Postgres(url.to_owned()));
    }
    let path = if scheme_is("sqlite://") {
        &url["sqlite://".len()..]
    } else if scheme_is("sqlite:") {
        &url["sqlite:".len()..]
    } else if url.contains("://") {
        return Err(StoreError::UnsupportedUrl { url: redact(url) });
    } else {
        url
    };
    match path {
        "" => Err(StoreError::UnsupportedUrl { url: redact(url) }),
        ":memory:" => Ok(Target::SqliteMemory),
        path => Ok(Target::SqliteFile(PathBuf::from(path))),
    }
}

async fn open_sqlite_file(path: &Path) -> Result<Store, StoreError> {
    check_sqlite_file(path)?;
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new()
        .max_connections(SQLITE_MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|e| sqlite_open_error(path, e, "opening the sqlite database"))?;
    if let Err(e) = sqlx::migrate!("../../migrations/sqlite").run(&pool).await {
        pool.close().await;
        return Err(match e {
            MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => {
                sqlite_open_error(path, e, "migrating the sqlite database")
            }
            source => StoreError::Migrate {
                backend: Backend::Sqlite,
                source,
            },
        });
    }
    Ok(Store {
        pool: Pool::Sqlite(pool),
    })
}

async fn open_sqlite_memory() -> Result<Store, StoreError> {
    let options = SqliteConnectOptions::from_str("sqlite::memory:")
        .map_err(crate::db("opening an in-memory sqlite database"))?
        .foreign_keys(true);
    // An in-memory database lives as long as one connection to it: keep exactly one, forever.
    let pool = SqlitePoolOptions::new()
        .min_connections(1)
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(crate::db("opening an in-memory sqlite database"))?;
    sqlx::migrate!("../../migrations/sqlite")
        .run(&pool)
        .await
        .map_err(|source| StoreError::Migrate {
            backend: Backend::Sqlite,
            source,
        })?;
    Ok(Store {
        pool: Pool::Sqlite(pool),
    })
}

async fn open_postgres(url: &str) -> Result<Store, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(POSTGRES_MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect(url)
        .await
        .map_err(|source| StoreError::Connect {
            url: redact(url),
            source,
        })?;
    if let Err(source) = sqlx::migrate!("../../migrations/postgres").run(&pool).await {
        pool.close().await;
        return Err(StoreError::Migrate {
            backend: Backend::Postgres,
            source,
        });
    }
    Ok(Store {
        pool: Pool::Postgres(pool),
    })
}

/// Checks, before SQLite sees it, that `path` is either an SQLite database we may write or a
/// new file in an existing directory. SQLite itself would happily open a file of garbage and only
/// fail on first use; this check means such a file is never handed to it at all.
fn check_sqlite_file(path: &Path) -> Result<(), StoreError> {
    let unwritable = |source: io::Error| StoreError::Unwritable {
        path: path.to_owned(),
        source: source.into(),
    };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // A new database: SQLite creates the file, but not its directory.
            let dir = match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            return match std::fs::metadata(dir) {
                Ok(m) if m.is_dir() => Ok(()),
                Ok(_) => Err(unwritable(io::Error::other(format!(
                    "{} is not a directory",
                    dir.display()
                )))),
                Err(e) => Err(unwritable(io::Error::new(
                    e.kind(),
                    format!("directory {}: {e}", dir.display()),
                ))),
            };
        }
        Err(e) => return Err(unwritable(e)),
    };
    if metadata.is_dir() {
        return Err(unwritable(io::Error::other("it is a directory")));
    }
    if metadata.len() == 0 {
        // SQLite treats an empty file as an empty database.
        return Ok(());
    }
    let mut header = Vec::with_capacity(SQLITE_HEADER.len());
    std::fs::File::open(path)
        .and_then(|file| {
            file.take(SQLITE_HEADER.len() as u64)
                .read_to_end(&mut header)
        })
        .map_err(unwritable)?;
    if header != SQLITE_HEADER {
        return Err(StoreError::Corrupt {
            path: path.to_owned(),
            source: "the file does not start with the sqlite header".into(),
        });
    }
    // Opening for writing (no truncation, no create) changes nothing but tells us early if
    // the file is read-only for us.
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(unwritable)?;
    Ok(())
}

/// Classifies an error from opening or migrating an SQLite file by its result code: a damaged
/// file is `Corrupt`, a file or directory we cannot create or write is `Unwritable`.
fn sqlite_open_error(path: &Path, e: sqlx::Error, op: &'static str) -> StoreError {
    // Primary result codes (the low byte of an extended code), from sqlite3.h.
    const SQLITE_READONLY: i64 = 8;
    const SQLITE_IOERR: i64 = 10;
    const SQLITE_CORRUPT: i64 = 11;
    const SQLITE_CANTOPEN: i64 = 14;
    const SQLITE_NOTADB: i64 = 26;

    let code = match &e {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i64>().ok())
            .map(|code| code & 0xff),
        _ => None,
    };
    match code {
        Some(SQLITE_CORRUPT | SQLITE_NOTADB) => StoreError::Corrupt {
            path: path.to_owned(),
            source: e.into(),
        },
        Some(SQLITE_READONLY | SQLITE_IOERR | SQLITE_CANTOPEN) => StoreError::Unwritable {
            path: path.to_owned(),
            source: e.into(),
        },
        _ => StoreError::Database { op, source: e },
    }
}

/// `url` with the password (if any) replaced by `***`, for logs and error messages.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let Some(colon) = authority[..at].find(':') else {
        return url.to_owned();
    };
    format!(
        "{}{}:***{}",
        &url[..scheme_end],
        &authority[..colon],
        &rest[at..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        let parsed = |url: &str| parse_url(url).ok();
        let file = |p: &str| Some(Target::SqliteFile(PathBuf::from(p)));
        assert_eq!(
            parsed("/var/lib/plenum/plenum.db"),
            file("/var/lib/plenum/plenum.db")
        );
        assert_eq!(parsed("plenum.db"), file("plenum.db"));
        assert_eq!(parsed("sqlite:///var/lib/p.db"), file("/var/lib/p.db"));
        assert_eq!(parsed("sqlite://data/p.db"), file("data/p.db"));
        assert_eq!(parsed("SQLite:p.db"), file("p.db"));
        assert_eq!(parsed(":memory:"), Some(Target::SqliteMemory));
        assert_eq!(parsed("sqlite::memory:"), Some(Target::SqliteMemory));
        for pg in [
            "postgres://u@h/db",
            "postgresql://u@h/db",
            "POSTGRES://u@h/db",
        ] {
            assert_eq!(parsed(pg), Some(Target::Postgres(pg.into())));
        }
        for bad in ["", "sqlite://", "mysql://u:pw@h/db"] {
            let err = parse_url(bad).expect_err(bad);
            assert!(
                matches!(err, StoreError::UnsupportedUrl { .. }),
                "{bad}: {err}"
            );
            assert!(!err.to_string().contains("pw"), "{err}");
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://plenum:s3cret@db:5432/plenum?sslmode=disable"),
            "postgres://plenum:***@db:5432/plenum?sslmode=disable"
        );
        assert_eq!(redact("postgres://a:b:c@h/d"), "postgres://a:***@h/d");
        assert_eq!(
            redact("postgres://plenum@db/plenum"),
            "postgres://plenum@db/plenum"
        );
        assert_eq!(redact("postgres://db/x@y:z"), "postgres://db/x@y:z");
        assert_eq!(redact("/var/lib/plenum.db"), "/var/lib/plenum.db");
    }
}
