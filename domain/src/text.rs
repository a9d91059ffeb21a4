//! Free-text fields shared by every profile kind.

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// 1–200 characters (Graph's limit for `displayName`), not blank, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(field: &str, value: String) -> Result<Self, FieldError> {
        let length = value.chars().count();
        if value.trim().is_empty() {
            return Err(FieldError::new(field, "required", "must not be empty or blank"));
        }
        if length > Self::MAX_CHARS {
            return Err(FieldError::new(
                field,
                "maxLength",
                format!("must be at most {} characters, got {length}", Self::MAX_CHARS),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(FieldError::new(field, "noControlCharacters", "must not contain control characters"));
        }
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
        let length = value.chars().count();
        if length > Self::MAX_CHARS {
            return Err(FieldError::new(
                field,
                "maxLength",
                format!("must be at most {} characters, got {length}", Self::MAX_CHARS),
            ));
        }
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
        let length = value.chars().count();
        if value.trim().is_empty() {
            return Err(FieldError::new(field, "required", "must not be empty or blank"));
        }
        if length > Self::MAX_CHARS {
            return Err(FieldError::new(
                field,
                "maxLength",
                format!("must be at most {} characters, got {length}", Self::MAX_CHARS),
            ));
        }
        if value.chars().any(|c| c.is_control() || c == '/' || c == '\\') || value == "." || value == ".." {
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
