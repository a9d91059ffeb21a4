//! Android JSON (Scepter's own payload for its Android agent).
//!
//! Android has no standard SCEP payload, so the contract is Scepter's JSON
//! Schema (`openapi/android-payload.schema.json`, draft 2020-12), checked
//! with the `jsonschema` crate when [`crate::Options`] carries a schema. On
//! top come the value rules of the formats the payload borrows from: the
//! Microsoft Graph `androidDeviceOwnerScepCertificateProfile` enums and
//! ranges (key size 1024/2048/4096, key usage keyEncipherment and
//! digitalSignature, hash sha1/sha2, validity scale, renewal threshold
//! 1–99, SAN types, certificate store), and the Chromium ONC `Certificate`
//! object (`Type` `Authority` with a base64 DER `X509` and a `GUID`).

use base64::{engine::general_purpose::STANDARD, Engine};
use jsonschema::{error::ValidationErrorKind, ValidationError, Validator};
use serde_json::Value;

use crate::{
    certificate::der_certificate_problem,
    formats::{is_dotted_oid, is_hex, is_http_url},
    report::Report,
};

/// Graph enum properties and their values.
const GRAPH_ENUMS: [(&str, &[&str]); 7] = [
    ("hashAlgorithm", &["sha1", "sha2"]),
    ("certificateValidityPeriodScale", &["days", "months", "years"]),
    ("certificateStore", &["user", "machine"]),
    (
        "subjectAlternativeNameType",
        &[
            "none",
            "emailAddress",
            "userPrincipalName",
            "customAzureADAttribute",
            "domainNameService",
            "universalResourceIdentifier",
        ],
    ),
    (
        "sanType",
        &[
            "none",
            "emailAddress",
            "userPrincipalName",
            "customAzureADAttribute",
            "domainNameService",
            "universalResourceIdentifier",
        ],
    ),
    (
        "certificateAccessType",
        &["userApproval", "specificApps", "unknownFutureValue"],
    ),
    (
        "subjectNameFormat",
        &[
            "commonName",
            "commonNameIncludingEmail",
            "commonNameAsEmail",
            "custom",
            "commonNameAsIMEI",
            "commonNameAsSerialNumber",
            "commonNameAsAadDeviceId",
            "commonNameAsIntuneDeviceId",
            "commonNameAsDurableDeviceId",
        ],
    ),
];
const KEY_USAGES: [&str; 2] = ["digitalSignature", "keyEncipherment"];

pub fn validate(bytes: &[u8], schema: Option<&Value>, report: &mut Report) {
    let text = String::from_utf8_lossy(bytes);
    let document: Value = match serde_json::from_str(text.trim_start_matches('\u{feff}')) {
        Ok(document) => document,
        Err(error) => {
            report.error("", format!("JSON does not parse: {error}"));
            return;
        }
    };
    if let Some(schema) = schema {
        check_schema(&document, schema, report);
    }
    let mut found = Found::default();
    walk(&document, "$", report, &mut found);
    if found.server_urls && !found.challenge {
        report.error("$", "SCEP settings without a challenge");
    }
    if !found.server_urls && !found.certificate {
        report.error(
            "$",
            "neither SCEP settings (scepServerUrls) nor a certificate (X509/trustedRootCertificate) found",
        );
    }
}

fn check_schema(document: &Value, schema: &Value, report: &mut Report) {
    // Formats (`uri`, …) are asserted, not only annotated: the schema's
    // author wrote them as rules.
    let validator: Validator = match jsonschema::options().should_validate_formats(true).build(schema) {
        Ok(validator) => validator,
        Err(error) => {
            report.error(
                "reference",
                format!("the Android JSON Schema does not compile: {error}"),
            );
            return;
        }
    };
    for error in validator.iter_errors(document) {
        report.error(&json_path(&error), describe_schema_error(&error));
    }
}

/// A schema error; for a failed `oneOf`, also what the closest alternative
/// (fewest errors) says, since "matches no alternative" alone does not say why.
fn describe_schema_error(error: &ValidationError<'_>) -> String {
    let ValidationErrorKind::OneOfNotValid { context } = error.kind() else {
        return format!("schema: {error}");
    };
    let Some(closest) = context.iter().min_by_key(|alternative| alternative.len()) else {
        return format!("schema: {error}");
    };
    let reasons: Vec<String> = closest
        .iter()
        .map(|reason| format!("{}: {reason}", json_path(reason)))
        .collect();
    format!(
        "schema: matches none of the oneOf alternatives; the closest says: {}",
        reasons.join("; ")
    )
}

/// `/scep/subject/0/0` → `$.scep.subject[0][0]`.
fn json_path(error: &ValidationError<'_>) -> String {
    let pointer = error.instance_path().to_string();
    let mut path = "$".to_owned();
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if !token.is_empty() && token.bytes().all(|byte| byte.is_ascii_digit()) {
            path.push_str(&format!("[{token}]"));
        } else {
            path.push_str(&format!(".{token}"));
        }
    }
    path
}

#[derive(Default)]
struct Found {
    server_urls: bool,
    challenge: bool,
    certificate: bool,
}

/// Applies the Graph and ONC value rules to every property, at any depth.
fn walk(value: &Value, place: &str, report: &mut Report, found: &mut Found) {
    match value {
        Value::Object(object) => {
            for (key, item) in object {
                let place = format!("{place}.{key}");
                check_property(object, key, item, &place, report, found);
                walk(item, &place, report, found);
            }
            if object.contains_key("X509") && !object.contains_key("GUID") {
                report.error(place, "ONC Certificate object without GUID");
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                walk(item, &format!("{place}[{index}]"), report, found);
            }
        }
        _ => {}
    }
}

fn check_property(
    object: &serde_json::Map<String, Value>,
    key: &str,
    value: &Value,
    place: &str,
    report: &mut Report,
    found: &mut Found,
) {
    let lower = key.to_lowercase();
    if key == "scepServerUrls" {
        found.server_urls = true;
        match value.as_array().filter(|urls| !urls.is_empty()) {
            None => report.error(place, "must be a non-empty array of URLs"),
            Some(urls) => {
                for url in urls {
                    if !url.as_str().is_some_and(is_http_url) {
                        report.error(place, format!("{url} is not an http(s) URL"));
                    }
                }
            }
        }
    } else if lower == "challenge" {
        found.challenge = true;
        if value.as_str().is_none_or(str::is_empty) {
            report.error(place, "challenge must be a non-empty string");
        }
    } else if key == "keySize" {
        let allowed = matches!(value.as_i64(), Some(1024 | 2048 | 4096))
            || matches!(value.as_str(), Some("size1024" | "size2048" | "size4096"));
        if !allowed {
            report.error(place, format!("key size {value} not 1024/2048/4096"));
        }
    } else if key == "keyUsage" {
        let usages: Option<Vec<Option<&str>>> = match value {
            Value::Array(items) => Some(items.iter().map(Value::as_str).collect()),
            Value::String(text) => Some(text.split(',').map(|usage| Some(usage.trim())).collect()),
            _ => None,
        };
        let valid = usages.is_some_and(|usages| {
            !usages.is_empty()
                && usages
                    .iter()
                    .all(|usage| usage.is_some_and(|usage| KEY_USAGES.contains(&usage)))
        });
        if !valid {
            report.error(
                place,
                format!("keyUsage {value} must be a non-empty subset of {KEY_USAGES:?}"),
            );
        }
    } else if let Some((_, allowed)) = GRAPH_ENUMS.iter().find(|(name, _)| *name == key) {
        if !value.as_str().is_some_and(|text| allowed.contains(&text)) {
            let mut sorted = allowed.to_vec();
            sorted.sort_unstable();
            report.error(place, format!("{value} not in {sorted:?}"));
        }
    } else if key == "objectIdentifier" {
        if !value.as_str().is_some_and(is_dotted_oid) {
            report.error(place, format!("{value} is not a dotted OID"));
        }
    } else if key == "certificateValidityPeriodValue" {
        if value.as_i64().is_none_or(|validity| validity < 1) {
            report.error(place, format!("validity value {value} must be an integer >= 1"));
        }
    } else if key == "renewalThresholdPercentage" {
        if !value
            .as_i64()
            .is_some_and(|threshold| (1..=99).contains(&threshold))
        {
            report.error(place, format!("renewal threshold {value} must be 1..99"));
        }
    } else if key == "X509" || key == "trustedRootCertificate" {
        found.certificate = true;
        let problem = match value.as_str() {
            None => der_certificate_problem(&[]),
            Some(text) => match STANDARD.decode(text) {
                Ok(der) => der_certificate_problem(&der),
                Err(_) => Some("not valid base64".to_owned()),
            },
        };
        if let Some(problem) = problem {
            report.error(place, problem);
        }
    } else if key == "Type" && object.contains_key("X509") {
        if value.as_str() != Some("Authority") {
            report.error(
                place,
                format!("trusted root certificate entries use ONC Type 'Authority', got {value}"),
            );
        }
    } else if matches!(lower.as_str(), "thumbprintsha1" | "sha1thumbprint" | "sha1") {
        if !value.as_str().is_some_and(|text| is_hex(text, 40)) {
            report.error(
                place,
                format!("SHA-1 thumbprint must be 40 hex characters, got {value}"),
            );
        }
    } else if matches!(lower.as_str(), "thumbprintsha256" | "sha256thumbprint" | "sha256")
        && !value.as_str().is_some_and(|text| is_hex(text, 64))
    {
        report.error(
            place,
            format!("SHA-256 thumbprint must be 64 hex characters, got {value}"),
        );
    }
}
