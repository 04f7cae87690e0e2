//! Keys and secrets: the master key that seals private keys (and later, claim
//! payloads) at rest and keys the hashes of client secrets, tokens and OTPs.
//!
//! Nothing here logs; values that are secret are never `Debug`-printed.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use rsa::pkcs1::{DecodeRsaPublicKey, EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use uuid::Uuid;

const NONCE_LEN: usize = 24;
const MASTER_KEY_FILE: &str = "master.key";

/// The service's master key. Four values are derived from it: a key for sealing
/// (XChaCha20-Poly1305), one for hashing secrets (HMAC-SHA256), one for deriving
/// pairing link ids (HMAC-SHA256), and the installation's organization id. A keyed
/// hash means a copy of the database alone cannot be used to test guesses of a
/// six-digit OTP or a secret.
pub struct MasterKey {
    aead: XChaCha20Poly1305,
    hash_key: [u8; 32],
    link_key: [u8; 32],
    organization_id: Uuid,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(****)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the master key must be 32 bytes, base64-encoded (generate one with: openssl rand -base64 32)")]
    Malformed,
    #[error("cannot read or write {0}: {1}")]
    Io(String, std::io::Error),
}

#[derive(Debug, thiserror::Error)]
#[error("sealed data could not be opened: wrong master key or damaged data")]
pub struct OpenError;

impl MasterKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self {
            aead: XChaCha20Poly1305::new(&derive(bytes, b"credd seal v1").into()),
            hash_key: derive(bytes, b"credd hash v1"),
            link_key: derive(bytes, b"credd pairing link v1"),
            organization_id: random_looking_id(&derive(bytes, b"credd organization v1")),
        }
    }

    pub fn from_base64(encoded: &str) -> Result<Self, KeyError> {
        let bytes = STANDARD.decode(encoded.trim()).map_err(|_| KeyError::Malformed)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Malformed)?;
        Ok(Self::from_bytes(&bytes))
    }

    /// The configured key, else the one saved in `data_dir`, else a new one saved there
    /// (mode 0600).
    pub fn load(configured: Option<&str>, data_dir: &Path) -> Result<Self, KeyError> {
        if let Some(encoded) = configured {
            return Self::from_base64(encoded);
        }
        let path = data_dir.join(MASTER_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(encoded) => Self::from_base64(&encoded),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let bytes: [u8; 32] = random_bytes();
                write_private_file(&path, STANDARD.encode(bytes).as_bytes())?;
                Ok(Self::from_bytes(&bytes))
            }
            Err(e) => Err(KeyError::Io(path.display().to_string(), e)),
        }
    }

    /// Encrypts and authenticates `plaintext`. `context` (a record id, say) is bound
    /// to the result: the sealed bytes open only with the same context, so they cannot
    /// be moved to another row.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = random_bytes();
        let mut sealed = nonce.to_vec();
        let ciphertext = self
            .aead
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: context })
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory input");
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.aead.decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: context }).map_err(|_| OpenError)
    }

    /// A keyed hash of a secret. `purpose` separates kinds of secret so a hash of one
    /// never verifies as another.
    pub fn hash_secret(&self, purpose: &str, secret: &str) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.hash_key).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Compares in constant time, so response timing reveals nothing about the hash.
    pub fn verify_secret(&self, purpose: &str, secret: &str, expected_hash: &[u8]) -> bool {
        self.hash_secret(purpose, secret).ct_eq(expected_hash).into()
    }

    /// The id in a pairing session's link: 122 bits of HMAC-SHA256 of the session id,
    /// laid out as a version 4 UUID. Recomputed from the session id whenever the link
    /// is shown, so the database holds only a keyed hash of it, and unpredictable
    /// without the master key however the session id was made.
    pub fn pairing_link_id(&self, session_id: Uuid) -> Uuid {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.link_key).expect("HMAC takes any key length");
        mac.update(session_id.as_bytes());
        random_looking_id(&mac.finalize().into_bytes().into())
    }

    /// The `org` claim of access tokens. credd has no organizations: the installation
    /// is one, and every instance sharing the master key names it the same.
    pub fn organization_id(&self) -> Uuid {
        self.organization_id
    }
}

/// 122 bits of a digest laid out as a version 4 UUID.
fn random_looking_id(digest: &[u8; 32]) -> Uuid {
    let bytes: [u8; 16] = digest[..16].try_into().expect("a 32-byte digest holds 16 bytes");
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

fn derive(master: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// A new Ed25519 key: its public half, and its private seed sealed under `context`.
pub fn new_ed25519_key(master_key: &MasterKey, context: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let seed: [u8; 32] = random_bytes();
    let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes().to_vec();
    (public, master_key.seal(&seed, context))
}

/// The size of the access token signing keys, as PingOne's.
const RSA_BITS: usize = 2048;

/// A new RSA key: its public half as PKCS#1 DER, and its private half as PKCS#1 DER
/// sealed under `context`. Takes a good part of a second: call it off the async runtime.
pub fn new_rsa_key(master_key: &MasterKey, context: &[u8]) -> Result<(Vec<u8>, Vec<u8>), rsa::Error> {
    let private = RsaPrivateKey::new(&mut OsRng, RSA_BITS)?;
    let public = RsaPublicKey::from(&private).to_pkcs1_der()?;
    let private = private.to_pkcs1_der()?;
    Ok((public.into_vec(), master_key.seal(private.as_bytes(), context)))
}

/// An RSA public key's modulus and exponent, big-endian (a JWK's `n` and `e`), from
/// its PKCS#1 DER.
pub fn rsa_public_components(public_der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), rsa::pkcs1::Error> {
    let public = RsaPublicKey::from_pkcs1_der(public_der)?;
    Ok((public.n().to_bytes_be(), public.e().to_bytes_be()))
}

/// A fresh high-entropy secret, URL-safe: 256 random bits.
pub fn random_secret() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// Selects ring as the TLS crypto provider of the HTTP and SMTP clients (idempotent).
pub fn install_tls_provider() {
    // Err means a provider is installed already, which is all we need.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Creates the folder and any missing parents with mode 0700 (only the owner may list
/// or enter them); folders that exist are left as they are.
pub fn create_private_folder(path: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path)
}

/// Writes a file only its owner can read, refusing to overwrite one.
pub fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    let io = |e| KeyError::Io(path.display().to_string(), e);
    if let Some(folder) = path.parent() {
        create_private_folder(folder).map_err(io)?;
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use rsa::pkcs1::DecodeRsaPrivateKey;

    use super::*;

    #[test]
    fn sealed_data_opens_only_with_its_key_and_context() {
        let key = MasterKey::from_bytes(&[7; 32]);
        let sealed = key.seal(b"private", b"row-1");
        assert!(!sealed.windows(7).any(|w| w == b"private"));
        assert_eq!(key.open(&sealed, b"row-1").unwrap(), b"private");
        assert!(key.open(&sealed, b"row-2").is_err());
        assert!(MasterKey::from_bytes(&[8; 32]).open(&sealed, b"row-1").is_err());
    }

    #[test]
    fn secret_hashes_are_keyed_and_purpose_bound() {
        let key = MasterKey::from_bytes(&[7; 32]);
        let hash = key.hash_secret("client", "s3cret");
        assert!(key.verify_secret("client", "s3cret", &hash));
        assert!(!key.verify_secret("client", "s3cre7", &hash));
        assert!(!key.verify_secret("otp", "s3cret", &hash));
        assert!(!MasterKey::from_bytes(&[8; 32]).verify_secret("client", "s3cret", &hash));
    }

    #[test]
    fn pairing_link_ids_are_random_looking_and_need_the_key() {
        let (key, other) = (MasterKey::from_bytes(&[7; 32]), MasterKey::from_bytes(&[8; 32]));
        let session = Uuid::now_v7();
        let link = key.pairing_link_id(session);
        assert_eq!(link, key.pairing_link_id(session), "recomputed, not stored");
        assert_eq!(link.get_version(), Some(uuid::Version::Random));
        assert_eq!(link.get_variant(), uuid::Variant::RFC4122);
        assert_ne!(link, other.pairing_link_id(session));
        assert_ne!(link, key.pairing_link_id(Uuid::now_v7()));
    }

    #[test]
    fn rsa_keys_rest_sealed_and_publish_their_components() {
        let key = MasterKey::from_bytes(&[7; 32]);
        let (public, sealed) = new_rsa_key(&key, b"kid").unwrap();
        let private = RsaPrivateKey::from_pkcs1_der(&key.open(&sealed, b"kid").unwrap()).unwrap();
        assert_eq!(RsaPublicKey::from(&private).to_pkcs1_der().unwrap().as_bytes(), public);
        let (n, e) = rsa_public_components(&public).unwrap();
        assert_eq!((n.len() * 8, e), (RSA_BITS, vec![1, 0, 1]));
        assert!(key.open(&sealed, b"other kid").is_err());
    }

    #[test]
    fn the_organization_id_follows_the_master_key() {
        let key = MasterKey::from_bytes(&[7; 32]);
        assert_eq!(key.organization_id(), MasterKey::from_bytes(&[7; 32]).organization_id());
        assert_ne!(key.organization_id(), MasterKey::from_bytes(&[8; 32]).organization_id());
    }

    #[test]
    fn master_key_is_generated_once_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let first = MasterKey::load(None, dir.path()).unwrap();
        let sealed = first.seal(b"x", b"");
        let again = MasterKey::load(None, dir.path()).unwrap();
        assert_eq!(again.open(&sealed, b"").unwrap(), b"x");
        let mode = std::fs::metadata(dir.path().join(MASTER_KEY_FILE)).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
        assert!(matches!(MasterKey::from_base64("short"), Err(KeyError::Malformed)));
    }
}
