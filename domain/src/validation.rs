//! Validation errors that name the offending field and the rule it broke.
//!
//! Rules are collected rather than failing on the first one, so an admin sees
//! every problem of a request at once; the API turns the list into the
//! `errors` member of an RFC 9457 problem document.

use serde::Serialize;

/// One broken rule: `field` is the JSON path as the client wrote it
/// (`scepServerUrls[1]`), `rule` a stable machine-readable code, `message`
/// a sentence for humans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub rule: &'static str,
    pub message: String,
}

/// A non-empty list of [`FieldError`]s once returned from a `parse` function.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
#[error("{} validation error(s), first: {}", .0.len(), .0.first().map(|e| e.message.as_str()).unwrap_or(""))]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.push(field, rule, message);
        errors
    }

    pub fn push(&mut self, field: impl Into<String>, rule: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            rule,
            message: message.into(),
        });
    }

    /// Records the error of a field-level parse and yields its value, so a
    /// caller can keep checking other fields after one fails.
    pub fn collect<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    pub fn extend(&mut self, other: ValidationErrors) {
        self.0.extend(other.0);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.0
    }

    /// The validated value when nothing was recorded. `build` assembles it
    /// from what [`collect`](Self::collect) yielded, with `?` on each value:
    /// a `None` stands for a field whose error is already recorded.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Self> {
        match build() {
            Some(value) if self.is_empty() => Ok(value),
            _ => Err(self),
        }
    }

    /// `Ok(value)` when nothing was recorded.
    pub fn into_result<T>(self, value: T) -> Result<T, Self> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl FieldError {
    pub fn new(field: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{FieldError, ValidationErrors};

    #[test]
    fn collect_records_errors_and_keeps_values() {
        let mut errors = ValidationErrors::new();
        assert_eq!(errors.collect(Ok::<_, FieldError>(7)), Some(7));
        assert!(errors.is_empty());
        assert_eq!(
            errors.collect::<i32>(Err(FieldError::new(
                "displayName",
                "required",
                "must not be empty"
            ))),
            None
        );
        assert_eq!(
            errors.errors(),
            [FieldError::new("displayName", "required", "must not be empty")]
        );
    }

    #[test]
    fn into_result_is_ok_only_without_errors() {
        assert_eq!(ValidationErrors::new().into_result("value"), Ok("value"));
        let errors = ValidationErrors::single("keySize", "oneOf", "must be 1024, 2048 or 4096");
        assert_eq!(errors.clone().into_result("value"), Err(errors));
    }

    #[test]
    fn extend_keeps_the_order_of_both_lists() {
        let mut errors = ValidationErrors::single("a", "required", "first");
        let mut more = ValidationErrors::single("b", "range", "second");
        more.push("c", "unique", "third");
        errors.extend(more);
        let fields: Vec<(&str, &str)> = errors
            .errors()
            .iter()
            .map(|error| (error.field.as_str(), error.rule))
            .collect();
        assert_eq!(fields, [("a", "required"), ("b", "range"), ("c", "unique")]);
        assert_eq!(errors.into_errors().len(), 3);
    }

    #[test]
    fn display_counts_errors_and_shows_the_first_message() {
        let mut errors = ValidationErrors::single("a", "required", "must not be empty");
        errors.push("b", "range", "must be between 1 and 99, got 0");
        assert_eq!(
            errors.to_string(),
            "2 validation error(s), first: must not be empty"
        );
    }

    #[test]
    fn field_error_serialises_field_rule_and_message() {
        let json =
            serde_json::to_value(FieldError::new("scepServerUrls[1]", "httpsUrl", "must use https")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"field": "scepServerUrls[1]", "rule": "httpsUrl", "message": "must use https"})
        );
    }
}
