#!/usr/bin/env bash
# Make sure a Redis server answers on REDIS_HOST:REDIS_PORT (default 127.0.0.1:6379).
#
# The tests of the rate limits shared between processes need one. If none answers, install
# redis-server (Debian) when it is missing and start it in the background on that address,
# without persistence, then wait at most REDIS_START_TIMEOUT seconds (default 30). Never stops or
# reconfigures a running server.
set -euo pipefail

HOST="${REDIS_HOST:-127.0.0.1}"
PORT="${REDIS_PORT:-6379}"
TIMEOUT="${REDIS_START_TIMEOUT:-30}"

answers() { command -v redis-cli >/dev/null 2>&1 && [[ "$(redis-cli -h "$HOST" -p "$PORT" ping 2>/dev/null)" == PONG ]]; }

if answers; then
    echo "redis: $HOST:$PORT answers"
    exit 0
fi

if ! command -v redis-server >/dev/null 2>&1; then
    echo "redis: redis-server not found; installing it (apt-get)"
    apt-get update -qq
    apt-get install -y -qq redis-server
fi

echo "redis: not answering on $HOST:$PORT; starting redis-server"
redis-server --bind "$HOST" --port "$PORT" --daemonize yes --save "" --appendonly no

deadline=$((SECONDS + TIMEOUT))
until answers; do
    if ((SECONDS >= deadline)); then
        echo "error: Redis did not answer on $HOST:$PORT within ${TIMEOUT} s" >&2
        exit 1
    fi
    sleep 0.5
done
echo "redis: $HOST:$PORT answers"
