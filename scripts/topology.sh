#!/usr/bin/env bash
# Conduit's production topology on loopback, one command (scripts/topology.py does the work):
#
#   scripts/topology.sh up [--replicas N] [--sync] [--instances N] [--workers N] [--base-port P]
#                          [--dir D] [--database NAME] [--fsync] [--env NAME=VALUE ...]
#   scripts/topology.sh status [--dir D] [--json]     # exit 1 when a part is down
#   scripts/topology.sh down [--dir D]
#
# HAProxy on the base port (default 6400) → conduit serve × N → PgBouncer (base + 1, transaction
# mode) → PostgreSQL primary (base + 2) → streaming replicas (base + 3 …). D (default
# $TMPDIR/conduit-topology) holds the data, the logs and state.json, which records every URL, port
# and pid. Installs pgbouncer and haproxy from Debian's packages when missing. Environment:
# CONDUIT_BIN (default .venv/bin/conduit), PG_BIN (default the newest /usr/lib/postgresql/*/bin),
# PYTHON (default python3: the script needs only the standard library).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "${PYTHON:-python3}" "$ROOT/scripts/topology.py" "$@"
