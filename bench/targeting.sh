#!/usr/bin/env bash
# Targeting benchmarks (issue: directory and targeting) against the release
# binary on PostgreSQL with the scale data set of bench/seed-scale.sql.
#
#   bench/targeting.sh postgres://postgres@127.0.0.1:5432/postgres
#
# The URL names a server where this script may create a database
# (`scepter_bench`, dropped and re-created). Needs psql, openssl, wrk.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

admin_url=${1:?usage: bench/targeting.sh POSTGRES_ADMIN_URL}
db_url="${admin_url%/*}/scepter_bench"
port=${BENCH_PORT:-18181}
duration=${BENCH_DURATION:-20s}
export SCEPTER_JWT_SECRET=bench-secret-0123456789abcdefghijklmnopqrstuvwxyz
work=$(mktemp -d)
server_pid=""
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --bin scepter >&2
scepter=${CARGO_TARGET_DIR:-target}/release/scepter

psql -q "$admin_url" -c "DROP DATABASE IF EXISTS scepter_bench" -c "CREATE DATABASE scepter_bench"
DATABASE_URL=$db_url $scepter migrate >&2
root_der=$(openssl x509 -in domain/tests/fixtures/root-ca.pem -outform der | od -An -v -tx1 | tr -d ' \n')
echo "== seeding (bench/seed-scale.sql)"
/usr/bin/time -f "seeded in %es" psql -q "$db_url" -v root_der="$root_der" -f bench/seed-scale.sql

DATABASE_URL=$db_url $scepter serve --listen "127.0.0.1:$port" --log-format json >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
export TOKEN=$($scepter token issue --role reader --ttl 1h)

psql -Atq "$db_url" -c "SELECT '/api/v1/devices/' || id || '/effective-profiles' FROM devices ORDER BY random() LIMIT 20000" \
    >"$work/effective.txt"
scep_id=$(psql -Atq "$db_url" -c "SELECT id FROM scep_certificate_profiles ORDER BY id LIMIT 1")
echo "/api/v1/scep-certificate-profiles/$scep_id/targeted-devices" >"$work/targeted.txt"
echo "== sample responses"
curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port$(head -1 "$work/effective.txt")" | head -c 400; echo
curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/api/v1/scep-certificate-profiles/$scep_id/targeted-devices" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["items"]), "devices on the first page; next:", d["nextCursor"] is not None)'

echo "== effective profiles, random device per request, 1 connection (latency)"
PATHS_FILE=$work/effective.txt wrk -t1 -c1 -d"$duration" -s bench/random-path.lua "http://127.0.0.1:$port" | tail -1
echo "== effective profiles, random device per request, 16 connections (throughput)"
PATHS_FILE=$work/effective.txt wrk -t2 -c16 -d"$duration" -s bench/random-path.lua "http://127.0.0.1:$port" |
    grep -E 'Requests/sec|requests='
echo "== targeted devices, first page (100) of a profile assigned to the 100,000-device group, 1 connection"
PATHS_FILE=$work/targeted.txt wrk -t1 -c1 -d"$duration" -s bench/random-path.lua "http://127.0.0.1:$port" | tail -1
echo "== yardstick: pgbench -S (select-only, 16 clients) on the same server"
pgbench -i -q -s 10 "$db_url" >/dev/null 2>&1
pgbench -S -c 16 -j 2 -T 10 "$db_url" 2>/dev/null | grep -E '^tps'
