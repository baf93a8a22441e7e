-- R-J6: where people find an institution and how they reach it: its address, telephone and
-- opening hours, shown on the nearby page. Empty for institutions registered before.
-- Portable SQL: the PostgreSQL backend runs the same statements.

ALTER TABLE institutions ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE institutions ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE institutions ADD COLUMN opening_hours TEXT NOT NULL DEFAULT '';
