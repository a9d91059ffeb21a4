# shellcheck shell=bash
# Sourced by scripts/test.sh, scripts/client-e2e.sh and scripts/fuzz-api.sh:
# Debian package installs and a throwaway PostgreSQL cluster. The caller
# defines `log` and `die`, starts the cluster with pg_cluster_start and calls
# pg_cluster_stop from its exit trap.

PG_BIN=""          # directory holding initdb, pg_ctl, postgres
PG_USER=""         # unprivileged user that runs the cluster when we are root
PG_DIR=""          # temp dir: data/, server.log, unix socket
PG_STARTED=0
PG_CLUSTER_URL=""  # postgres://postgres@127.0.0.1:PORT/postgres once started
APT_UPDATED=0      # apt-get update runs at most once per script run

# apt_install WHAT PACKAGE...: install Debian packages as root or through sudo;
# WHAT (what is missing) words the errors.
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

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
        return
    fi
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! ss -Htln "sport = :$port" 2>/dev/null | grep -q .; then
            echo "$port"
            return
        fi
    done
    die "could not find a free TCP port"
}

has_pg_bins() { [[ -x $1/initdb && -x $1/pg_ctl && -x $1/postgres ]]; }

find_pg_bin() {
    local dir
    if has_pg_bins /usr/lib/postgresql/15/bin; then
        PG_BIN=/usr/lib/postgresql/15/bin
        return 0
    fi
    # Else the highest installed version with server binaries (a client-only
    # package also creates /usr/lib/postgresql/N/bin). sort -V: 9.6 < 10 < 16.
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

# Run a command as the cluster owner, from a directory it can access.
as_pg() {
    if [[ -z $PG_USER ]]; then
        (cd "$PG_DIR" && "$@")
    elif command -v runuser >/dev/null 2>&1; then
        (cd "$PG_DIR" && runuser -u "$PG_USER" -- "$@")
    else
        (cd "$PG_DIR" && su -s /bin/bash "$PG_USER" -c "$(printf '%q ' "$@")")
    fi
}

# Starts a cluster in a temp dir on a free loopback port (durability off: it
# is thrown away) and sets PG_CLUSTER_URL. Installs Debian's postgresql first
# when its server binaries are missing.
pg_cluster_start() {
    if ! find_pg_bin; then
        apt_install "PostgreSQL server binaries" postgresql
        find_pg_bin || die "PostgreSQL server binaries (initdb, pg_ctl, postgres) still not found after installation"
    fi
    PG_DIR=$(mktemp -d -t scepter-pg.XXXXXX)
    # initdb/postgres refuse to run as root.
    if [[ $(id -u) -eq 0 ]]; then
        if id -u postgres >/dev/null 2>&1; then
            PG_USER=postgres
        else
            id -u scepter-pg >/dev/null 2>&1 \
                || useradd --system --no-create-home --shell /usr/sbin/nologin scepter-pg
            PG_USER=scepter-pg
        fi
        chown "$PG_USER" "$PG_DIR"
        # $TMPDIR might not be reachable for that user; fall back to /tmp.
        if ! as_pg test -w "$PG_DIR"; then
            rm -rf -- "$PG_DIR"
            PG_DIR=$(mktemp -d /tmp/scepter-pg.XXXXXX)
            chown "$PG_USER" "$PG_DIR"
        fi
    fi
    # Pin the locale so an unusable $LANG/$LC_ALL on the machine cannot break initdb.
    local locale=C
    if locale -a 2>/dev/null | grep -qixE 'c\.utf-?8'; then
        locale=C.UTF-8
    fi
    log "Starting throwaway PostgreSQL cluster ($PG_BIN) in $PG_DIR"
    if ! as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync -E UTF8 \
        --locale="$locale" >"$PG_DIR/initdb.log" 2>&1; then
        cat "$PG_DIR/initdb.log" >&2
        die "initdb failed"
    fi
    # The port is chosen before the server binds it; retry if someone else wins the race.
    local port attempt
    PG_STARTED=1 # from now on pg_cluster_stop tries to stop the server
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        if as_pg "$PG_BIN/pg_ctl" -w -D "$PG_DIR/data" -l "$PG_DIR/server.log" \
            -o "-h 127.0.0.1 -p $port -k '$PG_DIR' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            start >/dev/null; then
            break
        fi
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
        if [[ $attempt -eq 5 ]]; then
            tail -n 30 "$PG_DIR/server.log" >&2 || true
            die "could not start PostgreSQL"
        fi
        echo "PostgreSQL did not start on port $port, retrying with another port" >&2
    done
    PG_CLUSTER_URL="postgres://postgres@127.0.0.1:$port/postgres"
    echo "PostgreSQL listening: $PG_CLUSTER_URL" >&2
}

# Stops the cluster (if one was started) and removes its directory.
pg_cluster_stop() {
    if [[ $PG_STARTED -eq 1 ]]; then
        if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1; then
            # Last resort: kill the postmaster directly.
            local pid
            pid=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null || true)
            [[ $pid =~ ^[0-9]+$ ]] && kill -KILL "$pid" 2>/dev/null || true
        fi
        PG_STARTED=0
    fi
    if [[ -n $PG_DIR ]]; then
        rm -rf -- "$PG_DIR" || true
    fi
}
