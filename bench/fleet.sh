#!/usr/bin/env bash
# Fleet benchmark (issue 13): one command that builds a fleet-sized universe
# on PostgreSQL and measures the service beside two yardsticks taken in the
# same run, on the same machine, so the figures can be compared across
# machines by their ratios rather than their absolute values.
#
#   bench/fleet.sh postgres://postgres@127.0.0.1:5432/postgres [SERVE OPTIONS...]
#
# The URL names a server where this script may create a database (FLEET_DB,
# default `fleet_bench`, dropped and re-created). The universe
# (bench/seed-fleet.sql): 50,000 users, 100,000 devices, 150 groups, ~400,000
# memberships, 100 profiles with 7-8 include and one exclude assignment each,
# and 5,000 iOS devices with a credential, a dedicated group and one iOS root
# and SCEP profile that reach all of them (plus whatever their random groups
# bring). All clients are on 127.0.0.1; every timed run lasts BENCH_DURATION
# (default 20s), BENCH_CONNECTIONS (default 32) connections unless stated.
#
# Measurements, in order:
#   readyz     GET /readyz: HTTP plus one database round trip. Yardstick 1:
#              what the HTTP stack and the pool do with no work in between.
#   pgbench    pgbench -S -c 16 -j 2 -T 10 on the same PostgreSQL (tables
#              pgbench_* in the same database). Yardstick 2: what the
#              database does on this machine. Its clients and the server
#              share the CPU with nothing else at the time.
#   changed    POST /device/v1/checkin reporting nothing installed, random
#              device among the 5,000: every reaching profile is rendered
#              (fresh challenges), 200.
#   idle       the same devices report everything the changed answer told
#              them to install (each profile at its version, a certificate
#              per SCEP profile) and send the ETag of the answer to that
#              report: 304, nothing rendered. Bodies are per device
#              (bench/fleet.py idle, bench/fleet-checkin.lua).
#   readyz-1   /readyz on ONE connection: the yardstick for the
#              single-connection runs (its p99 is this machine's scheduling
#              tail for one request at a time).
#   effective  GET /api/v1/devices/{id}/effective-profiles, random device of
#              all 100,000, ONE connection: the latency an admin sees (p99).
#   timeline   GET /api/v1/devices/{id}/enrollment-timeline (one diagnosis
#              per SCEP profile), ONE connection, p99: half the paths are
#              random devices of all 100,000, half devices of the check-in
#              fleet, whose history the changed and idle runs wrote (offers,
#              steps); target <= 20 ms.
#   idle-again idle once more, right before churn: the churn-free figure
#              churn is compared with (taken next to it, so drift of a shared
#              machine between the first idle run and churn is not counted).
#   churn      idle again while one client adds and removes device-group
#              members of devices outside the 5,000 at BENCH_CHURN_RATE
#              writes/s (default 60, paced, 8 writer connections) and the
#              SCEP connector enrols 500 other iOS devices (credentials from
#              the seed, not checking in) at BENCH_CHURN_NOTIFY_RATE
#              certificates/s (default 20, paced, 4 connections; verify then
#              notify, two writes each, pairs prepared before timing). Each
#              write moves the facts generation of the device it concerns
#              only (migration 0009), so the 5,000 keep their cached facts;
#              the ratio to `idle-again` is what the writes cost everyone
#              else.
#   pairs      the SCEP connector: POST /connector/v1/scep/verify then
#              /connector/v1/scep/notify for one request, 16 clients (one
#              connection each, in sequence). CSRs carry a challenge from a
#              real check-in and the rendered subject; certificates are
#              signed by the bench CA that every root carries. All prepared
#              before timing (bench/fleet.py pairs). p99 is per pair (verify
#              sent .. notify answered). BENCH_PAIRS pairs per run (default
#              10000); a run ends at BENCH_DURATION or when they are used up,
#              and its rate is taken over the time it actually ran.
#   pairs x2   the same with a second `scepter serve` on the next port, same
#              database, 8 clients on each: combined pairs/s. Both pairs
#              runs sample how many backends wait on a lock (0.2 s).
#   health-live  last, as it reshapes the universe: every device moves to
#              iOS and into a group the fleet's SCEP profile and root are
#              assigned to (100,000 targeted). GET /reports/certificate-health
#              ?maxAgeSeconds=0 (computed now, stored), 3 sequential requests.
#   health     the same report from that snapshot, 1 connection.
#   statuses   GET that profile's device-statuses (limit 50; every page
#              carries the summary, from the health snapshot for a profile
#              this large), 1 connection; statuses-live with the summary
#              counted now (maxAgeSeconds=0).
#   idle-reshaped  idle on the reshaped universe, right before:
#   idle+reports  idle while 4 connections poll those statuses (behind the
#              report gate: one at a time, 25 % of the time while they queue).
#   dryrun     DELETE ?dryRun=true of that profile (100,000 devices to remove),
#              20 sequential requests; dryrun-group the same for deleting the
#              group that brings the profile and its root, dryrun-root for
#              replacing the root (a new version on 100,000 devices).
# The summary table gives each figure and its ratio to readyz rps and to
# pgbench tps from this run.
#
# Needs psql, pgbench, openssl, wrk, curl, python3 with `cryptography`.
admin_url=${1:?usage: bench/fleet.sh POSTGRES_ADMIN_URL [SERVE OPTIONS...]}
shift
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
export PATH=$PATH:$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1)
fleet_db=${FLEET_DB:-fleet_bench}
db_url="${admin_url%/*}/$fleet_db"
connections=${BENCH_CONNECTIONS:-32}
churn_rate=${BENCH_CHURN_RATE:-60}
notify_rate=${BENCH_CHURN_NOTIFY_RATE:-20}
pair_count=${BENCH_PAIRS:-10000}
seconds=${duration%s}
second_pid=""
base=http://127.0.0.1:$port

# On failure the server logs are the first thing to look at; the work
# directory goes away with the run, so print them before it does.
finish() {
    local status=$?
    if ((status != 0)); then
        for log in "$work"/server*.log; do
            [[ -f $log ]] && { echo "== $log (last 40 lines)" >&2; tail -40 "$log" >&2; }
        done
    fi
    [[ -n $second_pid ]] && kill "$second_pid" 2>/dev/null && wait "$second_pid" 2>/dev/null
    cleanup
    return $status
}
trap finish EXIT

# A throwaway CA: every trusted profile carries it, so certificates it signs
# chain to whichever root a SCEP profile uses (notify checks the issuer).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" -days 30 \
    -subj "/CN=Fleet Bench CA" 2>/dev/null
ca_der=$(openssl x509 -in "$work/ca.pem" -outform der | od -An -v -tx1 | tr -d ' \n')

psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $fleet_db" -c "CREATE DATABASE $fleet_db"
DATABASE_URL=$db_url $scepter migrate >&2
echo "== seeding (bench/seed-fleet.sql)"
/usr/bin/time -f "seeded in %es" psql -q "$db_url" -v root_der="$ca_der" -v credentials="$work/credentials.txt" \
    -v enrolling_credentials="$work/enrolling.txt" -f bench/seed-fleet.sql
# The certificate health refresh recomputes the report in the background
# (3-4 s of database work at this size, by default each minute); here it runs
# once at start and then every 10 minutes, so that it does not land inside a
# timed run at random. The report's own cost is measured below (health-live).
export SCEPTER_CERTIFICATE_HEALTH_MAX_AGE=${SCEPTER_CERTIFICATE_HEALTH_MAX_AGE:-10m}
start_server "$@"

admin_token=$(DATABASE_URL=$db_url $scepter token issue --role admin --ttl 1h)
connector_token=$(DATABASE_URL=$db_url $scepter token issue --role connector --ttl 1h)

# results.tsv: name, throughput, its unit, p99 in ms, note.
results=$work/results.tsv
: >"$results"

# Runs wrk with --latency and records rps and p99 under NAME; prints the
# script's own summary line (or wrk's) for the log.
measure() {
    local name=$1 note=$2
    shift 2
    wrk --latency "$@" >"$work/$name.out"
    grep -E '^(requests=|Requests/sec)' "$work/$name.out" | tail -2
    python3 - "$work/$name.out" "$name" "$note" >>"$results" <<'PY'
import re, sys
text, name, note = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
p99 = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
print(f"{name}\t{rps:.0f}\trps\t{p99:.2f}\t{note}")
PY
}

# Sends the same request COUNT times, one at a time, and records its mean
# rate, its slowest time (in the p99 column) and its median under NAME, for
# calls too slow or too unusual for wrk. `sequential NAME COUNT NOTE CURL_ARGS...`
sequential() {
    local name=$1 count=$2 note=$3
    shift 3
    for _ in $(seq "$count"); do
        curl -sf -o /dev/null -w '%{time_total}\n' "$@"
    done >"$work/$name.times"
    python3 - "$work/$name.times" "$name" "$note" >>"$results" <<'PY'
import sys
times = sorted(float(line) for line in open(sys.argv[1]))
mean = sum(times) / len(times)
print(f"{sys.argv[2]}\t{1 / mean:.2f}\trps\t{times[-1] * 1000:.0f}\t{sys.argv[3]}; "
      f"p99 column is the max of {len(times)}, median {times[len(times) // 2] * 1000:.0f} ms")
PY
    tail -n 1 "$results"
}

echo "== preparing: idle report and ETag per device (bench/fleet.py idle)"
python3 bench/fleet.py idle "$port" "$work/credentials.txt" >"$work/idle.txt"
echo "== preparing: effective-profile paths, churn members"
psql -Atq "$db_url" -c "SELECT setseed(0.5); SELECT '/api/v1/devices/' || id || '/effective-profiles' FROM devices ORDER BY random() LIMIT 20000" \
    | tail -n +2 >"$work/effective.txt"
psql -Atq "$db_url" >"$work/timeline.txt" <<'SQL'
SELECT setseed(0.25);
(SELECT '/api/v1/devices/' || id || '/enrollment-timeline' FROM devices ORDER BY random() LIMIT 5000)
UNION ALL
(SELECT DISTINCT '/api/v1/devices/' || device_id || '/enrollment-timeline' FROM device_credentials LIMIT 5000);
SQL
sed -i '1{/^$/d}' "$work/timeline.txt"
# Devices outside the check-in fleet and not in the churned group, so each
# POST adds a member and each DELETE removes it again.
psql -Atq -F ' ' "$db_url" >"$work/churn.txt" <<'SQL'
WITH g AS (SELECT id FROM directory_groups WHERE group_type = 'device' AND external_id <> 'g-fleet' ORDER BY id LIMIT 1)
SELECT g.id, d.id FROM g, devices d
WHERE NOT EXISTS (SELECT 1 FROM device_credentials c WHERE c.device_id = d.id)
  AND NOT EXISTS (SELECT 1 FROM device_group_members m WHERE m.device_id = d.id AND m.group_id = g.id)
ORDER BY d.id LIMIT 5000
SQL
echo "== preparing: $pair_count verify/notify pairs for one server, $pair_count for two (bench/fleet.py pairs)"
python3 bench/fleet.py pairs "$port" "$work/credentials.txt" "$work/ca.pem" "$work/ca.key" "$pair_count" 16 "$work/pairs-one-"
python3 bench/fleet.py pairs "$port" "$work/credentials.txt" "$work/ca.pem" "$work/ca.key" "$pair_count" 16 "$work/pairs-two-"
for k in $(seq 0 7); do mv "$work/pairs-two-$((k + 8)).txt" "$work/pairs-twob-$k.txt"; done
# The enrolments that run beside the membership writes in `churn`: devices
# outside the check-in fleet, enough for the whole run at notify_rate.
churn_pairs=$(( (notify_rate * seconds * 6) / 5 + 20 ))
echo "== preparing: $churn_pairs verify/notify pairs of the 500 enrolling devices (churn)"
python3 bench/fleet.py pairs "$port" "$work/enrolling.txt" "$work/ca.pem" "$work/ca.key" "$churn_pairs" 1 \
    "$work/churn-pairs-"
# The preparation wrote thousands of rows into tables the seed left empty
# (enrollment steps, challenges offered); statistics as autovacuum would
# have them by then, so plans use the indexes a production database would.
psql -q "$db_url" -c "ANALYZE"

echo "== sample changed check-in"
curl -sf -X POST -H "Authorization: Bearer $(head -1 "$work/credentials.txt")" -H 'Content-Type: application/json' \
    -d '{"installedProfiles":[],"installedCertificates":[]}' "$base/device/v1/checkin" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print([(i["profileType"], i["action"], i["reason"]) for i in d["items"]])'

echo "== readyz (yardstick 1), $connections connections"
measure readyz "HTTP + 1 DB round trip" -t2 -c"$connections" -d"$duration" "$base/readyz"

echo "== pgbench -S (yardstick 2)"
pgbench -i -q -s 10 "$db_url" >/dev/null 2>&1
pgbench -S -c 16 -j 2 -T 10 "$db_url" 2>/dev/null >"$work/pgbench.out"
grep -E '^(tps|latency)' "$work/pgbench.out"
pgbench_tps=$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' "$work/pgbench.out" | head -1)
pgbench_lat=$(sed -nE 's/^latency average = ([0-9.]+) ms/\1/p' "$work/pgbench.out")
printf 'pgbench\t%.0f\ttps\t-\tselect-only, 16 clients, 10s (avg latency %s ms)\n' "$pgbench_tps" "$pgbench_lat" >>"$results"

echo "== changed check-in, $connections connections"
CHECKIN_FILE=$work/credentials.txt BODY='{"installedProfiles":[],"installedCertificates":[]}' \
    measure changed "200, payloads rendered" -t2 -c"$connections" -d"$duration" -s bench/checkin.lua "$base"

echo "== idle check-in, $connections connections"
CHECKIN_FILE=$work/idle.txt measure idle "304" -t2 -c"$connections" -d"$duration" -s bench/fleet-checkin.lua "$base"

# The single-connection yardstick: an admin's one request at a time sees the
# machine's scheduling tail as much as the work; effective is read beside it.
echo "== readyz, 1 connection (yardstick for effective)"
measure readyz-1 "HTTP + 1 DB round trip, 1 connection" -t1 -c1 -d"$duration" "$base/readyz"

echo "== effective profiles, 1 connection"
TOKEN=$admin_token PATHS_FILE=$work/effective.txt \
    measure effective "1 connection; p99 is the figure" -t1 -c1 -d"$duration" -s bench/random-path.lua "$base"

echo "== enrollment timeline, 1 connection"
TOKEN=$admin_token PATHS_FILE=$work/timeline.txt \
    measure timeline "1 connection; p99 is the figure (target 20 ms)" -t1 -c1 -d"$duration" -s bench/random-path.lua "$base"

# CPU time by program during a run (churn, pairs): to tell a serialization
# point from a full machine, and to see what the writes cost. `cpu_snapshot
# FILE` writes the machine's busy and total jiffies and the jiffies (user +
# system) used so far by the postgres and scepter processes; `cpu_share
# BEFORE AFTER` prints each one's share of the machine's time in between, and
# the rest of the busy time (the load generators, the kernel):
# "cpu busy=97% postgres=60% scepter=28% other=9%".
# The servers and their database connections outlive a run, so both
# snapshots see them.
cpu_snapshot() {
    {
        awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8; print "machine", busy, busy + $5 + $6 }' /proc/stat
        cat /proc/[0-9]*/stat 2>/dev/null |
            awk '{ name = $2; gsub(/[()]/, "", name); if (name == "postgres" || name == "scepter") cpu[name] += $14 + $15 }
                 END { for (name in cpu) print name, cpu[name] }'
    } >"$1"
}
cpu_share() {
    awk 'NR == FNR { before[$1] = $2; if ($1 == "machine") before_total = $3; next }
         $1 == "machine" { busy = $2 - before["machine"]; total = $3 - before_total; next }
         { used[$1] = $2 - before[$1] }
         END {
             if (total <= 0) exit
             other = busy - used["postgres"] - used["scepter"]
             printf "cpu busy=%.0f%% postgres=%.0f%% scepter=%.0f%% other=%.0f%%\n", 100 * busy / total,
                 100 * used["postgres"] / total, 100 * used["scepter"] / total, 100 * other / total
         }' "$1" "$2"
}

# The churn-free figure the churn run is compared with, taken right before it:
# on a shared machine the idle run at the start is a minute and several runs
# away, and drift between the two would be read as the writes' cost.
echo "== idle check-in again, without churn, $connections connections"
cpu_snapshot "$work/cpu-idle-before.txt"
CHECKIN_FILE=$work/idle.txt measure idle-again "304, right before churn" -t2 -c"$connections" -d"$duration" \
    -s bench/fleet-checkin.lua "$base"
cpu_snapshot "$work/cpu-idle-after.txt"
cpu_idle=$(cpu_share "$work/cpu-idle-before.txt" "$work/cpu-idle-after.txt")
echo "$cpu_idle"
sed -i "\$s|\$|; $cpu_idle|" "$results"

echo "== idle check-in under churn ($churn_rate membership writes/s, $notify_rate certificates/s), $connections connections"
python3 bench/fleet.py churn "$port" "$admin_token" "$work/churn.txt" "$churn_rate" "$seconds" 8 \
    "$connector_token" "$work/churn-pairs-0.txt" "$notify_rate" >"$work/churn-writes.out" &
churn_pid=$!
cpu_snapshot "$work/cpu-churn-before.txt"
CHECKIN_FILE=$work/idle.txt measure churn "304 while other devices' memberships and certificates change" \
    -t2 -c"$connections" -d"$duration" -s bench/fleet-checkin.lua "$base"
cpu_snapshot "$work/cpu-churn-after.txt"
wait "$churn_pid"
cpu_churn=$(cpu_share "$work/cpu-churn-before.txt" "$work/cpu-churn-after.txt")
echo "$cpu_churn"
cat "$work/churn-writes.out"
churn_rates=$(python3 - "$work/churn-writes.out" <<'PY'
import re, sys
d = dict(re.findall(r"(\w+)=([\d.]+)", open(sys.argv[1]).read()))
print(f"{d['writes_per_s']} membership writes/s ({d['failed']} failed), {d['notifications_per_s']} certificates/s "
      f"({d['refused']} refused), {d['all_writes_per_s']} writes/s in all")
PY
)
sed -i "\$s|\$|; $churn_rates; $cpu_churn|" "$results"

# pairs: the Lua summary line carries pairs/s, the per-pair p99 and the
# monotonic window, from which two concurrent runs are combined.
record_pairs() {
    local name=$1 note=$2
    shift 2
    python3 - "$name" "$note" "$@" >>"$results" <<'PY'
import re, sys
name, note, outputs = sys.argv[1], sys.argv[2], sys.argv[3:]
runs = [dict(re.findall(r"(\w+)=([\d.]+)", open(o).read().splitlines()[-1])) for o in outputs]
pairs = sum(int(r["pairs"]) for r in runs)
seconds = (max(float(r["last_ms"]) for r in runs) - min(float(r["first_ms"]) for r in runs)) / 1000
p99 = max(float(r["pair_p99"]) for r in runs)
bad = sum(int(r["denied"]) + int(r["notify_other"]) for r in runs)
print(f"{name}\t{pairs / seconds:.0f}\tpairs/s\t{p99:.2f}\t{note}; {pairs} pairs in {seconds:.1f}s, {bad} refused")
PY
}

# Lock waits while pairs run: a global serialization point (one row every
# writer updates) shows as backends waiting on a lock. `start_lock_sampler
# FILE` counts every 0.2 s the backends of the bench database that wait on a
# heavyweight lock, from one psql session (\watch): a psql started per sample
# cost 8 % of the machine in a profile of the pairs run, taken from the
# servers being measured. `stop_lock_sampler FILE` ends it and writes
# "samples, samples with a waiter, most waiters at once" into FILE.
start_lock_sampler() {
    psql -Atq "$db_url" >"$1.raw" 2>/dev/null <<<"SELECT count(*) FROM pg_stat_activity \
        WHERE datname = current_database() AND wait_event_type = 'Lock' \\watch 0.2" &
    lock_sampler=$!
}
stop_lock_sampler() {
    kill "$lock_sampler" 2>/dev/null || true
    wait "$lock_sampler" 2>/dev/null || true
    awk 'NF { samples++; if ($1 > 0) waiting++; if ($1 > most) most = $1 }
         END { printf "lock_wait_samples=%d with_waiters=%d most_waiting=%d\n", samples, waiting, most }' \
        "$1.raw" >"$1"
}

echo "== verify + notify pairs, 16 clients, one server"
start_lock_sampler "$work/locks-one.txt"
cpu_snapshot "$work/cpu-one-before.txt"
PAIRS_PREFIX=$work/pairs-one- TOKEN=$connector_token \
    wrk -t16 -c16 -d"$duration" -s bench/fleet-pairs.lua "$base" >"$work/pairs-one.out"
cpu_snapshot "$work/cpu-one-after.txt"
stop_lock_sampler "$work/locks-one.txt"
tail -n 1 "$work/pairs-one.out"
cat "$work/locks-one.txt"
cpu_one=$(cpu_share "$work/cpu-one-before.txt" "$work/cpu-one-after.txt")
echo "$cpu_one"
record_pairs pairs "16 clients, 1 server; $(cat "$work/locks-one.txt"); $cpu_one" "$work/pairs-one.out"

echo "== verify + notify pairs, 8 + 8 clients, two servers on one database"
second_port=$((port + 1))
DATABASE_URL=$db_url $scepter serve --listen "127.0.0.1:$second_port" --log-format json "$@" >"$work/server-2.log" 2>&1 &
second_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$second_port/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$second_port/readyz" >/dev/null || { echo "the second server did not become ready" >&2; exit 1; }
start_lock_sampler "$work/locks-two.txt"
cpu_snapshot "$work/cpu-two-before.txt"
PAIRS_PREFIX=$work/pairs-two- TOKEN=$connector_token \
    wrk -t8 -c8 -d"$duration" -s bench/fleet-pairs.lua "$base" >"$work/pairs-two-a.out" &
first_wrk=$!
PAIRS_PREFIX=$work/pairs-twob- TOKEN=$connector_token \
    wrk -t8 -c8 -d"$duration" -s bench/fleet-pairs.lua "http://127.0.0.1:$second_port" >"$work/pairs-two-b.out"
wait "$first_wrk"
cpu_snapshot "$work/cpu-two-after.txt"
stop_lock_sampler "$work/locks-two.txt"
for out in "$work"/pairs-two-[ab].out; do tail -n 1 "$out"; done
cat "$work/locks-two.txt"
cpu_two=$(cpu_share "$work/cpu-two-before.txt" "$work/cpu-two-after.txt")
echo "$cpu_two"
record_pairs "pairs x2" "8+8 clients, 2 servers; $(cat "$work/locks-two.txt"); $cpu_two" \
    "$work/pairs-two-a.out" "$work/pairs-two-b.out"

# Device statuses (last: it reshapes the universe). Every device moves to
# iOS and into one more group to which the fleet's root and SCEP profile are
# assigned, so the SCEP profile targets all 100,000 devices (5,000 of them
# with challenges, certificates or steps from the runs above). Each page
# answer carries the summary counts, so a page's latency includes the
# aggregate over all 100,000.
echo "== device statuses of a profile targeting 100,000 devices"
psql -q "$db_url" <<'SQL'
BEGIN;
UPDATE devices SET platform = 'ios' WHERE platform <> 'ios';
INSERT INTO directory_groups (id, version, created_at, modified_at, display_name, group_type, external_id)
VALUES (gen_random_uuid(), 1, now(), now(), 'Fleet report', 'device', 'g-report');
INSERT INTO device_group_members (group_id, device_id)
SELECT g.id, d.id FROM devices d CROSS JOIN directory_groups g WHERE g.external_id = 'g-report';
INSERT INTO trusted_profile_assignments (id, profile_id, group_id, intent, created_at)
SELECT gen_random_uuid(), t.id, g.id, 'include', now() FROM trusted_certificate_profiles t, directory_groups g
WHERE t.display_name = 'Fleet bench root' AND g.external_id = 'g-report';
INSERT INTO scep_profile_assignments (id, profile_id, group_id, intent, created_at)
SELECT gen_random_uuid(), s.id, g.id, 'include', now() FROM scep_certificate_profiles s, directory_groups g
WHERE s.display_name = 'Fleet bench SCEP' AND g.external_id = 'g-report';
COMMIT;
-- The UPDATE rewrote every device row: 100,000 dead versions and no page
-- all-visible. Autovacuum takes that on within its naptime (20 % dead rows
-- is its threshold); the bench does it at once, so the reports below are
-- measured on the fleet as it stands, not on the moment after a bulk rewrite.
VACUUM ANALYZE;
SQL
report_scep=$(psql -Atq "$db_url" -c "SELECT id FROM scep_certificate_profiles WHERE display_name = 'Fleet bench SCEP'")
# The certificate health report over the reshaped universe: computed now
# (maxAgeSeconds=0, as the dashboard's "Refresh now"; 3 sequential requests,
# each stores the snapshot), then served from that snapshot (1 connection).
echo "== certificate health computed now (3 requests), then from its snapshot"
sequential health-live 3 "certificate health computed now (maxAgeSeconds=0)" \
    -H "Authorization: Bearer $admin_token" "$base/api/v1/reports/certificate-health?maxAgeSeconds=0"
echo "/api/v1/reports/certificate-health" >"$work/health.txt"
TOKEN=$admin_token PATHS_FILE=$work/health.txt \
    measure health "certificate health from the snapshot, 1 connection" \
    -t1 -c1 -d"$duration" -s bench/random-path.lua "$base"
# The profile now reaches 100,000 devices, so a page's summary comes from
# that snapshot; statuses-live asks for it counted now (maxAgeSeconds=0).
echo "/api/v1/scep-certificate-profiles/$report_scep/device-statuses?limit=50" >"$work/statuses.txt"
curl -sf -H "Authorization: Bearer $admin_token" "$base$(cat "$work/statuses.txt")" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print("summary:", d["summary"], "as of", d["summaryGeneratedDateTime"], "page:", len(d["items"]))'
TOKEN=$admin_token PATHS_FILE=$work/statuses.txt \
    measure statuses "first page (limit 50) with the summary from the health snapshot, 1 connection, 100,000 targeted" \
    -t1 -c1 -d"$duration" -s bench/random-path.lua "$base"
echo "/api/v1/scep-certificate-profiles/$report_scep/device-statuses?limit=50&maxAgeSeconds=0" >"$work/statuses-live.txt"
TOKEN=$admin_token PATHS_FILE=$work/statuses-live.txt \
    measure statuses-live "first page (limit 50) with the summary counted now, 1 connection, 100,000 targeted" \
    -t1 -c1 -d"$duration" -s bench/random-path.lua "$base"
# Check-ins while four readers poll the report.
# Reshaping moved every device's facts generation, so the check-in fleet's
# cached facts and remembered answers are gone: warm them again (unmeasured)
# first, or the baseline would carry the refill that idle+reports does not.
echo "== warming the check-in cache after reshaping (5 s, not measured)"
CHECKIN_FILE=$work/idle.txt wrk -t2 -c"$connections" -d5s -s bench/fleet-checkin.lua "$base" >/dev/null
echo "== idle check-in without readers (reshaped universe), $connections connections"
CHECKIN_FILE=$work/idle.txt measure idle-reshaped "304, right before idle+reports" -t2 -c"$connections" \
    -d"$duration" -s bench/fleet-checkin.lua "$base"

echo "== idle check-in while 4 connections poll device statuses"
TOKEN=$admin_token PATHS_FILE=$work/statuses.txt \
    wrk -t1 -c4 -d"$duration" -s bench/random-path.lua "$base" >"$work/statuses-readers.out" &
readers=$!
CHECKIN_FILE=$work/idle.txt \
    measure "idle+reports" "304 while 4 connections poll device statuses" \
    -t2 -c"$connections" -d"$duration" -s bench/fleet-checkin.lua "$base"
wait "$readers"
tail -n 1 "$work/statuses-readers.out"

# Dry runs that reach 100,000 devices, each measured in a rolled-back
# transaction; sequential requests, one at a time (wrk cannot send DELETE or
# PUT bodies without a script). `dry_run NAME METHOD URL [BODY_FILE [ETAG]]`.
dry_run() {
    local name=$1 method=$2 url=$3 body=${4:-} etag=${5:-}
    local args=(-X "$method" -H "Authorization: Bearer $admin_token")
    [[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "@$body")
    [[ -n $etag ]] && args+=(-H "If-Match: $etag")
    echo "== dry run: $name (20 requests, 1 connection)"
    curl -sf "${args[@]}" "$url" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print("impact:", d["impact"], "page:", len(d["devices"]["items"]))'
    sequential "$name" 20 "$method ?dryRun=true, 100,000 devices" "${args[@]}" "$url"
}

# Deleting the SCEP profile: 100,000 devices to remove, the certificates of the runs above to revoke.
dry_run dryrun DELETE "$base/api/v1/scep-certificate-profiles/$report_scep?dryRun=true&limit=100"
# Deleting the group that brings it and its root: two profiles on 100,000
# devices, and every certificate in the fleet checked for revocation.
report_group=$(psql -Atq "$db_url" -c "SELECT id FROM directory_groups WHERE external_id = 'g-report'")
dry_run dryrun-group DELETE "$base/api/v1/groups/$report_group?dryRun=true&limit=100"
# Replacing the root: a new version on 100,000 devices, and the SCEP profile rooted in it.
report_root=$(psql -Atq "$db_url" -c "SELECT id FROM trusted_certificate_profiles WHERE display_name = 'Fleet bench root'")
curl -sf -H "Authorization: Bearer $admin_token" "$base/api/v1/trusted-certificate-profiles/$report_root" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({"displayName": "Fleet bench root (renamed)", "platform": d["platform"], "trustedRootCertificate": d["trustedRootCertificate"]}))' \
    >"$work/root.json"
root_version=$(psql -Atq "$db_url" -c "SELECT version FROM trusted_certificate_profiles WHERE id = '$report_root'")
dry_run dryrun-root PUT "$base/api/v1/trusted-certificate-profiles/$report_root?dryRun=true&limit=100" \
    "$work/root.json" "\"$root_version\""

echo
echo "== summary (ratios to this run's yardsticks)"
python3 - "$results" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
readyz = float(next(r for r in rows if r[0] == "readyz")[1])
tps = float(next(r for r in rows if r[0] == "pgbench")[1])
print(f"{'measurement':<11} {'throughput':>14} {'p99 ms':>8} {'/readyz':>8} {'/pgbench':>9}  notes")
def row(name):
    return next(r for r in rows if r[0] == name)
idle = float(row("idle")[1])
idle_again = float(row("idle-again")[1])
one = float(row("pairs")[1])
for name, value, unit, p99, note in rows:
    value = float(value)
    if name == "churn":
        note += f"; {value / idle_again:.2f} of idle-again, {value / idle:.2f} of idle"
    if name == "effective":
        note += f"; p99 {float(p99) / float(row('readyz-1')[3]):.2f} x readyz-1's"
    if name == "idle+reports":
        note += f"; p99 {float(p99) / float(row('idle-reshaped')[3]):.2f} x idle-reshaped's"
    if name == "pairs x2":
        note += f"; {value / one:.2f} of one server"
    print(f"{name:<11} {value:>8.2f} {unit:<7} {p99:>6} {value / readyz:>8.4f} {value / tps:>9.4f}  {note}")
PY
