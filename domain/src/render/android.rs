//! Android: Scepter's own JSON document, described by the JSON Schema
//! `openapi/android-payload.schema.json` (draft 2020-12).
//!
//! Android has no SCEP client and no standard SCEP payload: a device-policy
//! controller (or delegated certificate installer) runs SCEP itself and
//! installs the result with `DevicePolicyManager.installKeyPair`, and installs
//! CA certificates with `installCaCert`. So the format is ours, and it borrows
//! two vocabularies an Android agent already knows:
//!
//! - trusted roots are ONC `Certificate` objects (`GUID`, `Type: "Authority"`,
//!   `X509` = base64 DER; Chromium `components/onc/docs/onc_spec.md`, the form
//!   the Android Management API accepts in `openNetworkConfiguration`), plus
//!   Scepter's `certFileName`, `thumbprintSha1` and `thumbprintSha256`;
//! - SCEP settings use the API's (and Microsoft Graph's
//!   `androidDeviceOwnerScepCertificateProfile`) field names — `scepServerUrls`,
//!   `keyUsage`, `keySize`, `hashAlgorithm`, `extendedKeyUsages`,
//!   `renewalThresholdPercentage`, … — with everything resolved for the one
//!   device: the expanded subject and SANs, the one-time `challenge`, and the
//!   server URLs in the order this device should try them.
//!
//! The subject is structured (RDNs of `{type, oid, value}`), never a DN string:
//! the agent builds the X.500 name from OIDs and values and parses nothing, so
//! a value containing `,` `+` `=` or `"` stays one attribute value.

use serde::Serialize;
use uuid::Uuid;

use super::{
    subject_rdns, urls_for_device, RenderError, Rendered, ScepPayloadInput, TrustedPayloadInput,
    JSON_CONTENT_TYPE,
};
use crate::{
    scep_profile::{CertificateType, ExtendedKeyUsage, HashAlgorithm, KeyUsage, SanType, ValidityScale},
    subject_name::Subject,
    trusted_profile::TrustedCertificateProfile,
};

/// Bumped on any change an agent built for the previous schema could misread.
const SCHEMA_VERSION: u32 = 1;

/// Renders a SCEP profile with its root for one device.
pub fn render_scep(input: &ScepPayloadInput<'_>) -> Result<Rendered, RenderError> {
    let profile = input.profile;
    let settings = &profile.settings;
    let document = Document {
        schema_version: SCHEMA_VERSION,
        kind: "scepCertificateProfile",
        profile_id: input.profile_id,
        profile_version: input.profile_version,
        display_name: profile.display_name.as_str(),
        description: profile.description.as_str(),
        organization: input.organization,
        certificates: vec![Certificate::new(input.root.id, input.root.profile)],
        scep: Some(Scep {
            scep_server_urls: urls_for_device(&settings.scep_server_urls, input.device_id)
                .into_iter()
                .map(|url| url.as_str())
                .collect(),
            challenge: input.challenge,
            certificate_type: settings.certificate_type,
            subject: subject(&input.name.subject)?,
            subject_alternative_names: input
                .name
                .subject_alternative_names
                .iter()
                .map(|san| SubjectAlternativeName {
                    san_type: san.san_type,
                    value: &san.value,
                })
                .collect(),
            key_size: settings.key_size.bits(),
            key_usage: &settings.key_usage,
            hash_algorithm: settings.hash_algorithm,
            extended_key_usages: &settings.extended_key_usages,
            certificate_validity_period_value: settings.validity_period.map(|period| period.value),
            certificate_validity_period_scale: settings.validity_period.map(|period| period.scale),
            renewal_threshold_percentage: settings.renewal_threshold_percentage.percent(),
            root_certificate_id: input.root.id,
        }),
    };
    let mut warnings = Vec::new();
    if settings.key_storage_provider.is_some() {
        warnings.push(format!(
            "{} cannot express keyStorageProvider; the payload leaves it out",
            profile.platform
        ));
    }
    Ok(Rendered {
        content_type: JSON_CONTENT_TYPE,
        body: to_json(&document)?,
        warnings,
    })
}

/// Renders a trusted profile: the document with its one certificate and no `scep`.
pub fn render_trusted(input: &TrustedPayloadInput<'_>) -> Result<Rendered, RenderError> {
    let trusted = input.profile;
    let document = Document {
        schema_version: SCHEMA_VERSION,
        kind: "trustedCertificateProfile",
        profile_id: trusted.id,
        profile_version: trusted.version,
        display_name: trusted.profile.display_name.as_str(),
        description: trusted.profile.description.as_str(),
        organization: input.organization,
        certificates: vec![Certificate::new(trusted.id, trusted.profile)],
        scep: None,
    };
    Ok(Rendered {
        content_type: JSON_CONTENT_TYPE,
        body: to_json(&document)?,
        warnings: Vec::new(),
    })
}

/// The whole document; field order is the order in the JSON.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    schema_version: u32,
    /// `scepCertificateProfile` or `trustedCertificateProfile`.
    kind: &'static str,
    profile_id: Uuid,
    /// With `profileId`, identifies what the device has installed.
    profile_version: i64,
    display_name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    organization: &'a str,
    certificates: Vec<Certificate<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scep: Option<Scep<'a>>,
}

/// An ONC `Certificate` of type `Authority`, plus Scepter's extra fields.
#[derive(Serialize)]
struct Certificate<'a> {
    /// The trusted profile's id: a new version of the profile replaces the
    /// certificate the agent installed under the same GUID, as in ONC.
    #[serde(rename = "GUID")]
    guid: Uuid,
    #[serde(rename = "Type")]
    certificate_type: &'static str,
    /// One-line standard base64 of the DER encoding.
    #[serde(rename = "X509")]
    x509: String,
    #[serde(rename = "certFileName", skip_serializing_if = "Option::is_none")]
    cert_file_name: Option<&'a str>,
    /// 40 upper-case hex digits, as the API's `thumbprintSha1`.
    #[serde(rename = "thumbprintSha1")]
    thumbprint_sha1: &'a str,
    #[serde(rename = "thumbprintSha256")]
    thumbprint_sha256: &'a str,
}

impl<'a> Certificate<'a> {
    fn new(profile_id: Uuid, profile: &'a TrustedCertificateProfile) -> Self {
        let details = profile.certificate.details();
        Self {
            guid: profile_id,
            certificate_type: "Authority",
            x509: profile.certificate.to_base64(),
            cert_file_name: profile.cert_file_name.as_ref().map(|name| name.as_str()),
            thumbprint_sha1: &details.thumbprint_sha1,
            thumbprint_sha256: &details.thumbprint_sha256,
        }
    }
}

/// The SCEP settings, resolved for one device.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Scep<'a> {
    /// All of the profile's URLs, starting at the one chosen for this device
    /// ([`urls_for_device`]); the agent tries them in this order.
    scep_server_urls: Vec<&'a str>,
    challenge: &'a str,
    certificate_type: CertificateType,
    subject: Vec<Vec<SubjectAttribute<'a>>>,
    subject_alternative_names: Vec<SubjectAlternativeName<'a>>,
    key_size: u16,
    key_usage: &'a [KeyUsage],
    #[serde(skip_serializing_if = "Option::is_none")]
    hash_algorithm: Option<HashAlgorithm>,
    extended_key_usages: &'a [ExtendedKeyUsage],
    /// Both absent when the CA template's validity applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_validity_period_value: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_validity_period_scale: Option<ValidityScale>,
    renewal_threshold_percentage: u8,
    /// The `GUID` of the entry in `certificates` that issued certificates chain to.
    root_certificate_id: Uuid,
}

/// One attribute of an RDN. `oid` is what the agent encodes; `type` is the
/// keyword the API's subject template uses for it (`CN`, `E`, `OU`, …).
#[derive(Serialize)]
struct SubjectAttribute<'a> {
    #[serde(rename = "type")]
    attribute_type: &'static str,
    oid: &'static str,
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SubjectAlternativeName<'a> {
    san_type: SanType,
    value: &'a str,
}

/// RDNs in order, each a non-empty list of attributes (several for a
/// multi-valued RDN).
fn subject(subject: &Subject) -> Result<Vec<Vec<SubjectAttribute<'_>>>, RenderError> {
    subject_rdns(subject, |attribute| SubjectAttribute {
        attribute_type: attribute.attribute.template_keyword(),
        oid: attribute.attribute.oid(),
        value: &attribute.value,
    })
}

/// Pretty-printed (two-space indent) with a final newline, so previews and
/// golden files read well; the size difference is irrelevant at this scale.
fn to_json(document: &Document<'_>) -> Result<Vec<u8>, RenderError> {
    let mut body =
        serde_json::to_vec_pretty(document).map_err(|error| RenderError::Encoding(error.to_string()))?;
    body.push(b'\n');
    Ok(body)
}

#[cfg(test)]
mod tests;
