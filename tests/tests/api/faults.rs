//! Faults: the database goes away under load and comes back. Requests fail
//! fast with 503 problem+json (no hang beyond the pool's acquire timeout),
//! `/readyz` says not ready, the service recovers without a restart, and
//! every write that was answered 2xx is still there afterwards.
//!
//! The database is cut with a TCP proxy between the app and PostgreSQL
//! (stopping the shared test server would break the other tests).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reqwest::Method;
use scepter_blackbox_tests::{postgres_url, proxy::TcpProxy, Backend, TestApp, TestDatabase, TestOptions};
use scepter_storage::DatabaseTarget;
use serde_json::{json, Value};

/// The configured wait for a database connection in this test.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);
/// What "fail fast" allows: the acquire timeout plus generous slack for a loaded CI machine.
const FAST: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_vanished_database_fails_requests_fast_and_the_service_recovers_without_losing_answered_writes() {
    if postgres_url().is_none() {
        return;
    }
    let database = TestDatabase::fresh(Backend::Postgres).await;
    let DatabaseTarget::Postgres { url } = &database.target else {
        unreachable!()
    };
    let mut url = url::Url::parse(url).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let upstream = tokio::net::lookup_host(upstream).await.unwrap().next().unwrap();
    let mut proxy = TcpProxy::start(upstream).await;
    url.set_port(Some(proxy.address().port())).unwrap();
    let app = Arc::new(
        TestApp::spawn_on(
            TestDatabase::at(DatabaseTarget::Postgres { url: url.to_string() }),
            TestOptions {
                db_acquire_timeout: ACQUIRE_TIMEOUT,
                ..TestOptions::default()
            },
        )
        .await,
    );

    // A writer creating users for the whole test, remembering what was answered 201.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let statuses = Arc::new(Mutex::new(Vec::<(u16, Duration)>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (app, acknowledged, statuses, stop) = (
            Arc::clone(&app),
            Arc::clone(&acknowledged),
            Arc::clone(&statuses),
            Arc::clone(&stop),
        );
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let body =
                    json!({ "userPrincipalName": format!("user{n}@contoso.com"), "displayName": "User" });
                let started = Instant::now();
                let response = app.post("/api/v1/users", &body).await;
                let status = response.status().as_u16();
                statuses.lock().unwrap().push((status, started.elapsed()));
                if status == 201 {
                    let created: Value = response.json().await.unwrap();
                    acknowledged
                        .lock()
                        .unwrap()
                        .push(created["id"].as_str().unwrap().to_owned());
                } else {
                    assert_eq!(status, 503, "only 201 or 503 while the database comes and goes");
                    let problem: Value = response.json().await.unwrap();
                    assert_eq!(problem["status"], 503, "{problem}");
                }
            }
        })
    };
    // A device checking in: its credential is looked up on the check-in
    // lane, whose connection the cut breaks as well.
    let device = app
        .post(
            "/api/v1/devices",
            &json!({"deviceName": "Lane iPhone", "platform": "ios"}),
        )
        .await;
    assert_eq!(device.status(), 201);
    let device: Value = device.json().await.unwrap();
    let credential = app
        .admin(
            Method::POST,
            &format!("/api/v1/devices/{}/credentials", device["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(credential.status(), 201);
    let credential: Value = credential.json().await.unwrap();
    let credential = credential["credential"].as_str().unwrap().to_owned();
    let check_in = || async {
        let started = Instant::now();
        let response = app
            .anonymous(Method::POST, "/device/v1/checkin")
            .bearer_auth(&credential)
            .json(&json!({"installedProfiles": [], "installedCertificates": []}))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), started.elapsed())
    };
    assert_eq!(check_in().await.0, 200);

    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = acknowledged.lock().unwrap().len();
    assert!(before > 0, "writes succeed while the database is there");

    proxy.cut();
    let started = Instant::now();
    let ready = app.anonymous(Method::GET, "/readyz").send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(
        started.elapsed() < FAST,
        "readyz answered in {:?}",
        started.elapsed()
    );
    let read = app.get("/api/v1/users").await;
    assert_eq!(read.status(), 503);
    assert_eq!(
        read.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let (status, elapsed) = check_in().await;
    assert_eq!(status, 503, "a check-in without its database");
    assert!(elapsed < FAST, "the check-in answered in {elapsed:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = acknowledged.lock().unwrap().len();

    proxy.restore().await;
    let recovering = Instant::now();
    loop {
        let ready = app.anonymous(Method::GET, "/readyz").send().await.unwrap();
        if ready.status() == 200 {
            break;
        }
        assert!(
            recovering.elapsed() < Duration::from_secs(20),
            "no recovery without a restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.await.expect("the writer saw only 201 and 503");
    let after = acknowledged.lock().unwrap().len();
    assert!(after > during, "writes succeed again after recovery");
    assert_eq!(check_in().await.0, 200, "check-ins succeed again after recovery");

    let statuses = statuses.lock().unwrap().clone();
    let unavailable: Vec<_> = statuses.iter().filter(|(status, _)| *status == 503).collect();
    assert!(!unavailable.is_empty(), "the writer met the outage");
    let slowest = statuses.iter().map(|(_, elapsed)| *elapsed).max().unwrap();
    assert!(slowest < FAST, "no request hung: slowest took {slowest:?}");

    // Every write answered 201 is there.
    let acknowledged = acknowledged.lock().unwrap().clone();
    for id in &acknowledged {
        let response = app.get(&format!("/api/v1/users/{id}")).await;
        assert_eq!(response.status(), 200, "user {id} was acknowledged but is gone");
    }
    eprintln!(
        "{} writes: {} acknowledged, {} answered 503; slowest {:?}",
        statuses.len(),
        acknowledged.len(),
        unavailable.len(),
        slowest
    );
    drop(database);
}
