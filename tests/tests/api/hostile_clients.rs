//! What a hostile or broken client must not be able to do to a running
//! server: grow `/metrics` (and the process) with invented methods and paths,
//! make a webhook read a body before it knows who is calling, or hold a
//! connection open by sending a body slowly.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use reqwest::Method;
use scepter_blackbox_tests::{backend_tests, Backend, TestApp, TestOptions};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

// ------------------------------------------------------------------ metrics labels

/// Requests with invented 4 KiB method names, and with invented 1 KiB paths.
const INVENTED_METHODS: usize = 2_000;
const INVENTED_PATHS: usize = 1_000;

/// An extension method (RFC 9110 §9.1: any token) no client really uses.
fn invented_method(n: usize) -> Method {
    let name = format!("X{n:06}{}", "Q".repeat(4096));
    Method::from_bytes(name.as_bytes()).expect("a token is a valid method")
}

fn invented_path(n: usize) -> String {
    format!("/scan/{n}/{}", "p".repeat(1024))
}

/// The text exposition, read as a reader.
async fn scrape(app: &TestApp) -> String {
    let response = app.reader(Method::GET, "/metrics").send().await.expect("scrape");
    assert_eq!(response.status(), 200);
    response.text().await.expect("metrics text")
}

/// Sample lines: one per series (and per histogram bucket).
fn series(text: &str) -> usize {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .count()
}

/// The process's peak resident set (`VmHWM`) in KiB; the app under test runs
/// in this process. `None` where `/proc` is not available.
fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Set in a child process of this test binary to the one test it runs alone.
const ALONE: &str = "SCEPTER_TEST_ALONE";

/// For a test that measures the whole process (its peak RSS): the black-box
/// suite is one binary, and tests of other areas running beside it would be
/// measured too. In the child process started for it, `true`: run the test
/// here. Otherwise runs the test (`<area>::<backend>::<name>`, as
/// `backend_tests!` names it) alone in a child process of this binary, asserts
/// that it passed, and returns `false`.
async fn alone_in_a_child_process(backend: Backend, name: &str) -> bool {
    let backend = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let area = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, area)| area);
    let test = format!("{area}::{backend}::{name}");
    if std::env::var(ALONE).is_ok_and(|value| value == test) {
        return true;
    }
    let binary = std::env::current_exe().expect("the test binary");
    let child = test.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(binary)
            .args([child.as_str(), "--exact", "--test-threads=1"])
            .env(ALONE, &child)
            .output()
            .expect("run the test binary")
    })
    .await
    .expect("the child process finished");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed;"),
        "{test} alone in a child process: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    false
}

async fn send(app: &TestApp, method: Method, path: &str) {
    let response = app
        .anonymous(method, path)
        .send()
        .await
        .expect("the server answers");
    assert!(response.status().is_client_error(), "{}", response.status());
}

async fn invented_methods_and_paths_do_not_grow_metrics_or_memory(backend: Backend) {
    if !alone_in_a_child_process(
        backend,
        "invented_methods_and_paths_do_not_grow_metrics_or_memory",
    )
    .await
    {
        return;
    }
    let app = TestApp::spawn(backend).await;
    // One of each kind first, so their (bounded) series already exist.
    send(&app, invented_method(0), "/healthz").await;
    send(&app, Method::GET, &invented_path(0)).await;
    scrape(&app).await;
    let before = scrape(&app).await;
    let peak_before = peak_rss_kib();

    for n in 1..=INVENTED_METHODS {
        send(&app, invented_method(n), "/healthz").await;
    }
    for n in 1..=INVENTED_PATHS {
        send(&app, Method::GET, &invented_path(n)).await;
    }
    let after = scrape(&app).await;

    assert_eq!(
        series(&after),
        series(&before),
        "invented methods and paths added series:\n{after:.4000}"
    );
    assert!(
        after.len() < before.len() + 1024 && after.len() < 64 * 1024,
        "the scrape grew from {} to {} bytes",
        before.len(),
        after.len()
    );
    assert!(after.contains(r#"method="other""#), "{after}");
    assert!(after.contains(r#"route="unmatched""#), "{after}");
    assert!(!after.contains("QQQQ") && !after.contains("pppp"));
    if let (Some(peak_before), Some(peak_after)) = (peak_before, peak_rss_kib()) {
        // ~12 MB of invented names went in; the old labels kept them all and
        // rendered each ~20 times in one scrape (hundreds of MB).
        assert!(
            peak_after.saturating_sub(peak_before) < 64 * 1024,
            "peak RSS grew from {peak_before} KiB to {peak_after} KiB"
        );
    }
}

// ------------------------------------------------------------------ slow bodies

/// Opens a connection and sends a request head declaring a `content_length`
/// body, then only `first_bytes` of it: the rest never comes.
async fn start_slow_request(
    app: &TestApp,
    head: &str,
    content_length: usize,
    first_bytes: &[u8],
) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let head = format!("{head}Host: {address}\r\nContent-Length: {content_length}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.expect("send the head");
    stream.write_all(first_bytes).await.expect("send the first bytes");
    stream
}

/// Reads what the server sends until it closes the connection or `within`
/// runs out; returns the status code (if a response came) and whether the
/// server closed the connection.
async fn read_response(stream: &mut TcpStream, within: Duration) -> (Option<u16>, bool) {
    let deadline = tokio::time::Instant::now() + within;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let closed = loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
            Err(_) => break false,
        }
    };
    let text = String::from_utf8_lossy(&received);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    (status, closed)
}

const CHALLENGE_WEBHOOK: &str = "/connector/v1/step-ca/scepchallenge";

async fn webhooks_refuse_unauthenticated_callers_before_reading_the_body(backend: Backend) {
    let configured = TestApp::spawn(backend).await;
    let unconfigured = TestApp::spawn_with(
        backend,
        TestOptions {
            step_ca_webhooks: false,
            ..TestOptions::default()
        },
    )
    .await;
    let well_formed = format!("X-Smallstep-Signature: {}\r\n", "ab".repeat(32));
    let cases = [
        (&configured, String::new(), 401, "no signature"),
        (
            &configured,
            "X-Smallstep-Signature: not-hex\r\n".to_owned(),
            401,
            "a malformed signature",
        ),
        (&unconfigured, well_formed, 404, "no secret configured"),
    ];
    for (app, signature, expected, case) in cases {
        let head =
            format!("POST {CHALLENGE_WEBHOOK} HTTP/1.1\r\nContent-Type: application/json\r\n{signature}");
        let started = Instant::now();
        let mut stream = start_slow_request(app, &head, 60_000, b"{").await;

        let (status, _) = read_response(&mut stream, Duration::from_secs(2)).await;

        assert_eq!(
            status,
            Some(expected),
            "{case}: answered within {:?}",
            started.elapsed()
        );
    }
}

async fn webhook_bodies_over_64_kib_are_413(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = format!(
        "{{\"timestamp\": \"{}\", \"padding\": \"{}\"}}",
        chrono::Utc::now().to_rfc3339(),
        "x".repeat(65 * 1024)
    );

    let response = app
        .anonymous(Method::POST, CHALLENGE_WEBHOOK)
        .header("X-Smallstep-Signature", "ab".repeat(32))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");

    assert_eq!(response.status(), 413);
}

async fn a_body_sent_too_slowly_is_cut_off_at_the_deadline(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        TestOptions {
            body_read_timeout: Duration::from_secs(1),
            ..TestOptions::default()
        },
    )
    .await;
    let head = format!(
        "POST /api/v1/users HTTP/1.1\r\nContent-Type: application/json\r\nAuthorization: Bearer {}\r\n",
        app.admin_token
    );
    let started = Instant::now();
    let mut stream = start_slow_request(&app, &head, 1_000, b"{\"userPrincipalName\": ").await;

    let (status, closed) = read_response(&mut stream, Duration::from_secs(6)).await;

    assert_eq!(status, Some(408), "after {:?}", started.elapsed());
    assert!(closed, "the connection is closed after the 408");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The server still serves others.
    let healthz = app
        .anonymous(Method::GET, "/healthz")
        .send()
        .await
        .expect("request");
    assert_eq!(healthz.status(), 200);
}

backend_tests!(
    invented_methods_and_paths_do_not_grow_metrics_or_memory,
    webhooks_refuse_unauthenticated_callers_before_reading_the_body,
    webhook_bodies_over_64_kib_are_413,
    a_body_sent_too_slowly_is_cut_off_at_the_deadline,
);
