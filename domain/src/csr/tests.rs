use base64::{engine::general_purpose::STANDARD, Engine as _};
use proptest::prelude::*;

use super::{CertificateRequest, CsrError, KeyAlgorithm, SignatureAlgorithm};
use crate::{
    scep_profile::SanType,
    subject_name::{AttributeValue, ExpandedSan, NameAttribute, Rdn, Subject},
};

const RSA2048_SHA256: &str = include_str!("../../tests/fixtures/csr/rsa2048_sha256.pem");
const RSA1024_SHA1: &str = include_str!("../../tests/fixtures/csr/rsa1024_sha1.pem");
const P256_SHA256: &str = include_str!("../../tests/fixtures/csr/p256_sha256.pem");
const MULTIVALUED_RDN: &str = include_str!("../../tests/fixtures/csr/multivalued_rdn.pem");
const ED25519: &str = include_str!("../../tests/fixtures/csr/ed25519.pem");
const UNSUPPORTED_SUBJECT_ATTRIBUTE: &str =
    include_str!("../../tests/fixtures/csr/unsupported_subject_attribute.pem");
const UNSUPPORTED_SAN: &str = include_str!("../../tests/fixtures/csr/unsupported_san.pem");
const BAD_SIGNATURE_DER: &[u8] = include_bytes!("../../tests/fixtures/csr/rsa2048_sha256_bad_signature.der");

fn rdn(attributes: &[(NameAttribute, &str)]) -> Rdn {
    Rdn(attributes
        .iter()
        .map(|(attribute, value)| AttributeValue {
            attribute: *attribute,
            value: (*value).to_owned(),
        })
        .collect())
}

fn san(san_type: SanType, value: &str) -> ExpandedSan {
    ExpandedSan {
        san_type,
        value: value.to_owned(),
    }
}

fn der_of(pem: &str) -> Vec<u8> {
    let (_, der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
    der
}

#[test]
fn rsa_2048_sha256_request_yields_subject_sans_challenge_and_key_size() {
    let csr = CertificateRequest::parse(RSA2048_SHA256).unwrap();

    assert_eq!(
        csr.subject(),
        &Subject(vec![
            rdn(&[(NameAttribute::CommonName, "jane@contoso.com")]),
            rdn(&[(NameAttribute::OrganizationalUnit, "Mobile")]),
        ])
    );
    assert_eq!(
        csr.subject_alternative_names(),
        &[
            san(SanType::EmailAddress, "jane@contoso.com"),
            san(SanType::DomainNameService, "device.contoso.com"),
            san(
                SanType::UniversalResourceIdentifier,
                "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1001"
            ),
            san(SanType::UserPrincipalName, "jane@contoso.com"),
        ]
    );
    assert_eq!(csr.challenge_password(), Some("R09MREVOLUNIQUxMRU5HRQ=="));
    assert_eq!(csr.key_algorithm(), KeyAlgorithm::Rsa);
    assert_eq!(csr.public_key_bits(), 2048);
    assert_eq!(csr.signature_algorithm(), SignatureAlgorithm::RsaSha256);
    assert_eq!(csr.der(), der_of(RSA2048_SHA256).as_slice());
}

/// Older Windows clients put the requested extensions under Microsoft's
/// `szOID_CERT_EXTENSIONS` (1.3.6.1.4.1.311.2.1.14) instead of PKCS#9's.
#[test]
fn sans_under_microsofts_extension_attribute_are_read() {
    let standard = CertificateRequest::parse(RSA2048_SHA256).unwrap();
    let microsoft = CertificateRequest::parse(include_str!(
        "../../tests/fixtures/csr/ms_extension_attribute.pem"
    ))
    .unwrap();
    assert!(!microsoft.subject_alternative_names().is_empty());
    assert_eq!(
        microsoft.subject_alternative_names(),
        standard.subject_alternative_names()
    );
    assert_eq!(microsoft.subject(), standard.subject());
    assert_eq!(microsoft.challenge_password(), standard.challenge_password());
}

#[test]
fn rsa_1024_sha1_request_is_accepted() {
    let csr = CertificateRequest::parse(RSA1024_SHA1).unwrap();

    assert_eq!(
        csr.subject(),
        &Subject(vec![rdn(&[(NameAttribute::CommonName, "legacy-device")])])
    );
    assert!(csr.subject_alternative_names().is_empty());
    assert_eq!(csr.challenge_password(), None);
    assert_eq!(csr.key_algorithm(), KeyAlgorithm::Rsa);
    assert_eq!(csr.public_key_bits(), 1024);
    assert_eq!(csr.signature_algorithm(), SignatureAlgorithm::RsaSha1);
}

#[test]
fn rsa_sha384_and_sha512_requests_are_accepted() {
    let cases = [
        (
            include_str!("../../tests/fixtures/csr/rsa2048_sha384.pem"),
            "sha384-device",
            SignatureAlgorithm::RsaSha384,
        ),
        (
            include_str!("../../tests/fixtures/csr/rsa2048_sha512.pem"),
            "sha512-device",
            SignatureAlgorithm::RsaSha512,
        ),
    ];
    for (pem, common_name, algorithm) in cases {
        let csr = CertificateRequest::parse(pem).unwrap();

        assert_eq!(csr.signature_algorithm(), algorithm);
        assert_eq!(
            csr.subject(),
            &Subject(vec![rdn(&[(NameAttribute::CommonName, common_name)])])
        );
        assert_eq!(csr.public_key_bits(), 2048);
    }
}

#[test]
fn ec_p256_request_reports_256_bits() {
    let csr = CertificateRequest::parse(P256_SHA256).unwrap();

    assert_eq!(
        csr.subject(),
        &Subject(vec![
            rdn(&[(NameAttribute::CommonName, "ec-device")]),
            rdn(&[(NameAttribute::Organization, "Contoso")]),
        ])
    );
    assert_eq!(csr.key_algorithm(), KeyAlgorithm::EcP256);
    assert_eq!(csr.public_key_bits(), 256);
    assert_eq!(csr.signature_algorithm(), SignatureAlgorithm::EcdsaP256Sha256);
}

#[test]
fn multi_valued_rdn_keeps_its_attributes_together() {
    let csr = CertificateRequest::parse(MULTIVALUED_RDN).unwrap();

    assert_eq!(
        csr.subject(),
        &Subject(vec![
            rdn(&[(NameAttribute::CommonName, "a"), (NameAttribute::UserId, "b")]),
            rdn(&[(NameAttribute::OrganizationalUnit, "Mobile")]),
        ])
    );
}

#[test]
fn base64_der_with_whitespace_equals_pem() {
    let encoded = STANDARD.encode(der_of(RSA2048_SHA256));
    let wrapped: String = encoded
        .as_bytes()
        .chunks(64)
        .map(|line| format!("  {}\r\n", std::str::from_utf8(line).unwrap()))
        .collect();

    assert_eq!(
        CertificateRequest::parse(&wrapped).unwrap(),
        CertificateRequest::parse(RSA2048_SHA256).unwrap()
    );
}

#[test]
fn new_certificate_request_pem_label_is_accepted() {
    let pem = RSA2048_SHA256.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST");

    assert!(CertificateRequest::parse(&pem).is_ok());
}

#[test]
fn other_pem_label_is_rejected() {
    let pem = RSA2048_SHA256.replace("CERTIFICATE REQUEST", "CERTIFICATE");

    assert!(matches!(
        CertificateRequest::parse(&pem),
        Err(CsrError::Encoding(_))
    ));
}

#[test]
fn corrupted_signature_is_bad_signature() {
    assert_eq!(
        CertificateRequest::from_der(BAD_SIGNATURE_DER),
        Err(CsrError::BadSignature)
    );
}

#[test]
fn tampered_subject_is_bad_signature() {
    let mut der = der_of(RSA2048_SHA256);
    let at = der.windows(4).position(|w| w == b"jane").unwrap();
    der[at] = b'j' ^ 0x20; // "Jane": still a valid UTF8String, so only the signature can tell

    assert_eq!(CertificateRequest::from_der(&der), Err(CsrError::BadSignature));
}

#[test]
fn corrupted_ec_signature_is_bad_signature() {
    let mut der = der_of(P256_SHA256);
    let last = der.len() - 1;
    der[last] ^= 0x01; // inside the signature's s
    assert_eq!(CertificateRequest::from_der(&der), Err(CsrError::BadSignature));
}

#[test]
fn tampered_challenge_is_bad_signature() {
    let mut der = der_of(RSA2048_SHA256);
    let at = der.windows(4).position(|w| w == b"R09M").unwrap();
    der[at] = b'S';

    assert_eq!(CertificateRequest::from_der(&der), Err(CsrError::BadSignature));
}

#[test]
fn tampered_ec_request_is_bad_signature() {
    let mut der = der_of(P256_SHA256);
    let at = der.windows(9).position(|w| w == b"ec-device").unwrap();
    der[at] = b'E';

    assert_eq!(CertificateRequest::from_der(&der), Err(CsrError::BadSignature));
}

#[test]
fn ed25519_is_unsupported_algorithm() {
    assert_eq!(
        CertificateRequest::parse(ED25519),
        Err(CsrError::UnsupportedAlgorithm("1.3.101.112".to_owned()))
    );
}

#[test]
fn unknown_subject_attribute_is_refused() {
    assert_eq!(
        CertificateRequest::parse(UNSUPPORTED_SUBJECT_ATTRIBUTE),
        Err(CsrError::UnsupportedSubjectAttribute("2.5.4.15".to_owned()))
    );
}

#[test]
fn ip_address_san_is_refused() {
    assert_eq!(
        CertificateRequest::parse(UNSUPPORTED_SAN),
        Err(CsrError::UnsupportedSan("iPAddress".to_owned()))
    );
}

#[test]
fn pem_with_trailing_junk_is_rejected() {
    let pem = format!("{RSA2048_SHA256}junk\n");

    assert!(matches!(
        CertificateRequest::parse(&pem),
        Err(CsrError::Encoding(_))
    ));
}

#[test]
fn two_pem_blocks_are_rejected() {
    let pem = format!("{RSA2048_SHA256}{RSA1024_SHA1}");

    assert!(matches!(
        CertificateRequest::parse(&pem),
        Err(CsrError::Encoding(_))
    ));
}

#[test]
fn der_with_trailing_byte_is_rejected() {
    let mut der = der_of(RSA2048_SHA256);
    der.push(0);

    assert!(matches!(
        CertificateRequest::from_der(&der),
        Err(CsrError::Malformed(_))
    ));
    assert!(matches!(
        CertificateRequest::parse(&STANDARD.encode(&der)),
        Err(CsrError::Malformed(_))
    ));
}

#[test]
fn truncated_der_is_rejected() {
    let der = der_of(RSA2048_SHA256);

    assert!(matches!(
        CertificateRequest::from_der(&der[..der.len() - 1]),
        Err(CsrError::Malformed(_))
    ));
}

#[test]
fn garbage_is_rejected() {
    let pem_with_bad_base64 = "-----BEGIN CERTIFICATE REQUEST-----\n!!\n-----END CERTIFICATE REQUEST-----\n";
    let cases = [
        ("", "malformed"),
        ("not base64 !", "encoding"),
        ("aGVsbG8gd29ybGQ=", "malformed"),
        (pem_with_bad_base64, "encoding"),
    ];
    for (input, expected) in cases {
        let kind = match CertificateRequest::parse(input) {
            Err(CsrError::Encoding(_)) => "encoding",
            Err(CsrError::Malformed(_)) => "malformed",
            other => panic!("{input:?} gave {other:?}"),
        };
        assert_eq!(kind, expected, "{input:?}");
    }
}

#[test]
fn debug_redacts_the_challenge() {
    let csr = CertificateRequest::parse(RSA2048_SHA256).unwrap();

    let debug = format!("{csr:?}");
    assert!(!debug.contains("R09MREVOLUNIQUxMRU5HRQ=="), "{debug}");
    assert!(debug.contains("<redacted>"));
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = CertificateRequest::from_der(&bytes);
    }

    #[test]
    fn mutated_request_never_panics_and_never_verifies_changed_content(
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut der = der_of(RSA2048_SHA256);
        let at = position.index(der.len());
        der[at] ^= flip;
        prop_assert!(CertificateRequest::from_der(&der).is_err());
    }
}
