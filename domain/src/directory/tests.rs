//! Every rule of [`User::parse`], [`Device::parse`], [`Group::parse`] and
//! [`Group::check_replacement`], each asserted by the exact `field` and `rule`
//! it reports, plus the values accepted and the UPN uniqueness key.

use uuid::Uuid;

use super::{Device, DeviceDraft, Group, GroupDraft, GroupType, User, UserDraft};
use crate::{platform::Platform, validation::ValidationErrors};

const AZURE_AD_DEVICE_ID: Uuid = Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_0000_0000_0aad);
const PRIMARY_USER_ID: Uuid = Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_0000_0000_0001);
const SID: &str = "S-1-5-21-3623811015-3361044348-30300820-1013";

type FieldRules = Vec<(String, &'static str)>;

fn field_rules(errors: &ValidationErrors) -> FieldRules {
    errors
        .errors()
        .iter()
        .map(|error| (error.field.clone(), error.rule))
        .collect()
}

fn one(field: &str, rule: &'static str) -> FieldRules {
    vec![(field.to_owned(), rule)]
}

/// The checks every bounded attribute shares, for an attribute of `max` characters:
/// `(case, value, expected rule or None when accepted)`.
fn attribute_cases(max: usize) -> Vec<(String, String, Option<&'static str>)> {
    vec![
        ("empty".to_owned(), String::new(), Some("required")),
        ("blank".to_owned(), "   ".to_owned(), Some("required")),
        ("only a tab".to_owned(), "\t".to_owned(), Some("required")),
        (format!("{max} characters"), "n".repeat(max), None),
        (format!("{max} multi-byte characters"), "ß".repeat(max), None),
        (
            format!("{} characters", max + 1),
            "n".repeat(max + 1),
            Some("maxLength"),
        ),
        (
            format!("{} multi-byte characters", max + 1),
            "ß".repeat(max + 1),
            Some("maxLength"),
        ),
        (
            "newline".to_owned(),
            "Jane\nDoe".to_owned(),
            Some("noControlCharacters"),
        ),
        (
            "carriage return".to_owned(),
            "Jane\rDoe".to_owned(),
            Some("noControlCharacters"),
        ),
        (
            "tab".to_owned(),
            "Jane\tDoe".to_owned(),
            Some("noControlCharacters"),
        ),
        (
            "NUL".to_owned(),
            "Jane\u{0}Doe".to_owned(),
            Some("noControlCharacters"),
        ),
        (
            "DEL".to_owned(),
            "Jane\u{7f}Doe".to_owned(),
            Some("noControlCharacters"),
        ),
        (
            "C1 control".to_owned(),
            "Jane\u{85}Doe".to_owned(),
            Some("noControlCharacters"),
        ),
        (
            "trailing newline".to_owned(),
            "Jane Doe\n".to_owned(),
            Some("noControlCharacters"),
        ),
        ("inner spaces".to_owned(), "Jane  Doe".to_owned(), None),
        ("non-ASCII".to_owned(), "Jürgen Ñúñez 山田".to_owned(), None),
    ]
}

/// The UPN / mail shape on top of the attribute rules (256 characters).
fn at_address_cases() -> Vec<(String, String, Option<&'static str>)> {
    let at_max = format!("a@{}", "b".repeat(254));
    let over_max = format!("a@{}", "b".repeat(255));
    vec![
        ("a@b".to_owned(), "a@b".to_owned(), None),
        ("typical".to_owned(), "jane.doe@contoso.example".to_owned(), None),
        (
            "upper case".to_owned(),
            "Jane.Doe@Contoso.Example".to_owned(),
            None,
        ),
        ("non-ASCII".to_owned(), "jürgen@bücher.example".to_owned(), None),
        ("256 characters".to_owned(), at_max, None),
        ("257 characters".to_owned(), over_max, Some("maxLength")),
        ("empty".to_owned(), String::new(), Some("required")),
        ("blank".to_owned(), "  ".to_owned(), Some("required")),
        ("no @".to_owned(), "ab".to_owned(), Some("format")),
        ("no local part".to_owned(), "@b".to_owned(), Some("format")),
        ("no domain".to_owned(), "a@".to_owned(), Some("format")),
        ("only @".to_owned(), "@".to_owned(), Some("format")),
        ("two @".to_owned(), "a@b@c".to_owned(), Some("format")),
        (
            "space in local part".to_owned(),
            "a b@c".to_owned(),
            Some("format"),
        ),
        ("space in domain".to_owned(), "a@b c".to_owned(), Some("format")),
        ("leading space".to_owned(), " a@b".to_owned(), Some("format")),
        ("trailing space".to_owned(), "a@b ".to_owned(), Some("format")),
        (
            "no-break space".to_owned(),
            "a\u{a0}b@c".to_owned(),
            Some("format"),
        ),
        (
            "newline".to_owned(),
            "a@b\nc".to_owned(),
            Some("noControlCharacters"),
        ),
        ("tab".to_owned(), "a\tb@c".to_owned(), Some("noControlCharacters")),
        (
            "NUL".to_owned(),
            "a@b\u{0}".to_owned(),
            Some("noControlCharacters"),
        ),
    ]
}

// ================================================================== users

fn user_draft() -> UserDraft {
    UserDraft {
        user_principal_name: "jane.doe@contoso.example".to_owned(),
        display_name: "Jane Doe".to_owned(),
        mail: None,
        on_premises_distinguished_name: None,
        on_premises_sam_account_name: None,
        on_premises_security_identifier: None,
        external_id: None,
    }
}

fn user_draft_with(change: impl FnOnce(&mut UserDraft)) -> UserDraft {
    let mut draft = user_draft();
    change(&mut draft);
    draft
}

fn accepted_user(draft: UserDraft) -> User {
    User::parse(draft)
        .unwrap_or_else(|errors| panic!("expected the user to be accepted, got {:?}", errors.errors()))
}

fn user_errors(draft: UserDraft) -> FieldRules {
    match User::parse(draft) {
        Ok(user) => panic!("expected errors, got {user:?}"),
        Err(errors) => field_rules(&errors),
    }
}

/// Runs `cases` against one user field: the value is kept when accepted,
/// otherwise exactly one error names the field and the rule.
fn check_user_field(
    field: &str,
    cases: Vec<(String, String, Option<&'static str>)>,
    set: impl Fn(&mut UserDraft, String),
    get: impl Fn(&User) -> Option<&str>,
) {
    for (case, value, rule) in cases {
        let draft = user_draft_with(|draft| set(draft, value.clone()));
        match rule {
            Some(rule) => assert_eq!(user_errors(draft), one(field, rule), "{field}: {case}"),
            None => assert_eq!(
                get(&accepted_user(draft)),
                Some(value.as_str()),
                "{field}: {case}"
            ),
        }
    }
}

#[test]
fn minimal_user_is_accepted() {
    let user = accepted_user(user_draft());
    assert_eq!(
        user,
        User {
            user_principal_name: "jane.doe@contoso.example".to_owned(),
            display_name: "Jane Doe".to_owned(),
            mail: None,
            on_premises_distinguished_name: None,
            on_premises_sam_account_name: None,
            on_premises_security_identifier: None,
            external_id: None,
        }
    );
}

#[test]
fn fully_specified_user_keeps_every_value() {
    let user = accepted_user(UserDraft {
        user_principal_name: "Jane.Doe@Contoso.Example".to_owned(),
        display_name: "Jane Doe".to_owned(),
        mail: Some("jane@contoso.example".to_owned()),
        on_premises_distinguished_name: Some("CN=Jane Doe,OU=Staff,DC=contoso,DC=example".to_owned()),
        on_premises_sam_account_name: Some("jdoe".to_owned()),
        on_premises_security_identifier: Some(SID.to_owned()),
        external_id: Some("00aa00aa-bb11-cc22-dd33-44ee44ee44ee".to_owned()),
    });
    assert_eq!(
        user,
        User {
            user_principal_name: "Jane.Doe@Contoso.Example".to_owned(),
            display_name: "Jane Doe".to_owned(),
            mail: Some("jane@contoso.example".to_owned()),
            on_premises_distinguished_name: Some("CN=Jane Doe,OU=Staff,DC=contoso,DC=example".to_owned()),
            on_premises_sam_account_name: Some("jdoe".to_owned()),
            on_premises_security_identifier: Some(SID.to_owned()),
            external_id: Some("00aa00aa-bb11-cc22-dd33-44ee44ee44ee".to_owned()),
        }
    );
}

#[test]
fn user_principal_name_rules() {
    check_user_field(
        "userPrincipalName",
        at_address_cases(),
        |draft, value| draft.user_principal_name = value,
        |user| Some(user.user_principal_name.as_str()),
    );
}

#[test]
fn mail_rules() {
    check_user_field(
        "mail",
        at_address_cases(),
        |draft, value| draft.mail = Some(value),
        |user| user.mail.as_deref(),
    );
}

#[test]
fn user_display_name_rules() {
    check_user_field(
        "displayName",
        attribute_cases(256),
        |draft, value| draft.display_name = value,
        |user| Some(user.display_name.as_str()),
    );
}

#[test]
fn on_premises_distinguished_name_rules() {
    check_user_field(
        "onPremisesDistinguishedName",
        attribute_cases(1024),
        |draft, value| draft.on_premises_distinguished_name = Some(value),
        |user| user.on_premises_distinguished_name.as_deref(),
    );
}

#[test]
fn on_premises_sam_account_name_rules() {
    check_user_field(
        "onPremisesSamAccountName",
        attribute_cases(256),
        |draft, value| draft.on_premises_sam_account_name = Some(value),
        |user| user.on_premises_sam_account_name.as_deref(),
    );
}

#[test]
fn on_premises_security_identifier_rules() {
    let max_sub_authorities = format!("S-1-5{}", "-4294967295".repeat(15));
    let too_many_sub_authorities = format!("S-1-5{}", "-1".repeat(16));
    let over_256 = format!("S-1-5-{}", "1".repeat(251));
    let cases = [
        ("domain user", SID, None),
        ("well-known, authority only", "S-1-5", None),
        ("local system", "S-1-5-18", None),
        ("largest authority", "S-1-281474976710655-1", None),
        ("15 largest sub-authorities", max_sub_authorities.as_str(), None),
        (
            "16 sub-authorities",
            too_many_sub_authorities.as_str(),
            Some("format"),
        ),
        (
            "authority beyond 48 bits",
            "S-1-281474976710656-1",
            Some("format"),
        ),
        ("sub-authority beyond 32 bits", "S-1-5-4294967296", Some("format")),
        ("257 characters", over_256.as_str(), Some("maxLength")),
        ("empty", "", Some("format")),
        ("no authority", "S-1-", Some("format")),
        ("revision 2", "S-2-5-18", Some("format")),
        ("lower-case s", "s-1-5-18", Some("format")),
        ("empty sub-authority", "S-1-5--18", Some("format")),
        ("trailing dash", "S-1-5-18-", Some("format")),
        ("hexadecimal", "S-1-5-0x12", Some("format")),
        ("sign", "S-1-5-+18", Some("format")),
        ("space", "S-1-5- 18", Some("format")),
        ("newline", "S-1-5-18\n", Some("format")),
        ("full-width digits", "S-1-5-１８", Some("format")),
        ("subject syntax", "S-1-5-18,CN=admin", Some("format")),
    ];
    for (case, value, rule) in cases {
        let draft = user_draft_with(|draft| draft.on_premises_security_identifier = Some(value.to_owned()));
        match rule {
            Some(rule) => assert_eq!(
                user_errors(draft),
                one("onPremisesSecurityIdentifier", rule),
                "{case}"
            ),
            None => assert_eq!(
                accepted_user(draft).on_premises_security_identifier.as_deref(),
                Some(value),
                "{case}"
            ),
        }
    }
}

#[test]
fn user_draft_reads_the_security_identifier_under_its_graph_name() {
    let draft: UserDraft = serde_json::from_value(serde_json::json!({
        "userPrincipalName": "jane@contoso.example",
        "displayName": "Jane",
        "onPremisesSecurityIdentifier": SID,
    }))
    .unwrap();
    assert_eq!(draft.on_premises_security_identifier.as_deref(), Some(SID));
    let without: UserDraft = serde_json::from_value(serde_json::json!({
        "userPrincipalName": "jane@contoso.example",
        "displayName": "Jane",
    }))
    .unwrap();
    assert_eq!(without.on_premises_security_identifier, None);
}

#[test]
fn user_external_id_rules() {
    check_user_field(
        "externalId",
        attribute_cases(256),
        |draft, value| draft.external_id = Some(value),
        |user| user.external_id.as_deref(),
    );
}

#[test]
fn user_reports_every_error_at_once_in_field_order() {
    let draft = UserDraft {
        user_principal_name: "ab".to_owned(),
        display_name: " ".to_owned(),
        mail: Some("a@b@c".to_owned()),
        on_premises_distinguished_name: Some("d".repeat(1025)),
        on_premises_sam_account_name: Some("j\tdoe".to_owned()),
        on_premises_security_identifier: Some("S-1-5-x".to_owned()),
        external_id: Some(String::new()),
    };
    assert_eq!(
        user_errors(draft),
        [
            ("userPrincipalName".to_owned(), "format"),
            ("displayName".to_owned(), "required"),
            ("mail".to_owned(), "format"),
            ("onPremisesDistinguishedName".to_owned(), "maxLength"),
            ("onPremisesSamAccountName".to_owned(), "noControlCharacters"),
            ("onPremisesSecurityIdentifier".to_owned(), "format"),
            ("externalId".to_owned(), "required"),
        ]
    );
}

#[test]
fn user_field_reports_only_its_first_broken_rule() {
    // Over-long and with a newline: the length is reported, not both.
    let draft = user_draft_with(|draft| draft.display_name = format!("{}\n", "n".repeat(256)));
    assert_eq!(user_errors(draft), one("displayName", "maxLength"));
    // A UPN with a control character is not additionally reported as `format`.
    let draft = user_draft_with(|draft| draft.user_principal_name = "a b\n".to_owned());
    assert_eq!(
        user_errors(draft),
        one("userPrincipalName", "noControlCharacters")
    );
}

#[test]
fn principal_name_key_lowercases() {
    let cases = [
        ("already lower", "jane@contoso.example", "jane@contoso.example"),
        (
            "mixed ASCII",
            "Jane.Doe@Contoso.EXAMPLE",
            "jane.doe@contoso.example",
        ),
        ("non-ASCII upper case", "ÄÖ@X.COM", "äö@x.com"),
        ("Greek and Cyrillic", "ΣΩ.ЖД@Example.Org", "σω.жд@example.org"),
        ("digits and symbols unchanged", "J_1+2@A-B.C", "j_1+2@a-b.c"),
    ];
    for (case, upn, key) in cases {
        let user = accepted_user(user_draft_with(|draft| {
            draft.user_principal_name = upn.to_owned()
        }));
        assert_eq!(user.principal_name_key(), key, "{case}");
        // The key is only for comparison: the stored value keeps its case.
        assert_eq!(user.user_principal_name, upn, "{case}");
    }
}

#[test]
fn principal_name_keys_of_case_variants_are_equal() {
    let upper = accepted_user(user_draft_with(|draft| {
        draft.user_principal_name = "ÄÖ@X.COM".to_owned()
    }));
    let lower = accepted_user(user_draft_with(|draft| {
        draft.user_principal_name = "äö@x.com".to_owned()
    }));
    assert_eq!(upper.principal_name_key(), lower.principal_name_key());
}

// ================================================================== devices

fn device_draft() -> DeviceDraft {
    DeviceDraft {
        device_name: "JANE-IPHONE".to_owned(),
        platform: Platform::Ios,
        os_version: None,
        serial_number: None,
        imei: None,
        meid: None,
        wifi_mac_address: None,
        fully_qualified_domain_name: None,
        azure_ad_device_id: None,
        user_id: None,
        external_id: None,
    }
}

fn device_draft_with(change: impl FnOnce(&mut DeviceDraft)) -> DeviceDraft {
    let mut draft = device_draft();
    change(&mut draft);
    draft
}

fn accepted_device(draft: DeviceDraft) -> Device {
    Device::parse(draft)
        .unwrap_or_else(|errors| panic!("expected the device to be accepted, got {:?}", errors.errors()))
}

fn device_errors(draft: DeviceDraft) -> FieldRules {
    match Device::parse(draft) {
        Ok(device) => panic!("expected errors, got {device:?}"),
        Err(errors) => field_rules(&errors),
    }
}

fn check_device_field(
    field: &str,
    cases: Vec<(String, String, Option<&'static str>)>,
    set: impl Fn(&mut DeviceDraft, String),
    get: impl Fn(&Device) -> Option<&str>,
) {
    for (case, value, rule) in cases {
        let draft = device_draft_with(|draft| set(draft, value.clone()));
        match rule {
            Some(rule) => assert_eq!(device_errors(draft), one(field, rule), "{field}: {case}"),
            None => assert_eq!(
                get(&accepted_device(draft)),
                Some(value.as_str()),
                "{field}: {case}"
            ),
        }
    }
}

#[test]
fn minimal_device_is_accepted_on_every_platform() {
    for platform in Platform::ALL {
        let device = accepted_device(device_draft_with(|draft| draft.platform = platform));
        assert_eq!(
            device,
            Device {
                device_name: "JANE-IPHONE".to_owned(),
                platform,
                os_version: None,
                serial_number: None,
                imei: None,
                meid: None,
                wifi_mac_address: None,
                fully_qualified_domain_name: None,
                azure_ad_device_id: None,
                user_id: None,
                external_id: None,
            },
            "{platform}"
        );
    }
}

#[test]
fn fully_specified_device_keeps_every_value() {
    let device = accepted_device(DeviceDraft {
        device_name: "JANE-LAPTOP".to_owned(),
        platform: Platform::Windows10,
        os_version: Some("10.0.22631.3447".to_owned()),
        serial_number: Some("PF3ABCDE".to_owned()),
        imei: Some("490154203237518".to_owned()),
        meid: Some("A10000009296F2".to_owned()),
        wifi_mac_address: Some("00:1A:2B:3C:4D:5E".to_owned()),
        fully_qualified_domain_name: Some("jane-laptop.corp.contoso.example".to_owned()),
        azure_ad_device_id: Some(AZURE_AD_DEVICE_ID),
        user_id: Some(PRIMARY_USER_ID),
        external_id: Some("intune-7f3e".to_owned()),
    });
    assert_eq!(
        device,
        Device {
            device_name: "JANE-LAPTOP".to_owned(),
            platform: Platform::Windows10,
            os_version: Some("10.0.22631.3447".to_owned()),
            serial_number: Some("PF3ABCDE".to_owned()),
            imei: Some("490154203237518".to_owned()),
            meid: Some("A10000009296F2".to_owned()),
            wifi_mac_address: Some("00:1A:2B:3C:4D:5E".to_owned()),
            fully_qualified_domain_name: Some("jane-laptop.corp.contoso.example".to_owned()),
            azure_ad_device_id: Some(AZURE_AD_DEVICE_ID),
            user_id: Some(PRIMARY_USER_ID),
            external_id: Some("intune-7f3e".to_owned()),
        }
    );
}

#[test]
fn device_name_rules() {
    check_device_field(
        "deviceName",
        attribute_cases(256),
        |draft, value| draft.device_name = value,
        |device| Some(device.device_name.as_str()),
    );
}

#[test]
fn os_version_rules() {
    check_device_field(
        "osVersion",
        attribute_cases(256),
        |draft, value| draft.os_version = Some(value),
        |device| device.os_version.as_deref(),
    );
}

#[test]
fn serial_number_rules() {
    check_device_field(
        "serialNumber",
        attribute_cases(256),
        |draft, value| draft.serial_number = Some(value),
        |device| device.serial_number.as_deref(),
    );
}

#[test]
fn device_external_id_rules() {
    check_device_field(
        "externalId",
        attribute_cases(256),
        |draft, value| draft.external_id = Some(value),
        |device| device.external_id.as_deref(),
    );
}

#[test]
fn imei_rules() {
    let cases = [
        ("14 digits (no check digit)", "49015420323751", None),
        ("15 digits (IMEI)", "490154203237518", None),
        ("16 digits (IMEISV)", "4901542032375186", None),
        ("all zeros", "000000000000000", None),
        ("13 digits", "4901542032375", Some("format")),
        ("17 digits", "49015420323751860", Some("format")),
        ("empty", "", Some("format")),
        ("blank", "               ", Some("format")),
        ("letters", "49015420323751A", Some("format")),
        ("hex", "ABCDEF012345678", Some("format")),
        ("spaces", "49 015420 323751 8", Some("format")),
        ("inner space, 15 characters", "4901542 3237518", Some("format")),
        ("dashes", "49-015420-323751-8", Some("format")),
        ("leading space", " 490154203237518", Some("format")),
        ("trailing newline", "490154203237518\n", Some("format")),
        ("NUL", "49015420323751\u{0}", Some("format")),
        ("plus sign", "+49015420323751", Some("format")),
        (
            "full-width digits",
            "４９０１５４２０３２３７５１８",
            Some("format"),
        ),
        ("Arabic-Indic digits", "٤٩٠١٥٤٢٠٣٢٣٧٥١", Some("format")),
    ];
    for (case, value, rule) in cases {
        let draft = device_draft_with(|draft| draft.imei = Some(value.to_owned()));
        match rule {
            Some(rule) => assert_eq!(device_errors(draft), one("imei", rule), "{case}"),
            None => assert_eq!(accepted_device(draft).imei.as_deref(), Some(value), "{case}"),
        }
    }
}

/// `(case, value, Ok(what is stored) or Err(rule))`.
type NormalisingCases<'a> = [(&'a str, &'a str, Result<&'a str, &'static str>)];

fn check_normalised_device_field(
    field: &str,
    cases: &NormalisingCases<'_>,
    set: impl Fn(&mut DeviceDraft, String),
    get: impl Fn(&Device) -> Option<&str>,
) {
    for (case, value, expected) in cases {
        let draft = device_draft_with(|draft| set(draft, (*value).to_owned()));
        match expected {
            Err(rule) => assert_eq!(device_errors(draft), one(field, rule), "{field}: {case}"),
            Ok(stored) => assert_eq!(get(&accepted_device(draft)), Some(*stored), "{field}: {case}"),
        }
    }
}

#[test]
fn meid_rules() {
    check_normalised_device_field(
        "meid",
        &[
            ("upper case", "A10000009296F2", Ok("A10000009296F2")),
            (
                "lower case is upper-cased",
                "a10000009296f2",
                Ok("A10000009296F2"),
            ),
            ("all digits", "99000000000000", Ok("99000000000000")),
            ("13 digits", "A10000009296F", Err("format")),
            ("15 digits", "A10000009296F20", Err("format")),
            ("18-digit decimal form", "270113177609606352", Err("format")),
            ("not hexadecimal", "G10000009296F2", Err("format")),
            ("empty", "", Err("format")),
            ("spaces", "A1000000 9296F2", Err("format")),
            ("newline", "A10000009296F\n", Err("format")),
            ("multi-byte", "A1000000929ü", Err("format")),
        ],
        |draft, value| draft.meid = Some(value),
        |device| device.meid.as_deref(),
    );
}

#[test]
fn wifi_mac_address_rules() {
    check_normalised_device_field(
        "wiFiMacAddress",
        &[
            ("colons", "00:1A:2B:3C:4D:5E", Ok("00:1A:2B:3C:4D:5E")),
            ("lower case", "00:1a:2b:3c:4d:5e", Ok("00:1A:2B:3C:4D:5E")),
            ("dashes", "00-1A-2B-3C-4D-5E", Ok("00:1A:2B:3C:4D:5E")),
            ("bare (Graph)", "001a2b3c4d5e", Ok("00:1A:2B:3C:4D:5E")),
            ("mixed separators", "00:1A-2B:3C:4D:5E", Err("format")),
            ("dots (Cisco)", "001A.2B3C.4D5E", Err("format")),
            ("five pairs", "00:1A:2B:3C:4D", Err("format")),
            ("seven pairs", "00:1A:2B:3C:4D:5E:6F", Err("format")),
            ("single-digit groups", "0:1A:2B:3C:4D:5E:F", Err("format")),
            ("not hexadecimal", "00:1A:2B:3C:4D:5G", Err("format")),
            ("EUI-64", "00:1A:2B:FF:FE:3C:4D:5E", Err("format")),
            ("empty", "", Err("format")),
            ("twelve multi-byte bytes", "ääääää", Err("format")),
            ("trailing newline", "001A2B3C4D5\n", Err("format")),
        ],
        |draft, value| draft.wifi_mac_address = Some(value),
        |device| device.wifi_mac_address.as_deref(),
    );
}

#[test]
fn fully_qualified_domain_name_rules() {
    let label63 = "a".repeat(63);
    let longest = format!("{label63}.{label63}.{label63}.{}", "b".repeat(61));
    let too_long = format!("{longest}c");
    let long_label = format!("{}.example", "a".repeat(64));
    check_normalised_device_field(
        "fullyQualifiedDomainName",
        &[
            (
                "typical",
                "jane-laptop.corp.contoso.example",
                Ok("jane-laptop.corp.contoso.example"),
            ),
            ("single label", "JANE-LAPTOP", Ok("JANE-LAPTOP")),
            ("digits", "123.example", Ok("123.example")),
            ("253 characters", &longest, Ok(&longest)),
            ("254 characters", &too_long, Err("maxLength")),
            ("64-character label", &long_label, Err("format")),
            ("empty", "", Err("format")),
            ("empty label", "jane..example", Err("format")),
            ("trailing dot", "jane.example.", Err("format")),
            ("leading hyphen", "-jane.example", Err("format")),
            ("trailing hyphen", "jane-.example", Err("format")),
            ("underscore", "jane_laptop.example", Err("format")),
            ("space", "jane laptop.example", Err("format")),
            ("comma", "jane,CN=x.example", Err("format")),
            ("non-ASCII (not punycode)", "bücher.example", Err("format")),
            ("newline", "jane.example\n", Err("format")),
        ],
        |draft, value| draft.fully_qualified_domain_name = Some(value),
        |device| device.fully_qualified_domain_name.as_deref(),
    );
}

#[test]
fn device_draft_reads_new_attributes_under_their_json_names() {
    let draft: DeviceDraft = serde_json::from_value(serde_json::json!({
        "deviceName": "JANE-LAPTOP",
        "platform": "windows10",
        "meid": "A10000009296F2",
        "wiFiMacAddress": "001A2B3C4D5E",
        "fullyQualifiedDomainName": "jane-laptop.contoso.example",
    }))
    .unwrap();
    let device = accepted_device(draft);
    assert_eq!(device.meid.as_deref(), Some("A10000009296F2"));
    assert_eq!(device.wifi_mac_address.as_deref(), Some("00:1A:2B:3C:4D:5E"));
    assert_eq!(
        device.fully_qualified_domain_name.as_deref(),
        Some("jane-laptop.contoso.example")
    );
}

#[test]
fn device_reports_every_error_at_once_in_field_order() {
    let draft = DeviceDraft {
        device_name: String::new(),
        platform: Platform::Android,
        os_version: Some("14\n".to_owned()),
        serial_number: Some("s".repeat(257)),
        imei: Some("1234".to_owned()),
        meid: Some("A1000000".to_owned()),
        wifi_mac_address: Some("00:1A:2B".to_owned()),
        fully_qualified_domain_name: Some("-bad-.example".to_owned()),
        azure_ad_device_id: Some(AZURE_AD_DEVICE_ID),
        user_id: Some(PRIMARY_USER_ID),
        external_id: Some("\t".to_owned()),
    };
    assert_eq!(
        device_errors(draft),
        [
            ("deviceName".to_owned(), "required"),
            ("osVersion".to_owned(), "noControlCharacters"),
            ("serialNumber".to_owned(), "maxLength"),
            ("imei".to_owned(), "format"),
            ("meid".to_owned(), "format"),
            ("wiFiMacAddress".to_owned(), "format"),
            ("fullyQualifiedDomainName".to_owned(), "format"),
            ("externalId".to_owned(), "required"),
        ]
    );
}

// ================================================================== groups

fn group_draft(group_type: GroupType) -> GroupDraft {
    GroupDraft {
        display_name: "Sales laptops".to_owned(),
        description: None,
        group_type,
        external_id: None,
    }
}

fn group_draft_with(change: impl FnOnce(&mut GroupDraft)) -> GroupDraft {
    let mut draft = group_draft(GroupType::Device);
    change(&mut draft);
    draft
}

fn accepted_group(draft: GroupDraft) -> Group {
    Group::parse(draft)
        .unwrap_or_else(|errors| panic!("expected the group to be accepted, got {:?}", errors.errors()))
}

fn group_errors(draft: GroupDraft) -> FieldRules {
    match Group::parse(draft) {
        Ok(group) => panic!("expected errors, got {group:?}"),
        Err(errors) => field_rules(&errors),
    }
}

fn check_group_field(
    field: &str,
    cases: Vec<(String, String, Option<&'static str>)>,
    set: impl Fn(&mut GroupDraft, String),
    get: impl Fn(&Group) -> Option<&str>,
) {
    for (case, value, rule) in cases {
        let draft = group_draft_with(|draft| set(draft, value.clone()));
        match rule {
            Some(rule) => assert_eq!(group_errors(draft), one(field, rule), "{field}: {case}"),
            None => assert_eq!(
                get(&accepted_group(draft)),
                Some(value.as_str()),
                "{field}: {case}"
            ),
        }
    }
}

#[test]
fn minimal_group_is_accepted_for_both_types() {
    for group_type in [GroupType::User, GroupType::Device] {
        assert_eq!(
            accepted_group(group_draft(group_type)),
            Group {
                display_name: "Sales laptops".to_owned(),
                description: None,
                group_type,
                external_id: None,
            },
            "{}",
            group_type.as_str()
        );
    }
}

#[test]
fn fully_specified_group_keeps_every_value() {
    let group = accepted_group(GroupDraft {
        display_name: "Sales staff".to_owned(),
        description: Some("Everyone in sales, synced from Entra ID".to_owned()),
        group_type: GroupType::User,
        external_id: Some("sg-sales".to_owned()),
    });
    assert_eq!(
        group,
        Group {
            display_name: "Sales staff".to_owned(),
            description: Some("Everyone in sales, synced from Entra ID".to_owned()),
            group_type: GroupType::User,
            external_id: Some("sg-sales".to_owned()),
        }
    );
}

#[test]
fn group_display_name_rules() {
    check_group_field(
        "displayName",
        attribute_cases(256),
        |draft, value| draft.display_name = value,
        |group| Some(group.display_name.as_str()),
    );
}

#[test]
fn group_description_rules() {
    check_group_field(
        "description",
        attribute_cases(1500),
        |draft, value| draft.description = Some(value),
        |group| group.description.as_deref(),
    );
}

#[test]
fn group_external_id_rules() {
    check_group_field(
        "externalId",
        attribute_cases(256),
        |draft, value| draft.external_id = Some(value),
        |group| group.external_id.as_deref(),
    );
}

#[test]
fn group_reports_every_error_at_once_in_field_order() {
    let draft = GroupDraft {
        display_name: "Sales\u{0}".to_owned(),
        description: Some("d".repeat(1501)),
        group_type: GroupType::User,
        external_id: Some("  ".to_owned()),
    };
    assert_eq!(
        group_errors(draft),
        [
            ("displayName".to_owned(), "noControlCharacters"),
            ("description".to_owned(), "maxLength"),
            ("externalId".to_owned(), "required"),
        ]
    );
}

#[test]
fn group_type_serialises_as_camel_case() {
    assert_eq!(GroupType::User.as_str(), "user");
    assert_eq!(GroupType::Device.as_str(), "device");
    for group_type in [GroupType::User, GroupType::Device] {
        let json = serde_json::to_value(group_type).unwrap();
        assert_eq!(json, serde_json::json!(group_type.as_str()));
        assert_eq!(serde_json::from_value::<GroupType>(json).unwrap(), group_type);
    }
}

#[test]
fn replacement_may_change_anything_but_the_group_type() {
    for group_type in [GroupType::User, GroupType::Device] {
        let current = accepted_group(group_draft(group_type));
        let replacement = accepted_group(GroupDraft {
            display_name: "Renamed".to_owned(),
            description: Some("New description".to_owned()),
            group_type,
            external_id: Some("new-external-id".to_owned()),
        });
        assert_eq!(
            current.check_replacement(&replacement),
            Ok(()),
            "{}",
            group_type.as_str()
        );
        assert_eq!(
            current.check_replacement(&current.clone()),
            Ok(()),
            "{}",
            group_type.as_str()
        );
    }
}

#[test]
fn replacement_may_not_change_the_group_type() {
    let cases = [
        (
            GroupType::User,
            GroupType::Device,
            "cannot change from user to device",
        ),
        (
            GroupType::Device,
            GroupType::User,
            "cannot change from device to user",
        ),
    ];
    for (from, to, message_start) in cases {
        let current = accepted_group(group_draft(from));
        let replacement = accepted_group(group_draft(to));
        let errors = current
            .check_replacement(&replacement)
            .expect_err("changing the group type must be refused");
        assert_eq!(
            field_rules(&errors),
            one("groupType", "immutable"),
            "{message_start}"
        );
        assert!(
            errors.errors()[0].message.starts_with(message_start),
            "{:?}",
            errors.errors()[0].message
        );
    }
}
