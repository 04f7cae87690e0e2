-- Environments, their token signing keys, worker applications, users, and the jobs table.

CREATE TABLE environments (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    type        TEXT NOT NULL,
    region      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE signing_keys (
    id                 UUID PRIMARY KEY,
    environment_id     UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    public_key         BYTEA NOT NULL,
    sealed_private_key BYTEA NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX signing_keys_by_environment ON signing_keys (environment_id, created_at);

CREATE TABLE applications (
    id                         UUID PRIMARY KEY,
    environment_id             UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name                       TEXT NOT NULL,
    description                TEXT,
    enabled                    BOOLEAN NOT NULL,
    token_endpoint_auth_method TEXT NOT NULL,
    secret_hash                BYTEA NOT NULL,
    created_at                 TIMESTAMPTZ NOT NULL,
    updated_at                 TIMESTAMPTZ NOT NULL
);
CREATE INDEX applications_by_environment ON applications (environment_id, id);

CREATE TABLE users (
    id                 UUID PRIMARY KEY,
    environment_id     UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    username           TEXT NOT NULL,
    email              TEXT,
    mobile_phone       TEXT,
    primary_phone      TEXT,
    locale             TEXT,
    preferred_language TEXT,
    name_given         TEXT,
    name_family        TEXT,
    name_formatted     TEXT,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    UNIQUE (environment_id, username)
);
CREATE INDEX users_by_environment ON users (environment_id, id);
CREATE INDEX users_by_email ON users (environment_id, email, id);

CREATE TABLE jobs (
    id           UUID PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      BYTEA NOT NULL,
    status       TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_at       TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ,
    last_error   TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
-- Only unfinished jobs are ever looked for by the claim.
CREATE INDEX jobs_due ON jobs (run_at) WHERE status IN ('queued', 'running');
