#!/usr/bin/env bash
# Make sure a MySQL/MariaDB server answers on MYSQL_HOST:MYSQL_PORT (default 127.0.0.1:3306).
#
# If it does not, start the local one (`service mariadb start`, else `service mysql start`, else
# mysqld_safe in the background) and wait for it, at most MYSQL_START_TIMEOUT seconds (default
# 60). Never stops or reconfigures a running server.
set -euo pipefail

HOST="${MYSQL_HOST:-127.0.0.1}"
PORT="${MYSQL_PORT:-3306}"
USER_NAME="${MYSQL_USER:-root}"
TIMEOUT="${MYSQL_START_TIMEOUT:-60}"

admin="$(command -v mariadb-admin || command -v mysqladmin || true)"
[[ -n "$admin" ]] \
    || { echo "error: mysqladmin not found (hint: apt-get install -y mariadb-server)" >&2; exit 1; }

ready() { "$admin" --protocol=tcp -h "$HOST" -P "$PORT" -u "$USER_NAME" --connect-timeout=2 ping >/dev/null 2>&1; }

if ready; then
    echo "mysql: $HOST:$PORT is accepting connections"
    exit 0
fi

echo "mysql: not answering on $HOST:$PORT; starting the local server"
if ! { service mariadb start || service mysql start; } >/dev/null 2>&1; then
    command -v mysqld_safe >/dev/null 2>&1 \
        || { echo "error: no service and no mysqld_safe to start MySQL with" >&2; exit 1; }
    # Detached: mysqld_safe watches the server for as long as the machine runs.
    nohup mysqld_safe >/dev/null 2>&1 &
fi

deadline=$((SECONDS + TIMEOUT))
until ready; do
    if ((SECONDS >= deadline)); then
        echo "error: MySQL did not accept connections on $HOST:$PORT within ${TIMEOUT} s" >&2
        exit 1
    fi
    sleep 1
done
echo "mysql: $HOST:$PORT is accepting connections"
