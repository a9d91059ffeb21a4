#!/usr/bin/env bash
# The admin console in a real browser: pytest + Playwright driving Debian's
# chromium (never Playwright's own browser download, which needs its CDN).
#
#   scripts/browser-tests.sh                       # build the release binary, run every test
#   scripts/browser-tests.sh -k device             # extra arguments go to pytest
#   SCEPTER_BIN=target/debug/scepter scripts/browser-tests.sh   # use a binary already built
#   SCEPTER_BROWSER_KEEP=1 scripts/browser-tests.sh             # keep the temp dir (server log, database)
#
# 1. Installs Debian's chromium with apt-get when /usr/bin/chromium is missing.
# 2. Makes a virtualenv in a temp dir from tests/browser/requirements.txt.
# 3. Uses $SCEPTER_BIN, or builds target/release/scepter (scripts/client-e2e.sh
#    built it just before in scripts/test.sh, so this is a no-op there).
# 4. Starts `scepter serve` on a fresh SQLite file and a free loopback port with a
#    random JWT secret and challenge key, mints an admin and a reader token.
# 5. Runs pytest in tests/browser. Screenshots of every page go to
#    $SCEPTER_SCREENSHOT_DIR (default target/console-screenshots/).
#
# Everything started here is stopped and the temp dir removed on exit, also on
# failure or Ctrl-C. Exit code: pytest's (0 when every test passed).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
START_SECONDS=$SECONDS

log() { printf '\n==> [%3d s] %s\n' "$((SECONDS - START_SECONDS))" "$*" >&2; }
die() { printf 'scripts/browser-tests.sh: error: %s\n' "$*" >&2; exit 1; }

WORK=""
SERVER_PID=""

# apt_install and free_port.
# shellcheck source=scripts/lib/pg-cluster.sh
. scripts/lib/pg-cluster.sh
# shellcheck source=scripts/lib/serve.sh
. scripts/lib/serve.sh

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
    if [[ -n $WORK ]]; then
        if [[ ${SCEPTER_BROWSER_KEEP:-0} == 1 ]]; then
            echo "Kept $WORK" >&2
        else
            rm -rf -- "$WORK" || true
        fi
    fi
    echo "browser-tests: finished in $((SECONDS - START_SECONDS)) s, exit code $rc" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --------------------------------------------------------------------------
# 1. Tools and the browser
# --------------------------------------------------------------------------

command -v python3 >/dev/null 2>&1 || apt_install python3 python3 python3-venv
command -v openssl >/dev/null 2>&1 || apt_install openssl openssl
CHROMIUM=${SCEPTER_CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $CHROMIUM ]]; then
    apt_install chromium chromium
    [[ -x $CHROMIUM ]] || die "$CHROMIUM still missing after installing Debian's chromium package"
fi
"$CHROMIUM" --version 2>/dev/null | tail -n 1 >&2 || true

WORK=$(mktemp -d -t scepter-browser-tests.XXXXXX)

# --------------------------------------------------------------------------
# 2. pytest and Playwright in a virtualenv (no `playwright install`)
# --------------------------------------------------------------------------

log "Creating a virtualenv in $WORK/venv"
if ! python3 -m venv "$WORK/venv" >"$WORK/venv.log" 2>&1; then
    rm -rf -- "$WORK/venv"
    apt_install "python3 venv" python3-venv
    python3 -m venv "$WORK/venv" || die "python3 -m venv failed"
fi
VENV_BIN=$WORK/venv/bin
"$VENV_BIN/python" -m pip install --quiet --disable-pip-version-check -r tests/browser/requirements.txt \
    || die "pip install -r tests/browser/requirements.txt failed"

# --------------------------------------------------------------------------
# 3. The binary
# --------------------------------------------------------------------------

if [[ -n ${SCEPTER_BIN:-} ]]; then
    BIN=$(realpath "$SCEPTER_BIN")
else
    log "cargo build --release --bin scepter"
    cargo build --release --locked --bin scepter
    BIN=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/release/scepter
fi
[[ -x $BIN ]] || die "$BIN is not an executable scepter binary"

# --------------------------------------------------------------------------
# 4. Server on a fresh SQLite file, and tokens
# --------------------------------------------------------------------------

unset DATABASE_URL SCEPTER_JWT_SECRET_FILE SCEPTER_CHALLENGE_KEY_FILE
SCEPTER_SQLITE_PATH=$WORK/scepter.db
SCEPTER_JWT_SECRET=$(openssl rand -hex 32)
SCEPTER_CHALLENGE_KEY=$(openssl rand -hex 32)
export SCEPTER_SQLITE_PATH SCEPTER_JWT_SECRET SCEPTER_CHALLENGE_KEY

log "Starting $BIN serve"
start_scepter "$BIN" "$WORK/server.log"

SCEPTER_ADMIN_TOKEN=$("$BIN" token issue --role admin --ttl 1h --subject browser-admin)
SCEPTER_READER_TOKEN=$("$BIN" token issue --role reader --ttl 1h --subject browser-reader)
SCEPTER_SCREENSHOT_DIR=${SCEPTER_SCREENSHOT_DIR:-$REPO/target/console-screenshots}
mkdir -p "$SCEPTER_SCREENSHOT_DIR"
export SCEPTER_URL SCEPTER_ADMIN_TOKEN SCEPTER_READER_TOKEN SCEPTER_SCREENSHOT_DIR
export SCEPTER_CHROMIUM=$CHROMIUM

# --------------------------------------------------------------------------
# 5. The tests
# --------------------------------------------------------------------------

log "pytest tests/browser"
rc=0
(cd tests/browser && PYTHONDONTWRITEBYTECODE=1 "$VENV_BIN/python" -m pytest -p no:cacheprovider "$@") || rc=$?
if [[ $rc -ne 0 ]]; then
    echo "--- last lines of the server log ---" >&2
    tail -n 40 "$WORK/server.log" | sed 's/\x1b\[[0-9;]*m//g' >&2 || true
fi
echo "Screenshots: $SCEPTER_SCREENSHOT_DIR" >&2
exit "$rc"
