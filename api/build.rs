//! Embeds the admin console: walks `console/` and writes a table of every
//! file (URL path, bytes through `include_bytes!`, content type) to
//! `$OUT_DIR/console_assets.rs`, which `http::routes::console` includes.
//! A generated table rather than a hand-kept list, so a new page module is
//! served without touching Rust; `include_bytes!` of absolute paths, so the
//! binary carries the files and needs nothing on disk (or on the network) at
//! run time. No Node, no bundler: the files are served as written.

use std::{
    env, fs,
    path::{Path, PathBuf},
};

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR")).join("console");
    println!("cargo:rerun-if-changed=console");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    let mut table = String::from(
        "/// Every console file: path below `/console/`, bytes, `Content-Type`.\n\
         pub static ASSETS: &[(&str, &[u8], &str)] = &[\n",
    );
    for file in &files {
        // Directories are watched too: cargo reruns this script when a file is added or removed.
        if let Some(parent) = file.parent() {
            println!("cargo:rerun-if-changed={}", parent.display());
        }
        println!("cargo:rerun-if-changed={}", file.display());
        let relative = file
            .strip_prefix(&root)
            .expect("below console/")
            .components()
            .map(|part| part.as_os_str().to_str().expect("console file names are UTF-8"))
            .collect::<Vec<_>>()
            .join("/");
        let content_type = content_type(&relative)
            .unwrap_or_else(|| panic!("console/{relative}: no content type for this extension"));
        table.push_str(&format!(
            "    ({relative:?}, include_bytes!({path:?}), {content_type:?}),\n",
            path = file.display().to_string(),
        ));
    }
    table.push_str("];\n");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("console_assets.rs");
    fs::write(out, table).expect("write console_assets.rs");
}

/// Regular files below `dir`, skipping dot files (editor swap files, `.DS_Store`).
fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let entry = entry.expect("read console/");
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(&path, files);
        } else if path.is_file() {
            files.push(path);
        }
    }
}

/// The media type a browser needs to use the file: module scripts are refused
/// without a JavaScript type once `nosniff` is set.
fn content_type(path: &str) -> Option<&'static str> {
    let extension = path.rsplit_once('.')?.1;
    Some(match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => return None,
    })
}
