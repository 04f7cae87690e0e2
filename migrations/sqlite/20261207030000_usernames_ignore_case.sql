-- Usernames are unique per environment whatever the case of their letters A to Z, as
-- PingOne's are (`Ada` and `ada` are one user). SQLite's lower() folds A to Z only, as
-- PostgreSQL's does under the "C" collation, so both backends agree on every name.
--
-- An environment that already holds usernames differing only in case stops this
-- migration, and so credd's start, with the message below, and nothing is changed:
-- rename or delete all but one of each, then start credd again. The old case-sensitive
-- UNIQUE stays (dropping it would rebuild the table); the new index implies it.
CREATE TEMP TABLE username_case_duplicates (environment_id TEXT, username TEXT);
CREATE TEMP TRIGGER refuse_username_case_duplicates BEFORE INSERT ON username_case_duplicates
BEGIN
    SELECT RAISE(ABORT, 'credd cannot make usernames unique ignoring case: an environment holds usernames that differ only in case. List them with: SELECT environment_id, id, username FROM users WHERE (environment_id, lower(username)) IN (SELECT environment_id, lower(username) FROM users GROUP BY 1, 2 HAVING COUNT(*) > 1); rename or delete all but one of each, then start credd again.');
END;
INSERT INTO username_case_duplicates
    SELECT environment_id, lower(username) FROM users GROUP BY environment_id, lower(username) HAVING COUNT(*) > 1;
DROP TABLE username_case_duplicates;

CREATE UNIQUE INDEX users_by_username_ignoring_case ON users (environment_id, lower(username));
