//! Persistence of the plenum node: conference history, participant history, the admin audit
//! log and live device registrations, in SQLite (embedded, the default) or PostgreSQL.
//!
//! [`Store::open`] picks the backend from the URL, refuses to touch a SQLite file that is not a
//! SQLite database, and applies the schema migrations embedded from `migrations/sqlite` or
//! `migrations/postgres`. Both backends store the same schema (timestamps as milliseconds since
//! the Unix epoch, ids as text uuids) and share every query: the SQL below uses `$n`
//! placeholders, which SQLite understands as well as PostgreSQL.
//!
//! ```no_run
//! # async fn demo() -> Result<(), plenum_store::StoreError> {
//! use plenum_store::{Page, Store};
//! let store = Store::open("/var/lib/plenum/plenum.db").await?;
//! store.close_dangling(std::time::SystemTime::now()).await?;
//! for conference in store.conference_history(Page::first(50)).await? {
//!     println!("{} {}", conference.alias, conference.participant_count);
//! }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

use std::fmt;

use sqlx::{PgPool, SqlitePool};

mod audit;
mod error;
mod history;
mod open;
mod record;
mod registration;

pub use error::{BoxError, StoreError};
pub use history::{CONFERENCE_ENDED, NODE_RESTARTED};
pub use record::{
    AuditEntry, AuditRecord, CallType, ConferenceRecord, Dangling, NewConference, NewParticipant,
    NewRegistration, Page, ParticipantRecord, RegistrationRecord, Role, ServiceKind, UnknownValue,
};

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// An SQLite file (or in-memory database).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        })
    }
}

/// The node's history, audit and registration store. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's pool (`&SqlitePool` or `&PgPool`): the body
/// is written once and compiled for each backend, so it must evaluate to the same type in both.
macro_rules! with_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Runs `$body` inside a transaction on either backend, with `$tx` bound to the transaction:
/// `?` in the body aborts it (rolled back on drop); otherwise it commits and yields
/// `Ok(body's value)`, as a `Result<_, sqlx::Error>`.
macro_rules! in_transaction {
    ($store:expr, |$tx:ident| $body:block) => {
        $crate::with_pool!($store, |pool| async {
            let mut $tx = pool.begin().await?;
            let out = $body;
            $tx.commit().await?;
            Ok::<_, sqlx::Error>(out)
        }
        .await)
    };
}
pub(crate) use in_transaction;

impl Store {
    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes the connection pool, waiting for running queries. Later calls on this store (or
    /// its clones) fail.
    pub async fn close(&self) {
        with_pool!(self, |pool| pool.close().await)
    }
}

/// Wraps a driver error with what the store was doing.
fn db(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Database { op, source }
}
