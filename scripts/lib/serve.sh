# shellcheck shell=bash
# Starts a throwaway `scepter serve` for the end-to-end scripts
# (client-e2e.sh, browser-tests.sh). Needs `free_port` and `die`
# (scripts/lib/pg-cluster.sh and the caller) and python3.
#
#   start_scepter BIN LOG_FILE
#
# Serves on a free loopback port with the caller's environment (database,
# secrets), waits until /readyz answers 200, and retries on another port up
# to three times (a port taken between free_port and bind). Sets SERVER_PID,
# SERVER_PORT and SCEPTER_URL; the caller stops SERVER_PID on exit.
start_scepter() {
    local bin=$1 log_file=$2 attempt ready
    for attempt in 1 2 3; do
        SERVER_PORT=$(free_port)
        "$bin" serve --listen "127.0.0.1:$SERVER_PORT" --allow-http-scep-urls --workers 2 >"$log_file" 2>&1 &
        SERVER_PID=$!
        ready=0
        for _ in $(seq 1 300); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            if python3 - "$SERVER_PORT" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/readyz", timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
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
        tail -n 30 "$log_file" >&2 || true
        [[ $attempt -eq 3 ]] && die "scepter serve did not become ready"
        echo "scepter serve did not become ready on port $SERVER_PORT, retrying" >&2
    done
    SCEPTER_URL="http://127.0.0.1:$SERVER_PORT"
    echo "Scepter listening: $SCEPTER_URL (pid $SERVER_PID)" >&2
}
