-- A pairing link's id is no longer stored: credd derives it from the session id and
-- the master key, and keeps only a keyed hash of it, to find the session by its link.
-- The column that held the ids holds the hashes now (RENAME keeps its UNIQUE index).
--
-- A session made before this has a random link id that cannot be derived, and it must
-- not stay at rest: a pending one ends here, its wallet EXPIRED as when a session runs
-- out (create the wallet again for a new link), and every old row gets its session id
-- in place of the link id, which no link hashes to. updated_at is left as it is, so
-- this does not depend on how timestamps are written.
UPDATE digital_wallets SET status = 'EXPIRED'
WHERE status = 'PAIRING_REQUIRED' AND id IN (SELECT wallet_id FROM pairing_sessions WHERE status = 'INITIAL');
UPDATE pairing_sessions SET status = 'EXPIRED' WHERE status = 'INITIAL';
ALTER TABLE pairing_sessions RENAME COLUMN request_id TO link_hash;
UPDATE pairing_sessions SET link_hash = id;
