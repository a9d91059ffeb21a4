//! Readiness follows the database: `/readyz` answers 503 problem+json, fast,
//! when PostgreSQL is gone, while `/healthz` (the process) stays 200.

use std::time::{Duration, Instant};

use reqwest::Method;
use scepter_blackbox_tests::{postgres_url, problem, Backend, TestApp};
use scepter_storage::DatabaseTarget;
use sqlx::{Connection, Executor, PgConnection};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_fast_when_the_database_disappears() {
    let Some(admin_url) = postgres_url() else {
        return;
    };
    let app = TestApp::spawn(Backend::Postgres).await;
    let ready = app
        .anonymous(Method::GET, "/readyz")
        .send()
        .await
        .expect("request");
    assert_eq!(ready.status(), 200);

    let DatabaseTarget::Postgres { url } = &app.database.target else {
        panic!("a PostgreSQL app has a PostgreSQL target");
    };
    let name = url.rsplit('/').next().expect("database name").to_owned();
    let mut admin = PgConnection::connect(&admin_url).await.expect("connect as admin");
    admin
        .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await
        .expect("drop the app's database");

    let started = Instant::now();
    let not_ready = app
        .anonymous(Method::GET, "/readyz")
        .send()
        .await
        .expect("request");
    let document = problem(not_ready, 503).await;
    assert_eq!(document["type"], "urn:scepter:problem:unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered within the readiness timeout"
    );

    let alive = app
        .anonymous(Method::GET, "/healthz")
        .send()
        .await
        .expect("request");
    assert_eq!(alive.status(), 200);
}
