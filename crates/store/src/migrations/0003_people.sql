-- People and staff: bureau staff accounts, recovery cases (追回) and signed commitment
-- letters (承诺书), plus indexes for the records, reports and audit reads of the REST API.
-- Portable SQL: the PostgreSQL backend runs the same statements.

CREATE TABLE staff (
    username        TEXT PRIMARY KEY,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL,
    created_at      TEXT NOT NULL
);

CREATE TABLE recovery_cases (
    case_id         BIGINT PRIMARY KEY,
    binding_id      BIGINT NOT NULL,
    holder_psn_no   TEXT NOT NULL,
    relative_psn_no TEXT NOT NULL,
    setl_id         TEXT NOT NULL,
    admdvs          TEXT NOT NULL,
    amount_fen      BIGINT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL,
    opened_by       TEXT NOT NULL,
    opened_at       TEXT NOT NULL,
    repaid_by       TEXT,
    repaid_at       TEXT,
    repaid_entry_id BIGINT
);
CREATE INDEX recovery_cases_setl ON recovery_cases(setl_id);
CREATE INDEX recovery_cases_holder ON recovery_cases(holder_psn_no);

CREATE TABLE commitments (
    binding_id      BIGINT PRIMARY KEY,
    holder_psn_no   TEXT NOT NULL,
    admdvs          TEXT NOT NULL,
    notice_version  TEXT NOT NULL,
    letter          TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    signature       TEXT NOT NULL,
    signed_at       TEXT NOT NULL,
    channel         TEXT NOT NULL
);

CREATE INDEX premiums_entry ON premiums(entry_id);
CREATE INDEX settlements_psn ON settlements(psn_no);
CREATE INDEX settlements_date ON settlements(setl_date);
CREATE INDEX audit_subject ON audit_log(subject);
