-- User credentials, their copies in wallets (the mailbox), and the wallets' actions.

CREATE TABLE user_credentials (
    id                 UUID PRIMARY KEY,
    environment_id     UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    user_id            UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_type_id UUID NOT NULL,
    type_version       BIGINT NOT NULL,
    title              TEXT NOT NULL,
    status             TEXT NOT NULL,
    expires_at         TIMESTAMPTZ,
    notification       TEXT,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX user_credentials_by_user ON user_credentials (environment_id, user_id, id);

-- No foreign key to the wallet: a deleted wallet's history stays with the credential.
CREATE TABLE provisioned_credentials (
    id             UUID PRIMARY KEY,
    environment_id UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    user_id        UUID NOT NULL,
    credential_id  UUID NOT NULL REFERENCES user_credentials (id) ON DELETE CASCADE,
    wallet_id      UUID NOT NULL,
    status         TEXT NOT NULL,
    sealed_payload BYTEA,
    delivered_at   TIMESTAMPTZ,
    delivery_error TEXT,
    expires_at     TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX provisioned_credentials_by_credential ON provisioned_credentials (credential_id, id);
CREATE INDEX provisioned_credentials_by_wallet ON provisioned_credentials (wallet_id, id);

CREATE TABLE wallet_actions (
    provisioned_id UUID NOT NULL REFERENCES provisioned_credentials (id) ON DELETE CASCADE,
    action         TEXT NOT NULL,
    occurred_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX wallet_actions_by_provisioned ON wallet_actions (provisioned_id, occurred_at);
