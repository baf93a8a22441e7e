-- What the schema can say about money and codes, it says (issue 11): a bad row written behind
-- the ledger's back (a script, a hand repair) is refused by the database itself, not only found
-- later by `gongji verify`.
--
-- Portable SQL: the PostgreSQL backend runs the same statements. SQLite cannot add a CHECK to
-- an existing table, so each table is rebuilt with its CHECKs (same columns, same stored
-- formats, same indexes) and its rows copied; a database whose rows already break a rule
-- fails this migration and is not opened, which `gongji verify` would have named anyway.
--
-- Not here: accounts.balance_fen >= 0. Balances are written as additive upserts, and both
-- databases check a CHECK on the row an upsert proposes (the delta) before they find the
-- conflict, so such a CHECK would refuse every payment. The same rule is said on postings
-- instead: a posting on a personal account (`psn:`) never leaves it below zero, nor any
-- account below the floor the posting carries (the reserve, for mutual aid and premiums).

CREATE TABLE postings_checked (
    entry_id        BIGINT NOT NULL,
    seq             INTEGER NOT NULL,
    account_key     TEXT NOT NULL,
    amount_fen      BIGINT NOT NULL CHECK (amount_fen <> 0),
    rule            TEXT NOT NULL,
    floor_fen       BIGINT,
    balance_after_fen BIGINT NOT NULL,
    explanation     TEXT NOT NULL,
    PRIMARY KEY (entry_id, seq),
    CHECK (account_key NOT LIKE 'psn:%' OR balance_after_fen >= 0),
    CHECK (floor_fen IS NULL OR balance_after_fen >= floor_fen)
);
INSERT INTO postings_checked (entry_id, seq, account_key, amount_fen, rule, floor_fen,
    balance_after_fen, explanation)
SELECT entry_id, seq, account_key, amount_fen, rule, floor_fen, balance_after_fen, explanation
FROM postings;
DROP TABLE postings;
ALTER TABLE postings_checked RENAME TO postings;
CREATE INDEX postings_account ON postings(account_key);

CREATE TABLE bindings_checked (
    binding_id      BIGINT PRIMARY KEY,
    holder_psn_no   TEXT NOT NULL,
    relative_psn_no TEXT NOT NULL,
    relationship    TEXT NOT NULL,
    begin_date      TEXT NOT NULL,
    end_date        TEXT,
    limit_per_payment_fen BIGINT CHECK (limit_per_payment_fen >= 0),
    limit_per_month_fen   BIGINT CHECK (limit_per_month_fen >= 0),
    status          TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'ended')),
    channel         TEXT NOT NULL,
    admdvs          TEXT NOT NULL,
    limit_per_day_fen BIGINT CHECK (limit_per_day_fen >= 0),
    limit_per_year_fen BIGINT CHECK (limit_per_year_fen >= 0),
    CHECK (holder_psn_no <> relative_psn_no)
);
INSERT INTO bindings_checked (binding_id, holder_psn_no, relative_psn_no, relationship,
    begin_date, end_date, limit_per_payment_fen, limit_per_month_fen, status, channel, admdvs,
    limit_per_day_fen, limit_per_year_fen)
SELECT binding_id, holder_psn_no, relative_psn_no, relationship, begin_date, end_date,
    limit_per_payment_fen, limit_per_month_fen, status, channel, admdvs, limit_per_day_fen,
    limit_per_year_fen
FROM bindings;
DROP TABLE bindings;
ALTER TABLE bindings_checked RENAME TO bindings;
CREATE INDEX bindings_holder ON bindings(holder_psn_no);
CREATE INDEX bindings_relative ON bindings(relative_psn_no);
