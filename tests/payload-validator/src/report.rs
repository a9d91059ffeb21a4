//! What a validation found: errors (the device or the platform's schema
//! refuses it) and warnings (accepted, but not what the documentation asks
//! for). Scepter's tests demand a clean report, so a warning fails them too.

use std::fmt;

/// The problems found in one payload, each as `where: what`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

impl Report {
    /// No error and no warning: what Scepter's renderers must produce.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty() && self.warnings.is_empty()
    }

    pub(crate) fn error(&mut self, place: &str, message: impl fmt::Display) {
        self.errors.push(located(place, message));
    }

    pub(crate) fn warn(&mut self, place: &str, message: impl fmt::Display) {
        self.warnings.push(located(place, message));
    }
}

fn located(place: &str, message: impl fmt::Display) -> String {
    if place.is_empty() {
        message.to_string()
    } else {
        format!("{place}: {message}")
    }
}

/// One line per problem (`ERROR: …`, `WARN:  …`), or `OK`.
impl fmt::Display for Report {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            return writeln!(formatter, "OK");
        }
        for error in &self.errors {
            writeln!(formatter, "ERROR: {error}")?;
        }
        for warning in &self.warnings {
            writeln!(formatter, "WARN:  {warning}")?;
        }
        Ok(())
    }
}
