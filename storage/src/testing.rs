//! Throwaway databases for tests: a new SQLite file in a temp dir, or a new
//! database in the PostgreSQL server named by `SCEPTER_TEST_POSTGRES_URL`,
//! and the one macro family that runs a test once per backend:
//!
//! - [`backend_tests!`](crate::backend_tests) runs each `async fn(Backend)`
//!   (the black-box suite: it starts the application on that backend);
//! - [`store_tests!`](crate::store_tests) runs each `async fn(Arc<dyn Store>)`
//!   on a fresh, migrated database (this crate's conformance suites).
//!
//! Both expand to `mod sqlite { … } mod postgres { … }` with one
//! `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per name, so
//! the crate using them needs `tokio` (with `macros` and `rt-multi-thread`)
//! among its dependencies. The PostgreSQL variant is skipped when
//! [`postgres_url`] is `None`.
//!
//! ```ignore
//! use scepter_storage::{testing::Backend, Store};
//!
//! scepter_storage::backend_tests!(starts_on_either_backend);
//! async fn starts_on_either_backend(backend: Backend) { /* … */ }
//!
//! scepter_storage::store_tests!(round_trips);
//! async fn round_trips(store: std::sync::Arc<dyn Store>) { /* … */ }
//! ```

use std::{future::Future, sync::Arc};

use sqlx::{Connection, Executor, PgConnection};
use tempfile::TempDir;

use crate::{connect, DatabaseTarget, PoolSettings, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server for tests. Missing is a skip locally and a failure
/// when `SCEPTER_REQUIRE_POSTGRES=1` (as `scripts/test.sh` sets it).
pub fn postgres_url() -> Option<String> {
    match std::env::var("SCEPTER_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("SCEPTER_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("SCEPTER_REQUIRE_POSTGRES=1 but SCEPTER_TEST_POSTGRES_URL is not set")
        }
        _ => {
            eprintln!("skipped: set SCEPTER_TEST_POSTGRES_URL to run the PostgreSQL variant");
            None
        }
    }
}

/// A fresh, empty database that lives as long as this value. PostgreSQL test
/// databases are left behind: the throwaway server they live in is removed whole.
pub struct TestDatabase {
    pub target: DatabaseTarget,
    _dir: Option<TempDir>,
}

impl TestDatabase {
    pub async fn fresh(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                Self {
                    target: DatabaseTarget::Sqlite {
                        path: dir.path().join("scepter.db"),
                    },
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_url().expect("PostgreSQL tests need SCEPTER_TEST_POSTGRES_URL");
                let name = format!("scepter_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::connect(&admin_url)
                    .await
                    .expect("connect to the test PostgreSQL server");
                admin
                    .execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create the test database");
                admin.close().await.ok();
                let mut url = url::Url::parse(&admin_url).expect("SCEPTER_TEST_POSTGRES_URL is a URL");
                url.set_path(&name);
                Self {
                    target: DatabaseTarget::Postgres { url: url.to_string() },
                    _dir: None,
                }
            }
        }
    }

    /// An existing database this value does not own (e.g. reached through a proxy).
    pub fn at(target: DatabaseTarget) -> Self {
        Self { target, _dir: None }
    }

    /// The same database for a second instance; the original must outlive it.
    pub fn share(&self) -> Self {
        Self::at(self.target.clone())
    }

    /// Connects and applies the migrations.
    pub async fn connect(&self) -> Arc<dyn Store> {
        self.connect_with(PoolSettings::default()).await
    }

    /// [`TestDatabase::connect`] with other pool settings.
    pub async fn connect_with(&self, settings: PoolSettings) -> Arc<dyn Store> {
        let store = connect(&self.target, settings)
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        store
    }
}

/// Runs `test` on `backend` (what [`backend_tests!`](crate::backend_tests) calls).
pub async fn run_on_backend<F: Future<Output = ()>>(backend: Backend, test: impl FnOnce(Backend) -> F) {
    test(backend).await
}

/// Runs `test` on a fresh, migrated database of `backend`, which lives until
/// the test ends (what [`store_tests!`](crate::store_tests) calls).
pub async fn run_on_fresh_store<F: Future<Output = ()>>(
    backend: Backend,
    test: impl FnOnce(Arc<dyn Store>) -> F,
) {
    let database = TestDatabase::fresh(backend).await;
    test(database.connect().await).await
}

/// Runs each named `async fn(Backend)` as one test per backend: `sqlite::name`
/// and `postgres::name` (a no-op without [`postgres_url`]).
///
/// `backend_tests!(via some::runner; names…)` calls
/// `some::runner(backend, name)` instead: the seam [`store_tests!`](crate::store_tests) uses.
#[macro_export]
macro_rules! backend_tests {
    (via $run:path; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $run($crate::testing::Backend::Sqlite, super::$name).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::testing::postgres_url().is_some() {
                        $run($crate::testing::Backend::Postgres, super::$name).await
                    }
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::backend_tests!(via $crate::testing::run_on_backend; $($name),*);
    };
}

/// Runs each named `async fn(Arc<dyn Store>)` once per backend, each time on
/// a fresh, migrated database: [`backend_tests!`](crate::backend_tests) with
/// [`run_on_fresh_store`].
#[macro_export]
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        $crate::backend_tests!(via $crate::testing::run_on_fresh_store; $($name),*);
    };
}

/// An audit entry for writes a test makes directly through the store (the
/// API builds real ones; `storage/tests/audit.rs` checks what is recorded).
pub fn audit_entry() -> crate::NewAuditEntry {
    use scepter_domain::audit::{AuditAction, ResourceType};
    let actor = crate::Actor {
        subject: "test".to_owned(),
        role: "admin".to_owned(),
        request_id: None,
    };
    crate::NewAuditEntry::new(&actor, AuditAction::Create, ResourceType::User, Vec::new())
}

/// An import run for imports a test makes directly through the store.
pub fn import_run() -> crate::ImportRun {
    crate::ImportRun {
        id: uuid::Uuid::now_v7(),
        actor: audit_entry().actor,
        source: "test.csv".to_owned(),
    }
}
