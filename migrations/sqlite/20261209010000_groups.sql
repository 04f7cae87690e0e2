-- Groups of an environment's users. A user is in a group when added to it
-- (group_memberships), when its user_filter selects them (credd evaluates it), or
-- through a group nested in it (group_nestings), at any depth.

CREATE TABLE groups (
    id             TEXT PRIMARY KEY NOT NULL,
    environment_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    -- A population's group, which holds only that population's users; NULL: an
    -- environment group. Fixed when the group is made. A population's groups go with
    -- it (it holds no users by then).
    population_id  TEXT REFERENCES populations (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    description    TEXT,
    -- A users-list filter that selects the group's dynamic members.
    user_filter    TEXT,
    external_id    TEXT,
    -- A JSON object, kept as sent.
    custom_data    TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX groups_by_environment ON groups (environment_id, id);
-- Names are unique whatever the case of A to Z among the environment groups, and among
-- each population's groups. A population's group may not take an environment group's
-- name either: the stores check that with the environment's groups locked.
CREATE UNIQUE INDEX groups_by_name_in_environment ON groups (environment_id, lower(name)) WHERE population_id IS NULL;
CREATE UNIQUE INDEX groups_by_name_in_population ON groups (population_id, lower(name)) WHERE population_id IS NOT NULL;
CREATE INDEX groups_with_user_filter ON groups (environment_id) WHERE user_filter IS NOT NULL;

-- Users added to a group (its direct members).
CREATE TABLE group_memberships (
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
) STRICT;
CREATE INDEX group_memberships_by_group ON group_memberships (group_id, user_id);

-- group_id is nested in outer_group_id: its members are members of the outer group.
-- Nestings may form cycles, as PingOne allows.
CREATE TABLE group_nestings (
    group_id       TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    outer_group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, outer_group_id)
) STRICT;
CREATE INDEX group_nestings_by_outer_group ON group_nestings (outer_group_id, group_id);

-- As PingOne does, a user whose population changes leaves the groups of other
-- populations, in the same statement, whoever changes it.
CREATE TRIGGER users_leave_other_populations_groups AFTER UPDATE OF population_id ON users
WHEN NEW.population_id IS NOT OLD.population_id
BEGIN
    DELETE FROM group_memberships
    WHERE user_id = NEW.id
      AND group_id IN (SELECT id FROM groups WHERE population_id IS NOT NULL AND population_id <> NEW.population_id);
END;
