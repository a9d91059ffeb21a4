//! Apple configuration profiles (`.mobileconfig`, XML or binary plist).
//!
//! Every key is checked against Apple's published schema
//! (`apple/device-management` `mdm/profiles/*.yaml`, see [`crate::reference`]):
//! the profile's keys against `TopLevel.yaml`, every payload's against
//! `CommonPayloadKeys.yaml` plus its own type's file for
//! `com.apple.security.{scep,root,pkcs1,pkcs12}` — known key, plist type,
//! required keys, `rangelist`, `range`, and nested structures (the SCEP
//! `Subject` is an array of RDN arrays of `[name-or-OID, value]` pairs:
//! `repetition` 2..2 on the pair). On top come the rules Apple states in
//! prose in the same files: `Key Type` is "Always 'RSA'", `Key Usage` is a
//! bitmask of 1 (signing) and 4 (encryption), Subject shortcuts are C, L, ST,
//! O, OU and CN (anything else a dotted OID), `PayloadIdentifier` "must be
//! unique within the profile", `PayloadUUID` is a UUID (`uuidgen`), the
//! certificate payloads carry one DER certificate, and `CAFingerprint` is a
//! digest (MD5, SHA-1 or SHA-256 sized).

use plist::{Dictionary, Value};

use crate::{
    certificate::der_certificate_problem,
    formats::{is_dotted_oid, is_http_url, is_uuid},
    reference::{self, KeySpec, Scalar},
    report::Report,
};

/// Subject attribute names Apple documents as shortcuts for their OIDs.
const SUBJECT_SHORTCUTS: [&str; 6] = ["C", "CN", "L", "O", "OU", "ST"];

/// The payload types whose PayloadContent is one DER certificate.
const CERTIFICATE_PAYLOADS: [&str; 2] = ["com.apple.security.root", "com.apple.security.pkcs1"];

pub fn validate(bytes: &[u8], report: &mut Report) {
    match Value::from_reader(std::io::Cursor::new(bytes)) {
        Ok(profile) => validate_profile(&profile, report),
        Err(error) => report.error("", format!("plist does not parse: {error}")),
    }
}

fn validate_profile(profile: &Value, report: &mut Report) {
    let Some(profile) = profile.as_dictionary() else {
        report.error("", "top level of the profile is not a dictionary");
        return;
    };
    let schemas = reference::apple();
    check_dictionary(report, "profile", profile, &schemas.top_level);
    if !profile.contains_key("PayloadDisplayName") {
        report.warn(
            "profile",
            "PayloadDisplayName missing (optional, but shown to the user)",
        );
    }
    check_uuid_format(report, "profile.PayloadUUID", profile.get("PayloadUUID"));
    let Some(content) = profile.get("PayloadContent").and_then(Value::as_array) else {
        return;
    };
    let encrypted = profile.get("IsEncrypted").and_then(Value::as_boolean) == Some(true);
    if content.is_empty() && !encrypted {
        report.error("profile.PayloadContent", "empty payload array");
    }

    // PayloadIdentifier and PayloadUUID must be unique within the profile,
    // the profile's own included (a missing one counts as a value, as a
    // second missing one would collide on the device too).
    let mut identifiers = vec![(profile.get("PayloadIdentifier"), "profile".to_owned())];
    let mut uuids = vec![(profile.get("PayloadUUID"), "profile".to_owned())];
    for (index, payload) in content.iter().enumerate() {
        let Some(payload) = payload.as_dictionary() else {
            report.error(&format!("PayloadContent[{index}]"), "payload is not a dictionary");
            continue;
        };
        let payload_type = payload.get("PayloadType").and_then(Value::as_string);
        let place = format!("PayloadContent[{index}]({})", payload_type.unwrap_or("None"));
        validate_payload(report, &place, payload, payload_type);

        let uuid = payload.get("PayloadUUID");
        check_uuid_format(report, &format!("{place}.PayloadUUID"), uuid);
        if let Some((_, first)) = uuids.iter().find(|(seen, _)| *seen == uuid) {
            report.error(
                &format!("{place}.PayloadUUID"),
                format!("duplicates the PayloadUUID of {first}"),
            );
        }
        let identifier = payload.get("PayloadIdentifier");
        if let Some((_, first)) = identifiers.iter().find(|(seen, _)| *seen == identifier) {
            report.error(
                &format!("{place}.PayloadIdentifier"),
                format!("duplicates the PayloadIdentifier of {first}"),
            );
        }
        uuids.push((uuid, place.clone()));
        identifiers.push((identifier, place));
    }
}

fn validate_payload(report: &mut Report, place: &str, payload: &Dictionary, payload_type: Option<&str>) {
    let schemas = reference::apple();
    let Some(type_keys) = payload_type.and_then(|name| schemas.payload_type(name)) else {
        // Only the common keys can be checked for other payload types.
        for spec in &schemas.common {
            match payload.get(&spec.key) {
                None if spec.required => report.error(place, format!("required key '{}' missing", spec.key)),
                None => {}
                Some(value) => check_value(report, &format!("{place}.{}", spec.key), value, spec),
            }
        }
        report.warn(
            place,
            format!(
                "payload type {} not covered by this validator",
                payload_type.map_or("None".to_owned(), |name| format!("'{name}'"))
            ),
        );
        return;
    };
    // Where a type redefines a common key, the type's spec wins.
    let merged: Vec<KeySpec> = type_keys
        .iter()
        .chain(
            schemas
                .common
                .iter()
                .filter(|common| type_keys.iter().all(|own| own.key != common.key)),
        )
        .cloned()
        .collect();
    check_dictionary(report, place, payload, &merged);
    match payload_type {
        Some("com.apple.security.scep") => {
            if let Some(settings) = payload.get("PayloadContent").and_then(Value::as_dictionary) {
                check_scep_settings(report, &format!("{place}.PayloadContent"), settings);
            }
        }
        Some(name) if CERTIFICATE_PAYLOADS.contains(&name) => {
            if let Some(problem) = payload
                .get("PayloadContent")
                .and_then(Value::as_data)
                .and_then(der_certificate_problem)
            {
                report.error(&format!("{place}.PayloadContent"), problem);
            }
        }
        _ => {}
    }
}

fn check_uuid_format(report: &mut Report, place: &str, value: Option<&Value>) {
    if let Some(text) = value.and_then(Value::as_string) {
        if !is_uuid(text) {
            report.error(place, format!("not a UUID: '{text}'"));
        }
    }
}

// ---------------------------------------------------------------- the schema walk

fn check_dictionary(report: &mut Report, place: &str, value: &Dictionary, specs: &[KeySpec]) {
    let any = specs.iter().find(|spec| spec.key == "ANY");
    for spec in specs {
        if spec.key != "ANY" && spec.required && !value.contains_key(&spec.key) {
            report.error(place, format!("required key '{}' missing", spec.key));
        }
    }
    for (key, item) in value {
        match specs.iter().find(|spec| spec.key == *key).or(any) {
            Some(spec) => check_value(report, &format!("{place}.{key}"), item, spec),
            None => report.error(place, format!("unknown key '{key}' (not in Apple's schema)")),
        }
    }
}

/// One value against one key's spec: type, rangelist, range, then nested keys or items.
fn check_value(report: &mut Report, place: &str, value: &Value, spec: &KeySpec) {
    if spec.string_or_array {
        if let Some(items) = value.as_array() {
            let single = KeySpec {
                string_or_array: false,
                ..spec.clone()
            };
            for (index, item) in items.iter().enumerate() {
                check_value(report, &format!("{place}[{index}]"), item, &single);
            }
            return;
        }
    }
    let expected = spec.value_type.as_deref().unwrap_or("<any>");
    if !has_type(value, expected) {
        report.error(
            place,
            format!("type {} where the schema says {expected}", type_name(value)),
        );
        return;
    }
    if let Some(allowed) = &spec.rangelist {
        if !allowed.iter().any(|candidate| equals(value, candidate)) {
            let allowed: Vec<String> = allowed.iter().map(Scalar::to_string).collect();
            report.error(
                place,
                format!(
                    "value {} not in allowed [{}]",
                    describe(value),
                    allowed.join(", ")
                ),
            );
        }
    }
    if let Some(number) = number(value) {
        if let Some(min) = spec.range.min.filter(|min| number < *min) {
            report.error(place, format!("value {number} below minimum {min}"));
        }
        if let Some(max) = spec.range.max.filter(|max| number > *max) {
            report.error(place, format!("value {number} above maximum {max}"));
        }
    }
    let Some(item_spec) = spec.subkeys.first() else {
        return;
    };
    if let Some(dictionary) = value.as_dictionary().filter(|_| expected == "<dictionary>") {
        check_dictionary(report, place, dictionary, &spec.subkeys);
    } else if let Some(items) = value.as_array().filter(|_| expected == "<array>") {
        if let Some(min) = item_spec.repetition.min.filter(|min| items.len() < *min) {
            report.error(
                place,
                format!(
                    "array has {} element(s); schema wants at least {min}",
                    items.len()
                ),
            );
        }
        if let Some(max) = item_spec.repetition.max.filter(|max| items.len() > *max) {
            report.error(
                place,
                format!(
                    "array has {} element(s); schema allows at most {max}",
                    items.len()
                ),
            );
        }
        for (index, item) in items.iter().enumerate() {
            check_value(report, &format!("{place}[{index}]"), item, item_spec);
        }
    }
}

/// Apple's type names; an unknown one (none today) accepts anything.
fn has_type(value: &Value, expected: &str) -> bool {
    match expected {
        "<string>" => matches!(value, Value::String(_)),
        "<integer>" => matches!(value, Value::Integer(_)),
        "<boolean>" => matches!(value, Value::Boolean(_)),
        "<data>" => matches!(value, Value::Data(_)),
        "<date>" => matches!(value, Value::Date(_)),
        "<real>" => matches!(value, Value::Real(_) | Value::Integer(_)),
        "<array>" => matches!(value, Value::Array(_)),
        "<dictionary>" => matches!(value, Value::Dictionary(_)),
        _ => true,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "<string>",
        Value::Integer(_) => "<integer>",
        Value::Boolean(_) => "<boolean>",
        Value::Data(_) => "<data>",
        Value::Date(_) => "<date>",
        Value::Real(_) => "<real>",
        Value::Array(_) => "<array>",
        Value::Dictionary(_) => "<dictionary>",
        _ => "<uid>",
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Integer(integer) => integer
            .as_signed()
            .map(|signed| signed as f64)
            .or_else(|| integer.as_unsigned().map(|unsigned| unsigned as f64)),
        Value::Real(real) => Some(*real),
        _ => None,
    }
}

fn equals(value: &Value, candidate: &Scalar) -> bool {
    match (value, candidate) {
        (Value::String(text), Scalar::String(allowed)) => text == allowed,
        (Value::Boolean(flag), Scalar::Boolean(allowed)) => flag == allowed,
        (Value::Integer(integer), Scalar::Integer(allowed)) => integer.as_signed() == Some(*allowed),
        (Value::Integer(_) | Value::Real(_), Scalar::Integer(_) | Scalar::Real(_)) => {
            let allowed = match candidate {
                Scalar::Integer(allowed) => *allowed as f64,
                Scalar::Real(allowed) => *allowed,
                _ => return false,
            };
            number(value) == Some(allowed)
        }
        _ => false,
    }
}

/// A value as it reads in a message.
fn describe(value: &Value) -> String {
    match value {
        Value::String(text) => format!("'{text}'"),
        Value::Integer(integer) => integer.to_string(),
        Value::Real(real) => real.to_string(),
        Value::Boolean(flag) => flag.to_string(),
        Value::Data(bytes) => format!("<{} bytes>", bytes.len()),
        other => type_name(other).to_owned(),
    }
}

// ---------------------------------------------------------------- SCEP settings

/// The com.apple.security.scep rules its schema states in prose.
fn check_scep_settings(report: &mut Report, place: &str, settings: &Dictionary) {
    if let Some(url) = settings.get("URL").and_then(Value::as_string) {
        if !is_http_url(url) {
            report.error(&format!("{place}.URL"), format!("not an http(s) URL: '{url}'"));
        }
    }
    if let Some(usage) = settings.get("Key Usage").and_then(Value::as_signed_integer) {
        if usage & !5 != 0 {
            report.error(
                &format!("{place}.Key Usage"),
                format!("bitmask {usage} has bits other than 1 (signing) and 4 (encryption)"),
            );
        }
    }
    if let Some(key_type) = settings.get("Key Type").and_then(Value::as_string) {
        if key_type != "RSA" {
            report.error(
                &format!("{place}.Key Type"),
                format!("must be 'RSA', got '{key_type}'"),
            );
        }
    }
    for key in ["Retries", "RetryDelay"] {
        if let Some(count) = settings
            .get(key)
            .and_then(Value::as_signed_integer)
            .filter(|count| *count < 0)
        {
            report.error(&format!("{place}.{key}"), format!("negative value {count}"));
        }
    }
    if settings.get("Challenge").and_then(Value::as_string) == Some("") {
        report.warn(&format!("{place}.Challenge"), "empty challenge");
    }
    if let Some(fingerprint) = settings.get("CAFingerprint").and_then(Value::as_data) {
        if ![16, 20, 32].contains(&fingerprint.len()) {
            report.error(
                &format!("{place}.CAFingerprint"),
                format!(
                    "{} bytes; expected an MD5 (16), SHA-1 (20) or SHA-256 (32) digest",
                    fingerprint.len()
                ),
            );
        }
    }
    if let Some(subject) = settings.get("Subject").and_then(Value::as_array) {
        check_subject(report, &format!("{place}.Subject"), subject);
    }
    if let Some(names) = settings.get("SubjectAltName").and_then(Value::as_dictionary) {
        for (key, value) in names {
            let values = value
                .as_array()
                .map_or_else(|| vec![value], |items| items.iter().collect());
            for value in values {
                let place = format!("{place}.SubjectAltName.{key}");
                match value.as_string() {
                    None => report.error(
                        &place,
                        format!(
                            "value must be a string or an array of strings, got {}",
                            type_name(value)
                        ),
                    ),
                    Some(address) if key == "rfc822Name" && !address.contains('@') => {
                        report.warn(
                            &place,
                            format!("'{address}' does not look like an e-mail address"),
                        );
                    }
                    Some(_) => {}
                }
            }
        }
    }
}

fn check_subject(report: &mut Report, place: &str, subject: &[Value]) {
    for (index, rdn) in subject.iter().enumerate() {
        let Some(pairs) = rdn.as_array() else {
            continue;
        };
        if pairs.is_empty() {
            report.error(&format!("{place}[{index}]"), "empty RDN");
        }
        for (position, pair) in pairs.iter().enumerate() {
            let Some([name, value]) = pair
                .as_array()
                .and_then(|pair| <&[Value; 2]>::try_from(pair.as_slice()).ok())
            else {
                continue;
            };
            let (Some(name), Some(value)) = (name.as_string(), value.as_string()) else {
                continue;
            };
            let place = format!("{place}[{index}][{position}]");
            if !SUBJECT_SHORTCUTS.contains(&name) && !is_dotted_oid(name) {
                report.warn(
                    &place,
                    format!(
                        "attribute '{name}' is neither a documented shortcut {SUBJECT_SHORTCUTS:?} nor a dotted OID \
                         (e-mail is 1.2.840.113549.1.9.1)"
                    ),
                );
            }
            if matches!(name, "C" | "2.5.4.6")
                && !(value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic()))
            {
                report.error(
                    &place,
                    format!("country must be a two-letter code, got '{value}'"),
                );
            }
            if value.is_empty() {
                report.warn(&place, format!("empty value for {name}"));
            }
        }
    }
}
