//! Scepter's payload validator: checks a rendered MDM payload against the
//! rules its platform publishes, so the renderer tests and the preview tests
//! do not have to trust the renderer's own reading of them.
//!
//! The format is detected from the content, never from a file name:
//!
//! - an XML or binary property list → Apple `.mobileconfig` (`apple.rs`),
//! - `<SyncML…>` → Windows OMA-DM (`windows.rs`),
//! - JSON → Scepter's Android payload (`android.rs`).
//!
//! The platforms' machine-readable rules (Apple's profile YAML schemas,
//! Microsoft's CSP DDF files) are verbatim copies in `tests/reference/`,
//! embedded at compile time (`reference.rs`): nothing is read from outside the
//! repository or downloaded, at build or at run time.
//!
//! Every check of the Python validator the project used before was ported,
//! with these intentional differences:
//!
//! - a CMS-signed profile (DER, starting with a SEQUENCE) is reported as
//!   unsupported instead of being unwrapped with openssl: Scepter never signs
//!   profiles;
//! - certificates are parsed fully with `x509-cert` instead of only outlined
//!   (SEQUENCE of two SEQUENCEs and a BIT STRING), which is stricter;
//! - the Android JSON Schema is checked by the `jsonschema` crate (all of
//!   draft 2020-12, with `format` asserted) instead of a keyword subset, and a
//!   failed `oneOf` says what the closest alternative lacks;
//! - an `Exec` of `Install/Enroll` placed before `Add`s of its settings is
//!   also reported with the settings it would miss, beyond "must be the last
//!   command in the Atomic block";
//! - the old "UniqueID contains '/'" check is gone: a LocURI segment cannot
//!   contain `/`, so it could never fire.
//!
//! `cargo run -p scepter-payload-validator -- FILE…` checks files by hand.

mod android;
mod apple;
mod certificate;
mod formats;
mod reference;
mod report;
mod windows;

use std::sync::OnceLock;

pub use report::Report;
use serde_json::Value;

/// Scepter's Android payload contract, embedded from `openapi/`.
const SCEPTER_ANDROID_SCHEMA: &str = include_str!("../../../openapi/android-payload.schema.json");

/// What to check beyond the platforms' own rules.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A JSON Schema the Android payload must satisfy.
    pub android_schema: Option<Value>,
}

impl Options {
    /// Checks Android payloads against Scepter's own contract,
    /// `openapi/android-payload.schema.json`.
    pub fn scepter() -> Self {
        Self {
            android_schema: Some(scepter_android_schema().clone()),
        }
    }
}

/// `openapi/android-payload.schema.json`, parsed once.
pub fn scepter_android_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str(SCEPTER_ANDROID_SCHEMA).expect("the committed Android schema is JSON")
    })
}

/// Checks one payload; the report lists every problem found.
pub fn validate(bytes: &[u8], options: &Options) -> Report {
    let mut report = Report::default();
    let start = bytes
        .iter()
        .position(|byte| !b"\xef\xbb\xbf \t\r\n".contains(byte))
        .unwrap_or(bytes.len());
    let head = &bytes[start..];
    if head.starts_with(b"{") || head.starts_with(b"[") {
        android::validate(bytes, options.android_schema.as_ref(), &mut report);
    } else if head.starts_with(b"\x30") {
        report.error(
            "",
            "CMS-signed profile: not supported (Scepter never signs profiles; validate the unsigned payload)",
        );
    } else if head.starts_with(b"bplist") {
        apple::validate(bytes, &mut report);
    } else {
        validate_xml(bytes, &mut report);
    }
    report
}

/// An XML document: a property list or a SyncML message.
fn validate_xml(bytes: &[u8], report: &mut Report) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        report.error("", "neither JSON, plist nor well-formed XML: not UTF-8");
        return;
    };
    let text = text.trim_start_matches('\u{feff}');
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let document = match roxmltree::Document::parse_with_options(text, options) {
        Ok(document) => document,
        Err(error) => {
            report.error("", format!("neither JSON, plist nor well-formed XML: {error}"));
            return;
        }
    };
    let root = document.root_element();
    match root.tag_name().name() {
        "plist" => apple::validate(bytes, report),
        "SyncML" => windows::validate(root, report),
        other => report.error("", format!("unknown XML document <{other}>")),
    }
}
