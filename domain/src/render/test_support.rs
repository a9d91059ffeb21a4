//! Helpers the renderer tests share: golden files and the shared validator.

use std::{
    ffi::OsStr,
    fs,
    path::{Path, PathBuf},
    process::Command,
};

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

/// Runs `shared/tools/validate_payloads.py --strict <extra…> <files…>` and
/// returns whether it accepted them, with its report.
pub fn run_validator<A: AsRef<OsStr>>(extra: &[A], files: &[PathBuf]) -> (bool, String) {
    let validator = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/tools/validate_payloads.py");
    assert!(
        validator.is_file(),
        "the payload validator {} is missing: these tests need the shared tools next to the \
         repository (CI provides them)",
        validator.display()
    );
    let output = Command::new("python3")
        .arg(&validator)
        .arg("--strict")
        .args(extra)
        .args(files)
        .output()
        .unwrap_or_else(|error| panic!("cannot run python3 {}: {error}", validator.display()));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), report)
}

/// The validator must accept `files` with no problem at all.
pub fn assert_validator_accepts<A: AsRef<OsStr>>(extra: &[A], files: &[PathBuf]) {
    let (accepted, report) = run_validator(extra, files);
    assert!(accepted, "the validator rejected the payloads:\n{report}");
}
