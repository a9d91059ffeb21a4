//! Trusted certificate profiles: the root (or intermediate) CA a device must trust
//! before it can use a SCEP-issued certificate (seed: "Trusted Root CA certificate").

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    certificate::CaCertificate,
    platform::Platform,
    text::{CertFileName, Description, DisplayName},
    validation::ValidationErrors,
};

/// Windows certificate store the CA goes into (Graph `certificateDestinationStore`;
/// rendered as RootCATrustedCertificates `./Device/…/Root`, `./Device/…/CA`, `./User/…/CA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DestinationStore {
    ComputerCertStoreRoot,
    ComputerCertStoreIntermediate,
    UserCertStoreIntermediate,
}

impl DestinationStore {
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationStore::ComputerCertStoreRoot => "computerCertStoreRoot",
            DestinationStore::ComputerCertStoreIntermediate => "computerCertStoreIntermediate",
            DestinationStore::UserCertStoreIntermediate => "userCertStoreIntermediate",
        }
    }
}

/// The request body of create and update, as the client sent it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustedCertificateProfileDraft {
    /// 1–200 characters.
    pub display_name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub platform: Platform,
    /// File name shown on the device; defaults to none.
    #[serde(default)]
    pub cert_file_name: Option<String>,
    /// The CA certificate: one PEM block or base64-encoded DER.
    pub trusted_root_certificate: String,
    /// Windows platforms only; defaults to `computerCertStoreRoot` there.
    #[serde(default)]
    pub destination_store: Option<DestinationStore>,
}

/// A validated trusted certificate profile.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustedCertificateProfile {
    pub display_name: DisplayName,
    pub description: Description,
    pub platform: Platform,
    pub cert_file_name: Option<CertFileName>,
    pub certificate: CaCertificate,
    /// Always `Some` for Windows platforms and `None` for the others.
    pub destination_store: Option<DestinationStore>,
}

impl TrustedCertificateProfile {
    pub fn parse(draft: TrustedCertificateProfileDraft) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let display_name = errors.collect(DisplayName::parse("displayName", draft.display_name));
        let description = errors.collect(Description::parse("description", draft.description));
        let cert_file_name = match draft.cert_file_name {
            Some(name) => errors.collect(CertFileName::parse("certFileName", name)).map(Some),
            None => Some(None),
        };
        let certificate = match CaCertificate::parse(&draft.trusted_root_certificate) {
            Ok(certificate) => Some(certificate),
            Err(error) => {
                errors.push("trustedRootCertificate", error.rule(), format!("certificate {error}"));
                None
            }
        };
        let destination_store = match (draft.platform.is_windows(), draft.destination_store) {
            (true, store) => Some(store.or(Some(DestinationStore::ComputerCertStoreRoot))),
            (false, None) => Some(None),
            (false, Some(_)) => {
                errors.push(
                    "destinationStore",
                    "windowsOnly",
                    format!("applies to Windows platforms only, not {}", draft.platform),
                );
                None
            }
        };
        match (display_name, description, cert_file_name, certificate, destination_store) {
            (Some(display_name), Some(description), Some(cert_file_name), Some(certificate), Some(destination_store))
                if errors.is_empty() =>
            {
                Ok(Self {
                    display_name,
                    description,
                    platform: draft.platform,
                    cert_file_name,
                    certificate,
                    destination_store,
                })
            }
            _ => Err(errors),
        }
    }

    pub fn warnings(&self, now: DateTime<Utc>) -> Vec<String> {
        self.certificate.warnings(now)
    }
}
