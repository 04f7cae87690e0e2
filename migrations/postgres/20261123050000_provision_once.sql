-- A credential is provisioned to a wallet at most once.
CREATE UNIQUE INDEX provisioned_credentials_once_per_wallet ON provisioned_credentials (credential_id, wallet_id);
