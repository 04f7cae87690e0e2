-- Updating a credential re-delivers its copies: each copy names the delivery job it
-- waits for, so an older job still queued delivers nothing.
ALTER TABLE provisioned_credentials ADD COLUMN delivery_job_id UUID;

-- Deleting a credential type deletes or revokes its credentials.
CREATE INDEX user_credentials_by_type ON user_credentials (credential_type_id, status);
