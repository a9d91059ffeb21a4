//! SCEP certificate profiles: how a device asks the SCEP server (NDES) for a
//! certificate (seed: "Create a SCEP certificate profile").
//!
//! [`ScepCertificateProfileDraft`] is the request body; [`ScepCertificateProfile::parse`]
//! applies every rule the seed and Intune impose and yields a profile whose
//! settings cannot hold a bad value.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use url::Url;
use uuid::Uuid;

pub use crate::{certificate_type::CertificateType, subject_name::format::SubjectNameFormat};
use crate::{
    platform::Platform,
    subject_name::{
        format::user_variable_of_format,
        template::{SubjectTemplate, TemplateError, TemplateErrorKind, ValueTemplate},
    },
    text::{check_max_chars, check_no_forbidden_chars, Description, DisplayName},
    validation::{FieldError, ValidationErrors},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ValidityScale {
    Days,
    Months,
    Years,
}

/// Requested certificate lifetime; the CA can only shorten its template's value
/// (seed: "You can enter a value that is lower than the validity period in the
/// certificate template, but not higher").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidityPeriod {
    pub value: u16,
    pub scale: ValidityScale,
}

impl ValidityPeriod {
    /// Intune allows at most 24 months in total.
    const MAX_DAYS: i64 = 730;
    const MAX_MONTHS: i64 = 24;
    const MAX_YEARS: i64 = 2;

    pub fn parse(value: i64, scale: ValidityScale) -> Result<Self, FieldError> {
        let max = match scale {
            ValidityScale::Days => Self::MAX_DAYS,
            ValidityScale::Months => Self::MAX_MONTHS,
            ValidityScale::Years => Self::MAX_YEARS,
        };
        if !(1..=max).contains(&value) {
            return Err(FieldError::new(
                "certificateValidityPeriodValue",
                "range",
                format!("must be between 1 and {max} {scale:?} (24 months at most in total), got {value}")
                    .to_lowercase(),
            ));
        }
        Ok(Self {
            value: value as u16,
            scale,
        })
    }
}

/// Where Windows keeps the private key (ClientCertificateInstall `KeyProtection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum KeyStorageProvider {
    UseTpmKspOtherwiseUseSoftwareKsp,
    UseTpmKspOtherwiseFail,
    UsePassportForWorkKspOtherwiseFail,
    UseSoftwareKsp,
}

impl KeyStorageProvider {
    /// Intune's default: TPM when present, otherwise software.
    pub const DEFAULT: KeyStorageProvider = KeyStorageProvider::UseTpmKspOtherwiseUseSoftwareKsp;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SanType {
    EmailAddress,
    UserPrincipalName,
    DomainNameService,
    UniversalResourceIdentifier,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubjectAlternativeName {
    pub san_type: SanType,
    /// Value template, e.g. `{{UserPrincipalName}}`; its variables are expanded per device.
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum KeyUsage {
    KeyEncipherment,
    DigitalSignature,
}

/// RSA key length in bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u16")]
pub enum KeySize {
    Bits1024,
    Bits2048,
    Bits4096,
}

impl KeySize {
    pub fn bits(self) -> u16 {
        match self {
            KeySize::Bits1024 => 1024,
            KeySize::Bits2048 => 2048,
            KeySize::Bits4096 => 4096,
        }
    }
}

impl TryFrom<i64> for KeySize {
    type Error = String;

    fn try_from(bits: i64) -> Result<Self, Self::Error> {
        match bits {
            1024 => Ok(KeySize::Bits1024),
            2048 => Ok(KeySize::Bits2048),
            4096 => Ok(KeySize::Bits4096),
            other => Err(format!("must be 1024, 2048 or 4096, got {other}")),
        }
    }
}

impl From<KeySize> for u16 {
    fn from(size: KeySize) -> Self {
        size.bits()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum HashAlgorithm {
    Sha1,
    Sha2,
}

/// A dotted-decimal object identifier (X.660): first arc 0–2, second arc ≤ 39
/// under 0 and 1, no leading zeros, at least two arcs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Oid(String);

impl Oid {
    /// Client Authentication, the EKU nearly every SCEP certificate needs (seed: "Extended key usage").
    pub const CLIENT_AUTHENTICATION: &'static str = "1.3.6.1.5.5.7.3.2";

    pub fn parse(value: &str) -> Result<Self, String> {
        if value.len() > MAX_OID_CHARS {
            return Err(format!(
                "must be at most {MAX_OID_CHARS} characters, got {}",
                value.len()
            ));
        }
        let arcs: Vec<&str> = value.split('.').collect();
        if arcs.len() < 2 {
            return Err(format!("`{value}` is not a dotted OID with at least two arcs"));
        }
        let mut numbers = Vec::with_capacity(arcs.len());
        for arc in &arcs {
            let valid = !arc.is_empty()
                && arc.bytes().all(|b| b.is_ascii_digit())
                && (arc.len() == 1 || !arc.starts_with('0'));
            match arc.parse::<u128>() {
                Ok(number) if valid => numbers.push(number),
                _ => {
                    return Err(format!(
                        "`{value}` is not a dotted OID: arc `{arc}` is not a number without leading zeros"
                    ))
                }
            }
        }
        if numbers[0] > 2 {
            return Err(format!(
                "`{value}` is not an OID: the first arc must be 0, 1 or 2"
            ));
        }
        if numbers[0] < 2 && numbers[1] > 39 {
            return Err(format!(
                "`{value}` is not an OID: the second arc must be at most 39 under 0 and 1"
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Oid {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Oid::parse(&value)
    }
}

impl From<Oid> for String {
    fn from(oid: Oid) -> Self {
        oid.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ExtendedKeyUsage))]
pub struct ExtendedKeyUsageDraft {
    pub name: String,
    pub object_identifier: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtendedKeyUsage {
    pub name: String,
    pub object_identifier: Oid,
}

/// Percentage of the lifetime left at which the device renews, 1–99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u8")]
pub struct RenewalThreshold(u8);

impl RenewalThreshold {
    pub const DEFAULT: RenewalThreshold = RenewalThreshold(20);

    pub fn percent(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for RenewalThreshold {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        match u8::try_from(value) {
            Ok(percent @ 1..=99) => Ok(Self(percent)),
            _ => Err(format!("must be between 1 and 99, got {value}")),
        }
    }
}

impl From<RenewalThreshold> for u8 {
    fn from(value: RenewalThreshold) -> Self {
        value.0
    }
}

/// An absolute `https` (or, in lab mode, `http`) URL of a SCEP server, without
/// credentials or fragment. Whether plain `http` is allowed is a deployment
/// policy checked by [`ScepCertificateProfile::parse`], so a stored lab URL
/// still loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ScepServerUrl(Url);

impl ScepServerUrl {
    pub fn parse(value: &str) -> Result<Self, (&'static str, String)> {
        let url = Url::parse(value).map_err(|error| {
            (
                "absoluteUrl",
                format!("`{value}` is not an absolute URL: {error}"),
            )
        })?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(("httpsUrl", format!("`{value}` must use https")));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(("absoluteUrl", format!("`{value}` has no host")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err((
                "noCredentials",
                "must not carry a user name or password".to_owned(),
            ));
        }
        if url.fragment().is_some() {
            return Err(("noFragment", format!("`{value}` must not have a fragment")));
        }
        Ok(Self(url))
    }

    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<String> for ScepServerUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        ScepServerUrl::parse(&value).map_err(|(_, message)| message)
    }
}

impl From<ScepServerUrl> for String {
    fn from(url: ScepServerUrl) -> Self {
        url.0.into()
    }
}

/// The request body of create and update, as the client sent it. Numbers are
/// wide integers so that out-of-range values reach the rules below (and get a
/// 422 naming the rule) instead of failing deserialisation.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScepCertificateProfileDraft {
    /// 1–200 characters.
    pub display_name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub platform: Platform,
    pub certificate_type: CertificateType,
    /// With `certificateValidityPeriodScale`; 24 months at most in total. Absent: the CA template's validity.
    #[serde(default)]
    pub certificate_validity_period_value: Option<i64>,
    #[serde(default)]
    pub certificate_validity_period_scale: Option<ValidityScale>,
    /// Windows only; defaults to `useTpmKspOtherwiseUseSoftwareKsp` there.
    #[serde(default)]
    pub key_storage_provider: Option<KeyStorageProvider>,
    pub subject_name_format: SubjectNameFormat,
    /// Required when `subjectNameFormat` is `custom`, rejected otherwise.
    #[serde(default)]
    pub subject_name_format_string: Option<String>,
    #[serde(default)]
    pub custom_subject_alternative_names: Vec<SubjectAlternativeName>,
    /// Non-empty set.
    pub key_usage: Vec<KeyUsage>,
    /// 1024, 2048 or 4096.
    #[cfg_attr(feature = "openapi", schema(example = 2048))]
    pub key_size: i64,
    /// Not for iOS/macOS; defaults to `sha2` elsewhere.
    #[serde(default)]
    pub hash_algorithm: Option<HashAlgorithm>,
    /// A trusted certificate profile of a compatible platform.
    pub root_certificate_id: Uuid,
    /// 1–25 entries; absent: Client Authentication (1.3.6.1.5.5.7.3.2).
    #[serde(default)]
    pub extended_key_usages: Option<Vec<ExtendedKeyUsageDraft>>,
    /// 1–99, default 20.
    #[serde(default)]
    pub renewal_threshold_percentage: Option<i64>,
    /// 1–10 absolute https URLs.
    pub scep_server_urls: Vec<String>,
}

/// Facts from outside the request that the rules need.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScepProfileContext {
    /// Lab deployments may point devices at plain-http SCEP servers.
    pub allow_http_scep_urls: bool,
    /// Platform of the trusted profile `rootCertificateId` names, `None` if there is none.
    pub root_platform: Option<Platform>,
}

/// The device-facing settings of a validated SCEP profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScepSettings {
    pub certificate_type: CertificateType,
    /// `None`: the CA template's validity applies (seed: "By default, Intune uses
    /// the value configured in the template").
    pub validity_period: Option<ValidityPeriod>,
    pub key_storage_provider: Option<KeyStorageProvider>,
    pub subject_name_format: SubjectNameFormat,
    pub subject_name_format_string: Option<String>,
    pub custom_subject_alternative_names: Vec<SubjectAlternativeName>,
    pub key_usage: Vec<KeyUsage>,
    pub key_size: KeySize,
    pub hash_algorithm: Option<HashAlgorithm>,
    pub extended_key_usages: Vec<ExtendedKeyUsage>,
    pub renewal_threshold_percentage: RenewalThreshold,
    pub scep_server_urls: Vec<ScepServerUrl>,
}

/// A validated SCEP certificate profile.
#[derive(Debug, Clone, PartialEq)]
pub struct ScepCertificateProfile {
    pub display_name: DisplayName,
    pub description: Description,
    pub platform: Platform,
    pub root_certificate_id: Uuid,
    pub settings: ScepSettings,
}

/// Bounds that keep a profile (and every payload rendered from it) small.
pub const MAX_SCEP_SERVER_URLS: usize = 10;
pub const MAX_SUBJECT_ALTERNATIVE_NAMES: usize = 25;
pub const MAX_EXTENDED_KEY_USAGES: usize = 25;
const MAX_TEMPLATE_CHARS: usize = 1024;
const MAX_EKU_NAME_CHARS: usize = 200;
/// Far beyond any real OID; keeps an error message (which quotes the value) short.
const MAX_OID_CHARS: usize = 200;

impl ScepCertificateProfile {
    pub fn parse(
        draft: ScepCertificateProfileDraft,
        context: &ScepProfileContext,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let platform = draft.platform;

        let display_name = errors.collect(DisplayName::parse("displayName", draft.display_name));
        let description = errors.collect(Description::parse("description", draft.description));
        let validity_period = errors.collect(parse_validity(
            draft.certificate_validity_period_value,
            draft.certificate_validity_period_scale,
        ));
        let key_storage_provider =
            errors.collect(parse_key_storage_provider(platform, draft.key_storage_provider));
        let certificate_type = draft.certificate_type;
        errors.collect(check_subject_name_format(
            draft.subject_name_format,
            certificate_type,
        ));
        let subject_name_format_string = errors.collect(parse_subject_name(
            draft.subject_name_format,
            draft.subject_name_format_string,
            certificate_type,
        ));
        if platform.is_windows() && draft.subject_name_format == SubjectNameFormat::NotConfigured {
            // ClientCertificateInstall's SubjectName node is required: a Windows
            // profile without a subject could never be delivered.
            errors.push(
                "subjectNameFormat",
                "requiredOnWindows",
                "Windows needs a subject name (ClientCertificateInstall SubjectName is required)",
            );
        }
        let custom_subject_alternative_names = errors.collect(parse_sans(
            draft.custom_subject_alternative_names,
            certificate_type,
        ));
        let key_usage = errors.collect(parse_key_usage(draft.key_usage));
        let key_size = errors.collect(
            KeySize::try_from(draft.key_size).map_err(|message| FieldError::new("keySize", "oneOf", message)),
        );
        if let (Some(size), Some(Some(provider))) = (key_size, key_storage_provider) {
            if size == KeySize::Bits4096 && provider != KeyStorageProvider::UseSoftwareKsp {
                errors.push(
                    "keySize",
                    "tpmKeySize",
                    "4096-bit keys need keyStorageProvider `useSoftwareKsp`: a TPM cannot hold them",
                );
            }
        }
        let hash_algorithm = errors.collect(parse_hash_algorithm(platform, draft.hash_algorithm));
        check_root(platform, context.root_platform, &mut errors);
        let extended_key_usages = parse_extended_key_usages(draft.extended_key_usages, &mut errors);
        let renewal_threshold_percentage = errors.collect(
            draft
                .renewal_threshold_percentage
                .map_or(Ok(RenewalThreshold::DEFAULT), RenewalThreshold::try_from)
                .map_err(|message| FieldError::new("renewalThresholdPercentage", "range", message)),
        );
        let scep_server_urls =
            parse_scep_server_urls(draft.scep_server_urls, context.allow_http_scep_urls, &mut errors);

        errors.finish(|| {
            Some(Self {
                display_name: display_name?,
                description: description?,
                platform,
                root_certificate_id: draft.root_certificate_id,
                settings: ScepSettings {
                    certificate_type: draft.certificate_type,
                    validity_period: validity_period?,
                    key_storage_provider: key_storage_provider?,
                    subject_name_format: draft.subject_name_format,
                    subject_name_format_string: subject_name_format_string?,
                    custom_subject_alternative_names: custom_subject_alternative_names?,
                    key_usage: key_usage?,
                    key_size: key_size?,
                    hash_algorithm: hash_algorithm?,
                    extended_key_usages: extended_key_usages?,
                    renewal_threshold_percentage: renewal_threshold_percentage?,
                    scep_server_urls: scep_server_urls?,
                },
            })
        })
    }

    /// Settings that are accepted but will not take effect as written.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.platform.is_apple() && self.settings.validity_period.is_some() {
            warnings.push(format!(
                "{} ignores certificateValidityPeriod: the CA template's validity period is used",
                self.platform
            ));
        }
        warnings
    }
}

fn parse_validity(
    value: Option<i64>,
    scale: Option<ValidityScale>,
) -> Result<Option<ValidityPeriod>, FieldError> {
    match (value, scale) {
        (None, None) => Ok(None),
        (Some(value), Some(scale)) => ValidityPeriod::parse(value, scale).map(Some),
        (Some(_), None) => Err(FieldError::new(
            "certificateValidityPeriodScale",
            "requiredWith",
            "is required when certificateValidityPeriodValue is set",
        )),
        (None, Some(_)) => Err(FieldError::new(
            "certificateValidityPeriodValue",
            "requiredWith",
            "is required when certificateValidityPeriodScale is set",
        )),
    }
}

fn parse_key_storage_provider(
    platform: Platform,
    provider: Option<KeyStorageProvider>,
) -> Result<Option<KeyStorageProvider>, FieldError> {
    match (platform.is_windows(), provider) {
        (true, provider) => Ok(Some(provider.unwrap_or(KeyStorageProvider::DEFAULT))),
        (false, None) => Ok(None),
        (false, Some(_)) => Err(FieldError::new(
            "keyStorageProvider",
            "windowsOnly",
            format!("applies to Windows platforms only, not {platform}"),
        )),
    }
}

/// A predefined format that reads the user (the email formats) has nothing
/// to read in a device certificate (seed: "If the certificate is for a user,
/// you can also include the user's email address").
fn check_subject_name_format(
    format: SubjectNameFormat,
    certificate_type: CertificateType,
) -> Result<(), FieldError> {
    match user_variable_of_format(format, certificate_type) {
        Some(variable) => Err(FieldError::new(
            "subjectNameFormat",
            "userVariableOnDeviceCertificate",
            format!(
                "puts the user variable {variable} in the subject, but a device certificate has no user; \
                 use commonName, commonNameAsIMEI, commonNameAsSerialNumber or a custom format with device variables"
            ),
        )),
        None => Ok(()),
    }
}

/// A custom format must be present, bounded and a valid template
/// (`subject_name`'s grammar); other formats must not carry one. The string
/// is stored as the admin wrote it and parsed again at expansion.
fn parse_subject_name(
    format: SubjectNameFormat,
    template: Option<String>,
    certificate_type: CertificateType,
) -> Result<Option<String>, FieldError> {
    const FIELD: &str = "subjectNameFormatString";
    match (format, template) {
        (SubjectNameFormat::Custom, None) => Err(FieldError::new(
            FIELD,
            "required",
            "is required when subjectNameFormat is custom",
        )),
        (SubjectNameFormat::Custom, Some(template)) if template.trim().is_empty() => Err(FieldError::new(
            FIELD,
            "required",
            "must not be empty when subjectNameFormat is custom",
        )),
        (SubjectNameFormat::Custom, Some(template)) => {
            check_template_text(FIELD, &template)?;
            SubjectTemplate::parse_for(&template, certificate_type)
                .map_err(|error| template_field_error(FIELD, &error))?;
            Ok(Some(template))
        }
        (_, None) => Ok(None),
        (_, Some(_)) => Err(FieldError::new(
            FIELD,
            "onlyWithCustom",
            "is only allowed when subjectNameFormat is custom",
        )),
    }
}

fn check_template_text(field: &str, template: &str) -> Result<(), FieldError> {
    check_max_chars(field, template, MAX_TEMPLATE_CHARS)?;
    check_no_forbidden_chars(field, template)
}

/// A template error as a field error: its rule says which template rule
/// broke, its message carries the position.
fn template_field_error(field: &str, error: &TemplateError) -> FieldError {
    let rule = match error.kind {
        TemplateErrorKind::Syntax => "template",
        TemplateErrorKind::UnknownVariable => "unknownVariable",
        TemplateErrorKind::UserVariableOnDeviceCertificate => "userVariableOnDeviceCertificate",
    };
    FieldError::new(field, rule, error.to_string())
}

fn parse_sans(
    sans: Vec<SubjectAlternativeName>,
    certificate_type: CertificateType,
) -> Result<Vec<SubjectAlternativeName>, FieldError> {
    const FIELD: &str = "customSubjectAlternativeNames";
    if sans.len() > MAX_SUBJECT_ALTERNATIVE_NAMES {
        return Err(FieldError::new(
            FIELD,
            "maxItems",
            format!(
                "must have at most {MAX_SUBJECT_ALTERNATIVE_NAMES} entries, got {}",
                sans.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    for (index, san) in sans.iter().enumerate() {
        let field = format!("{FIELD}[{index}].name");
        if san.name.trim().is_empty() {
            return Err(FieldError::new(field, "required", "must not be empty"));
        }
        check_template_text(&field, &san.name)?;
        ValueTemplate::parse_for(&san.name, certificate_type)
            .map_err(|error| template_field_error(&field, &error))?;
        if !seen.insert((san.san_type, san.name.as_str())) {
            return Err(FieldError::new(
                field,
                "unique",
                "repeats an earlier subject alternative name",
            ));
        }
    }
    Ok(sans)
}

fn parse_key_usage(mut usages: Vec<KeyUsage>) -> Result<Vec<KeyUsage>, FieldError> {
    if usages.is_empty() {
        return Err(FieldError::new(
            "keyUsage",
            "minItems",
            "must contain keyEncipherment, digitalSignature or both",
        ));
    }
    let count = usages.len();
    usages.sort();
    usages.dedup();
    if usages.len() != count {
        return Err(FieldError::new(
            "keyUsage",
            "unique",
            "must not repeat a key usage",
        ));
    }
    Ok(usages)
}

fn parse_hash_algorithm(
    platform: Platform,
    algorithm: Option<HashAlgorithm>,
) -> Result<Option<HashAlgorithm>, FieldError> {
    match (platform.is_apple(), algorithm) {
        (true, None) => Ok(None),
        (true, Some(_)) => Err(FieldError::new(
            "hashAlgorithm",
            "notForApple",
            format!("cannot be set for {platform}: the device chooses the hash algorithm"),
        )),
        (false, algorithm) => Ok(Some(algorithm.unwrap_or(HashAlgorithm::Sha2))),
    }
}

fn check_root(platform: Platform, root_platform: Option<Platform>, errors: &mut ValidationErrors) {
    match root_platform {
        None => errors.push(
            "rootCertificateId",
            "exists",
            "does not name an existing trusted certificate profile",
        ),
        Some(root) if !platform.accepts_root_from(root) => errors.push(
            "rootCertificateId",
            "compatiblePlatform",
            format!("names a trusted certificate profile for {root}, which a {platform} profile cannot use"),
        ),
        Some(_) => {}
    }
}

fn parse_extended_key_usages(
    drafts: Option<Vec<ExtendedKeyUsageDraft>>,
    errors: &mut ValidationErrors,
) -> Option<Vec<ExtendedKeyUsage>> {
    const FIELD: &str = "extendedKeyUsages";
    let Some(drafts) = drafts else {
        return Some(vec![ExtendedKeyUsage {
            name: "Client Authentication".to_owned(),
            object_identifier: Oid(Oid::CLIENT_AUTHENTICATION.to_owned()),
        }]);
    };
    if drafts.is_empty() {
        // Windows' EKUMapping is required and a SCEP certificate without an EKU
        // is rarely what was meant: omit the list to get Client Authentication.
        errors.push(
            FIELD,
            "minItems",
            "must list at least one extended key usage; omit it for Client Authentication",
        );
        return None;
    }
    if drafts.len() > MAX_EXTENDED_KEY_USAGES {
        errors.push(
            FIELD,
            "maxItems",
            format!(
                "must have at most {MAX_EXTENDED_KEY_USAGES} entries, got {}",
                drafts.len()
            ),
        );
        return None;
    }
    let before = errors.errors().len();
    let mut seen = HashSet::new();
    let mut usages = Vec::with_capacity(drafts.len());
    for (index, draft) in drafts.into_iter().enumerate() {
        let name_field = format!("{FIELD}[{index}].name");
        if draft.name.trim().is_empty() {
            errors.push(name_field, "required", "must not be empty");
        } else {
            // Its own rule, as for every other name: a short name with a tab is not too long.
            errors.collect(
                check_max_chars(&name_field, &draft.name, MAX_EKU_NAME_CHARS)
                    .and_then(|()| check_no_forbidden_chars(&name_field, &draft.name)),
            );
        }
        match Oid::parse(&draft.object_identifier) {
            Ok(oid) if !seen.insert(oid.clone()) => errors.push(
                format!("{FIELD}[{index}].objectIdentifier"),
                "unique",
                "repeats an earlier extended key usage",
            ),
            Ok(oid) => usages.push(ExtendedKeyUsage {
                name: draft.name,
                object_identifier: oid,
            }),
            Err(message) => errors.push(format!("{FIELD}[{index}].objectIdentifier"), "oid", message),
        }
    }
    (errors.errors().len() == before).then_some(usages)
}

fn parse_scep_server_urls(
    urls: Vec<String>,
    allow_http: bool,
    errors: &mut ValidationErrors,
) -> Option<Vec<ScepServerUrl>> {
    const FIELD: &str = "scepServerUrls";
    if urls.is_empty() || urls.len() > MAX_SCEP_SERVER_URLS {
        errors.push(
            FIELD,
            "itemCount",
            format!("must list 1 to {MAX_SCEP_SERVER_URLS} URLs, got {}", urls.len()),
        );
        return None;
    }
    let before = errors.errors().len();
    let mut parsed: Vec<ScepServerUrl> = Vec::with_capacity(urls.len());
    for (index, url) in urls.iter().enumerate() {
        let field = format!("{FIELD}[{index}]");
        match ScepServerUrl::parse(url) {
            Ok(url) if !url.is_https() && !allow_http => errors.push(
                field,
                "httpsUrl",
                "must use https (plain http needs the server's --allow-http-scep-urls lab flag)",
            ),
            Ok(url) if parsed.contains(&url) => errors.push(field, "unique", "repeats an earlier URL"),
            Ok(url) => parsed.push(url),
            Err((rule, message)) => errors.push(field, rule, message),
        }
    }
    (errors.errors().len() == before).then_some(parsed)
}

#[cfg(test)]
mod tests;
