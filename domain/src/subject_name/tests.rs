//! The template grammar (accepted spellings, refusals with positions), the
//! predefined formats, expansion for one device and user, the Windows
//! encoding, and the two properties the module promises: substituted values
//! never change the RDN structure, and printing then parsing gives back what
//! was printed.

use proptest::prelude::*;
use uuid::Uuid;

use super::{
    expand_name, parse_windows_subject_name, subject_template_for, windows_subject_name, AttributeValue,
    ExpandedName, ExpandedSan, ExpansionError, MissingValue, NameAttribute, NameContext, Rdn, Subject,
    SubjectTemplate, TemplateErrorKind, ValuePart, ValueTemplate, Variable, VariableScope,
};
use crate::{
    directory::{Device, User},
    platform::Platform,
    scep_profile::{
        CertificateType, KeySize, KeyUsage, RenewalThreshold, SanType, ScepServerUrl, ScepSettings,
        SubjectAlternativeName, SubjectNameFormat,
    },
};

const DEVICE_ID: Uuid = Uuid::from_u128(0x0193_4d2e_7c1a_7b3e_9f00_0000_0000_0d01);
const AZURE_AD_DEVICE_ID: Uuid = Uuid::from_u128(0x8a1f_3c2e_7c1a_4b3e_9f00_0000_0000_0aad);
const SID: &str = "S-1-5-21-3623811015-3361044348-30300820-1013";
const SID_URI: &str = "tag:microsoft.com,2022-09-14:sid:S-1-5-21-3623811015-3361044348-30300820-1013";

fn user() -> User {
    User {
        user_principal_name: "jane.doe@contoso.example".to_owned(),
        display_name: "Jane Doe".to_owned(),
        mail: Some("jane@contoso.example".to_owned()),
        on_premises_distinguished_name: Some(
            "CN=Jane Doe,OU=UserAccounts,DC=corp,DC=contoso,DC=com".to_owned(),
        ),
        on_premises_sam_account_name: Some("jdoe".to_owned()),
        on_premises_security_identifier: Some(SID.to_owned()),
        external_id: None,
    }
}

fn device() -> Device {
    Device {
        device_name: "JANE-LAPTOP".to_owned(),
        platform: Platform::Windows10,
        os_version: None,
        serial_number: Some("PF3ABCDE".to_owned()),
        imei: Some("490154203237518".to_owned()),
        meid: Some("A10000009296F2".to_owned()),
        wifi_mac_address: Some("00:1A:2B:3C:4D:5E".to_owned()),
        fully_qualified_domain_name: Some("jane-laptop.corp.contoso.example".to_owned()),
        azure_ad_device_id: Some(AZURE_AD_DEVICE_ID),
        user_id: None,
        external_id: None,
    }
}

fn context<'a>(device: &'a Device, user: Option<&'a User>) -> NameContext<'a> {
    NameContext {
        device_id: DEVICE_ID,
        device,
        user,
    }
}

fn settings(
    certificate_type: CertificateType,
    format: SubjectNameFormat,
    format_string: Option<&str>,
    sans: &[(SanType, &str)],
) -> ScepSettings {
    ScepSettings {
        certificate_type,
        validity_period: None,
        key_storage_provider: None,
        subject_name_format: format,
        subject_name_format_string: format_string.map(str::to_owned),
        custom_subject_alternative_names: sans
            .iter()
            .map(|(san_type, name)| SubjectAlternativeName {
                san_type: *san_type,
                name: (*name).to_owned(),
            })
            .collect(),
        key_usage: vec![KeyUsage::DigitalSignature],
        key_size: KeySize::Bits2048,
        hash_algorithm: None,
        extended_key_usages: Vec::new(),
        renewal_threshold_percentage: RenewalThreshold::DEFAULT,
        scep_server_urls: vec![
            ScepServerUrl::parse("https://ndes.contoso.example/certsrv/mscep/mscep.dll").unwrap(),
        ],
    }
}

fn custom(certificate_type: CertificateType, template: &str, sans: &[(SanType, &str)]) -> ScepSettings {
    settings(certificate_type, SubjectNameFormat::Custom, Some(template), sans)
}

/// A subject written out: RDNs of `(attribute, value)`.
type Rdns<'a> = &'a [&'a [(NameAttribute, &'a str)]];

fn subject(rdns: Rdns<'_>) -> Subject {
    Subject(
        rdns.iter()
            .map(|rdn| {
                Rdn(rdn
                    .iter()
                    .map(|(attribute, value)| AttributeValue {
                        attribute: *attribute,
                        value: (*value).to_owned(),
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

fn missing_value(variable: &'static str, reason: &str) -> MissingValue {
    MissingValue {
        variable,
        reason: reason.to_owned(),
    }
}

fn missing(variable: &'static str, reason: &str) -> ExpansionError {
    ExpansionError::MissingValues(vec![missing_value(variable, reason)])
}

// ================================================================== parsing

#[test]
fn accepted_templates_print_canonically() {
    let cases = [
        (
            "seed example",
            "CN={{UserName}},E={{EmailAddress}},OU=Mobile,O=Finance Group,L=Redmond,ST=Washington,C=US",
            "CN={{UserName}},E={{EmailAddress}},OU=Mobile,O=Finance Group,L=Redmond,S=Washington,C=US",
        ),
        ("keywords are case-insensitive", "cn=a,Ou=b,st=c", "CN=a,OU=b,S=c"),
        (
            "keyword aliases",
            "EMAIL=a,S=b,TITLE=c,GN=d,GivenName=e,INITIALS=f",
            "E=a,S=b,T=c,G=d,G=e,I=f",
        ),
        (
            "every other keyword",
            "DC=corp,STREET=1 Main St,SERIALNUMBER=42,T=Eng,G=Jane,I=JD,SN=Doe,UID=jdoe,L=x,O=y",
            "DC=corp,STREET=1 Main St,SERIALNUMBER=42,T=Eng,G=Jane,I=JD,SN=Doe,OID.0.9.2342.19200300.100.1.1=jdoe,L=x,O=y",
        ),
        ("semicolon separates RDNs", "CN=a;O=b", "CN=a,O=b"),
        ("plus joins a multi-valued RDN", "CN=a+OU=b,O=c", "CN=a+OU=b,O=c"),
        (
            "whitespace around keywords and values is dropped",
            "  CN =  Jane Doe  ,\tO= Contoso ",
            "CN=Jane Doe,O=Contoso",
        ),
        (
            "quoted value keeps separators",
            "CN=\"Doe, Jane; +=\"",
            "CN=\"Doe, Jane; +=\"",
        ),
        (
            "doubled quote inside quotes",
            "O=\"Contoso \"\"R&D\"\"\"",
            "O=\"Contoso \"\"R&D\"\"\"",
        ),
        (
            "quoted edge whitespace is kept",
            "CN=\" a \" , O=b",
            "CN=\" a \",O=b",
        ),
        ("unneeded quotes are dropped", "CN=\"plain\"", "CN=plain"),
        (
            "backslash is literal",
            "CN=DOMAIN\\jdoe,O=a\\",
            "CN=DOMAIN\\jdoe,O=a\\",
        ),
        (
            "variable inside quotes",
            "CN=\"{{UserName}}, Contoso\"",
            "CN=\"{{UserName}}, Contoso\"",
        ),
        (
            "variable between literals",
            "CN=user-{{DeviceName}}-x",
            "CN=user-{{DeviceName}}-x",
        ),
        (
            "AzureADDeviceId alias",
            "CN={{AzureADDeviceId}}",
            "CN={{AAD_Device_ID}}",
        ),
        ("SERIALNUMBER alias", "CN={{SERIALNUMBER}}", "CN={{SerialNumber}}"),
        (
            "Device_Serial alias",
            "CN={{Device_Serial}}",
            "CN={{SerialNumber}}",
        ),
        ("IMEI alias", "CN={{IMEI}}", "CN={{IMEINumber}}"),
        ("Device_IMEI alias", "CN={{Device_IMEI}}", "CN={{IMEINumber}}"),
        (
            "brace run: the last two open the variable",
            "CN={{{UserName}}}",
            "CN={{{UserName}}}",
        ),
        ("single braces are literal", "CN={a},O=}b{", "CN={a},O=}b{"),
        ("country in lower case", "C=us", "C=us"),
        ("non-ASCII values", "O=Bücher 山田", "O=Bücher 山田"),
        (
            "angle brackets and hash need quotes when printed",
            "O=a<b>#c",
            "O=\"a<b>#c\"",
        ),
    ];
    for (case, text, canonical) in cases {
        let template = SubjectTemplate::parse(text).unwrap_or_else(|error| panic!("{case}: {error}"));
        assert_eq!(template.to_template_string(), canonical, "{case}");
        assert_eq!(SubjectTemplate::parse(canonical), Ok(template), "{case}");
    }
}

#[test]
fn parsed_template_keeps_rdn_structure_and_parts() {
    let template = SubjectTemplate::parse("CN={{{UserName}}}+OU=x {{DeviceName}},C=US").unwrap();
    let structure: Vec<Vec<(NameAttribute, Vec<ValuePart>)>> = template
        .rdns()
        .iter()
        .map(|rdn| {
            rdn.attributes()
                .iter()
                .map(|attribute| (attribute.attribute(), attribute.value().parts().to_vec()))
                .collect()
        })
        .collect();
    assert_eq!(
        structure,
        [
            vec![
                (
                    NameAttribute::CommonName,
                    vec![
                        ValuePart::Literal("{".to_owned()),
                        ValuePart::Variable(Variable::UserName),
                        ValuePart::Literal("}".to_owned()),
                    ]
                ),
                (
                    NameAttribute::OrganizationalUnit,
                    vec![
                        ValuePart::Literal("x ".to_owned()),
                        ValuePart::Variable(Variable::DeviceName),
                    ]
                ),
            ],
            vec![(NameAttribute::Country, vec![ValuePart::Literal("US".to_owned())])],
        ]
    );
    assert_eq!(template.variables(), [Variable::UserName, Variable::DeviceName]);
}

#[test]
fn refused_templates_report_position_kind_and_reason() {
    use TemplateErrorKind::{Syntax, UnknownVariable};
    let cases = [
        ("", 0, Syntax, "the subject is empty"),
        ("   ", 0, Syntax, "the subject is empty"),
        ("CN", 2, Syntax, "expected `=` after `CN`"),
        ("CN Jane", 7, Syntax, "expected `=` after `CN Jane`"),
        ("=a", 0, Syntax, "expected KEYWORD=value, found `=`"),
        ("XX=a", 0, Syntax, "unknown attribute `XX`"),
        ("OID.2.5.4.3=a", 0, Syntax, "unknown attribute `OID.2.5.4.3`"),
        (
            "CN=a, Email Address=b",
            6,
            Syntax,
            "unknown attribute `Email Address`",
        ),
        (",CN=a", 0, Syntax, "expected KEYWORD=value, found `,`"),
        ("CN=a,,O=b", 5, Syntax, "expected KEYWORD=value, found `,`"),
        ("CN=a;;O=b", 5, Syntax, "expected KEYWORD=value, found `;`"),
        ("CN=a,", 5, Syntax, "expected KEYWORD=value, found the end"),
        ("CN=a, ", 6, Syntax, "expected KEYWORD=value, found the end"),
        ("CN=a+", 5, Syntax, "expected KEYWORD=value, found the end"),
        ("CN=a++O=b", 5, Syntax, "expected KEYWORD=value, found `+`"),
        ("CN=", 3, Syntax, "the value of CN is empty"),
        ("CN=  ,O=b", 5, Syntax, "the value of CN is empty"),
        ("O=b,CN=\"\"", 7, Syntax, "the value of CN is empty"),
        ("CN=\"   \"", 3, Syntax, "the value of CN is empty"),
        ("CN=\"abc", 3, Syntax, "unterminated quoted value"),
        ("CN=\"a\"\"", 3, Syntax, "unterminated quoted value"),
        (
            "CN=\"a\"b",
            6,
            Syntax,
            "expected `,`, `;` or `+` after the closing quote, found `b`",
        ),
        ("CN=a\"b\"", 4, Syntax, "`\"` inside an unquoted value"),
        ("CN=a=b", 4, Syntax, "`=` inside an unquoted value"),
        ("CN=a\\,b", 7, Syntax, "expected `=` after `b`"),
        ("CN={{UserName", 3, Syntax, "`{{` without a matching `}}`"),
        ("CN={{ UserName }}", 3, Syntax, "`{{` without a matching `}}`"),
        ("CN=x{{User-Name}}", 4, Syntax, "`{{` without a matching `}}`"),
        ("CN={{UserName},O=a}}", 3, Syntax, "`{{` without a matching `}}`"),
        ("CN={{}}", 3, Syntax, "empty variable"),
        (
            "CN={{Foo}}",
            3,
            UnknownVariable,
            "unknown variable {{Foo}}; known variables: {{UserName}}, ",
        ),
        (
            "CN={{username}}",
            3,
            UnknownVariable,
            "unknown variable {{username}}; names are case-sensitive: did you mean {{UserName}}?",
        ),
        ("CN={{EASID}}", 3, UnknownVariable, "unknown variable {{EASID}}"),
        ("CN=\"{{Nope}}\"", 4, UnknownVariable, "unknown variable {{Nope}}"),
        ("C=USA", 2, Syntax, "C must be a two-letter country code"),
        ("C=U", 2, Syntax, "C must be a two-letter country code"),
        ("C=1A", 2, Syntax, "C must be a two-letter country code"),
        ("C=Ü", 2, Syntax, "C must be a two-letter country code"),
        ("C=\"U S\"", 2, Syntax, "C must be a two-letter country code"),
        (
            "C={{IMEI}}",
            2,
            Syntax,
            "C takes a two-letter country code, not a variable",
        ),
        // Positions count characters, not bytes: `ü` is two bytes.
        ("CN=Jürgen,XX=a", 10, Syntax, "unknown attribute `XX`"),
    ];
    for (text, position, kind, reason) in cases {
        let error = SubjectTemplate::parse(text).expect_err(text);
        assert_eq!(
            (error.position, error.kind),
            (position, kind),
            "{text:?}: {error}"
        );
        assert!(error.reason.starts_with(reason), "{text:?}: {:?}", error.reason);
    }
}

#[test]
fn long_unknown_variable_names_are_shortened_in_the_reason() {
    let name = "X".repeat(500);
    let error = SubjectTemplate::parse(&format!("CN={{{{{name}}}}}")).unwrap_err();
    assert_eq!(error.kind, TemplateErrorKind::UnknownVariable);
    assert!(error
        .reason
        .starts_with(&format!("unknown variable {{{{{}…}}}}", "X".repeat(40))));
    assert!(error.reason.len() < 700, "{}", error.reason.len());
}

#[test]
fn template_error_displays_position_then_reason() {
    let error = SubjectTemplate::parse("CN={{Foo}}").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("at position 3: unknown variable {{Foo}}"),
        "{error}"
    );
}

#[test]
fn device_certificates_refuse_user_variables_at_their_position() {
    let error = SubjectTemplate::parse_for("CN={{DeviceName}},E={{EmailAddress}}", CertificateType::Device)
        .unwrap_err();
    assert_eq!(error.position, 20);
    assert_eq!(error.kind, TemplateErrorKind::UserVariableOnDeviceCertificate);
    assert!(
        error.reason.starts_with("{{EmailAddress}} is a user variable"),
        "{error}"
    );

    for variable in Variable::ALL {
        let text = format!("CN=x{variable}");
        let for_user = SubjectTemplate::parse_for(&text, CertificateType::User);
        assert!(for_user.is_ok(), "{text}");
        let for_device = SubjectTemplate::parse_for(&text, CertificateType::Device);
        match variable.scope() {
            VariableScope::Device => assert!(for_device.is_ok(), "{text}"),
            VariableScope::User => {
                let error = for_device.unwrap_err();
                assert_eq!(
                    (error.position, error.kind),
                    (4, TemplateErrorKind::UserVariableOnDeviceCertificate),
                    "{text}"
                );
            }
        }
        let san = ValueTemplate::parse_for(&format!("a{variable}"), CertificateType::Device);
        assert_eq!(
            san.is_err(),
            variable.scope() == VariableScope::User,
            "SAN {variable}"
        );
    }
    // Syntax comes first: a broken template is reported as such.
    let error = SubjectTemplate::parse_for("CN={{UserName}},XX=a", CertificateType::Device).unwrap_err();
    assert_eq!(error.kind, TemplateErrorKind::Syntax);
}

#[test]
fn value_templates_are_literal_text_and_variables() {
    let cases = [
        (
            "{{DeviceName}}.contoso.example",
            vec![
                ValuePart::Variable(Variable::DeviceName),
                ValuePart::Literal(".contoso.example".to_owned()),
            ],
        ),
        (
            "CN=a,O=\"b\";c+d\\",
            vec![ValuePart::Literal("CN=a,O=\"b\";c+d\\".to_owned())],
        ),
        (
            " {{UserPrincipalName}} ",
            vec![
                ValuePart::Literal(" ".to_owned()),
                ValuePart::Variable(Variable::UserPrincipalName),
                ValuePart::Literal(" ".to_owned()),
            ],
        ),
        (
            "{{{IMEI}}}",
            vec![
                ValuePart::Literal("{".to_owned()),
                ValuePart::Variable(Variable::ImeiNumber),
                ValuePart::Literal("}".to_owned()),
            ],
        ),
    ];
    for (text, parts) in cases {
        let template = ValueTemplate::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
        assert_eq!(template.parts(), parts, "{text}");
        assert_eq!(
            ValueTemplate::parse(&template.to_template_string()),
            Ok(template),
            "{text}"
        );
    }
}

#[test]
fn refused_value_templates_report_position_and_kind() {
    use TemplateErrorKind::{Syntax, UnknownVariable};
    let cases = [
        ("", 0, Syntax),
        ("   ", 0, Syntax),
        ("{{Foo}}", 0, UnknownVariable),
        ("x{{UserName", 1, Syntax),
        ("a.{{DeviceName}}.{{ DeviceName }}", 17, Syntax),
    ];
    for (text, position, kind) in cases {
        let error = ValueTemplate::parse(text).expect_err(text);
        assert_eq!(
            (error.position, error.kind),
            (position, kind),
            "{text:?}: {error}"
        );
    }
}

// ================================================================== variables

#[test]
fn every_documented_spelling_names_one_variable() {
    let cases = [
        ("UserName", Variable::UserName, VariableScope::User),
        (
            "UserPrincipalName",
            Variable::UserPrincipalName,
            VariableScope::User,
        ),
        ("EmailAddress", Variable::EmailAddress, VariableScope::User),
        (
            "OnPrem_Distinguished_Name",
            Variable::OnPremDistinguishedName,
            VariableScope::User,
        ),
        (
            "onPremisesSamAccountName",
            Variable::OnPremisesSamAccountName,
            VariableScope::User,
        ),
        (
            "OnPremisesSecurityIdentifier",
            Variable::OnPremisesSecurityIdentifier,
            VariableScope::User,
        ),
        ("AAD_Device_ID", Variable::AadDeviceId, VariableScope::Device),
        ("AzureADDeviceId", Variable::AadDeviceId, VariableScope::Device),
        ("DeviceId", Variable::DeviceId, VariableScope::Device),
        ("DeviceName", Variable::DeviceName, VariableScope::Device),
        ("SERIALNUMBER", Variable::SerialNumber, VariableScope::Device),
        ("SerialNumber", Variable::SerialNumber, VariableScope::Device),
        ("Device_Serial", Variable::SerialNumber, VariableScope::Device),
        ("IMEINumber", Variable::ImeiNumber, VariableScope::Device),
        ("IMEI", Variable::ImeiNumber, VariableScope::Device),
        ("Device_IMEI", Variable::ImeiNumber, VariableScope::Device),
        ("MEID", Variable::Meid, VariableScope::Device),
        ("WiFiMacAddress", Variable::WifiMacAddress, VariableScope::Device),
        (
            "FullyQualifiedDomainName",
            Variable::FullyQualifiedDomainName,
            VariableScope::Device,
        ),
    ];
    for (name, variable, scope) in cases {
        assert_eq!(Variable::from_name(name), Some(variable), "{name}");
        assert_eq!(variable.scope(), scope, "{name}");
    }
    for name in [
        "username",
        "USERNAME",
        "Imei",
        "serialnumber",
        "AAD_DEVICE_ID",
        "",
        "User Name",
    ] {
        assert_eq!(Variable::from_name(name), None, "{name}");
    }
    for variable in Variable::ALL {
        assert_eq!(Variable::from_name(variable.name()), Some(variable));
        assert_eq!(variable.to_string(), format!("{{{{{}}}}}", variable.name()));
    }
}

// ================================================================== formats

#[test]
fn predefined_formats_map_to_templates() {
    use CertificateType::{Device, User};
    use SubjectNameFormat::*;
    let cases = [
        (NotConfigured, User, None),
        (NotConfigured, Device, None),
        (CommonName, User, Some("CN={{UserName}}")),
        (CommonName, Device, Some("CN={{AAD_Device_ID}}")),
        (
            CommonNameIncludingEmail,
            User,
            Some("CN={{UserName}},E={{EmailAddress}}"),
        ),
        (CommonNameAsEmail, User, Some("CN={{EmailAddress}}")),
        (CommonNameAsImei, User, Some("CN={{IMEINumber}}")),
        (CommonNameAsImei, Device, Some("CN={{IMEINumber}}")),
        (CommonNameAsSerialNumber, User, Some("CN={{SerialNumber}}")),
        (CommonNameAsSerialNumber, Device, Some("CN={{SerialNumber}}")),
        (Custom, User, None),
    ];
    for (format, certificate_type, expected) in cases {
        let template = subject_template_for(format, certificate_type, None);
        assert_eq!(
            template
                .as_ref()
                .map(SubjectTemplate::to_template_string)
                .as_deref(),
            expected,
            "{format:?} {certificate_type:?}"
        );
        if let Some(expected) = expected {
            assert_eq!(template, SubjectTemplate::parse(expected).ok(), "{format:?}");
        }
    }
    let custom = SubjectTemplate::parse("CN={{DeviceName}},O=Contoso").unwrap();
    assert_eq!(
        subject_template_for(Custom, Device, Some(&custom)),
        Some(custom.clone())
    );
    assert_eq!(
        subject_template_for(CommonName, Device, Some(&custom)).map(|t| t == custom),
        Some(false)
    );
}

#[test]
fn only_the_email_formats_read_the_user_of_a_device_certificate() {
    use SubjectNameFormat::*;
    for format in [
        NotConfigured,
        CommonName,
        CommonNameIncludingEmail,
        CommonNameAsEmail,
        CommonNameAsImei,
        CommonNameAsSerialNumber,
        Custom,
    ] {
        let expected = match format {
            CommonNameIncludingEmail => Some(Variable::UserName),
            CommonNameAsEmail => Some(Variable::EmailAddress),
            _ => None,
        };
        assert_eq!(
            super::user_variable_of_format(format, CertificateType::Device),
            expected,
            "{format:?}"
        );
        assert_eq!(
            super::user_variable_of_format(format, CertificateType::User),
            None
        );
    }
}

// ================================================================== expansion

#[test]
fn seed_example_expands_in_template_order() {
    let (device, user) = (device(), user());
    let settings = custom(
        CertificateType::User,
        "CN={{UserName}},E={{EmailAddress}},OU=Mobile,O=Finance Group,L=Redmond,ST=Washington,C=US",
        &[],
    );
    let name = expand_name(&settings, &context(&device, Some(&user))).unwrap();
    assert_eq!(
        name,
        ExpandedName {
            subject: subject(&[
                &[(NameAttribute::CommonName, "jane.doe@contoso.example")],
                &[(NameAttribute::Email, "jane@contoso.example")],
                &[(NameAttribute::OrganizationalUnit, "Mobile")],
                &[(NameAttribute::Organization, "Finance Group")],
                &[(NameAttribute::Locality, "Redmond")],
                &[(NameAttribute::State, "Washington")],
                &[(NameAttribute::Country, "US")],
            ]),
            subject_alternative_names: Vec::new(),
        }
    );
}

#[test]
fn every_variable_reads_its_attribute() {
    let (device, user) = (device(), user());
    let cases = [
        (Variable::UserName, "jane.doe@contoso.example"),
        (Variable::UserPrincipalName, "jane.doe@contoso.example"),
        (Variable::EmailAddress, "jane@contoso.example"),
        (
            Variable::OnPremDistinguishedName,
            "CN=Jane Doe,OU=UserAccounts,DC=corp,DC=contoso,DC=com",
        ),
        (Variable::OnPremisesSamAccountName, "jdoe"),
        (Variable::OnPremisesSecurityIdentifier, SID),
        (Variable::AadDeviceId, "8a1f3c2e-7c1a-4b3e-9f00-000000000aad"),
        (Variable::DeviceId, "01934d2e-7c1a-7b3e-9f00-000000000d01"),
        (Variable::DeviceName, "JANE-LAPTOP"),
        (Variable::SerialNumber, "PF3ABCDE"),
        (Variable::ImeiNumber, "490154203237518"),
        (Variable::Meid, "A10000009296F2"),
        (Variable::WifiMacAddress, "00:1A:2B:3C:4D:5E"),
        (
            Variable::FullyQualifiedDomainName,
            "jane-laptop.corp.contoso.example",
        ),
    ];
    assert_eq!(cases.len(), Variable::ALL.len());
    for (variable, expected) in cases {
        assert_eq!(
            variable.value(&context(&device, Some(&user))).as_deref(),
            Ok(expected),
            "{variable}"
        );
    }
}

#[test]
fn device_common_name_is_the_azure_ad_device_id() {
    let device = device();
    let settings = settings(CertificateType::Device, SubjectNameFormat::CommonName, None, &[]);
    let name = expand_name(&settings, &context(&device, None)).unwrap();
    assert_eq!(
        name.subject,
        subject(&[&[(NameAttribute::CommonName, "8a1f3c2e-7c1a-4b3e-9f00-000000000aad")]])
    );
}

#[test]
fn predefined_formats_expand_for_a_user_certificate() {
    use SubjectNameFormat::*;
    let (device, user) = (device(), user());
    let cases: [(SubjectNameFormat, Rdns<'_>); 6] = [
        (NotConfigured, &[]),
        (
            CommonName,
            &[&[(NameAttribute::CommonName, "jane.doe@contoso.example")]],
        ),
        (
            CommonNameIncludingEmail,
            &[
                &[(NameAttribute::CommonName, "jane.doe@contoso.example")],
                &[(NameAttribute::Email, "jane@contoso.example")],
            ],
        ),
        (
            CommonNameAsEmail,
            &[&[(NameAttribute::CommonName, "jane@contoso.example")]],
        ),
        (
            CommonNameAsImei,
            &[&[(NameAttribute::CommonName, "490154203237518")]],
        ),
        (
            CommonNameAsSerialNumber,
            &[&[(NameAttribute::CommonName, "PF3ABCDE")]],
        ),
    ];
    for (format, rdns) in cases {
        let settings = settings(CertificateType::User, format, None, &[]);
        let name = expand_name(&settings, &context(&device, Some(&user))).unwrap();
        assert_eq!(name.subject, subject(rdns), "{format:?}");
    }
}

#[test]
fn not_configured_has_no_subject_but_keeps_the_sans() {
    let (device, user) = (device(), user());
    let settings = settings(
        CertificateType::User,
        SubjectNameFormat::NotConfigured,
        None,
        &[(SanType::UserPrincipalName, "{{UserPrincipalName}}")],
    );
    let name = expand_name(&settings, &context(&device, Some(&user))).unwrap();
    assert_eq!(name.subject, Subject::default());
    assert_eq!(windows_subject_name(&name.subject), "");
    assert_eq!(
        name.subject_alternative_names,
        [san(SanType::UserPrincipalName, "jane.doe@contoso.example")]
    );
}

#[test]
fn a_variable_without_a_value_is_a_per_device_error() {
    let full_device = device();
    let full_user = user();
    let without_user = |template: &str| (template.to_owned(), full_device.clone(), None::<User>);
    let with_device = |template: &str, change: fn(&mut Device)| {
        let mut device = full_device.clone();
        change(&mut device);
        (template.to_owned(), device, Some(full_user.clone()))
    };
    let with_user = |template: &str, change: fn(&mut User)| {
        let mut user = full_user.clone();
        change(&mut user);
        (template.to_owned(), full_device.clone(), Some(user))
    };
    let cases = [
        (
            without_user("CN={{UserName}}"),
            missing("UserName", "the device has no primary user"),
        ),
        (
            without_user("CN={{DeviceName}},E={{EmailAddress}}"),
            missing("EmailAddress", "the device has no primary user"),
        ),
        (
            with_user("CN={{UserName}},E={{EmailAddress}}", |user| user.mail = None),
            missing("EmailAddress", "the user's mail address is not set"),
        ),
        (
            with_user("CN={{OnPrem_Distinguished_Name}}", |user| {
                user.on_premises_distinguished_name = None
            }),
            missing(
                "OnPrem_Distinguished_Name",
                "the user's onPremisesDistinguishedName is not set",
            ),
        ),
        (
            with_user("CN={{onPremisesSamAccountName}}", |user| {
                user.on_premises_sam_account_name = None
            }),
            missing(
                "onPremisesSamAccountName",
                "the user's onPremisesSamAccountName is not set",
            ),
        ),
        (
            with_device("CN={{IMEI}}", |device| device.imei = None),
            missing("IMEINumber", "the device's imei is not set"),
        ),
        (
            with_device("CN={{SERIALNUMBER}}", |device| device.serial_number = None),
            missing("SerialNumber", "the device's serialNumber is not set"),
        ),
        (
            with_device("CN={{AzureADDeviceId}}", |device| {
                device.azure_ad_device_id = None
            }),
            missing("AAD_Device_ID", "the device's azureADDeviceId is not set"),
        ),
        (
            with_device("CN={{MEID}}", |device| device.meid = None),
            missing("MEID", "the device's meid is not set"),
        ),
        (
            with_device("CN={{WiFiMacAddress}}", |device| device.wifi_mac_address = None),
            missing("WiFiMacAddress", "the device's wiFiMacAddress is not set"),
        ),
        (
            with_device("CN={{FullyQualifiedDomainName}}", |device| {
                device.fully_qualified_domain_name = None
            }),
            missing(
                "FullyQualifiedDomainName",
                "the device's fullyQualifiedDomainName is not set",
            ),
        ),
        // Stored values are never blank, but expansion does not rely on it.
        (
            with_device("CN=\" {{DeviceName}} \"", |device| {
                device.device_name = "  ".to_owned()
            }),
            missing("DeviceName", "the device's deviceName is blank"),
        ),
    ];
    for ((template, device, user), expected) in cases {
        let settings = custom(CertificateType::User, &template, &[]);
        assert_eq!(
            expand_name(&settings, &context(&device, user.as_ref())),
            Err(expected),
            "{template}"
        );
    }
}

#[test]
fn missing_value_error_names_the_variable() {
    let error = missing("IMEINumber", "the device's imei is not set");
    assert_eq!(
        error.to_string(),
        "{{IMEINumber}} has no value: the device's imei is not set"
    );
}

#[test]
fn every_missing_value_of_subject_and_sans_is_named_once_in_order_of_use() {
    let mut device = device();
    device.serial_number = None;
    let mut user = user();
    user.mail = None;
    user.on_premises_sam_account_name = None;
    let settings = custom(
        CertificateType::User,
        "CN={{UserName}},E={{EmailAddress}},SERIALNUMBER={{SerialNumber}}",
        &[
            (SanType::EmailAddress, "{{EmailAddress}}"),
            (
                SanType::UserPrincipalName,
                "{{onPremisesSamAccountName}}@contoso.example",
            ),
        ],
    );

    let error = expand_name(&settings, &context(&device, Some(&user))).unwrap_err();

    assert_eq!(
        error,
        ExpansionError::MissingValues(vec![
            missing_value("EmailAddress", "the user's mail address is not set"),
            missing_value("SerialNumber", "the device's serialNumber is not set"),
            missing_value(
                "onPremisesSamAccountName",
                "the user's onPremisesSamAccountName is not set"
            ),
        ])
    );
    assert_eq!(
        error.to_string(),
        "{{EmailAddress}} has no value: the user's mail address is not set; \
         {{SerialNumber}} has no value: the device's serialNumber is not set; \
         {{onPremisesSamAccountName}} has no value: the user's onPremisesSamAccountName is not set"
    );
}

#[test]
fn without_a_primary_user_every_user_variable_is_named() {
    let device = device();
    let settings = custom(
        CertificateType::User,
        "CN={{UserName}},E={{EmailAddress}},OU={{DeviceName}}",
        &[(SanType::UserPrincipalName, "{{UserPrincipalName}}")],
    );

    let error = expand_name(&settings, &context(&device, None)).unwrap_err();

    let ExpansionError::MissingValues(missing) = error else {
        panic!("{error:?}")
    };
    let named: Vec<&str> = missing.iter().map(|missing| missing.variable).collect();
    assert_eq!(named, ["UserName", "EmailAddress", "UserPrincipalName"]);
}

#[test]
fn missing_values_in_predefined_formats_and_sans_are_errors_too() {
    let mut device = device();
    device.imei = None;
    device.azure_ad_device_id = None;
    let user = user();
    let imei = settings(
        CertificateType::User,
        SubjectNameFormat::CommonNameAsImei,
        None,
        &[],
    );
    assert_eq!(
        expand_name(&imei, &context(&device, Some(&user))),
        Err(missing("IMEINumber", "the device's imei is not set"))
    );
    let device_cn = settings(CertificateType::Device, SubjectNameFormat::CommonName, None, &[]);
    assert_eq!(
        expand_name(&device_cn, &context(&device, None)),
        Err(missing(
            "AAD_Device_ID",
            "the device's azureADDeviceId is not set"
        ))
    );
    let san = settings(
        CertificateType::User,
        SubjectNameFormat::NotConfigured,
        None,
        &[
            (SanType::DomainNameService, "{{DeviceName}}.x"),
            (SanType::EmailAddress, "{{EmailAddress}}"),
        ],
    );
    assert_eq!(
        expand_name(&san, &context(&device, None)),
        Err(missing("EmailAddress", "the device has no primary user"))
    );
}

#[test]
fn sans_expand_in_profile_order() {
    let (device, user) = (device(), user());
    let settings = custom(
        CertificateType::User,
        "CN={{UserName}}",
        &[
            (SanType::DomainNameService, "{{DeviceName}}.contoso.example"),
            (SanType::UserPrincipalName, "{{UserPrincipalName}}"),
            (SanType::EmailAddress, "{{EmailAddress}}"),
            (SanType::UniversalResourceIdentifier, "urn:device:{{DeviceId}}"),
        ],
    );
    let name = expand_name(&settings, &context(&device, Some(&user))).unwrap();
    assert_eq!(
        name.subject_alternative_names,
        [
            san(SanType::DomainNameService, "JANE-LAPTOP.contoso.example"),
            san(SanType::UserPrincipalName, "jane.doe@contoso.example"),
            san(SanType::EmailAddress, "jane@contoso.example"),
            san(
                SanType::UniversalResourceIdentifier,
                "urn:device:01934d2e-7c1a-7b3e-9f00-000000000d01"
            ),
        ]
    );
}

#[test]
fn security_identifier_adds_the_strong_mapping_uri_once() {
    use SanType::{EmailAddress, UniversalResourceIdentifier as Uri, UserPrincipalName as Upn};
    let (device, user) = (device(), user());
    let upn = san(Upn, "jane.doe@contoso.example");
    type Case<'a> = (&'a str, Vec<(SanType, &'a str)>, Vec<ExpandedSan>);
    let cases: [Case<'_>; 6] = [
        (
            "a URI that is only the variable becomes the mapping URI in place",
            vec![
                (Uri, "{{OnPremisesSecurityIdentifier}}"),
                (Upn, "{{UserPrincipalName}}"),
            ],
            vec![san(Uri, SID_URI), upn.clone()],
        ),
        (
            "the URI written out in full is not repeated",
            vec![
                (Upn, "{{UserPrincipalName}}"),
                (
                    Uri,
                    "tag:microsoft.com,2022-09-14:sid:{{OnPremisesSecurityIdentifier}}",
                ),
            ],
            vec![upn.clone(), san(Uri, SID_URI)],
        ),
        (
            "another use keeps its SAN and appends the mapping URI",
            vec![
                (
                    EmailAddress,
                    "{{OnPremisesSecurityIdentifier}}@sid.contoso.example",
                ),
                (Upn, "{{UserName}}"),
            ],
            vec![
                san(EmailAddress, &format!("{SID}@sid.contoso.example")),
                upn.clone(),
                san(Uri, SID_URI),
            ],
        ),
        (
            "two uses add one mapping URI",
            vec![
                (Uri, "{{OnPremisesSecurityIdentifier}}"),
                (Upn, "{{OnPremisesSecurityIdentifier}}@contoso.example"),
            ],
            vec![san(Uri, SID_URI), san(Upn, &format!("{SID}@contoso.example"))],
        ),
        (
            "the variable in a non-URI SAN alone appends the mapping URI",
            vec![(Upn, "{{OnPremisesSecurityIdentifier}}")],
            vec![san(Upn, SID), san(Uri, SID_URI)],
        ),
        (
            "no variable, no mapping URI",
            vec![(Upn, "{{UserName}}")],
            vec![upn.clone()],
        ),
    ];
    for (case, sans, expected) in cases {
        let settings = custom(CertificateType::User, "CN={{UserName}}", &sans);
        let name = expand_name(&settings, &context(&device, Some(&user))).unwrap();
        assert_eq!(name.subject_alternative_names, expected, "{case}");
    }
}

#[test]
fn security_identifier_in_the_subject_adds_no_san() {
    let (device, user) = (device(), user());
    let settings = custom(CertificateType::User, "CN={{OnPremisesSecurityIdentifier}}", &[]);
    let name = expand_name(&settings, &context(&device, Some(&user))).unwrap();
    assert_eq!(name.subject, subject(&[&[(NameAttribute::CommonName, SID)]]));
    assert_eq!(name.subject_alternative_names, []);
}

#[test]
fn a_user_without_a_security_identifier_gets_no_strong_mapping_but_an_error() {
    let device = device();
    let mut user = user();
    user.on_premises_security_identifier = None;
    let settings = custom(
        CertificateType::User,
        "CN={{UserName}}",
        &[(
            SanType::UniversalResourceIdentifier,
            "{{OnPremisesSecurityIdentifier}}",
        )],
    );
    assert_eq!(
        expand_name(&settings, &context(&device, Some(&user))),
        Err(missing(
            "OnPremisesSecurityIdentifier",
            "the user's onPremisesSecurityIdentifier is not set"
        ))
    );
}

#[test]
fn stored_templates_that_no_longer_parse_are_invalid_not_partial() {
    let (device, user) = (device(), user());
    let cases = [
        (
            custom(CertificateType::User, "CN={{UserName}},XX=a", &[]),
            "subjectNameFormatString",
            TemplateErrorKind::Syntax,
        ),
        (
            settings(CertificateType::User, SubjectNameFormat::Custom, None, &[]),
            "subjectNameFormatString",
            TemplateErrorKind::Syntax,
        ),
        (
            custom(CertificateType::Device, "CN={{UserName}}", &[]),
            "subjectNameFormatString",
            TemplateErrorKind::UserVariableOnDeviceCertificate,
        ),
        (
            settings(
                CertificateType::Device,
                SubjectNameFormat::CommonNameAsEmail,
                None,
                &[],
            ),
            "subjectNameFormat",
            TemplateErrorKind::UserVariableOnDeviceCertificate,
        ),
        (
            custom(
                CertificateType::User,
                "CN=a",
                &[
                    (SanType::DomainNameService, "x"),
                    (SanType::EmailAddress, "{{Mail}}"),
                ],
            ),
            "customSubjectAlternativeNames[1].name",
            TemplateErrorKind::UnknownVariable,
        ),
        (
            custom(
                CertificateType::Device,
                "CN=a",
                &[(SanType::UserPrincipalName, "{{UserPrincipalName}}")],
            ),
            "customSubjectAlternativeNames[0].name",
            TemplateErrorKind::UserVariableOnDeviceCertificate,
        ),
    ];
    for (settings, expected_field, expected_kind) in cases {
        match expand_name(&settings, &context(&device, Some(&user))) {
            Err(ExpansionError::InvalidTemplate { field, error }) => {
                assert_eq!((field.as_str(), error.kind), (expected_field, expected_kind));
            }
            other => panic!("{expected_field}: expected InvalidTemplate, got {other:?}"),
        }
    }
}

#[test]
fn hostile_attribute_values_stay_inside_their_attribute() {
    let device = device();
    let mut user = user();
    user.user_principal_name = "x,CN=admin+OU=evil;O=\"q\"\\<>#{{EmailAddress}}@contoso.example".to_owned();
    let settings = custom(CertificateType::User, "CN={{UserName}},O=Contoso", &[]);
    let name = expand_name(&settings, &context(&device, Some(&user))).unwrap();
    assert_eq!(
        name.subject,
        subject(&[
            &[(NameAttribute::CommonName, user.user_principal_name.as_str())],
            &[(NameAttribute::Organization, "Contoso")],
        ])
    );
    let windows = windows_subject_name(&name.subject);
    assert_eq!(
        windows,
        "CN=\"x,CN=admin+OU=evil;O=\"\"q\"\"\\<>#{{EmailAddress}}@contoso.example\",O=Contoso"
    );
    assert_eq!(parse_windows_subject_name(&windows), Ok(name.subject));
}

// ================================================================== Windows encoding

#[test]
fn windows_subject_name_quotes_only_values_that_need_it() {
    let cases = [
        ("plain", "Jane Doe", "CN=Jane Doe"),
        ("comma", "Doe, Jane", "CN=\"Doe, Jane\""),
        ("plus", "a+b", "CN=\"a+b\""),
        ("equals", "a=b", "CN=\"a=b\""),
        ("semicolon", "a;b", "CN=\"a;b\""),
        ("quote", "say \"hi\"", "CN=\"say \"\"hi\"\"\""),
        ("angle brackets", "<a>", "CN=\"<a>\""),
        ("hash", "#1", "CN=\"#1\""),
        ("newline", "a\nb", "CN=\"a\nb\""),
        ("leading space", " a", "CN=\" a\""),
        ("trailing space", "a ", "CN=\"a \""),
        ("backslash is not an escape", "CONTOSO\\jdoe", "CN=CONTOSO\\jdoe"),
        ("braces are plain", "{{UserName}}", "CN={{UserName}}"),
        (
            "distinguished name as a value",
            "CN=Jane Doe,OU=UserAccounts,DC=corp",
            "CN=\"CN=Jane Doe,OU=UserAccounts,DC=corp\"",
        ),
    ];
    for (case, value, expected) in cases {
        let subject = subject(&[&[(NameAttribute::CommonName, value)]]);
        let windows = windows_subject_name(&subject);
        assert_eq!(windows, expected, "{case}");
        assert!(!windows.contains("\\,") && !windows.contains("\\+"), "{case}");
        assert_eq!(parse_windows_subject_name(&windows), Ok(subject), "{case}");
    }
}

#[test]
fn windows_subject_name_uses_windows_keywords_and_separators() {
    let subject = subject(&[
        &[
            (NameAttribute::CommonName, "Jane"),
            (NameAttribute::UserId, "jdoe"),
        ],
        &[(NameAttribute::State, "Washington")],
        &[(NameAttribute::Title, "Engineer")],
        &[(NameAttribute::GivenName, "Jane")],
        &[(NameAttribute::Country, "US")],
    ]);
    assert_eq!(
        windows_subject_name(&subject),
        "CN=Jane+OID.0.9.2342.19200300.100.1.1=jdoe,S=Washington,T=Engineer,G=Jane,C=US"
    );
}

#[test]
fn windows_subject_names_parse_without_variables() {
    assert_eq!(
        parse_windows_subject_name("CN={{Nope}} ; O=\"a,b\""),
        Ok(subject(&[
            &[(NameAttribute::CommonName, "{{Nope}}")],
            &[(NameAttribute::Organization, "a,b")],
        ]))
    );
    assert!(parse_windows_subject_name("").is_err());
    assert!(parse_windows_subject_name("CN=a,XX=b").is_err());
}

// ================================================================== properties

/// Characters with a meaning somewhere: RDN syntax, quoting, RFC 4514,
/// variables, whitespace and controls, plus non-ASCII.
const HOSTILE_CHARS: &[char] = &[
    ',', '+', '=', '"', ';', '\\', '<', '>', '#', '{', '}', ' ', '\n', '\r', '\t', '\u{2028}', '\u{0}', 'a',
    'Z', '0', '.', '@', '-', 'ü', '中', '😀',
];
const HOSTILE_TOKENS: &[&str] = &[
    "{{UserName}}",
    "{{EmailAddress}}",
    "{{",
    "}}",
    "\"\"",
    ", CN=admin",
    "+OU=evil",
    ";O=x",
    "\\,",
    "\\+",
    "=",
];

/// A non-blank string built from hostile characters and tokens.
fn hostile_value() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(HOSTILE_CHARS).prop_map(String::from),
            1 => prop::sample::select(HOSTILE_TOKENS).prop_map(str::to_owned),
        ],
        1..12,
    )
    .prop_map(|pieces| pieces.concat())
    .prop_filter("non-blank", |value| !value.trim().is_empty())
}

fn hostile_user() -> impl Strategy<Value = User> {
    (
        hostile_value(),
        hostile_value(),
        hostile_value(),
        hostile_value(),
        hostile_value(),
    )
        .prop_map(|(upn, mail, dn, sam, sid)| User {
            user_principal_name: upn,
            display_name: "ignored".to_owned(),
            mail: Some(mail),
            on_premises_distinguished_name: Some(dn),
            on_premises_sam_account_name: Some(sam),
            on_premises_security_identifier: Some(sid),
            external_id: None,
        })
}

fn hostile_device() -> impl Strategy<Value = Device> {
    (
        hostile_value(),
        hostile_value(),
        hostile_value(),
        hostile_value(),
        hostile_value(),
        hostile_value(),
        any::<u128>(),
    )
        .prop_map(|(name, serial, imei, meid, mac, fqdn, aad)| Device {
            device_name: name,
            platform: Platform::Windows10,
            os_version: None,
            serial_number: Some(serial),
            imei: Some(imei),
            meid: Some(meid),
            wifi_mac_address: Some(mac),
            fully_qualified_domain_name: Some(fqdn),
            azure_ad_device_id: Some(Uuid::from_u128(aad)),
            user_id: None,
            external_id: None,
        })
}

/// Literal text for templates: anything the grammar can hold once quoted.
const LITERAL_CHARS: &[char] = &[
    ',', '+', '=', '"', ';', '\\', '<', '>', '#', '{', '}', ' ', '\t', '\n', 'a', 'B', '7', '.', '-', 'ü',
    '中',
];

fn literal() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(LITERAL_CHARS), 1..6)
        .prop_map(|chars| chars.into_iter().collect())
}

fn value_parts() -> impl Strategy<Value = Vec<ValuePart>> {
    prop::collection::vec(
        prop_oneof![
            literal().prop_map(ValuePart::Literal),
            prop::sample::select(Variable::ALL.to_vec()).prop_map(ValuePart::Variable),
        ],
        1..4,
    )
    .prop_map(|parts| {
        // Adjacent literals are one literal, as the parser produces them.
        let mut merged: Vec<ValuePart> = Vec::new();
        for part in parts {
            match (merged.last_mut(), part) {
                (Some(ValuePart::Literal(previous)), ValuePart::Literal(text)) => previous.push_str(&text),
                (_, part) => merged.push(part),
            }
        }
        merged
    })
    .prop_filter("a literal `{{` cannot be written", |parts| {
        parts
            .iter()
            .all(|part| !matches!(part, ValuePart::Literal(text) if text.contains("{{")))
    })
    .prop_filter("values are not blank", |parts| {
        !super::template::parts_are_blank(parts)
    })
}

fn attribute_template() -> impl Strategy<Value = super::AttributeTemplate> {
    let other = prop::sample::select(
        NameAttribute::ALL
            .into_iter()
            .filter(|attribute| *attribute != NameAttribute::Country)
            .collect::<Vec<_>>(),
    );
    prop_oneof![
        4 => (other, value_parts()).prop_map(|(attribute, parts)| super::AttributeTemplate {
            attribute,
            value: ValueTemplate { parts },
        }),
        1 => "[A-Za-z]{2}".prop_map(|code| super::AttributeTemplate {
            attribute: NameAttribute::Country,
            value: ValueTemplate { parts: vec![ValuePart::Literal(code)] },
        }),
    ]
}

fn subject_template() -> impl Strategy<Value = SubjectTemplate> {
    prop::collection::vec(
        prop::collection::vec(attribute_template(), 1..3).prop_map(super::RdnTemplate),
        1..4,
    )
    .prop_map(SubjectTemplate)
}

/// Every keyword spelling `CertStrToName` accepts for an attribute.
fn keyword_spellings(attribute: NameAttribute) -> &'static [&'static str] {
    match attribute {
        NameAttribute::CommonName => &["CN", "cn"],
        NameAttribute::Email => &["E", "e", "EMAIL", "Email"],
        NameAttribute::OrganizationalUnit => &["OU", "ou"],
        NameAttribute::Organization => &["O", "o"],
        NameAttribute::Locality => &["L", "l"],
        NameAttribute::State => &["ST", "S", "st"],
        NameAttribute::Country => &["C", "c"],
        NameAttribute::DomainComponent => &["DC", "dc"],
        NameAttribute::Street => &["STREET", "Street"],
        NameAttribute::SerialNumber => &["SERIALNUMBER", "serialNumber"],
        NameAttribute::Title => &["T", "TITLE", "Title"],
        NameAttribute::GivenName => &["G", "GN", "GivenName"],
        NameAttribute::Initials => &["I", "Initials"],
        NameAttribute::Surname => &["SN", "sn"],
        NameAttribute::UserId => &["UID", "uid"],
    }
}

/// Writes a template the way an admin might: any keyword spelling, any
/// variable alias, `,` or `;`, whitespace around tokens, quotes where
/// needed and sometimes where not. `choices` drives every decision.
fn write_loosely(template: &SubjectTemplate, choices: &[u8]) -> String {
    let mut choice = choices.iter().cycle().copied();
    let mut next = move |n: usize| usize::from(choice.next().unwrap_or(0)) % n;
    let spaces = ["", " ", "  "];
    let mut out = String::new();
    for (rdn_index, rdn) in template.rdns().iter().enumerate() {
        if rdn_index > 0 {
            out.push_str([",", ";"][next(2)]);
        }
        for (attribute_index, attribute) in rdn.attributes().iter().enumerate() {
            if attribute_index > 0 {
                out.push('+');
            }
            let keywords = keyword_spellings(attribute.attribute());
            out.push_str(spaces[next(3)]);
            out.push_str(keywords[next(keywords.len())]);
            out.push_str(spaces[next(3)]);
            out.push('=');
            out.push_str(spaces[next(3)]);
            let raw: String = attribute
                .value()
                .parts()
                .iter()
                .map(|part| match part {
                    ValuePart::Literal(text) => text.clone(),
                    ValuePart::Variable(variable) => {
                        let spellings = variable.spellings();
                        format!("{{{{{}}}}}", spellings[next(spellings.len())])
                    }
                })
                .collect();
            let must_quote = raw.contains([',', ';', '+', '=', '"'])
                || raw.starts_with(char::is_whitespace)
                || raw.ends_with(char::is_whitespace);
            if must_quote || next(4) == 0 {
                out.push('"');
                out.push_str(&raw.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(&raw);
            }
            out.push_str(spaces[next(3)]);
        }
    }
    out
}

/// What a template value must expand to: its literals, and each
/// variable's raw attribute value, unchanged.
fn expected_value(parts: &[ValuePart], device: &Device, user: &User) -> String {
    parts
        .iter()
        .map(|part| match part {
            ValuePart::Literal(text) => text.clone(),
            ValuePart::Variable(variable) => match variable {
                Variable::UserName | Variable::UserPrincipalName => user.user_principal_name.clone(),
                Variable::EmailAddress => user.mail.clone().unwrap_or_default(),
                Variable::OnPremDistinguishedName => {
                    user.on_premises_distinguished_name.clone().unwrap_or_default()
                }
                Variable::OnPremisesSamAccountName => {
                    user.on_premises_sam_account_name.clone().unwrap_or_default()
                }
                Variable::OnPremisesSecurityIdentifier => {
                    user.on_premises_security_identifier.clone().unwrap_or_default()
                }
                Variable::AadDeviceId => device.azure_ad_device_id.unwrap_or_default().to_string(),
                Variable::DeviceId => DEVICE_ID.to_string(),
                Variable::DeviceName => device.device_name.clone(),
                Variable::SerialNumber => device.serial_number.clone().unwrap_or_default(),
                Variable::ImeiNumber => device.imei.clone().unwrap_or_default(),
                Variable::Meid => device.meid.clone().unwrap_or_default(),
                Variable::WifiMacAddress => device.wifi_mac_address.clone().unwrap_or_default(),
                Variable::FullyQualifiedDomainName => {
                    device.fully_qualified_domain_name.clone().unwrap_or_default()
                }
            },
        })
        .collect()
}

proptest! {
    /// No injection: whatever the directory holds, the expanded subject has
    /// exactly the template's RDNs and attributes, each value is the
    /// template's literals around the raw attribute values, and the Windows
    /// encoding reads back as the same subject.
    #[test]
    fn substituted_values_never_change_the_rdn_structure(
        template in subject_template(),
        device in hostile_device(),
        user in hostile_user(),
    ) {
        let settings = custom(CertificateType::User, &template.to_template_string(), &[]);
        let name = expand_name(&settings, &context(&device, Some(&user)))
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        let subject = &name.subject;
        prop_assert_eq!(subject.0.len(), template.rdns().len());
        for (rdn, rdn_template) in subject.0.iter().zip(template.rdns()) {
            prop_assert_eq!(rdn.0.len(), rdn_template.attributes().len());
            for (attribute, attribute_template) in rdn.0.iter().zip(rdn_template.attributes()) {
                prop_assert_eq!(attribute.attribute, attribute_template.attribute());
                prop_assert_eq!(
                    &attribute.value,
                    &expected_value(attribute_template.value().parts(), &device, &user)
                );
            }
        }
        let windows = windows_subject_name(subject);
        // The encoding adds quotes, never backslash escapes.
        let backslashes: usize = subject.0.iter().flat_map(|rdn| &rdn.0).map(|a| a.value.matches('\\').count()).sum();
        prop_assert_eq!(windows.matches('\\').count(), backslashes);
        let reparsed = parse_windows_subject_name(&windows);
        prop_assert_eq!(reparsed.as_ref(), Ok(subject));
    }

    /// SAN values are data too: literals around the raw attribute values
    /// (a UPN takes any text; the typed SANs are checked below).
    #[test]
    fn san_values_are_literals_and_raw_attribute_values(
        parts in value_parts(),
        device in hostile_device(),
        user in hostile_user(),
    ) {
        let template = ValueTemplate { parts };
        let settings = settings(
            CertificateType::User,
            SubjectNameFormat::NotConfigured,
            None,
            &[(SanType::UserPrincipalName, &template.to_template_string())],
        );
        let name = expand_name(&settings, &context(&device, Some(&user)))
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        prop_assert_eq!(&name.subject_alternative_names[0].value, &expected_value(template.parts(), &device, &user));
    }

    /// Any subject (values from the hostile charset) survives the Windows encoding.
    #[test]
    fn windows_subject_name_round_trips(
        rdns in prop::collection::vec(
            prop::collection::vec(
                (prop::sample::select(NameAttribute::ALL.to_vec()), hostile_value(), "[A-Z]{2}"),
                1..3,
            ),
            1..4,
        ),
    ) {
        let subject = Subject(
            rdns.into_iter()
                .map(|rdn| Rdn(rdn.into_iter()
                    .map(|(attribute, value, code)| AttributeValue {
                        attribute,
                        value: if attribute == NameAttribute::Country { code } else { value },
                    })
                    .collect()))
                .collect(),
        );
        prop_assert_eq!(parse_windows_subject_name(&windows_subject_name(&subject)), Ok(subject));
    }

    /// parse → print → parse: however a template is written, it parses to
    /// the template meant, prints canonically, and the canonical form parses
    /// back to the same template and prints the same.
    #[test]
    fn templates_round_trip_through_their_canonical_form(
        template in subject_template(),
        choices in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let written = write_loosely(&template, &choices);
        let parsed = SubjectTemplate::parse(&written)
            .map_err(|error| TestCaseError::fail(format!("{written:?}: {error}")))?;
        prop_assert_eq!(&parsed, &template, "{:?}", written);
        let canonical = parsed.to_template_string();
        let reparsed = SubjectTemplate::parse(&canonical)
            .map_err(|error| TestCaseError::fail(format!("{canonical:?}: {error}")))?;
        prop_assert_eq!(&reparsed, &template);
        prop_assert_eq!(reparsed.to_template_string(), canonical);
    }

    #[test]
    fn value_templates_round_trip(parts in value_parts()) {
        let template = ValueTemplate { parts };
        prop_assert_eq!(ValueTemplate::parse(&template.to_template_string()), Ok(template));
    }

    /// The parser never panics, whatever it is given.
    #[test]
    fn parsing_arbitrary_text_never_panics(text in "\\PC{0,40}", hostile in hostile_value()) {
        let _ = SubjectTemplate::parse(&text);
        let _ = SubjectTemplate::parse(&hostile);
        let _ = ValueTemplate::parse(&hostile);
        let _ = parse_windows_subject_name(&hostile);
    }
}

/// A SAN of a typed kind must hold a value of that kind: a device name with
/// a space is no DNS name, an email SAN needs an address, a URI SAN a URI.
#[test]
fn typed_sans_refuse_values_that_are_not_of_their_kind() {
    let user = user();
    let cases: [(SanType, &str, &str, Option<&str>); 9] = [
        (
            SanType::DomainNameService,
            "Jane iPhone",
            "dnsName",
            Some("it holds a space"),
        ),
        (
            SanType::DomainNameService,
            "a<b>.example",
            "dnsName",
            Some("it holds '<'"),
        ),
        (
            SanType::DomainNameService,
            "-bad.example",
            "dnsName",
            Some("hyphen"),
        ),
        (SanType::DomainNameService, "ok-host.corp.example", "", None),
        (SanType::EmailAddress, "jane", "emailAddress", Some("no @")),
        (
            SanType::EmailAddress,
            "jane doe@contoso.com",
            "emailAddress",
            Some("special character"),
        ),
        (SanType::EmailAddress, "jane@contoso.com", "", None),
        (
            SanType::UniversalResourceIdentifier,
            "not a uri",
            "uri",
            Some("space"),
        ),
        (
            SanType::UniversalResourceIdentifier,
            "https://contoso.com/device/1",
            "",
            None,
        ),
    ];
    for (san_type, device_name, rule, problem) in cases {
        let mut device = device();
        device.device_name = device_name.to_owned();
        let settings = settings(
            CertificateType::Device,
            SubjectNameFormat::NotConfigured,
            None,
            &[(san_type, "{{DeviceName}}")],
        );
        match (expand_name(&settings, &context(&device, Some(&user))), problem) {
            (Ok(name), None) => assert_eq!(name.subject_alternative_names[0].value, device_name),
            (
                Err(ExpansionError::InvalidValue {
                    field,
                    rule: broken,
                    reason,
                }),
                Some(problem),
            ) => {
                assert_eq!(field, "customSubjectAlternativeNames[0].name");
                assert_eq!(broken, rule, "{device_name:?}");
                assert!(
                    reason.contains("{{DeviceName}}") && reason.contains(problem),
                    "{reason}"
                );
            }
            (other, _) => panic!("{san_type:?} {device_name:?}: {other:?}"),
        }
    }
}
