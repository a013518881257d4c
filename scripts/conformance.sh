#!/usr/bin/env bash
# Run the official RealWorld Postman collection against a live Conduit on PostgreSQL (or on
# MySQL/MariaDB: LIVE_SERVER_DATABASE_URL, as `make conformance-mysql` sets it).
#
# Starts `conduit serve` on a fresh PostgreSQL database (scripts/live_server.sh: a real
# background process that applies the migrations at start), runs the collection with newman,
# and always stops the server and drops the database.
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
#   CONDUIT_COLLECTION  the collection (default: the vendored tests/conformance/Conduit.postman_collection.json)
#   HEALTH_TIMEOUT      seconds to wait for the server to answer /health (default: 60)
#   CONFORMANCE_USERNAME, CONFORMANCE_EMAIL, CONFORMANCE_PASSWORD
#                       the collection's USERNAME, EMAIL and PASSWORD (defaults: as the
#                       collection's run-api-tests.sh sets them, u<epoch seconds> etc.)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

COLLECTION="${CONDUIT_COLLECTION:-$ROOT/tests/conformance/Conduit.postman_collection.json}"
# shellcheck source=scripts/live_server.sh
source "$ROOT/scripts/live_server.sh"

[[ -f "$COLLECTION" ]] || fail "no collection at $COLLECTION (hint: set CONDUIT_COLLECTION)"
[[ -x "$CONDUIT" ]] || fail "$CONDUIT is missing (hint: make install)"

NEWMAN="$("$ROOT/scripts/install_newman.sh")"

if [[ -n "${CONFORMANCE_BASE_URL:-}" ]]; then
    BASE="${CONFORMANCE_BASE_URL%/}"
    echo "conformance: testing the running Conduit at $BASE"
else
    live_server_start conformance
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
