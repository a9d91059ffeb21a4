#!/usr/bin/env bash
# Check-in benchmarks (issue: device check-in) against the release binary on
# PostgreSQL: the scale data set of bench/seed-scale.sql plus
# bench/seed-checkin.sql (20,000 of its devices get exactly one root and one
# SCEP profile, and a credential each). wrk spreads requests over all 20,000.
#
#   bench/checkin.sh postgres://postgres@127.0.0.1:5432/postgres
#
# - changed: the device reports nothing installed, so every check-in renders
#   two payloads with a fresh challenge (200);
# - idle: the device reports both profiles and a valid certificate and sends
#   the ETag of its previous response (304, nothing rendered).
# Needs psql, openssl, wrk, curl, python3. BENCH_CONNECTIONS (default 32).
admin_url=${1:?usage: bench/checkin.sh POSTGRES_ADMIN_URL [SERVE OPTIONS...]}
shift
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
connections=${BENCH_CONNECTIONS:-32}

seed_scale
echo "== seeding (bench/seed-checkin.sql)"
psql -q "$db_url" -v root_der="$root_der" -v credentials="$work/credentials.txt" -f bench/seed-checkin.sql
start_server "$@"

root_id=$(psql -Atq "$db_url" -c "SELECT id FROM trusted_certificate_profiles WHERE display_name = 'Check-in bench root'")
scep_id=$(psql -Atq "$db_url" -c "SELECT id FROM scep_certificate_profiles WHERE display_name = 'Check-in bench SCEP'")
changed_body='{"installedProfiles":[],"installedCertificates":[]}'
idle_body=$(python3 - "$root_id" "$scep_id" <<'PY'
import datetime, json, sys
root, scep = sys.argv[1:]
now = datetime.datetime.now(datetime.timezone.utc)
stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps({
    "installedProfiles": [{"profileId": root, "version": 1}, {"profileId": scep, "version": 1}],
    "installedCertificates": [{"profileId": scep, "thumbprintSha1": "AB" * 20,
        "notBefore": stamp(now - datetime.timedelta(days=1)), "notAfter": stamp(now + datetime.timedelta(days=364))}],
}, separators=(",", ":")))
PY
)

echo "== sample changed check-in"
curl -sf -X POST -H "Authorization: Bearer $(head -1 "$work/credentials.txt")" -H 'Content-Type: application/json' \
    -d "$changed_body" "http://127.0.0.1:$port/device/v1/checkin" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print([(i["profileType"], i["action"], len(i.get("payload", ""))) for i in d["items"]])'

echo "== collecting each device's ETag for the idle case"
python3 - "$port" "$work/credentials.txt" "$idle_body" >"$work/idle.txt" <<'PY'
import http.client, sys
port, path, body = sys.argv[1], sys.argv[2], sys.argv[3]
connection = http.client.HTTPConnection("127.0.0.1", int(port))
for credential in open(path).read().split():
    connection.request("POST", "/device/v1/checkin", body,
                       {"Authorization": "Bearer " + credential, "Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
    print(credential, response.getheader("ETag"))
PY
echo "$(wc -l <"$work/idle.txt") devices"

echo "== yardstick: /readyz (HTTP + one database round trip), $connections connections"
wrk -t2 -c"$connections" -d"$duration" "http://127.0.0.1:$port/readyz" | grep -E 'Requests/sec|Latency'
echo "== changed check-in (two payloads rendered), $connections connections"
CHECKIN_FILE=$work/credentials.txt BODY=$changed_body \
    wrk -t2 -c"$connections" -d"$duration" -s bench/checkin.lua "http://127.0.0.1:$port" | tail -1
echo "== idle check-in (If-None-Match, 304), $connections connections"
CHECKIN_FILE=$work/idle.txt BODY=$idle_body \
    wrk -t2 -c"$connections" -d"$duration" -s bench/checkin.lua "http://127.0.0.1:$port" | tail -1
echo "== idle check-in, 1 connection (latency)"
CHECKIN_FILE=$work/idle.txt BODY=$idle_body \
    wrk -t1 -c1 -d"$duration" -s bench/checkin.lua "http://127.0.0.1:$port" | tail -1
yardstick
