-- Personal data at rest (issue 12): where the deployment enables `[privacy]`, persons.certno
-- and persons.phone hold sealed values (SM4-GCM, see privacy.rs) and these columns hold their
-- keyed hashes (HMAC-SM3 of the normalised value), which sign-in by phone and search by ID
-- number match instead. NULL while encryption is off (or for a row not yet sealed).
-- `privacy_key` keeps one row, the check of the key the data was sealed with, so a wrong key
-- is refused at start before anything is read or written.
-- Portable SQL: the PostgreSQL backend runs the same statements.

ALTER TABLE persons ADD COLUMN certno_lookup TEXT;
ALTER TABLE persons ADD COLUMN phone_lookup TEXT;
CREATE UNIQUE INDEX persons_certno_lookup ON persons(certno_lookup);
CREATE INDEX persons_phone_lookup ON persons(phone_lookup);

CREATE TABLE privacy_key (
    key_check       TEXT PRIMARY KEY,
    alg             TEXT NOT NULL
);
