-- Online requests staff review (R-R7): a person's correction of his own name or mobile
-- number, or his registration of a new resident of his family. A request is decided once;
-- its row keeps who decided, when and, for a rejection, the reason the person reads. The
-- change to the registry an approval makes commits in the same batch as this row and its
-- audit row.
-- Portable SQL: the PostgreSQL backend runs the same statements.

CREATE TABLE review_requests (
    review_id       TEXT PRIMARY KEY,
    psn_no          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    state           TEXT NOT NULL,
    name            TEXT NOT NULL,
    phone           TEXT NOT NULL,
    certno          TEXT NOT NULL,
    admdvs          TEXT NOT NULL,
    submitted_at    TEXT NOT NULL,
    decided_at      TEXT,
    decided_by      TEXT,
    reason          TEXT
);
CREATE INDEX review_requests_psn ON review_requests (psn_no);
CREATE INDEX review_requests_state ON review_requests (state);
