//! Inspection of uploaded CA certificates (trusted certificate profiles).
//!
//! The certificate is parsed for real with the RustCrypto `x509-cert` crate:
//! an admin who uploads the wrong file (a leaf, a key, a truncated copy) must
//! hear about it at upload time, not when thousands of devices fail to trust it.

use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, SecondsFormat, Utc};
use der::{oid::AssociatedOid, Decode, Encode};
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_cert::{
    ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier},
    name::Name,
    time::Time,
    Certificate, TbsCertificate,
};

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
    ///
    /// Admins paste certificates from many tools (certutil, openssl, browser exports,
    /// JSON strings with `\n`), so line width and line endings inside the base64 do not
    /// matter; what must hold is that the input is exactly one certificate.
    pub fn parse(input: &str) -> Result<Self, CertificateError> {
        Self::from_der(&decode_input(input)?)
    }

    /// Parses exact DER bytes; anything after the certificate is an error.
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        let certificate = decode_der(der)?;
        let tbs = &certificate.tbs_certificate;

        let basic_constraints = extension::<BasicConstraints>(tbs, "basicConstraints")?;
        if !basic_constraints.is_some_and(|constraints| constraints.ca) {
            return Err(CertificateError::NotCa);
        }
        // A CA certificate without keyUsage may sign anything (RFC 5280 4.2.1.3);
        // with it, keyCertSign is what lets devices chain issued certificates to it.
        if let Some(key_usage) = extension::<KeyUsage>(tbs, "keyUsage")? {
            if !key_usage.key_cert_sign() {
                return Err(CertificateError::CannotSignCertificates);
            }
        }

        let details = CertificateDetails::of(tbs, der)?;
        let self_signed = is_self_signed(tbs)?;
        Ok(Self {
            der: der.to_vec(),
            details,
            self_signed,
        })
    }

    /// Reads certificates stored back to back in DER (each value states its length).
    pub fn from_concatenated_der(mut der: &[u8]) -> Result<Vec<Self>, CertificateError> {
        let mut certificates = Vec::new();
        while !der.is_empty() {
            let length = der::SliceReader::new(der)
                .and_then(|mut reader| der::Header::decode(&mut reader))
                .and_then(|header| header.encoded_len().and_then(|head| head + header.length))
                .and_then(usize::try_from)
                .map_err(|error| CertificateError::Malformed(error.to_string()))?;
            let (first, rest) = der
                .split_at_checked(length)
                .ok_or_else(|| CertificateError::Malformed("truncated certificate".to_owned()))?;
            certificates.push(Self::from_der(first)?);
            der = rest;
        }
        Ok(certificates)
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

    /// Whether the certificate `der` was issued by this CA: it names this
    /// CA's subject as its issuer and its signature verifies with this CA's
    /// key (RSA PKCS#1 v1.5 with SHA-1/256/384/512, or ECDSA P-256 SHA-256 —
    /// the algorithms [`crate::csr`] verifies). Anything unreadable is `false`.
    pub fn issued(&self, der: &[u8]) -> bool {
        let (Ok(issued), Ok(own)) = (Certificate::from_der(der), Certificate::from_der(&self.der)) else {
            return false;
        };
        let same_name = match (
            issued.tbs_certificate.issuer.to_der(),
            own.tbs_certificate.subject.to_der(),
        ) {
            (Ok(issuer), Ok(subject)) => issuer == subject,
            _ => false,
        };
        let Some(signature) = issued.signature.as_bytes() else {
            return false;
        };
        same_name
            && crate::csr::first_element_bytes(der).is_ok_and(|tbs| {
                crate::csr::verify_signature(
                    &issued.signature_algorithm,
                    &own.tbs_certificate.subject_public_key_info,
                    tbs,
                    signature,
                )
                .is_ok()
            })
    }

    /// One-line base64 of the DER, no PEM armour (Windows `EncodedCertificate`, Android `X509`).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.der)
    }

    /// Problems worth an admin's attention that do not make the upload wrong:
    /// expired, not yet valid, or not self-signed (an intermediate).
    pub fn warnings(&self, now: DateTime<Utc>) -> Vec<String> {
        let mut warnings = Vec::new();
        if now > self.details.not_after {
            warnings.push(format!(
                "certificate expired on {}",
                rfc3339(self.details.not_after)
            ));
        }
        if now < self.details.not_before {
            warnings.push(format!(
                "certificate is not valid until {}",
                rfc3339(self.details.not_before)
            ));
        }
        if !self.self_signed {
            warnings.push(format!(
                "certificate is not self-signed (issuer: {}): devices also need its root to trust it",
                self.details.issuer
            ));
        }
        warnings
    }
}

impl CertificateDetails {
    /// The details of `tbs`, whose certificate encodes to `der`.
    pub(crate) fn of(tbs: &TbsCertificate, der: &[u8]) -> Result<Self, CertificateError> {
        Ok(Self {
            subject: tbs.subject.to_string(),
            issuer: tbs.issuer.to_string(),
            serial_number: hex::encode_upper(tbs.serial_number.as_bytes()),
            not_before: to_chrono(tbs.validity.not_before)?,
            not_after: to_chrono(tbs.validity.not_after)?,
            thumbprint_sha1: hex::encode_upper(Sha1::digest(der)),
            thumbprint_sha256: hex::encode_upper(Sha256::digest(der)),
        })
    }
}

/// Exactly one DER certificate: bytes after it are [`CertificateError::TrailingData`].
pub(crate) fn decode_der(der: &[u8]) -> Result<Certificate, CertificateError> {
    Certificate::from_der(der).map_err(|error| match error.kind() {
        der::ErrorKind::TrailingData { .. } => CertificateError::TrailingData,
        _ => CertificateError::Malformed(error.to_string()),
    })
}

/// The DER of one PEM `CERTIFICATE` block or of base64 DER (line breaks allowed).
pub(crate) fn decode_input(input: &str) -> Result<Vec<u8>, CertificateError> {
    let input = input.trim();
    if input.starts_with(PEM_BEGIN) {
        decode_base64(pem_body(input)?)
    } else {
        decode_base64(input)
    }
}

const PEM_BEGIN: &str = "-----BEGIN";
const CERTIFICATE_BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const CERTIFICATE_END: &str = "-----END CERTIFICATE-----";

/// The base64 between the boundaries of a single `CERTIFICATE` block.
///
/// Written by hand rather than with `pem-rfc7468`, whose strict grammar insists on
/// 64-column lines and reports a second block as a base64 error: here a different
/// wrapping is fine, and anything after the block (a second certificate, a private
/// key, text) is reported as trailing data, which is the mistake the admin made.
fn pem_body(pem: &str) -> Result<&str, CertificateError> {
    let rest = pem
        .strip_prefix(CERTIFICATE_BEGIN)
        .ok_or(CertificateError::Encoding)?;
    let (body, after) = rest
        .split_once(CERTIFICATE_END)
        .ok_or(CertificateError::Encoding)?;
    if !after.trim().is_empty() {
        return Err(CertificateError::TrailingData);
    }
    Ok(body)
}

/// Standard, padded base64; ASCII whitespace anywhere is ignored so wrapped input works.
fn decode_base64(encoded: &str) -> Result<Vec<u8>, CertificateError> {
    let compact: String = encoded.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(CertificateError::Encoding);
    }
    STANDARD.decode(compact).map_err(|_| CertificateError::Encoding)
}

/// Decodes one extension; a duplicated or undecodable extension makes the certificate malformed.
fn extension<'a, T>(tbs: &'a TbsCertificate, name: &str) -> Result<Option<T>, CertificateError>
where
    T: Decode<'a> + AssociatedOid,
{
    tbs.get::<T>()
        .map(|found| found.map(|(_critical, value)| value))
        .map_err(|error| {
            CertificateError::Malformed(format!("{name} extension is invalid or repeated: {error}"))
        })
}

fn is_self_signed(tbs: &TbsCertificate) -> Result<bool, CertificateError> {
    let encode = |name: &Name| {
        name.to_der()
            .map_err(|error| CertificateError::Malformed(error.to_string()))
    };
    if encode(&tbs.issuer)? != encode(&tbs.subject)? {
        return Ok(false);
    }
    // Same name is not enough: a CA re-keyed under its old name, or cross-signed by
    // its predecessor, has issuer == subject but a different signing key.
    let authority_key = extension::<AuthorityKeyIdentifier>(tbs, "authorityKeyIdentifier")?
        .and_then(|identifier| identifier.key_identifier);
    let subject_key = extension::<SubjectKeyIdentifier>(tbs, "subjectKeyIdentifier")?;
    Ok(match (authority_key, subject_key) {
        (Some(authority), Some(subject)) => authority == subject.0,
        _ => true,
    })
}

fn to_chrono(time: Time) -> Result<DateTime<Utc>, CertificateError> {
    let since_epoch = time.to_unix_duration();
    i64::try_from(since_epoch.as_secs())
        .ok()
        .and_then(|seconds| DateTime::from_timestamp(seconds, since_epoch.subsec_nanos()))
        .ok_or_else(|| CertificateError::Malformed(format!("validity time {time} is out of range")))
}

/// The same form the API's JSON uses for timestamps (`2021-01-01T00:00:00Z`).
fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
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

#[cfg(test)]
mod tests;
