#!/usr/bin/env bash
# Run the official RealWorld Postman collection against a live Conduit on PostgreSQL.
#
# Creates a fresh database on the server of TEST_DATABASE_URL, starts `conduit serve` on a free
# port as a real background process (it applies the migrations at start), waits for /health,
# runs the collection with newman, and always stops the server and drops the database.
# Exit status: newman's (non-zero on any failed assertion), or 1 when the set-up fails.
#
# With CONFORMANCE_BASE_URL it starts nothing and runs the collection against that running
# Conduit instead (e.g. HAProxy in front of instances behind PgBouncer: scripts/topology.sh).
#
# Environment:
#   TEST_DATABASE_URL   any database on the PostgreSQL server to use (required unless
#                       CONFORMANCE_BASE_URL is set)
#   CONFORMANCE_BASE_URL
#                       a running Conduit to test, e.g. http://127.0.0.1:6400 (default: start one)
#   CONDUIT_COLLECTION  the collection (default: ../shared/realworld/Conduit.postman_collection.json)
#   HEALTH_TIMEOUT      seconds to wait for the server to answer /health (default: 60)
#   CONFORMANCE_USERNAME, CONFORMANCE_EMAIL, CONFORMANCE_PASSWORD
#                       the collection's USERNAME, EMAIL and PASSWORD (defaults: as the
#                       collection's run-api-tests.sh sets them, u<epoch seconds> etc.)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PY="$ROOT/.venv/bin/python"
CONDUIT="$ROOT/.venv/bin/conduit"
COLLECTION="${CONDUIT_COLLECTION:-$ROOT/../shared/realworld/Conduit.postman_collection.json}"
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-60}"

fail() { echo "conformance: error: $*" >&2; exit 1; }

[[ -n "${TEST_DATABASE_URL:-}" || -n "${CONFORMANCE_BASE_URL:-}" ]] \
    || fail "TEST_DATABASE_URL is not set (hint: TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres)"
[[ -f "$COLLECTION" ]] || fail "no collection at $COLLECTION (hint: set CONDUIT_COLLECTION)"
[[ -x "$CONDUIT" ]] || fail "$CONDUIT is missing (hint: make install)"

NEWMAN="$("$ROOT/scripts/install_newman.sh")"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/conduit-conformance.XXXXXX")"
LOG="$WORK/server.log"
SERVER_PID=""
DB_URL=""

stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    # The server leads its own process group, so workers it forked stop with it.
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "conformance: the server ignored SIGTERM for 10 s; killing it" >&2
        kill -KILL -- "-$SERVER_PID" 2>/dev/null || kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

cleanup() {
    local status=$?
    stop_server
    if [[ -n "$DB_URL" ]]; then
        "$PY" scripts/pg_database.py drop "$DB_URL" || echo "conformance: could not drop the database" >&2
    fi
    if [[ $status -ne 0 && -s "$LOG" ]]; then
        echo "---- conduit serve log ($LOG) ----" >&2
        cat "$LOG" >&2
        echo "---- end of server log ----" >&2
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

HEALTH_CHECK='
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
    sys.exit(0 if response.status == 200 else 1)
'

# A fresh database and `conduit serve` on a free port, up when /health answers.
start_server() {
    DB_URL="$("$PY" scripts/pg_database.py create "$TEST_DATABASE_URL" conduit_conformance)"
    PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    BASE="http://127.0.0.1:$PORT"

    echo "conformance: starting conduit serve on $BASE (fresh PostgreSQL database)"
    SECRET="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')"
    # Job control on for this one launch: the server gets a process group of its own, so stopping
    # the group also stops any worker processes it forks.
    set -m
    DATABASE_URL="$DB_URL" SECRET_KEY="$SECRET" \
        "$CONDUIT" serve --host 127.0.0.1 --port "$PORT" >"$LOG" 2>&1 </dev/null &
    SERVER_PID=$!
    set +m

    deadline=$((SECONDS + HEALTH_TIMEOUT))
    until "$PY" -c "$HEALTH_CHECK" "$BASE/health" 2>/dev/null; do
        kill -0 "$SERVER_PID" 2>/dev/null || fail "conduit serve exited before answering /health"
        ((SECONDS < deadline)) || fail "no answer from $BASE/health within ${HEALTH_TIMEOUT} s"
        sleep 0.5
    done
}

if [[ -n "${CONFORMANCE_BASE_URL:-}" ]]; then
    BASE="${CONFORMANCE_BASE_URL%/}"
    echo "conformance: testing the running Conduit at $BASE"
else
    start_server
fi
echo "conformance: the server is up; running $(basename "$COLLECTION")"

# As the collection's run-api-tests.sh sets them; the username is unique per run. (Overrides
# are prefixed: a login shell may already export USERNAME.)
USERNAME="${CONFORMANCE_USERNAME:-u$(date +%s)}"
EMAIL="${CONFORMANCE_EMAIL:-$USERNAME@mail.com}"
PASSWORD="${CONFORMANCE_PASSWORD:-password}"

color=on
[[ -t 1 ]] || color=off
# newman waits no time between requests by default (it rejects --delay-request 0).
"$NEWMAN" run "$COLLECTION" \
    --color "$color" \
    --global-var "APIURL=$BASE/api" \
    --global-var "USERNAME=$USERNAME" \
    --global-var "EMAIL=$EMAIL" \
    --global-var "PASSWORD=$PASSWORD" \
    --timeout-request 10000 \
    --timeout 300000 \
    --reporters cli
echo "conformance: every assertion passed"
