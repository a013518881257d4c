#!/usr/bin/env bash
# Conduit on the production topology, end to end: scripts/topology.sh up with three instances
# behind HAProxy, through PgBouncer in transaction mode; the RealWorld Postman collection through
# HAProxy (scripts/conformance.sh); the API tests through PgBouncer (TEST_DATABASE_DIRECT_URL);
# then down, always.
#
# Environment:
#   TOPOLOGY_BASE_PORT  the topology's first port (default 6500)
#   TOPOLOGY_TESTS      the pytest paths run through PgBouncer (default tests/integration/api)
#   REDIS_URL           rate-limit storage shared by the instances (default redis://127.0.0.1:6379/0)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PY="$ROOT/.venv/bin/python"
DIR="$(mktemp -d "${TMPDIR:-/tmp}/conduit-topology-check.XXXXXX")"
chmod 755 "$DIR"  # the postgres account runs the servers in it
BASE_PORT="${TOPOLOGY_BASE_PORT:-6500}"
# A key prefix of this run's own: runs from the same address do not share registration counts.
PREFIX="conduit-check-$("$PY" -c 'import secrets; print(secrets.token_hex(4))')"

cleanup() {
    local status=$?
    scripts/topology.sh down --dir "$DIR" >/dev/null || echo "topology-check: down failed; see $DIR" >&2
    exit "$status"
}
trap cleanup EXIT

PYTHON="$PY" scripts/topology.sh up --replicas 0 --instances 3 --base-port "$BASE_PORT" --dir "$DIR" \
    --env "RATE_LIMIT_STORAGE_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}" \
    --env "RATE_LIMIT_KEY_PREFIX=$PREFIX"

state() { "$PY" -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$DIR/state.json" "$1"; }
server_url() { "$PY" -c "import sys; from sqlalchemy.engine import make_url; print(make_url(sys.argv[1]).set(database='postgres').render_as_string(False))" "$1"; }

echo "topology-check: the collection through HAProxy ($(state app_url))"
CONFORMANCE_BASE_URL="$(state app_url)" scripts/conformance.sh

echo "topology-check: ${TOPOLOGY_TESTS:-tests/integration/api} through PgBouncer"
# The plan tests (test_*_plan*.py) are left to the direct run: a plan is the server's choice, the
# same with or without a pooler, and their statistics-sensitive assertions add nothing here.
# shellcheck disable=SC2086  # a list of paths
# Only PostgreSQL's parameters: the MySQL variants have nothing to do with PgBouncer.
env -u TEST_MYSQL_URL -u REQUIRE_MYSQL \
TEST_DATABASE_URL="$(server_url "$(state database_url)")" \
TEST_DATABASE_DIRECT_URL="$(server_url "$(state direct_url)")" \
REQUIRE_POSTGRES=1 \
    .venv/bin/pytest -q -p no:cacheprovider ${TOPOLOGY_TESTS:-tests/integration/api} \
    --ignore-glob='*_plan.py' --ignore-glob='*_plans.py'
echo "topology-check: passed"
