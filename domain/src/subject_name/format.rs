//! Predefined subject name formats (seed: "Subject name format").
//!
//! [`subject_template_for`] maps `subjectNameFormat` to a template:
//!
//! | `subjectNameFormat`        | user certificate                     | device certificate        |
//! |----------------------------|--------------------------------------|---------------------------|
//! | `notConfigured`            | no subject                           | no subject                |
//! | `commonName`               | `CN={{UserName}}`                    | `CN={{AAD_Device_ID}}`    |
//! | `commonNameIncludingEmail` | `CN={{UserName}},E={{EmailAddress}}` | refused at save           |
//! | `commonNameAsEmail`        | `CN={{EmailAddress}}`                | refused at save           |
//! | `commonNameAsIMEI`         | `CN={{IMEINumber}}`                  | `CN={{IMEINumber}}`       |
//! | `commonNameAsSerialNumber` | `CN={{SerialNumber}}`                | `CN={{SerialNumber}}`     |
//! | `custom`                   | `subjectNameFormatString`            | `subjectNameFormatString` |
//!
//! "Common name" is the user's UPN for user certificates (seed:
//! "CN={{UserName}}: The user principle name of the user"). A device
//! certificate has no user, so its common name is the Azure AD device ID,
//! the identity the seed says "is typically used to authenticate with Azure
//! AD"; a device without one gets a per-device error rather than a
//! different subject. `notConfigured` expands to an empty
//! [`Subject`](super::template::Subject): the payload then carries no
//! subject, and the certificate's identity rests on its subject alternative
//! names.

use serde::{Deserialize, Serialize};

use super::template::{NameAttribute, SubjectTemplate, Variable, VariableScope};
use crate::certificate_type::CertificateType;

/// How the subject name is built (seed: "Subject name format").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SubjectNameFormat {
    NotConfigured,
    CommonName,
    CommonNameIncludingEmail,
    CommonNameAsEmail,
    #[serde(rename = "commonNameAsIMEI")]
    CommonNameAsImei,
    CommonNameAsSerialNumber,
    Custom,
}

/// The template a `subjectNameFormat` stands for (table in the module
/// docs); `custom` is the profile's parsed `subjectNameFormatString`.
/// `None`: no subject — `notConfigured`, or `custom` without a template,
/// which [`ScepCertificateProfile::parse`](crate::ScepCertificateProfile::parse)
/// refuses at save.
pub fn subject_template_for(
    format: SubjectNameFormat,
    certificate_type: CertificateType,
    custom: Option<&SubjectTemplate>,
) -> Option<SubjectTemplate> {
    use NameAttribute::{CommonName, Email};
    let common_name = |variable| vec![(CommonName, variable)];
    let rdns = match format {
        SubjectNameFormat::NotConfigured => return None,
        SubjectNameFormat::CommonName => common_name(match certificate_type {
            CertificateType::User => Variable::UserName,
            CertificateType::Device => Variable::AadDeviceId,
        }),
        SubjectNameFormat::CommonNameIncludingEmail => {
            vec![(CommonName, Variable::UserName), (Email, Variable::EmailAddress)]
        }
        SubjectNameFormat::CommonNameAsEmail => common_name(Variable::EmailAddress),
        SubjectNameFormat::CommonNameAsImei => common_name(Variable::ImeiNumber),
        SubjectNameFormat::CommonNameAsSerialNumber => common_name(Variable::SerialNumber),
        SubjectNameFormat::Custom => return custom.cloned(),
    };
    Some(SubjectTemplate::of_variables(&rdns))
}

/// The first user variable a predefined format puts in a device
/// certificate's subject, if any (the save-time rule for `subjectNameFormat`).
pub fn user_variable_of_format(
    format: SubjectNameFormat,
    certificate_type: CertificateType,
) -> Option<Variable> {
    if certificate_type != CertificateType::Device {
        return None;
    }
    subject_template_for(format, certificate_type, None)?
        .variables()
        .into_iter()
        .find(|variable| variable.scope() == VariableScope::User)
}
