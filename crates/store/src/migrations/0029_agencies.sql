-- R-J6: the medical-insurance agencies (医保经办机构) people visit in person, with where they
-- are, their telephone and opening hours, listed on the nearby page beside the institutions.
-- They take no payments: no paasid, no token. Coordinates as text like the institutions'.
-- Portable SQL: the PostgreSQL backend runs the same statements.

CREATE TABLE agencies (
    agency_code     TEXT PRIMARY KEY,
    agency_name     TEXT NOT NULL,
    admdvs          TEXT NOT NULL,
    lat             TEXT NOT NULL,
    lon             TEXT NOT NULL,
    address         TEXT NOT NULL DEFAULT '',
    phone           TEXT NOT NULL DEFAULT '',
    opening_hours   TEXT NOT NULL DEFAULT ''
);
