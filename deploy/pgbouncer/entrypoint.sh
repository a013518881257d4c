#!/bin/sh
# Writes PgBouncer's auth file from the environment (PGBOUNCER_USER, PGBOUNCER_PASSWORD: the
# PostgreSQL role Conduit logs in as), then runs PgBouncer in the foreground.
set -eu
: "${PGBOUNCER_USER:?set PGBOUNCER_USER}" "${PGBOUNCER_PASSWORD:?set PGBOUNCER_PASSWORD}"
umask 077
printf '"%s" "%s"\n' "$PGBOUNCER_USER" "$PGBOUNCER_PASSWORD" > /tmp/userlist.txt
exec pgbouncer /etc/pgbouncer/pgbouncer.ini
