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
    /// The issuing (intermediate) CAs under this root that may sign devices'
    /// certificates, each one PEM block or base64 DER, each chaining to the
    /// root (directly or through another listed one); at most 10. A
    /// notified certificate must be issued by the root or by one of them.
    /// Not installed on devices.
    #[serde(default)]
    pub issuing_certificates: Option<Vec<String>>,
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
    /// Issuing CAs that chain to `certificate`, in the order given.
    pub issuing_certificates: Vec<CaCertificate>,
}

/// The most issuing CAs one root profile lists.
pub const MAX_ISSUING_CERTIFICATES: usize = 10;

impl TrustedCertificateProfile {
    pub fn parse(draft: TrustedCertificateProfileDraft) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let display_name = errors.collect(DisplayName::parse("displayName", draft.display_name));
        let description = errors.collect(Description::parse("description", draft.description));
        let cert_file_name = match draft.cert_file_name {
            Some(name) => errors
                .collect(CertFileName::parse("certFileName", name))
                .map(Some),
            None => Some(None),
        };
        let certificate = match CaCertificate::parse(&draft.trusted_root_certificate) {
            Ok(certificate) => Some(certificate),
            Err(error) => {
                errors.push(
                    "trustedRootCertificate",
                    error.rule(),
                    format!("certificate {error}"),
                );
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
        let issuing_certificates = certificate.as_ref().and_then(|root| {
            parse_issuing_certificates(root, draft.issuing_certificates.unwrap_or_default(), &mut errors)
        });
        errors.finish(|| {
            Some(Self {
                display_name: display_name?,
                description: description?,
                platform: draft.platform,
                cert_file_name: cert_file_name?,
                certificate: certificate?,
                destination_store: destination_store?,
                issuing_certificates: issuing_certificates?,
            })
        })
    }

    pub fn warnings(&self, now: DateTime<Utc>) -> Vec<String> {
        self.certificate.warnings(now)
    }

    /// Whether the certificate `der` was issued by the root or by one of its
    /// registered issuing CAs: the only certificates Scepter files in its
    /// ledger for profiles under this root.
    pub fn issued(&self, der: &[u8]) -> bool {
        self.certificate.issued(der) || self.issuing_certificates.iter().any(|ca| ca.issued(der))
    }
}

/// Each issuing CA must parse as a CA certificate and chain to `root`,
/// directly or through another listed one (in any order).
fn parse_issuing_certificates(
    root: &CaCertificate,
    texts: Vec<String>,
    errors: &mut ValidationErrors,
) -> Option<Vec<CaCertificate>> {
    const FIELD: &str = "issuingCertificates";
    if texts.len() > MAX_ISSUING_CERTIFICATES {
        errors.push(
            FIELD,
            "maxItems",
            format!("at most {MAX_ISSUING_CERTIFICATES} issuing CAs"),
        );
        return None;
    }
    let before = errors.errors().len();
    let mut parsed = Vec::with_capacity(texts.len());
    for (index, text) in texts.iter().enumerate() {
        match CaCertificate::parse(text) {
            Ok(certificate) => parsed.push(Some(certificate)),
            Err(error) => {
                errors.push(
                    format!("{FIELD}[{index}]"),
                    error.rule(),
                    format!("certificate {error}"),
                );
                parsed.push(None);
            }
        }
    }
    // Move CAs from `pending` to `chained` while one of the chained CAs issued them.
    let mut chained = vec![root];
    let mut pending: Vec<(usize, &CaCertificate)> = parsed
        .iter()
        .enumerate()
        .filter_map(|(index, certificate)| certificate.as_ref().map(|certificate| (index, certificate)))
        .collect();
    loop {
        let waiting = pending.len();
        pending.retain(|(_, candidate)| {
            let issued = chained.iter().any(|issuer| issuer.issued(candidate.der()));
            if issued {
                chained.push(candidate);
            }
            !issued
        });
        if pending.len() == waiting {
            break;
        }
    }
    for (index, _) in pending {
        errors.push(
            format!("{FIELD}[{index}]"),
            "chainsToRoot",
            "is not issued by the root certificate or by another listed issuing CA",
        );
    }
    (errors.errors().len() == before).then(|| parsed.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::{DestinationStore, TrustedCertificateProfile, TrustedCertificateProfileDraft};
    use crate::{platform::Platform, validation::ValidationErrors};

    const ROOT_CA: &str = include_str!("../tests/fixtures/root-ca.pem");
    const INTERMEDIATE_CA: &str = include_str!("../tests/fixtures/intermediate-ca.pem");
    const LEAF: &str = include_str!("../tests/fixtures/leaf.pem");
    const CA_WITHOUT_KEY_CERT_SIGN: &str = include_str!("../tests/fixtures/ca-without-keycertsign.pem");
    const EXPIRED_ROOT_CA: &str = include_str!("../tests/fixtures/expired-root-ca.pem");

    fn draft(platform: Platform) -> TrustedCertificateProfileDraft {
        TrustedCertificateProfileDraft {
            display_name: "Contoso Root CA".to_owned(),
            description: None,
            platform,
            cert_file_name: None,
            trusted_root_certificate: ROOT_CA.to_owned(),
            destination_store: None,
            issuing_certificates: None,
        }
    }

    fn field_rules(errors: &ValidationErrors) -> Vec<(&str, &'static str)> {
        errors
            .errors()
            .iter()
            .map(|error| (error.field.as_str(), error.rule))
            .collect()
    }

    fn single_error(draft: TrustedCertificateProfileDraft) -> (String, &'static str) {
        let errors = TrustedCertificateProfile::parse(draft).expect_err("draft must be rejected");
        match errors.errors() {
            [error] => (error.field.clone(), error.rule),
            other => panic!("expected exactly one error, got {other:?}"),
        }
    }

    #[test]
    fn valid_draft_with_pem_root_is_accepted_end_to_end() {
        let mut draft = draft(Platform::Ios);
        draft.description = Some("Trusted by every managed iPhone".to_owned());
        draft.cert_file_name = Some("contoso-root.cer".to_owned());

        let profile = TrustedCertificateProfile::parse(draft).expect("valid draft");

        assert_eq!(profile.display_name.as_str(), "Contoso Root CA");
        assert_eq!(profile.description.as_str(), "Trusted by every managed iPhone");
        assert_eq!(profile.platform, Platform::Ios);
        assert_eq!(
            profile.cert_file_name.as_ref().map(|name| name.as_str()),
            Some("contoso-root.cer")
        );
        assert_eq!(profile.destination_store, None);
        let details = profile.certificate.details();
        assert_eq!(details.subject, "CN=Scepter Test Root CA,O=Scepter Tests,C=NL");
        assert_eq!(
            details.thumbprint_sha1,
            "F4BF1446572532247C20B94FB6D57E638735DE06"
        );
        assert!(profile.certificate.is_self_signed());
    }

    #[test]
    fn optional_fields_default_to_empty_description_and_no_file_name() {
        let profile = TrustedCertificateProfile::parse(draft(Platform::Android)).unwrap();
        assert_eq!(profile.description.as_str(), "");
        assert_eq!(profile.cert_file_name, None);
    }

    #[test]
    fn base64_der_root_is_accepted() {
        let pem_profile = TrustedCertificateProfile::parse(draft(Platform::Android)).unwrap();
        let mut draft = draft(Platform::Android);
        draft.trusted_root_certificate = pem_profile.certificate.to_base64();
        let profile = TrustedCertificateProfile::parse(draft).unwrap();
        assert_eq!(profile.certificate, pem_profile.certificate);
    }

    #[test]
    fn destination_store_defaults_to_computer_root_on_every_windows_platform() {
        for platform in [Platform::Windows10, Platform::Windows81, Platform::WindowsPhone81] {
            let profile = TrustedCertificateProfile::parse(draft(platform)).unwrap();
            assert_eq!(
                profile.destination_store,
                Some(DestinationStore::ComputerCertStoreRoot),
                "{platform}"
            );
        }
    }

    #[test]
    fn destination_store_chosen_on_windows_is_kept() {
        for store in [
            DestinationStore::ComputerCertStoreRoot,
            DestinationStore::ComputerCertStoreIntermediate,
            DestinationStore::UserCertStoreIntermediate,
        ] {
            let mut draft = draft(Platform::Windows10);
            draft.destination_store = Some(store);
            let profile = TrustedCertificateProfile::parse(draft).unwrap();
            assert_eq!(profile.destination_store, Some(store));
        }
    }

    #[test]
    fn destination_store_is_rejected_outside_windows() {
        for platform in [Platform::Android, Platform::Ios, Platform::Macos] {
            let mut draft = draft(platform);
            draft.destination_store = Some(DestinationStore::ComputerCertStoreRoot);
            assert_eq!(
                single_error(draft),
                ("destinationStore".to_owned(), "windowsOnly"),
                "{platform}"
            );
        }
    }

    #[test]
    fn destination_store_is_absent_outside_windows_when_not_set() {
        for platform in [Platform::Android, Platform::Ios, Platform::Macos] {
            assert_eq!(
                TrustedCertificateProfile::parse(draft(platform))
                    .unwrap()
                    .destination_store,
                None
            );
        }
    }

    #[test]
    fn display_name_rules_apply() {
        let cases = [
            ("blank", "  ".to_owned(), Some("required")),
            ("201 characters", "n".repeat(201), Some("maxLength")),
            (
                "control character",
                "Root\u{7}".to_owned(),
                Some("noControlCharacters"),
            ),
            ("200 characters", "n".repeat(200), None),
        ];
        for (case, value, rule) in cases {
            let mut draft = draft(Platform::Android);
            draft.display_name = value;
            match rule {
                Some(rule) => assert_eq!(single_error(draft), ("displayName".to_owned(), rule), "{case}"),
                None => assert!(TrustedCertificateProfile::parse(draft).is_ok(), "{case}"),
            }
        }
    }

    #[test]
    fn description_longer_than_1500_characters_is_rejected() {
        let mut draft = draft(Platform::Android);
        draft.description = Some("d".repeat(1501));
        assert_eq!(single_error(draft), ("description".to_owned(), "maxLength"));
    }

    #[test]
    fn cert_file_name_must_be_a_plain_file_name() {
        let cases = [
            ("slash", "certs/root.cer", "fileName"),
            ("backslash", "certs\\root.cer", "fileName"),
            ("dot dot", "..", "fileName"),
            ("blank", " ", "required"),
        ];
        for (case, value, rule) in cases {
            let mut draft = draft(Platform::Macos);
            draft.cert_file_name = Some(value.to_owned());
            assert_eq!(single_error(draft), ("certFileName".to_owned(), rule), "{case}");
        }
    }

    #[test]
    fn unusable_certificates_are_reported_on_trusted_root_certificate_with_their_rule() {
        let cases = [
            ("garbage", "not a certificate".to_owned(), "certificateEncoding"),
            ("base64 of non-DER bytes", "aGVsbG8=".to_owned(), "x509"),
            ("leaf", LEAF.to_owned(), "caCertificate"),
            (
                "no keyCertSign",
                CA_WITHOUT_KEY_CERT_SIGN.to_owned(),
                "keyCertSign",
            ),
            (
                "chain of two",
                format!("{INTERMEDIATE_CA}{ROOT_CA}"),
                "trailingData",
            ),
        ];
        for (case, certificate, rule) in cases {
            let mut draft = draft(Platform::Windows10);
            draft.trusted_root_certificate = certificate;
            let errors = TrustedCertificateProfile::parse(draft).expect_err(case);
            assert_eq!(field_rules(&errors), [("trustedRootCertificate", rule)], "{case}");
            assert!(errors.errors()[0].message.starts_with("certificate "), "{case}");
        }
    }

    #[test]
    fn all_errors_are_reported_at_once() {
        let draft = TrustedCertificateProfileDraft {
            display_name: String::new(),
            description: Some("d".repeat(1501)),
            platform: Platform::Ios,
            cert_file_name: Some("a/b".to_owned()),
            trusted_root_certificate: LEAF.to_owned(),
            destination_store: Some(DestinationStore::UserCertStoreIntermediate),
            issuing_certificates: None,
        };
        let errors = TrustedCertificateProfile::parse(draft).unwrap_err();
        assert_eq!(
            field_rules(&errors),
            [
                ("displayName", "required"),
                ("description", "maxLength"),
                ("certFileName", "fileName"),
                ("trustedRootCertificate", "caCertificate"),
                ("destinationStore", "windowsOnly"),
            ]
        );
    }

    #[test]
    fn warnings_come_from_the_certificate() {
        let now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let root = TrustedCertificateProfile::parse(draft(Platform::Windows10)).unwrap();
        assert!(root.warnings(now).is_empty());

        let mut intermediate = draft(Platform::Windows10);
        intermediate.trusted_root_certificate = INTERMEDIATE_CA.to_owned();
        intermediate.destination_store = Some(DestinationStore::ComputerCertStoreIntermediate);
        let warnings = TrustedCertificateProfile::parse(intermediate)
            .unwrap()
            .warnings(now);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("certificate is not self-signed"));

        let mut expired = draft(Platform::Android);
        expired.trusted_root_certificate = EXPIRED_ROOT_CA.to_owned();
        let warnings = TrustedCertificateProfile::parse(expired).unwrap().warnings(now);
        assert_eq!(warnings, ["certificate expired on 2021-01-01T00:00:00Z"]);
    }

    #[test]
    fn draft_deserialises_from_camel_case_json() {
        let json = serde_json::json!({
            "displayName": "Contoso Root CA",
            "platform": "windowsPhone81",
            "certFileName": "root.cer",
            "trustedRootCertificate": ROOT_CA,
            "destinationStore": "userCertStoreIntermediate",
        });
        let draft: TrustedCertificateProfileDraft = serde_json::from_value(json).unwrap();
        let profile = TrustedCertificateProfile::parse(draft).unwrap();
        assert_eq!(profile.platform, Platform::WindowsPhone81);
        assert_eq!(
            profile.destination_store,
            Some(DestinationStore::UserCertStoreIntermediate)
        );
        assert_eq!(profile.description.as_str(), "");
    }

    #[test]
    fn draft_rejects_unknown_fields() {
        let json = serde_json::json!({
            "displayName": "Contoso Root CA",
            "platform": "android",
            "trustedRootCertificate": ROOT_CA,
            "destinationstore": "computerCertStoreRoot",
        });
        assert!(serde_json::from_value::<TrustedCertificateProfileDraft>(json).is_err());
    }

    #[test]
    fn destination_store_names_match_serde() {
        for store in [
            DestinationStore::ComputerCertStoreRoot,
            DestinationStore::ComputerCertStoreIntermediate,
            DestinationStore::UserCertStoreIntermediate,
        ] {
            assert_eq!(serde_json::to_value(store).unwrap(), store.as_str());
        }
    }

    #[test]
    fn issuing_cas_must_chain_to_the_root_and_sign_what_is_notified() {
        let with_intermediate = TrustedCertificateProfileDraft {
            issuing_certificates: Some(vec![INTERMEDIATE_CA.to_owned()]),
            ..draft(Platform::Ios)
        };
        let profile = TrustedCertificateProfile::parse(with_intermediate).expect("the intermediate chains");
        assert_eq!(profile.issuing_certificates.len(), 1);
        let leaf_der = crate::certificate::decode_input(LEAF).unwrap();
        assert!(
            profile.issued(&leaf_der),
            "the leaf is signed by the registered intermediate"
        );
        let without = TrustedCertificateProfile::parse(draft(Platform::Ios)).unwrap();
        assert!(
            !without.issued(&leaf_der),
            "without the intermediate the leaf does not chain"
        );

        let unrelated_root = TrustedCertificateProfileDraft {
            trusted_root_certificate: EXPIRED_ROOT_CA.to_owned(),
            issuing_certificates: Some(vec![INTERMEDIATE_CA.to_owned(), LEAF.to_owned()]),
            ..draft(Platform::Ios)
        };
        let errors = TrustedCertificateProfile::parse(unrelated_root).unwrap_err();
        let rules: Vec<(&str, &str)> = errors
            .errors()
            .iter()
            .map(|e| (e.field.as_str(), e.rule))
            .collect();
        assert_eq!(
            rules,
            [
                ("issuingCertificates[1]", "caCertificate"),
                ("issuingCertificates[0]", "chainsToRoot")
            ]
        );
    }
}
