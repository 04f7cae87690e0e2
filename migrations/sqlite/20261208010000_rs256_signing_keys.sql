-- Access tokens are signed RS256 from now on, as PingOne signs them, and only RS256
-- tokens verify. The Ed25519 keys that signed them until now can verify nothing any
-- more: they go, and each environment gets an RSA key when it next needs one.
DELETE FROM signing_keys;
