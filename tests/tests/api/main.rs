//! The black-box suite: one test binary, one module per area. Every test
//! starts the real application on a random port with a fresh database
//! (`scepter_blackbox_tests::TestApp`) and talks HTTP to it; `backend_tests!`
//! runs each test on SQLite and on PostgreSQL (`<area>::sqlite::<test>`,
//! `<area>::postgres::<test>`).
//!
//! Run one area with a filter, e.g.
//! `cargo test -p scepter-blackbox-tests --test api -- faults::`.

mod helpers;

mod audit;
mod auth;
mod console;
mod credentials;
mod directory;
mod dry_run;
mod enrollment;
mod enrollment_timeline;
mod faults;
mod hostile_clients;
mod http_errors;
mod instances;
mod persistence;
mod preview;
mod readiness;
mod reports;
mod retention;
mod scep_profiles;
mod scep_roundtrip;
mod targeting;
mod trusted_profiles;
