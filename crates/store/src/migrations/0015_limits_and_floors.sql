-- R-S3: a holder may limit what a relative draws per day and per year, beside per payment and
-- per month. What a binding carried per day and per year is kept in binding_usage beside the
-- month, under periods `YYYY-MM-DD` and `YYYY`.
-- Portable SQL: the PostgreSQL backend runs the same statements.
--
-- A limit is never negative; the schema says so for the columns it adds. (Balances are
-- written as additive upserts, and both databases check a CHECK constraint on the row an
-- upsert proposes before they find the conflict, so a floor on accounts.balance_fen would
-- refuse every payment: the engine asserts the floors before it writes instead.)

ALTER TABLE bindings ADD COLUMN limit_per_day_fen BIGINT CHECK (limit_per_day_fen >= 0);
ALTER TABLE bindings ADD COLUMN limit_per_year_fen BIGINT CHECK (limit_per_year_fen >= 0);
