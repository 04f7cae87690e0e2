-- Groups of an environment's users. A user is in a group when added to it
-- (group_memberships), when its user_filter selects them (credd evaluates it), or
-- through a group nested in it (group_nestings), at any depth.

CREATE TABLE groups (
    id             UUID PRIMARY KEY,
    environment_id UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    -- A population's group, which holds only that population's users; NULL: an
    -- environment group. Fixed when the group is made. A population's groups go with
    -- it (it holds no users by then).
    population_id  UUID REFERENCES populations (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    description    TEXT,
    -- A users-list filter that selects the group's dynamic members.
    user_filter    TEXT,
    external_id    TEXT,
    -- A JSON object, kept as sent.
    custom_data    TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX groups_by_environment ON groups (environment_id, id);
-- Names are unique whatever the case of A to Z ("C" folds A to Z only, as SQLite's
-- lower() does) among the environment groups, and among each population's groups. A
-- population's group may not take an environment group's name either: the stores
-- check that with the environment's groups locked.
CREATE UNIQUE INDEX groups_by_name_in_environment ON groups (environment_id, lower(name COLLATE "C"))
    WHERE population_id IS NULL;
CREATE UNIQUE INDEX groups_by_name_in_population ON groups (population_id, lower(name COLLATE "C"))
    WHERE population_id IS NOT NULL;
CREATE INDEX groups_with_user_filter ON groups (environment_id) WHERE user_filter IS NOT NULL;

-- Users added to a group (its direct members).
CREATE TABLE group_memberships (
    user_id  UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX group_memberships_by_group ON group_memberships (group_id, user_id);

-- group_id is nested in outer_group_id: its members are members of the outer group.
-- Nestings may form cycles, as PingOne allows.
CREATE TABLE group_nestings (
    group_id       UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    outer_group_id UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, outer_group_id)
);
CREATE INDEX group_nestings_by_outer_group ON group_nestings (outer_group_id, group_id);

-- As PingOne does, a user whose population changes leaves the groups of other
-- populations, in the same statement, whoever changes it.
CREATE FUNCTION users_leave_other_populations_groups() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM group_memberships m USING groups g
    WHERE m.user_id = NEW.id AND g.id = m.group_id
      AND g.population_id IS NOT NULL AND g.population_id <> NEW.population_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_leave_other_populations_groups AFTER UPDATE OF population_id ON users
    FOR EACH ROW WHEN (NEW.population_id IS DISTINCT FROM OLD.population_id)
    EXECUTE FUNCTION users_leave_other_populations_groups();
