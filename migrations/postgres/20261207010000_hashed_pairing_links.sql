-- A pairing link's id is no longer stored: credd derives it from the session id and
-- the master key, and keeps only a keyed hash of it, to find the session by its link.
-- The column that held the ids holds the hashes now (its UNIQUE constraint stays).
--
-- A session made before this has a random link id that cannot be derived, and it must
-- not stay at rest: a pending one ends here, its wallet EXPIRED as when a session runs
-- out (create the wallet again for a new link), and every old row gets its session id
-- in place of the link id, which no link hashes to. The type change rewrites the table,
-- so no dead row version keeps an old id.
UPDATE digital_wallets w SET status = 'EXPIRED', updated_at = now()
FROM pairing_sessions s
WHERE s.wallet_id = w.id AND s.status = 'INITIAL' AND w.status = 'PAIRING_REQUIRED';
UPDATE pairing_sessions SET status = 'EXPIRED', updated_at = now() WHERE status = 'INITIAL';
ALTER TABLE pairing_sessions RENAME COLUMN request_id TO link_hash;
ALTER TABLE pairing_sessions ALTER COLUMN link_hash TYPE TEXT USING id::text;
