#!/usr/bin/env bash
# scripts/postgres.sh: a PostgreSQL server as a local process on loopback, for the
# PostgreSQL dedupe store of the generated services (tests/test_e2e_reliability.py).
#
#   scripts/postgres.sh up       install if missing (Debian's postgresql), init, start; prints DATABASE_URL_POSTGRES=<url>
#   scripts/postgres.sh database NAME
#                                a database NAME of its own (owner evtgen), created if missing; prints its URL
#   scripts/postgres.sh down     stop the server this script started (the data stays)
#   scripts/postgres.sh status   running/stopped; exits 0 when it answers, 3 otherwise
#
# Idempotent: `up` on a running server only prints its URL. Runs as root (the cluster
# then belongs to the `postgres` user, as initdb refuses root) or as any other user.
# Environment: EVTGEN_POSTGRES_DIR (default ${XDG_STATE_HOME:-~/.local/state}/evtgen/postgres,
# for root /var/lib/evtgen/postgres),
# EVTGEN_POSTGRES_PORT (default 55432).
set -euo pipefail

if [[ $(id -u) == 0 ]]; then  # the postgres user cannot enter root's home
    DIR=${EVTGEN_POSTGRES_DIR:-/var/lib/evtgen/postgres}
else
    DIR=${EVTGEN_POSTGRES_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/evtgen/postgres}
fi
PORT=${EVTGEN_POSTGRES_PORT:-55432}
URL="postgresql://evtgen@127.0.0.1:$PORT/evtgen"

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }

as_owner() {  # run as the cluster's owner: postgres when we are root
    if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

answers() { [[ -n $(bindir) ]] && "$(bindir)/pg_isready" -q -h 127.0.0.1 -p "$PORT"; }

up() {
    if answers; then echo "DATABASE_URL_POSTGRES=$URL"; return; fi
    if [[ -z $(bindir) ]]; then
        echo "installing postgresql (apt-get)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
    fi
    local bin; bin=$(bindir)
    mkdir -p "$DIR"
    [[ $(id -u) == 0 ]] && chown postgres: "$DIR"
    if [[ ! -f $DIR/data/PG_VERSION ]]; then
        as_owner "$bin/initdb" -D "$DIR/data" -U postgres --auth=trust >/dev/null
    fi
    as_owner "$bin/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR" start >&2
    "$bin/psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 >&2 <<SQL
SELECT 'CREATE ROLE evtgen LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'evtgen')\gexec
SELECT 'CREATE DATABASE evtgen OWNER evtgen' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'evtgen')\gexec
SQL
    echo "DATABASE_URL_POSTGRES=$URL"
}

database() {  # services (or tests) side by side must not share their tables
    local name=$1 bin; bin=$(bindir)
    [[ $name =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "database name '$name': use a-z, 0-9 and _" >&2; exit 2; }
    answers || { echo "postgres is not running: scripts/postgres.sh up" >&2; exit 3; }
    "$bin/psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 >&2 <<SQL
SELECT 'CREATE DATABASE $name OWNER evtgen' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$name')\gexec
SQL
    echo "postgresql://evtgen@127.0.0.1:$PORT/$name"
}

case ${1:-} in
    up) up ;;
    database) database "${2:?usage: ${0##*/} database NAME}" ;;
    down) [[ -f $DIR/data/postmaster.pid ]] && as_owner "$(bindir)/pg_ctl" -D "$DIR/data" -w stop >&2 || true ;;
    status) if answers; then echo "postgres running $URL"; else echo "postgres stopped"; exit 3; fi ;;
    *) echo "usage: ${0##*/} up|database NAME|down|status" >&2; exit 2 ;;
esac
