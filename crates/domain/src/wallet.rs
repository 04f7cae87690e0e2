//! Digital wallet applications, digital wallets and their pairing sessions.

use chrono::TimeDelta;
use uuid::Uuid;

use crate::time::Timestamp;
use crate::validation::{FieldError, bounded_text};

/// After this many failed attempts a pairing session is locked.
pub const MAX_PAIRING_FAILURES: i64 = 5;

/// The default life of a pairing session.
pub const DEFAULT_PAIRING_LIFETIME: TimeDelta = TimeDelta::hours(24);

crate::text_enum! {
    pub enum WalletStatus {
        /// Created; waiting for the wallet app to pair.
        PairingRequired => "PAIRING_REQUIRED",
        Active => "ACTIVE",
        Disabled => "DISABLED",
        /// The pairing session ran out before the wallet paired.
        Expired => "EXPIRED",
    }
}

crate::text_enum! {
    pub enum PairingStatus {
        Initial => "INITIAL",
        Completed => "COMPLETED",
        Expired => "EXPIRED",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletApplication {
    pub id: Uuid,
    pub environment_id: Uuid,
    /// The PingOne (native) application the wallet app is; immutable.
    pub application_id: Uuid,
    pub name: String,
    /// Where pairing links open the wallet app: `appOpenUrl?u=<qrUrl>`.
    pub app_open_url: String,
    /// Immutable.
    pub uses_pingone_wallet_sdk: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What a client says of a wallet application; its id and times are credd's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletApplicationFields {
    pub application_id: Uuid,
    pub name: String,
    pub app_open_url: String,
    pub uses_pingone_wallet_sdk: bool,
}

impl WalletApplication {
    pub fn new(id: Uuid, environment_id: Uuid, fields: WalletApplicationFields, now: Timestamp) -> Self {
        Self {
            id,
            environment_id,
            application_id: fields.application_id,
            name: fields.name,
            app_open_url: fields.app_open_url,
            uses_pingone_wallet_sdk: fields.uses_pingone_wallet_sdk,
            created_at: now,
            updated_at: now,
        }
    }
}

/// An absolute `http(s)` URL, as `appOpenUrl` must be.
pub fn app_open_url(value: &str) -> Result<String, FieldError> {
    let value = bounded_text("appOpenUrl", value, 2048)?;
    let scheme_ok = value.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && !rest.is_empty()
            && !rest.starts_with('/')
    });
    if scheme_ok && !value.chars().any(char::is_whitespace) {
        Ok(value)
    } else {
        Err(FieldError::invalid("appOpenUrl", "appOpenUrl must be a valid URL."))
    }
}

pub fn wallet_application_name(value: &str) -> Result<String, FieldError> {
    bounded_text("name", value, 256)
}

/// An `applicationInstance.id`: the wallet app's installation.
pub fn application_instance_id(target: &str, value: &str) -> Result<String, FieldError> {
    bounded_text(target, value, 256)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitalWallet {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub user_id: Uuid,
    pub wallet_application_id: Uuid,
    pub application_instance_id: Option<String>,
    pub status: WalletStatus,
    /// The wallet's public key as a JWK (JSON text), once paired.
    pub public_key: Option<String>,
    /// What the wallet app reported about its device (JSON text), once paired.
    pub device_data: Option<String>,
    /// Keyed hash of the wallet's access token, once paired.
    pub token_hash: Option<Vec<u8>>,
    /// The `notification` block answered at creation (JSON text); PingOne returns
    /// it on every read.
    pub notification: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl DigitalWallet {
    /// An administrator's PUT: `status` only `ACTIVE` or `DISABLED` (`ACTIVE` needs an
    /// application instance), and `applicationInstance.id` only while none is set.
    pub fn administer(
        &mut self,
        status: Option<WalletStatus>,
        application_instance_id: Option<String>,
        now: Timestamp,
    ) -> Result<(), FieldError> {
        if let Some(instance) = application_instance_id {
            match &self.application_instance_id {
                Some(current) if *current != instance => {
                    return Err(FieldError::invalid(
                        "applicationInstance.id",
                        "applicationInstance.id is already set and cannot change.",
                    ));
                }
                _ => self.application_instance_id = Some(instance),
            }
        }
        match status {
            None => {}
            Some(WalletStatus::Active) if self.application_instance_id.is_none() => {
                return Err(FieldError::invalid(
                    "status",
                    "A wallet becomes ACTIVE only with an applicationInstance.id.",
                ));
            }
            Some(status @ (WalletStatus::Active | WalletStatus::Disabled)) => self.status = status,
            Some(_) => return Err(FieldError::invalid("status", "status may be set only to ACTIVE or DISABLED.")),
        }
        self.updated_at = now;
        Ok(())
    }

    /// Whether the wallet may still be paired: only while `PAIRING_REQUIRED` and its
    /// application exists, whatever its session says.
    pub fn pairable(&self, application_exists: bool) -> Result<(), PairingRefusal> {
        match self.status {
            _ if !application_exists => Err(PairingRefusal::ApplicationDeleted),
            WalletStatus::PairingRequired => Ok(()),
            WalletStatus::Active => Err(PairingRefusal::Completed),
            WalletStatus::Disabled => Err(PairingRefusal::WalletDisabled),
            WalletStatus::Expired => Err(PairingRefusal::Expired),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingSession {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub user_id: Uuid,
    pub wallet_id: Uuid,
    /// A keyed hash of the link id in `qrUrl` (`…/distributedid/requests/{requestId}`),
    /// which is derived from the session id and the master key: a copy of the database
    /// does not hold the link.
    pub link_hash: String,
    /// What the wallet must sign to prove it holds the link.
    pub challenge: String,
    pub status: PairingStatus,
    pub failed_attempts: i64,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Why a pairing session cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairingRefusal {
    Completed,
    Expired,
    Locked,
    /// An administrator disabled the wallet (or deleted its application).
    WalletDisabled,
    ApplicationDeleted,
}

impl PairingSession {
    pub fn usable(&self, now: Timestamp) -> Result<(), PairingRefusal> {
        match self.status {
            PairingStatus::Completed => Err(PairingRefusal::Completed),
            PairingStatus::Expired => Err(PairingRefusal::Expired),
            PairingStatus::Initial if self.expires_at <= now => Err(PairingRefusal::Expired),
            PairingStatus::Initial if self.failed_attempts >= MAX_PAIRING_FAILURES => Err(PairingRefusal::Locked),
            PairingStatus::Initial => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingAttempt {
    pub id: Uuid,
    pub session_id: Uuid,
    pub wallet_id: Uuid,
    pub success: bool,
    pub attempted_at: Timestamp,
}

/// 16 characters of `[a-z0-9]`, as PingOne's challenges look.
pub fn new_challenge(random: [u8; 16]) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    random.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{new_id, now};

    fn wallet() -> DigitalWallet {
        let at = now();
        DigitalWallet {
            id: new_id(),
            environment_id: new_id(),
            user_id: new_id(),
            wallet_application_id: new_id(),
            application_instance_id: None,
            status: WalletStatus::PairingRequired,
            public_key: None,
            device_data: None,
            token_hash: None,
            notification: None,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn put_rules() {
        let mut w = wallet();
        assert_eq!(w.administer(Some(WalletStatus::Active), None, now()).unwrap_err().target, "status");
        assert_eq!(w.administer(Some(WalletStatus::Expired), None, now()).unwrap_err().target, "status");
        w.administer(Some(WalletStatus::Active), Some("instance-1".into()), now()).unwrap();
        assert_eq!(w.status, WalletStatus::Active);
        let err = w.administer(None, Some("instance-2".into()), now()).unwrap_err();
        assert_eq!(err.target, "applicationInstance.id");
        w.administer(Some(WalletStatus::Disabled), Some("instance-1".into()), now()).unwrap();
        assert_eq!(w.status, WalletStatus::Disabled);
    }

    #[test]
    fn only_a_pending_wallet_of_an_existing_application_pairs() {
        let mut w = wallet();
        assert_eq!(w.pairable(true), Ok(()));
        assert_eq!(w.pairable(false), Err(PairingRefusal::ApplicationDeleted));
        for (status, refusal) in [
            (WalletStatus::Disabled, PairingRefusal::WalletDisabled),
            (WalletStatus::Active, PairingRefusal::Completed),
            (WalletStatus::Expired, PairingRefusal::Expired),
        ] {
            w.status = status;
            assert_eq!(w.pairable(true), Err(refusal));
        }
    }

    #[test]
    fn sessions_refuse_when_completed_expired_or_locked() {
        let at = now();
        let mut s = PairingSession {
            id: new_id(),
            environment_id: new_id(),
            user_id: new_id(),
            wallet_id: new_id(),
            link_hash: "hash".into(),
            challenge: new_challenge([7; 16]),
            status: PairingStatus::Initial,
            failed_attempts: 0,
            expires_at: at + TimeDelta::minutes(1),
            created_at: at,
            updated_at: at,
        };
        assert_eq!(s.usable(at), Ok(()));
        assert_eq!(s.usable(at + TimeDelta::minutes(1)), Err(PairingRefusal::Expired));
        s.failed_attempts = MAX_PAIRING_FAILURES;
        assert_eq!(s.usable(at), Err(PairingRefusal::Locked));
        s.status = PairingStatus::Completed;
        assert_eq!(s.usable(at), Err(PairingRefusal::Completed));
        assert!(s.challenge.len() == 16 && s.challenge.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }

    #[test]
    fn app_open_url_must_be_a_url() {
        assert!(app_open_url("https://credentials.customer.com").is_ok());
        assert!(app_open_url("mywallet://open").is_ok());
        for bad in ["credentials.customer.com", "https://", "https:///x", "http://a b"] {
            assert!(app_open_url(bad).is_err(), "{bad}");
        }
    }
}
