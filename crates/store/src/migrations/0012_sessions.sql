-- Sign-in sessions of people, staff and till operators, shared by every server process on
-- the database so that they survive a restart and a sign-out ends them everywhere. Not
-- engine state: written and read beside the ledger, like `staff`. Only the SHA-256 of a
-- token is kept, so a copy of this table signs no one in. Times are the server clock's
-- `yyyy-MM-dd HH:mm:ss`.

CREATE TABLE sessions (
    token_sha256    TEXT PRIMARY KEY,
    -- person | staff | operator
    kind            TEXT NOT NULL,
    psn_no          TEXT,
    username        TEXT,
    role            TEXT,
    fixmedins_code  TEXT,
    created_at      TEXT NOT NULL,
    last_seen_at    TEXT NOT NULL,
    -- The idle expiry, never past created_at + the absolute lifetime.
    expires_at      TEXT NOT NULL
);
CREATE INDEX sessions_expires ON sessions(expires_at);
