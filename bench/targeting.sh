#!/usr/bin/env bash
# Targeting benchmarks (issue: directory and targeting) against the release
# binary on PostgreSQL with the scale data set of bench/seed-scale.sql.
#
#   bench/targeting.sh postgres://postgres@127.0.0.1:5432/postgres
#
# The URL names a server where this script may create a database
# (`scepter_bench`, dropped and re-created). Needs psql, openssl, wrk.
admin_url=${1:?usage: bench/targeting.sh POSTGRES_ADMIN_URL}
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

seed_scale
start_server
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
yardstick
