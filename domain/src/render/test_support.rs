//! Helpers the renderer tests share: golden files and the payload validator.

use std::{
    fs,
    path::{Path, PathBuf},
};

use scepter_payload_validator::{validate, Options, Report};

/// Set to `1` to rewrite golden files from the current rendering (then review the diff).
pub const UPDATE_GOLDEN: &str = "SCEPTER_UPDATE_GOLDEN";

/// `domain/tests/golden/<subdir>`.
pub fn golden_dir(subdir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(subdir)
}

pub fn android_schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/android-payload.schema.json")
}

/// Byte-compares `body` with `golden/<subdir>/<file>`, or rewrites the file
/// when `SCEPTER_UPDATE_GOLDEN=1`. A difference names the first differing line.
pub fn assert_golden(subdir: &str, file: &str, body: &[u8]) {
    let path = golden_dir(subdir).join(file);
    if std::env::var(UPDATE_GOLDEN).as_deref() == Ok("1") {
        fs::create_dir_all(golden_dir(subdir)).expect("create the golden directory");
        fs::write(&path, body).expect("write the golden file");
        return;
    }
    let expected = fs::read(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read {}: {error}; run with {UPDATE_GOLDEN}=1 to create it, then review it",
            path.display()
        )
    });
    if expected != body {
        let expected = String::from_utf8_lossy(&expected);
        let actual = String::from_utf8_lossy(body);
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(left, right)| left != right)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the rendering from line {}:\n  golden:   {:?}\n  rendered: {:?}\n\
             If the change is intended, run with {UPDATE_GOLDEN}=1 and review the diff.",
            path.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line),
        );
    }
}

/// Scepter's payload validator (`tests/payload-validator`) on one payload in
/// memory; Android payloads are also checked against
/// `openapi/android-payload.schema.json`.
pub fn validator_report(payload: &[u8]) -> Report {
    validate(payload, &Options::scepter())
}

/// The validator must find nothing at all in `files`: no error, no warning.
pub fn assert_validator_accepts(files: &[PathBuf]) {
    let mut problems = String::new();
    for path in files {
        let payload =
            fs::read(path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        let report = validator_report(&payload);
        if !report.is_clean() {
            problems.push_str(&format!("== {}\n{report}", path.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "the validator rejected the payloads:\n{problems}"
    );
}
