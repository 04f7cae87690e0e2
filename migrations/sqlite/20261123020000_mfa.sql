-- MFA: device authentication policies (one row per method's rules), MFA settings,
-- and users' devices.

CREATE TABLE device_policies (
    id             TEXT PRIMARY KEY NOT NULL,
    environment_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    is_default     INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX device_policies_by_environment ON device_policies (environment_id, id);

CREATE TABLE device_policy_methods (
    policy_id         TEXT NOT NULL REFERENCES device_policies (id) ON DELETE CASCADE,
    method            TEXT NOT NULL,
    enabled           INTEGER NOT NULL,
    pairing_disabled  INTEGER NOT NULL,
    otp_lifetime      INTEGER NOT NULL,
    otp_lifetime_unit TEXT NOT NULL,
    failure_count     INTEGER NOT NULL,
    cool_down         INTEGER NOT NULL,
    cool_down_unit    TEXT NOT NULL,
    otp_length        INTEGER NOT NULL,
    PRIMARY KEY (policy_id, method)
) STRICT;

CREATE TABLE mfa_settings (
    environment_id      TEXT PRIMARY KEY NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    max_allowed_devices INTEGER NOT NULL,
    updated_at          TEXT NOT NULL
) STRICT;

-- policy_id has no foreign key: deleting a policy in use is refused by credd.
CREATE TABLE devices (
    id              TEXT PRIMARY KEY NOT NULL,
    environment_id  TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type            TEXT NOT NULL,
    status          TEXT NOT NULL,
    phone           TEXT,
    email           TEXT,
    nickname        TEXT,
    policy_id       TEXT NOT NULL,
    sealed_secret   BLOB,
    otp_hash        BLOB,
    otp_expires_at  TEXT,
    failed_attempts INTEGER NOT NULL,
    locked_until    TEXT,
    position        INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;
CREATE INDEX devices_by_user ON devices (environment_id, user_id, position, id);
CREATE INDEX devices_by_policy ON devices (policy_id);
-- One device per type and target for a user.
CREATE UNIQUE INDEX devices_unique_target ON devices (user_id, type, COALESCE(phone, email)) WHERE type <> 'TOTP';
