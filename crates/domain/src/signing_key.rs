//! Token signing keys: one Ed25519 key per environment, created with it.

use uuid::Uuid;

use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Also the JWT `kid`.
    pub id: Uuid,
    pub environment_id: Uuid,
    /// The raw 32-byte Ed25519 public key.
    pub public_key: Vec<u8>,
    /// The private key, sealed with the service's master key; never stored in the clear.
    pub sealed_private_key: Vec<u8>,
    pub created_at: Timestamp,
}
