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
ADMIN_DB_URL=""   # URL of a database we can CREATE DATABASE from
DB_NAME=""        # the database created for this run
DB_CREATED=0
SERVER_PID=""

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

# apt_install, free_port and the throwaway cluster (pg_cluster_start/stop).
# shellcheck source=scripts/lib/pg-cluster.sh
. scripts/lib/pg-cluster.sh
# shellcheck source=scripts/lib/serve.sh
. scripts/lib/serve.sh

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
    pg_cluster_stop
    if [[ -n $WORK ]]; then
        if [[ ${SCEPTER_E2E_KEEP:-0} == 1 ]]; then
            echo "Kept $WORK" >&2
        else
            rm -rf -- "$WORK" || true
        fi
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
    pg_cluster_start
    ADMIN_DB_URL=$PG_CLUSTER_URL
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
start_scepter "$BIN" "$WORK/server.log"

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
