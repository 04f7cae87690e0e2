-- A wallet reads its mailbox a page at a time: the copies still holding a sealed
-- payload, in id order. Most copies have been acted on and hold none, so the index
-- keeps only the waiting ones.
CREATE INDEX mailboxes ON provisioned_credentials (wallet_id, id) WHERE sealed_payload IS NOT NULL;
