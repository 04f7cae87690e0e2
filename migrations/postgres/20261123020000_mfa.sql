-- MFA: device authentication policies (one row per method's rules), MFA settings,
-- and users' devices.

CREATE TABLE device_policies (
    id             UUID PRIMARY KEY,
    environment_id UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    is_default     BOOLEAN NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX device_policies_by_environment ON device_policies (environment_id, id);

CREATE TABLE device_policy_methods (
    policy_id         UUID NOT NULL REFERENCES device_policies (id) ON DELETE CASCADE,
    method            TEXT NOT NULL,
    enabled           BOOLEAN NOT NULL,
    pairing_disabled  BOOLEAN NOT NULL,
    otp_lifetime      BIGINT NOT NULL,
    otp_lifetime_unit TEXT NOT NULL,
    failure_count     BIGINT NOT NULL,
    cool_down         BIGINT NOT NULL,
    cool_down_unit    TEXT NOT NULL,
    otp_length        BIGINT NOT NULL,
    PRIMARY KEY (policy_id, method)
);

CREATE TABLE mfa_settings (
    environment_id      UUID PRIMARY KEY REFERENCES environments (id) ON DELETE CASCADE,
    max_allowed_devices BIGINT NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);

-- policy_id has no foreign key: deleting a policy in use is refused by credd.
CREATE TABLE devices (
    id              UUID PRIMARY KEY,
    environment_id  UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type            TEXT NOT NULL,
    status          TEXT NOT NULL,
    phone           TEXT,
    email           TEXT,
    nickname        TEXT,
    policy_id       UUID NOT NULL,
    sealed_secret   BYTEA,
    otp_hash        BYTEA,
    otp_expires_at  TIMESTAMPTZ,
    failed_attempts BIGINT NOT NULL,
    locked_until    TIMESTAMPTZ,
    position        BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX devices_by_user ON devices (environment_id, user_id, position, id);
CREATE INDEX devices_by_policy ON devices (policy_id);
-- One device per type and target for a user.
CREATE UNIQUE INDEX devices_unique_target ON devices (user_id, type, COALESCE(phone, email)) WHERE type <> 'TOTP';
