-- Gongji schema v1. Portable SQL: the PostgreSQL backend runs the same statements.
-- Every row that belongs to a person or institution carries its admdvs, so a national
-- deployment can route by the 2-digit province prefix (one database per province).

CREATE TABLE persons (
    psn_no          TEXT PRIMARY KEY,
    certno          TEXT NOT NULL UNIQUE,
    psn_name        TEXT NOT NULL,
    gend            TEXT NOT NULL,
    brdy            TEXT NOT NULL,
    insutype        TEXT NOT NULL,
    psn_type        TEXT NOT NULL,
    admdvs          TEXT NOT NULL,
    psn_insu_stas   TEXT NOT NULL,
    cvlserv_flag    INTEGER NOT NULL,
    public_medical  INTEGER NOT NULL,
    emp_name        TEXT NOT NULL,
    phone           TEXT NOT NULL
);
CREATE INDEX persons_phone ON persons(phone);

-- Ledger accounts: balance is a cache of the sum of postings, checked by `verify`.
CREATE TABLE accounts (
    account_key     TEXT PRIMARY KEY,
    psn_no          TEXT,
    balance_fen     BIGINT NOT NULL
);

CREATE TABLE institutions (
    fixmedins_code  TEXT PRIMARY KEY,
    fixmedins_name  TEXT NOT NULL,
    fixmedins_type  TEXT NOT NULL,
    hosp_lv         TEXT NOT NULL,
    admdvs          TEXT NOT NULL,
    lat             TEXT NOT NULL,
    lon             TEXT NOT NULL,
    mutual_aid      INTEGER NOT NULL,
    paasid          TEXT NOT NULL UNIQUE,
    token           TEXT NOT NULL
);

CREATE TABLE catalog (
    med_list_codg   TEXT PRIMARY KEY,
    med_list_name   TEXT NOT NULL,
    chrgitm_lv      TEXT NOT NULL,
    pric_uplmt_fen  BIGINT,
    selfpay_prop_bp INTEGER NOT NULL
);

CREATE TABLE bindings (
    binding_id      BIGINT PRIMARY KEY,
    holder_psn_no   TEXT NOT NULL,
    relative_psn_no TEXT NOT NULL,
    relationship    TEXT NOT NULL,
    begin_date      TEXT NOT NULL,
    end_date        TEXT,
    limit_per_payment_fen BIGINT,
    limit_per_month_fen   BIGINT,
    status          TEXT NOT NULL,
    channel         TEXT NOT NULL,
    admdvs          TEXT NOT NULL
);
CREATE INDEX bindings_holder ON bindings(holder_psn_no);
CREATE INDEX bindings_relative ON bindings(relative_psn_no);

-- One row per money-moving request (settlement, cancel, premium, opening balance).
CREATE TABLE journal (
    entry_id        BIGINT PRIMARY KEY,
    msgid           TEXT UNIQUE,
    kind            TEXT NOT NULL,
    admdvs          TEXT NOT NULL,
    psn_no          TEXT,
    fixmedins_code  TEXT,
    channel         TEXT NOT NULL,
    occurred_at     TEXT NOT NULL,
    reverses_entry  BIGINT,
    reversed_by     BIGINT,
    request_hash    TEXT,
    response        TEXT,
    summary         TEXT NOT NULL
);
CREATE INDEX journal_psn ON journal(psn_no);

CREATE TABLE postings (
    entry_id        BIGINT NOT NULL,
    seq             INTEGER NOT NULL,
    account_key     TEXT NOT NULL,
    amount_fen      BIGINT NOT NULL,
    rule            TEXT NOT NULL,
    floor_fen       BIGINT,
    balance_after_fen BIGINT NOT NULL,
    explanation     TEXT NOT NULL,
    PRIMARY KEY (entry_id, seq)
);
CREATE INDEX postings_account ON postings(account_key);

-- Settlement facts the institution interface reports and reconciles (3201).
CREATE TABLE settlements (
    setl_id         TEXT PRIMARY KEY,
    entry_id        BIGINT NOT NULL,
    mdtrt_id        TEXT NOT NULL,
    psn_no          TEXT NOT NULL,
    fixmedins_code  TEXT NOT NULL,
    admdvs          TEXT NOT NULL,
    insutype        TEXT NOT NULL,
    med_type        TEXT NOT NULL,
    setl_date       TEXT NOT NULL,
    medfee_sumamt   BIGINT NOT NULL,
    fund_pay_sumamt BIGINT NOT NULL,
    acct_pay        BIGINT NOT NULL,
    acct_mulaid_pay BIGINT NOT NULL,
    psn_cash_pay    BIGINT NOT NULL,
    cancelled       INTEGER NOT NULL,
    detail          TEXT NOT NULL
);
CREATE INDEX settlements_inst_date ON settlements(fixmedins_code, setl_date);

-- Usage counters the caps need; derived from settlements, kept for speed.
CREATE TABLE pool_usage (
    psn_no          TEXT NOT NULL,
    period          TEXT NOT NULL,
    cap_group       TEXT NOT NULL,
    deductible_fen  BIGINT NOT NULL,
    fund_fen        BIGINT NOT NULL,
    burden_fen      BIGINT NOT NULL,
    PRIMARY KEY (psn_no, period, cap_group)
);

CREATE TABLE binding_usage (
    binding_id      BIGINT NOT NULL,
    month           TEXT NOT NULL,
    amount_fen      BIGINT NOT NULL,
    PRIMARY KEY (binding_id, month)
);

CREATE TABLE premiums (
    relative_psn_no TEXT NOT NULL,
    year            INTEGER NOT NULL,
    entry_id        BIGINT NOT NULL,
    holder_psn_no   TEXT NOT NULL,
    category        TEXT NOT NULL,
    amount_fen      BIGINT NOT NULL,
    PRIMARY KEY (relative_psn_no, year)
);

CREATE TABLE binding_changes (
    holder_psn_no   TEXT NOT NULL,
    month           TEXT NOT NULL,
    count           INTEGER NOT NULL,
    PRIMARY KEY (holder_psn_no, month)
);

CREATE TABLE audit_log (
    audit_id        BIGINT PRIMARY KEY,
    at              TEXT NOT NULL,
    actor           TEXT NOT NULL,
    channel         TEXT NOT NULL,
    action          TEXT NOT NULL,
    subject         TEXT NOT NULL,
    before_state    TEXT,
    after_state     TEXT
);

-- What each entry added to the usage counters, so a cancel takes back exactly that.
CREATE TABLE usage_log (
    entry_id        BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    psn_no          TEXT,
    period          TEXT NOT NULL,
    cap_group       TEXT,
    binding_id      BIGINT,
    deductible_fen  BIGINT NOT NULL,
    fund_fen        BIGINT NOT NULL,
    burden_fen      BIGINT NOT NULL,
    amount_fen      BIGINT NOT NULL
);
CREATE INDEX usage_log_entry ON usage_log(entry_id);
