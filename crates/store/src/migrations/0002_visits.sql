-- Visits (2201) and their uploaded fee details (2204) until they are settled or cancelled,
-- and the answers to messages that move no money, so a replayed msgid gets the first answer.

CREATE TABLE visits (
    mdtrt_id        TEXT PRIMARY KEY,
    psn_no          TEXT NOT NULL,
    fixmedins_code  TEXT NOT NULL,
    admdvs          TEXT NOT NULL,
    insutype        TEXT NOT NULL,
    med_type        TEXT NOT NULL,
    begntime        TEXT NOT NULL,
    status          TEXT NOT NULL,
    diagnosis       TEXT NOT NULL
);

CREATE TABLE fee_details (
    mdtrt_id        TEXT NOT NULL,
    feedetl_sn      TEXT NOT NULL,
    chrg_bchno      TEXT NOT NULL,
    med_list_codg   TEXT NOT NULL,
    amount_fen      BIGINT NOT NULL,
    count_e4        BIGINT NOT NULL,
    price_fen       BIGINT NOT NULL,
    setl_id         TEXT,
    PRIMARY KEY (mdtrt_id, feedetl_sn)
);

CREATE TABLE messages (
    msgid           TEXT PRIMARY KEY,
    request_hash    TEXT,
    response        TEXT
);
