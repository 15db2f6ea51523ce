//! Live device registrations: written when a desktop client registers a device alias,
//! refreshed with its token, deleted when it unregisters, expires, or the node restarts.
//!
//! The node's in-memory tokens are what make a registration valid; these rows mirror them so
//! that admins can list them and a later multi-node version can share them.

use std::time::SystemTime;

use uuid::Uuid;

use crate::record::{from_millis, parse_uuid, to_millis};
use crate::{NewRegistration, RegistrationRecord, Store, StoreError, db, with_pool};

const INSERT_REGISTRATION: &str = "INSERT INTO registration \
     (id, alias, username, remote_address, user_agent, registered_at, refreshed_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $6, $7)";

const REFRESH_REGISTRATION: &str =
    "UPDATE registration SET refreshed_at = $2, expires_at = $3 WHERE id = $1";

const DELETE_REGISTRATION: &str = "DELETE FROM registration WHERE id = $1";

// Unordered: `live_registrations` sorts in Rust, see there.
const SELECT_LIVE_REGISTRATIONS: &str = "SELECT id, alias, username, remote_address, \
     user_agent, registered_at, refreshed_at, expires_at \
     FROM registration WHERE expires_at > $1";

const DELETE_EXPIRED_REGISTRATIONS: &str = "DELETE FROM registration WHERE expires_at <= $1";

const DELETE_ALL_REGISTRATIONS: &str = "DELETE FROM registration";

impl Store {
    /// Records a new registration; its `refreshed_at` starts as `registered_at`.
    ///
    /// Fails with [`StoreError::Database`] if a registration with the same id is stored.
    pub async fn registration_started(&self, r: &NewRegistration) -> Result<(), StoreError> {
        let registered_at = to_millis(r.registered_at, "registered_at")?;
        let expires_at = to_millis(r.expires_at, "expires_at")?;
        with_pool!(self, |pool| sqlx::query(INSERT_REGISTRATION)
            .bind(r.id.to_string())
            .bind(&r.alias)
            .bind(&r.username)
            .bind(&r.remote_address)
            .bind(&r.user_agent)
            .bind(registered_at)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(drop))
        .map_err(db("recording a registration"))
    }

    /// Records that a registration was refreshed at `now` and now lapses at `expires_at`.
    ///
    /// Returns `false`, changing nothing, when the row is gone (never recorded, ended,
    /// expired and deleted, or cleared by a restart).
    pub async fn registration_refreshed(
        &self,
        id: Uuid,
        now: SystemTime,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        let now = to_millis(now, "now")?;
        let expires_at = to_millis(expires_at, "expires_at")?;
        with_pool!(self, |pool| sqlx::query(REFRESH_REGISTRATION)
            .bind(id.to_string())
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() > 0))
        .map_err(db("refreshing a registration"))
    }

    /// Deletes a registration (the client unregistered). An unknown id is not an error.
    pub async fn registration_ended(&self, id: Uuid) -> Result<(), StoreError> {
        with_pool!(self, |pool| sqlx::query(DELETE_REGISTRATION)
            .bind(id.to_string())
            .execute(pool)
            .await
            .map(drop))
        .map_err(db("deleting a registration"))
    }

    /// Every registration with `expires_at > now`, ordered by alias, then by `registered_at`
    /// (then by id, so that the order is total).
    ///
    /// Aliases compare byte-wise, the same on both backends: the rows are sorted here rather
    /// than by `ORDER BY`, whose text order would follow the PostgreSQL database's collation.
    pub async fn live_registrations(
        &self,
        now: SystemTime,
    ) -> Result<Vec<RegistrationRecord>, StoreError> {
        let now = to_millis(now, "now")?;
        let rows: Vec<RegistrationRow> =
            with_pool!(self, |pool| sqlx::query_as(SELECT_LIVE_REGISTRATIONS)
                .bind(now)
                .fetch_all(pool)
                .await)
            .map_err(db("listing registrations"))?;
        let mut records = rows
            .into_iter()
            .map(RegistrationRow::into_record)
            .collect::<Result<Vec<_>, _>>()?;
        records.sort_by(|a, b| {
            (a.alias.as_bytes(), a.registered_at, a.id).cmp(&(
                b.alias.as_bytes(),
                b.registered_at,
                b.id,
            ))
        });
        Ok(records)
    }

    /// Deletes every registration with `expires_at <= now`; returns how many.
    pub async fn expire_registrations(&self, now: SystemTime) -> Result<u64, StoreError> {
        let now = to_millis(now, "now")?;
        with_pool!(self, |pool| sqlx::query(DELETE_EXPIRED_REGISTRATIONS)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(db("deleting expired registrations"))
    }

    /// Deletes every registration; returns how many.
    ///
    /// Call it once when the node starts: the registrations of a previous run are void, since
    /// their tokens lived in that run's memory. Like [`Store::close_dangling`], it assumes this
    /// node is the only writer of the database.
    pub async fn clear_registrations(&self) -> Result<u64, StoreError> {
        with_pool!(self, |pool| sqlx::query(DELETE_ALL_REGISTRATIONS)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(db("clearing registrations"))
    }
}

/// A `registration` row as stored.
#[derive(sqlx::FromRow)]
struct RegistrationRow {
    id: String,
    alias: String,
    username: String,
    remote_address: String,
    user_agent: String,
    registered_at: i64,
    refreshed_at: i64,
    expires_at: i64,
}

impl RegistrationRow {
    fn into_record(self) -> Result<RegistrationRecord, StoreError> {
        Ok(RegistrationRecord {
            id: parse_uuid(&self.id, "registration id")?,
            alias: self.alias,
            username: self.username,
            remote_address: self.remote_address,
            user_agent: self.user_agent,
            registered_at: from_millis(self.registered_at, "registered_at")?,
            refreshed_at: from_millis(self.refreshed_at, "refreshed_at")?,
            expires_at: from_millis(self.expires_at, "expires_at")?,
        })
    }
}
