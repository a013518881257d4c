# Sourced, not run: a real `conduit serve` on a fresh PostgreSQL database, for the scripts that
# test a live server (conformance.sh, fuzz.sh).
#
#   source scripts/live_server.sh
#   live_server_start NAME [VAR=VALUE ...]   # NAME prefixes the database; VARs go to the server
#   ... use $BASE (http://127.0.0.1:PORT), $DB_URL (the database) and $LIVE_SERVER_ENV ...
#
# Creates the database on the server of TEST_DATABASE_URL, starts `conduit serve` on a free port
# (it applies the migrations at start) and waits for /health. An EXIT trap always stops the server
# and drops the database, and prints the server's log when the script fails.
#
# Environment: TEST_DATABASE_URL (required); LIVE_SERVER_DATABASE_URL, a server to use instead
# (e.g. TEST_MYSQL_URL's MariaDB: `make conformance-mysql`); HEALTH_TIMEOUT, seconds to wait for
# /health (default: 60). Expects ROOT (the checkout) to be set by the sourcing script.

PY="$ROOT/.venv/bin/python"
CONDUIT="$ROOT/.venv/bin/conduit"
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-60}"
LIVE_SERVER_NAME="live-server"
WORK=""
LOG=""
SERVER_PID=""
DB_URL=""
DATABASE_SCRIPT=""
BASE=""
# VAR=VALUE words the server was started with (DATABASE_URL and SECRET_KEY included), for
# running CLI commands against the same database with `env "${LIVE_SERVER_ENV[@]}" ...`.
LIVE_SERVER_ENV=()

fail() { echo "$LIVE_SERVER_NAME: error: $*" >&2; exit 1; }

stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    # The server leads its own process group, so workers it forked stop with it.
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "$LIVE_SERVER_NAME: the server ignored SIGTERM for 10 s; killing it" >&2
        kill -KILL -- "-$SERVER_PID" 2>/dev/null || kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

live_server_cleanup() {
    local status=$?
    stop_server
    if [[ -n "$DB_URL" ]]; then
        "$PY" "$DATABASE_SCRIPT" drop "$DB_URL" \
            || echo "$LIVE_SERVER_NAME: could not drop the database" >&2
    fi
    if [[ $status -ne 0 && -n "$LOG" && -s "$LOG" ]]; then
        echo "---- conduit serve log ($LOG) ----" >&2
        cat "$LOG" >&2
        echo "---- end of server log ----" >&2
    fi
    [[ -z "$WORK" ]] || rm -rf "$WORK"
    exit "$status"
}

live_server_start() {
    LIVE_SERVER_NAME="$1"
    shift
    local server="${LIVE_SERVER_DATABASE_URL:-${TEST_DATABASE_URL:-}}"
    [[ -n "$server" ]] \
        || fail "TEST_DATABASE_URL is not set (hint: TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres)"
    [[ -x "$CONDUIT" ]] || fail "$CONDUIT is missing (hint: make install)"
    trap live_server_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    WORK="$(mktemp -d "${TMPDIR:-/tmp}/conduit-$LIVE_SERVER_NAME.XXXXXX")"
    LOG="$WORK/server.log"
    DATABASE_SCRIPT="$ROOT/scripts/scratch_database.py"
    DB_URL="$("$PY" "$DATABASE_SCRIPT" create "$server" "conduit_${LIVE_SERVER_NAME//-/_}")"
    local port
    port="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    BASE="http://127.0.0.1:$port"
    LIVE_SERVER_ENV=(
        "DATABASE_URL=$DB_URL"
        "SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')"
        "$@"
    )

    echo "$LIVE_SERVER_NAME: starting conduit serve on $BASE (fresh ${DB_URL%%:*} database)"
    # Job control on for this one launch: the server gets a process group of its own, so stopping
    # the group also stops any worker processes it forks.
    set -m
    env "${LIVE_SERVER_ENV[@]}" \
        "$CONDUIT" serve --host 127.0.0.1 --port "$port" >"$LOG" 2>&1 </dev/null &
    SERVER_PID=$!
    set +m

    local deadline=$((SECONDS + HEALTH_TIMEOUT))
    until "$PY" - "$BASE/health" <<'PY' 2>/dev/null
import sys
import urllib.request

with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
    sys.exit(0 if response.status == 200 else 1)
PY
    do
        kill -0 "$SERVER_PID" 2>/dev/null || fail "conduit serve exited before answering /health"
        ((SECONDS < deadline)) || fail "no answer from $BASE/health within ${HEALTH_TIMEOUT} s"
        sleep 0.5
    done
}
