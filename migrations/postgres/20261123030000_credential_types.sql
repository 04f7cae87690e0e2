-- The issuer profile of each environment, and credential types with their fields.

CREATE TABLE issuer_profiles (
    id                 UUID PRIMARY KEY,
    environment_id     UUID NOT NULL UNIQUE REFERENCES environments (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    site_url           TEXT,
    public_key         BYTEA NOT NULL,
    sealed_private_key BYTEA NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE credential_types (
    id                   UUID PRIMARY KEY,
    environment_id       UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    title                TEXT NOT NULL,
    description          TEXT,
    card_type            TEXT NOT NULL,
    issuer_name          TEXT,
    management_mode      TEXT NOT NULL,
    metadata_name        TEXT,
    metadata_description TEXT,
    background_image     TEXT,
    logo_image           TEXT,
    card_color           TEXT,
    text_color           TEXT,
    bg_opacity_percent   BIGINT,
    columns              BIGINT,
    revoke_on_delete     BOOLEAN NOT NULL,
    version              BIGINT NOT NULL,
    deleted_at           TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX credential_types_by_environment ON credential_types (environment_id, id);

CREATE TABLE credential_type_fields (
    type_id   UUID NOT NULL REFERENCES credential_types (id) ON DELETE CASCADE,
    position  BIGINT NOT NULL,
    field_id  TEXT NOT NULL,
    type      TEXT NOT NULL,
    title     TEXT NOT NULL,
    value     TEXT,
    attribute TEXT,
    required  BOOLEAN NOT NULL,
    PRIMARY KEY (type_id, position)
);
