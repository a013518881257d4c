#!/bin/bash
# A streaming replica of the compose service "primary": on first start, a base backup through
# the slot replica1 (-R writes standby.signal and primary_conninfo); then PostgreSQL in standby.
set -euo pipefail
: "${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD}"

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    until pg_isready --quiet --host primary --port 5432; do sleep 1; done
    PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup --host primary --port 5432 \
        --username replicator --pgdata "$PGDATA" --write-recovery-conf --wal-method stream \
        --slot replica1 --checkpoint fast
    chmod 0700 "$PGDATA"
fi
# cluster_name is the name the primary knows the standby by (synchronous_standby_names).
exec postgres -c cluster_name=replica1 -c hot_standby=on -c hot_standby_feedback=on
