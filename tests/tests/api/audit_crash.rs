//! A change and its audit entry commit together or not at all: a process
//! killed (SIGKILL, no shutdown) while admin writes are in flight leaves no
//! change without its entry and no entry without its change.
//!
//! The writer runs in a child process of this test binary (the app is
//! in-process, so killing the child kills the server mid-request); the test
//! then opens the same database in a fresh app and compares the trail with
//! what is stored.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::helpers::*;
use scepter_blackbox_tests::{backend_tests, Backend, TestApp, TestDatabase, TestOptions};
use scepter_storage::DatabaseTarget;
use serde_json::{json, Value};

backend_tests!(a_kill_mid_write_leaves_no_change_without_its_entry_nor_an_entry_without_its_change,);

/// Set in the child process: where the database is (`sqlite:<path>` or the PostgreSQL URL).
const WRITER_DATABASE: &str = "SCEPTER_TEST_KILLED_WRITER_DATABASE";
/// Concurrent writers in the child, so that several writes are in flight when it dies.
const WRITERS: usize = 4;
/// Write pairs (create, then replace) each writer process does before its kill.
const PAIRS_BEFORE_KILL: usize = 24;
/// Writer processes killed in turn.
const KILLS: usize = 3;

async fn a_kill_mid_write_leaves_no_change_without_its_entry_nor_an_entry_without_its_change(
    backend: Backend,
) {
    if let Ok(database) = std::env::var(WRITER_DATABASE) {
        write_until_killed(&database).await;
        return;
    }
    let database = TestDatabase::fresh(backend).await;
    let encoded = match &database.target {
        DatabaseTarget::Sqlite { path } => format!("sqlite:{}", path.display()),
        DatabaseTarget::Postgres { url } => url.clone(),
    };
    let backend_name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let area = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, area)| area);
    let test = format!(
        "{area}::{backend_name}::a_kill_mid_write_leaves_no_change_without_its_entry_nor_an_entry_without_its_change"
    );
    // Three writers killed in turn on the same database: each kill is a new chance to cut a write.
    for _ in 0..KILLS {
        let (test, encoded) = (test.clone(), encoded.clone());
        let binary = std::env::current_exe().expect("the test binary");
        tokio::task::spawn_blocking(move || {
            let mut child = Command::new(binary)
                .args([test.as_str(), "--exact", "--test-threads=1", "--nocapture"])
                .env(WRITER_DATABASE, &encoded)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the writer");
            let lines = BufReader::new(child.stdout.take().expect("stdout"));
            let deadline = Instant::now() + Duration::from_secs(120);
            for line in lines.lines() {
                let line = line.expect("a line");
                let written: usize = line
                    .strip_prefix("written ")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                if written >= PAIRS_BEFORE_KILL || Instant::now() > deadline {
                    break;
                }
            }
            // SIGKILL on Unix: no graceful shutdown, transactions cut wherever they are.
            child.kill().expect("kill the writer");
            child.wait().expect("reap the writer");
        })
        .await
        .expect("the writer ran");
    }

    let app = TestApp::spawn_on(database.share(), TestOptions::default()).await;
    let profiles = all(&app, TRUSTED).await;
    assert!(
        profiles.len() >= PAIRS_BEFORE_KILL,
        "only {} profiles were written",
        profiles.len()
    );
    let trail = all(
        &app,
        "/api/v1/audit-events?resourceType=trustedCertificateProfile",
    )
    .await;
    let mut entries: HashMap<String, Vec<String>> = HashMap::new();
    for entry in &trail {
        entries
            .entry(entry["resourceId"].as_str().expect("resourceId").to_owned())
            .or_default()
            .push(entry["action"].as_str().expect("action").to_owned());
    }
    for profile in &profiles {
        let id = profile["id"].as_str().unwrap();
        let version = profile["version"].as_i64().unwrap();
        let mut expected = vec!["create".to_owned()];
        expected.extend((1..version).map(|_| "replace".to_owned()));
        assert_eq!(
            entries.remove(id).unwrap_or_default(),
            expected,
            "profile {id} at version {version}"
        );
    }
    assert!(
        entries.is_empty(),
        "entries of changes that are not stored: {entries:?}"
    );
}

/// Every item of a collection (or trail), following the cursors.
async fn all(app: &TestApp, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(cursor) => format!("{path}{separator}limit=500&cursor={cursor}"),
            None => format!("{path}{separator}limit=500"),
        };
        let page = read(app, &url).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

/// In the child: creates and renames trusted profiles from several
/// writers, reporting each finished pair, until the parent kills it.
async fn write_until_killed(database: &str) {
    let target = match database.strip_prefix("sqlite:") {
        Some(path) => DatabaseTarget::Sqlite { path: path.into() },
        None => DatabaseTarget::Postgres {
            url: database.to_owned(),
        },
    };
    let app = std::sync::Arc::new(TestApp::spawn_on(TestDatabase::at(target), TestOptions::default()).await);
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (app, written) = (app.clone(), written.clone());
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                let body = with(
                    trusted_body("ios"),
                    json!({"displayName": format!("writer {writer} #{n}")}),
                );
                let created = create(&app, TRUSTED, &body).await;
                let path = format!("{TRUSTED}/{}", id_of(&created));
                let renamed = with(
                    body,
                    json!({"displayName": format!("writer {writer} #{n} renamed")}),
                );
                let replaced = app.put(&path, 1, &renamed).await;
                assert_eq!(replaced.status(), 200);
                let total = written.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                println!("written {total}");
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer");
    }
}
