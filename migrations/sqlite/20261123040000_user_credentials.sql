-- User credentials, their copies in wallets (the mailbox), and the wallets' actions.

CREATE TABLE user_credentials (
    id                 TEXT PRIMARY KEY NOT NULL,
    environment_id     TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_type_id TEXT NOT NULL,
    type_version       INTEGER NOT NULL,
    title              TEXT NOT NULL,
    status             TEXT NOT NULL,
    expires_at         TEXT,
    notification       TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
) STRICT;
CREATE INDEX user_credentials_by_user ON user_credentials (environment_id, user_id, id);

-- No foreign key to the wallet: a deleted wallet's history stays with the credential.
CREATE TABLE provisioned_credentials (
    id             TEXT PRIMARY KEY NOT NULL,
    environment_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL,
    credential_id  TEXT NOT NULL REFERENCES user_credentials (id) ON DELETE CASCADE,
    wallet_id      TEXT NOT NULL,
    status         TEXT NOT NULL,
    sealed_payload BLOB,
    delivered_at   TEXT,
    delivery_error TEXT,
    expires_at     TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX provisioned_credentials_by_credential ON provisioned_credentials (credential_id, id);
CREATE INDEX provisioned_credentials_by_wallet ON provisioned_credentials (wallet_id, id);

CREATE TABLE wallet_actions (
    provisioned_id TEXT NOT NULL REFERENCES provisioned_credentials (id) ON DELETE CASCADE,
    action         TEXT NOT NULL,
    occurred_at    TEXT NOT NULL
) STRICT;
CREATE INDEX wallet_actions_by_provisioned ON wallet_actions (provisioned_id, occurred_at);
