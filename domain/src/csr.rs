//! PKCS#10 certificate requests (RFC 2986) as the SCEP server's policy
//! module hands them to Scepter: `{transactionId, challenge, csr}`.
//!
//! The policy module allows issuance only when the CSR's signature is valid,
//! its subject and SANs equal what Scepter rendered for that device, and its
//! key is at least the profile's size. This module does the part of that which
//! needs no state: it turns the CSR text into a [`CertificateRequest`] whose
//! existence means the signature verified over the exact bytes of
//! `CertificationRequestInfo`, and whose subject and SANs are already the
//! [`Subject`] and [`ExpandedSan`] types the renderers were given, so the
//! policy check is a plain equality. It also reads the `challengePassword`
//! attribute (PKCS#9, 1.2.840.113549.1.9.7), where SCEP carries the challenge
//! when the policy module does not pass it separately.
//!
//! The one idea: anything Scepter could not have rendered is an error, not
//! something skipped. A subject attribute without a [`NameAttribute`], or a SAN
//! kind no profile can request (iPAddress, directoryName, …), would otherwise
//! be silently dropped and let a request carry more identity than the profile
//! allows.
//!
//! # What is supported, and why
//!
//! - Signatures: RSA PKCS#1 v1.5 with SHA-256, SHA-384, SHA-512 — and SHA-1,
//!   because SCEP clients (older Windows and network devices) still sign
//!   requests with it. The CSR signature only proves possession of the key;
//!   the CA signs the certificate with its own algorithm, so accepting SHA-1
//!   here does not weaken what is issued. ECDSA P-256 with SHA-256, which is
//!   what Apple and Android generate for EC keys. Anything else (RSA-PSS,
//!   Ed25519, other curves) is [`CsrError::UnsupportedAlgorithm`]: profiles
//!   only offer RSA sizes and P-256.
//! - RSA moduli up to 16384 bits (the `rsa` crate's default ceiling is 4096).
//!   Signatures are checked by ring where it takes the key (RSA 2048–8192,
//!   P-256), by the `rsa` and `p256` crates otherwise and whenever ring
//!   refuses: the same answers, a ninth of the time (`benches/csr.rs`).
//! - Input: one PEM block labelled `CERTIFICATE REQUEST` or
//!   `NEW CERTIFICATE REQUEST` (Microsoft's label), or base64 DER with any
//!   whitespace. DER must be exactly one request: trailing bytes are an error.
//! - Subject values: UTF8String, PrintableString, IA5String and BMPString —
//!   what Apple, Windows, Android and OpenSSL emit. Multi-valued RDNs keep
//!   the DER `SET OF` order of their attributes.
//! - SANs come from the PKCS#9 `extensionRequest` attribute
//!   (1.2.840.113549.1.9.14) or Microsoft's `szOID_CERT_EXTENSIONS`
//!   (1.3.6.1.4.1.311.2.1.14), which some Windows clients send instead (never
//!   both). The same extension request may also ask for a key usage, extended
//!   key usages, CA status or name constraints: those are read into
//!   [`RequestedExtensions`] so the policy can refuse a request that asks
//!   for more than its profile grants (a CA template should not be the only
//!   line of defence). Unknown attributes are ignored.

use std::fmt;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use der::{
    asn1::{Any, BmpString, Ia5StringRef, ObjectIdentifier, PrintableStringRef, Utf8StringRef},
    Decode, Header, Reader, SliceReader, Tag, Tagged,
};
use p256::ecdsa::signature::Verifier as _;
use rsa::{pkcs1v15::Pkcs1v15Sign, traits::PublicKeyParts, BigUint, RsaPublicKey};
use sha2::{digest::const_oid::AssociatedOid, Digest};
use x509_cert::{
    ext::{pkix::name::GeneralName, Extension},
    request::CertReq,
    spki::AlgorithmIdentifierOwned,
};

use crate::{
    scep_profile::SanType,
    subject_name::{AttributeValue, ExpandedSan, NameAttribute, Rdn, Subject},
};

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA1_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const CHALLENGE_PASSWORD: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.7");
const EXTENSION_REQUEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.14");
/// Microsoft's `szOID_CERT_EXTENSIONS`: the same `Extensions` value under the
/// OID older Windows enrollment clients use instead of PKCS#9's.
const MS_CERT_EXTENSIONS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.2.1.14");
const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
/// Microsoft's user principal name otherName (MS-WCCE 2.2.2.7.7.4).
const UPN: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.20.2.3");

/// Largest RSA modulus accepted; bounds the cost of verifying a hostile request.
const MAX_RSA_BITS: usize = 16384;

/// Why a certificate request was refused. Messages name the offending OID or
/// element but never echo attribute values, which may hold the challenge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrError {
    /// Not one PEM `CERTIFICATE REQUEST` block nor base64.
    #[error("not a PEM certificate request or base64 DER: {0}")]
    Encoding(String),
    /// Not a DER `CertificationRequest` (RFC 2986 §4), or trailing data.
    #[error("malformed certificate request: {0}")]
    Malformed(String),
    /// A signature algorithm other than RSA PKCS#1 v1.5 (SHA-1/256/384/512) or ECDSA P-256 SHA-256.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The public key cannot be used with the signature algorithm, or is not a valid RSA or P-256 key.
    #[error("unsupported or invalid public key: {0}")]
    UnsupportedPublicKey(String),
    /// The signature does not verify over `CertificationRequestInfo`.
    #[error("the certificate request's signature does not verify")]
    BadSignature,
    /// A subject attribute type with no [`NameAttribute`].
    #[error("unsupported subject attribute {0}")]
    UnsupportedSubjectAttribute(String),
    /// An attribute value in an ASN.1 string type this module does not read (e.g. TeletexString).
    #[error("attribute {oid} has unsupported string type {tag}")]
    UnsupportedStringType { oid: String, tag: String },
    /// A subject alternative name kind no profile can request.
    #[error("unsupported subject alternative name: {0}")]
    UnsupportedSan(String),
}

/// The kind of key a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    Rsa,
    /// ECDSA on NIST P-256 (prime256v1).
    EcP256,
}

/// How the request was signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    RsaSha1,
    RsaSha256,
    RsaSha384,
    RsaSha512,
    EcdsaP256Sha256,
}

/// A PKCS#10 request whose signature verified and whose subject and SANs are
/// all ones Scepter can render.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    der: Vec<u8>,
    subject: Subject,
    subject_alternative_names: Vec<ExpandedSan>,
    extensions: RequestedExtensions,
    challenge_password: Option<String>,
    key_algorithm: KeyAlgorithm,
    public_key_bits: u32,
    public_key_sha256: [u8; 32],
    signature_algorithm: SignatureAlgorithm,
}

impl fmt::Debug for CertificateRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateRequest")
            .field("subject", &self.subject)
            .field("subject_alternative_names", &self.subject_alternative_names)
            .field(
                "challenge_password",
                &self.challenge_password.as_ref().map(|_| "<redacted>"),
            )
            .field("key_algorithm", &self.key_algorithm)
            .field("public_key_bits", &self.public_key_bits)
            .field("signature_algorithm", &self.signature_algorithm)
            .finish_non_exhaustive()
    }
}

impl CertificateRequest {
    /// Reads the `csr` field of a policy request: one PEM block labelled
    /// `CERTIFICATE REQUEST` or `NEW CERTIFICATE REQUEST`, or base64 DER in
    /// which whitespace is ignored.
    pub fn parse(input: &str) -> Result<Self, CsrError> {
        Self::from_der(&Self::decode_text(input)?)
    }

    /// The DER of a PEM `CERTIFICATE REQUEST` / `NEW CERTIFICATE REQUEST`
    /// block, or of base64 text in which whitespace is ignored.
    pub fn decode_text(input: &str) -> Result<Vec<u8>, CsrError> {
        let trimmed = input.trim();
        if trimmed.starts_with("-----BEGIN ") {
            let (label, der) =
                der::pem::decode_vec(trimmed.as_bytes()).map_err(|e| CsrError::Encoding(e.to_string()))?;
            if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
                return Err(CsrError::Encoding(format!("unexpected PEM label {label:?}")));
            }
            Ok(der)
        } else {
            let compact: Vec<u8> = trimmed.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            STANDARD
                .decode(compact)
                .map_err(|e| CsrError::Encoding(e.to_string()))
        }
    }

    /// Decodes one DER `CertificationRequest`, verifies its signature and
    /// reads its subject, SANs and challenge. Trailing bytes are an error.
    pub fn from_der(der: &[u8]) -> Result<Self, CsrError> {
        let request = CertReq::from_der(der).map_err(malformed)?;
        // The signature covers the bytes as sent; re-encoding the decoded
        // value could differ (decoding sorts SET OFs), so take them verbatim.
        let info = first_element_bytes(der).map_err(malformed)?;
        let signature = request
            .signature
            .as_bytes()
            .ok_or_else(|| CsrError::Malformed("signature BIT STRING has unused bits".into()))?;
        let key_bytes = request
            .info
            .public_key
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| CsrError::Malformed("public key BIT STRING has unused bits".into()))?;

        let signature_algorithm = signature_algorithm(&request.algorithm)?;
        let key_id = &request.info.public_key.algorithm;
        let (key_algorithm, public_key_bits) = match signature_algorithm {
            SignatureAlgorithm::EcdsaP256Sha256 => verify_ecdsa_p256(key_id, key_bytes, info, signature)?,
            SignatureAlgorithm::RsaSha1 => verify_rsa::<sha1::Sha1>(key_id, key_bytes, info, signature)?,
            SignatureAlgorithm::RsaSha256 => verify_rsa::<sha2::Sha256>(key_id, key_bytes, info, signature)?,
            SignatureAlgorithm::RsaSha384 => verify_rsa::<sha2::Sha384>(key_id, key_bytes, info, signature)?,
            SignatureAlgorithm::RsaSha512 => verify_rsa::<sha2::Sha512>(key_id, key_bytes, info, signature)?,
        };

        let public_key_sha256 = spki_sha256(&request.info.public_key)?;
        let subject = subject(&request.info.subject)?;
        let challenge_password = challenge_password_of(&request)?;
        let mut subject_alternative_names = None;
        let mut requested_extensions = RequestedExtensions::default();
        for attribute in request.info.attributes.iter() {
            if attribute.oid == EXTENSION_REQUEST || attribute.oid == MS_CERT_EXTENSIONS {
                // Both at once would be two sources of SANs: refused like a repeated attribute.
                let value = single_value(
                    attribute.oid,
                    attribute.values.as_slice(),
                    &subject_alternative_names,
                )?;
                let extensions: Vec<Extension> = value.decode_as().map_err(malformed)?;
                subject_alternative_names = Some(sans(&extensions)?);
                requested_extensions = RequestedExtensions::read(&extensions)?;
            }
        }

        Ok(Self {
            der: der.to_vec(),
            subject,
            subject_alternative_names: subject_alternative_names.unwrap_or_default(),
            extensions: requested_extensions,
            challenge_password,
            key_algorithm,
            public_key_bits,
            public_key_sha256,
            signature_algorithm,
        })
    }

    /// The subject, RDN by RDN in request order.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The SANs of the requested subjectAltName extension, in request order;
    /// empty when the request has none.
    pub fn subject_alternative_names(&self) -> &[ExpandedSan] {
        &self.subject_alternative_names
    }

    /// What the request's extension request asks for besides its SANs.
    pub fn extensions(&self) -> &RequestedExtensions {
        &self.extensions
    }

    /// Reads only the challengePassword of a request, without verifying its
    /// signature or reading its name: the policy screens the challenge —
    /// the cheap check — before it spends work on anything else.
    pub fn peek_challenge_password(der: &[u8]) -> Result<Option<String>, CsrError> {
        challenge_password_of(&CertReq::from_der(der).map_err(malformed)?)
    }

    /// The PKCS#9 challengePassword, where SCEP carries the challenge.
    pub fn challenge_password(&self) -> Option<&str> {
        self.challenge_password.as_deref()
    }

    pub fn key_algorithm(&self) -> KeyAlgorithm {
        self.key_algorithm
    }

    /// RSA modulus size in bits, or 256 for P-256.
    pub fn public_key_bits(&self) -> u32 {
        self.public_key_bits
    }

    /// SHA-256 of the DER `SubjectPublicKeyInfo`: what ties the issued
    /// certificate to this request (a CA may rewrite everything else).
    pub fn public_key_sha256(&self) -> [u8; 32] {
        self.public_key_sha256
    }

    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.signature_algorithm
    }

    /// The request exactly as received, in DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }
}

/// The request's PKCS#9 challengePassword attribute, if any (once, one value).
fn challenge_password_of(request: &CertReq) -> Result<Option<String>, CsrError> {
    let mut found = None;
    for attribute in request
        .info
        .attributes
        .iter()
        .filter(|a| a.oid == CHALLENGE_PASSWORD)
    {
        let value = single_value(attribute.oid, attribute.values.as_slice(), &found)?;
        found = Some(text(attribute.oid, value, StringTypes::ChallengePassword)?);
    }
    Ok(found)
}

/// What a request's extension request asks for besides subject alternative
/// names — the parts of a certificate that grant power rather than name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestedExtensions {
    /// basicConstraints with `cA` TRUE: the request asks to be a CA.
    pub certificate_authority: bool,
    /// keyUsage bits by their RFC 5280 names (`digitalSignature`, `keyCertSign`, …); `None` without the extension.
    pub key_usage: Option<Vec<&'static str>>,
    /// extendedKeyUsage OIDs in dotted form; `None` without the extension.
    pub extended_key_usages: Option<Vec<String>>,
    /// nameConstraints was requested (only CAs carry it).
    pub name_constraints: bool,
    /// Other extensions marked critical, by OID: a CA that honours them would
    /// issue something the policy never judged.
    pub unknown_critical: Vec<String>,
}

impl RequestedExtensions {
    fn read(extensions: &[Extension]) -> Result<Self, CsrError> {
        use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, NameConstraints};
        let mut requested = Self::default();
        for extension in extensions {
            let value = extension.extn_value.as_bytes();
            let oid = extension.extn_id;
            if oid == SUBJECT_ALT_NAME {
                continue;
            } else if oid == BasicConstraints::OID {
                requested.certificate_authority |= BasicConstraints::from_der(value).map_err(malformed)?.ca;
            } else if oid == KeyUsage::OID {
                let usage = KeyUsage::from_der(value).map_err(malformed)?;
                let bits = [
                    (usage.digital_signature(), "digitalSignature"),
                    (usage.non_repudiation(), "nonRepudiation"),
                    (usage.key_encipherment(), "keyEncipherment"),
                    (usage.data_encipherment(), "dataEncipherment"),
                    (usage.key_agreement(), "keyAgreement"),
                    (usage.key_cert_sign(), "keyCertSign"),
                    (usage.crl_sign(), "cRLSign"),
                    (usage.encipher_only(), "encipherOnly"),
                    (usage.decipher_only(), "decipherOnly"),
                ];
                requested.key_usage = Some(
                    bits.iter()
                        .filter(|(set, _)| *set)
                        .map(|(_, name)| *name)
                        .collect(),
                );
            } else if oid == ExtendedKeyUsage::OID {
                let usages = ExtendedKeyUsage::from_der(value).map_err(malformed)?;
                requested.extended_key_usages = Some(usages.0.iter().map(ToString::to_string).collect());
            } else if oid == NameConstraints::OID {
                requested.name_constraints = true;
            } else if extension.critical {
                requested.unknown_critical.push(oid.to_string());
            }
        }
        Ok(requested)
    }
}

/// SHA-256 over the DER `SubjectPublicKeyInfo`.
pub(crate) fn spki_sha256(key: &x509_cert::spki::SubjectPublicKeyInfoOwned) -> Result<[u8; 32], CsrError> {
    let der = der::Encode::to_der(key).map_err(malformed)?;
    Ok(sha2::Sha256::digest(der).into())
}

fn malformed(error: der::Error) -> CsrError {
    CsrError::Malformed(error.to_string())
}

/// Verifies `signature` over `message` with `key` under `algorithm`: the
/// algorithms a request may be signed with, which are also what CAs use.
pub(crate) fn verify_signature(
    algorithm: &AlgorithmIdentifierOwned,
    key: &x509_cert::spki::SubjectPublicKeyInfoOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CsrError> {
    let key_bytes = key
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| CsrError::Malformed("public key BIT STRING has unused bits".into()))?;
    let key_id = &key.algorithm;
    match signature_algorithm(algorithm)? {
        SignatureAlgorithm::EcdsaP256Sha256 => verify_ecdsa_p256(key_id, key_bytes, message, signature),
        SignatureAlgorithm::RsaSha1 => verify_rsa::<sha1::Sha1>(key_id, key_bytes, message, signature),
        SignatureAlgorithm::RsaSha256 => verify_rsa::<sha2::Sha256>(key_id, key_bytes, message, signature),
        SignatureAlgorithm::RsaSha384 => verify_rsa::<sha2::Sha384>(key_id, key_bytes, message, signature),
        SignatureAlgorithm::RsaSha512 => verify_rsa::<sha2::Sha512>(key_id, key_bytes, message, signature),
    }
    .map(|_| ())
}

/// The TLV of the first element of the outer SEQUENCE: `certificationRequestInfo`
/// of a request, `tbsCertificate` of a certificate — the bytes signed, as sent.
pub(crate) fn first_element_bytes(der: &[u8]) -> der::Result<&[u8]> {
    let mut reader = SliceReader::new(der)?;
    Header::decode(&mut reader)?;
    reader.tlv_bytes()
}

fn signature_algorithm(algorithm: &AlgorithmIdentifierOwned) -> Result<SignatureAlgorithm, CsrError> {
    let parsed = match algorithm.oid {
        SHA1_WITH_RSA => SignatureAlgorithm::RsaSha1,
        SHA256_WITH_RSA => SignatureAlgorithm::RsaSha256,
        SHA384_WITH_RSA => SignatureAlgorithm::RsaSha384,
        SHA512_WITH_RSA => SignatureAlgorithm::RsaSha512,
        ECDSA_WITH_SHA256 => SignatureAlgorithm::EcdsaP256Sha256,
        other => return Err(CsrError::UnsupportedAlgorithm(other.to_string())),
    };
    // RFC 4055 §5: RSA parameters are NULL (absent tolerated); RFC 5758 §3.2: ECDSA parameters absent.
    let parameters_ok = match parsed {
        SignatureAlgorithm::EcdsaP256Sha256 => algorithm.parameters.is_none(),
        _ => !matches!(&algorithm.parameters, Some(p) if !p.is_null()),
    };
    if parameters_ok {
        Ok(parsed)
    } else {
        Err(CsrError::Malformed(format!(
            "unexpected parameters for signature algorithm {}",
            algorithm.oid
        )))
    }
}

fn require_rsa(key: &AlgorithmIdentifierOwned) -> Result<(), CsrError> {
    if key.oid == RSA_ENCRYPTION {
        Ok(())
    } else {
        Err(CsrError::UnsupportedPublicKey(format!(
            "RSA signature with key algorithm {}",
            key.oid
        )))
    }
}

fn require_ec_p256(key: &AlgorithmIdentifierOwned) -> Result<(), CsrError> {
    let curve = key
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if key.oid == EC_PUBLIC_KEY && curve == Some(PRIME256V1) {
        Ok(())
    } else {
        Err(CsrError::UnsupportedPublicKey(format!(
            "ECDSA P-256 signature with key algorithm {} on curve {}",
            key.oid,
            curve.map_or_else(|| "(none)".to_owned(), |c| c.to_string())
        )))
    }
}

fn rsa_public_key(key_bytes: &[u8]) -> Result<RsaPublicKey, CsrError> {
    let key = rsa::pkcs1::RsaPublicKey::from_der(key_bytes)
        .map_err(|e| CsrError::UnsupportedPublicKey(e.to_string()))?;
    RsaPublicKey::new_with_max_size(
        BigUint::from_bytes_be(key.modulus.as_bytes()),
        BigUint::from_bytes_be(key.public_exponent.as_bytes()),
        MAX_RSA_BITS,
    )
    .map_err(|e| CsrError::UnsupportedPublicKey(e.to_string()))
}

/// A digest RSA PKCS#1 v1.5 signatures are made with, and ring's verifier
/// for it.
trait RsaDigest: Digest + AssociatedOid {
    /// ring's verification with this digest, for 2048- to 8192-bit moduli.
    const RING: &'static ring::signature::RsaParameters;
}

impl RsaDigest for sha1::Sha1 {
    const RING: &'static ring::signature::RsaParameters =
        &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY;
}

impl RsaDigest for sha2::Sha256 {
    const RING: &'static ring::signature::RsaParameters = &ring::signature::RSA_PKCS1_2048_8192_SHA256;
}

impl RsaDigest for sha2::Sha384 {
    const RING: &'static ring::signature::RsaParameters = &ring::signature::RSA_PKCS1_2048_8192_SHA384;
}

impl RsaDigest for sha2::Sha512 {
    const RING: &'static ring::signature::RsaParameters = &ring::signature::RSA_PKCS1_2048_8192_SHA512;
}

/// Verifies an RSA PKCS#1 v1.5 signature; returns the key's kind and modulus size.
///
/// Two implementations, one answer. ring verifies first: its modular
/// arithmetic is assembly, about a twentieth of the `rsa` crate's time for a
/// 2048-bit key (whose bignum arithmetic was 5 % of the machine while the
/// connector verified and notified at full speed). ring takes only 2048- to
/// 8192-bit moduli; the `rsa` crate decides everything ring does not accept
/// (1024-bit legacy keys, moduli up to [`MAX_RSA_BITS`], bad signatures), so
/// what verifies is what the `rsa` crate alone verified, and ring only
/// answers sooner.
fn verify_rsa<D: RsaDigest>(
    key_algorithm: &AlgorithmIdentifierOwned,
    key_bytes: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(KeyAlgorithm, u32), CsrError> {
    require_rsa(key_algorithm)?;
    let key = rsa_public_key(key_bytes)?;
    let verified_by_ring = ring::signature::UnparsedPublicKey::new(D::RING, key_bytes)
        .verify(message, signature)
        .is_ok();
    if !verified_by_ring {
        key.verify(Pkcs1v15Sign::new::<D>(), &D::digest(message), signature)
            .map_err(|_| CsrError::BadSignature)?;
    }
    // The modulus has at most MAX_RSA_BITS bits, so the conversion cannot fail.
    let bits = u32::try_from(key.n().bits()).unwrap_or(u32::MAX);
    Ok((KeyAlgorithm::Rsa, bits))
}

/// Verifies an ECDSA P-256 SHA-256 signature (DER `Ecdsa-Sig-Value`, RFC 5480 §2.2 key).
fn verify_ecdsa_p256(
    key_algorithm: &AlgorithmIdentifierOwned,
    key_bytes: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(KeyAlgorithm, u32), CsrError> {
    require_ec_p256(key_algorithm)?;
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
        .map_err(|_| CsrError::UnsupportedPublicKey("invalid P-256 point".into()))?;
    // As in verify_rsa: ring answers first (a tenth of the p256 crate's
    // time), the p256 crate decides what ring does not accept.
    let verified_by_ring =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, key_bytes)
            .verify(message, signature)
            .is_ok();
    if !verified_by_ring {
        let signature = p256::ecdsa::Signature::from_der(signature).map_err(|_| CsrError::BadSignature)?;
        key.verify(message, &signature)
            .map_err(|_| CsrError::BadSignature)?;
    }
    Ok((KeyAlgorithm::EcP256, 256))
}

pub(crate) fn subject(name: &x509_cert::name::Name) -> Result<Subject, CsrError> {
    let mut rdns = Vec::with_capacity(name.0.len());
    for rdn in &name.0 {
        if rdn.0.is_empty() {
            return Err(CsrError::Malformed("empty RDN in subject".into()));
        }
        let mut attributes = Vec::with_capacity(rdn.0.len());
        for atv in rdn.0.iter() {
            let oid = atv.oid.to_string();
            let attribute = NameAttribute::ALL
                .into_iter()
                .find(|a| a.oid() == oid)
                .ok_or(CsrError::UnsupportedSubjectAttribute(oid))?;
            let value = text(atv.oid, &atv.value, StringTypes::DirectoryString)?;
            attributes.push(AttributeValue { attribute, value });
        }
        rdns.push(Rdn(attributes));
    }
    Ok(Subject(rdns))
}

/// Which ASCII-compatible string types an attribute may use; BMPString is
/// valid in a subject (X.520 DirectoryString) but not in a challengePassword.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StringTypes {
    DirectoryString,
    ChallengePassword,
}

/// UTF8String, PrintableString, IA5String (and BMPString where allowed) as text.
fn text(oid: ObjectIdentifier, value: &Any, allowed: StringTypes) -> Result<String, CsrError> {
    match value.tag() {
        Tag::Utf8String => value
            .decode_as::<Utf8StringRef<'_>>()
            .map(|s| s.as_str().to_owned()),
        Tag::PrintableString => value
            .decode_as::<PrintableStringRef<'_>>()
            .map(|s| s.as_str().to_owned()),
        Tag::Ia5String => value
            .decode_as::<Ia5StringRef<'_>>()
            .map(|s| s.as_str().to_owned()),
        Tag::BmpString if allowed == StringTypes::DirectoryString => {
            value.decode_as::<BmpString>().map(|s| s.chars().collect())
        }
        other => {
            return Err(CsrError::UnsupportedStringType {
                oid: oid.to_string(),
                tag: other.to_string(),
            })
        }
    }
    .map_err(malformed)
}

/// The one value of a single-valued attribute that must appear at most once
/// (RFC 2985 §5.4.1, §5.4.2); `seen` is what an earlier occurrence produced.
fn single_value<'a, T>(
    oid: ObjectIdentifier,
    values: &'a [Any],
    seen: &Option<T>,
) -> Result<&'a Any, CsrError> {
    match (values, seen) {
        ([value], None) => Ok(value),
        _ => Err(CsrError::Malformed(format!(
            "attribute {oid} must appear once with one value"
        ))),
    }
}

pub(crate) fn sans(extensions: &[Extension]) -> Result<Vec<ExpandedSan>, CsrError> {
    let mut found = None;
    for extension in extensions.iter().filter(|e| e.extn_id == SUBJECT_ALT_NAME) {
        if found.is_some() {
            return Err(CsrError::Malformed(
                "more than one subjectAltName extension".into(),
            ));
        }
        let names = Vec::<GeneralName>::from_der(extension.extn_value.as_bytes()).map_err(malformed)?;
        found = Some(names.iter().map(san).collect::<Result<Vec<_>, _>>()?);
    }
    Ok(found.unwrap_or_default())
}

fn san(name: &GeneralName) -> Result<ExpandedSan, CsrError> {
    let (san_type, value) = match name {
        GeneralName::Rfc822Name(v) => (SanType::EmailAddress, v.to_string()),
        GeneralName::DnsName(v) => (SanType::DomainNameService, v.to_string()),
        GeneralName::UniformResourceIdentifier(v) => (SanType::UniversalResourceIdentifier, v.to_string()),
        GeneralName::OtherName(other) if other.type_id == UPN => {
            let upn = other.value.decode_as::<Utf8StringRef<'_>>().map_err(malformed)?;
            (SanType::UserPrincipalName, upn.as_str().to_owned())
        }
        GeneralName::OtherName(other) => {
            return Err(CsrError::UnsupportedSan(format!("otherName {}", other.type_id)))
        }
        GeneralName::DirectoryName(_) => return Err(CsrError::UnsupportedSan("directoryName".into())),
        GeneralName::EdiPartyName(_) => return Err(CsrError::UnsupportedSan("ediPartyName".into())),
        GeneralName::IpAddress(_) => return Err(CsrError::UnsupportedSan("iPAddress".into())),
        GeneralName::RegisteredId(_) => return Err(CsrError::UnsupportedSan("registeredID".into())),
    };
    Ok(ExpandedSan { san_type, value })
}

#[cfg(test)]
mod tests;
