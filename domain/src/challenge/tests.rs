//! Round trips, every way a token can be refused, the token's alphabet and
//! length, and that the name digest cannot confuse two different names.

use proptest::prelude::*;
use uuid::Uuid;

use super::{
    issue, name_digest, verify, ChallengeClaims, ChallengeError, ChallengeKey, ChallengeKeyError,
    DEFAULT_LIFETIME_SECONDS,
};
use crate::{
    diagnostics::{DiagnosticCode, EventId},
    scep_profile::SanType,
    subject_name::{AttributeValue, ExpandedName, ExpandedSan, NameAttribute, Rdn, Subject},
};
use base64::{engine::general_purpose::STANDARD, Engine as _};

const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn key() -> ChallengeKey {
    ChallengeKey::new(&[7; 32]).unwrap()
}

fn name() -> ExpandedName {
    ExpandedName {
        subject: Subject(vec![Rdn(vec![AttributeValue {
            attribute: NameAttribute::CommonName,
            value: "alice@contoso.com".to_owned(),
        }])]),
        subject_alternative_names: vec![ExpandedSan {
            san_type: SanType::UserPrincipalName,
            value: "alice@contoso.com".to_owned(),
        }],
    }
}

fn claims() -> ChallengeClaims {
    ChallengeClaims {
        id: Uuid::from_u128(0x4a6f_0c2e_1b3d_4e5f_8a9b_0c1d_2e3f_4a5b),
        device_id: Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_0000_0000_0d01),
        profile_id: Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_0000_0000_0f01),
        profile_version: 3,
        name_digest: name_digest(&name()),
        issued_at: NOW,
        expires_at: NOW + DEFAULT_LIFETIME_SECONDS,
    }
}

fn rdn(attribute: NameAttribute, value: &str) -> Rdn {
    Rdn(vec![AttributeValue {
        attribute,
        value: value.to_owned(),
    }])
}

fn is_standard_base64(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    token.len() - body.len() <= 2
        && !body.is_empty()
        && body
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'+' || byte == b'/')
}

#[test]
fn an_issued_challenge_verifies_to_its_claims() {
    let token = issue(&key(), &claims());
    assert_eq!(verify(&key(), &token, NOW), Ok(claims()));
}

#[test]
fn a_challenge_is_valid_up_to_and_including_its_expiry_second() {
    let token = issue(&key(), &claims());
    assert_eq!(
        verify(&key(), &token, NOW + DEFAULT_LIFETIME_SECONDS),
        Ok(claims())
    );
}

#[test]
fn a_challenge_past_its_expiry_is_refused_as_expired() {
    let token = issue(&key(), &claims());
    assert_eq!(
        verify(&key(), &token, NOW + DEFAULT_LIFETIME_SECONDS + 1),
        Err(ChallengeError::Expired)
    );
}

#[test]
fn a_challenge_signed_with_another_key_is_refused_as_bad_signature() {
    let token = issue(&ChallengeKey::new(&[8; 32]).unwrap(), &claims());
    assert_eq!(verify(&key(), &token, NOW), Err(ChallengeError::BadSignature));
}

#[test]
fn changing_any_byte_of_a_token_is_refused() {
    let bytes = STANDARD.decode(issue(&key(), &claims())).unwrap();
    for index in 0..bytes.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut tampered = bytes.clone();
            tampered[index] ^= flip;
            let result = verify(&key(), &STANDARD.encode(&tampered), NOW);
            assert!(
                matches!(
                    result,
                    Err(ChallengeError::BadSignature | ChallengeError::Malformed)
                ),
                "byte {index} ^ {flip:#04x}: {result:?}"
            );
        }
    }
}

#[test]
fn changing_any_character_of_a_token_is_refused() {
    let token = issue(&key(), &claims());
    for index in 0..token.len() {
        for replacement in ['A', 'z', '+', '/', '='] {
            let mut tampered = token.clone().into_bytes();
            if tampered[index] == replacement as u8 {
                continue;
            }
            tampered[index] = replacement as u8;
            let tampered = String::from_utf8(tampered).unwrap();
            assert!(verify(&key(), &tampered, NOW).is_err(), "{tampered}");
        }
    }
}

#[test]
fn truncated_or_extended_tokens_are_refused() {
    let bytes = STANDARD.decode(issue(&key(), &claims())).unwrap();
    for len in 0..bytes.len() {
        assert!(
            verify(&key(), &STANDARD.encode(&bytes[..len]), NOW).is_err(),
            "first {len} bytes"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(verify(&key(), &STANDARD.encode(&longer), NOW).is_err());
}

#[test]
fn unreadable_input_is_refused_as_malformed() {
    let token = issue(&key(), &claims());
    let url_safe = token.replace('+', "-").replace('/', "_");
    let padded = issue(
        &key(),
        &ChallengeClaims {
            profile_version: 200,
            ..claims()
        },
    );
    assert!(padded.ends_with('='), "{padded}");
    let cases = [
        ("empty", String::new()),
        ("garbage", "not a challenge".to_owned()),
        ("base64 of text", STANDARD.encode("hello")),
        ("url-safe alphabet", format!("-_{}", &token[2..])),
        ("whitespace", format!(" {token}")),
        ("newline", format!("{}\n{}", &token[..40], &token[40..])),
        ("padding removed", padded.trim_end_matches('=').to_owned()),
        (
            "length not a multiple of four",
            token[..token.len() - 1].to_owned(),
        ),
        ("huge", "A".repeat(100_000)),
        ("unknown version", {
            let mut bytes = STANDARD.decode(&token).unwrap();
            bytes[0] = 2;
            STANDARD.encode(bytes)
        }),
    ];
    for (label, input) in cases {
        assert_eq!(
            verify(&key(), &input, NOW),
            Err(ChallengeError::Malformed),
            "{label}"
        );
    }
    if url_safe != token {
        assert_eq!(verify(&key(), &url_safe, NOW), Err(ChallengeError::Malformed));
    }
}

#[test]
fn a_token_uses_only_the_standard_base64_alphabet_and_stays_short() {
    let token = issue(&key(), &claims());
    assert!(is_standard_base64(&token), "{token}");
    assert_eq!(token.len(), 144, "{token}");
}

#[test]
fn the_token_format_is_stable() {
    // Pinned (and checked once against Python's hmac/hashlib) so a change to the encoding, which would invalidate every outstanding challenge, is deliberate.
    assert_eq!(issue(&key(), &claims()), PINNED_TOKEN);
}

const PINNED_TOKEN: &str = "AUpvDC4bPU5fipsMHS4/SlsBk00ufBp7Pp8AAAAAAA0BAZNNLnwaez6fAAAAAAAPAQBmaS6bbofWH0VFpElm2UIjt0siaohJY7Mr3f2i5l9xAAAAAGlVuQAGoDjwK8ukyaMB/84EZHoN8j6/";

#[test]
fn the_name_digest_is_stable() {
    assert_eq!(hex::encode(name_digest(&name())), PINNED_DIGEST);
}

const PINNED_DIGEST: &str = "0066692e9b6e87d61f4545a44966d94223b74b226a884963b32bddfda2e65f71";

#[test]
fn short_keys_are_refused_and_keys_never_print() {
    assert_eq!(
        ChallengeKey::new(&[1; 31]).unwrap_err(),
        ChallengeKeyError::TooShort(31)
    );
    let printed = format!("{:?}", ChallengeKey::new(&[0xab; 32]).unwrap());
    assert_eq!(printed, "ChallengeKey(<redacted>)");
}

#[test]
fn refusals_map_to_the_seed_codes_and_events() {
    let table = [
        (ChallengeError::Malformed, "0x00000410", 20502),
        (ChallengeError::BadSignature, "0x00000410", 20502),
        (ChallengeError::Expired, "0x00000411", 20501),
    ];
    for (error, code, event) in table {
        assert_eq!(error.diagnostic_code().hex(), code, "{error:?}");
        assert_eq!(error.event_id().id(), event, "{error:?}");
        assert!(
            error
                .event_id()
                .related_codes()
                .contains(&error.diagnostic_code()),
            "{error:?}"
        );
    }
    assert_eq!(
        ChallengeError::Expired.diagnostic_code(),
        DiagnosticCode::CrpScepChallengeExpired
    );
    assert_eq!(
        ChallengeError::Malformed.event_id(),
        EventId::CrpVerifyMetricFailure
    );
}

#[test]
fn names_differing_only_in_where_a_comma_sits_have_different_digests() {
    let pairs = [
        (
            // "CN=a,CN=b" printed naively either way.
            vec![rdn(NameAttribute::CommonName, "a,CN=b")],
            vec![
                rdn(NameAttribute::CommonName, "a"),
                rdn(NameAttribute::CommonName, "b"),
            ],
        ),
        (
            vec![
                rdn(NameAttribute::CommonName, "a,b"),
                rdn(NameAttribute::OrganizationalUnit, "c"),
            ],
            vec![
                rdn(NameAttribute::CommonName, "a"),
                rdn(NameAttribute::OrganizationalUnit, "b,c"),
            ],
        ),
        (
            // One multi-valued RDN versus two RDNs with the same attributes.
            vec![Rdn(vec![
                AttributeValue {
                    attribute: NameAttribute::CommonName,
                    value: "a".to_owned(),
                },
                AttributeValue {
                    attribute: NameAttribute::OrganizationalUnit,
                    value: "b".to_owned(),
                },
            ])],
            vec![
                rdn(NameAttribute::CommonName, "a"),
                rdn(NameAttribute::OrganizationalUnit, "b"),
            ],
        ),
    ];
    for (left, right) in pairs {
        let left = ExpandedName {
            subject: Subject(left),
            subject_alternative_names: vec![],
        };
        let right = ExpandedName {
            subject: Subject(right),
            subject_alternative_names: vec![],
        };
        assert_ne!(name_digest(&left), name_digest(&right), "{left:?} vs {right:?}");
    }
}

#[test]
fn attributes_of_a_multi_valued_rdn_are_a_set_but_rdn_order_counts() {
    let attribute = |attribute, value: &str| AttributeValue {
        attribute,
        value: value.to_owned(),
    };
    let subject = |rdns| ExpandedName {
        subject: Subject(rdns),
        subject_alternative_names: vec![],
    };
    // DER sorts a SET OF, so encoders may reorder a multi-valued RDN.
    let as_written = subject(vec![Rdn(vec![
        attribute(NameAttribute::OrganizationalUnit, "b"),
        attribute(NameAttribute::CommonName, "a"),
    ])]);
    let as_encoded = subject(vec![Rdn(vec![
        attribute(NameAttribute::CommonName, "a"),
        attribute(NameAttribute::OrganizationalUnit, "b"),
    ])]);
    assert_eq!(name_digest(&as_written), name_digest(&as_encoded));
    let forward = subject(vec![
        rdn(NameAttribute::CommonName, "a"),
        rdn(NameAttribute::OrganizationalUnit, "b"),
    ]);
    let backward = subject(vec![
        rdn(NameAttribute::OrganizationalUnit, "b"),
        rdn(NameAttribute::CommonName, "a"),
    ]);
    assert_ne!(name_digest(&forward), name_digest(&backward));
}

#[test]
/// SAN kinds and values count; their order does not (Apple keeps SANs in a
/// dictionary by kind, so a device cannot reproduce the profile's order).
fn san_type_counts_but_san_order_does_not() {
    let san = |san_type, value: &str| ExpandedSan {
        san_type,
        value: value.to_owned(),
    };
    let with_sans = |sans| ExpandedName {
        subject: Subject::default(),
        subject_alternative_names: sans,
    };
    let upn = with_sans(vec![san(SanType::UserPrincipalName, "a@b")]);
    let email = with_sans(vec![san(SanType::EmailAddress, "a@b")]);
    let forward = with_sans(vec![
        san(SanType::DomainNameService, "a"),
        san(SanType::DomainNameService, "b"),
    ]);
    let backward = with_sans(vec![
        san(SanType::DomainNameService, "b"),
        san(SanType::DomainNameService, "a"),
    ]);
    assert_ne!(name_digest(&upn), name_digest(&email));
    assert_eq!(name_digest(&forward), name_digest(&backward));
    let fewer = with_sans(vec![san(SanType::DomainNameService, "a")]);
    assert_ne!(name_digest(&forward), name_digest(&fewer));
    assert_eq!(name_digest(&name()), name_digest(&name()));
}

fn arb_attribute() -> impl Strategy<Value = AttributeValue> {
    (
        prop::sample::select(vec![NameAttribute::CommonName, NameAttribute::OrganizationalUnit]),
        "[a,=+]{0,3}",
    )
        .prop_map(|(attribute, value)| AttributeValue { attribute, value })
}

fn arb_name() -> impl Strategy<Value = ExpandedName> {
    let rdns = prop::collection::vec(prop::collection::vec(arb_attribute(), 0..3).prop_map(Rdn), 0..3);
    let sans = prop::collection::vec(
        (
            prop::sample::select(vec![SanType::EmailAddress, SanType::DomainNameService]),
            "[a,]{0,2}",
        )
            .prop_map(|(san_type, value)| ExpandedSan { san_type, value }),
        0..2,
    );
    (rdns, sans).prop_map(|(rdns, sans)| ExpandedName {
        subject: Subject(rdns),
        subject_alternative_names: sans,
    })
}

fn arb_claims() -> impl Strategy<Value = ChallengeClaims> {
    (
        any::<u128>(),
        any::<u128>(),
        any::<u128>(),
        any::<i64>(),
        any::<[u8; 32]>(),
        any::<i64>(),
        any::<i64>(),
    )
        .prop_map(
            |(id, device, profile, profile_version, name_digest, issued_at, expires_at)| ChallengeClaims {
                id: Uuid::from_u128(id),
                device_id: Uuid::from_u128(device),
                profile_id: Uuid::from_u128(profile),
                profile_version,
                name_digest,
                issued_at,
                expires_at,
            },
        )
}

proptest! {
    #[test]
    fn random_bytes_never_panic_verify(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = verify(&key(), &STANDARD.encode(&bytes), NOW);
        let _ = verify(&key(), &String::from_utf8_lossy(&bytes), NOW);
    }

    #[test]
    fn random_strings_never_verify(text in "\\PC{0,200}") {
        prop_assert!(verify(&key(), &text, NOW).is_err());
    }

    #[test]
    fn any_claims_round_trip(claims in arb_claims()) {
        let token = issue(&key(), &claims);
        prop_assert!(is_standard_base64(&token), "{}", token);
        prop_assert!(token.len() <= super::MAX_TOKEN_CHARS);
        prop_assert_eq!(verify(&key(), &token, i64::MIN), Ok(claims));
    }

    #[test]
    fn different_names_have_different_digests(left in arb_name(), right in arb_name()) {
        prop_assert_eq!(left == right, name_digest(&left) == name_digest(&right));
    }
}
