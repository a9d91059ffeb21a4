//! `cargo run -p scepter-payload-validator -- [--android-schema SCHEMA.json] FILE…`
//!
//! Checks payload files by hand; Android payloads are checked against
//! Scepter's own schema unless another is given. Exit status: 0 when every
//! file is clean (no error, no warning), 1 when a problem was found, 2 on a
//! usage error or an unreadable file.

use std::{fs, process::ExitCode};

use scepter_payload_validator::{validate, Options};

fn main() -> ExitCode {
    let mut arguments: Vec<String> = std::env::args().skip(1).collect();
    let mut options = Options::scepter();
    if let Some(position) = arguments
        .iter()
        .position(|argument| argument == "--android-schema")
    {
        let Some(path) = arguments.get(position + 1).cloned() else {
            return usage();
        };
        let schema = fs::read(&path)
            .map_err(|error| error.to_string())
            .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|error| error.to_string()));
        match schema {
            Ok(schema) => options.android_schema = Some(schema),
            Err(error) => {
                eprintln!("cannot read --android-schema {path}: {error}");
                return ExitCode::from(2);
            }
        }
        arguments.drain(position..position + 2);
    }
    if arguments.is_empty() || arguments.iter().any(|argument| argument.starts_with('-')) {
        return usage();
    }
    let mut status = ExitCode::SUCCESS;
    for path in &arguments {
        println!("== {path}");
        match fs::read(path) {
            Ok(bytes) => {
                let report = validate(&bytes, &options);
                print!("{report}");
                if !report.is_clean() {
                    status = ExitCode::FAILURE;
                }
            }
            Err(error) => {
                println!("ERROR: cannot read: {error}");
                return ExitCode::from(2);
            }
        }
    }
    status
}

fn usage() -> ExitCode {
    eprintln!("usage: scepter-payload-validator [--android-schema SCHEMA.json] FILE…");
    ExitCode::from(2)
}
