-- Usernames are unique per environment whatever the case of their letters A to Z, as
-- PingOne's are (`Ada` and `ada` are one user). lower() under the "C" collation folds
-- A to Z only, as SQLite's lower() does, so both backends agree on every name.
--
-- An environment that already holds usernames differing only in case stops this
-- migration with an error that lists them (by user id), and nothing is changed: rename
-- or delete all but one of each, then run the migrations again.
DO $$
DECLARE
    duplicates TEXT;
BEGIN
    SELECT string_agg(format('environment %s: users %s', environment_id, ids), '; ')
    INTO duplicates
    FROM (SELECT environment_id, string_agg(id::text, ', ' ORDER BY id) AS ids
          FROM users GROUP BY environment_id, lower(username COLLATE "C") HAVING COUNT(*) > 1) AS groups;
    IF duplicates IS NOT NULL THEN
        RAISE EXCEPTION 'credd cannot make usernames unique ignoring case: an environment holds usernames that differ only in case (%). Rename or delete all but one of each, then run the migrations again.', duplicates;
    END IF;
END
$$;

CREATE UNIQUE INDEX users_by_username_ignoring_case ON users (environment_id, lower(username COLLATE "C"));
-- Implied by the index above, and no query looks a username up by its exact case.
ALTER TABLE users DROP CONSTRAINT users_environment_id_username_key;
