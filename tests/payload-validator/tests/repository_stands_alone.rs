//! The repository stands alone (issue 10): a fresh clone with nothing beside
//! it builds and passes its tests. So no tracked source, script or
//! configuration file may name a path outside the repository: neither the
//! directory of tools and reference data that once sat beside it, nor a
//! relative path that climbs above the repository root.
//!
//! A relative path is resolved from the directory its reader resolves it
//! from: `include_str!`/`include_bytes!`/`#[path]` from the Rust file's own
//! directory, other Rust paths (`CARGO_MANIFEST_DIR` joins, `sqlx::migrate!`)
//! from the crate root, scripts from the repository root (they `cd` there)
//! unless the path hangs off `$(dirname …)`, Cargo, Compose and Docker files
//! and Markdown links from the file's directory. Golden files, fixtures and
//! the verbatim reference data are data, not readers, and are not scanned.

use std::{collections::BTreeSet, fs, io::ErrorKind, path::Path, process::Command};

/// Spelled in pieces so that this file does not trip its own check.
const SHARED: &str = "shared";
const DATA_DIRECTORIES: [&str; 3] = [
    "domain/tests/golden/",
    "domain/tests/fixtures/",
    "tests/reference/",
];

#[test]
fn no_tracked_file_reads_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let Some(files) = tracked_files(&root) else {
        return;
    };
    let crate_roots: BTreeSet<String> = files
        .iter()
        .filter_map(|file| file.strip_suffix("Cargo.toml"))
        .map(|directory| directory.trim_end_matches('/').to_owned())
        .collect();
    let mut offences = Vec::new();
    for file in &files {
        let Some(kind) = Kind::of(file, || fs::read(root.join(file)).unwrap_or_default()) else {
            continue;
        };
        let text = match fs::read(root.join(file)) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(error) if error.kind() == ErrorKind::NotFound => continue, // deleted, not yet committed
            Err(error) => panic!("cannot read {file}: {error}"),
        };
        offences.extend(offences_in(file, &text, kind, &crate_roots));
    }
    assert!(
        offences.is_empty(),
        "tracked files that read outside the repository (a fresh clone has nothing beside it):\n{}",
        offences.join("\n")
    );
}

/// `git ls-files`, or `None` (with a message) where there is no git or no
/// checkout to list; CI always has both, so there it fails instead.
fn tracked_files(root: &Path) -> Option<Vec<String>> {
    let output = Command::new("git")
        .arg("ls-files")
        .arg("-z")
        .current_dir(root)
        .output();
    let problem = match output {
        Ok(output) if output.status.success() => {
            return Some(
                String::from_utf8_lossy(&output.stdout)
                    .split('\0')
                    .filter(|file| !file.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
        }
        Ok(output) => format!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(error) => format!("git cannot be run: {error}"),
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "{problem}; CI must run this check"
    );
    eprintln!(
        "SKIPPED: cannot list the tracked files ({problem}); the repository-stands-alone check did not run"
    );
    None
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Rust,
    /// Shell, Python, Lua, SQL: paths from the repository root.
    Script,
    /// Cargo, Compose, Docker, JSON/YAML configuration: paths from the file's directory.
    Config,
    Markdown,
}

impl Kind {
    fn of(file: &str, contents: impl FnOnce() -> Vec<u8>) -> Option<Self> {
        if DATA_DIRECTORIES
            .iter()
            .any(|directory| file.starts_with(directory))
        {
            return None;
        }
        let name = file.rsplit('/').next().unwrap_or(file);
        match name.rsplit_once('.').map(|(_, extension)| extension) {
            Some("rs") => Some(Self::Rust),
            Some("sh" | "bash" | "py" | "lua" | "sql") => Some(Self::Script),
            Some("toml" | "yml" | "yaml" | "json") => Some(Self::Config),
            Some("md") => Some(Self::Markdown),
            _ if name == "Dockerfile" => Some(Self::Config),
            None if contents().starts_with(b"#!") => Some(Self::Script),
            _ => None,
        }
    }
}

/// What in `text` (the contents of the tracked `file`) reads outside the repository.
fn offences_in(file: &str, text: &str, kind: Kind, crate_roots: &BTreeSet<String>) -> Vec<String> {
    let mut offences = Vec::new();
    let outside = [
        format!("../{SHARED}"),
        format!("{SHARED}/tools"),
        format!("{SHARED}/reference"),
    ];
    for (number, line) in text.lines().enumerate() {
        for pattern in &outside {
            if line.contains(pattern.as_str()) {
                offences.push(format!("{file}:{}: names {pattern}: {}", number + 1, line.trim()));
            }
        }
    }
    let directory = file.rsplit_once('/').map_or("", |(directory, _)| directory);
    for (offset, hops) in parent_hops(text) {
        let base = match kind {
            Kind::Rust if is_include_argument(&text[..offset]) => directory,
            Kind::Rust => crate_root(directory, crate_roots),
            Kind::Script if hangs_off_dirname(&text[..offset]) => directory,
            Kind::Script => "",
            Kind::Config | Kind::Markdown => directory,
        };
        if hops > depth(base) {
            let number = text[..offset].matches('\n').count() + 1;
            let line = text.lines().nth(number - 1).unwrap_or_default().trim();
            offences.push(format!(
                "{file}:{number}: climbs {hops} level(s) from {} and leaves the repository: {line}",
                if base.is_empty() {
                    "the repository root"
                } else {
                    base
                }
            ));
        }
    }
    offences
}

/// Where a relative path starts, and how many `..` it begins with: `../`
/// runs, and a final `..` after a `/` (`$(dirname "$0")/..`). A `..` that is
/// not part of a path (Rust's `{ .. }`, Lua's `..`) is not counted.
fn parent_hops(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let is_path_byte = |byte: u8| byte.is_ascii_alphanumeric() || b"_-.$".contains(&byte);
    let mut found = Vec::new();
    let mut index = 0;
    while index + 1 < bytes.len() {
        let starts_path = bytes[index] == b'.'
            && bytes[index + 1] == b'.'
            && (index == 0 || !is_path_byte(bytes[index - 1]));
        if !starts_path {
            index += 1;
            continue;
        }
        let after_slash = index > 0 && bytes[index - 1] == b'/';
        let (mut hops, mut next) = (0, index);
        loop {
            if text[next..].starts_with("../") {
                hops += 1;
                next += 3;
            } else if text[next..].starts_with("..")
                && bytes.get(next + 2).is_none_or(|byte| !is_path_byte(*byte))
                && (hops > 0 || after_slash)
            {
                hops += 1;
                next += 2;
                break;
            } else {
                break;
            }
        }
        if hops > 0 {
            found.push((index, hops));
        }
        index = next.max(index + 1);
    }
    found
}

/// The path is the string argument of `include_str!`, `include_bytes!`,
/// `include!` or `#[path = …]`, which Rust resolves from the file's directory.
fn is_include_argument(before: &str) -> bool {
    let Some(before_quote) = before.strip_suffix('"') else {
        return false;
    };
    let before_quote = before_quote.trim_end();
    ["include_str!(", "include_bytes!(", "include!("]
        .iter()
        .any(|call| before_quote.ends_with(call))
        || before_quote
            .strip_suffix('=')
            .is_some_and(|attribute| attribute.trim_end().ends_with("#[path"))
}

/// `$(dirname "$0")/..`-style: relative to the script's own directory.
fn hangs_off_dirname(before: &str) -> bool {
    let line = before.rsplit('\n').next().unwrap_or(before);
    line.ends_with(")/") && line.contains("dirname")
}

/// The directory of the nearest `Cargo.toml` above `directory` ("" for the root).
fn crate_root<'a>(directory: &'a str, crate_roots: &BTreeSet<String>) -> &'a str {
    let mut candidate = directory;
    loop {
        if crate_roots.contains(candidate) || candidate.is_empty() {
            return candidate;
        }
        candidate = candidate.rsplit_once('/').map_or("", |(parent, _)| parent);
    }
}

fn depth(directory: &str) -> usize {
    if directory.is_empty() {
        0
    } else {
        directory.split('/').count()
    }
}

// ---------------------------------------------------------------- the check itself

fn up(levels: usize) -> String {
    "../".repeat(levels)
}

fn check(file: &str, text: &str) -> Vec<String> {
    let crate_roots: BTreeSet<String> = ["", "domain", "api", "tests"].map(str::to_owned).into();
    let kind = Kind::of(file, || text.as_bytes().to_vec()).expect("a scanned kind");
    offences_in(file, text, kind, &crate_roots)
}

#[test]
fn include_paths_resolve_from_the_including_file() {
    let include = format!(
        "const A: &str = include_str!(\n    \"{}domain/tests/fixtures/a.pem\");",
        up(3)
    );
    assert!(check("tests/tests/common/mod.rs", &include).is_empty());
    assert_eq!(check("tests/tests/mod.rs", &include).len(), 1);
    let attribute = format!("#[path = \"{}x.rs\"]", up(1));
    assert!(check("tests/tests/a.rs", &attribute).is_empty());
}

#[test]
fn other_rust_paths_resolve_from_the_crate_root() {
    let joined = format!(
        "Path::new(env!(\"CARGO_MANIFEST_DIR\")).join(\"{}elsewhere/tool.py\")",
        up(2)
    );
    assert_eq!(check("domain/src/render/test_support.rs", &joined).len(), 1);
    let concatenated = "concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/../openapi/openapi.json\")";
    assert!(check("api/tests/openapi.rs", concatenated).is_empty());
    assert!(check("domain/src/text.rs", "match x { Foo { .. } => 0..=5 }").is_empty());
}

#[test]
fn script_paths_resolve_from_the_repository_root_unless_anchored_at_the_script() {
    assert!(check("scripts/test.sh", "cd \"$(dirname \"${BASH_SOURCE[0]}\")/..\"").is_empty());
    assert_eq!(
        check("scripts/test.sh", &format!("source {}lib.sh", up(1))).len(),
        1
    );
    assert!(check(".ci/run", "#!/usr/bin/env bash\ncd \"$(dirname \"$0\")/..\"").is_empty());
    assert!(check("bench/checkin.lua", "local h = \"Bearer \" .. token").is_empty());
}

#[test]
fn the_old_shared_directory_is_refused_anywhere() {
    for text in [
        format!("python3 {}{SHARED}/tools/validate.py", up(1)),
        format!("//! rules copied to `{SHARED}/reference/apple/`"),
    ] {
        for file in ["domain/src/render/apple.rs", "scripts/test.sh", "README.md"] {
            let offences = check(file, &text);
            assert!(
                offences.iter().any(|offence| offence.contains(": names ")),
                "{file}: {text}"
            );
        }
    }
}

#[test]
fn markdown_links_resolve_from_the_document() {
    assert!(check("docs/guide.md", &format!("see [the README]({}README.md)", up(1))).is_empty());
    assert_eq!(
        check("README.md", &format!("see [elsewhere]({}x.md)", up(1))).len(),
        1
    );
}
