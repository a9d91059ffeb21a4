//! Whose certificate a profile issues: the user's or the device's.
//!
//! A leaf module, so that both the template grammar (a device certificate
//! reads no user variable) and the profile rules can name it without
//! depending on each other; `scep_profile` re-exports it.

use serde::{Deserialize, Serialize};

/// Whose certificate store the certificate goes to, and whose identity it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CertificateType {
    User,
    Device,
}

impl CertificateType {
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateType::User => "user",
            CertificateType::Device => "device",
        }
    }
}
