-- Till operators (收费操作员): accounts that belong to one designated institution and sign in
-- to `/terminal`, which then acts as that institution only. The username is unique within
-- its institution. Portable SQL: the PostgreSQL backend runs the same statements.

CREATE TABLE operators (
    fixmedins_code  TEXT NOT NULL,
    username        TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (fixmedins_code, username)
);
