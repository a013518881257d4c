#!/usr/bin/env bash
# Make sure a Redis server answers on REDIS_HOST:REDIS_PORT (default 127.0.0.1:6379).
#
# If it does not, start one in the background (no persistence: the suite keeps only rate-limit
# counters there) and wait for it, at most REDIS_START_TIMEOUT seconds (default 30). Never stops
# or reconfigures a running server.
set -euo pipefail

HOST="${REDIS_HOST:-127.0.0.1}"
PORT="${REDIS_PORT:-6379}"
TIMEOUT="${REDIS_START_TIMEOUT:-30}"

command -v redis-server >/dev/null 2>&1 \
    || { echo "error: redis-server not found (hint: apt-get install -y redis-server)" >&2; exit 1; }

if redis-cli -h "$HOST" -p "$PORT" ping 2>/dev/null | grep -q PONG; then
    echo "redis: $HOST:$PORT answers"
    exit 0
fi

echo "redis: not answering on $HOST:$PORT; starting redis-server"
mkdir -p /var/lib/redis /var/log/redis
redis-server --daemonize yes --bind "$HOST" --port "$PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log

deadline=$((SECONDS + TIMEOUT))
until redis-cli -h "$HOST" -p "$PORT" ping 2>/dev/null | grep -q PONG; do
    if ((SECONDS >= deadline)); then
        echo "error: Redis did not answer on $HOST:$PORT within ${TIMEOUT} s" >&2
        exit 1
    fi
    sleep 1
done
echo "redis: $HOST:$PORT answers"
