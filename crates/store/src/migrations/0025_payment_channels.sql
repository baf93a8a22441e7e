-- Issue 13: premiums paid with outside money. A resident pays his own premium (R-J5) or a
-- collecting agent pays for him, through a payment channel; the provider's signed
-- notification confirms an order. Rows written before were all paid from a holder's personal
-- account. Portable SQL: the PostgreSQL backend runs the same statements.

-- Where a premium's money came from: personal_account, wechat, alipay, unionpay, pos,
-- bank_app, agent, dev. `agent_id` only for an agent's payment. `paid_at` is the tax
-- collection time the channel's notification carries (RFC 3339); NULL: the journal
-- entry's time. The chain encodes all three (chain.rs), past their defaults.
ALTER TABLE premiums ADD COLUMN channel TEXT NOT NULL DEFAULT 'personal_account';
ALTER TABLE premiums ADD COLUMN agent_id TEXT;
ALTER TABLE premiums ADD COLUMN paid_at TEXT;
CREATE INDEX premiums_agent ON premiums (agent_id, paid_at);

-- An order made with a payment provider before the money moves: what is owed (the
-- registry's amount, never the payer's), by whom and for whom. Insert only: whether it was
-- paid or refunded is the journal's (the notification's entry, keyed by the provider's
-- transaction id).
CREATE TABLE payment_orders (
    order_id      TEXT PRIMARY KEY,
    provider      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    psn_no        TEXT NOT NULL,
    payer_psn_no  TEXT,
    agent_id      TEXT,
    year          INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    category      TEXT NOT NULL,
    amount_fen    BIGINT NOT NULL CHECK (amount_fen > 0),
    created_at    TEXT NOT NULL
);
CREATE INDEX payment_orders_psn ON payment_orders (psn_no, year, kind);

-- A collecting agent (代收点: village committee, bank branch, school) registered by staff;
-- it pays residents' premiums in batches with its API token (only its SHA-256 is kept).
CREATE TABLE collecting_agents (
    agent_id      TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    admdvs        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    token_sha256  TEXT NOT NULL UNIQUE,
    added_by      TEXT NOT NULL,
    added_at      TEXT NOT NULL
);
