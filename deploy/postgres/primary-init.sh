#!/bin/bash
# Runs once, when the primary's data directory is created (/docker-entrypoint-initdb.d): the
# replication role and slot the replica uses, and the settings PgBouncer cannot pass through.
set -euo pipefail
: "${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SELECT pg_create_physical_replication_slot('replica1');
SQL
# Conduit's own statement timeout and jit=off arrive as startup parameters, which PgBouncer
# drops (see deploy/pgbouncer/pgbouncer.ini): the database carries them instead.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
ALTER DATABASE "$POSTGRES_DB" SET statement_timeout = '${DB_STATEMENT_TIMEOUT_MS:-30000}';
ALTER DATABASE "$POSTGRES_DB" SET jit = off;
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
