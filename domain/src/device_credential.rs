//! The credential a device presents to `/device/v1`: an id and a random
//! secret, shown to the admin once. Scepter keeps only the secret's SHA-256,
//! so a database leak yields nothing a device could present; the id makes the
//! lookup a primary-key read, and the digest comparison is constant-time.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

const PREFIX: &str = "scd_";

/// A device credential as issued: `scd_<id as 32 hex>_<secret as base64url>`.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceCredential {
    id: Uuid,
    secret: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a device credential issued by Scepter")]
pub struct InvalidCredential;

impl DeviceCredential {
    /// `secret` must come from a cryptographically secure random source.
    pub fn new(id: Uuid, secret: [u8; 32]) -> Self {
        Self { id, secret }
    }

    pub fn id(&self) -> Uuid {
        self.id
    }

    pub fn encode(&self) -> String {
        format!(
            "{PREFIX}{}_{}",
            self.id.simple(),
            URL_SAFE_NO_PAD.encode(self.secret)
        )
    }

    pub fn parse(text: &str) -> Result<Self, InvalidCredential> {
        let (id, secret) = text
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .ok_or(InvalidCredential)?;
        let id = Uuid::try_parse(id).map_err(|_| InvalidCredential)?;
        let secret: [u8; 32] = URL_SAFE_NO_PAD
            .decode(secret)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(InvalidCredential)?;
        Ok(Self { id, secret })
    }

    /// What is stored instead of the secret.
    pub fn secret_digest(&self) -> [u8; 32] {
        Sha256::digest(self.secret).into()
    }

    /// Constant-time comparison with a stored digest.
    pub fn matches(&self, stored_digest: &[u8]) -> bool {
        self.secret_digest().ct_eq(stored_digest).into()
    }
}

/// Redacted: the secret must never reach a log line.
impl std::fmt::Debug for DeviceCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCredential")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential() -> DeviceCredential {
        DeviceCredential::new(Uuid::from_u128(0x1234), [7u8; 32])
    }

    #[test]
    fn encoding_round_trips() {
        let encoded = credential().encode();
        assert!(encoded.starts_with("scd_00000000000000000000000000001234_"));
        assert_eq!(DeviceCredential::parse(&encoded), Ok(credential()));
    }

    #[test]
    fn foreign_text_is_refused() {
        let valid = credential().encode();
        let cases = [
            String::new(),
            "scd_".to_owned(),
            valid.replace("scd_", "xyz_"),
            format!("{valid}A"),
            valid[..valid.len() - 2].to_owned(),
            "scd_nothex_AAAA".to_owned(),
            valid.replace('_', "-"),
        ];
        for case in cases {
            assert_eq!(DeviceCredential::parse(&case), Err(InvalidCredential), "{case}");
        }
    }

    #[test]
    fn only_the_same_secret_matches_its_digest() {
        let digest = credential().secret_digest();
        assert!(credential().matches(&digest));
        assert!(!DeviceCredential::new(Uuid::from_u128(0x1234), [8u8; 32]).matches(&digest));
        assert!(!credential().matches(&digest[..31]));
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let debug = format!("{:?}", credential());
        assert!(!debug.contains("7, 7"), "{debug}");
        assert!(debug.contains("redacted"));
    }
}
