-- Every documented field of the issuer profile and of credential types, the immutable
-- versions of each credential type, and the version each user credential was issued from.

ALTER TABLE issuer_profiles ADD COLUMN logo TEXT;
ALTER TABLE issuer_profiles ADD COLUMN application_instance_id TEXT NOT NULL DEFAULT '';
ALTER TABLE issuer_profiles ADD COLUMN use_custom_domain INTEGER NOT NULL DEFAULT 1;
-- `credentialSigning` as JSON: `{url, headers}`.
ALTER TABLE issuer_profiles ADD COLUMN credential_signing TEXT;

-- The type's optional settings (cardDesignTemplate, expiration, multiple, openid4VCI,
-- visualizationTemplateData) as JSON: they are read and written only whole.
ALTER TABLE credential_types ADD COLUMN options TEXT;
ALTER TABLE credential_types ADD COLUMN metadata_version INTEGER;
ALTER TABLE credential_types ADD COLUMN version_id TEXT NOT NULL DEFAULT '';

ALTER TABLE credential_type_fields ADD COLUMN is_visible INTEGER;
ALTER TABLE credential_type_fields ADD COLUMN default_value TEXT;
ALTER TABLE credential_type_fields ADD COLUMN file_support TEXT;

-- Written once per version of a type and never changed: the type as it was (JSON).
CREATE TABLE credential_type_versions (
    id             TEXT PRIMARY KEY NOT NULL,
    environment_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    type_id        TEXT NOT NULL REFERENCES credential_types (id) ON DELETE CASCADE,
    number         INTEGER NOT NULL,
    snapshot       TEXT NOT NULL,
    created_at     TEXT NOT NULL
) STRICT;
CREATE INDEX credential_type_versions_by_type ON credential_type_versions (type_id, number);

ALTER TABLE user_credentials ADD COLUMN type_version_id TEXT;
ALTER TABLE user_credentials ADD COLUMN store_until_issued INTEGER NOT NULL DEFAULT 0;

-- Ids for the rows made before: random version 4 UUIDs.
UPDATE issuer_profiles SET application_instance_id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4'
    || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1)
    || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
UPDATE credential_types SET version_id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4'
    || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1)
    || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
UPDATE user_credentials SET type_version_id = (
    SELECT t.version_id FROM credential_types t
    WHERE t.id = user_credentials.credential_type_id AND t.version = user_credentials.type_version
);
