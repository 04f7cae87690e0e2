//! Token signing keys: RSA keys that sign an environment's access tokens (RS256, as
//! PingOne's). An environment gets its first key when it first needs one; the newest
//! key signs, and every key of the environment verifies.

use uuid::Uuid;

use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Also the JWT `kid`.
    pub id: Uuid,
    pub environment_id: Uuid,
    /// The RSA public key, PKCS#1 DER.
    pub public_key: Vec<u8>,
    /// The private key (PKCS#1 DER), sealed with the service's master key; never stored
    /// in the clear.
    pub sealed_private_key: Vec<u8>,
    pub created_at: Timestamp,
}
