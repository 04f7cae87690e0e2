//! credd's domain: the things credd manages, the rules they obey, and the store
//! traits the storage backends implement (see [`store`]).
//!
//! This crate knows neither HTTP nor SQL. Wire names (camelCase, `_links`) live in the
//! server's `http` module; SQL lives in the `store-*` crates. Values that reach this
//! crate's types have been parsed once (see [`validation`]) and cannot be invalid.

/// An enum whose variants have fixed names (PingOne's `"SANDBOX"`, a job's
/// `"queued"`): the names live here once, with `as_str`, `parse` and `ALL`.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$variant_meta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            pub fn parse(value: &str) -> Option<Self> {
                match value {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).ok_or_else(|| serde::de::Error::unknown_variant(&text, &[$($text),+]))
            }
        }
    };
}

pub mod application;
pub mod configuration;
pub mod credential;
pub mod environment;
pub mod filter;
pub mod job;
pub mod list_filters;
pub mod mfa;
pub mod notification;
pub mod page;
pub mod population;
pub mod signing_key;
pub mod store;
pub mod stored;
pub mod time;
pub mod user;
pub mod validation;
pub mod wallet;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use store::{Store, StoreError};
