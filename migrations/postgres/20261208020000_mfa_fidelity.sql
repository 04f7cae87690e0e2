-- MFA fidelity: what a device authentication policy or the MFA settings say that credd
-- keeps and answers without acting on it, as one JSON object each ('{}': every default),
-- and policy names unique within an environment.

ALTER TABLE device_policies ADD COLUMN kept_settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE mfa_settings ADD COLUMN kept_settings TEXT NOT NULL DEFAULT '{}';

-- Names were not unique before: a later twin gets its id appended, so the index can hold.
UPDATE device_policies SET name = name || ' (' || id || ')'
WHERE EXISTS (SELECT 1 FROM device_policies AS earlier
              WHERE earlier.environment_id = device_policies.environment_id
                AND earlier.name = device_policies.name AND earlier.id < device_policies.id);
CREATE UNIQUE INDEX device_policies_unique_name ON device_policies (environment_id, name);
