#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the plenum-store tests, on a loopback port.
#
#   eval "$(scripts/test-postgres.sh env)"   # start (if needed), export PLENUM_TEST_POSTGRES_URL
#   cargo test -p plenum-store
#   scripts/test-postgres.sh stop            # stop it (data is kept; `destroy` removes it)
#
# Commands:
#   start    (default) make sure the cluster runs; print its URL on stdout
#   env      make sure the cluster runs; print `export PLENUM_TEST_POSTGRES_URL=…` on stdout
#   url      print the URL only (does not start anything)
#   status   say whether it runs; exit 0 if it does, 3 if not
#   stop     stop it if it runs
#   destroy  stop it and delete its directory
#
# Settings (environment):
#   PLENUM_PG_DIR   cluster directory   (default /tmp/plenum-pg; data in ./data, socket in ./)
#   PLENUM_PG_PORT  TCP port            (default 55432; listens on 127.0.0.1 only)
#
# Idempotent: an already running cluster is reused. If PostgreSQL is not installed, it is
# installed with apt-get (Debian/Ubuntu, as root). PostgreSQL refuses to run as root, so as root
# the cluster belongs to, and runs as, the `postgres` OS user. Authentication is `trust`: never
# point PLENUM_PG_DIR at anything you care about, and never expose the port.
# Everything except the requested output goes to stderr, so `eval "$(… env)"` is safe.

set -euo pipefail

PG_DIR=${PLENUM_PG_DIR:-/tmp/plenum-pg}
PG_PORT=${PLENUM_PG_PORT:-55432}
DATA_DIR=$PG_DIR/data
LOG_FILE=$PG_DIR/postgres.log
URL="postgres://postgres@127.0.0.1:${PG_PORT}/postgres"

log() { printf 'test-postgres: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

case $PG_PORT in
    '' | *[!0-9]*) die "PLENUM_PG_PORT must be a port number, got '$PG_PORT'" ;;
esac
case $PG_DIR in
    /*) ;;
    *) die "PLENUM_PG_DIR must be an absolute path, got '$PG_DIR'" ;;
esac

# Sets BIN_DIR to the directory holding initdb, pg_ctl and pg_isready: the newest
# /usr/lib/postgresql/<version>/bin (where Debian puts them), else whatever is on PATH.
find_bin_dir() {
    BIN_DIR=
    local dir
    while read -r dir; do
        if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/pg_isready ]]; then
            BIN_DIR=$dir
        fi
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
    if [[ -z $BIN_DIR ]] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null \
        && command -v pg_isready >/dev/null; then
        BIN_DIR=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
    fi
    [[ -n $BIN_DIR ]]
}

install_postgres() {
    [[ $EUID -eq 0 ]] || die "PostgreSQL is not installed; install it (apt-get install postgresql) or re-run as root"
    command -v apt-get >/dev/null || die "PostgreSQL is not installed and apt-get is not available"
    log "installing postgresql with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y postgresql >&2
}

ensure_installed() {
    if ! find_bin_dir; then
        install_postgres
        find_bin_dir || die "postgresql was installed but initdb/pg_ctl were not found"
    fi
}

# Runs a command as the cluster's owner: `postgres` when we are root, ourselves otherwise.
# From inside the cluster directory, as the owner may not be allowed into our working directory,
# and without the lock's descriptor, which a server started here would otherwise hold forever.
as_owner() {
    if [[ $EUID -eq 0 ]]; then
        (cd "$PG_DIR" && runuser -u postgres -- "$@" 9>&-)
    else
        (cd "$PG_DIR" && "$@" 9>&-)
    fi
}

prepare_dir() {
    if [[ $EUID -eq 0 ]]; then
        if ! id postgres >/dev/null 2>&1; then
            log "creating the postgres system user"
            useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
                --shell /usr/sbin/nologin postgres
        fi
        mkdir -p "$PG_DIR"
        chown postgres: "$PG_DIR"
        chmod 700 "$PG_DIR"
        runuser -u postgres -- test -w "$PG_DIR" -a -x "$PG_DIR" \
            || die "the postgres user cannot use $PG_DIR (a parent directory is not accessible to it?); choose another PLENUM_PG_DIR"
    else
        mkdir -p "$PG_DIR"
        chmod 700 "$PG_DIR"
    fi
}

is_running() {
    [[ -f $DATA_DIR/PG_VERSION ]] && as_owner "$BIN_DIR/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1
}

is_ready() {
    "$BIN_DIR/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres
}

# Serialises concurrent invocations on one cluster directory (held until the script exits).
lock_dir() {
    exec 9>>"$PG_DIR/.test-postgres.lock"
    flock 9
}

start() {
    ensure_installed
    prepare_dir
    lock_dir
    if [[ ! -f $DATA_DIR/PG_VERSION ]]; then
        if [[ -e $DATA_DIR ]]; then
            die "$DATA_DIR exists but is not a PostgreSQL cluster; remove it or choose another PLENUM_PG_DIR"
        fi
        log "creating a cluster in $DATA_DIR"
        as_owner "$BIN_DIR/initdb" -D "$DATA_DIR" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1 \
            || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
        # Throwaway data: trade durability for speed.
        cat >>"$DATA_DIR/postgresql.conf" <<'EOF'

# added by plenum scripts/test-postgres.sh (throwaway test cluster)
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
    fi
    # A cluster that runs but does not answer may be starting up or dying (its postmaster
    # killed): give it a few seconds to settle either way.
    local tries=0
    while is_running; do
        if is_ready; then
            log "reusing the cluster already running from $DATA_DIR on 127.0.0.1:$PG_PORT"
            return
        fi
        tries=$((tries + 1))
        [[ $tries -lt 20 ]] || die "a cluster is running from $DATA_DIR but does not answer on 127.0.0.1:$PG_PORT; if it uses another port run '$0 stop' first (or set PLENUM_PG_PORT to its port), see $LOG_FILE"
        sleep 0.5
    done
    if is_ready; then
        die "something else already answers on 127.0.0.1:$PG_PORT; set PLENUM_PG_PORT to a free port"
    fi
    log "starting PostgreSQL ($("$BIN_DIR/postgres" --version)) on 127.0.0.1:$PG_PORT, log in $LOG_FILE"
    # Port, address and socket directory are given at every start, so they follow the
    # environment rather than whatever the cluster was first created with.
    as_owner "$BIN_DIR/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 \
        -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='$PG_DIR'" \
        start >&2 \
        || { tail -n 30 "$LOG_FILE" >&2 || true; die "PostgreSQL did not start"; }
    tries=0
    until is_ready; do
        tries=$((tries + 1))
        [[ $tries -lt 60 ]] || { tail -n 30 "$LOG_FILE" >&2 || true; die "PostgreSQL does not answer on 127.0.0.1:$PG_PORT"; }
        sleep 0.5
    done
}

stop() {
    if ! find_bin_dir || [[ ! -f $DATA_DIR/PG_VERSION ]]; then
        log "no cluster in $DATA_DIR"
        return
    fi
    lock_dir
    if is_running; then
        log "stopping the cluster in $DATA_DIR"
        as_owner "$BIN_DIR/pg_ctl" -D "$DATA_DIR" -m fast -w -t 60 stop >&2
    else
        log "the cluster in $DATA_DIR is not running"
    fi
}

command=${1:-start}
case $command in
    start)
        start
        log "PostgreSQL is ready: $URL"
        printf '%s\n' "$URL"
        ;;
    env)
        start
        printf 'export PLENUM_TEST_POSTGRES_URL=%s\n' "$URL"
        ;;
    url)
        printf '%s\n' "$URL"
        ;;
    status)
        if find_bin_dir && is_running && is_ready; then
            log "running from $DATA_DIR on 127.0.0.1:$PG_PORT"
        else
            log "not running (cluster directory $PG_DIR, port $PG_PORT)"
            exit 3
        fi
        ;;
    stop)
        stop
        ;;
    destroy)
        if [[ -e $PG_DIR && ! -e $PG_DIR/.test-postgres.lock ]]; then
            die "$PG_DIR was not made by this script; not removing it"
        fi
        stop
        log "removing $PG_DIR"
        rm -rf -- "$PG_DIR"
        ;;
    -h | --help | help)
        sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"
        ;;
    *)
        die "unknown command '$command' (start, env, url, status, stop, destroy)"
        ;;
esac
