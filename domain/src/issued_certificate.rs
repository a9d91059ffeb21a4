//! Certificates the CA issued to devices, as the SCEP server's policy module
//! (or step-ca's `NOTIFYING` webhook) reports them to Scepter.
//!
//! The one idea: a notified certificate is matched to the request Scepter
//! allowed by its *public key* (SHA-256 of the `SubjectPublicKeyInfo`, the one
//! thing a CA cannot change without breaking the device's key pair) and by
//! its subject and SANs (compared with [`crate::challenge::name_digest`]), so a
//! connector cannot file an unrelated certificate against a device. The
//! ledger of these certificates — serial, thumbprint, validity — is what
//! renewal and revocation are decided from.

use chrono::{DateTime, Utc};
use x509_cert::ext::Extension;

use crate::{
    certificate::{decode_der, decode_input, CertificateDetails, CertificateError},
    csr,
    subject_name::ExpandedName,
};

/// A parsed end-entity certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    der: Vec<u8>,
    details: CertificateDetails,
    public_key_sha256: [u8; 32],
    /// `None` when the subject or SANs hold something no profile can request
    /// (the certificate then cannot match any verified request).
    name: Option<ExpandedName>,
}

impl IssuedCertificate {
    /// Accepts one PEM `CERTIFICATE` block or base64 DER.
    pub fn parse(input: &str) -> Result<Self, CertificateError> {
        Self::from_der(&decode_input(input)?)
    }

    /// Parses exact DER bytes; anything after the certificate is an error.
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        let certificate = decode_der(der)?;
        let tbs = &certificate.tbs_certificate;
        let details = CertificateDetails::of(tbs, der)?;
        let public_key_sha256 = csr::spki_sha256(&tbs.subject_public_key_info)
            .map_err(|error| CertificateError::Malformed(error.to_string()))?;
        let extensions: &[Extension] = tbs.extensions.as_deref().unwrap_or_default();
        let name = match (csr::subject(&tbs.subject), csr::sans(extensions)) {
            (Ok(subject), Ok(subject_alternative_names)) => Some(ExpandedName {
                subject,
                subject_alternative_names,
            }),
            _ => None,
        };
        Ok(Self {
            der: der.to_vec(),
            details,
            public_key_sha256,
            name,
        })
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Subject, issuer, serial, validity and thumbprints.
    pub fn details(&self) -> &CertificateDetails {
        &self.details
    }

    /// SHA-256 of the DER `SubjectPublicKeyInfo`.
    pub fn public_key_sha256(&self) -> [u8; 32] {
        self.public_key_sha256
    }

    /// The subject and SANs, when every part is one a profile can request.
    pub fn name(&self) -> Option<&ExpandedName> {
        self.name.as_ref()
    }

    pub fn not_before(&self) -> DateTime<Utc> {
        self.details.not_before
    }

    pub fn not_after(&self) -> DateTime<Utc> {
        self.details.not_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAF: &str = include_str!("../tests/fixtures/csr/issued-leaf.pem");

    const REQUEST: &str = include_str!("../tests/fixtures/csr/rsa2048_sha256.pem");

    #[test]
    fn matches_the_request_it_was_issued_for() {
        let certificate = IssuedCertificate::parse(LEAF).expect("leaf parses");
        let request = csr::CertificateRequest::parse(REQUEST).expect("request parses");
        assert_eq!(certificate.details().serial_number, "1A2B3C");
        assert_eq!(certificate.details().issuer, "CN=Fixture Issuing CA");
        assert_eq!(certificate.details().thumbprint_sha1.len(), 40);
        assert_eq!(certificate.public_key_sha256(), request.public_key_sha256());
        let name = certificate
            .name()
            .expect("subject and SANs are ones a profile can request");
        let requested = ExpandedName {
            subject: request.subject().clone(),
            subject_alternative_names: request.subject_alternative_names().to_vec(),
        };
        assert_eq!(name, &requested);
        assert_eq!(
            crate::challenge::name_digest(name),
            crate::challenge::name_digest(&requested)
        );
    }

    #[test]
    fn another_key_does_not_match() {
        let certificate = IssuedCertificate::parse(LEAF).unwrap();
        let other =
            csr::CertificateRequest::parse(include_str!("../tests/fixtures/csr/p256_sha256.pem")).unwrap();
        assert_ne!(certificate.public_key_sha256(), other.public_key_sha256());
    }

    #[test]
    fn refuses_garbage_and_trailing_data() {
        assert_eq!(
            IssuedCertificate::parse("not a certificate"),
            Err(CertificateError::Encoding)
        );
        let mut der = decode_input(LEAF).unwrap();
        der.push(0);
        assert_eq!(
            IssuedCertificate::from_der(&der),
            Err(CertificateError::TrailingData)
        );
    }
}
