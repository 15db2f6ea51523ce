-- plenum-store schema 2 (SQLite): live device registrations.
-- Keep in step with ../postgres/0002_registrations.sql: same table, same columns.
-- Timestamps are integer milliseconds since the Unix epoch (UTC); ids are lowercase hyphenated uuids.
-- A row lives while its registration does: the node deletes it when the client unregisters or
-- the registration expires, and deletes them all on start (their tokens lived in memory).

CREATE TABLE registration (
    id             TEXT    PRIMARY KEY NOT NULL,
    alias          TEXT    NOT NULL,               -- the [[device]] alias registered
    username       TEXT    NOT NULL,               -- the device's user name
    remote_address TEXT    NOT NULL,               -- ip:port the client registered from
    user_agent     TEXT    NOT NULL,               -- '' if the client sent none
    registered_at  INTEGER NOT NULL,
    refreshed_at   INTEGER NOT NULL,               -- = registered_at until the first refresh
    expires_at     INTEGER NOT NULL
);
CREATE INDEX registration_expires_at ON registration (expires_at);
