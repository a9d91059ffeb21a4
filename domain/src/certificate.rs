//! Inspection of uploaded CA certificates (trusted certificate profiles).
//!
//! The certificate is parsed for real with the RustCrypto `x509-cert` crate:
//! an admin who uploads the wrong file (a leaf, a key, a truncated copy) must
//! hear about it at upload time, not when thousands of devices fail to trust it.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What an admin needs to recognise a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertificateDetails {
    /// RFC 4514 string of the subject name.
    pub subject: String,
    /// RFC 4514 string of the issuer name.
    pub issuer: String,
    /// Serial number as uppercase hex, as Windows shows it.
    pub serial_number: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// SHA-1 of the DER encoding, 40 uppercase hex digits (Windows' `CAThumbprint` form).
    pub thumbprint_sha1: String,
    /// SHA-256 of the DER encoding, 64 uppercase hex digits.
    pub thumbprint_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("is neither a PEM certificate nor base64-encoded DER")]
    Encoding,
    #[error("is not a valid X.509 certificate: {0}")]
    Malformed(String),
    #[error("has data after the certificate")]
    TrailingData,
    #[error("is not a CA certificate (basicConstraints CA=true is required)")]
    NotCa,
    #[error("is a CA certificate whose key usage does not allow keyCertSign")]
    CannotSignCertificates,
}

/// A parsed certificate with basicConstraints CA=true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaCertificate {
    der: Vec<u8>,
    details: CertificateDetails,
    self_signed: bool,
}

impl CaCertificate {
    /// Accepts one PEM `CERTIFICATE` block or base64 DER (line breaks allowed).
    pub fn parse(input: &str) -> Result<Self, CertificateError> {
        todo!("{input}")
    }

    /// Parses exact DER bytes; anything after the certificate is an error.
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        todo!("{der:?}")
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    pub fn details(&self) -> &CertificateDetails {
        &self.details
    }

    /// Issuer equals subject (and the authority key identifier, when present,
    /// equals the subject key identifier).
    pub fn is_self_signed(&self) -> bool {
        self.self_signed
    }

    /// One-line base64 of the DER, no PEM armour (Windows `EncodedCertificate`, Android `X509`).
    pub fn to_base64(&self) -> String {
        todo!()
    }

    /// Problems worth an admin's attention that do not make the upload wrong:
    /// expired, not yet valid, or not self-signed (an intermediate).
    pub fn warnings(&self, now: DateTime<Utc>) -> Vec<String> {
        todo!("{now}")
    }
}

impl CertificateError {
    /// Stable rule code for the API's field errors.
    pub fn rule(&self) -> &'static str {
        match self {
            CertificateError::Encoding => "certificateEncoding",
            CertificateError::Malformed(_) => "x509",
            CertificateError::TrailingData => "trailingData",
            CertificateError::NotCa => "caCertificate",
            CertificateError::CannotSignCertificates => "keyCertSign",
        }
    }
}
