#!/usr/bin/env bash
# API fuzzing with schemathesis: every operation of the running service is fed
# generated (valid and invalid) requests, and every answer must be a documented
# status with a body that matches the documented schema and content type, and
# never a 5xx.
#
#   scripts/fuzz-api.sh                         # build, start PostgreSQL + scepter, fuzz, stop
#   SCEPTER_FUZZ_MAX_EXAMPLES=300 scripts/fuzz-api.sh   # more cases per operation (default 100)
#   SCEPTER_FUZZ_SEED=42 scripts/fuzz-api.sh    # another seed (default: a fixed one, for repeatable runs)
#   SCEPTER_FUZZ_DATABASE_URL=postgres://... scripts/fuzz-api.sh   # use an existing server's database
#                                               # (it gets the fuzzer's data; use a scratch database)
#   SCEPTER_FUZZ_DATABASE_URL=sqlite scripts/fuzz-api.sh   # the embedded SQLite backend instead
#   scripts/fuzz-api.sh -- --max-failures 1     # extra arguments go to every `schemathesis run`
#
# What it does:
#  1. builds target/release/scepter (cargo) and a Python venv with a pinned
#     schemathesis in target/fuzz-venv (pip; python3-venv is installed with
#     apt-get when missing);
#  2. starts a throwaway PostgreSQL cluster (like scripts/test.sh; installed with
#     apt-get when missing) and `scepter serve` on free loopback ports;
#  3. mints admin and connector tokens, seeds root CA and SCEP profiles per
#     platform, users, devices, groups, memberships, assignments and (before the
#     device run) a device credential;
#  4. runs schemathesis (phases examples, coverage, fuzzing, stateful; the
#     stateful links are inferred from the schema and the Location headers of
#     the creates) with every check but positive_data_acceptance (see CHECKS)
#     four times:
#       admin      every operation with an admin token (the connector, device
#                  and step-ca operations must answer their documented 401/403/404);
#       connector  /connector/v1/scep and /connector/v1/revocations with a connector token;
#       device     /device/v1 with a device credential;
#       step-ca    /connector/v1/step-ca with webhook secrets configured and each
#                  body signed (X-Smallstep-Signature) by a schemathesis hook;
#  5. prints the requests, 5xx responses and failed checks per run, and exits 1
#     if any run failed. About 45 s with the defaults once built.
# The server and the cluster are stopped on exit (also on failure or Ctrl-C).
# Reports (ndjson events, JUnit) and the server log stay in target/fuzz-report/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${SCEPTER_FUZZ_MAX_EXAMPLES:-100}
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

# apt_install, free_port and the throwaway cluster (pg_cluster_start/stop).
# shellcheck source=scripts/lib/pg-cluster.sh
. scripts/lib/pg-cluster.sh

# --------------------------------------------------------------------------
# Cleanup: everything started below is stopped here, by PID.
# --------------------------------------------------------------------------

TMP=""
SERVER_PID=""

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
    pg_cluster_stop
    [[ -n $TMP ]] && rm -rf -- "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TMP=$(mktemp -d -t scepter-fuzz.XXXXXX)

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
SCEPTER=${CARGO_TARGET_DIR:-$ROOT/target}/release/scepter
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

start_cluster() {
    pg_cluster_start
    DATABASE_URL=$PG_CLUSTER_URL
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

mode, base, token, ca_path, run = sys.argv[1:6]

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
    users = [call("POST", "/api/v1/users", {"userPrincipalName": f"{mode}{i}.{run}@contoso.example",
        "displayName": f"Fuzz User {i}", "mail": f"{mode}{i}.{run}@contoso.example"})["id"] for i in range(2)]
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
    user = call("POST", "/api/v1/users", {"userPrincipalName": f"device-owner.{run}@contoso.example",
        "displayName": "Fuzz Device Owner", "mail": f"device-owner.{run}@contoso.example"})["id"]
    device = call("POST", "/api/v1/devices", {"deviceName": "Fuzz device run", "platform": "ios",
        "userId": user})["id"]
    call("POST", f"/api/v1/groups/{user_group}/members", {"memberIds": [user]})
    call("POST", f"/api/v1/groups/{device_group}/members", {"memberIds": [device]})
    print(call("POST", f"/api/v1/devices/{device}/credentials")["credential"])
PY
# Unique names per run, so that a re-run against an existing database does not conflict.
RUN_ID=$(python3 -c 'import secrets;print(secrets.token_hex(4))')
seed() { python3 "$TMP/seed.py" "$1" "$BASE" "$ADMIN_TOKEN" "$ROOT/domain/tests/fixtures/root-ca.pem" "$RUN_ID"; }
log "Seeding resources"
seed seed

# Signs step-ca webhook bodies like step-ca does (hex HMAC-SHA256 of the exact bytes sent).
mkdir -p "$TMP/hooks"
cat >"$TMP/hooks/fuzz_step_ca_hooks.py" <<'PY'
import base64, datetime, hashlib, hmac, json, os

import schemathesis
from schemathesis.core import NotSet

SECRET = base64.b64decode(os.environ["FUZZ_STEP_CA_SECRET"])


@schemathesis.hook
def before_call(context, case, kwargs):
    if not case.path.startswith("/connector/v1/step-ca/"):
        return
    # Serialise the body here, so the signature covers exactly the bytes sent.
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("timestamp"), str):
        # A valid RFC 3339 timestamp is replaced by the current time, so that the
        # request gets past the replay window and into the handler.
        try:
            datetime.datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            body = {**body, "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat()}
    if isinstance(body, NotSet):
        data = b""
    elif isinstance(body, bytes):
        data = body
    else:
        data = json.dumps(body).encode()
    if data:
        kwargs["data"] = data
    headers = dict(case.headers or {})
    headers["X-Smallstep-Signature"] = hmac.new(SECRET, data, hashlib.sha256).hexdigest()
    case.headers = headers
PY

# --------------------------------------------------------------------------
# schemathesis runs
# --------------------------------------------------------------------------

# Every check schemathesis has, except positive_data_acceptance: it expects any
# request that matches the JSON Schema to be accepted (2xx/401/403/404/409), but
# the API also enforces rules no schema states (a cursor must be one it issued,
# If-Match must name the current version, ids in a body must exist, templates,
# certificates and UPNs must parse), and answers 412/422 for those, as documented.
CHECKS=${SCEPTER_FUZZ_CHECKS:-all}
EXCLUDE_CHECKS=${SCEPTER_FUZZ_EXCLUDE_CHECKS:-positive_data_acceptance}
cat >"$TMP/schemathesis.toml" <<'TOML'
# missing_required_header: a write without its required If-Match header is
# answered 428 Precondition Required (RFC 6585 §3, documented on every PUT);
# the other statuses are schemathesis' defaults.
[checks.missing_required_header]
expected-statuses = [400, 401, 403, 406, 415, 422, 428]

# ensure_resource_availability: links are inferred from request bodies too, so
# POST /groups/{id}/members {"memberIds": [...]} (200, counts only; it creates no
# resource at a URL) is chained into DELETE .../members/{memberId} with the
# whole JSON array as the path segment, which rightly answers 404. The
# stateful phase attributes the check to the creating POST, the other phases
# to the DELETE, so it is off for both (only for these two operations).
[[operations]]
include-path = "/api/v1/groups/{id}/members/{memberId}"
include-method = "DELETE"
checks.ensure_resource_availability.enabled = false

[[operations]]
include-path = "/api/v1/groups/{id}/members"
include-method = "POST"
checks.ensure_resource_availability.enabled = false
TOML

ST_COMMON=(
    "$BASE/openapi.json"
    --checks "$CHECKS"
    --exclude-checks "$EXCLUDE_CHECKS"
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
    log "schemathesis ($name)"
    local rc=0
    # From the report directory: schemathesis keeps its cache in ./.schemathesis.
    (cd "$REPORT_DIR" && "$VENV/bin/schemathesis" --config-file "$TMP/schemathesis.toml" run "${ST_COMMON[@]}" \
        --report ndjson,junit \
        --report-ndjson-path "$REPORT_DIR/$name.ndjson" \
        --report-junit-path "$REPORT_DIR/$name.xml" \
        "$@" "${EXTRA_ARGS[@]}") 2>&1 | tee "$REPORT_DIR/$name.log" || rc=$?
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

log "Summary"
# Requests are the interactions recorded in the ndjson event stream (every
# request sent, stateful steps included); failures are failed checks.
count_run() {
    [[ -s $1 ]] || { echo "0 0 0"; return; }
    "$VENV/bin/python" - "$1" <<'PY'
import json, sys
requests = server_errors = failures = 0
for line in open(sys.argv[1]):
    for event in json.loads(line).values():
        recorder = event.get("recorder") if isinstance(event, dict) else None
        if not recorder:
            continue
        for interaction in recorder.get("interactions", {}).values():
            requests += 1
            response = interaction.get("response") or {}
            if response.get("status_code", 0) >= 500:
                server_errors += 1
        for checks in recorder.get("checks", {}).values():
            failures += sum(1 for check in checks if check.get("status") == "failure")
print(requests, server_errors, failures)
PY
}
FAILED=0
TOTAL_REQUESTS=0
{
    printf '%-10s %9s %5s %9s %5s\n' run requests 5xx failures exit
    for i in "${!RUN_NAMES[@]}"; do
        read -r requests server_errors failures < <(count_run "$REPORT_DIR/${RUN_NAMES[$i]}.ndjson")
        printf '%-10s %9s %5s %9s %5s\n' "${RUN_NAMES[$i]}" "$requests" "$server_errors" "$failures" "${RUN_STATUS[$i]}"
    done
} | tee "$REPORT_DIR/summary.txt"
while read -r _ requests server_errors failures rc; do
    TOTAL_REQUESTS=$((TOTAL_REQUESTS + requests))
    [[ $server_errors -eq 0 && $failures -eq 0 && $rc -eq 0 ]] || FAILED=1
done < <(tail -n +2 "$REPORT_DIR/summary.txt")
echo "total: $TOTAL_REQUESTS requests; schemathesis $ST_VERSION, seed $SEED, $MAX_EXAMPLES examples per operation, $BACKEND, $(($(date +%s) - START_TIME)) s" \
    | tee -a "$REPORT_DIR/summary.txt"
echo "reports and server log: $REPORT_DIR" >&2
[[ $FAILED -eq 0 ]] || die "schemathesis found failures or 5xx responses (see $REPORT_DIR)"
log "No failures"
