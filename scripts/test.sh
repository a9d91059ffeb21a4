#!/usr/bin/env bash
# Scepter's single "run all tests" command.
#
#   scripts/test.sh                  # fmt + clippy + all tests (SQLite and PostgreSQL)
#   scripts/test.sh -- --nocapture   # extra arguments go to `cargo test`
#   SCEPTER_SKIP_LINT=1 scripts/test.sh   # skip fmt and clippy
#   SCEPTER_TEST_POSTGRES_URL=postgres://... scripts/test.sh   # use an existing server
#
# Unless SCEPTER_TEST_POSTGRES_URL is given, a throwaway PostgreSQL cluster is
# started on a free loopback port in a temporary directory and removed again
# when the script exits (also on failure or Ctrl-C). PostgreSQL is installed
# with apt-get if its server binaries cannot be found. The tests create one
# fresh database per test from that URL. Debian's `scep` package (micromdm's
# scepserver and scepclient, for the SCEP round-trip test) is installed with
# apt-get if scepserver cannot be found. Exit code = exit code of the failing
# step (0 if everything passed). Last, scripts/client-e2e.sh generates a Python
# client from the OpenAPI document (pip: openapi-python-client) and runs the
# enrollment scenario through it, and scripts/browser-tests.sh drives the admin
# console in Debian's chromium (pytest + Playwright; chromium installed with
# apt-get when missing). API fuzzing is separate: scripts/fuzz-api.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'scripts/test.sh: error: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null 2>&1 || die "cargo not found on PATH (install Rust via rustup, or source \$HOME/.cargo/env)"

# --------------------------------------------------------------------------
# Throwaway PostgreSQL cluster
# --------------------------------------------------------------------------

# shellcheck source=scripts/lib/pg-cluster.sh
. scripts/lib/pg-cluster.sh

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    pg_cluster_stop
    exit "$rc"
}

start_cluster() {
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    pg_cluster_start
    export SCEPTER_TEST_POSTGRES_URL=$PG_CLUSTER_URL
}

if [[ -n ${SCEPTER_TEST_POSTGRES_URL:-} ]]; then
    log "Using PostgreSQL from SCEPTER_TEST_POSTGRES_URL"
else
    start_cluster
fi
export SCEPTER_TEST_POSTGRES_URL
export SCEPTER_REQUIRE_POSTGRES=1

# --------------------------------------------------------------------------
# SCEP server and client (Debian's scep package: micromdm's scepserver and
# scepclient) for tests/tests/api/scep_roundtrip.rs
# --------------------------------------------------------------------------

if ! command -v scepserver >/dev/null 2>&1 || ! command -v scepclient >/dev/null 2>&1; then
    apt_install "scepserver and scepclient" scep
    command -v scepserver >/dev/null 2>&1 && command -v scepclient >/dev/null 2>&1 \
        || die "scepserver and scepclient still not found after installing the scep package"
fi
export SCEPTER_REQUIRE_SCEP=1

# --------------------------------------------------------------------------
# Lint and tests (fail fast; `set -e` makes the failing step's code ours)
# --------------------------------------------------------------------------

if [[ ${SCEPTER_SKIP_LINT:-0} == 1 ]]; then
    log "Skipping cargo fmt and cargo clippy (SCEPTER_SKIP_LINT=1)"
else
    log "cargo fmt --check"
    cargo fmt --all -- --check

    log "cargo clippy"
    cargo clippy --workspace --all-targets --locked -- -D warnings
fi

log "cargo test"
cargo test --workspace --locked "$@"

# The contract as clients see it: a Python client generated from
# openapi/openapi.json drives the whole enrollment loop against the release
# binary (fresh database on the same PostgreSQL server).
log "generated client end to end (scripts/client-e2e.sh)"
./scripts/client-e2e.sh

# The admin console in Debian's chromium through Playwright, against the same
# release binary client-e2e.sh just built (fresh SQLite database).
log "console in a real browser (scripts/browser-tests.sh)"
./scripts/browser-tests.sh

log "All checks passed"
