-- Digital wallet applications, digital wallets, pairing sessions and attempts,
-- notification template contents, and the notification outbox.

CREATE TABLE wallet_applications (
    id                      UUID PRIMARY KEY,
    environment_id          UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    application_id          UUID NOT NULL,
    name                    TEXT NOT NULL,
    app_open_url            TEXT NOT NULL,
    uses_pingone_wallet_sdk BOOLEAN NOT NULL,
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX wallet_applications_by_environment ON wallet_applications (environment_id, id);

-- No foreign key to wallet_applications: deleting one disables its wallets, which stay.
CREATE TABLE digital_wallets (
    id                      UUID PRIMARY KEY,
    environment_id          UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    user_id                 UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    wallet_application_id   UUID NOT NULL,
    application_instance_id TEXT,
    status                  TEXT NOT NULL,
    public_key              TEXT,
    device_data             TEXT,
    token_hash              BYTEA,
    notification            TEXT,
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX digital_wallets_by_user ON digital_wallets (environment_id, user_id, id);
CREATE INDEX digital_wallets_by_application ON digital_wallets (wallet_application_id);

CREATE TABLE pairing_sessions (
    id              UUID PRIMARY KEY,
    environment_id  UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    user_id         UUID NOT NULL,
    wallet_id       UUID NOT NULL REFERENCES digital_wallets (id) ON DELETE CASCADE,
    request_id      UUID NOT NULL UNIQUE,
    challenge       TEXT NOT NULL,
    status          TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    expires_at      TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX pairing_sessions_by_wallet ON pairing_sessions (wallet_id, created_at);

CREATE TABLE pairing_attempts (
    id           UUID PRIMARY KEY,
    session_id   UUID NOT NULL REFERENCES pairing_sessions (id) ON DELETE CASCADE,
    wallet_id    UUID NOT NULL REFERENCES digital_wallets (id) ON DELETE CASCADE,
    success      BOOLEAN NOT NULL,
    attempted_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX pairing_attempts_by_wallet ON pairing_attempts (wallet_id, attempted_at);

CREATE TABLE template_contents (
    id              UUID PRIMARY KEY,
    environment_id  UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    template        TEXT NOT NULL,
    delivery_method TEXT NOT NULL,
    locale          TEXT NOT NULL,
    variant         TEXT,
    subject         TEXT,
    body            TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
-- One content per template, method, locale and variant ('' standing for the default).
CREATE UNIQUE INDEX template_contents_unique
    ON template_contents (environment_id, template, delivery_method, locale, COALESCE(variant, ''));

CREATE TABLE notifications (
    id              UUID PRIMARY KEY,
    environment_id  UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    user_id         UUID REFERENCES users (id) ON DELETE SET NULL,
    template        TEXT NOT NULL,
    delivery_method TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    locale          TEXT NOT NULL,
    variant         TEXT,
    sealed_message  BYTEA NOT NULL,
    status          TEXT NOT NULL,
    error           TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX notifications_by_environment ON notifications (environment_id, id);
