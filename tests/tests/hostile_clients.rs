//! What a hostile or broken client must not be able to do to a running
//! server: grow `/metrics` (and the process) with invented methods and paths,
//! make a webhook read a body before it knows who is calling, or hold a
//! connection open by sending a body slowly.

use reqwest::Method;
use scepter_blackbox_tests::{backend_tests, Backend, TestApp};

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

async fn send(app: &TestApp, method: Method, path: &str) {
    let response = app
        .anonymous(method, path)
        .send()
        .await
        .expect("the server answers");
    assert!(response.status().is_client_error(), "{}", response.status());
}

async fn invented_methods_and_paths_do_not_grow_metrics_or_memory(backend: Backend) {
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

backend_tests!(invented_methods_and_paths_do_not_grow_metrics_or_memory);
