-- Cross-province mutual aid by quota (R-N3, issue 14). Each province keeps its end of a
-- binding, the transfers it sent (its outbox, retried until the peer answers), the
-- transfers it received (one row per transfer id: the receiver's dedup, applied or refused
-- for good) and, on the relative's side, where each quota was spent.
-- Portable SQL: the PostgreSQL backend runs the same statements.

CREATE TABLE quota_bindings (
    holder_province   INTEGER NOT NULL,
    holder_psn_no     TEXT NOT NULL,
    relative_province INTEGER NOT NULL,
    relative_psn_no   TEXT NOT NULL,
    side              TEXT NOT NULL CHECK (side IN ('holder', 'relative')),
    relationship      TEXT NOT NULL,
    begin_date        TEXT NOT NULL,
    end_date          TEXT,
    status            TEXT NOT NULL CHECK (status IN ('active', 'ending', 'ended')),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    PRIMARY KEY (holder_province, holder_psn_no, relative_province, relative_psn_no)
);
CREATE INDEX quota_bindings_relative ON quota_bindings (relative_psn_no);

CREATE TABLE quota_sent (
    transfer_id       TEXT PRIMARY KEY,
    direction         TEXT NOT NULL CHECK (direction IN ('grant', 'return')),
    holder_province   INTEGER NOT NULL,
    holder_psn_no     TEXT NOT NULL,
    relative_province INTEGER NOT NULL,
    relative_psn_no   TEXT NOT NULL,
    amount_fen        BIGINT NOT NULL CHECK (amount_fen > 0),
    state             TEXT NOT NULL CHECK (state IN ('reserved', 'confirmed', 'released')),
    entry_id          BIGINT NOT NULL,
    release_entry_id  BIGINT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX quota_sent_state ON quota_sent (state);

CREATE TABLE quota_applied (
    transfer_id       TEXT NOT NULL UNIQUE,
    direction         TEXT NOT NULL CHECK (direction IN ('grant', 'return')),
    holder_province   INTEGER NOT NULL,
    holder_psn_no     TEXT NOT NULL,
    relative_province INTEGER NOT NULL,
    relative_psn_no   TEXT NOT NULL,
    amount_fen        BIGINT NOT NULL,
    entry_id          BIGINT,
    refusal_code      TEXT,
    refusal_zh        TEXT,
    applied_at        TEXT NOT NULL
);

CREATE TABLE quota_spends (
    entry_id          BIGINT NOT NULL,
    setl_id           TEXT NOT NULL,
    holder_province   INTEGER NOT NULL,
    holder_psn_no     TEXT NOT NULL,
    relative_province INTEGER NOT NULL,
    relative_psn_no   TEXT NOT NULL,
    fixmedins_code    TEXT NOT NULL,
    amount_fen        BIGINT NOT NULL,
    spent_at          TEXT NOT NULL,
    PRIMARY KEY (entry_id, holder_province, holder_psn_no, relative_psn_no)
);
