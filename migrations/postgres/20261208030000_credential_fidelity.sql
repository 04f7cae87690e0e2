-- Every documented field of the issuer profile and of credential types, the immutable
-- versions of each credential type, and the version each user credential was issued from.

ALTER TABLE issuer_profiles ADD COLUMN logo TEXT;
ALTER TABLE issuer_profiles ADD COLUMN application_instance_id UUID NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE issuer_profiles ALTER COLUMN application_instance_id DROP DEFAULT;
ALTER TABLE issuer_profiles ADD COLUMN use_custom_domain BOOLEAN NOT NULL DEFAULT TRUE;
-- `credentialSigning` as JSON: `{url, headers}`.
ALTER TABLE issuer_profiles ADD COLUMN credential_signing TEXT;

-- The type's optional settings (cardDesignTemplate, expiration, multiple, openid4VCI,
-- visualizationTemplateData) as JSON: they are read and written only whole.
ALTER TABLE credential_types ADD COLUMN options TEXT;
ALTER TABLE credential_types ADD COLUMN metadata_version BIGINT;
ALTER TABLE credential_types ADD COLUMN version_id UUID NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE credential_types ALTER COLUMN version_id DROP DEFAULT;

ALTER TABLE credential_type_fields ADD COLUMN is_visible BOOLEAN;
ALTER TABLE credential_type_fields ADD COLUMN default_value TEXT;
ALTER TABLE credential_type_fields ADD COLUMN file_support TEXT;

-- Written once per version of a type and never changed: the type as it was (JSON).
CREATE TABLE credential_type_versions (
    id             UUID PRIMARY KEY,
    environment_id UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    type_id        UUID NOT NULL REFERENCES credential_types (id) ON DELETE CASCADE,
    number         BIGINT NOT NULL,
    snapshot       TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX credential_type_versions_by_type ON credential_type_versions (type_id, number);

ALTER TABLE user_credentials ADD COLUMN type_version_id UUID;
ALTER TABLE user_credentials ADD COLUMN store_until_issued BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE user_credentials u SET type_version_id = t.version_id
    FROM credential_types t WHERE t.id = u.credential_type_id AND t.version = u.type_version;
