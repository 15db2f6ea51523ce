-- plenum-store schema 1 (SQLite): conference history, participant history, admin audit log.
-- Keep in step with ../postgres/0001_history_and_audit.sql: same tables, same columns.
-- Timestamps are integer milliseconds since the Unix epoch (UTC); ids are lowercase hyphenated uuids.

CREATE TABLE conferences (
    id                TEXT    PRIMARY KEY NOT NULL,
    service_name      TEXT    NOT NULL,
    service_kind      TEXT    NOT NULL,            -- vmr | auditorium | reception | test_call
    alias             TEXT    NOT NULL,            -- the alias dialled first
    started_at        INTEGER NOT NULL,
    ended_at          INTEGER,                     -- NULL while live
    end_reason        TEXT,
    max_participants  INTEGER NOT NULL DEFAULT 0,  -- most participants present at once
    participant_count INTEGER NOT NULL DEFAULT 0   -- participants that ever joined
);
CREATE INDEX conferences_started_at ON conferences (started_at);
CREATE INDEX conferences_live ON conferences (id) WHERE ended_at IS NULL;

CREATE TABLE participants (
    id                TEXT    PRIMARY KEY NOT NULL,
    conference_id     TEXT    NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    display_name      TEXT    NOT NULL,
    role              TEXT    NOT NULL,            -- host | guest | none
    call_type         TEXT    NOT NULL,            -- video | audio | none
    protocol          TEXT    NOT NULL,            -- api | webrtc | ...
    remote_address    TEXT,
    joined_at         INTEGER NOT NULL,
    left_at           INTEGER,                     -- NULL while present
    duration_seconds  INTEGER,                     -- set on leave
    disconnect_reason TEXT,
    pex_code          INTEGER,
    media_quality     TEXT                         -- JSON, reserved
);
CREATE INDEX participants_conference_id ON participants (conference_id);
CREATE INDEX participants_joined_at ON participants (joined_at);
CREATE INDEX participants_present ON participants (conference_id) WHERE left_at IS NULL;

CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,
    admin_user     TEXT    NOT NULL,
    action         TEXT    NOT NULL,               -- lock | unlock | disconnect_participant | ...
    target         TEXT    NOT NULL,
    detail         TEXT,                           -- JSON
    remote_address TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
