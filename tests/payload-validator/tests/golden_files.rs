//! Every golden file the renderers are byte-compared with is a payload the
//! platforms accept: the validator finds no error and no warning in any.

use std::{
    fs,
    path::{Path, PathBuf},
};

use scepter_payload_validator::{validate, Options};

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../domain/tests/golden")
}

fn files_under(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in
        fs::read_dir(directory).unwrap_or_else(|error| panic!("cannot list {}: {error}", directory.display()))
    {
        let path = entry.expect("a readable directory entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn every_golden_file_is_clean() {
    let files = files_under(&golden_root());
    let options = Options::scepter();
    let mut problems = String::new();
    for path in &files {
        let bytes = fs::read(path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        let report = validate(&bytes, &options);
        if !report.is_clean() {
            problems.push_str(&format!("== {}\n{report}", path.display()));
        }
    }
    assert!(problems.is_empty(), "golden files with problems:\n{problems}");
    for platform in ["android", "apple", "formats", "windows"] {
        assert!(
            files
                .iter()
                .any(|path| path.starts_with(golden_root().join(platform))),
            "no golden file under {platform}/: the walk missed them"
        );
    }
}

#[test]
fn a_binary_plist_is_read_like_the_xml_one() {
    let xml = fs::read(golden_root().join("apple/ios-user.mobileconfig")).expect("the golden file");
    let profile = plist::Value::from_reader_xml(xml.as_slice()).expect("an XML plist");
    let mut binary = Vec::new();
    profile.to_writer_binary(&mut binary).expect("serialises");
    assert!(binary.starts_with(b"bplist"));
    let report = validate(&binary, &Options::scepter());
    assert!(report.is_clean(), "{report}");
}
