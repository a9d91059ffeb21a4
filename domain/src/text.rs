//! Free-text fields shared by every profile kind.

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// Characters no stored text may hold: C0/C1 controls (newlines, NUL, …) and
/// the invisible Unicode formatting characters that can make a value look
/// like something else — line/paragraph separators, zero-width characters,
/// and bidirectional overrides — and Unicode noncharacters (U+FDD0–U+FDEF and
/// the last two code points of every plane), which XML 1.0 and plist writers
/// refuse, so one such value would make every payload of a profile
/// unrenderable. Any value may end up in a certificate subject or a payload
/// an admin reads.
pub fn is_forbidden_char(c: char) -> bool {
    c.is_control()
        || is_noncharacter(c)
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
        )
}

/// Unicode noncharacters: U+FDD0–U+FDEF and U+xFFFE/U+xFFFF in every plane.
pub fn is_noncharacter(c: char) -> bool {
    let code = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&code) || code & 0xFFFE == 0xFFFE
}

/// Attacker-supplied text made fit for an event message or a log line: at
/// most `max_chars` characters (an ellipsis marks the cut), control and
/// formatting characters replaced by U+FFFD so a value cannot forge lines.
pub fn bounded(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 4));
    for (index, c) in text.chars().enumerate() {
        if index == max_chars {
            out.push('…');
            break;
        }
        out.push(if is_forbidden_char(c) { '\u{FFFD}' } else { c });
    }
    out
}

/// `required`: the value is not empty or blank.
pub(crate) fn check_not_blank(field: &str, value: &str) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "required", "must not be empty or blank"));
    }
    Ok(())
}

/// `maxLength`: at most `max_chars` characters (not bytes).
pub(crate) fn check_max_chars(field: &str, value: &str, max_chars: usize) -> Result<(), FieldError> {
    let length = value.chars().count();
    if length > max_chars {
        return Err(FieldError::new(
            field,
            "maxLength",
            format!("must be at most {max_chars} characters, got {length}"),
        ));
    }
    Ok(())
}

/// `noControlCharacters`: no [`is_forbidden_char`].
pub(crate) fn check_no_forbidden_chars(field: &str, value: &str) -> Result<(), FieldError> {
    if value.chars().any(is_forbidden_char) {
        return Err(FieldError::new(
            field,
            "noControlCharacters",
            "must not contain control or invisible formatting characters",
        ));
    }
    Ok(())
}

/// A one-line name: not blank, at most `max_chars` characters, no control
/// or invisible formatting characters, checked in that order.
pub(crate) fn check_single_line(field: &str, value: &str, max_chars: usize) -> Result<(), FieldError> {
    check_not_blank(field, value)?;
    check_max_chars(field, value, max_chars)?;
    check_no_forbidden_chars(field, value)
}

/// 1–200 characters (Graph's limit for `displayName`), not blank, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(field: &str, value: String) -> Result<Self, FieldError> {
        check_single_line(field, &value, Self::MAX_CHARS)?;
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Optional free text, at most 1,500 characters; absent and empty are the same.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 1500;

    pub fn parse(field: &str, value: Option<String>) -> Result<Self, FieldError> {
        let value = value.unwrap_or_default();
        // Line breaks and tabs are fine in free text; NUL and other controls
        // are not (PostgreSQL cannot even store NUL).
        if value
            .chars()
            .any(|c| is_forbidden_char(c) && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(FieldError::new(
                field,
                "noControlCharacters",
                "must not contain control characters other than line breaks and tabs",
            ));
        }
        check_max_chars(field, &value, Self::MAX_CHARS)?;
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A file name shown to users and written into payloads (Apple's
/// `PayloadCertificateFileName`): 1–255 characters, no path separators or
/// control characters, so it can never name another location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CertFileName(String);

impl CertFileName {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(field: &str, value: String) -> Result<Self, FieldError> {
        check_not_blank(field, &value)?;
        check_max_chars(field, &value, Self::MAX_CHARS)?;
        if value
            .chars()
            .any(|c| is_forbidden_char(c) || c == '/' || c == '\\')
            || value == "."
            || value == ".."
        {
            return Err(FieldError::new(
                field,
                "fileName",
                "must be a plain file name without path separators or control characters",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_conversions {
    ($($name:ident => $parse:expr),* $(,)?) => {$(
        impl TryFrom<String> for $name {
            type Error = String;

            /// Re-validates stored values, so a row edited by hand cannot smuggle a bad value in.
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $parse(value).map_err(|error: FieldError| error.message)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    )*};
}

string_conversions! {
    DisplayName => |value| DisplayName::parse("displayName", value),
    Description => |value| Description::parse("description", Some(value)),
    CertFileName => |value| CertFileName::parse("certFileName", value),
}

#[cfg(test)]
mod tests {
    use super::{bounded, is_forbidden_char, CertFileName, Description, DisplayName};
    use crate::validation::FieldError;

    #[test]
    fn invisible_formatting_characters_are_forbidden_like_controls() {
        for c in [
            '\n', '\0', '\u{85}', '\u{2028}', '\u{2029}', '\u{200B}', '\u{200E}', '\u{202E}', '\u{2066}',
            '\u{FEFF}',
        ] {
            assert!(is_forbidden_char(c), "{c:?}");
            let value = format!("Jane{c}Doe");
            assert_eq!(
                rule_of(DisplayName::parse("displayName", value)),
                ("displayName".to_owned(), "noControlCharacters"),
                "{c:?}"
            );
        }
        for c in ['a', ' ', 'ß', 'é', '中', '\u{00A0}', '-', ','] {
            assert!(!is_forbidden_char(c), "{c:?}");
        }
    }

    fn rule_of<T: std::fmt::Debug>(result: Result<T, FieldError>) -> (String, &'static str) {
        let error = result.expect_err("value must be rejected");
        (error.field, error.rule)
    }

    #[test]
    fn display_name_rejections_name_field_and_rule() {
        let cases = [
            ("empty", String::new(), "required"),
            ("blank", "   ".to_owned(), "required"),
            ("only a tab and newline", "\t\n".to_owned(), "required"),
            ("201 characters", "a".repeat(201), "maxLength"),
            ("201 multi-byte characters", "é".repeat(201), "maxLength"),
            ("tab inside", "Corp\tWi-Fi".to_owned(), "noControlCharacters"),
            ("newline inside", "Corp\nWi-Fi".to_owned(), "noControlCharacters"),
            (
                "escape character",
                "Corp\u{1b}[31m".to_owned(),
                "noControlCharacters",
            ),
            ("DEL", "Corp\u{7f}".to_owned(), "noControlCharacters"),
            ("C1 control", "Corp\u{85}".to_owned(), "noControlCharacters"),
        ];
        for (case, value, rule) in cases {
            assert_eq!(
                rule_of(DisplayName::parse("displayName", value)),
                ("displayName".to_owned(), rule),
                "{case}"
            );
        }
    }

    #[test]
    fn display_name_accepts_up_to_200_characters_unchanged() {
        let cases = [
            "a".to_owned(),
            "a".repeat(200),
            // Counted in characters, not bytes: 400 bytes of UTF-8.
            "é".repeat(200),
            "  Corp Wi-Fi (lab) ✓  ".to_owned(),
        ];
        for value in cases {
            let name = DisplayName::parse("displayName", value.clone()).expect("accepted");
            assert_eq!(name.as_str(), value);
        }
    }

    #[test]
    fn display_name_reports_the_field_it_was_given() {
        assert_eq!(
            rule_of(DisplayName::parse("profiles[3].displayName", String::new())),
            ("profiles[3].displayName".to_owned(), "required")
        );
    }

    #[test]
    fn description_longer_than_1500_characters_is_rejected() {
        assert_eq!(
            rule_of(Description::parse("description", Some("x".repeat(1501)))),
            ("description".to_owned(), "maxLength")
        );
    }

    #[test]
    fn description_accepts_absent_empty_and_1500_characters() {
        assert_eq!(Description::parse("description", None).unwrap().as_str(), "");
        assert_eq!(
            Description::parse("description", Some(String::new())).unwrap(),
            Description::default()
        );
        let long = "ü".repeat(1500);
        assert_eq!(
            Description::parse("description", Some(long.clone()))
                .unwrap()
                .as_str(),
            long
        );
        // Free text: line breaks are fine here, unlike in names.
        assert!(Description::parse("description", Some("line 1\nline 2".to_owned())).is_ok());
    }

    #[test]
    fn cert_file_name_rejections_name_field_and_rule() {
        let cases = [
            ("empty", String::new(), "required"),
            ("blank", "  ".to_owned(), "required"),
            ("256 characters", "a".repeat(256), "maxLength"),
            ("forward slash", "certs/root.cer".to_owned(), "fileName"),
            ("leading slash", "/etc/passwd".to_owned(), "fileName"),
            ("backslash", "certs\\root.cer".to_owned(), "fileName"),
            ("parent directory", "..".to_owned(), "fileName"),
            ("current directory", ".".to_owned(), "fileName"),
            ("path traversal", "../root.cer".to_owned(), "fileName"),
            ("control character", "root\u{0}.cer".to_owned(), "fileName"),
            ("newline", "root\n.cer".to_owned(), "fileName"),
        ];
        for (case, value, rule) in cases {
            assert_eq!(
                rule_of(CertFileName::parse("certFileName", value)),
                ("certFileName".to_owned(), rule),
                "{case}"
            );
        }
    }

    #[test]
    fn cert_file_name_accepts_plain_names_up_to_255_characters() {
        for value in [
            "root.cer",
            "Contoso Root CA (2026).crt",
            "..hidden",
            "a..b.cer",
            &"n".repeat(255),
        ] {
            assert_eq!(
                CertFileName::parse("certFileName", value.to_owned())
                    .unwrap()
                    .as_str(),
                value
            );
        }
    }

    #[test]
    fn deserialising_revalidates_stored_values() {
        assert!(serde_json::from_str::<DisplayName>("\"\"").is_err());
        assert!(serde_json::from_str::<DisplayName>(&format!("\"{}\"", "a".repeat(201))).is_err());
        assert!(serde_json::from_str::<Description>(&format!("\"{}\"", "a".repeat(1501))).is_err());
        assert!(serde_json::from_str::<CertFileName>("\"../x\"").is_err());

        let name: DisplayName = serde_json::from_str("\"Corp Wi-Fi\"").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"Corp Wi-Fi\"");
        let file: CertFileName = serde_json::from_str("\"root.cer\"").unwrap();
        assert_eq!(String::from(file), "root.cer");
        let description: Description = serde_json::from_str("\"\"").unwrap();
        assert_eq!(description, Description::default());
    }

    #[test]
    fn noncharacters_are_forbidden_in_every_plane() {
        for c in [
            '\u{FDD0}',
            '\u{FDEF}',
            '\u{FFFE}',
            '\u{FFFF}',
            '\u{1FFFE}',
            '\u{10FFFF}',
        ] {
            assert!(is_forbidden_char(c), "{:X}", u32::from(c));
            assert!(DisplayName::parse("displayName", format!("a{c}b")).is_err());
        }
        for c in ['\u{FDCF}', '\u{FDF0}', '\u{FFFD}', '\u{1FFFD}', 'é'] {
            assert!(!is_forbidden_char(c), "{:X}", u32::from(c));
        }
    }

    #[test]
    fn bounded_text_is_cut_and_cannot_forge_lines() {
        assert_eq!(bounded("short", 512), "short");
        assert_eq!(bounded(&"x".repeat(600), 512).chars().count(), 513);
        assert!(bounded(&"x".repeat(600), 512).ends_with('…'));
        assert_eq!(bounded("a\nb\u{202E}c", 512), "a\u{FFFD}b\u{FFFD}c");
    }
}
