//! Subject-name and subject-alternative-name templates (seed: "Subject name
//! format", "Subject alternative name").
//!
//! A template such as `CN={{UserName}},E={{EmailAddress}},OU=Mobile` is parsed
//! once, when the profile is saved, into typed RDNs whose values are sequences
//! of literal text and variables. Expanding it for one device and user yields
//! a structured [`Subject`]: substituted values are data placed inside an
//! attribute value, never text that is parsed again, so a user whose display
//! name contains `,` `+` `=` `"` or `{{` cannot add, split or change an RDN.
//! Each platform renderer then encodes the structured subject its own way.
//!
//! The module comes in three parts, so that checking a template when a
//! profile is saved needs nothing that reads a profile:
//!
//! - [`template`]: the template grammar (`CertStrToName` syntax with
//!   `{{Variable}}` values), the variables, the structured [`Subject`] and
//!   its Windows encoding. It needs no profile settings; `scep_profile`
//!   checks templates with it.
//! - [`format`](mod@format): the predefined `subjectNameFormat`s and the templates they
//!   stand for.
//! - this module: [`expand_name`], which fills a profile's templates for
//!   one device, and the checks on expanded subject alternative names.
//!
//! Everything public is re-exported here, so `subject_name::SubjectTemplate`
//! and the like name the same items as their submodule paths.
//!
//! # Expansion
//!
//! [`expand_name`] fills the templates for one device and its primary user.
//! A variable without a value (no IMEI, no mail, no primary user) is a
//! per-device [`ExpansionError::MissingValues`] naming every variable
//! without a value, never an empty or partial
//! subject. A device certificate never reads user variables, neither at save
//! nor at expansion. When a SAN uses `{{OnPremisesSecurityIdentifier}}`, the
//! strong-mapping URI `tag:microsoft.com,2022-09-14:sid:<SID>` (KB5014754) is
//! added as Intune does.

pub mod format;
pub mod template;

pub use format::{subject_template_for, user_variable_of_format, SubjectNameFormat};
use template::user_variable_error;
pub use template::{
    missing_values, parse_windows_subject_name, windows_subject_name, AttributeTemplate, AttributeValue,
    ExpansionError, MissingValue, NameAttribute, NameContext, Rdn, RdnTemplate, Subject, SubjectTemplate,
    TemplateError, TemplateErrorKind, ValuePart, ValueTemplate, Variable, VariableScope,
};

use crate::scep_profile::{SanType, ScepSettings};

/// An expanded subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandedSan {
    pub san_type: SanType,
    pub value: String,
}

/// What a device's certificate request must carry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExpandedName {
    pub subject: Subject,
    pub subject_alternative_names: Vec<ExpandedSan>,
}

/// The URI form of a SID that KB5014754 strong mapping reads from a
/// certificate's SAN.
pub fn strong_mapping_uri(sid: &str) -> String {
    format!("tag:microsoft.com,2022-09-14:sid:{sid}")
}

/// The subject and SANs one device's certificate request carries.
///
/// The stored strings are parsed again (they were validated at save; a
/// failure is [`ExpansionError::InvalidTemplate`]), including the rule that
/// a device certificate reads no user variable. The subject's RDNs come in
/// template order, the SANs in profile order. When a SAN uses
/// `{{OnPremisesSecurityIdentifier}}`, the strong-mapping URI
/// `tag:microsoft.com,2022-09-14:sid:<SID>` is added once, at the end,
/// unless a SAN already is exactly that URI; a URI SAN that is only the
/// variable becomes that URI in place, because a bare SID has no scheme and
/// is not a URI (RFC 3986).
pub fn expand_name(
    settings: &ScepSettings,
    context: &NameContext<'_>,
) -> Result<ExpandedName, ExpansionError> {
    const FORMAT_STRING: &str = "subjectNameFormatString";
    let certificate_type = settings.certificate_type;
    let invalid = |field: &str| {
        let field = field.to_owned();
        move |error| ExpansionError::InvalidTemplate { field, error }
    };
    let custom = match (
        settings.subject_name_format,
        settings.subject_name_format_string.as_deref(),
    ) {
        (SubjectNameFormat::Custom, Some(text)) => {
            Some(SubjectTemplate::parse_for(text, certificate_type).map_err(invalid(FORMAT_STRING))?)
        }
        (SubjectNameFormat::Custom, None) => {
            return Err(invalid(FORMAT_STRING)(TemplateError::syntax(
                0,
                "the template is missing although subjectNameFormat is custom",
            )))
        }
        _ => None,
    };
    if let Some(variable) = user_variable_of_format(settings.subject_name_format, certificate_type) {
        return Err(invalid("subjectNameFormat")(user_variable_error(variable, 0)));
    }
    let subject_template =
        subject_template_for(settings.subject_name_format, certificate_type, custom.as_ref());
    let san_templates = settings
        .custom_subject_alternative_names
        .iter()
        .enumerate()
        .map(|(index, san)| {
            let field = format!("customSubjectAlternativeNames[{index}].name");
            ValueTemplate::parse_for(&san.name, certificate_type)
                .map(|template| (san, field.clone(), template))
                .map_err(invalid(&field))
        })
        .collect::<Result<Vec<_>, _>>()?;

    // Every missing value at once, before anything is expanded.
    let mut variables = subject_template
        .as_ref()
        .map(SubjectTemplate::variables)
        .unwrap_or_default();
    for (_, _, template) in &san_templates {
        for variable in template.variables() {
            if !variables.contains(&variable) {
                variables.push(variable);
            }
        }
    }
    let missing = missing_values(&variables, context);
    if !missing.is_empty() {
        return Err(ExpansionError::MissingValues(missing));
    }

    let subject = match subject_template {
        Some(template) => template.expand(context)?,
        None => Subject::default(),
    };

    let sid_variable = Variable::OnPremisesSecurityIdentifier;
    let mut sans = Vec::with_capacity(san_templates.len() + 1);
    let mut strong_mapping = None;
    for (san, field, template) in san_templates {
        let is_bare_sid = template.parts() == [ValuePart::Variable(sid_variable)];
        if template.variables().contains(&sid_variable) {
            strong_mapping = Some(strong_mapping_uri(&sid_variable.value(context)?));
        }
        let value = match &strong_mapping {
            Some(uri) if is_bare_sid && san.san_type == SanType::UniversalResourceIdentifier => uri.clone(),
            _ => template.expand(context)?,
        };
        check_san_value(san.san_type, &value).map_err(|(rule, problem)| {
            let sources: Vec<String> = template.variables().iter().map(ToString::to_string).collect();
            let from = if sources.is_empty() {
                String::new()
            } else {
                format!(" expanded from {}", sources.join(", "))
            };
            ExpansionError::InvalidValue {
                field: field.clone(),
                rule,
                reason: format!("the value{from} {problem}"),
            }
        })?;
        sans.push(ExpandedSan {
            san_type: san.san_type,
            value,
        });
    }
    if let Some(uri) = strong_mapping {
        let mapping = ExpandedSan {
            san_type: SanType::UniversalResourceIdentifier,
            value: uri,
        };
        if !sans.contains(&mapping) {
            sans.push(mapping);
        }
    }
    Ok(ExpandedName {
        subject,
        subject_alternative_names: sans,
    })
}

/// Whether an expanded SAN value is valid for its type (RFC 5280 §4.2.1.6):
/// dNSName and rfc822Name are IA5Strings in their RFC 1034 / RFC 5321
/// syntax, a uniformResourceIdentifier an absolute URI. A UPN is a
/// UTF8String: any non-empty text. Returns the rule and what is wrong.
fn check_san_value(san_type: SanType, value: &str) -> Result<(), (&'static str, String)> {
    match san_type {
        SanType::UserPrincipalName => Ok(()),
        SanType::DomainNameService => dns_name_problem(value).map_or(Ok(()), |problem| {
            Err(("dnsName", format!("is not a DNS name: {problem}")))
        }),
        SanType::EmailAddress => {
            let problem = match value.rsplit_once('@') {
                _ if !value.is_ascii() => Some("it holds non-ASCII characters".to_owned()),
                None => Some("it has no @".to_owned()),
                Some((local, _)) if local.is_empty() || local.len() > 64 => {
                    Some("the part before @ must be 1–64 characters".to_owned())
                }
                Some((local, _))
                    if local.chars().any(|c| {
                        c.is_ascii_whitespace()
                            || c.is_ascii_control()
                            || matches!(
                                c,
                                '@' | '<' | '>' | ',' | ';' | '"' | '(' | ')' | '[' | ']' | '\\'
                            )
                    }) =>
                {
                    Some("the part before @ holds a space or a special character".to_owned())
                }
                Some((_, domain)) => dns_name_problem(domain).map(|problem| format!("its domain {problem}")),
            };
            problem.map_or(Ok(()), |problem| {
                Err(("emailAddress", format!("is not an email address: {problem}")))
            })
        }
        SanType::UniversalResourceIdentifier => {
            let problem = if !value.is_ascii() {
                Some("it holds non-ASCII characters".to_owned())
            } else if value.chars().any(|c| {
                c.is_ascii_whitespace()
                    || c.is_ascii_control()
                    || matches!(c, '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`')
            }) {
                Some("it holds a space or a character URIs may not contain".to_owned())
            } else {
                match url::Url::parse(value) {
                    Ok(_) => None,
                    Err(error) => Some(error.to_string()),
                }
            };
            problem.map_or(Ok(()), |problem| {
                Err(("uri", format!("is not an absolute URI: {problem}")))
            })
        }
    }
}

/// What makes `name` no DNS host name (RFC 1034 §3.5 letters, digits and
/// hyphens; RFC 1123 allows a leading digit), if anything.
fn dns_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 253 {
        return Some("it must be 1–253 characters".to_owned());
    }
    for label in name.strip_suffix('.').unwrap_or(name).split('.') {
        if label.is_empty() || label.len() > 63 {
            return Some("every label must be 1–63 characters".to_owned());
        }
        if let Some(c) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
            return Some(match c {
                ' ' => "it holds a space".to_owned(),
                c if c.is_ascii_graphic() => format!("it holds '{c}'"),
                c => format!("it holds U+{:04X}", u32::from(c)),
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some("a label starts or ends with a hyphen".to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests;
