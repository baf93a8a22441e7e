-- R-S6: besides a relative's resident premium, mutual aid may pay his employee large-expense
-- supplement (大额医疗费用补助) and long-term-care (长期护理保险) premiums. Each is paid once per
-- person and year (R-R4), so the premium's kind joins the key; rows written before were all
-- resident premiums. Portable SQL: the PostgreSQL backend runs the same statements.

CREATE TABLE premiums_by_kind (
    relative_psn_no TEXT NOT NULL,
    year            INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    entry_id        BIGINT NOT NULL,
    holder_psn_no   TEXT NOT NULL,
    category        TEXT NOT NULL,
    amount_fen      BIGINT NOT NULL CHECK (amount_fen >= 0),
    PRIMARY KEY (relative_psn_no, year, kind)
);

INSERT INTO premiums_by_kind
    (relative_psn_no, year, kind, entry_id, holder_psn_no, category, amount_fen)
SELECT relative_psn_no, year, 'resident_premium', entry_id, holder_psn_no, category, amount_fen
FROM premiums;

DROP TABLE premiums;
ALTER TABLE premiums_by_kind RENAME TO premiums;
CREATE INDEX premiums_entry ON premiums(entry_id);
