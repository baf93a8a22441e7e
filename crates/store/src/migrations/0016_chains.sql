-- Issue 12: hash chains over the journal and the audit log (see crates/store/src/chain.rs).
-- Portable SQL: the PostgreSQL backend runs the same statements.
--
-- Each row carries the algorithm of its link (`sm3` or `sha256`) and the link itself, 64
-- lowercase hex digits. Rows written before this migration are chained, oldest first, in
-- the transaction that applies it (the backends do that after these statements).
--
-- A journal row's place in its chain is `chain_seq` (1, 2, 3, ...: commit order, which is
-- entry_id order except when sessions of the conventional baseline commit out of order);
-- an audit row's is its audit_id.
ALTER TABLE journal ADD COLUMN chain_seq BIGINT;
CREATE UNIQUE INDEX journal_chain_seq ON journal(chain_seq);
ALTER TABLE journal ADD COLUMN chain_alg TEXT;
ALTER TABLE journal ADD COLUMN chain_hash TEXT;
ALTER TABLE audit_log ADD COLUMN chain_alg TEXT;
ALTER TABLE audit_log ADD COLUMN chain_hash TEXT;

-- Where each chain stands, read and advanced by every commit in its own transaction: the
-- writer's starting point for the next batch, and verify's check that no row was removed
-- from a chain's end. `alg` of the journal row is the algorithm new rows are chained with.
CREATE TABLE chain_heads (
    chain           TEXT PRIMARY KEY,
    alg             TEXT NOT NULL,
    head            TEXT NOT NULL,
    row_count       BIGINT NOT NULL,
    last_id         BIGINT NOT NULL
);

-- verify reads the rows a journal entry records by the entry.
CREATE INDEX settlements_entry ON settlements(entry_id);
CREATE INDEX recovery_cases_repaid ON recovery_cases(repaid_entry_id);
