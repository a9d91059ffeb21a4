//! The Windows payloads: golden files (byte-compared, checked by the payload
//! validator, parsed back), each rule of a CSP node's value, the refusals, and
//! properties of the XML escaping. The subject string itself is
//! `subject_name::windows_subject_name`'s, tested there.
//!
//! Golden files live in `domain/tests/golden/windows/`; after an intended
//! change, rerun with `SCEPTER_UPDATE_GOLDEN=1`, and review the diff.

use std::{
    collections::{BTreeSet, HashSet},
    fs,
    path::PathBuf,
};

use base64::{engine::general_purpose::STANDARD, Engine};
use proptest::prelude::*;
use sha1::{Digest, Sha1};
use uuid::Uuid;

use super::{escape_text, render_scep, render_trusted, unique_id};
use crate::{
    platform::Platform,
    render::test_support,
    render::{
        urls_for_device, RenderError, Rendered, ScepPayloadInput, TrustedPayloadInput, TrustedProfileRef,
        SYNCML_CONTENT_TYPE,
    },
    scep_profile::{
        CertificateType, ExtendedKeyUsageDraft, HashAlgorithm, KeyStorageProvider, KeyUsage, SanType,
        ScepCertificateProfile, ScepCertificateProfileDraft, ScepProfileContext, SubjectNameFormat,
        ValidityScale,
    },
    subject_name::{
        windows_subject_name, AttributeValue, ExpandedName, ExpandedSan, NameAttribute, Rdn, Subject,
    },
    trusted_profile::{DestinationStore, TrustedCertificateProfile, TrustedCertificateProfileDraft},
};

const ROOT_CA: &str = include_str!("../../../tests/fixtures/root-ca.pem");
const INTERMEDIATE_CA: &str = include_str!("../../../tests/fixtures/intermediate-ca.pem");

const PROFILE_ID: Uuid = Uuid::from_u128(0x6f1c_2c4e_8a3b_4c5d_9e0f_1122_3344_5566);
const ROOT_ID: Uuid = Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_1234_5678_9abc);
/// Its `urls_for_device` order starts at the third URL, so the golden files show the rotation.
const DEVICE_ID: Uuid = Uuid::from_u128(0x3f25_04e0_4f89_41d3_9a0c_0305_e82c_3307);
/// base64 of `GOLDEN-CHALLENGE`: a challenge in the alphabet Scepter's
/// challenges use, which is also the form the CSP documents (a raw
/// `GOLDEN-CHALLENGE` is sent as is too, see `challenge_is_sent_as_is_not_base64_encoded`).
const GOLDEN_CHALLENGE: &str = "R09MREVOLUNIQUxMRU5HRQ==";
const NDES: [&str; 3] = [
    "https://ndes1.contoso.example/certsrv/mscep/mscep.dll",
    "https://ndes2.contoso.example/certsrv/mscep/mscep.dll",
    "https://ndes3.contoso.example/certsrv/mscep/mscep.dll",
];
const SYNCML_NS: &str = "SYNCML:SYNCML1.2";

// ---------------------------------------------------------------- inputs

fn trusted(pem: &str, store: DestinationStore) -> TrustedCertificateProfile {
    TrustedCertificateProfile::parse(TrustedCertificateProfileDraft {
        display_name: "Contoso Root CA".to_owned(),
        description: None,
        platform: Platform::Windows10,
        cert_file_name: None,
        trusted_root_certificate: pem.to_owned(),
        destination_store: Some(store),
        issuing_certificates: None,
    })
    .expect("valid trusted profile")
}

fn root() -> TrustedCertificateProfile {
    trusted(ROOT_CA, DestinationStore::ComputerCertStoreRoot)
}

/// A Windows 10 user certificate with every optional setting left out.
fn draft() -> ScepCertificateProfileDraft {
    ScepCertificateProfileDraft {
        display_name: "Contoso Wi-Fi".to_owned(),
        description: None,
        platform: Platform::Windows10,
        certificate_type: CertificateType::User,
        certificate_validity_period_value: None,
        certificate_validity_period_scale: None,
        key_storage_provider: None,
        subject_name_format: SubjectNameFormat::CommonName,
        subject_name_format_string: None,
        custom_subject_alternative_names: Vec::new(),
        key_usage: vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment],
        key_size: 2048,
        hash_algorithm: None,
        root_certificate_id: ROOT_ID,
        extended_key_usages: None,
        renewal_threshold_percentage: None,
        scep_server_urls: vec![NDES[0].to_owned()],
    }
}

fn profile(change: impl FnOnce(&mut ScepCertificateProfileDraft)) -> ScepCertificateProfile {
    let mut draft = draft();
    change(&mut draft);
    let context = ScepProfileContext {
        allow_http_scep_urls: false,
        root_platform: Some(draft.platform),
    };
    ScepCertificateProfile::parse(draft, &context).expect("valid SCEP profile")
}

fn subject(rdns: &[&[(NameAttribute, &str)]]) -> Subject {
    Subject(
        rdns.iter()
            .map(|rdn| {
                Rdn(rdn
                    .iter()
                    .map(|&(attribute, value)| AttributeValue {
                        attribute,
                        value: value.to_owned(),
                    })
                    .collect())
            })
            .collect(),
    )
}

fn san(san_type: SanType, value: &str) -> ExpandedSan {
    ExpandedSan {
        san_type,
        value: value.to_owned(),
    }
}

fn jane() -> ExpandedName {
    ExpandedName {
        subject: subject(&[&[(NameAttribute::CommonName, "jane")]]),
        subject_alternative_names: Vec::new(),
    }
}

/// Everything one SCEP payload is rendered from.
struct Case {
    profile: ScepCertificateProfile,
    root: TrustedCertificateProfile,
    name: ExpandedName,
    challenge: String,
    version: i64,
}

impl Case {
    fn new(profile: ScepCertificateProfile, name: ExpandedName) -> Self {
        Self {
            profile,
            root: root(),
            name,
            challenge: GOLDEN_CHALLENGE.to_owned(),
            version: 3,
        }
    }

    fn input(&self) -> ScepPayloadInput<'_> {
        ScepPayloadInput {
            profile_id: PROFILE_ID,
            profile_version: self.version,
            profile: &self.profile,
            root: TrustedProfileRef {
                id: ROOT_ID,
                version: 1,
                profile: &self.root,
            },
            device_id: DEVICE_ID,
            name: &self.name,
            challenge: &self.challenge,
            organization: "Contoso",
        }
    }

    fn try_render(&self) -> Result<Rendered, RenderError> {
        render_scep(&self.input())
    }

    fn render(&self) -> Rendered {
        self.try_render().expect("renders")
    }

    /// Renders and returns the `Data` of every Add, by node name.
    fn nodes(&self) -> Vec<(String, String)> {
        let rendered = self.render();
        let text = utf8(&rendered.body);
        let doc = parse(text);
        adds(&doc)
            .into_iter()
            .map(|add| (leaf(&add.target).to_owned(), add.data))
            .collect()
    }

    fn node(&self, leaf: &str) -> Option<String> {
        self.nodes()
            .into_iter()
            .find(|(name, _)| name == leaf)
            .map(|(_, data)| data)
    }

    fn refusal(&self) -> String {
        match self.try_render() {
            Err(RenderError::Encoding(message)) => message,
            Ok(rendered) => panic!("expected a RenderError, got\n{}", utf8(&rendered.body)),
        }
    }
}

fn trusted_payload(profile: &TrustedCertificateProfile) -> Rendered {
    render_trusted(&TrustedPayloadInput {
        profile: TrustedProfileRef {
            id: ROOT_ID,
            version: 1,
            profile,
        },
        device_id: DEVICE_ID,
        organization: "Contoso",
    })
    .expect("renders")
}

// ---------------------------------------------------------------- reading payloads back

fn utf8(body: &[u8]) -> &str {
    std::str::from_utf8(body).expect("payload is UTF-8")
}

fn parse(text: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(text).unwrap_or_else(|error| panic!("not well-formed XML: {error}\n{text}"))
}

fn elements<'a, 'i>(node: roxmltree::Node<'a, 'i>) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    node.children().filter(|child| child.is_element())
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> roxmltree::Node<'a, 'i> {
    elements(node)
        .find(|child| child.has_tag_name((SYNCML_NS, name)))
        .unwrap_or_else(|| panic!("<{}> has no <{name}>", node.tag_name().name()))
}

fn text_of(node: roxmltree::Node<'_, '_>) -> String {
    node.text().unwrap_or_default().to_owned()
}

/// The commands directly inside a SyncBody or Atomic (CmdID and Final left out).
fn commands<'a, 'i>(node: roxmltree::Node<'a, 'i>) -> Vec<roxmltree::Node<'a, 'i>> {
    elements(node)
        .filter(|child| !matches!(child.tag_name().name(), "CmdID" | "Final"))
        .collect()
}

fn target(command: roxmltree::Node<'_, '_>) -> String {
    text_of(child(child(child(command, "Item"), "Target"), "LocURI"))
}

fn leaf(target: &str) -> &str {
    target.rsplit('/').next().unwrap_or(target)
}

struct ParsedAdd {
    target: String,
    format: String,
    format_namespace: String,
    data: String,
    in_atomic: bool,
}

fn adds(doc: &roxmltree::Document<'_>) -> Vec<ParsedAdd> {
    doc.descendants()
        .filter(|node| node.has_tag_name((SYNCML_NS, "Add")))
        .map(|add| {
            let item = child(add, "Item");
            let format = elements(child(item, "Meta"))
                .find(|node| node.tag_name().name() == "Format")
                .expect("Meta/Format");
            ParsedAdd {
                target: target(add),
                format: text_of(format),
                format_namespace: format.tag_name().namespace().unwrap_or_default().to_owned(),
                data: text_of(child(item, "Data")),
                in_atomic: add
                    .parent_element()
                    .is_some_and(|parent| parent.has_tag_name((SYNCML_NS, "Atomic"))),
            }
        })
        .collect()
}

/// The DDF `DFFormat` of every node Scepter sets.
fn ddf_format(leaf: &str) -> &'static str {
    match leaf {
        "KeyUsage" | "KeyProtection" | "KeyLength" | "RetryCount" | "RetryDelay" | "ValidPeriodUnits" => {
            "int"
        }
        "EncodedCertificate" => "b64",
        "ServerURL"
        | "Challenge"
        | "EKUMapping"
        | "SubjectName"
        | "SubjectAlternativeNames"
        | "HashAlgorithm"
        | "CAThumbprint"
        | "ValidPeriod"
        | "ContainerName" => "chr",
        other => panic!("unexpected node {other}"),
    }
}

/// What every payload must be, whatever its settings.
fn assert_well_formed_syncml(text: &str) {
    let doc = parse(text);
    let root = doc.root_element();
    assert!(
        root.has_tag_name((SYNCML_NS, "SyncML")),
        "root is {:?}",
        root.tag_name()
    );
    let header = child(root, "SyncHdr");
    assert_eq!(text_of(child(header, "VerDTD")), "1.2");
    assert_eq!(text_of(child(header, "VerProto")), "DM/1.2");
    assert_eq!(
        text_of(child(child(header, "Target"), "LocURI")),
        DEVICE_ID.to_string()
    );

    let ids: Vec<usize> = doc
        .descendants()
        .filter(|node| node.has_tag_name((SYNCML_NS, "CmdID")))
        .map(|node| text_of(node).parse().expect("decimal CmdID"))
        .collect();
    let expected: Vec<usize> = (1..=ids.len()).collect();
    assert_eq!(ids, expected, "CmdIDs must be unique and increase from 1");

    let body = child(root, "SyncBody");
    let last = elements(body).last().expect("SyncBody is not empty");
    assert!(
        last.has_tag_name((SYNCML_NS, "Final")),
        "Final must close SyncBody"
    );

    for add in adds(&doc) {
        assert_eq!(add.format, ddf_format(leaf(&add.target)), "{}", add.target);
        assert_eq!(add.format_namespace, "syncml:metinf", "{}", add.target);
    }
}

/// `EncodedCertificate` is the DER in one line of base64 and the node name is its SHA-1.
fn assert_encoded_certificate(add: &ParsedAdd, certificate: &TrustedCertificateProfile) {
    assert!(!add.data.contains(char::is_whitespace), "one line of base64");
    let der = STANDARD.decode(&add.data).expect("base64");
    assert_eq!(der, certificate.certificate.der());
    let node_name = add.target.rsplit('/').nth(1).expect("a certificate node");
    assert_eq!(node_name, hex::encode_upper(Sha1::digest(&der)));
    assert!(!add.in_atomic, "the root install stays outside the Atomic");
}

/// What every SCEP payload must be: root install, then the Atomic with the
/// SCEP Adds and the Enroll Exec last, CAThumbprint and ServerURL as the inputs say.
fn assert_scep_structure(case: &Case, text: &str) {
    assert_well_formed_syncml(text);
    let doc = parse(text);
    let body = child(doc.root_element(), "SyncBody");
    let top = commands(body);
    let names: Vec<&str> = top.iter().map(|node| node.tag_name().name()).collect();
    assert_eq!(names, ["Add", "Atomic"]);

    let atomic = commands(top[1]);
    let (enroll, settings) = atomic.split_last().expect("the Atomic is not empty");
    assert!(enroll.has_tag_name((SYNCML_NS, "Exec")));
    assert!(
        target(*enroll).ends_with("/Install/Enroll"),
        "{}",
        target(*enroll)
    );
    assert!(settings.iter().all(|node| node.has_tag_name((SYNCML_NS, "Add"))));

    let all = adds(&doc);
    for add in &all {
        let scep = add.target.contains("/ClientCertificateInstall/SCEP/");
        assert_eq!(
            scep, add.in_atomic,
            "{}: SCEP Adds and only they are in the Atomic",
            add.target
        );
    }
    assert_eq!(all.iter().filter(|add| add.in_atomic).count(), settings.len());

    let root_add = all.first().expect("root install");
    assert!(leaf(&root_add.target) == "EncodedCertificate");
    assert_encoded_certificate(root_add, &case.root);

    let value = |name: &str| {
        all.iter()
            .find(|add| leaf(&add.target) == name)
            .map(|add| add.data.clone())
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert_eq!(
        value("CAThumbprint"),
        case.root.certificate.details().thumbprint_sha1
    );
    let expected_urls: Vec<&str> = urls_for_device(&case.profile.settings.scep_server_urls, DEVICE_ID)
        .into_iter()
        .map(|url| url.as_str())
        .collect();
    assert_eq!(value("ServerURL").split(';').collect::<Vec<_>>(), expected_urls);
}

fn assert_trusted_structure(profile: &TrustedCertificateProfile, text: &str, expected_store: &str) {
    assert_well_formed_syncml(text);
    let doc = parse(text);
    let body = child(doc.root_element(), "SyncBody");
    let names: Vec<&str> = commands(body).iter().map(|node| node.tag_name().name()).collect();
    assert_eq!(names, ["Add"]);
    let all = adds(&doc);
    assert!(all[0].target.starts_with(expected_store), "{}", all[0].target);
    assert_encoded_certificate(&all[0], profile);
}

// ---------------------------------------------------------------- golden files

fn golden_dir() -> PathBuf {
    test_support::golden_dir("windows")
}

const GOLDEN_FILES: [&str; 7] = [
    "scep-user-sans-ekus.xml",
    "scep-device-software-ksp-4096.xml",
    "scep-user-windows-hello.xml",
    "scep-quoted-subject.xml",
    "trusted-computer-root.xml",
    "trusted-computer-intermediate.xml",
    "trusted-user-intermediate.xml",
];

/// Byte-compares with the golden file (rewriting it first when
/// `SCEPTER_UPDATE_GOLDEN=1`), then runs the payload validator on it.
fn assert_golden(file: &str, body: &[u8]) {
    assert!(
        GOLDEN_FILES.contains(&file),
        "{file} must be listed in GOLDEN_FILES"
    );
    test_support::assert_golden("windows", file, body);
    test_support::assert_validator_accepts(&[golden_dir().join(file)]);
}

fn user_with_sans_and_ekus() -> Case {
    let profile = profile(|draft| {
        draft.subject_name_format = SubjectNameFormat::Custom;
        draft.subject_name_format_string =
            Some("CN={{UserName}},E={{EmailAddress}},OU=Mobile,O=Contoso".to_owned());
        draft.extended_key_usages = Some(vec![
            ExtendedKeyUsageDraft {
                name: "Client Authentication".to_owned(),
                object_identifier: "1.3.6.1.5.5.7.3.2".to_owned(),
            },
            ExtendedKeyUsageDraft {
                name: "Smart Card Logon".to_owned(),
                object_identifier: "1.3.6.1.4.1.311.20.2.2".to_owned(),
            },
        ]);
        draft.scep_server_urls = NDES.iter().map(|url| (*url).to_owned()).collect();
    });
    let name = ExpandedName {
        subject: subject(&[
            &[(NameAttribute::CommonName, "jane.doe")],
            &[(NameAttribute::Email, "jane.doe@contoso.example")],
            &[(NameAttribute::OrganizationalUnit, "Mobile")],
            &[(NameAttribute::Organization, "Contoso")],
        ]),
        subject_alternative_names: vec![
            san(SanType::UserPrincipalName, "jane.doe@contoso.example"),
            san(SanType::EmailAddress, "jane+wifi@contoso.example"),
            san(SanType::DomainNameService, "jane-laptop.contoso.example"),
            san(
                SanType::UniversalResourceIdentifier,
                "https://id.contoso.example/users/jane.doe",
            ),
        ],
    };
    Case::new(profile, name)
}

fn device_with_software_ksp_4096() -> Case {
    let profile = profile(|draft| {
        draft.certificate_type = CertificateType::Device;
        draft.key_storage_provider = Some(KeyStorageProvider::UseSoftwareKsp);
        draft.key_size = 4096;
        draft.hash_algorithm = Some(HashAlgorithm::Sha1);
        draft.key_usage = vec![KeyUsage::DigitalSignature];
        draft.certificate_validity_period_value = Some(1);
        draft.certificate_validity_period_scale = Some(ValidityScale::Years);
    });
    let name = ExpandedName {
        subject: subject(&[
            &[(NameAttribute::CommonName, "DESKTOP-7Q2K9LM")],
            &[(NameAttribute::SerialNumber, "5CG1234XYZ")],
        ]),
        subject_alternative_names: vec![san(SanType::DomainNameService, "desktop-7q2k9lm.contoso.example")],
    };
    Case::new(profile, name)
}

fn windows_hello() -> Case {
    let profile = profile(|draft| {
        draft.key_storage_provider = Some(KeyStorageProvider::UsePassportForWorkKspOtherwiseFail);
    });
    let name = ExpandedName {
        subject: subject(&[&[(NameAttribute::CommonName, "jane.doe")]]),
        subject_alternative_names: vec![san(SanType::UserPrincipalName, "jane.doe@contoso.example")],
    };
    Case::new(profile, name)
}

fn quoted_subject() -> Case {
    let name = ExpandedName {
        subject: subject(&[
            &[(NameAttribute::CommonName, "Doe, Jane")],
            &[
                (NameAttribute::GivenName, "Jane"),
                (NameAttribute::Surname, "O\"Doe"),
            ],
            &[(NameAttribute::OrganizationalUnit, "R+D = \"Labs\"; West")],
            &[(NameAttribute::Organization, " Contoso #1 ")],
            &[(NameAttribute::Country, "NL")],
        ]),
        subject_alternative_names: Vec::new(),
    };
    Case::new(profile(|_| {}), name)
}

fn check_scep_golden(file: &str, case: &Case) {
    let rendered = case.render();
    assert_eq!(rendered.content_type, SYNCML_CONTENT_TYPE);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    assert_golden(file, &rendered.body);
    assert_scep_structure(case, utf8(&rendered.body));
}

#[test]
fn user_certificate_with_sans_and_ekus_matches_golden() {
    check_scep_golden("scep-user-sans-ekus.xml", &user_with_sans_and_ekus());
}

#[test]
fn device_certificate_with_software_ksp_4096_bits_and_validity_matches_golden() {
    check_scep_golden(
        "scep-device-software-ksp-4096.xml",
        &device_with_software_ksp_4096(),
    );
}

#[test]
fn windows_hello_certificate_matches_golden() {
    check_scep_golden("scep-user-windows-hello.xml", &windows_hello());
}

#[test]
fn subject_that_needs_quoting_matches_golden() {
    check_scep_golden("scep-quoted-subject.xml", &quoted_subject());
}

#[test]
fn trusted_payload_for_each_destination_store_matches_golden() {
    let cases = [
        (
            "trusted-computer-root.xml",
            trusted(ROOT_CA, DestinationStore::ComputerCertStoreRoot),
            "./Device/Vendor/MSFT/RootCATrustedCertificates/Root/",
        ),
        (
            "trusted-computer-intermediate.xml",
            trusted(INTERMEDIATE_CA, DestinationStore::ComputerCertStoreIntermediate),
            "./Device/Vendor/MSFT/RootCATrustedCertificates/CA/",
        ),
        (
            "trusted-user-intermediate.xml",
            trusted(INTERMEDIATE_CA, DestinationStore::UserCertStoreIntermediate),
            "./User/Vendor/MSFT/RootCATrustedCertificates/CA/",
        ),
    ];
    for (file, profile, store) in cases {
        let rendered = trusted_payload(&profile);
        assert_eq!(rendered.content_type, SYNCML_CONTENT_TYPE);
        assert!(rendered.warnings.is_empty(), "{file}: {:?}", rendered.warnings);
        assert_golden(file, &rendered.body);
        assert_trusted_structure(&profile, utf8(&rendered.body), store);
    }
}

#[test]
fn golden_directory_holds_exactly_the_rendered_cases() {
    let on_disk: BTreeSet<String> = fs::read_dir(golden_dir())
        .expect("golden directory")
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let expected: BTreeSet<String> = GOLDEN_FILES.iter().map(|file| (*file).to_owned()).collect();
    assert_eq!(on_disk, expected, "stale or missing golden files");
}

// ---------------------------------------------------------------- node values

#[test]
fn certificate_type_selects_the_user_or_device_tree() {
    for (certificate_type, scope) in [
        (CertificateType::User, "./User"),
        (CertificateType::Device, "./Device"),
    ] {
        let rendered = Case::new(profile(|draft| draft.certificate_type = certificate_type), jane()).render();
        let expected = format!(
            "{scope}/Vendor/MSFT/ClientCertificateInstall/SCEP/Scepter6f1c2c4e8a3b4c5d9e0f112233445566v3/Install/"
        );
        let doc = parse(utf8(&rendered.body));
        let scep: Vec<ParsedAdd> = adds(&doc).into_iter().filter(|add| add.in_atomic).collect();
        assert!(!scep.is_empty());
        for add in scep {
            assert!(add.target.starts_with(&expected), "{}", add.target);
        }
    }
}

#[test]
fn scep_payload_installs_its_root_in_the_roots_destination_store() {
    let cases = [
        (
            ROOT_CA,
            DestinationStore::ComputerCertStoreRoot,
            "./Device/Vendor/MSFT/RootCATrustedCertificates/Root/",
        ),
        (
            INTERMEDIATE_CA,
            DestinationStore::ComputerCertStoreIntermediate,
            "./Device/Vendor/MSFT/RootCATrustedCertificates/CA/",
        ),
        (
            INTERMEDIATE_CA,
            DestinationStore::UserCertStoreIntermediate,
            "./User/Vendor/MSFT/RootCATrustedCertificates/CA/",
        ),
    ];
    for (pem, store, prefix) in cases {
        let mut case = Case::new(profile(|_| {}), jane());
        case.root = trusted(pem, store);
        let rendered = case.render();
        let text = utf8(&rendered.body);
        assert_scep_structure(&case, text);
        assert!(adds(&parse(text))[0].target.starts_with(prefix), "{store:?}");
    }
}

#[test]
fn nodes_are_added_in_a_fixed_order_with_enroll_last() {
    let names: Vec<String> = user_with_sans_and_ekus()
        .nodes()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        names,
        [
            "EncodedCertificate",
            "ServerURL",
            "Challenge",
            "EKUMapping",
            "KeyUsage",
            "SubjectName",
            "SubjectAlternativeNames",
            "KeyProtection",
            "KeyLength",
            "HashAlgorithm",
            "CAThumbprint",
            "RetryCount",
            "RetryDelay",
        ]
    );
}

#[test]
fn server_urls_start_at_the_devices_own_url_and_are_joined_by_semicolons() {
    let case = user_with_sans_and_ekus();
    let expected: Vec<&str> = urls_for_device(&case.profile.settings.scep_server_urls, DEVICE_ID)
        .into_iter()
        .map(|url| url.as_str())
        .collect();
    assert_eq!(case.node("ServerURL"), Some(expected.join(";")));
    assert_eq!(expected, [NDES[2], NDES[0], NDES[1]], "DEVICE_ID's order");
    let mut all: Vec<&str> = expected.clone();
    all.sort_unstable();
    assert_eq!(all, NDES, "every URL, each once");
}

#[test]
fn extended_key_usages_are_joined_by_plus() {
    assert_eq!(
        user_with_sans_and_ekus().node("EKUMapping").as_deref(),
        Some("1.3.6.1.5.5.7.3.2+1.3.6.1.4.1.311.20.2.2")
    );
    assert_eq!(
        Case::new(profile(|_| {}), jane()).node("EKUMapping").as_deref(),
        Some("1.3.6.1.5.5.7.3.2")
    );
}

#[test]
fn key_usage_is_the_decimal_of_bits_0x80_and_0x20() {
    let cases = [
        (vec![KeyUsage::DigitalSignature], "128"),
        (vec![KeyUsage::KeyEncipherment], "32"),
        (vec![KeyUsage::KeyEncipherment, KeyUsage::DigitalSignature], "160"),
    ];
    for (usages, expected) in cases {
        let case = Case::new(profile(|draft| draft.key_usage = usages.clone()), jane());
        assert_eq!(case.node("KeyUsage").as_deref(), Some(expected), "{usages:?}");
    }
}

#[test]
fn key_storage_provider_maps_to_key_protection_and_only_windows_hello_gets_a_container() {
    let cases = [
        (None, "2"),
        (Some(KeyStorageProvider::UseTpmKspOtherwiseFail), "1"),
        (Some(KeyStorageProvider::UseTpmKspOtherwiseUseSoftwareKsp), "2"),
        (Some(KeyStorageProvider::UseSoftwareKsp), "3"),
        (Some(KeyStorageProvider::UsePassportForWorkKspOtherwiseFail), "4"),
    ];
    for (provider, expected) in cases {
        let case = Case::new(profile(|draft| draft.key_storage_provider = provider), jane());
        assert_eq!(
            case.node("KeyProtection").as_deref(),
            Some(expected),
            "{provider:?}"
        );
        let container = case.node("ContainerName");
        if expected == "4" {
            assert_eq!(
                container.as_deref(),
                Some("Scepter6f1c2c4e8a3b4c5d9e0f112233445566v3")
            );
        } else {
            assert_eq!(container, None, "{provider:?}");
        }
    }
}

#[test]
fn hash_algorithm_is_the_family_name() {
    let cases = [
        (None, "SHA-2"),
        (Some(HashAlgorithm::Sha2), "SHA-2"),
        (Some(HashAlgorithm::Sha1), "SHA-1"),
    ];
    for (algorithm, expected) in cases {
        let case = Case::new(profile(|draft| draft.hash_algorithm = algorithm), jane());
        assert_eq!(
            case.node("HashAlgorithm").as_deref(),
            Some(expected),
            "{algorithm:?}"
        );
    }
}

#[test]
fn key_length_ca_thumbprint_and_retries_are_set() {
    let case = Case::new(profile(|draft| draft.key_size = 1024), jane());
    assert_eq!(case.node("KeyLength").as_deref(), Some("1024"));
    assert_eq!(
        case.node("CAThumbprint").as_deref(),
        Some("F4BF1446572532247C20B94FB6D57E638735DE06"),
        "the root's SHA-1 (fixtures README)"
    );
    assert_eq!(case.node("RetryCount").as_deref(), Some("3"));
    assert_eq!(case.node("RetryDelay").as_deref(), Some("5"));
}

#[test]
fn validity_is_sent_only_when_the_profile_sets_one() {
    let case = Case::new(profile(|_| {}), jane());
    assert_eq!(case.node("ValidPeriod"), None);
    assert_eq!(case.node("ValidPeriodUnits"), None);
    for (value, scale, expected) in [
        (30, ValidityScale::Days, "Days"),
        (6, ValidityScale::Months, "Months"),
        (2, ValidityScale::Years, "Years"),
    ] {
        let case = Case::new(
            profile(|draft| {
                draft.certificate_validity_period_value = Some(value);
                draft.certificate_validity_period_scale = Some(scale);
            }),
            jane(),
        );
        assert_eq!(case.node("ValidPeriod").as_deref(), Some(expected));
        assert_eq!(case.node("ValidPeriodUnits"), Some(value.to_string()));
    }
}

#[test]
fn subject_alternative_names_use_certenroll_name_types() {
    assert_eq!(
        user_with_sans_and_ekus()
            .node("SubjectAlternativeNames")
            .as_deref(),
        Some(
            "11+jane.doe@contoso.example;2+jane+wifi@contoso.example;3+jane-laptop.contoso.example;\
             7+https://id.contoso.example/users/jane.doe"
        )
    );
}

#[test]
fn no_subject_alternative_names_means_no_node() {
    assert_eq!(
        Case::new(profile(|_| {}), jane()).node("SubjectAlternativeNames"),
        None
    );
}

#[test]
fn template_name_is_never_sent() {
    for case in [
        user_with_sans_and_ekus(),
        device_with_software_ksp_4096(),
        windows_hello(),
    ] {
        assert!(case.nodes().iter().all(|(name, _)| name != "TemplateName"));
    }
}

#[test]
fn challenge_is_sent_as_is_not_base64_encoded() {
    for challenge in [
        "GOLDEN-CHALLENGE",
        GOLDEN_CHALLENGE,
        "00F7FC7937B5366F2231AC891472998C",
        " a'b (c) +,-./:=? ",
    ] {
        let mut case = Case::new(profile(|_| {}), jane());
        case.challenge = challenge.to_owned();
        assert_eq!(case.node("Challenge").as_deref(), Some(challenge));
    }
}

#[test]
fn unique_id_is_letters_and_digits_from_profile_id_and_version() {
    assert_eq!(
        unique_id(PROFILE_ID, 3).expect("valid"),
        "Scepter6f1c2c4e8a3b4c5d9e0f112233445566v3"
    );
    assert_ne!(
        unique_id(PROFILE_ID, 3),
        unique_id(PROFILE_ID, 4),
        "a new version is a new enrollment"
    );
    let id = unique_id(Uuid::from_u128(u128::MAX), i64::MAX).expect("valid");
    assert!(id.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
}

// ---------------------------------------------------------------- warnings

#[test]
fn ordinary_payloads_have_no_warnings() {
    for case in [
        user_with_sans_and_ekus(),
        device_with_software_ksp_4096(),
        windows_hello(),
        quoted_subject(),
    ] {
        assert_eq!(case.render().warnings, Vec::<String>::new());
    }
}

#[test]
fn windows_hello_with_1024_bits_and_sha1_asks_for_2048_and_sha2_and_warns() {
    let case = Case::new(
        profile(|draft| {
            draft.key_storage_provider = Some(KeyStorageProvider::UsePassportForWorkKspOtherwiseFail);
            draft.key_size = 1024;
            draft.hash_algorithm = Some(HashAlgorithm::Sha1);
        }),
        jane(),
    );
    assert_eq!(case.node("KeyLength").as_deref(), Some("2048"));
    assert_eq!(case.node("HashAlgorithm").as_deref(), Some("SHA-2"));
    let warnings = case.render().warnings;
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with("keySize 1024 is not possible with Windows Hello"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].starts_with("hashAlgorithm sha1 is not possible with Windows Hello"),
        "{warnings:?}"
    );
}

#[test]
fn root_file_name_is_reported_as_unused() {
    let mut named_root = root();
    named_root.cert_file_name = Some(
        crate::text::CertFileName::parse("certFileName", "contoso-root.cer".to_owned()).expect("valid name"),
    );
    let expected = [
        "certFileName `contoso-root.cer` is not used on Windows: RootCATrustedCertificates names a certificate by its SHA-1 thumbprint",
    ];
    assert_eq!(trusted_payload(&named_root).warnings, expected);
    let mut case = Case::new(profile(|_| {}), jane());
    case.root = named_root;
    assert_eq!(case.render().warnings, expected);
}

// ---------------------------------------------------------------- refusals

#[test]
fn subject_alternative_name_with_a_semicolon_is_refused() {
    let mut name = jane();
    name.subject_alternative_names = vec![
        san(SanType::DomainNameService, "ok.contoso.example"),
        san(SanType::UserPrincipalName, "jane@contoso.example;3+evil.example"),
    ];
    let message = Case::new(profile(|_| {}), name).refusal();
    assert!(
        message.contains("subject alternative name 1 (userPrincipalName) contains `;`"),
        "{message}"
    );
}

#[test]
fn empty_subject_alternative_name_is_refused() {
    let mut name = jane();
    name.subject_alternative_names = vec![san(SanType::EmailAddress, "")];
    let message = Case::new(profile(|_| {}), name).refusal();
    assert!(
        message.contains("subject alternative name 0 (emailAddress) is empty"),
        "{message}"
    );
}

#[test]
fn challenge_outside_printable_string_is_refused_without_quoting_it() {
    for challenge in [
        "under_score",
        "a@b",
        "x<y",
        "R&D",
        "say \"hi\"",
        "]]>",
        "naïve",
        "tab\there",
    ] {
        let mut case = Case::new(profile(|_| {}), jane());
        case.challenge = challenge.to_owned();
        let message = case.refusal();
        assert!(message.contains("PrintableString"), "{challenge}: {message}");
        assert!(
            !message.contains(challenge),
            "the challenge is a secret: {message}"
        );
    }
}

#[test]
fn empty_challenge_is_refused() {
    let mut case = Case::new(profile(|_| {}), jane());
    case.challenge = String::new();
    assert!(case.refusal().contains("Challenge is required"));
}

#[test]
fn empty_subject_is_refused() {
    let name = ExpandedName::default();
    assert!(Case::new(profile(|_| {}), name)
        .refusal()
        .contains("SubjectName is required"));
    let name = ExpandedName {
        subject: Subject(vec![Rdn(Vec::new())]),
        subject_alternative_names: Vec::new(),
    };
    assert!(Case::new(profile(|_| {}), name)
        .refusal()
        .contains("RDN without an attribute"));
}

#[test]
fn server_url_with_a_semicolon_is_refused() {
    let case = Case::new(
        profile(|draft| draft.scep_server_urls = vec!["https://ndes.contoso.example/scep;v=2".to_owned()]),
        jane(),
    );
    assert!(case.refusal().contains("contains `;`"));
}

#[test]
fn negative_profile_version_is_refused() {
    let mut case = Case::new(profile(|_| {}), jane());
    case.version = -1;
    assert!(case.refusal().contains("negative"));
}

#[test]
fn characters_xml_cannot_carry_are_refused() {
    for value in ["bell\u{7}", "nul\u{0}", "\u{FFFE}"] {
        let name = ExpandedName {
            subject: subject(&[&[(NameAttribute::CommonName, value)]]),
            subject_alternative_names: Vec::new(),
        };
        let message = Case::new(profile(|_| {}), name).refusal();
        assert!(message.starts_with("SubjectName: contains U+"), "{message}");
    }
}

// ---------------------------------------------------------------- escaping and subject encoding

#[test]
fn markup_in_values_comes_back_unchanged_from_any_xml_parser() {
    let hostile = "<b>&amp; ]]> \"q\" 'a' \r\n\t</b>";
    // A SAN value cannot hold `;` at all, so no entity-like `&…;` there.
    let hostile_san = "<b>&amp ]]> \"q\" 'a' \r\n\t</b>";
    let mut name = jane();
    name.subject = subject(&[
        &[(NameAttribute::CommonName, hostile)],
        &[(NameAttribute::Organization, "A&B <C>")],
    ]);
    name.subject_alternative_names = vec![
        san(SanType::UserPrincipalName, hostile_san),
        san(
            SanType::UniversalResourceIdentifier,
            "https://x.example/?a=1&b=<2>]]>",
        ),
    ];
    let mut case = Case::new(profile(|_| {}), name);
    case.challenge = "it's (ok)".to_owned();

    let rendered = case.render();
    let text = utf8(&rendered.body);
    assert!(!text.contains("]]>"), "`>` is escaped, so no `]]>` appears");
    assert_scep_structure(&case, text);
    let nodes = case.nodes();
    let value = |leaf: &str| {
        nodes
            .iter()
            .find(|(name, _)| name == leaf)
            .map(|(_, data)| data.as_str())
    };
    assert_eq!(
        value("SubjectName"),
        Some(windows_subject_name(&case.name.subject).as_str())
    );
    assert_eq!(
        value("SubjectName"),
        Some("CN=\"<b>&amp; ]]> \"\"q\"\" 'a' \r\n\t</b>\",O=\"A&B <C>\"")
    );
    assert_eq!(
        value("SubjectAlternativeNames"),
        Some(format!("11+{hostile_san};7+https://x.example/?a=1&b=<2>]]>").as_str())
    );
    assert_eq!(value("Challenge"), Some("it's (ok)"));
}

const ATTRIBUTES: [NameAttribute; 6] = [
    NameAttribute::CommonName,
    NameAttribute::Email,
    NameAttribute::OrganizationalUnit,
    NameAttribute::Organization,
    NameAttribute::Surname,
    NameAttribute::UserId,
];

fn value_strategy() -> impl Strategy<Value = String> {
    prop::string::string_regex("[a-zA-Z0-9 ,+=\";<>#&'\\\\\r\n\t\\]é]{0,12}").expect("valid regex")
}

fn subject_strategy() -> impl Strategy<Value = Subject> {
    let attribute = (prop::sample::select(ATTRIBUTES.to_vec()), value_strategy())
        .prop_map(|(attribute, value)| AttributeValue { attribute, value });
    prop::collection::vec(prop::collection::vec(attribute, 1..3).prop_map(Rdn), 1..4).prop_map(Subject)
}

proptest! {
    #[test]
    fn any_subject_and_san_survive_the_xml_round_trip(
        subject in subject_strategy(),
        san_value in prop::string::string_regex("[^;\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}]{1,24}").expect("valid regex"),
    ) {
        let name = ExpandedName {
            subject,
            subject_alternative_names: vec![san(SanType::UserPrincipalName, &san_value)],
        };
        let case = Case::new(profile(|_| {}), name);
        let nodes = case.nodes();
        let value = |leaf: &str| nodes.iter().find(|(name, _)| name == leaf).map(|(_, data)| data.clone());
        prop_assert_eq!(value("SubjectName"), Some(windows_subject_name(&case.name.subject)));
        prop_assert_eq!(value("SubjectAlternativeNames"), Some(format!("11+{san_value}")));
    }

    #[test]
    fn escaped_text_parses_back_to_the_input(
        value in prop::string::string_regex("[\t\n\r\u{20}-\u{d7ff}\u{e000}-\u{fffd}\u{10000}-\u{10ffff}]{0,40}").expect("valid regex"),
    ) {
        let escaped = escape_text(&value).expect("every character is allowed");
        let xml = format!("<a>{escaped}</a>");
        let doc = roxmltree::Document::parse(&xml).expect("well-formed");
        prop_assert_eq!(doc.root_element().text().unwrap_or_default(), value.as_str());
    }
}

// ---------------------------------------------------------------- dispatch

#[test]
fn every_windows_platform_renders_syncml() {
    for platform in [Platform::Windows10, Platform::Windows81, Platform::WindowsPhone81] {
        let mut case = Case::new(profile(|draft| draft.platform = platform), jane());
        case.root.platform = platform;
        let rendered = crate::render::render_scep(&case.input()).expect("renders");
        assert_eq!(rendered.content_type, SYNCML_CONTENT_TYPE, "{platform}");
        let trusted = crate::render::render_trusted(&TrustedPayloadInput {
            profile: TrustedProfileRef {
                id: ROOT_ID,
                version: 1,
                profile: &case.root,
            },
            device_id: DEVICE_ID,
            organization: "Contoso",
        })
        .expect("renders");
        assert_eq!(trusted.content_type, SYNCML_CONTENT_TYPE, "{platform}");
    }
}

#[test]
fn command_ids_stay_unique_across_the_biggest_payload() {
    let rendered = user_with_sans_and_ekus().render();
    let doc_text = utf8(&rendered.body);
    let doc = parse(doc_text);
    let ids: Vec<&str> = doc
        .descendants()
        .filter(|node| node.has_tag_name((SYNCML_NS, "CmdID")))
        .filter_map(|node| node.text())
        .collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len());
    assert_eq!(ids.len(), 15, "root Add, Atomic, 12 setting Adds, Exec");
}

#[test]
fn profile_without_key_usage_is_refused() {
    let mut case = Case::new(profile(|_| {}), jane());
    case.profile.settings.key_usage.clear();
    assert!(case
        .refusal()
        .contains("KeyUsage needs digitalSignature or keyEncipherment"));
}
