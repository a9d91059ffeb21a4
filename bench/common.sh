# Shared by the benchmark scripts: build the release binary, create and seed
# the scale database, start and stop the server. Source it after setting
# admin_url; it defines db_url, port, work, scepter and start_server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

db_url="${admin_url%/*}/scepter_bench"
port=${BENCH_PORT:-18181}
duration=${BENCH_DURATION:-20s}
export SCEPTER_JWT_SECRET=bench-secret-0123456789abcdefghijklmnopqrstuvwxyz
export SCEPTER_CHALLENGE_KEY=bench-challenge-key-0123456789abcdefghijklmnop
work=$(mktemp -d)
server_pid=""
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --bin scepter >&2
scepter=${CARGO_TARGET_DIR:-target}/release/scepter
root_der=$(openssl x509 -in domain/tests/fixtures/root-ca.pem -outform der | od -An -v -tx1 | tr -d ' \n')

# Drops and re-creates `scepter_bench`, migrates it and loads bench/seed-scale.sql.
seed_scale() {
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS scepter_bench" -c "CREATE DATABASE scepter_bench"
    DATABASE_URL=$db_url $scepter migrate >&2
    echo "== seeding (bench/seed-scale.sql)"
    /usr/bin/time -f "seeded in %es" psql -q "$db_url" -v root_der="$root_der" -f bench/seed-scale.sql
}

# Starts the release server in the background (extra arguments are passed on) and waits until it is ready.
start_server() {
    DATABASE_URL=$db_url $scepter serve --listen "127.0.0.1:$port" --log-format json "$@" >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.1; done
    echo "the server did not become ready" >&2
    cat "$work/server.log" >&2
    exit 1
}

# pgbench -S on the same server, as the yardstick of what this machine does.
yardstick() {
    echo "== yardstick: pgbench -S (select-only, 16 clients) on the same server"
    pgbench -i -q -s 10 "$db_url" >/dev/null 2>&1
    pgbench -S -c 16 -j 2 -T 10 "$db_url" 2>/dev/null | grep -E '^tps'
}
