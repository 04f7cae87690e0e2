-- Native (mobile) applications beside workers, in the same table so that the token
-- endpoint and every token check still read one row by its key. A native app's
-- identifiers are columns, unique within the environment (partial indexes: workers
-- have none); what credd keeps without acting on it is one JSON object. A NONE
-- application has no secret, so secret_hash may be NULL now; a secret is also kept
-- sealed under the master key (sealed_secret) so that GET …/secret can answer it;
-- secrets made before this have only their hash until they are rotated.
ALTER TABLE applications
    ADD COLUMN type TEXT NOT NULL DEFAULT 'WORKER',
    ALTER COLUMN secret_hash DROP NOT NULL,
    ADD COLUMN sealed_secret BYTEA,
    ADD COLUMN bundle_id TEXT,
    ADD COLUMN package_name TEXT,
    ADD COLUMN huawei_app_id TEXT,
    ADD COLUMN huawei_package_name TEXT,
    ADD COLUMN native_settings TEXT,
    ADD COLUMN sealed_google_play_keys BYTEA,
    ADD CONSTRAINT applications_secret_unless_none
        CHECK ((secret_hash IS NULL) = (token_endpoint_auth_method = 'NONE'));
ALTER TABLE applications ALTER COLUMN type DROP DEFAULT;
CREATE UNIQUE INDEX applications_unique_bundle_id ON applications (environment_id, bundle_id)
    WHERE bundle_id IS NOT NULL;
CREATE UNIQUE INDEX applications_unique_package_name ON applications (environment_id, package_name)
    WHERE package_name IS NOT NULL;
CREATE UNIQUE INDEX applications_unique_huawei_app_id ON applications (environment_id, huawei_app_id)
    WHERE huawei_app_id IS NOT NULL;
CREATE UNIQUE INDEX applications_unique_huawei_package_name ON applications (environment_id, huawei_package_name)
    WHERE huawei_package_name IS NOT NULL;

-- Deleting a native app deletes the wallet applications that name it.
CREATE INDEX wallet_applications_by_application ON wallet_applications (environment_id, application_id);
