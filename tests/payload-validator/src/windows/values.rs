//! The value of one CSP leaf: its DDF format (`int`, `bool`, `b64`) and
//! `MSFT:AllowedValues` (enum or `[low-high]` range), then what the
//! ClientCertificateInstall and RootCATrustedCertificates CSP pages document
//! for the leaf: KeyUsage needs 0x20 (keyEncipherment) or 0x80
//! (digitalSignature) and only `CERT_*_KEY_USAGE` bits; EKUMapping is OIDs
//! joined by `+`; HashAlgorithm is SHA-1/SHA-2/SHA-3 joined by `+`;
//! CAThumbprint is a SHA-1 as 40 hex characters; ServerURL is http(s) URLs
//! joined by `;`; SubjectAlternativeNames is `nameType+value` entries joined
//! by `;` with the certenroll `AlternativeNameType` 1..11; SubjectName is an
//! X.500 string as `CertStrToName` reads it; Challenge is base64;
//! RetryDelay is at least 1 (minute); EncodedCertificate is one-line base64
//! of one DER certificate whose SHA-1 is the node's name.

use base64::{engine::general_purpose::STANDARD, Engine};
use sha1::{Digest, Sha1};

use crate::{
    certificate::der_certificate_problem,
    formats::{has_base64_alphabet, is_dotted_oid, is_hex, is_http_url, parse_int},
    reference::{Allowed, Matched},
    report::Report,
};

/// X.500 keys `CertStrToName` accepts (wincrypt `CERT_RDN` attribute keys), upper-case.
const WINDOWS_NAME_KEYS: [&str; 29] = [
    "C",
    "CN",
    "DC",
    "DESCRIPTION",
    "DEVICESERIALNUMBER",
    "DNQUALIFIER",
    "E",
    "EMAIL",
    "G",
    "GIVENNAME",
    "GN",
    "I",
    "INITIALS",
    "L",
    "O",
    "OU",
    "PHONE",
    "POBOX",
    "POSTALCODE",
    "S",
    "SERIALNUMBER",
    "SN",
    "ST",
    "STREET",
    "T",
    "TITLE",
    "UNSTRUCTUREDADDRESS",
    "UNSTRUCTUREDNAME",
    "X21ADDRESS",
];

pub fn check(report: &mut Report, place: &str, matched: &Matched<'_>, data: &str) {
    let node = matched.node;
    if !check_format(report, place, node.format.as_deref(), data) {
        return;
    }
    match &node.allowed {
        Some(Allowed::Enum(values)) if !values.iter().any(|value| value == data.trim()) => {
            report.error(
                place,
                format!("value '{data}' not in allowed {}", quoted_list(values)),
            );
        }
        Some(Allowed::Range(low, high)) => {
            if let Some(value) = parse_int(data).filter(|value| !(low..=high).contains(&value)) {
                report.error(
                    place,
                    format!("value {value} outside allowed range [{low}-{high}]"),
                );
            }
        }
        _ => {}
    }
    match node.name() {
        "KeyUsage" => key_usage(report, place, data),
        "EKUMapping" => {
            for part in data.split('+') {
                if !is_dotted_oid(part.trim()) {
                    report.error(
                        place,
                        format!("EKU '{part}' is not a dotted OID (list must be OID1+OID2+...)"),
                    );
                }
            }
        }
        "HashAlgorithm" => {
            if data.contains(';') {
                report.warn(
                    place,
                    format!("'{data}' uses ';' (Intune does this) but the CSP documents '+' as separator"),
                );
            }
            for part in data.split(['+', ';']) {
                if !["SHA-1", "SHA-2", "SHA-3"].contains(&part.trim().to_uppercase().as_str()) {
                    report.error(
                        place,
                        format!("hash algorithm family '{part}' not one of SHA-1, SHA-2, SHA-3"),
                    );
                }
            }
        }
        "CAThumbprint" if !is_hex(data.trim(), 40) => report.error(
            place,
            format!("CAThumbprint must be the 20-byte SHA-1 as 40 hex characters, got '{data}'"),
        ),
        "ServerURL" => {
            for url in data.split(';') {
                if !is_http_url(url.trim()) {
                    report.error(place, format!("server URL '{url}' is not an http(s) URL"));
                }
            }
        }
        "SubjectAlternativeNames" if !data.trim().is_empty() => {
            for entry in data.split(';') {
                subject_alternative_name(report, place, entry.trim());
            }
        }
        "SubjectName" => subject_name(report, place, data),
        "Challenge" => {
            if data.is_empty() {
                report.error(place, "empty challenge");
            } else if !has_base64_alphabet(data) {
                report.warn(
                    place,
                    "challenge is documented as base64-encoded; this value is not base64",
                );
            }
        }
        "RetryDelay" if parse_int(data).is_some_and(|delay| delay < 1) => {
            report.warn(place, "RetryDelay minimum is documented as 1 (minutes)");
        }
        "EncodedCertificate" => encoded_certificate(report, place, matched, data),
        _ => {}
    }
}

/// The DDF format's own syntax; `false` when the value cannot be read further.
fn check_format(report: &mut Report, place: &str, format: Option<&str>, data: &str) -> bool {
    match format {
        Some("int") => match parse_int(data) {
            None => {
                report.error(place, format!("int node with non-integer data '{data}'"));
                return false;
            }
            Some(value) if value < 0 => report.error(place, format!("negative value {value}")),
            Some(_) => {}
        },
        Some("bool") if data != "true" && data != "false" => {
            report.error(place, format!("bool node needs 'true' or 'false', got '{data}'"));
        }
        Some("b64") => {
            if data.chars().any(char::is_whitespace) {
                report.error(
                    place,
                    "base64 data contains whitespace/line breaks (not allowed for EncodedCertificate)",
                );
            }
            let compact: String = data
                .chars()
                .filter(|character| !character.is_whitespace())
                .collect();
            if !has_base64_alphabet(&compact) || compact.len() % 4 != 0 {
                report.error(place, "data is not valid base64");
            }
        }
        _ => {}
    }
    true
}

fn key_usage(report: &mut Report, place: &str, data: &str) {
    let Some(usage) = parse_int(data) else {
        return;
    };
    if usage & 0xA0 == 0 {
        report.error(
            place,
            format!("KeyUsage {usage} (0x{usage:X}) has neither 0x20 (keyEncipherment) nor 0x80 (digitalSignature) set"),
        );
    }
    if usage & !0x80FF != 0 {
        report.error(
            place,
            format!("KeyUsage {usage} has bits outside the CERT_*_KEY_USAGE flags"),
        );
    }
}

fn subject_alternative_name(report: &mut Report, place: &str, entry: &str) {
    let parsed = entry.split_once('+').filter(|(name_type, value)| {
        !name_type.is_empty() && name_type.bytes().all(|byte| byte.is_ascii_digit()) && !value.is_empty()
    });
    let Some((name_type, value)) = parsed else {
        report.error(place, format!("SAN entry '{entry}' is not 'nameType+value'"));
        return;
    };
    let name_type: u128 = name_type.parse().unwrap_or(u128::MAX);
    if !(1..=11).contains(&name_type) {
        report.error(
            place,
            format!("SAN name type {name_type} outside AlternativeNameType 1..11"),
        );
    } else if (name_type == 2 || name_type == 11) && !value.contains('@') {
        let kind = if name_type == 2 { "email" } else { "UPN" };
        report.warn(
            place,
            format!("SAN type {name_type} ({kind}) value '{value}' has no '@'"),
        );
    } else if name_type == 7 && !has_uri_scheme(value) {
        report.warn(place, format!("SAN type 7 (URL) value '{value}' has no scheme"));
    }
}

/// RFC 3986 scheme: a letter, then letters, digits, `+`, `.` or `-`, then `:`.
fn has_uri_scheme(value: &str) -> bool {
    value.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|first: char| first.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || "+.-".contains(character))
    })
}

fn subject_name(report: &mut Report, place: &str, data: &str) {
    if data.trim().is_empty() {
        report.error(place, "empty SubjectName");
        return;
    }
    match split_distinguished_name(data) {
        Ok(rdns) => {
            for (key, value) in rdns.iter().flatten() {
                check_name_attribute(report, place, key, value);
            }
        }
        Err(problem) => report.error(
            place,
            format!("SubjectName '{data}' does not parse as an X.500 name: {problem}"),
        ),
    }
}

fn check_name_attribute(report: &mut Report, place: &str, key: &str, value: &str) {
    let upper = key.to_uppercase();
    let name = upper.strip_prefix("OID.").unwrap_or(&upper);
    if !WINDOWS_NAME_KEYS.contains(&name) && !is_dotted_oid(name) {
        report.error(place, format!("unknown X.500 attribute type '{key}'"));
    }
    if name == "C" && !(value.len() == 2 && value.bytes().all(|byte| byte.is_ascii_alphabetic())) {
        report.error(
            place,
            format!("country (C) must be a two-letter ISO 3166 code, got '{value}'"),
        );
    }
    if value.is_empty() {
        report.warn(place, format!("empty value for {key}"));
    }
}

/// An RDN: its `(type, value)` attributes (several when joined by `+`).
type Rdn = Vec<(String, String)>;

/// Splits a name the way `CertStrToName` reads it: RDNs separated by `,` or
/// `;`, attributes of a multi-valued RDN by `+`, a value may be `"quoted"`
/// with `""` for a quote inside.
fn split_distinguished_name(text: &str) -> Result<Vec<Rdn>, String> {
    let characters: Vec<char> = text.chars().collect();
    let (mut rdns, mut rdn) = (Vec::new(), Rdn::new());
    let (mut current, mut key, mut quoted) = (String::new(), None::<String>, false);
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        if key.is_some() && current.trim().is_empty() && character == '"' {
            let mut next = index + 1;
            let mut value = String::new();
            loop {
                match characters.get(next) {
                    None => return Err("unterminated quoted value".to_owned()),
                    Some('"') if characters.get(next + 1) == Some(&'"') => {
                        value.push('"');
                        next += 2;
                    }
                    Some('"') => {
                        next += 1;
                        break;
                    }
                    Some(other) => {
                        value.push(*other);
                        next += 1;
                    }
                }
            }
            while characters.get(next) == Some(&' ') {
                next += 1;
            }
            if characters.get(next).is_some_and(|after| !",;+".contains(*after)) {
                return Err(format!("text after closing quote at {next}"));
            }
            (current, quoted, index) = (value, true, next);
            continue;
        }
        match (character, &key) {
            ('=', None) => {
                key = Some(current.trim().to_owned());
                current.clear();
            }
            (',' | ';' | '+', None) => return Err(format!("attribute without '=' before position {index}")),
            (',' | ';' | '+', Some(name)) => {
                let value = if quoted {
                    current.clone()
                } else {
                    current.trim().to_owned()
                };
                rdn.push((name.clone(), value));
                (key, quoted) = (None, false);
                current.clear();
                if character != '+' {
                    rdns.push(std::mem::take(&mut rdn));
                }
            }
            ('=', Some(name)) => return Err(format!("unquoted '=' inside the value of {name}")),
            _ => current.push(character),
        }
        index += 1;
    }
    match key {
        None if !current.trim().is_empty() => return Err("trailing text without '='".to_owned()),
        None => {}
        Some(name) => {
            let value = if quoted {
                current
            } else {
                current.trim().to_owned()
            };
            rdn.push((name, value));
        }
    }
    if !rdn.is_empty() {
        rdns.push(rdn);
    }
    Ok(rdns)
}

/// One-line base64 of one DER certificate, under a node named by its SHA-1.
fn encoded_certificate(report: &mut Report, place: &str, matched: &Matched<'_>, data: &str) {
    let compact: String = data
        .chars()
        .filter(|character| !character.is_whitespace())
        .collect();
    let Ok(der) = STANDARD.decode(compact) else {
        return; // reported by the b64 format check
    };
    if let Some(problem) = der_certificate_problem(&der) {
        report.error(place, problem);
    }
    let node_name = matched.binding("CertHash").unwrap_or_default();
    let digest = hex_upper(&Sha1::digest(&der));
    if !is_hex(node_name, 40) {
        report.error(
            place,
            format!("certificate node name '{node_name}' must be the SHA-1 thumbprint (40 hex)"),
        );
    } else if !node_name.eq_ignore_ascii_case(&digest) {
        report.error(
            place,
            format!("node name {node_name} is not the SHA-1 of the certificate ({digest})"),
        );
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

fn quoted_list(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|value| format!("'{value}'")).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(rdns: &[Rdn]) -> Vec<Vec<(&str, &str)>> {
        rdns.iter()
            .map(|rdn| {
                rdn.iter()
                    .map(|(key, value)| (key.as_str(), value.as_str()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn splits_names_as_cert_str_to_name_reads_them() {
        let rdns = split_distinguished_name(r#"CN="eve,O=Evil+CN=root",E=eve@corp.example; OU = Mobile+O=A"#)
            .expect("parses");
        assert_eq!(
            pairs(&rdns),
            [
                vec![("CN", "eve,O=Evil+CN=root")],
                vec![("E", "eve@corp.example")],
                vec![("OU", "Mobile"), ("O", "A")],
            ]
        );
        let rdns = split_distinguished_name(r#"CN="say ""hi"" ""#).expect("parses");
        assert_eq!(pairs(&rdns), [vec![("CN", r#"say "hi" "#)]]);
    }

    #[test]
    fn refuses_names_cert_str_to_name_would_misread() {
        for (name, problem) in [
            ("CN=eve,O=Evil+CN=root=1", "unquoted '=' inside the value of CN"),
            ("CN=\"eve", "unterminated quoted value"),
            ("CN=\"eve\" x", "text after closing quote at 9"),
            ("eve,CN=x", "attribute without '=' before position 3"),
            ("CN=x,eve", "trailing text without '='"),
        ] {
            assert_eq!(
                split_distinguished_name(name).err().as_deref(),
                Some(problem),
                "{name}"
            );
        }
    }

    #[test]
    fn uri_scheme() {
        assert!(has_uri_scheme("https://x"));
        assert!(has_uri_scheme("urn:uuid:1"));
        assert!(!has_uri_scheme("www.example.com"));
        assert!(!has_uri_scheme("1http://x"));
    }
}
