-- Digital wallet applications, digital wallets, pairing sessions and attempts,
-- notification template contents, and the notification outbox.

CREATE TABLE wallet_applications (
    id                      TEXT PRIMARY KEY NOT NULL,
    environment_id          TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    application_id          TEXT NOT NULL,
    name                    TEXT NOT NULL,
    app_open_url            TEXT NOT NULL,
    uses_pingone_wallet_sdk INTEGER NOT NULL,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL
) STRICT;
CREATE INDEX wallet_applications_by_environment ON wallet_applications (environment_id, id);

-- No foreign key to wallet_applications: deleting one disables its wallets, which stay.
CREATE TABLE digital_wallets (
    id                      TEXT PRIMARY KEY NOT NULL,
    environment_id          TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    user_id                 TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    wallet_application_id   TEXT NOT NULL,
    application_instance_id TEXT,
    status                  TEXT NOT NULL,
    public_key              TEXT,
    device_data             TEXT,
    token_hash              BLOB,
    notification            TEXT,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL
) STRICT;
CREATE INDEX digital_wallets_by_user ON digital_wallets (environment_id, user_id, id);
CREATE INDEX digital_wallets_by_application ON digital_wallets (wallet_application_id);

CREATE TABLE pairing_sessions (
    id              TEXT PRIMARY KEY NOT NULL,
    environment_id  TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL,
    wallet_id       TEXT NOT NULL REFERENCES digital_wallets (id) ON DELETE CASCADE,
    request_id      TEXT NOT NULL UNIQUE,
    challenge       TEXT NOT NULL,
    status          TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    expires_at      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;
CREATE INDEX pairing_sessions_by_wallet ON pairing_sessions (wallet_id, created_at);

CREATE TABLE pairing_attempts (
    id           TEXT PRIMARY KEY NOT NULL,
    session_id   TEXT NOT NULL REFERENCES pairing_sessions (id) ON DELETE CASCADE,
    wallet_id    TEXT NOT NULL REFERENCES digital_wallets (id) ON DELETE CASCADE,
    success      INTEGER NOT NULL,
    attempted_at TEXT NOT NULL
) STRICT;
CREATE INDEX pairing_attempts_by_wallet ON pairing_attempts (wallet_id, attempted_at);

CREATE TABLE template_contents (
    id              TEXT PRIMARY KEY NOT NULL,
    environment_id  TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    template        TEXT NOT NULL,
    delivery_method TEXT NOT NULL,
    locale          TEXT NOT NULL,
    variant         TEXT,
    subject         TEXT,
    body            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;
-- One content per template, method, locale and variant ('' standing for the default).
CREATE UNIQUE INDEX template_contents_unique
    ON template_contents (environment_id, template, delivery_method, locale, COALESCE(variant, ''));

CREATE TABLE notifications (
    id              TEXT PRIMARY KEY NOT NULL,
    environment_id  TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    user_id         TEXT REFERENCES users (id) ON DELETE SET NULL,
    template        TEXT NOT NULL,
    delivery_method TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    locale          TEXT NOT NULL,
    variant         TEXT,
    sealed_message  BLOB NOT NULL,
    status          TEXT NOT NULL,
    error           TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
) STRICT;
CREATE INDEX notifications_by_environment ON notifications (environment_id, id);
