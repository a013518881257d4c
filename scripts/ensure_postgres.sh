#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on PGHOST:PGPORT (default 127.0.0.1:5432).
#
# If it does not, start the local Debian cluster (pg_ctlcluster, without systemd) and wait for it,
# at most PG_START_TIMEOUT seconds (default 60). Never stops or reconfigures a running server.
set -euo pipefail

HOST="${PGHOST:-127.0.0.1}"
PORT="${PGPORT:-5432}"
TIMEOUT="${PG_START_TIMEOUT:-60}"

command -v pg_isready >/dev/null 2>&1 \
    || { echo "error: pg_isready not found (hint: apt-get install -y postgresql)" >&2; exit 1; }

if pg_isready -q -h "$HOST" -p "$PORT"; then
    echo "postgres: $HOST:$PORT is accepting connections"
    exit 0
fi

versions=()
[[ -d /etc/postgresql ]] && mapfile -t versions < <(ls /etc/postgresql)
if [[ ${#versions[@]} -ne 1 ]]; then
    echo "error: PostgreSQL is not answering on $HOST:$PORT and there is no single local cluster" \
        "to start under /etc/postgresql (found: ${versions[*]:-none})" >&2
    exit 1
fi

echo "postgres: not answering on $HOST:$PORT; starting cluster ${versions[0]}/main"
# A cluster that is still starting refuses a second start; the wait below covers that case.
pg_ctlcluster --skip-systemctl-redirect "${versions[0]}" main start \
    || echo "postgres: pg_ctlcluster start failed; waiting in case the cluster is starting" >&2

deadline=$((SECONDS + TIMEOUT))
until pg_isready -q -h "$HOST" -p "$PORT"; do
    if ((SECONDS >= deadline)); then
        echo "error: PostgreSQL did not accept connections on $HOST:$PORT within ${TIMEOUT} s" >&2
        exit 1
    fi
    sleep 1
done
echo "postgres: $HOST:$PORT is accepting connections"
