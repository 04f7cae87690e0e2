-- Populations: every environment has exactly one default population, and every user is
-- in exactly one population of their environment.

CREATE TABLE populations (
    id                      TEXT PRIMARY KEY NOT NULL,
    environment_id          TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name                    TEXT NOT NULL,
    description             TEXT,
    is_default              INTEGER NOT NULL,
    -- passwordPolicy.id and theme.id, kept as sent: credd has neither.
    password_policy_id      TEXT,
    theme_id                TEXT,
    preferred_language      TEXT,
    -- A JSON array of strings.
    alternative_identifiers TEXT NOT NULL,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL
) STRICT;
CREATE INDEX populations_by_environment ON populations (environment_id, id);
-- Names are unique whatever the case of A to Z, as usernames are.
CREATE UNIQUE INDEX populations_by_name_ignoring_case ON populations (environment_id, lower(name));
-- At most one default per environment; credd makes one with each environment and
-- moves the flag, never removes it.
CREATE UNIQUE INDEX populations_one_default ON populations (environment_id) WHERE is_default;

-- Each existing environment gets its default population (a random version 4 UUID,
-- the environment's creation time), and its users are put in it.
INSERT INTO populations (id, environment_id, name, description, is_default, password_policy_id, theme_id,
                         preferred_language, alternative_identifiers, created_at, updated_at)
SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2)
           || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2)
           || '-' || lower(hex(randomblob(6))),
       id, 'Default', NULL, 1, NULL, NULL, NULL, '[]', created_at, created_at
FROM environments;

-- SQLite adds a column with a foreign key only when it may be NULL: the triggers below
-- refuse a user without a population instead of NOT NULL.
ALTER TABLE users ADD COLUMN population_id TEXT REFERENCES populations (id);
ALTER TABLE users ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
UPDATE users SET population_id = (SELECT p.id FROM populations p
                                  WHERE p.environment_id = users.environment_id AND p.is_default);
CREATE INDEX users_by_population ON users (population_id, id);
CREATE TRIGGER users_have_a_population_on_insert BEFORE INSERT ON users WHEN NEW.population_id IS NULL
BEGIN
    SELECT RAISE(ABORT, 'NOT NULL constraint failed: users.population_id');
END;
CREATE TRIGGER users_have_a_population_on_update BEFORE UPDATE OF population_id ON users
WHEN NEW.population_id IS NULL
BEGIN
    SELECT RAISE(ABORT, 'NOT NULL constraint failed: users.population_id');
END;
