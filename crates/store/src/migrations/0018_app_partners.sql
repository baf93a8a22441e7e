-- App partners (渠道合作方): the WeChat and Alipay mini-programs and provincial apps (爱山东)
-- that call the people's API through the 国密 envelope (NHSA-INTERFACE.md, "The 国密
-- envelope for apps"). Registered by staff with `gongji partner add`; not engine state.
-- The app secret is needed in clear to check signatures and derive the SM4 key, so it is
-- sealed (SM4-GCM under the deployment's token key, `sm4gcm:` + hex) rather than hashed;
-- without a token key it is stored as given. The public key is `04`‖x‖y in hex.
-- Portable SQL: the PostgreSQL backend runs the same statements.

CREATE TABLE app_partners (
    app_code     TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    channel      TEXT NOT NULL,
    app_secret   TEXT NOT NULL,
    public_key   TEXT NOT NULL,
    active       INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL
);
