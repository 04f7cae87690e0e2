-- Environments, their token signing keys, worker applications, users, and the jobs
-- table. Ids are hyphenated UUID text; timestamps are RFC 3339 UTC text written by
-- credd at millisecond precision, so they compare correctly as strings.

CREATE TABLE environments (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    type        TEXT NOT NULL,
    region      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE signing_keys (
    id                 TEXT PRIMARY KEY NOT NULL,
    environment_id     TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    public_key         BLOB NOT NULL,
    sealed_private_key BLOB NOT NULL,
    created_at         TEXT NOT NULL
) STRICT;
CREATE INDEX signing_keys_by_environment ON signing_keys (environment_id, created_at);

CREATE TABLE applications (
    id                         TEXT PRIMARY KEY NOT NULL,
    environment_id             TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name                       TEXT NOT NULL,
    description                TEXT,
    enabled                    INTEGER NOT NULL,
    token_endpoint_auth_method TEXT NOT NULL,
    secret_hash                BLOB NOT NULL,
    created_at                 TEXT NOT NULL,
    updated_at                 TEXT NOT NULL
) STRICT;
CREATE INDEX applications_by_environment ON applications (environment_id, id);

CREATE TABLE users (
    id                 TEXT PRIMARY KEY NOT NULL,
    environment_id     TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    username           TEXT NOT NULL,
    email              TEXT,
    mobile_phone       TEXT,
    primary_phone      TEXT,
    locale             TEXT,
    preferred_language TEXT,
    name_given         TEXT,
    name_family        TEXT,
    name_formatted     TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    UNIQUE (environment_id, username)
) STRICT;
CREATE INDEX users_by_environment ON users (environment_id, id);
CREATE INDEX users_by_email ON users (environment_id, email, id);

CREATE TABLE jobs (
    id           TEXT PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL,
    payload      BLOB NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       TEXT NOT NULL,
    locked_until TEXT,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;
-- Only unfinished jobs are ever looked for by the claim.
CREATE INDEX jobs_due ON jobs (run_at) WHERE status IN ('queued', 'running');
