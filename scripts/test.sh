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
# enrollment scenario through it. API fuzzing is separate: scripts/fuzz-api.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'scripts/test.sh: error: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null 2>&1 || die "cargo not found on PATH (install Rust via rustup, or source \$HOME/.cargo/env)"

# --------------------------------------------------------------------------
# Throwaway PostgreSQL cluster
# --------------------------------------------------------------------------

PG_BIN=""       # directory holding initdb, pg_ctl, postgres
PG_USER=""      # unprivileged user that runs the cluster when we are root
PG_TMP=""       # temp dir: data/, server.log, unix socket
PG_STARTED=0

has_pg_bins() { [[ -x $1/initdb && -x $1/pg_ctl && -x $1/postgres ]]; }

find_pg_bin() {
    local dir
    if has_pg_bins /usr/lib/postgresql/15/bin; then
        PG_BIN=/usr/lib/postgresql/15/bin
        return 0
    fi
    # Else the highest installed version with server binaries (a client-only
    # package also creates /usr/lib/postgresql/N/bin). sort -V: 9.6 < 10 < 16.
    while IFS= read -r dir; do
        if has_pg_bins "$dir"; then
            PG_BIN=$dir
            return 0
        fi
    done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -rV)
    if dir=$(command -v initdb 2>/dev/null); then
        dir=$(dirname "$dir")
        if has_pg_bins "$dir"; then
            PG_BIN=$dir
            return 0
        fi
    fi
    return 1
}

APT_UPDATED=0 # apt-get update runs at most once per script run

# apt_install WHAT ADVICE PACKAGE...: install Debian packages as root or through
# sudo; WHAT (what is missing) and ADVICE (what to do instead) word the errors.
apt_install() {
    local what=$1 advice=$2 sudo=""
    shift 2
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 \
            || die "$what not found and not root (no sudo): $advice"
        sudo="sudo"
    fi
    command -v apt-get >/dev/null 2>&1 \
        || die "$what not found and apt-get is unavailable: $advice"
    log "Installing $* (apt-get)"
    if [[ $APT_UPDATED -eq 0 ]]; then
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update
        APT_UPDATED=1
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

install_postgres() {
    apt_install "PostgreSQL server binaries" "install PostgreSQL or set SCEPTER_TEST_POSTGRES_URL" postgresql
}

# Run a command as the cluster owner, from a directory it can access.
as_pg() {
    if [[ -z $PG_USER ]]; then
        (cd "$PG_TMP" && "$@")
    elif command -v runuser >/dev/null 2>&1; then
        (cd "$PG_TMP" && runuser -u "$PG_USER" -- "$@")
    else
        (cd "$PG_TMP" && su -s /bin/bash "$PG_USER" -c "$(printf '%q ' "$@")")
    fi
}

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
        return
    fi
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! ss -Htln "sport = :$port" 2>/dev/null | grep -q .; then
            echo "$port"
            return
        fi
    done
    die "could not find a free TCP port"
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ $PG_STARTED -eq 1 ]]; then
        if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w stop >/dev/null 2>&1; then
            # Last resort: kill the postmaster directly.
            local pid
            pid=$(head -n 1 "$PG_TMP/data/postmaster.pid" 2>/dev/null || true)
            [[ $pid =~ ^[0-9]+$ ]] && kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    if [[ -n $PG_TMP ]]; then
        rm -rf -- "$PG_TMP" || true
    fi
    exit "$rc"
}

start_cluster() {
    if ! find_pg_bin; then
        install_postgres
        find_pg_bin || die "PostgreSQL server binaries (initdb, pg_ctl, postgres) still not found after installation"
    fi

    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    PG_TMP=$(mktemp -d -t scepter-pg.XXXXXX)

    # initdb/postgres refuse to run as root.
    if [[ $(id -u) -eq 0 ]]; then
        if id -u postgres >/dev/null 2>&1; then
            PG_USER=postgres
        else
            id -u scepter-pg >/dev/null 2>&1 \
                || useradd --system --no-create-home --shell /usr/sbin/nologin scepter-pg
            PG_USER=scepter-pg
        fi
        chown "$PG_USER" "$PG_TMP"
        # $TMPDIR might not be reachable for that user; fall back to /tmp.
        if ! as_pg test -w "$PG_TMP"; then
            rm -rf -- "$PG_TMP"
            PG_TMP=$(mktemp -d /tmp/scepter-pg.XXXXXX)
            chown "$PG_USER" "$PG_TMP"
        fi
    fi

    # Pin the locale so an unusable $LANG/$LC_ALL on the machine cannot break initdb.
    local locale=C
    if locale -a 2>/dev/null | grep -qixE 'c\.utf-?8'; then
        locale=C.UTF-8
    fi

    log "Starting throwaway PostgreSQL cluster ($PG_BIN) in $PG_TMP"
    if ! as_pg "$PG_BIN/initdb" -D "$PG_TMP/data" -A trust -U postgres --no-sync -E UTF8 \
        --locale="$locale" >"$PG_TMP/initdb.log" 2>&1; then
        cat "$PG_TMP/initdb.log" >&2
        die "initdb failed"
    fi

    # The port is chosen before the server binds it; retry if someone else wins the race.
    local port attempt
    PG_STARTED=1 # from now on cleanup() tries to stop the server
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        if as_pg "$PG_BIN/pg_ctl" -w -D "$PG_TMP/data" -l "$PG_TMP/server.log" \
            -o "-h 127.0.0.1 -p $port -k '$PG_TMP' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            start >/dev/null; then
            break
        fi
        as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
        if [[ $attempt -eq 5 ]]; then
            tail -n 30 "$PG_TMP/server.log" >&2 || true
            die "could not start PostgreSQL"
        fi
        echo "PostgreSQL did not start on port $port, retrying with another port" >&2
    done

    export SCEPTER_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
    echo "PostgreSQL listening: $SCEPTER_TEST_POSTGRES_URL" >&2
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
# scepclient) for tests/tests/scep_roundtrip.rs
# --------------------------------------------------------------------------

if ! command -v scepserver >/dev/null 2>&1 || ! command -v scepclient >/dev/null 2>&1; then
    apt_install "scepserver" "install Debian's scep package (micromdm's scepserver and scepclient)" scep
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

log "All checks passed"
