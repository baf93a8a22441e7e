-- 亲情账户 (proxy e-voucher, E6): a parent, signed in, lets one named child show his
-- e-voucher at a designated institution. The payment is the parent's own: this is not
-- family mutual aid and moves nobody else's money. `token` is the code the child shows;
-- a revoked consent keeps its row (revoked_at set) so the audit trail reads back.
-- Portable SQL: the PostgreSQL backend runs the same statements.

CREATE TABLE proxy_consents (
    token           TEXT PRIMARY KEY,
    parent_psn_no   TEXT NOT NULL,
    child_psn_no    TEXT NOT NULL,
    given_at        TEXT NOT NULL,
    revoked_at      TEXT
);
CREATE INDEX proxy_consents_parent ON proxy_consents (parent_psn_no);
CREATE INDEX proxy_consents_child ON proxy_consents (child_psn_no);
