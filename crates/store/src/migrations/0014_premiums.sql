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

-- R-R5: a person's contribution category for a benefit year, as the agency set it from another
-- department's list (民政 特困/低保, 乡村振兴 监测对象, 残联...). One row per list that names
-- the person; the category paid is the cheapest of them (see ContributionYear::category_due).
CREATE TABLE contribution_categories (
    psn_no       TEXT NOT NULL,
    year         INTEGER NOT NULL,
    category     TEXT NOT NULL,
    source_dept  TEXT NOT NULL,
    list_date    TEXT NOT NULL,
    imported_at  TEXT NOT NULL,
    imported_by  TEXT NOT NULL,
    PRIMARY KEY (psn_no, year, category, source_dept)
);
