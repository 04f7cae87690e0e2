-- Retention: the worker deletes, oldest first and a batch at a time, finished jobs,
-- settled notifications and expired pairing sessions that had no attempt. Each
-- partial index holds only the rows one of those deletes looks for.
CREATE INDEX jobs_done ON jobs (updated_at) WHERE status = 'done';
CREATE INDEX jobs_dead ON jobs (updated_at) WHERE status = 'dead';
CREATE INDEX notifications_sent ON notifications (created_at) WHERE status = 'SENT';
CREATE INDEX notifications_failed ON notifications (created_at) WHERE status = 'FAILED';
CREATE INDEX pairing_sessions_expired ON pairing_sessions (updated_at) WHERE status = 'EXPIRED';
-- Deleting a session deletes its attempts: without this index each deleted session
-- (a wallet's or a user's too) read every attempt.
CREATE INDEX pairing_attempts_by_session ON pairing_attempts (session_id);
