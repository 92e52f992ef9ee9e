#!/bin/bash
# Entrypoint of the postgres:16 stand-in (see the Dockerfile beside it).
set -euo pipefail

log() { echo "postgres stand-in: $*" >&2; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    user=${POSTGRES_USER:-postgres}
    db=${POSTGRES_DB:-$user}
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        log "POSTGRES_PASSWORD is not set: set it (the official image refuses to start without it as well)"
        exit 1
    fi
    log "initialising an empty $PGDATA (user $user, database $db)"
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb -D "$PGDATA" --username="$user" --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    # A private server (no TCP) to create the database, as the official image does.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    if [ "$db" != postgres ]; then
        psql -v ON_ERROR_STOP=1 --username "$user" --dbname postgres -q \
            -c "CREATE DATABASE \"$db\""
    fi
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    log "initialised; POSTGRES_* are ignored from now on"
fi

if [ "${1:-}" != postgres ]; then
    exec "$@"
fi

# The server is not PID 1, so a SIGTERM (docker stop) can be turned into a fast
# shutdown (SIGINT); on SIGTERM the server itself would wait for every client to go.
"$@" &
pid=$!
trap 'kill -INT "$pid" 2>/dev/null || true' TERM INT
status=0
wait "$pid" || status=$?
# `wait` returns early when a trapped signal arrives: wait again for the real exit.
while kill -0 "$pid" 2>/dev/null; do
    status=0
    wait "$pid" || status=$?
done
exit "$status"
