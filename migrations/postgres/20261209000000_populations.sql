-- Populations: every environment has exactly one default population, and every user is
-- in exactly one population of their environment.

CREATE TABLE populations (
    id                      UUID PRIMARY KEY,
    environment_id          UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name                    TEXT NOT NULL,
    description             TEXT,
    is_default              BOOLEAN NOT NULL,
    -- passwordPolicy.id and theme.id, kept as sent: credd has neither.
    password_policy_id      UUID,
    theme_id                UUID,
    preferred_language      TEXT,
    -- A JSON array of strings.
    alternative_identifiers TEXT NOT NULL,
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX populations_by_environment ON populations (environment_id, id);
-- Names are unique whatever the case of A to Z, as usernames are ("C" folds A to Z
-- only, as SQLite's lower() does).
CREATE UNIQUE INDEX populations_by_name_ignoring_case ON populations (environment_id, lower(name COLLATE "C"));
-- At most one default per environment; credd makes one with each environment and
-- moves the flag, never removes it.
CREATE UNIQUE INDEX populations_one_default ON populations (environment_id) WHERE is_default;

-- Each existing environment gets its default population, and its users are put in it.
INSERT INTO populations (id, environment_id, name, description, is_default, password_policy_id, theme_id,
                         preferred_language, alternative_identifiers, created_at, updated_at)
SELECT gen_random_uuid(), id, 'Default', NULL, TRUE, NULL, NULL, NULL, '[]', created_at, created_at
FROM environments;

ALTER TABLE users ADD COLUMN population_id UUID REFERENCES populations (id);
ALTER TABLE users ADD COLUMN enabled BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE users SET population_id = (SELECT p.id FROM populations p
                                  WHERE p.environment_id = users.environment_id AND p.is_default);
ALTER TABLE users ALTER COLUMN population_id SET NOT NULL;
CREATE INDEX users_by_population ON users (population_id, id);
