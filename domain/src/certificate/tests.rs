//! Certificate inspection against real certificates made with OpenSSL
//! (`domain/tests/fixtures/README.md` has the commands and the expected values).

use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, TimeZone, Utc};

use super::{CaCertificate, CertificateError};

const ROOT_CA: &str = include_str!("../../tests/fixtures/root-ca.pem");
const INTERMEDIATE_CA: &str = include_str!("../../tests/fixtures/intermediate-ca.pem");
const LEAF: &str = include_str!("../../tests/fixtures/leaf.pem");
const CA_WITHOUT_KEY_CERT_SIGN: &str = include_str!("../../tests/fixtures/ca-without-keycertsign.pem");
const CA_WITHOUT_KEY_USAGE: &str = include_str!("../../tests/fixtures/ca-without-key-usage.pem");
const EXPIRED_ROOT_CA: &str = include_str!("../../tests/fixtures/expired-root-ca.pem");
const V1_NO_EXTENSIONS: &str = include_str!("../../tests/fixtures/v1-no-extensions.pem");
const SAME_NAME_OTHER_KEY_CA: &str = include_str!("../../tests/fixtures/same-name-other-key-ca.pem");

const ROOT_SUBJECT: &str = "CN=Scepter Test Root CA,O=Scepter Tests,C=NL";

/// The base64 body of a PEM file on one line, decoded independently of the code under test.
fn base64_body(pem: &str) -> String {
    pem.lines().filter(|line| !line.starts_with("-----")).collect()
}

fn der_of(pem: &str) -> Vec<u8> {
    STANDARD.decode(base64_body(pem)).expect("fixture is valid PEM")
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("valid RFC 3339 in test")
        .with_timezone(&Utc)
}

/// A moment at which every fixture except the expired root is valid.
fn in_validity() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 6, 1, 0, 0, 0).unwrap()
}

fn rewrap(base64: &str, width: usize, line_break: &str) -> String {
    base64
        .as_bytes()
        .chunks(width)
        .map(|chunk| std::str::from_utf8(chunk).unwrap())
        .collect::<Vec<_>>()
        .join(line_break)
}

#[test]
fn pem_root_ca_is_accepted_with_details_matching_openssl() {
    let certificate = CaCertificate::parse(ROOT_CA).expect("root CA is accepted");
    let details = certificate.details();

    assert_eq!(details.subject, ROOT_SUBJECT);
    assert!(details.subject.contains("CN=Scepter Test Root CA"));
    assert_eq!(details.issuer, ROOT_SUBJECT);
    assert_eq!(details.serial_number, "5C3E7A10");
    assert_eq!(details.not_before, utc("2026-11-25T12:35:38Z"));
    // After 2049, so encoded as GeneralizedTime rather than UTCTime.
    assert_eq!(details.not_after, utc("2126-11-01T12:35:38Z"));
    assert_eq!(
        details.thumbprint_sha1,
        "F4BF1446572532247C20B94FB6D57E638735DE06"
    );
    assert_eq!(
        details.thumbprint_sha256,
        "85B7BBC53104E1497BB90875260BF2CC82D80D2ADACEB481139BCC8FA990E5F9"
    );
    assert_eq!(certificate.der(), der_of(ROOT_CA).as_slice());
    assert!(certificate.is_self_signed());
}

#[test]
fn intermediate_ca_details_match_openssl() {
    let certificate = CaCertificate::parse(INTERMEDIATE_CA).expect("intermediate CA is accepted");
    let details = certificate.details();

    assert_eq!(
        details.subject,
        "CN=Scepter Test Issuing CA 1,O=Scepter Tests,C=NL"
    );
    assert_eq!(details.issuer, ROOT_SUBJECT);
    assert_eq!(
        details.thumbprint_sha1,
        "DC723F031F69B3132F77AA1614911ACF4D766472"
    );
    assert_eq!(
        details.thumbprint_sha256,
        "25C31281BAD1FACCBFA88F23064C8BE1CAB96D59CF89DD2E212DDE431A9326DD"
    );
    assert_eq!(details.not_after, utc("2125-06-19T12:35:38Z"));
}

#[test]
fn serial_number_keeps_the_leading_zero_byte_of_its_der_encoding() {
    // 0x8A11 has its high bit set, so DER stores 00 8A 11; Windows shows those bytes.
    let certificate = CaCertificate::parse(INTERMEDIATE_CA).unwrap();
    assert_eq!(certificate.details().serial_number, "008A11");
}

#[test]
fn accepted_inputs_yield_the_same_certificate() {
    let expected = der_of(ROOT_CA);
    let body = base64_body(ROOT_CA);
    let pem_crlf = ROOT_CA.replace('\n', "\r\n");
    let cases: Vec<(&str, String)> = vec![
        ("pem as written by openssl", ROOT_CA.to_owned()),
        (
            "pem with surrounding whitespace",
            format!("\n\n  {ROOT_CA}\n\t \n"),
        ),
        ("pem with CRLF line endings", pem_crlf),
        (
            "pem wrapped at 76 columns",
            format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                rewrap(&body, 76, "\n")
            ),
        ),
        (
            "pem body on one line",
            format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----"),
        ),
        ("base64 DER on one line", body.clone()),
        (
            "base64 DER wrapped at 64 columns with LF",
            rewrap(&body, 64, "\n"),
        ),
        (
            "base64 DER wrapped at 76 columns with CRLF",
            rewrap(&body, 76, "\r\n"),
        ),
        ("base64 DER with spaces and tabs", rewrap(&body, 10, " \t ")),
        (
            "base64 DER with surrounding whitespace",
            format!("  \n{body}\n  "),
        ),
    ];
    for (case, input) in cases {
        let certificate = CaCertificate::parse(&input).unwrap_or_else(|error| panic!("{case}: {error}"));
        assert_eq!(certificate.der(), expected.as_slice(), "{case}");
    }
}

#[test]
fn input_that_is_not_pem_or_base64_is_rejected_as_encoding() {
    let body = base64_body(ROOT_CA);
    assert!(body.ends_with("=="), "fixture DER length is not a multiple of 3");
    assert!(
        body.contains(['+', '/']),
        "fixture base64 uses the characters the URL-safe alphabet replaces"
    );
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("only whitespace", " \n\t\r\n ".to_owned()),
        ("prose", "not a certificate!".to_owned()),
        (
            "base64 without its padding",
            body.trim_end_matches('=').to_owned(),
        ),
        ("url-safe alphabet", body.replace('+', "-").replace('/', "_")),
        ("hex instead of base64", hex::encode(der_of(ROOT_CA)) + "!"),
        (
            "pem with another label",
            format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n"),
        ),
        (
            "pem with a lowercase label",
            format!("-----BEGIN certificate-----\n{body}\n-----END certificate-----\n"),
        ),
        (
            "pem with a mismatched END label",
            format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END X509 CRL-----\n"),
        ),
        (
            "pem without END line",
            format!("-----BEGIN CERTIFICATE-----\n{body}\n"),
        ),
        (
            "pem with encapsulated headers",
            format!(
                "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\n{body}\n-----END CERTIFICATE-----\n"
            ),
        ),
        (
            "pem with non-base64 body",
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n".to_owned(),
        ),
        (
            "empty pem block",
            "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n".to_owned(),
        ),
        (
            "text before the pem block",
            format!("Subject: Scepter Test Root CA\n{ROOT_CA}"),
        ),
    ];
    for (case, input) in cases {
        assert_eq!(
            CaCertificate::parse(&input),
            Err(CertificateError::Encoding),
            "{case}"
        );
    }
}

#[test]
fn bytes_that_are_not_a_der_certificate_are_rejected_as_malformed() {
    let der = der_of(ROOT_CA);
    let mut ber_long_length = vec![0x30, 0x83, 0x00];
    ber_long_length.extend_from_slice(&der[2..]);
    let mut wrong_outer_tag = der.clone();
    wrong_outer_tag[0] = 0x31;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated by ten bytes", der[..der.len() - 10].to_vec()),
        ("truncated to half", der[..der.len() / 2].to_vec()),
        ("only the outer header", der[..4].to_vec()),
        ("empty", Vec::new()),
        ("text", b"hello".to_vec()),
        // A BER length in non-minimal form: valid BER, not DER.
        ("non-canonical length", ber_long_length),
        ("SET instead of SEQUENCE", wrong_outer_tag),
    ];
    for (case, bytes) in cases {
        match CaCertificate::from_der(&bytes) {
            Err(CertificateError::Malformed(message)) => assert!(!message.is_empty(), "{case}"),
            other => panic!("{case}: expected Malformed, got {other:?}"),
        }
    }
}

#[test]
fn truncated_der_sent_as_base64_is_rejected_as_malformed() {
    let der = der_of(ROOT_CA);
    let truncated = STANDARD.encode(&der[..der.len() - 10]);
    assert!(matches!(
        CaCertificate::parse(&truncated),
        Err(CertificateError::Malformed(_))
    ));
}

#[test]
fn der_followed_by_more_bytes_is_rejected_as_trailing_data() {
    let der = der_of(ROOT_CA);
    for extra in [&[0x00][..], &[0x05, 0x00], b"trailing"] {
        let mut bytes = der.clone();
        bytes.extend_from_slice(extra);
        assert_eq!(
            CaCertificate::from_der(&bytes),
            Err(CertificateError::TrailingData),
            "{extra:?}"
        );
        assert_eq!(
            CaCertificate::parse(&STANDARD.encode(&bytes)),
            Err(CertificateError::TrailingData),
            "base64 of {extra:?}"
        );
    }
    let mut two_certificates = der.clone();
    two_certificates.extend_from_slice(&der_of(INTERMEDIATE_CA));
    assert_eq!(
        CaCertificate::from_der(&two_certificates),
        Err(CertificateError::TrailingData)
    );
}

#[test]
fn pem_followed_by_anything_but_whitespace_is_rejected_as_trailing_data() {
    let cases: Vec<(&str, String)> = vec![
        (
            "a second certificate block",
            format!("{ROOT_CA}{INTERMEDIATE_CA}"),
        ),
        (
            "a chain in the other order",
            format!("{INTERMEDIATE_CA}\n{ROOT_CA}"),
        ),
        (
            "a private key block",
            format!("{ROOT_CA}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        ),
        ("text", format!("{ROOT_CA}issued by the lab CA\n")),
        ("a single character", format!("{}x", ROOT_CA.trim_end())),
    ];
    for (case, input) in cases {
        assert_eq!(
            CaCertificate::parse(&input),
            Err(CertificateError::TrailingData),
            "{case}"
        );
    }
}

#[test]
fn certificates_that_are_not_usable_as_ca_are_rejected() {
    let cases = [
        ("leaf with CA:FALSE", LEAF, CertificateError::NotCa),
        (
            "v1 certificate without extensions",
            V1_NO_EXTENSIONS,
            CertificateError::NotCa,
        ),
        (
            "CA whose keyUsage lacks keyCertSign",
            CA_WITHOUT_KEY_CERT_SIGN,
            CertificateError::CannotSignCertificates,
        ),
    ];
    for (case, pem, expected) in cases {
        assert_eq!(CaCertificate::parse(pem), Err(expected.clone()), "{case} as PEM");
        assert_eq!(
            CaCertificate::from_der(&der_of(pem)),
            Err(expected),
            "{case} as DER"
        );
    }
}

#[test]
fn ca_without_key_usage_extension_is_accepted() {
    let certificate = CaCertificate::parse(CA_WITHOUT_KEY_USAGE).expect("no keyUsage means no restriction");
    assert_eq!(
        certificate.details().subject,
        "CN=Scepter Test CA Without keyUsage,O=Scepter Tests"
    );
}

#[test]
fn self_signed_requires_equal_names_and_matching_key_identifiers() {
    let cases = [
        ("root CA", ROOT_CA, true),
        ("expired root CA", EXPIRED_ROOT_CA, true),
        ("CA without keyUsage", CA_WITHOUT_KEY_USAGE, true),
        ("intermediate CA", INTERMEDIATE_CA, false),
        (
            "same name as its issuer but another key",
            SAME_NAME_OTHER_KEY_CA,
            false,
        ),
    ];
    for (case, pem, expected) in cases {
        let certificate = CaCertificate::parse(pem).unwrap_or_else(|error| panic!("{case}: {error}"));
        assert_eq!(certificate.is_self_signed(), expected, "{case}");
    }
}

#[test]
fn valid_self_signed_root_has_no_warnings() {
    let certificate = CaCertificate::parse(ROOT_CA).unwrap();
    assert_eq!(certificate.warnings(in_validity()), Vec::<String>::new());
}

#[test]
fn intermediate_warns_that_devices_also_need_its_root() {
    let certificate = CaCertificate::parse(INTERMEDIATE_CA).unwrap();
    assert_eq!(
        certificate.warnings(in_validity()),
        vec![format!(
            "certificate is not self-signed (issuer: {ROOT_SUBJECT}): devices also need its root to trust it"
        )]
    );
}

#[test]
fn same_name_ca_signed_by_another_key_warns_it_is_not_self_signed() {
    let certificate = CaCertificate::parse(SAME_NAME_OTHER_KEY_CA).unwrap();
    let warnings = certificate.warnings(in_validity());
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with("certificate is not self-signed"),
        "{warnings:?}"
    );
}

#[test]
fn warnings_depend_on_now_relative_to_the_validity_period() {
    // expired-root-ca.pem is valid from 2020-01-01T00:00:00Z to 2021-01-01T00:00:00Z.
    let certificate = CaCertificate::parse(EXPIRED_ROOT_CA).unwrap();
    let expired = vec!["certificate expired on 2021-01-01T00:00:00Z".to_owned()];
    let not_yet_valid = vec!["certificate is not valid until 2020-01-01T00:00:00Z".to_owned()];
    let cases = [
        ("long after notAfter", "2026-11-25T12:00:00Z", expired.clone()),
        ("one second after notAfter", "2021-01-01T00:00:01Z", expired),
        ("exactly at notAfter", "2021-01-01T00:00:00Z", vec![]),
        ("within the validity", "2020-06-15T08:30:00Z", vec![]),
        ("exactly at notBefore", "2020-01-01T00:00:00Z", vec![]),
        (
            "one second before notBefore",
            "2019-12-31T23:59:59Z",
            not_yet_valid.clone(),
        ),
        ("long before notBefore", "2000-01-01T00:00:00Z", not_yet_valid),
    ];
    for (case, now, expected) in cases {
        assert_eq!(certificate.warnings(utc(now)), expected, "{case}");
    }
}

#[test]
fn expired_intermediate_gets_both_warnings() {
    let certificate = CaCertificate::parse(INTERMEDIATE_CA).unwrap();
    let warnings = certificate.warnings(utc("2200-01-01T00:00:00Z"));
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(warnings[0], "certificate expired on 2125-06-19T12:35:38Z");
    assert!(warnings[1].starts_with("certificate is not self-signed"));
}

#[test]
fn to_base64_is_one_line_and_round_trips_through_from_der() {
    for pem in [ROOT_CA, INTERMEDIATE_CA, EXPIRED_ROOT_CA, CA_WITHOUT_KEY_USAGE] {
        let certificate = CaCertificate::parse(pem).unwrap();
        let encoded = certificate.to_base64();

        assert_eq!(encoded, base64_body(pem));
        assert!(!encoded.contains(['\n', '\r', ' ']));
        let decoded = STANDARD.decode(&encoded).unwrap();
        assert_eq!(CaCertificate::from_der(&decoded), Ok(certificate.clone()));
        assert_eq!(CaCertificate::parse(&encoded), Ok(certificate));
    }
}

#[test]
fn error_rules_are_stable_codes() {
    let cases = [
        (CertificateError::Encoding, "certificateEncoding"),
        (CertificateError::Malformed("x".to_owned()), "x509"),
        (CertificateError::TrailingData, "trailingData"),
        (CertificateError::NotCa, "caCertificate"),
        (CertificateError::CannotSignCertificates, "keyCertSign"),
    ];
    for (error, rule) in cases {
        assert_eq!(error.rule(), rule, "{error:?}");
    }
}

#[test]
fn details_serialise_in_camel_case() {
    let certificate = CaCertificate::parse(ROOT_CA).unwrap();
    let json = serde_json::to_value(certificate.details()).unwrap();
    assert_eq!(json["serialNumber"], "5C3E7A10");
    assert_eq!(json["notBefore"], "2026-11-25T12:35:38Z");
    assert_eq!(json["notAfter"], "2126-11-01T12:35:38Z");
    assert_eq!(json["thumbprintSha1"], "F4BF1446572532247C20B94FB6D57E638735DE06");
    assert_eq!(json["subject"], ROOT_SUBJECT);
}

#[test]
fn certificates_stored_back_to_back_read_back_in_order() {
    let root = CaCertificate::parse(include_str!("../../tests/fixtures/root-ca.pem")).unwrap();
    let intermediate =
        CaCertificate::parse(include_str!("../../tests/fixtures/intermediate-ca.pem")).unwrap();
    let joined = [root.der(), intermediate.der()].concat();
    assert_eq!(
        CaCertificate::from_concatenated_der(&joined).unwrap(),
        [root.clone(), intermediate]
    );
    assert_eq!(CaCertificate::from_concatenated_der(&[]).unwrap(), []);
    assert!(CaCertificate::from_concatenated_der(&joined[..joined.len() - 1]).is_err());
}
