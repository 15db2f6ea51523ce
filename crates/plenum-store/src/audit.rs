//! The admin audit log: appending entries and listing them.

use crate::record::{from_millis, parse_json, to_millis, to_u64};
use crate::{AuditEntry, AuditRecord, Page, Store, StoreError, db, with_pool};

const INSERT_AUDIT: &str = "INSERT INTO audit_log \
     (at, admin_user, action, target, detail, remote_address) VALUES ($1, $2, $3, $4, $5, $6)";

const SELECT_AUDIT: &str = "SELECT id, at, admin_user, action, target, detail, remote_address \
     FROM audit_log ORDER BY at DESC, id DESC LIMIT $1 OFFSET $2";

const COUNT_AUDIT: &str = "SELECT COUNT(*) FROM audit_log";

impl Store {
    /// Appends an entry to the audit log.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let at = to_millis(entry.at, "at")?;
        let detail = entry.detail.as_ref().map(|d| d.to_string());
        with_pool!(self, |pool| sqlx::query(INSERT_AUDIT)
            .bind(at)
            .bind(&entry.admin_user)
            .bind(&entry.action)
            .bind(&entry.target)
            .bind(detail.as_deref())
            .bind(entry.remote_address.as_deref())
            .execute(pool)
            .await
            .map(drop))
        .map_err(db("writing the audit log"))
    }

    /// One page of the audit log, newest first (entries with the same time: last written first).
    pub async fn audit_log(&self, page: Page) -> Result<Vec<AuditRecord>, StoreError> {
        let (limit, offset) = page.to_sql()?;
        let rows: Vec<AuditRow> = with_pool!(self, |pool| sqlx::query_as(SELECT_AUDIT)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await)
        .map_err(db("reading the audit log"))?;
        rows.into_iter().map(AuditRow::into_record).collect()
    }

    /// How many entries the audit log holds.
    pub async fn count_audit_entries(&self) -> Result<u64, StoreError> {
        let n: i64 = with_pool!(self, |pool| sqlx::query_scalar(COUNT_AUDIT)
            .fetch_one(pool)
            .await)
        .map_err(db("counting audit log entries"))?;
        to_u64(n, "audit entry count")
    }
}

/// An `audit_log` row as stored.
#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    admin_user: String,
    action: String,
    target: String,
    detail: Option<String>,
    remote_address: Option<String>,
}

impl AuditRow {
    fn into_record(self) -> Result<AuditRecord, StoreError> {
        Ok(AuditRecord {
            id: self.id,
            at: from_millis(self.at, "at")?,
            admin_user: self.admin_user,
            action: self.action,
            target: self.target,
            detail: parse_json(self.detail, "detail")?,
            remote_address: self.remote_address,
        })
    }
}
