//! The crate's error type, [`StoreError`].

use std::path::PathBuf;

/// A boxed error cause, for failures that come from more than one library (io, sqlx).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in `plenum-store`.
///
/// The `Corrupt`, `Unwritable`, `Connect` and `Migrate` variants come from [`Store::open`] and
/// say what the administrator should do; the others come from individual operations.
///
/// [`Store::open`]: crate::Store::open
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL is neither a SQLite path/URL nor a PostgreSQL URL.
    #[error(
        "unsupported database url {url:?}: use a file path, sqlite://<path> or postgres://<user>@<host>/<database>"
    )]
    UnsupportedUrl {
        /// The URL as given, with any password replaced by `***`.
        url: String,
    },

    /// The SQLite file exists but is not a usable SQLite database. The file was left untouched.
    #[error(
        "{path} is not a valid sqlite database (corrupt, truncated or some other kind of file); \
         plenum has not modified it: restore it from a backup, or move it aside to start with an \
         empty history"
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What SQLite (or the header check) reported.
        #[source]
        source: BoxError,
    },

    /// The SQLite file or its directory cannot be created, opened or written.
    #[error(
        "cannot open sqlite database {path} for writing: make sure its directory exists and that \
         the user running plenum may write both the file and the directory (sqlite keeps \
         -wal and -shm files next to it)"
    )]
    Unwritable {
        /// The database file.
        path: PathBuf,
        /// What the filesystem or SQLite reported.
        #[source]
        source: BoxError,
    },

    /// The PostgreSQL server could not be reached or refused the connection.
    #[error(
        "cannot connect to postgresql at {url}: check that the server is running and the url, user and password are right"
    )]
    Connect {
        /// The URL, with any password replaced by `***`.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// The schema migrations could not be applied.
    #[error(
        "cannot apply the plenum schema migrations to the {backend} database: it may belong to \
         another application or to a newer plenum version"
    )]
    Migrate {
        /// Which backend.
        backend: crate::Backend,
        /// The migrator's error.
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// A query failed.
    #[error("database error while {op}")]
    Database {
        /// What the store was doing, e.g. `"recording a participant join"`.
        op: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// A participant joined a conference the store has no record of.
    #[error("unknown conference {id}: record conference_started before participants join")]
    UnknownConference {
        /// The conference id given.
        id: uuid::Uuid,
    },

    /// A [`Page`](crate::Page) outside the allowed range.
    #[error("invalid page: limit must be 1..={max} (got {limit}) and offset at most i64::MAX (got {offset})", max = crate::Page::MAX_LIMIT)]
    InvalidPage {
        /// The requested page size.
        limit: u32,
        /// The requested offset.
        offset: u64,
    },

    /// A timestamp that cannot be stored as milliseconds since the Unix epoch.
    #[error("{what} is not representable as milliseconds since 1970-01-01")]
    InvalidTimestamp {
        /// Which timestamp, e.g. `"joined_at"`.
        what: &'static str,
    },

    /// A stored value that this version of plenum cannot interpret.
    #[error("stored {what} is invalid: {value:?}")]
    InvalidData {
        /// Which column.
        what: &'static str,
        /// The stored value.
        value: String,
    },
}

impl StoreError {
    /// Whether the database could not be reached or could not take the write now
    /// (connection lost or refused, the pool timed out, the server shutting down or out
    /// of resources, SQLite busy, locked, full, read-only or failing to do I/O): trying
    /// the same write again later may succeed. Every other error is about the write
    /// itself and fails the same way every time.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connect { .. } | StoreError::Unwritable { .. } => true,
            StoreError::Database { source, .. } => sqlx_unavailable(source),
            _ => false,
        }
    }
}

fn sqlx_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLite primary result codes: BUSY 5, LOCKED 6, READONLY 8, IOERR 10,
                // FULL 13, CANTOPEN 14 (extended codes carry them in the low byte).
                code.parse::<u32>()
                    .is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 8 | 10 | 13 | 14))
            } else {
                // PostgreSQL SQLSTATE: connection exceptions (08), insufficient
                // resources (53), operator intervention such as a shutdown (57), a
                // database that does not allow connections now (55000).
                code.starts_with("08")
                    || code.starts_with("53")
                    || code.starts_with("57")
                    || code == "55000"
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_are_unavailable_and_bad_writes_are_not() {
        let db = |source| StoreError::Database {
            op: "testing",
            source,
        };
        assert!(db(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(db(sqlx::Error::Io(std::io::Error::other("reset"))).is_unavailable());
        assert!(!db(sqlx::Error::RowNotFound).is_unavailable());
        assert!(
            !StoreError::UnknownConference {
                id: uuid::Uuid::nil()
            }
            .is_unavailable()
        );
        assert!(!StoreError::InvalidTimestamp { what: "joined_at" }.is_unavailable());
    }
}
