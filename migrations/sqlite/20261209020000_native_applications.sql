-- Native (mobile) applications beside workers, in the same table so that the token
-- endpoint and every token check still read one row by its key. A native app's
-- identifiers are columns, unique within the environment (partial indexes: workers
-- have none); what credd keeps without acting on it is one JSON object. A NONE
-- application has no secret, so secret_hash may be NULL now; a secret is also kept
-- sealed under the master key (sealed_secret) so that GET …/secret can answer it;
-- secrets made before this have only their hash until they are rotated.
--
-- SQLite cannot drop a NOT NULL constraint: the table is rebuilt (nothing references
-- it by foreign key).
CREATE TABLE applications_rebuilt (
    id                         TEXT PRIMARY KEY NOT NULL,
    environment_id             TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    type                       TEXT NOT NULL,
    name                       TEXT NOT NULL,
    description                TEXT,
    enabled                    INTEGER NOT NULL,
    token_endpoint_auth_method TEXT NOT NULL,
    secret_hash                BLOB,
    sealed_secret              BLOB,
    bundle_id                  TEXT,
    package_name               TEXT,
    huawei_app_id              TEXT,
    huawei_package_name        TEXT,
    native_settings            TEXT,
    sealed_google_play_keys    BLOB,
    created_at                 TEXT NOT NULL,
    updated_at                 TEXT NOT NULL,
    CHECK ((secret_hash IS NULL) = (token_endpoint_auth_method = 'NONE'))
) STRICT;
INSERT INTO applications_rebuilt (id, environment_id, type, name, description, enabled, token_endpoint_auth_method,
                                  secret_hash, created_at, updated_at)
SELECT id, environment_id, 'WORKER', name, description, enabled, token_endpoint_auth_method, secret_hash,
       created_at, updated_at
FROM applications;
DROP TABLE applications;
ALTER TABLE applications_rebuilt RENAME TO applications;
CREATE INDEX applications_by_environment ON applications (environment_id, id);
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
