#!/usr/bin/env bash
# API fuzzing with schemathesis: every operation of the running service is fed
# generated (valid and invalid) requests, and every answer must be a documented
# status with a body that matches the documented schema and content type, and
# never a 5xx.
#
#   scripts/fuzz-api.sh                         # build, start PostgreSQL + scepter, fuzz, stop
#   SCEPTER_FUZZ_MAX_EXAMPLES=100 scripts/fuzz-api.sh   # more cases per operation (default 40)
#   SCEPTER_FUZZ_SEED=42 scripts/fuzz-api.sh    # reproduce a run (default: a fixed seed)
#   SCEPTER_FUZZ_DATABASE_URL=postgres://... scripts/fuzz-api.sh   # use an existing (empty) database
#   SCEPTER_FUZZ_DATABASE_URL=sqlite scripts/fuzz-api.sh   # the embedded SQLite backend instead
#   scripts/fuzz-api.sh -- --max-failures 1     # extra arguments go to every `schemathesis run`
#
# What it does:
#  1. builds target/release/scepter (cargo) and a Python venv with a pinned
#     schemathesis in target/fuzz-venv (pip; python3-venv is installed with
#     apt-get when missing);
#  2. starts a throwaway PostgreSQL cluster (like scripts/test.sh; installed with
#     apt-get when missing) and `scepter serve` on free loopback ports;
#  3. mints admin and connector tokens, seeds a root CA profile, a SCEP profile,
#     users, devices, groups, memberships, assignments and a device credential;
#  4. runs schemathesis (phases examples, coverage, fuzzing, stateful; links
#     are inferred from the Location headers of the creates) four times:
#       admin      every operation with an admin token (the connector, device
#                  and step-ca operations must answer their documented 401/403/404);
#       connector  /connector/v1/scep and /connector/v1/revocations with a connector token;
#       device     /device/v1 with a device credential;
#       step-ca    /connector/v1/step-ca with webhook secrets configured and each
#                  body signed (X-Smallstep-Signature) by a schemathesis hook;
#  5. prints the requests and failures per run, and exits 1 if any run failed.
# The server and the cluster are stopped on exit (also on failure or Ctrl-C).
# Reports (ndjson events, JUnit) and the server log stay in target/fuzz-report/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${SCEPTER_FUZZ_MAX_EXAMPLES:-40}
SEED=${SCEPTER_FUZZ_SEED:-20240606}
VENV=$ROOT/target/fuzz-venv
REPORT_DIR=$ROOT/target/fuzz-report
EXTRA_ARGS=()
if [[ ${1:-} == "--" ]]; then
    shift
    EXTRA_ARGS=("$@")
elif [[ $# -gt 0 ]]; then
    echo "usage: scripts/fuzz-api.sh [-- SCHEMATHESIS-ARGS...]" >&2
    exit 2
fi

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'scripts/fuzz-api.sh: error: %s\n' "$*" >&2; exit 1; }

START_TIME=$(date +%s)

command -v cargo >/dev/null 2>&1 || die "cargo not found on PATH (install Rust via rustup, or source \$HOME/.cargo/env)"

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

# --------------------------------------------------------------------------
# Cleanup: everything started below is stopped here, by PID.
# --------------------------------------------------------------------------

TMP=""
SERVER_PID=""
PG_BIN=""
PG_USER=""
PG_TMP=""
PG_STARTED=0

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
    if [[ $PG_STARTED -eq 1 ]]; then
        if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w stop >/dev/null 2>&1; then
            local pid
            pid=$(head -n 1 "$PG_TMP/data/postmaster.pid" 2>/dev/null || true)
            [[ $pid =~ ^[0-9]+$ ]] && kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    [[ -n $PG_TMP ]] && rm -rf -- "$PG_TMP"
    [[ -n $TMP ]] && rm -rf -- "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TMP=$(mktemp -d -t scepter-fuzz.XXXXXX)

free_port() {
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# --------------------------------------------------------------------------
# Tools: the release binary and schemathesis
# --------------------------------------------------------------------------

command -v python3 >/dev/null 2>&1 || apt_install python3 python3
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt_install "python3 venv" python3-venv
fi

if [[ ${SCEPTER_FUZZ_SKIP_BUILD:-0} != 1 ]]; then
    log "cargo build --release --bin scepter"
    cargo build --release --locked --bin scepter
fi
SCEPTER=$ROOT/target/release/scepter
[[ -x $SCEPTER ]] || die "$SCEPTER not found"

if [[ ! -x $VENV/bin/schemathesis ]] \
    || [[ $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null) != "$SCHEMATHESIS_VERSION" ]]; then
    log "Installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    rm -rf -- "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
ST_VERSION=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))')

# --------------------------------------------------------------------------
# Database: a throwaway PostgreSQL cluster (as in scripts/test.sh), an
# existing server, or SQLite
# --------------------------------------------------------------------------

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

as_pg() {
    if [[ -z $PG_USER ]]; then
        (cd "$PG_TMP" && "$@")
    elif command -v runuser >/dev/null 2>&1; then
        (cd "$PG_TMP" && runuser -u "$PG_USER" -- "$@")
    else
        (cd "$PG_TMP" && su -s /bin/bash "$PG_USER" -c "$(printf '%q ' "$@")")
    fi
}

start_cluster() {
    if ! find_pg_bin; then
        apt_install "PostgreSQL server binaries" postgresql
        find_pg_bin || die "PostgreSQL server binaries still not found after installation"
    fi
    PG_TMP=$(mktemp -d -t scepter-fuzz-pg.XXXXXX)
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
        if ! as_pg test -w "$PG_TMP"; then
            rm -rf -- "$PG_TMP"
            PG_TMP=$(mktemp -d /tmp/scepter-fuzz-pg.XXXXXX)
            chown "$PG_USER" "$PG_TMP"
        fi
    fi
    local locale=C
    if locale -a 2>/dev/null | grep -qixE 'c\.utf-?8'; then
        locale=C.UTF-8
    fi
    log "Starting a throwaway PostgreSQL cluster ($PG_BIN) in $PG_TMP"
    if ! as_pg "$PG_BIN/initdb" -D "$PG_TMP/data" -A trust -U postgres --no-sync -E UTF8 \
        --locale="$locale" >"$PG_TMP/initdb.log" 2>&1; then
        cat "$PG_TMP/initdb.log" >&2
        die "initdb failed"
    fi
    local port attempt
    PG_STARTED=1
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        if as_pg "$PG_BIN/pg_ctl" -w -D "$PG_TMP/data" -l "$PG_TMP/server.log" \
            -o "-h 127.0.0.1 -p $port -k '$PG_TMP' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null; then
            break
        fi
        as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
        if [[ $attempt -eq 5 ]]; then
            tail -n 30 "$PG_TMP/server.log" >&2 || true
            die "could not start PostgreSQL"
        fi
    done
    DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

DB_ARGS=()
case ${SCEPTER_FUZZ_DATABASE_URL:-} in
    "")
        start_cluster
        DB_ARGS=(--database-url "$DATABASE_URL")
        BACKEND="PostgreSQL (throwaway cluster)"
        ;;
    sqlite)
        DB_ARGS=(--sqlite-path "$TMP/scepter.db")
        BACKEND="SQLite ($TMP/scepter.db)"
        ;;
    postgres://* | postgresql://*)
        DB_ARGS=(--database-url "$SCEPTER_FUZZ_DATABASE_URL")
        BACKEND="PostgreSQL (SCEPTER_FUZZ_DATABASE_URL)"
        ;;
    *) die "SCEPTER_FUZZ_DATABASE_URL must be a postgres:// URL or 'sqlite'" ;;
esac

# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------

export SCEPTER_JWT_SECRET
SCEPTER_JWT_SECRET=$(python3 -c 'import secrets;print(secrets.token_hex(32))')
export SCEPTER_CHALLENGE_KEY
SCEPTER_CHALLENGE_KEY=$(python3 -c 'import secrets;print(secrets.token_hex(32))')
# step-ca prints its webhook signing secrets in base64.
STEP_CA_SECRET=$(python3 -c 'import base64,secrets;print(base64.b64encode(secrets.token_bytes(32)).decode())')
export SCEPTER_STEP_CA_CHALLENGE_SECRET=$STEP_CA_SECRET SCEPTER_STEP_CA_NOTIFY_SECRET=$STEP_CA_SECRET
unset DATABASE_URL SCEPTER_SQLITE_PATH

mkdir -p "$REPORT_DIR"
rm -f "$REPORT_DIR"/*.ndjson "$REPORT_DIR"/*.xml
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
log "Starting scepter serve on $BASE ($BACKEND)"
RUST_LOG=${RUST_LOG:-warn} "$SCEPTER" serve "${DB_ARGS[@]}" --listen "127.0.0.1:$PORT" \
    --allow-http-scep-urls --workers 2 >"$REPORT_DIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('$BASE/readyz', timeout=1)" 2>/dev/null; then
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$REPORT_DIR/server.log" >&2; die "scepter serve exited"; }
    sleep 0.1
done
python3 -c "import urllib.request; urllib.request.urlopen('$BASE/readyz', timeout=1)" \
    || { cat "$REPORT_DIR/server.log" >&2; die "scepter did not become ready"; }

ADMIN_TOKEN=$("$SCEPTER" token issue "${DB_ARGS[@]}" --role admin --ttl 2h --subject fuzz-admin)
CONNECTOR_TOKEN=$("$SCEPTER" token issue "${DB_ARGS[@]}" --role connector --ttl 2h --subject fuzz-connector)

# --------------------------------------------------------------------------
# Seed data, so that profiles, previews, targeting and check-ins have
# something to work with, and the stateful phase has resources to start from.
# --------------------------------------------------------------------------

cat >"$TMP/seed.py" <<'PY'
import json, sys, urllib.error, urllib.request

mode, base, token, ca_path = sys.argv[1:5]

def call(method, path, body=None):
    request = urllib.request.Request(base + path, method=method,
        data=None if body is None else json.dumps(body).encode())
    request.add_header("Authorization", "Bearer " + token)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request) as response:
            text = response.read()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        sys.exit(f"seeding: {method} {path}: {error.code} {error.read().decode(errors='replace')}")

platforms = ["ios", "macos", "android", "windows10"]

def seed():
    ca = open(ca_path).read()
    roots, scep = {}, {}
    for platform in platforms:
        roots[platform] = call("POST", "/api/v1/trusted-certificate-profiles", {
            "displayName": f"Fuzz root ({platform})", "platform": platform,
            "certFileName": "fuzz-root.cer", "trustedRootCertificate": ca})["id"]
        scep[platform] = call("POST", "/api/v1/scep-certificate-profiles", {
            "displayName": f"Fuzz SCEP ({platform})", "platform": platform, "certificateType": "user",
            "subjectNameFormat": "custom", "subjectNameFormatString": "CN={{UserName}},E={{EmailAddress}}",
            "customSubjectAlternativeNames": [{"sanType": "userPrincipalName", "name": "{{UserPrincipalName}}"}],
            "keyUsage": ["digitalSignature", "keyEncipherment"], "keySize": 2048,
            "rootCertificateId": roots[platform],
            "scepServerUrls": ["http://127.0.0.1:9/scep"]})["id"]
    users = [call("POST", "/api/v1/users", {"userPrincipalName": f"{mode}{i}@contoso.example",
        "displayName": f"Fuzz User {i}", "mail": f"{mode}{i}@contoso.example"})["id"] for i in range(2)]
    devices = [call("POST", "/api/v1/devices", {"deviceName": f"Fuzz {platform}", "platform": platform,
        "userId": users[0]})["id"] for platform in platforms]
    user_group = call("POST", "/api/v1/groups", {"displayName": "Fuzz users", "groupType": "user"})["id"]
    device_group = call("POST", "/api/v1/groups", {"displayName": "Fuzz devices", "groupType": "device"})["id"]
    call("POST", f"/api/v1/groups/{user_group}/members", {"memberIds": users})
    call("POST", f"/api/v1/groups/{device_group}/members", {"memberIds": devices})
    for platform in platforms:
        call("POST", f"/api/v1/trusted-certificate-profiles/{roots[platform]}/assignments",
             {"groupId": device_group, "intent": "include"})
        call("POST", f"/api/v1/scep-certificate-profiles/{scep[platform]}/assignments",
             {"groupId": user_group, "intent": "include"})
    return user_group, device_group

if mode == "seed":
    seed()
else:
    # A device of its own for the device run, in groups that profiles are assigned to
    # (re-seeded: the admin run may have deleted or changed the first ones).
    user_group, device_group = seed()
    user = call("POST", "/api/v1/users", {"userPrincipalName": "fuzz-device-owner@contoso.example",
        "displayName": "Fuzz Device Owner", "mail": "fuzz-device-owner@contoso.example"})["id"]
    device = call("POST", "/api/v1/devices", {"deviceName": "Fuzz device run", "platform": "ios",
        "userId": user})["id"]
    call("POST", f"/api/v1/groups/{user_group}/members", {"memberIds": [user]})
    call("POST", f"/api/v1/groups/{device_group}/members", {"memberIds": [device]})
    print(call("POST", f"/api/v1/devices/{device}/credentials")["credential"])
PY
seed() { python3 "$TMP/seed.py" "$1" "$BASE" "$ADMIN_TOKEN" "$ROOT/domain/tests/fixtures/root-ca.pem"; }
log "Seeding resources"
seed seed

# Signs step-ca webhook bodies like step-ca does (hex HMAC-SHA256 of the exact bytes sent).
mkdir -p "$TMP/hooks"
cat >"$TMP/hooks/fuzz_step_ca_hooks.py" <<'PY'
import base64, hashlib, hmac, json, os

import schemathesis

SECRET = base64.b64decode(os.environ["FUZZ_STEP_CA_SECRET"])


@schemathesis.hook
def before_call(context, case, kwargs):
    if not case.path.startswith("/connector/v1/step-ca/"):
        return
    if "json" in kwargs:
        kwargs["data"] = json.dumps(kwargs.pop("json")).encode()
    body = kwargs.get("data") or b""
    if isinstance(body, str):
        body = body.encode()
    headers = kwargs.setdefault("headers", {})
    headers["X-Smallstep-Signature"] = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
PY

# --------------------------------------------------------------------------
# schemathesis runs
# --------------------------------------------------------------------------

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance
ST_COMMON=(
    "$BASE/openapi.json"
    --checks "$CHECKS"
    --phases examples,coverage,fuzzing,stateful
    --max-examples "$MAX_EXAMPLES"
    --seed "$SEED"
    --workers 2
    --generation-database none
    --request-timeout 10
    --suppress-health-check all
    --no-color
    --warnings off
)

RUN_NAMES=()
RUN_STATUS=()

run_schemathesis() {
    local name=$1
    shift
    log "schemathesis ($name): $*"
    local rc=0
    "$VENV/bin/schemathesis" run "${ST_COMMON[@]}" \
        --report ndjson,junit \
        --report-ndjson-path "$REPORT_DIR/$name.ndjson" \
        --report-junit-path "$REPORT_DIR/$name.xml" \
        "$@" "${EXTRA_ARGS[@]}" 2>&1 | tee "$REPORT_DIR/$name.log" || rc=$?
    RUN_NAMES+=("$name")
    RUN_STATUS+=("$rc")
}

run_schemathesis admin --header "Authorization: Bearer $ADMIN_TOKEN"
run_schemathesis connector --header "Authorization: Bearer $CONNECTOR_TOKEN" \
    --include-path-regex '^/connector/v1/(scep|revocations)'
DEVICE_CREDENTIAL=$(seed device)
[[ -n $DEVICE_CREDENTIAL ]] || die "seeding did not yield a device credential"
run_schemathesis device --header "Authorization: Bearer $DEVICE_CREDENTIAL" \
    --include-path-regex '^/device/v1/'
FUZZ_STEP_CA_SECRET=$STEP_CA_SECRET PYTHONPATH="$TMP/hooks" SCHEMATHESIS_HOOKS=fuzz_step_ca_hooks \
    run_schemathesis step-ca --include-path-regex '^/connector/v1/step-ca/'

# --------------------------------------------------------------------------
# Summary: requests and failures per run, from the ndjson event streams
# --------------------------------------------------------------------------

SERVER_5XX=$(grep -cE '" (5[0-9][0-9]) ' "$REPORT_DIR/server.log" || true)
log "Summary"
FAILED=0
{
    printf '%-10s %10s %10s %8s %s\n' run requests 5xx failures exit
    for i in "${!RUN_NAMES[@]}"; do
        read -r requests server_errors failures < <("$VENV/bin/python" - "$REPORT_DIR/${RUN_NAMES[$i]}.ndjson" <<'PY'
import json, sys
requests = server_errors = failures = 0
for line in open(sys.argv[1]):
    event = json.loads(line)
    # ScenarioFinished events carry the recorded interactions of one scenario.
    for body in event.values():
        if not isinstance(body, dict):
            continue
        recorder = body.get("recorder")
        if not recorder:
            continue
        for interaction in recorder.get("interactions", {}).values():
            response = interaction.get("response")
            requests += 1
            if response and response.get("status_code", 0) >= 500:
                server_errors += 1
        for check_list in recorder.get("checks", {}).values():
            failures += sum(1 for check in check_list if check.get("status") == "failure")
print(requests, server_errors, failures)
PY
        )
        printf '%-10s %10s %10s %8s %s\n' "${RUN_NAMES[$i]}" "$requests" "$server_errors" "$failures" "${RUN_STATUS[$i]}"
        [[ ${RUN_STATUS[$i]} -eq 0 && $failures -eq 0 && $server_errors -eq 0 ]] || FAILED=1
    done
} | tee "$REPORT_DIR/summary.txt"
grep -qE ' [1-9][0-9]* *$|[^0 ] [0-9]+ [0-9]+$' /dev/null || true
echo "schemathesis $ST_VERSION, seed $SEED, $MAX_EXAMPLES examples per operation, backend $BACKEND, $(($(date +%s) - START_TIME)) s" \
    | tee -a "$REPORT_DIR/summary.txt"
echo "reports: $REPORT_DIR" >&2
if awk 'NR > 1 && ($3 != 0 || $4 != 0 || $5 != 0) { bad = 1 } END { exit !bad }' "$REPORT_DIR/summary.txt"; then
    die "schemathesis found failures (see $REPORT_DIR)"
fi
log "No failures"
