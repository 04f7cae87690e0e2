-- The issuer profile of each environment, and credential types with their fields.

CREATE TABLE issuer_profiles (
    id                 TEXT PRIMARY KEY NOT NULL,
    environment_id     TEXT NOT NULL UNIQUE REFERENCES environments (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    site_url           TEXT,
    public_key         BLOB NOT NULL,
    sealed_private_key BLOB NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
) STRICT;

CREATE TABLE credential_types (
    id                   TEXT PRIMARY KEY NOT NULL,
    environment_id       TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
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
    bg_opacity_percent   INTEGER,
    columns              INTEGER,
    revoke_on_delete     INTEGER NOT NULL,
    version              INTEGER NOT NULL,
    deleted_at           TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
) STRICT;
CREATE INDEX credential_types_by_environment ON credential_types (environment_id, id);

CREATE TABLE credential_type_fields (
    type_id   TEXT NOT NULL REFERENCES credential_types (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    field_id  TEXT NOT NULL,
    type      TEXT NOT NULL,
    title     TEXT NOT NULL,
    value     TEXT,
    attribute TEXT,
    required  INTEGER NOT NULL,
    PRIMARY KEY (type_id, position)
) STRICT;
