#!/usr/bin/env bash
# End-to-end test of the OpenAPI contract through a *generated* Python client.
#
#   scripts/client-e2e.sh
#   SCEPTER_TEST_POSTGRES_URL=postgres://user@host:5432/postgres scripts/client-e2e.sh
#   SCEPTER_E2E_KEEP=1 scripts/client-e2e.sh      # keep the temp dir (logs, generated client)
#
# 1. Makes a virtualenv in a temp dir and installs the pinned generator from
#    tests/client/requirements.txt (openapi-python-client; it also brings httpx
#    and attrs, which the generated client needs at run time).
# 2. Generates a client from openapi/openapi.json into the temp dir (never into
#    the work tree). Generator warnings (an operation or schema it had to skip)
#    are contract findings: they are printed and make the script fail at the
#    end, but the scenario still runs.
# 3. Builds target/release/scepter, starts a throwaway PostgreSQL cluster (or
#    creates a fresh database on SCEPTER_TEST_POSTGRES_URL), starts
#    `scepter serve` on a free loopback port and mints an admin and a connector
#    token.
# 4. Runs tests/client/scenario.py with the generated package on PYTHONPATH.
#
# Everything started here (server, cluster, database, temp dir) is stopped or
# removed on exit, also on failure or Ctrl-C. Exit code 0 only if generation
# was clean and every scenario step passed.
#
# Needs: bash, cargo, python3 (>= 3.11, with venv), openssl, and PostgreSQL's
# server binaries unless SCEPTER_TEST_POSTGRES_URL is set (psql is needed in
# both cases). Missing Debian packages are installed with apt-get when root
# (or through sudo).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
START_SECONDS=$SECONDS

log() { printf '\n==> [%3d s] %s\n' "$((SECONDS - START_SECONDS))" "$*" >&2; }
die() { printf 'scripts/client-e2e.sh: error: %s\n' "$*" >&2; exit 1; }

WORK=""           # temp dir: venv, generated client, logs, certificates
PG_BIN=""         # directory holding initdb, pg_ctl, postgres
PG_USER=""        # unprivileged user that runs the cluster when we are root
PG_DIR=""         # cluster dir (inside WORK, or /tmp when WORK is unreachable)
PG_STARTED=0
ADMIN_DB_URL=""   # URL of a database we can CREATE DATABASE from
DB_NAME=""        # the database created for this run
DB_CREATED=0
SERVER_PID=""

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

APT_UPDATED=0
apt_install() {
    local what=$1 sudo=""
    shift
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "$what not found and not root (no sudo): install $*"
        sudo="sudo"
    fi
    command -v apt-get >/dev/null 2>&1 || die "$what not found and apt-get is unavailable: install $*"
    log "Installing $* (apt-get)"
    if [[ $APT_UPDATED -eq 0 ]]; then
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update
        APT_UPDATED=1
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

free_port() {
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

port_free() {
    python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}

has_pg_bins() { [[ -x $1/initdb && -x $1/pg_ctl && -x $1/postgres ]]; }

find_pg_bin() {
    local dir
    while IFS= read -r dir; do
        if has_pg_bins "$dir"; then
            PG_BIN=$dir
            return 0
        fi
    done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -rV)
    if dir=$(command -v initdb 2>/dev/null) && has_pg_bins "$(dirname "$dir")"; then
        PG_BIN=$(dirname "$dir")
        return 0
    fi
    return 1
}

# Run a command as the cluster owner, from a directory it can access.
as_pg() {
    if [[ -z $PG_USER ]]; then
        (cd "$PG_DIR" && "$@")
    elif command -v runuser >/dev/null 2>&1; then
        (cd "$PG_DIR" && runuser -u "$PG_USER" -- "$@")
    else
        (cd "$PG_DIR" && su -s /bin/bash "$PG_USER" -c "$(printf '%q ' "$@")")
    fi
}

# with_database URL NAME: URL with its database (path) replaced by NAME.
with_database() {
    python3 - "$1" "$2" <<'EOF'
import sys
from urllib.parse import urlsplit, urlunsplit
parts = urlsplit(sys.argv[1])
print(urlunsplit(parts._replace(path="/" + sys.argv[2])))
EOF
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ $DB_CREATED -eq 1 && $PG_STARTED -eq 0 ]]; then
        # An existing server: drop the database we made in it.
        psql -X -q -v ON_ERROR_STOP=1 "$ADMIN_DB_URL" \
            -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    if [[ $PG_STARTED -eq 1 ]]; then
        if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1; then
            local pid
            pid=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null || true)
            if [[ $pid =~ ^[0-9]+$ ]]; then
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
    fi
    if [[ -n $WORK ]]; then
        if [[ ${SCEPTER_E2E_KEEP:-0} == 1 ]]; then
            echo "Kept $WORK" >&2
        else
            rm -rf -- "$WORK" || true
        fi
    fi
    if [[ -n $PG_DIR && $PG_DIR != "$WORK"/* ]]; then
        rm -rf -- "$PG_DIR" || true
    fi
    echo "client-e2e: finished in $((SECONDS - START_SECONDS)) s, exit code $rc" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --------------------------------------------------------------------------
# Tools
# --------------------------------------------------------------------------

command -v cargo >/dev/null 2>&1 || die "cargo not found on PATH (install Rust via rustup, or source \$HOME/.cargo/env)"
command -v python3 >/dev/null 2>&1 || apt_install python3 python3 python3-venv
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "python3 >= 3.11 is needed (openapi-python-client requires it); found $(python3 --version 2>&1)"
command -v openssl >/dev/null 2>&1 || apt_install openssl openssl
command -v psql >/dev/null 2>&1 || apt_install psql postgresql-client

WORK=$(mktemp -d -t scepter-client-e2e.XXXXXX)
chmod 755 "$WORK"

# --------------------------------------------------------------------------
# 1. Generator in a virtualenv
# --------------------------------------------------------------------------

log "Creating a virtualenv in $WORK/venv"
if ! python3 -m venv "$WORK/venv" >"$WORK/venv.log" 2>&1; then
    # Debian splits ensurepip into python3-venv (python3.11-venv on bookworm).
    rm -rf -- "$WORK/venv"
    apt_install "python3 venv" python3-venv
    python3 -m venv "$WORK/venv" || die "python3 -m venv failed"
fi
VENV_BIN=$WORK/venv/bin
"$VENV_BIN/python" -m pip install --quiet --disable-pip-version-check -r tests/client/requirements.txt \
    || die "pip install -r tests/client/requirements.txt failed"
"$VENV_BIN/openapi-python-client" --version >&2

# --------------------------------------------------------------------------
# 2. Generate the client
# --------------------------------------------------------------------------

GEN_WARNINGS=0
log "Generating the Python client from openapi/openapi.json"
# The venv's bin on PATH lets the generator's post hook (ruff, installed with it) format the code.
if ! PATH="$VENV_BIN:$PATH" "$VENV_BIN/openapi-python-client" generate \
    --path openapi/openapi.json --output-path "$WORK/client/scepter_client" --meta none \
    --overwrite >"$WORK/generate.log" 2>&1; then
    cat "$WORK/generate.log" >&2
    die "openapi-python-client could not generate a client from openapi/openapi.json"
fi
cat "$WORK/generate.log" >&2
if grep -qi 'warning' "$WORK/generate.log"; then
    GEN_WARNINGS=1
    echo "CONTRACT: the generator reported warnings (above); some operations or schemas are missing from the client" >&2
fi
[[ -f $WORK/client/scepter_client/api/device/check_in.py ]] || die "generated client has no check_in operation"

# --------------------------------------------------------------------------
# 3. Release binary, database, server
# --------------------------------------------------------------------------

log "cargo build --release --bin scepter"
cargo build --release --locked --bin scepter
BIN=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/release/scepter
[[ -x $BIN ]] || die "$BIN not found after cargo build"

DB_NAME="scepter_client_e2e_$(date +%s)_$$"
if [[ -n ${SCEPTER_TEST_POSTGRES_URL:-} ]]; then
    log "Using PostgreSQL from SCEPTER_TEST_POSTGRES_URL"
    ADMIN_DB_URL=$SCEPTER_TEST_POSTGRES_URL
else
    if ! find_pg_bin; then
        apt_install "PostgreSQL server binaries" postgresql
        find_pg_bin || die "PostgreSQL server binaries (initdb, pg_ctl, postgres) still not found"
    fi
    PG_DIR=$WORK/pg
    mkdir -p "$PG_DIR"
    # initdb/postgres refuse to run as root.
    if [[ $(id -u) -eq 0 ]]; then
        if id -u postgres >/dev/null 2>&1; then
            PG_USER=postgres
        else
            id -u scepter-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin scepter-pg
            PG_USER=scepter-pg
        fi
        chown "$PG_USER" "$PG_DIR"
        if ! as_pg test -w "$PG_DIR"; then
            PG_DIR=$(mktemp -d /tmp/scepter-client-e2e-pg.XXXXXX)
            chown "$PG_USER" "$PG_DIR"
        fi
    fi
    locale=C
    if locale -a 2>/dev/null | grep -qixE 'c\.utf-?8'; then
        locale=C.UTF-8
    fi
    log "Starting a throwaway PostgreSQL cluster ($PG_BIN) in $PG_DIR"
    as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync -E UTF8 --locale="$locale" \
        >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    PG_STARTED=1
    for attempt in 1 2 3 4 5; do
        # 55450 unless taken; the port can still be lost to a race, hence the retries.
        port=55450
        if [[ $attempt -gt 1 ]] || ! port_free "$port"; then
            port=$(free_port)
        fi
        if as_pg "$PG_BIN/pg_ctl" -w -D "$PG_DIR/data" -l "$PG_DIR/server.log" \
            -o "-h 127.0.0.1 -p $port -k '$PG_DIR' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null; then
            break
        fi
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
        if [[ $attempt -eq 5 ]]; then
            tail -n 30 "$PG_DIR/server.log" >&2 || true
            die "could not start PostgreSQL"
        fi
        echo "PostgreSQL did not start on port $port, retrying with another port" >&2
    done
    ADMIN_DB_URL="postgres://postgres@127.0.0.1:$port/postgres"
fi
psql -X -q -v ON_ERROR_STOP=1 "$ADMIN_DB_URL" -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null \
    || die "could not create database $DB_NAME"
DB_CREATED=1
DATABASE_URL=$(with_database "$ADMIN_DB_URL" "$DB_NAME")
echo "Database: $DB_NAME" >&2

SCEPTER_JWT_SECRET=$(openssl rand -hex 32)
SCEPTER_CHALLENGE_KEY=$(openssl rand -hex 32)
export DATABASE_URL SCEPTER_JWT_SECRET SCEPTER_CHALLENGE_KEY

log "Starting $BIN serve"
SERVER_PORT=""
for attempt in 1 2 3; do
    SERVER_PORT=$(free_port)
    "$BIN" serve --listen "127.0.0.1:$SERVER_PORT" --allow-http-scep-urls --workers 2 \
        >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    ready=0
    for _ in $(seq 1 300); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        if python3 - "$SERVER_PORT" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/readyz", timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
        then
            ready=1
            break
        fi
        sleep 0.1
    done
    [[ $ready -eq 1 ]] && break
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    tail -n 30 "$WORK/server.log" >&2 || true
    [[ $attempt -eq 3 ]] && die "scepter serve did not become ready"
    echo "scepter serve did not become ready on port $SERVER_PORT, retrying" >&2
done
SCEPTER_URL="http://127.0.0.1:$SERVER_PORT"
echo "Scepter listening: $SCEPTER_URL (pid $SERVER_PID)" >&2

SCEPTER_ADMIN_TOKEN=$("$BIN" token issue --role admin --ttl 1h --subject client-e2e)
SCEPTER_CONNECTOR_TOKEN=$("$BIN" token issue --role connector --ttl 1h --subject client-e2e-connector)

# --------------------------------------------------------------------------
# 4. The scenario
# --------------------------------------------------------------------------

log "Running tests/client/scenario.py with the generated client"
scenario_rc=0
env SCEPTER_URL="$SCEPTER_URL" SCEPTER_ADMIN_TOKEN="$SCEPTER_ADMIN_TOKEN" \
    SCEPTER_CONNECTOR_TOKEN="$SCEPTER_CONNECTOR_TOKEN" SCEPTER_E2E_WORK="$WORK/scenario" \
    PYTHONPATH="$WORK/client${PYTHONPATH:+:$PYTHONPATH}" \
    "$VENV_BIN/python" tests/client/scenario.py || scenario_rc=$?

if [[ $scenario_rc -ne 0 ]]; then
    echo "--- last lines of the server log ---" >&2
    tail -n 40 "$WORK/server.log" | sed 's/\x1b\[[0-9;]*m//g' >&2 || true
    exit "$scenario_rc"
fi
if [[ $GEN_WARNINGS -ne 0 ]]; then
    die "the scenario passed, but the generator reported warnings on openapi/openapi.json (see above)"
fi
log "Generated-client end-to-end scenario passed"
