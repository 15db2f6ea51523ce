-- plenum-store schema 2 (PostgreSQL): live device registrations.
-- Keep in step with ../sqlite/0002_registrations.sql: same table, same columns.
-- Timestamps are BIGINT milliseconds since the Unix epoch (UTC), as in SQLite, so that both
-- backends share their queries; ids are lowercase hyphenated uuids stored as TEXT.
-- A row lives while its registration does: the node deletes it when the client unregisters or
-- the registration expires, and deletes them all on start (their tokens lived in memory).

CREATE TABLE registration (
    id             TEXT   PRIMARY KEY,
    alias          TEXT   NOT NULL,                -- the [[device]] alias registered
    username       TEXT   NOT NULL,                -- the device's user name
    remote_address TEXT   NOT NULL,                -- ip:port the client registered from
    user_agent     TEXT   NOT NULL,                -- '' if the client sent none
    registered_at  BIGINT NOT NULL,
    refreshed_at   BIGINT NOT NULL,                -- = registered_at until the first refresh
    expires_at     BIGINT NOT NULL
);
CREATE INDEX registration_expires_at ON registration (expires_at);
