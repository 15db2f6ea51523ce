//! Conference and participant history: recording starts, ends, joins and leaves, listing them,
//! and closing what a crashed node left open.

use std::time::SystemTime;

use uuid::Uuid;

use crate::record::{
    from_millis, from_millis_opt, invalid, parse_enum, parse_json, parse_uuid, to_millis, to_u64,
};
use crate::{
    ConferenceRecord, Dangling, NewConference, NewParticipant, Page, ParticipantRecord, Store,
    StoreError, db, in_transaction, with_pool,
};

/// The end reason [`Store::close_dangling`] records.
pub const NODE_RESTARTED: &str = "node restarted";
/// The disconnect reason of participants still present when [`Store::conference_ended`] runs.
pub const CONFERENCE_ENDED: &str = "conference ended";

/// `duration_seconds` for a leave at placeholder `$param` (milliseconds): whole seconds since
/// `joined_at`, never negative even if the clock went backwards.
macro_rules! duration_at {
    ($param:literal) => {
        concat!(
            "CASE WHEN ",
            $param,
            " > joined_at THEN (",
            $param,
            " - joined_at) / 1000 ELSE 0 END"
        )
    };
}

const INSERT_CONFERENCE: &str = "INSERT INTO conferences \
     (id, service_name, service_kind, alias, started_at, max_participants, participant_count) \
     VALUES ($1, $2, $3, $4, $5, 0, 0)";

const END_CONFERENCE: &str =
    "UPDATE conferences SET ended_at = $2, end_reason = $3 WHERE id = $1 AND ended_at IS NULL";

const LEAVE_ALL_OF_CONFERENCE: &str = concat!(
    "UPDATE participants SET left_at = $2, disconnect_reason = $3, duration_seconds = ",
    duration_at!("$2"),
    " WHERE conference_id = $1 AND left_at IS NULL"
);

const COUNT_JOIN: &str =
    "UPDATE conferences SET participant_count = participant_count + 1 WHERE id = $1";

const INSERT_PARTICIPANT: &str = "INSERT INTO participants \
     (id, conference_id, display_name, role, call_type, protocol, remote_address, joined_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

const COUNT_PRESENT: &str =
    "SELECT COUNT(*) FROM participants WHERE conference_id = $1 AND left_at IS NULL";

const RAISE_MAX: &str =
    "UPDATE conferences SET max_participants = $2 WHERE id = $1 AND max_participants < $2";

const LEAVE: &str = concat!(
    "UPDATE participants SET left_at = $2, disconnect_reason = $3, pex_code = $4, \
     duration_seconds = ",
    duration_at!("$2"),
    " WHERE id = $1 AND left_at IS NULL"
);

const SET_MEDIA_QUALITY: &str = "UPDATE participants SET media_quality = $2 WHERE id = $1";

const LEAVE_ALL: &str = concat!(
    "UPDATE participants SET left_at = $1, disconnect_reason = $2, duration_seconds = ",
    duration_at!("$1"),
    " WHERE left_at IS NULL"
);

const END_ALL: &str =
    "UPDATE conferences SET ended_at = $1, end_reason = $2 WHERE ended_at IS NULL";

const SELECT_CONFERENCE: &str = "SELECT id, service_name, service_kind, alias, started_at, \
     ended_at, end_reason, max_participants, participant_count \
     FROM conferences WHERE id = $1";

const SELECT_CONFERENCES: &str = "SELECT id, service_name, service_kind, alias, started_at, \
     ended_at, end_reason, max_participants, participant_count \
     FROM conferences ORDER BY started_at DESC, id DESC LIMIT $1 OFFSET $2";

const COUNT_CONFERENCES: &str = "SELECT COUNT(*) FROM conferences";

const SELECT_PARTICIPANTS: &str = "SELECT id, conference_id, display_name, role, call_type, \
     protocol, remote_address, joined_at, left_at, duration_seconds, disconnect_reason, \
     pex_code, media_quality \
     FROM participants WHERE conference_id = $1 ORDER BY joined_at, id";

impl Store {
    /// Records that a conference started. Its counters start at zero.
    pub async fn conference_started(&self, c: &NewConference) -> Result<(), StoreError> {
        let started_at = to_millis(c.started_at, "started_at")?;
        with_pool!(self, |pool| sqlx::query(INSERT_CONFERENCE)
            .bind(c.id.to_string())
            .bind(&c.service_name)
            .bind(c.service_kind.as_str())
            .bind(&c.alias)
            .bind(started_at)
            .execute(pool)
            .await
            .map(drop))
        .map_err(db("recording a conference start"))
    }

    /// Records that a conference ended. Participants still present leave at the same time with
    /// reason [`CONFERENCE_ENDED`].
    ///
    /// Returns `false`, changing nothing, if the conference is unknown or had already ended.
    pub async fn conference_ended(
        &self,
        id: Uuid,
        ended_at: SystemTime,
        end_reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let ended_at = to_millis(ended_at, "ended_at")?;
        let id = id.to_string();
        in_transaction!(self, |tx| {
            let ended = sqlx::query(END_CONFERENCE)
                .bind(&id)
                .bind(ended_at)
                .bind(end_reason)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
            if ended {
                sqlx::query(LEAVE_ALL_OF_CONFERENCE)
                    .bind(&id)
                    .bind(ended_at)
                    .bind(CONFERENCE_ENDED)
                    .execute(&mut *tx)
                    .await?;
            }
            ended
        })
        .map_err(db("recording a conference end"))
    }

    /// Records that a participant joined: adds the participant, counts it in the conference's
    /// `participant_count`, and raises `max_participants` if more participants are now present
    /// than ever before.
    ///
    /// Fails with [`StoreError::UnknownConference`] if the conference was never recorded.
    pub async fn participant_joined(&self, p: &NewParticipant) -> Result<(), StoreError> {
        let joined_at = to_millis(p.joined_at, "joined_at")?;
        let conference_id = p.conference_id.to_string();
        let known = in_transaction!(self, |tx| {
            // Updating the conference row first serialises concurrent joins to one conference
            // (row lock in PostgreSQL, write lock in SQLite), so the count below is exact.
            let known = sqlx::query(COUNT_JOIN)
                .bind(&conference_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
            if known {
                sqlx::query(INSERT_PARTICIPANT)
                    .bind(p.id.to_string())
                    .bind(&conference_id)
                    .bind(&p.display_name)
                    .bind(p.role.as_str())
                    .bind(p.call_type.as_str())
                    .bind(&p.protocol)
                    .bind(p.remote_address.as_deref())
                    .bind(joined_at)
                    .execute(&mut *tx)
                    .await?;
                let present: i64 = sqlx::query_scalar(COUNT_PRESENT)
                    .bind(&conference_id)
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(RAISE_MAX)
                    .bind(&conference_id)
                    .bind(present)
                    .execute(&mut *tx)
                    .await?;
            }
            known
        })
        .map_err(db("recording a participant join"))?;
        if known {
            Ok(())
        } else {
            Err(StoreError::UnknownConference {
                id: p.conference_id,
            })
        }
    }

    /// Records that a participant left, with the reason and PEX code if any, and stores the
    /// whole seconds they were present.
    ///
    /// Returns `false`, changing nothing, if the participant is unknown or had already left.
    pub async fn participant_left(
        &self,
        id: Uuid,
        left_at: SystemTime,
        reason: Option<&str>,
        pex_code: Option<u16>,
    ) -> Result<bool, StoreError> {
        let left_at = to_millis(left_at, "left_at")?;
        with_pool!(self, |pool| sqlx::query(LEAVE)
            .bind(id.to_string())
            .bind(left_at)
            .bind(reason)
            .bind(pex_code.map(i64::from))
            .execute(pool)
            .await
            .map(|done| done.rows_affected() > 0))
        .map_err(db("recording a participant leave"))
    }

    /// Stores a participant's last media quality report (a JSON object, as the client
    /// API's `statistics` gave it). Returns `false` if the participant is unknown.
    pub async fn participant_media_quality(
        &self,
        id: Uuid,
        quality: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let text = quality.to_string();
        with_pool!(self, |pool| sqlx::query(SET_MEDIA_QUALITY)
            .bind(id.to_string())
            .bind(&text)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() > 0))
        .map_err(db("recording a participant's media quality"))
    }

    /// Ends everything a previous run left open: every participant that never left leaves, and
    /// every conference that never ended ends, at `now` with reason [`NODE_RESTARTED`].
    ///
    /// Call it once when the node starts, before it hosts any conference; it assumes this node
    /// is the only writer of the database.
    pub async fn close_dangling(&self, now: SystemTime) -> Result<Dangling, StoreError> {
        let now = to_millis(now, "now")?;
        in_transaction!(self, |tx| {
            let participants = sqlx::query(LEAVE_ALL)
                .bind(now)
                .bind(NODE_RESTARTED)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let conferences = sqlx::query(END_ALL)
                .bind(now)
                .bind(NODE_RESTARTED)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            Dangling {
                conferences,
                participants,
            }
        })
        .map_err(db("closing conferences left open"))
    }

    /// One page of conferences, most recently started first.
    pub async fn conference_history(
        &self,
        page: Page,
    ) -> Result<Vec<ConferenceRecord>, StoreError> {
        let (limit, offset) = page.to_sql()?;
        let rows: Vec<ConferenceRow> = with_pool!(self, |pool| sqlx::query_as(SELECT_CONFERENCES)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await)
        .map_err(db("listing conferences"))?;
        rows.into_iter().map(ConferenceRow::into_record).collect()
    }

    /// One conference by id; `None` if it was never recorded.
    pub async fn conference(&self, id: Uuid) -> Result<Option<ConferenceRecord>, StoreError> {
        let row: Option<ConferenceRow> = with_pool!(self, |pool| sqlx::query_as(SELECT_CONFERENCE)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await)
        .map_err(db("looking up a conference"))?;
        row.map(ConferenceRow::into_record).transpose()
    }

    /// How many conferences are recorded (live or ended).
    pub async fn count_conferences(&self) -> Result<u64, StoreError> {
        let n: i64 = with_pool!(self, |pool| sqlx::query_scalar(COUNT_CONFERENCES)
            .fetch_one(pool)
            .await)
        .map_err(db("counting conferences"))?;
        to_u64(n, "conference count")
    }

    /// Every participant of a conference, in the order they joined. Empty if the conference is
    /// unknown.
    pub async fn participants_of(
        &self,
        conference_id: Uuid,
    ) -> Result<Vec<ParticipantRecord>, StoreError> {
        let rows: Vec<ParticipantRow> =
            with_pool!(self, |pool| sqlx::query_as(SELECT_PARTICIPANTS)
                .bind(conference_id.to_string())
                .fetch_all(pool)
                .await)
            .map_err(db("listing participants"))?;
        rows.into_iter().map(ParticipantRow::into_record).collect()
    }
}

/// A `conferences` row as stored.
#[derive(sqlx::FromRow)]
struct ConferenceRow {
    id: String,
    service_name: String,
    service_kind: String,
    alias: String,
    started_at: i64,
    ended_at: Option<i64>,
    end_reason: Option<String>,
    max_participants: i64,
    participant_count: i64,
}

impl ConferenceRow {
    fn into_record(self) -> Result<ConferenceRecord, StoreError> {
        Ok(ConferenceRecord {
            id: parse_uuid(&self.id, "conference id")?,
            service_name: self.service_name,
            service_kind: parse_enum(&self.service_kind, "service_kind")?,
            alias: self.alias,
            started_at: from_millis(self.started_at, "started_at")?,
            ended_at: from_millis_opt(self.ended_at, "ended_at")?,
            end_reason: self.end_reason,
            max_participants: to_u64(self.max_participants, "max_participants")?,
            participant_count: to_u64(self.participant_count, "participant_count")?,
        })
    }
}

/// A `participants` row as stored.
#[derive(sqlx::FromRow)]
struct ParticipantRow {
    id: String,
    conference_id: String,
    display_name: String,
    role: String,
    call_type: String,
    protocol: String,
    remote_address: Option<String>,
    joined_at: i64,
    left_at: Option<i64>,
    duration_seconds: Option<i64>,
    disconnect_reason: Option<String>,
    pex_code: Option<i64>,
    media_quality: Option<String>,
}

impl ParticipantRow {
    fn into_record(self) -> Result<ParticipantRecord, StoreError> {
        Ok(ParticipantRecord {
            id: parse_uuid(&self.id, "participant id")?,
            conference_id: parse_uuid(&self.conference_id, "conference id")?,
            display_name: self.display_name,
            role: parse_enum(&self.role, "role")?,
            call_type: parse_enum(&self.call_type, "call_type")?,
            protocol: self.protocol,
            remote_address: self.remote_address,
            joined_at: from_millis(self.joined_at, "joined_at")?,
            left_at: from_millis_opt(self.left_at, "left_at")?,
            duration_seconds: self
                .duration_seconds
                .map(|d| to_u64(d, "duration_seconds"))
                .transpose()?,
            disconnect_reason: self.disconnect_reason,
            pex_code: self
                .pex_code
                .map(|c| u16::try_from(c).map_err(|_| invalid("pex_code", c)))
                .transpose()?,
            media_quality: parse_json(self.media_quality, "media_quality")?,
        })
    }
}
