//! The template grammar of subject names and subject alternative names,
//! and the structured [`Subject`] a template expands to.
//!
//! A template is parsed once, when the profile is saved, into typed RDNs
//! whose values are sequences of literal text and [`Variable`]s;
//! [`SubjectTemplate::expand`] fills them for one device and user
//! ([`NameContext`]) as data inside attribute values, never as text that is
//! parsed again. Nothing here reads a profile's settings, so `scep_profile`
//! checks templates with this module alone; the predefined formats are in
//! [`super::format`], and the expansion of a profile's settings in
//! [`super`].
//!
//! # Template grammar
//!
//! The seed points at Windows' `CertStrToName` (`CERT_X500_NAME_STR`), so the
//! subject grammar is that one:
//!
//! - RDNs are separated by `,` or `;`; the attributes of one multi-valued RDN
//!   are joined by `+`.
//! - Each attribute is `KEYWORD=value`. Keywords are case-insensitive: `CN`,
//!   `E` (or `EMAIL`), `OU`, `O`, `L`, `ST` or `S`, `C`, `DC`, `STREET`,
//!   `SERIALNUMBER`, `T` or `TITLE`, `G`, `GN` or `GIVENNAME`, `I` or
//!   `INITIALS`, `SN`, `UID` ([`NameAttribute`]). Dotted OIDs are not
//!   accepted: every attribute a renderer may meet is one it knows.
//! - Whitespace around keywords and unquoted values is dropped. A value is
//!   either unquoted — it ends at `,` `;` or `+` and may not contain `"` or
//!   `=` — or wrapped in double quotes, inside which `,` `;` `+` `=` and
//!   edge whitespace are literal and `""` stands for one `"`.
//! - A backslash is an ordinary character. `CERT_X500_NAME_STR` has no
//!   backslash escapes, and Intune's known issue is that backslash-escaped
//!   `\+ \, \; \=` break challenge validation, so Scepter neither reads nor
//!   writes them.
//! - Inside a value, `{{Name}}` is a [`Variable`]; names are case-sensitive
//!   and the aliases Intune documents (`{{AzureADDeviceId}}`, `{{IMEI}}`, …)
//!   map to one variable. In a run of braces the last two open the variable,
//!   so `{{{UserName}}` is a literal `{` and the variable. A literal `{{`
//!   cannot be written.
//! - `C=` takes exactly two ASCII letters and no variable; no value may be
//!   empty or blank, and no RDN empty.
//!
//! Errors carry the 0-based character (not byte) offset of the offending
//! token and a reason: `at position 3: unknown variable {{Username}} …`.
//!
//! A subject alternative name is a [`ValueTemplate`]: literal text and
//! variables, without RDN syntax.
//!
//! # Encoding
//!
//! Renderers take the structured [`Subject`], never a template string.
//! Apple's SCEP `Subject` is an array of `[type, value]` pairs, so values go
//! in unchanged. Windows' `SubjectName` is a string: [`windows_subject_name`]
//! quotes values the way `CertNameToStr` does, and
//! [`parse_windows_subject_name`] reads it back, which is how the tests show
//! that no value can change the RDNs.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    certificate_type::CertificateType,
    directory::{Device, User},
    text::is_forbidden_char,
};

/// An X.500 attribute type usable in a subject, with the keyword Windows'
/// CertStrToName accepts for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NameAttribute {
    /// CN, 2.5.4.3
    CommonName,
    /// E, 1.2.840.113549.1.9.1 (PKCS #9 emailAddress)
    Email,
    /// OU, 2.5.4.11
    OrganizationalUnit,
    /// O, 2.5.4.10
    Organization,
    /// L, 2.5.4.7
    Locality,
    /// ST (or S), 2.5.4.8
    State,
    /// C, 2.5.4.6 — exactly two letters
    Country,
    /// DC, 0.9.2342.19200300.100.1.25
    DomainComponent,
    /// STREET, 2.5.4.9
    Street,
    /// SERIALNUMBER, 2.5.4.5
    SerialNumber,
    /// T (or TITLE), 2.5.4.12
    Title,
    /// G (or GN, GivenName), 2.5.4.42
    GivenName,
    /// I (or Initials), 2.5.4.43
    Initials,
    /// SN, 2.5.4.4 (surname)
    Surname,
    /// UID, 0.9.2342.19200300.100.1.1
    UserId,
}

impl NameAttribute {
    pub const ALL: [NameAttribute; 15] = [
        NameAttribute::CommonName,
        NameAttribute::Email,
        NameAttribute::OrganizationalUnit,
        NameAttribute::Organization,
        NameAttribute::Locality,
        NameAttribute::State,
        NameAttribute::Country,
        NameAttribute::DomainComponent,
        NameAttribute::Street,
        NameAttribute::SerialNumber,
        NameAttribute::Title,
        NameAttribute::GivenName,
        NameAttribute::Initials,
        NameAttribute::Surname,
        NameAttribute::UserId,
    ];

    /// The attribute a `CertStrToName` keyword names, compared case-insensitively.
    pub fn from_keyword(keyword: &str) -> Option<Self> {
        let attribute = match keyword.to_ascii_uppercase().as_str() {
            "CN" => NameAttribute::CommonName,
            "E" | "EMAIL" => NameAttribute::Email,
            "OU" => NameAttribute::OrganizationalUnit,
            "O" => NameAttribute::Organization,
            "L" => NameAttribute::Locality,
            "ST" | "S" => NameAttribute::State,
            "C" => NameAttribute::Country,
            "DC" => NameAttribute::DomainComponent,
            "STREET" => NameAttribute::Street,
            "SERIALNUMBER" => NameAttribute::SerialNumber,
            "T" | "TITLE" => NameAttribute::Title,
            "G" | "GN" | "GIVENNAME" => NameAttribute::GivenName,
            "I" | "INITIALS" => NameAttribute::Initials,
            "SN" => NameAttribute::Surname,
            // CertStrToName has no keyword for userid; it writes (and reads) the OID form.
            "UID" | "OID.0.9.2342.19200300.100.1.1" => NameAttribute::UserId,
            _ => return None,
        };
        Some(attribute)
    }

    pub fn oid(self) -> &'static str {
        match self {
            NameAttribute::CommonName => "2.5.4.3",
            NameAttribute::Email => "1.2.840.113549.1.9.1",
            NameAttribute::OrganizationalUnit => "2.5.4.11",
            NameAttribute::Organization => "2.5.4.10",
            NameAttribute::Locality => "2.5.4.7",
            NameAttribute::State => "2.5.4.8",
            NameAttribute::Country => "2.5.4.6",
            NameAttribute::DomainComponent => "0.9.2342.19200300.100.1.25",
            NameAttribute::Street => "2.5.4.9",
            NameAttribute::SerialNumber => "2.5.4.5",
            NameAttribute::Title => "2.5.4.12",
            NameAttribute::GivenName => "2.5.4.42",
            NameAttribute::Initials => "2.5.4.43",
            NameAttribute::Surname => "2.5.4.4",
            NameAttribute::UserId => "0.9.2342.19200300.100.1.1",
        }
    }

    /// The keyword templates and the API use: the Windows keyword, except `UID`,
    /// for which Windows has none.
    pub fn template_keyword(self) -> &'static str {
        match self {
            NameAttribute::UserId => "UID",
            other => other.windows_keyword(),
        }
    }

    /// The keyword Windows writes (CertNameToStr): `CN`, `E`, `OU`, `O`, `L`, `S`, `C`, …
    pub fn windows_keyword(self) -> &'static str {
        match self {
            NameAttribute::CommonName => "CN",
            NameAttribute::Email => "E",
            NameAttribute::OrganizationalUnit => "OU",
            NameAttribute::Organization => "O",
            NameAttribute::Locality => "L",
            NameAttribute::State => "S",
            NameAttribute::Country => "C",
            NameAttribute::DomainComponent => "DC",
            NameAttribute::Street => "STREET",
            NameAttribute::SerialNumber => "SERIALNUMBER",
            NameAttribute::Title => "T",
            NameAttribute::GivenName => "G",
            NameAttribute::Initials => "I",
            NameAttribute::Surname => "SN",
            NameAttribute::UserId => "OID.0.9.2342.19200300.100.1.1",
        }
    }

    /// The type Apple's SCEP `Subject` array takes: the shortcuts C, L, ST, O,
    /// OU, CN, anything else as a dotted OID (com.apple.security.scep.yaml).
    pub fn apple_type(self) -> &'static str {
        match self {
            NameAttribute::Country => "C",
            NameAttribute::Locality => "L",
            NameAttribute::State => "ST",
            NameAttribute::Organization => "O",
            NameAttribute::OrganizationalUnit => "OU",
            NameAttribute::CommonName => "CN",
            other => other.oid(),
        }
    }
}

/// One attribute of an expanded subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeValue {
    pub attribute: NameAttribute,
    pub value: String,
}

/// A relative distinguished name: one attribute, or several joined with `+`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rdn(pub Vec<AttributeValue>);

/// An expanded subject, RDNs in the order the template lists them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subject(pub Vec<Rdn>);

// ------------------------------------------------------------------ variables

/// What the variables read: one device, its Scepter id and its primary user.
#[derive(Debug, Clone, Copy)]
pub struct NameContext<'a> {
    pub device_id: Uuid,
    pub device: &'a Device,
    pub user: Option<&'a User>,
}

/// Whose attribute a variable reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VariableScope {
    /// The device's primary user; absent from device certificates.
    User,
    Device,
}

/// A variable Intune documents for SCEP subject names and SANs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variable {
    /// `{{UserName}}`: the user principal name, like `{{UserPrincipalName}}`
    /// (seed: "CN={{UserName}}: The user principle name of the user").
    UserName,
    /// `{{UserPrincipalName}}`
    UserPrincipalName,
    /// `{{EmailAddress}}`: the user's `mail`.
    EmailAddress,
    /// `{{OnPrem_Distinguished_Name}}`
    OnPremDistinguishedName,
    /// `{{onPremisesSamAccountName}}`
    OnPremisesSamAccountName,
    /// `{{OnPremisesSecurityIdentifier}}`
    OnPremisesSecurityIdentifier,
    /// `{{AAD_Device_ID}}` or `{{AzureADDeviceId}}`
    AadDeviceId,
    /// `{{DeviceId}}`: Scepter's id of the device.
    DeviceId,
    /// `{{DeviceName}}`
    DeviceName,
    /// `{{SerialNumber}}`, `{{SERIALNUMBER}}` or `{{Device_Serial}}`
    SerialNumber,
    /// `{{IMEINumber}}`, `{{IMEI}}` or `{{Device_IMEI}}`
    ImeiNumber,
    /// `{{MEID}}`
    Meid,
    /// `{{WiFiMacAddress}}`
    WifiMacAddress,
    /// `{{FullyQualifiedDomainName}}`
    FullyQualifiedDomainName,
}

impl Variable {
    pub const ALL: [Variable; 14] = [
        Variable::UserName,
        Variable::UserPrincipalName,
        Variable::EmailAddress,
        Variable::OnPremDistinguishedName,
        Variable::OnPremisesSamAccountName,
        Variable::OnPremisesSecurityIdentifier,
        Variable::AadDeviceId,
        Variable::DeviceId,
        Variable::DeviceName,
        Variable::SerialNumber,
        Variable::ImeiNumber,
        Variable::Meid,
        Variable::WifiMacAddress,
        Variable::FullyQualifiedDomainName,
    ];

    /// The canonical spelling, without braces; templates are printed with it.
    pub fn name(self) -> &'static str {
        self.spellings()[0]
    }

    /// Every spelling Intune documents, canonical first; matched case-sensitively.
    pub(super) fn spellings(self) -> &'static [&'static str] {
        match self {
            Variable::UserName => &["UserName"],
            Variable::UserPrincipalName => &["UserPrincipalName"],
            Variable::EmailAddress => &["EmailAddress"],
            Variable::OnPremDistinguishedName => &["OnPrem_Distinguished_Name"],
            Variable::OnPremisesSamAccountName => &["onPremisesSamAccountName"],
            Variable::OnPremisesSecurityIdentifier => &["OnPremisesSecurityIdentifier"],
            Variable::AadDeviceId => &["AAD_Device_ID", "AzureADDeviceId"],
            Variable::DeviceId => &["DeviceId"],
            Variable::DeviceName => &["DeviceName"],
            Variable::SerialNumber => &["SerialNumber", "SERIALNUMBER", "Device_Serial"],
            Variable::ImeiNumber => &["IMEINumber", "IMEI", "Device_IMEI"],
            Variable::Meid => &["MEID"],
            Variable::WifiMacAddress => &["WiFiMacAddress"],
            Variable::FullyQualifiedDomainName => &["FullyQualifiedDomainName"],
        }
    }

    /// The variable a spelling names, exactly as Intune writes it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|variable| variable.spellings().contains(&name))
    }

    pub fn scope(self) -> VariableScope {
        match self {
            Variable::UserName
            | Variable::UserPrincipalName
            | Variable::EmailAddress
            | Variable::OnPremDistinguishedName
            | Variable::OnPremisesSamAccountName
            | Variable::OnPremisesSecurityIdentifier => VariableScope::User,
            Variable::AadDeviceId
            | Variable::DeviceId
            | Variable::DeviceName
            | Variable::SerialNumber
            | Variable::ImeiNumber
            | Variable::Meid
            | Variable::WifiMacAddress
            | Variable::FullyQualifiedDomainName => VariableScope::Device,
        }
    }

    /// This variable's value for one device and user. A missing or blank
    /// value is an error, so an expanded value is never empty.
    pub fn value(self, context: &NameContext<'_>) -> Result<String, MissingValue> {
        let missing = |reason: &str| MissingValue {
            variable: self.name(),
            reason: reason.to_owned(),
        };
        let user = || {
            context
                .user
                .ok_or_else(|| missing("the device has no primary user"))
        };
        let device = context.device;
        let value = match self {
            Variable::UserName | Variable::UserPrincipalName => Some(user()?.user_principal_name.clone()),
            Variable::EmailAddress => user()?.mail.clone(),
            Variable::OnPremDistinguishedName => user()?.on_premises_distinguished_name.clone(),
            Variable::OnPremisesSamAccountName => user()?.on_premises_sam_account_name.clone(),
            Variable::OnPremisesSecurityIdentifier => user()?.on_premises_security_identifier.clone(),
            Variable::AadDeviceId => device.azure_ad_device_id.map(|id| id.hyphenated().to_string()),
            Variable::DeviceId => Some(context.device_id.hyphenated().to_string()),
            Variable::DeviceName => Some(device.device_name.clone()),
            Variable::SerialNumber => device.serial_number.clone(),
            Variable::ImeiNumber => device.imei.clone(),
            Variable::Meid => device.meid.clone(),
            Variable::WifiMacAddress => device.wifi_mac_address.clone(),
            Variable::FullyQualifiedDomainName => device.fully_qualified_domain_name.clone(),
        };
        match value {
            Some(value) if !value.trim().is_empty() => Ok(value),
            Some(_) => Err(missing(&format!("the {} is blank", self.attribute_description()))),
            None => Err(missing(&format!(
                "the {} is not set",
                self.attribute_description()
            ))),
        }
    }

    /// What the variable reads, for error messages.
    fn attribute_description(self) -> &'static str {
        match self {
            Variable::UserName | Variable::UserPrincipalName => "user's userPrincipalName",
            Variable::EmailAddress => "user's mail address",
            Variable::OnPremDistinguishedName => "user's onPremisesDistinguishedName",
            Variable::OnPremisesSamAccountName => "user's onPremisesSamAccountName",
            Variable::OnPremisesSecurityIdentifier => "user's onPremisesSecurityIdentifier",
            Variable::AadDeviceId => "device's azureADDeviceId",
            Variable::DeviceId => "device's id",
            Variable::DeviceName => "device's deviceName",
            Variable::SerialNumber => "device's serialNumber",
            Variable::ImeiNumber => "device's imei",
            Variable::Meid => "device's meid",
            Variable::WifiMacAddress => "device's wiFiMacAddress",
            Variable::FullyQualifiedDomainName => "device's fullyQualifiedDomainName",
        }
    }
}

impl fmt::Display for Variable {
    /// As written in a template: `{{UserName}}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{{{}}}}}", self.name())
    }
}

// ------------------------------------------------------------------ errors

/// Which rule a template broke; the API reports each under its own rule code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateErrorKind {
    /// Not `CertStrToName` syntax, or not a well-formed `{{Name}}`.
    Syntax,
    /// A well-formed `{{Name}}` that is not a documented variable.
    UnknownVariable,
    /// A user variable in a device certificate's template.
    UserVariableOnDeviceCertificate,
}

/// Why a template was refused, and where: `position` is the 0-based
/// character offset of the offending token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at position {position}: {reason}")]
pub struct TemplateError {
    pub position: usize,
    pub reason: String,
    pub kind: TemplateErrorKind,
}

impl TemplateError {
    pub(super) fn syntax(position: usize, reason: impl Into<String>) -> Self {
        Self {
            position,
            reason: reason.into(),
            kind: TemplateErrorKind::Syntax,
        }
    }
}

/// Why a device gets no certificate name. Per device: other devices of the
/// same profile are unaffected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpansionError {
    /// A stored template no longer parses (templates are validated at save,
    /// so the row was changed behind the API's back).
    #[error("{field} is not a valid template: {error}")]
    InvalidTemplate { field: String, error: TemplateError },
    /// The device or its user lacks what variables read: every such
    /// variable of the profile's templates, in order of first use (never
    /// empty), so an admin fixes the record once instead of once per value.
    #[error("{}", missing_text(.0))]
    MissingValues(Vec<MissingValue>),
    /// An expanded value is not valid where it goes: a SAN whose type
    /// needs a DNS name, an email address or a URI got something else.
    #[error("{field} ({rule}): {reason}")]
    InvalidValue {
        /// e.g. `customSubjectAlternativeNames[0].name`.
        field: String,
        /// The rule broken: `dnsName`, `emailAddress`, `uri`.
        rule: &'static str,
        /// Names the variables the value came from.
        reason: String,
    },
}

/// One variable the device or its user has no value for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{{{{{variable}}}}} has no value: {reason}")]
pub struct MissingValue {
    /// The variable's canonical name, without braces.
    pub variable: &'static str,
    pub reason: String,
}

impl From<MissingValue> for ExpansionError {
    fn from(missing: MissingValue) -> Self {
        ExpansionError::MissingValues(vec![missing])
    }
}

fn missing_text(missing: &[MissingValue]) -> String {
    missing
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Every variable of `variables` without a value for `context`, in order.
pub fn missing_values(variables: &[Variable], context: &NameContext<'_>) -> Vec<MissingValue> {
    variables
        .iter()
        .filter_map(|variable| variable.value(context).err())
        .collect()
}

// ------------------------------------------------------------------ templates

/// One piece of a value template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValuePart {
    Literal(String),
    Variable(Variable),
}

/// Literal text and variables. Never empty or blank; adjacent literals are
/// merged, so equal templates have equal parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueTemplate {
    pub(super) parts: Vec<ValuePart>,
}

impl ValueTemplate {
    /// A subject alternative name template: everything is literal text
    /// except `{{Name}}` variables.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        Self::parse_with(text).map(|(template, _)| template)
    }

    /// [`ValueTemplate::parse`], refusing user variables in a device certificate's template.
    pub fn parse_for(text: &str, certificate_type: CertificateType) -> Result<Self, TemplateError> {
        let (template, parser) = Self::parse_with(text)?;
        parser.check_scope(certificate_type)?;
        Ok(template)
    }

    fn parse_with(text: &str) -> Result<(Self, Parser), TemplateError> {
        let mut parser = Parser::new(text, true);
        let mut parts = Parts::default();
        while parser.peek().is_some() {
            parser.value_char(&mut parts)?;
        }
        let parts = parts.finish(false);
        if parts_are_blank(&parts) {
            return Err(TemplateError::syntax(0, "the value is empty or blank"));
        }
        Ok((Self { parts }, parser))
    }

    pub fn parts(&self) -> &[ValuePart] {
        &self.parts
    }

    /// The variables used, in order of first use.
    pub fn variables(&self) -> Vec<Variable> {
        let mut variables = Vec::new();
        for part in &self.parts {
            if let ValuePart::Variable(variable) = part {
                if !variables.contains(variable) {
                    variables.push(*variable);
                }
            }
        }
        variables
    }

    /// The template as written, with canonical variable names.
    pub fn to_template_string(&self) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                ValuePart::Literal(text) => text.clone(),
                ValuePart::Variable(variable) => variable.to_string(),
            })
            .collect()
    }

    /// Literal parts and variable values, concatenated.
    pub fn expand(&self, context: &NameContext<'_>) -> Result<String, ExpansionError> {
        let mut value = String::new();
        for part in &self.parts {
            match part {
                ValuePart::Literal(text) => value.push_str(text),
                ValuePart::Variable(variable) => value.push_str(&variable.value(context)?),
            }
        }
        Ok(value)
    }
}

/// One `KEYWORD=value` of a subject template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeTemplate {
    pub(super) attribute: NameAttribute,
    pub(super) value: ValueTemplate,
}

impl AttributeTemplate {
    pub fn attribute(&self) -> NameAttribute {
        self.attribute
    }

    pub fn value(&self) -> &ValueTemplate {
        &self.value
    }
}

/// One RDN of a subject template: one attribute, or several joined with `+`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdnTemplate(pub(super) Vec<AttributeTemplate>);

impl RdnTemplate {
    pub fn attributes(&self) -> &[AttributeTemplate] {
        &self.0
    }
}

/// A parsed subject name template: at least one RDN, in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectTemplate(pub(super) Vec<RdnTemplate>);

impl SubjectTemplate {
    /// Parses `CertStrToName` syntax with `{{Variable}}` values (see the module docs).
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        Parser::new(text, true).subject().map(Self)
    }

    /// [`SubjectTemplate::parse`], refusing user variables in a device certificate's template.
    pub fn parse_for(text: &str, certificate_type: CertificateType) -> Result<Self, TemplateError> {
        let mut parser = Parser::new(text, true);
        let rdns = parser.subject()?;
        parser.check_scope(certificate_type)?;
        Ok(Self(rdns))
    }

    pub fn rdns(&self) -> &[RdnTemplate] {
        &self.0
    }

    /// The variables used, in order of first use.
    pub fn variables(&self) -> Vec<Variable> {
        let mut variables = Vec::new();
        for attribute in self.0.iter().flat_map(|rdn| &rdn.0) {
            for variable in attribute.value.variables() {
                if !variables.contains(&variable) {
                    variables.push(variable);
                }
            }
        }
        variables
    }

    /// The canonical spelling: Windows keywords (`CN`, `S`, `T`, …), `,`
    /// between RDNs, `+` inside one, canonical variable names, and values
    /// quoted only where the grammar needs it. Parsing it gives back an
    /// equal template.
    pub fn to_template_string(&self) -> String {
        join_rdns(self.0.iter().map(|rdn| {
            rdn.0
                .iter()
                .map(|attribute| (attribute.attribute, attribute.value.to_template_string()))
        }))
    }

    /// RDNs in template order, each value filled for one device and user.
    pub fn expand(&self, context: &NameContext<'_>) -> Result<Subject, ExpansionError> {
        let mut rdns = Vec::with_capacity(self.0.len());
        for rdn in &self.0 {
            let mut attributes = Vec::with_capacity(rdn.0.len());
            for attribute in &rdn.0 {
                attributes.push(AttributeValue {
                    attribute: attribute.attribute,
                    value: attribute.value.expand(context)?,
                });
            }
            rdns.push(Rdn(attributes));
        }
        Ok(Subject(rdns))
    }

    /// One single-valued RDN per pair, each value nothing but the variable:
    /// the shape of every predefined format.
    pub(super) fn of_variables(rdns: &[(NameAttribute, Variable)]) -> Self {
        Self(
            rdns.iter()
                .map(|&(attribute, variable)| {
                    RdnTemplate(vec![AttributeTemplate {
                        attribute,
                        value: ValueTemplate {
                            parts: vec![ValuePart::Variable(variable)],
                        },
                    }])
                })
                .collect(),
        )
    }
}

// ------------------------------------------------------------------ parser

/// A value being read: literal characters accumulate until a variable or the end.
#[derive(Default)]
struct Parts {
    parts: Vec<ValuePart>,
    literal: String,
}

impl Parts {
    fn push_char(&mut self, c: char) {
        self.literal.push(c);
    }

    fn push_variable(&mut self, variable: Variable) {
        self.flush();
        self.parts.push(ValuePart::Variable(variable));
    }

    fn flush(&mut self) {
        if !self.literal.is_empty() {
            self.parts
                .push(ValuePart::Literal(std::mem::take(&mut self.literal)));
        }
    }

    /// The parts, with trailing whitespace dropped when `trim_end` (unquoted values).
    fn finish(mut self, trim_end: bool) -> Vec<ValuePart> {
        if trim_end {
            let kept = self.literal.trim_end().len();
            self.literal.truncate(kept);
        }
        self.flush();
        self.parts
    }
}

pub(super) fn parts_are_blank(parts: &[ValuePart]) -> bool {
    parts.iter().all(|part| match part {
        ValuePart::Literal(text) => text.trim().is_empty(),
        ValuePart::Variable(_) => false,
    })
}

/// Characters of variable names: every documented name is ASCII letters, digits and `_`.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A recursive-descent reader over characters, so that positions are
/// character offsets. `variables: false` reads Windows subject strings, in
/// which `{{` is plain text.
struct Parser {
    chars: Vec<char>,
    pos: usize,
    variables: bool,
    /// Variables met so far with their positions, for the scope rule.
    found: Vec<(Variable, usize)>,
}

impl Parser {
    fn new(text: &str, variables: bool) -> Self {
        Self {
            chars: text.chars().collect(),
            pos: 0,
            variables,
            found: Vec::new(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    /// What is at the current position, for messages.
    fn found_here(&self) -> String {
        match self.peek() {
            None => "the end".to_owned(),
            Some(c) => format!("`{}`", c.escape_debug()),
        }
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn subject(&mut self) -> Result<Vec<RdnTemplate>, TemplateError> {
        if self.chars.iter().all(|c| c.is_whitespace()) {
            return Err(TemplateError::syntax(0, "the subject is empty"));
        }
        let mut rdns = Vec::new();
        loop {
            rdns.push(self.rdn()?);
            match self.peek() {
                Some(',' | ';') => self.pos += 1,
                None => return Ok(rdns),
                Some(_) => {
                    return Err(TemplateError::syntax(
                        self.pos,
                        format!("expected `,`, `;` or `+`, found {}", self.found_here()),
                    ))
                }
            }
        }
    }

    fn rdn(&mut self) -> Result<RdnTemplate, TemplateError> {
        let mut attributes = vec![self.attribute()?];
        while self.peek() == Some('+') {
            self.pos += 1;
            attributes.push(self.attribute()?);
        }
        Ok(RdnTemplate(attributes))
    }

    fn attribute(&mut self) -> Result<AttributeTemplate, TemplateError> {
        self.skip_whitespace();
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| !matches!(c, '=' | ',' | ';' | '+' | '"'))
        {
            self.pos += 1;
        }
        let keyword: String = self.chars[start..self.pos].iter().collect();
        let keyword = keyword.trim_end();
        if keyword.is_empty() {
            return Err(TemplateError::syntax(
                self.pos,
                format!("expected KEYWORD=value, found {}", self.found_here()),
            ));
        }
        if self.peek() != Some('=') {
            return Err(TemplateError::syntax(
                self.pos,
                format!("expected `=` after `{keyword}`, found {}", self.found_here()),
            ));
        }
        let attribute = NameAttribute::from_keyword(keyword).ok_or_else(|| {
            TemplateError::syntax(
                start,
                format!(
                    "unknown attribute `{keyword}`; use CN, E, OU, O, L, ST (or S), C, DC, STREET, \
                     SERIALNUMBER, T, G, I, SN or UID"
                ),
            )
        })?;
        self.pos += 1;
        self.skip_whitespace();
        let value_start = self.pos;
        let parts = if self.peek() == Some('"') {
            self.quoted_value()?
        } else {
            self.unquoted_value()?
        };
        let keyword = attribute.template_keyword();
        if parts_are_blank(&parts) {
            return Err(TemplateError::syntax(
                value_start,
                format!("the value of {keyword} is empty"),
            ));
        }
        if attribute == NameAttribute::Country {
            check_country(&parts, value_start)?;
        }
        Ok(AttributeTemplate {
            attribute,
            value: ValueTemplate { parts },
        })
    }

    fn quoted_value(&mut self) -> Result<Vec<ValuePart>, TemplateError> {
        let open = self.pos;
        self.pos += 1;
        let mut parts = Parts::default();
        loop {
            match (self.peek(), self.peek_at(1)) {
                (None, _) => {
                    return Err(TemplateError::syntax(
                        open,
                        "unterminated quoted value: no closing `\"`",
                    ))
                }
                (Some('"'), Some('"')) => {
                    parts.push_char('"');
                    self.pos += 2;
                }
                (Some('"'), _) => {
                    self.pos += 1;
                    break;
                }
                _ => self.value_char(&mut parts)?,
            }
        }
        self.skip_whitespace();
        match self.peek() {
            None | Some(',' | ';' | '+') => Ok(parts.finish(false)),
            Some(_) => Err(TemplateError::syntax(
                self.pos,
                format!(
                    "expected `,`, `;` or `+` after the closing quote, found {}; put the whole value inside the quotes",
                    self.found_here()
                ),
            )),
        }
    }

    fn unquoted_value(&mut self) -> Result<Vec<ValuePart>, TemplateError> {
        let mut parts = Parts::default();
        loop {
            match self.peek() {
                None | Some(',' | ';' | '+') => return Ok(parts.finish(true)),
                Some('"') => {
                    return Err(TemplateError::syntax(
                        self.pos,
                        "`\"` inside an unquoted value; quote the whole value and write the quote as `\"\"`",
                    ))
                }
                Some('=') => {
                    return Err(TemplateError::syntax(
                        self.pos,
                        "`=` inside an unquoted value; quote the value, or add the missing `,` before the next attribute",
                    ))
                }
                Some(_) => self.value_char(&mut parts)?,
            }
        }
    }

    /// Reads one character of a value, or a whole `{{Name}}`. In a run of
    /// `{`, only the last two open a variable.
    fn value_char(&mut self, parts: &mut Parts) -> Result<(), TemplateError> {
        match (self.peek(), self.peek_at(1), self.peek_at(2)) {
            (Some('{'), Some('{'), next) if self.variables && next != Some('{') => {
                let variable = self.variable()?;
                parts.push_variable(variable);
            }
            (Some(c), _, _) => {
                parts.push_char(c);
                self.pos += 1;
            }
            (None, _, _) => {}
        }
        Ok(())
    }

    /// `{{Name}}` at the current position.
    fn variable(&mut self) -> Result<Variable, TemplateError> {
        let open = self.pos;
        let name_start = open + 2;
        let name_end = (name_start..self.chars.len())
            .find(|&i| !is_name_char(self.chars[i]))
            .unwrap_or(self.chars.len());
        let closed = self.chars.get(name_end) == Some(&'}') && self.chars.get(name_end + 1) == Some(&'}');
        if !closed {
            return Err(TemplateError::syntax(
                open,
                "`{{` without a matching `}}`: a variable is written `{{Name}}`, without spaces",
            ));
        }
        let name: String = self.chars[name_start..name_end].iter().collect();
        if name.is_empty() {
            return Err(TemplateError::syntax(open, "empty variable `{{}}`"));
        }
        let variable = Variable::from_name(&name).ok_or_else(|| TemplateError {
            position: open,
            reason: unknown_variable_reason(&name),
            kind: TemplateErrorKind::UnknownVariable,
        })?;
        self.found.push((variable, open));
        self.pos = name_end + 2;
        Ok(variable)
    }

    /// A device certificate has no user: its templates may not read one.
    fn check_scope(&self, certificate_type: CertificateType) -> Result<(), TemplateError> {
        if certificate_type != CertificateType::Device {
            return Ok(());
        }
        match self
            .found
            .iter()
            .find(|(variable, _)| variable.scope() == VariableScope::User)
        {
            Some((variable, position)) => Err(user_variable_error(*variable, *position)),
            None => Ok(()),
        }
    }
}

pub(super) fn user_variable_error(variable: Variable, position: usize) -> TemplateError {
    TemplateError {
        position,
        reason: format!(
            "{variable} is a user variable, but a device certificate has no user; use device variables \
             such as {{{{AAD_Device_ID}}}}, {{{{DeviceName}}}} or {{{{SerialNumber}}}}"
        ),
        kind: TemplateErrorKind::UserVariableOnDeviceCertificate,
    }
}

fn unknown_variable_reason(name: &str) -> String {
    const MAX_NAME_CHARS: usize = 40;
    let shown: String = name.chars().take(MAX_NAME_CHARS).collect();
    let ellipsis = if name.chars().count() > MAX_NAME_CHARS {
        "…"
    } else {
        ""
    };
    let near_miss = Variable::ALL.into_iter().find_map(|variable| {
        variable
            .spellings()
            .iter()
            .find(|spelling| spelling.eq_ignore_ascii_case(name))
            .map(|spelling| format!("; names are case-sensitive: did you mean {{{{{spelling}}}}}?"))
    });
    let hint = near_miss.unwrap_or_else(|| {
        let known: Vec<String> = Variable::ALL.iter().map(Variable::to_string).collect();
        format!("; known variables: {}", known.join(", "))
    });
    format!("unknown variable {{{{{shown}{ellipsis}}}}}{hint}")
}

/// ISO 3166 alpha-2: `CertStrToName` encodes `C` as a two-character PrintableString.
fn check_country(parts: &[ValuePart], position: usize) -> Result<(), TemplateError> {
    match parts {
        [ValuePart::Literal(code)] if code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Ok(())
        }
        _ if parts.iter().any(|part| matches!(part, ValuePart::Variable(_))) => Err(TemplateError::syntax(
            position,
            "C takes a two-letter country code, not a variable",
        )),
        _ => Err(TemplateError::syntax(
            position,
            "C must be a two-letter country code such as US",
        )),
    }
}

// ------------------------------------------------------------------ printing

/// Whether a value must be quoted to read back as itself: it holds a
/// character with a meaning in `CertStrToName` or RFC 4514 syntax, a
/// control or invisible character, or edge whitespace that an unquoted
/// value would lose.
fn needs_quotes(value: &str) -> bool {
    value.is_empty()
        || value.starts_with(char::is_whitespace)
        || value.ends_with(char::is_whitespace)
        || value
            .chars()
            .any(|c| matches!(c, ',' | '+' | '=' | '"' | ';' | '<' | '>' | '#') || is_forbidden_char(c))
}

fn push_value(out: &mut String, value: &str) {
    if needs_quotes(value) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// `K=v+K=v,K=v`: the shape both printers share.
fn join_rdns<R, A, V>(rdns: R) -> String
where
    R: IntoIterator<Item = A>,
    A: IntoIterator<Item = (NameAttribute, V)>,
    V: AsRef<str>,
{
    let mut out = String::new();
    for (rdn_index, rdn) in rdns.into_iter().enumerate() {
        if rdn_index > 0 {
            out.push(',');
        }
        for (attribute_index, (attribute, value)) in rdn.into_iter().enumerate() {
            if attribute_index > 0 {
                out.push('+');
            }
            out.push_str(attribute.windows_keyword());
            out.push('=');
            push_value(&mut out, value.as_ref());
        }
    }
    out
}

/// The subject as the Windows ClientCertificateInstall CSP's `SubjectName`
/// takes it: `CertNameToStr` with `CERT_X500_NAME_STR | CERT_NAME_STR_COMMA_FLAG`
/// — `KEYWORD=value`, RDNs joined by `,`, multi-valued RDNs by `+`. A value
/// is wrapped in double quotes (with `"` doubled) when it contains any of
/// `, + = " ; < > #`, a control or invisible character, or edge whitespace.
/// Never backslash escapes: Intune's known issue is that `\+ \, \; \=` break
/// challenge validation. An empty subject (`notConfigured`) prints as the
/// empty string, which a payload leaves out rather than sends.
pub fn windows_subject_name(subject: &Subject) -> String {
    join_rdns(subject.0.iter().map(|rdn| {
        rdn.0
            .iter()
            .map(|attribute| (attribute.attribute, attribute.value.as_str()))
    }))
}

/// Reads a [`windows_subject_name`] string back: the template grammar, with
/// `{{` as plain text since a subject holds values, not variables.
pub fn parse_windows_subject_name(text: &str) -> Result<Subject, TemplateError> {
    let rdns = Parser::new(text, false).subject()?;
    Ok(Subject(
        rdns.into_iter()
            .map(|rdn| {
                Rdn(rdn
                    .0
                    .into_iter()
                    .map(|attribute| AttributeValue {
                        attribute: attribute.attribute,
                        value: attribute.value.to_template_string(),
                    })
                    .collect())
            })
            .collect(),
    ))
}
