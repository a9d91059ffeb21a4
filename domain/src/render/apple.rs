//! iOS and macOS: a `.mobileconfig`, an XML property list holding one
//! `Configuration` profile (Apple `TopLevel.yaml`).
//!
//! A SCEP profile becomes a Configuration with two payloads, root first so the
//! device trusts the CA before it enrols: `com.apple.security.root` (the CA
//! certificate as `<data>`) and `com.apple.security.scep` (the request). A
//! trusted profile becomes a Configuration with the root payload alone. Every
//! key, type and value follows Apple's schema (apple/device-management
//! `mdm/profiles/{TopLevel,CommonPayloadKeys,com.apple.security.root,
//! com.apple.security.scep}.yaml`, copied verbatim to `tests/reference/apple/`).
//!
//! The one idea: the document is built as a [`plist::Value`] tree and only then
//! written, so every string — subject values included — is escaped by the plist
//! writer and cannot change the document's structure. Settings Apple has no key
//! for (extended key usages, hash algorithm, renewal threshold, key storage
//! provider, the second and later SCEP URLs) are left out and reported in
//! [`Rendered::warnings`].

pub mod frame;

use plist::{Dictionary, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use uuid::{Builder, Uuid};

use super::{
    subject_rdns, urls_for_device, RenderError, Rendered, ScepPayloadInput, TrustedPayloadInput,
    TrustedProfileRef, APPLE_CONTENT_TYPE,
};
use crate::{
    platform::Platform,
    scep_profile::{CertificateType, KeyUsage, SanType, ScepServerUrl},
    subject_name::{ExpandedSan, Subject},
};

/// Prefix of every `PayloadIdentifier`: `com.scepter.profile.<profile id>`,
/// with `.root` and `.scep` appended for the inner payloads. A device replaces
/// an installed profile that has the same identifier (TopLevel.yaml
/// `PayloadIdentifier`), so a new version of a profile replaces the old one.
const IDENTIFIER_PREFIX: &str = "com.scepter.profile";

/// Apple's defaults for `Retries` and `RetryDelay` (com.apple.security.scep.yaml),
/// written out so the payload says what the device does on a PENDING answer.
const RETRIES: i64 = 3;
const RETRY_DELAY_SECONDS: i64 = 10;

/// `Key Usage` bits (com.apple.security.scep.yaml): 1 signing, 4 encryption.
const KEY_USAGE_SIGNING: i64 = 1;
const KEY_USAGE_ENCRYPTION: i64 = 4;

/// Renders a SCEP profile with its root for one device.
pub fn render_scep(input: &ScepPayloadInput<'_>) -> Result<Rendered, RenderError> {
    let urls = urls_for_device(&input.profile.settings.scep_server_urls, input.device_id);
    let url = first_url(&urls)?;
    Ok(Rendered {
        content_type: APPLE_CONTENT_TYPE,
        body: scep_document(input, url.as_str())?,
        warnings: unexpressed_settings(input, &urls),
    })
}

/// The URL an Apple device is given: the first of its order ([`urls_for_device`]).
fn first_url<'a>(urls: &[&'a ScepServerUrl]) -> Result<&'a ScepServerUrl, RenderError> {
    urls.first()
        .copied()
        .ok_or_else(|| RenderError::Encoding("the profile has no SCEP server URL".to_owned()))
}

/// The `.mobileconfig` of a SCEP profile that sends the device to `url`.
fn scep_document(input: &ScepPayloadInput<'_>, url: &str) -> Result<Vec<u8>, RenderError> {
    let profile = input.profile;
    let platform = profile.platform;
    let settings = &profile.settings;

    // The root is part of what is installed, so its version is part of the name:
    // a new root certificate yields new PayloadUUIDs even if the SCEP profile is unchanged.
    let uuid_name = |role: &str| {
        format!(
            "scepter:scep:{}:{}:{}:{}:{role}",
            input.profile_id, input.profile_version, input.root.id, input.root.version
        )
    };
    let identifier = format!("{IDENTIFIER_PREFIX}.{}", input.profile_id);
    let root = root_payload(
        input.root,
        format!("{identifier}.root"),
        payload_uuid(&uuid_name("root")),
    );

    let scep = inner_payload(
        "com.apple.security.scep",
        format!("{identifier}.scep"),
        payload_uuid(&uuid_name("scep")),
        profile.display_name.as_str(),
        Value::Dictionary(scep_content(input, url)?),
    );

    let configuration = Configuration {
        identifier,
        uuid: payload_uuid(&uuid_name("profile")),
        display_name: profile.display_name.as_str(),
        description: profile.description.as_str(),
        organization: input.organization,
        scope: match platform {
            Platform::Macos => Some(match settings.certificate_type {
                CertificateType::User => "User",
                CertificateType::Device => "System",
            }),
            _ => None,
        },
    }
    .into_value(vec![root, scep]);
    to_xml(configuration)
}

/// The `com.apple.security.scep` `PayloadContent` dictionary
/// (com.apple.security.scep.yaml). `Name` (the CA identifier sent with
/// GetCACert) is left out: the profile has no such setting, and a made-up
/// value could make a SCEP server that uses it pick the wrong CA, or none.
fn scep_content(input: &ScepPayloadInput<'_>, url: &str) -> Result<Dictionary, RenderError> {
    let settings = &input.profile.settings;
    // Keys in the order the writer puts them (alphabetical), so sorting has nothing to do.
    let mut content = Dictionary::new();
    // Apple's schema types it as data and names no digest; Apple's tools take an
    // MD5 or SHA-1 fingerprint (Apple "802.1X Authentication" white paper,
    // SCEP "Fingerprint"). SHA-1 is the stronger of the two and is the
    // thumbprint admins see in the API and Windows.
    content.insert(
        "CAFingerprint".to_owned(),
        Value::Data(Sha1::digest(input.root.profile.certificate.der()).to_vec()),
    );
    content.insert("Challenge".to_owned(), input.challenge.into());
    content.insert("Key Type".to_owned(), "RSA".into());
    content.insert("Key Usage".to_owned(), key_usage(&settings.key_usage).into());
    content.insert("Keysize".to_owned(), i64::from(settings.key_size.bits()).into());
    content.insert("Retries".to_owned(), RETRIES.into());
    content.insert("RetryDelay".to_owned(), RETRY_DELAY_SECONDS.into());
    if !input.name.subject.0.is_empty() {
        content.insert("Subject".to_owned(), subject(&input.name.subject)?);
    }
    if !input.name.subject_alternative_names.is_empty() {
        content.insert(
            "SubjectAltName".to_owned(),
            subject_alt_name(&input.name.subject_alternative_names).into(),
        );
    }
    content.insert("URL".to_owned(), url.into());
    Ok(content)
}

/// Settings the profile holds that no Apple key expresses, as warnings.
/// `certificateValidityPeriod` is not repeated here: `ScepCertificateProfile::warnings`
/// already reports it for Apple platforms, and the preview shows both lists.
fn unexpressed_settings(input: &ScepPayloadInput<'_>, urls: &[&ScepServerUrl]) -> Vec<String> {
    let platform = input.profile.platform;
    let settings = &input.profile.settings;
    let mut warnings = Vec::new();
    let oids: Vec<&str> = settings
        .extended_key_usages
        .iter()
        .map(|usage| usage.object_identifier.as_str())
        .collect();
    if !oids.is_empty() {
        warnings.push(format!(
            "{platform} cannot express extendedKeyUsages; the payload leaves out {} and the CA template decides the extended key usages",
            oids.join(", ")
        ));
    }
    if settings.hash_algorithm.is_some() {
        warnings.push(format!(
            "{platform} cannot express hashAlgorithm; the payload leaves it out and the device chooses"
        ));
    }
    if settings.key_storage_provider.is_some() {
        warnings.push(format!(
            "{platform} cannot express keyStorageProvider; the payload leaves it out"
        ));
    }
    warnings.push(format!(
        "{platform} cannot express renewalThresholdPercentage; the payload leaves out {}%",
        settings.renewal_threshold_percentage.percent()
    ));
    if urls.len() > 1 {
        warnings.push(format!(
            "{platform} takes one SCEP server URL; this device gets {} and the payload leaves out the other {}",
            urls[0].as_str(),
            urls.len() - 1
        ));
    }
    warnings
}

/// Renders a trusted profile: a Configuration holding its root payload only.
pub fn render_trusted(input: &TrustedPayloadInput<'_>) -> Result<Rendered, RenderError> {
    let trusted = input.profile;
    let uuid_name = |role: &str| format!("scepter:trusted:{}:{}:{role}", trusted.id, trusted.version);
    let identifier = format!("{IDENTIFIER_PREFIX}.{}", trusted.id);
    let root = root_payload(
        trusted,
        format!("{identifier}.root"),
        payload_uuid(&uuid_name("root")),
    );
    let configuration = Configuration {
        identifier,
        uuid: payload_uuid(&uuid_name("profile")),
        display_name: trusted.profile.display_name.as_str(),
        description: trusted.profile.description.as_str(),
        organization: input.organization,
        // No certificate type to derive it from: the channel the profile arrives
        // on decides, as it does for any profile without PayloadScope.
        scope: None,
    }
    .into_value(vec![root]);
    Ok(Rendered {
        content_type: APPLE_CONTENT_TYPE,
        body: to_xml(configuration)?,
        warnings: Vec::new(),
    })
}

/// A name-based UUID (RFC 9562 §5.8, version 8, built from SHA-256 as in its
/// Appendix B.2): the same profile version always gets the same PayloadUUIDs,
/// so rendering again — for a retry, another device or a preview — produces the
/// same profile, and any change of version produces new ones. Apple only asks
/// that PayloadUUIDs be unique (CommonPayloadKeys.yaml).
fn payload_uuid(name: &str) -> Uuid {
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Builder::from_custom_bytes(bytes).into_uuid()
}

/// The keys of the top-level Configuration dictionary (TopLevel.yaml).
struct Configuration<'a> {
    identifier: String,
    uuid: Uuid,
    display_name: &'a str,
    description: &'a str,
    organization: &'a str,
    /// macOS `PayloadScope`, `System` or `User`; iOS has no such key.
    scope: Option<&'static str>,
}

impl Configuration<'_> {
    fn into_value(self, payloads: Vec<Value>) -> Value {
        let mut top = Dictionary::new();
        top.insert("PayloadContent".to_owned(), Value::Array(payloads));
        if !self.description.is_empty() {
            top.insert("PayloadDescription".to_owned(), self.description.into());
        }
        top.insert("PayloadDisplayName".to_owned(), self.display_name.into());
        top.insert("PayloadIdentifier".to_owned(), self.identifier.into());
        top.insert("PayloadOrganization".to_owned(), self.organization.into());
        if let Some(scope) = self.scope {
            top.insert("PayloadScope".to_owned(), scope.into());
        }
        top.insert("PayloadType".to_owned(), "Configuration".into());
        top.insert("PayloadUUID".to_owned(), uuid_string(self.uuid).into());
        top.insert("PayloadVersion".to_owned(), 1_i64.into());
        Value::Dictionary(top)
    }
}

/// `com.apple.security.root`: the DER certificate as `PayloadContent` data, and
/// the profile's `certFileName` as `PayloadCertificateFileName`.
fn root_payload(root: TrustedProfileRef<'_>, identifier: String, uuid: Uuid) -> Value {
    let mut payload = inner_payload(
        "com.apple.security.root",
        identifier,
        uuid,
        root.profile.display_name.as_str(),
        Value::Data(root.profile.certificate.der().to_vec()),
    );
    if let (Some(file_name), Value::Dictionary(dictionary)) = (&root.profile.cert_file_name, &mut payload) {
        dictionary.insert("PayloadCertificateFileName".to_owned(), file_name.as_str().into());
    }
    payload
}

/// An inner payload with the keys every payload carries (CommonPayloadKeys.yaml).
fn inner_payload(
    payload_type: &str,
    identifier: String,
    uuid: Uuid,
    display_name: &str,
    content: Value,
) -> Value {
    let mut payload = Dictionary::new();
    payload.insert("PayloadContent".to_owned(), content);
    payload.insert("PayloadDisplayName".to_owned(), display_name.into());
    payload.insert("PayloadIdentifier".to_owned(), identifier.into());
    payload.insert("PayloadType".to_owned(), payload_type.into());
    payload.insert("PayloadUUID".to_owned(), uuid_string(uuid).into());
    payload.insert("PayloadVersion".to_owned(), 1_i64.into());
    Value::Dictionary(payload)
}

/// Upper case, as `uuidgen` writes it (TopLevel.yaml suggests `uuidgen`).
fn uuid_string(uuid: Uuid) -> String {
    uuid.hyphenated().to_string().to_uppercase()
}

/// `Subject`: an array of RDNs, each an array of `[type, value]` pairs, so a
/// multi-valued RDN (`OU=Mobile+CN=jane`) is one inner array with two pairs.
fn subject(subject: &Subject) -> Result<Value, RenderError> {
    let rdns = subject_rdns(subject, |attribute| {
        Value::Array(vec![
            attribute.attribute.apple_type().into(),
            attribute.value.as_str().into(),
        ])
    })?;
    Ok(Value::Array(rdns.into_iter().map(Value::Array).collect()))
}

/// The `Key Usage` bitmask; `digitalSignature` is Apple's "signing" and
/// `keyEncipherment` its "encryption".
fn key_usage(usages: &[KeyUsage]) -> i64 {
    usages
        .iter()
        .map(|usage| match usage {
            KeyUsage::DigitalSignature => KEY_USAGE_SIGNING,
            KeyUsage::KeyEncipherment => KEY_USAGE_ENCRYPTION,
        })
        .fold(0, |mask, bit| mask | bit)
}

/// `SubjectAltName`: one key per SAN type, holding a string for one value and
/// an array of strings, in the profile's order, for several.
fn subject_alt_name(sans: &[ExpandedSan]) -> Dictionary {
    let keys = [
        (SanType::EmailAddress, "rfc822Name"),
        (SanType::DomainNameService, "dNSName"),
        (SanType::UniversalResourceIdentifier, "uniformResourceIdentifier"),
        (SanType::UserPrincipalName, "ntPrincipalName"),
    ];
    let mut dictionary = Dictionary::new();
    for (san_type, key) in keys {
        let mut values: Vec<Value> = sans
            .iter()
            .filter(|san| san.san_type == san_type)
            .map(|san| san.value.as_str().into())
            .collect();
        match values.len() {
            0 => {}
            1 => {
                dictionary.insert(key.to_owned(), values.remove(0));
            }
            _ => {
                dictionary.insert(key.to_owned(), Value::Array(values));
            }
        }
    }
    dictionary
}

/// Writes the XML plist with every dictionary's keys in alphabetical order, as
/// CFPropertyList (and so Apple's own tools) writes them, after refusing
/// strings XML 1.0 cannot carry (C0 controls other than tab, line feed and
/// carriage return; U+FFFE, U+FFFF): written raw they would make the document
/// unreadable to the device.
fn to_xml(mut value: Value) -> Result<Vec<u8>, RenderError> {
    check_xml_chars(&value, "profile")?;
    sort_keys(&mut value);
    let mut body = Vec::new();
    value
        .to_writer_xml(&mut body)
        .map_err(|error| RenderError::Encoding(error.to_string()))?;
    body.push(b'\n');
    Ok(body)
}

fn sort_keys(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        Value::Dictionary(dictionary) => {
            // Most dictionaries are built in order already; sorting one
            // anyway rebuilds its hash index.
            if !dictionary.keys().is_sorted() {
                dictionary.sort_keys();
            }
            dictionary.values_mut().for_each(sort_keys);
        }
        _ => {}
    }
}

/// Refuses a string XML cannot carry, naming where it is (`profile.PayloadContent[1].Subject…`).
/// The path is only spelled out for the error: checking runs on every payload.
fn check_xml_chars(value: &Value, path: &str) -> Result<(), RenderError> {
    let mut at = Vec::new();
    find_non_xml_char(value, &mut at).map_or(Ok(()), |c| {
        let mut spelled = path.to_owned();
        for step in at.iter().rev() {
            match step {
                Step::Key(key) => {
                    spelled.push('.');
                    spelled.push_str(key);
                }
                Step::Index(index) => spelled.push_str(&format!("[{index}]")),
            }
        }
        Err(RenderError::Encoding(format!(
            "{spelled} contains U+{:04X}, which an XML property list cannot carry",
            u32::from(c)
        )))
    })
}

/// One step from a plist node to a child.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The first character XML cannot carry, with the steps to its string
/// pushed innermost first.
fn find_non_xml_char<'a>(value: &'a Value, at: &mut Vec<Step<'a>>) -> Option<char> {
    match value {
        // Every byte of a string XML can carry, but for the lead byte of
        // U+FFFE and U+FFFF (0xEF), is 0x20 or above or one of tab, line
        // feed and carriage return: strings made of those need no decoding.
        Value::String(text)
            if text
                .bytes()
                .all(|b| (b >= b' ' && b != 0xEF) || matches!(b, b'\t' | b'\n' | b'\r')) =>
        {
            None
        }
        Value::String(text) => text.chars().find(|&c| !is_xml_char(c)),
        Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
            let found = find_non_xml_char(item, at)?;
            at.push(Step::Index(index));
            Some(found)
        }),
        Value::Dictionary(dictionary) => dictionary.iter().find_map(|(key, item)| {
            let found = find_non_xml_char(item, at)?;
            at.push(Step::Key(key));
            Some(found)
        }),
        _ => None,
    }
}

/// XML 1.0 `Char` (§2.2); Rust `char`s are never surrogates.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

#[cfg(test)]
mod tests;
