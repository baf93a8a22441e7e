-- R-R2: a resident who pays for a benefit year after 1 January is covered for the whole year.
-- A settlement he made before paying, while the collection was still open, held the pooled
-- fund's share back (one row per fund line, written with the settlement); the 补报 job pays it
-- once he has paid, as its own journal entry, at most once per settlement (the primary key).
-- Portable SQL: the PostgreSQL backend runs the same statements.

CREATE TABLE pool_withheld (
    setl_id       TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    entry_id      BIGINT NOT NULL,
    psn_no        TEXT NOT NULL,
    admdvs        TEXT NOT NULL,
    year          INTEGER NOT NULL,
    setl_date     TEXT NOT NULL,
    fund_pay_type TEXT NOT NULL,
    name_zh       TEXT NOT NULL,
    amount_fen    BIGINT NOT NULL CHECK (amount_fen >= 0),
    explanation   TEXT NOT NULL,
    PRIMARY KEY (setl_id, seq)
);
CREATE INDEX pool_withheld_entry ON pool_withheld(entry_id);
CREATE INDEX pool_withheld_psn ON pool_withheld(psn_no, year);

CREATE TABLE bubao (
    setl_id    TEXT PRIMARY KEY,
    entry_id   BIGINT NOT NULL UNIQUE,
    psn_no     TEXT NOT NULL,
    admdvs     TEXT NOT NULL,
    year       INTEGER NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    paid_on    TEXT NOT NULL
);
